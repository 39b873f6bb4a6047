/*
 * train.c - the trainer: the options resolved against the data, the model,
 * the optimizer and schedule, and the epoch loop.
 *
 * An epoch: the learning rate from the schedule, a shuffle of the training
 * samples (its own random stream), then for each batch: gather, forward in
 * training mode, loss, backward, optional clipping by global norm, an
 * optimizer step.  Then the validation split in eval mode, the monitored
 * metric for early stopping and reduce-on-plateau, one JSON line, and a
 * checkpoint when one is due.  The stop flag is read before every batch.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "train/train.h"

/* ---- resolving the options ---- */

static int is_classification_loss(int l)
{
	return l == MAAS_LOSS_SOFTMAX_CE || l == MAAS_LOSS_BCE;
}

static int parse_class_weight(struct maas_trainer *t, struct maas_err *e)
{
	const struct maas_dataset *ds = t->ds;
	const char *s = t->o.class_weight;
	int K = ds->K;

	if (!s)
		return 0;
	if (t->o.loss != MAAS_LOSS_SOFTMAX_CE)
		return maas_err_set(e, MAAS_EUSAGE, "--class-weight needs the cross-entropy loss (not %s)",
				    maas_loss_name(t->o.loss));
	t->class_weight = xcalloc((size_t)K, sizeof *t->class_weight);
	if (!strcmp(s, "balanced")) {
		/* scikit-learn's: n / (K * count); a class absent from training keeps 1 */
		size_t n = ds->split[MAAS_TRAIN].n;
		for (int k = 0; k < K; k++)
			t->class_weight[k] = ds->class_count[k]
				? (float)((double)n / ((double)K * (double)ds->class_count[k])) : 1.0f;
		return 0;
	}
	const char *p = s;
	for (int k = 0; k < K; k++) {
		char *end;
		double w = strtod(p, &end);
		if (end == p || !(w >= 0) || !isfinite(w) || (k < K - 1 ? *end != ',' : *end != '\0'))
			return maas_err_set(e, MAAS_EUSAGE, "bad --class-weight '%s': give 'balanced' or %d weights "
					    "(one per class, in the order %s%s%s...), each 0 or more", s, K,
					    ds->spec.classes[0], K > 1 ? ", " : "", K > 1 ? ds->spec.classes[1] : "");
		t->class_weight[k] = (float)w;
		p = end + 1;
	}
	return 0;
}

