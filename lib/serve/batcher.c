/*
 * batcher.c - dynamic batching with a leader among the waiting threads
 * (see batcher.h for the design).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "serve/batcher.h"

struct maas_batcher_job {
	const struct maas_served *m;
	struct maas_predict_ctx *c;
	const float *x;
	int n;
	struct maas_prediction *out;
	float *probs;
	double t0;                       /* when it was queued */
	int done, rc;
	struct maas_err e;
	struct maas_batcher_job *next;
};

/* The lane this thread announced a prediction for, if any. */
static _Thread_local struct maas_batcher_lane *announced;

static struct maas_batcher_lane *lane_of(struct maas_batcher *b, const struct maas_served *m)
{
	return &b->lanes[((uintptr_t)m >> 6) % MAAS_BATCHER_LANES];
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t row_floats(const struct maas_served *m)
{
	return (size_t)(m->T ? m->T : 1) * (size_t)m->features;
}

void maas_batcher_init(struct maas_batcher *b, int max_rows, long delay_us, int threads, const atomic_long *in_flight,
		       struct maas_serve_metrics *metrics)
{
	pthread_condattr_t ca;

	memset(b, 0, sizeof *b);
	b->metrics = metrics;
	b->in_flight = in_flight;
	b->max_rows = max_rows < 1 ? 1 : max_rows;
	b->threads = threads < 1 ? 1 : threads;
	b->delay_us = delay_us < 0 ? 0 : delay_us;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (int i = 0; i < MAAS_BATCHER_LANES; i++) {
		struct maas_batcher_lane *l = &b->lanes[i];
		pthread_mutex_init(&l->lock, NULL);
		atomic_init(&l->coming, 0);
		pthread_cond_init(&l->arrive, &ca);
		pthread_cond_init(&l->finished, &ca);
		l->waits = xcalloc((size_t)b->max_rows, sizeof *l->waits);
	}
	pthread_condattr_destroy(&ca);
}

void maas_batcher_release(struct maas_batcher *b)
{
	if (!b->max_rows)
		return;
	for (int i = 0; i < MAAS_BATCHER_LANES; i++) {
		struct maas_batcher_lane *l = &b->lanes[i];
		pthread_cond_destroy(&l->arrive);
		pthread_cond_destroy(&l->finished);
		pthread_mutex_destroy(&l->lock);
		free(l->x);
		free(l->probs);
		free(l->out);
		free(l->waits);
	}
	memset(b, 0, sizeof *b);
}

/* Whether the leader should stop waiting for company.  Under the lock. */
static int ready(const struct maas_batcher *b, const struct maas_batcher_lane *l)
{
	if (l->queued_rows >= b->max_rows || l->queued >= b->threads || atomic_load(&l->coming) <= 0)
		return 1;
	return b->in_flight && l->queued >= atomic_load(b->in_flight);
}

/* Runs the jobs of a batch (one model, rows in all) outside the lock. */
static void run(struct maas_batcher_lane *l, struct maas_batcher_job *batch, int rows)
{
	const struct maas_served *m = batch->m;
	struct maas_predict_ctx *c = batch->c; /* its thread sleeps */
	size_t row = row_floats(m), K = m->classification ? (size_t)m->nlabels : 0, at = 0, r = (size_t)rows;
	struct maas_batcher_job *j;
	struct maas_err e;

	if (!batch->next) { /* alone: no copies */
		batch->rc = maas_predict_tensor(m, c, batch->x, batch->n, batch->out, batch->probs, &batch->e);
		return;
	}
	xgrow(&l->x, &l->xcap, r * row, sizeof *l->x);
	xgrow(&l->out, &l->ocap, r, sizeof *l->out);
	if (K)
		xgrow(&l->probs, &l->pcap, r * K, sizeof *l->probs);
	for (j = batch; j; j = j->next) {
		memcpy(l->x + at * row, j->x, (size_t)j->n * row * sizeof *l->x);
		at += (size_t)j->n;
	}
	if (maas_predict_tensor(m, c, l->x, rows, l->out, K ? l->probs : NULL, &e)) {
		/* whose fault: each job alone, with its own instance numbers */
		for (j = batch; j; j = j->next)
			j->rc = maas_predict_tensor(m, c, j->x, j->n, j->out, j->probs, &j->e);
		return;
	}
	at = 0;
	for (j = batch; j; j = j->next) {
		memcpy(j->out, l->out + at, (size_t)j->n * sizeof *j->out);
		if (j->probs && K)
			memcpy(j->probs, l->probs + at * K, (size_t)j->n * K * sizeof *j->probs);
		j->rc = 0;
		at += (size_t)j->n;
	}
}

/* Leads lane l until me is done.  Called and returns with the lock held. */
static void lead(struct maas_batcher *b, struct maas_batcher_lane *l, struct maas_batcher_job *me)
{
	while (!me->done) {
		double until = mono() + (double)b->delay_us * 1e-6;
		struct timespec dl = {(time_t)until, (long)((until - (double)(time_t)until) * 1e9)};
		struct maas_batcher_job *batch = NULL, **tail = &batch, **pp, *j, *prev = NULL;
		const struct maas_served *m;
		int rows = 0, k = 0;

		if (dl.tv_nsec >= 1000000000L)
			dl.tv_sec++, dl.tv_nsec -= 1000000000L;
		while (!ready(b, l))
			if (pthread_cond_timedwait(&l->arrive, &l->lock, &dl) == ETIMEDOUT)
				break;
		/* take the first job's model's jobs in arrival order while they fit */
		double now = mono();
		m = l->head->m;
		for (pp = &l->head; (j = *pp);) {
			if (j->m != m) {
				prev = j;
				pp = &j->next;
				continue;
			}
			if (rows + j->n > b->max_rows)
				break;
			*pp = j->next;
			if (l->tail == j)
				l->tail = prev;
			j->next = NULL;
			*tail = j;
			tail = &j->next;
			rows += j->n;
			l->waits[k++] = now - j->t0;
		}
		l->queued -= k;
		l->queued_rows -= rows;
		pthread_mutex_unlock(&l->lock);

		run(l, batch, rows);
		if (b->metrics)
			maas_serve_metrics_batch(b->metrics, m->name, m->version, rows, l->waits, (size_t)k);

		pthread_mutex_lock(&l->lock);
		for (j = batch; j; j = j->next)
			j->done = 1;
		pthread_cond_broadcast(&l->finished);
	}
}

void maas_batcher_announce(struct maas_batcher *b, const struct maas_served *m)
{
	maas_batcher_withdraw(b);
	announced = lane_of(b, m);
	atomic_fetch_add(&announced->coming, 1);
}

void maas_batcher_withdraw(struct maas_batcher *b)
{
	struct maas_batcher_lane *l = announced;
	if (!l)
		return;
	announced = NULL;
	pthread_mutex_lock(&l->lock);
	atomic_fetch_sub(&l->coming, 1);
	if (l->leading) /* it may be waiting for this one */
		pthread_cond_signal(&l->arrive);
	pthread_mutex_unlock(&l->lock);
}

int maas_batcher_predict(struct maas_batcher *b, const struct maas_served *m, struct maas_predict_ctx *c,
			 const float *x, int n, struct maas_prediction *out, float *probs, struct maas_err *e)
{
	struct maas_batcher_lane *l = lane_of(b, m);
	struct maas_batcher_job job;

	if (announced && announced != l)
		maas_batcher_withdraw(b);
	if (n < 1 || n > b->max_rows) {
		maas_batcher_withdraw(b);
		return maas_err_set(e, MAAS_EUSAGE, "a batch job of %d rows is not from 1 to %d", n, b->max_rows);
	}
	memset(&job, 0, sizeof job);
	job.m = m;
	job.c = c;
	job.x = x;
	job.n = n;
	job.out = out;
	job.probs = probs;
	job.t0 = mono();

	pthread_mutex_lock(&l->lock);
	if (l->tail)
		l->tail->next = &job;
	else
		l->head = &job;
	l->tail = &job;
	l->queued++;
	l->queued_rows += n;
	if (announced == l) {
		atomic_fetch_sub(&l->coming, 1);
		announced = NULL;
	}
	if (l->leading)
		pthread_cond_signal(&l->arrive);
	while (!job.done) {
		if (!l->leading) {
			l->leading = 1;
			lead(b, l, &job);
			l->leading = 0;
			if (l->head) /* the next leader, among those still queued */
				pthread_cond_broadcast(&l->finished);
			break;
		}
		pthread_cond_wait(&l->finished, &l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	if (job.rc)
		*e = job.e;
	return job.rc ? -1 : 0;
}
