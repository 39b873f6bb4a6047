/*
 * registry.c - reference-counted models behind maas-serve, swapped in
 * place by reloads while requests run on them (see registry.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "serve/batcher.h"
#include "serve/registry.h"

struct maas_reg_ctx {
	struct maas_predict_ctx c; /* first: a context's address is its node's */
	struct maas_reg_ctx *next;
};

void maas_registry_init(struct maas_registry *r, int max_batch, struct maas_serve_metrics *metrics)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->load_lock, NULL);
	r->max_batch = max_batch >= 1 ? max_batch : 64;
	r->metrics = metrics;
}

/* A new entry holding m's contents (m is zeroed), with one reference. */
static struct maas_reg_entry *entry_new(struct maas_served *m, int max_batch)
{
	struct maas_reg_entry *en = xcalloc(1, sizeof *en);
	const char *in;

	en->m = *m;
	memset(m, 0, sizeof *m);
	in = json_string_value(json_object_get(json_object_get(json_object_get(en->m.manifest, "inputs"), "tensor"),
					       "name"));
	en->input_name = in ? in : "input";
	en->K = en->m.classification ? en->m.nlabels : 0;
	en->max_batch = max_batch;
	atomic_init(&en->batch_gain_s, -1.0);
	atomic_init(&en->refs, 1);
	pthread_mutex_init(&en->lock, NULL);
	return en;
}

/* Measures en's batching gain (batcher.h) if it has none yet. */
static void probe(struct maas_reg_entry *en)
{
	struct maas_predict_ctx c;

	if (atomic_load(&en->batch_gain_s) >= 0)
		return;
	maas_predict_ctx_init(&c, &en->m, MAAS_BATCHER_PROBE);
	atomic_store(&en->batch_gain_s, maas_batcher_gain(&en->m, &c));
	maas_predict_ctx_release(&c);
}

static void entry_free(struct maas_reg_entry *en)
{
	while (en->free) {
		struct maas_reg_ctx *n = en->free;
		en->free = n->next;
		maas_predict_ctx_release(&n->c);
		free(n);
	}
	pthread_mutex_destroy(&en->lock);
	maas_served_release(&en->m);
	free(en);
}

void maas_reg_entry_put(struct maas_reg_entry *en)
{
	if (en && atomic_fetch_sub(&en->refs, 1) == 1)
		entry_free(en);
}

void maas_registry_release(struct maas_registry *r)
{
	for (size_t i = 0; i < r->n; i++) {
		maas_reg_entry_put(r->rows[i].cur);
		free(r->rows[i].name);
		free(r->rows[i].version);
		free(r->rows[i].path);
		free(r->rows[i].reason);
	}
	free(r->rows);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->load_lock);
	memset(r, 0, sizeof *r);
}

static void count_load(struct maas_registry *r, const char *name, const char *version, int ok, double seconds)
{
	if (r->metrics)
		maas_serve_metrics_model_load_result(r->metrics, name, version, ok, seconds);
}

void maas_registry_add(struct maas_registry *r, struct maas_served *m)
{
	struct maas_reg_row *row;

	pthread_mutex_lock(&r->lock);
	xgrow(&r->rows, &r->cap, r->n + 1, sizeof *r->rows);
	row = &r->rows[r->n];
	memset(row, 0, sizeof *row);
	row->name = xstrdup(m->name);
	row->version = xstrdup(m->version);
	row->path = xstrdup(m->path);
	row->cur = entry_new(m, r->max_batch);
	r->n++;
	pthread_mutex_unlock(&r->lock);
	count_load(r, row->name, row->version, 1, row->cur->m.load_seconds);
}

struct maas_reg_entry *maas_registry_entry(struct maas_registry *r, size_t i)
{
	struct maas_reg_entry *en;
	pthread_mutex_lock(&r->lock);
	en = i < r->n ? r->rows[i].cur : NULL;
	if (en)
		atomic_fetch_add(&en->refs, 1);
	pthread_mutex_unlock(&r->lock);
	return en;
}

void maas_registry_probe(struct maas_registry *r)
{
	pthread_mutex_lock(&r->load_lock); /* no reload swaps an entry meanwhile */
	for (size_t i = 0; i < r->n; i++) {
		struct maas_reg_entry *en = maas_registry_entry(r, i);
		if (en)
			probe(en);
		maas_reg_entry_put(en);
	}
	pthread_mutex_unlock(&r->load_lock);
}

static int version_cmp(const char *a, const char *b)
{
	char *ea, *eb;
	long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
	if (*a && *b && !*ea && !*eb)
		return (x > y) - (x < y);
	return strcmp(a, b);
}

int maas_registry_get(struct maas_registry *r, const char *name, const char *version, struct maas_reg_entry **out)
{
	struct maas_reg_row *best = NULL;
	int named = 0, rc;

	*out = NULL;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++) {
		struct maas_reg_row *row = &r->rows[i];
		if (strcmp(row->name, name))
			continue;
		if (version) {
			if (!strcmp(row->version, version)) {
				best = row;
				named = 2;
				break;
			}
			named = named ? named : 1;
		} else {
			named = 2;
			if (row->cur && (!best || version_cmp(row->version, best->version) > 0))
				best = row;
		}
	}
	if (best && best->cur) {
		atomic_fetch_add(&best->cur->refs, 1);
		*out = best->cur;
		rc = MAAS_REG_OK;
	} else
		rc = !named ? MAAS_REG_NO_MODEL : named == 1 ? MAAS_REG_NO_VERSION : MAAS_REG_UNLOADED;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