static int resolve(struct maas_trainer *t, struct maas_err *e)
{
	struct maas_train_opts *o = &t->o;
	const struct maas_dataset *ds = t->ds;
	const char *target = ds->spec.target;

	if (ds->classification && ds->K < 2)
		return maas_err_set(e, MAAS_EDATA, "dataset '%s': the target '%s' has one class: nothing to learn",
				    ds->name, target);
	if (!o->arch)
		maas_train_opts_set(&o->arch, ds->T ? "gru" : "mlp");
	if (o->loss < 0)
		o->loss = ds->classification ? MAAS_LOSS_SOFTMAX_CE : MAAS_LOSS_MSE;
	if (ds->classification && !is_classification_loss(o->loss))
		return maas_err_set(e, MAAS_EUSAGE, "--loss %s needs a numeric target, but '%s' of '%s' is a class "
				    "(use cross-entropy or bce)", maas_loss_name(o->loss), target, ds->name);
	if (!ds->classification && is_classification_loss(o->loss))
		return maas_err_set(e, MAAS_EUSAGE, "--loss %s needs classes, but '%s' of '%s' is a number "
				    "(use mse, mae or huber)", maas_loss_name(o->loss), target, ds->name);
	if (o->loss == MAAS_LOSS_BCE && ds->K != 2)
		return maas_err_set(e, MAAS_EUSAGE, "--loss bce needs two classes, but '%s' of '%s' has %d "
				    "(use cross-entropy)", target, ds->name, ds->K);
	if (o->label_smoothing != 0 && o->loss != MAAS_LOSS_SOFTMAX_CE)
		return maas_err_set(e, MAAS_EUSAGE, "--label-smoothing needs the cross-entropy loss");
	if (!(o->label_smoothing >= 0 && o->label_smoothing < 1))
		return maas_err_set(e, MAAS_EUSAGE, "bad --label-smoothing %g: from 0 to below 1", o->label_smoothing);
	if (!(o->huber_delta > 0))
		return maas_err_set(e, MAAS_EUSAGE, "bad --huber-delta %g: above 0", o->huber_delta);
	if (!o->metric)
		maas_train_opts_set(&o->metric, ds->classification ? "accuracy" : "rmse");
	if (!maas_metric_valid(o->metric, ds->classification))
		return maas_err_set(e, MAAS_EUSAGE, "--metric %s does not apply to %s (use %s)", o->metric,
				    ds->classification ? "classification" : "regression",
				    ds->classification ? "loss, accuracy, macro_f1, logloss or auc" : "loss, rmse, mae or r2");
	if (!strcmp(o->metric, "auc") && ds->K != 2)
		return maas_err_set(e, MAAS_EUSAGE, "--metric auc needs two classes, but '%s' has %d", target, ds->K);
	if (isnan(o->weight_decay))
		o->weight_decay = o->optimizer == MAAS_OPT_ADAMW ? 0.01 : 0;
	if (o->momentum != 0 && o->optimizer != MAAS_OPT_SGD)
		return maas_err_set(e, MAAS_EUSAGE, "--momentum is for --optimizer sgd (Adam's are --betas)");
	if (o->nesterov && (o->optimizer != MAAS_OPT_SGD || !(o->momentum > 0)))
		return maas_err_set(e, MAAS_EUSAGE, "--nesterov needs --optimizer sgd and a --momentum above 0");
	if (o->step_size <= 0)
		o->step_size = o->epochs / 3 > 1 ? o->epochs / 3 : 1;
	if (o->plateau_patience < 0)
		o->plateau_patience = o->patience ? (o->patience / 2 > 1 ? o->patience / 2 : 1) : 10;
	if (!(o->lr > 0) || !isfinite(o->lr))
		return maas_err_set(e, MAAS_EUSAGE, "bad --lr %g: above 0", o->lr);
	if (o->batch_size < 1 || o->epochs < 1)
		return maas_err_set(e, MAAS_EUSAGE, "--batch-size and --epochs must be 1 or more");
	return parse_class_weight(t, e);
}

/* ---- building ---- */

static size_t max_split(const struct maas_dataset *ds)
{
	size_t n = 0;
	for (int s = 0; s < 3; s++)
		if (ds->split[s].n > n)
			n = ds->split[s].n;
	return n;
}

static void metrics_init(const struct maas_trainer *t, struct maas_metrics *m)
{
	const struct maas_dataset *ds = t->ds;
	maas_metrics_init(m, ds->classification, ds->classification ? (ds->K < 2 ? 2 : ds->K) : 1);
}

