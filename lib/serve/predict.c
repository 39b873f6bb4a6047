/*
 * predict.c - loading a bundle for serving, and predictions from records
 * or tensors (the contract is in predict.h).
 *
 * The load reads MODEL.json for the shapes, prep.json for the spec and
 * weights.safetensors for the parameters, then replays examples.jsonl
 * through the very functions a request goes through
 * (maas_predict_features, maas_predict_tensor), so a bundle that loads is
 * a bundle whose serving path reproduces training's answers.
 *
 * Records become table rows (one per record, T per windowed instance) in
 * the context's table, which is emptied before each batch; the table's
 * columns are the spec's input columns in spec order, created once, so a
 * record's field finds its spec column through the table's hash.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle/bundle.h"
#include "core/mem.h"
#include "data/safetensors.h"
#include "serve/predict.h"

#define PREP_LIMIT ((size_t)64 << 20)
#define EXAMPLES_LIMIT ((size_t)64 << 20)
#define MAX_SELFTEST 1024
#define SELFTEST_TOL 1e-4

/* Floats of one instance's features. */
static size_t row_len(const struct maas_served *m)
{
	return (size_t)(m->T ? m->T : 1) * (size_t)m->features;
}

/* ---- MODEL.json ---- */

static int shape_of(const json_t *shape, int *dims, int max)
{
	if (!json_is_array(shape) || json_array_size(shape) < 2 || json_array_size(shape) > (size_t)max)
		return -1;
	for (size_t i = 0; i < json_array_size(shape); i++) {
		const json_t *v = json_array_get(shape, i);
		if (!json_is_integer(v))
			return -1;
		json_int_t d = json_integer_value(v);
		if (i == 0 ? d != -1 : d < 1 || d > MAAS_MODEL_MAX_IN)
			return -1;
		dims[i] = (int)d;
	}
	return (int)json_array_size(shape);
}

static int read_manifest(struct maas_served *m, const char *bname, struct maas_err *e)
{
	const json_t *j = m->manifest, *arch = json_object_get(json_object_get(j, "architecture"), "arch");
	const json_t *in = json_object_get(json_object_get(j, "inputs"), "tensor");
	const json_t *out = json_object_get(j, "outputs");
	const char *task = json_string_value(json_object_get(j, "task"));
	const char *name = json_string_value(json_object_get(j, "name"));
	int dims[3], nd;

	m->name = xstrdup(name ? name : "model");
	if (!json_is_string(arch))
		return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': MODEL.json has no architecture.arch", bname);
	if (!task || (strcmp(task, "classification") && strcmp(task, "regression")))
		return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': MODEL.json's task is not classification or "
				    "regression", bname);
	m->classification = !strcmp(task, "classification");
	nd = shape_of(json_object_get(in, "shape"), dims, 3);
	if (nd < 0)
		return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': MODEL.json's inputs.tensor.shape is not "
				    "[-1, features] or [-1, T, features]", bname);
	m->T = nd == 3 ? dims[1] : 0;
	m->features = dims[nd - 1];
	if (m->T > MAAS_MODEL_MAX_T)
		return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': window of %d steps exceeds the limit of %d",
				    bname, m->T, MAAS_MODEL_MAX_T);
	if (shape_of(json_object_get(json_object_get(out, "tensor"), "shape"), dims, 2) != 2 ||
	    dims[1] > MAAS_MODEL_MAX_OUT)
		return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': MODEL.json's outputs.tensor.shape is not "
				    "[-1, outputs]", bname);
	m->out_dim = dims[1];
	const char *act = json_string_value(json_object_get(out, "activation"));
	if (!m->classification) {
		const json_t *ts = json_object_get(out, "target_scale");
		const json_t *mean = json_object_get(ts, "mean"), *std = json_object_get(ts, "std");
		if (m->out_dim != 1 || !json_is_number(mean) || !json_is_number(std) ||
		    !isfinite(json_number_value(mean)) || !isfinite(json_number_value(std)))
			return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': a regression model needs one output and "
					    "outputs.target_scale {\"mean\", \"std\"}", bname);
		m->y_mean = json_number_value(mean);
		m->y_std = json_number_value(std);
		return 0;
	}
	if (!act || (strcmp(act, "softmax") && strcmp(act, "sigmoid")))
		return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': outputs.activation of a classifier is not "
				    "softmax or sigmoid", bname);
	m->sigmoid = !strcmp(act, "sigmoid");
	if (m->sigmoid && m->out_dim != 1)
		return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': a sigmoid output has one logit, not %d", bname,
				    m->out_dim);
	m->nlabels = m->sigmoid ? 2 : m->out_dim;
	const json_t *labels = json_object_get(out, "labels");
	if (!json_is_array(labels) || json_array_size(labels) != (size_t)m->nlabels)
		return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': outputs.labels is not an array of %d labels",
				    bname, m->nlabels);
	m->labels = xcalloc((size_t)m->nlabels, sizeof *m->labels);
	for (int k = 0; k < m->nlabels; k++) {
		const char *l = json_string_value(json_array_get(labels, (size_t)k));
		if (!l)
			return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': outputs.labels[%d] is not a string", bname, k);
		m->labels[k] = xstrdup(l);
	}
	return 0;
}

