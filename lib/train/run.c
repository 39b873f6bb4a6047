/*
 * run.c - one maas-train job: dataset, options, BLAS, model, training,
 * final metrics, bundle (see train.h).
 *
 * Order matters for the user: everything that can be refused (the output
 * path, the dataset, the options, the architecture, --init, --resume) is
 * checked before the first batch, so that a mistake costs no training.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "nn/blas.h"
#include "train/train.h"

static void info(const struct maas_train_hooks *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void info(const struct maas_train_hooks *h, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	if (!h->on_info)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	h->on_info(h->ctx, buf);
}

/* The options of this run: the command line's, or with --resume the
 * checkpoint's with the few that may change. */
static int options(const struct maas_train_job *job, const struct maas_dataset *ds, struct maas_train_opts *o,
		   int *threads, struct maas_err *e)
{
	if (!job->resume) {
		maas_train_opts_copy(o, &job->opts);
		if (o->init && !o->arch) {
			char *arch = maas_bundle_arch(o->init, e);
			if (!arch) {
				maas_train_opts_release(o);
				return -1;
			}
			free(o->arch);
			o->arch = arch;
		}
		return 0;
	}
	char sha[MAAS_SHA256_HEX];
	if (maas_checkpoint_options(job->resume, o, sha, job->threads ? NULL : threads, e) < 0)
		return -1;
	if (strcmp(sha, ds->sha256)) {
		maas_train_opts_release(o);
		return maas_err_set(e, MAAS_ECONFIG, "checkpoint '%s' was made from another dataset (sha256 %.12s..., "
				    "'%s' is %.12s...)", job->resume, sha, ds->name, ds->sha256);
	}
	if (job->resume_overrides & MAAS_RESUME_EPOCHS)
		o->epochs = job->opts.epochs;
	if (job->resume_overrides & MAAS_RESUME_TIME_BUDGET)
		o->time_budget = job->opts.time_budget;
	if (job->resume_overrides & MAAS_RESUME_PATIENCE)
		o->patience = job->opts.patience;
	return 0;
}

/* "<output>.ckpt" for an interrupt without --checkpoint; NULL for stdout. */
static char *default_checkpoint(const char *output)
{
	if (maas_is_stdio(output))
		return NULL;
	char *s = xstrdup(output);
	size_t n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	char *c = xasprintf("%s.ckpt", s);
	free(s);
	return c;
}

static json_t *split_metrics(struct maas_trainer *t, int split, int confusion)
{
	struct maas_metrics m;
	maas_trainer_evaluate(t, split, &m);
	json_t *j = maas_metrics_json(&m, confusion);
	maas_metrics_release(&m);
	return j;
}

int maas_train_run(const struct maas_train_job *job, struct maas_train_result *res, struct maas_err *e)
{
	struct maas_dataset ds;
	struct maas_train_opts o;
	struct maas_trainer t;
	const struct maas_train_hooks *h = &job->hooks;
	char *stop_ckpt = NULL, *name = NULL;
	int r = -1;

	memset(res, 0, sizeof *res);
	memset(&t, 0, sizeof t);
	memset(&o, 0, sizeof o);
	if (maas_train_output_check(job->output, e) < 0)
		return -1;
	if (job->name) {
		const char *why;
		if (maas_model_name_check(job->name, &why) < 0)
			return maas_err_set(e, MAAS_EUSAGE, "bad --name '%s': %s", job->name, why);
	}
	if (maas_dataset_open(&ds, job->dataset, e) < 0)
		return -1;
	info(h, "dataset '%s': %s, train %zu, val %zu, test %zu samples of %s%d features", ds.name,
	     ds.classification ? "classification" : "regression", ds.split[MAAS_TRAIN].n, ds.split[MAAS_VAL].n,
	     ds.split[MAAS_TEST].n, ds.T ? "windows of " : "", ds.d);
	int threads = job->threads;
	if (options(job, &ds, &o, &threads, e) < 0)
		goto out_ds;
	struct maas_blas_opts bo = {.coretype = job->blas_core, .threads = threads};
	if (maas_blas_init(&bo, e) < 0)
		goto out_opts;
	if (maas_trainer_init(&t, &o, &ds, e) < 0)
		goto out_opts;
	if (!threads && t.model.recurrent)
		maas_blas_set_threads(1);   /* many small products: one thread is fastest */
	info(h, "BLAS: %s", maas_blas_describe());
	if (job->resume) {
		if (maas_checkpoint_load(&t, job->resume, e) < 0)
			goto out_t;
		info(h, "resuming '%s' at epoch %d, batch %zu", job->resume, t.epoch + 1, t.batch);
	} else if (t.o.init) {
		if (maas_trainer_init_from(&t, t.o.init, e) < 0)
			goto out_t;
		info(h, "starting from bundle '%s' (%s)%s", t.o.init, t.parent_name,
		     t.reinit_output ? " with a new output layer" : "");
	}
	info(h, "model: %s, %zu parameters (%zu frozen), loss %s, optimizer %s, lr %g, metric %s", t.model.arch,
	     t.model.nparams, t.optim.frozen, maas_loss_name(t.o.loss), maas_optimizer_name(t.o.optimizer), t.o.lr,
	     t.o.metric);

	const char *ckpt = job->checkpoint ? job->checkpoint : job->resume;
	stop_ckpt = default_checkpoint(job->output);
	if (maas_trainer_run(&t, h, ckpt, job->checkpoint_every, stop_ckpt, e) < 0)
		goto out_t;

	json_t *metrics = json_object();
	json_object_set_new(metrics, "train", split_metrics(&t, MAAS_TRAIN, 0));
	if (ds.split[MAAS_VAL].n)
		json_object_set_new(metrics, "val", split_metrics(&t, MAAS_VAL, 0));
	if (ds.split[MAAS_TEST].n)
		json_object_set_new(metrics, "test", split_metrics(&t, MAAS_TEST, 1));
	name = job->name ? xstrdup(job->name) : maas_model_name_from_path(job->dataset);
	struct maas_export x = {.output = job->output, .name = name, .argv = job->argv, .argc = job->argc,
				.threads = maas_blas_threads(), .metrics = metrics};
	if (maas_train_export(&t, &x, e) < 0) {
		json_decref(metrics);
		goto out_t;
	}
	res->epochs = t.epoch;
	res->best_epoch = t.best_epoch;
	res->stop_reason = t.stop_reason;
	res->metrics = metrics;
	res->name = name;
	name = NULL;
	res->nparams = t.model.nparams;
	res->classification = ds.classification;
	r = 0;
out_t:
	maas_trainer_release(&t);
out_opts:
	maas_train_opts_release(&o);
out_ds:
	maas_dataset_close(&ds);
	free(stop_ckpt);
	free(name);
	return r;
}

void maas_train_result_release(struct maas_train_result *res)
{
	json_decref(res->metrics);
	free(res->name);
	memset(res, 0, sizeof *res);
}
