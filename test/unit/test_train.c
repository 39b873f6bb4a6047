/* test_train.c - the training library: dataset checks, small problems
 * learnt, determinism, checkpoint and resume bit for bit, --init and
 * --freeze, divergence, bundles, and full-batch SGD against numpy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "core/io.h"
#include "core/mem.h"
#include "nn/blas.h"
#include "prep/run.h"
#include "train/train.h"
#include "tap.h"

static char base[] = "/tmp/test_train-XXXXXX";

static char *P(const char *name)
{
	return xasprintf("%s/%s", base, name);
}

/* ---- fixtures: CSVs made here, datasets made by maas-prep's library ---- */

enum { CLS2, CLS3, REG };

static void write_csv(const char *path, int kind, size_t n, uint64_t seed)
{
	struct maas_rng r;
	FILE *f = fopen(path, "w");
	maas_rng_init(&r, seed, 1);
	fprintf(f, "a,b,c,y\n");
	for (size_t i = 0; i < n; i++) {
		double a = maas_rng_uniform(&r) * 2 - 1, b = maas_rng_uniform(&r) * 2 - 1;
		const char *c = maas_rng_below(&r, 2) ? "red" : "blue";
		if (kind == CLS2)
			fprintf(f, "%.4f,%.4f,%s,%s\n", a, b, c, a + 0.5 * b > 0 ? "pos" : "neg");
		else if (kind == CLS3)
			fprintf(f, "%.4f,%.4f,%s,%s\n", a, b, c, a > 0.3 ? "hi" : a < -0.3 ? "lo" : "mid");
		else
			fprintf(f, "%.4f,%.4f,%s,%.4f\n", a, b, c,
				3 * a - 2 * b + (c[0] == 'r' ? 1 : 0) + 10 + 0.01 * maas_rng_normal(&r));
	}
	fclose(f);
}

static int prep(const char *csv, const char *out, double train, double val, double test)
{
	struct maas_prep_job job;
	struct maas_prep_result res;
	struct maas_err e;
	struct maas_progress progress;   /* maas_prep_run wants one (never drawn: not a terminal) */
	const char *inputs[] = {csv};

	memset(&job, 0, sizeof job);
	maas_log_init("test_train", MAAS_LOG_QUIET);
	maas_progress_start(&progress, "prep", 0);
	job.progress = &progress;
	maas_read_opts_init(&job.read);
	maas_prep_opts_init(&job.prep);
	job.inputs = inputs;
	job.ninputs = 1;
	job.output = out;
	job.prep.target = "y";
	job.prep.frac[0] = train;
	job.prep.frac[1] = val;
	job.prep.frac[2] = test;
	int r = maas_prep_run(&job, &res, &e);
	if (r < 0)
		printf("# prep: %s\n", e.msg);
	maas_prep_result_release(&res);
	return r;
}

/* Rewrites dataset src as dst through fn, which may change tensors (copies). */
static void rewrite(const char *src, const char *dst, void (*fn)(struct maas_tensor *t, size_t n, void *ctx),
		    void *ctx, const char *drop_meta)
{
	struct maas_st st;
	struct maas_err e;
	if (maas_st_open(&st, src, &e) < 0) {
		printf("# %s\n", e.msg);
		return;
	}
	struct maas_tensor *t = xcalloc(st.n, sizeof *t);
	void **copies = xcalloc(st.n, sizeof *copies);
	for (size_t i = 0; i < st.n; i++) {
		t[i] = st.tensors[i];
		copies[i] = xmalloc(t[i].nbytes ? t[i].nbytes : 1);
		memcpy(copies[i], t[i].data, t[i].nbytes);
		t[i].data = copies[i];
	}
	fn(t, st.n, ctx);
	const char **k = xcalloc(st.nmeta + 1, sizeof *k), **v = xcalloc(st.nmeta + 1, sizeof *v);
	size_t nm = 0;
	for (size_t i = 0; i < st.nmeta; i++)
		if (!drop_meta || strcmp(st.meta_keys[i], drop_meta)) {
			k[nm] = st.meta_keys[i];
			v[nm++] = st.meta_vals[i];
		}
	size_t n = 0;
	for (size_t i = 0; i < st.n; i++)
		if (t[i].name)
			t[n++] = t[i];
	if (maas_st_write_file(dst, t, n, k, v, nm, &e) < 0)
		printf("# %s\n", e.msg);
	for (size_t i = 0; i < st.n; i++)
		free(copies[i]);
	free(copies);
	free(t);
	free(k);
	free(v);
	maas_st_close(&st);
}