int maas_trainer_init(struct maas_trainer *t, const struct maas_train_opts *o,
		      const struct maas_dataset *ds, struct maas_err *e)
{
	struct maas_rng init;

	memset(t, 0, sizeof *t);
	maas_train_opts_copy(&t->o, o);
	t->ds = ds;
	t->best = NAN;
	t->history = json_array();
	metrics_init(t, &t->train_m);
	if (resolve(t, e) < 0)
		goto fail;

	int out_dim = t->o.loss == MAAS_LOSS_SOFTMAX_CE ? ds->K : 1;
	if (maas_model_build(&t->model, t->o.arch, ds->d, ds->T, out_dim, e) < 0)
		goto fail;
	if (t->o.freeze < 0 || t->o.freeze >= t->model.nlayers) {
		maas_err_set(e, MAAS_EUSAGE, "bad --freeze %d: the model has %d layers before its output layer",
			     t->o.freeze, t->model.nlayers - 1);
		goto fail;
	}
	if (isnan(t->o.clip_norm))
		t->o.clip_norm = t->model.recurrent ? 1 : 0;
	if (!(t->o.clip_norm >= 0)) {
		maas_err_set(e, MAAS_EUSAGE, "bad --clip-norm %g: 0 (off) or more", t->o.clip_norm);
		goto fail;
	}
	t->clip_norm = t->o.clip_norm;
	maas_rng_init(&init, t->o.seed, MAAS_STREAM_INIT);
	maas_model_init_params(&t->model, &init);

	maas_optim_init(&t->optim, (enum maas_optimizer)t->o.optimizer, t->model.nparams);
	t->optim.lr = t->o.lr;
	t->optim.momentum = t->o.momentum;
	t->optim.nesterov = t->o.nesterov;
	t->optim.beta1 = t->o.beta1;
	t->optim.beta2 = t->o.beta2;
	t->optim.weight_decay = t->o.weight_decay;
	t->optim.frozen = maas_model_frozen_end(&t->model, t->o.freeze);

	t->higher_is_better = maas_metric_higher_is_better(t->o.metric);
	maas_sched_init(&t->sched, (enum maas_schedule)t->o.schedule, t->o.lr, t->o.epochs);
	t->sched.warmup = t->o.warmup;
	t->sched.step_size = t->o.step_size;
	t->sched.gamma = t->o.gamma;
	t->sched.factor = t->o.gamma;
	t->sched.min_lr = t->o.min_lr;
	t->sched.patience = t->o.plateau_patience;
	t->sched.higher_is_better = t->higher_is_better;

	t->loss.kind = (enum maas_loss)t->o.loss;
	t->loss.class_weight = t->class_weight;
	t->loss.label_smoothing = (float)t->o.label_smoothing;
	t->loss.huber_delta = (float)t->o.huber_delta;

	size_t B = (size_t)t->o.batch_size, most = max_split(ds);
	if (B > most)
		B = most;
	maas_acts_alloc(&t->acts, &t->model, (int)B);
	int K2 = ds->K < 2 ? 2 : ds->K;
	t->xb = xmallocarray(B, ds->row * sizeof *t->xb);
	t->yb = xmallocarray(B, sizeof *t->yb);
	t->yraw = xmallocarray(B, sizeof *t->yraw);
	t->probs = xmallocarray(B, (size_t)K2 * sizeof *t->probs);
	t->dlogits = xmallocarray(B, (size_t)out_dim * sizeof *t->dlogits);
	t->perm = xmallocarray(ds->split[MAAS_TRAIN].n, sizeof *t->perm);
	if (t->o.patience > 0)
		t->best_params = xmallocarray(t->model.nparams ? t->model.nparams : 1, sizeof *t->best_params);
	maas_rng_init(&t->rng_shuffle, t->o.seed, MAAS_STREAM_SHUFFLE);
	maas_rng_init(&t->rng_dropout, t->o.seed, MAAS_STREAM_DROPOUT);
	return 0;
fail:
	maas_trainer_release(t);
	return -1;
}

void maas_trainer_release(struct maas_trainer *t)
{
	maas_model_release(&t->model);
	maas_optim_release(&t->optim);
	maas_acts_release(&t->acts);
	maas_metrics_release(&t->train_m);
	maas_train_opts_release(&t->o);
	json_decref(t->history);
	free(t->class_weight);
	free(t->best_params);
	free(t->perm);
	free(t->xb);
	free(t->yb);
	free(t->yraw);
	free(t->probs);
	free(t->dlogits);
	free(t->parent_name);
	free(t->parent_sha256);
	memset(t, 0, sizeof *t);
}

/* ---- one batch ---- */

/* Forward and loss of B samples at x with targets t->yb; fills t->dlogits,
 * and adds the batch to m (when not NULL).  Returns the mean loss. */
