/* test_metrics.c - metrics against hand-computed values and against
 * scikit-learn when /usr/bin/python3 can import it (test/tools/sk_metrics.py).
 * Run from the repository root. */
#include <stdlib.h>
#include <unistd.h>

#include "core/mem.h"
#include "nn/metrics.h"
#include "tap.h"

static char tmpdir[] = "/tmp/maas-test-metrics-XXXXXX";

/* ---- hand-computed ---- */

static void test_classification_hand(void)
{
	struct maas_metrics m;
	maas_metrics_init(&m, 1, 3);
	/* predictions 0,1,1,2,0,1 (argmax); labels 0,1,2,2,1,1 */
	const float p[] = {
		0.7f, 0.2f, 0.1f,
		0.1f, 0.8f, 0.1f,
		0.2f, 0.5f, 0.3f,
		0.1f, 0.1f, 0.8f,
		0.6f, 0.3f, 0.1f,
		0.25f, 0.5f, 0.25f,
	};
	const double y[] = { 0, 1, 2, 2, 1, 1 };
	maas_metrics_add(&m, p, y, 2, 1.0);     /* two batches: 2 and 4 samples */
	maas_metrics_add(&m, p + 6, y + 2, 4, 2.5);
	is_int(m.n, 6, "six samples");
	is_near(maas_metrics_loss(&m), (2 * 1.0 + 4 * 2.5) / 6, 1e-15, "loss weighted by batch size");
	is_near(maas_metrics_accuracy(&m), 4.0 / 6, 1e-15, "accuracy 4/6");
	/* confusion rows true, columns predicted:
	 *   0: [1 0 0]   1: [1 2 0]   2: [0 1 1]
	 * F1 = 2tp/(2tp+fp+fn): class 0: 2/(2+1+0) = 2/3; class 1: 4/(4+1+1) = 2/3;
	 * class 2: 2/(2+0+1) = 2/3 -> macro 2/3 */
	const size_t want_conf[9] = { 1, 0, 0, 1, 2, 0, 0, 1, 1 };
	ok(!memcmp(m.confusion, want_conf, sizeof want_conf), "confusion matrix");
	is_near(maas_metrics_macro_f1(&m), 2.0 / 3, 1e-15, "macro-F1 2/3");
	/* -log of p[label] (each row sums to 1 in float, to 1e-7) */
	double ll = -(log(0.7) + log(0.8) + log(0.3) + log(0.8) + log(0.3) + log(0.5)) / 6;
	is_near(maas_metrics_logloss(&m), ll, 1e-7, "log-loss");
	ok(isnan(maas_metrics_auc(&m)), "no AUC for three classes");
	ok(isnan(maas_metrics_rmse(&m)) && isnan(maas_metrics_r2(&m)), "no regression metrics");

	json_t *j = maas_metrics_json(&m, 1);
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
	is_str(s, "{\"loss\":2.0,\"accuracy\":0.666667,\"macro_f1\":0.666667,\"logloss\":0.650676,"
		  "\"confusion\":[[1,0,0],[1,2,0],[0,1,1]]}", "json with confusion");
	free(s);
	json_decref(j);
	j = maas_metrics_json(&m, 0);
	ok(!json_object_get(j, "confusion") && !json_object_get(j, "auc") && json_object_size(j) == 4,
	   "json without confusion has four keys");
	json_decref(j);

	maas_metrics_reset(&m);
	is_int(m.n, 0, "reset: no samples");
	ok(isnan(maas_metrics_accuracy(&m)) && isnan(maas_metrics_loss(&m)) &&
	   isnan(maas_metrics_macro_f1(&m)) && isnan(maas_metrics_logloss(&m)), "reset: metrics are NaN");
	j = maas_metrics_json(&m, 0);
	s = json_dumps(j, JSON_COMPACT);
	is_str(s, "{\"loss\":null,\"accuracy\":null,\"macro_f1\":null,\"logloss\":null}", "empty json has nulls");
	free(s);
	json_decref(j);
	maas_metrics_add(&m, p, y, 1, 0.5);
	is_near(maas_metrics_accuracy(&m), 1, 0, "accumulates again after reset");
	is_int(m.confusion[0], 1, "confusion restarted");
	maas_metrics_add(&m, p, y, 0, 9.0);
	is_int(m.n, 1, "an empty batch adds nothing");
	maas_metrics_release(&m);
	ok(m.confusion == NULL, "release frees the confusion matrix");
}

