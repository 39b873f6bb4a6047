/*
 * train.h - maas-train's library: a dataset in, a trained model bundle out.
 *
 * The pieces, one file each:
 *
 *   opts.c        the training options: defaults, names, JSON form, and
 *                 their resolution against a dataset (architecture, loss,
 *                 metric and clipping chosen by the data when not given)
 *   data.c        the dataset (maas-dataset(5)): mapped, checked (format,
 *                 splits, shapes, dtypes, finite values, class range), and
 *                 the batch gather
 *   train.c       the trainer: model, optimizer, schedule, the epoch loop,
 *                 evaluation, early stopping
 *   checkpoint.c  a trainer's whole state as one safetensors file, so that
 *                 a resumed run continues bit for bit
 *   finetune.c    --init: weights from another bundle, by name and shape
 *   export.c      the bundle: MODEL.json, weights, prep.json, metrics,
 *                 the model card
 *   examples.c    examples.jsonl: raw records through the spec and the
 *                 model, for the self-test of maas-serve
 *   run.c         one maas-train job from the dataset to the bundle
 *
 * Regression targets are standardised with the spec's target mean and
 * standard deviation while training (the model's output is in those
 * units, as maas-bundle(5) says); losses are reported in them, RMSE, MAE
 * and R^2 in the target's own units.
 *
 * Determinism: every random choice takes its own stream of the seed
 * (initialisation, shuffling, dropout; core/rng.h).  On one BLAS thread the
 * same options give the same weights, bit for bit, and a run resumed from
 * a checkpoint gives the weights of the uninterrupted run.  With more
 * threads OpenBLAS may sum in another order: results then agree to float
 * rounding (about 1e-6 relative per step) but not bit for bit.
 *
 * The library never prints: epoch lines, information for -v and progress
 * go through struct maas_train_hooks.
 *
 * Ownership: every struct here is the caller's.  maas_train_opts_init
 * fills options whose strings the struct owns (set them with
 * maas_train_opts_set, free with maas_train_opts_release);
 * maas_dataset_open / maas_dataset_close, maas_trainer_init /
 * maas_trainer_release, maas_train_result_release free what they filled.
 * JSON values returned are new references.
 */
#ifndef MAAS_TRAIN_TRAIN_H
#define MAAS_TRAIN_TRAIN_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/io.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/sha256.h"
#include "data/safetensors.h"
#include "nn/loss.h"
#include "nn/metrics.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "prep/prep.h"

#define MAAS_DATASET_FORMAT "maas-dataset/1"
#define MAAS_CHECKPOINT_FORMAT "maas-checkpoint/1"

/* Random streams of one seed (core/rng.h). */
enum { MAAS_STREAM_INIT = 101, MAAS_STREAM_SHUFFLE = 102, MAAS_STREAM_DROPOUT = 103 };

/* ---- options (opts.c) ---- */

struct maas_train_opts {
	char *arch;             /* NULL: "mlp" for tabular data, "gru" for sequences (--init: the parent's) */
	int loss;               /* enum maas_loss; -1: cross-entropy (classification), mse (regression) */
	char *class_weight;     /* NULL, "balanced" or "w0,w1,..." (cross-entropy only) */
	double label_smoothing; /* 0 */
	double huber_delta;     /* 1 */
	int optimizer;          /* enum maas_optimizer; adam */
	double lr;              /* 1e-3 */
	double momentum;        /* 0 (sgd) */
	int nesterov;           /* 0 (sgd, needs momentum) */
	double weight_decay;    /* NAN: 0, adamw 0.01 */
	double beta1, beta2;    /* 0.9, 0.999 */
	int schedule;           /* enum maas_schedule; constant */
	int warmup;             /* epochs of linear warm-up; 0 */
	int step_size;          /* step schedule: epochs between decays; 0: epochs / 3 (at least 1) */
	double gamma;           /* step: factor per step; plateau: factor per reduction; 0.1 */
	double min_lr;          /* cosine's floor, plateau's floor; 0 */
	int plateau_patience;   /* -1: patience / 2 (at least 1), 10 without early stopping */
	double clip_norm;       /* NAN: 1 for recurrent models, else off; 0 off */
	int epochs;             /* 20 */
	int batch_size;         /* 128 */
	int patience;           /* 5; 0 no early stopping */
	char *metric;           /* NULL: "accuracy" (classification), "rmse" (regression) */
	double time_budget;     /* seconds; 0 none */
	uint64_t seed;          /* 0 */
	char *init;             /* bundle to start from, or NULL */
	int freeze;             /* first top-level layers not trained; 0 */
};

