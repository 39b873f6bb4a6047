/*
 * batcher.h - dynamic batching: requests to one model that arrive at the
 * same time are coalesced into one forward pass (one GEMM per layer for
 * up to max_rows rows instead of one small one per request).
 *
 * Design: the server's worker threads each carry one request.  A thread
 * that calls maas_batcher_predict queues its rows (a job on its own stack)
 * in one of the batcher's lanes (chosen by the model; a lane has a mutex,
 * two condition variables and a FIFO queue).  If no thread leads the lane,
 * it becomes the leader: it waits while another request to the lane is on
 * its way (announced with maas_batcher_announce, its body still being
 * parsed), until max_rows rows are queued, or every worker thread is
 * queued, or every request in flight is, or delay_us has passed; then
 * it takes the queued jobs of the first job's model in arrival order while
 * they fit in max_rows, runs them as one maas_predict_tensor outside the
 * lock (on the first job's context: its thread is asleep), copies each
 * job's answers into the job's memory, marks the jobs done and wakes the
 * lane.  Followers sleep until their job is done, or until no one leads
 * and their job is still queued (then one of them leads).  A leader leads
 * until its own job is done.  So there is one forward pass at a time per
 * lane and no thread of its own; nobody waits for a request that is not
 * coming (a lone request never waits), and requests that arrive during a
 * forward pass form the next batch.  (libmicrohttpd's suspend/resume would let one worker hold many
 * connections' requests, at the price of resuming them from the daemon's
 * threads and keeping each request's state across calls; a blocked worker
 * costs only its stack, and with --threads above the core count the
 * batches grow the same way.)
 *
 * Models are told apart by pointer, so a reloaded model (registry.h) is
 * never batched with its predecessor; the caller holds its model alive
 * for the call.
 *
 * If a batched pass fails (a feature that is not finite), each job is run
 * alone so that its error is its own ("instance N" counts within the job).
 *
 * Metrics (serve/metrics.h), when metrics is not NULL: the rows of every
 * forward pass (maas_batch_rows) and each request's time in the queue
 * (maas_queue_seconds), labelled with the model's name and version.
 *
 * Threads: maas_batcher_predict may be called from any number of threads
 * at once; init and release from one thread while no call is running.
 *
 * Ownership: maas_batcher_init fills a caller-owned struct (the in-flight
 * gauge and the metrics are borrowed and must outlive it);
 * maas_batcher_release frees what it holds.
 */
#ifndef MAAS_SERVE_BATCHER_H
#define MAAS_SERVE_BATCHER_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/error.h"
#include "serve/metrics.h"
#include "serve/predict.h"

#define MAAS_BATCHER_ROWS 64        /* default max_rows */
#define MAAS_BATCHER_DELAY_US 500   /* default delay_us */

struct maas_batcher_job;

#define MAAS_BATCHER_LANES 8

struct maas_batcher_lane {
	pthread_mutex_t lock;
	pthread_cond_t arrive;              /* a job was queued (the leader waits on it) */
	pthread_cond_t finished;            /* jobs are done, or no one leads */
	struct maas_batcher_job *head, *tail;
	int queued, queued_rows, leading;
	atomic_int coming;                  /* announced, not yet queued */
	/* the leader's scratch, grown as needed: */
	float *x, *probs;
	struct maas_prediction *out;
	size_t xcap, pcap, ocap;
	double *waits;                      /* [max_rows] queue seconds of the jobs taken */
};

struct maas_batcher {
	struct maas_serve_metrics *metrics; /* borrowed, or NULL */
	const atomic_long *in_flight;       /* borrowed requests-in-flight gauge, or NULL */
	int max_rows;                       /* rows per forward pass */
	int threads;                        /* callers that can be waiting at most */
	long delay_us;                      /* the longest a leader waits for company */
	struct maas_batcher_lane lanes[MAAS_BATCHER_LANES];
};

/* max_rows >= 1 (smaller is taken as 1), threads >= 1, delay_us >= 0. */
void maas_batcher_init(struct maas_batcher *b, int max_rows, long delay_us, int threads, const atomic_long *in_flight,
		       struct maas_serve_metrics *metrics);
void maas_batcher_release(struct maas_batcher *b);

/* The calling thread will soon ask for a prediction with m (it is parsing
 * the request): a leader waits for it (up to delay_us).  The thread's
 * next maas_batcher_predict, or maas_batcher_withdraw, ends the
 * announcement; one per thread at a time (a second replaces the first). */
void maas_batcher_announce(struct maas_batcher *b, const struct maas_served *m);
/* The announced prediction will not come (a bad request); harmless when
 * there is no announcement. */
void maas_batcher_withdraw(struct maas_batcher *b);

/* Predicts x: (n, T or 1, features) with model m, 1 <= n <= max_rows
 * (else MAAS_EUSAGE), batched with other callers' rows.  c is the
 * caller's context for m (the leader may use it while the caller waits).
 * out[n] and probs (n, nlabels) (or NULL) as maas_predict_tensor fills
 * them, and the same errors. */
int maas_batcher_predict(struct maas_batcher *b, const struct maas_served *m, struct maas_predict_ctx *c,
			 const float *x, int n, struct maas_prediction *out, float *probs, struct maas_err *e);

#endif
