/* test_split.c - train/val/test splits (random, stratified, time, group) and windows. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/mem.h"
#include "prep/prep.h"
#include "prep/quality.h"
#include "tap.h"

enum { C_ID, C_CLS, C_GRP, C_DATE, C_NUM, NCOLS };

/* Row i: id i, class "A" (60%), "B" (30%), "C" (9%), "D" (the last row),
 * group "g<i/7>", a date, a number time. */
static void make_table(struct maas_table *t, size_t n)
{
	static const char *const names[] = {"id", "cls", "grp", "date", "tnum"};
	char buf[64];
	maas_table_init(t);
	maas_table_add_source(t, "s.csv");
	for (int c = 0; c < NCOLS; c++)
		maas_table_column(t, names[c], strlen(names[c]));
	for (size_t i = 0; i < n; i++) {
		maas_table_begin_row(t, 0, (uint32_t)i + 2);
		int len = snprintf(buf, sizeof buf, "%zu", i);
		maas_table_set_text(t, C_ID, buf, (size_t)len);
		size_t k = i % 100;
		const char *cls = i == n - 1 ? "D" : k < 60 ? "A" : k < 90 ? "B" : "C";
		maas_table_set_text(t, C_CLS, cls, 1);
		len = snprintf(buf, sizeof buf, "g%zu", i / 7);
		maas_table_set_text(t, C_GRP, buf, (size_t)len);
		/* dates run backwards: row 0 is the newest */
		len = snprintf(buf, sizeof buf, "20%02zu-%02zu-%02zu", 30 - i / 300, 12 - i / 25 % 12, 28 - i % 25);
		maas_table_set_text(t, C_DATE, buf, (size_t)len);
		len = snprintf(buf, sizeof buf, "%g", 1000.0 - (double)(i / 2));   /* ties in pairs */
		maas_table_set_text(t, C_NUM, buf, (size_t)len);
		maas_table_end_row(t);
	}
}

static void make_schema(struct maas_schema *s, long target, enum maas_task task, long time_col, long group_col)
{
	s->ncols = NCOLS;
	s->cols = xcalloc(NCOLS, sizeof *s->cols);
	for (int c = 0; c < NCOLS; c++)
		s->cols[c].type = MAAS_FT_CATEGORICAL;
	s->cols[C_ID].type = MAAS_FT_INTEGER;
	s->cols[C_DATE].type = MAAS_FT_DATE;
	s->cols[C_NUM].type = MAAS_FT_NUMBER;
	s->target = target;
	s->task = task;
	s->time_col = time_col;
	s->group_col = group_col;
}

static size_t *all_rows(size_t n)
{
	size_t *r = xmallocarray(n ? n : 1, sizeof *r);
	for (size_t i = 0; i < n; i++)
		r[i] = i;
	return r;
}

/* every row exactly once over the three splits */
static int partition(const struct maas_split *sp, size_t n)
{
	unsigned char *seen = calloc(n ? n : 1, 1);
	int okay = sp->n[0] + sp->n[1] + sp->n[2] == n;
	for (int k = 0; k < 3 && okay; k++)
		for (size_t i = 0; i < sp->n[k] && okay; i++) {
			size_t r = sp->rows[k][i];
			okay = r < n && !seen[r];
			if (okay)
				seen[r] = 1;
		}
	free(seen);
	return okay;
}

static int input_order(const struct maas_split *sp)
{
	for (int k = 0; k < 3; k++)
		for (size_t i = 1; i < sp->n[k]; i++)
			if (sp->rows[k][i] <= sp->rows[k][i - 1])
				return 0;
	return 1;
}

static int same_split(const struct maas_split *a, const struct maas_split *b)
{
	for (int k = 0; k < 3; k++) {
		if (a->n[k] != b->n[k])
			return 0;
		for (size_t i = 0; i < a->n[k]; i++)
			if (a->rows[k][i] != b->rows[k][i])
				return 0;
	}
	return 1;
}

