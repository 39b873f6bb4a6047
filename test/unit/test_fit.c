/* test_fit.c - fitting the prep spec: imputation, clipping, log1p, scaling,
 * booleans, categories, dates, the target, windows, and that only the
 * training rows count.  Expected numbers are computed by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prep/prep.h"
#include "tap.h"

static void make_table(struct maas_table *t, const char *const *names, size_t ncols,
		       const char *const *cells, size_t nrows)
{
	maas_table_init(t);
	size_t src = maas_table_add_source(t, "x.csv");
	for (size_t c = 0; c < ncols; c++)
		maas_table_column(t, names[c], strlen(names[c]));
	for (size_t r = 0; r < nrows; r++) {
		maas_table_begin_row(t, src, (uint32_t)(r + 2));
		for (size_t c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c];
			if (s)
				maas_table_set_text(t, c, s, strlen(s));
		}
		maas_table_end_row(t);
	}
}

/* train = rows [0, ntrain), val = [ntrain, ntrain + nval), test = the rest */
static void make_split(struct maas_split *sp, size_t nrows, size_t ntrain, size_t nval)
{
	memset(sp, 0, sizeof *sp);
	size_t n[3] = {ntrain, nval, nrows - ntrain - nval}, r = 0;
	for (int k = 0; k < 3; k++) {
		sp->rows[k] = calloc(n[k] + 1, sizeof(size_t));
		sp->n[k] = n[k];
		for (size_t i = 0; i < n[k]; i++)
			sp->rows[k][i] = r++;
	}
}

static void free_split(struct maas_split *sp)
{
	for (int k = 0; k < 3; k++)
		free(sp->rows[k]);
}

static long feature(const struct maas_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->nfeatures; i++)
		if (!strcmp(spec->features[i], name))
			return (long)i;
	return -1;
}

/* fits and binds; returns 0 */
static int fit(struct maas_table *t, const struct maas_prep_opts *o, size_t ntrain, size_t nval,
	       struct maas_spec *spec, struct maas_binding *b, json_t *report, struct maas_err *e)
{
	struct maas_schema s;
	struct maas_split sp;
	if (maas_infer_schema(t, o, &s, e) < 0)
		return -1;
	make_split(&sp, t->nrows, ntrain, nval);
	int rc = maas_spec_fit(t, &s, &sp, o, spec, report, e);
	free_split(&sp);
	maas_schema_release(&s);
	if (rc < 0)
		return -1;
	if (b && maas_spec_bind(spec, t, s.target >= 0, b, e) < 0) {
		maas_spec_release(spec);
		return -1;
	}
	return 0;
}

/* feature `name` of row `row` */
static double fx(const struct maas_spec *spec, const struct maas_binding *b, const struct maas_table *t,
		 size_t row, const char *name)
{
	float x[64];
	struct maas_err e;
	long k = feature(spec, name);
	if (k < 0 || spec->nfeatures > 64 || maas_spec_transform(spec, b, t, row, x, &e) < 0) {
		printf("# feature '%s' row %zu: %s\n", name, row, k < 0 ? "no such feature" : e.msg);
		return NAN;
	}
	return x[k];
}

static const json_t *find_action(const json_t *report, const char *action, const char *column)
{
	const json_t *a;
	size_t i;
	json_array_foreach(json_object_get(report, "actions"), i, a) {
		if (!strcmp(json_string_value(json_object_get(a, "action")), action) &&
		    !strcmp(json_string_value(json_object_get(a, "column")), column))
			return a;
	}
	return NULL;
}

/* a: train 1 2 NA 4 10; val 1000; test -1000 */
static const char *const num_names[] = {"a"};
static const char *const num_cells[] = {"1", "2", NULL, "4", "10", "1000", "-1000"};

