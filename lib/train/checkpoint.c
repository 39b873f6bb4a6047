/*
 * checkpoint.c - a trainer's whole state in one safetensors file.
 *
 * Tensors:
 *   params          F32 [P]   the weights now
 *   optim.state     F32 [S]   the optimizer's moments (SGD: P, Adam(W): 2P)
 *   best_params     F32 [P]   the weights of the best epoch (early stopping)
 *   rng.shuffle     U64 [4]   random states (xoshiro256**)
 *   rng.dropout     U64 [4]
 *   perm            U64 [n]   inside an epoch: the epoch's sample order
 *   train.confusion U64 [K*K] inside an epoch: the running train metrics
 *   train.scores    F64 [m], train.labels I32 [m]   (binary tasks)
 * Metadata (strings; JSON where structured):
 *   format          "maas-checkpoint/1"
 *   options         every training option, resolved (maas_train_opts_json)
 *   dataset_sha256  the dataset trained on
 *   threads         BLAS threads (a resume uses as many unless told, so
 *                   that it continues bit for bit)
 *   state           {"epoch", "in_epoch", "batch", "step", "optim_step",
 *                    "lr", "epoch_time", "elapsed", "best", "best_epoch",
 *                    "bad_epochs", "sched": {...}, "train_metrics": {...},
 *                    "arch", "parameters", "parent", "reinit_output"}
 *   history         the epoch lines so far, a JSON array of strings
 * Doubles are JSON numbers with 17 significant digits (exact), or the
 * strings "nan", "inf", "-inf".  Written atomically (a temporary file,
 * then rename), so an interrupted write leaves the previous checkpoint.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "nn/blas.h"
#include "train/train.h"

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "perm is written as U64");

static json_t *dbl(double v)
{
	if (isnan(v))
		return json_string("nan");
	if (isinf(v))
		return json_string(v > 0 ? "inf" : "-inf");
	return json_real(v);
}

static int get_dbl(const json_t *o, const char *key, double *v)
{
	const json_t *x = json_object_get(o, key);
	if (json_is_number(x)) {
		*v = json_number_value(x);
		return 0;
	}
	const char *s = json_string_value(x);
	if (!s)
		return -1;
	if (!strcmp(s, "nan"))
		*v = NAN;
	else if (!strcmp(s, "inf"))
		*v = INFINITY;
	else if (!strcmp(s, "-inf"))
		*v = -INFINITY;
	else
		return -1;
	return 0;
}

static int get_i64(const json_t *o, const char *key, long long lo, long long *v)
{
	const json_t *x = json_object_get(o, key);
	if (!json_is_integer(x) || json_integer_value(x) < lo)
		return -1;
	*v = json_integer_value(x);
	return 0;
}

static size_t optim_state_len(const struct maas_optim *o)
{
	if (!o->state)
		return 0;
	return o->kind == MAAS_OPT_SGD ? o->n : 2 * o->n;
}

static void tensor(struct maas_tensor *t, const char *name, enum maas_dtype dt, size_t n, const void *data)
{
	memset(t, 0, sizeof *t);
	t->name = (char *)name;
	t->dtype = dt;
	t->ndim = 1;
	t->shape[0] = (int64_t)n;
	t->nelem = n;
	t->nbytes = n * maas_dtype_size(dt);
	t->data = data;
}

static json_t *state_json(const struct maas_trainer *t)
{
	const struct maas_metrics *m = &t->train_m;
	json_t *s = json_object();
	json_object_set_new(s, "epoch", json_integer(t->epoch));
	json_object_set_new(s, "in_epoch", json_boolean(t->in_epoch));
	json_object_set_new(s, "batch", json_integer((json_int_t)t->batch));
	json_object_set_new(s, "step", json_integer((json_int_t)t->step));
	json_object_set_new(s, "optim_step", json_integer((json_int_t)t->optim.step));
	json_object_set_new(s, "lr", dbl(t->optim.lr));
	json_object_set_new(s, "epoch_time", dbl(t->epoch_time));
	json_object_set_new(s, "elapsed", dbl(t->elapsed));
	json_object_set_new(s, "best", dbl(t->best));
	json_object_set_new(s, "best_epoch", json_integer(t->best_epoch));
	json_object_set_new(s, "bad_epochs", json_integer(t->bad_epochs));
	json_object_set_new(s, "sched", json_pack("{s:o, s:i, s:o}", "best", dbl(t->sched.best), "bad_epochs",
						 t->sched.bad_epochs, "plateau_lr", dbl(t->sched.plateau_lr)));
	json_object_set_new(s, "train_metrics",
			    json_pack("{s:I, s:I, s:I, s:o, s:I, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)m->n, "skipped", (json_int_t)m->skipped, "nscores", (json_int_t)m->nscores,
				      "loss_sum", dbl(m->loss_sum), "correct", (json_int_t)m->correct,
				      "logloss_sum", dbl(m->logloss_sum), "se", dbl(m->se), "ae", dbl(m->ae),
				      "y_sum", dbl(m->y_sum), "y_sq", dbl(m->y_sq)));
	json_object_set_new(s, "arch", json_string(t->model.arch));
	json_object_set_new(s, "parameters", json_integer((json_int_t)t->model.nparams));
	json_object_set_new(s, "parent", t->parent_sha256 ? json_pack("{s:s, s:s}", "name",
				t->parent_name ? t->parent_name : "", "sha256", t->parent_sha256) : json_null());
	json_object_set_new(s, "reinit_output", json_boolean(t->reinit_output));
	return s;
}

int maas_checkpoint_write(const struct maas_trainer *t, const char *path, struct maas_err *e)
{
	const struct maas_metrics *m = &t->train_m;
	struct maas_tensor ts[10];
	size_t n = 0, P = t->model.nparams;

	tensor(&ts[n++], "params", MAAS_DT_F32, P, t->model.params);
	if (optim_state_len(&t->optim))
		tensor(&ts[n++], "optim.state", MAAS_DT_F32, optim_state_len(&t->optim), t->optim.state);
	if (t->best_params && t->best_epoch > 0)
		tensor(&ts[n++], "best_params", MAAS_DT_F32, P, t->best_params);
	tensor(&ts[n++], "rng.shuffle", MAAS_DT_U64, 4, t->rng_shuffle.s);
	tensor(&ts[n++], "rng.dropout", MAAS_DT_U64, 4, t->rng_dropout.s);
	if (t->in_epoch) {
		tensor(&ts[n++], "perm", MAAS_DT_U64, t->ds->split[MAAS_TRAIN].n, t->perm);
		if (m->classification && m->confusion)
			tensor(&ts[n++], "train.confusion", MAAS_DT_U64, (size_t)m->K * (size_t)m->K, m->confusion);
		if (m->scores && m->labels && m->nscores) {
			tensor(&ts[n++], "train.scores", MAAS_DT_F64, m->nscores, m->scores);
			tensor(&ts[n++], "train.labels", MAAS_DT_I32, m->nscores, m->labels);
		}
	}
	json_t *opts = maas_train_opts_json(&t->o), *state = state_json(t);
	char *opts_text = json_dumps(opts, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *state_text = json_dumps(state, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *hist_text = json_dumps(t->history, JSON_COMPACT);
	char threads[16];
	snprintf(threads, sizeof threads, "%d", maas_blas_threads());
	const char *keys[] = {"format", "options", "dataset_sha256", "threads", "state", "history"};
	const char *vals[] = {MAAS_CHECKPOINT_FORMAT, opts_text, t->ds->sha256, threads, state_text, hist_text};
	int r = maas_st_write_file(path, ts, n, keys, vals, 6, e);
	json_decref(opts);
	json_decref(state);
	free(opts_text);
	free(state_text);
	free(hist_text);
	if (r < 0)
		return maas_err_prefix(e, "writing checkpoint");
	return 0;
}

/* ---- reading ---- */