static void test_f1_edges(void)
{
	struct maas_metrics m;
	maas_metrics_init(&m, 1, 4);
	/* labels 0,1,1,0; predictions 0,1,0,0; classes 2 and 3 never occur:
	 * F1 0: 4/(4+1) = 0.8; F1 1: 2/(2+1) = 2/3; classes 2, 3 score 0 and
	 * count in the mean (scikit-learn, labels=range(4), zero_division=0) */
	const float p[] = { .9f, .1f, 0, 0, .1f, .9f, 0, 0, .6f, .4f, 0, 0, .7f, .1f, .1f, .1f };
	const double y[] = { 0, 1, 1, 0 };
	maas_metrics_add(&m, p, y, 4, 0);
	is_near(maas_metrics_macro_f1(&m), (0.8 + 2.0 / 3) / 4, 1e-15, "absent classes count 0 in macro-F1");
	maas_metrics_release(&m);

	/* a class present but never predicted: F1 0 */
	maas_metrics_init(&m, 1, 3);
	const float q[] = { .5f, .4f, .1f, .2f, .7f, .1f, .6f, .3f, .1f };
	const double yq[] = { 0, 1, 2 };
	maas_metrics_add(&m, q, yq, 3, 0);
	/* class 0: tp 1 fp 1 -> 2/3; class 1: 1; class 2: 0 */
	is_near(maas_metrics_macro_f1(&m), (2.0 / 3 + 1) / 3, 1e-15, "never-predicted class scores 0");
	maas_metrics_release(&m);

	/* ties in the probabilities pick the first; invalid labels are skipped */
	maas_metrics_init(&m, 1, 2);
	const float t[] = { .5f, .5f, .5f, .5f, .2f, .8f, .3f, .7f, NAN, .4f };
	const double yt[] = { 0, 1, 1, 2, 0.5 };
	maas_metrics_add(&m, t, yt, 5, 1.0);
	is_int(m.skipped, 2, "labels 2 and 0.5 are skipped for K=2");
	is_int(m.n, 5, "skipped samples still count in n");
	is_near(maas_metrics_loss(&m), 1.0, 0, "and in the loss");
	is_near(maas_metrics_accuracy(&m), 2.0 / 3, 1e-15, "a tie predicts the first class");
	maas_metrics_release(&m);

	maas_metrics_init(&m, 1, 2);
	const float nanrow[] = { NAN, .3f };
	const double yn[] = { 1 };
	maas_metrics_add(&m, nanrow, yn, 1, 1.0);
	is_near(maas_metrics_accuracy(&m), 1.0, 0, "NaN never wins the argmax");
	ok(isnan(maas_metrics_auc(&m)), "AUC needs both classes");
	maas_metrics_release(&m);
}

static void test_logloss_clip(void)
{
	struct maas_metrics m;
	maas_metrics_init(&m, 1, 2);
	const float p[] = { 0.0f, 1.0f };
	const double y[] = { 0 };
	maas_metrics_add(&m, p, y, 1, 0);
	/* clipped to 1e-15 and 1-1e-15, which sum to 1 */
	is_near(maas_metrics_logloss(&m), -log(1e-15), 1e-9, "p=0 for the label clips to 1e-15");
	maas_metrics_release(&m);

	maas_metrics_init(&m, 1, 2);
	const float u[] = { 0.2f, 0.2f };       /* not normalised: divided by the sum */
	maas_metrics_add(&m, u, y, 1, 0);
	is_near(maas_metrics_logloss(&m), log(2.0), 1e-12, "rows are normalised");
	maas_metrics_release(&m);
}