static void drop_train(struct maas_tensor *t, size_t n, void *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		if (!strncmp(t[i].name, "train.", 6))
			t[i].name = NULL;
}

static void poison_x(struct maas_tensor *t, size_t n, void *ctx)
{
	float v = *(float *)ctx;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, "train.x"))
			((float *)t[i].data)[1 * t[i].shape[1] + 2] = v;
}

static void bad_class(struct maas_tensor *t, size_t n, void *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, "val.y"))
			((int64_t *)t[i].data)[3] = 7;
}

static void nothing(struct maas_tensor *t, size_t n, void *ctx)
{
	(void)t, (void)n, (void)ctx;
}

/* ---- helpers ---- */

static void opts(struct maas_train_opts *o, const char *arch, int epochs)
{
	maas_train_opts_init(o);
	maas_train_opts_set(&o->arch, arch);
	o->epochs = epochs;
	o->batch_size = 32;
	o->patience = 0;
	o->lr = 0.01;
	o->seed = 7;
}

/* Trains a fresh trainer on ds; leaves it for the caller to release. */
static int train(struct maas_trainer *t, const struct maas_train_opts *o, const struct maas_dataset *ds,
		 const struct maas_train_hooks *h, const char *ckpt, struct maas_err *e)
{
	if (maas_trainer_init(t, o, ds, e) < 0)
		return -1;
	return maas_trainer_run(t, h, ckpt, 0, NULL, e);
}

static double val_metric(struct maas_trainer *t, const char *name)
{
	struct maas_metrics m;
	maas_trainer_evaluate(t, MAAS_VAL, &m);
	double v = maas_metric_value(&m, name);
	maas_metrics_release(&m);
	return v;
}

/* ---- dataset loading ---- */

static void test_dataset_errors(void)
{
	struct maas_dataset ds;
	struct maas_err e;
	char *csv = P("c2.csv"), *d = P("c2.safetensors"), *x = P("x.safetensors");
	float nan = NAN, inf = INFINITY;

	is_int(maas_dataset_open(&ds, "/nonexistent/d.safetensors", &e), -1, "missing file refused");
	is_int(e.kind, MAAS_ENOINPUT, "missing file: MAAS_ENOINPUT");
	is_int(maas_dataset_open(&ds, csv, &e), -1, "a CSV is not a dataset");
	is_int(e.kind, MAAS_EDATA, "CSV: MAAS_EDATA");

	is_int(maas_dataset_open(&ds, d, &e), 0, "a maas-prep dataset opens");
	is_int(ds.classification, 1, "classification");
	is_int(ds.K, 2, "two classes");
	is_int(ds.d, 4, "4 features (a, b, c one-hot)");
	is_int(ds.T, 0, "tabular");
	ok(ds.split[MAAS_TRAIN].n == 240 && ds.split[MAAS_VAL].n == 30 && ds.split[MAAS_TEST].n == 30,
	   "splits 240/30/30 (%zu %zu %zu)", ds.split[0].n, ds.split[1].n, ds.split[2].n);
	is_int(strlen(ds.sha256), 64, "digest");
	ok(ds.examples && json_array_size(ds.examples) > 0, "raw examples in the metadata");
	maas_dataset_close(&ds);

	rewrite(d, x, nothing, NULL, "format");
	is_int(maas_dataset_open(&ds, x, &e), -1, "no format tag refused");
	ok(strstr(e.msg, "is not a maas dataset") != NULL, "message: %s", e.msg);

	rewrite(d, x, drop_train, NULL, NULL);
	is_int(maas_dataset_open(&ds, x, &e), -1, "no training split refused");
	is_int(e.kind, MAAS_EDATA, "no train: MAAS_EDATA");
	ok(strstr(e.msg, "has no training split") != NULL, "message: %s", e.msg);

	rewrite(d, x, poison_x, &nan, NULL);
	is_int(maas_dataset_open(&ds, x, &e), -1, "NaN refused");
	ok(strstr(e.msg, "train.x[1, 2] is nan") != NULL, "NaN named by tensor and index: %s", e.msg);
	rewrite(d, x, poison_x, &inf, NULL);
	is_int(maas_dataset_open(&ds, x, &e), -1, "Inf refused");
	ok(strstr(e.msg, "train.x[1, 2] is inf") != NULL, "Inf named: %s", e.msg);

	rewrite(d, x, bad_class, NULL, NULL);
	is_int(maas_dataset_open(&ds, x, &e), -1, "class out of range refused");
	ok(strstr(e.msg, "val.y[3] is 7") != NULL, "class named: %s", e.msg);
	free(csv);
	free(d);
	free(x);
}

