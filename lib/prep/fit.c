/*
 * fit.c - fitting the prep spec on the training rows (see prep.h).
 *
 * Only split->rows[MAAS_TRAIN] is ever read: what validation and test rows
 * hold cannot leak into the imputation values, bounds, scales, categories
 * or classes.  Per numeric column the order is impute -> clip -> log1p ->
 * scale, and the scale is measured on the training values after the steps
 * before it, exactly as maas_spec_transform computes them.
 */
#include "prep/prep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/sort.h"
#include "prep/spec_int.h"

struct fit {
	const struct maas_table *t;
	const struct maas_prep_opts *o;
	const size_t *rows;     /* training rows */
	size_t n;
	json_t *report;
	struct maas_err *e;
};

/* the choices for one numeric column, from the options and its overrides */
struct numopt {
	enum maas_impute impute;
	const char *impute_value;
	enum maas_clip clip;
	double clip_k;
	int log1p;
	enum maas_scale scale;
	int indicator;          /* allowed (o->missing_indicator) */
	int keep_constant;
};

static void action(struct fit *f, json_t *a)
{
	if (a && f->report)
		maas_report_action(f->report, a);
	else
		json_decref(a);
}

/* linear interpolation between closest ranks (numpy's default) of sorted v[0..m) */
static double quantile(const double *v, size_t m, double p)
{
	if (!m)
		return 0;
	double pos = p * (double)(m - 1);
	size_t i = (size_t)pos;
	if (i + 1 >= m)
		return v[m - 1];
	return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

/* the most frequent value of sorted v[0..m); ties to the smallest */
static double mode(const double *v, size_t m)
{
	double best = m ? v[0] : 0;
	size_t bestn = 0;
	for (size_t i = 0; i < m;) {
		size_t j = i;
		while (j < m && v[j] == v[i])
			j++;
		if (j - i > bestn) {
			bestn = j - i;
			best = v[i];
		}
		i = j;
	}
	return best;
}

static void mean_std(const double *v, size_t m, double *mean, double *std)
{
	double sum = 0, ss = 0;
	for (size_t i = 0; i < m; i++)
		sum += v[i];
	*mean = m ? sum / (double)m : 0;
	for (size_t i = 0; i < m; i++)
		ss += (v[i] - *mean) * (v[i] - *mean);
	*std = m ? sqrt(ss / (double)m) : 0;
}

/* statistics of the sorted raw values v[0..m) */
static void fill_stats(struct maas_stats *st, const double *v, size_t m, size_t missing)
{
	memset(st, 0, sizeof *st);
	st->count = m;
	st->missing = missing;
	if (!m)
		return;
	mean_std(v, m, &st->mean, &st->std);
	st->min = v[0];
	st->max = v[m - 1];
	for (int k = 0; k <= 10; k++)
		st->edges[k] = quantile(v, m, k / 10.0);
	size_t cnt[10] = {0};
	for (size_t i = 0; i < m; i++) {
		int b = 0;
		while (b < 9 && st->edges[b + 1] <= v[i])
			b++;
		cnt[b]++;
	}
	for (int b = 0; b < 10; b++)
		st->frac[b] = (double)cnt[b] / (double)m;
}

static const struct maas_col_opt *col_opt(const struct maas_prep_opts *o, const char *name)
{
	const struct maas_col_opt *found = NULL;
	for (size_t i = 0; i < o->ncols; i++)
		if (!strcmp(o->cols[i].name, name))
			found = &o->cols[i];
	return found;
}

static int where_err(struct fit *f, size_t row, enum maas_errkind kind, const char *fmt, const char *col, double v)
{
	char where[600];
	maas_table_where(f->t, row, where, sizeof where);
	return maas_err_set(f->e, kind, fmt, col, where, v);
}

static int need_impute_value(struct fit *f, const char *col, const char *value)
{
	if (!value)
		return maas_err_set(f->e, MAAS_EUSAGE, "column '%s': constant imputation needs a value", col);
	return 0;
}

/* ---- numbers and integers ---- */

/* The training values of a numeric or date column: raw[i] for each
 * training row (NaN when missing), vals[0..*m) the present ones sorted;
 * used[sid] marks the strings seen (may be NULL).  A value of the wrong
 * type is an error naming the cell. */
static int train_values(struct fit *f, size_t col, enum maas_ftype type, const double *sidv,
			double *raw, double *vals, size_t *m, size_t *missing, unsigned char *used)
{
	const struct maas_col *c = &f->t->cols[col];

	*m = *missing = 0;
	for (size_t i = 0; i < f->n; i++) {
		double v;
		int got = maas_spec_cell(c, f->rows[i], type, sidv, &v);
		if (got < 0)
			return maas_spec_bad_value(f->t, col, f->rows[i], type, f->e);
		if (!got) {
			raw[i] = NAN;
			++*missing;
			continue;
		}
		raw[i] = vals[(*m)++] = v;
		if (used)
			used[c->sid[f->rows[i]]] = 1;
	}
	maas_sort_doubles(vals, *m);
	return 0;
}

static int fit_number(struct fit *f, size_t col, const struct numopt *no,
		      struct maas_spec_col *sc, int *constant)
{
	const struct maas_col *c = &f->t->cols[col];
	double *sidv = c->kind == MAAS_COL_STR ? maas_spec_sid_values(c, MAAS_FT_NUMBER) : NULL;
	double *raw = xmallocarray(f->n ? f->n : 1, sizeof *raw);
	double *vals = xmallocarray(f->n ? f->n : 1, sizeof *vals);
	size_t m = 0, missing = 0;
	int rc = -1;

	if (train_values(f, col, MAAS_FT_NUMBER, sidv, raw, vals, &m, &missing, NULL) < 0)
		goto out;
	fill_stats(&sc->stats, vals, m, missing);
	*constant = m == 0 || vals[0] == vals[m - 1];
	if (*constant && !no->keep_constant) {
		rc = 0;
		goto out;
	}

	/* impute */
	sc->impute = no->impute == MAAS_IMPUTE_DEFAULT ? MAAS_IMPUTE_MEAN : no->impute;
	switch (sc->impute) {
	case MAAS_IMPUTE_MEDIAN: sc->fill = quantile(vals, m, 0.5); break;
	case MAAS_IMPUTE_MOST_FREQUENT: sc->fill = mode(vals, m); break;
	case MAAS_IMPUTE_CONSTANT:
		if (need_impute_value(f, sc->name, no->impute_value) < 0)
			goto out;
		if (!maas_parse_number(no->impute_value, strlen(no->impute_value), &sc->fill)) {
			maas_err_set(f->e, MAAS_EUSAGE, "column '%s': impute value '%s' is not a number",
				     sc->name, no->impute_value);
			goto out;
		}
		break;
	default: sc->fill = sc->stats.mean; break;
	}
	sc->indicator = no->indicator && missing > 0;
	if (missing)
		action(f, json_pack("{s:s, s:s, s:s, s:f, s:I}", "action", "impute", "column", sc->name,
				    "strategy", maas_impute_names[sc->impute], "value", sc->fill,
				    "rows", (json_int_t)missing));

	/* clip */
	if (no->clip != MAAS_CLIP_NONE && m) {
		double k = no->clip_k > 0 ? no->clip_k : no->clip == MAAS_CLIP_ZSCORE ? 3 : 1.5;
		if (no->clip == MAAS_CLIP_ZSCORE) {
			sc->lo = sc->stats.mean - k * sc->stats.std;
			sc->hi = sc->stats.mean + k * sc->stats.std;
		} else {
			double q1 = quantile(vals, m, 0.25), q3 = quantile(vals, m, 0.75);
			sc->lo = q1 - k * (q3 - q1);
			sc->hi = q3 + k * (q3 - q1);
		}
		sc->clip = 1;
		size_t clipped = 0;
		for (size_t i = 0; i < m; i++)
			clipped += vals[i] < sc->lo || vals[i] > sc->hi;
		action(f, json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:I}", "action", "clip", "column", sc->name,
				    "method", maas_clip_names[no->clip], "k", k, "lo", sc->lo, "hi", sc->hi,
				    "rows", (json_int_t)clipped));
	}

	/* log1p, then the values the scale is measured on (vals is reused) */
	sc->log1p = no->log1p;
	for (size_t i = 0; i < f->n; i++) {
		double v = raw[i] != raw[i] ? sc->fill : raw[i];
		if (sc->clip)
			v = v < sc->lo ? sc->lo : v > sc->hi ? sc->hi : v;
		if (sc->log1p) {
			if (v <= -1) {
				where_err(f, f->rows[i], MAAS_EDATA,
					  "cannot take log1p of column '%s': %s has %.17g (values must be above -1)",
					  sc->name, v);
				goto out;
			}
			v = log1p(v);
		}
		vals[i] = v;
	}
	if (sc->log1p)
		action(f, json_pack("{s:s, s:s}", "action", "log1p", "column", sc->name));

	/* scale */
	sc->scale = no->scale == MAAS_SCALE_DEFAULT ? MAAS_SCALE_STANDARD : no->scale;
	sc->center = 0;
	sc->scale_by = 1;
	if (f->n && sc->scale != MAAS_SCALE_NONE) {
		if (sc->scale == MAAS_SCALE_STANDARD) {
			mean_std(vals, f->n, &sc->center, &sc->scale_by);
		} else {
			maas_sort_doubles(vals, f->n);
			if (sc->scale == MAAS_SCALE_MINMAX) {
				sc->center = vals[0];
				sc->scale_by = vals[f->n - 1] - vals[0];
			} else {
				sc->center = quantile(vals, f->n, 0.5);
				sc->scale_by = quantile(vals, f->n, 0.75) - quantile(vals, f->n, 0.25);
			}
		}
		if (sc->scale_by == 0 || !isfinite(sc->scale_by))
			sc->scale_by = 1;
		action(f, json_pack("{s:s, s:s, s:s, s:f, s:f}", "action", "scale", "column", sc->name,
				    "method", maas_scale_names[sc->scale], "center", sc->center,
				    "scale", sc->scale_by));
	}
	rc = 0;
