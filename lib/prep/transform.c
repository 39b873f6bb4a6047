/*
 * transform.c - one raw row to one feature vector (see prep.h).
 *
 * This is the one transform code path: maas-prep writes its dataset with
 * it, `maas-prep --apply` transforms new data with it, and maas-serve each
 * request.  Values are computed in double from the table's float32 cells
 * and stored as float, so every consumer gets the same bits.
 *
 * Binding does the per-column work once: it finds each spec column in the
 * table by name and, for string columns, turns the dictionary into a
 * sid -> category code or sid -> value table; a row is then a few array
 * reads per column.
 */
#include "prep/prep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "prep/spec_int.h"

#define TWO_PI 6.283185307179586

/* ---- cells ---- */

int maas_spec_text_num(const char *s, size_t len, double *v)
{
	double d;
	if (!maas_parse_number(s, len, &d))
		return 0;
	float f = (float)d;
	if (isinf(f))
		return 0;
	*v = (double)f;
	return 1;
}

double *maas_spec_sid_values(const struct maas_col *c, enum maas_ftype type)
{
	const struct maas_dict *d = &c->dict;
	double *v = xmallocarray((size_t)d->n + 1, sizeof *v);
	v[0] = NAN;
	for (uint32_t id = 1; id <= d->n; id++) {
		double x;
		int ok, ht;
		if (type == MAAS_FT_BOOLEAN) {
			int b = maas_bool_token(d->str[id], d->len[id]);
			ok = b >= 0;
			x = b;
		} else if (type == MAAS_FT_DATE) {
			ok = maas_parse_date(d->str[id], d->len[id], &x, &ht);
		} else {
			ok = maas_spec_text_num(d->str[id], d->len[id], &x);
		}
		v[id] = ok ? x : NAN;
	}
	return v;
}

int maas_spec_bad_value(const struct maas_table *t, size_t col, size_t row,
			enum maas_ftype type, struct maas_err *e)
{
	const struct maas_col *c = &t->cols[col];
	char where[600], buf[40];
	const char *text;
	size_t len;
	if (c->kind == MAAS_COL_NUM) {
		len = (size_t)maas_float_text(c->num[row], buf, sizeof buf);
		text = buf;
	} else {
		text = maas_table_str(t, col, row, &len);
	}
	maas_table_where(t, row, where, sizeof where);
	const char *what = type == MAAS_FT_BOOLEAN ? "a boolean" : type == MAAS_FT_DATE ? "a date" : "a number";
	return maas_err_set(e, MAAS_EDATA, "'%.*s' in column '%s' at %s is not %s",
			    (int)(len > 200 ? 200 : len), text ? text : "", c->name, where, what);
}

/* ---- dates ---- */

void maas_spec_calendar(double ts, struct maas_calendar *c)
{
	/* years -300000 .. 300000 at most: far beyond what maas_parse_date gives */
	if (!(ts > -1e13))
		ts = -1e13;
	if (ts > 1e13)
		ts = 1e13;
	double day = floor(ts / 86400.0);
	long z = (long)day;
	c->sod = ts - day * 86400.0;
	if (c->sod < 0 || c->sod >= 86400.0)
		c->sod = 0;
	c->dow = (int)(((z % 7) + 7 + 3) % 7);   /* 1970-01-01 was a Thursday */
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long y = yoe + era * 400;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	y += m <= 2;
	c->year = y;
	c->month = m;
	c->doy = (int)(day - (double)maas_days_from_civil(y, 1, 1));
	c->year_days = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 366 : 365;
}

/* ---- binding ---- */

void maas_spec_prepare_table(const struct maas_spec *spec, struct maas_table *t)
{
	for (size_t i = 0; i < spec->ncols; i++)
		if (spec->cols[i].as_text)
			maas_table_want_str(t, spec->cols[i].name);
	if (spec->target && spec->target_as_text)
		maas_table_want_str(t, spec->target);
}

