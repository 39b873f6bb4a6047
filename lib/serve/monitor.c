/*
 * monitor.c - the prediction log, feedback and drift of maas-serve (the
 * contract is in monitor.h).
 *
 * Per model (name and version) the monitor keeps a ring of remembered
 * predictions under a mutex (a request takes it once), feedback totals
 * under the same mutex, and drift counters that are atomics.  The log's
 * descriptor sits behind a read-write lock: writers share it, a reopen
 * swaps it alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "serve/metrics.h"
#include "serve/monitor.h"

/* ---- bins and PSI ---- */

int maas_drift_bin(const double edges[11], double v)
{
	int b = 0;
	while (b < 9 && edges[b + 1] <= v)
		b++;
	return b;
}

double maas_psi(const unsigned long *cnt, const double *q, size_t n)
{
	double total = 0, psi = 0;
	for (size_t i = 0; i < n; i++)
		total += (double)cnt[i];
	if (total <= 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		double p = (double)cnt[i] / total, t = q[i];
		if (p <= 0)
			p = MAAS_PSI_EPS;
		if (t <= 0)
			t = MAAS_PSI_EPS;
		psi += (p - t) * log(p / t);
	}
	return psi;
}

/* ---- drift ---- */

void maas_drift_init(struct maas_drift *d, const struct maas_spec *spec)
{
	memset(d, 0, sizeof *d);
	d->cols = xcalloc(spec->ncols ? spec->ncols : 1, sizeof *d->cols);
	for (size_t i = 0; i < spec->ncols; i++) {
		const struct maas_spec_col *sc = &spec->cols[i];
		struct maas_drift_col *c = &d->cols[d->ncols];
		memset(c, 0, sizeof *c);
		c->type = sc->type;
		c->categorical = sc->type == MAAS_FT_CATEGORICAL;
		maas_dict_init(&c->cats);
		if (c->categorical) {
			size_t total = sc->stats.count + sc->stats.missing, kept = 0;
			if (!total || !sc->cat_count)
				continue;
			c->nbins = sc->ncats + 1;
			c->q = xcalloc(c->nbins, sizeof *c->q);
			for (size_t k = 0; k < sc->ncats; k++) {
				maas_dict_intern(&c->cats, sc->cats[k], strlen(sc->cats[k]));
				c->q[k] = (double)sc->cat_count[k] / (double)total;
				kept += sc->cat_count[k];
			}
			c->q[sc->ncats] = kept < total ? (double)(total - kept) / (double)total : 0;
			uint32_t f = sc->fill_str && sc->ncats ? maas_dict_lookup(&c->cats, sc->fill_str, strlen(sc->fill_str)) : 0;
			c->fill = f ? f - 1 : (uint32_t)sc->ncats;
		} else {
			if (!sc->stats.count)
				continue;
			c->nbins = 10;
			memcpy(c->edges, sc->stats.edges, sizeof c->edges);
			c->q = xcalloc(10, sizeof *c->q);
			memcpy(c->q, sc->stats.frac, 10 * sizeof *c->q);
		}
		c->name = xstrdup(sc->name);
		c->cnt = xcalloc(c->nbins, sizeof *c->cnt);
		for (size_t k = 0; k < c->nbins; k++)
			atomic_init(&c->cnt[k], 0);
		atomic_init(&c->missing, 0);
		d->ncols++;
	}
}

void maas_drift_release(struct maas_drift *d)
{
	for (size_t i = 0; i < d->ncols; i++) {
		free(d->cols[i].name);
		free(d->cols[i].q);
		free(d->cols[i].cnt);
		maas_dict_release(&d->cols[i].cats);
	}
	free(d->cols);
	memset(d, 0, sizeof *d);
}

