/*
 * test_predict.c - the prediction engine (lib/serve/predict.h) on bundles
 * made here by bin/maas-prep and bin/maas-train: the self-test at load,
 * answers equal to the bundle's examples, records and tensors agreeing,
 * features identical to `maas-prep --apply`, every record error, refused
 * bundles, regression and GRU models, threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "core/io.h"
#include "core/mem.h"
#include "data/safetensors.h"
#include "nn/blas.h"
#include "serve/predict.h"
#include "tap.h"
#include "tools.h"


static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int make_bundles(void)
{
	const char *iris = "/usr/lib/python3/dist-packages/vega_datasets/_data/iris.json";
	const char *cars = "/usr/lib/python3/dist-packages/vega_datasets/_data/cars.json";
	return run("(cd %s && %s/maas-prep -q -t species -o iris.st %s && %s/maas-train -q -e 5 -o iris.maas iris.st "
		   "&& %s/maas-prep -q -t Miles_per_Gallon -o cars.st %s && %s/maas-train -q -e 3 -o cars.maas cars.st "
		   "&& %s/maas-prep -q -t temp_max --time-column date --window 14 -o sw.st %s/examples/data/seattle-weather.csv "
		   "&& %s/maas-train -q -e 2 -a gru:16 -o sw.maas sw.st) >/dev/null", tools_dir, tools_bin, iris, tools_bin, tools_bin, cars,
		   tools_bin, tools_bin, tools_root, tools_bin);
}

static char *path_in(const char *name)
{
	return xasprintf("%s/%s", tools_dir, name);
}

/* The lines of examples.jsonl as one JSON array. */
static json_t *examples(const char *bundle)
{
	char *p = xasprintf("%s/%s/examples.jsonl", tools_dir, bundle);
	FILE *f = fopen(p, "r");
	json_t *a = json_array();
	char line[65536];
	while (f && fgets(line, sizeof line, f))
		json_array_append_new(a, json_loads(line, 0, NULL));
	if (f)
		fclose(f);
	free(p);
	return a;
}

static json_t *inputs_of(const json_t *ex)
{
	json_t *a = json_array();
	size_t i;
	const json_t *v;
	json_array_foreach(ex, i, v)
		json_array_append(a, json_object_get(v, "input"));
	return a;
}

static int load(struct maas_served *m, const char *name, struct maas_err *e)
{
	char *p = path_in(name);
	int r = maas_served_load(m, p, NULL, e);
	free(p);
	return r;
}

/* Answers for the examples match their recorded outputs. */
static void check_examples(struct maas_served *m, const char *bundle)
{
	json_t *ex = examples(bundle), *in = inputs_of(ex);
	size_t n = json_array_size(ex), K = m->nlabels ? (size_t)m->nlabels : 1;
	struct maas_predict_ctx c;
	struct maas_prediction *p = xcalloc(n, sizeof *p);
	float *pr = xcalloc(n * K, sizeof *pr);
	struct maas_err e;

	maas_predict_ctx_init(&c, m, 3);   /* several batches */
	ok(n >= 3, "%s: %zu examples", bundle, n);
	is_int(maas_predict_records(m, &c, in, p, pr, &e), 0, "%s: predict the examples: %s", bundle, e.msg);
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_object_get(json_array_get(ex, i), "output");
		if (!m->classification) {
			double want = json_number_value(json_object_get(o, "value"));
			if (fabs(p[i].value - want) > 1e-4 * (fabs(want) > 1 ? fabs(want) : 1))
				bad++;
			continue;
		}
		if (strcmp(m->labels[p[i].label], json_string_value(json_object_get(o, "label"))))
			bad++;
		for (size_t k = 0; k < K; k++)
			if (fabs(pr[i * K + k] - json_number_value(json_object_get(json_object_get(o, "probabilities"),
										  m->labels[k]))) > 1e-6)
				bad++;
	}
	is_int(bad, 0, "%s: every answer equals examples.jsonl", bundle);

	/* the tensor path gives the same as the record path, bit for bit */
	float *x = xcalloc(n * (size_t)(m->T ? m->T : 1) * (size_t)m->features, sizeof *x);
	struct maas_prediction *q = xcalloc(n, sizeof *q);
	float *qr = xcalloc(n * K, sizeof *qr);
	size_t row = (size_t)(m->T ? m->T : 1) * (size_t)m->features;
	for (size_t i = 0; i < n; i++) {
		const json_t *one = json_array_get(in, i);
		is_int(maas_predict_features(m, &c, &one, 1), 0, "%s: features of example %zu", bundle, i + 1);
		memcpy(x + i * row, c.x, row * sizeof *x);
	}
	is_int(maas_predict_tensor(m, &c, x, (int)n, q, qr, &e), 0, "%s: tensor path: %s", bundle, e.msg);
	ok(!memcmp(p, q, n * sizeof *p) && !memcmp(pr, qr, n * K * sizeof *pr), "%s: tensor path equals record path",
	   bundle);
	free(x);
	free(q);
	free(qr);
	free(p);
	free(pr);
	maas_predict_ctx_release(&c);
	json_decref(ex);
	json_decref(in);
}