static size_t count_class(const struct maas_table *t, const struct maas_split *sp, int k, const char *cls)
{
	size_t n = 0;
	for (size_t i = 0; i < sp->n[k]; i++)
		n += !strcmp(maas_table_str(t, C_CLS, sp->rows[k][i], NULL), cls);
	return n;
}

static void test_random(void)
{
	struct maas_table t;
	struct maas_schema s;
	struct maas_prep_opts o;
	struct maas_split a, b, c;
	struct maas_err e;
	size_t *rows = all_rows(100);

	make_table(&t, 100);
	make_schema(&s, -1, MAAS_TASK_AUTO, -1, -1);
	maas_prep_opts_init(&o);
	o.seed = 42;
	ok(maas_split_rows(&t, &s, rows, 100, &o, &a, &e) == 0, "random split");
	is_int(a.method, MAAS_SPLIT_RANDOM, "auto without target is random");
	ok(a.n[0] == 80 && a.n[1] == 10 && a.n[2] == 10, "80/10/10 (got %zu/%zu/%zu)", a.n[0], a.n[1], a.n[2]);
	ok(partition(&a, 100), "every row once");
	ok(input_order(&a), "input order within each split");
	ok(maas_split_rows(&t, &s, rows, 100, &o, &b, &e) == 0 && same_split(&a, &b), "same seed, same split");
	o.seed = 43;
	ok(maas_split_rows(&t, &s, rows, 100, &o, &c, &e) == 0 && !same_split(&a, &c), "another seed, another split");
	maas_split_release(&b);
	maas_split_release(&c);

	/* rounding: 15 rows at .7/.15/.15 -> test round(2.25)=2, val 2, train 11 */
	o.frac[0] = 0.7, o.frac[1] = 0.15, o.frac[2] = 0.15;
	ok(maas_split_rows(&t, &s, rows, 15, &o, &b, &e) == 0 && b.n[0] == 11 && b.n[1] == 2 && b.n[2] == 2,
	   "15 rows .7/.15/.15: 11/2/2");
	maas_split_release(&b);
	/* 5 rows at .5/.25/.25: round(1.25) = 1 each */
	o.frac[0] = 0.5, o.frac[1] = 0.25, o.frac[2] = 0.25;
	ok(maas_split_rows(&t, &s, rows, 5, &o, &b, &e) == 0 && b.n[0] == 3 && b.n[1] == 1 && b.n[2] == 1,
	   "5 rows .5/.25/.25: 3/1/1");
	maas_split_release(&b);
	/* half away from zero: 10 rows at .7/.15/.15 -> round(1.5) = 2 */
	o.frac[0] = 0.7, o.frac[1] = 0.15, o.frac[2] = 0.15;
	ok(maas_split_rows(&t, &s, rows, 10, &o, &b, &e) == 0 && b.n[0] == 6 && b.n[1] == 2 && b.n[2] == 2,
	   "10 rows .7/.15/.15: 6/2/2 (got %zu/%zu/%zu)", b.n[0], b.n[1], b.n[2]);
	maas_split_release(&b);

	/* empty val and test */
	o.frac[0] = 1, o.frac[1] = 0, o.frac[2] = 0;
	ok(maas_split_rows(&t, &s, rows, 100, &o, &b, &e) == 0 && b.n[0] == 100 && !b.n[1] && !b.n[2],
	   "fractions 1/0/0: everything in train");
	maas_split_release(&b);
	o.frac[0] = 0.9, o.frac[1] = 0, o.frac[2] = 0.1;
	ok(maas_split_rows(&t, &s, rows, 100, &o, &b, &e) == 0 && b.n[0] == 90 && !b.n[1] && b.n[2] == 10,
	   "fractions .9/0/.1: empty val");
	maas_split_release(&b);

	/* a subset of the table's rows (after dropping duplicates) */
	size_t sub[] = {3, 5, 8, 13, 21, 34, 55, 89, 90, 99};
	o.frac[0] = 0.8, o.frac[1] = 0.1, o.frac[2] = 0.1;
	ok(maas_split_rows(&t, &s, sub, 10, &o, &b, &e) == 0 && b.n[0] == 8 && b.n[1] == 1 && b.n[2] == 1,
	   "a row subset splits 8/1/1");
	ok(input_order(&b), "subset keeps input order");
	int from_sub = 1;
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < b.n[k]; i++) {
			int found = 0;
			for (int j = 0; j < 10; j++)
				found |= b.rows[k][i] == sub[j];
			from_sub &= found;
		}
	ok(from_sub, "only rows of the subset");
	maas_split_release(&b);

	/* errors */
	o.frac[0] = 0.2, o.frac[1] = 0.4, o.frac[2] = 0.4;
	ok(maas_split_rows(&t, &s, rows, 2, &o, &b, &e) == -1 && e.kind == MAAS_EDATA &&
	   strstr(e.msg, "no training rows: "), "2 rows at .2/.4/.4: no training rows (%s)", e.msg);
	o.frac[0] = 0.8, o.frac[1] = 0.1, o.frac[2] = 0.1;
	ok(maas_split_rows(&t, &s, rows, 0, &o, &b, &e) == -1 && e.kind == MAAS_EDATA &&
	   !strcmp(e.msg, "no training rows: the input has no rows"), "no rows: %s", e.msg);
	o.frac[0] = 0.8, o.frac[1] = 0.3, o.frac[2] = 0.1;
	ok(maas_split_rows(&t, &s, rows, 100, &o, &b, &e) == -1 && e.kind == MAAS_EUSAGE &&
	   !strcmp(e.msg, "invalid split fractions 0.8/0.3/0.1: they must sum to 1"), "sum != 1: %s", e.msg);
	o.frac[0] = 0, o.frac[1] = 0.5, o.frac[2] = 0.5;
	ok(maas_split_rows(&t, &s, rows, 100, &o, &b, &e) == -1 && e.kind == MAAS_EUSAGE &&
	   strstr(e.msg, "the training fraction must be above 0"), "train 0: %s", e.msg);
	o.frac[0] = 1.2, o.frac[1] = -0.1, o.frac[2] = -0.1;
	ok(maas_split_rows(&t, &s, rows, 100, &o, &b, &e) == -1 && e.kind == MAAS_EUSAGE &&
	   strstr(e.msg, "each must be between 0 and 1"), "negative: %s", e.msg);
	o.frac[0] = 0.8, o.frac[1] = 0.1, o.frac[2] = 0.1;
	o.split = MAAS_SPLIT_STRATIFIED;
	ok(maas_split_rows(&t, &s, rows, 100, &o, &b, &e) == -1 && e.kind == MAAS_EUSAGE &&
	   strstr(e.msg, "stratified split needs a target"), "stratified without target: %s", e.msg);
	o.split = MAAS_SPLIT_TIME;
	ok(maas_split_rows(&t, &s, rows, 100, &o, &b, &e) == -1 && e.kind == MAAS_EUSAGE &&
	   strstr(e.msg, "needs a time column"), "time without column: %s", e.msg);
	o.split = MAAS_SPLIT_GROUP;
	ok(maas_split_rows(&t, &s, rows, 100, &o, &b, &e) == -1 && e.kind == MAAS_EUSAGE &&
	   strstr(e.msg, "needs a group column"), "group without column: %s", e.msg);

	maas_split_release(&a);
	maas_schema_release(&s);
	maas_table_release(&t);
	free(rows);
}