/* A raw value as a number for a numeric column: 1 and *v, 0 missing, -1 unusable. */
static int numeric_value(const struct maas_drift_col *c, const json_t *v, double *out)
{
	const char *s;
	size_t n;
	double t;
	int has_time;

	switch (json_typeof(v)) {
	case JSON_INTEGER:
	case JSON_REAL:
		*out = json_number_value(v);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		if (c->type != MAAS_FT_BOOLEAN)
			return -1;
		*out = json_is_true(v);
		return 1;
	case JSON_STRING:
		s = json_string_value(v);
		n = json_string_length(v);
		if (c->type == MAAS_FT_BOOLEAN) {
			int b = maas_bool_token(s, n);
			if (b < 0)
				return n ? -1 : 0;
			*out = b;
			return 1;
		}
		if (c->type == MAAS_FT_DATE) {
			if (!n)
				return 0;
			if (!maas_parse_date(s, n, &t, &has_time))
				return -1;
			*out = t;
			return 1;
		}
		if (!n)
			return 0;
		if (!maas_parse_number(s, n, out))
			return -1;
		break;
	case JSON_NULL:
		return 0;
	default:
		return -1;
	}
	if (!isfinite(*out))
		return -1;
	if (c->type != MAAS_FT_DATE)
		*out = (double)(float)*out; /* tables hold float32, as training's values were */
	return 1;
}

/* The category bin of a raw value, or -1 to skip it. */
static long category_bin(const struct maas_drift_col *c, const json_t *v)
{
	char buf[40];
	const char *s;
	size_t n;
	uint32_t id;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		n = json_string_length(v);
		if (!n)
			return c->fill;
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		n = (size_t)maas_float_text((float)json_number_value(v), buf, sizeof buf);
		s = buf;
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		s = json_is_true(v) ? "true" : "false";
		n = strlen(s);
		break;
	case JSON_NULL:
		return c->fill;
	default:
		return -1;
	}
	id = c->nbins > 1 ? maas_dict_lookup(&c->cats, s, n) : 0;
	return id ? (long)id - 1 : (long)c->nbins - 1;
}

void maas_drift_observe(struct maas_drift *d, const json_t *record)
{
	if (!json_is_object(record))
		return;
	for (size_t i = 0; i < d->ncols; i++) {
		struct maas_drift_col *c = &d->cols[i];
		const json_t *v = json_object_get(record, c->name);
		if (!v)
			continue;
		if (c->categorical) {
			long b = category_bin(c, v);
			if (b >= 0)
				atomic_fetch_add_explicit(&c->cnt[b], 1, memory_order_relaxed);
		} else {
			double x;
			int got = numeric_value(c, v, &x);
			if (got > 0)
				atomic_fetch_add_explicit(&c->cnt[maas_drift_bin(c->edges, x)], 1, memory_order_relaxed);
			else if (got == 0)
				atomic_fetch_add_explicit(&c->missing, 1, memory_order_relaxed);
		}
	}
}

double maas_drift_psi(const struct maas_drift *d, size_t i, int *seen)
{
	const struct maas_drift_col *c = &d->cols[i];
	unsigned long *cnt = xcalloc(c->nbins, sizeof *cnt), total = 0;
	for (size_t k = 0; k < c->nbins; k++)
		total += cnt[k] = atomic_load_explicit(&c->cnt[k], memory_order_relaxed);
	double psi = maas_psi(cnt, c->q, c->nbins);
	free(cnt);
	*seen = total > 0;
	return psi;
}

/* ---- the ring ---- */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t id_hash(unsigned long request, uint32_t index)
{
	return mix64((uint64_t)request * 0x100000001b3ull ^ index);
}

void maas_ring_init(struct maas_ring *r, size_t cap, size_t raw_budget)
{
	memset(r, 0, sizeof *r);
	r->cap = cap ? cap : 1;
	if (r->cap > UINT32_MAX / 4)
		r->cap = UINT32_MAX / 4;
	r->ent = xcalloc(r->cap, sizeof *r->ent);
	r->nbucket = 16;
	while (r->nbucket < r->cap)
		r->nbucket *= 2;
	r->bucket = xcalloc(r->nbucket, sizeof *r->bucket);
	r->raw_budget = raw_budget;
}

void maas_ring_release(struct maas_ring *r)
{
	for (size_t i = 0; i < r->cap && r->ent; i++)
		free(r->ent[i].raw);
	free(r->ent);
	free(r->bucket);
	memset(r, 0, sizeof *r);
}

static void ring_unlink(struct maas_ring *r, size_t k)
{
	struct maas_ring_entry *x = &r->ent[k];
	uint32_t *link = &r->bucket[id_hash(x->request, x->index) & (r->nbucket - 1)];
	while (*link && *link != k + 1)
		link = &r->ent[*link - 1].next;
	if (*link)
		*link = x->next;
	free(x->raw);
	r->raw_bytes -= x->rawlen;
}