static void test_impute_scale(void)
{
	struct maas_table t;
	struct maas_prep_opts o;
	struct maas_spec spec;
	struct maas_binding b;
	struct maas_err e;
	make_table(&t, num_names, 1, num_cells, 7);
	maas_prep_opts_init(&o);

	/* mean + standard: imputed train 1 2 4.25 4 10, mean 4.25, std sqrt(9.75) */
	json_t *report = json_object();
	ok(fit(&t, &o, 5, 1, &spec, &b, report, &e) == 0, "fit mean/standard");
	is_int(spec.ncols, 1, "one column");
	is_int(spec.cols[0].type, MAAS_FT_INTEGER, "integer column");
	is_near(spec.cols[0].fill, 4.25, 1e-12, "mean fill");
	is_near(spec.cols[0].center, 4.25, 1e-12, "standard center");
	is_near(spec.cols[0].scale_by, sqrt(9.75), 1e-12, "standard scale (population std)");
	is_near(fx(&spec, &b, &t, 0, "a"), (1 - 4.25) / sqrt(9.75), 1e-6, "row 0 scaled");
	is_near(fx(&spec, &b, &t, 2, "a"), 0, 1e-6, "missing row -> mean -> 0");
	is_near(fx(&spec, &b, &t, 5, "a"), (1000 - 4.25) / sqrt(9.75), 1e-3, "val row scaled with train stats");
	/* stats of the raw training values 1 2 4 10 */
	const struct maas_stats *st = &spec.cols[0].stats;
	is_int(st->count, 4, "stats count");
	is_int(st->missing, 1, "stats missing");
	is_near(st->mean, 4.25, 1e-12, "stats mean");
	is_near(st->std, sqrt(12.1875), 1e-12, "stats std");
	is_near(st->min, 1, 0, "stats min");
	is_near(st->max, 10, 0, "stats max");
	is_near(st->edges[0], 1, 1e-12, "edge 0");
	is_near(st->edges[1], 1.3, 1e-12, "edge 1 (pos 0.3)");
	is_near(st->edges[5], 3, 1e-12, "edge 5 = median");
	is_near(st->edges[9], 8.2, 1e-12, "edge 9 (pos 2.7: 4 + .7*6)");
	is_near(st->edges[10], 10, 1e-12, "edge 10");
	/* bins: 1 -> 0, 2 -> edges 1.3,1.6,1.9 <= 2 -> 3; 4 -> edges[6] = 3.4... */
	double sum = 0;
	for (int k = 0; k < 10; k++)
		sum += st->frac[k];
	is_near(sum, 1, 1e-12, "bin fractions sum to 1");
	is_near(st->frac[0], 0.25, 1e-12, "min in bin 0");
	is_near(st->frac[9], 0.25, 1e-12, "max in bin 9");
	const json_t *a = find_action(report, "impute", "a");
	ok(a && json_integer_value(json_object_get(a, "rows")) == 1 &&
	   !strcmp(json_string_value(json_object_get(a, "strategy")), "mean") &&
	   json_real_value(json_object_get(a, "value")) == 4.25, "impute action recorded");
	a = find_action(report, "scale", "a");
	ok(a && !strcmp(json_string_value(json_object_get(a, "method")), "standard"), "scale action recorded");
	json_decref(report);
	maas_binding_release(&b);
	maas_spec_release(&spec);

	/* median + minmax: 1 2 3 4 10 -> center 1, scale 9 */
	o.impute_num = MAAS_IMPUTE_MEDIAN;
	o.scale = MAAS_SCALE_MINMAX;
	ok(fit(&t, &o, 5, 1, &spec, &b, NULL, &e) == 0, "fit median/minmax");
	is_near(spec.cols[0].fill, 3, 1e-12, "median fill");
	is_near(spec.cols[0].center, 1, 1e-12, "minmax center");
	is_near(spec.cols[0].scale_by, 9, 1e-12, "minmax scale");
	is_near(fx(&spec, &b, &t, 4, "a"), 1, 1e-7, "max -> 1");
	is_near(fx(&spec, &b, &t, 2, "a"), 2.0 / 9, 1e-7, "missing -> median");
	maas_binding_release(&b);
	maas_spec_release(&spec);

	/* most frequent (all once: the smallest) + robust: 1 1 2 4 10 -> median 2, q1 1, q3 4 */
	o.impute_num = MAAS_IMPUTE_MOST_FREQUENT;
	o.scale = MAAS_SCALE_ROBUST;
	ok(fit(&t, &o, 5, 1, &spec, &b, NULL, &e) == 0, "fit most frequent/robust");
	is_near(spec.cols[0].fill, 1, 0, "most frequent fill (ties to the smallest)");
	is_near(spec.cols[0].center, 2, 1e-12, "robust center");
	is_near(spec.cols[0].scale_by, 3, 1e-12, "robust scale = IQR");
	is_near(fx(&spec, &b, &t, 4, "a"), 8.0 / 3, 1e-6, "10 -> (10-2)/3");
	maas_binding_release(&b);
	maas_spec_release(&spec);

	/* constant + none + indicator */
	o.impute_num = MAAS_IMPUTE_CONSTANT;
	o.impute_value = "-5";
	o.scale = MAAS_SCALE_NONE;
	o.missing_indicator = 1;
	ok(fit(&t, &o, 5, 1, &spec, &b, NULL, &e) == 0, "fit constant/none");
	is_near(spec.cols[0].fill, -5, 0, "constant fill");
	is_int(spec.nfeatures, 2, "value and indicator");
	is_str(spec.features[1], "a_missing", "indicator name");
	is_near(fx(&spec, &b, &t, 2, "a"), -5, 0, "missing -> constant");
	is_near(fx(&spec, &b, &t, 2, "a_missing"), 1, 0, "indicator set");
	is_near(fx(&spec, &b, &t, 3, "a"), 4, 0, "unscaled");
	is_near(fx(&spec, &b, &t, 3, "a_missing"), 0, 0, "indicator clear");
	maas_binding_release(&b);
	maas_spec_release(&spec);
	o.impute_value = "five";
	ok(fit(&t, &o, 5, 1, &spec, &b, NULL, &e) == -1 && e.kind == MAAS_EUSAGE, "constant not a number");
	is_str(e.msg, "column 'a': impute value 'five' is not a number", "constant message");
	o.impute_value = NULL;
	ok(fit(&t, &o, 5, 1, &spec, &b, NULL, &e) == -1 && e.kind == MAAS_EUSAGE, "constant without a value");
	o.impute_num = MAAS_IMPUTE_MEAN;
	o.missing_indicator = 0;

	/* clip z-score k=1 on 1 2 4 10: mean 4.25, std sqrt(12.1875) */
	o.clip = MAAS_CLIP_ZSCORE;
	o.clip_k = 1;
	report = json_object();
	ok(fit(&t, &o, 5, 1, &spec, &b, report, &e) == 0, "fit z-score clip");
	double sd = sqrt(12.1875);
	is_near(spec.cols[0].lo, 4.25 - sd, 1e-12, "z lo");
	is_near(spec.cols[0].hi, 4.25 + sd, 1e-12, "z hi");
	a = find_action(report, "clip", "a");
	ok(a && json_integer_value(json_object_get(a, "rows")) == 1, "one training value clipped");
	is_near(fx(&spec, &b, &t, 6, "a"), (float)((spec.cols[0].lo - spec.cols[0].center) / spec.cols[0].scale_by),
		0, "-1000 clipped to lo, then scaled");
	json_decref(report);
	maas_binding_release(&b);
	maas_spec_release(&spec);

	/* clip IQR k=0.5: q1 1.75, q3 5.5 -> [-0.125, 7.375]; scale none to read values */
	o.clip = MAAS_CLIP_IQR;
	o.clip_k = 0.5;
	o.scale = MAAS_SCALE_NONE;
	ok(fit(&t, &o, 5, 1, &spec, &b, NULL, &e) == 0, "fit IQR clip");
	is_near(spec.cols[0].lo, -0.125, 1e-12, "iqr lo");
	is_near(spec.cols[0].hi, 7.375, 1e-12, "iqr hi");
	is_near(fx(&spec, &b, &t, 4, "a"), 7.375, 0, "10 clipped to hi");
	is_near(fx(&spec, &b, &t, 6, "a"), -0.125, 0, "-1000 clipped to lo");
	maas_binding_release(&b);
	maas_spec_release(&spec);
	o.clip_k = 0;
	ok(fit(&t, &o, 5, 1, &spec, &b, NULL, &e) == 0, "fit IQR clip, default k");
	is_near(spec.cols[0].hi, 5.5 + 1.5 * 3.75, 1e-12, "iqr default k 1.5");
	maas_binding_release(&b);
	maas_spec_release(&spec);
	o.clip = MAAS_CLIP_NONE;

	/* log1p (override) then standard: order impute -> clip -> log1p -> scale */
	struct maas_col_opt co = {.name = "a", .log1p = 1, .scale = MAAS_SCALE_STANDARD};
	o.cols = &co;
	o.ncols = 1;
	ok(fit(&t, &o, 5, 1, &spec, &b, NULL, &e) == 0, "fit log1p");
	double w[5] = {log1p(1), log1p(2), log1p(4.25), log1p(4), log1p(10)}, m = 0, v = 0;
	for (int i = 0; i < 5; i++)
		m += w[i] / 5;
	for (int i = 0; i < 5; i++)
		v += (w[i] - m) * (w[i] - m) / 5;
	is_near(spec.cols[0].center, m, 1e-12, "log1p center");
	is_near(spec.cols[0].scale_by, sqrt(v), 1e-12, "log1p scale");
	is_near(fx(&spec, &b, &t, 0, "a"), (log1p(1) - m) / sqrt(v), 1e-6, "log1p row");
	struct maas_err e2;
	float x[4];
	ok(maas_spec_transform(&spec, &b, &t, 6, x, &e2) == -1 && e2.kind == MAAS_EDATA, "log1p of -1000 refused");
	is_str(e2.msg, "cannot take log1p of column 'a': 'x.csv' line 8 has -1000 (values must be above -1)",
	       "log1p transform message");
	maas_binding_release(&b);
	maas_spec_release(&spec);
	ok(fit(&t, &o, 7, 0, &spec, &b, NULL, &e) == -1 && e.kind == MAAS_EDATA, "log1p of a training value <= -1");
	is_str(e.msg, "cannot take log1p of column 'a': 'x.csv' line 8 has -1000 (values must be above -1)",
	       "log1p fit message");
	o.cols = NULL;
	o.ncols = 0;
	maas_table_release(&t);
}