/* Features of records equal `maas-prep --apply`'s bytes. */
static void check_apply(struct maas_served *m, const char *bundle, json_t *records)
{
	char *in = xasprintf("%s/%s-apply.jsonl", tools_dir, bundle), *out = xasprintf("%s/%s-apply.st", tools_dir, bundle);
	FILE *f = fopen(in, "w");
	size_t i, n = json_array_size(records);
	json_t *v;
	json_array_foreach(records, i, v) {
		char *s = json_dumps(v, JSON_COMPACT);
		fprintf(f, "%s\n", s);
		free(s);
	}
	fclose(f);
	int rc = run("%s/maas-prep -q --apply %s/%s -o %s %s", tools_bin, tools_dir, bundle, out, in);
	is_int(rc, 0, "%s: maas-prep --apply runs", bundle);

	struct maas_st st;
	struct maas_err e;
	struct maas_predict_ctx c;
	memset(&st, 0, sizeof st);
	maas_predict_ctx_init(&c, m, (int)n);
	const json_t **inst = xcalloc(n, sizeof *inst);
	for (i = 0; i < n; i++)
		inst[i] = json_array_get(records, i);
	is_int(maas_predict_features(m, &c, inst, (int)n), 0, "%s: features of %zu records", bundle, n);
	if (maas_st_open(&st, out, &e) == 0) {
		const struct maas_tensor *x = maas_st_get(&st, "data.x");
		size_t bytes = n * (size_t)m->features * sizeof(float);
		ok(x && x->nbytes == bytes && !memcmp(x->data, c.x, bytes), "%s: features identical to --apply's "
		   "(%zu bytes)", bundle, bytes);
	} else {
		ok(0, "%s: read --apply's output: %s", bundle, e.msg);
	}
	maas_st_close(&st);
	maas_predict_ctx_release(&c);
	free(inst);
	free(in);
	free(out);
}

/* The error of one bad instance among good ones. */
static void record_error(struct maas_served *m, const char *text, const char *want, const char *name)
{
	json_error_t je;
	json_t *recs = json_loads(text, 0, &je);
	struct maas_predict_ctx c;
	struct maas_prediction p[4];
	struct maas_err e;

	if (!recs) {
		ok(0, "%s: test JSON: %s", name, je.text);
		return;
	}
	maas_predict_ctx_init(&c, m, 4);
	memset(&e, 0, sizeof e);
	int r = maas_predict_records(m, &c, recs, p, NULL, &e);
	ok(r == -1 && e.kind == MAAS_EDATA && !strcmp(e.msg, want), "%s", name);
	if (strcmp(e.msg, want))
		printf("#   got '%s'\n#  want '%s'\n", e.msg, want);
	maas_predict_ctx_release(&c);
	json_decref(recs);
}

