/*
 * monitor.h - what maas-serve watches after a prediction: the prediction
 * log (the retraining loop), feedback that joins real outcomes to logged
 * predictions (live accuracy), and input drift against the training
 * statistics in the bundle's prep.json.
 *
 * Prediction log (--log-predictions FILE, --log-sample FRACTION): one JSON
 * line per sampled instance of the records API (and per row of infer
 * requests: maas_monitor_tensor),
 *   {"time":"2024-05-01T12:00:00.123456Z","id":"17/0","model":"iris",
 *    "version":"1",<the instance's fields as sent>,"prediction":"setosa",
 *    "probability":0.97}
 * ("prediction" is the value for regression, and there is no
 * "probability").  The id is the request's X-Request-Id, a slash, and the
 * instance's index in "instances" counted from 0.  Every value is a
 * scalar, so maas-prep reads the file back as JSON lines (maas-prep --apply
 * BUNDLE FILE).  Feedback appends a labelled row: the same fields, the
 * target column holding the label as sent, and "feedback":true, so
 *   grep '"feedback":true' FILE | maas-prep -t TARGET --drop
 *       time,id,model,version,prediction,probability,feedback -f jsonl -
 * is a training set of real outcomes.  A field of the instance named like
 * one of these keys is left out (the keys win).  Windowed
 * instances (arrays of records) are logged with the window under
 * "window", which maas-prep does not read back.  Sampling is a hash of
 * the id, so a run is reproducible.  Each line is one write(2) on a file
 * opened O_APPEND, so lines of many threads never interleave;
 * maas_monitor_reopen (SIGHUP) reopens the path, for logrotate.
 *
 * Feedback: every prediction (sampled or not) is
 * remembered in a bounded ring per model (the last opts.ring, 100,000 by
 * default) as id -> predicted class or value; the raw fields of logged
 * ones are kept too, within opts.raw_budget bytes, for the labelled row.
 * A second feedback for an id replaces the first.  The counts are over all
 * feedback ever received, not only the ring's.
 *
 * Drift: counts of served raw values per training decile bin (numbers,
 * integers, booleans, dates in seconds: bin b = the number of
 * edges[1..9] <= v, as lib/prep/fit.c bins training) and per kept category
 * (plus one bin for every other category; a missing category counts as
 * the fill category, as in training; a missing number is not counted).
 * PSI = sum (p_i - q_i) ln(p_i / q_i), p served and q training fractions,
 * an empty bin on either side taken as MAAS_PSI_EPS.  Windowed instances
 * count every record of the window.  Counting is lock-free (atomics).
 *
 * Metrics (maas_monitor_render, appended to GET /metrics):
 *   maas_predictions_logged_total{model,version}   counter
 *   maas_feedback_total{model,version}             counter
 *   maas_live_accuracy{model,version}              gauge (classification)
 *   maas_live_mae{model,version}                   gauge (regression)
 *   maas_feature_psi{model,version,feature}        gauge, at scrape time
 *   maas_drift_psi_max{model,version}              gauge
 * (gauges appear once they have data: feedback, or a served value).
 *
 * Threads: every maas_monitor_* function may be called from any thread.
 *
 * Ownership: maas_monitor_new allocates a monitor that maas_monitor_free
 * frees with everything it holds.  A model's state is created on its first
 * use, from copies (the served model may go away before the monitor).
 * The ring and drift structs below are exposed for tests: _init fills a
 * caller-owned struct, _release frees what it holds.
 */
#ifndef MAAS_SERVE_MONITOR_H
#define MAAS_SERVE_MONITOR_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/io.h"
#include "data/table.h"
#include "prep/prep.h"
#include "serve/predict.h"

#define MAAS_PSI_EPS 1e-4
#define MAAS_MONITOR_RING 100000
#define MAAS_MONITOR_RAW_BUDGET ((size_t)64 << 20)
#define MAAS_MONITOR_MAX_FEEDBACK 100000   /* items in one feedback request */

struct maas_monitor_opts {
	const char *log_path;   /* NULL: no prediction log */
	double sample;          /* fraction of instances logged, 0..1 (default 1) */
	size_t ring;            /* predictions remembered per model (default MAAS_MONITOR_RING) */
	size_t raw_budget;      /* bytes of logged fields kept per model for labelled rows */
};
void maas_monitor_opts_init(struct maas_monitor_opts *o);

struct maas_monitor;

/* Opens the log (O_APPEND, created 0644; MAAS_ECANTCREAT when it cannot),
 * or opens nothing when o->log_path is NULL. */
int maas_monitor_new(struct maas_monitor **out, const struct maas_monitor_opts *o, struct maas_err *e);
void maas_monitor_free(struct maas_monitor *mon);
/* Reopens the log under its path (after logrotate moved it); on failure
 * the old file stays in use.  0 without a log. */