static double batch(struct maas_trainer *t, const float *x, int B, int train, struct maas_metrics *m)
{
	const struct maas_dataset *ds = t->ds;
	int out_dim = t->model.out_dim;

	maas_model_forward(&t->model, &t->acts, x, B, train, train ? &t->rng_dropout : NULL);
	if (t->loss.kind == MAAS_LOSS_BCE) {
		/* the sigmoid's P(class 1) into the second half, then (1-p, p) pairs */
		float *p1 = t->probs + B;
		double L = maas_loss_compute(&t->loss, t->acts.logits, t->yb, B, 1, t->dlogits, p1);
		for (int b = 0; b < B; b++) {
			float p = p1[b];
			t->probs[2 * b] = 1 - p;
			t->probs[2 * b + 1] = p;
		}
		if (m)
			maas_metrics_add(m, t->probs, t->yb, B, L);
		return L;
	}
	if (ds->classification) {
		double L = maas_loss_compute(&t->loss, t->acts.logits, t->yb, B, out_dim, t->dlogits, t->probs);
		if (m)
			maas_metrics_add(m, t->probs, t->yb, B, L);
		return L;
	}
	double L = maas_loss_compute(&t->loss, t->acts.logits, t->yb, B, 1, t->dlogits, NULL);
	if (m) {
		/* regression metrics in the target's units */
		double *y = t->yraw;
		for (int b = 0; b < B; b++) {
			t->probs[b] = (float)((double)t->acts.logits[b] * ds->y_std + ds->y_mean);
			y[b] = t->yb[b] * ds->y_std + ds->y_mean;
		}
		maas_metrics_add(m, t->probs, y, B, L);
	}
	return L;
}

void maas_trainer_evaluate(struct maas_trainer *t, int split, struct maas_metrics *m)
{
	const struct maas_dataset *ds = t->ds;
	const struct maas_tsplit *sp = &ds->split[split];
	size_t B = (size_t)t->acts.B;

	metrics_init(t, m);
	for (size_t i = 0; i < sp->n; i += B) {
		size_t b = sp->n - i < B ? sp->n - i : B;
		maas_dataset_targets(ds, split, i, b, t->yb);
		batch(t, sp->x + i * ds->row, (int)b, 0, m);
	}
}

void maas_trainer_predict(struct maas_trainer *t, const float *x, size_t n, float *out)
{
	const struct maas_dataset *ds = t->ds;
	size_t B = (size_t)t->acts.B;
	int out_dim = t->model.out_dim, K2 = ds->K < 2 ? 2 : ds->K;

	for (size_t i = 0; i < n; i += B) {
		size_t nb = n - i < B ? n - i : B;
		maas_model_forward(&t->model, &t->acts, x + i * ds->row, (int)nb, 0, NULL);
		for (size_t b = 0; b < nb; b++) {
			const float *z = t->acts.logits + b * (size_t)out_dim;
			if (!ds->classification) {
				out[i + b] = (float)((double)z[0] * ds->y_std + ds->y_mean);
			} else if (t->loss.kind == MAAS_LOSS_BCE) {
				double p = 1 / (1 + exp(-(double)z[0]));
				out[(i + b) * 2] = (float)(1 - p);
				out[(i + b) * 2 + 1] = (float)p;
			} else {
				float *o = out + (i + b) * (size_t)K2;
				double mx = z[0], sum = 0;
				for (int k = 1; k < out_dim; k++)
					if (z[k] > mx)
						mx = z[k];
				for (int k = 0; k < out_dim; k++)
					sum += exp((double)z[k] - mx);
				for (int k = 0; k < out_dim; k++)
					o[k] = (float)(exp((double)z[k] - mx) / sum);
				if (out_dim == 1)
					o[1] = 0;
			}
		}
	}
}

/* ---- the epoch line ---- */

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static void add_metrics(json_t *line, const char *prefix, const struct maas_metrics *m)
{
	static const char *const cls[] = {"loss", "accuracy", "macro_f1", "logloss", "auc"};
	static const char *const reg[] = {"loss", "rmse", "mae", "r2"};
	const char *const *names = m->classification ? cls : reg;
	size_t n = m->classification ? 5 : 4;
	char key[64];

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(names[i], "auc") && m->K != 2)
			continue;
		snprintf(key, sizeof key, "%s_%s", prefix, names[i]);
		json_object_set_new(line, key, num(maas_metric_value(m, names[i])));
	}
}