struct maas_ring_entry *maas_ring_put(struct maas_ring *r, unsigned long request, uint32_t index, int label,
				      double value, const char *raw, size_t rawlen)
{
	size_t k = r->head;
	struct maas_ring_entry *x = &r->ent[k];
	if (x->used)
		ring_unlink(r, k);
	memset(x, 0, sizeof *x);
	x->used = 1;
	x->request = request;
	x->index = index;
	x->label = label;
	x->value = value;
	x->fb_label = -1;
	if (raw && r->raw_bytes + rawlen <= r->raw_budget) {
		x->raw = xstrndup(raw, rawlen);
		x->rawlen = rawlen;
		r->raw_bytes += rawlen;
	}
	uint32_t *head = &r->bucket[id_hash(request, index) & (r->nbucket - 1)];
	x->next = *head;
	*head = (uint32_t)k + 1;
	r->head = (k + 1) % r->cap;
	return x;
}

struct maas_ring_entry *maas_ring_get(struct maas_ring *r, unsigned long request, uint32_t index)
{
	uint32_t k = r->bucket[id_hash(request, index) & (r->nbucket - 1)];
	while (k) {
		struct maas_ring_entry *x = &r->ent[k - 1];
		if (x->request == request && x->index == index)
			return x;
		k = x->next;
	}
	return NULL;
}

/* ---- the monitor ---- */

struct mon_model {
	char *name, *version, *target;
	int classification, nlabels;
	char **labels;
	int T;
	pthread_mutex_t lock;       /* ring and feedback */
	struct maas_ring ring;
	unsigned long long feedback, labelled, correct;
	double abs_err;
	atomic_ulong logged;
	struct maas_drift drift;
	struct mon_model *next;
};

struct maas_monitor {
	struct maas_monitor_opts o;
	char *path;
	pthread_rwlock_t fd_lock;
	int fd;
	uint64_t threshold;         /* sample when id_hash < threshold */
	int sample_all;
	pthread_mutex_t lock;       /* the model list */
	struct mon_model *_Atomic models;
	atomic_ulong write_errors;
};

void maas_monitor_opts_init(struct maas_monitor_opts *o)
{
	memset(o, 0, sizeof *o);
	o->sample = 1;
	o->ring = MAAS_MONITOR_RING;
	o->raw_budget = MAAS_MONITOR_RAW_BUDGET;
}

static int open_log(const char *path, struct maas_err *e)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return maas_err_sys(e, MAAS_ECANTCREAT, "cannot open '%s'", path), -1;
	return fd;
}

int maas_monitor_new(struct maas_monitor **out, const struct maas_monitor_opts *o, struct maas_err *e)
{
	struct maas_monitor *mon;
	int fd = -1;

	if (!(o->sample >= 0 && o->sample <= 1))
		return maas_err_set(e, MAAS_EUSAGE, "bad sample fraction '%g': a number from 0 to 1", o->sample);
	if (o->log_path && (fd = open_log(o->log_path, e)) < 0)
		return -1;
	mon = xcalloc(1, sizeof *mon);
	mon->o = *o;
	if (!mon->o.ring)
		mon->o.ring = MAAS_MONITOR_RING;
	mon->path = o->log_path ? xstrdup(o->log_path) : NULL;
	mon->o.log_path = mon->path;
	mon->fd = fd;
	mon->sample_all = o->sample >= 1;
	mon->threshold = mon->sample_all ? UINT64_MAX : (uint64_t)(o->sample * 18446744073709551616.0);
	pthread_rwlock_init(&mon->fd_lock, NULL);
	pthread_mutex_init(&mon->lock, NULL);
	atomic_init(&mon->models, NULL);
	atomic_init(&mon->write_errors, 0);
	*out = mon;
	return 0;
}

static void model_free(struct mon_model *mm)
{
	free(mm->name);
	free(mm->version);
	free(mm->target);
	for (int i = 0; i < mm->nlabels; i++)
		free(mm->labels[i]);
	free(mm->labels);
	maas_ring_release(&mm->ring);
	maas_drift_release(&mm->drift);
	pthread_mutex_destroy(&mm->lock);
	free(mm);
}