static int read_spec(struct maas_served *m, const struct maas_bundle *b, const char *bname, struct maas_err *e)
{
	struct maas_buf buf;
	json_error_t je;
	int r = -1;

	maas_buf_init(&buf);
	if (maas_bundle_read(b, "prep.json", &buf, PREP_LIMIT, e) < 0)
		goto out;
	json_t *j = json_loadb(buf.data ? buf.data : "", buf.len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		maas_err_set(e, MAAS_ECONFIG, "bundle '%s': prep.json line %d: %s", bname, je.line, je.text);
		goto out;
	}
	r = maas_spec_from_json(j, &m->spec, e);
	json_decref(j);
	if (r < 0) {
		maas_err_prefix(e, "bundle '%s': prep.json", bname);
		goto out;
	}
	r = -1;
	size_t T = m->spec.window;
	if (m->spec.nfeatures != (size_t)m->features || T != (size_t)m->T)
		maas_err_set(e, MAAS_ECONFIG, "bundle '%s': prep.json gives %zu features%s%zu, MODEL.json's input "
			     "is %d features%s%d", bname, m->spec.nfeatures, " and a window of ", T, m->features,
			     " and a window of ", m->T);
	else if ((m->spec.task == MAAS_TASK_CLASSIFICATION) != m->classification)
		maas_err_set(e, MAAS_ECONFIG, "bundle '%s': prep.json's task is %s but MODEL.json's is not", bname,
			     maas_task_name(m->spec.task));
	else
		r = 0;
out:
	maas_buf_release(&buf);
	return r;
}

/* ---- weights ---- */

static void shape_text(int ndim, const int64_t *shape, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "[");
	for (int d = 0; d < ndim && off < len; d++)
		off += (size_t)snprintf(buf + off, len - off, "%s%lld", d ? ", " : "", (long long)shape[d]);
	if (off < len)
		snprintf(buf + off, len - off, "]");
}

/* Maps weights.safetensors and points each of the model's tensors into
 * the map (found by name, checked by dtype and shape); nothing is copied
 * unless the safetensors reader had to (maas_st_copied). */
