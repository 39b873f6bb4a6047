/* infer.c - what each raw column is: its type, the target, the task (see prep.h). */
#include "prep/prep.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "prep/spec_int.h"

static const char *const ftype_names[] = {
	"auto", "number", "integer", "boolean", "categorical", "date", "text", "drop",
};

const char *maas_ftype_name(enum maas_ftype t)
{
	return (unsigned)t < sizeof ftype_names / sizeof ftype_names[0] ? ftype_names[t] : "unknown";
}

int maas_ftype_parse(const char *s)
{
	for (size_t i = 0; i < sizeof ftype_names / sizeof ftype_names[0]; i++)
		if (!strcmp(s, ftype_names[i]))
			return (int)i;
	return -1;
}

const char *maas_task_name(enum maas_task t)
{
	switch (t) {
	case MAAS_TASK_AUTO: return "auto";
	case MAAS_TASK_CLASSIFICATION: return "classification";
	case MAAS_TASK_REGRESSION: return "regression";
	}
	return "unknown";
}

int maas_bool_token(const char *s, size_t len)
{
	static const char *const tokens[] = {"true", "yes", "t", "y", "1", "false", "no", "f", "n", "0"};
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
		if (strlen(tokens[i]) == len && !strncasecmp(s, tokens[i], len))
			return i < 5;
	return -1;
}

/* ---- unknown names, with suggestions ---- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return (size_t)-1;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t best = diag + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* "unknown <what> 'x' [in <in>]" plus " (did you mean 'a' or 'b'?)" for close names */
static int unknown_column(const struct maas_table *t, const char *what, const char *name,
			  const char *in, struct maas_err *e)
{
	char hint[512] = "";
	size_t n = 0, used = 0, len = strlen(name);
	size_t limit = len < 6 ? 1 : len / 3;
	for (size_t c = 0; c < t->ncols && n < 3; c++) {
		if (edit_distance(name, t->cols[c].name) > limit)
			continue;
		int w = snprintf(hint + used, sizeof hint - used, "%s'%s'", n ? " or " : " (did you mean ", t->cols[c].name);
		if (w < 0 || (size_t)w >= sizeof hint - used - 3)
			break;
		used += (size_t)w;
		n++;
	}
	if (n)
		snprintf(hint + used, sizeof hint - used, "?)");
	return maas_err_set(e, MAAS_EUSAGE, "unknown %s '%s'%s%s%s", what, name, in ? " in " : "", in ? in : "", hint);
}

static long find_named(const struct maas_table *t, const char *name)
{
	return maas_table_find(t, name, strlen(name));
}

/* ---- per-column inference ---- */

/* distinct non-missing values of a float column (-0 equals 0) */
static size_t distinct_floats(const float *v, size_t n)
{
	size_t cap = 64, count = 0;
	int zero = 0;
	while (cap < 2 * n)
		cap *= 2;
	uint32_t *slot = xcalloc(cap, sizeof *slot);
	for (size_t i = 0; i < n; i++) {
		if (v[i] != v[i])
			continue;
		if (v[i] == 0) {
			zero = 1;
			continue;
		}
		uint32_t bits;
		memcpy(&bits, &v[i], sizeof bits);
		size_t k = (size_t)((bits * 0x9E3779B1u) ^ (bits >> 15)) & (cap - 1);
		while (slot[k] && slot[k] != bits)
			k = (k + 1) & (cap - 1);
		if (!slot[k]) {
			slot[k] = bits;
			count++;
		}
	}
	free(slot);
	return count + (size_t)zero;
}

static void infer_num(const struct maas_table *t, const struct maas_col *c, struct maas_schema_col *sc)
{
	int only01 = 1;
	for (size_t r = 0; r < t->nrows && only01; r++)
		if (c->num[r] == c->num[r] && c->num[r] != 0 && c->num[r] != 1)
			only01 = 0;
	sc->distinct = distinct_floats(c->num, t->nrows);
	if (only01)
		sc->type = MAAS_FT_BOOLEAN;
	else if (c->n_nonint == 0)
		sc->type = MAAS_FT_INTEGER;
	else
		sc->type = MAAS_FT_NUMBER;
}

static void infer_str(const struct maas_table *t, const struct maas_col *c,
		      const struct maas_prep_opts *o, struct maas_schema_col *sc)
{
	const struct maas_dict *d = &c->dict;
	size_t present = t->nrows - c->n_missing;
	int all_bool = 1, all_date = 1, has_time = 0;

	sc->distinct = d->n;
	for (uint32_t id = 1; id <= d->n && all_bool; id++)
		if (maas_bool_token(d->str[id], d->len[id]) < 0)
			all_bool = 0;
	if (all_bool) {
		sc->type = MAAS_FT_BOOLEAN;
		return;
	}
	for (uint32_t id = 1; id <= d->n && all_date; id++) {
		double ts;
		int ht;
		if (!maas_parse_date(d->str[id], d->len[id], &ts, &ht))
			all_date = 0;
		else if (ht)
			has_time = 1;
	}
	if (all_date) {
		sc->type = MAAS_FT_DATE;
		sc->date_has_time = has_time;
		return;
	}
	if (d->n > o->max_text_cardinality && (size_t)d->n * 2 > present) {
		sc->type = MAAS_FT_TEXT;
		sc->reason = "free text";
		return;
	}
	sc->type = MAAS_FT_CATEGORICAL;
}

