/*
 * dense.c - the dense layer, the elementwise activations and dropout.
 *
 * The dense layer is two or three matrix products (nn/blas.h) and a
 * column sum; the rest are flat loops over B*N values, those without libm
 * calls written to vectorise (MAAS_VLOOP).  Shapes: x (B, C), w (N, C) as torch.nn.Linear keeps it,
 * b (N), y (B, N).
 */
#include <math.h>
#include <string.h>

#include "nn/blas.h"
#include "nn/model_int.h"

/* y = x w^T + b */
void maas_dense_forward(float *y, const float *x, const float *w, const float *b, int B, int C,
			int N)
{
	for (int i = 0; i < B; i++)
		memcpy(y + (size_t)i * N, b, (size_t)N * sizeof *y);
	maas_sgemm(0, 1, B, N, C, 1.0f, x, C, w, C, 1.0f, y, N);
}

/* db += the column sums of dy (B, N) */
static void colsum(float *restrict db, const float *restrict dy, int B, int N)
{
	for (int i = 0; i < B; i++) {
		const float *restrict r = dy + (size_t)i * N;
		MAAS_VLOOP(j, (size_t)N, db[j] += r[j]);
	}
}

/* dw += dy^T x; db += column sums of dy; dx = dy w (unless NULL) */
void maas_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
			 const float *w, int B, int C, int N)
{
	maas_sgemm(1, 0, N, C, B, 1.0f, dy, N, x, C, 1.0f, dw, C);
	colsum(db, dy, B, N);
	if (dx)
		maas_sgemm(0, 0, B, C, N, 1.0f, dy, N, w, C, 0.0f, dx, C);
}

#define SQRT1_2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

void maas_act_forward(enum maas_layer_kind k, float *restrict y, const float *restrict x, size_t n)
{
	switch (k) {
	case MAAS_LAYER_RELU:
		MAAS_VLOOP(i, n, y[i] = x[i] > 0 ? x[i] : 0);
		break;
	case MAAS_LAYER_GELU:   /* PyTorch's exact form: x * Phi(x) */
		for (size_t i = 0; i < n; i++)
			y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * SQRT1_2));
		break;
	case MAAS_LAYER_TANH:
		for (size_t i = 0; i < n; i++)
			y[i] = tanhf(x[i]);
		break;
	case MAAS_LAYER_SIGMOID:
		for (size_t i = 0; i < n; i++)
			y[i] = 1.0f / (1.0f + expf(-x[i]));
		break;
	default:
		memcpy(y, x, n * sizeof *y);
		break;
	}
}

void maas_act_backward(enum maas_layer_kind k, float *restrict dx, const float *restrict dy,
		       const float *restrict x, const float *restrict y, size_t n)
{
	switch (k) {
	case MAAS_LAYER_RELU:
		MAAS_VLOOP(i, n, { float g = dy[i]; dx[i] = y[i] > 0 ? g : 0; });
		break;
	case MAAS_LAYER_GELU:   /* Phi(x) + x phi(x) */
		for (size_t i = 0; i < n; i++) {
			float cdf = 0.5f * (1.0f + erff(x[i] * SQRT1_2));
			float pdf = INV_SQRT_2PI * expf(-0.5f * x[i] * x[i]);
			dx[i] = dy[i] * (cdf + x[i] * pdf);
		}
		break;
	case MAAS_LAYER_TANH:
		MAAS_VLOOP(i, n, dx[i] = dy[i] * (1.0f - y[i] * y[i]));
		break;
	case MAAS_LAYER_SIGMOID:
		MAAS_VLOOP(i, n, dx[i] = dy[i] * y[i] * (1.0f - y[i]));
		break;
	default:
		memcpy(dx, dy, n * sizeof *dx);
		break;
	}
}

/* Each value is kept with probability 1-p: 32 random bits per value,
 * compared with p * 2^32. */
void maas_dropout_mask(float *mask, size_t n, float p, struct maas_rng *rng)
{
	uint64_t thresh = (uint64_t)ldexp((double)p, 32);
	float scale = 1.0f / (1.0f - p);
	size_t i = 0;
	for (; i + 1 < n; i += 2) {
		uint64_t r = maas_rng_u64(rng);
		mask[i] = (r & 0xffffffffu) >= thresh ? scale : 0.0f;
		mask[i + 1] = (r >> 32) >= thresh ? scale : 0.0f;
	}
	if (i < n)
		mask[i] = (maas_rng_u64(rng) & 0xffffffffu) >= thresh ? scale : 0.0f;
}

void maas_mul(float *restrict y, const float *restrict x, const float *restrict mask, size_t n)
{
	MAAS_VLOOP(i, n, y[i] = x[i] * mask[i]);
}

void maas_add(float *restrict y, const float *restrict x, size_t n)
{
	MAAS_VLOOP(i, n, y[i] += x[i]);
}