static int map_weights(struct maas_served *m, const struct maas_bundle *b, const char *bname, struct maas_err *e)
{
	struct maas_model *md = &m->model;
	struct maas_st *st = &m->weights;
	char have[96], want[96];

	char *path = maas_bundle_file(b, "weights.safetensors");
	if (!path)
		return maas_err_set(e, MAAS_ECONFIG, "bundle '%s' has no weights.safetensors", bname);
	int r = maas_st_open(st, path, e);
	free(path);
	if (r < 0)
		return -1;
	for (int i = 0; i < md->ntensors; i++) {
		struct maas_model_tensor *mt = &md->tensors[i];
		const struct maas_tensor *t = maas_st_get(st, mt->name);
		int64_t shape[2] = {mt->shape[0], mt->ndim > 1 ? mt->shape[1] : 0};
		if (!t)
			return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': weights.safetensors has no tensor '%s' "
					    "(architecture '%s')", bname, mt->name, md->arch);
		if (t->dtype != MAAS_DT_F32)
			return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': tensor '%s' is %s, not F32", bname, mt->name,
					    maas_dtype_name(t->dtype));
		if (t->ndim != mt->ndim || t->shape[0] != shape[0] || (mt->ndim > 1 && t->shape[1] != shape[1])) {
			shape_text(t->ndim, t->shape, have, sizeof have);
			shape_text(mt->ndim, shape, want, sizeof want);
			return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': tensor '%s' is %s but the architecture "
					    "needs %s", bname, mt->name, have, want);
		}
		mt->data = t->data;   /* F32, aligned: safetensors.h */
		m->weights_bytes += t->nbytes;
	}
	for (size_t i = 0; i < st->n; i++)
		if (!maas_model_find(md, st->tensors[i].name))
			return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': tensor '%s' has no place in architecture '%s'",
					    bname, st->tensors[i].name, md->arch);
	m->weights_copied = maas_st_copied(st);
	return 0;
}

/* ---- the self-test ---- */

static int feature_example(const struct maas_served *m, const json_t *f, float *x)
{
	size_t steps = m->T ? (size_t)m->T : 1, d = (size_t)m->features;
	if (!json_is_array(f) || json_array_size(f) != (m->T ? steps : d))
		return -1;
	for (size_t s = 0; s < steps; s++) {
		const json_t *row = m->T ? json_array_get(f, s) : f;
		if (!json_is_array(row) || json_array_size(row) != d)
			return -1;
		for (size_t j = 0; j < d; j++) {
			const json_t *v = json_array_get(row, j);
			if (!json_is_number(v))
				return -1;
			x[s * d + j] = (float)json_number_value(v);
		}
	}
	return 0;
}

static int near(double got, double want)
{
	return fabs(got - want) <= SELFTEST_TOL * (fabs(want) > 1 ? fabs(want) : 1);
}

static int check_output(const struct maas_served *m, const struct maas_prediction *p, const float *probs,
			const json_t *want, size_t idx, const char *bname, struct maas_err *e)
{
	if (!m->classification) {
		const json_t *v = json_object_get(want, "value");
		if (!json_is_number(v))
			return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': self-test example %zu has no output value",
					    bname, idx);
		if (!near(p->value, json_number_value(v)))
			return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': self-test example %zu gives %.9g, expected "
					    "%.9g", bname, idx, p->value, json_number_value(v));
		return 0;
	}
	const char *label = json_string_value(json_object_get(want, "label"));
	const json_t *pr = json_object_get(want, "probabilities");
	if (!label || !json_is_object(pr))
		return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': self-test example %zu has no output label and "
				    "probabilities", bname, idx);
	for (int k = 0; k < m->nlabels; k++) {
		const json_t *v = json_object_get(pr, m->labels[k]);
		if (!json_is_number(v))
			return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': self-test example %zu has no probability "
					    "for '%s'", bname, idx, m->labels[k]);
		if (!near(probs[k], json_number_value(v)))
			return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': self-test example %zu gives probability "
					    "%.9g for '%s', expected %.9g", bname, idx, (double)probs[k], m->labels[k],
					    json_number_value(v));
	}
	if (strcmp(m->labels[p->label], label))
		return maas_err_set(e, MAAS_ECONFIG, "bundle '%s': self-test example %zu gives label '%s', expected "
				    "'%s'", bname, idx, m->labels[p->label], label);
	return 0;
}

