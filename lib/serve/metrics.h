/*
 * metrics.h - the counters and histograms behind maas-serve's GET /metrics,
 * written in the Prometheus text exposition format 0.0.4.
 *
 * What is counted:
 *   maas_requests_total{model,version,route,code}       counter
 *   maas_request_duration_seconds{model,version,route}  histogram (total time)
 *   maas_in_flight_requests                             gauge
 *   maas_rejected_total{code}                           counter: requests refused
 *                                   before compute (401, 403, 413, 429, 503, 504)
 *   maas_model_loads_total{model,version,result}        counter (ok, failed)
 *   maas_model_load_seconds{model,version}              gauge (last load)
 *   maas_batch_rows{model,version}                      histogram: rows per
 *                                   forward pass of dynamic batching
 *   maas_queue_seconds{model,version}                   histogram: a request's
 *                                   wait in the batching queue
 *   maas_compute_seconds{model,version}                 histogram: the forward
 *                                   pass that computed a request's rows
 *   maas_queue_depth                                    gauge: requests waiting
 *                                   in the batching queue now
 *   process_cpu_seconds_total, process_resident_memory_bytes,
 *   process_start_time_seconds, process_open_fds,
 *   process_max_fds                                     from /proc/self
 *
 * Threads: every function may be called from any thread; series are kept
 * under one mutex (a request touches it once), the in-flight gauge is an
 * atomic.  Label values are copied; the caller keeps its strings.
 *
 * Ownership: maas_serve_metrics_init fills a caller-owned struct,
 * maas_serve_metrics_release frees what it holds.  maas_serve_metrics_render appends
 * to the caller's buffer.
 */
#ifndef MAAS_SERVE_METRICS_H
#define MAAS_SERVE_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "core/io.h"

struct maas_serve_series;

/* The codes maas_rejected_total counts; maas_serve_metrics_request counts them. */
#define MAAS_SERVE_METRICS_NREJECT 6
extern const int maas_serve_metrics_reject_codes[MAAS_SERVE_METRICS_NREJECT];

struct maas_serve_metrics {
	pthread_mutex_t lock;
	struct maas_serve_series *series; /* requests, by model/version/route/code */
	size_t nseries, cap;
	struct maas_serve_series *loads;  /* model loads, by model/version */
	size_t nloads, loadcap;
	struct maas_serve_series *batches; /* dynamic batching, by model/version and route "rows" or "queue" */
	size_t nbatches, batchcap;
	atomic_long in_flight;
	atomic_long queued;               /* in the batching queue now (serve/batcher.h keeps it) */
	unsigned long long rejected[MAAS_SERVE_METRICS_NREJECT]; /* by maas_serve_metrics_reject_codes */
};

void maas_serve_metrics_init(struct maas_serve_metrics *m);
void maas_serve_metrics_release(struct maas_serve_metrics *m);

/* One finished request: model and version may be "" (none), code is the
 * HTTP status, seconds the total time from first byte to response, and
 * compute_seconds the forward pass that computed its rows (for a batched
 * request the whole batch's), or < 0 when none did. */
void maas_serve_metrics_request(struct maas_serve_metrics *m, const char *model, const char *version, const char *route,
			  int code, double seconds, double compute_seconds);
/* One model load and its time. */
void maas_serve_metrics_model_load(struct maas_serve_metrics *m, const char *model, const char *version, double seconds);
/* One load or reload that succeeded (ok) or failed (seconds is then ignored). */
void maas_serve_metrics_model_load_result(struct maas_serve_metrics *m, const char *model, const char *version, int ok,
					  double seconds);
/* Adds delta to the in-flight gauge; returns the new value. */
long maas_serve_metrics_in_flight(struct maas_serve_metrics *m, long delta);

/* One forward pass of dynamic batching: its rows, and the queue time of
 * each of its njobs requests (waits[njobs]). */
void maas_serve_metrics_batch(struct maas_serve_metrics *m, const char *model, const char *version, int rows,
			      const double *waits, size_t njobs);

/* Appends every metric, with HELP and TYPE lines, to b. */
void maas_serve_metrics_render(struct maas_serve_metrics *m, struct maas_buf *b);

/* Pieces of the exposition format, for other renderers (serve/monitor.h):
 * the "# HELP" and "# TYPE" lines of a metric, and one label name="value"
 * (backslash, double quote and newline escaped), after a comma unless
 * first. */
void maas_prom_header(struct maas_buf *b, const char *name, const char *type, const char *help);
void maas_prom_label(struct maas_buf *b, const char *name, const char *v, int first);

/* The histogram's upper bounds in seconds (the last bucket is +Inf). */
#define MAAS_SERVE_METRICS_NBUCKETS 14
extern const double maas_serve_metrics_buckets[MAAS_SERVE_METRICS_NBUCKETS];
/* maas_batch_rows's upper bounds in rows, 1 to 8192 (the last bucket is +Inf). */
extern const double maas_serve_metrics_row_buckets[MAAS_SERVE_METRICS_NBUCKETS];

#endif
