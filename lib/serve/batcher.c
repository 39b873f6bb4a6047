/*
 * batcher.c - dynamic batching: a lone request computed by its own thread,
 * queued ones by the batcher's thread (see batcher.h for the design).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/mem.h"
#include "serve/auth.h"
#include "serve/batcher.h"

/* The lane this thread announced a job for, if any. */
static _Thread_local struct maas_batcher_lane *announced;

static struct maas_batcher_lane *lane_of(struct maas_batcher *b, const struct maas_served *m)
{
	return &b->lanes[((uintptr_t)m >> 6) % MAAS_BATCHER_LANES];
}

static size_t row_floats(const struct maas_served *m)
{
	return (size_t)(m->T ? m->T : 1) * (size_t)m->features;
}

double maas_batcher_gain(const struct maas_served *m, struct maas_predict_ctx *c)
{
	size_t row = row_floats(m), K = m->classification ? (size_t)m->nlabels : 0;
	struct maas_prediction out[MAAS_BATCHER_PROBE];
	double best[2] = {1e30, 1e30};
	struct maas_err e;

	if (c->max_batch < MAAS_BATCHER_PROBE)
		return 0;
	float *x = xcalloc(MAAS_BATCHER_PROBE * row, sizeof *x);
	float *probs = K ? xcalloc(MAAS_BATCHER_PROBE * K, sizeof *probs) : NULL;
	for (int rep = 0; rep < 7; rep++)
		for (int k = 0; k < 2; k++) {
			int n = k ? MAAS_BATCHER_PROBE : 1;
			double t0 = maas_now();
			if (maas_predict_tensor(m, c, x, n, out, probs, &e))
				break;
			double t = (maas_now() - t0) / n;
			if (t < best[k])
				best[k] = t;
		}
	free(x);
	free(probs);
	return best[0] > best[1] && best[1] < 1e30 ? best[0] - best[1] : 0;
}

static void *thread_main(void *arg);

int maas_batcher_init(struct maas_batcher *b, int max_rows, long delay_us, const atomic_long *in_flight,
		      struct maas_serve_metrics *metrics, struct maas_err *e)
{
	int err;
	pthread_condattr_t ca;

	memset(b, 0, sizeof *b);
	b->metrics = metrics;
	b->in_flight = in_flight;
	b->max_rows = max_rows < 1 ? 1 : max_rows;
	b->delay_us = delay_us < 0 ? 0 : delay_us;
	for (int i = 0; i < MAAS_BATCHER_LANES; i++) {
		pthread_mutex_init(&b->lanes[i].lock, NULL);
		atomic_init(&b->lanes[i].coming, 0);
	}
	b->waits = xcalloc((size_t)b->max_rows, sizeof *b->waits);
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->work, &ca);
	pthread_condattr_destroy(&ca);
	if ((err = pthread_create(&b->thread, NULL, thread_main, b))) {
		b->started = 1; /* what release frees; there is no thread to join */
		b->stop = 1;
		errno = err;
		return maas_err_sys(e, MAAS_EOS, "cannot start the batching thread");
	}
	b->started = 2;
	return 0;
}

void maas_batcher_release(struct maas_batcher *b)
{
	if (!b->started)
		return;
	if (b->started == 2) {
		pthread_mutex_lock(&b->lock);
		b->stop = 1;
		pthread_cond_signal(&b->work);
		pthread_mutex_unlock(&b->lock);
		pthread_join(b->thread, NULL);
	}
	for (int i = 0; i < MAAS_BATCHER_LANES; i++)
		pthread_mutex_destroy(&b->lanes[i].lock);
	pthread_cond_destroy(&b->work);
	pthread_mutex_destroy(&b->lock);
	maas_batch_scratch_release(&b->scratch);
	free(b->waits);
	memset(b, 0, sizeof *b);
}

/* Something for the batcher's thread to look at. */
static void poke(struct maas_batcher *b)
{
	pthread_mutex_lock(&b->lock);
	b->pokes++;
	pthread_cond_signal(&b->work);
	pthread_mutex_unlock(&b->lock);
}

/* Whether the thread should stop waiting for company in lane l: under
 * b->lock, takes l's lock. */