void maas_monitor_free(struct maas_monitor *mon)
{
	if (!mon)
		return;
	struct mon_model *mm = atomic_load(&mon->models);
	while (mm) {
		struct mon_model *next = mm->next;
		model_free(mm);
		mm = next;
	}
	if (mon->fd >= 0)
		close(mon->fd);
	free(mon->path);
	pthread_rwlock_destroy(&mon->fd_lock);
	pthread_mutex_destroy(&mon->lock);
	free(mon);
}

int maas_monitor_reopen(struct maas_monitor *mon, struct maas_err *e)
{
	int fd, old;
	if (!mon->path)
		return 0;
	if ((fd = open_log(mon->path, e)) < 0)
		return -1;
	pthread_rwlock_wrlock(&mon->fd_lock);
	old = mon->fd;
	mon->fd = fd;
	pthread_rwlock_unlock(&mon->fd_lock);
	if (old >= 0)
		close(old);
	return 0;
}

static struct mon_model *find_model(struct maas_monitor *mon, const char *name, const char *version)
{
	for (struct mon_model *mm = atomic_load(&mon->models); mm; mm = mm->next)
		if (!strcmp(mm->name, name) && !strcmp(mm->version, version))
			return mm;
	return NULL;
}

/* The model's state, created on first use.  The list only grows, so
 * readers walk it without the lock. */
static struct mon_model *model_of(struct maas_monitor *mon, const struct maas_served *m)
{
	struct mon_model *mm = find_model(mon, m->name, m->version);
	if (mm)
		return mm;
	pthread_mutex_lock(&mon->lock);
	if (!(mm = find_model(mon, m->name, m->version))) {
		mm = xcalloc(1, sizeof *mm);
		mm->name = xstrdup(m->name);
		mm->version = xstrdup(m->version);
		mm->target = xstrdup(m->spec.target ? m->spec.target : "label");
		mm->classification = m->classification;
		mm->T = m->T;
		if (m->classification && m->nlabels > 0) {
			mm->nlabels = m->nlabels;
			mm->labels = xcalloc((size_t)m->nlabels, sizeof *mm->labels);
			for (int i = 0; i < m->nlabels; i++)
				mm->labels[i] = xstrdup(m->labels[i]);
		}
		pthread_mutex_init(&mm->lock, NULL);
		maas_ring_init(&mm->ring, mon->o.ring, mon->o.raw_budget);
		maas_drift_init(&mm->drift, &m->spec);
		atomic_init(&mm->logged, 0);
		mm->next = atomic_load(&mon->models);
		atomic_store(&mon->models, mm);
	}
	pthread_mutex_unlock(&mon->lock);
	return mm;
}

/* ---- the log ---- */

static const char *const meta_keys[] = {"time", "id", "model", "version", "prediction", "probability", "feedback"};

static int is_meta(const char *k)
{
	for (size_t i = 0; i < sizeof meta_keys / sizeof *meta_keys; i++)
		if (!strcmp(k, meta_keys[i]))
			return 1;
	return 0;
}

static void add_json(struct maas_buf *b, const json_t *v)
{
	if (json_is_real(v) && isfinite(json_real_value(v))) { /* the shortest text that reads back the same */
		double d = json_real_value(v);
		char num[40];
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(num, sizeof num, "%.*g", prec, d);
			if (strtod(num, NULL) == d)
				break;
		}
		maas_buf_addstr(b, num);
		if (!strpbrk(num, ".eEn"))
			maas_buf_addstr(b, ".0"); /* stays a real */
		return;
	}
	char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
	maas_buf_addstr(b, t ? t : "null");
	free(t);
}

/* ,"key":value for every field of the instance but the keys above and
 * skip (the target: a labelled row writes its own); windows under "window" */
static void add_fields(struct maas_buf *b, const json_t *inst, const char *skip)
{
	const char *k;
	const json_t *v;
	if (!json_is_object(inst)) {
		maas_buf_addstr(b, ",\"window\":");
		add_json(b, inst);
		return;
	}
	json_object_foreach((json_t *)inst, k, v) {
		if (is_meta(k) || (skip && !strcmp(k, skip)))
			continue;
		maas_buf_addstr(b, ",");
		maas_buf_add_json_string(b, k);
		maas_buf_addstr(b, ":");
		add_json(b, v);
	}
}