/* ---- option checks against the data ---- */

static void test_option_errors(void)
{
	struct maas_dataset ds, rg;
	struct maas_trainer t;
	struct maas_train_opts o;
	struct maas_err e;
	char *d = P("c3.safetensors"), *r = P("reg.safetensors");

	maas_dataset_open(&ds, d, &e);
	maas_dataset_open(&rg, r, &e);
	opts(&o, "dense:8,relu,dense:x", 1);
	is_int(maas_trainer_init(&t, &o, &ds, &e), -1, "bad architecture refused");
	is_int(e.kind, MAAS_EUSAGE, "architecture: MAAS_EUSAGE");
	ok(strstr(e.msg, "'dense:x'") != NULL, "the message points at the word: %s", e.msg);
	maas_train_opts_release(&o);

	opts(&o, "linear", 1);
	o.loss = MAAS_LOSS_MSE;
	is_int(maas_trainer_init(&t, &o, &ds, &e), -1, "mse on classes refused");
	ok(e.kind == MAAS_EUSAGE && strstr(e.msg, "--loss mse needs a numeric target"), "%s", e.msg);
	o.loss = MAAS_LOSS_BCE;
	is_int(maas_trainer_init(&t, &o, &ds, &e), -1, "bce on three classes refused");
	ok(strstr(e.msg, "needs two classes") != NULL, "%s", e.msg);
	o.loss = MAAS_LOSS_SOFTMAX_CE;
	is_int(maas_trainer_init(&t, &o, &rg, &e), -1, "cross-entropy on numbers refused");
	ok(strstr(e.msg, "needs classes") != NULL, "%s", e.msg);
	o.loss = -1;
	maas_train_opts_set(&o.metric, "rmse");
	is_int(maas_trainer_init(&t, &o, &ds, &e), -1, "rmse for classification refused");
	maas_train_opts_set(&o.metric, NULL);
	maas_train_opts_set(&o.class_weight, "1,2");
	is_int(maas_trainer_init(&t, &o, &ds, &e), -1, "two weights for three classes refused");
	ok(strstr(e.msg, "3 weights") != NULL, "%s", e.msg);
	maas_train_opts_set(&o.class_weight, "balanced");
	is_int(maas_trainer_init(&t, &o, &ds, &e), 0, "balanced class weights");
	ok(t.class_weight && t.class_weight[0] > 0, "weights set");
	maas_trainer_release(&t);
	maas_train_opts_release(&o);

	opts(&o, "dense:8,relu", 1);
	o.freeze = 3;
	is_int(maas_trainer_init(&t, &o, &ds, &e), -1, "--freeze past the layers refused");
	ok(strstr(e.msg, "2 layers before its output") != NULL, "%s", e.msg);
	maas_train_opts_release(&o);
	maas_dataset_close(&ds);
	maas_dataset_close(&rg);
	free(d);
	free(r);
}

/* ---- learning ---- */

