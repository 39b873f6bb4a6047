/*
 * metrics.c - accumulate predictions batch by batch and score them with
 * scikit-learn's definitions (see metrics.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/sort.h"
#include "nn/metrics.h"

#define LOGLOSS_EPS 1e-15

void maas_metrics_init(struct maas_metrics *m, int classification, int K)
{
	memset(m, 0, sizeof *m);
	m->classification = classification != 0;
	m->K = !classification ? 1 : K < 1 ? 1 : K;
	if (m->classification)
		m->confusion = xcalloc((size_t)m->K * (size_t)m->K, sizeof *m->confusion);
}

void maas_metrics_release(struct maas_metrics *m)
{
	free(m->confusion);
	free(m->scores);
	free(m->labels);
	m->confusion = NULL;
	m->scores = NULL;
	m->labels = NULL;
	m->cap = m->nscores = 0;
}

void maas_metrics_reset(struct maas_metrics *m)
{
	m->n = 0;
	m->loss_sum = 0;
	m->skipped = m->correct = 0;
	if (m->confusion)
		memset(m->confusion, 0, (size_t)m->K * (size_t)m->K * sizeof *m->confusion);
	m->logloss_sum = 0;
	m->nscores = 0;
	m->se = m->ae = m->y_sum = m->y_sq = 0;
}

/* The label as a class index, or -1 if it is not an integer in [0, K). */
static int label_of(double y, int K)
{
	if (!(y >= 0 && y < K) || y != floor(y))
		return -1;
	return (int)y;
}

static void add_classification(struct maas_metrics *m, const float *probs, const double *y, int B)
{
	int K = m->K;
	if (K == 2) {
		size_t need = m->nscores + (size_t)B, cap = m->cap;
		if (need > cap) {
			xgrow(&m->scores, &cap, need, sizeof *m->scores);
			m->labels = xreallocarray(m->labels, cap, sizeof *m->labels);
			m->cap = cap;
		}
	}
	for (int b = 0; b < B; b++) {
		const float *p = probs + (size_t)b * K;
		int c = label_of(y[b], K);
		if (c < 0) {
			m->skipped++;
			continue;
		}
		int pred = 0;
		float best = p[0];
		double sum = 0;
		for (int k = 0; k < K; k++) {
			if (p[k] > best || (isnan(best) && !isnan(p[k]))) {
				best = p[k];
				pred = k;
			}
			double q = p[k];
			sum += q < LOGLOSS_EPS ? LOGLOSS_EPS : q > 1 - LOGLOSS_EPS ? 1 - LOGLOSS_EPS : q;
		}
		double q = p[c];
		q = q < LOGLOSS_EPS ? LOGLOSS_EPS : q > 1 - LOGLOSS_EPS ? 1 - LOGLOSS_EPS : q;
		m->logloss_sum -= log(q / sum);
		m->correct += pred == c;
		m->confusion[(size_t)c * K + pred]++;
		if (K == 2) {
			m->scores[m->nscores] = p[1];
			m->labels[m->nscores++] = c;
		}
	}
}

static void add_regression(struct maas_metrics *m, const float *pred, const double *y, int B)
{
	size_t k = m->n;
	for (int b = 0; b < B; b++) {
		double e = (double)pred[b] - y[b];
		m->se += e * e;
		m->ae += fabs(e);
		/* Welford: d from the old mean, times the deviation from the new */
		double d = k ? y[b] - m->y_sum / (double)k : y[b];
		m->y_sum += y[b];
		k++;
		m->y_sq += d * (y[b] - m->y_sum / (double)k);
	}
}

void maas_metrics_add(struct maas_metrics *m, const float *probs_or_preds, const double *y, int B,
		      double batch_loss)
{
	if (B <= 0)
		return;
	if (m->classification)
		add_classification(m, probs_or_preds, y, B);
	else
		add_regression(m, probs_or_preds, y, B);
	m->loss_sum += batch_loss * B;
	m->n += (size_t)B;
}

double maas_metrics_loss(const struct maas_metrics *m)
{
	return m->n ? m->loss_sum / (double)m->n : NAN;
}

/* Samples that the classification metrics count. */
static size_t counted(const struct maas_metrics *m)
{
	return m->classification ? m->n - m->skipped : 0;
}

double maas_metrics_accuracy(const struct maas_metrics *m)
{
	size_t n = counted(m);
	return n ? (double)m->correct / (double)n : NAN;
}