int maas_monitor_reopen(struct maas_monitor *mon, struct maas_err *e);

/* After a successful records prediction: instances (the JSON array
 * predicted), p[n] and probs (n, nlabels) or NULL.  Counts drift,
 * remembers the ids and writes the sampled lines.  Never fails (a failed
 * write of the log is counted, not reported). */
void maas_monitor_records(struct maas_monitor *mon, const struct maas_served *m, unsigned long request,
			  const json_t *instances, const struct maas_prediction *p, const float *probs);

/* After a successful infer (tensor) prediction: x (n, T or 1, features),
 * p[n], probs as above.  The log line holds the features as x0, x1, ...
 * (windows as "window", an array of steps) in place of raw fields; no
 * drift is counted (drift is of raw fields).  Remembered for feedback
 * like records. */
void maas_monitor_tensor(struct maas_monitor *mon, const struct maas_served *m, unsigned long request,
			 const float *x, size_t n, const struct maas_prediction *p, const float *probs);

/* POST :feedback with body {"id": "17/0", "label": ...} or an array of
 * them.  All items are checked before any is applied.  Errors:
 * MAAS_EDATA for a bad body or label (400), MAAS_ENOINPUT for an id that
 * is not among the model's remembered predictions (404).  On success
 * *answer is a new object {"accepted": n, "feedback_total": N,
 * "accuracy": a} (or "mae"). */
int maas_monitor_feedback(struct maas_monitor *mon, const struct maas_served *m, const json_t *body,
			  json_t **answer, struct maas_err *e);

/* Appends the metrics above to b. */
void maas_monitor_render(struct maas_monitor *mon, struct maas_buf *b);

/* ---- pieces, exposed for tests ---- */

/* The decile bin of v: the number of edges[1..9] <= v. */
int maas_drift_bin(const double edges[11], double v);
/* PSI of served counts cnt[0..n) against training fractions q[0..n);
 * 0 when nothing was counted. */
double maas_psi(const unsigned long *cnt, const double *q, size_t n);

/* Remembered predictions: a ring of cap entries with a hash by id. */
struct maas_ring_entry {
	unsigned long request;
	uint32_t index;          /* instance index in the request */
	uint32_t next;           /* hash chain: entry + 1, 0 ends */
	int label;               /* predicted class, -1 for regression */
	int fb_label;            /* feedback class, -1 */
	double value, fb_value;  /* predicted and feedback value (regression) */
	int has_feedback, used;
	char *raw;               /* the logged fields as JSON members, or NULL */
	size_t rawlen;
};
struct maas_ring {
	struct maas_ring_entry *ent; /* [cap] */
	size_t cap, head;            /* head: the next slot to (over)write */
	uint32_t *bucket;            /* [nbucket] entry + 1, 0 empty */
	size_t nbucket;              /* a power of two */
	size_t raw_bytes, raw_budget;
};
void maas_ring_init(struct maas_ring *r, size_t cap, size_t raw_budget);
void maas_ring_release(struct maas_ring *r);
/* Adds a prediction, evicting the oldest when full; raw (copied, may be
 * NULL) is kept while the budget allows.  Returns the entry. */
struct maas_ring_entry *maas_ring_put(struct maas_ring *r, unsigned long request, uint32_t index, int label,
				      double value, const char *raw, size_t rawlen);
/* The entry of request/index, or NULL. */
struct maas_ring_entry *maas_ring_get(struct maas_ring *r, unsigned long request, uint32_t index);

/* Drift counters of one spec's input columns. */
struct maas_drift_col {
	char *name;
	int categorical;
	enum maas_ftype type;
	size_t nbins;            /* 10, or kept categories + 1 ("other") */
	double edges[11];
	double *q;               /* [nbins] training fractions */
	atomic_ulong *cnt;       /* [nbins] served counts */
	atomic_ulong missing;    /* served missing numbers */
	struct maas_dict cats;   /* category text -> index + 1 */
	uint32_t fill;           /* bin of a missing category */
};
struct maas_drift {
	struct maas_drift_col *cols;
	size_t ncols;
};
/* Columns without training values (count 0) are left out. */
void maas_drift_init(struct maas_drift *d, const struct maas_spec *spec);
void maas_drift_release(struct maas_drift *d);
/* Counts one raw record's fields (an object; others are ignored). */
void maas_drift_observe(struct maas_drift *d, const json_t *record);
/* Column i's PSI and whether it saw any value (0: the PSI is 0). */
double maas_drift_psi(const struct maas_drift *d, size_t i, int *seen);

#endif
