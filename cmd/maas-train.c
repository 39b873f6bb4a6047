/*
 * maas-train - train a neural network on a dataset and write a model bundle.
 *
 * The options live in the table below; parsing fills a struct
 * maas_train_job and lib/train/run.c does the work.  See maas-train(1).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/opt.h"
#include "train/train.h"

enum {
	OPT_OUTPUT = 1, OPT_ARCH, OPT_LOSS, OPT_CLASS_WEIGHT, OPT_LABEL_SMOOTHING, OPT_HUBER_DELTA,
	OPT_OPTIMIZER, OPT_LR, OPT_MOMENTUM, OPT_NESTEROV, OPT_WEIGHT_DECAY, OPT_BETAS, OPT_SCHEDULE,
	OPT_WARMUP, OPT_STEP_SIZE, OPT_GAMMA, OPT_MIN_LR, OPT_PLATEAU_PATIENCE, OPT_CLIP_NORM,
	OPT_EPOCHS, OPT_BATCH_SIZE, OPT_PATIENCE, OPT_METRIC, OPT_TIME_BUDGET, OPT_SEED, OPT_THREADS,
	OPT_BLAS_CORE, OPT_INIT, OPT_FREEZE, OPT_CHECKPOINT, OPT_CHECKPOINT_EVERY, OPT_RESUME,
	OPT_NAME, OPT_LOG, OPT_QUIET, OPT_VERBOSE, OPT_COUNT
};

static const struct maas_option options[] = {
	{"output", 'o', "BUNDLE", "write the bundle to BUNDLE: a directory, NAME.tar, or - for a tar on stdout", "file", OPT_OUTPUT},
	{"arch", 'a', "ARCH", "the network: a preset (linear, mlp, resmlp, rnn, gru, lstm) or layers like dense:64,relu (default: mlp, gru for windows)", NULL, OPT_ARCH},
	{"loss", 0, "LOSS", "cross-entropy, bce, mse, mae, huber (default: cross-entropy or mse)", "cross-entropy|bce|mse|mae|huber", OPT_LOSS},
	{"class-weight", 0, "WEIGHTS", "weigh classes in the loss: balanced, or one weight per class W0,W1,...", NULL, OPT_CLASS_WEIGHT},
	{"label-smoothing", 0, "EPS", "cross-entropy label smoothing, 0 to below 1 (default: 0)", NULL, OPT_LABEL_SMOOTHING},
	{"huber-delta", 0, "DELTA", "the Huber loss's delta (default: 1)", NULL, OPT_HUBER_DELTA},
	{"optimizer", 0, "NAME", "sgd, adam, adamw (default: adam)", "sgd|adam|adamw", OPT_OPTIMIZER},
	{"lr", 0, "RATE", "learning rate (default: 0.001)", NULL, OPT_LR},
	{"momentum", 0, "M", "SGD momentum (default: 0)", NULL, OPT_MOMENTUM},
	{"nesterov", 0, NULL, "Nesterov momentum (SGD with --momentum)", NULL, OPT_NESTEROV},
	{"weight-decay", 0, "WD", "weight decay (default: 0; adamw: 0.01, decoupled)", NULL, OPT_WEIGHT_DECAY},
	{"betas", 0, "B1,B2", "Adam's betas (default: 0.9,0.999)", NULL, OPT_BETAS},
	{"schedule", 0, "NAME", "learning-rate schedule: constant, step, cosine, plateau (default: constant)", "constant|step|cosine|plateau", OPT_SCHEDULE},
	{"warmup", 0, "EPOCHS", "linear warm-up over the first EPOCHS epochs (default: 0)", NULL, OPT_WARMUP},
	{"step-size", 0, "EPOCHS", "step schedule: epochs between decays (default: a third of --epochs)", NULL, OPT_STEP_SIZE},
	{"gamma", 0, "FACTOR", "step and plateau schedules: factor of each decay (default: 0.1)", NULL, OPT_GAMMA},
	{"min-lr", 0, "RATE", "cosine and plateau schedules: the lowest rate (default: 0)", NULL, OPT_MIN_LR},
	{"plateau-patience", 0, "EPOCHS", "plateau schedule: epochs without progress before a decay (default: half of --patience)", NULL, OPT_PLATEAU_PATIENCE},
	{"clip-norm", 0, "NORM", "clip gradients to this global norm, 0 off (default: 1 for recurrent networks, else off)", NULL, OPT_CLIP_NORM},
	{"epochs", 'e', "N", "train at most N epochs (default: 20)", NULL, OPT_EPOCHS},
	{"batch-size", 'b', "N", "samples per batch (default: 128)", NULL, OPT_BATCH_SIZE},
	{"patience", 0, "N", "stop after N epochs without a better validation metric, keeping the best weights; 0 off (default: 5)", NULL, OPT_PATIENCE},
	{"metric", 0, "NAME", "validation metric for early stopping and plateau (default: accuracy or rmse)", "loss|accuracy|macro_f1|logloss|auc|rmse|mae|r2", OPT_METRIC},
	{"time-budget", 0, "SECONDS", "stop after the epoch that reaches SECONDS of training", NULL, OPT_TIME_BUDGET},
	{"seed", 's', "N", "seed for initialisation, shuffling and dropout (default: 0)", NULL, OPT_SEED},
	{"threads", 0, "N", "BLAS threads (default: all cores; 1 for recurrent networks)", NULL, OPT_THREADS},
	{"blas-core", 0, "NAME", "OpenBLAS kernels to use, e.g. SkylakeX, Haswell (default: chosen by maas)", NULL, OPT_BLAS_CORE},
	{"init", 0, "BUNDLE", "start from the weights of BUNDLE (fine-tuning)", "file", OPT_INIT},
	{"freeze", 0, "N", "do not train the first N layers of the architecture (default: 0)", NULL, OPT_FREEZE},
	{"checkpoint", 0, "FILE", "write checkpoints to FILE (at the end, on SIGINT/SIGTERM, and with --checkpoint-every)", "file", OPT_CHECKPOINT},
	{"checkpoint-every", 0, "N", "also write a checkpoint every N epochs", NULL, OPT_CHECKPOINT_EVERY},
	{"resume", 0, "FILE", "continue the training saved in checkpoint FILE", "file", OPT_RESUME},
	{"name", 0, "NAME", "the model's name in the bundle (default: from the dataset's file name)", NULL, OPT_NAME},
	{"log", 0, "FILE", "write the epoch lines to FILE instead of stdout", "file", OPT_LOG},
	{"quiet", 'q', NULL, "print nothing but errors", NULL, OPT_QUIET},
	{"verbose", 'v', NULL, "say more: the data, the model, the BLAS kernels and threads", NULL, OPT_VERBOSE},
	{NULL, 0, NULL, NULL, NULL, 0},
};

static const char *const synopsis[] = {
	"-o BUNDLE [options] DATASET",
	"--resume CHECKPOINT -o BUNDLE [options] DATASET",
	NULL,
};

/* Options that may come with --resume; the others are the checkpoint's. */
static const int resume_ok[] = {
	OPT_OUTPUT, OPT_EPOCHS, OPT_TIME_BUDGET, OPT_PATIENCE, OPT_THREADS, OPT_BLAS_CORE, OPT_CHECKPOINT,
	OPT_CHECKPOINT_EVERY, OPT_RESUME, OPT_NAME, OPT_LOG, OPT_QUIET, OPT_VERBOSE,
};