static void test_learns(void)
{
	struct maas_dataset ds;
	struct maas_trainer t;
	struct maas_train_opts o;
	struct maas_err e;
	char *d = P("c3.safetensors"), *r = P("reg.safetensors");

	maas_dataset_open(&ds, d, &e);
	opts(&o, "dense:16,relu", 40);
	is_int(train(&t, &o, &ds, NULL, NULL, &e), 0, "3 classes train");
	double acc = val_metric(&t, "accuracy");
	ok(acc >= 0.9, "val accuracy %.3f >= 0.9", acc);
	is_int(t.epoch, 40, "40 epochs");
	is_int((int)json_array_size(t.history), 40, "40 epoch lines");
	const char *l0 = json_string_value(json_array_get(t.history, 0));
	ok(l0 && strstr(l0, "\"epoch\":1,\"train_loss\":") && strstr(l0, "\"val_accuracy\":") &&
	   strstr(l0, "\"lr\":") && strstr(l0, "\"samples_per_s\":"), "epoch line: %s", l0 ? l0 : "");
	maas_trainer_release(&t);
	maas_train_opts_release(&o);
	maas_dataset_close(&ds);

	maas_dataset_open(&ds, r, &e);
	opts(&o, "linear", 60);
	is_int(train(&t, &o, &ds, NULL, NULL, &e), 0, "regression trains");
	double rmse = val_metric(&t, "rmse");
	ok(rmse < 0.1, "val rmse %.4f < 0.1 (in the target's units; noise 0.01)", rmse);
	double r2 = val_metric(&t, "r2");
	ok(r2 > 0.99, "r2 %.4f", r2);
	/* the output layer undoes the target's scaling: a prediction in units */
	float out[2];
	maas_trainer_predict(&t, ds.split[MAAS_VAL].x, 1, out);
	is_near(out[0], ds.split[MAAS_VAL].value[0], 0.1, "prediction in the target's units");
	maas_trainer_release(&t);
	maas_train_opts_release(&o);

	/* early stopping restores the best weights */
	opts(&o, "linear", 30);
	o.patience = 2;
	o.lr = 0.5;
	o.optimizer = MAAS_OPT_SGD;
	is_int(train(&t, &o, &ds, NULL, NULL, &e), 0, "with patience");
	ok(t.best_epoch > 0 && t.best_epoch <= t.epoch, "best epoch %d of %d", t.best_epoch, t.epoch);
	ok(fabs(val_metric(&t, "rmse") - t.best) < 1e-9, "restored weights give the best rmse (%g vs %g)",
	   val_metric(&t, "rmse"), t.best);
	maas_trainer_release(&t);
	maas_train_opts_release(&o);

	/* divergence */
	opts(&o, "dense:8,relu", 5);
	o.optimizer = MAAS_OPT_SGD;
	o.lr = 1e30;
	is_int(train(&t, &o, &ds, NULL, NULL, &e), -1, "a huge learning rate diverges");
	is_int(e.kind, MAAS_EDATA, "divergence: MAAS_EDATA");
	ok(strstr(e.msg, "loss diverged at epoch 1, batch ") && strstr(e.msg, "try a lower --lr"), "%s", e.msg);
	maas_trainer_release(&t);
	maas_train_opts_release(&o);

	/* time budget: stops after the epoch that crosses it */
	opts(&o, "dense:8,relu", 1000);
	o.time_budget = 1e-9;
	is_int(train(&t, &o, &ds, NULL, NULL, &e), 0, "time budget");
	is_int(t.epoch, 1, "one epoch within a tiny budget");
	is_str(t.stop_reason, "time_budget", "stopped by the budget");
	maas_trainer_release(&t);
	maas_train_opts_release(&o);
	maas_dataset_close(&ds);
	free(d);
	free(r);
}

/* ---- determinism and resume ---- */

struct stopper {
	volatile sig_atomic_t flag;
	int at_epoch;       /* stop once this many epochs are done ... */
	long at_batch;      /* ... or before this batch of epoch at_epoch (-1: at the boundary) */
};

