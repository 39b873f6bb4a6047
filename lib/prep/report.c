/*
 * report.c - maas-prep's data-quality report (a jansson object).
 *
 * maas_report_table fills these keys from the raw table, before duplicates
 * or rows without a target are dropped:
 *
 *   "format"     "maas-prep-report/1"
 *   "rows"       rows read (every input, --test-input included)
 *   "columns"    columns read
 *   "column_stats"  one object per column, in input order:
 *       "name"              the column's name
 *       "type"              the inferred (or --type) type: "number",
 *                           "integer", "boolean", "categorical", "date",
 *                           "text" or "drop"
 *       "reason"            only for "text" and "drop": why ("constant",
 *                           "all missing", "free text", "--drop", ...)
 *       "missing"           missing cells
 *       "missing_fraction"  missing / rows (0 for an empty table)
 *       "distinct"          distinct non-missing values, counted exactly
 *                           (numbers by float32 value, -0 = 0; strings by text)
 *       "constant"          true when distinct <= 1
 *       "high_cardinality"  true for a categorical or text column with more
 *                           than 50 distinct values that are more than half
 *                           of its non-missing cells
 *       "min", "max", "mean", "std"   number and integer columns only, over
 *                           the non-missing values (std is the population
 *                           standard deviation); null when every cell is
 *                           missing
 *   "missing"    {"cells": missing cells in the table,
 *                 "fraction": cells / (rows * columns),
 *                 "max_column_fraction": the largest missing_fraction,
 *                 "max_column": that column's name (null without columns),
 *                 "rows_with_missing": rows with at least one missing cell}
 *   "duplicates" {"rows": rows equal in every column (missing = missing) to
 *                 an earlier row, i.e. what dropping duplicates removes,
 *                 "fraction": rows / table rows}
 *   "constant_columns"          names of the constant columns
 *   "high_cardinality_columns"  names of the high-cardinality columns
 *   "target"     null without a target, else
 *                {"name", "task": "classification" or "regression",
 *                 "missing": rows without a target value,
 *                 classification: "classes": {label: rows, ...} most
 *                   frequent first (ties in order of first appearance;
 *                   number labels as their shortest text),
 *                   "imbalance": largest class / smallest class (null
 *                   without classes);
 *                 regression (number column): "min", "max", "mean", "std"}
 *   "actions"    [] - what cleaning and fitting did, appended in order by
 *                maas_report_action: {"action": ..., "column": ..., ...}
 *
 * maas_report_split adds, once the rows are split:
 *
 *   "split"      {"method": "random", "stratified", "time" or "group",
 *                 "train", "val", "test": rows in each split,
 *                 "cross_split_duplicates": val and test rows whose input
 *                   columns (every column but the target) equal those of a
 *                   row in an earlier split (train for val rows, train or
 *                   val for test rows): evaluation rows the model may have
 *                   seen in training, a leak,
 *                 "cross_split_examples": up to 10 such pairs, each
 *                   {"<earlier split>": "'file' line N", "<split>": "'file' line M"},
 *                   e.g. {"train": "'a.csv' line 3", "test": "'a.csv' line 90"}}
 *
 * maas_rules_check (rules.c) adds "checks".
 */
#include "prep/quality.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/sort.h"

#define HIGH_CARD_MIN 50       /* more distinct values than this ... */
#define CROSS_EXAMPLES 10

/* a float as the double its shortest text reads as (55.9f -> 55.9) */
static json_t *json_float(float f)
{
	char buf[32];
	maas_float_text(f, buf, sizeof buf);
	return json_real(strtod(buf, NULL));
}

/* a double rounded to 9 significant digits */
static json_t *json_round(double x)
{
	char buf[40];
	snprintf(buf, sizeof buf, "%.9g", x);
	return json_real(strtod(buf, NULL));
}

static json_t *json_size(size_t n)
{
	return json_integer((json_int_t)n);
}

static double ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