static void test_stratified(void)
{
	struct maas_table t;
	struct maas_schema s;
	struct maas_prep_opts o;
	struct maas_split a, b;
	struct maas_err e;
	size_t n = 1000, *rows = all_rows(n);

	/* A 600, B 300, C 99, D 1 (the last row) */
	make_table(&t, n);
	make_schema(&s, C_CLS, MAAS_TASK_CLASSIFICATION, -1, -1);
	maas_prep_opts_init(&o);
	o.seed = 7;
	ok(maas_split_rows(&t, &s, rows, n, &o, &a, &e) == 0, "stratified split");
	is_int(a.method, MAAS_SPLIT_STRATIFIED, "auto with a classification target is stratified");
	ok(partition(&a, n), "every row once");
	ok(input_order(&a), "input order within each split");
	static const char *const cls[] = {"A", "B", "C", "D"};
	size_t total[4];
	for (int c = 0; c < 4; c++)
		total[c] = count_class(&t, &a, 0, cls[c]) + count_class(&t, &a, 1, cls[c]) + count_class(&t, &a, 2, cls[c]);
	ok(total[0] == 600 && total[1] == 300 && total[2] == 99 && total[3] == 1, "class sizes 600/300/99/1");
	int within = 1;
	for (int c = 0; c < 3; c++)
		for (int k = 0; k < 3; k++) {
			double want = (double)total[c] * o.frac[k];
			double got = (double)count_class(&t, &a, k, cls[c]);
			if (fabs(got - want) >= 1) {
				within = 0;
				printf("# class %s split %d: %g rows, want %g\n", cls[c], k, got, want);
			}
		}
	ok(within, "each class within one row of its share in each split");
	is_int(count_class(&t, &a, 0, "D"), 1, "the single-row class is in train");
	ok(a.n[2] == 100 && a.n[1] == 100 && a.n[0] == 800, "1000 rows: 800/100/100 (got %zu/%zu/%zu)",
	   a.n[0], a.n[1], a.n[2]);
	ok(maas_split_rows(&t, &s, rows, n, &o, &b, &e) == 0 && same_split(&a, &b), "same seed, same split");
	maas_split_release(&b);
	o.seed = 8;
	ok(maas_split_rows(&t, &s, rows, n, &o, &b, &e) == 0 && !same_split(&a, &b), "another seed, another split");
	maas_split_release(&b);
	maas_split_release(&a);

	/* small classes of two rows: they keep a training row */
	o.seed = 1;
	o.frac[0] = 0.4, o.frac[1] = 0.3, o.frac[2] = 0.3;
	size_t few[] = {0, 1, 60, 61, 90, 91};   /* A A B B C C */
	ok(maas_split_rows(&t, &s, few, 6, &o, &b, &e) == 0, "six rows, three classes of two");
	int train_each = 1;
	for (int c = 0; c < 3; c++)
		train_each &= count_class(&t, &b, 0, cls[c]) >= 1;
	ok(train_each, "every class keeps a training row");
	ok(b.n[1] + b.n[2] <= 3 && b.n[0] >= 3, "at most one row per class leaves train");
	maas_split_release(&b);

	/* number targets: classes are values */
	o.frac[0] = 0.8, o.frac[1] = 0.1, o.frac[2] = 0.1;
	s.target = C_ID;
	ok(maas_split_rows(&t, &s, rows, 100, &o, &b, &e) == 0 && b.n[0] == 100, "all classes single: all train");
	maas_split_release(&b);

	/* regression: auto is random */
	s.target = C_ID;
	s.task = MAAS_TASK_REGRESSION;
	ok(maas_split_rows(&t, &s, rows, 100, &o, &b, &e) == 0 && b.method == MAAS_SPLIT_RANDOM,
	   "auto with a regression target is random");
	maas_split_release(&b);
	maas_schema_release(&s);
	maas_table_release(&t);
	free(rows);
}