/* One example's line: {"input" or "features", "output"}; a new reference. */
static json_t *parse_example(const char *line, size_t len, size_t idx, const char *bname, struct maas_err *e)
{
	json_error_t je;
	json_t *ex = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);

	if (!json_is_object(ex) || (!json_object_get(ex, "input") && !json_object_get(ex, "features")) ||
	    !json_is_object(json_object_get(ex, "output"))) {
		json_decref(ex);
		maas_err_set(e, MAAS_ECONFIG, "bundle '%s': self-test example %zu is not {\"input\" or \"features\", "
			     "\"output\"}", bname, idx);
		return NULL;
	}
	return ex;
}

/* Replays ex[0..n), examples first + 1 .., in one forward pass: a pass
 * reads every weight once, so replaying the examples one by one would read
 * 100 MB of weights as many times as there are examples. */
static int self_test_batch(const struct maas_served *m, struct maas_predict_ctx *c, json_t *const *ex, int n,
			   size_t first, const char *bname, struct maas_err *e)
{
	size_t row = row_len(m), K = m->classification ? (size_t)m->nlabels : 0;
	const json_t **inst = xmallocarray((size_t)n, sizeof *inst);
	int *at = xmallocarray((size_t)n, sizeof *at), ninst = 0, r = -1;
	float *x = xmallocarray((size_t)n, row * sizeof *x);
	float *probs = K ? xmallocarray((size_t)n, K * sizeof *probs) : NULL;
	struct maas_prediction *out = xmallocarray((size_t)n, sizeof *out);

	for (int i = 0; i < n; i++)
		if ((inst[ninst] = json_object_get(ex[i], "input")))
			at[ninst++] = i;
	if (ninst)
		maas_predict_features(m, c, inst, ninst);
	for (int i = 0, k = 0; i < n; i++) {
		size_t idx = first + (size_t)i;
		if (k < ninst && at[k] == i) {
			if (c->bad[k]) {
				maas_err_set(e, MAAS_ECONFIG, "bundle '%s': self-test example %zu: %s", bname, idx,
					     c->errs[k].msg);
				goto out;
			}
			memcpy(x + (size_t)i * row, c->x + (size_t)k * row, row * sizeof *x);
			k++;
		} else if (feature_example(m, json_object_get(ex[i], "features"), x + (size_t)i * row) < 0) {
			maas_err_set(e, MAAS_ECONFIG, "bundle '%s': self-test example %zu: features are not %d numbers%s",
				     bname, idx, m->features, m->T ? " per step of the window" : "");
			goto out;
		}
	}
	if (maas_predict_tensor(m, c, x, n, out, probs, e) < 0) {
		e->kind = MAAS_ECONFIG;
		maas_err_prefix(e, "bundle '%s': self-test examples %zu to %zu", bname, first, first + (size_t)n - 1);
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (check_output(m, &out[i], probs ? probs + (size_t)i * K : NULL, json_object_get(ex[i], "output"),
				 first + (size_t)i, bname, e) < 0)
			goto out;
	r = 0;
out:
	free(inst);
	free(at);
	free(x);
	free(probs);
	free(out);
	return r;
}

static int self_test(struct maas_served *m, const struct maas_bundle *b, const char *bname, struct maas_err *e)
{
	enum { BATCH = 64 };
	struct maas_buf buf;
	struct maas_predict_ctx c;
	json_t *ex[BATCH];
	int n = 0, r = 0;

	char *path = maas_bundle_file(b, "examples.jsonl");
	if (!path)
		return 0;   /* a bundle without examples has nothing to replay */
	free(path);
	maas_buf_init(&buf);
	if (maas_bundle_read(b, "examples.jsonl", &buf, EXAMPLES_LIMIT, e) < 0) {
		maas_buf_release(&buf);
		return -1;
	}
	const char *p = buf.data ? buf.data : "", *end = p + buf.len;
	size_t lines = 1, idx = 0;
	for (const char *q = p; lines < BATCH && (q = memchr(q, '\n', (size_t)(end - q))); q++)
		lines++;
	maas_predict_ctx_init(&c, m, (int)lines);   /* activations for no more rows than needed */
	while (r == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len) {
			if (++idx > MAX_SELFTEST)
				r = maas_err_set(e, MAAS_ECONFIG, "bundle '%s': examples.jsonl has more than %d examples",
						 bname, MAX_SELFTEST);
			else if (!(ex[n] = parse_example(p, len, idx, bname, e)))
				r = -1;
			else
				n++;
		}
		p = nl ? nl + 1 : end;
		if (r == 0 && n > 0 && (n == BATCH || p == end)) {
			r = self_test_batch(m, &c, ex, n, idx - (size_t)n + 1, bname, e);
			while (n > 0)
				json_decref(ex[--n]);
		}
	}
	while (n > 0)
		json_decref(ex[--n]);
	m->nexamples = idx;
	maas_predict_ctx_release(&c);
	maas_buf_release(&buf);
	return r;
}

