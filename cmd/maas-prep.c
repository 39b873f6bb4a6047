/*
 * maas-prep - collect, clean, encode, scale and split data into a dataset.
 *
 * The options live in the table below; parsing fills a struct
 * maas_prep_job and lib/prep/run.c does the work.  See maas-prep(1).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/version.h"
#include "core/opt.h"
#include "prep/run.h"

enum {
	OPT_OUTPUT = 1, OPT_FORMAT, OPT_DELIMITER, OPT_NO_HEADER, OPT_NA, OPT_TEST_INPUT,
	OPT_TARGET, OPT_TASK, OPT_TYPE, OPT_DROP, OPT_TIME_COLUMN, OPT_GROUP_COLUMN,
	OPT_KEEP_DUPLICATES, OPT_IMPUTE, OPT_MISSING_INDICATOR, OPT_CLIP, OPT_KEEP_CONSTANT,
	OPT_ENCODE, OPT_MIN_FREQUENCY, OPT_MAX_CATEGORIES, OPT_UNKNOWN, OPT_SCALE, OPT_LOG1P,
	OPT_MAX_TEXT, OPT_SPLIT, OPT_SPLIT_METHOD, OPT_SEED, OPT_WINDOW, OPT_HORIZON, OPT_STRIDE,
	OPT_APPLY, OPT_CHECK, OPT_REPORT, OPT_FAIL_ON, OPT_SAVE_SPEC, OPT_QUIET, OPT_VERBOSE,
};

static const struct maas_option options[] = {
	{"output", 'o', "FILE", "write the dataset to FILE (default: stdout)", "file", OPT_OUTPUT},
	{"format", 'f', "FORMAT", "input format: csv, tsv, json, jsonl, idx (default: detect)", "csv|tsv|json|jsonl|idx", OPT_FORMAT},
	{"delimiter", 'd', "CHAR", "CSV field delimiter (default: detect)", NULL, OPT_DELIMITER},
	{"no-header", 0, NULL, "CSV/TSV input has no header row (columns c1, c2, ...)", NULL, OPT_NO_HEADER},
	{"na", 0, "LIST", "comma-separated tokens that mean missing (default: NA,N/A,NaN,nan,null,NULL,None,?)", NULL, OPT_NA},
	{"test-input", 0, "FILE", "rows of FILE form the test split (repeatable)", "file", OPT_TEST_INPUT},
	{"target", 't', "COLUMN", "the column to predict", NULL, OPT_TARGET},
	{"task", 0, "TASK", "classification or regression (default: inferred)", "classification|regression", OPT_TASK},
	{"type", 0, "COLUMN=TYPE", "set a column's type: number, integer, boolean, categorical, date, text, drop", NULL, OPT_TYPE},
	{"drop", 0, "COLUMNS", "drop these columns (comma-separated, repeatable)", NULL, OPT_DROP},
	{"time-column", 0, "COLUMN", "order rows by COLUMN and split by time", NULL, OPT_TIME_COLUMN},
	{"group-column", 0, "COLUMN", "keep rows with the same COLUMN value in one split", NULL, OPT_GROUP_COLUMN},
	{"keep-duplicates", 0, NULL, "keep exact duplicate rows (default: drop them)", NULL, OPT_KEEP_DUPLICATES},
	{"impute", 0, "[COLUMN=]HOW", "fill missing values: mean, median, most-frequent, constant:VALUE", NULL, OPT_IMPUTE},
	{"missing-indicator", 0, NULL, "add a 0/1 feature for each column with missing values", NULL, OPT_MISSING_INDICATOR},
	{"clip", 0, "METHOD[:K]", "clip outliers: none, zscore[:K] (K=3), iqr[:K] (K=1.5)", "none|zscore|iqr", OPT_CLIP},
	{"keep-constant", 0, NULL, "keep columns that are constant on the training split", NULL, OPT_KEEP_CONSTANT},
	{"encode", 0, "[COLUMN=]HOW", "encode categories: onehot, ordinal (default: onehot)", NULL, OPT_ENCODE},
	{"min-frequency", 0, "N", "categories seen fewer than N times go to 'other' (default: 1)", NULL, OPT_MIN_FREQUENCY},
	{"max-categories", 0, "N", "keep at most N categories per column (default: 64)", NULL, OPT_MAX_CATEGORIES},
	{"unknown", 0, "POLICY", "unseen categories: other, zero, error (default: other)", "other|zero|error", OPT_UNKNOWN},
	{"scale", 0, "[COLUMN=]HOW", "scale numbers: standard, minmax, robust, none (default: standard)", NULL, OPT_SCALE},
	{"log1p", 0, "COLUMN", "take log(1+x) of COLUMN before scaling (repeatable)", NULL, OPT_LOG1P},
	{"max-text-cardinality", 0, "N", "string columns with more distinct values are free text (default: 100)", NULL, OPT_MAX_TEXT},
	{"split", 0, "TRAIN,VAL,TEST", "split fractions (default: 0.8,0.1,0.1)", NULL, OPT_SPLIT},
	{"split-method", 0, "METHOD", "random, stratified, time, group (default: inferred)", "random|stratified|time|group", OPT_SPLIT_METHOD},
	{"seed", 's', "N", "seed for the split (default: 0)", NULL, OPT_SEED},
	{"window", 'w', "LENGTH", "make sequences of LENGTH rows for recurrent models", NULL, OPT_WINDOW},
	{"horizon", 0, "N", "predict the target N rows after a window (default: 1)", NULL, OPT_HORIZON},
	{"stride", 0, "N", "start a window every N rows (default: 1)", NULL, OPT_STRIDE},
	{"apply", 'a', "SPEC", "transform new data with the spec of a prep.json, dataset or bundle", "file", OPT_APPLY},
	{"check", 'n', NULL, "only analyse: write the report, no dataset", NULL, OPT_CHECK},
	{"report", 'r', "FILE", "write the data-quality report as JSON to FILE", "file", OPT_REPORT},
	{"fail-on", 0, "RULE", "fail (exit 1) when RULE holds, e.g. 'missing>0.3' (repeatable)", NULL, OPT_FAIL_ON},
	{"save-spec", 0, "FILE", "also write the fitted spec (prep.json) to FILE", "file", OPT_SAVE_SPEC},
	{"quiet", 'q', NULL, "print nothing but errors", NULL, OPT_QUIET},
	{"verbose", 'v', NULL, "say more about each step", NULL, OPT_VERBOSE},
	{NULL, 0, NULL, NULL, NULL, 0},
};

static const char *const synopsis[] = {
	"[options] [FILE ...]",
	"--apply SPEC [options] [FILE ...]",
	"--check [--fail-on RULE ...] [options] [FILE ...]",
	NULL,
};

struct cli {
	struct maas_prep_job job;
	const char **inputs, **tests, **na;
	size_t ninputs, ntests, nna;
	int verbosity;
};

static int usage_error(const char *fmt, const char *arg)
{
	struct maas_err e;
	maas_err_set(&e, MAAS_EUSAGE, fmt, arg);
	return maas_report_error(&e);
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	if (!s || !*s || *s == '-')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end)
		return -1;
	*out = (size_t)v;
	return 0;
}

static struct maas_col_opt *col_opt(struct maas_prep_opts *o, const char *name, size_t len)
{
	for (size_t i = 0; i < o->ncols; i++)
		if (strlen(o->cols[i].name) == len && !strncmp(o->cols[i].name, name, len))
			return &o->cols[i];
	o->cols = xreallocarray(o->cols, o->ncols + 1, sizeof *o->cols);
	memset(&o->cols[o->ncols], 0, sizeof o->cols[0]);
	o->cols[o->ncols].name = xstrndup(name, len);
	return &o->cols[o->ncols++];
}

/* "[COLUMN=]VALUE": *col is NULL without a column */
static const char *split_col(const char *arg, struct maas_prep_opts *o, struct maas_col_opt **col)
{
	const char *eq = strchr(arg, '=');
	*col = NULL;
	if (!eq)
		return arg;
	*col = col_opt(o, arg, (size_t)(eq - arg));
	return eq + 1;
}