static char *epoch_line(struct maas_trainer *t, const struct maas_metrics *val, double seconds)
{
	json_t *line = json_object();
	char key[64];

	json_object_set_new(line, "epoch", json_integer(t->epoch + 1));
	json_object_set_new(line, "train_loss", num(maas_metrics_loss(&t->train_m)));
	if (strcmp(t->o.metric, "loss")) {
		snprintf(key, sizeof key, "train_%s", t->o.metric);
		json_object_set_new(line, key, num(maas_metric_value(&t->train_m, t->o.metric)));
	}
	if (val)
		add_metrics(line, "val", val);
	json_object_set_new(line, "lr", num(t->optim.lr));
	json_object_set_new(line, "seconds", num(seconds));
	json_object_set_new(line, "epoch_seconds", num(t->epoch_time));
	json_object_set_new(line, "samples_per_s",
			    num(t->epoch_time > 0 ? (double)t->ds->split[MAAS_TRAIN].n / t->epoch_time : 0));
	char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(line);
	return s;
}

/* ---- the loop ---- */

static void start_epoch(struct maas_trainer *t)
{
	size_t n = t->ds->split[MAAS_TRAIN].n;
	for (size_t i = 0; i < n; i++)
		t->perm[i] = i;
	maas_rng_shuffle(&t->rng_shuffle, t->perm, n);
	maas_metrics_reset(&t->train_m);
	t->epoch_time = 0;
	t->batch = 0;
	t->in_epoch = 1;
}

static int improved(const struct maas_trainer *t, double v)
{
	if (isnan(v))
		return 0;
	if (isnan(t->best))
		return 1;
	return t->higher_is_better ? v > t->best : v < t->best;
}

static int interrupted(struct maas_trainer *t, const char *ckpt, int sig, size_t nbatches, struct maas_err *e)
{
	struct maas_err we;
	const char *what = sig == SIGTERM ? "terminated" : "interrupted";

	if (!ckpt)
		return maas_err_set(e, MAAS_EINTR, "%s in epoch %d after %zu of %zu batches; no checkpoint written "
				    "(give --checkpoint FILE to be able to resume)", what, t->epoch + 1, t->batch,
				    nbatches);
	if (maas_checkpoint_write(t, ckpt, &we) < 0)
		return maas_err_set(e, MAAS_EINTR, "%s in epoch %d; no checkpoint written: %s", what, t->epoch + 1,
				    we.msg);
	return maas_err_set(e, MAAS_EINTR, "%s in epoch %d after %zu of %zu batches: checkpoint written to '%s' "
			    "(continue with --resume)", what, t->epoch + 1, t->batch, nbatches, ckpt);
}

static int diverged(struct maas_trainer *t, double L, const char *ckpt, int ckpt_epoch, struct maas_err *e)
{
	maas_err_set(e, MAAS_EDATA, "loss diverged at epoch %d, batch %zu (%s): try a lower --lr", t->epoch + 1,
		     t->batch + 1, isnan(L) ? "nan" : L > 0 ? "inf" : "-inf");
	if (ckpt && ckpt_epoch > 0) {
		size_t len = strlen(e->msg);
		snprintf(e->msg + len, sizeof e->msg - len, "; the last good checkpoint is '%s' (epoch %d)", ckpt,
			 ckpt_epoch);
	}
	return -1;
}

static int done(struct maas_trainer *t)
{
	if (t->epoch >= t->o.epochs) {
		t->stop_reason = "epochs";
		return 1;
	}
	if (t->o.patience > 0 && t->bad_epochs >= t->o.patience) {
		t->stop_reason = "early_stopping";
		return 1;
	}
	if (t->o.time_budget > 0 && t->elapsed >= t->o.time_budget) {
		t->stop_reason = "time_budget";
		return 1;
	}
	return 0;
}