void maas_train_opts_init(struct maas_train_opts *o);
void maas_train_opts_release(struct maas_train_opts *o);
void maas_train_opts_copy(struct maas_train_opts *dst, const struct maas_train_opts *src);
/* Replaces a string option (NULL clears it). */
void maas_train_opts_set(char **field, const char *value);
/* Every option as JSON (after resolution every value is concrete):
 * {"arch", "loss", "class_weight", ..., "seed", "init", "freeze"}. */
json_t *maas_train_opts_json(const struct maas_train_opts *o);
/* Reads what maas_train_opts_json wrote (a checkpoint's options):
 * MAAS_ECONFIG naming the field when a value is missing or wrong. */
int maas_train_opts_from_json(const json_t *j, struct maas_train_opts *o, struct maas_err *e);

/* Validation metrics (--metric). */
int maas_metric_valid(const char *name, int classification);
int maas_metric_higher_is_better(const char *name);
/* The metric's value in an accumulator (NAN when it does not apply). */
double maas_metric_value(const struct maas_metrics *m, const char *name);

/* ---- the dataset (data.c) ---- */

struct maas_tsplit {
	size_t n;               /* samples; 0 when the split is absent */
	const float *x;         /* (n, T, d) or (n, d), in the map */
	const int64_t *cls;     /* (n) class indexes, classification */
	const float *value;     /* (n) targets in their units, regression */
};

struct maas_dataset {
	char *path;             /* as given ("-" stdin) */
	const char *name;       /* for messages */
	char sha256[MAAS_SHA256_HEX];   /* of the file's bytes */
	struct maas_st st;
	struct maas_buf buf;    /* stdin, read whole */
	struct maas_spec spec;  /* the fitted prep spec (metadata "prep") */
	const char *spec_text;  /* the metadata as is (points into st) */
	const char *source_sha256;  /* metadata, or NULL */
	json_t *examples;       /* metadata "examples" (raw test records), or NULL */
	int classification;
	int K;                  /* classes; 1 for regression */
	int T, d;               /* steps (0: tabular) and features */
	size_t row;             /* floats per sample: T*d or d */
	struct maas_tsplit split[3];    /* MAAS_TRAIN, MAAS_VAL, MAAS_TEST */
	size_t *class_count;    /* [K] training samples per class */
	double y_mean, y_std;   /* regression: the target's standardisation */
};

/* Opens and checks a dataset ("-" = stdin).  Errors: MAAS_ENOINPUT when it
 * cannot be opened; MAAS_EDATA when it is not a safetensors file, not a
 * maas dataset, has no training split, tensors of the wrong dtype or
 * shape, a value that is NaN or infinite (naming the tensor and the
 * index), or a class index outside the spec's classes. */
int maas_dataset_open(struct maas_dataset *ds, const char *path, struct maas_err *e);
void maas_dataset_close(struct maas_dataset *ds);

/* Gathers samples idx[0..B) of a split into x (B, row) and their targets
 * into y (class index, or the standardised value). */
void maas_dataset_gather(const struct maas_dataset *ds, int split, const size_t *idx, size_t B,
			 float *x, double *y);
/* Targets of samples first..first+B of a split (no gather of x needed). */
void maas_dataset_targets(const struct maas_dataset *ds, int split, size_t first, size_t B, double *y);

/* ---- the trainer (train.c) ---- */

/* Given to maas_trainer_run; every member may be NULL. */
struct maas_train_hooks {
	/* Each epoch's JSON line (no newline), e.g. {"epoch":1,"train_loss":...}.
	 * Returning -1 (with e filled) stops training with that error. */
	int (*on_epoch)(void *ctx, const char *line, struct maas_err *e);
	/* Before each batch (tests use it to stop at a chosen point). */
	void (*on_batch)(void *ctx, int epoch, size_t batch);
	/* Information for -v: "model: ...", "BLAS: ...". */
	void (*on_info)(void *ctx, const char *msg);
	void *ctx;
	/* Set (to the signal number) by a signal handler: the loop stops before
	 * the next batch, writes a checkpoint and fails with MAAS_EINTR. */
	volatile sig_atomic_t *stop;
	struct maas_progress *progress;
};