static void test_iris(void)
{
	struct maas_served m;
	struct maas_err e;

	if (!ok(load(&m, "iris.maas", &e) == 0, "iris: loads, self-test passes: %s", e.msg))
		return;
	is_int(m.nexamples, 8, "iris: 8 self-test examples");
	is_int(m.classification, 1, "iris: classification");
	is_int(m.nlabels, 3, "iris: 3 labels");
	is_int(m.features, 4, "iris: 4 features");
	is_int(m.T, 0, "iris: tabular");
	is_str(m.version, "1", "iris: version 1 by default");
	ok(m.load_seconds > 0 && m.load_seconds < 5, "iris: load time %.4f s", m.load_seconds);
	is_str(m.labels[0], "setosa", "iris: first label");
	ok(m.model.grads == NULL, "iris: no gradient memory");
	check_examples(&m, "iris.maas");

	json_t *ex = examples("iris.maas"), *recs = inputs_of(ex);
	json_array_append_new(recs, json_pack("{s:n, s:f, s:f, s:f}", "sepalLength", "sepalWidth", 3.0,
					      "petalLength", 4.0, "petalWidth", 1.2));
	json_array_append_new(recs, json_pack("{s:s, s:s, s:f, s:f}", "sepalLength", "6.1", "sepalWidth", "NA",
					      "petalLength", 4.0, "petalWidth", 1.2));
	check_apply(&m, "iris.maas", recs);
	json_decref(recs);
	json_decref(ex);

	/* the JSON answer */
	struct maas_predict_ctx c;
	struct maas_prediction p;
	float pr[3];
	json_t *one = json_pack("[{s:f, s:f, s:f, s:f, s:s}]", "sepalLength", 5.1, "sepalWidth", 3.5, "petalLength",
				1.4, "petalWidth", 0.2, "species", "setosa");
	maas_predict_ctx_init(&c, &m, 1);
	is_int(maas_predict_records(&m, &c, one, &p, pr, &e), 0, "iris: the target may come with a record: %s", e.msg);
	json_t *j = maas_prediction_json(&m, &p, pr);
	ok(json_is_string(json_object_get(j, "label")) && json_integer_value(json_object_get(j, "class")) == p.label &&
	   json_object_size(json_object_get(j, "probabilities")) == 3, "iris: JSON answer has label, class, probabilities");
	is_near(json_real_value(json_object_get(json_object_get(j, "probabilities"), m.labels[p.label])), p.value, 1e-7,
		"iris: value is the label's probability");
	is_near((double)pr[0] + pr[1] + pr[2], 1.0, 1e-6, "iris: probabilities sum to 1");
	json_decref(j);
	j = maas_prediction_json(&m, &p, NULL);
	ok(!json_object_get(j, "probabilities"), "iris: no probabilities without probs");
	json_decref(j);
	json_decref(one);

	/* tensors: a non-finite feature */
	float x[4] = {0, 0, NAN, 0};
	is_int(maas_predict_tensor(&m, &c, x, 1, &p, NULL, &e), -1, "iris: NaN feature refused");
	is_str(e.msg, "instance 1: feature 3 is not a finite number", "iris: NaN message");
	/* more rows than the context's batch */
	float xs[5 * 4] = {0};
	struct maas_prediction ps[5];
	is_int(maas_predict_tensor(&m, &c, xs, 5, ps, NULL, &e), 0, "iris: 5 rows through a batch of 1");
	ok(ps[4].label == ps[0].label && ps[4].value == ps[0].value, "iris: same rows, same answers");
	maas_predict_ctx_release(&c);

	const char *good = "{\"sepalLength\": 5.1, \"sepalWidth\": 3.5, \"petalLength\": 1.4, \"petalWidth\": 0.2}";
	char buf[1024];
	snprintf(buf, sizeof buf, "[%s, {\"sepalLength\": 5.1, \"sepalWidth\": 3.5, \"petalLength\": 1.4}]", good);
	record_error(&m, buf, "instance 2: field 'petalWidth' is missing", "iris: missing field");
	snprintf(buf, sizeof buf, "[%s, %s, {\"sepalLength\": 5.1, \"sepalWidth\": 3.5, \"petalLength\": 1.4, "
		 "\"petalWidth\": 0.2, \"colour\": \"red\"}]", good, good);
	record_error(&m, buf, "instance 3: unknown field 'colour'", "iris: unknown field");
	snprintf(buf, sizeof buf, "[{\"sepalLength\": [5.1], \"sepalWidth\": 3.5, \"petalLength\": 1.4, "
		 "\"petalWidth\": 0.2}]");
	record_error(&m, buf, "instance 1: field 'sepalLength' is not a number, string, boolean or null",
		     "iris: nested value");
	snprintf(buf, sizeof buf, "[%s, {\"sepalLength\": 5.1, \"sepalWidth\": \"abc\", \"petalLength\": 1.4, "
		 "\"petalWidth\": 0.2}]", good);
	record_error(&m, buf, "instance 2: 'abc' in column 'sepalWidth' is not a number", "iris: mistyped field");
	snprintf(buf, sizeof buf, "[%s, 42]", good);
	record_error(&m, buf, "instance 2: not a record (a JSON object)", "iris: not an object");
	snprintf(buf, sizeof buf, "[%s, {\"sepalLength\": 1e300, \"sepalWidth\": 3.5, \"petalLength\": 1.4, "
		 "\"petalWidth\": 0.2}]", good);
	/* beyond float32: the table keeps it as text, as maas-prep --apply would */
	record_error(&m, buf, "instance 2: '1.0000000000000001e+300' in column 'sepalLength' is not a number",
		     "iris: out-of-range value");
	/* the 5th instance fails in the second batch of 4: its number is global */
	snprintf(buf, sizeof buf, "[%s, %s, %s, %s, {}]", good, good, good, good);
	record_error(&m, buf, "instance 5: field 'sepalLength' is missing", "iris: instance numbers across batches");
	record_error(&m, "{}", "instances are not a JSON array", "iris: not an array");

	/* an error in one batch leaves the context fit for the next */
	json_t *g = json_loads("[{\"sepalLength\": 5.1, \"sepalWidth\": 3.5, \"petalLength\": 1.4, "
			       "\"petalWidth\": 0.2}]", 0, NULL);
	struct maas_prediction a, b2;
	maas_predict_ctx_init(&c, &m, 2);
	maas_predict_records(&m, &c, g, &a, NULL, &e);
	json_t *bad = json_loads("[{\"sepalLength\": \"x\", \"sepalWidth\": \"y\", \"petalLength\": 1.4, "
				 "\"petalWidth\": 0.2}]", 0, NULL);
	is_int(maas_predict_records(&m, &c, bad, &b2, NULL, &e), -1, "iris: a bad batch");
	is_int(maas_predict_records(&m, &c, g, &b2, NULL, &e), 0, "iris: the next batch works");
	ok(a.label == b2.label && a.value == b2.value, "iris: and answers as before");
	is_int(c.table.cols[0].kind, MAAS_COL_NUM, "iris: the table's column is numeric again");
	json_decref(g);
	json_decref(bad);
	maas_predict_ctx_release(&c);
	maas_served_release(&m);
}

