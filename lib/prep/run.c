/* run.c - one maas-prep job: read, fit or apply, check, write (see run.h). */
#include "prep/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "core/io.h"
#include "core/mem.h"
#include "core/version.h"
#include "core/sha256.h"
#include "data/safetensors.h"

#define DATASET_FORMAT "maas-dataset/1"
#define SPEC_LIMIT (256u << 20)

/* ---- loading a spec from a prep.json, a dataset or a bundle ---- */

static int spec_from_text(const char *text, size_t len, const char *where, struct maas_spec *spec,
			  struct maas_err *e)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return maas_err_set(e, MAAS_ECONFIG, "cannot read spec '%s': line %d, column %d: %s", where,
				    je.line, je.column, je.text);
	int r = maas_spec_from_json(j, spec, e);
	json_decref(j);
	if (r < 0)
		return maas_err_prefix(e, "spec '%s'", where);
	return 0;
}

static int spec_from_st(struct maas_st *sf, const char *where, struct maas_spec *spec, struct maas_err *e)
{
	const char *text = maas_st_meta(sf, "prep");
	if (!text)
		return maas_err_set(e, MAAS_ECONFIG, "'%s' is a safetensors file without a prep spec in its metadata",
				    where);
	return spec_from_text(text, strlen(text), where, spec, e);
}

static int spec_from_bundle(const char *path, struct maas_spec *spec, struct maas_err *e)
{
	struct maas_bundle bd;
	struct maas_buf b;
	int r;

	if (maas_bundle_open(&bd, path, e) < 0)
		return maas_err_prefix(e, "cannot read a spec from '%s' (not a prep.json, dataset or bundle)",
				       maas_display_name(path, 0));
	r = maas_bundle_read(&bd, "prep.json", &b, SPEC_LIMIT, e);
	if (r == 0) {
		char *where = xasprintf("%s/prep.json", maas_display_name(path, 0));
		r = spec_from_text(b.data, b.len, where, spec, e);
		free(where);
		maas_buf_release(&b);
	}
	maas_bundle_close(&bd);
	return r;
}

/* What a spec source is, from its first bytes: 'j' JSON, 's' safetensors, 'b' bundle. */
static int sniff(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\t' || p[i] == '\r'))
		i++;
	if (i < n && p[i] == '{')
		return 'j';
	if (n > 8 && p[8] == '{')
		return 's';
	return 'b';
}

int maas_spec_load(const char *path, struct maas_spec *spec, struct maas_err *e)
{
	const char *name = maas_display_name(path, 0);
	struct stat st;
	struct maas_buf b;
	struct maas_st sf;
	char head[16];
	int r;

	if (maas_is_stdio(path)) {
		/* a pipe is read once: JSON or a dataset, whole (a bundle on stdin is a tar: not a spec source) */
		if (maas_read_all(path, &b, (size_t)4 << 30, e) < 0)
			return -1;
		switch (sniff(b.data, b.len)) {
		case 'j':
			r = spec_from_text(b.data, b.len, name, spec, e);
			break;
		case 's':
			r = maas_st_open_mem(&sf, b.data, b.len, e);
			if (r == 0) {
				r = spec_from_st(&sf, name, spec, e);
				maas_st_close(&sf);
			}
			break;
		default:
			r = maas_err_set(e, MAAS_ECONFIG, "--apply -: stdin holds neither a prep.json nor a dataset");
		}
		maas_buf_release(&b);
		return r;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return spec_from_bundle(path, spec, e);
	int fd = maas_open_in(path, e);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, head, sizeof head);
	close(fd);
	if (n < 0)
		return maas_err_sys(e, MAAS_EIO, "cannot read '%s'", name);
	switch (sniff(head, (size_t)n)) {
	case 'j':
		if (maas_read_all(path, &b, SPEC_LIMIT, e) < 0)
			return -1;
		r = spec_from_text(b.data, b.len, name, spec, e);
		maas_buf_release(&b);
		return r;
	case 's':
		if (maas_st_open(&sf, path, e) < 0)
			return -1;
		r = spec_from_st(&sf, name, spec, e);
		maas_st_close(&sf);
		return r;
	default:
		return spec_from_bundle(path, spec, e);
	}
}

/* ---- the dataset writer ---- */

/* One split as it goes into the file. */
struct part {
	const char *name;      /* "train", "val", "test", "data" */
	const size_t *rows;    /* table rows in order */
	size_t n;              /* rows */
	size_t count;          /* samples written: rows, or windows */
};

