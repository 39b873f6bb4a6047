/*
 * spec.c - the fitted prep spec: its layout, its JSON form, its release.
 *
 * The JSON form (maas-dataset(5), "prep" metadata of a dataset and
 * prep.json of a bundle).  Every field below is written by
 * maas_spec_to_json; maas_spec_from_json requires each one unless it is
 * marked optional, and refuses a value of the wrong JSON type or outside
 * its range with MAAS_ECONFIG and the field's path, e.g.
 * "prep spec: columns[3].scale.method: unknown value 'zscore'".
 * Numbers are JSON numbers written with 17 significant digits, so that a
 * spec read back transforms to the same bits; NaN and infinities never
 * appear.  Names are UTF-8 strings without NUL characters.
 *
 * format      "maas-prep/1".  Other values are refused.
 * task        "classification", "regression", or null when there is no target.
 * target      null, or an object:
 *   name        the target column.
 *   as_text     optional boolean (default false): the column was read as
 *               written (--type NAME=categorical); new data is read the same way.
 *   classes     classification: the labels, an array of distinct strings in
 *               class index order (numeric labels in numeric order, written
 *               as the shortest text that reads back as the same float32;
 *               text labels in byte order).
 *   counts      classification: training rows per class, same length.
 *   mean, std   regression: the target's mean and standard deviation on
 *               the training split (population std; 1 when it is 0).
 * columns     the input columns used, in feature order; each an object:
 *   name        the raw column's name; inputs are matched by it.
 *   type        "number", "integer", "boolean", "categorical" or "date".
 *   as_text     optional boolean (default false), as for the target.
 *   impute      {"strategy", "value"}: what a missing cell becomes.
 *               strategy is "mean", "median", "most_frequent" or "constant"
 *               (how value was chosen; informative).  value is a number for
 *               numbers and integers, 0 or 1 for booleans, seconds since
 *               1970-01-01 UTC for dates (at most 1e13 either way), and a
 *               string (a category) for categoricals.
 *   indicator   optional boolean (default false): one more feature
 *               "<name>_missing", 1 where the cell was missing, else 0.
 *   stats       training statistics of the raw values (before imputation):
 *               {"count", "missing", "mean", "std", "min", "max", "edges",
 *               "frac"}: non-missing and missing cells, population mean and
 *               std, extremes, 11 decile edges (numpy's linear quantiles,
 *               edges[0] = min, edges[10] = max) and the fraction of values
 *               in each of the 10 bins, a value v being in bin b = the number
 *               of edges[1..9] <= v.  Numbers of a boolean are 0/1, of a date
 *               its seconds; a categorical has only count and missing
 *               ("counts" is its distribution).
 *   features    the names of the features the column produces, in order.
 * For "number", "integer" and "boolean" columns:
 *   clip        optional: null or {"lo", "hi"} with lo <= hi: values are
 *               clamped to [lo, hi] after imputation.
 *   log1p       optional boolean (default false): then log(1 + v); a value
 *               at or below -1 is an error.
 *   scale       {"method", "center", "scale"}: the feature is
 *               (v - center) / scale; method is "none", "standard",
 *               "minmax" or "robust" (informative); scale is not 0.
 *   The feature is named <name>.  Booleans read true, yes, t, y, 1 as 1
 *   and false, no, f, n, 0 as 0 (any case); a non-zero number is 1.
 * For "categorical" columns:
 *   encode      "onehot" or "ordinal".
 *   categories  the kept categories, distinct strings: for onehot most
 *               frequent first, for ordinal in byte order.
 *   counts      training rows per category (missing cells counted as
 *               their fill category), same length.
 *   other       boolean: onehot has a last feature <name>=__other__ for the
 *               training categories folded away (rarer than --min-frequency
 *               or past --max-categories).
 *   folded      optional array of strings: the folded categories (written
 *               when unknown is not "other", to tell them from unseen ones).
 *   unknown     what a value never seen in training becomes: "other" (the
 *               other bucket if there is one, else all zeros; -1 for
 *               ordinal), "zero" (all zeros; -1 for ordinal) or "error".
 *               Folded values always go to the other bucket.  A missing
 *               cell becomes impute.value, and when that is not a category,
 *               all zeros.
 *   onehot features are <name>=<category> in order (then <name>=__other__);
 *   ordinal has one feature <name>: the index of the category, -1 if none.
 * For "date" columns (values parsed as ISO dates, calendar in UTC):
 *   has_time    boolean: some training value had a time of day.
 *   scale       as above, for the year feature.
 *   features    <name>_year ((year - center) / scale), <name>_month_sin,
 *               _month_cos (angle 2 pi (month - 1) / 12), <name>_dow_sin,
 *               _dow_cos (2 pi dow / 7, Monday 0), <name>_doy_sin, _doy_cos
 *               (2 pi (day of year - 1) / days in that year), and with
 *               has_time <name>_hour_sin, _hour_cos (2 pi seconds since
 *               midnight / 86400).
 * features    every feature name in order: the columns' lists concatenated.
 * dropped     [{"name", "reason"}]: raw columns not used and why ("constant",
 *             "all missing", "free text", "--drop").
 * window      null, or {"length", "horizon", "stride", "target_in_window",
 *             "time_column"}:
 *             sequences of length rows (>= 1) whose target is the row
 *             horizon rows after the last; stride (>= 1) rows between
 *             windows; target_in_window (boolean) means the first column is
 *             the target itself (a standard-scaled number), so past values
 *             of the target are inputs; time_column (string or null,
 *             optional) names the column whose order windows follow when
 *             the spec is applied (null: the input's order).
 */
