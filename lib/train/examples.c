/*
 * examples.c - examples.jsonl: inputs with the outputs this model gives.
 *
 * maas-prep stores up to 8 raw test records in a dataset's "examples"
 * metadata (for windows, arrays of `length` records).  Each goes through
 * the same path a served request takes: a one-record table, the spec's
 * transform (maas_spec_prepare_table, maas_spec_bind,
 * maas_spec_transform), the model in eval mode.  The line is
 *   {"input": <record or records>, "output": {"label": ..., "probabilities": {label: p, ...}}}
 * or {"input": ..., "output": {"value": v}}; a loader replays it.
 *
 * Datasets made before that key existed have no raw records: the first
 * test samples' feature vectors are written instead, as
 *   {"features": [...], "output": ...}
 * and the manifest says so.
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "train/train.h"

#define MAX_EXAMPLES 64
#define FEATURE_EXAMPLES 8

static json_t *output_json(const struct maas_trainer *t, const float *out)
{
	const struct maas_dataset *ds = t->ds;
	if (!ds->classification)
		return json_pack("{s:f}", "value", (double)out[0]);
	int K = ds->K, best = 0;
	json_t *p = json_object();
	for (int k = 0; k < K; k++) {
		json_object_set_new(p, ds->spec.classes[k], json_real((double)out[k]));
		if (out[k] > out[best])
			best = k;
	}
	return json_pack("{s:s, s:o}", "label", ds->spec.classes[best], "probabilities", p);
}

/* One record's cells into the table's current row. */
static int set_cells(struct maas_table *tb, const json_t *rec, size_t idx, struct maas_err *e)
{
	const char *key;
	const json_t *v;

	if (!json_is_object(rec))
		return maas_err_set(e, MAAS_EDATA, "dataset example %zu is not a record (a JSON object)", idx + 1);
	json_object_foreach((json_t *)rec, key, v) {
		size_t col = maas_table_column(tb, key, strlen(key));
		switch (json_typeof(v)) {
		case JSON_STRING:
			maas_table_set_json_str(tb, col, json_string_value(v), json_string_length(v));
			break;
		case JSON_INTEGER:
		case JSON_REAL:
			maas_table_set_num(tb, col, json_number_value(v));
			break;
		case JSON_TRUE:
		case JSON_FALSE:
			maas_table_set_json_bool(tb, col, json_is_true(v));
			break;
		case JSON_NULL:
			maas_table_set_missing(tb, col);
			break;
		default:
			return maas_err_set(e, MAAS_EDATA, "dataset example %zu: field '%s' is not a number, string, "
					    "boolean or null", idx + 1, key);
		}
	}
	return 0;
}

/* The feature rows of one raw example (1 record, or T for windows) into x. */
static int transform(const struct maas_trainer *t, const json_t *ex, size_t idx, float *x, struct maas_err *e)
{
	const struct maas_dataset *ds = t->ds;
	const struct maas_spec *spec = &ds->spec;
	size_t nrec = ds->T ? (size_t)ds->T : 1;
	struct maas_table tb;
	struct maas_binding b;
	int r = -1;

	if (ds->T && (!json_is_array(ex) || json_array_size(ex) != nrec))
		return maas_err_set(e, MAAS_EDATA, "dataset example %zu is not an array of %zu records (the window)",
				    idx + 1, nrec);
	memset(&b, 0, sizeof b);
	maas_table_init(&tb);
	maas_spec_prepare_table(spec, &tb);
	size_t src = maas_table_add_source(&tb, "example");
	maas_table_source_records(&tb, src);
	for (size_t i = 0; i < nrec; i++) {
		maas_table_begin_row(&tb, src, (uint32_t)(i + 1));
		int rr = set_cells(&tb, ds->T ? json_array_get(ex, i) : ex, idx, e);
		maas_table_end_row(&tb);
		if (rr < 0)
			goto out;
	}
	if (maas_spec_bind(spec, &tb, 0, &b, e) < 0)
		goto out;
	for (size_t i = 0; i < nrec; i++)
		if (maas_spec_transform(spec, &b, &tb, i, x + i * (size_t)ds->d, e) < 0)
			goto out;
	r = 0;
out:
	if (r < 0)
		maas_err_prefix(e, "dataset example %zu", idx + 1);
	maas_binding_release(&b);
	maas_table_release(&tb);
	return r;
}

static json_t *features_json(const struct maas_dataset *ds, const float *x)
{
	json_t *a = json_array();
	if (!ds->T) {
		for (int j = 0; j < ds->d; j++)
			json_array_append_new(a, json_real((double)x[j]));
		return a;
	}
	for (int s = 0; s < ds->T; s++) {
		json_t *row = json_array();
		for (int j = 0; j < ds->d; j++)
			json_array_append_new(row, json_real((double)x[(size_t)s * (size_t)ds->d + (size_t)j]));
		json_array_append_new(a, row);
	}
	return a;
}

static void add_line(struct maas_buf *out, json_t *line)
{
	char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	maas_buf_addstr(out, s);
	maas_buf_addstr(out, "\n");
	free(s);
	json_decref(line);
}

char *maas_train_examples(struct maas_trainer *t, int *raw, size_t *count, struct maas_err *e)
{
	const struct maas_dataset *ds = t->ds;
	int K2 = ds->K < 2 ? 2 : ds->K;
	float *x = xmallocarray(ds->row, sizeof *x), *out = xmallocarray((size_t)K2, sizeof *out);
	struct maas_buf buf;

	maas_buf_init(&buf);
	*count = 0;
	*raw = ds->examples != NULL;
	if (ds->examples) {
		size_t i;
		const json_t *ex;
		json_array_foreach(ds->examples, i, ex) {
			if (i >= MAX_EXAMPLES)
				break;
			if (transform(t, ex, i, x, e) < 0)
				goto fail;
			maas_trainer_predict(t, x, 1, out);
			add_line(&buf, json_pack("{s:O, s:o}", "input", ex, "output", output_json(t, out)));
			(*count)++;
		}
	} else {
		int s = ds->split[MAAS_TEST].n ? MAAS_TEST : ds->split[MAAS_VAL].n ? MAAS_VAL : MAAS_TRAIN;
		const struct maas_tsplit *sp = &ds->split[s];
		size_t n = sp->n < FEATURE_EXAMPLES ? sp->n : FEATURE_EXAMPLES;
		for (size_t i = 0; i < n; i++) {
			const float *xi = sp->x + i * ds->row;
			maas_trainer_predict(t, xi, 1, out);
			add_line(&buf, json_pack("{s:o, s:o}", "features", features_json(ds, xi), "output",
						 output_json(t, out)));
			(*count)++;
		}
	}
	free(x);
	free(out);
	if (!buf.data)
		maas_buf_addstr(&buf, "");
	return buf.data;
fail:
	free(x);
	free(out);
	maas_buf_release(&buf);
	return NULL;
}