static int parse_impute(const char *s, enum maas_impute *how, char **value)
{
	if (!strcmp(s, "mean"))
		*how = MAAS_IMPUTE_MEAN;
	else if (!strcmp(s, "median"))
		*how = MAAS_IMPUTE_MEDIAN;
	else if (!strcmp(s, "most-frequent"))
		*how = MAAS_IMPUTE_MOST_FREQUENT;
	else if (!strncmp(s, "constant:", 9)) {
		*how = MAAS_IMPUTE_CONSTANT;
		free(*value);
		*value = xstrdup(s + 9);
	} else
		return -1;
	return 0;
}

static int parse_scale(const char *s, enum maas_scale *how)
{
	static const char *const names[] = {"", "none", "standard", "minmax", "robust"};
	for (int i = 1; i < 5; i++)
		if (!strcmp(s, names[i])) {
			*how = (enum maas_scale)i;
			return 0;
		}
	return -1;
}

static int parse_encode(const char *s, enum maas_encode *how)
{
	if (!strcmp(s, "onehot"))
		*how = MAAS_ENCODE_ONEHOT;
	else if (!strcmp(s, "ordinal"))
		*how = MAAS_ENCODE_ORDINAL;
	else
		return -1;
	return 0;
}

static int parse_split(const char *s, double frac[3])
{
	char *end;
	double sum = 0;
	for (int i = 0; i < 3; i++) {
		frac[i] = strtod(s, &end);
		if (end == s || frac[i] < 0 || frac[i] > 1)
			return -1;
		sum += frac[i];
		s = end;
		if (i < 2 && *s++ != ',')
			return -1;
	}
	if (*s || sum < 1 - 1e-6 || sum > 1 + 1e-6 || frac[0] <= 0)
		return -1;
	return 0;
}

