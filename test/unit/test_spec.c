/* test_spec.c - the spec's JSON form (round trip, validation), binding,
 * transform errors, and a transform checked against numpy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prep/prep.h"
#include "tap.h"

/* fills an initialised table */
static void fill_table(struct maas_table *t, const char *const *names, size_t ncols,
		       const char *const *cells, size_t nrows)
{
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

static void make_table(struct maas_table *t, const char *const *names, size_t ncols,
		       const char *const *cells, size_t nrows)
{
	maas_table_init(t);
	fill_table(t, names, ncols, cells, nrows);
}

static int fit_rows(const struct maas_table *t, const struct maas_prep_opts *o, size_t ntrain,
		    struct maas_spec *spec, struct maas_err *e)
{
	struct maas_schema s;
	struct maas_split sp;
	memset(&sp, 0, sizeof sp);
	if (maas_infer_schema(t, o, &s, e) < 0)
		return -1;
	sp.rows[0] = calloc(ntrain + 1, sizeof(size_t));
	sp.n[0] = ntrain;
	for (size_t i = 0; i < ntrain; i++)
		sp.rows[0][i] = i;
	int rc = maas_spec_fit(t, &s, &sp, o, spec, NULL, e);
	free(sp.rows[0]);
	maas_schema_release(&s);
	return rc;
}

static char *dump(const struct maas_spec *spec)
{
	json_t *j = maas_spec_to_json(spec);
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(j);
	return s;
}

/* every column kind; 12 rows, 9 for training */
static const char *const mix_names[] = {"num", "int", "flag", "colour", "size", "when", "zip", "y"};
static const char *const mix_cells[] = {
	"0.1", "3", "yes", "red", "S", "2012-01-01", "02134", "a",
	"0.7", "1", "no", "red", "M", "2013-05-06T10:30", "02135", "b",
	NULL, "4", NULL, "blue", "L", "2014-12-31", "02134", "a",
	"1e-3", "1", "yes", "blue", "S", NULL, "02136", "c",
	"3.25", "5", "no", "green", "M", "2016-02-29T23:59:59", "02134", "a",
	"-2.5", "9", "yes", "red", "S", "2017-07-04", "02135", "b",
	"123.456", "2", "no", NULL, "L", "2018-01-01", "02134", "c",
	"0.3333333", "6", "yes", "teal", "M", "2019-03-10", "02134", "a",
	"7", NULL, "yes", "red", "XL", "2020-08-08", "02137", "b",
	/* val/test: unseen values */
	"8", "10", "no", "purple", "XS", "2021-01-01", "99999", "a",
	"9", "11", "yes", "green", "S", "1999-12-31T12:00", "02134", "b",
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, "c",
};

static void fit_mix(struct maas_table *t, struct maas_spec *spec, enum maas_unknown unknown)
{
	struct maas_prep_opts o;
	struct maas_err e;
	maas_prep_opts_init(&o);
	o.target = "y";
	o.missing_indicator = 1;
	o.clip = MAAS_CLIP_IQR;
	o.min_frequency = 2;
	o.unknown = unknown;
	static struct maas_col_opt co[3] = {
		{.name = "size", .encode = MAAS_ENCODE_ORDINAL},
		{.name = "zip", .type = MAAS_FT_CATEGORICAL},
		{.name = "int", .scale = MAAS_SCALE_ROBUST, .impute = MAAS_IMPUTE_MEDIAN},
	};
	o.cols = co;
	o.ncols = 3;
	/* zip kept as written, as --type zip=categorical makes maas-prep read it */
	maas_table_init(t);
	maas_table_want_str(t, "zip");
	size_t src = maas_table_add_source(t, "x.csv");
	for (size_t c = 0; c < 8; c++)
		maas_table_column(t, mix_names[c], strlen(mix_names[c]));
	for (size_t r = 0; r < 12; r++) {
		maas_table_begin_row(t, src, (uint32_t)(r + 2));
		for (size_t c = 0; c < 8; c++)
			if (mix_cells[r * 8 + c])
				maas_table_set_text(t, c, mix_cells[r * 8 + c], strlen(mix_cells[r * 8 + c]));
		maas_table_end_row(t);
	}
	if (fit_rows(t, &o, 9, spec, &e) < 0)
		printf("# fit_mix: %s\n", e.msg);
}

static void test_round_trip(void)
{
	for (int u = 0; u < 3; u++) {
		struct maas_table t;
		struct maas_spec s1, s2;
		struct maas_binding b1, b2;
		struct maas_err e;
		fit_mix(&t, &s1, (enum maas_unknown)u);
		ok(s1.nfeatures > 10, "fitted %zu features (unknown policy %d)", s1.nfeatures, u);
		ok(!strcmp(s1.cols[6].name, "zip") && s1.cols[6].as_text && !s1.cols[5].as_text, "zip kept as text");
		char *d1 = dump(&s1);
		json_error_t je;
		json_t *j = json_loads(d1, 0, &je);
		int rc = maas_spec_from_json(j, &s2, &e);
		ok(rc == 0, "from_json of to_json (%s)", rc ? e.msg : "ok");
		json_decref(j);
		if (rc) {
			free(d1);
			maas_spec_release(&s1);
			maas_table_release(&t);
			continue;
		}
		char *d2 = dump(&s2);
		ok(!strcmp(d1, d2), "to_json(from_json(j)) == j");
		ok(maas_spec_bind(&s1, &t, 1, &b1, &e) == 0 && maas_spec_bind(&s2, &t, 1, &b2, &e) == 0, "bind both");
		size_t d = s1.nfeatures;
		float *x1 = calloc(d, sizeof *x1), *x2 = calloc(d, sizeof *x2);
		int same = 1, errs = 0;
		for (size_t r = 0; r < t.nrows; r++) {
			struct maas_err e1, e2;
			int r1 = maas_spec_transform(&s1, &b1, &t, r, x1, &e1);
			int r2 = maas_spec_transform(&s2, &b2, &t, r, x2, &e2);
			if (r1 != r2 || (r1 == 0 && memcmp(x1, x2, d * sizeof *x1)) || (r1 && strcmp(e1.msg, e2.msg)))
				same = 0;
			errs += r1 != 0;
		}
		ok(same, "identical transforms from the read-back spec, every row");
		is_int(errs, u == MAAS_UNKNOWN_ERROR ? 1 : 0, "only policy error refuses the unseen row");
		free(x1);
		free(x2);
		free(d1);
		free(d2);
		maas_binding_release(&b1);
		maas_binding_release(&b2);
		maas_spec_release(&s1);
		maas_spec_release(&s2);
		maas_table_release(&t);
	}
}

/* loads the dump of the mixed spec, applies edit, expects from_json to fail with msg */
static void rejects(const char *edit_path, json_t *value, const char *msg)
{
	struct maas_table t;
	struct maas_spec s1, s2;
	struct maas_err e;
	fit_mix(&t, &s1, MAAS_UNKNOWN_ZERO);
	json_t *j = maas_spec_to_json(&s1);
	/* edit_path: "key/key/3/key"; value NULL deletes */
	char buf[256];
	snprintf(buf, sizeof buf, "%s", edit_path);
	json_t *parent = j, *node = j;
	char *save, *tok = strtok_r(buf, "/", &save), *last = NULL;
	while (tok) {
		parent = node;
		last = tok;
		node = json_is_array(parent) ? json_array_get(parent, strtoul(tok, NULL, 10)) : json_object_get(parent, tok);
		tok = strtok_r(NULL, "/", &save);
	}
	if (json_is_array(parent)) {
		if (value)
			json_array_set_new(parent, strtoul(last, NULL, 10), value);
		else
			json_array_remove(parent, strtoul(last, NULL, 10));
	} else {
		if (value)
			json_object_set_new(parent, last, value);
		else
			json_object_del(parent, last);
	}
	int rc = maas_spec_from_json(j, &s2, &e);
	ok(rc == -1 && e.kind == MAAS_ECONFIG, "rejects edit of %s", edit_path);
	if (rc == 0)
		maas_spec_release(&s2);
	else
		is_str(e.msg, msg, "message for %s", edit_path);
	ok(s2.ncols == 0 && s2.cols == NULL, "spec left empty");
	json_decref(j);
	maas_spec_release(&s1);
	maas_table_release(&t);
}

static void test_rejects(void)
{
	/* columns: num int flag colour size when zip */
	rejects("columns/0/scale/method", json_string("zscore"),
		"prep spec: columns[0].scale.method: unknown value 'zscore'");
	rejects("format", json_string("maas-prep/2"),
		"prep spec: format: unsupported 'maas-prep/2' (this version reads maas-prep/1)");
	rejects("format", NULL, "prep spec: format: missing");
	rejects("columns/1/name", NULL, "prep spec: columns[1].name: missing");
	rejects("columns/1/name", json_integer(3), "prep spec: columns[1].name: expected a string");
	rejects("columns/0/scale/scale", json_real(0), "prep spec: columns[0].scale.scale: must not be 0");
	rejects("columns/0/type", json_string("text"), "prep spec: columns[0].type: unknown value 'text'");
	rejects("columns/0/impute/value", json_string("x"), "prep spec: columns[0].impute.value: expected a number");
	rejects("columns/0/clip", json_pack("{s:f, s:f}", "lo", 2.0, "hi", 1.0),
		"prep spec: columns[0].clip: lo 2 is above hi 1");
	rejects("columns/0/stats/edges/3", json_string("x"), "prep spec: columns[0].stats.edges[3]: expected a number");
	rejects("columns/0/stats/frac/9", NULL, "prep spec: columns[0].stats.frac: expected 10 entries, found 9");
	rejects("columns/3/categories/1", json_string("red"), "prep spec: columns[3].categories[1]: 'red' is given twice");
	rejects("columns/3/counts/0", NULL, "prep spec: columns[3].counts: expected 2 entries, found 1");
	rejects("columns/3/unknown", json_string("ignore"), "prep spec: columns[3].unknown: unknown value 'ignore'");
	rejects("columns/3/other", json_false(), "prep spec: columns[3].folded: folded categories need \"other\": true");
	rejects("columns/3/features/0", json_string("colour=pink"),
		"prep spec: columns[3].features[0]: expected 'colour=red', found 'colour=pink'");
	rejects("features/0", json_string("zz"), "prep spec: features[0]: expected 'num', found 'zz'");
	rejects("columns/2/impute/value", json_real(0.5), "prep spec: columns[2].impute.value: expected 0 or 1");
	rejects("columns/5/has_time", json_string("yes"), "prep spec: columns[5].has_time: expected true or false");
	rejects("columns/6", json_string("x"), "prep spec: columns[6]: expected an object");
	rejects("task", json_string("clustering"), "prep spec: task: unknown value 'clustering'");
	rejects("target/classes/0", json_integer(1), "prep spec: target.classes[0]: expected a string");
	rejects("window", json_pack("{s:i, s:i, s:i, s:b}", "length", 0, "horizon", 1, "stride", 1,
				    "target_in_window", 0), "prep spec: window.length: must be at least 1");
	rejects("dropped", json_string("x"), "prep spec: dropped: expected an array");
}

static void test_bind_errors(void)
{
	struct maas_table t, n;
	struct maas_spec s;
	struct maas_binding b;
	struct maas_err e;
	fit_mix(&t, &s, MAAS_UNKNOWN_OTHER);

	/* columns in another order, an extra column, no target */
	static const char *const names[] = {"extra", "zip", "when", "size", "colour", "flag", "int", "num"};
	static const char *const cells[] = {
		"z", "02134", "2012-01-01", "S", "red", "yes", "3", "0.1",
		"z", "02135", "2013-05-06T10:30", "M", "red", "no", "abc", "0.7",
	};
	maas_table_init(&n);
	maas_spec_prepare_table(&s, &n);
	fill_table(&n, names, 8, cells, 2);
	ok(maas_spec_bind(&s, &n, 1, &b, &e) == -1 && e.kind == MAAS_EDATA, "bind without the target, needed");
	is_str(e.msg, "input has no column 'y' (the spec's target)", "missing target message");
	ok(maas_spec_bind(&s, &n, 0, &b, &e) == 0, "bind in another order without the target");
	float x1[64], x2[64];
	struct maas_binding bt;
	ok(maas_spec_bind(&s, &t, 1, &bt, &e) == 0, "bind the training table");
	ok(maas_spec_transform(&s, &b, &n, 0, x1, &e) == 0 && maas_spec_transform(&s, &bt, &t, 0, x2, &e) == 0 &&
	   !memcmp(x1, x2, s.nfeatures * sizeof *x1), "same row, other column order: same features");
	ok(maas_spec_transform(&s, &b, &n, 1, x1, &e) == -1 && e.kind == MAAS_EDATA, "text in a number column");
	is_str(e.msg, "'abc' in column 'int' at 'x.csv' line 3 is not a number", "wrong type message");
	double y;
	ok(maas_spec_target(&s, &b, &n, 0, &y, &e) == -1 && e.kind == MAAS_EDATA, "target of an unbound target");
	maas_binding_release(&b);
	maas_binding_release(&bt);
	maas_table_release(&n);

	static const char *const names2[] = {"num", "int", "flag", "colour", "size", "when"};
	static const char *const cells2[] = {"1", "2", "yes", "red", "S", "2012-01-01"};
	make_table(&n, names2, 6, cells2, 1);
	ok(maas_spec_bind(&s, &n, 0, &b, &e) == -1 && e.kind == MAAS_EDATA, "bind without an input column");
	is_str(e.msg, "input has no column 'zip' (the spec needs it)", "missing column message");
	maas_table_release(&n);

	/* without prepare_table zip reads as the number 2134, which is no category */
	make_table(&n, mix_names, 8, mix_cells, 1);
	ok(n.cols[6].kind == MAAS_COL_NUM, "zip read as a number");
	ok(maas_spec_bind(&s, &n, 1, &b, &e) == 0 && maas_spec_transform(&s, &b, &n, 0, x1, &e) == 0 &&
	   maas_spec_bind(&s, &t, 1, &bt, &e) == 0 && maas_spec_transform(&s, &bt, &t, 0, x2, &e) == 0,
	   "transform unprepared table");
	long z = -1;
	for (size_t i = 0; i < s.nfeatures; i++)
		if (!strcmp(s.features[i], "zip=02134"))
			z = (long)i;
	ok(z >= 0 && x2[z] == 1 && x1[z] == 0, "02134 lost without prepare_table");
	maas_binding_release(&b);
	maas_binding_release(&bt);
	maas_table_release(&n);
	maas_spec_release(&s);
	maas_table_release(&t);
}

/* standard scaling with mean imputation and z-score clipping, against numpy */
static void test_numpy(void)
{
	if (access("/usr/bin/python3", X_OK)) {
		ok(1, "# SKIP no /usr/bin/python3");
		return;
	}
	enum { N = 200, NTRAIN = 150 };
	static char cells[N][2][32];
	const char *ptr[N * 2];
	unsigned s = 12345;
	FILE *f = fopen("/tmp/maas_test_spec_numpy.csv", "w");
	for (int r = 0; r < N; r++) {
		s = s * 1103515245u + 12345u;
		double v = ((s >> 8) % 100000) / 1000.0 - 30;
		s = s * 1103515245u + 12345u;
		int missing = (s >> 8) % 10 == 0;
		snprintf(cells[r][0], 32, "%.3f", v * v / 10);
		memcpy(cells[r][1], missing ? "" : cells[r][0], missing ? 1 : strlen(cells[r][0]) + 1);
		ptr[r * 2] = cells[r][1];
		ptr[r * 2 + 1] = (s >> 12) % 2 ? "u" : "v";
		fprintf(f, "%s\n", cells[r][1]);
	}
	fclose(f);
	static const char *const names[] = {"v", "w"};
	struct maas_table t;
	struct maas_prep_opts o;
	struct maas_spec spec;
	struct maas_binding b;
	struct maas_err e;
	make_table(&t, names, 2, ptr, N);
	maas_prep_opts_init(&o);
	o.clip = MAAS_CLIP_ZSCORE;
	o.clip_k = 2;
	ok(fit_rows(&t, &o, NTRAIN, &spec, &e) == 0 && maas_spec_bind(&spec, &t, 0, &b, &e) == 0, "fit for numpy");
	FILE *py = popen("/usr/bin/python3 -c '"
			 "import numpy as np\n"
			 "raw = [l.strip() for l in open(\"/tmp/maas_test_spec_numpy.csv\")]\n"
			 "x = np.array([float(np.float32(v)) if v else np.nan for v in raw])\n"
			 "tr = x[:150]\n"
			 "ok = tr[~np.isnan(tr)]\n"
			 "m, sd = ok.mean(), ok.std()\n"
			 "lo, hi = m - 2 * sd, m + 2 * sd\n"
			 "w = np.clip(np.where(np.isnan(tr), m, tr), lo, hi)\n"
			 "c, k = w.mean(), w.std()\n"
			 "y = (np.clip(np.where(np.isnan(x), m, x), lo, hi) - c) / k\n"
			 "print(\"%.17g %.17g %.17g %.17g\" % (m, lo, c, k))\n"
			 "for v in y.astype(np.float32): print(\"%.9g\" % v)\n"
			 "'", "r");
	double m, lo, c, k;
	int got = fscanf(py, "%lf %lf %lf %lf", &m, &lo, &c, &k);
	ok(got == 4, "numpy ran");
	is_near(spec.cols[0].fill, m, 1e-9 * fabs(m), "mean matches numpy");
	is_near(spec.cols[0].lo, lo, 1e-9 * fabs(lo) + 1e-12, "clip bound matches numpy");
	is_near(spec.cols[0].center, c, 1e-9 * fabs(c), "center matches numpy");
	is_near(spec.cols[0].scale_by, k, 1e-9 * k, "scale matches numpy");
	int close = 1;
	double worst = 0;
	for (int r = 0; r < N; r++) {
		float x[8], want;
		if (fscanf(py, "%f", &want) != 1 || maas_spec_transform(&spec, &b, &t, (size_t)r, x, &e) < 0) {
			close = 0;
			break;
		}
		double d = fabs((double)x[0] - want);
		if (d > worst)
			worst = d;
		if (d > 1e-6 * (1 + fabs(want)))
			close = 0;
	}
	pclose(py);
	ok(close, "all %d rows agree with numpy (worst %.3g)", N, worst);
	maas_binding_release(&b);
	maas_spec_release(&spec);
	maas_table_release(&t);
	unlink("/tmp/maas_test_spec_numpy.csv");
}

static void test_window_json(void)
{
	static const char *const names[] = {"t", "y", "z"};
	static const char *const cells[] = {"1", "1.5", "a", "2", "2.5", "b", "3", "0.5", "a", "4", "9.25", "b"};
	struct maas_table t;
	struct maas_prep_opts o;
	struct maas_spec s1, s2;
	struct maas_err e;
	make_table(&t, names, 3, cells, 4);
	maas_prep_opts_init(&o);
	o.target = "y";
	o.window = 2;
	o.horizon = 1;
	o.stride = 1;
	ok(fit_rows(&t, &o, 4, &s1, &e) == 0, "fit windowed");
	json_t *j = maas_spec_to_json(&s1);
	ok(maas_spec_from_json(j, &s2, &e) == 0, "window round trip");
	ok(s2.target_in_window && s2.window == 2 && s2.horizon == 1 && s2.stride == 1, "window fields");
	is_near(s2.y_mean, s1.y_mean, 0, "y mean exact");
	is_near(s2.cols[0].scale_by, s1.cols[0].scale_by, 0, "scale exact");
	maas_spec_release(&s2);
	json_object_set_new(j, "window", json_null());
	ok(maas_spec_from_json(j, &s2, &e) == -1, "target as input without a window");
	is_str(e.msg, "prep spec: columns[0]: the target 'y' cannot be an input", "message");
	json_decref(j);
	maas_spec_release(&s1);
	maas_table_release(&t);
}

int main(void)
{
	test_round_trip();
	test_rejects();
	test_bind_errors();
	test_numpy();
	test_window_json();
	return done_testing();
}
