/*
 * registry.h - the models a server holds, swappable while it serves: hot
 * reload (SIGHUP, the Open Inference Protocol's repository extension
 * POST /v2/repository/models/{m}/load and .../unload) without failing a
 * request.
 *
 * The registry is a table of served models, one row per name and version
 * with the bundle path it came from.  Each row points to an entry: the
 * loaded model, its tensor names and a pool of prediction contexts sized
 * for it.  Entries are reference-counted: the table holds one reference,
 * and every request takes one (maas_registry_get) for the model it uses
 * and drops it when done (maas_reg_entry_put).  A reload loads the new
 * version beside the old one (maas_served_load, self-test included), then
 * swaps the row's pointer under the table's mutex and drops the table's
 * reference to the old entry: requests in flight finish on the old model,
 * which is freed when the last of them drops its reference.  A load that
 * fails leaves the row as it was and says why.  Loads run one at a time
 * (a second mutex); the table's mutex is held only to take a reference or
 * swap a pointer, never while loading or predicting.
 *
 * Threads: every function may be called from any thread.
 *
 * Ownership: maas_registry_init fills a caller-owned struct that
 * maas_registry_release frees, after every reference taken with
 * maas_registry_get was dropped.  maas_registry_add takes over the
 * contents of a loaded struct maas_served (the struct is left zeroed:
 * releasing it is harmless).  The metrics are borrowed.  json_t values
 * returned are new references.
 */
#ifndef MAAS_SERVE_REGISTRY_H
#define MAAS_SERVE_REGISTRY_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "core/error.h"
#include "serve/metrics.h"
#include "serve/predict.h"

struct maas_reg_ctx;

/* One loaded model.  Read-only but for the context pool and the count. */
struct maas_reg_entry {
	struct maas_served m;
	const char *input_name;    /* MODEL.json inputs.tensor.name, or "input" (points into m.manifest) */
	int K;                     /* probability columns (classification), else 0 */
	int max_batch;             /* rows per forward pass of the pooled contexts */
	_Atomic double batch_gain_s; /* serve/batcher.h: maas_batcher_gain; < 0 until measured
				      (maas_registry_probe; a reload measures before it swaps) */
	atomic_long refs;
	pthread_mutex_t lock;      /* the pool */
	struct maas_reg_ctx *free; /* idle prediction contexts */
};

/* One served name and version, and where it is loaded from. */
struct maas_reg_row {
	char *name, *version, *path;
	struct maas_reg_entry *cur; /* NULL once unloaded */
	char *reason;               /* why the last load failed, or NULL */
};

struct maas_registry {
	pthread_mutex_t lock;       /* rows' cur pointers */
	pthread_mutex_t load_lock;  /* one load or unload at a time */
	struct maas_reg_row *rows;
	size_t n, cap;
	int max_batch;
	struct maas_serve_metrics *metrics; /* borrowed, or NULL */
};

/* max_batch < 1 is taken as 64. */
void maas_registry_init(struct maas_registry *r, int max_batch, struct maas_serve_metrics *metrics);
void maas_registry_release(struct maas_registry *r);

/* Adds a loaded model (taken over; *m is zeroed) as a new row that
 * reloads from m->path.  Records the load in the metrics. */
void maas_registry_add(struct maas_registry *r, struct maas_served *m);

/* Measures maas_batcher_gain for every entry that has no measure yet
 * (those added by maas_registry_add): a few forward passes each, so a
 * server calls it once it is ready rather than delay readiness; until
 * then its models are not batched. */
void maas_registry_probe(struct maas_registry *r);

/* A reference to row i's current entry (i < r->n), or NULL when it is
 * unloaded; dropped with maas_reg_entry_put. */
struct maas_reg_entry *maas_registry_entry(struct maas_registry *r, size_t i);

/* What maas_registry_get found. */
enum { MAAS_REG_OK = 0, MAAS_REG_NO_MODEL = -1, MAAS_REG_NO_VERSION = -2, MAAS_REG_UNLOADED = -3 };

/* A reference to the model name/version (version NULL: the highest loaded
 * version, in numeric order when both are numbers), or one of the codes
 * above with *out NULL. */
int maas_registry_get(struct maas_registry *r, const char *name, const char *version, struct maas_reg_entry **out);
/* Drops a reference; the last one frees the entry.  en may be NULL. */
void maas_reg_entry_put(struct maas_reg_entry *en);

/* A prediction context for en's model from its pool (made when the pool is
 * empty), and back. */
struct maas_predict_ctx *maas_reg_ctx_take(struct maas_reg_entry *en);
void maas_reg_ctx_give(struct maas_reg_entry *en, struct maas_predict_ctx *c);

/* Reloads every version of name from its path, loaded or not: each new
 * version is loaded and self-tested beside the old, then swapped in.
 * Stops at the first failure, which leaves that row as it was (rows
 * swapped before stay swapped): MAAS_EUSAGE "model 'x' is not in the
 * repository" for an unknown name, else the load's error prefixed with
 * "cannot load model 'x' version v from 'path'".  Counted in the metrics. */
int maas_registry_load(struct maas_registry *r, const char *name, struct maas_err *e);
/* Unloads every version of name: requests in flight finish; later ones
 * find MAAS_REG_UNLOADED until it is loaded again.  MAAS_EUSAGE for an
 * unknown name. */
int maas_registry_unload(struct maas_registry *r, const char *name, struct maas_err *e);
/* SIGHUP: reloads every loaded row from its path.  Calls report(e, arg)
 * for each failure (that row keeps its model) and returns their number. */
int maas_registry_reload_all(struct maas_registry *r, void (*report)(const struct maas_err *e, void *arg),
			     void *arg);

/* [{"name", "version", "state": "READY" | "UNAVAILABLE", "reason"?}], the
 * repository extension's index. */
json_t *maas_registry_index(struct maas_registry *r);
/* The loaded versions of name, as strings. */
json_t *maas_registry_versions(struct maas_registry *r, const char *name);

#endif