static void test_train_only(void)
{
	struct maas_table t1, t2;
	struct maas_prep_opts o;
	struct maas_spec s1, s2;
	struct maas_err e;
	static const char *const names[] = {"a", "c", "d", "y"};
	static const char *const c1[] = {
		"1", "x", "2012-01-01", "p",
		"2", "y", "2013-01-01", "q",
		"3", "x", "2014-01-01", "p",
		"7", "z", "2015-01-01", "q",  /* val */
		"9", "w", "2016-01-01", "r",  /* test */
	};
	static const char *const c2[] = {
		"1", "x", "2012-01-01", "p",
		"2", "y", "2013-01-01", "q",
		"3", "x", "2014-01-01", "p",
		"700", "zz", "1999-01-01", "s",
		"-9", "ww", "2099-01-01T10:00", "t",
	};
	make_table(&t1, names, 4, c1, 5);
	make_table(&t2, names, 4, c2, 5);
	maas_prep_opts_init(&o);
	o.target = "y";
	o.task = MAAS_TASK_CLASSIFICATION;
	ok(fit(&t1, &o, 3, 1, &s1, NULL, NULL, &e) == 0, "fit 1");
	ok(fit(&t2, &o, 3, 1, &s2, NULL, NULL, &e) == 0, "fit 2");
	json_t *j1 = maas_spec_to_json(&s1), *j2 = maas_spec_to_json(&s2);
	char *d1 = json_dumps(j1, JSON_SORT_KEYS), *d2 = json_dumps(j2, JSON_SORT_KEYS);
	ok(d1 && d2 && !strcmp(d1, d2), "changing val/test values does not change the spec");
	is_int(s1.nclasses, 2, "classes from train only");
	free(d1);
	free(d2);
	json_decref(j1);
	json_decref(j2);
	maas_spec_release(&s1);
	maas_spec_release(&s2);
	maas_table_release(&t1);
	maas_table_release(&t2);
}