#include "prep/prep.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "prep/spec_int.h"

const char *const maas_impute_names[5] = {"default", "mean", "median", "most_frequent", "constant"};
const char *const maas_scale_names[5] = {"default", "none", "standard", "minmax", "robust"};
const char *const maas_clip_names[3] = {"none", "zscore", "iqr"};
const char *const maas_encode_names[3] = {"default", "onehot", "ordinal"};
const char *const maas_unknown_names[3] = {"other", "zero", "error"};

static const char *const date_parts[] = {
	"year", "month_sin", "month_cos", "dow_sin", "dow_cos", "doy_sin", "doy_cos", "hour_sin", "hour_cos",
};

/* ---- layout ---- */

static size_t col_nfeatures(const struct maas_spec_col *sc)
{
	size_t n;
	switch (sc->type) {
	case MAAS_FT_CATEGORICAL:
		n = sc->encode == MAAS_ENCODE_ORDINAL ? 1 : sc->ncats + (size_t)sc->other;
		break;
	case MAAS_FT_DATE:
		n = sc->date_has_time ? 9 : 7;
		break;
	default:
		n = 1;
	}
	return n + (size_t)sc->indicator;
}

static char *feature_name(const struct maas_spec_col *sc, size_t k)
{
	if (sc->indicator && k == col_nfeatures(sc) - 1)
		return xasprintf("%s_missing", sc->name);
	switch (sc->type) {
	case MAAS_FT_CATEGORICAL:
		if (sc->encode == MAAS_ENCODE_ORDINAL)
			return xstrdup(sc->name);
		return xasprintf("%s=%s", sc->name, k < sc->ncats ? sc->cats[k] : "__other__");
	case MAAS_FT_DATE:
		return xasprintf("%s_%s", sc->name, date_parts[k]);
	default:
		return xstrdup(sc->name);
	}
}

void maas_spec_layout(struct maas_spec *spec)
{
	for (size_t i = 0; i < spec->nfeatures; i++)
		free(spec->features[i]);
	free(spec->features);
	size_t n = 0;
	for (size_t i = 0; i < spec->ncols; i++) {
		spec->cols[i].out_off = n;
		spec->cols[i].out_n = col_nfeatures(&spec->cols[i]);
		n += spec->cols[i].out_n;
	}
	spec->nfeatures = n;
	spec->features = xcalloc(n ? n : 1, sizeof *spec->features);
	for (size_t i = 0; i < spec->ncols; i++)
		for (size_t k = 0; k < spec->cols[i].out_n; k++)
			spec->features[spec->cols[i].out_off + k] = feature_name(&spec->cols[i], k);
}

static void free_strings(char **s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
}

void maas_spec_release(struct maas_spec *spec)
{
	free(spec->target);
	free(spec->time_column);
	free_strings(spec->classes, spec->nclasses);
	free(spec->class_count);
	for (size_t i = 0; spec->cols && i < spec->ncols; i++) {
		struct maas_spec_col *sc = &spec->cols[i];
		free(sc->name);
		free_strings(sc->cats, sc->ncats);
		free(sc->cat_count);
		free_strings(sc->folded, sc->nfolded);
		free(sc->fill_str);
	}
	free(spec->cols);
	free_strings(spec->features, spec->nfeatures);
	json_decref(spec->dropped);
	memset(spec, 0, sizeof *spec);
}

