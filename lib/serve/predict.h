/*
 * predict.h - a loaded model that answers predictions: the engine behind
 * maas-serve's HTTP APIs and its batch mode, one code path for both.
 *
 * maas_served_load opens a bundle (directory or tar, verified by
 * lib/bundle: every file's digest, computed on a thread of its own while
 * the rest of the load goes on; a file that does not match is the error
 * reported, whatever else failed), rebuilds the network from MODEL.json's
 * architecture ("arch", the input tensor's shape, the output width)
 * without parameter memory, maps weights.safetensors read-only and points
 * each of the model's tensors into the map, found by name and checked by
 * shape (a missing, extra, mis-shaped or non-F32 tensor is MAAS_ECONFIG
 * naming it): 100 MB of weights cost no copy and no memory beyond the
 * page cache.  The map lives in the struct and goes with the model
 * (maas_served_release).  It then reads prep.json, and replays
 * examples.jsonl as a self-test, in forward passes of up to 64 examples
 * (each pass reads every weight once): every example's raw input (or
 * feature vector) goes through the spec and the network and must give
 * the recorded output: the same label and every probability
 * within 1e-4, or the value within 1e-4 (relative beyond magnitude 1, the
 * precision of float32); a bundle that fails its self-test is refused with
 * MAAS_ECONFIG naming the example.  Other problems with MODEL.json or
 * prep.json are MAAS_ECONFIG too; those of the bundle's bytes are
 * lib/bundle's (MAAS_EDATA, MAAS_ENOINPUT).
 *
 * Predictions:
 *   - records: raw fields (what a client knows: {"sepalLength": 5.1, ...}),
 *     turned into features by the bundle's spec exactly as maas-prep
 *     --apply does (lib/prep: maas_spec_prepare_table, maas_spec_bind,
 *     maas_spec_transform), for windowed models an array of `window`
 *     records per instance, oldest first;
 *   - tensors: the feature vectors directly, (n, features) or
 *     (n, T, features), FP32 (Open Inference Protocol v2 "input" tensors).
 * Answers: for classification the label, its index and the class
 * probabilities; for regression the value (target scale undone).
 *
 * Fields of a record: every input column of the spec must be present
 * (null means missing and is imputed as in training).  The target, the
 * time column and the columns the spec dropped (free text, constant, ...)
 * may be present and are ignored, so that rows of the training data are
 * accepted as they are.  Anything else is refused.  Errors are MAAS_EDATA
 * naming the instance and the field, which the server maps to 400:
 *   "instance 2: field 'petalWidth' is missing"
 *   "instance 2: unknown field 'colour'"
 *   "instance 2: field 'petalWidth' is not a number, string, boolean or null"
 *   "instance 2: 'abc' in column 'petalWidth' is not a number"
 *   "instance 2: not an array of 14 records (the window)"
 * (instances count from 1; for windows a value's error says which record
 * of the instance: "... in column 'weather' in record 5 ...").
 *
 * Threads: a loaded model is read-only after load; each calling thread
 * brings its own struct maas_predict_ctx (activations, features and a
 * table for up to max_batch instances), so any number of threads may
 * predict at once.  Call maas_blas_init (nn/blas.h) once before.
 *
 * Ownership: maas_served_load fills a caller-owned struct that
 * maas_served_release frees (a failed load leaves nothing to release;
 * releasing is still safe); likewise the context.  Results are written
 * into caller memory; maas_prediction_json returns a new reference.
 */
#ifndef MAAS_SERVE_PREDICT_H
#define MAAS_SERVE_PREDICT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/safetensors.h"
#include "nn/model.h"
#include "prep/prep.h"