static void add_head(struct maas_buf *b, const struct mon_model *mm, unsigned long request, uint32_t index)
{
	char when[40];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	maas_buf_addf(b, "{\"time\":\"%s.%06ldZ\",\"id\":\"%lu/%u\",\"model\":", when, ts.tv_nsec / 1000, request,
		      (unsigned)index);
	maas_buf_add_json_string(b, mm->name);
	maas_buf_addstr(b, ",\"version\":");
	maas_buf_add_json_string(b, mm->version);
}

static void write_line(struct maas_monitor *mon, struct maas_buf *b)
{
	ssize_t w;
	pthread_rwlock_rdlock(&mon->fd_lock);
	do
		w = write(mon->fd, b->data, b->len);
	while (w < 0 && errno == EINTR);
	pthread_rwlock_unlock(&mon->fd_lock);
	if (w != (ssize_t)b->len)
		atomic_fetch_add(&mon->write_errors, 1);
}

static void add_prediction(struct maas_buf *b, const struct mon_model *mm, const struct maas_prediction *p,
			   const float *probs)
{
	maas_buf_addstr(b, ",\"prediction\":");
	if (mm->classification && p->label >= 0 && p->label < mm->nlabels)
		maas_buf_add_json_string(b, mm->labels[p->label]);
	else if (mm->classification)
		maas_buf_add_int(b, p->label);
	else
		maas_buf_add_g9(b, p->value);
	if (mm->classification) {
		maas_buf_addstr(b, ",\"probability\":");
		maas_buf_add_g9(b, probs && p->label >= 0 ? (double)probs[p->label] : p->value);
	}
}

/* Whether instance idx of request is logged (a hash of the id). */
static int sampled(const struct maas_monitor *mon, unsigned long request, uint32_t idx)
{
	return mon->path && (mon->sample_all || id_hash(request, idx) < mon->threshold);
}

/* Remembers one prediction for feedback and, when fields is not NULL (it
 * is sampled), writes its log line: the head, the fields, the target as
 * sent (or NULL) and the prediction.  Under mm->lock; line is scratch. */
static void note(struct maas_monitor *mon, struct mon_model *mm, unsigned long request, uint32_t idx,
		 const struct maas_buf *fields, const json_t *target, const struct maas_prediction *p, const float *pr,
		 struct maas_buf *line)
{
	maas_ring_put(&mm->ring, request, idx, mm->classification ? p->label : -1, p->value,
		      fields ? fields->data : NULL, fields ? fields->len : 0);
	if (!fields)
		return;
	line->len = 0;
	add_head(line, mm, request, idx);
	maas_buf_add(line, fields->data, fields->len);
	if (target && !is_meta(mm->target)) {
		maas_buf_addstr(line, ",");
		maas_buf_add_json_string(line, mm->target);
		maas_buf_addstr(line, ":");
		add_json(line, target);
	}
	add_prediction(line, mm, p, pr);
	maas_buf_addstr(line, "}\n");
	write_line(mon, line);
	atomic_fetch_add(&mm->logged, 1);
}

void maas_monitor_records(struct maas_monitor *mon, const struct maas_served *m, unsigned long request,
			  const json_t *instances, const struct maas_prediction *p, const float *probs)
{
	struct mon_model *mm;
	struct maas_buf line, fields;
	size_t n = json_array_size(instances), K = (size_t)(m->classification ? m->nlabels : 0);

	if (!mon || !n)
		return;
	mm = model_of(mon, m);
	for (size_t i = 0; i < n; i++) {
		const json_t *inst = json_array_get(instances, i), *rec;
		size_t t;
		if (json_is_array(inst))
			json_array_foreach(inst, t, rec)
				maas_drift_observe(&mm->drift, rec);
		else
			maas_drift_observe(&mm->drift, inst);
	}
	maas_buf_init(&line);
	maas_buf_init(&fields);
	pthread_mutex_lock(&mm->lock);
	for (size_t i = 0; i < n; i++) {
		const json_t *inst = json_array_get(instances, i);
		int logged = sampled(mon, request, (uint32_t)i);
		fields.len = 0;
		if (logged)
			add_fields(&fields, inst, mm->target);
		note(mon, mm, request, (uint32_t)i, logged ? &fields : NULL,
		     json_is_object(inst) ? json_object_get(inst, mm->target) : NULL, &p[i], probs ? probs + i * K : NULL,
		     &line);
	}
	pthread_mutex_unlock(&mm->lock);
	maas_buf_release(&line);
	maas_buf_release(&fields);
}