struct numstats {
	size_t count;
	double min, max, sum, sumsq;
};

static void numstats(const struct maas_col *c, size_t nrows, struct numstats *ns)
{
	memset(ns, 0, sizeof *ns);
	for (size_t r = 0; r < nrows; r++) {
		double v = c->num[r];
		if (v != v)
			continue;
		if (!ns->count || v < ns->min)
			ns->min = v;
		if (!ns->count || v > ns->max)
			ns->max = v;
		ns->sum += v;
		ns->count++;
	}
	/* second pass for a stable variance */
	double mean = ns->count ? ns->sum / (double)ns->count : 0;
	for (size_t r = 0; r < nrows; r++) {
		double v = c->num[r];
		if (v == v)
			ns->sumsq += (v - mean) * (v - mean);
	}
}

static void put_numstats(json_t *o, const struct maas_col *c, size_t nrows)
{
	struct numstats ns;
	numstats(c, nrows, &ns);
	if (!ns.count) {
		json_object_set_new(o, "min", json_null());
		json_object_set_new(o, "max", json_null());
		json_object_set_new(o, "mean", json_null());
		json_object_set_new(o, "std", json_null());
		return;
	}
	json_object_set_new(o, "min", json_float((float)ns.min));
	json_object_set_new(o, "max", json_float((float)ns.max));
	json_object_set_new(o, "mean", json_round(ns.sum / (double)ns.count));
	json_object_set_new(o, "std", json_round(sqrt(ns.sumsq / (double)ns.count)));
}

static size_t count_distinct(const struct maas_table *t, size_t col)
{
	const struct maas_col *c = &t->cols[col];
	size_t n = 0;
	if (c->kind == MAAS_COL_STR) {
		unsigned char *seen = xcalloc((size_t)c->dict.n + 1, 1);
		for (size_t r = 0; r < t->nrows; r++)
			if (c->sid[r] && !seen[c->sid[r]]) {
				seen[c->sid[r]] = 1;
				n++;
			}
		free(seen);
		return n;
	}
	/* numbers: sort and count the changes (-0 equals 0, as in row equality) */
	double *v = xmallocarray(t->nrows ? t->nrows : 1, sizeof *v);
	size_t m = 0;
	for (size_t r = 0; r < t->nrows; r++)
		if (c->num[r] == c->num[r])
			v[m++] = c->num[r];
	maas_sort_doubles(v, m);
	for (size_t i = 0; i < m; i++)
		n += i == 0 || v[i] != v[i - 1];
	free(v);
	return n;
}

struct cls {
	size_t first, count;   /* first row, rows */
};