static int ready(const struct maas_batcher *b, struct maas_batcher_lane *l)
{
	int r;
	pthread_mutex_lock(&l->lock);
	r = l->queued_rows >= b->max_rows || atomic_load(&l->coming) <= 0 ||
	    (b->in_flight && l->queued >= atomic_load(b->in_flight));
	pthread_mutex_unlock(&l->lock);
	return r;
}

void maas_batch_scratch_release(struct maas_batch_scratch *s)
{
	free(s->x);
	free(s->probs);
	free(s->out);
	memset(s, 0, sizeof *s);
}

void maas_batch_run(struct maas_batch_scratch *s, struct maas_batcher_job *batch, int rows)
{
	const struct maas_served *m = batch->m;
	struct maas_predict_ctx *c = batch->c; /* its owner does not use it while the job waits */
	size_t row = row_floats(m), K = m->classification ? (size_t)m->nlabels : 0, at = 0, r = (size_t)rows;
	struct maas_batcher_job *j;
	struct maas_err e;

	if (!batch->next) { /* alone: no copies */
		batch->rc = maas_predict_tensor(m, c, batch->x, batch->n, batch->out, batch->probs, &batch->e);
		return;
	}
	xgrow(&s->x, &s->xcap, r * row, sizeof *s->x);
	xgrow(&s->out, &s->ocap, r, sizeof *s->out);
	if (K)
		xgrow(&s->probs, &s->pcap, r * K, sizeof *s->probs);
	for (j = batch; j; j = j->next) {
		memcpy(s->x + at * row, j->x, (size_t)j->n * row * sizeof *s->x);
		at += (size_t)j->n;
	}
	if (maas_predict_tensor(m, c, s->x, rows, s->out, K ? s->probs : NULL, &e)) {
		/* whose fault: each job alone, with its own instance numbers */
		for (j = batch; j; j = j->next)
			j->rc = maas_predict_tensor(m, c, j->x, j->n, j->out, j->probs, &j->e);
		return;
	}
	at = 0;
	for (j = batch; j; j = j->next) {
		memcpy(j->out, s->out + at, (size_t)j->n * sizeof *j->out);
		if (j->probs && K)
			memcpy(j->probs, s->probs + at * K, (size_t)j->n * K * sizeof *j->probs);
		j->rc = 0;
		at += (size_t)j->n;
	}
}

/* Wakes the jobs of list; none of them is touched afterwards (their
 * owners may free them at once). */
static void wake_all(struct maas_batcher_job *list)
{
	while (list) {
		struct maas_batcher_job *j = list;
		list = j->next;
		j->next = NULL;
		j->wake(j);
	}
}

/* Takes the queued jobs of the first job's model in arrival order while
 * they fit in max_rows; late ones go to *late.  Under l's lock. */
static struct maas_batcher_job *take(struct maas_batcher *b, struct maas_batcher_lane *l, int *rows, int *k,
				     struct maas_batcher_job **late)
{
	struct maas_batcher_job *batch = NULL, **tail = &batch, **pp, *j, *prev = NULL;
	const struct maas_served *m = l->head->m;
	double now = maas_now();

	*rows = *k = 0;
	for (pp = &l->head; (j = *pp);) {
		if (j->m != m) {
			prev = j;
			pp = &j->next;
			continue;
		}
		if (*rows + j->n > b->max_rows)
			break;
		*pp = j->next;
		if (l->tail == j)
			l->tail = prev;
		l->queued--;
		l->queued_rows -= j->n;
		if (b->metrics)
			atomic_fetch_sub(&b->metrics->queued, 1);
		j->queue_s = now - j->queued_at;
		if (maas_deadline_passed(j->t0, j->deadline_ms)) {
			j->late = 1;
			j->next = *late;
			*late = j;
			continue;
		}
		j->next = NULL;
		*tail = j;
		tail = &j->next;
		*rows += j->n;
		b->waits[(*k)++] = j->queue_s;
	}
	return batch;
}

/* Waits, under b->lock, until lane l is ready or delay_us have passed. */
static void wait_for_company(struct maas_batcher *b, struct maas_batcher_lane *l)
{
	struct timespec dl;

	if (b->delay_us <= 0 || ready(b, l))
		return;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += b->delay_us / 1000000;
	dl.tv_nsec += (b->delay_us % 1000000) * 1000;
	if (dl.tv_nsec >= 1000000000L)
		dl.tv_sec++, dl.tv_nsec -= 1000000000L;
	while (!b->stop && !ready(b, l))
		if (pthread_cond_timedwait(&b->work, &b->lock, &dl) == ETIMEDOUT)
			break;
}