/* ---- to JSON ---- */

static json_t *strings_json(char *const *s, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(s[i]));
	return a;
}

static json_t *sizes_json(const size_t *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer((json_int_t)v[i]));
	return a;
}

static json_t *reals_json(const double *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_real(v[i]));
	return a;
}

static json_t *stats_json(const struct maas_stats *st, int numeric)
{
	if (!numeric)
		return json_pack("{s:I, s:I}", "count", (json_int_t)st->count, "missing", (json_int_t)st->missing);
	return json_pack("{s:I, s:I, s:f, s:f, s:f, s:f, s:o, s:o}",
			 "count", (json_int_t)st->count, "missing", (json_int_t)st->missing,
			 "mean", st->mean, "std", st->std, "min", st->min, "max", st->max,
			 "edges", reals_json(st->edges, 11), "frac", reals_json(st->frac, 10));
}

static json_t *scale_json(const struct maas_spec_col *sc)
{
	return json_pack("{s:s, s:f, s:f}", "method", maas_scale_names[sc->scale],
			 "center", sc->center, "scale", sc->scale_by);
}

static json_t *col_json(const struct maas_spec_col *sc)
{
	json_t *j = json_pack("{s:s, s:s, s:b}", "name", sc->name, "type", maas_ftype_name(sc->type),
			      "as_text", sc->as_text);
	json_t *value = sc->type == MAAS_FT_CATEGORICAL ? json_string(sc->fill_str) : json_real(sc->fill);
	json_object_set_new(j, "impute", json_pack("{s:s, s:o}", "strategy", maas_impute_names[sc->impute],
						   "value", value));
	json_object_set_new(j, "indicator", json_boolean(sc->indicator));
	switch (sc->type) {
	case MAAS_FT_CATEGORICAL:
		json_object_set_new(j, "encode", json_string(maas_encode_names[sc->encode]));
		json_object_set_new(j, "categories", strings_json(sc->cats, sc->ncats));
		json_object_set_new(j, "counts", sizes_json(sc->cat_count, sc->ncats));
		json_object_set_new(j, "other", json_boolean(sc->other));
		if (sc->nfolded)
			json_object_set_new(j, "folded", strings_json(sc->folded, sc->nfolded));
		json_object_set_new(j, "unknown", json_string(maas_unknown_names[sc->unknown]));
		break;
	case MAAS_FT_DATE:
		json_object_set_new(j, "has_time", json_boolean(sc->date_has_time));
		json_object_set_new(j, "scale", scale_json(sc));
		break;
	default:
		json_object_set_new(j, "clip", sc->clip ? json_pack("{s:f, s:f}", "lo", sc->lo, "hi", sc->hi)
							: json_null());
		json_object_set_new(j, "log1p", json_boolean(sc->log1p));
		json_object_set_new(j, "scale", scale_json(sc));
		break;
	}
	json_object_set_new(j, "stats", stats_json(&sc->stats, sc->type != MAAS_FT_CATEGORICAL));
	char **names = xcalloc(sc->out_n ? sc->out_n : 1, sizeof *names);
	for (size_t k = 0; k < sc->out_n; k++)
		names[k] = feature_name(sc, k);
	json_object_set_new(j, "features", strings_json(names, sc->out_n));
	free_strings(names, sc->out_n);
	return j;
}

