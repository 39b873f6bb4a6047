/*
 * loss.h - losses: their value on a batch and their gradient.
 *
 * Each returns the mean loss over the B samples and writes dlogits (B, K):
 * the gradient of that mean with respect to the logits (so it carries the
 * 1/B).  K is the model's output width.  Targets: class indices for the
 * classification losses (as double, from the dataset's I64), values for the
 * regression ones.
 *
 *   softmax cross-entropy   K classes; optional class weights (PyTorch's
 *                           weighted mean: divided by the sum of the
 *                           weights of the batch's targets) and label
 *                           smoothing eps (target eps/K + (1-eps) one-hot)
 *   binary cross-entropy    K = 1, the logit of class 1 (with logits, stable);
 *                           y is 0 or 1 (values between act as soft targets)
 *   mse, mae, huber(delta)  regression, torch.nn.MSELoss / L1Loss / HuberLoss:
 *                           y (B, K), the mean over all B*K values (K = 1:
 *                           over the batch); mae's gradient at 0 is 0;
 *                           huber_delta <= 0 means 1
 *
 * The caller checks the targets: class indices within 0..K-1, finite
 * values; class_weight (non-negative, not all the batch's zero) applies to
 * softmax CE only.  Nothing allocates.  probs (B, K), when not NULL,
 * receives the softmax or sigmoid probabilities (for metrics), or for
 * regression the predictions themselves.  B = 0 gives 0.
 */
#ifndef MAAS_NN_LOSS_H
#define MAAS_NN_LOSS_H

enum maas_loss { MAAS_LOSS_SOFTMAX_CE, MAAS_LOSS_BCE, MAAS_LOSS_MSE, MAAS_LOSS_MAE, MAAS_LOSS_HUBER };

struct maas_loss_opts {
	enum maas_loss kind;
	const float *class_weight;  /* [K] or NULL */
	float label_smoothing;      /* softmax CE only, 0..1 */
	float huber_delta;          /* default 1 */
};

const char *maas_loss_name(enum maas_loss l);  /* "cross-entropy", "bce", "mse", "mae", "huber" */
int maas_loss_parse(const char *s);            /* -1 if unknown */

double maas_loss_compute(const struct maas_loss_opts *o, const float *logits, const double *y,
			 int B, int K, float *dlogits, float *probs);

#endif