static void test_cars(void)
{
	struct maas_served m;
	struct maas_err e;

	if (!ok(load(&m, "cars.maas", &e) == 0, "cars: loads: %s", e.msg))
		return;
	is_int(m.classification, 0, "cars: regression");
	is_int(m.nlabels, 0, "cars: no labels");
	ok(m.y_std > 1 && m.y_mean > 10, "cars: target scale (mean %g, std %g)", m.y_mean, m.y_std);
	check_examples(&m, "cars.maas");

	json_t *ex = examples("cars.maas"), *recs = inputs_of(ex);
	json_array_append_new(recs, json_pack("{s:i, s:f, s:n, s:i, s:f, s:s, s:s}", "Cylinders", 4, "Displacement",
					      120.0, "Horsepower", "Weight_in_lbs", 2500, "Acceleration", 15.5, "Year",
					      "1975-01-01", "Origin", "Atlantis"));
	check_apply(&m, "cars.maas", recs);

	/* the dropped free-text column may come with a record */
	json_t *one = json_pack("[O]", json_array_get(recs, 0));
	json_object_set_new(json_array_get(one, 0), "Name", json_string("ford torino"));
	struct maas_predict_ctx c;
	struct maas_prediction p;
	maas_predict_ctx_init(&c, &m, 2);
	is_int(maas_predict_records(&m, &c, one, &p, NULL, &e), 0, "cars: a dropped column is accepted: %s", e.msg);
	is_int(p.label, -1, "cars: regression answer has no label");
	json_t *j = maas_prediction_json(&m, &p, NULL);
	is_near(json_real_value(json_object_get(j, "value")), p.value, 0, "cars: JSON answer is {\"value\": v}");
	is_int(json_object_size(j), 1, "cars: and only that");
	json_decref(j);
	json_decref(one);
	record_error(&m, "[{\"Cylinders\": 4, \"Displacement\": 120, \"Horsepower\": 90, \"Weight_in_lbs\": 2500, "
		     "\"Acceleration\": 15, \"Year\": \"not a date\", \"Origin\": \"USA\"}]",
		     "instance 1: 'not a date' in column 'Year' is not a date", "cars: a bad date");
	maas_predict_ctx_release(&c);
	json_decref(recs);
	json_decref(ex);
	maas_served_release(&m);
}