struct maas_trainer {
	struct maas_train_opts o;       /* resolved: every field concrete */
	const struct maas_dataset *ds;
	struct maas_model model;
	struct maas_optim optim;
	struct maas_sched sched;
	struct maas_loss_opts loss;
	float *class_weight;            /* [K] or NULL */
	struct maas_acts acts;          /* for o.batch_size samples */
	struct maas_rng rng_shuffle, rng_dropout;
	int higher_is_better;           /* of o.metric */
	double clip_norm;               /* 0 off */

	/* where training is */
	int epoch;                      /* epochs completed */
	int in_epoch;                   /* epoch `epoch` has begun: perm and train_m are its own */
	size_t batch;                   /* batches completed in epoch `epoch` */
	uint64_t step;                  /* batches completed in all */
	size_t *perm;                   /* [train n] the order of the current epoch */
	struct maas_metrics train_m;    /* running train metrics of the current epoch */
	double epoch_time;              /* seconds spent in the current epoch's batches */
	double best;                    /* best monitored value (NAN: none yet) */
	int best_epoch;                 /* epoch (from 1) of best, 0 none */
	int bad_epochs;                 /* epochs since best */
	float *best_params;             /* [nparams] weights at best (early stopping), or NULL */
	double elapsed;                 /* training seconds so far, all runs */
	json_t *history;                /* the epoch lines, as strings */
	const char *stop_reason;        /* "epochs", "early_stopping", "time_budget" */
	int finished;                   /* a stop condition held: nothing left to do */

	/* --init lineage */
	char *parent_name, *parent_sha256;
	int reinit_output;              /* the output layer was re-initialised */

	/* scratch for one batch */
	float *xb;                      /* (batch_size, row) */
	double *yb;                     /* (batch_size) */
	double *yraw;                   /* (batch_size) regression targets in their units */
	float *probs;                   /* (batch_size, max(K, 2)) */
	float *dlogits;                 /* (batch_size, out_dim) */
};

/* Resolves o against the dataset (see maas_train_opts), checks that the
 * options fit it (MAAS_EUSAGE: a loss that does not fit the task, a
 * metric of the other task, bad class weights, --freeze beyond the
 * layers; MAAS_EUSAGE pointing at the word for an architecture that does
 * not parse), builds the model and initialises it from the seed.  --init
 * is not applied here (maas_trainer_init_from). */
int maas_trainer_init(struct maas_trainer *t, const struct maas_train_opts *o,
		      const struct maas_dataset *ds, struct maas_err *e);
void maas_trainer_release(struct maas_trainer *t);

/* Trains from where t is to o.epochs epochs or an earlier stop (early
 * stopping, time budget), then restores the best weights when early
 * stopping is on.  With ckpt (a path, or NULL), writes a checkpoint every
 * ckpt_every epochs (0: never) and at the end; on *hooks->stop, writes
 * one to ckpt (or to stop_ckpt when ckpt is NULL; neither: none) and
 * fails with MAAS_EINTR.  A loss that is NaN or infinite fails with
 * MAAS_EDATA ("loss diverged at epoch E, batch B (nan): try a lower --lr")
 * and leaves the last checkpoint as it was. */
int maas_trainer_run(struct maas_trainer *t, const struct maas_train_hooks *hooks, const char *ckpt,
		     int ckpt_every, const char *stop_ckpt, struct maas_err *e);

/* Evaluates the current weights on a split (eval mode: no dropout) into m,
 * which this initialises (the caller releases it). */
void maas_trainer_evaluate(struct maas_trainer *t, int split, struct maas_metrics *m);

/* The model's output for n samples x (n, row): probabilities (n, K) for a
 * classifier (K = 2 for a binary sigmoid), values in the target's units
 * (n) for a regressor.  out holds n * max(K, 2) floats. */
void maas_trainer_predict(struct maas_trainer *t, const float *x, size_t n, float *out);

/* ---- checkpoints (checkpoint.c) ---- */

/* Writes t's whole state to path atomically. */
int maas_checkpoint_write(const struct maas_trainer *t, const char *path, struct maas_err *e);
/* The options, dataset digest and BLAS threads (0 when not recorded) saved
 * in a checkpoint (o is initialised here; threads may be NULL). */