/* ---- loading ---- */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int maas_served_load(struct maas_served *m, const char *bundle, const char *version, struct maas_err *e)
{
	struct maas_bundle b;
	struct maas_err de;
	const char *bname = maas_display_name(bundle, 0);
	double t0 = now_seconds(), t1, t2;

	memset(m, 0, sizeof *m);
	/* the digests run beside the rest; what is made here counts only if they match */
	if (maas_bundle_open_start(&b, bundle, e) < 0)
		return -1;
	m->path = xstrdup(bundle);
	m->version = xstrdup(version ? version : "1");
	m->manifest = json_incref((json_t *)maas_bundle_manifest(&b));
	if (read_manifest(m, bname, e) < 0 || read_spec(m, &b, bname, e) < 0)
		goto fail;
	const char *arch = json_string_value(json_object_get(json_object_get(m->manifest, "architecture"), "arch"));
	if (maas_model_layout(&m->model, arch, m->features, m->T, m->out_dim, e) < 0) {
		e->kind = MAAS_ECONFIG;
		maas_err_prefix(e, "bundle '%s'", bname);
		goto fail;
	}
	t1 = now_seconds();
	if (map_weights(m, &b, bname, e) < 0)
		goto fail;
	t2 = now_seconds();
	m->map_seconds = t2 - t1;
	if (self_test(m, &b, bname, e) < 0)
		goto fail;
	m->selftest_seconds = now_seconds() - t2;
	m->extract_seconds = b.extract_seconds;
	if (maas_bundle_open_finish(&b, e) < 0)
		goto fail;
	m->digest_seconds = b.digest_seconds;
	m->digest_bytes = b.digest_bytes;
	maas_bundle_close(&b);
	m->load_seconds = now_seconds() - t0;
	return 0;
fail:
	/* a file that does not match its digest explains any other failure */
	if (maas_bundle_open_finish(&b, &de) < 0)
		*e = de;
	maas_bundle_close(&b);
	maas_served_release(m);
	return -1;
}

void maas_served_release(struct maas_served *m)
{
	free(m->name);
	free(m->version);
	free(m->path);
	json_decref(m->manifest);
	maas_model_release(&m->model);
	maas_st_close(&m->weights);   /* after the model: its tensors point into it */
	maas_spec_release(&m->spec);
	for (int k = 0; k < m->nlabels && m->labels; k++)
		free(m->labels[k]);
	free(m->labels);
	memset(m, 0, sizeof *m);
}

/* ---- contexts ---- */