static void test_gru(void)
{
	struct maas_served m;
	struct maas_err e;

	if (!ok(load(&m, "sw.maas", &e) == 0, "gru: loads: %s", e.msg))
		return;
	is_int(m.T, 14, "gru: window of 14");
	is_int(m.model.recurrent, 1, "gru: recurrent");
	check_examples(&m, "sw.maas");

	json_t *ex = examples("sw.maas");
	json_t *win = json_deep_copy(json_object_get(json_array_get(ex, 0), "input"));
	json_t *recs = json_pack("[O, [O]]", win, json_array_get(win, 0));
	char *s = json_dumps(recs, JSON_COMPACT);
	record_error(&m, s, "instance 2: not an array of 14 records (the window)", "gru: short window");
	free(s);
	json_decref(recs);
	json_object_del(json_array_get(win, 4), "wind");
	recs = json_pack("[O]", win);
	s = json_dumps(recs, JSON_COMPACT);
	record_error(&m, s, "instance 1: record 5: field 'wind' is missing", "gru: missing field in a record");
	free(s);
	json_decref(recs);
	json_object_set_new(json_array_get(win, 4), "wind", json_string("breezy"));
	recs = json_pack("[O]", win);
	s = json_dumps(recs, JSON_COMPACT);
	record_error(&m, s, "instance 1: 'breezy' in column 'wind' in record 5 is not a number",
		     "gru: mistyped field in a record");
	free(s);
	json_decref(recs);
	json_decref(win);
	json_decref(ex);
	maas_served_release(&m);
}

/* ---- refused bundles, written with lib/bundle's writer ---- */