static void test_auc_hand(void)
{
	struct maas_metrics m;
	maas_metrics_init(&m, 1, 2);
	/* negatives 0.1, 0.5; positives 0.5, 0.5, 0.9: (1.5 + 1.5 + 2) / 6 */
	const float p[] = { .9f, .1f, .5f, .5f, .5f, .5f, .5f, .5f, .1f, .9f };
	const double y[] = { 0, 0, 1, 1, 1 };
	maas_metrics_add(&m, p, y, 3, 0);
	maas_metrics_add(&m, p + 6, y + 3, 2, 0);
	is_near(maas_metrics_auc(&m), 5.0 / 6, 1e-15, "AUC with ties counts half");
	json_t *j = maas_metrics_json(&m, 0);
	is_near(json_real_value(json_object_get(j, "auc")), 5.0 / 6, 1e-15, "json has auc for K=2");
	json_decref(j);
	maas_metrics_reset(&m);
	const float perfect[] = { .9f, .1f, .8f, .2f, .3f, .7f, .1f, .9f };
	const double yp[] = { 0, 0, 1, 1 };
	maas_metrics_add(&m, perfect, yp, 4, 0);
	is_near(maas_metrics_auc(&m), 1.0, 0, "separated: AUC 1");
	maas_metrics_reset(&m);
	const double yr[] = { 1, 1, 0, 0 };
	maas_metrics_add(&m, perfect, yr, 4, 0);
	is_near(maas_metrics_auc(&m), 0.0, 0, "reversed: AUC 0");
	maas_metrics_reset(&m);
	const float same[] = { .5f, .5f, .5f, .5f, .5f, .5f };
	const double ys[] = { 0, 1, 1 };
	maas_metrics_add(&m, same, ys, 3, 0);
	is_near(maas_metrics_auc(&m), 0.5, 0, "all tied: AUC 0.5");
	maas_metrics_reset(&m);
	const float zeros[] = { 1, -0.0f, 1, 0.0f };
	const double yz[] = { 1, 0 };
	maas_metrics_add(&m, zeros, yz, 2, 0);
	is_near(maas_metrics_auc(&m), 0.5, 0, "-0 and +0 tie");
	maas_metrics_reset(&m);
	const float nan[] = { .5f, .5f, NAN, NAN };
	const double yn[] = { 0, 1 };
	maas_metrics_add(&m, nan, yn, 2, 0);
	ok(isnan(maas_metrics_auc(&m)), "a NaN score gives a NaN AUC");
	j = maas_metrics_json(&m, 0);
	ok(json_is_null(json_object_get(j, "auc")), "and null in json");
	json_decref(j);
	maas_metrics_reset(&m);
	maas_metrics_add(&m, perfect, yp, 2, 0);
	ok(isnan(maas_metrics_auc(&m)), "one class: AUC NaN");
	maas_metrics_release(&m);
}

static void test_regression_hand(void)
{
	struct maas_metrics m;
	maas_metrics_init(&m, 0, 7);
	is_int(m.K, 1, "regression has K=1");
	/* errors .5, 0, -.5, 1: SSres 1.5; mean 2.5, SStot 5 */
	const float p[] = { 1.5f, 2, 2.5f, 5 };
	const double y[] = { 1, 2, 3, 4 };
	maas_metrics_add(&m, p, y, 1, 0.25);
	maas_metrics_add(&m, p + 1, y + 1, 3, 0.5);
	is_near(maas_metrics_rmse(&m), sqrt(1.5 / 4), 1e-15, "rmse sqrt(1.5/4)");
	is_near(maas_metrics_mae(&m), 0.5, 1e-15, "mae 0.5");
	is_near(maas_metrics_r2(&m), 0.7, 1e-15, "r2 1 - 1.5/5");
	is_near(maas_metrics_loss(&m), (0.25 + 1.5) / 4, 1e-15, "loss");
	ok(isnan(maas_metrics_accuracy(&m)) && isnan(maas_metrics_auc(&m)), "no classification metrics");
	json_t *j = maas_metrics_json(&m, 1);
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
	is_str(s, "{\"loss\":0.4375,\"rmse\":0.612372,\"mae\":0.5,\"r2\":0.7}", "regression json");
	free(s);
	json_decref(j);

	/* far from zero: Welford keeps R^2 exact where sum-of-squares would not */
	maas_metrics_reset(&m);
	float pb[4];
	double yb[4];
	for (int i = 0; i < 4; i++) {
		pb[i] = 1e6f + p[i];
		yb[i] = 1e6 + y[i];
	}
	maas_metrics_add(&m, pb, yb, 4, 0);
	is_near(maas_metrics_r2(&m), 0.7, 1e-12, "r2 of targets near 1e6");

	/* constant target: 1 if exact, else 0 (scikit-learn's force_finite) */
	maas_metrics_reset(&m);
	const float c[] = { 3, 3, 3 };
	const double yc[] = { 3, 3, 3 };
	maas_metrics_add(&m, c, yc, 3, 0);
	is_near(maas_metrics_r2(&m), 1.0, 0, "constant target predicted exactly: r2 1");
	maas_metrics_reset(&m);
	const float c2[] = { 3, 4, 3 };
	maas_metrics_add(&m, c2, yc, 3, 0);
	is_near(maas_metrics_r2(&m), 0.0, 0, "constant target missed: r2 0");
	maas_metrics_reset(&m);
	ok(isnan(maas_metrics_r2(&m)) && isnan(maas_metrics_rmse(&m)) && isnan(maas_metrics_mae(&m)),
	   "no samples: NaN");
	maas_metrics_release(&m);
}

