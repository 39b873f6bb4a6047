/*
 * batcher.h - dynamic batching: requests to one model that arrive at the
 * same time are coalesced into one forward pass (one GEMM per layer for
 * up to max_rows rows instead of one small one per request).
 *
 * Design: a request whose rows are ready submits a job (caller memory,
 * usually part of the request's state) to the batcher's lane for its
 * model (a lane has a mutex and a FIFO queue).
 *   - If the lane is idle (no pass running, nothing queued), the
 *     submitting thread computes the job at once, alone, and
 *     maas_batcher_submit returns 0: a lone request never waits.
 *   - Otherwise the job is queued and maas_batcher_submit returns 1: the
 *     job's park callback has run under the lane's lock (the server
 *     suspends the connection there, so the thread goes on serving other
 *     connections).  The batcher's own thread takes the queued jobs of
 *     the first job's model in arrival order, as many as fit in max_rows,
 *     once the lane is idle, runs them as one maas_predict_tensor,
 *     copies each job's answers into the job's memory and calls the
 *     job's wake callback (the server resumes the connection and
 *     answers); then the next batch, lane after lane, until every queue
 *     is empty.
 * So no request blocks a thread while it waits, and no worker thread is
 * kept from its other connections by others' passes (under a steady load
 * the queue may never empty; one thread of the batcher's own drains it).
 * Requests that arrive during a pass form the next one.
 *
 * Waiting for company: while other requests to the lane are on their way
 * (announced with maas_batcher_announce, their bodies still being
 * parsed), the batcher's thread waits for them before it takes a batch,
 * up to delay_us, max_rows queued rows, or as many queued jobs as requests
 * in flight.  It does not wait when nothing is announced.
 *
 * Whether it pays: queueing a request costs its connection a suspension
 * and a resumption (system calls and a wake-up, about 10 to 20
 * microseconds on a loaded two-core machine), and a pass of several rows
 * saves only what the matrix products save.  maas_batcher_gain measures
 * how much of a one-row pass a row saves in a pass of MAAS_BATCHER_PROBE
 * rows (registry.h: once the server is ready, and before a reload swaps);
 * the server batches a model only when that gain reaches its
 * --batch-min-gain, and computes the others' requests without the queue
 * (within the pass of the worker that read them when their rows save a
 * little, http.c; at once otherwise), in parallel.
 *
 * Deadlines: a job whose request arrived more than deadline_ms before its
 * batch is formed is not computed: it is done with late = 1 (the server
 * answers 504).
 *
 * Models are told apart by pointer, so a reloaded model (registry.h) is
 * never batched with its predecessor; the caller holds its model and its
 * context alive until the job is done.  The context of a queued job may
 * be used by the batcher's thread for a batch while the job waits (its
 * owner does not use it meanwhile).
 *
 * If a batched pass fails (a feature that is not finite), each job is run
 * alone so that its error is its own ("instance N" counts within the job).
 *
 * Metrics (serve/metrics.h), when metrics is not NULL: the rows of every
 * forward pass (maas_batch_rows) and each job's time in the queue
 * (maas_queue_seconds), labelled with the model's name and version, and
 * the jobs queued now (maas_queue_depth).
 *
 * Threads: maas_batcher_submit may be called from any number of threads
 * at once; init (which starts the batcher's thread) and release (which
 * stops it) from one thread while no job is queued.
 *
 * Ownership: maas_batcher_init fills a caller-owned struct (the in-flight
 * gauge and the metrics are borrowed and must outlive it);
 * maas_batcher_release frees what it holds.  Jobs are the caller's.
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
#define MAAS_BATCHER_LANES 8
#define MAAS_BATCHER_PROBE 4        /* rows of the pass maas_batcher_gain times */
#define MAAS_BATCHER_MIN_GAIN_US 20 /* default gain a model needs to be batched */