/* categories then folded ones, so that id <= ncats is a kept category */
static void cat_dict(const struct maas_spec_col *sc, struct maas_dict *d)
{
	maas_dict_init(d);
	for (size_t k = 0; k < sc->ncats; k++)
		maas_dict_intern(d, sc->cats[k], strlen(sc->cats[k]));
	for (size_t k = 0; k < sc->nfolded; k++)
		maas_dict_intern(d, sc->folded[k], strlen(sc->folded[k]));
}

static uint32_t cat_code(const struct maas_spec_col *sc, uint32_t id)
{
	return id <= sc->ncats ? id : (uint32_t)sc->ncats + 1;
}

static void bind_col(const struct maas_spec_col *sc, const struct maas_col *c, struct maas_binding *b, size_t i)
{
	if (sc->type == MAAS_FT_CATEGORICAL) {
		struct maas_dict d;
		cat_dict(sc, &d);
		b->fill_code[i] = cat_code(sc, maas_dict_lookup(&d, sc->fill_str, strlen(sc->fill_str)));
		if (c->kind == MAAS_COL_NUM) {
			b->cat_dict[i] = d;
			return;
		}
		b->cat_of_sid[i] = xcalloc((size_t)c->dict.n + 1, sizeof *b->cat_of_sid[i]);
		for (uint32_t id = 1; id <= c->dict.n; id++) {
			uint32_t k = maas_dict_lookup(&d, c->dict.str[id], c->dict.len[id]);
			b->cat_of_sid[i][id] = k ? cat_code(sc, k) : 0;
		}
		maas_dict_release(&d);
		return;
	}
	if (c->kind == MAAS_COL_STR)
		b->val_of_sid[i] = maas_spec_sid_values(c, sc->type);
}

int maas_spec_bind(const struct maas_spec *spec, const struct maas_table *t, int need_target,
		   struct maas_binding *b, struct maas_err *e)
{
	size_t n = spec->ncols ? spec->ncols : 1;
	memset(b, 0, sizeof *b);
	b->col = xcalloc(n, sizeof *b->col);
	b->cat_of_sid = xcalloc(n, sizeof *b->cat_of_sid);
	b->val_of_sid = xcalloc(n, sizeof *b->val_of_sid);
	b->cat_dict = xcalloc(n, sizeof *b->cat_dict);
	b->fill_code = xcalloc(n, sizeof *b->fill_code);
	b->ncols = spec->ncols;
	b->target = -1;
	maas_dict_init(&b->class_dict);

	for (size_t i = 0; i < spec->ncols; i++) {
		const struct maas_spec_col *sc = &spec->cols[i];
		long col = maas_table_find(t, sc->name, strlen(sc->name));
		if (col < 0) {
			maas_err_set(e, MAAS_EDATA, "input has no column '%s' (the spec needs it)", sc->name);
			goto fail;
		}
		b->col[i] = col;
		bind_col(sc, &t->cols[col], b, i);
	}
	if (spec->target) {
		b->target = maas_table_find(t, spec->target, strlen(spec->target));
		if (b->target < 0 && need_target) {
			maas_err_set(e, MAAS_EDATA, "input has no column '%s' (the spec's target)", spec->target);
			goto fail;
		}
	} else if (need_target) {
		maas_err_set(e, MAAS_ECONFIG, "the prep spec has no target");
		goto fail;
	}
	if (b->target >= 0) {
		const struct maas_col *c = &t->cols[b->target];
		if (spec->task == MAAS_TASK_CLASSIFICATION) {
			for (size_t k = 0; k < spec->nclasses; k++)
				maas_dict_intern(&b->class_dict, spec->classes[k], strlen(spec->classes[k]));
			if (c->kind == MAAS_COL_STR) {
				b->class_of_sid = xcalloc((size_t)c->dict.n + 1, sizeof *b->class_of_sid);
				for (uint32_t id = 1; id <= c->dict.n; id++)
					b->class_of_sid[id] = maas_dict_lookup(&b->class_dict, c->dict.str[id], c->dict.len[id]);
			}
		} else if (c->kind == MAAS_COL_STR) {
			b->y_of_sid = maas_spec_sid_values(c, MAAS_FT_NUMBER);
		}
	}
	return 0;
fail:
	maas_binding_release(b);
	return -1;
}

