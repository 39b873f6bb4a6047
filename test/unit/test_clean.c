/* test_clean.c - duplicate rows (hash, equality, row set, dedupe) and option defaults. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "prep/prep.h"
#include "prep/quality.h"
#include "tap.h"

/* a table of rows given as text, NULL = missing */
static void add_row(struct maas_table *t, uint32_t line, const char *a, const char *b)
{
	maas_table_begin_row(t, 0, line);
	if (a)
		maas_table_set_text(t, 0, a, strlen(a));
	if (b)
		maas_table_set_text(t, 1, b, strlen(b));
	maas_table_end_row(t);
}

static void test_dedupe(void)
{
	struct maas_table t;
	maas_table_init(&t);
	maas_table_add_source(&t, "d.csv");
	maas_table_column(&t, "a", 1);
	maas_table_column(&t, "b", 1);
	add_row(&t, 2, "1", "x");     /* 0 */
	add_row(&t, 3, "2", "y");     /* 1 */
	add_row(&t, 4, "1", "x");     /* 2 dup of 0 */
	add_row(&t, 5, "-0", "z");    /* 3 */
	add_row(&t, 6, "0", "z");     /* 4 dup of 3: -0 == 0 */
	add_row(&t, 7, NULL, "w");    /* 5 */
	add_row(&t, 8, "NA", "w");    /* 6 dup of 5: missing == missing */
	add_row(&t, 9, "1", NULL);    /* 7 */
	add_row(&t, 10, "1", "X");    /* 8 not a dup: case matters */
	add_row(&t, 11, "2", "y");    /* 9 dup of 1 */
	add_row(&t, 12, "1", "");     /* 10 dup of 7 (empty is missing) */
	ok(t.cols[0].kind == MAAS_COL_NUM && t.cols[1].kind == MAAS_COL_STR, "a numbers, b strings");

	size_t all[] = {0, 1}, one[] = {1};
	ok(maas_rows_equal(&t, 0, 2, all, 2), "equal rows");
	ok(!maas_rows_equal(&t, 0, 1, all, 2), "different rows");
	ok(maas_rows_equal(&t, 3, 4, all, 2), "-0 equals 0");
	ok(maas_row_hash(&t, 3, all, 2) == maas_row_hash(&t, 4, all, 2), "-0 and 0 hash equal");
	ok(maas_rows_equal(&t, 5, 6, all, 2), "missing equals missing");
	ok(maas_row_hash(&t, 5, all, 2) == maas_row_hash(&t, 6, all, 2), "missing rows hash equal");
	ok(!maas_rows_equal(&t, 0, 8, all, 2), "'x' differs from 'X'");
	ok(maas_rows_equal(&t, 1, 9, one, 1), "equal on a subset of columns");
	ok(maas_rows_equal(&t, 0, 7, (size_t[]){0}, 1), "rows 0 and 7 agree on column a");
	ok(maas_row_hash(&t, 0, all, 2) != maas_row_hash(&t, 1, all, 2), "different rows hash differently");

	size_t rows[11], n = 11;
	for (size_t i = 0; i < n; i++)
		rows[i] = i;
	size_t gone = maas_dedupe_rows(&t, rows, &n);
	is_int(gone, 5, "five duplicates removed");
	is_int(n, 6, "six rows kept");
	size_t want[] = {0, 1, 3, 5, 7, 8};
	int same = n == 6;
	for (size_t i = 0; i < 6 && same; i++)
		same = rows[i] == want[i];
	ok(same, "first of each set kept, in input order (0 1 3 5 7 8)");

	/* a subset of rows, in a different order: the first *listed* stays */
	size_t sub[] = {9, 4, 1, 3}, ns = 4;
	is_int(maas_dedupe_rows(&t, sub, &ns), 2, "subset: two duplicates");
	ok(ns == 2 && sub[0] == 9 && sub[1] == 4, "subset: first listed kept (9, 4)");

	size_t none = 0;
	is_int(maas_dedupe_rows(&t, rows, &none), 0, "no rows: nothing removed");
	maas_table_release(&t);
}