out:
	free(sidv);
	free(raw);
	free(vals);
	return rc;
}

/* ---- booleans ---- */

static int fit_boolean(struct fit *f, size_t col, const struct maas_col_opt *co,
		       struct maas_spec_col *sc, int *constant)
{
	const struct maas_col *c = &f->t->cols[col];
	double *sidv = c->kind == MAAS_COL_STR ? maas_spec_sid_values(c, MAAS_FT_BOOLEAN) : NULL;
	size_t cnt[2] = {0, 0}, missing = 0;
	int rc = -1;

	for (size_t i = 0; i < f->n; i++) {
		double v;
		int got = maas_spec_cell(c, f->rows[i], MAAS_FT_BOOLEAN, sidv, &v);
		if (got < 0) {
			maas_spec_bad_value(f->t, col, f->rows[i], MAAS_FT_BOOLEAN, f->e);
			goto out;
		}
		if (got)
			cnt[v != 0]++;
		else
			missing++;
	}
	size_t m = cnt[0] + cnt[1];
	double *vals = xmallocarray(m ? m : 1, sizeof *vals);
	for (size_t i = 0; i < m; i++)
		vals[i] = i >= cnt[0];
	fill_stats(&sc->stats, vals, m, missing);
	free(vals);
	*constant = !cnt[0] || !cnt[1];
	if (*constant && !f->o->keep_constant) {
		rc = 0;
		goto out;
	}
	enum maas_impute imp = co && co->impute ? co->impute : f->o->impute_cat;
	if (imp == MAAS_IMPUTE_CONSTANT) {
		const char *value = co && co->impute_value ? co->impute_value : f->o->impute_value;
		if (need_impute_value(f, sc->name, value) < 0)
			goto out;
		int b = maas_bool_token(value, strlen(value));
		if (b < 0) {
			maas_err_set(f->e, MAAS_EUSAGE, "column '%s': impute value '%s' is not a boolean", sc->name, value);
			goto out;
		}
		sc->fill = b;
	} else {
		imp = MAAS_IMPUTE_MOST_FREQUENT;
		sc->fill = cnt[1] > cnt[0];
	}
	sc->impute = imp;
	sc->indicator = f->o->missing_indicator && missing > 0;
	sc->scale = MAAS_SCALE_NONE;
	sc->center = 0;
	sc->scale_by = 1;
	if (missing)
		action(f, json_pack("{s:s, s:s, s:s, s:f, s:I}", "action", "impute", "column", sc->name,
				    "strategy", maas_impute_names[imp], "value", sc->fill, "rows", (json_int_t)missing));
	rc = 0;
out:
	free(sidv);
	return rc;
}