static int open_ckpt(struct maas_st *st, const char *path, struct maas_err *e)
{
	if (maas_st_open(st, path, e) < 0)
		return -1;
	const char *f = maas_st_meta(st, "format");
	if (!f || strcmp(f, MAAS_CHECKPOINT_FORMAT)) {
		maas_st_close(st);
		return maas_err_set(e, MAAS_EDATA, "'%s' is not a maas-train checkpoint (no format '%s' in its metadata)",
				    maas_display_name(path, 0), MAAS_CHECKPOINT_FORMAT);
	}
	return 0;
}

static json_t *meta_json(const struct maas_st *st, const char *key, const char *path, struct maas_err *e)
{
	const char *s = maas_st_meta(st, key);
	json_error_t je;
	json_t *j = s ? json_loads(s, JSON_REJECT_DUPLICATES, &je) : NULL;
	if (!j)
		maas_err_set(e, MAAS_EDATA, "checkpoint '%s': metadata '%s' is %s", maas_display_name(path, 0), key,
			     s ? "not JSON" : "missing");
	return j;
}

int maas_checkpoint_options(const char *path, struct maas_train_opts *o, char sha256[MAAS_SHA256_HEX],
			    int *threads, struct maas_err *e)
{
	struct maas_st st;
	maas_train_opts_init(o);
	if (open_ckpt(&st, path, e) < 0)
		return -1;
	int r = -1;
	json_t *j = meta_json(&st, "options", path, e);
	const char *sha = maas_st_meta(&st, "dataset_sha256");
	if (!j)
		goto out;
	if (!sha || strlen(sha) != MAAS_SHA256_HEX - 1) {
		maas_err_set(e, MAAS_EDATA, "checkpoint '%s' has no dataset digest", maas_display_name(path, 0));
		goto out;
	}
	memcpy(sha256, sha, MAAS_SHA256_HEX);
	if (threads) {
		const char *th = maas_st_meta(&st, "threads");
		*threads = th ? atoi(th) : 0;
		if (*threads < 0 || *threads > 1024)
			*threads = 0;
	}
	if (maas_train_opts_from_json(j, o, e) < 0) {
		maas_err_prefix(e, "checkpoint '%s'", maas_display_name(path, 0));
		goto out;
	}
	r = 0;
out:
	json_decref(j);
	maas_st_close(&st);
	return r;
}