void maas_binding_release(struct maas_binding *b)
{
	for (size_t i = 0; i < b->ncols; i++) {
		if (b->cat_of_sid)
			free(b->cat_of_sid[i]);
		if (b->val_of_sid)
			free(b->val_of_sid[i]);
		if (b->cat_dict)
			maas_dict_release(&b->cat_dict[i]);
	}
	free(b->col);
	free(b->cat_of_sid);
	free(b->val_of_sid);
	free(b->cat_dict);
	free(b->fill_code);
	free(b->class_of_sid);
	free(b->y_of_sid);
	maas_dict_release(&b->class_dict);
	memset(b, 0, sizeof *b);
	b->target = -1;
}

/* ---- rows ---- */

static int unknown_category(const struct maas_spec_col *sc, const struct maas_table *t, size_t col,
			    size_t row, struct maas_err *e)
{
	char where[600], buf[40];
	size_t len;
	const char *text;
	if (t->cols[col].kind == MAAS_COL_NUM) {
		len = (size_t)maas_float_text(t->cols[col].num[row], buf, sizeof buf);
		text = buf;
	} else {
		text = maas_table_str(t, col, row, &len);
	}
	maas_table_where(t, row, where, sizeof where);
	return maas_err_set(e, MAAS_EDATA, "unknown category '%.*s' in column '%s' at %s (not seen in training)",
			    (int)(len > 200 ? 200 : len), text, sc->name, where);
}

static int transform_cat(const struct maas_spec_col *sc, const struct maas_binding *b, size_t i,
			 const struct maas_table *t, size_t row, float *out, int *miss, struct maas_err *e)
{
	size_t col = (size_t)b->col[i];
	const struct maas_col *c = &t->cols[col];
	uint32_t code;
	int unseen = 0;

	*miss = maas_table_missing(t, col, row);
	if (*miss) {
		code = b->fill_code[i];
	} else if (c->kind == MAAS_COL_STR) {
		code = b->cat_of_sid[i][c->sid[row]];
		unseen = !code;
	} else {
		char buf[40];
		int len = maas_float_text(c->num[row], buf, sizeof buf);
		uint32_t id = maas_dict_lookup(&b->cat_dict[i], buf, (size_t)len);
		code = id ? cat_code(sc, id) : 0;
		unseen = !code;
	}
	if (unseen && sc->unknown == MAAS_UNKNOWN_ERROR)
		return unknown_category(sc, t, col, row, e);
	if (sc->encode == MAAS_ENCODE_ORDINAL) {
		out[0] = code >= 1 && code <= sc->ncats ? (float)(code - 1) : -1.0f;
		return 0;
	}
	for (size_t k = 0; k < sc->ncats + (size_t)sc->other; k++)
		out[k] = 0;
	if (code >= 1 && code <= sc->ncats)
		out[code - 1] = 1;
	else if (sc->other && (code == sc->ncats + 1 || (unseen && sc->unknown == MAAS_UNKNOWN_OTHER)))
		out[sc->ncats] = 1;
	return 0;
}

static void transform_date(const struct maas_spec_col *sc, double ts, float *out)
{
	struct maas_calendar cal;
	maas_spec_calendar(ts, &cal);
	double a;
	out[0] = (float)(((double)cal.year - sc->center) / sc->scale_by);
	a = TWO_PI * (cal.month - 1) / 12.0;
	out[1] = (float)sin(a);
	out[2] = (float)cos(a);
	a = TWO_PI * cal.dow / 7.0;
	out[3] = (float)sin(a);
	out[4] = (float)cos(a);
	a = TWO_PI * cal.doy / (double)cal.year_days;
	out[5] = (float)sin(a);
	out[6] = (float)cos(a);
	if (sc->date_has_time) {
		a = TWO_PI * cal.sod / 86400.0;
		out[7] = (float)sin(a);
		out[8] = (float)cos(a);
	}
}