/* The features of one row (T steps of F) as fields x0, x1, ... (not the
 * raw fields' names: these are scaled and encoded), or for windows as
 * "window": an array of steps. */
static void add_features(struct maas_buf *b, const struct maas_served *m, const float *x)
{
	size_t F = (size_t)m->features;
	if (m->T) {
		maas_buf_addstr(b, ",\"window\":[");
		for (size_t t = 0; t < (size_t)m->T; t++) {
			maas_buf_addstr(b, t ? ",[" : "[");
			for (size_t f = 0; f < F; f++) {
				if (f)
					maas_buf_addstr(b, ",");
				maas_buf_add_g9(b, x[t * F + f]);
			}
			maas_buf_addstr(b, "]");
		}
		maas_buf_addstr(b, "]");
		return;
	}
	for (size_t f = 0; f < F; f++) {
		maas_buf_addstr(b, ",\"x");
		maas_buf_add_int(b, (long long)f);
		maas_buf_addstr(b, "\":");
		maas_buf_add_g9(b, x[f]);
	}
}

void maas_monitor_tensor(struct maas_monitor *mon, const struct maas_served *m, unsigned long request,
			 const float *x, size_t n, const struct maas_prediction *p, const float *probs)
{
	struct mon_model *mm;
	struct maas_buf line, fields;
	size_t K = (size_t)(m->classification ? m->nlabels : 0), row = (size_t)(m->T ? m->T : 1) * (size_t)m->features;

	if (!mon || !n)
		return;
	mm = model_of(mon, m);
	maas_buf_init(&line);
	maas_buf_init(&fields);
	pthread_mutex_lock(&mm->lock);
	for (size_t i = 0; i < n; i++) {
		int logged = sampled(mon, request, (uint32_t)i);
		fields.len = 0;
		if (logged)
			add_features(&fields, m, x + i * row);
		note(mon, mm, request, (uint32_t)i, logged ? &fields : NULL, NULL, &p[i], probs ? probs + i * K : NULL,
		     &line);
	}
	pthread_mutex_unlock(&mm->lock);
	maas_buf_release(&line);
	maas_buf_release(&fields);
}

/* ---- feedback ---- */

struct fb_item {
	struct maas_ring_entry *x;
	int label;
	double value;
	const json_t *raw_label;
	unsigned long request;
	uint32_t index;
};

static int parse_id(const char *s, unsigned long *request, uint32_t *index)
{
	char *end;
	unsigned long long r, k;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	r = strtoull(s, &end, 10);
	if (errno || *end != '/' || end[1] < '0' || end[1] > '9')
		return -1;
	k = strtoull(end + 1, &end, 10);
	if (errno || *end || k > UINT32_MAX || r > (unsigned long long)(unsigned long)-1)
		return -1;
	*request = (unsigned long)r;
	*index = (uint32_t)k;
	return 0;
}

