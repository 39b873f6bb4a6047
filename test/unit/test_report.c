/* test_report.c - the data-quality report: column stats, missing, duplicates, target, splits. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/mem.h"
#include "prep/prep.h"
#include "prep/quality.h"
#include "tap.h"

enum { C_NUM, C_CAT, C_HC, C_Y, NCOLS };

/* 80 rows: 0..59 distinct, 60..79 repeat rows 0..19 exactly.
 *   num  i%60, missing when i%60%10 == 9 (6 + 2 cells), row 60 is "-0"
 *   cat  "k" everywhere (constant)
 *   hc   "v<i%60>" (60 distinct in 80 rows: high cardinality)
 *   y    base row b = i%60: "a" b<40, "b" b<55, "c" else: a 60, b 15, c 5 */
static void make_table(struct maas_table *t)
{
	static const char *const names[] = {"num", "cat", "hc", "y"};
	char buf[32];
	maas_table_init(t);
	maas_table_add_source(t, "r.csv");
	for (int c = 0; c < NCOLS; c++)
		maas_table_column(t, names[c], strlen(names[c]));
	for (int i = 0; i < 80; i++) {
		int b = i % 60;
		maas_table_begin_row(t, 0, (uint32_t)i + 2);
		int n = i == 60 ? snprintf(buf, sizeof buf, "-0") : snprintf(buf, sizeof buf, "%d", b);
		if (b % 10 != 9)
			maas_table_set_text(t, C_NUM, buf, (size_t)n);
		maas_table_set_text(t, C_CAT, "k", 1);
		n = snprintf(buf, sizeof buf, "v%d", b);
		maas_table_set_text(t, C_HC, buf, (size_t)n);
		const char *y = b < 40 ? "a" : b < 55 ? "b" : "c";
		maas_table_set_text(t, C_Y, y, 1);
		maas_table_end_row(t);
	}
}

static void make_schema(struct maas_schema *s)
{
	s->ncols = NCOLS;
	s->cols = xcalloc(NCOLS, sizeof *s->cols);
	s->cols[C_NUM].type = MAAS_FT_INTEGER;
	s->cols[C_CAT].type = MAAS_FT_DROP;
	s->cols[C_CAT].reason = "constant";
	s->cols[C_HC].type = MAAS_FT_CATEGORICAL;
	s->cols[C_Y].type = MAAS_FT_CATEGORICAL;
	s->target = C_Y;
	s->task = MAAS_TASK_CLASSIFICATION;
	s->time_col = s->group_col = -1;
}

static json_t *path(json_t *j, const char *a, const char *b)
{
	j = json_object_get(j, a);
	return b ? json_object_get(j, b) : j;
}

static json_t *col(json_t *r, size_t i, const char *key)
{
	return json_object_get(json_array_get(json_object_get(r, "column_stats"), i), key);
}