int maas_spec_transform(const struct maas_spec *spec, const struct maas_binding *b,
			const struct maas_table *t, size_t row, float *x, struct maas_err *e)
{
	for (size_t i = 0; i < spec->ncols; i++) {
		const struct maas_spec_col *sc = &spec->cols[i];
		size_t col = (size_t)b->col[i];
		float *out = x + sc->out_off;
		int miss = 0, got;
		double v = 0;

		switch (sc->type) {
		case MAAS_FT_CATEGORICAL:
			if (transform_cat(sc, b, i, t, row, out, &miss, e) < 0)
				return -1;
			break;
		case MAAS_FT_DATE:
			got = maas_spec_cell(&t->cols[col], row, MAAS_FT_DATE, b->val_of_sid[i], &v);
			if (got < 0)
				return maas_spec_bad_value(t, col, row, MAAS_FT_DATE, e);
			miss = !got;
			transform_date(sc, miss ? sc->fill : v, out);
			break;
		default:
			got = maas_spec_cell(&t->cols[col], row, sc->type, b->val_of_sid[i], &v);
			if (got < 0)
				return maas_spec_bad_value(t, col, row, sc->type, e);
			miss = !got;
			if (miss)
				v = sc->fill;
			if (sc->clip)
				v = v < sc->lo ? sc->lo : v > sc->hi ? sc->hi : v;
			if (sc->log1p) {
				if (v <= -1) {
					char where[600];
					maas_table_where(t, row, where, sizeof where);
					return maas_err_set(e, MAAS_EDATA, "cannot take log1p of column '%s': %s has %.17g "
							    "(values must be above -1)", sc->name, where, v);
				}
				v = log1p(v);
			}
			out[0] = (float)((v - sc->center) / sc->scale_by);
			break;
		}
		if (sc->indicator)
			out[sc->out_n - 1] = (float)miss;
	}
	return 0;
}

int maas_spec_target(const struct maas_spec *spec, const struct maas_binding *b,
		     const struct maas_table *t, size_t row, double *y, struct maas_err *e)
{
	char where[600];
	if (b->target < 0)
		return maas_err_set(e, MAAS_EDATA, "input has no column '%s' (the spec's target)",
				    spec->target ? spec->target : "");
	size_t col = (size_t)b->target;
	const struct maas_col *c = &t->cols[col];
	if (maas_table_missing(t, col, row)) {
		maas_table_where(t, row, where, sizeof where);
		return maas_err_set(e, MAAS_EDATA, "target '%s' is missing at %s", spec->target, where);
	}
	if (spec->task == MAAS_TASK_CLASSIFICATION) {
		char buf[40];
		const char *text;
		size_t len;
		uint32_t k;
		if (c->kind == MAAS_COL_STR) {
			k = b->class_of_sid[c->sid[row]];
			text = maas_table_str(t, col, row, &len);
		} else {
			len = (size_t)maas_float_text(c->num[row], buf, sizeof buf);
			text = buf;
			k = maas_dict_lookup(&b->class_dict, buf, len);
		}
		if (!k) {
			maas_table_where(t, row, where, sizeof where);
			return maas_err_set(e, MAAS_EDATA, "label '%.*s' of target '%s' at %s was not seen in training",
					    (int)(len > 200 ? 200 : len), text, spec->target, where);
		}
		*y = (double)(k - 1);
		return 0;
	}
	double v = 0;
	if (maas_spec_cell(c, row, MAAS_FT_NUMBER, b->y_of_sid, &v) < 0)
		return maas_spec_bad_value(t, col, row, MAAS_FT_NUMBER, e);
	*y = v;
	return 0;
}