void maas_predict_ctx_init(struct maas_predict_ctx *c, const struct maas_served *m, int max_batch)
{
	const struct maas_spec *s = &m->spec;

	memset(c, 0, sizeof *c);
	c->max_batch = max_batch < 1 ? 1 : max_batch;
	maas_acts_alloc(&c->acts, &m->model, c->max_batch);
	c->x = xmallocarray((size_t)c->max_batch, row_len(m) * sizeof *c->x);
	c->bad = xcalloc((size_t)c->max_batch, sizeof *c->bad);
	c->errs = xcalloc((size_t)c->max_batch, sizeof *c->errs);
	maas_table_init(&c->table);
	maas_spec_prepare_table(s, &c->table);
	maas_table_source_records(&c->table, maas_table_add_source(&c->table, "input"));
	/* table column i is spec column i: fields find their column by hash */
	for (size_t i = 0; i < s->ncols; i++)
		maas_table_column(&c->table, s->cols[i].name, strlen(s->cols[i].name));
	maas_table_reserve(&c->table, (size_t)c->max_batch * (size_t)(m->T ? m->T : 1));
}

void maas_predict_ctx_release(struct maas_predict_ctx *c)
{
	maas_acts_release(&c->acts);
	free(c->x);
	free(c->bad);
	free(c->errs);
	maas_table_release(&c->table);
	memset(c, 0, sizeof *c);
}

/* ---- records -> features ---- */

/* A field that is no input but may come with a record: the target, the
 * time column, a column the spec dropped. */
static int ignored_field(const struct maas_spec *s, const char *key)
{
	if ((s->target && !strcmp(key, s->target)) || (s->time_column && !strcmp(key, s->time_column)))
		return 1;
	size_t i;
	const json_t *d;
	json_array_foreach(s->dropped, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		if (name && !strcmp(name, key))
			return 1;
	}
	return 0;
}

/* Checks one record's fields: every spec column present, nothing unknown,
 * nothing nested.  seen: [spec ncols] scratch. */
static int check_record(const struct maas_served *m, const struct maas_table *t, const json_t *rec,
			unsigned char *seen, struct maas_err *e)
{
	const struct maas_spec *s = &m->spec;
	const char *key;
	const json_t *v;

	if (!json_is_object(rec))
		return maas_err_set(e, MAAS_EDATA, m->T ? "a record of the window is not a JSON object"
						     : "not a record (a JSON object)");
	memset(seen, 0, s->ncols ? s->ncols : 1);
	json_object_foreach((json_t *)rec, key, v) {
		long col = maas_table_find(t, key, strlen(key));
		if (col < 0) {
			if (!ignored_field(s, key))
				return maas_err_set(e, MAAS_EDATA, "unknown field '%.200s'", key);
			continue;
		}
		if (json_is_object(v) || json_is_array(v))
			return maas_err_set(e, MAAS_EDATA, "field '%.200s' is not a number, string, boolean or null", key);
		seen[col] = 1;
	}
	for (size_t i = 0; i < s->ncols; i++)
		if (!seen[i])
			return maas_err_set(e, MAAS_EDATA, "field '%s' is missing", s->cols[i].name);
	return 0;
}

static void set_record(struct maas_table *t, const json_t *rec)
{
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)rec, key, v) {
		long col = maas_table_find(t, key, strlen(key));
		if (col < 0)
			continue;
		switch (json_typeof(v)) {
		case JSON_STRING:
			maas_table_set_json_str(t, (size_t)col, json_string_value(v), json_string_length(v));
			break;
		case JSON_INTEGER:
		case JSON_REAL:
			maas_table_set_num(t, (size_t)col, json_number_value(v));
			break;
		case JSON_TRUE:
		case JSON_FALSE:
			maas_table_set_json_bool(t, (size_t)col, json_is_true(v));
			break;
		default:
			maas_table_set_missing(t, (size_t)col);
		}
	}
}

/* The transform's messages say where a row is ("at 'input' record 3");
 * within an instance that is nothing (one record) or the record's place. */