struct writer {
	const struct maas_spec *spec;
	const struct maas_binding *b;
	const struct maas_table *t;
	struct maas_st_writer w;
	struct maas_progress *progress;
	size_t done, total;
	int has_y;
	int applying;   /* --apply: a missing target is written as -1 or NaN */
};

static size_t target_pos(const struct maas_spec *s, size_t w)
{
	return maas_window_first(w, s->stride) + s->window - 1 + s->horizon;
}

static int emit_rows(struct writer *wr, const struct part *p, struct maas_err *e)
{
	int64_t buf[4096];
	size_t k = 0;
	for (size_t i = 0; i < p->count; i++) {
		size_t row = wr->spec->window ? p->rows[target_pos(wr->spec, i)] : p->rows[i];
		buf[k++] = (int64_t)row;
		if (k == 4096 || i + 1 == p->count) {
			if (maas_st_writer_write(&wr->w, buf, k * sizeof *buf, e) < 0)
				return -1;
			k = 0;
		}
	}
	return 0;
}

static int emit_y(struct writer *wr, const struct part *p, struct maas_err *e)
{
	int cls = wr->spec->task == MAAS_TASK_CLASSIFICATION;
	union { int64_t i[4096]; float f[4096]; } buf;
	size_t k = 0;

	for (size_t i = 0; i < p->count; i++) {
		size_t row = wr->spec->window ? p->rows[target_pos(wr->spec, i)] : p->rows[i];
		double y;
		if (wr->applying && maas_table_missing(wr->t, (size_t)wr->b->target, row))
			y = cls ? -1 : NAN;   /* new data may lack some outcomes */
		else if (maas_spec_target(wr->spec, wr->b, wr->t, row, &y, e) < 0)
			return -1;
		if (cls)
			buf.i[k++] = (int64_t)y;
		else
			buf.f[k++] = (float)y;
		if (k == 4096 || i + 1 == p->count) {
			if (maas_st_writer_write(&wr->w, &buf, k * (cls ? 8 : 4), e) < 0)
				return -1;
			k = 0;
		}
	}
	return 0;
}

static int emit_x(struct writer *wr, const struct part *p, struct maas_err *e)
{
	const struct maas_spec *s = wr->spec;
	size_t d = s->nfeatures;
	int r = -1;

	if (s->window) {
		/* every row of the split once, then the windows over them */
		float *m = xmallocarray(p->n ? p->n : 1, d * sizeof *m);
		for (size_t i = 0; i < p->n; i++)
			if (maas_spec_transform(s, wr->b, wr->t, p->rows[i], m + i * d, e) < 0)
				goto out_m;
		for (size_t w = 0; w < p->count; w++) {
			size_t first = maas_window_first(w, s->stride);
			if (maas_st_writer_write(&wr->w, m + first * d, s->window * d * sizeof *m, e) < 0)
				goto out_m;
			maas_progress_update(wr->progress, ++wr->done);
		}
		r = 0;
out_m:
		free(m);
		return r;
	}
	size_t chunk = d ? (1u << 18) / d + 1 : 1;
	float *buf = xmallocarray(chunk, (d ? d : 1) * sizeof *buf);
	for (size_t i = 0; i < p->n;) {
		size_t k = 0;
		for (; k < chunk && i < p->n; k++, i++)
			if (maas_spec_transform(s, wr->b, wr->t, p->rows[i], buf + k * d, e) < 0)
				goto out;
		if (maas_st_writer_write(&wr->w, buf, k * d * sizeof *buf, e) < 0)
			goto out;
		wr->done += k;
		maas_progress_update(wr->progress, wr->done);
	}
	r = 0;
out:
	free(buf);
	return r;
}

/* ---- raw examples for self-tests ---- */

#define MAX_EXAMPLES 8

/* One raw record: the spec's input columns as the input had them (numbers,
 * strings, null for missing), the way a client would send them. */
static json_t *raw_record(const struct maas_table *t, const struct maas_spec *spec,
			  const struct maas_binding *b, size_t row)
{
	json_t *o = json_object();
	for (size_t i = 0; i < spec->ncols; i++) {
		size_t col = (size_t)b->col[i];
		const struct maas_col *c = &t->cols[col];
		json_t *v;
		if (maas_table_missing(t, col, row)) {
			v = json_null();
		} else if (c->kind == MAAS_COL_NUM) {
			char buf[32];
			maas_float_text(c->num[row], buf, sizeof buf);
			v = json_real(strtod(buf, NULL));
		} else {
			size_t len;
			const char *str = maas_table_str(t, col, row, &len);
			v = json_stringn(str, len);
		}
		json_object_set_new(o, spec->cols[i].name, v);
	}
	if (spec->time_column) {
		long tc = maas_table_find(t, spec->time_column, strlen(spec->time_column));
		size_t len;
		const char *str = tc >= 0 ? maas_table_str(t, (size_t)tc, row, &len) : NULL;
		if (str)
			json_object_set_new(o, spec->time_column, json_stringn(str, len));
	}
	return o;
}