/* ---- scikit-learn ---- */

static unsigned long long lcg = 88172645463325252ULL;
static double unif(void)
{
	lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(lcg >> 11) / 9007199254740992.0;
}

struct sk_case {
	const char *name;
	int classification, K, n;
	float *p;
	double *y;
};

static void make_case(struct sk_case *c, const char *name, int classification, int K, int n, int kind)
{
	c->name = name;
	c->classification = classification;
	c->K = classification ? K : 1;
	c->n = n;
	c->p = xmallocarray((size_t)n * c->K, sizeof *c->p);
	c->y = xmallocarray((size_t)n, sizeof *c->y);
	for (int i = 0; i < n; i++) {
		if (!classification) {
			c->y[i] = kind == 1 ? 7.25 : 100 + 10 * unif();
			c->p[i] = (float)(kind == 1 ? 7.25 + (i == 3) : c->y[i] + 3 * (unif() - 0.5));
			continue;
		}
		int label = (int)(unif() * (kind == 2 ? K - 1 : K));
		double sum = 0, e[16];
		for (int k = 0; k < K; k++) {
			e[k] = exp(3 * unif() + (k == label ? 1.5 : 0));
			if (kind == 1 && k == K - 1)
				e[k] = 1e-3;            /* the last class is never predicted */
			if (kind == 2 && k == K - 1)
				e[k] = 0;               /* and never the label: absent from both */
			sum += e[k];
		}
		for (int k = 0; k < K; k++)
			c->p[(size_t)i * K + k] = (float)(e[k] / sum);
		if (kind == 3)                  /* binary scores on a coarse grid: many ties */
			c->p[(size_t)i * K + 1] = (float)(floor(c->p[(size_t)i * K + 1] * 8) / 8),
			c->p[(size_t)i * K] = 1 - c->p[(size_t)i * K + 1];
		c->y[i] = label;
	}
	if (kind == 1)
		c->y[0] = K - 1;                        /* ... but it occurs as a label */
}

static int have_sklearn(void)
{
	return access("/usr/bin/python3", X_OK) == 0 && access("test/tools/sk_metrics.py", R_OK) == 0 &&
	       system("/usr/bin/python3 -c 'import sklearn' >/dev/null 2>&1") == 0;
}

static void near_key(json_t *ref, const char *case_name, const char *key, double got, double tol)
{
	json_t *v = json_object_get(ref, key);
	if (json_is_null(v)) {
		ok(isnan(got), "sklearn %s: %s is undefined for both", case_name, key);
		return;
	}
	if (!ok(json_is_number(v), "sklearn %s: %s present", case_name, key))
		return;
	is_near(got, json_number_value(v), tol, "sklearn %s: %s", case_name, key);
}

