/*
 * test_monitor.c - lib/serve/monitor: the decile bin rule, PSI against a
 * hand computation and numpy's, the ring of remembered predictions, drift
 * counting, and a monitor end to end on a hand-made model: the prediction
 * log's lines, feedback and live accuracy, sampling, reopening the log,
 * and the metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "serve/monitor.h"
#include "tap.h"

static void test_bin(void)
{
	double e[11] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	double ties[11] = {0, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8};
	is_int(maas_drift_bin(e, -5), 0, "below the minimum: bin 0");
	is_int(maas_drift_bin(e, 0.5), 0, "0.5: bin 0");
	is_int(maas_drift_bin(e, 1), 1, "on an edge: the upper bin");
	is_int(maas_drift_bin(e, 8.99), 8, "8.99: bin 8");
	is_int(maas_drift_bin(e, 9), 9, "9: bin 9");
	is_int(maas_drift_bin(e, 1e9), 9, "beyond the maximum: bin 9");
	is_int(maas_drift_bin(ties, 1), 3, "tied edges: past all of them");
	is_int(maas_drift_bin(ties, 0.99), 0, "below tied edges: bin 0");
}

static void test_psi(void)
{
	unsigned long cnt[3] = {30, 20, 0}, same[3] = {50, 30, 20}, none[3] = {0, 0, 0};
	double q[3] = {0.5, 0.3, 0.2};
	/* (.6-.5)ln(.6/.5) + (.4-.3)ln(.4/.3) + (1e-4-.2)ln(1e-4/.2), by hand */
	double hand = 0.1 * log(1.2) + 0.1 * log(4.0 / 3.0) + (1e-4 - 0.2) * log(1e-4 / 0.2);
	is_near(maas_psi(cnt, q, 3), hand, 1e-12, "PSI with an empty bin equals the hand computation");
	is_near(hand, 1.566420764587036, 1e-12, "the hand computation's value");
	is_near(maas_psi(same, q, 3), 0, 1e-15, "PSI of the training distribution is 0");
	is_near(maas_psi(none, q, 3), 0, 0, "PSI without counts is 0");

	/* numpy, when installed */
	FILE *f = popen("/usr/bin/python3 -c '\n"
			"import numpy as np\n"
			"c = np.array([5, 17, 0, 40, 3, 9, 12, 1, 0, 13], float)\n"
			"q = np.array([.1, .12, .08, .1, .1, .1, .1, .1, .1, .1])\n"
			"p = c / c.sum(); p[p == 0] = 1e-4; q[q == 0] = 1e-4\n"
			"print(repr(float(np.sum((p - q) * np.log(p / q)))))' 2>/dev/null", "r");
	double want = NAN;
	if (f) {
		if (fscanf(f, "%lf", &want) != 1)
			want = NAN;
		pclose(f);
	}
	if (isnan(want)) {
		ok(1, "# SKIP numpy is not installed");
	} else {
		unsigned long c[10] = {5, 17, 0, 40, 3, 9, 12, 1, 0, 13};
		double qq[10] = {.1, .12, .08, .1, .1, .1, .1, .1, .1, .1};
		is_near(maas_psi(c, qq, 10), want, 1e-12, "PSI equals numpy's");
	}
}