static int parse_clip(const char *s, struct maas_prep_opts *o)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	if (n == 4 && !strncmp(s, "none", 4) && !colon)
		o->clip = MAAS_CLIP_NONE;
	else if (n == 6 && !strncmp(s, "zscore", 6))
		o->clip = MAAS_CLIP_ZSCORE;
	else if (n == 3 && !strncmp(s, "iqr", 3))
		o->clip = MAAS_CLIP_IQR;
	else
		return -1;
	if (colon) {
		char *end;
		o->clip_k = strtod(colon + 1, &end);
		if (end == colon + 1 || *end || !(o->clip_k > 0))
			return -1;
	}
	return 0;
}

static void push(const char ***list, size_t *n, const char *s)
{
	*list = xreallocarray(*list, *n + 1, sizeof **list);
	(*list)[(*n)++] = s;
}

/* Applies one option; returns 0, or an exit code to stop with. */
static int apply_option(void *ctx, int id, const char *arg)
{
	struct cli *c = ctx;
	struct maas_prep_job *j = &c->job;
	struct maas_prep_opts *o = &j->prep;
	struct maas_col_opt *col;
	const char *v;
	size_t n;

	switch (id) {
	case OPT_OUTPUT: j->output = arg; break;
	case OPT_FORMAT:
		if (maas_format_parse(arg) < 0)
			return usage_error("unknown format '%s' (csv, tsv, json, jsonl, idx)", arg);
		j->read.format = (enum maas_format)maas_format_parse(arg);
		break;
	case OPT_DELIMITER:
		if (!strcmp(arg, "\\t") || !strcmp(arg, "tab"))
			j->read.delimiter = '\t';
		else if (strlen(arg) == 1 && arg[0] != '"' && arg[0] != '\n' && arg[0] != '\r')
			j->read.delimiter = arg[0];
		else
			return usage_error("bad delimiter '%s': give one character, or 'tab'", arg);
		break;
	case OPT_NO_HEADER: j->read.no_header = 1; break;
	case OPT_NA: {
		char *copy = xstrdup(arg), *save = NULL;
		c->nna = 0;
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			push(&c->na, &c->nna, tok);
		if (!c->nna)
			push(&c->na, &c->nna, copy); /* --na '' : only empty cells */
		break;
	}
	case OPT_TEST_INPUT: push(&c->tests, &c->ntests, arg); break;
	case OPT_TARGET: o->target = arg; break;
	case OPT_TASK:
		if (!strcmp(arg, "classification"))
			o->task = MAAS_TASK_CLASSIFICATION;
		else if (!strcmp(arg, "regression"))
			o->task = MAAS_TASK_REGRESSION;
		else
			return usage_error("unknown task '%s' (classification, regression)", arg);
		break;
	case OPT_TYPE: {
		const char *eq = strchr(arg, '=');
		int t = eq ? maas_ftype_parse(eq + 1) : -1;
		if (!eq || eq == arg)
			return usage_error("bad --type '%s': write COLUMN=TYPE", arg);
		if (t <= 0)
			return usage_error("bad --type '%s': types are number, integer, boolean, categorical, date, text, drop", arg);
		col_opt(o, arg, (size_t)(eq - arg))->type = (enum maas_ftype)t;
		break;
	}
	case OPT_DROP: {
		const char *s = arg;
		while (*s) {
			const char *comma = strchr(s, ',');
			size_t len = comma ? (size_t)(comma - s) : strlen(s);
			if (len)
				col_opt(o, s, len)->type = MAAS_FT_DROP;
			s += len + (comma != NULL);
		}
		break;
	}
	case OPT_TIME_COLUMN: o->time_column = arg; break;
	case OPT_GROUP_COLUMN: o->group_column = arg; break;
	case OPT_KEEP_DUPLICATES: o->keep_duplicates = 1; break;
	case OPT_IMPUTE:
		v = split_col(arg, o, &col);
		if (col ? parse_impute(v, &col->impute, &col->impute_value)
			: parse_impute(v, &o->impute_num, &o->impute_value))
			return usage_error("bad --impute '%s': mean, median, most-frequent or constant:VALUE", arg);
		if (!col) {
			o->impute_cat = o->impute_num == MAAS_IMPUTE_CONSTANT ? MAAS_IMPUTE_CONSTANT
				      : MAAS_IMPUTE_MOST_FREQUENT;
			if (o->impute_num == MAAS_IMPUTE_MOST_FREQUENT)
				o->impute_cat = MAAS_IMPUTE_MOST_FREQUENT;
		}
		break;
	case OPT_MISSING_INDICATOR: o->missing_indicator = 1; break;
	case OPT_CLIP:
		if (parse_clip(arg, o))
			return usage_error("bad --clip '%s': none, zscore[:K] or iqr[:K] with K > 0", arg);
		break;
	case OPT_KEEP_CONSTANT: o->keep_constant = 1; break;
	case OPT_ENCODE:
		v = split_col(arg, o, &col);
		if (parse_encode(v, col ? &col->encode : &o->encode))
			return usage_error("bad --encode '%s': onehot or ordinal", arg);
		break;
	case OPT_MIN_FREQUENCY:
		if (parse_size(arg, &o->min_frequency) || !o->min_frequency)
			return usage_error("bad --min-frequency '%s': a whole number from 1", arg);
		break;
	case OPT_MAX_CATEGORIES:
		if (parse_size(arg, &o->max_categories) || !o->max_categories)
			return usage_error("bad --max-categories '%s': a whole number from 1", arg);
		break;
	case OPT_UNKNOWN:
		if (!strcmp(arg, "other"))
			o->unknown = MAAS_UNKNOWN_OTHER;
		else if (!strcmp(arg, "zero"))
			o->unknown = MAAS_UNKNOWN_ZERO;
		else if (!strcmp(arg, "error"))
			o->unknown = MAAS_UNKNOWN_ERROR;
		else
			return usage_error("bad --unknown '%s': other, zero or error", arg);
		break;
	case OPT_SCALE:
		v = split_col(arg, o, &col);
		if (parse_scale(v, col ? &col->scale : &o->scale))
			return usage_error("bad --scale '%s': standard, minmax, robust or none", arg);
		break;
	case OPT_LOG1P: col_opt(o, arg, strlen(arg))->log1p = 1; break;
	case OPT_MAX_TEXT:
		if (parse_size(arg, &o->max_text_cardinality))
			return usage_error("bad --max-text-cardinality '%s': a whole number", arg);
		break;
	case OPT_SPLIT:
		if (parse_split(arg, o->frac))
			return usage_error("bad --split '%s': three fractions TRAIN,VAL,TEST that add up to 1, TRAIN above 0", arg);
		break;
	case OPT_SPLIT_METHOD: {
		static const char *const m[] = {"", "random", "stratified", "time", "group"};
		int found = 0;
		for (int i = 1; i < 5; i++)
			if (!strcmp(arg, m[i])) {
				o->split = (enum maas_split_method)i;
				found = 1;
			}
		if (!found)
			return usage_error("bad --split-method '%s': random, stratified, time or group", arg);
		break;
	}
	case OPT_SEED:
		if (parse_size(arg, &n))
			return usage_error("bad --seed '%s': a whole number", arg);
		o->seed = n;
		break;
	case OPT_WINDOW:
		if (parse_size(arg, &o->window) || !o->window)
			return usage_error("bad --window '%s': a whole number from 1", arg);
		break;
	case OPT_HORIZON:
		if (parse_size(arg, &o->horizon) || !o->horizon)
			return usage_error("bad --horizon '%s': a whole number from 1", arg);
		break;
	case OPT_STRIDE:
		if (parse_size(arg, &o->stride) || !o->stride)
			return usage_error("bad --stride '%s': a whole number from 1", arg);
		break;
	case OPT_APPLY: j->apply = arg; break;
	case OPT_CHECK: j->check_only = 1; break;
	case OPT_REPORT: j->report = arg; break;
	case OPT_FAIL_ON: {
		struct maas_err e;
		j->rules = xreallocarray(j->rules, j->nrules + 1, sizeof *j->rules);
		if (maas_rule_parse(arg, &j->rules[j->nrules], &e) < 0)
			return maas_report_error(&e);
		j->nrules++;
		break;
	}
	case OPT_SAVE_SPEC: j->spec_out = arg; break;
	case OPT_QUIET: c->verbosity = MAAS_LOG_QUIET; break;
	case OPT_VERBOSE: c->verbosity++; break;
	}
	return 0;
}