/* Up to MAX_EXAMPLES raw inputs from the last non-empty split (test, else
 * val, else train): records, or for windows arrays of `window` records.
 * maas-train replays them through the spec and the model into the bundle's
 * examples.jsonl, and maas-serve replays those as a self-test on load. */
static json_t *examples_json(const struct maas_table *t, const struct maas_spec *spec,
			     const struct maas_binding *b, const struct part *parts, size_t nparts)
{
	json_t *a = json_array();
	const struct part *p = NULL;
	for (size_t i = 0; i < nparts; i++)
		if (parts[i].count)
			p = &parts[i];
	if (!p)
		return a;
	size_t n = p->count < MAX_EXAMPLES ? p->count : MAX_EXAMPLES;
	for (size_t k = 0; k < n; k++) {
		size_t w = k * p->count / n;   /* spread over the split */
		if (!spec->window) {
			json_array_append_new(a, raw_record(t, spec, b, p->rows[w]));
			continue;
		}
		json_t *seq = json_array();
		size_t first = maas_window_first(w, spec->stride);
		for (size_t r = 0; r < spec->window; r++)
			json_array_append_new(seq, raw_record(t, spec, b, p->rows[first + r]));
		json_array_append_new(a, seq);
	}
	return a;
}

static char *sources_digest(const struct maas_table *t, json_t **list)
{
	struct maas_buf b;
	char hex[MAAS_SHA256_HEX];

	*list = json_array();
	maas_buf_init(&b);
	for (size_t i = 0; i < t->nsources; i++) {
		const char *h = t->source_sha256[i] ? t->source_sha256[i] : "";
		json_array_append_new(*list, json_pack("{s:s, s:s}", "name", t->sources[i], "sha256", h));
		maas_buf_addf(&b, "%s  %s\n", h, t->sources[i]);
	}
	if (t->nsources == 1 && t->source_sha256[0]) {
		maas_buf_release(&b);
		return xstrdup(t->source_sha256[0]);
	}
	maas_sha256_hex(b.data ? b.data : "", b.len, hex);
	maas_buf_release(&b);
	return xstrdup(hex);
}

static int write_dataset(const struct maas_prep_job *job, const struct maas_table *t,
			 const struct maas_spec *spec, const struct maas_binding *b,
			 struct part *parts, size_t nparts, const json_t *report,
			 struct maas_prep_result *res, struct maas_err *e)
{
	struct maas_st_desc desc[12];
	const char *keys[10], *vals[10];
	char *names[12];
	size_t nd = 0, nmeta = 0;
	int has_y = b->target >= 0 && spec->target, cls = spec->task == MAAS_TASK_CLASSIFICATION;
	struct maas_out out;
	struct writer wr = {.spec = spec, .b = b, .t = t, .progress = job->progress, .has_y = has_y,
			    .applying = job->apply != NULL};
	int r = -1;