/* One batch of lane l, if it has queued jobs and no pass running: 1 if it
 * ran one.  Called and returns with b->lock held. */
static int one_batch(struct maas_batcher *b, struct maas_batcher_lane *l)
{
	struct maas_batcher_job *batch, *late = NULL;
	int rows, k, idle;

	pthread_mutex_lock(&l->lock);
	idle = l->head && !l->busy;
	pthread_mutex_unlock(&l->lock);
	if (!idle)
		return 0;
	wait_for_company(b, l);
	pthread_mutex_lock(&l->lock);
	if (!l->head || l->busy) { /* cannot happen: only this thread takes jobs */
		pthread_mutex_unlock(&l->lock);
		return 0;
	}
	l->busy = 1;
	batch = take(b, l, &rows, &k, &late);
	pthread_mutex_unlock(&l->lock);
	pthread_mutex_unlock(&b->lock);

	if (batch) {
		const struct maas_served *m = batch->m;
		double t0 = maas_now(), took;
		maas_batch_run(&b->scratch, batch, rows);
		took = maas_now() - t0;
		for (struct maas_batcher_job *j = batch; j; j = j->next)
			j->compute_s = took;
		if (b->metrics) /* before waking: the jobs hold m alive */
			maas_serve_metrics_batch(b->metrics, m->name, m->version, rows, b->waits, (size_t)k);
	}
	wake_all(batch);
	wake_all(late);

	pthread_mutex_lock(&b->lock);
	pthread_mutex_lock(&l->lock);
	l->busy = 0;
	pthread_mutex_unlock(&l->lock);
	return 1;
}

static void *thread_main(void *arg)
{
	struct maas_batcher *b = arg;

	pthread_mutex_lock(&b->lock);
	while (!b->stop) {
		int ran = 0;
		b->pokes = 0;
		for (int i = 0; i < MAAS_BATCHER_LANES; i++)
			ran |= one_batch(b, &b->lanes[i]);
		if (!ran && !b->pokes && !b->stop)
			pthread_cond_wait(&b->work, &b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
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
	atomic_fetch_sub(&l->coming, 1);
	poke(b); /* the thread may be waiting for this one */
}

int maas_batcher_submit(struct maas_batcher *b, struct maas_batcher_job *j)
{
	struct maas_batcher_lane *l = lane_of(b, j->m);

	j->rc = j->late = 0;
	j->queue_s = j->compute_s = 0;
	j->next = NULL;
	if (announced && announced != l)
		maas_batcher_withdraw(b);
	if (j->n < 1 || j->n > b->max_rows) {
		maas_batcher_withdraw(b);
		j->rc = maas_err_set(&j->e, MAAS_EUSAGE, "a batch job of %d rows is not from 1 to %d", j->n,
				     b->max_rows);
		return 0;
	}
	j->queued_at = maas_now();
	pthread_mutex_lock(&l->lock);
	if (announced == l) {
		atomic_fetch_sub(&l->coming, 1);
		announced = NULL;
	}
	if (!l->busy && !l->head) { /* idle: computed here, at once */
		double zero = 0, t0;
		int more;
		l->busy = 1;
		pthread_mutex_unlock(&l->lock);
		t0 = maas_now();
		j->rc = maas_predict_tensor(j->m, j->c, j->x, j->n, j->out, j->probs, &j->e);
		j->compute_s = maas_now() - t0;
		if (b->metrics)
			maas_serve_metrics_batch(b->metrics, j->m->name, j->m->version, j->n, &zero, 1);
		pthread_mutex_lock(&l->lock);
		l->busy = 0;
		more = l->head != NULL;
		pthread_mutex_unlock(&l->lock);
		if (more) /* queued meanwhile: the thread's turn */
			poke(b);
		return 0;
	}
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	l->queued++;
	l->queued_rows += j->n;
	if (b->metrics)
		atomic_fetch_add(&b->metrics->queued, 1);
	j->park(j);
	pthread_mutex_unlock(&l->lock);
	poke(b);
	return 1;
}