struct maas_served {
	char *name;              /* MODEL.json "name" */
	char *version;           /* given at load ("1" by default) */
	char *path;              /* where it was loaded from */
	json_t *manifest;        /* MODEL.json (owned) */
	struct maas_model model; /* eval only: its tensors point into weights */
	struct maas_st weights;  /* weights.safetensors, mapped read-only for the model's life */
	struct maas_spec spec;
	int classification;
	int out_dim;             /* logits per row */
	int nlabels;             /* classification: columns of probs (out_dim, or 2
				    for a single sigmoid logit); 0 for regression */
	char **labels;           /* [nlabels] class names, index = class */
	int sigmoid;             /* one logit, P(class 1) = sigmoid(logit) */
	int features;            /* input features per row (per step for windows) */
	int T;                   /* window length, 0 for tabular models */
	double y_mean, y_std;    /* regression: value = output * std + mean */
	size_t nexamples;        /* self-test examples replayed at load */
	size_t weights_bytes;    /* of the model's tensors */
	const char *weights_copied; /* NULL when mapped, else why the weights are a copy (maas_st_copied) */
	double load_seconds;     /* time to load and self-test, of which: */
	double extract_seconds;  /*   unpacking a tar bundle */
	double map_seconds;      /*   mapping the weights */
	double selftest_seconds; /*   replaying the examples */
	double digest_seconds;   /* digesting the bundle's files, beside the rest */
	uint64_t digest_bytes;
};

/* version NULL means "1". */
int maas_served_load(struct maas_served *m, const char *bundle, const char *version,
		     struct maas_err *e);
void maas_served_release(struct maas_served *m);

/* One thread's working memory for up to max_batch instances. */
struct maas_predict_ctx {
	int max_batch;
	struct maas_acts acts;
	float *x;                /* (max_batch, T or 1, features) */
	struct maas_table table; /* records are parsed into it, one batch at a time */
	unsigned char *bad;      /* [max_batch] maas_predict_features: 1 for a refused instance */
	struct maas_err *errs;   /* [max_batch] why, without the "instance N: " prefix */
};
/* max_batch >= 1 (smaller is taken as 1). */
void maas_predict_ctx_init(struct maas_predict_ctx *c, const struct maas_served *m, int max_batch);
void maas_predict_ctx_release(struct maas_predict_ctx *c);

/* One answer. */
struct maas_prediction {
	int label;               /* class index, -1 for regression */
	double value;            /* regression value, or the probability of label */
};

/* Features -> outputs.  x: (n, T or 1, features) FP32, any n >= 0 (run
 * max_batch rows at a time).  probs (n, nlabels) receives the class
 * probabilities (softmax, or for a single sigmoid logit 1 - p and p)
 * when not NULL and the model classifies.  A value that is not finite is
 * MAAS_EDATA ("instance 3: feature 2 is not a finite number"). */
int maas_predict_tensor(const struct maas_served *m, struct maas_predict_ctx *c, const float *x, int n,
			struct maas_prediction *out, float *probs, struct maas_err *e);

/* Raw records -> outputs.  records: a JSON array of instances (objects,
 * or arrays of objects for windowed models).  Any number of instances:
 * they are processed max_batch at a time.  The first bad instance fails
 * the call (MAAS_EDATA "instance N: ..."); out and probs are then
 * unspecified. */
int maas_predict_records(const struct maas_served *m, struct maas_predict_ctx *c, const json_t *records,
			 struct maas_prediction *out, float *probs, struct maas_err *e);

/* Raw instances -> features, each instance judged alone (batch scoring
 * answers every line).  inst[0..n), 1 <= n <= max_batch, into c->x; for an
 * instance that cannot be transformed c->bad[i] is 1, c->errs[i] says why
 * (without the "instance N: " prefix) and its rows of c->x are zeros.
 * Returns the number of bad instances. */
int maas_predict_features(const struct maas_served *m, struct maas_predict_ctx *c, const json_t *const *inst,
			  int n);

/* The JSON answer for one prediction: {"label": "setosa", "class": 0,
 * "probabilities": {"setosa": 0.97, ...}} (probabilities only when probs,
 * the prediction's row of nlabels, is not NULL) or {"value": 21.3}.
 * A new reference. */
json_t *maas_prediction_json(const struct maas_served *m, const struct maas_prediction *p, const float *probs);

#endif