json_t *maas_spec_to_json(const struct maas_spec *spec)
{
	json_t *j = json_pack("{s:s}", "format", "maas-prep/1");
	json_object_set_new(j, "task", spec->target ? json_string(maas_task_name(spec->task)) : json_null());
	if (spec->target) {
		json_t *tg = json_pack("{s:s, s:b}", "name", spec->target, "as_text", spec->target_as_text);
		if (spec->task == MAAS_TASK_CLASSIFICATION) {
			json_object_set_new(tg, "classes", strings_json(spec->classes, spec->nclasses));
			json_object_set_new(tg, "counts", sizes_json(spec->class_count, spec->nclasses));
		} else {
			json_object_set_new(tg, "mean", json_real(spec->y_mean));
			json_object_set_new(tg, "std", json_real(spec->y_std));
		}
		json_object_set_new(j, "target", tg);
	} else {
		json_object_set_new(j, "target", json_null());
	}
	json_t *cols = json_array();
	for (size_t i = 0; i < spec->ncols; i++)
		json_array_append_new(cols, col_json(&spec->cols[i]));
	json_object_set_new(j, "columns", cols);
	json_object_set_new(j, "features", strings_json(spec->features, spec->nfeatures));
	json_object_set_new(j, "dropped", spec->dropped ? json_deep_copy(spec->dropped) : json_array());
	if (spec->window)
		json_object_set_new(j, "window", json_pack("{s:I, s:I, s:I, s:b, s:o}",
							   "length", (json_int_t)spec->window,
							   "horizon", (json_int_t)spec->horizon,
							   "stride", (json_int_t)spec->stride,
							   "target_in_window", spec->target_in_window,
							   "time_column", spec->time_column ?
							   json_string(spec->time_column) : json_null()));
	else
		json_object_set_new(j, "window", json_null());
	return j;
}

/* ---- from JSON ---- */

#define PATHMAX 160

__attribute__((format(printf, 3, 4)))
static int bad(struct maas_err *e, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return maas_err_set(e, MAAS_ECONFIG, "prep spec: %s: %s", path, msg);
}

static const json_t *member(const json_t *o, const char *base, const char *key, char *path)
{
	if (snprintf(path, PATHMAX, "%s%s%s", base, *base ? "." : "", key) >= PATHMAX)
		path[PATHMAX - 1] = '\0';
	return json_object_get(o, key);
}

static int check_string(const json_t *v, const char *path, struct maas_err *e)
{
	if (!json_is_string(v))
		return bad(e, path, "expected a string");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(e, path, "contains a NUL character");
	return 0;
}

static int get_str(const json_t *o, const char *base, const char *key, const char **out, struct maas_err *e)
{
	char p[PATHMAX];
	const json_t *v = member(o, base, key, p);
	if (!v)
		return bad(e, p, "missing");
	if (check_string(v, p, e) < 0)
		return -1;
	*out = json_string_value(v);
	return 0;
}