static int check_item(const struct mon_model *mm, const json_t *it, size_t i, size_t n, struct fb_item *f,
		      struct maas_err *e)
{
	char where[40] = "";
	const json_t *id, *label;
	if (n > 1 || json_is_array(it))
		snprintf(where, sizeof where, "item %zu: ", i + 1);
	if (!json_is_object(it))
		return maas_err_set(e, MAAS_EDATA, "%sfeedback must be {\"id\": \"...\", \"label\": ...}", where);
	id = json_object_get(it, "id");
	label = json_object_get(it, "label");
	if (!json_is_string(id) || parse_id(json_string_value(id), &f->request, &f->index))
		return maas_err_set(e, MAAS_EDATA, "%s'id' must be a prediction id like \"17/0\" (X-Request-Id/instance)",
				    where);
	if (!label || json_is_null(label))
		return maas_err_set(e, MAAS_EDATA, "%s'label' is missing", where);
	f->raw_label = label;
	f->label = -1;
	f->value = 0;
	if (mm->classification) {
		char buf[64];
		const char *s = NULL;
		if (json_is_string(label))
			s = json_string_value(label);
		else if (json_is_integer(label)) {
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(label));
			s = buf;
		} else if (json_is_boolean(label))
			s = json_is_true(label) ? "true" : "false";
		for (int k = 0; s && k < mm->nlabels; k++)
			if (!strcmp(mm->labels[k], s))
				f->label = k;
		if (f->label < 0) {
			char *t = json_dumps(label, JSON_ENCODE_ANY | JSON_COMPACT);
			maas_err_set(e, MAAS_EDATA, "%slabel %.200s is not one of model '%s''s classes", where,
				     t ? t : "?", mm->name);
			free(t);
			return -1;
		}
	} else {
		if (!json_is_number(label) || !isfinite(json_number_value(label)))
			return maas_err_set(e, MAAS_EDATA, "%s'label' must be a number (the model is a regression)", where);
		f->value = json_number_value(label);
	}
	return 0;
}

static void feedback_line(struct maas_monitor *mon, const struct mon_model *mm, const struct fb_item *f)
{
	struct maas_buf b;
	const struct maas_ring_entry *x = f->x;
	struct maas_prediction p = {x->label, x->value};

	maas_buf_init(&b);
	add_head(&b, mm, f->request, f->index);
	if (x->raw)
		maas_buf_add(&b, x->raw, x->rawlen);
	if (!is_meta(mm->target)) {
		maas_buf_addstr(&b, ",");
		maas_buf_add_json_string(&b, mm->target);
		maas_buf_addstr(&b, ":");
		add_json(&b, f->raw_label);
	}
	add_prediction(&b, mm, &p, NULL);
	maas_buf_addstr(&b, ",\"feedback\":true}\n");
	write_line(mon, &b);
	maas_buf_release(&b);
}

static json_t *feedback_summary(const struct mon_model *mm, size_t accepted)
{
	json_t *o = json_pack("{s:I,s:I}", "accepted", (json_int_t)accepted, "feedback_total", (json_int_t)mm->feedback);
	if (mm->labelled)
		json_object_set_new(o, mm->classification ? "accuracy" : "mae",
				    json_real(mm->classification ? (double)mm->correct / (double)mm->labelled
						  : mm->abs_err / (double)mm->labelled));
	return o;
}

int maas_monitor_feedback(struct maas_monitor *mon, const struct maas_served *m, const json_t *body,
			  json_t **answer, struct maas_err *e)
{
	struct mon_model *mm = model_of(mon, m);
	size_t n = json_is_array(body) ? json_array_size(body) : 1, i;
	struct fb_item *f;
	int rc = 0;

	if (json_is_array(body) && !n)
		return maas_err_set(e, MAAS_EDATA, "the feedback list is empty");
	if (n > MAAS_MONITOR_MAX_FEEDBACK)
		return maas_err_set(e, MAAS_EDATA, "%zu feedback items exceed the limit of %d per request", n,
				    MAAS_MONITOR_MAX_FEEDBACK);
	f = xcalloc(n, sizeof *f);
	for (i = 0; i < n && !rc; i++)
		rc = check_item(mm, json_is_array(body) ? json_array_get(body, i) : body, i, n, &f[i], e);
	if (rc) {
		free(f);
		return -1;
	}
	pthread_mutex_lock(&mm->lock);
	for (i = 0; i < n && !rc; i++)
		if (!(f[i].x = maas_ring_get(&mm->ring, f[i].request, f[i].index)))
			rc = maas_err_set(e, MAAS_ENOINPUT, "no prediction '%lu/%u' of model '%s' version %s is "
					  "remembered (unknown, or older than the last %zu)", f[i].request, (unsigned)f[i].index, mm->name, mm->version, mm->ring.cap);
	for (i = 0; i < n && !rc; i++) {
		struct maas_ring_entry *x = f[i].x;
		if (x->has_feedback) { /* a correction: take the earlier one back */
			mm->labelled--;
			if (mm->classification)
				mm->correct -= x->fb_label == x->label;
			else
				mm->abs_err -= fabs(x->fb_value - x->value);
		}
		x->has_feedback = 1;
		x->fb_label = f[i].label;
		x->fb_value = f[i].value;
		mm->labelled++;
		mm->feedback++;
		if (mm->classification)
			mm->correct += f[i].label == x->label;
		else
			mm->abs_err += fabs(f[i].value - x->value);
		if (mon->path)
			feedback_line(mon, mm, &f[i]);
	}
	if (!rc)
		*answer = feedback_summary(mm, n);
	pthread_mutex_unlock(&mm->lock);
	free(f);
	return rc;
}