static int cls_cmp(const void *a, const void *b)
{
	const struct cls *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

static json_t *target_classes(const struct maas_table *t, size_t col, double *imbalance)
{
	const struct maas_col *c = &t->cols[col];
	struct maas_rowset rs;
	struct cls *cl = NULL;
	size_t ncl = 0, cap = 0;
	int added;

	maas_rowset_init(&rs, t, &col, 1);
	for (size_t r = 0; r < t->nrows; r++) {
		if (maas_table_missing(t, col, r))
			continue;
		size_t k = maas_rowset_add(&rs, r, &added);
		if (k == SIZE_MAX)
			continue;
		if (added) {
			xgrow(&cl, &cap, ncl + 1, sizeof *cl);
			cl[ncl++] = (struct cls){r, 0};
		}
		cl[k].count++;
	}
	maas_rowset_release(&rs);
	qsort(cl, ncl, sizeof *cl, cls_cmp);

	json_t *classes = json_object();
	char buf[32];
	for (size_t i = 0; i < ncl; i++) {
		if (c->kind == MAAS_COL_STR) {
			size_t len;
			const char *s = maas_table_str(t, col, cl[i].first, &len);
			json_object_setn_new(classes, s, len, json_size(cl[i].count));
		} else {
			int n = maas_float_text(c->num[cl[i].first], buf, sizeof buf);
			json_object_setn_new(classes, buf, (size_t)n, json_size(cl[i].count));
		}
	}
	*imbalance = ncl ? (double)cl[0].count / (double)cl[ncl - 1].count : NAN;
	free(cl);
	return classes;
}

static json_t *report_target(const struct maas_table *t, const struct maas_schema *s)
{
	if (s->target < 0 || (size_t)s->target >= t->ncols)
		return json_null();
	size_t col = (size_t)s->target;
	const struct maas_col *c = &t->cols[col];
	json_t *o = json_object();
	size_t missing = 0;

	for (size_t r = 0; r < t->nrows; r++)
		missing += maas_table_missing(t, col, r);
	json_object_set_new(o, "name", json_string(c->name));
	json_object_set_new(o, "task", json_string(maas_task_name(s->task)));
	json_object_set_new(o, "missing", json_size(missing));
	if (s->task == MAAS_TASK_CLASSIFICATION) {
		double imbalance;
		json_object_set_new(o, "classes", target_classes(t, col, &imbalance));
		json_object_set_new(o, "imbalance", imbalance == imbalance ? json_round(imbalance) : json_null());
	} else if (c->kind == MAAS_COL_NUM) {
		put_numstats(o, c, t->nrows);
	}
	return o;
}

json_t *maas_report_table(const struct maas_table *t, const struct maas_schema *s)
{
	json_t *r = json_object(), *stats = json_array();
	json_t *constant = json_array(), *highcard = json_array();
	size_t cells = 0, max_col = 0, max_missing = 0;

	json_object_set_new(r, "format", json_string("maas-prep-report/1"));
	json_object_set_new(r, "rows", json_size(t->nrows));
	json_object_set_new(r, "columns", json_size(t->ncols));

	for (size_t col = 0; col < t->ncols; col++) {
		const struct maas_col *c = &t->cols[col];
		const struct maas_schema_col *sc = col < s->ncols ? &s->cols[col] : NULL;
		enum maas_ftype type = sc ? sc->type : MAAS_FT_AUTO;
		size_t missing = 0;
		for (size_t row = 0; row < t->nrows; row++)
			missing += maas_table_missing(t, col, row);
		size_t distinct = count_distinct(t, col);
		int is_const = distinct <= 1;
		int is_high = (type == MAAS_FT_CATEGORICAL || type == MAAS_FT_TEXT) &&
			      distinct > HIGH_CARD_MIN && distinct * 2 > t->nrows - missing;
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(c->name));
		json_object_set_new(o, "type", json_string(maas_ftype_name(type)));
		if ((type == MAAS_FT_DROP || type == MAAS_FT_TEXT) && sc->reason)
			json_object_set_new(o, "reason", json_string(sc->reason));
		json_object_set_new(o, "missing", json_size(missing));
		json_object_set_new(o, "missing_fraction", json_real(ratio(missing, t->nrows)));
		json_object_set_new(o, "distinct", json_size(distinct));
		json_object_set_new(o, "constant", json_boolean(is_const));
		json_object_set_new(o, "high_cardinality", json_boolean(is_high));
		if (c->kind == MAAS_COL_NUM && (type == MAAS_FT_NUMBER || type == MAAS_FT_INTEGER))
			put_numstats(o, c, t->nrows);
		json_array_append_new(stats, o);
		if (is_const)
			json_array_append_new(constant, json_string(c->name));
		if (is_high)
			json_array_append_new(highcard, json_string(c->name));
		cells += missing;
		if (missing > max_missing || col == 0) {
			max_missing = missing;
			max_col = col;
		}
	}
	json_object_set_new(r, "column_stats", stats);

	/* column by column, as the table is stored */
	unsigned char *row_missing = xcalloc(t->nrows ? t->nrows : 1, 1);
	size_t rows_missing = 0;
	for (size_t col = 0; col < t->ncols; col++)
		for (size_t row = 0; row < t->nrows; row++)
			row_missing[row] |= maas_table_missing(t, col, row);
	for (size_t row = 0; row < t->nrows; row++)
		rows_missing += row_missing[row];
	free(row_missing);
	size_t ncells = 0;
	if (maas_mul_overflow(t->nrows, t->ncols, &ncells))
		ncells = SIZE_MAX;
	json_object_set_new(r, "missing", json_pack("{s:o, s:o, s:o, s:o, s:o}",
		"cells", json_size(cells),
		"fraction", json_real(ratio(cells, ncells)),
		"max_column_fraction", json_real(ratio(max_missing, t->nrows)),
		"max_column", t->ncols ? json_string(t->cols[max_col].name) : json_null(),
		"rows_with_missing", json_size(rows_missing)));

	size_t *rows = xmallocarray(t->nrows ? t->nrows : 1, sizeof *rows), n = t->nrows;
	for (size_t i = 0; i < n; i++)
		rows[i] = i;
	size_t dups = maas_dedupe_rows(t, rows, &n);
	free(rows);
	json_object_set_new(r, "duplicates", json_pack("{s:o, s:o}", "rows", json_size(dups),
						       "fraction", json_real(ratio(dups, t->nrows))));
	json_object_set_new(r, "constant_columns", constant);
	json_object_set_new(r, "high_cardinality_columns", highcard);
	json_object_set_new(r, "target", report_target(t, s));
	json_object_set_new(r, "actions", json_array());
	return r;
}

