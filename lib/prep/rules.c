/*
 * rules.c - --fail-on rules: METRIC OP NUMBER checked against the report.
 *
 * Syntax: a metric, an operator (<, >, <=, >=, ==, !=) and a number, with
 * spaces allowed around each: "missing>0.3", "rows < 100",
 * "missing[price] >= 0.05".  A rule *fails* (the job fails) when its
 * comparison is true.
 *
 * Metrics and where they come from in the report (report.c):
 *   rows                    rows read                      "rows"
 *   columns                 columns read                   "columns"
 *   missing                 largest per-column missing fraction
 *                                                          "missing"."max_column_fraction"
 *   missing_cells           missing fraction of all cells  "missing"."fraction"
 *   missing[COL]            missing fraction of column COL "column_stats"[]."missing_fraction"
 *   duplicates              fraction of duplicate rows     "duplicates"."fraction"
 *   constant                constant columns               len("constant_columns")
 *   high_cardinality        high-cardinality columns       len("high_cardinality_columns")
 *   imbalance               largest class / smallest class "target"."imbalance"
 *   classes                 number of classes              len("target"."classes")
 *   target_missing          rows without a target value    "target"."missing"
 *   cross_split_duplicates  val/test rows equal to an earlier split's row
 *                                                          "split"."cross_split_duplicates"
 *   train, val, test        rows in each split             "split"."train" ...
 * A metric whose part of the report is missing (imbalance without a
 * classification target, train without a split, an unknown column) is a
 * MAAS_EUSAGE error that says why.
 */
#include "prep/quality.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define RULE_MAX 1000          /* longest rule text */

static const char *const metrics[] = {
	"rows", "columns", "missing", "missing_cells", "duplicates", "constant",
	"high_cardinality", "imbalance", "classes", "target_missing",
	"cross_split_duplicates", "train", "val", "test",
};
#define NMETRICS (sizeof metrics / sizeof metrics[0])

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t d[65], prev;
	for (size_t j = 0; j <= lb; j++)
		d[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = d[0];
		d[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = d[j], best = prev + (a[i - 1] != b[j - 1]);
			if (d[j] + 1 < best)
				best = d[j] + 1;
			if (d[j - 1] + 1 < best)
				best = d[j - 1] + 1;
			d[j] = best;
			prev = cur;
		}
	}
	return d[lb];
}

/* The closest of names to s within a few edits, or NULL. */
static const char *closest(const char *s, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bestd = strlen(s) <= 3 ? 1 : strlen(s) <= 6 ? 2 : 3;
	for (size_t i = 0; i < n; i++) {
		size_t dist = edit_distance(s, names[i]);
		if (dist <= bestd && (!best || dist < bestd)) {
			best = names[i];
			bestd = dist;
		}
	}
	return best;
}

__attribute__((format(printf, 3, 4)))
static int bad(struct maas_err *e, const char *text, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return maas_err_set(e, MAAS_EUSAGE, "--fail-on '%.200s': %s", text, what);
}

static const struct {
	const char *text;
	int op;
} ops[] = {{"<=", 'l'}, {">=", 'g'}, {"==", '='}, {"!=", '!'}, {"<", '<'}, {">", '>'}};

