/*
 * metrics.h - how good predictions are.
 *
 * Classification from probabilities (B, K) and labels, with scikit-learn's
 * definitions:
 *   accuracy   the share of samples whose most probable class (the first
 *              of equal maxima; NaN never wins) is the label
 *   macro-F1   f1_score(average='macro', labels=range(K), zero_division=0):
 *              the plain mean over all K classes of 2tp/(2tp+fp+fn), where
 *              a class absent from both labels and predictions scores 0 and
 *              so still counts in the mean (scikit-learn does the same)
 *   log-loss   log_loss(eps=1e-15): each row's probabilities clipped to
 *              [1e-15, 1-1e-15] and divided by their sum, then the mean of
 *              -log p[label]
 *   confusion  K x K counts, rows true, columns predicted
 *   AUC        roc_auc_score for binary tasks (K = 2) from P(class 1):
 *              tied scores count half (the trapezoid of the ROC curve, the
 *              Mann-Whitney statistic); NAN unless both classes occur, or
 *              when a score is NaN
 * Regression (K = 1, one prediction per sample), as scikit-learn:
 *   RMSE, MAE, and R^2 = 1 - SSres/SStot; when SStot is 0 (a constant
 *   target) R^2 is 1 if every prediction is exact and 0 otherwise
 *   (r2_score's force_finite).
 * Every metric is NAN over no samples.  Sums are kept in double; the
 * target's spread is accumulated with Welford's method, so R^2 stays exact
 * for targets far from 0.  loss is the mean of the per-batch losses the
 * caller passes, weighted by batch size.
 *
 * An accumulator takes batches and answers at the end, so an epoch's
 * predictions need not be kept (except for AUC, which keeps the scores of a
 * binary task: 12 bytes a sample).  Labels are class indices stored as
 * doubles; the caller validates them, and a sample whose label is not an
 * integer in [0, K) counts in n and the loss only (it is in `skipped`).
 *
 * Ownership: caller-owned struct; maas_metrics_init allocates,
 * maas_metrics_release frees.
 */
#ifndef MAAS_NN_METRICS_H
#define MAAS_NN_METRICS_H

#include <jansson.h>
#include <stddef.h>

struct maas_metrics {
	int classification;
	int K;                  /* classes; 1 for regression */
	size_t n;               /* samples added */
	double loss_sum;        /* sum of per-batch mean loss x batch size */
	/* classification */
	size_t skipped;         /* samples with an invalid label */
	size_t correct;
	size_t *confusion;      /* [K*K] */
	double logloss_sum;
	double *scores;         /* binary: P(class 1) per sample, for AUC */
	int *labels;            /* binary: the label of each score */
	size_t nscores, cap;
	/* regression */
	double se, ae;          /* sums of squared and absolute errors */
	double y_sum;           /* sum of y */
	double y_sq;            /* sum of (y - mean)^2, by Welford's update */
};

/* K is the class count (at least 1) for classification; regression uses 1. */
void maas_metrics_init(struct maas_metrics *m, int classification, int K);
void maas_metrics_release(struct maas_metrics *m);
/* Back to no samples, keeping the allocations. */
void maas_metrics_reset(struct maas_metrics *m);
/* probs (B, K) for classification (K = 1 for a sigmoid output is given
 * as K = 2 probabilities by the caller), preds (B) for regression; y (B). */
void maas_metrics_add(struct maas_metrics *m, const float *probs_or_preds, const double *y, int B,
		      double batch_loss);
double maas_metrics_loss(const struct maas_metrics *m);
double maas_metrics_accuracy(const struct maas_metrics *m);
double maas_metrics_macro_f1(const struct maas_metrics *m);
double maas_metrics_logloss(const struct maas_metrics *m);
double maas_metrics_auc(const struct maas_metrics *m);   /* NAN unless binary with both classes */
double maas_metrics_rmse(const struct maas_metrics *m);
double maas_metrics_mae(const struct maas_metrics *m);
double maas_metrics_r2(const struct maas_metrics *m);
/* A new object with all of the above that apply:
 *   {"loss","accuracy","macro_f1","logloss","auc" (K = 2 only),
 *    "confusion":[[..],..] (with_confusion only)}   or
 *   {"loss","rmse","mae","r2"};
 * a value that is not finite (no samples, one class for AUC, a diverged
 * loss) is null, so the keys do not depend on the data. */
json_t *maas_metrics_json(const struct maas_metrics *m, int with_confusion);

#endif