void maas_report_split(json_t *report, const struct maas_table *t, const struct maas_schema *s,
		       const struct maas_split *split)
{
	size_t *cols = xmallocarray(t->ncols ? t->ncols : 1, sizeof *cols), ncols = 0;
	struct maas_rowset rs;
	json_t *examples = json_array();
	size_t dups = 0, ntrain_entries = 0;
	char a[512], b[512];
	int added;

	for (size_t c = 0; c < t->ncols; c++)
		if ((long)c != s->target)
			cols[ncols++] = c;
	maas_rowset_init(&rs, t, cols, ncols);
	for (int k = MAAS_TRAIN; k <= MAAS_TEST; k++) {
		for (size_t i = 0; i < split->n[k]; i++) {
			size_t row = split->rows[k][i];
			size_t e = k == MAAS_TRAIN ? SIZE_MAX : maas_rowset_find(&rs, row);
			/* a val row equal to an earlier val row is no leak */
			if (k == MAAS_VAL && e != SIZE_MAX && e >= ntrain_entries)
				e = SIZE_MAX;
			if (e != SIZE_MAX) {
				dups++;
				if (json_array_size(examples) < CROSS_EXAMPLES) {
					int earlier = e < ntrain_entries ? MAAS_TRAIN : MAAS_VAL;
					maas_table_where(t, rs.row[e], a, sizeof a);
					maas_table_where(t, row, b, sizeof b);
					json_array_append_new(examples, json_pack("{s:s, s:s}",
						maas_split_names[earlier], a, maas_split_names[k], b));
				}
			} else if (k != MAAS_TEST) {
				maas_rowset_add(&rs, row, &added);
			}
		}
		if (k == MAAS_TRAIN)
			ntrain_entries = rs.n;
	}
	maas_rowset_release(&rs);
	free(cols);
	json_object_set_new(report, "split", json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}",
		"method", maas_split_method_name(split->method),
		"train", json_size(split->n[MAAS_TRAIN]),
		"val", json_size(split->n[MAAS_VAL]),
		"test", json_size(split->n[MAAS_TEST]),
		"cross_split_duplicates", json_size(dups),
		"cross_split_examples", examples));
}

void maas_report_action(json_t *report, json_t *action)
{
	json_t *actions = json_object_get(report, "actions");
	if (!action)
		return;
	if (!report) {
		json_decref(action);
		return;
	}
	if (!json_is_array(actions)) {
		actions = json_array();
		json_object_set_new(report, "actions", actions);
	}
	json_array_append_new(actions, action);
}