static void test_table_report(void)
{
	struct maas_table t;
	struct maas_schema s;
	make_table(&t);
	make_schema(&s);
	json_t *r = maas_report_table(&t, &s);

	is_str(json_string_value(path(r, "format", NULL)), "maas-prep-report/1", "format");
	is_int(json_integer_value(path(r, "rows", NULL)), 80, "rows");
	is_int(json_integer_value(path(r, "columns", NULL)), 4, "columns");
	is_int(json_array_size(path(r, "column_stats", NULL)), 4, "one stats object per column");

	is_str(json_string_value(col(r, 0, "name")), "num", "num: name");
	is_str(json_string_value(col(r, 0, "type")), "integer", "num: type");
	ok(!col(r, 0, "reason"), "num: no reason");
	is_int(json_integer_value(col(r, 0, "missing")), 8, "num: 8 missing");
	is_near(json_real_value(col(r, 0, "missing_fraction")), 0.1, 1e-12, "num: missing fraction 0.1");
	is_int(json_integer_value(col(r, 0, "distinct")), 54, "num: 54 distinct (-0 is 0)");
	ok(json_is_false(col(r, 0, "constant")) && json_is_false(col(r, 0, "high_cardinality")), "num: neither");
	is_near(json_number_value(col(r, 0, "min")), 0, 0, "num: min 0");
	is_near(json_number_value(col(r, 0, "max")), 58, 0, "num: max 58");
	double sum = 0, sq = 0;
	int cnt = 0;
	for (int i = 0; i < 80; i++)
		if (i % 60 % 10 != 9) {
			sum += i % 60;
			cnt++;
		}
	for (int i = 0; i < 80; i++)
		if (i % 60 % 10 != 9)
			sq += (i % 60 - sum / cnt) * (i % 60 - sum / cnt);
	is_near(json_number_value(col(r, 0, "mean")), sum / cnt, 1e-6, "num: mean");
	is_near(json_number_value(col(r, 0, "std")), sqrt(sq / cnt), 1e-6, "num: std");

	is_str(json_string_value(col(r, 1, "type")), "drop", "cat: type drop");
	is_str(json_string_value(col(r, 1, "reason")), "constant", "cat: reason");
	is_int(json_integer_value(col(r, 1, "distinct")), 1, "cat: 1 distinct");
	ok(json_is_true(col(r, 1, "constant")), "cat: constant");
	ok(!col(r, 1, "min") && !col(r, 1, "mean"), "cat: no numeric stats");

	is_int(json_integer_value(col(r, 2, "distinct")), 60, "hc: 60 distinct");
	ok(json_is_true(col(r, 2, "high_cardinality")), "hc: high cardinality");
	ok(json_is_false(col(r, 3, "high_cardinality")), "y: not high cardinality");

	json_t *m = path(r, "missing", NULL);
	is_int(json_integer_value(json_object_get(m, "cells")), 8, "missing cells 8");
	is_near(json_real_value(json_object_get(m, "fraction")), 8.0 / 320, 1e-12, "missing fraction 8/320");
	is_near(json_real_value(json_object_get(m, "max_column_fraction")), 0.1, 1e-12, "max column fraction 0.1");
	is_str(json_string_value(json_object_get(m, "max_column")), "num", "max column num");
	is_int(json_integer_value(json_object_get(m, "rows_with_missing")), 8, "rows with missing 8");

	is_int(json_integer_value(path(r, "duplicates", "rows")), 20, "20 duplicate rows");
	is_near(json_real_value(path(r, "duplicates", "fraction")), 0.25, 1e-12, "duplicate fraction 0.25");

	json_t *cc = path(r, "constant_columns", NULL), *hc = path(r, "high_cardinality_columns", NULL);
	ok(json_array_size(cc) == 1 && !strcmp(json_string_value(json_array_get(cc, 0)), "cat"), "constant: [cat]");
	ok(json_array_size(hc) == 1 && !strcmp(json_string_value(json_array_get(hc, 0)), "hc"), "high cardinality: [hc]");

	json_t *tg = path(r, "target", NULL);
	is_str(json_string_value(json_object_get(tg, "name")), "y", "target name");
	is_str(json_string_value(json_object_get(tg, "task")), "classification", "target task");
	is_int(json_integer_value(json_object_get(tg, "missing")), 0, "target missing 0");
	json_t *classes = json_object_get(tg, "classes");
	is_int(json_object_size(classes), 3, "three classes");
	is_int(json_integer_value(json_object_get(classes, "a")), 60, "a: 60");
	is_int(json_integer_value(json_object_get(classes, "b")), 15, "b: 15");
	is_int(json_integer_value(json_object_get(classes, "c")), 5, "c: 5");
	is_near(json_real_value(json_object_get(tg, "imbalance")), 12, 1e-12, "imbalance 60/5 = 12");
	char *text = json_dumps(classes, JSON_COMPACT);
	is_str(text, "{\"a\":60,\"b\":15,\"c\":5}", "classes most frequent first");
	free(text);
	ok(json_is_array(path(r, "actions", NULL)) && !json_array_size(path(r, "actions", NULL)), "actions []");
	ok(!path(r, "split", NULL), "no split yet");

	maas_report_action(r, json_pack("{s:s, s:s}", "action", "drop_column", "column", "cat"));
	maas_report_action(r, json_pack("{s:s}", "action", "second"));
	ok(json_array_size(path(r, "actions", NULL)) == 2 &&
	   !strcmp(json_string_value(json_object_get(json_array_get(path(r, "actions", NULL), 1), "action")), "second"),
	   "actions appended in order");

	/* the split: train 0..49, val 50..59, test 60..79 (copies of rows 0..19) */
	struct maas_split sp;
	memset(&sp, 0, sizeof sp);
	size_t train[50], val[10], test[20];
	for (size_t i = 0; i < 50; i++)
		train[i] = i;
	for (size_t i = 0; i < 10; i++)
		val[i] = 50 + i;
	for (size_t i = 0; i < 20; i++)
		test[i] = 60 + i;
	sp.rows[0] = train, sp.n[0] = 50;
	sp.rows[1] = val, sp.n[1] = 10;
	sp.rows[2] = test, sp.n[2] = 20;
	sp.method = MAAS_SPLIT_RANDOM;
	maas_report_split(r, &t, &s, &sp);
	json_t *js = path(r, "split", NULL);
	is_str(json_string_value(json_object_get(js, "method")), "random", "split method");
	ok(json_integer_value(json_object_get(js, "train")) == 50 && json_integer_value(json_object_get(js, "val")) == 10 &&
	   json_integer_value(json_object_get(js, "test")) == 20, "split sizes 50/10/20");
	is_int(json_integer_value(json_object_get(js, "cross_split_duplicates")), 20, "20 test rows copy train rows");
	json_t *ex = json_object_get(js, "cross_split_examples");
	is_int(json_array_size(ex), 10, "ten examples");
	text = json_dumps(json_array_get(ex, 0), JSON_COMPACT);
	is_str(text, "{\"train\":\"'r.csv' line 2\",\"test\":\"'r.csv' line 62\"}", "first example names both lines");
	free(text);
	json_decref(r);
	maas_schema_release(&s);
	maas_table_release(&t);
}