/* dflt < 0: required */
static int get_bool(const json_t *o, const char *base, const char *key, int dflt, int *out, struct maas_err *e)
{
	char p[PATHMAX];
	const json_t *v = member(o, base, key, p);
	if (!v && dflt >= 0) {
		*out = dflt;
		return 0;
	}
	if (!v)
		return bad(e, p, "missing");
	if (!json_is_boolean(v))
		return bad(e, p, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

static int get_num(const json_t *o, const char *base, const char *key, double *out, struct maas_err *e)
{
	char p[PATHMAX];
	const json_t *v = member(o, base, key, p);
	if (!v)
		return bad(e, p, "missing");
	if (!json_is_number(v) || !isfinite(json_number_value(v)))
		return bad(e, p, "expected a number");
	*out = json_number_value(v);
	return 0;
}

static int get_size(const json_t *o, const char *base, const char *key, size_t *out, struct maas_err *e)
{
	char p[PATHMAX];
	const json_t *v = member(o, base, key, p);
	if (!v)
		return bad(e, p, "missing");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bad(e, p, "expected a non-negative integer");
	*out = (size_t)json_integer_value(v);
	return 0;
}

static int get_enum(const json_t *o, const char *base, const char *key, const char *const *names,
		    int first, int n, int *out, struct maas_err *e)
{
	char p[PATHMAX];
	const char *s;
	if (get_str(o, base, key, &s, e) < 0)
		return -1;
	for (int i = first; i < n; i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	member(o, base, key, p);
	return bad(e, p, "unknown value '%.100s'", s);
}

/* dflt_null: absent or null gives *out NULL */
static int get_obj(const json_t *o, const char *base, const char *key, int null_ok,
		   const json_t **out, struct maas_err *e)
{
	char p[PATHMAX];
	const json_t *v = member(o, base, key, p);
	if ((!v || json_is_null(v)) && null_ok) {
		*out = NULL;
		return 0;
	}
	if (!v)
		return bad(e, p, "missing");
	if (!json_is_object(v))
		return bad(e, p, null_ok ? "expected an object or null" : "expected an object");
	*out = v;
	return 0;
}

static int get_array(const json_t *o, const char *base, const char *key, int optional,
		     const json_t **out, struct maas_err *e)
{
	char p[PATHMAX];
	const json_t *v = member(o, base, key, p);
	if (!v && optional) {
		*out = NULL;
		return 0;
	}
	if (!v)
		return bad(e, p, "missing");
	if (!json_is_array(v))
		return bad(e, p, "expected an array");
	*out = v;
	return 0;
}

/* an array of distinct strings */
static int get_strings(const json_t *o, const char *base, const char *key, int optional,
		       char ***out, size_t *n, struct maas_err *e)
{
	const json_t *a;
	char p[PATHMAX], q[PATHMAX + 24];
	*out = NULL;
	*n = 0;
	if (get_array(o, base, key, optional, &a, e) < 0)
		return -1;
	if (!a)
		return 0;
	member(o, base, key, p);
	size_t len = json_array_size(a);
	struct maas_dict seen;
	maas_dict_init(&seen);
	*out = xcalloc(len ? len : 1, sizeof **out);
	for (size_t i = 0; i < len; i++) {
		const json_t *v = json_array_get(a, i);
		snprintf(q, sizeof q, "%s[%zu]", p, i);
		if (check_string(v, q, e) < 0)
			goto fail;
		const char *s = json_string_value(v);
		if (maas_dict_lookup(&seen, s, strlen(s))) {
			bad(e, q, "'%.100s' is given twice", s);
			goto fail;
		}
		maas_dict_intern(&seen, s, strlen(s));
		(*out)[(*n)++] = xstrdup(s);
	}
	maas_dict_release(&seen);
	return 0;
fail:
	maas_dict_release(&seen);
	free_strings(*out, *n);
	*out = NULL;
	*n = 0;
	return -1;
}

static int get_sizes(const json_t *o, const char *base, const char *key, size_t want,
		     size_t **out, struct maas_err *e)
{
	const json_t *a;
	char p[PATHMAX], q[PATHMAX + 24];
	if (get_array(o, base, key, 0, &a, e) < 0)
		return -1;
	member(o, base, key, p);
	if (json_array_size(a) != want)
		return bad(e, p, "expected %zu entries, found %zu", want, json_array_size(a));
	*out = xcalloc(want ? want : 1, sizeof **out);
	for (size_t i = 0; i < want; i++) {
		const json_t *v = json_array_get(a, i);
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			snprintf(q, sizeof q, "%s[%zu]", p, i);
			return bad(e, q, "expected a non-negative integer");
		}
		(*out)[i] = (size_t)json_integer_value(v);
	}
	return 0;
}

static int get_reals(const json_t *o, const char *base, const char *key, double *out, size_t want,
		     struct maas_err *e)
{
	const json_t *a;
	char p[PATHMAX], q[PATHMAX + 24];
	if (get_array(o, base, key, 0, &a, e) < 0)
		return -1;
	member(o, base, key, p);
	if (json_array_size(a) != want)
		return bad(e, p, "expected %zu entries, found %zu", want, json_array_size(a));
	for (size_t i = 0; i < want; i++) {
		const json_t *v = json_array_get(a, i);
		if (!json_is_number(v) || !isfinite(json_number_value(v))) {
			snprintf(q, sizeof q, "%s[%zu]", p, i);
			return bad(e, q, "expected a number");
		}
		out[i] = json_number_value(v);
	}
	return 0;
}

static int read_stats(const json_t *c, const char *base, int numeric, struct maas_stats *st,
		      struct maas_err *e)
{
	const json_t *o;
	char p[PATHMAX];
	if (get_obj(c, base, "stats", 0, &o, e) < 0)
		return -1;
	member(c, base, "stats", p);
	if (get_size(o, p, "count", &st->count, e) < 0 || get_size(o, p, "missing", &st->missing, e) < 0)
		return -1;
	if (!numeric)
		return 0;
	if (get_num(o, p, "mean", &st->mean, e) < 0 || get_num(o, p, "std", &st->std, e) < 0 ||
	    get_num(o, p, "min", &st->min, e) < 0 || get_num(o, p, "max", &st->max, e) < 0 ||
	    get_reals(o, p, "edges", st->edges, 11, e) < 0 || get_reals(o, p, "frac", st->frac, 10, e) < 0)
		return -1;
	return 0;
}

static int read_scale(const json_t *c, const char *base, struct maas_spec_col *sc, struct maas_err *e)
{
	const json_t *o;
	char p[PATHMAX];
	int method = 0;
	if (get_obj(c, base, "scale", 0, &o, e) < 0)
		return -1;
	member(c, base, "scale", p);
	if (get_enum(o, p, "method", maas_scale_names, 1, 5, &method, e) < 0 ||
	    get_num(o, p, "center", &sc->center, e) < 0 || get_num(o, p, "scale", &sc->scale_by, e) < 0)
		return -1;
	sc->scale = (enum maas_scale)method;
	if (sc->scale_by == 0) {
		char q[PATHMAX + 8];
		snprintf(q, sizeof q, "%s.scale", p);
		return bad(e, q, "must not be 0");
	}
	return 0;
}

static int read_impute(const json_t *c, const char *base, struct maas_spec_col *sc, struct maas_err *e)
{
	const json_t *o;
	char p[PATHMAX];
	int strategy = 0;
	if (get_obj(c, base, "impute", 0, &o, e) < 0)
		return -1;
	member(c, base, "impute", p);
	if (get_enum(o, p, "strategy", maas_impute_names, 1, 5, &strategy, e) < 0)
		return -1;
	sc->impute = (enum maas_impute)strategy;
	if (sc->type == MAAS_FT_CATEGORICAL) {
		const char *s;
		if (get_str(o, p, "value", &s, e) < 0)
			return -1;
		sc->fill_str = xstrdup(s);
		return 0;
	}
	if (get_num(o, p, "value", &sc->fill, e) < 0)
		return -1;
	if ((sc->type == MAAS_FT_DATE && fabs(sc->fill) > 1e13) ||
	    (sc->type == MAAS_FT_BOOLEAN && sc->fill != 0 && sc->fill != 1)) {
		char q[PATHMAX + 8];
		snprintf(q, sizeof q, "%s.value", p);
		return bad(e, q, sc->type == MAAS_FT_DATE ? "out of range" : "expected 0 or 1");
	}
	return 0;
}

static int read_categorical(const json_t *c, const char *base, struct maas_spec_col *sc, struct maas_err *e)
{
	int enc = 0, unk = 0;
	if (get_enum(c, base, "encode", maas_encode_names, 1, 3, &enc, e) < 0 ||
	    get_strings(c, base, "categories", 0, &sc->cats, &sc->ncats, e) < 0 ||
	    get_sizes(c, base, "counts", sc->ncats, &sc->cat_count, e) < 0 ||
	    get_bool(c, base, "other", -1, &sc->other, e) < 0 ||
	    get_strings(c, base, "folded", 1, &sc->folded, &sc->nfolded, e) < 0 ||
	    get_enum(c, base, "unknown", maas_unknown_names, 0, 3, &unk, e) < 0)
		return -1;
	sc->encode = (enum maas_encode)enc;
	sc->unknown = (enum maas_unknown)unk;
	if (sc->encode == MAAS_ENCODE_ORDINAL && sc->other) {
		char p[PATHMAX];
		member(c, base, "other", p);
		return bad(e, p, "an ordinal encoding has no other bucket");
	}
	if (sc->nfolded && !sc->other) {
		char p[PATHMAX];
		member(c, base, "folded", p);
		return bad(e, p, "folded categories need \"other\": true");
	}
	for (size_t i = 0; i < sc->nfolded; i++)
		for (size_t k = 0; k < sc->ncats; k++)
			if (!strcmp(sc->folded[i], sc->cats[k])) {
				char p[PATHMAX], q[PATHMAX + 24];
				member(c, base, "folded", p);
				snprintf(q, sizeof q, "%s[%zu]", p, i);
				return bad(e, q, "'%.100s' is also a kept category", sc->folded[i]);
			}
	return 0;
}

static int read_features(const json_t *o, const char *base, const char *key, char *const *want,
			 size_t nwant, struct maas_err *e)
{
	char **got;
	size_t n;
	char p[PATHMAX], q[PATHMAX + 24];
	int rc = -1;
	if (get_strings(o, base, key, 0, &got, &n, e) < 0) {
		/* duplicated names are a layout mismatch too, reported the same way */
		return -1;
	}
	member(o, base, key, p);
	if (n != nwant) {
		bad(e, p, "expected %zu feature names, found %zu", nwant, n);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(got[i], want[i])) {
			snprintf(q, sizeof q, "%s[%zu]", p, i);
			bad(e, q, "expected '%.100s', found '%.100s'", want[i], got[i]);
			goto out;
		}
	rc = 0;
out:
	free_strings(got, n);
	return rc;
}

static int read_col(const json_t *c, const char *base, struct maas_spec_col *sc, struct maas_err *e)
{
	const char *name;
	int type = 0;
	if (!json_is_object(c))
		return bad(e, base, "expected an object");
	if (get_str(c, base, "name", &name, e) < 0)
		return -1;
	if (!*name) {
		char p[PATHMAX];
		member(c, base, "name", p);
		return bad(e, p, "empty");
	}
	sc->name = xstrdup(name);
	if (get_enum(c, base, "type", (const char *const[]){"auto", "number", "integer", "boolean",
							    "categorical", "date"}, 1, 6, &type, e) < 0)
		return -1;
	sc->type = (enum maas_ftype)type;
	if (get_bool(c, base, "as_text", 0, &sc->as_text, e) < 0 || read_impute(c, base, sc, e) < 0 ||
	    get_bool(c, base, "indicator", 0, &sc->indicator, e) < 0 || read_stats(c, base, sc->type != MAAS_FT_CATEGORICAL, &sc->stats, e) < 0)
		return -1;
	if (sc->type == MAAS_FT_CATEGORICAL)
		return read_categorical(c, base, sc, e);
	if (read_scale(c, base, sc, e) < 0)
		return -1;
	if (sc->type == MAAS_FT_DATE) {
		sc->impute = sc->impute == MAAS_IMPUTE_CONSTANT ? MAAS_IMPUTE_CONSTANT : MAAS_IMPUTE_MEDIAN;
		return get_bool(c, base, "has_time", -1, &sc->date_has_time, e);
	}
	const json_t *clip;
	if (get_obj(c, base, "clip", 1, &clip, e) < 0 || get_bool(c, base, "log1p", 0, &sc->log1p, e) < 0)
		return -1;
	if (clip) {
		char p[PATHMAX];
		member(c, base, "clip", p);
		if (get_num(clip, p, "lo", &sc->lo, e) < 0 || get_num(clip, p, "hi", &sc->hi, e) < 0)
			return -1;
		if (sc->lo > sc->hi)
			return bad(e, p, "lo %.17g is above hi %.17g", sc->lo, sc->hi);
		sc->clip = 1;
	}
	return 0;
}

static int read_target(const json_t *j, struct maas_spec *spec, struct maas_err *e)
{
	const json_t *tg = NULL, *task = json_object_get(j, "task");
	const char *name;
	if (get_obj(j, "", "target", 1, &tg, e) < 0)
		return -1;
	if (!tg) {
		if (task && !json_is_null(task))
			return bad(e, "task", "must be null when there is no target");
		spec->task = MAAS_TASK_AUTO;
		return 0;
	}
	int t = 0;
	if (get_enum(j, "", "task", (const char *const[]){"auto", "classification", "regression"}, 1, 3, &t, e) < 0)
		return -1;
	spec->task = (enum maas_task)t;
	if (get_str(tg, "target", "name", &name, e) < 0)
		return -1;
	if (!*name)
		return bad(e, "target.name", "empty");
	spec->target = xstrdup(name);
	if (get_bool(tg, "target", "as_text", 0, &spec->target_as_text, e) < 0)
		return -1;
	if (spec->task == MAAS_TASK_CLASSIFICATION) {
		if (get_strings(tg, "target", "classes", 0, &spec->classes, &spec->nclasses, e) < 0 ||
		    get_sizes(tg, "target", "counts", spec->nclasses, &spec->class_count, e) < 0)
			return -1;
		if (!spec->nclasses)
			return bad(e, "target.classes", "empty");
		return 0;
	}
	if (get_num(tg, "target", "mean", &spec->y_mean, e) < 0 || get_num(tg, "target", "std", &spec->y_std, e) < 0)
		return -1;
	if (!(spec->y_std > 0))
		return bad(e, "target.std", "must be above 0");
	return 0;
}

static int read_window(const json_t *j, struct maas_spec *spec, struct maas_err *e)
{
	const json_t *w;
	if (get_obj(j, "", "window", 1, &w, e) < 0)
		return -1;
	if (!w)
		return 0;
	if (get_size(w, "window", "length", &spec->window, e) < 0 ||
	    get_size(w, "window", "horizon", &spec->horizon, e) < 0 ||
	    get_size(w, "window", "stride", &spec->stride, e) < 0 ||
	    get_bool(w, "window", "target_in_window", -1, &spec->target_in_window, e) < 0)
		return -1;
	const json_t *tc = json_object_get(w, "time_column");
	if (tc && !json_is_null(tc)) {
		const char *name;
		if (get_str(w, "window", "time_column", &name, e) < 0)
			return -1;
		spec->time_column = xstrdup(name);
	}
	if (!spec->window)
		return bad(e, "window.length", "must be at least 1");
	if (!spec->horizon)
		return bad(e, "window.horizon", "must be at least 1 (0 would put the target in its own window)");
	if (!spec->stride)
		return bad(e, "window.stride", "must be at least 1");
	if (spec->target_in_window &&
	    (spec->task != MAAS_TASK_REGRESSION || !spec->ncols || strcmp(spec->cols[0].name, spec->target) ||
	     spec->cols[0].type != MAAS_FT_NUMBER))
		return bad(e, "window.target_in_window", "needs a regression target as the first column, a number");
	return 0;
}

static int from_json(const json_t *j, struct maas_spec *spec, struct maas_err *e)
{
	const char *format;
	const json_t *cols, *dropped;
	char p[PATHMAX];

	if (!json_is_object(j))
		return maas_err_set(e, MAAS_ECONFIG, "prep spec: expected a JSON object");
	if (get_str(j, "", "format", &format, e) < 0)
		return -1;
	if (strcmp(format, "maas-prep/1"))
		return bad(e, "format", "unsupported '%.100s' (this version reads maas-prep/1)", format);
	if (read_target(j, spec, e) < 0 || get_array(j, "", "columns", 0, &cols, e) < 0)
		return -1;
	size_t n = json_array_size(cols);
	spec->cols = xcalloc(n ? n : 1, sizeof *spec->cols);
	struct maas_dict names;
	maas_dict_init(&names);
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof p, "columns[%zu]", i);
		spec->ncols++;
		if (read_col(json_array_get(cols, i), p, &spec->cols[i], e) < 0)
			goto fail;
		const char *name = spec->cols[i].name;
		if (maas_dict_lookup(&names, name, strlen(name)) &&
		    !(i == 0 && spec->target && !strcmp(name, spec->target))) {
			bad(e, p, "column '%.100s' is given twice", name);
			goto fail;
		}
		maas_dict_intern(&names, name, strlen(name));
		if (spec->target && !strcmp(name, spec->target) && i != 0) {
			bad(e, p, "the target '%.100s' cannot be an input", name);
			goto fail;
		}
	}
	maas_dict_release(&names);
	maas_spec_layout(spec);
	for (size_t i = 0; i < n; i++) {
		struct maas_spec_col *sc = &spec->cols[i];
		snprintf(p, sizeof p, "columns[%zu]", i);
		if (read_features(json_array_get(cols, i), p, "features", spec->features + sc->out_off,
				  sc->out_n, e) < 0)
			return -1;
	}
	if (read_features(j, "", "features", spec->features, spec->nfeatures, e) < 0 ||
	    get_array(j, "", "dropped", 0, &dropped, e) < 0)
		return -1;
	for (size_t i = 0; i < json_array_size(dropped); i++) {
		const json_t *d = json_array_get(dropped, i);
		const char *s;
		snprintf(p, sizeof p, "dropped[%zu]", i);
		if (!json_is_object(d))
			return bad(e, p, "expected an object");
		if (get_str(d, p, "name", &s, e) < 0 || get_str(d, p, "reason", &s, e) < 0)
			return -1;
	}
	spec->dropped = json_deep_copy(dropped);
	if (read_window(j, spec, e) < 0)
		return -1;
	if (spec->target && spec->ncols && !strcmp(spec->cols[0].name, spec->target) && !spec->target_in_window)
		return bad(e, "columns[0]", "the target '%.100s' cannot be an input", spec->target);
	return 0;
fail:
	maas_dict_release(&names);
	return -1;
}

int maas_spec_from_json(const json_t *j, struct maas_spec *spec, struct maas_err *e)
{
	memset(spec, 0, sizeof *spec);
	if (from_json(j, spec, e) < 0) {
		maas_spec_release(spec);
		return -1;
	}
	return 0;
}
