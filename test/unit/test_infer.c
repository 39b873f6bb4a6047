/* test_infer.c - schema inference: every type rule, overrides, the target and the task. */
#include <stdlib.h>
#include <string.h>

#include "prep/prep.h"
#include "tap.h"

/* a table from a header and row-major cells (NULL = cell not set) */
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

static void test_names(void)
{
	is_str(maas_ftype_name(MAAS_FT_CATEGORICAL), "categorical", "ftype name");
	is_int(maas_ftype_parse("date"), MAAS_FT_DATE, "ftype parse date");
	is_int(maas_ftype_parse("drop"), MAAS_FT_DROP, "ftype parse drop");
	is_int(maas_ftype_parse("float"), -1, "ftype parse unknown");
	is_str(maas_task_name(MAAS_TASK_REGRESSION), "regression", "task name");
	is_int(maas_bool_token("Yes", 3), 1, "Yes is true");
	is_int(maas_bool_token(" F ", 3), 0, "' F ' is false");
	is_int(maas_bool_token("N", 1), 0, "N is false");
	is_int(maas_bool_token("1", 1), 1, "1 is true");
	is_int(maas_bool_token("maybe", 5), -1, "maybe is neither");
}

static void test_types(void)
{
	static const char *const names[] = {"num", "int", "flag", "yn", "when", "cat", "empty", "text"};
	/* 8 rows; "text" has 8 distinct values */
	static const char *const cells[] = {
		"1.5", "1", "0", "yes", "2012-01-01", "red", NULL, "a1",
		"2.5", "2", "1", "No", "2012-01-02", "blue", "", "a2",
		"3", "3", "1", NULL, "2012-01-03T10:00", "red", "NA", "a3",
		NULL, "-4", "0", "Y", "2012/01/04", "red", NULL, "a4",
		"5", "5", NULL, "n", "2012-01-05", "green", NULL, "a5",
		"6", "6", "1", "TRUE", "2012-01-06", "red", NULL, "a6",
		"7", "7", "0", "false", "2012-01-07", "blue", NULL, "a7",
		"8", "8", "1", "t", "2012-01-08", "red", NULL, "a8",
	};
	struct maas_table t;
	struct maas_prep_opts o;
	struct maas_schema s;
	struct maas_err e;
	make_table(&t, names, 8, cells, 8);
	maas_prep_opts_init(&o);
	o.max_text_cardinality = 5;
	ok(maas_infer_schema(&t, &o, &s, &e) == 0, "infer");
	is_int(s.ncols, 8, "ncols");
	is_int(s.cols[0].type, MAAS_FT_NUMBER, "fractions -> number");
	is_int(s.cols[1].type, MAAS_FT_INTEGER, "whole numbers -> integer");
	is_int(s.cols[1].distinct, 8, "integer distinct");
	is_int(s.cols[2].type, MAAS_FT_BOOLEAN, "0/1 numbers -> boolean");
	is_int(s.cols[2].distinct, 2, "boolean distinct");
	is_int(s.cols[3].type, MAAS_FT_BOOLEAN, "yes/No/Y/n/TRUE/false/t -> boolean");
	is_int(s.cols[4].type, MAAS_FT_DATE, "dates -> date");
	ok(s.cols[4].date_has_time, "a date with a time of day");
	is_int(s.cols[5].type, MAAS_FT_CATEGORICAL, "few strings -> categorical");
	is_int(s.cols[5].distinct, 3, "categorical distinct");
	is_int(s.cols[6].type, MAAS_FT_DROP, "all missing -> drop");
	is_str(s.cols[6].reason, "all missing", "all missing reason");
	is_int(s.cols[7].type, MAAS_FT_TEXT, "many distinct strings -> text");
	is_str(s.cols[7].reason, "free text", "free text reason");
	is_int(s.target, -1, "no target");
	maas_schema_release(&s);

	/* cardinality above the limit but not more than half the rows distinct: categorical */
	o.max_text_cardinality = 2;
	ok(maas_infer_schema(&t, &o, &s, &e) == 0, "infer again");
	is_int(s.cols[5].type, MAAS_FT_CATEGORICAL, "3 distinct of 8 is not free text");
	maas_schema_release(&s);

	/* overrides win */
	struct maas_col_opt co[3] = {
		{.name = "int", .type = MAAS_FT_CATEGORICAL},
		{.name = "num", .type = MAAS_FT_DROP},
		{.name = "when", .type = MAAS_FT_AUTO, .log1p = 1},
	};
	o.cols = co;
	o.ncols = 3;
	ok(maas_infer_schema(&t, &o, &s, &e) == 0, "infer with overrides");
	is_int(s.cols[1].type, MAAS_FT_CATEGORICAL, "--type int=categorical");
	is_int(s.cols[0].type, MAAS_FT_DROP, "--drop num");
	is_str(s.cols[0].reason, "--drop", "--drop reason");
	is_int(s.cols[4].type, MAAS_FT_DATE, "an override without a type keeps the inferred one");
	maas_schema_release(&s);

	struct maas_col_opt bad = {.name = "colour", .type = MAAS_FT_CATEGORICAL};
	o.cols = &bad;
	o.ncols = 1;
	ok(maas_infer_schema(&t, &o, &s, &e) == -1 && e.kind == MAAS_EUSAGE, "unknown column in --type");
	is_str(e.msg, "unknown column 'colour' in --type", "message names the option and column");
	bad.name = "when";
	bad.type = MAAS_FT_AUTO;
	bad.name = "whem";
	bad.impute = MAAS_IMPUTE_MEDIAN;
	ok(maas_infer_schema(&t, &o, &s, &e) == -1 && e.kind == MAAS_EUSAGE, "unknown column in --impute");
	is_str(e.msg, "unknown column 'whem' in --impute (did you mean 'when'?)", "close names suggested");
	bad.name = "when";
	bad.type = MAAS_FT_DROP;
	bad.impute = 0;
	ok(maas_infer_schema(&t, &o, &s, &e) == 0, "dropping a known column");
	maas_schema_release(&s);
	o.cols = NULL;
	o.ncols = 0;

	o.target = "cat";
	o.time_column = "tiem";
	ok(maas_infer_schema(&t, &o, &s, &e) == -1 && e.kind == MAAS_EUSAGE, "unknown time column");
	is_str(e.msg, "unknown time column 'tiem'", "time column message");
	o.time_column = "when";
	o.group_column = "nope";
	ok(maas_infer_schema(&t, &o, &s, &e) == -1 && e.kind == MAAS_EUSAGE, "unknown group column");
	o.group_column = "yn";
	ok(maas_infer_schema(&t, &o, &s, &e) == 0, "time and group columns");
	is_int(s.time_col, 4, "time column index");
	is_int(s.group_col, 3, "group column index");
	is_int(s.target, 5, "target index");
	is_int(s.task, MAAS_TASK_CLASSIFICATION, "string target -> classification");
	maas_schema_release(&s);
	o.target = "Cat";
	ok(maas_infer_schema(&t, &o, &s, &e) == -1 && e.kind == MAAS_EUSAGE, "unknown target");
	is_str(e.msg, "unknown target column 'Cat' (did you mean 'cat'?)", "target message");
	o.target = "empty";
	ok(maas_infer_schema(&t, &o, &s, &e) == -1 && e.kind == MAAS_EDATA, "all-missing target");
	maas_table_release(&t);
}