/* ---- metrics ---- */

static void series(struct maas_buf *b, const char *metric, const struct mon_model *mm, const char *feature)
{
	maas_buf_addf(b, "%s{", metric);
	maas_prom_label(b, "model", mm->name, 1);
	maas_prom_label(b, "version", mm->version, 0);
	if (feature)
		maas_prom_label(b, "feature", feature, 0);
	maas_buf_addstr(b, "} ");
}

void maas_monitor_render(struct maas_monitor *mon, struct maas_buf *b)
{
	struct mon_model *models = atomic_load(&mon->models), *mm;

	maas_prom_header(b, "maas_predictions_logged_total", "counter", "Instances written to the prediction log.");
	for (mm = models; mm; mm = mm->next) {
		series(b, "maas_predictions_logged_total", mm, NULL);
		maas_buf_addf(b, "%lu\n", (unsigned long)atomic_load(&mm->logged));
	}
	maas_prom_header(b, "maas_feedback_total", "counter", "Feedback received: real outcomes joined to predictions.");
	for (mm = models; mm; mm = mm->next) {
		pthread_mutex_lock(&mm->lock);
		series(b, "maas_feedback_total", mm, NULL);
		maas_buf_addf(b, "%llu\n", mm->feedback);
		pthread_mutex_unlock(&mm->lock);
	}
	maas_prom_header(b, "maas_live_accuracy", "gauge", "Accuracy of the predictions that received feedback.");
	for (mm = models; mm; mm = mm->next) {
		pthread_mutex_lock(&mm->lock);
		if (mm->classification && mm->labelled) {
			series(b, "maas_live_accuracy", mm, NULL);
			maas_buf_addf(b, "%.9g\n", (double)mm->correct / (double)mm->labelled);
		}
		pthread_mutex_unlock(&mm->lock);
	}
	maas_prom_header(b, "maas_live_mae", "gauge", "Mean absolute error of the predictions that received feedback.");
	for (mm = models; mm; mm = mm->next) {
		pthread_mutex_lock(&mm->lock);
		if (!mm->classification && mm->labelled) {
			series(b, "maas_live_mae", mm, NULL);
			maas_buf_addf(b, "%.9g\n", mm->abs_err / (double)mm->labelled);
		}
		pthread_mutex_unlock(&mm->lock);
	}
	maas_prom_header(b, "maas_feature_psi", "gauge",
	       "Population stability index of a raw input column, served against training.");
	size_t nm = 0;
	for (mm = models; mm; mm = mm->next)
		nm++;
	double *max = xcalloc(nm ? nm : 1, sizeof *max);
	int *any = xcalloc(nm ? nm : 1, sizeof *any);
	size_t k = 0;
	for (mm = models; mm; mm = mm->next, k++)
		for (size_t i = 0; i < mm->drift.ncols; i++) {
			int seen;
			double psi = maas_drift_psi(&mm->drift, i, &seen);
			if (!seen)
				continue;
			series(b, "maas_feature_psi", mm, mm->drift.cols[i].name);
			maas_buf_addf(b, "%.9g\n", psi);
			if (!any[k] || psi > max[k])
				max[k] = psi;
			any[k] = 1;
		}
	maas_prom_header(b, "maas_drift_psi_max", "gauge", "The largest population stability index of a model's input columns.");
	k = 0;
	for (mm = models; mm; mm = mm->next, k++)
		if (any[k]) {
			series(b, "maas_drift_psi_max", mm, NULL);
			maas_buf_addf(b, "%.9g\n", max[k]);
		}
	free(max);
	free(any);
}