/* A tensor of a checkpoint with the dtype and element count expected. */
static const void *want(const struct maas_st *st, const char *name, enum maas_dtype dt, size_t n,
			const char *path, struct maas_err *e)
{
	const struct maas_tensor *t = maas_st_get(st, name);
	if (!t || t->dtype != dt || t->nelem != n) {
		maas_err_set(e, MAAS_ECONFIG, "checkpoint '%s': tensor '%s' is %s (expected %s with %zu values)",
			     maas_display_name(path, 0), name, !t ? "missing" : "of another size or type",
			     maas_dtype_name(dt), n);
		return NULL;
	}
	return t->data;
}

static int restore_metrics(struct maas_metrics *m, const json_t *j, const struct maas_st *st, const char *path,
			   struct maas_err *e)
{
	long long n, correct, skipped, nscores;
	if (get_i64(j, "n", 0, &n) || get_i64(j, "correct", 0, &correct) || get_i64(j, "skipped", 0, &skipped) ||
	    get_i64(j, "nscores", 0, &nscores) || get_dbl(j, "loss_sum", &m->loss_sum) ||
	    get_dbl(j, "logloss_sum", &m->logloss_sum) || get_dbl(j, "se", &m->se) || get_dbl(j, "ae", &m->ae) ||
	    get_dbl(j, "y_sum", &m->y_sum) || get_dbl(j, "y_sq", &m->y_sq))
		return maas_err_set(e, MAAS_ECONFIG, "checkpoint '%s': bad state.train_metrics",
				    maas_display_name(path, 0));
	m->n = (size_t)n;
	m->correct = (size_t)correct;
	m->skipped = (size_t)skipped;
	if (m->classification && m->confusion) {
		const void *c = want(st, "train.confusion", MAAS_DT_U64, (size_t)m->K * (size_t)m->K, path, e);
		if (!c)
			return -1;
		memcpy(m->confusion, c, (size_t)m->K * (size_t)m->K * sizeof *m->confusion);
	}
	if (maas_st_get(st, "train.scores")) {
		size_t ns = (size_t)nscores;
		const void *s = want(st, "train.scores", MAAS_DT_F64, ns, path, e);
		const void *l = s ? want(st, "train.labels", MAAS_DT_I32, ns, path, e) : NULL;
		if (!l)
			return -1;
		free(m->scores);
		free(m->labels);
		m->scores = xmallocarray(ns ? ns : 1, sizeof *m->scores);
		m->labels = xmallocarray(ns ? ns : 1, sizeof *m->labels);
		memcpy(m->scores, s, ns * sizeof *m->scores);
		memcpy(m->labels, l, ns * sizeof *m->labels);
		m->nscores = ns;
		m->cap = ns ? ns : 1;
	}
	return 0;
}

static int restore(struct maas_trainer *t, const struct maas_st *st, const json_t *s, const char *path,
		   struct maas_err *e)
{
	const char *name = maas_display_name(path, 0);
	size_t P = t->model.nparams, ntrain = t->ds->split[MAAS_TRAIN].n;
	long long epoch, batch, step, ostep, best_epoch, bad_epochs, sbad, nparams;
	const json_t *sched = json_object_get(s, "sched");
	const char *arch = json_string_value(json_object_get(s, "arch"));
	const void *p;