static void test_ring(void)
{
	struct maas_ring r;
	maas_ring_init(&r, 4, 10);
	for (unsigned long i = 1; i <= 4; i++)
		maas_ring_put(&r, i, 0, (int)i, 0, "abcdef", 6);
	ok(maas_ring_get(&r, 1, 0) && maas_ring_get(&r, 1, 0)->label == 1, "the first entry is found");
	ok(maas_ring_get(&r, 1, 0)->raw && !strcmp(maas_ring_get(&r, 1, 0)->raw, "abcdef"), "its raw text is kept");
	ok(!maas_ring_get(&r, 2, 0)->raw, "the second's is beyond the budget");
	ok(!maas_ring_get(&r, 1, 1), "an unknown index is not found");
	maas_ring_put(&r, 5, 3, 5, 2.5, "xyz", 3);
	ok(!maas_ring_get(&r, 1, 0), "the oldest is evicted when the ring is full");
	ok(maas_ring_get(&r, 5, 3) && maas_ring_get(&r, 5, 3)->value == 2.5, "the newest is found");
	ok(maas_ring_get(&r, 5, 3)->raw != NULL, "eviction gave its raw bytes back to the budget");
	is_int(r.raw_bytes, 3, "raw bytes counted");
	for (unsigned long i = 2; i <= 4; i++)
		ok(maas_ring_get(&r, i, 0) && maas_ring_get(&r, i, 0)->label == (int)i, "entry %lu survives", i);
	maas_ring_release(&r);

	/* many entries through a small ring: chains stay right */
	maas_ring_init(&r, 100, 0);
	int bad = 0;
	for (unsigned long i = 0; i < 10000; i++) {
		maas_ring_put(&r, i / 7, (uint32_t)(i % 7), (int)i, 0, NULL, 0);
		if (i >= 100 && maas_ring_get(&r, (i - 100) / 7, (uint32_t)((i - 100) % 7)))
			bad++;
		for (unsigned long k = i >= 99 ? i - 99 : 0; k <= i; k += 13)
			if (!maas_ring_get(&r, k / 7, (uint32_t)(k % 7)) ||
			    maas_ring_get(&r, k / 7, (uint32_t)(k % 7))->label != (int)k)
				bad++;
	}
	is_int(bad, 0, "10000 puts through a ring of 100: the last 100 found, older ones gone");
	maas_ring_release(&r);
}

/* A spec of two columns: x (number, deciles 0..10) and color (red 6, blue 3, one other). */
static char *cats[2] = {"red", "blue"};
static size_t cat_count[2] = {6, 3};

static void make_spec(struct maas_spec *s)
{
	memset(s, 0, sizeof *s);
	s->task = MAAS_TASK_CLASSIFICATION;
	s->target = "y";
	s->ncols = 2;
	s->cols = xcalloc(2, sizeof *s->cols);
	s->cols[0].name = "x";
	s->cols[0].type = MAAS_FT_NUMBER;
	s->cols[0].stats.count = 100;
	for (int k = 0; k <= 10; k++)
		s->cols[0].stats.edges[k] = k;
	for (int k = 0; k < 10; k++)
		s->cols[0].stats.frac[k] = 0.1;
	s->cols[1].name = "color";
	s->cols[1].type = MAAS_FT_CATEGORICAL;
	s->cols[1].cats = cats;
	s->cols[1].ncats = 2;
	s->cols[1].cat_count = cat_count;
	s->cols[1].fill_str = "red";
	s->cols[1].stats.count = 9;
	s->cols[1].stats.missing = 1;
}

static void test_drift(void)
{
	struct maas_spec s;
	struct maas_drift d;
	int seen;

	make_spec(&s);
	maas_drift_init(&d, &s);
	is_int(d.ncols, 2, "two drift columns");
	is_near(d.cols[1].q[2], 0.1, 1e-12, "the other bucket's training fraction");
	json_t *recs = json_loads("[{\"x\": 0.5, \"color\": \"red\"}, {\"x\": \"1\", \"color\": \"green\"},"
				  " {\"x\": null, \"color\": null}, {\"x\": 9.5, \"color\": 7},"
				  " {\"x\": \"abc\", \"color\": \"blue\"}, {\"x\": 99}]", 0, NULL);
	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r)
		maas_drift_observe(&d, r);
	is_int(atomic_load(&d.cols[0].cnt[0]), 1, "x: 0.5 in bin 0");
	is_int(atomic_load(&d.cols[0].cnt[1]), 1, "x: the text '1' in bin 1");
	is_int(atomic_load(&d.cols[0].cnt[9]), 2, "x: 9.5 and 99 in bin 9");
	is_int(atomic_load(&d.cols[0].missing), 1, "x: null is missing, not counted");
	is_int(atomic_load(&d.cols[1].cnt[0]), 2, "color: red, and null as the fill category red");
	is_int(atomic_load(&d.cols[1].cnt[1]), 1, "color: blue");
	is_int(atomic_load(&d.cols[1].cnt[2]), 2, "color: green and 7 are other");
	unsigned long cx[10] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 2}, cc[3] = {2, 1, 2};
	double qx[10] = {.1, .1, .1, .1, .1, .1, .1, .1, .1, .1}, qc[3] = {.6, .3, .1};
	is_near(maas_drift_psi(&d, 0, &seen), maas_psi(cx, qx, 10), 1e-12, "x's PSI");
	ok(seen, "x was seen");
	is_near(maas_drift_psi(&d, 1, &seen), maas_psi(cc, qc, 3), 1e-12, "color's PSI");
	json_decref(recs);
	maas_drift_release(&d);
	free(s.cols);
}

