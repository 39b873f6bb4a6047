/*
 * loss.c - losses and their gradients, as PyTorch defines them.
 *
 * Softmax cross-entropy follows torch.nn.CrossEntropyLoss(weight=w,
 * label_smoothing=eps) with class-index targets t and mean reduction:
 *
 *   q_nc = (1 - eps) w_c [c = t_n] + (eps / K) w_c      (w = 1 without weights)
 *   loss = sum_n sum_c -q_nc log p_nc / sum_n w_{t_n}
 *
 * (PyTorch adds (1-eps) times the weighted NLL and eps/K times the
 * weighted sum of -log p over classes, both divided by the targets'
 * weight sum: the same thing.)  Its gradient for logit j of sample n is
 * (p_nj sum_c q_nc - q_nj) / sum_n w_{t_n}.
 *
 * BCE with logits: max(x,0) - x y + log1p(exp(-|x|)), gradient
 * sigmoid(x) - y.  Huber(delta) as torch.nn.HuberLoss: 0.5 d^2 when
 * |d| < delta, else delta (|d| - delta/2); gradient clamp(d, -delta, delta).
 * Regression losses take y (B, K) and average over the B*K values (for
 * K = 1, over the batch); probs then receives the predictions themselves.
 */
#include <math.h>
#include <string.h>

#include "nn/loss.h"

static const char *names[] = { "cross-entropy", "bce", "mse", "mae", "huber" };

const char *maas_loss_name(enum maas_loss l)
{
	return (unsigned)l < sizeof names / sizeof names[0] ? names[l] : "?";
}

int maas_loss_parse(const char *s)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -1;
}

static double softmax_ce(const struct maas_loss_opts *o, const float *logits, const double *y,
			 int B, int K, float *dlogits, float *probs)
{
	const float *w = o->class_weight;
	double eps = o->label_smoothing, wsum = 0, loss = 0;

	for (int n = 0; n < B; n++)
		wsum += w ? w[(int)y[n]] : 1.0;
	double scale = wsum > 0 ? 1.0 / wsum : 0.0;

	for (int n = 0; n < B; n++) {
		const float *x = logits + (size_t)n * K;
		float *d = dlogits + (size_t)n * K;
		int t = (int)y[n];
		double mx = x[0], se = 0;
		for (int c = 1; c < K; c++)
			if (x[c] > mx)
				mx = x[c];
		for (int c = 0; c < K; c++) {
			double ex = exp(x[c] - mx);
			d[c] = (float)ex;   /* for a moment */
			se += ex;
		}
		double lse = mx + log(se), qsum = 0, l = 0;
		for (int c = 0; c < K; c++) {
			double wc = w ? w[c] : 1.0;
			double q = eps / K * wc + (c == t ? (1 - eps) * wc : 0.0);
			qsum += q;
			l -= q * (x[c] - lse);
		}
		loss += l;
		for (int c = 0; c < K; c++) {
			double wc = w ? w[c] : 1.0;
			double q = eps / K * wc + (c == t ? (1 - eps) * wc : 0.0);
			double p = d[c] / se;
			d[c] = (float)((p * qsum - q) * scale);
			if (probs)
				probs[(size_t)n * K + c] = (float)p;
		}
	}
	return loss * scale;
}

static double bce(const float *logits, const double *y, int B, float *dlogits, float *probs)
{
	double loss = 0;
	for (int n = 0; n < B; n++) {
		double x = logits[n], t = y[n];
		double p = x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
		loss += (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));
		dlogits[n] = (float)((p - t) / B);
		if (probs)
			probs[n] = (float)p;
	}
	return loss / B;
}

static double regression(const struct maas_loss_opts *o, const float *logits, const double *y,
			 size_t n, float *dlogits, float *probs)
{
	double loss = 0, delta = o->huber_delta > 0 ? o->huber_delta : 1.0;
	for (size_t i = 0; i < n; i++) {
		double d = (double)logits[i] - y[i], g;
		switch (o->kind) {
		case MAAS_LOSS_MSE:
			loss += d * d;
			g = 2 * d;
			break;
		case MAAS_LOSS_MAE:
			loss += fabs(d);
			g = d > 0 ? 1 : d < 0 ? -1 : 0;
			break;
		default:   /* huber */
			if (fabs(d) < delta) {
				loss += 0.5 * d * d;
				g = d;
			} else {
				loss += delta * (fabs(d) - 0.5 * delta);
				g = d > 0 ? delta : -delta;
			}
			break;
		}
		dlogits[i] = (float)(g / (double)n);
		if (probs)
			probs[i] = logits[i];
	}
	return loss / (double)n;
}

double maas_loss_compute(const struct maas_loss_opts *o, const float *logits, const double *y,
			 int B, int K, float *dlogits, float *probs)
{
	if (B <= 0)
		return 0;
	switch (o->kind) {
	case MAAS_LOSS_SOFTMAX_CE:
		return softmax_ce(o, logits, y, B, K, dlogits, probs);
	case MAAS_LOSS_BCE:
		return bce(logits, y, B, dlogits, probs);
	default:
		return regression(o, logits, y, (size_t)B * (size_t)K, dlogits, probs);
	}
}