static void stop_on_batch(void *ctx, int epoch, size_t batch)
{
	struct stopper *s = ctx;
	if (epoch == s->at_epoch && (s->at_batch < 0 || (long)batch == s->at_batch))
		s->flag = SIGTERM;
}

static int params_equal(const struct maas_trainer *a, const struct maas_trainer *b)
{
	return a->model.nparams == b->model.nparams &&
	       !memcmp(a->model.params, b->model.params, a->model.nparams * sizeof(float));
}

/* Trains 4 epochs straight, then 4 with a stop at (epoch, batch) and a resume. */
static void resume_case(const char *dpath, const char *arch, int optimizer, int epoch, long batch, int patience)
{
	struct maas_dataset ds;
	struct maas_trainer a, b, c;
	struct maas_train_opts o, ro;
	struct maas_err e;
	char sha[MAAS_SHA256_HEX];
	char *ck = P("resume.ckpt");
	struct stopper st = {0, epoch, batch};
	struct maas_train_hooks h = {.on_batch = stop_on_batch, .ctx = &st, .stop = &st.flag};

	unlink(ck);
	maas_dataset_open(&ds, dpath, &e);
	opts(&o, arch, 4);
	o.optimizer = optimizer;
	o.patience = patience;
	o.schedule = MAAS_SCHED_COSINE;
	is_int(train(&a, &o, &ds, NULL, NULL, &e), 0, "%s: 4 epochs straight", arch);
	is_int(train(&b, &o, &ds, &h, NULL, &e), -1, "%s: stopped at epoch %d batch %ld", arch, epoch + 1, batch);
	is_int(e.kind, MAAS_EINTR, "MAAS_EINTR");
	ok(strstr(e.msg, "no checkpoint written") != NULL, "no checkpoint path: %s", e.msg);
	maas_trainer_release(&b);
	st.flag = 0;
	is_int(train(&b, &o, &ds, &h, ck, &e), -1, "stopped again, with a checkpoint path");
	ok(strstr(e.msg, "checkpoint written to") != NULL, "%s", e.msg);
	maas_trainer_release(&b);

	is_int(maas_checkpoint_options(ck, &ro, sha, NULL, &e), 0, "checkpoint options read");
	is_str(sha, ds.sha256, "checkpoint names the dataset");
	is_int(maas_trainer_init(&c, &ro, &ds, &e), 0, "trainer from the checkpoint's options");
	is_int(maas_checkpoint_load(&c, ck, &e), 0, "checkpoint loaded");
	if (e.kind && e.kind != MAAS_EINTR)
		printf("# %s\n", e.msg);
	is_int(c.epoch, epoch, "resumes in epoch %d", epoch + 1);
	is_int(maas_trainer_run(&c, NULL, NULL, 0, NULL, &e), 0, "resumed to the end");
	is_int(c.epoch, a.epoch, "same epochs");
	ok(params_equal(&a, &c), "%s, %s, stop at epoch %d batch %ld: resumed weights are bit-identical",
	   arch, maas_optimizer_name(optimizer), epoch + 1, batch);
	is_int(c.optim.step, a.optim.step, "same optimizer steps");
	is_int((int)json_array_size(c.history), (int)json_array_size(a.history), "history carried over");
	/* the train loss of the interrupted epoch is complete too */
	const char *la = json_string_value(json_array_get(a.history, epoch));
	const char *lc = json_string_value(json_array_get(c.history, epoch));
	ok(la && lc && !strncmp(la, lc, (size_t)(strstr(la, ",\"lr\"") - la)),
	   "epoch %d's line matches up to the timings", epoch + 1);
	maas_trainer_release(&a);
	maas_trainer_release(&c);
	maas_train_opts_release(&o);
	maas_train_opts_release(&ro);
	maas_dataset_close(&ds);
	free(ck);
}