/* Combinations that cannot work, caught before any input is read. */
static int check_cli(struct cli *c)
{
	struct maas_prep_job *j = &c->job;

	if (j->apply && (j->check_only || j->nrules || j->ntest_inputs))
		return usage_error("%s", "--apply transforms data with a fitted spec; it takes no --check, --fail-on or --test-input");
	if (j->check_only && j->output && strcmp(j->output, "-"))
		return usage_error("%s", "--check writes no dataset; drop -o, or drop --check");
	if (j->report && maas_is_stdio(j->report) && !j->check_only && maas_is_stdio(j->output))
		return usage_error("%s", "the dataset and the report cannot both go to stdout; give -o FILE or --report FILE");
	if (j->prep.window && j->prep.split != MAAS_SPLIT_AUTO && j->prep.split != MAAS_SPLIT_TIME)
		return usage_error("%s", "--window needs time-ordered splits; drop --split-method or use 'time'");
	if (j->prep.window && !j->prep.target && !j->apply)
		return usage_error("%s", "--window needs --target: each window predicts the target after it");
	if (j->prep.window && !j->prep.time_column && !j->apply)
		return usage_error("%s", "--window needs --time-column: windows follow time, and splits must too");
	if (j->prep.window && j->apply)
		return usage_error("%s", "--apply takes its window from the spec; drop --window");
	return 0;
}