static void fix_where(const struct maas_served *m, const struct maas_table *t, size_t row, size_t rec,
		      struct maas_err *e)
{
	char where[600], pat[620], repl[40];
	maas_table_where(t, row, where, sizeof where);
	snprintf(pat, sizeof pat, " at %s", where);
	if (m->T)
		snprintf(repl, sizeof repl, " in record %zu", rec + 1);
	else
		repl[0] = '\0';
	char *at = strstr(e->msg, pat);
	if (!at)
		return;
	size_t plen = strlen(pat), rlen = strlen(repl), tail = strlen(at + plen);
	if (rlen > plen)
		return;
	memmove(at + rlen, at + plen, tail + 1);
	memcpy(at, repl, rlen);
}

int maas_predict_features(const struct maas_served *m, struct maas_predict_ctx *c, const json_t *const *inst, int n)
{
	const struct maas_spec *s = &m->spec;
	struct maas_table *t = &c->table;
	size_t R = m->T ? (size_t)m->T : 1, d = (size_t)m->features, row = row_len(m);
	unsigned char *seen = xmalloc(s->ncols ? s->ncols : 1);
	struct maas_binding b;
	int nbad = 0;

	if (n > c->max_batch)
		n = c->max_batch;
	maas_table_clear_rows(t);
	for (int i = 0; i < n; i++) {
		const json_t *in = inst[i];
		int bad = 0;
		c->bad[i] = 0;
		maas_err_clear(&c->errs[i]);
		if (m->T && (!json_is_array(in) || json_array_size(in) != R))
			bad = maas_err_set(&c->errs[i], MAAS_EDATA, "not an array of %zu records (the window)", R);
		for (size_t r = 0; r < R && !bad; r++)
			if (check_record(m, t, m->T ? json_array_get(in, r) : in, seen, &c->errs[i]) < 0) {
				bad = -1;
				if (m->T)
					maas_err_prefix(&c->errs[i], "record %zu", r + 1);
			}
		for (size_t r = 0; r < R; r++) {
			maas_table_begin_row(t, 0, (uint32_t)(r + 1));
			if (!bad)
				set_record(t, m->T ? json_array_get(in, r) : in);
			maas_table_end_row(t);
		}
		if (bad) {
			c->bad[i] = 1;
			nbad++;
		}
	}
	free(seen);
	struct maas_err be;
	int bound = maas_spec_bind(s, t, 0, &b, &be) == 0;
	if (!bound) {
		for (int i = 0; i < n; i++)
			if (!c->bad[i]) {
				c->bad[i] = 1;
				c->errs[i] = be;
				nbad++;
			}
	}
	for (int i = 0; i < n; i++) {
		float *x = c->x + (size_t)i * row;
		for (size_t r = 0; r < R && !c->bad[i]; r++) {
			size_t tr = (size_t)i * R + r;
			float *xr = x + r * d;
			if (maas_spec_transform(s, &b, t, tr, xr, &c->errs[i]) < 0) {
				fix_where(m, t, tr, r, &c->errs[i]);
				c->bad[i] = 1;
				nbad++;
				break;
			}
			for (size_t j = 0; j < d; j++)
				if (!isfinite(xr[j])) {
					maas_err_set(&c->errs[i], MAAS_EDATA, "feature '%s' is not finite (a value out "
						     "of range?)", s->features[j]);
					if (m->T)
						maas_err_prefix(&c->errs[i], "record %zu", r + 1);
					c->bad[i] = 1;
					nbad++;
					break;
				}
		}
		if (c->bad[i])
			memset(x, 0, row * sizeof *x);
	}
	if (bound)
		maas_binding_release(&b);
	return nbad;
}

/* ---- features -> outputs ---- */