static double date_of(const struct maas_table *t, size_t row)
{
	size_t len;
	const char *s = maas_table_str(t, C_DATE, row, &len);
	double v = NAN;
	int has_time;
	maas_parse_date(s, len, &v, &has_time);
	return v;
}

static void test_time(void)
{
	struct maas_table t;
	struct maas_schema s;
	struct maas_prep_opts o;
	struct maas_split a;
	struct maas_err e;
	size_t n = 200, *rows = all_rows(n);

	make_table(&t, n);
	make_schema(&s, C_CLS, MAAS_TASK_CLASSIFICATION, C_DATE, -1);
	maas_prep_opts_init(&o);
	ok(maas_split_rows(&t, &s, rows, n, &o, &a, &e) == 0, "time split by dates");
	is_int(a.method, MAAS_SPLIT_TIME, "auto with a time column is time");
	ok(a.n[0] == 160 && a.n[1] == 20 && a.n[2] == 20, "160/20/20");
	ok(partition(&a, n), "every row once");
	/* dates run backwards, so train is the last 160 rows, newest last */
	int ordered = 1;
	double prev = -INFINITY;
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < a.n[k]; i++) {
			double d = date_of(&t, a.rows[k][i]);
			ordered &= d >= prev;
			prev = d;
		}
	ok(ordered, "time order within and across splits (train oldest)");
	is_int(a.rows[0][0], 199, "the oldest row first");
	is_int(a.rows[2][a.n[2] - 1], 0, "the newest row last");
	maas_split_release(&a);

	/* number times with ties (pairs): ties keep input order */
	s.time_col = C_NUM;
	ok(maas_split_rows(&t, &s, rows, n, &o, &a, &e) == 0, "time split by numbers");
	is_int(a.rows[0][0], 198, "oldest pair first: 198 ...");
	is_int(a.rows[0][1], 199, "... then 199 (input order)");
	is_int(a.rows[2][a.n[2] - 2], 0, "newest pair: 0 ...");
	is_int(a.rows[2][a.n[2] - 1], 1, "... then 1");
	maas_split_release(&a);

	/* a missing time is an error naming file and line */
	maas_table_begin_row(&t, 0, 777);
	maas_table_set_text(&t, C_ID, "200", 3);
	maas_table_end_row(&t);
	size_t *rows2 = all_rows(201);
	ok(maas_split_rows(&t, &s, rows2, 201, &o, &a, &e) == -1 && e.kind == MAAS_EDATA, "missing number time: error");
	is_str(e.msg, "missing time in column 'tnum' at 's.csv' line 777", "the message names file and line");
	s.time_col = C_DATE;
	ok(maas_split_rows(&t, &s, rows2, 201, &o, &a, &e) == -1 && strstr(e.msg, "'s.csv' line 777"),
	   "missing date: error (%s)", e.msg);
	/* not a date */
	maas_table_begin_row(&t, 0, 778);
	maas_table_set_text(&t, C_DATE, "yesterday", 9);
	maas_table_end_row(&t);
	size_t bad[] = {0, 1, 2, 201};
	ok(maas_split_rows(&t, &s, bad, 4, &o, &a, &e) == -1 && e.kind == MAAS_EDATA, "unreadable date: error");
	is_str(e.msg, "cannot read time in column 'date' at 's.csv' line 778: 'yesterday' is not a date or a number",
	       "the message names the value");
	free(rows2);

	/* explicit time split and a test input: the test rows keep time order */
	o.split = MAAS_SPLIT_TIME;
	o.first_test_row = 150;
	ok(maas_split_rows(&t, &s, rows, n, &o, &a, &e) == 0, "time split with a test input");
	ok(a.n[2] == 50 && a.n[1] == 17 && a.n[0] == 133,
	   "150 rows train/val by .8:.1 -> val round(150/9)=17; test 50 (got %zu/%zu/%zu)", a.n[0], a.n[1], a.n[2]);
	int test_rows = 1;
	for (size_t i = 0; i < a.n[2]; i++)
		test_rows &= a.rows[2][i] >= 150;
	ok(test_rows, "the test rows are the test input's");
	is_int(a.rows[2][0], 199, "test rows in time order");
	is_int(a.rows[0][0], 149, "train starts with the oldest training row");
	maas_split_release(&a);
	maas_schema_release(&s);
	maas_table_release(&t);
	free(rows);
}