static char *command_line(int argc, char **argv)
{
	struct maas_buf b;
	maas_buf_init(&b);
	for (int i = 0; i < argc; i++) {
		if (i)
			maas_buf_addstr(&b, " ");
		if (!argv[i][strcspn(argv[i], " \t'\"$\\`*?[]{}()<>|&;~#!\n")]) {
			maas_buf_addstr(&b, argv[i]);
			continue;
		}
		/* single quotes, a quote inside written '\'' as sh reads it */
		maas_buf_addstr(&b, "'");
		for (const char *p = argv[i]; *p; p++)
			maas_buf_addstr(&b, *p == '\'' ? "'\\''" : (char[]){*p, 0});
		maas_buf_addstr(&b, "'");
	}
	return b.data;
}

static void on_signal(int sig)
{
	maas_io_remove_temporaries();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* -v: the report's headlines, for people (the JSON is for programs) */
static void report_headlines(const json_t *rep)
{
	const json_t *dup = json_object_get(rep, "duplicates"), *miss = json_object_get(rep, "missing");
	const json_t *target = json_object_get(rep, "target"), *split = json_object_get(rep, "split");
	const json_t *v, *acts = json_object_get(rep, "actions");
	const char *k;
	size_t i;

	maas_verbose("read %lld rows, %lld columns; %lld duplicate rows; largest missing fraction %.3g",
		     json_integer_value(json_object_get(rep, "rows")),
		     json_integer_value(json_object_get(rep, "columns")),
		     json_integer_value(json_object_get(dup, "rows")),
		     json_number_value(json_object_get(miss, "max_column_fraction")));
	json_array_foreach(json_object_get(rep, "column_stats"), i, v)
		maas_verbose("  column %-24s %-12s missing %-6lld distinct %lld",
			     json_string_value(json_object_get(v, "name")),
			     json_string_value(json_object_get(v, "type")),
			     json_integer_value(json_object_get(v, "missing")),
			     json_integer_value(json_object_get(v, "distinct")));
	if (json_is_object(json_object_get(target, "classes"))) {
		char line[512];
		size_t off = 0;
		json_object_foreach(json_object_get(target, "classes"), k, v)
			if (off < sizeof line)
				off += (size_t)snprintf(line + off, sizeof line - off, " %s %lld", k,
							json_integer_value(v));
		maas_verbose("target '%s' classes:%s (imbalance %.3g)",
			     json_string_value(json_object_get(target, "name")), line,
			     json_number_value(json_object_get(target, "imbalance")));
	}
	json_array_foreach(acts, i, v) {
		char *text = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(6));
		maas_verbose("  did %s", text);
		free(text);
	}
	if (split)
		maas_verbose("split %s: train %lld, val %lld, test %lld rows; %lld rows shared across splits",
			     json_string_value(json_object_get(split, "method")),
			     json_integer_value(json_object_get(split, "train")),
			     json_integer_value(json_object_get(split, "val")),
			     json_integer_value(json_object_get(split, "test")),
			     json_integer_value(json_object_get(split, "cross_split_duplicates")));
}