int maas_checkpoint_options(const char *path, struct maas_train_opts *o, char sha256[MAAS_SHA256_HEX],
			    int *threads, struct maas_err *e);
/* Restores a trainer made by maas_trainer_init with the checkpoint's
 * options on the checkpoint's dataset.  MAAS_ECONFIG when it does not fit. */
int maas_checkpoint_load(struct maas_trainer *t, const char *path, struct maas_err *e);

/* ---- fine-tuning (finetune.c) ---- */

/* Copies a bundle's weights into t's model by tensor name and shape.  The
 * output layer keeps its fresh initialisation when the number of outputs
 * differs; any other difference (a tensor missing on either side, another
 * shape, a dtype other than F32) is MAAS_ECONFIG naming the tensor.
 * Records the parent's name and bundle digest (SHA-256 of its MODEL.json). */
int maas_trainer_init_from(struct maas_trainer *t, const char *bundle, struct maas_err *e);
/* The architecture string of a bundle's MODEL.json (caller frees), for
 * --init without -a. */
char *maas_bundle_arch(const char *bundle, struct maas_err *e);

/* ---- the bundle (export.c, examples.c) ---- */

struct maas_export {
	const char *output;             /* directory, NAME.tar, or "-" */
	const char *name;               /* the model's name */
	const char *const *argv;        /* the command line */
	int argc;
	int threads;                    /* BLAS threads used (hyperparameters) */
	const json_t *metrics;          /* {"train": {...}, "val": {...}, "test": {...}} */
};

/* Writes the bundle of a trained t: MODEL.json, weights.safetensors,
 * prep.json, metrics.jsonl, examples.jsonl, card.md.  Atomic. */
int maas_train_export(struct maas_trainer *t, const struct maas_export *x, struct maas_err *e);
/* examples.jsonl's lines (caller frees); *raw says whether they hold raw
 * records (1) or, for a dataset without "examples", feature vectors (0). */
char *maas_train_examples(struct maas_trainer *t, int *raw, size_t *count, struct maas_err *e);
/* Refuses (MAAS_ECANTCREAT) an output that is a directory other than a
 * bundle or an empty one, before any work is done: a bundle replaces its
 * target, and nobody's files should go that way. */
int maas_train_output_check(const char *path, struct maas_err *e);
/* A name for a bundle from a path ("data/iris.safetensors" -> "iris"):
 * letters, digits, '.', '_', '-', starting with a letter or digit, at
 * most 64 bytes; "model" when nothing is left.  Caller frees. */
char *maas_model_name_from_path(const char *path);
/* 0 when name is a valid model name, else -1 with *why. */
int maas_model_name_check(const char *name, const char **why);

/* ---- one job (run.c) ---- */

/* Which options given with --resume replace the checkpoint's. */
enum { MAAS_RESUME_EPOCHS = 1, MAAS_RESUME_TIME_BUDGET = 2, MAAS_RESUME_PATIENCE = 4 };

struct maas_train_job {
	const char *dataset;            /* path or "-" */
	const char *output;             /* bundle: directory, NAME.tar, "-" */
	struct maas_train_opts opts;
	const char *resume;             /* checkpoint to continue, or NULL */
	unsigned resume_overrides;      /* MAAS_RESUME_* taken from opts */
	const char *checkpoint;         /* periodic / interrupt checkpoint, or NULL */
	int checkpoint_every;           /* epochs; 0: only at the end and on interrupt */
	const char *name;               /* NULL: from the dataset's file name */
	int threads;                    /* BLAS threads, 0 automatic */
	const char *blas_core;          /* OpenBLAS core type, NULL automatic */
	const char *const *argv;
	int argc;
	struct maas_train_hooks hooks;
};

struct maas_train_result {
	int epochs;                     /* epochs completed */
	int best_epoch;
	const char *stop_reason;
	json_t *metrics;                /* {"train", "val", "test"} as in MODEL.json */
	char *name;                     /* the bundle's model name */
	size_t nparams;
	int classification;
};

int maas_train_run(const struct maas_train_job *job, struct maas_train_result *res, struct maas_err *e);
void maas_train_result_release(struct maas_train_result *res);

#endif