struct maas_batcher_job {
	/* the caller's, before maas_batcher_submit: */
	const struct maas_served *m;
	struct maas_predict_ctx *c;     /* the caller's context for m */
	const float *x;                 /* (n, T or 1, features) */
	int n;                          /* 1 <= n <= max_rows */
	struct maas_prediction *out;    /* [n] */
	float *probs;                   /* (n, nlabels), or NULL */
	double t0;                      /* the request's arrival (maas_now), for the deadline */
	double deadline_ms;             /* 0: none */
	void (*park)(struct maas_batcher_job *j);  /* queued: called under the lane's lock */
	void (*wake)(struct maas_batcher_job *j);  /* a queued job is done: called by the batcher's thread */
	void *arg;                      /* the caller's, for park and wake */
	/* the results, once done: */
	int rc;                         /* 0, or -1 with e */
	int late;                       /* not computed: the deadline had passed (rc is 0) */
	struct maas_err e;
	double queue_s, compute_s;      /* its wait in the queue, and its batch's forward pass */
	/* the batcher's: */
	double queued_at;
	struct maas_batcher_job *next;
};

struct maas_batcher_lane {
	pthread_mutex_t lock;
	struct maas_batcher_job *head, *tail;
	int queued, queued_rows, busy;      /* busy: a pass is running */
	atomic_int coming;                  /* announced, not yet submitted */
};

/* Scratch memory for maas_batch_run, grown as needed. */
struct maas_batch_scratch {
	float *x, *probs;
	struct maas_prediction *out;
	size_t xcap, pcap, ocap;
};
void maas_batch_scratch_release(struct maas_batch_scratch *s);

/* Runs a list of jobs of one model (linked by next, rows in all) as one
 * forward pass with the first job's context, and gives each job its rc, e
 * and answers; a job alone is computed in place, and if the pass fails
 * each job is run alone so that its error is its own ("instance N" counts
 * within the job).  Used by the batcher's thread and by the server's
 * workers for the requests of one pass (http.c). */
void maas_batch_run(struct maas_batch_scratch *s, struct maas_batcher_job *batch, int rows);

struct maas_batcher {
	struct maas_serve_metrics *metrics; /* borrowed, or NULL */
	const atomic_long *in_flight;       /* borrowed requests-in-flight gauge, or NULL */
	int max_rows;                       /* rows per forward pass */
	long delay_us;                      /* the longest the thread waits for company */
	struct maas_batcher_lane lanes[MAAS_BATCHER_LANES];
	/* the batcher's thread and what wakes it: */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work;                /* a job was queued, a lane turned idle, an
					       announcement was withdrawn, or stop */
	long pokes;                         /* pokes since the thread last scanned the lanes */
	int stop, started;                  /* started: 1 initialised, 2 with the thread */
	/* the thread's scratch, grown as needed: */
	struct maas_batch_scratch scratch;
	double *waits;                      /* [max_rows] queue seconds of the jobs taken */
};

/* The seconds of forward pass one row saves in a pass of
 * MAAS_BATCHER_PROBE rows rather than alone: the best of several timed
 * passes of each, on rows of zeros, with c (a context for m of at least
 * MAAS_BATCHER_PROBE rows); 0 when it saves nothing. */
double maas_batcher_gain(const struct maas_served *m, struct maas_predict_ctx *c);

/* max_rows >= 1 (smaller is taken as 1), delay_us >= 0.  Starts the
 * batcher's thread (MAAS_EOS when it cannot; release is still needed). */
int maas_batcher_init(struct maas_batcher *b, int max_rows, long delay_us, const atomic_long *in_flight,
		      struct maas_serve_metrics *metrics, struct maas_err *e);
void maas_batcher_release(struct maas_batcher *b);

/* The calling thread will soon submit a job for m (it is parsing the
 * request): the batcher's thread may wait for it (up to delay_us).  The thread's next
 * maas_batcher_submit, or maas_batcher_withdraw, ends the announcement;
 * one per thread at a time (a second replaces the first). */
void maas_batcher_announce(struct maas_batcher *b, const struct maas_served *m);
/* The announced job will not come (a bad request); harmless when there
 * is no announcement. */
void maas_batcher_withdraw(struct maas_batcher *b);

/* Submits j (see above).  Returns 0 when j is done (computed by this
 * thread, or late), 1 when it is queued (j->park has run; j->wake will
 * run once, from another thread, when it is done).  j->n outside 1 ..
 * max_rows is done at once with rc -1 and MAAS_EUSAGE. */
int maas_batcher_submit(struct maas_batcher *b, struct maas_batcher_job *j);

#endif