/* ---- categories (and the labels of a classification target) ---- */

struct entry {
	const char *s;
	size_t len;
	size_t count;
	double num;        /* numeric labels: the value */
};

static int entry_bytes(const struct entry *a, const struct entry *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int d = memcmp(a->s, b->s, n);
	return d ? d : (a->len > b->len) - (a->len < b->len);
}

static int cmp_by_count(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return entry_bytes(a, b);
}

static int cmp_by_bytes(const void *pa, const void *pb)
{
	return entry_bytes(pa, pb);
}

static int cmp_by_num(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	return a->num < b->num ? -1 : a->num > b->num;
}

/* the distinct texts of a column on the training rows, with counts; texts
 * point into the table's dictionary or into *tmp (the caller releases it) */
static struct entry *count_texts(struct fit *f, const struct maas_col *c, struct maas_dict *tmp,
				 size_t *nentries, size_t *missing)
{
	struct entry *ent;
	size_t n = 0;
	*missing = 0;
	maas_dict_init(tmp);
	if (c->kind == MAAS_COL_STR) {
		size_t *cnt = xcalloc((size_t)c->dict.n + 1, sizeof *cnt);
		for (size_t i = 0; i < f->n; i++)
			cnt[c->sid[f->rows[i]]]++;
		*missing = cnt[0];
		ent = xcalloc((size_t)c->dict.n + 1, sizeof *ent);
		for (uint32_t id = 1; id <= c->dict.n; id++)
			if (cnt[id])
				ent[n++] = (struct entry){c->dict.str[id], c->dict.len[id], cnt[id], 0};
		free(cnt);
	} else {
		char buf[40];
		double *first = xmallocarray(f->n + 1, sizeof *first);
		for (size_t i = 0; i < f->n; i++) {
			float v = c->num[f->rows[i]];
			if (v != v) {
				(*missing)++;
				continue;
			}
			int len = maas_float_text(v, buf, sizeof buf);
			uint32_t id = maas_dict_intern(tmp, buf, (size_t)len);
			first[id] = v;
		}
		ent = xcalloc((size_t)tmp->n + 1, sizeof *ent);
		for (uint32_t id = 1; id <= tmp->n; id++)
			ent[n++] = (struct entry){tmp->str[id], tmp->len[id], tmp->count[id], first[id]};
		free(first);
	}
	*nentries = n;
	return ent;
}