static void test_boolean_constant(void)
{
	static const char *const names[] = {"b", "k", "n"};
	static const char *const cells[] = {
		"yes", "5", "1",
		"No", "5", "0",
		NULL, NULL, "1",
		"Y", "5", NULL,
		"maybe", "5", "2",
	};
	struct maas_table t;
	struct maas_prep_opts o;
	struct maas_spec spec;
	struct maas_binding b;
	struct maas_err e;
	make_table(&t, names, 3, cells, 5);
	maas_prep_opts_init(&o);
	struct maas_col_opt co[2] = {{.name = "n", .type = MAAS_FT_BOOLEAN}, {.name = "b", .type = MAAS_FT_BOOLEAN}};
	o.cols = co;
	o.ncols = 2;
	json_t *report = json_object();
	ok(fit(&t, &o, 4, 0, &spec, &b, report, &e) == 0, "fit booleans");
	is_int(spec.ncols, 2, "constant column dropped");
	is_str(spec.cols[0].name, "b", "boolean kept");
	is_int(spec.cols[0].type, MAAS_FT_BOOLEAN, "boolean type");
	is_str(json_string_value(json_object_get(json_array_get(spec.dropped, 0), "name")), "k", "dropped k");
	is_str(json_string_value(json_object_get(json_array_get(spec.dropped, 0), "reason")), "constant",
	       "dropped as constant");
	ok(find_action(report, "drop_column", "k") != NULL, "drop action");
	is_near(fx(&spec, &b, &t, 0, "b"), 1, 0, "yes -> 1");
	is_near(fx(&spec, &b, &t, 1, "b"), 0, 0, "No -> 0");
	is_near(fx(&spec, &b, &t, 2, "b"), 1, 0, "missing -> most frequent (1)");
	is_near(fx(&spec, &b, &t, 3, "n"), 1, 0, "numeric boolean missing -> most frequent");
	float x[4];
	struct maas_err e2;
	ok(maas_spec_transform(&spec, &b, &t, 4, x, &e2) == -1 && e2.kind == MAAS_EDATA, "maybe is not a boolean");
	is_str(e2.msg, "'maybe' in column 'b' at 'x.csv' line 6 is not a boolean", "boolean message");
	json_decref(report);
	maas_binding_release(&b);
	maas_spec_release(&spec);
	o.keep_constant = 1;
	ok(fit(&t, &o, 4, 0, &spec, NULL, NULL, &e) == 0, "fit keeping constants");
	is_int(spec.ncols, 3, "constant column kept");
	maas_spec_release(&spec);
	maas_table_release(&t);
}