int maas_rule_parse(const char *text, struct maas_rule *r, struct maas_err *e)
{
	const char *p = text, *end;
	char *metric = NULL, *column = NULL;
	double v;

	memset(r, 0, sizeof *r);
	if (strlen(text) > RULE_MAX)
		return maas_err_set(e, MAAS_EUSAGE, "--fail-on '%.40s...': rule longer than %d bytes", text, RULE_MAX);
	while (*p == ' ' || *p == '\t')
		p++;
	const char *m = p;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	if (p == m)
		return bad(e, text, "expected a metric such as 'missing' or 'rows'");
	metric = xstrndup(m, (size_t)(p - m));
	if (*p == '[') {
		const char *close = strrchr(p, ']');
		if (!close) {
			free(metric);
			return bad(e, text, "missing ']' after the column name");
		}
		column = xstrndup(p + 1, (size_t)(close - p - 1));
		p = close + 1;
	}
	size_t i;
	for (i = 0; i < NMETRICS; i++)
		if (!strcmp(metric, metrics[i]))
			break;
	if (i == NMETRICS) {
		const char *hint = closest(metric, metrics, NMETRICS);
		if (hint)
			bad(e, text, "unknown metric '%s' (did you mean '%s'?)", metric, hint);
		else
			bad(e, text, "unknown metric '%s'", metric);
		goto fail;
	}
	if (column && strcmp(metric, "missing")) {
		bad(e, text, "metric '%s' takes no column", metric);
		goto fail;
	}
	if (column && !*column) {
		bad(e, text, "empty column name in 'missing[]'");
		goto fail;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	for (size_t k = 0; k < sizeof ops / sizeof ops[0] && !r->op; k++)
		if (!strncmp(p, ops[k].text, strlen(ops[k].text))) {
			r->op = ops[k].op;
			p += strlen(ops[k].text);
		}
	if (!r->op) {
		if (*p == '=')
			bad(e, text, "'=' is not an operator (did you mean '=='?)");
		else
			bad(e, text, "expected an operator (<, >, <=, >=, ==, !=) after '%s%s'",
			    metric, column ? "[...]" : "");
		goto fail;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == p) {
		bad(e, text, "expected a number after the operator");
		goto fail;
	}
	if (!maas_parse_number(p, (size_t)(end - p), &v)) {
		char num[64];
		snprintf(num, sizeof num, "%.*s", (int)(end - p > 40 ? 40 : end - p), p);
		bad(e, text, "'%s' is not a number", num);
		goto fail;
	}
	r->metric = metric;
	r->column = column;
	r->value = v;
	r->text = xstrdup(text);
	return 0;
fail:
	free(metric);
	free(column);
	r->op = 0;
	return -1;
}

void maas_rule_release(struct maas_rule *r)
{
	free(r->metric);
	free(r->column);
	free(r->text);
	memset(r, 0, sizeof *r);
}

static int need(const json_t *j, struct maas_err *e, const struct maas_rule *r, const char *why)
{
	if (j)
		return 0;
	return maas_err_set(e, MAAS_EUSAGE, "--fail-on '%.200s': %s", r->text, why);
}

static int column_missing(const struct maas_rule *r, const json_t *report, double *v, struct maas_err *e)
{
	json_t *stats = json_object_get(report, "column_stats"), *c;
	size_t i, n = json_array_size(stats);
	const char **names = xcalloc(n ? n : 1, sizeof *names);

	json_array_foreach(stats, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		names[i] = name ? name : "";
		if (name && !strcmp(name, r->column)) {
			*v = json_number_value(json_object_get(c, "missing_fraction"));
			free(names);
			return 0;
		}
	}
	const char *hint = closest(r->column, names, n);
	if (hint)
		maas_err_set(e, MAAS_EUSAGE, "--fail-on '%.200s': no column '%.200s' in the input (did you mean '%.200s'?)",
			     r->text, r->column, hint);
	else
		maas_err_set(e, MAAS_EUSAGE, "--fail-on '%.200s': no column '%.200s' in the input", r->text, r->column);
	free(names);
	return -1;
}

/* The rule's metric from the report; *count says it is a count. */
static int metric_value(const struct maas_rule *r, const json_t *report, double *v, int *count,
			struct maas_err *e)
{
	const char *m = r->metric;
	json_t *target = json_object_get(report, "target"), *split = json_object_get(report, "split");
	json_t *j = NULL;

	*count = 1;
	if (!strcmp(m, "rows") || !strcmp(m, "columns")) {
		j = json_object_get(report, m);
	} else if (!strcmp(m, "missing") && r->column) {
		*count = 0;
		return column_missing(r, report, v, e);
	} else if (!strcmp(m, "missing") || !strcmp(m, "missing_cells")) {
		*count = 0;
		j = json_object_get(json_object_get(report, "missing"),
				    !strcmp(m, "missing") ? "max_column_fraction" : "fraction");
	} else if (!strcmp(m, "duplicates")) {
		*count = 0;
		j = json_object_get(json_object_get(report, "duplicates"), "fraction");
	} else if (!strcmp(m, "constant") || !strcmp(m, "high_cardinality")) {
		json_t *a = json_object_get(report, *m == 'c' ? "constant_columns" : "high_cardinality_columns");
		if (need(a, e, r, "the report has no column summary"))
			return -1;
		*v = (double)json_array_size(a);
		return 0;
	} else if (!strcmp(m, "imbalance") || !strcmp(m, "classes") || !strcmp(m, "target_missing")) {
		if (need(json_is_object(target) ? target : NULL, e, r, "there is no target (--target)"))
			return -1;
		if (!strcmp(m, "target_missing")) {
			j = json_object_get(target, "missing");
		} else {
			json_t *classes = json_object_get(target, "classes");
			if (!classes) {
				const char *task = json_string_value(json_object_get(target, "task"));
				return maas_err_set(e, MAAS_EUSAGE, "--fail-on '%.200s': the target '%.200s' is not a classification target (task %s)",
						    r->text, json_string_value(json_object_get(target, "name")), task ? task : "?");
			}
			if (!strcmp(m, "classes")) {
				*v = (double)json_object_size(classes);
				return 0;
			}
			*count = 0;
			j = json_object_get(target, "imbalance");
			if (json_is_null(j))
				return need(NULL, e, r, "the target has no classes");
		}
	} else {
		/* cross_split_duplicates, train, val, test */
		if (need(split, e, r, "the job has no split"))
			return -1;
		j = json_object_get(split, m);
	}
	if (!json_is_number(j))
		return maas_err_set(e, MAAS_ESOFTWARE, "--fail-on '%.200s': the report has no number for '%s'", r->text, m);
	*v = json_number_value(j);
	return 0;
}

static int violated(int op, double a, double b)
{
	switch (op) {
	case '<': return a < b;
	case '>': return a > b;
	case 'l': return a <= b;
	case 'g': return a >= b;
	case '=': return a == b;
	case '!': return a != b;
	}
	return 0;
}

int maas_rules_check(const struct maas_rule *rules, size_t n, json_t *report, struct maas_err *e)
{
	json_t *checks = json_array();
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		const struct maas_rule *r = &rules[i];
		double v = 0;
		int count;
		if (metric_value(r, report, &v, &count, e) < 0) {
			json_decref(checks);
			return -1;
		}
		int bad_rule = violated(r->op, v, r->value);
		failed += bad_rule;
		json_array_append_new(checks, json_pack("{s:s, s:o, s:b}", "rule", r->text,
			"value", count ? json_integer((json_int_t)v) : json_real(v), "failed", bad_rule));
	}
	json_object_set_new(report, "checks", checks);
	return failed;
}