/* cross-split duplicates ignore the target and within-split copies */
static void test_cross_split(void)
{
	struct maas_table t;
	struct maas_schema s;
	static const char *const rows[][3] = {
		{"1", "x", "a"},   /* 0 train */
		{"2", "y", "a"},   /* 1 train */
		{"3", "z", "b"},   /* 2 val */
		{"3", "z", "b"},   /* 3 val: copy of a val row, no leak */
		{"1", "x", "b"},   /* 4 val: train row 0 with another target: a leak */
		{"3", "z", "a"},   /* 5 test: copy of val row 2 */
		{"2", "y", "b"},   /* 6 test: copy of train row 1 */
		{"4", "w", "a"},   /* 7 test */
		{"4", "w", "a"},   /* 8 test: copy of a test row, no leak */
	};
	maas_table_init(&t);
	maas_table_add_source(&t, "c.csv");
	maas_table_column(&t, "n", 1);
	maas_table_column(&t, "s", 1);
	maas_table_column(&t, "y", 1);
	for (size_t i = 0; i < 9; i++) {
		maas_table_begin_row(&t, 0, (uint32_t)(10 + i));
		for (size_t c = 0; c < 3; c++)
			maas_table_set_text(&t, c, rows[i][c], 1);
		maas_table_end_row(&t);
	}
	s.ncols = 3;
	s.cols = xcalloc(3, sizeof *s.cols);
	s.cols[0].type = MAAS_FT_NUMBER;
	s.cols[1].type = s.cols[2].type = MAAS_FT_CATEGORICAL;
	s.target = 2;
	s.task = MAAS_TASK_CLASSIFICATION;
	s.time_col = s.group_col = -1;

	json_t *r = maas_report_table(&t, &s);
	is_int(json_integer_value(path(r, "duplicates", "rows")), 2, "two exact duplicate rows (target counts)");
	size_t train[] = {0, 1}, val[] = {2, 3, 4}, test[] = {5, 6, 7, 8};
	struct maas_split sp = {{train, val, test}, {2, 3, 4}, MAAS_SPLIT_STRATIFIED};
	maas_report_split(r, &t, &s, &sp);
	json_t *js = path(r, "split", NULL);
	is_int(json_integer_value(json_object_get(js, "cross_split_duplicates")), 3, "three leaks: rows 4, 5, 6");
	char *text = json_dumps(json_object_get(js, "cross_split_examples"), JSON_COMPACT);
	is_str(text, "[{\"train\":\"'c.csv' line 10\",\"val\":\"'c.csv' line 14\"},"
		     "{\"val\":\"'c.csv' line 12\",\"test\":\"'c.csv' line 15\"},"
		     "{\"train\":\"'c.csv' line 11\",\"test\":\"'c.csv' line 16\"}]", "examples name both lines");
	free(text);
	json_decref(r);

	/* no target: every column counts; regression target: numeric stats */
	s.target = -1;
	r = maas_report_table(&t, &s);
	ok(json_is_null(path(r, "target", NULL)), "no target: null");
	maas_report_split(r, &t, &s, &sp);
	is_int(json_integer_value(path(r, "split", "cross_split_duplicates")), 0, "without a target every column counts: no leaks");
	json_decref(r);
	s.target = 0;
	s.task = MAAS_TASK_REGRESSION;
	r = maas_report_table(&t, &s);
	is_str(json_string_value(path(r, "target", "task")), "regression", "regression target");
	is_near(json_number_value(path(r, "target", "mean")), 23.0 / 9, 1e-6, "regression: mean");
	is_near(json_number_value(path(r, "target", "max")), 4, 0, "regression: max");
	ok(!path(r, "target", "classes") && !path(r, "target", "imbalance"), "regression: no classes");
	json_decref(r);
	maas_schema_release(&s);
	maas_table_release(&t);
}