static int fit_categorical(struct fit *f, size_t col, const struct maas_col_opt *co,
			   struct maas_spec_col *sc, int *constant)
{
	const struct maas_col *c = &f->t->cols[col];
	const struct maas_prep_opts *o = f->o;
	struct maas_dict tmp;
	size_t n, missing;
	struct entry *ent = count_texts(f, c, &tmp, &n, &missing);
	int rc = -1;

	memset(&sc->stats, 0, sizeof sc->stats);
	sc->stats.count = f->n - missing;
	sc->stats.missing = missing;
	*constant = n <= 1;
	if (*constant && !o->keep_constant) {
		rc = 0;
		goto out;
	}

	/* the fill category; missing cells count as it */
	enum maas_impute imp = co && co->impute ? co->impute : o->impute_cat;
	const char *fill;
	size_t fill_len;
	if (imp == MAAS_IMPUTE_CONSTANT) {
		fill = co && co->impute_value ? co->impute_value : o->impute_value;
		if (need_impute_value(f, sc->name, fill) < 0)
			goto out;
		fill_len = strlen(fill);
	} else {
		imp = MAAS_IMPUTE_MOST_FREQUENT;
		qsort(ent, n, sizeof *ent, cmp_by_count);
		fill = n ? ent[0].s : "";
		fill_len = n ? ent[0].len : 0;
	}
	sc->impute = imp;
	sc->fill_str = xstrndup(fill, fill_len);
	if (missing) {
		size_t i;
		for (i = 0; i < n; i++)
			if (ent[i].len == fill_len && !memcmp(ent[i].s, fill, fill_len))
				break;
		if (i == n)
			ent[n++] = (struct entry){sc->fill_str, fill_len, 0, 0};
		ent[i].count += missing;
		action(f, json_pack("{s:s, s:s, s:s, s:s, s:I}", "action", "impute", "column", sc->name,
				    "strategy", maas_impute_names[imp], "value", sc->fill_str, "rows", (json_int_t)missing));
	}
	sc->indicator = o->missing_indicator && missing > 0;
	qsort(ent, n, sizeof *ent, cmp_by_count);