/* colour: train red x4, blue x2, green x1, one missing; val purple, green */
static const char *const cat_names[] = {"c"};
static const char *const cat_cells[] = {
	"red", "blue", "red", "green", NULL, "red", "blue", "red", "purple", "green",
};

static void test_categorical(void)
{
	struct maas_table t;
	struct maas_prep_opts o;
	struct maas_spec spec;
	struct maas_binding b;
	struct maas_err e;
	float x[8];
	make_table(&t, cat_names, 1, cat_cells, 10);
	maas_prep_opts_init(&o);

	/* all kept: no other bucket */
	json_t *report = json_object();
	ok(fit(&t, &o, 8, 2, &spec, &b, report, &e) == 0, "fit one-hot");
	is_int(spec.nfeatures, 3, "three categories");
	is_str(spec.features[0], "c=red", "most frequent first");
	is_str(spec.features[1], "c=blue", "then blue");
	is_str(spec.features[2], "c=green", "then green");
	is_int(spec.cols[0].cat_count[0], 5, "red counted with the imputed missing cell");
	is_str(spec.cols[0].fill_str, "red", "fill is the most frequent");
	ok(!spec.cols[0].other, "no other bucket");
	is_near(fx(&spec, &b, &t, 1, "c=blue"), 1, 0, "blue one-hot");
	is_near(fx(&spec, &b, &t, 4, "c=red"), 1, 0, "missing -> red");
	ok(maas_spec_transform(&spec, &b, &t, 8, x, &e) == 0 && x[0] == 0 && x[1] == 0 && x[2] == 0,
	   "unknown purple -> zeros (policy other, no bucket)");
	ok(find_action(report, "encode", "c") != NULL, "encode action");
	json_decref(report);
	maas_binding_release(&b);
	maas_spec_release(&spec);

	o.unknown = MAAS_UNKNOWN_ERROR;
	ok(fit(&t, &o, 8, 2, &spec, &b, NULL, &e) == 0, "fit one-hot, unknown error");
	ok(maas_spec_transform(&spec, &b, &t, 8, x, &e) == -1 && e.kind == MAAS_EDATA, "unknown refused");
	is_str(e.msg, "unknown category 'purple' in column 'c' at 'x.csv' line 10 (not seen in training)",
	       "unknown message");
	maas_binding_release(&b);
	maas_spec_release(&spec);

	/* min_frequency 2: green folded into other */
	o.unknown = MAAS_UNKNOWN_OTHER;
	o.min_frequency = 2;
	report = json_object();
	ok(fit(&t, &o, 8, 2, &spec, &b, report, &e) == 0, "fit min_frequency");
	is_int(spec.nfeatures, 3, "red, blue, other");
	is_str(spec.features[2], "c=__other__", "other bucket");
	const json_t *a = find_action(report, "fold_categories", "c");
	ok(a && json_integer_value(json_object_get(a, "folded")) == 1, "fold action");
	is_near(fx(&spec, &b, &t, 3, "c=__other__"), 1, 0, "green -> other");
	is_near(fx(&spec, &b, &t, 8, "c=__other__"), 1, 0, "unknown -> other (policy other)");
	json_decref(report);
	maas_binding_release(&b);
	maas_spec_release(&spec);

	o.unknown = MAAS_UNKNOWN_ZERO;
	ok(fit(&t, &o, 8, 2, &spec, &b, NULL, &e) == 0, "fit min_frequency, unknown zero");
	is_int(spec.cols[0].nfolded, 1, "folded names kept");
	is_near(fx(&spec, &b, &t, 9, "c=__other__"), 1, 0, "folded green -> other (policy zero)");
	ok(maas_spec_transform(&spec, &b, &t, 8, x, &e) == 0 && x[0] == 0 && x[1] == 0 && x[2] == 0,
	   "unknown -> all zeros (policy zero)");
	maas_binding_release(&b);
	maas_spec_release(&spec);

	o.unknown = MAAS_UNKNOWN_ERROR;
	ok(fit(&t, &o, 8, 2, &spec, &b, NULL, &e) == 0, "fit min_frequency, unknown error");
	is_near(fx(&spec, &b, &t, 9, "c=__other__"), 1, 0, "folded green -> other (policy error)");
	ok(maas_spec_transform(&spec, &b, &t, 8, x, &e) == -1, "unknown refused (policy error)");
	maas_binding_release(&b);
	maas_spec_release(&spec);

	/* max_categories 1 */
	o.unknown = MAAS_UNKNOWN_OTHER;
	o.min_frequency = 1;
	o.max_categories = 1;
	ok(fit(&t, &o, 8, 2, &spec, &b, NULL, &e) == 0, "fit max_categories");
	is_int(spec.nfeatures, 2, "red and other");
	is_near(fx(&spec, &b, &t, 1, "c=__other__"), 1, 0, "blue -> other");
	maas_binding_release(&b);
	maas_spec_release(&spec);
	o.max_categories = 64;

	/* constant imputation makes a category of its own */
	o.impute_cat = MAAS_IMPUTE_CONSTANT;
	o.impute_value = "none";
	ok(fit(&t, &o, 8, 2, &spec, &b, NULL, &e) == 0, "fit constant category");
	is_int(spec.nfeatures, 4, "red, blue, green, none");
	is_near(fx(&spec, &b, &t, 4, "c=none"), 1, 0, "missing -> none");
	maas_binding_release(&b);
	maas_spec_release(&spec);
	o.impute_cat = MAAS_IMPUTE_MOST_FREQUENT;
	o.impute_value = NULL;

	/* ordinal: byte order blue 0, green 1, red 2 */
	o.encode = MAAS_ENCODE_ORDINAL;
	ok(fit(&t, &o, 8, 2, &spec, &b, NULL, &e) == 0, "fit ordinal");
	is_int(spec.nfeatures, 1, "one ordinal feature");
	is_near(fx(&spec, &b, &t, 0, "c"), 2, 0, "red -> 2");
	is_near(fx(&spec, &b, &t, 1, "c"), 0, 0, "blue -> 0");
	is_near(fx(&spec, &b, &t, 3, "c"), 1, 0, "green -> 1");
	is_near(fx(&spec, &b, &t, 8, "c"), -1, 0, "unknown -> -1");
	maas_binding_release(&b);
	maas_spec_release(&spec);
	maas_table_release(&t);

	/* a numeric column as categories, and new data read as text */
	static const char *const nn[] = {"k", "v"};
	static const char *const nc[] = {"1", "0.5", "2", "1.5", "2", "2.5", "10", "3.5"};
	make_table(&t, nn, 2, nc, 4);
	maas_prep_opts_init(&o);
	struct maas_col_opt co = {.name = "k", .type = MAAS_FT_CATEGORICAL};
	o.cols = &co;
	o.ncols = 1;
	ok(fit(&t, &o, 4, 0, &spec, &b, NULL, &e) == 0, "fit numeric categories");
	is_str(spec.features[0], "k=2", "2 is the most frequent");
	is_str(spec.features[1], "k=1", "then 1 (byte order)");
	is_str(spec.features[2], "k=10", "then 10");
	is_near(fx(&spec, &b, &t, 3, "k=10"), 1, 0, "numeric cell finds its category");
	struct maas_table t2;
	static const char *const nc2[] = {"10", "1", "x", "1"};
	make_table(&t2, nn, 2, nc2, 2);
	struct maas_binding b2;
	ok(maas_spec_bind(&spec, &t2, 0, &b2, &e) == 0, "bind a table where k is text");
	ok(maas_spec_transform(&spec, &b2, &t2, 0, x, &e) == 0 && x[2] == 1, "text '10' finds its category");
	ok(maas_spec_transform(&spec, &b2, &t2, 1, x, &e) == 0 && x[0] == 0 && x[1] == 0 && x[2] == 0,
	   "unseen 'x' -> zeros");
	maas_binding_release(&b2);
	maas_table_release(&t2);
	maas_binding_release(&b);
	maas_spec_release(&spec);
	maas_table_release(&t);
}