	if (!json_is_object(s) || get_i64(s, "epoch", 0, &epoch) || get_i64(s, "batch", 0, &batch) ||
	    get_i64(s, "step", 0, &step) || get_i64(s, "optim_step", 0, &ostep) ||
	    get_i64(s, "best_epoch", 0, &best_epoch) || get_i64(s, "bad_epochs", 0, &bad_epochs) ||
	    get_i64(s, "parameters", 0, &nparams) || !json_is_boolean(json_object_get(s, "in_epoch")) ||
	    get_dbl(s, "lr", &t->optim.lr) || get_dbl(s, "epoch_time", &t->epoch_time) ||
	    get_dbl(s, "elapsed", &t->elapsed) || get_dbl(s, "best", &t->best) || !json_is_object(sched) ||
	    get_dbl(sched, "best", &t->sched.best) || get_i64(sched, "bad_epochs", 0, &sbad) ||
	    get_dbl(sched, "plateau_lr", &t->sched.plateau_lr) || !arch || epoch > 1000000000 ||
	    best_epoch > 1000000000 || bad_epochs > 1000000000 || sbad > 1000000000)
		return maas_err_set(e, MAAS_ECONFIG, "checkpoint '%s': bad state", name);
	if ((size_t)nparams != P || strcmp(arch, t->model.arch))
		return maas_err_set(e, MAAS_ECONFIG, "checkpoint '%s' holds a model '%s' with %lld parameters, "
				    "not '%s' with %zu", name, arch, nparams, t->model.arch, P);
	t->epoch = (int)epoch;
	t->in_epoch = json_is_true(json_object_get(s, "in_epoch"));
	t->batch = (size_t)batch;
	t->step = (uint64_t)step;
	t->optim.step = (uint64_t)ostep;
	t->best_epoch = (int)best_epoch;
	t->bad_epochs = (int)bad_epochs;
	t->sched.bad_epochs = (int)sbad;
	if (t->in_epoch && t->batch * (size_t)t->acts.B >= ntrain + (size_t)t->acts.B)
		return maas_err_set(e, MAAS_ECONFIG, "checkpoint '%s': batch %zu is past the epoch's end", name,
				    t->batch);

	if (!(p = want(st, "params", MAAS_DT_F32, P, path, e)))
		return -1;
	memcpy(t->model.params, p, P * sizeof *t->model.params);
	size_t ns = optim_state_len(&t->optim);
	if (ns) {
		if (!(p = want(st, "optim.state", MAAS_DT_F32, ns, path, e)))
			return -1;
		memcpy(t->optim.state, p, ns * sizeof *t->optim.state);
	}
	if (maas_st_get(st, "best_params") && t->best_params) {
		if (!(p = want(st, "best_params", MAAS_DT_F32, P, path, e)))
			return -1;
		memcpy(t->best_params, p, P * sizeof *t->best_params);
	}
	if (!(p = want(st, "rng.shuffle", MAAS_DT_U64, 4, path, e)))
		return -1;
	memcpy(t->rng_shuffle.s, p, sizeof t->rng_shuffle.s);
	if (!(p = want(st, "rng.dropout", MAAS_DT_U64, 4, path, e)))
		return -1;
	memcpy(t->rng_dropout.s, p, sizeof t->rng_dropout.s);
	if (t->in_epoch) {
		if (!(p = want(st, "perm", MAAS_DT_U64, ntrain, path, e)))
			return -1;
		memcpy(t->perm, p, ntrain * sizeof *t->perm);
		for (size_t i = 0; i < ntrain; i++)
			if (t->perm[i] >= ntrain)
				return maas_err_set(e, MAAS_ECONFIG, "checkpoint '%s': perm[%zu] is out of range", name, i);
		if (restore_metrics(&t->train_m, json_object_get(s, "train_metrics"), st, path, e) < 0)
			return -1;
	}
	const json_t *parent = json_object_get(s, "parent");
	if (json_is_object(parent)) {
		maas_train_opts_set(&t->parent_name, json_string_value(json_object_get(parent, "name")));
		maas_train_opts_set(&t->parent_sha256, json_string_value(json_object_get(parent, "sha256")));
	}
	t->reinit_output = json_is_true(json_object_get(s, "reinit_output"));
	return 0;
}

int maas_checkpoint_load(struct maas_trainer *t, const char *path, struct maas_err *e)
{
	struct maas_st st;
	json_t *state = NULL, *hist = NULL;
	int r = -1;

	if (open_ckpt(&st, path, e) < 0)
		return -1;
	const char *sha = maas_st_meta(&st, "dataset_sha256");
	if (!sha || strcmp(sha, t->ds->sha256)) {
		maas_err_set(e, MAAS_ECONFIG, "checkpoint '%s' was made from another dataset (sha256 %.12s..., "
			     "'%s' is %.12s...)", maas_display_name(path, 0), sha ? sha : "unknown", t->ds->name,
			     t->ds->sha256);
		goto out;
	}
	if (!(state = meta_json(&st, "state", path, e)) || !(hist = meta_json(&st, "history", path, e)))
		goto out;
	if (!json_is_array(hist)) {
		maas_err_set(e, MAAS_ECONFIG, "checkpoint '%s': history is not an array", maas_display_name(path, 0));
		goto out;
	}
	if (restore(t, &st, state, path, e) < 0)
		goto out;
	json_decref(t->history);
	t->history = json_incref(hist);
	r = 0;
out:
	json_decref(state);
	json_decref(hist);
	maas_st_close(&st);
	return r;
}