	enum maas_encode enc = co && co->encode ? co->encode : o->encode;
	sc->encode = enc == MAAS_ENCODE_ORDINAL ? MAAS_ENCODE_ORDINAL : MAAS_ENCODE_ONEHOT;
	sc->unknown = o->unknown;
	size_t kept = n;
	if (sc->encode == MAAS_ENCODE_ONEHOT) {
		size_t min_f = o->min_frequency ? o->min_frequency : 1;
		kept = 0;
		while (kept < n && ent[kept].count >= min_f && (!o->max_categories || kept < o->max_categories))
			kept++;
	} else {
		qsort(ent, n, sizeof *ent, cmp_by_bytes);
	}
	sc->ncats = kept;
	sc->cats = xcalloc(kept ? kept : 1, sizeof *sc->cats);
	sc->cat_count = xcalloc(kept ? kept : 1, sizeof *sc->cat_count);
	for (size_t i = 0; i < kept; i++) {
		sc->cats[i] = xstrndup(ent[i].s, ent[i].len);
		sc->cat_count[i] = ent[i].count;
	}
	sc->other = kept < n;
	if (sc->other) {
		size_t rows = 0;
		for (size_t i = kept; i < n; i++)
			rows += ent[i].count;
		if (sc->unknown != MAAS_UNKNOWN_OTHER) {
			sc->nfolded = n - kept;
			sc->folded = xcalloc(sc->nfolded, sizeof *sc->folded);
			for (size_t i = kept; i < n; i++)
				sc->folded[i - kept] = xstrndup(ent[i].s, ent[i].len);
		}
		action(f, json_pack("{s:s, s:s, s:I, s:I, s:I}", "action", "fold_categories", "column", sc->name,
				    "folded", (json_int_t)(n - kept), "kept", (json_int_t)kept, "rows", (json_int_t)rows));
	}
	action(f, json_pack("{s:s, s:s, s:s, s:I, s:b}", "action", "encode", "column", sc->name,
			    "method", maas_encode_names[sc->encode], "categories", (json_int_t)kept, "other", sc->other));
	rc = 0;
out:
	free(ent);
	maas_dict_release(&tmp);
	return rc;
}

/* ---- dates ---- */

static int fit_date(struct fit *f, size_t col, const struct maas_col_opt *co,
		    struct maas_spec_col *sc, int *constant)
{
	const struct maas_col *c = &f->t->cols[col];
	double *sidv = c->kind == MAAS_COL_STR ? maas_spec_sid_values(c, MAAS_FT_DATE) : NULL;
	unsigned char *used = c->kind == MAAS_COL_STR ? xcalloc((size_t)c->dict.n + 1, 1) : NULL;
	double *raw = xmallocarray(f->n ? f->n : 1, sizeof *raw);
	double *vals = xmallocarray(f->n ? f->n : 1, sizeof *vals);
	size_t m = 0, missing = 0;
	int rc = -1;