	for (size_t i = 0; i < nparts; i++) {
		struct part *p = &parts[i];
		p->count = spec->window ? maas_window_count(p->n, spec->window, spec->horizon, spec->stride) : p->n;
		wr.total += p->count;
	}
	/* 8-byte tensors first, then 4-byte ones: every tensor stays aligned */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < nparts; i++) {
			struct part *p = &parts[i];
			if (!p->count)
				continue;
			if (pass == 0) {
				names[nd] = xasprintf("%s.row", p->name);
				desc[nd] = (struct maas_st_desc){names[nd], MAAS_DT_I64, 1, {(int64_t)p->count}};
				nd++;
			}
			if (has_y && (pass == 0) == cls) {
				names[nd] = xasprintf("%s.y", p->name);
				desc[nd] = (struct maas_st_desc){names[nd], cls ? MAAS_DT_I64 : MAAS_DT_F32, 1,
								 {(int64_t)p->count}};
				nd++;
			}
			if (pass == 1) {
				names[nd] = xasprintf("%s.x", p->name);
				if (spec->window)
					desc[nd] = (struct maas_st_desc){names[nd], MAAS_DT_F32, 3,
						{(int64_t)p->count, (int64_t)spec->window, (int64_t)spec->nfeatures}};
				else
					desc[nd] = (struct maas_st_desc){names[nd], MAAS_DT_F32, 2,
						{(int64_t)p->count, (int64_t)spec->nfeatures}};
				nd++;
			}
		}
	if (!nd) {
		maas_err_set(e, MAAS_EDATA, "no rows to write%s",
			     spec->window ? ": every split is shorter than one window and its horizon" : "");
		goto out_names;
	}

	json_t *sources;
	char *digest = sources_digest(t, &sources);
	json_t *spec_json = maas_spec_to_json(spec);
	char *spec_text = json_dumps(spec_json, JSON_COMPACT);
	json_decref(spec_json);
	char *sources_text = json_dumps(sources, JSON_COMPACT);
	char *report_text = report ? json_dumps(report, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	json_t *examples = examples_json(t, spec, b, parts, nparts);
	char *examples_text = json_dumps(examples, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(examples);
	char *tool = xasprintf("maas-prep %s", MAAS_VERSION);
	json_decref(sources);
	keys[nmeta] = "format"; vals[nmeta++] = DATASET_FORMAT;
	if (spec->target) {
		keys[nmeta] = "task";
		vals[nmeta++] = maas_task_name(spec->task);
	}
	keys[nmeta] = "prep"; vals[nmeta++] = spec_text;
	keys[nmeta] = "source_sha256"; vals[nmeta++] = digest;
	keys[nmeta] = "sources"; vals[nmeta++] = sources_text;
	keys[nmeta] = "created_by"; vals[nmeta++] = tool;
	if (job->command_line) {
		keys[nmeta] = "command";
		vals[nmeta++] = job->command_line;
	}
	if (report_text) {
		keys[nmeta] = "report";
		vals[nmeta++] = report_text;
	}
	keys[nmeta] = "examples";
	vals[nmeta++] = examples_text;

	if (maas_out_open(&out, job->output, 1, e) < 0)
		goto out_meta;
	if (maas_st_writer_begin(&wr.w, &out, desc, nd, keys, vals, nmeta, e) < 0)
		goto fail;
	maas_progress_start(job->progress, "writing", wr.total);
	for (size_t k = 0; k < nd; k++) {
		const char *dot = strrchr(desc[k].name, '.');
		struct part *p = NULL;
		for (size_t i = 0; i < nparts; i++)
			if (strlen(parts[i].name) == (size_t)(dot - desc[k].name) &&
			    !strncmp(parts[i].name, desc[k].name, (size_t)(dot - desc[k].name)))
				p = &parts[i];
		int rr = !strcmp(dot, ".row") ? emit_rows(&wr, p, e)
		       : !strcmp(dot, ".y") ? emit_y(&wr, p, e) : emit_x(&wr, p, e);
		if (rr < 0) {
			maas_err_prefix(e, "writing %s", desc[k].name);
			goto fail;
		}
	}
	if (maas_st_writer_end(&wr.w, e) < 0)
		goto fail;
	if (maas_out_commit(&out, e) < 0)
		goto fail_committed;
	maas_progress_finish(job->progress);
	for (size_t i = 0; i < nparts && i < 3; i++) {
		struct maas_split_summary *sm = &res->split[i];
		if (!parts[i].count)
			continue;
		sm->rows = parts[i].count;
		sm->shape[0] = parts[i].count;
		sm->ndim = spec->window ? 3 : 2;
		sm->shape[1] = spec->window ? spec->window : spec->nfeatures;
		sm->shape[2] = spec->nfeatures;
	}
	r = 0;
	goto out_meta;
fail:
	maas_out_abort(&out);
fail_committed:
	maas_progress_finish(job->progress);
out_meta:
	free(digest);
	free(spec_text);
	free(sources_text);
	free(report_text);
	free(examples_text);
	free(tool);
out_names:
	for (size_t k = 0; k < nd; k++)
		free(names[k]);
	return r;
}

/* ---- JSON outputs ---- */

/* flags: JSON_REAL_PRECISION(15) for reports (0.1 stays 0.1); specs keep
 * jansson's 17 digits, which read back exactly */
static int write_json(const char *path, const json_t *j, size_t flags, struct maas_err *e)
{
	char *text = json_dumps(j, JSON_INDENT(2) | flags);
	struct maas_buf b;
	int r;

	maas_buf_init(&b);
	maas_buf_addstr(&b, text);
	maas_buf_addstr(&b, "\n");
	free(text);
	r = maas_write_file(path, b.data, b.len, e);
	maas_buf_release(&b);
	return r;
}

static int write_spec(const char *path, const struct maas_spec *spec, struct maas_err *e)
{
	json_t *j = maas_spec_to_json(spec);
	int r = write_json(path, j, 0, e);
	json_decref(j);
	return r;
}

/* ---- fitting ---- */

static int fit(const struct maas_prep_job *job, struct maas_table *t, struct maas_prep_result *res,
	       struct maas_err *e)
{
	const struct maas_prep_opts *o = &job->prep;
	struct maas_schema schema;
	struct maas_split split;
	struct maas_spec spec;
	struct maas_binding b;
	size_t *rows, n = 0;
	json_t *report = NULL;
	int r = -1, failed = 0;

	memset(&split, 0, sizeof split);
	memset(&spec, 0, sizeof spec);
	memset(&b, 0, sizeof b);
	if (maas_infer_schema(t, o, &schema, e) < 0)
		return -1;
	res->task = schema.task;
	report = maas_report_table(t, &schema);
	res->report = report;

	rows = xmallocarray(t->nrows ? t->nrows : 1, sizeof *rows);
	size_t no_target = 0;
	for (size_t i = 0; i < t->nrows; i++) {
		if (schema.target >= 0 && maas_table_missing(t, (size_t)schema.target, i)) {
			no_target++;
			continue;
		}
		rows[n++] = i;
	}
	if (no_target)
		maas_report_action(report, json_pack("{s:s, s:s, s:I}", "action", "drop_rows",
						     "reason", "missing target", "rows", (json_int_t)no_target));
	if (!o->keep_duplicates) {
		res->duplicates = maas_dedupe_rows(t, rows, &n);
		if (res->duplicates)
			maas_report_action(report, json_pack("{s:s, s:s, s:I}", "action", "drop_rows",
							     "reason", "duplicate", "rows", (json_int_t)res->duplicates));
	}
	if (!n) {
		maas_err_set(e, MAAS_EDATA, "no rows left to prepare (%zu read, %zu without a target, %zu duplicates)",
			     t->nrows, no_target, res->duplicates);
		goto out;
	}
	if (maas_split_rows(t, &schema, rows, n, o, &split, e) < 0)
		goto out;
	maas_report_split(report, t, &schema, &split);
	if (maas_spec_fit(t, &schema, &split, o, &spec, report, e) < 0)
		goto out;
	res->nfeatures = spec.nfeatures;
	res->nclasses = spec.nclasses;
	if (job->nrules) {
		failed = maas_rules_check(job->rules, job->nrules, report, e);
		if (failed < 0)
			goto out;
		res->failed_rules = failed;
	}
	if (job->report && write_json(job->report, report, JSON_REAL_PRECISION(15), e) < 0)
		goto out;
	if (failed) {
		maas_err_set(e, MAAS_ECHECK, "%d of %zu --fail-on rules failed:", failed, job->nrules);
		json_t *checks = json_object_get(report, "checks"), *c;
		size_t i;
		size_t len = strlen(e->msg);
		json_array_foreach(checks, i, c) {
			if (!json_is_true(json_object_get(c, "failed")))
				continue;
			len += (size_t)snprintf(e->msg + len, len < sizeof e->msg ? sizeof e->msg - len : 0,
						" '%s' (value %g)", json_string_value(json_object_get(c, "rule")),
						json_number_value(json_object_get(c, "value")));
			if (len >= sizeof e->msg)
				break;
		}
		goto out;
	}
	if (job->check_only) {
		r = 0;
		goto out;
	}
	if (maas_spec_bind(&spec, t, schema.target >= 0, &b, e) < 0)
		goto out;
	struct part parts[3];
	for (int s = 0; s < 3; s++)
		parts[s] = (struct part){maas_split_names[s], split.rows[s], split.n[s], 0};
	if (write_dataset(job, t, &spec, &b, parts, 3, report, res, e) < 0)
		goto out;
	if (job->spec_out && write_spec(job->spec_out, &spec, e) < 0)
		goto out;
	r = 0;
out:
	maas_binding_release(&b);
	maas_spec_release(&spec);
	maas_split_release(&split);
	maas_schema_release(&schema);
	free(rows);
	return r;
}

/* ---- applying ---- */

/* Puts rows[0..t->nrows) in the order of the time column, as the split
 * that made the windows did (a time split with everything in train). */
static int time_order(const struct maas_table *t, const char *column, size_t *rows, struct maas_err *e)
{
	struct maas_prep_opts o;
	struct maas_split split;
	long col = maas_table_find(t, column, strlen(column));

	if (col < 0)
		return maas_err_set(e, MAAS_EDATA, "input has no column '%s' (the spec's windows follow it)",
				    column);
	struct maas_schema s = {.ncols = t->ncols, .target = -1, .time_col = col, .group_col = -1};
	maas_prep_opts_init(&o);
	o.split = MAAS_SPLIT_TIME;
	o.frac[0] = 1;
	o.frac[1] = o.frac[2] = 0;
	if (maas_split_rows(t, &s, rows, t->nrows, &o, &split, e) < 0)
		return -1;
	memcpy(rows, split.rows[MAAS_TRAIN], t->nrows * sizeof *rows);
	maas_split_release(&split);
	return 0;
}

static int apply(const struct maas_prep_job *job, struct maas_table *t, struct maas_spec *spec,
		 struct maas_prep_result *res, struct maas_err *e)
{
	struct maas_binding b;
	size_t *rows = xmallocarray(t->nrows ? t->nrows : 1, sizeof *rows);
	int r = -1;

	memset(&b, 0, sizeof b);
	for (size_t i = 0; i < t->nrows; i++)
		rows[i] = i;
	if (spec->window && spec->time_column && time_order(t, spec->time_column, rows, e) < 0)
		goto out;
	res->task = spec->task;
	res->nfeatures = spec->nfeatures;
	res->nclasses = spec->nclasses;
	res->input_rows = t->nrows;
	if (maas_spec_bind(spec, t, 0, &b, e) < 0)
		goto out;
	struct part part = {"data", rows, t->nrows, 0};
	if (write_dataset(job, t, spec, &b, &part, 1, NULL, res, e) < 0)
		goto out;
	if (job->spec_out && write_spec(job->spec_out, spec, e) < 0)
		goto out;
	r = 0;
out:
	maas_binding_release(&b);
	free(rows);
	return r;
}

/* ---- the job ---- */

static int read_all_inputs(const struct maas_prep_job *job, struct maas_table *t, long *first_test,
			   struct maas_err *e)
{
	*first_test = -1;
	if (maas_read_inputs(t, job->inputs, job->ninputs, &job->read, e) < 0)
		return -1;
	if (!job->ntest_inputs)
		return 0;
	size_t ncols = t->ncols;
	*first_test = (long)t->nrows;
	if (maas_read_inputs(t, job->test_inputs, job->ntest_inputs, &job->read, e) < 0)
		return -1;
	if (t->ncols != ncols)
		return maas_err_set(e, MAAS_EDATA, "--test-input has a column the training input lacks: '%s'",
				    t->cols[ncols].name);
	if ((size_t)*first_test == t->nrows)
		return maas_err_set(e, MAAS_EDATA, "--test-input has no rows");
	return 0;
}

int maas_prep_run(const struct maas_prep_job *job, struct maas_prep_result *res, struct maas_err *e)
{
	struct maas_table t;
	struct maas_spec spec;
	long first_test;
	int r = -1;

	memset(res, 0, sizeof *res);
	memset(&spec, 0, sizeof spec);
	maas_table_init(&t);
	if (job->na)
		maas_table_set_na(&t, job->na, job->nna);
	if (job->apply) {
		if (maas_spec_load(job->apply, &spec, e) < 0)
			goto out;
		maas_spec_prepare_table(&spec, &t);
	} else {
		for (size_t i = 0; i < job->prep.ncols; i++) {
			enum maas_ftype ty = job->prep.cols[i].type;
			if (ty == MAAS_FT_CATEGORICAL || ty == MAAS_FT_TEXT || ty == MAAS_FT_DATE)
				maas_table_want_str(&t, job->prep.cols[i].name);
		}
	}
	if (read_all_inputs(job, &t, &first_test, e) < 0)
		goto out;
	res->input_rows = t.nrows;
	if (job->apply) {
		r = apply(job, &t, &spec, res, e);
	} else {
		struct maas_prep_opts o = job->prep;
		o.first_test_row = first_test;
		struct maas_prep_job j2 = *job;
		j2.prep = o;
		r = fit(&j2, &t, res, e);
	}
out:
	maas_spec_release(&spec);
	maas_table_release(&t);
	return r;
}

void maas_prep_result_release(struct maas_prep_result *res)
{
	json_decref(res->report);
	res->report = NULL;
}