static void test_determinism(void)
{
	struct maas_dataset ds;
	struct maas_trainer a, b;
	struct maas_train_opts o;
	struct maas_err e;
	char *d = P("c3.safetensors");

	maas_dataset_open(&ds, d, &e);
	opts(&o, "dense:16,relu,dropout:0.2", 3);
	train(&a, &o, &ds, NULL, NULL, &e);
	train(&b, &o, &ds, NULL, NULL, &e);
	ok(params_equal(&a, &b), "the same seed gives the same weights");
	maas_trainer_release(&b);
	o.seed = 8;
	train(&b, &o, &ds, NULL, NULL, &e);
	ok(!params_equal(&a, &b), "another seed other weights");
	maas_trainer_release(&a);
	maas_trainer_release(&b);
	maas_train_opts_release(&o);
	maas_dataset_close(&ds);

	resume_case(d, "dense:16,relu,dropout:0.2", MAAS_OPT_ADAM, 2, -1, 0);
	resume_case(d, "dense:16,relu,dropout:0.2", MAAS_OPT_ADAM, 1, 3, 2);
	resume_case(d, "dense:16,relu", MAAS_OPT_SGD, 2, 5, 0);
	char *b2 = P("c2.safetensors");
	resume_case(b2, "dense:8,tanh", MAAS_OPT_ADAMW, 1, 2, 2);   /* binary: AUC scores in the checkpoint */
	free(b2);
	free(d);
}

static void test_checkpoint_errors(void)
{
	struct maas_dataset ds;
	struct maas_trainer t;
	struct maas_train_opts o;
	struct maas_err e;
	char sha[MAAS_SHA256_HEX];
	char *d = P("c3.safetensors"), *r = P("reg.safetensors"), *ck = P("c3.ckpt");

	maas_dataset_open(&ds, d, &e);
	opts(&o, "dense:8,relu", 2);
	is_int(train(&t, &o, &ds, NULL, ck, &e), 0, "train with a checkpoint at the end");
	maas_trainer_release(&t);
	maas_dataset_close(&ds);
	maas_train_opts_release(&o);
	is_int(maas_checkpoint_options(d, &o, sha, NULL, &e), -1, "a dataset is not a checkpoint");
	ok(strstr(e.msg, "not a maas-train checkpoint") != NULL, "%s", e.msg);
	maas_dataset_open(&ds, r, &e);
	maas_train_opts_release(&o);
	opts(&o, "dense:8,relu", 2);
	maas_trainer_init(&t, &o, &ds, &e);
	is_int(maas_checkpoint_load(&t, ck, &e), -1, "another dataset's checkpoint refused");
	ok(e.kind == MAAS_ECONFIG && strstr(e.msg, "another dataset"), "%s", e.msg);
	maas_trainer_release(&t);
	maas_train_opts_release(&o);
	maas_dataset_close(&ds);
	free(d);
	free(r);
	free(ck);
}

/* ---- bundles, --init, --freeze ---- */

static int export(struct maas_trainer *t, const char *out, struct maas_err *e)
{
	const char *argv[] = {"maas-train", "test"};
	json_t *m = json_object();
	struct maas_export x = {.output = out, .name = "t", .argv = argv, .argc = 2, .threads = 1, .metrics = m};
	int r = maas_train_export(t, &x, e);
	json_decref(m);
	return r;
}