	if (train_values(f, col, MAAS_FT_DATE, sidv, raw, vals, &m, &missing, used) < 0)
		goto out;
	fill_stats(&sc->stats, vals, m, missing);
	*constant = m == 0 || vals[0] == vals[m - 1];
	if (*constant && !f->o->keep_constant) {
		rc = 0;
		goto out;
	}
	sc->date_has_time = 0;
	for (uint32_t id = 1; used && id <= c->dict.n; id++) {
		double ts;
		int ht = 0;
		if (used[id] && maas_parse_date(c->dict.str[id], c->dict.len[id], &ts, &ht) && ht)
			sc->date_has_time = 1;
	}
	enum maas_impute imp = co && co->impute ? co->impute : MAAS_IMPUTE_MEDIAN;
	if (imp == MAAS_IMPUTE_CONSTANT) {
		const char *value = co->impute_value ? co->impute_value : f->o->impute_value;
		int ht;
		if (need_impute_value(f, sc->name, value) < 0)
			goto out;
		if (!maas_parse_date(value, strlen(value), &sc->fill, &ht)) {
			maas_err_set(f->e, MAAS_EUSAGE, "column '%s': impute value '%s' is not a date", sc->name, value);
			goto out;
		}
	} else {
		imp = MAAS_IMPUTE_MEDIAN;
		sc->fill = quantile(vals, m, 0.5);
	}
	sc->impute = imp;
	sc->indicator = f->o->missing_indicator && missing > 0;
	if (missing)
		action(f, json_pack("{s:s, s:s, s:s, s:f, s:I}", "action", "impute", "column", sc->name,
				    "strategy", maas_impute_names[imp], "value", sc->fill, "rows", (json_int_t)missing));
	/* the year is standard-scaled; the rest are sines and cosines */
	for (size_t i = 0; i < f->n; i++) {
		struct maas_calendar cal;
		maas_spec_calendar(raw[i] != raw[i] ? sc->fill : raw[i], &cal);
		vals[i] = (double)cal.year;
	}
	sc->scale = MAAS_SCALE_STANDARD;
	mean_std(vals, f->n, &sc->center, &sc->scale_by);
	if (sc->scale_by == 0 || !isfinite(sc->scale_by))
		sc->scale_by = 1;
	action(f, json_pack("{s:s, s:s, s:s, s:b}", "action", "encode", "column", sc->name,
			    "method", "date", "time_of_day", sc->date_has_time));
	rc = 0;
out:
	free(sidv);
	free(used);
	free(raw);
	free(vals);
	return rc;
}

/* ---- the target ---- */

static int fit_target(struct fit *f, const struct maas_schema *s, struct maas_spec *spec)
{
	const struct maas_col *c = &f->t->cols[s->target];
	int rc = -1;

	spec->target = xstrdup(c->name);
	spec->target_as_text = c->forced_str;
	if (s->task == MAAS_TASK_CLASSIFICATION) {
		struct maas_dict tmp;
		size_t n, missing;
		struct entry *ent = count_texts(f, c, &tmp, &n, &missing);
		if (n < 2) {
			maas_err_set(f->e, MAAS_EDATA, "target '%s' has %s in the training split; "
				     "classification needs two or more", c->name, n ? "one class" : "no values");
		} else {
			qsort(ent, n, sizeof *ent, c->kind == MAAS_COL_NUM ? cmp_by_num : cmp_by_bytes);
			spec->nclasses = n;
			spec->classes = xcalloc(n, sizeof *spec->classes);
			spec->class_count = xcalloc(n, sizeof *spec->class_count);
			for (size_t i = 0; i < n; i++) {
				spec->classes[i] = xstrndup(ent[i].s, ent[i].len);
				spec->class_count[i] = ent[i].count;
			}
			rc = 0;
		}
		free(ent);
		maas_dict_release(&tmp);
		return rc;
	}
	double *sidv = c->kind == MAAS_COL_STR ? maas_spec_sid_values(c, MAAS_FT_NUMBER) : NULL;
	double *vals = xmallocarray(f->n ? f->n : 1, sizeof *vals);
	size_t m = 0;
	for (size_t i = 0; i < f->n; i++) {
		double v;
		int got = maas_spec_cell(c, f->rows[i], MAAS_FT_NUMBER, sidv, &v);
		if (got < 0) {
			maas_spec_bad_value(f->t, (size_t)s->target, f->rows[i], MAAS_FT_NUMBER, f->e);
			goto out;
		}
		if (got)
			vals[m++] = v;
	}
	if (!m) {
		maas_err_set(f->e, MAAS_EDATA, "target '%s' has no values in the training split", c->name);
		goto out;
	}
	mean_std(vals, m, &spec->y_mean, &spec->y_std);
	if (spec->y_std == 0 || !isfinite(spec->y_std))
		spec->y_std = 1;
	rc = 0;
out:
	free(sidv);
	free(vals);
	return rc;
}

/* ---- the whole spec ---- */

static void drop(struct fit *f, struct maas_spec *spec, const char *name, const char *reason)
{
	json_array_append_new(spec->dropped, json_pack("{s:s, s:s}", "name", name, "reason", reason));
	action(f, json_pack("{s:s, s:s, s:s}", "action", "drop_column", "column", name, "reason", reason));
}