static void test_edge(void)
{
	/* an empty table, and a column all missing, and number labels */
	struct maas_table t;
	struct maas_schema s = {0};
	maas_table_init(&t);
	s.target = s.time_col = s.group_col = -1;
	json_t *r = maas_report_table(&t, &s);
	is_int(json_integer_value(path(r, "rows", NULL)), 0, "empty: 0 rows");
	ok(json_real_value(path(r, "missing", "fraction")) == 0 && json_is_null(path(r, "missing", "max_column")),
	   "empty: fraction 0, no max column");
	is_near(json_real_value(path(r, "duplicates", "fraction")), 0, 0, "empty: no duplicates");
	json_decref(r);

	maas_table_column(&t, "label", 5);
	maas_table_column(&t, "gone", 4);
	maas_table_column(&t, "x", 1);
	const char *labels[] = {"1", "0", "0", "1", "1", "2"};
	const char *xs[] = {"0.1", "55.9", "1e-3", "3", "3", "3"};
	for (int i = 0; i < 6; i++) {
		maas_table_begin_row(&t, 0, (uint32_t)i + 1);
		maas_table_set_text(&t, 0, labels[i], 1);
		maas_table_set_text(&t, 2, xs[i], strlen(xs[i]));
		maas_table_end_row(&t);
	}
	s.ncols = 3;
	s.cols = xcalloc(3, sizeof *s.cols);
	s.cols[0].type = MAAS_FT_CATEGORICAL;
	s.cols[1].type = MAAS_FT_NUMBER;
	s.cols[2].type = MAAS_FT_NUMBER;
	s.target = 0;
	s.task = MAAS_TASK_CLASSIFICATION;
	r = maas_report_table(&t, &s);
	char *text = json_dumps(path(r, "target", "classes"), JSON_COMPACT);
	is_str(text, "{\"1\":3,\"0\":2,\"2\":1}", "number labels as text, by count");
	free(text);
	is_near(json_real_value(path(r, "target", "imbalance")), 3, 1e-12, "imbalance 3");
	ok(json_is_true(col(r, 1, "constant")) && json_is_null(col(r, 1, "min")), "all missing: constant, min null");
	is_int(json_integer_value(col(r, 1, "distinct")), 0, "all missing: 0 distinct");
	ok(json_real_value(col(r, 2, "max")) == 55.9, "float 55.9 reported as 55.9");
	ok(json_real_value(col(r, 2, "min")) == 0.001, "float 1e-3 reported as 0.001");
	is_int(json_integer_value(col(r, 2, "distinct")), 4, "x: 4 distinct");
	text = json_dumps(path(r, "constant_columns", NULL), JSON_COMPACT);
	is_str(text, "[\"gone\"]", "constant columns: [gone]");
	free(text);
	json_decref(r);
	maas_schema_release(&s);
	maas_table_release(&t);

	char buf[32];
	maas_float_text(0.1f, buf, sizeof buf);
	is_str(buf, "0.1", "0.1f as 0.1");
	maas_float_text(16777217.0f, buf, sizeof buf);
	is_str(buf, "16777216", "2^24+1 rounds to float");
	maas_float_text(1.0f / 3, buf, sizeof buf);
	is_str(buf, "0.33333334", "1/3 needs 8 digits");
}