static void test_sklearn(void)
{
	if (!have_sklearn()) {
		printf("ok %d # skip /usr/bin/python3 cannot import sklearn\n", ++tap_n);
		return;
	}
	struct sk_case cases[8];
	int nc = 0;
	make_case(&cases[nc++], "multiclass", 1, 5, 400, 0);
	make_case(&cases[nc++], "never_predicted", 1, 4, 300, 1);
	make_case(&cases[nc++], "absent_class", 1, 4, 300, 2);
	make_case(&cases[nc++], "binary", 1, 2, 500, 0);
	make_case(&cases[nc++], "binary_ties", 1, 2, 500, 3);
	make_case(&cases[nc++], "regression", 0, 1, 300, 0);
	make_case(&cases[nc++], "constant_target", 0, 1, 10, 1);

	json_t *arr = json_array();
	for (int c = 0; c < nc; c++) {
		json_t *o = json_object(), *p = json_array(), *y = json_array();
		json_object_set_new(o, "name", json_string(cases[c].name));
		for (int i = 0; i < cases[c].n; i++) {
			if (cases[c].classification) {
				json_t *row = json_array();
				for (int k = 0; k < cases[c].K; k++)
					json_array_append_new(row, json_real(cases[c].p[(size_t)i * cases[c].K + k]));
				json_array_append_new(p, row);
				json_array_append_new(y, json_integer((json_int_t)cases[c].y[i]));
			} else {
				json_array_append_new(p, json_real(cases[c].p[i]));
				json_array_append_new(y, json_real(cases[c].y[i]));
			}
		}
		if (cases[c].classification)
			json_object_set_new(o, "K", json_integer(cases[c].K));
		json_object_set_new(o, cases[c].classification ? "probs" : "pred", p);
		json_object_set_new(o, "y", y);
		json_array_append_new(arr, o);
	}
	char *in = xasprintf("%s/cases.json", tmpdir), *out = xasprintf("%s/sk.json", tmpdir);
	json_dump_file(arr, in, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(arr);
	char *cmd = xasprintf("/usr/bin/python3 test/tools/sk_metrics.py '%s' >'%s'", in, out);
	int st = system(cmd);
	json_t *ref = st == 0 ? json_load_file(out, 0, NULL) : NULL;
	free(cmd);
	if (ok(ref != NULL, "sk_metrics.py runs")) {
		for (int c = 0; c < nc; c++) {
			struct sk_case *k = &cases[c];
			json_t *r = json_object_get(ref, k->name);
			struct maas_metrics m;
			maas_metrics_init(&m, k->classification, k->K);
			/* in uneven batches */
			for (int i = 0; i < k->n; i += 37) {
				int B = k->n - i < 37 ? k->n - i : 37;
				maas_metrics_add(&m, k->p + (size_t)i * k->K, k->y + i, B, 0);
			}
			if (k->classification) {
				near_key(r, k->name, "accuracy", maas_metrics_accuracy(&m), 1e-12);
				near_key(r, k->name, "macro_f1", maas_metrics_macro_f1(&m), 1e-12);
				near_key(r, k->name, "logloss", maas_metrics_logloss(&m), 1e-9);
				near_key(r, k->name, "auc", maas_metrics_auc(&m), 1e-12);
				json_t *conf = json_object_get(r, "confusion");
				int same = json_array_size(conf) == (size_t)k->K;
				for (int a = 0; same && a < k->K; a++)
					for (int b = 0; b < k->K; b++)
						same &= json_integer_value(json_array_get(json_array_get(conf, a), b)) ==
							(json_int_t)m.confusion[(size_t)a * k->K + b];
				ok(same, "sklearn %s: confusion matrix", k->name);
			} else {
				near_key(r, k->name, "rmse", maas_metrics_rmse(&m), 1e-9);
				near_key(r, k->name, "mae", maas_metrics_mae(&m), 1e-9);
				near_key(r, k->name, "r2", maas_metrics_r2(&m), 1e-12);
			}
			maas_metrics_release(&m);
		}
	}
	json_decref(ref);
	/* the cases are what they claim to be */
	ok(cases[1].y[0] == 3, "never_predicted has the last class as a label");
	int grid = 1;
	for (int i = 0; i < cases[4].n; i++)
		grid &= cases[4].p[2 * i + 1] * 8 == floorf(cases[4].p[2 * i + 1] * 8);
	ok(grid, "binary_ties scores lie on a grid of eighths (so most are tied)");
	struct maas_metrics m;
	maas_metrics_init(&m, 1, 4);
	maas_metrics_add(&m, cases[2].p, cases[2].y, cases[2].n, 0);
	size_t last = 0;
	for (int k = 0; k < 4; k++)
		last += m.confusion[3 * 4 + k] + m.confusion[k * 4 + 3];
	ok(last == 0 && maas_metrics_macro_f1(&m) <= 0.75, "absent_class: class 3 absent, macro-F1 at most 3/4");
	maas_metrics_release(&m);
	unlink(in);
	unlink(out);
	free(in);
	free(out);
	for (int c = 0; c < nc; c++) {
		free(cases[c].p);
		free(cases[c].y);
	}
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	test_classification_hand();
	test_f1_edges();
	test_logloss_clip();
	test_auc_hand();
	test_regression_hand();
	test_sklearn();
	rmdir(tmpdir);
	return done_testing();
}