static void test_dates(void)
{
	static const char *const names[] = {"d", "dt"};
	static const char *const cells[] = {
		"2012-01-01", "2012-01-01T06:00:00",
		"2013-03-01", "2013-03-01 18:00",
		NULL, "2013-06-01T00:00Z",
		"2012-03-01", NULL,
		"2013-13-01", "x",
	};
	struct maas_table t;
	struct maas_prep_opts o;
	struct maas_spec spec;
	struct maas_binding b;
	struct maas_err e;
	make_table(&t, names, 2, cells, 5);
	maas_prep_opts_init(&o);
	struct maas_col_opt co[2] = {{.name = "d", .type = MAAS_FT_DATE}, {.name = "dt", .type = MAAS_FT_DATE}};
	o.cols = co;
	o.ncols = 2;
	ok(fit(&t, &o, 4, 0, &spec, &b, NULL, &e) == 0, "fit dates");
	is_int(spec.nfeatures, 7 + 9, "7 date features, 9 with a time of day");
	is_str(spec.features[0], "d_year", "d_year");
	is_str(spec.features[6], "d_doy_cos", "d_doy_cos");
	is_str(spec.features[15], "dt_hour_cos", "dt_hour_cos");
	ok(!spec.cols[0].date_has_time && spec.cols[1].date_has_time, "has_time flags");
	/* 2012-01-01 is a Sunday (dow 6), month 1, day of year 0 */
	double pi = 3.14159265358979323846;
	is_near(fx(&spec, &b, &t, 0, "d_dow_sin"), sin(2 * pi * 6 / 7), 1e-6, "Sunday sin");
	is_near(fx(&spec, &b, &t, 0, "d_dow_cos"), cos(2 * pi * 6 / 7), 1e-6, "Sunday cos");
	is_near(fx(&spec, &b, &t, 0, "d_month_sin"), 0, 1e-7, "January sin");
	is_near(fx(&spec, &b, &t, 0, "d_month_cos"), 1, 1e-7, "January cos");
	is_near(fx(&spec, &b, &t, 0, "d_doy_cos"), 1, 1e-7, "1 January doy cos");
	/* 2012-03-01: leap year, day 60 of 366, a Thursday (dow 3), March */
	is_near(fx(&spec, &b, &t, 3, "d_doy_sin"), sin(2 * pi * 60 / 366), 1e-6, "1 March 2012 doy");
	is_near(fx(&spec, &b, &t, 3, "d_dow_sin"), sin(2 * pi * 3 / 7), 1e-6, "Thursday");
	is_near(fx(&spec, &b, &t, 3, "d_month_sin"), sin(2 * pi * 2 / 12), 1e-6, "March");
	/* 2013-03-01: day 59 of 365, a Friday */
	is_near(fx(&spec, &b, &t, 1, "d_doy_sin"), sin(2 * pi * 59 / 365), 1e-6, "1 March 2013 doy");
	is_near(fx(&spec, &b, &t, 1, "d_dow_sin"), sin(2 * pi * 4 / 7), 1e-6, "Friday");
	/* years of train (missing -> the median date 2012-03-01): 2012 2013 2012 2012 */
	is_near(spec.cols[0].center, 2012.25, 1e-9, "year center");
	is_near(spec.cols[0].scale_by, sqrt(0.1875), 1e-9, "year scale");
	is_near(fx(&spec, &b, &t, 0, "d_year"), -0.25 / sqrt(0.1875), 1e-6, "2012 scaled");
	is_near(fx(&spec, &b, &t, 2, "d_doy_sin"), sin(2 * pi * 60 / 366), 1e-6, "missing -> median date");
	/* hours: 06:00 -> a quarter turn; 18:00 -> three quarters */
	is_near(fx(&spec, &b, &t, 0, "dt_hour_sin"), 1, 1e-6, "06:00 sin");
	is_near(fx(&spec, &b, &t, 0, "dt_hour_cos"), 0, 1e-6, "06:00 cos");
	is_near(fx(&spec, &b, &t, 1, "dt_hour_sin"), -1, 1e-6, "18:00 sin");
	float x[32];
	ok(maas_spec_transform(&spec, &b, &t, 4, x, &e) == -1 && e.kind == MAAS_EDATA, "bad date refused");
	is_str(e.msg, "'2013-13-01' in column 'd' at 'x.csv' line 6 is not a date", "bad date message");
	maas_binding_release(&b);
	maas_spec_release(&spec);
	ok(fit(&t, &o, 5, 0, &spec, &b, NULL, &e) == -1 && e.kind == MAAS_EDATA, "bad date in training");
	maas_table_release(&t);
}