static void test_task(void)
{
	static const char *const names[] = {"y", "z", "f", "s", "b"};
	char cells[60][5][16];
	const char *ptr[60 * 5];
	for (int r = 0; r < 60; r++) {
		snprintf(cells[r][0], 16, "%d", r % 3);          /* 3 distinct integers */
		snprintf(cells[r][1], 16, "%d", r % 30);         /* 30 distinct integers */
		snprintf(cells[r][2], 16, "%g", r * 0.5);        /* floats */
		snprintf(cells[r][3], 16, r == 7 ? "abc" : "%d", r); /* numbers and one text */
		snprintf(cells[r][4], 16, "%d", r % 2);          /* 0/1 */
		for (int c = 0; c < 5; c++)
			ptr[r * 5 + c] = cells[r][c];
	}
	struct maas_table t;
	struct maas_prep_opts o;
	struct maas_schema s;
	struct maas_err e;
	make_table(&t, names, 5, ptr, 60);
	maas_prep_opts_init(&o);

	o.target = "y";
	ok(maas_infer_schema(&t, &o, &s, &e) == 0, "infer y");
	is_int(s.task, MAAS_TASK_CLASSIFICATION, "3 distinct integers -> classification");
	maas_schema_release(&s);
	o.target = "z";
	ok(maas_infer_schema(&t, &o, &s, &e) == 0, "infer z");
	is_int(s.task, MAAS_TASK_REGRESSION, "30 distinct integers -> regression");
	maas_schema_release(&s);
	o.target = "f";
	ok(maas_infer_schema(&t, &o, &s, &e) == 0, "infer f");
	is_int(s.task, MAAS_TASK_REGRESSION, "floats -> regression");
	maas_schema_release(&s);
	o.task = MAAS_TASK_CLASSIFICATION;
	ok(maas_infer_schema(&t, &o, &s, &e) == 0, "--task classification on floats is allowed");
	is_int(s.task, MAAS_TASK_CLASSIFICATION, "classification forced");
	maas_schema_release(&s);
	o.task = MAAS_TASK_AUTO;
	o.target = "b";
	ok(maas_infer_schema(&t, &o, &s, &e) == 0, "infer b");
	is_int(s.task, MAAS_TASK_CLASSIFICATION, "boolean -> classification");
	maas_schema_release(&s);
	o.target = "s";
	ok(maas_infer_schema(&t, &o, &s, &e) == 0, "infer s");
	is_int(s.task, MAAS_TASK_CLASSIFICATION, "strings -> classification");
	maas_schema_release(&s);
	o.task = MAAS_TASK_REGRESSION;
	ok(maas_infer_schema(&t, &o, &s, &e) == -1 && e.kind == MAAS_EDATA, "--task regression on text");
	is_str(e.msg, "cannot use 's' as a regression target: 'x.csv' line 9 has 'abc', not a number",
	       "names file, line and value");
	maas_table_release(&t);

	/* integers with few distinct values but not fewer than half the rows */
	static const char *const n2[] = {"y"};
	static const char *const c2[] = {"1", "2", "3", "1", "2", "3"};
	make_table(&t, n2, 1, c2, 6);
	o.task = MAAS_TASK_AUTO;
	o.target = "y";
	ok(maas_infer_schema(&t, &o, &s, &e) == 0, "infer small");
	is_int(s.task, MAAS_TASK_REGRESSION, "3 distinct in 6 rows -> regression");
	maas_schema_release(&s);
	maas_table_release(&t);
}

int main(void)
{
	test_names();
	test_types();
	test_task();
	return done_testing();
}
