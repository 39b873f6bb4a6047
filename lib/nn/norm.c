/*
 * norm.c - layer normalisation over the feature axis, as torch.nn.LayerNorm(N)
 * with its defaults (eps 1e-5, biased variance, elementwise affine).
 *
 * x, y (B, N); w, b (N); forward keeps each row's mean and 1/sqrt(var+eps)
 * (B each) for backward.  Row statistics are summed in double.
 */
#include <math.h>

#include "nn/model_int.h"

#define LN_EPS 1e-5

void maas_layernorm_forward(float *restrict y, float *restrict mean, float *restrict rstd,
			    const float *restrict x, const float *restrict w,
			    const float *restrict b, int B, int N)
{
	for (int i = 0; i < B; i++) {
		const float *xr = x + (size_t)i * N;
		float *yr = y + (size_t)i * N;
		double s = 0, ss = 0;
		for (int j = 0; j < N; j++)
			s += xr[j];
		double mu = s / N;
		for (int j = 0; j < N; j++) {
			double d = xr[j] - mu;
			ss += d * d;
		}
		float m = (float)mu, r = (float)(1.0 / sqrt(ss / N + LN_EPS));
		mean[i] = m;
		rstd[i] = r;
		for (int j = 0; j < N; j++)
			yr[j] = (xr[j] - m) * r * w[j] + b[j];
	}
}

/* xhat = (x - mean) rstd; dw += sum dy xhat; db += sum dy;
 * dx = rstd (g - mean(g) - xhat mean(g xhat)) with g = dy w */
void maas_layernorm_backward(float *restrict dx, float *restrict dw, float *restrict db,
			     const float *restrict dy, const float *restrict x,
			     const float *restrict mean, const float *restrict rstd,
			     const float *restrict w, int B, int N)
{
	for (int i = 0; i < B; i++) {
		const float *xr = x + (size_t)i * N, *dyr = dy + (size_t)i * N;
		float m = mean[i], r = rstd[i];
		double sg = 0, sgx = 0;
		for (int j = 0; j < N; j++) {
			float xh = (xr[j] - m) * r;
			float g = dyr[j] * w[j];
			dw[j] += dyr[j] * xh;
			db[j] += dyr[j];
			sg += g;
			sgx += g * xh;
		}
		if (!dx)
			continue;
		float mg = (float)(sg / N), mgx = (float)(sgx / N);
		float *dxr = dx + (size_t)i * N;
		for (int j = 0; j < N; j++) {
			float xh = (xr[j] - m) * r;
			dxr[j] = r * (dyr[j] * w[j] - mg - xh * mgx);
		}
	}
}