static void test_group(void)
{
	struct maas_table t;
	struct maas_schema s;
	struct maas_prep_opts o;
	struct maas_split a, b;
	struct maas_err e;
	size_t n = 700, *rows = all_rows(n);   /* 100 groups of 7 */

	make_table(&t, n);
	make_schema(&s, C_CLS, MAAS_TASK_CLASSIFICATION, -1, C_GRP);
	maas_prep_opts_init(&o);
	o.seed = 3;
	ok(maas_split_rows(&t, &s, rows, n, &o, &a, &e) == 0, "group split");
	is_int(a.method, MAAS_SPLIT_GROUP, "auto with a group column is group");
	ok(partition(&a, n) && input_order(&a), "every row once, input order");
	/* group g = row / 7: each group in one split */
	int where[100];
	for (int g = 0; g < 100; g++)
		where[g] = -1;
	int whole = 1;
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < a.n[k]; i++) {
			int g = (int)(a.rows[k][i] / 7);
			if (where[g] >= 0 && where[g] != k)
				whole = 0;
			where[g] = k;
		}
	ok(whole, "no group straddles two splits");
	ok(a.n[0] == 560 && a.n[1] == 70 && a.n[2] == 70, "equal groups hit the fractions: 560/70/70 (got %zu/%zu/%zu)",
	   a.n[0], a.n[1], a.n[2]);
	ok(maas_split_rows(&t, &s, rows, n, &o, &b, &e) == 0 && same_split(&a, &b), "same seed, same split");
	maas_split_release(&b);
	o.seed = 4;
	ok(maas_split_rows(&t, &s, rows, n, &o, &b, &e) == 0 && !same_split(&a, &b), "another seed, another split");
	maas_split_release(&b);
	maas_split_release(&a);

	/* uneven groups: each split within half the largest group of its target */
	size_t *uneven = xmallocarray(n, sizeof *uneven), m = 0;
	for (size_t i = 0; i < n; i++)
		if (i % 7 <= (i / 7) % 7)   /* group g keeps g%7+1 rows */
			uneven[m++] = i;
	ok(maas_split_rows(&t, &s, uneven, m, &o, &a, &e) == 0, "uneven groups (%zu rows)", m);
	double want_t = floor((double)m * 0.1 + 0.5);
	ok(fabs((double)a.n[2] - want_t) <= 3.5 && fabs((double)a.n[1] - want_t) <= 7,
	   "test %zu, val %zu near %g", a.n[2], a.n[1], want_t);
	maas_split_release(&a);
	free(uneven);

	/* one group: everything in train */
	size_t one[] = {0, 1, 2, 3, 4, 5, 6};
	ok(maas_split_rows(&t, &s, one, 7, &o, &a, &e) == 0 && a.n[0] == 7, "a single group goes to train");
	maas_split_release(&a);
	maas_schema_release(&s);
	maas_table_release(&t);
	free(rows);
}