static void test_nan_and_strings(void)
{
	struct maas_table t;
	maas_table_init(&t);
	maas_table_add_source(&t, "n.json");
	maas_table_column(&t, "v", 1);
	maas_table_column(&t, "s", 1);
	maas_table_begin_row(&t, 0, 1);
	maas_table_set_num(&t, 0, NAN);
	maas_table_set_json_str(&t, 1, "hello", 5);
	maas_table_end_row(&t);
	maas_table_begin_row(&t, 0, 2);
	maas_table_set_num(&t, 0, -NAN);
	maas_table_set_text(&t, 1, "hello", 5);
	maas_table_end_row(&t);
	maas_table_begin_row(&t, 0, 3);
	maas_table_set_num(&t, 0, 0.1);
	maas_table_set_text(&t, 1, "hello ", 6);
	maas_table_end_row(&t);
	size_t all[] = {0, 1};
	ok(maas_rows_equal(&t, 0, 1, all, 2), "NaN equals -NaN, same text equal");
	ok(!maas_rows_equal(&t, 1, 2, all, 2), "trailing space makes text differ");

	struct maas_rowset rs;
	int added;
	maas_rowset_init(&rs, &t, all, 2);
	is_int(maas_rowset_find(&rs, 0), SIZE_MAX, "empty set finds nothing");
	is_int(maas_rowset_add(&rs, 0, &added), 0, "first entry is 0");
	ok(added, "added");
	is_int(maas_rowset_add(&rs, 1, &added), 0, "equal row is entry 0");
	ok(!added, "not added");
	is_int(maas_rowset_add(&rs, 2, &added), 1, "new row is entry 1");
	is_int(maas_rowset_find(&rs, 1), 0, "find the equal row");
	is_int(rs.n, 2, "two entries");
	maas_rowset_release(&rs);
	maas_table_release(&t);
}

static void test_many(void)
{
	/* 20000 rows with 5000 distinct values: the set grows through rehashes */
	struct maas_table t;
	char buf[32];
	maas_table_init(&t);
	maas_table_column(&t, "k", 1);
	maas_table_column(&t, "s", 1);
	for (int i = 0; i < 20000; i++) {
		maas_table_begin_row(&t, 0, (uint32_t)i + 1);
		int n = snprintf(buf, sizeof buf, "%d", (i * 7919) % 5000);
		maas_table_set_text(&t, 0, buf, (size_t)n);
		n = snprintf(buf, sizeof buf, "s%d", (i * 7919) % 5000 % 13);
		maas_table_set_text(&t, 1, buf, (size_t)n);
		maas_table_end_row(&t);
	}
	size_t *rows = malloc(20000 * sizeof *rows), n = 20000;
	for (size_t i = 0; i < n; i++)
		rows[i] = i;
	is_int(maas_dedupe_rows(&t, rows, &n), 15000, "20000 rows, 5000 distinct: 15000 removed");
	int ordered = 1;
	for (size_t i = 0; i < n; i++)
		ordered &= rows[i] == i;
	ok(ordered, "the first 5000 rows are the distinct ones, in order");
	free(rows);
	maas_table_release(&t);
}

static void test_opts(void)
{
	struct maas_prep_opts o;
	memset(&o, 0xab, sizeof o);
	maas_prep_opts_init(&o);
	ok(o.target == NULL && o.cols == NULL && o.ncols == 0, "no target, no column options");
	is_int(o.task, MAAS_TASK_AUTO, "task auto");
	is_int(o.impute_num, MAAS_IMPUTE_MEAN, "impute numbers with the mean");
	is_int(o.impute_cat, MAAS_IMPUTE_MOST_FREQUENT, "impute categories with the most frequent");
	is_int(o.clip, MAAS_CLIP_NONE, "no clipping");
	ok(o.clip_k == 0, "clip_k 0 = the method's default");
	is_int(o.encode, MAAS_ENCODE_ONEHOT, "one-hot");
	is_int(o.min_frequency, 1, "min_frequency 1");
	is_int(o.max_categories, 64, "max_categories 64");
	is_int(o.unknown, MAAS_UNKNOWN_OTHER, "unknown -> other");
	is_int(o.scale, MAAS_SCALE_STANDARD, "standard scaling");
	is_int(o.max_text_cardinality, 100, "max_text_cardinality 100");
	ok(o.frac[0] == 0.8 && o.frac[1] == 0.1 && o.frac[2] == 0.1, "fractions .8 .1 .1");
	is_int(o.split, MAAS_SPLIT_AUTO, "split auto");
	is_int(o.seed, 0, "seed 0");
	is_int(o.first_test_row, -1, "no test input");
	ok(o.window == 0 && o.horizon == 1 && o.stride == 1, "window 0, horizon 1, stride 1");
	ok(!o.keep_duplicates && !o.keep_constant && !o.missing_indicator, "flags off");
	ok(!o.time_column && !o.group_column && !o.impute_value, "no time, group, constant");
}

int main(void)
{
	test_dedupe();
	test_nan_and_strings();
	test_many();
	test_opts();
	return done_testing();
}