static void col_release(struct maas_spec_col *sc)
{
	free(sc->name);
	for (size_t i = 0; i < sc->ncats; i++)
		free(sc->cats[i]);
	free(sc->cats);
	free(sc->cat_count);
	for (size_t i = 0; i < sc->nfolded; i++)
		free(sc->folded[i]);
	free(sc->folded);
	free(sc->fill_str);
	memset(sc, 0, sizeof *sc);
}

static void numopt_of(const struct maas_prep_opts *o, const struct maas_col_opt *co, struct numopt *no)
{
	no->impute = co && co->impute ? co->impute : o->impute_num;
	no->impute_value = co && co->impute_value ? co->impute_value : o->impute_value;
	no->clip = o->clip;
	no->clip_k = o->clip_k;
	no->log1p = co ? co->log1p : 0;
	no->scale = co && co->scale ? co->scale : o->scale;
	no->indicator = o->missing_indicator;
	no->keep_constant = o->keep_constant;
}

int maas_spec_fit(const struct maas_table *t, const struct maas_schema *s,
		  const struct maas_split *split, const struct maas_prep_opts *o,
		  struct maas_spec *spec, json_t *report, struct maas_err *e)
{
	struct fit f = {t, o, split->rows[MAAS_TRAIN], split->n[MAAS_TRAIN], report, e};

	memset(spec, 0, sizeof *spec);
	spec->task = s->target >= 0 ? s->task : MAAS_TASK_AUTO;
	spec->dropped = json_array();
	spec->window = o->window;
	if (o->window && o->time_column)
		spec->time_column = xstrdup(o->time_column);
	spec->horizon = o->window ? o->horizon : 0;
	spec->stride = o->window ? o->stride : 0;
	spec->cols = xcalloc(t->ncols + 1, sizeof *spec->cols);

	if (s->target >= 0 && fit_target(&f, s, spec) < 0)
		goto fail;
	if (o->window && s->target >= 0 && s->task == MAAS_TASK_REGRESSION) {
		/* the target's past values are the first input of every window */
		struct maas_spec_col *sc = &spec->cols[spec->ncols];
		struct numopt no = {MAAS_IMPUTE_MEAN, NULL, MAAS_CLIP_NONE, 0, 0, MAAS_SCALE_STANDARD, 0, 1};
		int constant;
		sc->name = xstrdup(t->cols[s->target].name);
		sc->type = MAAS_FT_NUMBER;
		sc->as_text = t->cols[s->target].forced_str;
		if (fit_number(&f, (size_t)s->target, &no, sc, &constant) < 0) {
			col_release(sc);
			goto fail;
		}
		spec->ncols++;
		spec->target_in_window = 1;
	}

	for (size_t col = 0; col < t->ncols; col++) {
		const char *name = t->cols[col].name;
		enum maas_ftype type = s->cols[col].type;
		if ((long)col == s->target || (long)col == s->time_col || (long)col == s->group_col)
			continue;
		if (type == MAAS_FT_DROP || type == MAAS_FT_TEXT || type == MAAS_FT_AUTO) {
			drop(&f, spec, name, s->cols[col].reason ? s->cols[col].reason
					     : type == MAAS_FT_TEXT ? "free text" : "--drop");
			continue;
		}
		const struct maas_col_opt *co = col_opt(o, name);
		struct maas_spec_col *sc = &spec->cols[spec->ncols];
		int constant = 0, rc;
		sc->name = xstrdup(name);
		sc->type = type;
		sc->as_text = t->cols[col].forced_str;
		sc->unknown = o->unknown;
		if (type == MAAS_FT_NUMBER || type == MAAS_FT_INTEGER) {
			struct numopt no;
			numopt_of(o, co, &no);
			rc = fit_number(&f, col, &no, sc, &constant);
		} else if (type == MAAS_FT_BOOLEAN) {
			rc = fit_boolean(&f, col, co, sc, &constant);
		} else if (type == MAAS_FT_CATEGORICAL) {
			rc = fit_categorical(&f, col, co, sc, &constant);
		} else {
			rc = fit_date(&f, col, co, sc, &constant);
		}
		if (rc < 0) {
			col_release(sc);
			goto fail;
		}
		if (constant && !o->keep_constant) {
			col_release(sc);
			drop(&f, spec, name, "constant");
			continue;
		}
		spec->ncols++;
	}
	maas_spec_layout(spec);
	return 0;
fail:
	maas_spec_release(spec);
	return -1;
}