static void test_first_test_row(void)
{
	struct maas_table t;
	struct maas_schema s;
	struct maas_prep_opts o;
	struct maas_split a;
	struct maas_err e;
	size_t n = 100, *rows = all_rows(n);

	make_table(&t, n);
	make_schema(&s, -1, MAAS_TASK_AUTO, -1, -1);
	maas_prep_opts_init(&o);
	o.first_test_row = 90;
	ok(maas_split_rows(&t, &s, rows, n, &o, &a, &e) == 0, "random split with a test input");
	ok(a.n[2] == 10 && a.n[1] == 10 && a.n[0] == 80, "90 rows at .8:.1 -> 80/10; test 10 (got %zu/%zu/%zu)",
	   a.n[0], a.n[1], a.n[2]);
	int test_rows = 1;
	for (size_t i = 0; i < a.n[2]; i++)
		test_rows &= a.rows[2][i] == 90 + i;
	ok(test_rows, "the test split is rows 90..99 in order");
	ok(partition(&a, n), "every row once");
	maas_split_release(&a);

	o.frac[0] = 0.7, o.frac[1] = 0.3, o.frac[2] = 0;
	ok(maas_split_rows(&t, &s, rows, n, &o, &a, &e) == 0 && a.n[1] == 27 && a.n[0] == 63,
	   "frac .7/.3: val round(90*.3)=27");
	maas_split_release(&a);

	o.first_test_row = 0;
	ok(maas_split_rows(&t, &s, rows, n, &o, &a, &e) == -1 && e.kind == MAAS_EDATA &&
	   !strcmp(e.msg, "no training rows: all 100 rows are test rows"), "only test rows: %s", e.msg);
	o.first_test_row = 1000;
	ok(maas_split_rows(&t, &s, rows, n, &o, &a, &e) == 0 && a.n[2] == 0 && a.n[1] == 30, "empty test input");
	maas_split_release(&a);
	maas_schema_release(&s);
	maas_table_release(&t);
	free(rows);
}