static void test_bundle_and_init(void)
{
	struct maas_dataset d3, d2;
	struct maas_trainer a, b;
	struct maas_train_opts o;
	struct maas_err e;
	struct maas_bundle bd;
	char *p3 = P("c3.safetensors"), *p2 = P("c2.safetensors"), *out = P("a.maas");

	maas_dataset_open(&d3, p3, &e);
	maas_dataset_open(&d2, p2, &e);
	opts(&o, "dense:16,relu,dense:8,relu", 3);
	train(&a, &o, &d3, NULL, NULL, &e);
	if (!ok(export(&a, out, &e) == 0, "bundle written"))
		printf("# %s\n", e.msg);
	is_int(maas_bundle_open(&bd, out, &e), 0, "the bundle verifies");
	const json_t *m = maas_bundle_manifest(&bd);
	is_str(json_string_value(json_object_get(m, "task")), "classification", "task");
	is_str(json_string_value(json_object_get(json_object_get(m, "architecture"), "arch")),
	       "dense:16,relu,dense:8,relu", "architecture.arch");
	ok(json_is_array(json_object_get(json_object_get(m, "outputs"), "labels")), "labels");
	char *exf = maas_bundle_file(&bd, "examples.jsonl");
	ok(exf != NULL, "examples.jsonl listed");
	free(exf);
	maas_bundle_close(&bd);

	/* the same classes: every weight copied */
	maas_train_opts_release(&o);
	opts(&o, "dense:16,relu,dense:8,relu", 1);
	maas_trainer_init(&b, &o, &d3, &e);
	is_int(maas_trainer_init_from(&b, out, &e), 0, "--init from the bundle");
	ok(params_equal(&a, &b), "every weight copied");
	ok(b.parent_sha256 && strlen(b.parent_sha256) == 64, "parent digest recorded");
	maas_trainer_release(&b);

	/* two classes: a new output layer, the rest copied; --freeze keeps the first layers */
	o.freeze = 2;
	maas_trainer_init(&b, &o, &d2, &e);
	is_int(maas_trainer_init_from(&b, out, &e), 0, "--init with another class count");
	is_int(b.reinit_output, 1, "output layer re-initialised");
	const struct maas_model_tensor *w0 = maas_model_find(&b.model, "0.weight");
	ok(w0 && !memcmp(b.model.params + w0->off, a.model.params + w0->off, 16 * 4 * sizeof(float)),
	   "first layer copied");
	float *before = xmallocarray(b.model.nparams, sizeof *before);
	memcpy(before, b.model.params, b.model.nparams * sizeof *before);
	size_t frozen = b.optim.frozen;
	is_int(frozen, 16 * 4 + 16, "freeze 2 covers the first dense layer (and its relu)");
	is_int(maas_trainer_run(&b, NULL, NULL, 0, NULL, &e), 0, "fine-tuned");
	ok(!memcmp(before, b.model.params, frozen * sizeof *before), "frozen weights did not move");
	ok(memcmp(before + frozen, b.model.params + frozen, (b.model.nparams - frozen) * sizeof *before),
	   "the others did");
	free(before);
	maas_trainer_release(&b);
	maas_train_opts_release(&o);

	/* another architecture: refused, naming the tensor */
	opts(&o, "dense:32,relu", 1);
	maas_trainer_init(&b, &o, &d3, &e);
	is_int(maas_trainer_init_from(&b, out, &e), -1, "another architecture refused");
	ok(e.kind == MAAS_ECONFIG && strstr(e.msg, "'0.weight' is [16, 4] there but [32, 4] here"), "%s", e.msg);
	maas_trainer_release(&b);
	maas_train_opts_release(&o);

	/* a directory that is not a bundle is not replaced */
	char *dir = P("notabundle");
	mkdir(dir, 0777);
	char *f = P("notabundle/keep");
	maas_write_file(f, "x", 1, &e);
	is_int(export(&a, dir, &e), -1, "a directory of other files is not replaced");
	ok(access(f, F_OK) == 0, "its files are still there");
	free(f);
	free(dir);
	maas_trainer_release(&a);
	maas_dataset_close(&d3);
	maas_dataset_close(&d2);
	free(p3);
	free(p2);
	free(out);
}

/* ---- full-batch SGD against numpy ---- */