double maas_metrics_macro_f1(const struct maas_metrics *m)
{
	if (!counted(m))
		return NAN;
	int K = m->K;
	double sum = 0;
	for (int k = 0; k < K; k++) {
		size_t tp = m->confusion[(size_t)k * K + k], row = 0, col = 0;
		for (int j = 0; j < K; j++) {
			row += m->confusion[(size_t)k * K + j];
			col += m->confusion[(size_t)j * K + k];
		}
		/* 2tp / (2tp + fp + fn) = 2tp / (row + col); 0 when both are 0 */
		if (row + col)
			sum += 2.0 * (double)tp / (double)(row + col);
	}
	return sum / K;
}

double maas_metrics_logloss(const struct maas_metrics *m)
{
	size_t n = counted(m);
	return n ? m->logloss_sum / (double)n : NAN;
}

/* The Mann-Whitney statistic: for every positive, the negatives scored
 * below it plus half of those scored the same, over P*N.  Both groups
 * are sorted (radix sort, so O(n)) and merged. */
double maas_metrics_auc(const struct maas_metrics *m)
{
	if (!m->classification || m->K != 2)
		return NAN;
	size_t P = 0, N = 0, n = m->nscores;
	for (size_t i = 0; i < n; i++) {
		if (isnan(m->scores[i]))
			return NAN;
		P += m->labels[i] == 1;
	}
	N = n - P;
	if (!P || !N)
		return NAN;
	double *pos = xmallocarray(P, sizeof *pos), *neg = xmallocarray(N, sizeof *neg);
	size_t ip = 0, in = 0;
	for (size_t i = 0; i < n; i++) {
		if (m->labels[i] == 1)
			pos[ip++] = m->scores[i];
		else
			neg[in++] = m->scores[i];
	}
	maas_sort_doubles(pos, P);
	maas_sort_doubles(neg, N);
	/* lo: negatives < s; hi: negatives <= s; both only grow with s.
	 * Counts stay below 2^53 up to about 9e7 samples, so the sum is exact. */
	double twice = 0;
	size_t lo = 0, hi = 0;
	for (size_t i = 0; i < P; i++) {
		double s = pos[i];
		while (lo < N && neg[lo] < s)
			lo++;
		if (hi < lo)
			hi = lo;
		while (hi < N && neg[hi] <= s)
			hi++;
		twice += (double)(2 * lo + (hi - lo));
	}
	free(pos);
	free(neg);
	return twice / 2.0 / ((double)P * (double)N);
}

double maas_metrics_rmse(const struct maas_metrics *m)
{
	return !m->classification && m->n ? sqrt(m->se / (double)m->n) : NAN;
}

double maas_metrics_mae(const struct maas_metrics *m)
{
	return !m->classification && m->n ? m->ae / (double)m->n : NAN;
}

double maas_metrics_r2(const struct maas_metrics *m)
{
	if (m->classification || !m->n)
		return NAN;
	if (m->y_sq == 0)
		return m->se == 0 ? 1.0 : 0.0;
	return 1.0 - m->se / m->y_sq;
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *maas_metrics_json(const struct maas_metrics *m, int with_confusion)
{
	json_t *j = json_object();
	json_object_set_new(j, "loss", num(maas_metrics_loss(m)));
	if (!m->classification) {
		json_object_set_new(j, "rmse", num(maas_metrics_rmse(m)));
		json_object_set_new(j, "mae", num(maas_metrics_mae(m)));
		json_object_set_new(j, "r2", num(maas_metrics_r2(m)));
		return j;
	}
	json_object_set_new(j, "accuracy", num(maas_metrics_accuracy(m)));
	json_object_set_new(j, "macro_f1", num(maas_metrics_macro_f1(m)));
	json_object_set_new(j, "logloss", num(maas_metrics_logloss(m)));
	if (m->K == 2)
		json_object_set_new(j, "auc", num(maas_metrics_auc(m)));
	if (with_confusion) {
		json_t *rows = json_array();
		for (int i = 0; i < m->K; i++) {
			json_t *row = json_array();
			for (int k = 0; k < m->K; k++)
				json_array_append_new(row, json_integer((json_int_t)m->confusion[(size_t)i * m->K + k]));
			json_array_append_new(rows, row);
		}
		json_object_set_new(j, "confusion", rows);
	}
	return j;
}