static void test_target(void)
{
	static const char *const names[] = {"x", "lab", "num", "r"};
	static const char *const cells[] = {
		"1", "b", "10", "1.5",
		"2", "a", "2", "2.5",
		"3", "b", "2", "3.5",
		"4", "a", "10", "4.5",
		"5", "c", "3", "x",
	};
	struct maas_table t;
	struct maas_prep_opts o;
	struct maas_spec spec;
	struct maas_binding b;
	struct maas_err e;
	double y;
	make_table(&t, names, 4, cells, 5);
	maas_prep_opts_init(&o);
	o.target = "lab";
	o.task = MAAS_TASK_CLASSIFICATION;
	ok(fit(&t, &o, 4, 0, &spec, &b, NULL, &e) == 0, "fit classification");
	is_int(spec.nclasses, 2, "two classes in train");
	is_str(spec.classes[0], "a", "byte-sorted a");
	is_str(spec.classes[1], "b", "byte-sorted b");
	is_int(spec.class_count[0], 2, "a count");
	ok(feature(&spec, "lab") < 0 && feature(&spec, "lab=a") < 0, "the target is not a feature");
	ok(maas_spec_target(&spec, &b, &t, 0, &y, &e) == 0 && y == 1, "b -> class 1");
	ok(maas_spec_target(&spec, &b, &t, 4, &y, &e) == -1 && e.kind == MAAS_EDATA, "unseen label");
	is_str(e.msg, "label 'c' of target 'lab' at 'x.csv' line 6 was not seen in training", "unseen label message");
	maas_binding_release(&b);
	maas_spec_release(&spec);

	o.target = "num";
	ok(fit(&t, &o, 4, 0, &spec, &b, NULL, &e) == 0, "fit numeric classes");
	is_int(spec.nclasses, 2, "2 and 10");
	is_str(spec.classes[0], "2", "numeric order 2");
	is_str(spec.classes[1], "10", "numeric order 10");
	ok(maas_spec_target(&spec, &b, &t, 0, &y, &e) == 0 && y == 1, "10 -> class 1");
	maas_binding_release(&b);
	maas_spec_release(&spec);

	o.target = "r";
	o.task = MAAS_TASK_REGRESSION;
	ok(fit(&t, &o, 4, 0, &spec, &b, NULL, &e) == -1 && e.kind == MAAS_EDATA, "r has text: not regression");
	o.task = MAAS_TASK_CLASSIFICATION;
	ok(fit(&t, &o, 2, 0, &spec, &b, NULL, &e) == 0, "fit float classes");
	is_str(spec.classes[0], "1.5", "float label text");
	maas_binding_release(&b);
	maas_spec_release(&spec);

	o.target = "x";
	o.task = MAAS_TASK_REGRESSION;
	ok(fit(&t, &o, 4, 0, &spec, &b, NULL, &e) == 0, "fit regression");
	is_near(spec.y_mean, 2.5, 1e-12, "y mean");
	is_near(spec.y_std, sqrt(1.25), 1e-12, "y std");
	ok(maas_spec_target(&spec, &b, &t, 4, &y, &e) == 0 && y == 5, "regression target value");
	maas_binding_release(&b);
	maas_spec_release(&spec);

	/* windows: the regression target is the first input */
	o.window = 2;
	ok(fit(&t, &o, 4, 0, &spec, &b, NULL, &e) == 0, "fit windows");
	ok(spec.target_in_window, "target in window");
	is_str(spec.features[0], "x", "target first");
	is_int(spec.cols[0].scale, MAAS_SCALE_STANDARD, "target standard-scaled");
	is_near(fx(&spec, &b, &t, 0, "x"), (1 - 2.5) / sqrt(1.25), 1e-6, "target as input");
	is_int(spec.window, 2, "window length");
	maas_binding_release(&b);
	maas_spec_release(&spec);
	maas_table_release(&t);
}

int main(void)
{
	test_impute_scale();
	test_train_only();
	test_boolean_constant();
	test_categorical();
	test_dates();
	test_target();
	return done_testing();
}