int maas_trainer_run(struct maas_trainer *t, const struct maas_train_hooks *hooks, const char *ckpt,
		     int ckpt_every, const char *stop_ckpt, struct maas_err *e)
{
	static const struct maas_train_hooks none;
	const struct maas_dataset *ds = t->ds;
	const struct maas_tsplit *tr = &ds->split[MAAS_TRAIN];
	size_t B = (size_t)t->acts.B, nbatches = (tr->n + B - 1) / B;
	int has_val = ds->split[MAAS_VAL].n > 0, ckpt_epoch = 0;
	double base = t->elapsed, t0 = maas_now();
	char label[48];

	if (!hooks)
		hooks = &none;
	while (!done(t)) {
		if (!t->in_epoch) {
			start_epoch(t);
			t->optim.lr = maas_sched_lr(&t->sched, t->epoch);
		}
		snprintf(label, sizeof label, "epoch %d/%d", t->epoch + 1, t->o.epochs);
		if (hooks->progress)
			maas_progress_start(hooks->progress, label, nbatches);
		double tb = maas_now(), tb_base = t->epoch_time;
		for (; t->batch < nbatches; t->batch++) {
			if (hooks->on_batch)
				hooks->on_batch(hooks->ctx, t->epoch, t->batch);
			if (hooks->stop && *hooks->stop) {
				t->epoch_time = tb_base + (maas_now() - tb);
				t->elapsed = base + (maas_now() - t0);
				maas_progress_finish(hooks->progress);
				return interrupted(t, ckpt ? ckpt : stop_ckpt, (int)*hooks->stop, nbatches, e);
			}
			size_t first = t->batch * B, b = tr->n - first < B ? tr->n - first : B;
			maas_dataset_gather(ds, MAAS_TRAIN, t->perm + first, b, t->xb, t->yb);
			maas_model_zero_grad(&t->model);
			double L = batch(t, t->xb, (int)b, 1, &t->train_m);
			if (!isfinite(L)) {
				maas_progress_finish(hooks->progress);
				return diverged(t, L, ckpt, ckpt_epoch, e);
			}
			maas_model_backward(&t->model, &t->acts, t->xb, t->dlogits, (int)b);
			if (t->clip_norm > 0)
				maas_clip_grad_norm(t->model.grads, t->model.nparams, t->clip_norm);
			maas_optim_step(&t->optim, t->model.params, t->model.grads);
			t->step++;
			maas_progress_update(hooks->progress, t->batch + 1);
		}
		maas_progress_finish(hooks->progress);
		t->epoch_time = tb_base + (maas_now() - tb);

		struct maas_metrics val;
		double monitored;
		if (has_val) {
			maas_trainer_evaluate(t, MAAS_VAL, &val);
			monitored = maas_metric_value(&val, t->o.metric);
		} else {
			monitored = maas_metric_value(&t->train_m, t->o.metric);
		}
		t->elapsed = base + (maas_now() - t0);
		char *line = epoch_line(t, has_val ? &val : NULL, t->elapsed);
		if (has_val)
			maas_metrics_release(&val);
		if (improved(t, monitored)) {
			t->best = monitored;
			t->best_epoch = t->epoch + 1;
			t->bad_epochs = 0;
			if (t->best_params)
				memcpy(t->best_params, t->model.params, t->model.nparams * sizeof *t->best_params);
		} else {
			t->bad_epochs++;
		}
		if (t->o.schedule == MAAS_SCHED_PLATEAU && !isnan(monitored))
			maas_sched_observe(&t->sched, monitored);
		t->epoch++;
		t->batch = 0;
		t->in_epoch = 0;
		json_array_append_new(t->history, json_string(line));
		int r = hooks->on_epoch ? hooks->on_epoch(hooks->ctx, line, e) : 0;
		free(line);
		if (r < 0)
			return -1;
		if (ckpt && ckpt_every > 0 && t->epoch % ckpt_every == 0) {
			if (maas_checkpoint_write(t, ckpt, e) < 0)
				return -1;
			ckpt_epoch = t->epoch;
		}
	}
	if (ckpt && ckpt_epoch != t->epoch && maas_checkpoint_write(t, ckpt, e) < 0)
		return -1;
	t->finished = 1;
	if (t->best_params && t->best_epoch > 0 && t->best_epoch != t->epoch)
		memcpy(t->model.params, t->best_params, t->model.nparams * sizeof *t->best_params);
	return 0;
}