struct maas_predict_ctx *maas_reg_ctx_take(struct maas_reg_entry *en)
{
	struct maas_reg_ctx *n;

	pthread_mutex_lock(&en->lock);
	n = en->free;
	if (n)
		en->free = n->next;
	pthread_mutex_unlock(&en->lock);
	if (!n) {
		n = xcalloc(1, sizeof *n);
		maas_predict_ctx_init(&n->c, &en->m, en->max_batch);
	}
	return &n->c;
}

void maas_reg_ctx_give(struct maas_reg_entry *en, struct maas_predict_ctx *c)
{
	struct maas_reg_ctx *n = (struct maas_reg_ctx *)c;

	pthread_mutex_lock(&en->lock);
	n->next = en->free;
	en->free = n;
	pthread_mutex_unlock(&en->lock);
}

/* The row's reason, under the table's lock (index reads it). */
static void set_reason(struct maas_registry *r, size_t i, const char *why)
{
	pthread_mutex_lock(&r->lock);
	free(r->rows[i].reason);
	r->rows[i].reason = why ? xstrdup(why) : NULL;
	pthread_mutex_unlock(&r->lock);
}

/* Loads row i beside its current entry and swaps it in.  Called under
 * load_lock.  Rows are added only before serving starts, so the row's
 * address and strings are stable here. */
static int reload_row(struct maas_registry *r, size_t i, struct maas_err *e)
{
	struct maas_reg_row *row = &r->rows[i];
	struct maas_served m;
	struct maas_reg_entry *en, *old;

	if (maas_served_load(&m, row->path, row->version, e)) {
		maas_err_prefix(e, "cannot load model '%s' version %s from '%s'", row->name, row->version, row->path);
		set_reason(r, i, e->msg);
		count_load(r, row->name, row->version, 0, 0);
		return -1;
	}
	free(m.name); /* served under the row's name (NAME=BUNDLE may rename it) */
	m.name = xstrdup(row->name);
	en = entry_new(&m, r->max_batch);
	probe(en);
	pthread_mutex_lock(&r->lock);
	old = row->cur;
	row->cur = en;
	free(row->reason);
	row->reason = NULL;
	pthread_mutex_unlock(&r->lock);
	maas_reg_entry_put(old);
	count_load(r, row->name, row->version, 1, en->m.load_seconds);
	return 0;
}

static int unknown(const char *name, struct maas_err *e)
{
	return maas_err_set(e, MAAS_EUSAGE, "model '%s' is not in the repository", name);
}

int maas_registry_load(struct maas_registry *r, const char *name, struct maas_err *e)
{
	int found = 0, rc = 0;

	pthread_mutex_lock(&r->load_lock);
	for (size_t i = 0; i < r->n && !rc; i++)
		if (!strcmp(r->rows[i].name, name)) {
			found = 1;
			rc = reload_row(r, i, e);
		}
	pthread_mutex_unlock(&r->load_lock);
	return found || rc ? rc : unknown(name, e);
}

int maas_registry_unload(struct maas_registry *r, const char *name, struct maas_err *e)
{
	int found = 0;

	pthread_mutex_lock(&r->load_lock);
	for (size_t i = 0; i < r->n; i++) {
		struct maas_reg_row *row = &r->rows[i];
		struct maas_reg_entry *old;
		if (strcmp(row->name, name))
			continue;
		found = 1;
		pthread_mutex_lock(&r->lock);
		old = row->cur;
		row->cur = NULL;
		free(row->reason);
		row->reason = xstrdup("unloaded");
		pthread_mutex_unlock(&r->lock);
		maas_reg_entry_put(old);
	}
	pthread_mutex_unlock(&r->load_lock);
	return found ? 0 : unknown(name, e);
}

int maas_registry_reload_all(struct maas_registry *r, void (*report)(const struct maas_err *e, void *arg), void *arg)
{
	int failed = 0;
	struct maas_err e;

	pthread_mutex_lock(&r->load_lock);
	for (size_t i = 0; i < r->n; i++) {
		pthread_mutex_lock(&r->lock);
		int loaded = r->rows[i].cur != NULL;
		pthread_mutex_unlock(&r->lock);
		if (loaded && reload_row(r, i, &e)) {
			failed++;
			if (report)
				report(&e, arg);
		}
	}
	pthread_mutex_unlock(&r->load_lock);
	return failed;
}

json_t *maas_registry_index(struct maas_registry *r)
{
	json_t *a = json_array();

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++) {
		const struct maas_reg_row *row = &r->rows[i];
		json_t *o = json_pack("{s:s,s:s,s:s}", "name", row->name, "version", row->version, "state",
				      row->cur ? "READY" : "UNAVAILABLE");
		if (row->reason)
			json_object_set_new(o, "reason", json_string(row->reason));
		json_array_append_new(a, o);
	}
	pthread_mutex_unlock(&r->lock);
	return a;
}

json_t *maas_registry_versions(struct maas_registry *r, const char *name)
{
	json_t *a = json_array();

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++)
		if (r->rows[i].cur && !strcmp(r->rows[i].name, name))
			json_array_append_new(a, json_string(r->rows[i].version));
	pthread_mutex_unlock(&r->lock);
	return a;
}