static int count_lines(const char *path, char lines[][1024], int max)
{
	FILE *f = fopen(path, "r");
	int n = 0;
	char buf[1024];
	if (!f)
		return -1;
	while (fgets(buf, sizeof buf, f))
		if (n < max)
			snprintf(lines[n++], 1024, "%s", buf);
		else
			n++;
	fclose(f);
	return n;
}

static void test_monitor(void)
{
	char dir[] = "/tmp/test_monitor.XXXXXX", path[64], moved[64], lines[8][1024];
	struct maas_served m;
	struct maas_monitor_opts o;
	struct maas_monitor *mon;
	struct maas_err e;
	char *labels[2] = {"a", "b"};
	json_t *ans = NULL;

	ok(mkdtemp(dir) != NULL, "a scratch directory");
	snprintf(path, sizeof path, "%s/pred.jsonl", dir);
	snprintf(moved, sizeof moved, "%s/pred.jsonl.1", dir);
	memset(&m, 0, sizeof m);
	m.name = "iris";
	m.version = "1";
	m.classification = 1;
	m.nlabels = 2;
	m.labels = labels;
	make_spec(&m.spec);

	maas_monitor_opts_init(&o);
	o.log_path = "/nonexistent/dir/pred.jsonl";
	ok(maas_monitor_new(&mon, &o, &e) == -1 && e.kind == MAAS_ECANTCREAT &&
	   strstr(e.msg, "cannot open '/nonexistent/dir/pred.jsonl'"), "an unopenable log: %s", e.msg);
	o.log_path = path;
	o.sample = 1.5;
	ok(maas_monitor_new(&mon, &o, &e) == -1 && e.kind == MAAS_EUSAGE, "a sample beyond 1 is refused");
	o.sample = 1;
	ok(maas_monitor_new(&mon, &o, &e) == 0, "a monitor with a log");

	json_t *inst = json_loads("[{\"x\": 0.5, \"color\": \"red\", \"y\": \"a\"}, {\"x\": 1.5, \"color\": \"blue\"}]",
				  0, NULL);
	struct maas_prediction p[2] = {{0, 0.875}, {1, 0.75}};
	float probs[4] = {0.875f, 0.125f, 0.25f, 0.75f};
	maas_monitor_records(mon, &m, 7, inst, p, probs);
	is_int(count_lines(path, lines, 8), 2, "two prediction lines");
	json_t *l0 = json_loads(lines[0], 0, NULL), *l1 = json_loads(lines[1], 0, NULL);
	ok(l0 && l1, "the lines are JSON");
	is_str(json_string_value(json_object_get(l0, "id")), "7/0", "line 1's id");
	is_str(json_string_value(json_object_get(l0, "model")), "iris", "line 1's model");
	is_str(json_string_value(json_object_get(l0, "version")), "1", "line 1's version");
	is_near(json_number_value(json_object_get(l0, "x")), 0.5, 0, "line 1's raw x");
	is_str(json_string_value(json_object_get(l0, "color")), "red", "line 1's raw color");
	is_str(json_string_value(json_object_get(l0, "y")), "a", "the target as sent is kept");
	is_str(json_string_value(json_object_get(l0, "prediction")), "a", "line 1's prediction");
	is_near(json_number_value(json_object_get(l0, "probability")), 0.875, 1e-9, "line 1's probability");
	is_str(json_string_value(json_object_get(l1, "prediction")), "b", "line 2's prediction");
	ok(!json_object_get(l1, "y"), "no target where none was sent");
	const char *t = json_string_value(json_object_get(l0, "time"));
	ok(t && strlen(t) == 27 && t[26] == 'Z', "an ISO time with microseconds: %s", t ? t : "");
	json_decref(l0);
	json_decref(l1);

	/* feedback */
	json_t *fb = json_loads("{\"id\": \"7/1\", \"label\": \"a\"}", 0, NULL);
	ok(maas_monitor_feedback(mon, &m, fb, &ans, &e) == 0, "feedback for 7/1");
	is_near(json_real_value(json_object_get(ans, "accuracy")), 0, 0, "accuracy 0 after a wrong prediction");
	json_decref(ans);
	json_decref(fb);
	fb = json_loads("[{\"id\": \"7/0\", \"label\": \"a\"}]", 0, NULL);
	ok(maas_monitor_feedback(mon, &m, fb, &ans, &e) == 0, "feedback as a list");
	is_near(json_real_value(json_object_get(ans, "accuracy")), 0.5, 0, "accuracy 1/2");
	is_int(json_integer_value(json_object_get(ans, "feedback_total")), 2, "two feedbacks");
	json_decref(ans);
	json_decref(fb);
	fb = json_loads("[{\"id\": \"7/0\", \"label\": \"b\"}, {\"id\": \"8/0\", \"label\": \"a\"}]", 0, NULL);
	ok(maas_monitor_feedback(mon, &m, fb, &ans, &e) == -1 && e.kind == MAAS_ENOINPUT &&
	   strstr(e.msg, "no prediction '8/0' of model 'iris' version 1 is remembered"), "an unknown id: %s", e.msg);
	json_decref(fb);
	fb = json_loads("{\"id\": \"7/0\", \"label\": \"zzz\"}", 0, NULL);
	ok(maas_monitor_feedback(mon, &m, fb, &ans, &e) == -1 && e.kind == MAAS_EDATA &&
	   strstr(e.msg, "label \"zzz\" is not one of model 'iris''s classes"), "an unknown label: %s", e.msg);
	json_decref(fb);
	fb = json_loads("{\"id\": \"seven\", \"label\": \"a\"}", 0, NULL);
	ok(maas_monitor_feedback(mon, &m, fb, &ans, &e) == -1 && e.kind == MAAS_EDATA && strstr(e.msg, "'id'"),
	   "a malformed id: %s", e.msg);
	json_decref(fb);
	fb = json_loads("{\"id\": \"7/1\", \"label\": \"b\"}", 0, NULL);
	ok(maas_monitor_feedback(mon, &m, fb, &ans, &e) == 0, "a correction for 7/1");
	is_near(json_real_value(json_object_get(ans, "accuracy")), 1, 0, "the correction replaces the first: 2/2");
	is_int(json_integer_value(json_object_get(ans, "feedback_total")), 3, "three feedbacks received");
	json_decref(ans);
	json_decref(fb);

	is_int(count_lines(path, lines, 8), 5, "the failed feedback wrote nothing; 3 labelled rows");
	json_t *l4 = json_loads(lines[4], 0, NULL);
	is_str(json_string_value(json_object_get(l4, "id")), "7/1", "the labelled row's id");
	is_near(json_number_value(json_object_get(l4, "x")), 1.5, 0, "the labelled row's raw x");
	is_str(json_string_value(json_object_get(l4, "y")), "b", "the label under the target's name");
	is_str(json_string_value(json_object_get(l4, "prediction")), "b", "the prediction it joins");
	ok(json_is_true(json_object_get(l4, "feedback")), "\"feedback\": true");
	json_decref(l4);
	json_t *l3 = json_loads(lines[3], 0, NULL);
	is_str(json_string_value(json_object_get(l3, "y")), "a", "a target sent with the instance gives way to the label");
	json_decref(l3);

	/* reopen after a rename (logrotate) */
	ok(rename(path, moved) == 0, "the log is moved away");
	ok(maas_monitor_reopen(mon, &e) == 0, "reopened");
	maas_monitor_records(mon, &m, 9, inst, p, probs);
	is_int(count_lines(path, lines, 8), 2, "new lines go to the new file");
	is_int(count_lines(moved, lines, 8), 5, "the old file is untouched");

	struct maas_buf b;
	maas_buf_init(&b);
	maas_monitor_render(mon, &b);
	maas_buf_add(&b, "", 1);
	ok(strstr(b.data, "maas_feedback_total{model=\"iris\",version=\"1\"} 3\n") != NULL, "maas_feedback_total");
	ok(strstr(b.data, "maas_live_accuracy{model=\"iris\",version=\"1\"} 1\n") != NULL, "maas_live_accuracy");
	ok(strstr(b.data, "maas_predictions_logged_total{model=\"iris\",version=\"1\"} 4\n") != NULL,
	   "maas_predictions_logged_total");
	ok(!strstr(b.data, "maas_live_mae{"), "no MAE for a classifier");
	/* served: x 0.5, 1.5 twice -> bins 0, 1 twice each; color red, blue twice */
	unsigned long cx[10] = {2, 2}, cc[3] = {2, 2, 0};
	double qx[10] = {.1, .1, .1, .1, .1, .1, .1, .1, .1, .1}, qc[3] = {.6, .3, .1};
	char want[200];
	snprintf(want, sizeof want, "maas_feature_psi{model=\"iris\",version=\"1\",feature=\"x\"} %.9g\n",
		 maas_psi(cx, qx, 10));
	ok(strstr(b.data, want) != NULL, "maas_feature_psi for x");
	snprintf(want, sizeof want, "maas_drift_psi_max{model=\"iris\",version=\"1\"} %.9g\n", maas_psi(cx, qx, 10));
	ok(strstr(b.data, want) != NULL, "maas_drift_psi_max is x's, the larger (color's is %g)", maas_psi(cc, qc, 3));
	maas_buf_release(&b);
	maas_monitor_free(mon);

	/* sampling: about half of 1000 instances, the same ones each time; none at 0 */
	json_t *many = json_array();
	struct maas_prediction *pm = xcalloc(1000, sizeof *pm);
	for (int i = 0; i < 1000; i++)
		json_array_append_new(many, json_pack("{s:f,s:s}", "x", 2.5, "color", "red"));
	o.sample = 0.5;
	unlink(path);
	ok(maas_monitor_new(&mon, &o, &e) == 0, "a monitor sampling half");
	maas_monitor_records(mon, &m, 1, many, pm, NULL);
	int n1 = count_lines(path, lines, 0);
	ok(n1 > 420 && n1 < 580, "about half logged: %d of 1000", n1);
	fb = json_loads("{\"id\": \"1/999\", \"label\": \"a\"}", 0, NULL);
	ok(maas_monitor_feedback(mon, &m, fb, &ans, &e) == 0, "feedback works for unlogged predictions too");
	json_decref(ans);
	json_decref(fb);
	maas_monitor_free(mon);
	unlink(path);
	ok(maas_monitor_new(&mon, &o, &e) == 0, "the same sample again");
	maas_monitor_records(mon, &m, 1, many, pm, NULL);
	is_int(count_lines(path, lines, 0), n1, "the same number: sampling hashes the id");
	maas_monitor_free(mon);
	o.sample = 0;
	unlink(path);
	ok(maas_monitor_new(&mon, &o, &e) == 0, "a monitor sampling nothing");
	maas_monitor_records(mon, &m, 1, many, pm, NULL);
	is_int(count_lines(path, lines, 0), 0, "nothing logged at 0");
	maas_monitor_free(mon);

	/* regression: MAE; no log */
	m.classification = 0;
	m.nlabels = 0;
	m.labels = NULL;
	m.name = "cars";
	o.log_path = NULL;
	ok(maas_monitor_new(&mon, &o, &e) == 0, "a monitor without a log");
	struct maas_prediction pr[2] = {{-1, 20.0}, {-1, 30.0}};
	maas_monitor_records(mon, &m, 3, inst, pr, NULL);
	fb = json_loads("[{\"id\": \"3/0\", \"label\": 23}, {\"id\": \"3/1\", \"label\": 29.5}]", 0, NULL);
	ok(maas_monitor_feedback(mon, &m, fb, &ans, &e) == 0, "regression feedback");
	is_near(json_real_value(json_object_get(ans, "mae")), 1.75, 1e-12, "MAE (3 + 0.5) / 2");
	json_decref(ans);
	json_decref(fb);
	fb = json_loads("{\"id\": \"3/0\", \"label\": \"x\"}", 0, NULL);
	ok(maas_monitor_feedback(mon, &m, fb, &ans, &e) == -1 && e.kind == MAAS_EDATA && strstr(e.msg, "a number"),
	   "a regression label must be a number: %s", e.msg);
	json_decref(fb);
	maas_buf_init(&b);
	maas_monitor_render(mon, &b);
	maas_buf_add(&b, "", 1);
	ok(strstr(b.data, "maas_live_mae{model=\"cars\",version=\"1\"} 1.75\n") != NULL, "maas_live_mae");
	maas_buf_release(&b);
	maas_monitor_free(mon);

	free(pm);
	json_decref(many);
	json_decref(inst);
	free(m.spec.cols);
	unlink(path);
	unlink(moved);
	rmdir(dir);
}

int main(void)
{
	test_bin();
	test_psi();
	test_ring();
	test_drift();
	test_monitor();
	return done_testing();
}