static void test_numpy_sgd(void)
{
	const char *py = "/usr/bin/python3", *script = "test/tools/numpy_sgd.py";
	if (access(py, X_OK) || access(script, R_OK) || system("/usr/bin/python3 -c 'import numpy' 2>/dev/null")) {
		ok(1, "# skip python3 with numpy or test/tools/numpy_sgd.py not found");
		return;
	}
	struct maas_dataset ds;
	struct maas_trainer t;
	struct maas_train_opts o;
	struct maas_err e;
	char *d = P("reg.safetensors"), *init = P("init.safetensors");
	const int steps = 25;

	for (int mom = 0; mom < 2; mom++) {
		maas_dataset_open(&ds, d, &e);
		opts(&o, "linear", steps);
		o.loss = MAAS_LOSS_MSE;
		o.optimizer = MAAS_OPT_SGD;
		o.lr = 0.05;
		o.momentum = mom ? 0.9 : 0;
		o.batch_size = 100000;   /* full batch: one step an epoch */
		maas_trainer_init(&t, &o, &ds, &e);
		/* the initial weights, for numpy */
		struct maas_tensor ts[2];
		memset(ts, 0, sizeof ts);
		for (int i = 0; i < 2; i++) {
			const struct maas_model_tensor *mt = &t.model.tensors[i];
			ts[i].name = (char *)mt->name;
			ts[i].dtype = MAAS_DT_F32;
			ts[i].ndim = mt->ndim;
			ts[i].nelem = 1;
			for (int k = 0; k < mt->ndim; k++) {
				ts[i].shape[k] = mt->shape[k];
				ts[i].nelem *= (size_t)mt->shape[k];
			}
			ts[i].nbytes = ts[i].nelem * 4;
			ts[i].data = t.model.params + mt->off;
		}
		maas_st_write_file(init, ts, 2, NULL, NULL, 0, &e);
		is_int(maas_trainer_run(&t, NULL, NULL, 0, NULL, &e), 0, "full-batch SGD, %d steps", steps);
		is_int((int)t.step, steps, "one step an epoch");

		char *cmd = xasprintf("%s %s %s %s 0.05 %d %s", py, script, d, init, steps, mom ? "0.9" : "");
		FILE *f = popen(cmd, "r");
		char buf[4096] = "";
		size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
		buf[n] = 0;
		if (f)
			pclose(f);
		free(cmd);
		json_error_t je;
		json_t *j = json_loads(buf, 0, &je);
		ok(j != NULL, "numpy answered");
		const json_t *W = json_array_get(json_object_get(j, "0.weight"), 0), *bias = json_object_get(j, "0.bias");
		const struct maas_model_tensor *tw = maas_model_find(&t.model, "0.weight"), *tb = maas_model_find(&t.model, "0.bias");
		double worst = 0;
		for (int k = 0; k < tw->shape[1]; k++) {
			double ref = json_number_value(json_array_get(W, (size_t)k));
			double got = t.model.params[tw->off + (size_t)k];
			worst = fmax(worst, fabs(got - ref) / fmax(1, fabs(ref)));
		}
		worst = fmax(worst, fabs(t.model.params[tb->off] - json_number_value(json_array_get(bias, 0))));
		ok(j && worst < 1e-5, "%s: weights equal numpy's to %.2g (float32 vs float64)",
		   mom ? "momentum 0.9" : "plain SGD", worst);
		json_decref(j);
		maas_trainer_release(&t);
		maas_train_opts_release(&o);
		maas_dataset_close(&ds);
	}
	free(d);
	free(init);
}

int main(void)
{
	struct maas_blas_opts bo = {.threads = 1};
	struct maas_err e;
	if (!mkdtemp(base))
		return 1;
	if (maas_blas_init(&bo, &e) < 0) {
		printf("# %s\n", e.msg);
		return 1;
	}
	static const struct { const char *name; int kind; size_t n; } data[] = {
		{"c2", CLS2, 300}, {"c3", CLS3, 300}, {"reg", REG, 200},
	};
	for (size_t i = 0; i < 3; i++) {
		char *csv = xasprintf("%s/%s.csv", base, data[i].name), *ds = xasprintf("%s/%s.safetensors", base, data[i].name);
		write_csv(csv, data[i].kind, data[i].n, i + 1);
		if (prep(csv, ds, 0.8, 0.1, 0.1) < 0)
			return 1;
		free(csv);
		free(ds);
	}
	test_dataset_errors();
	test_option_errors();
	test_learns();
	test_determinism();
	test_checkpoint_errors();
	test_bundle_and_init();
	test_numpy_sgd();
	maas_remove_tree(base, &e);
	return done_testing();
}