static void test_names(void)
{
	is_str(maas_split_names[MAAS_TRAIN], "train", "train");
	is_str(maas_split_names[MAAS_VAL], "val", "val");
	is_str(maas_split_names[MAAS_TEST], "test", "test");
	is_str(maas_split_method_name(MAAS_SPLIT_STRATIFIED), "stratified", "method name");
	is_int(maas_split_method_parse("group"), MAAS_SPLIT_GROUP, "parse group");
	is_int(maas_split_method_parse("auto"), MAAS_SPLIT_AUTO, "parse auto");
	is_int(maas_split_method_parse("kfold"), -1, "unknown method");
}

static void test_windows(void)
{
	is_int(maas_window_count(10, 3, 1, 1), 7, "10 rows, length 3, horizon 1: 7");
	is_int(maas_window_count(4, 3, 1, 1), 1, "n = length + horizon: 1");
	is_int(maas_window_count(3, 3, 1, 1), 0, "n < length + horizon: 0");
	is_int(maas_window_count(2, 3, 1, 1), 0, "n < length: 0");
	is_int(maas_window_count(0, 3, 1, 1), 0, "empty split: 0");
	is_int(maas_window_count(10, 3, 1, 2), 4, "stride 2: 4");
	is_int(maas_window_count(10, 3, 1, 3), 3, "stride 3: 3");
	is_int(maas_window_count(10, 3, 1, 100), 1, "huge stride: 1");
	is_int(maas_window_count(10, 3, 3, 1), 5, "horizon 3: 5");
	is_int(maas_window_count(3, 3, 0, 1), 1, "horizon 0: the window's own last row");
	is_int(maas_window_count(10, 0, 1, 1), 0, "length 0: none");
	is_int(maas_window_count(10, 3, 1, 0), 0, "stride 0: none");
	is_int(maas_window_count(5, SIZE_MAX, 1, 1), 0, "huge length: 0, no overflow");
	is_int(maas_window_count(5, 3, SIZE_MAX, 1), 0, "huge horizon: 0, no overflow");
	is_int(maas_window_count(SIZE_MAX, SIZE_MAX - 1, 1, 1), 1, "n = SIZE_MAX: 1");
	is_int(maas_window_first(3, 2), 6, "window 3 at stride 2 starts at 6");
	/* the last window's target is the last row it may use */
	size_t n = 23, len = 5, h = 2, st = 3, w = maas_window_count(n, len, h, st);
	size_t last = maas_window_first(w - 1, st) + len - 1 + h;
	ok(last < n && last + st >= n, "last target %zu within %zu rows, and one more window would not fit", last, n);
}

int main(void)
{
	test_random();
	test_stratified();
	test_time();
	test_group();
	test_first_test_row();
	test_names();
	test_windows();
	return done_testing();
}