static int copy_bundle(const char *from, const char *to, const char *skip, const char *name, const void *p,
		       size_t n, struct maas_err *e)
{
	static const char *const files[] = {"weights.safetensors", "prep.json", "metrics.jsonl", "examples.jsonl",
					    "card.md"};
	struct maas_bundle b;
	struct maas_bundle_writer w;
	struct maas_buf buf;

	if (maas_bundle_open(&b, from, e) < 0)
		return -1;
	json_t *man = json_deep_copy(maas_bundle_manifest(&b));
	if (maas_bundle_begin(&w, to, e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		if (skip && !strcmp(files[i], skip))
			continue;
		maas_bundle_read(&b, files[i], &buf, 0, e);
		maas_bundle_add(&w, files[i], buf.data, buf.len, e);
		maas_buf_release(&buf);
	}
	if (name)
		maas_bundle_add(&w, name, p, n, e);
	int r = maas_bundle_commit(&w, man, 1, e);
	json_decref(man);
	maas_bundle_close(&b);
	return r;
}

static void test_refused(void)
{
	struct maas_served m;
	struct maas_err e;
	char *iris = path_in("iris.maas"), *bad = path_in("bad.maas");

	/* examples that disagree with the model */
	struct maas_buf ex;
	char *exp = path_in("iris.maas/examples.jsonl");
	maas_read_all(exp, &ex, 0, &e);
	free(exp);
	char *at = strstr(ex.data, "\"probabilities\":{\"setosa\":0.");
	ok(at != NULL, "refused: found a probability to change");
	if (at) {
		char *digit = at + strlen("\"probabilities\":{\"setosa\":0.");
		*digit = *digit == '9' ? '1' : (char)(*digit + 1);
	}
	is_int(copy_bundle(iris, bad, "examples.jsonl", "examples.jsonl", ex.data, ex.len, &e), 0,
	       "refused: write a bundle with a wrong example: %s", e.msg);
	is_int(maas_served_load(&m, bad, NULL, &e), -1, "refused: its self-test fails");
	is_int(e.kind, MAAS_ECONFIG, "refused: MAAS_ECONFIG");
	ok(strstr(e.msg, "self-test example 1 gives probability") && strstr(e.msg, "for 'setosa', expected"),
	   "refused: names the example: %s", e.msg);
	maas_buf_release(&ex);
	maas_served_release(&m);   /* harmless after a failed load */

	/* a tensor missing, then one of the wrong shape */
	struct maas_st st;
	memset(&st, 0, sizeof st);
	char *wp = path_in("iris.maas/weights.safetensors"), *out = path_in("w.st");
	maas_st_open(&st, wp, &e);
	struct maas_tensor *ts = xcalloc(st.n, sizeof *ts);
	memcpy(ts, st.tensors, st.n * sizeof *ts);
	const struct maas_tensor *bias = maas_st_get(&st, "4.bias");
	size_t n = 0;
	for (size_t i = 0; i < st.n; i++)
		if (strcmp(st.tensors[i].name, "4.bias"))
			ts[n++] = st.tensors[i];
	struct maas_buf w;
	maas_st_write_file(out, ts, n, NULL, NULL, 0, &e);
	maas_read_all(out, &w, 0, &e);
	is_int(copy_bundle(iris, bad, "weights.safetensors", "weights.safetensors", w.data, w.len, &e), 0,
	       "refused: write a bundle without 4.bias");
	maas_buf_release(&w);
	is_int(maas_served_load(&m, bad, NULL, &e), -1, "refused: a missing tensor");
	is_int(e.kind, MAAS_ECONFIG, "refused: MAAS_ECONFIG");
	ok(strstr(e.msg, "has no tensor '4.bias'") != NULL, "refused: names it: %s", e.msg);

	ts[n] = *bias;
	ts[n].shape[0] = 2;
	ts[n].nelem = 2;
	ts[n].nbytes = 8;
	maas_st_write_file(out, ts, n + 1, NULL, NULL, 0, &e);
	maas_read_all(out, &w, 0, &e);
	copy_bundle(iris, bad, "weights.safetensors", "weights.safetensors", w.data, w.len, &e);
	maas_buf_release(&w);
	is_int(maas_served_load(&m, bad, NULL, &e), -1, "refused: a mis-shaped tensor");
	ok(strstr(e.msg, "tensor '4.bias' is [2] but the architecture needs [3]") != NULL, "refused: says the shapes: %s",
	   e.msg);
	free(ts);
	maas_st_close(&st);

	/* a tampered file fails the digest (lib/bundle) */
	char *tp = path_in("iris.maas/card.md");
	FILE *f = fopen(tp, "a");
	fputs("x", f);
	fclose(f);
	is_int(maas_served_load(&m, iris, NULL, &e), -1, "refused: a tampered file");
	is_int(e.kind, MAAS_EDATA, "refused: MAAS_EDATA (the digest)");
	is_int(maas_served_load(&m, "/nonexistent/x.maas", NULL, &e), -1, "refused: no bundle");
	is_int(e.kind, MAAS_ENOINPUT, "refused: MAAS_ENOINPUT");
	free(tp);
	free(wp);
	free(out);
	free(iris);
	free(bad);
}

/* ---- a self-test of more examples than one forward pass takes ---- */

static void test_many_examples(void)
{
	struct maas_served m;
	struct maas_predict_ctx c;
	struct maas_err e;
	char *iris = path_in("iris.maas"), *many = path_in("many.maas");

	if (!ok(maas_served_load(&m, iris, NULL, &e) == 0, "many: load iris: %s", e.msg))
		goto out;
	/* 72 examples (the 8 nine times), every other one as features */
	json_t *ex = examples("iris.maas");
	size_t n8 = json_array_size(ex);
	maas_predict_ctx_init(&c, &m, 1);
	struct maas_buf text;
	maas_buf_init(&text);
	for (size_t k = 0; k < 72; k++) {
		json_t *one = json_deep_copy(json_array_get(ex, k % n8));
		if (k % 2) {
			const json_t *in = json_object_get(one, "input");
			maas_predict_features(&m, &c, &in, 1);
			json_t *f = json_array();
			for (int j = 0; j < m.features; j++)
				json_array_append_new(f, json_real(c.x[j]));
			json_object_del(one, "input");
			json_object_set_new(one, "features", f);
		}
		if (k == 66)   /* example 67 disagrees */
			json_object_set_new(json_object_get(json_object_get(one, "output"), "probabilities"), "setosa",
					    json_real(2));
		char *line = json_dumps(one, JSON_COMPACT);
		maas_buf_addstr(&text, line);
		maas_buf_addstr(&text, "\n");
		free(line);
		json_decref(one);
	}
	maas_predict_ctx_release(&c);
	maas_served_release(&m);
	char *at = strstr(text.data, "\"setosa\":2.0");
	is_int(copy_bundle(iris, many, "examples.jsonl", "examples.jsonl", text.data, text.len, &e), 0,
	       "many: write 72 examples with a wrong one: %s", e.msg);
	is_int(maas_served_load(&m, many, NULL, &e), -1, "many: refused");
	ok(strstr(e.msg, "self-test example 67 gives probability 0.") != NULL &&
	   strstr(e.msg, "for 'setosa', expected 2") != NULL, "many: names example 67: %s", e.msg);
	/* put it right: the other value of setosa in that example's line */
	if (at) {
		json_t *right = json_array_get(ex, 66 % n8);
		char *num = xasprintf("%.9g", json_number_value(json_object_get(json_object_get(json_object_get(right,
			"output"), "probabilities"), "setosa")));
		struct maas_buf fixed;
		maas_buf_init(&fixed);
		maas_buf_add(&fixed, text.data, (size_t)(at - text.data) + strlen("\"setosa\":"));
		maas_buf_addstr(&fixed, num);
		const char *rest = at + strlen("\"setosa\":2.0");
		maas_buf_addstr(&fixed, rest);
		is_int(copy_bundle(iris, many, "examples.jsonl", "examples.jsonl", fixed.data, fixed.len, &e), 0,
		       "many: rewrite the example");
		is_int(maas_served_load(&m, many, NULL, &e), 0, "many: 72 examples pass: %s", e.msg);
		is_int(m.nexamples, 72, "many: 72 replayed");
		maas_served_release(&m);
		maas_buf_release(&fixed);
		free(num);
	}
	maas_buf_release(&text);
	json_decref(ex);
out:
	free(iris);
	free(many);
}

/* ---- threads ---- */

struct job {
	struct maas_served *m;
	json_t *recs;
	float probs[64 * 3];
	struct maas_prediction p[64];
	int rc;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	struct maas_predict_ctx c;
	struct maas_err e;
	maas_predict_ctx_init(&c, j->m, 5);
	for (int it = 0; it < 50 && j->rc == 0; it++)
		j->rc = maas_predict_records(j->m, &c, j->recs, j->p, j->probs, &e);
	maas_predict_ctx_release(&c);
	return NULL;
}

static void test_threads(void)
{
	struct maas_served m;
	struct maas_err e;

	if (!ok(load(&m, "iris.maas", &e) == 0, "threads: load: %s", e.msg))
		return;
	json_t *ex = examples("iris.maas"), *recs = inputs_of(ex);
	struct job *a = xcalloc(3, sizeof *a);
	for (int i = 0; i < 3; i++) {
		a[i].m = &m;
		a[i].recs = recs;
	}
	worker(&a[2]);   /* the single-threaded answer */
	pthread_t t0, t1;
	pthread_create(&t0, NULL, worker, &a[0]);
	pthread_create(&t1, NULL, worker, &a[1]);
	pthread_join(t0, NULL);
	pthread_join(t1, NULL);
	size_t n = json_array_size(recs);
	ok(a[0].rc == 0 && a[1].rc == 0, "threads: both predicted");
	ok(!memcmp(a[0].p, a[2].p, n * sizeof a[0].p[0]) && !memcmp(a[1].p, a[2].p, n * sizeof a[0].p[0]) &&
	   !memcmp(a[0].probs, a[2].probs, n * 3 * sizeof(float)) && !memcmp(a[1].probs, a[2].probs, n * 3 * sizeof(float)),
	   "threads: identical answers");
	free(a);
	json_decref(recs);
	json_decref(ex);
	maas_served_release(&m);
}

int main(void)
{
	struct maas_err e;
	int setup = tools_setup("predict");
	if (setup)
		return setup < 0;
	if (!ok(make_bundles() == 0, "make bundles with maas-prep and maas-train"))
		return done_testing();
	test_iris();
	test_cars();
	test_gru();
	test_threads();
	test_many_examples();
	test_refused();
	maas_remove_tree(tools_dir, &e);
	return done_testing();
}