/* high cardinality: > 50 distinct values and more than half the non-missing cells */
static void test_high_cardinality(void)
{
	static const struct {
		int rows, distinct, missing, high;
	} cases[] = {
		{120, 55, 0, 0},    /* 110 <= 120 */
		{120, 60, 0, 0},    /* exactly half: not more */
		{120, 61, 0, 1},
		{51, 51, 0, 1},
		{50, 50, 0, 0},     /* not more than 50 */
		{200, 61, 80, 1},   /* 122 > 120 non-missing */
		{200, 60, 80, 0},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct maas_table t;
		struct maas_schema s = {0};
		char buf[32];
		maas_table_init(&t);
		maas_table_column(&t, "c", 1);
		for (int i = 0; i < cases[k].rows; i++) {
			maas_table_begin_row(&t, 0, (uint32_t)i + 1);
			if (i >= cases[k].missing) {
				int n = snprintf(buf, sizeof buf, "v%d", i % cases[k].distinct);
				maas_table_set_text(&t, 0, buf, (size_t)n);
			}
			maas_table_end_row(&t);
		}
		s.ncols = 1;
		s.cols = xcalloc(1, sizeof *s.cols);
		s.cols[0].type = k % 2 ? MAAS_FT_TEXT : MAAS_FT_CATEGORICAL;
		s.target = s.time_col = s.group_col = -1;
		json_t *r = maas_report_table(&t, &s);
		ok(json_is_true(col(r, 0, "high_cardinality")) == cases[k].high,
		   "%d rows, %d missing, %d distinct: %s", cases[k].rows, cases[k].missing, cases[k].distinct,
		   cases[k].high ? "high cardinality" : "not high cardinality");
		is_int(json_array_size(path(r, "high_cardinality_columns", NULL)), cases[k].high, "listed or not");
		json_decref(r);
		/* a number column is never high cardinality */
		s.cols[0].type = MAAS_FT_NUMBER;
		r = maas_report_table(&t, &s);
		ok(json_is_false(col(r, 0, "high_cardinality")), "not for type number");
		json_decref(r);
		maas_schema_release(&s);
		maas_table_release(&t);
	}
}

int main(void)
{
	test_high_cardinality();
	test_table_report();
	test_cross_split();
	test_edge();
	return done_testing();
}