/* which option a per-column override came from, for messages */
static const char *col_opt_flag(const struct maas_col_opt *co)
{
	if (co->type == MAAS_FT_DROP)
		return "--drop";
	if (co->type != MAAS_FT_AUTO)
		return "--type";
	if (co->impute != MAAS_IMPUTE_DEFAULT)
		return "--impute";
	if (co->scale != MAAS_SCALE_DEFAULT)
		return "--scale";
	if (co->encode != MAAS_ENCODE_DEFAULT)
		return "--encode";
	if (co->log1p)
		return "--log1p";
	return "a column option";
}

/* ---- the target ---- */

/* Refuses a regression target with a value that is not a number. */
static int check_numeric_target(const struct maas_table *t, long col, struct maas_err *e)
{
	const struct maas_col *c = &t->cols[col];
	if (c->kind == MAAS_COL_NUM)
		return 0;
	signed char *ok = xcalloc((size_t)c->dict.n + 1, 1);
	for (uint32_t id = 1; id <= c->dict.n; id++) {
		double v;
		ok[id] = (signed char)maas_parse_number(c->dict.str[id], c->dict.len[id], &v);
	}
	for (size_t r = 0; r < t->nrows; r++) {
		uint32_t id = c->sid[r];
		if (id && !ok[id]) {
			char where[600];
			maas_table_where(t, r, where, sizeof where);
			free(ok);
			return maas_err_set(e, MAAS_EDATA,
					    "cannot use '%s' as a regression target: %s has '%.200s', not a number",
					    c->name, where, c->dict.str[id]);
		}
	}
	free(ok);
	return 0;
}

static int infer_target(const struct maas_table *t, const struct maas_prep_opts *o,
			struct maas_schema *s, struct maas_err *e)
{
	long tc = find_named(t, o->target);
	if (tc < 0)
		return unknown_column(t, "target column", o->target, NULL, e);
	s->target = tc;
	const struct maas_col *c = &t->cols[tc];
	struct maas_schema_col *sc = &s->cols[tc];
	size_t present = t->nrows - c->n_missing;
	if (!present)
		return maas_err_set(e, MAAS_EDATA, "target '%s' has no values", c->name);

	enum maas_task task = o->task;
	if (task == MAAS_TASK_AUTO) {
		if (sc->type == MAAS_FT_NUMBER)
			task = MAAS_TASK_REGRESSION;
		else if (sc->type == MAAS_FT_INTEGER)
			task = sc->distinct <= 20 && sc->distinct * 2 < present
			       ? MAAS_TASK_CLASSIFICATION : MAAS_TASK_REGRESSION;
		else
			task = MAAS_TASK_CLASSIFICATION;
	}
	if (task == MAAS_TASK_REGRESSION) {
		if (check_numeric_target(t, tc, e) < 0)
			return -1;
		if (sc->type != MAAS_FT_INTEGER)
			sc->type = MAAS_FT_NUMBER;
	} else if (sc->type == MAAS_FT_TEXT || sc->type == MAAS_FT_DATE || sc->type == MAAS_FT_DROP) {
		sc->type = MAAS_FT_CATEGORICAL;
	}
	sc->reason = NULL;
	s->task = task;
	return 0;
}

int maas_infer_schema(const struct maas_table *t, const struct maas_prep_opts *o,
		      struct maas_schema *s, struct maas_err *e)
{
	memset(s, 0, sizeof *s);
	s->ncols = t->ncols;
	s->cols = xcalloc(t->ncols ? t->ncols : 1, sizeof *s->cols);
	s->target = s->time_col = s->group_col = -1;
	s->task = MAAS_TASK_AUTO;

	for (size_t i = 0; i < o->ncols; i++)
		if (find_named(t, o->cols[i].name) < 0) {
			unknown_column(t, "column", o->cols[i].name, col_opt_flag(&o->cols[i]), e);
			goto fail;
		}

	for (size_t c = 0; c < t->ncols; c++) {
		const struct maas_col *col = &t->cols[c];
		struct maas_schema_col *sc = &s->cols[c];
		if (col->kind == MAAS_COL_NUM)
			infer_num(t, col, sc);
		else
			infer_str(t, col, o, sc);
		if (col->n_missing == t->nrows) {
			sc->type = MAAS_FT_DROP;
			sc->reason = "all missing";
		}
		/* overrides win; the last one naming a column counts */
		for (size_t i = 0; i < o->ncols; i++) {
			const struct maas_col_opt *co = &o->cols[i];
			if (co->type == MAAS_FT_AUTO || strcmp(co->name, col->name))
				continue;
			sc->type = co->type;
			sc->reason = co->type == MAAS_FT_DROP ? "--drop"
				   : co->type == MAAS_FT_TEXT ? "free text" : NULL;
		}
	}

	if (o->target && infer_target(t, o, s, e) < 0)
		goto fail;
	if (o->time_column && (s->time_col = find_named(t, o->time_column)) < 0) {
		unknown_column(t, "time column", o->time_column, NULL, e);
		goto fail;
	}
	if (o->group_column && (s->group_col = find_named(t, o->group_column)) < 0) {
		unknown_column(t, "group column", o->group_column, NULL, e);
		goto fail;
	}
	return 0;
fail:
	maas_schema_release(s);
	return -1;
}

void maas_schema_release(struct maas_schema *s)
{
	free(s->cols);
	memset(s, 0, sizeof *s);
	s->target = s->time_col = s->group_col = -1;
}