struct cli {
	struct maas_train_job job;
	int given[OPT_COUNT];
	const char *log;
	FILE *logf;
	int verbosity;
};

static int usage_error(const char *fmt, const char *arg)
{
	struct maas_err e;
	maas_err_set(&e, MAAS_EUSAGE, fmt, arg);
	return maas_report_error(&e);
}

static int parse_int(const char *s, long lo, long hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_num(const char *s, double lo, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (!*s || *end || !isfinite(v) || v < lo)
		return -1;
	*out = v;
	return 0;
}

static const char *option_name(int id)
{
	for (size_t i = 0; options[i].name; i++)
		if (options[i].id == id)
			return options[i].name;
	return "?";
}

static int apply_option(void *ctx, int id, const char *arg)
{
	struct cli *c = ctx;
	struct maas_train_job *j = &c->job;
	struct maas_train_opts *o = &j->opts;
	char *end;
	int v;

	c->given[id] = 1;
	switch (id) {
	case OPT_OUTPUT: j->output = arg; break;
	case OPT_ARCH: maas_train_opts_set(&o->arch, arg); break;
	case OPT_LOSS:
		if ((o->loss = maas_loss_parse(arg)) < 0)
			return usage_error("unknown --loss '%s' (cross-entropy, bce, mse, mae, huber)", arg);
		break;
	case OPT_CLASS_WEIGHT: maas_train_opts_set(&o->class_weight, arg); break;
	case OPT_LABEL_SMOOTHING:
		if (parse_num(arg, 0, &o->label_smoothing) || o->label_smoothing >= 1)
			return usage_error("bad --label-smoothing '%s': from 0 to below 1", arg);
		break;
	case OPT_HUBER_DELTA:
		if (parse_num(arg, 0, &o->huber_delta) || o->huber_delta <= 0)
			return usage_error("bad --huber-delta '%s': a number above 0", arg);
		break;
	case OPT_OPTIMIZER:
		if ((o->optimizer = maas_optimizer_parse(arg)) < 0)
			return usage_error("unknown --optimizer '%s' (sgd, adam, adamw)", arg);
		break;
	case OPT_LR:
		if (parse_num(arg, 0, &o->lr) || o->lr <= 0)
			return usage_error("bad --lr '%s': a number above 0", arg);
		break;
	case OPT_MOMENTUM:
		if (parse_num(arg, 0, &o->momentum) || o->momentum >= 1)
			return usage_error("bad --momentum '%s': from 0 to below 1", arg);
		break;
	case OPT_NESTEROV: o->nesterov = 1; break;
	case OPT_WEIGHT_DECAY:
		if (parse_num(arg, 0, &o->weight_decay))
			return usage_error("bad --weight-decay '%s': a number from 0", arg);
		break;
	case OPT_BETAS:
		o->beta1 = strtod(arg, &end);
		if (end == arg || *end != ',' || !(o->beta1 >= 0 && o->beta1 < 1))
			return usage_error("bad --betas '%s': two numbers from 0 to below 1, as 0.9,0.999", arg);
		const char *b2 = end + 1;
		o->beta2 = strtod(b2, &end);
		if (end == b2 || *end || !(o->beta2 >= 0 && o->beta2 < 1))
			return usage_error("bad --betas '%s': two numbers from 0 to below 1, as 0.9,0.999", arg);
		break;
	case OPT_SCHEDULE:
		if ((o->schedule = maas_schedule_parse(arg)) < 0)
			return usage_error("unknown --schedule '%s' (constant, step, cosine, plateau)", arg);
		break;
	case OPT_WARMUP:
		if (parse_int(arg, 0, 1000000, &o->warmup))
			return usage_error("bad --warmup '%s': a whole number of epochs", arg);
		break;
	case OPT_STEP_SIZE:
		if (parse_int(arg, 1, 1000000, &o->step_size))
			return usage_error("bad --step-size '%s': a whole number of epochs from 1", arg);
		break;
	case OPT_GAMMA:
		if (parse_num(arg, 0, &o->gamma) || o->gamma <= 0 || o->gamma > 1)
			return usage_error("bad --gamma '%s': above 0, at most 1", arg);
		break;
	case OPT_MIN_LR:
		if (parse_num(arg, 0, &o->min_lr))
			return usage_error("bad --min-lr '%s': a number from 0", arg);
		break;
	case OPT_PLATEAU_PATIENCE:
		if (parse_int(arg, 0, 1000000, &o->plateau_patience))
			return usage_error("bad --plateau-patience '%s': a whole number of epochs", arg);
		break;
	case OPT_CLIP_NORM:
		if (parse_num(arg, 0, &o->clip_norm))
			return usage_error("bad --clip-norm '%s': 0 (off) or a number above 0", arg);
		break;
	case OPT_EPOCHS:
		if (parse_int(arg, 1, 1000000, &o->epochs))
			return usage_error("bad --epochs '%s': a whole number from 1", arg);
		break;
	case OPT_BATCH_SIZE:
		if (parse_int(arg, 1, 1 << 20, &o->batch_size))
			return usage_error("bad --batch-size '%s': a whole number from 1 to 1048576", arg);
		break;
	case OPT_PATIENCE:
		if (parse_int(arg, 0, 1000000, &o->patience))
			return usage_error("bad --patience '%s': a whole number of epochs, 0 for none", arg);
		break;
	case OPT_METRIC:
		if (!maas_metric_valid(arg, 1) && !maas_metric_valid(arg, 0))
			return usage_error("unknown --metric '%s' (loss, accuracy, macro_f1, logloss, auc, rmse, mae, r2)", arg);
		maas_train_opts_set(&o->metric, arg);
		break;
	case OPT_TIME_BUDGET:
		if (parse_num(arg, 0, &o->time_budget) || o->time_budget <= 0)
			return usage_error("bad --time-budget '%s': seconds above 0", arg);
		break;
	case OPT_SEED: {
		errno = 0;
		unsigned long long s = strtoull(arg, &end, 10);
		if (!*arg || *end || errno || *arg == '-')
			return usage_error("bad --seed '%s': a whole number", arg);
		o->seed = s;
		break;
	}
	case OPT_THREADS:
		if (parse_int(arg, 1, 1024, &j->threads))
			return usage_error("bad --threads '%s': a whole number from 1", arg);
		break;
	case OPT_BLAS_CORE: j->blas_core = arg; break;
	case OPT_INIT: maas_train_opts_set(&o->init, arg); break;
	case OPT_FREEZE:
		if (parse_int(arg, 0, 1000000, &o->freeze))
			return usage_error("bad --freeze '%s': a whole number of layers", arg);
		break;
	case OPT_CHECKPOINT: j->checkpoint = arg; break;
	case OPT_CHECKPOINT_EVERY:
		if (parse_int(arg, 1, 1000000, &v))
			return usage_error("bad --checkpoint-every '%s': a whole number of epochs from 1", arg);
		j->checkpoint_every = v;
		break;
	case OPT_RESUME: j->resume = arg; break;
	case OPT_NAME: j->name = arg; break;
	case OPT_LOG: c->log = arg; break;
	case OPT_QUIET: c->verbosity = MAAS_LOG_QUIET; break;
	case OPT_VERBOSE: c->verbosity++; break;
	}
	return 0;
}

static int check_cli(struct cli *c)
{
	struct maas_train_job *j = &c->job;

	if (!j->output)
		return usage_error("%s", "no output: give -o BUNDLE (a directory, NAME.tar, or - for a tar on stdout)");
	if (maas_is_stdio(j->dataset) && isatty(STDIN_FILENO))
		return usage_error("%s", "DATASET - reads stdin, which is a terminal: redirect a dataset into it");
	if (maas_is_stdio(j->output) && isatty(STDOUT_FILENO))
		return usage_error("%s", "-o - writes a tar to stdout, which is a terminal: redirect it, or give -o BUNDLE");
	if (c->log && maas_is_stdio(c->log) && maas_is_stdio(j->output))
		return usage_error("%s", "the bundle and the epoch lines cannot both go to stdout: give --log FILE");
	if (j->checkpoint && maas_is_stdio(j->checkpoint))
		return usage_error("%s", "--checkpoint needs a file, not stdout");
	if (j->checkpoint_every && !j->checkpoint)
		return usage_error("%s", "--checkpoint-every needs --checkpoint FILE");
	if (j->opts.freeze && !j->opts.init)
		return usage_error("%s", "--freeze keeps layers of the --init bundle; give --init BUNDLE");
	if (j->resume) {
		for (int id = 1; id < OPT_COUNT; id++) {
			int ok = 0;
			for (size_t k = 0; k < sizeof resume_ok / sizeof *resume_ok; k++)
				ok |= resume_ok[k] == id;
			if (c->given[id] && !ok)
				return usage_error("--resume continues with the checkpoint's options: drop --%s "
						   "(with --resume only --epochs, --time-budget, --patience, --threads, "
						   "--blas-core, --checkpoint, --checkpoint-every, --name and output "
						   "options may be given)", option_name(id));
		}
		j->resume_overrides = (c->given[OPT_EPOCHS] ? MAAS_RESUME_EPOCHS : 0) |
				      (c->given[OPT_TIME_BUDGET] ? MAAS_RESUME_TIME_BUDGET : 0) |
				      (c->given[OPT_PATIENCE] ? MAAS_RESUME_PATIENCE : 0);
	}
	return 0;
}

/* ---- signals: the first SIGINT/SIGTERM asks the loop to stop and
 * checkpoint; a second one, or SIGHUP/SIGPIPE, ends the process now ---- */

static volatile sig_atomic_t stop_signal;

static void on_fatal(int sig)
{
	maas_io_remove_temporaries();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The first SIGINT/SIGTERM asks for a checkpoint and a clean stop; another
 * one a second or more later kills at once.  One sooner is the same
 * request delivered twice (timeout(1) signals the child, then its whole
 * process group). */
static void on_stop(int sig)
{
	static struct timespec first;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (stop_signal) {
		double dt = (double)(now.tv_sec - first.tv_sec) + (double)(now.tv_nsec - first.tv_nsec) * 1e-9;
		if (dt >= 1.0)
			on_fatal(sig);
		return;
	}
	first = now;
	stop_signal = sig;
}

/* ---- hooks ---- */

static int on_epoch(void *ctx, const char *line, struct maas_err *e)
{
	struct cli *c = ctx;
	FILE *f = c->logf;
	if (!f)
		return 0;
	if (fprintf(f, "%s\n", line) < 0 || fflush(f) != 0)
		return maas_err_sys(e, MAAS_EIO, "cannot write the epoch line to '%s'",
				    f == stdout ? "<stdout>" : c->log);
	return 0;
}

static void on_info(void *ctx, const char *msg)
{
	(void)ctx;
	maas_verbose("%s", msg);
}

static void summary(const struct cli *c, const struct maas_train_result *r)
{
	const char *m = r->classification ? "accuracy" : "rmse";
	char tail[160] = "";
	size_t off = 0;
	static const char *const splits[] = {"val", "test"};
	for (int i = 0; i < 2; i++) {
		const json_t *v = json_object_get(json_object_get(r->metrics, splits[i]), m);
		if (json_is_number(v) && off < sizeof tail)
			off += (size_t)snprintf(tail + off, sizeof tail - off, ", %s %s %.4g", splits[i], m,
						json_number_value(v));
	}
	const char *why = !r->stop_reason || !strcmp(r->stop_reason, "epochs") ? "the --epochs limit"
			: !strcmp(r->stop_reason, "early_stopping") ? "early stopping"
			: !strcmp(r->stop_reason, "time_budget") ? "the time budget" : r->stop_reason;
	char best[32] = "";
	if (r->best_epoch)
		snprintf(best, sizeof best, ", best epoch %d", r->best_epoch);
	maas_info("wrote '%s': %d epoch%s (stopped by %s%s), %zu parameters%s",
		  maas_display_name(c->job.output, 1), r->epochs, r->epochs == 1 ? "" : "s", why, best,
		  r->nparams, tail);
}

static struct cli c;

int main(int argc, char **argv)
{
	struct maas_train_result res;
	struct maas_progress progress;
	struct maas_err e;
	int rc;

	memset(&c, 0, sizeof c);
	maas_log_init(argv[0], MAAS_LOG_NORMAL);
	/* first: a signal during start-up is noticed at the first batch */
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	signal(SIGHUP, on_fatal);
	signal(SIGPIPE, on_fatal);
	maas_train_opts_init(&c.job.opts);
	/* the command line as given, for the bundle's lineage (before getopt permutes argv) */
	char **args = xcalloc((size_t)argc + 1, sizeof *args);
	for (int i = 0; i < argc; i++)
		args[i] = xstrdup(argv[i]);
	c.job.argv = (const char *const *)args;   /* held by the static c: reachable until exit */
	c.job.argc = argc;
	if ((rc = maas_opt_parse(options, synopsis, argc, argv, apply_option, &c)) >= 0)
		return rc;
	if (optind + 1 != argc)
		return usage_error("%s", optind == argc ? "no dataset: give DATASET (a file, or - for stdin)"
							: "give one DATASET");
	c.job.dataset = argv[optind];
	if ((rc = check_cli(&c)))
		return rc;
	maas_log_init(argv[0], c.verbosity);
	if (c.log && !maas_is_stdio(c.log)) {
		if (!(c.logf = fopen(c.log, "w"))) {
			maas_err_sys(&e, MAAS_ECANTCREAT, "cannot create '%s'", c.log);
			return maas_report_error(&e);
		}
	} else if (c.log || !maas_is_stdio(c.job.output)) {
		c.logf = stdout;
	}
	c.job.hooks.on_epoch = on_epoch;
	c.job.hooks.on_info = on_info;
	c.job.hooks.ctx = &c;
	c.job.hooks.stop = &stop_signal;
	c.job.hooks.progress = &progress;
	maas_progress_start(&progress, "training", 0);

	rc = maas_train_run(&c.job, &res, &e);
	maas_progress_finish(&progress);
	if (c.logf && c.logf != stdout && fclose(c.logf) != 0 && rc == 0) {
		maas_err_sys(&e, MAAS_EIO, "cannot write '%s'", c.log);
		rc = -1;
	}
	if (rc < 0) {
		rc = maas_report_error(&e);
		if (e.kind == MAAS_EINTR && stop_signal)
			rc = 128 + stop_signal;
	} else {
		summary(&c, &res);
		maas_train_result_release(&res);
	}
	return rc;
}