static void answer(const struct maas_served *m, const float *z, struct maas_prediction *p, float *probs)
{
	if (!m->classification) {
		p->label = -1;
		p->value = (double)(float)((double)z[0] * m->y_std + m->y_mean);
		return;
	}
	float two[2], *pr = probs ? probs : m->nlabels == 2 ? two : NULL;
	int best = 0;
	if (m->sigmoid) {
		double q = 1 / (1 + exp(-(double)z[0]));
		two[0] = (float)(1 - q);
		two[1] = (float)q;
		if (probs)
			memcpy(probs, two, sizeof two);
		best = two[1] > two[0];
		p->label = best;
		p->value = two[best];
		return;
	}
	double mx = z[0], sum = 0;
	for (int k = 1; k < m->out_dim; k++) {
		if (z[k] > mx)
			mx = z[k];
		if (z[k] > z[best])
			best = k;
	}
	for (int k = 0; k < m->out_dim; k++)
		sum += exp((double)z[k] - mx);
	if (pr)
		for (int k = 0; k < m->out_dim; k++)
			pr[k] = (float)(exp((double)z[k] - mx) / sum);
	p->label = best;
	p->value = exp((double)z[best] - mx) / sum;
	if (pr)
		p->value = pr[best];
}

int maas_predict_tensor(const struct maas_served *m, struct maas_predict_ctx *c, const float *x, int n,
			struct maas_prediction *out, float *probs, struct maas_err *e)
{
	size_t row = row_len(m), K = (size_t)m->nlabels;

	for (size_t i = 0; i < (size_t)n * row; i++)
		if (!isfinite(x[i]))
			return maas_err_set(e, MAAS_EDATA, "instance %zu: feature %zu is not a finite number",
					    i / row + 1, i % row + 1);
	for (int i = 0; i < n; i += c->max_batch) {
		int nb = n - i < c->max_batch ? n - i : c->max_batch;
		maas_model_forward(&m->model, &c->acts, x + (size_t)i * row, nb, 0, NULL);
		for (int k = 0; k < nb; k++)
			answer(m, c->acts.logits + (size_t)k * (size_t)m->out_dim, &out[i + k],
			       probs && m->classification ? probs + (size_t)(i + k) * K : NULL);
	}
	return 0;
}

int maas_predict_records(const struct maas_served *m, struct maas_predict_ctx *c, const json_t *records,
			 struct maas_prediction *out, float *probs, struct maas_err *e)
{
	if (!json_is_array(records))
		return maas_err_set(e, MAAS_EDATA, "instances are not a JSON array");
	size_t n = json_array_size(records), K = (size_t)m->nlabels;
	const json_t **inst = xmallocarray((size_t)c->max_batch, sizeof *inst);
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i += (size_t)c->max_batch) {
		int nb = n - i < (size_t)c->max_batch ? (int)(n - i) : c->max_batch;
		for (int k = 0; k < nb; k++)
			inst[k] = json_array_get(records, i + (size_t)k);
		if (maas_predict_features(m, c, inst, nb) > 0) {
			for (int k = 0; k < nb; k++)
				if (c->bad[k]) {
					*e = c->errs[k];
					r = maas_err_prefix(e, "instance %zu", i + (size_t)k + 1);
					break;
				}
			break;
		}
		r = maas_predict_tensor(m, c, c->x, nb, out + i, probs && m->classification ? probs + i * K : NULL, e);
	}
	free(inst);
	return r;
}

json_t *maas_prediction_json(const struct maas_served *m, const struct maas_prediction *p, const float *probs)
{
	if (!m->classification || p->label < 0 || p->label >= m->nlabels)
		return json_pack("{s:f}", "value", p->value);
	json_t *o = json_pack("{s:s, s:i}", "label", m->labels[p->label], "class", p->label);
	if (probs) {
		json_t *pr = json_object();
		for (int k = 0; k < m->nlabels; k++)
			json_object_set_new(pr, m->labels[k], json_real((double)probs[k]));
		json_object_set_new(o, "probabilities", pr);
	}
	return o;
}