static void summary(const struct maas_prep_job *j, const struct maas_prep_result *r)
{
	static const char *const names[] = {"train", "val", "test"};
	char shapes[256] = "";
	size_t off = 0;

	for (int s = 0; s < 3; s++) {
		const struct maas_split_summary *sp = &r->split[s];
		if (!sp->ndim)
			continue;
		off += (size_t)snprintf(shapes + off, sizeof shapes - off, "%s%s [%zu", off ? ", " : "",
					j->apply ? "data" : names[s], sp->shape[0]);
		for (int d = 1; d < sp->ndim && off < sizeof shapes; d++)
			off += (size_t)snprintf(shapes + off, sizeof shapes - off, ",%zu", sp->shape[d]);
		if (off < sizeof shapes)
			off += (size_t)snprintf(shapes + off, sizeof shapes - off, "]");
		if (off >= sizeof shapes)
			break;
	}
	if (j->check_only) {
		maas_info("checked %zu rows: %zu duplicates%s", r->input_rows, r->duplicates,
			  j->nrules && !r->failed_rules ? ", every rule passed" : "");
		return;
	}
	char classes[48] = "";
	if (r->nclasses)
		snprintf(classes, sizeof classes, " with %zu classes", r->nclasses);
	maas_info("wrote '%s': %s; %zu features%s%s", maas_display_name(j->output, 1), shapes, r->nfeatures,
		  r->task == MAAS_TASK_CLASSIFICATION ? ", classification" :
		  r->task == MAAS_TASK_REGRESSION ? ", regression" : "", classes);
}

/* static: what the job points to stays reachable until exit */
static struct cli c;

int main(int argc, char **argv)
{
	struct maas_prep_result res;
	struct maas_progress progress;
	struct maas_err e;
	int rc;

	memset(&c, 0, sizeof c);
	maas_log_init(argv[0], MAAS_LOG_NORMAL);
	maas_read_opts_init(&c.job.read);
	maas_prep_opts_init(&c.job.prep);
	c.job.command_line = command_line(argc, argv);   /* before getopt permutes argv */
	if ((rc = maas_opt_parse(options, synopsis, argc, argv, apply_option, &c)) >= 0)
		return rc;
	for (int i = optind; i < argc; i++)
		push(&c.inputs, &c.ninputs, argv[i]);
	if (!c.ninputs)
		push(&c.inputs, &c.ninputs, "-");
	c.job.inputs = c.inputs;
	c.job.ninputs = c.ninputs;
	c.job.test_inputs = c.tests;
	c.job.ntest_inputs = c.ntests;
	c.job.na = c.na;
	c.job.nna = c.nna;
	if (!c.job.output)
		c.job.output = "-";
	if (c.job.check_only && !c.job.report)
		c.job.report = "-";
	if ((rc = check_cli(&c)))
		return rc;
	maas_log_init(argv[0], c.verbosity);
	maas_progress_start(&progress, "reading", 0);
	c.job.progress = &progress;
	c.job.read.progress = &progress;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, on_signal);

	memset(&res, 0, sizeof res);
	rc = maas_prep_run(&c.job, &res, &e);
	maas_progress_finish(&progress);
	if (res.report && c.verbosity >= MAAS_LOG_VERBOSE)
		report_headlines(res.report);
	if (rc < 0) {
		rc = maas_report_error(&e);
	} else {
		summary(&c.job, &res);
		rc = 0;
	}
	maas_prep_result_release(&res);
	return rc;
}
