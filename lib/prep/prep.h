/*
 * prep.h - maas-prep's model of the data: options, the inferred schema, the
 * fitted spec, splits, windows, and the quality report.
 *
 * The pipeline (lib/prep/run.c drives it):
 *
 *   read inputs -> struct maas_table            (lib/data)
 *   maas_infer_schema   a type per column, the target, the task   (infer.c)
 *   maas_report_table   quality of the raw data into the report   (report.c)
 *   maas_dedupe_rows    exact duplicate rows out                  (clean.c)
 *   maas_split_rows     train / val / test row lists              (split.c)
 *   maas_spec_fit       impute, clip, encode, scale, fitted on the
 *                       training rows only -> struct maas_spec    (fit.c)
 *   maas_report_split   split sizes, duplicates across splits     (report.c)
 *   maas_rules_check    --fail-on rules against the report        (rules.c)
 *   maas_spec_transform one row -> one feature vector             (transform.c)
 *   maas_window_*       sequences for recurrent models            (window.c)
 *
 * The spec is what makes a model's input reproducible: written as JSON into
 * every dataset's metadata and every bundle's prep.json, read back by
 * `maas-prep --apply` and by maas-serve, which transform new raw records
 * with maas_spec_transform, the one code path for every consumer.
 *
 * Ownership: every struct here is caller-owned; *_release frees what it
 * holds.  Strings inside are owned by the struct.  json_t values returned
 * are new references the caller decrefs.
 */
#ifndef MAAS_PREP_PREP_H
#define MAAS_PREP_PREP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/table.h"

/* ---- types, tasks and methods ---- */

enum maas_ftype {
	MAAS_FT_AUTO = 0,   /* infer */
	MAAS_FT_NUMBER,     /* float; scaled */
	MAAS_FT_INTEGER,    /* whole numbers; treated as numbers for features */
	MAAS_FT_BOOLEAN,    /* true/false, yes/no, t/f, y/n, 1/0 -> one 0/1 feature */
	MAAS_FT_CATEGORICAL,/* one-hot or ordinal */
	MAAS_FT_DATE,       /* -> cyclical features (and year) */
	MAAS_FT_TEXT,       /* free text: dropped, reported */
	MAAS_FT_DROP,       /* dropped by the user, or constant, or all missing */
};
const char *maas_ftype_name(enum maas_ftype t);
/* -1 when unknown; accepts the names above ("number", "integer", ...) */
int maas_ftype_parse(const char *s);

enum maas_task { MAAS_TASK_AUTO = 0, MAAS_TASK_CLASSIFICATION, MAAS_TASK_REGRESSION };
const char *maas_task_name(enum maas_task t);

enum maas_impute { MAAS_IMPUTE_DEFAULT = 0, MAAS_IMPUTE_MEAN, MAAS_IMPUTE_MEDIAN,
		   MAAS_IMPUTE_MOST_FREQUENT, MAAS_IMPUTE_CONSTANT };
enum maas_scale { MAAS_SCALE_DEFAULT = 0, MAAS_SCALE_NONE, MAAS_SCALE_STANDARD,
		  MAAS_SCALE_MINMAX, MAAS_SCALE_ROBUST };
enum maas_clip { MAAS_CLIP_NONE = 0, MAAS_CLIP_ZSCORE, MAAS_CLIP_IQR };
enum maas_encode { MAAS_ENCODE_DEFAULT = 0, MAAS_ENCODE_ONEHOT, MAAS_ENCODE_ORDINAL };
/* what a category never seen in training becomes */
enum maas_unknown { MAAS_UNKNOWN_OTHER = 0, /* the "other" bucket if there is one, else all zeros */
		    MAAS_UNKNOWN_ZERO,          /* all zeros */
		    MAAS_UNKNOWN_ERROR };       /* refuse the row */
enum maas_split_method { MAAS_SPLIT_AUTO = 0, /* stratified for classification, else random; time with a time column */
			 MAAS_SPLIT_RANDOM, MAAS_SPLIT_STRATIFIED, MAAS_SPLIT_TIME, MAAS_SPLIT_GROUP };

/* Per-column choices from the command line (--type, --impute COL=, --scale COL=, --encode COL=, --log1p). */
struct maas_col_opt {
	char *name;
	enum maas_ftype type;      /* AUTO = infer */
	enum maas_impute impute;   /* DEFAULT = the global choice */
	char *impute_value;        /* for CONSTANT */
	enum maas_scale scale;
	enum maas_encode encode;
	int log1p;
};

struct maas_prep_opts {
	const char *target;                /* NULL: no target (unsupervised / apply) */
	enum maas_task task;
	struct maas_col_opt *cols;         /* per-column overrides */
	size_t ncols;

	enum maas_impute impute_num;       /* default MEAN */
	enum maas_impute impute_cat;       /* default MOST_FREQUENT */
	char *impute_value;                /* global constant for CONSTANT */
	int missing_indicator;             /* add "<col>_missing" 0/1 for columns with missing training values */
	enum maas_clip clip;
	double clip_k;                     /* z-score k (default 3) or IQR multiple (default 1.5) */
	int keep_duplicates;               /* default: drop exact duplicate rows */
	int keep_constant;                 /* default: drop columns constant on train */

	enum maas_encode encode;           /* default ONEHOT */
	size_t min_frequency;              /* categories seen fewer times on train go to "other" (default 1) */
	size_t max_categories;             /* at most this many one-hot columns, the rest "other" (default 64) */
	enum maas_unknown unknown;
	enum maas_scale scale;             /* default STANDARD */
	size_t max_text_cardinality;       /* a string column with more distinct values than
					      this and more than half its rows distinct is free text (default 100) */

	double frac[3];                    /* train, val, test fractions; sum to 1 (default .8 .1 .1) */
	enum maas_split_method split;
	const char *time_column;
	const char *group_column;
	uint64_t seed;
	long first_test_row;               /* >= 0: rows from here on are the test split (from --test-input); else -1 */

	size_t window, horizon, stride;    /* window 0 = no windows; horizon default 1; stride default 1 */
};
void maas_prep_opts_init(struct maas_prep_opts *o);   /* fills the defaults above */

/* ---- schema: what each raw column is ---- */

struct maas_schema_col {
	enum maas_ftype type;     /* never AUTO after inference */
	const char *reason;       /* static text: why DROP/TEXT ("constant", "all missing", "free text", "--drop") */
	size_t distinct;          /* distinct non-missing values (string columns: dictionary size) */
	int date_has_time;        /* DATE: some value has a time of day */
};

struct maas_schema {
	size_t ncols;                  /* == table ncols */
	struct maas_schema_col *cols;  /* [ncols] */
	long target;                   /* table column of the target, -1 none */
	enum maas_task task;
	long time_col, group_col;      /* -1 none */
};
/* Infers types, applies overrides, finds target/time/group columns (unknown
 * names are MAAS_EUSAGE errors naming the column), infers the task.
 * A regression target that is not numeric is MAAS_EDATA naming file, line and value.
 *
 * A column of AUTO type becomes: DROP ("all missing") when every cell is
 * missing; for a numeric table column BOOLEAN when its only values are 0
 * and 1, INTEGER when none has a fractional part, else NUMBER; for a string
 * column BOOLEAN when every value is a boolean token (maas_bool_token), DATE
 * when every value parses with maas_parse_date, TEXT ("free text") when it
 * has more than o->max_text_cardinality distinct values and more distinct
 * values than half its non-missing cells, else CATEGORICAL.  The target's
 * task, when AUTO, is classification for a string or boolean target, or an
 * integer one with at most 20 distinct values and fewer distinct values
 * than half its non-missing cells; else regression. */
int maas_infer_schema(const struct maas_table *t, const struct maas_prep_opts *o,
		      struct maas_schema *s, struct maas_err *e);
void maas_schema_release(struct maas_schema *s);

/* A boolean token: 1 for true, yes, t, y, 1; 0 for false, no, f, n, 0 (any
 * case, surrounding spaces ignored); -1 for anything else. */
int maas_bool_token(const char *s, size_t len);

/* ---- dates (date.c) ---- */

/* Parses ISO-like dates: YYYY-MM-DD or YYYY/MM/DD, optionally followed by
 * 'T' or ' ' and HH:MM[:SS[.frac]] and an optional 'Z' or +HH:MM/-HH:MM.
 * Sets *t to seconds since 1970-01-01 UTC and *has_time.  Returns 1 or 0. */
int maas_parse_date(const char *s, size_t len, double *t, int *has_time);
/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil); month 1..12. */
long maas_days_from_civil(long y, int m, int d);

/* ---- cleaning (clean.c) ---- */

/* Removes exact duplicate rows (every column equal, missing equal to
 * missing) from rows[0..*n), keeping the first; returns how many went. */
size_t maas_dedupe_rows(const struct maas_table *t, size_t *rows, size_t *n);
/* 64-bit hash of a row over the given columns (for duplicate detection). */
uint64_t maas_row_hash(const struct maas_table *t, size_t row, const size_t *cols, size_t ncols);
int maas_rows_equal(const struct maas_table *t, size_t a, size_t b, const size_t *cols, size_t ncols);

/* ---- splits (split.c) ---- */

enum { MAAS_TRAIN = 0, MAAS_VAL = 1, MAAS_TEST = 2 };
extern const char *const maas_split_names[3];   /* "train", "val", "test" */

struct maas_split {
	size_t *rows[3];   /* table row indices per split */
	size_t n[3];
	enum maas_split_method method;  /* the one used */
};
/* Splits rows[0..n) (already cleaned) by o->split, o->frac, o->seed,
 * s->time_col/group_col/target.  Time splits keep time order within each
 * split (train oldest); other splits keep input order within each split.
 * Groups never straddle splits.  Rows with index >= o->first_test_row (when
 * set) form the test split and the rest is split into train and val. */
int maas_split_rows(const struct maas_table *t, const struct maas_schema *s,
		    const size_t *rows, size_t n, const struct maas_prep_opts *o,
		    struct maas_split *out, struct maas_err *e);
void maas_split_release(struct maas_split *s);

/* ---- the fitted spec (spec.c, fit.c, transform.c) ---- */

/* Training statistics of one input column, for drift measurement. */
struct maas_stats {
	size_t count, missing;     /* non-missing and missing training values */
	double mean, std, min, max;
	double edges[11];          /* numeric: decile edges (edges[0]=min .. edges[10]=max) */
	double frac[10];           /* numeric: fraction of training values in each decile bin */
};

struct maas_spec_col {
	char *name;
	enum maas_ftype type;       /* NUMBER, INTEGER, BOOLEAN, CATEGORICAL, DATE */
	/* numbers, integers, booleans (0/1), dates (seconds; center/scale_by scale the
	 * year feature, the sines and cosines are not scaled) */
	enum maas_impute impute;
	double fill;                /* numeric fill value */
	int indicator;              /* emits <name>_missing (any type, the last feature) */
	int clip;                   /* clip to [lo, hi] */
	double lo, hi;
	int log1p;
	enum maas_scale scale;
	double center, scale_by;    /* x' = (x - center) / scale_by */
	/* categoricals */
	enum maas_encode encode;
	char **cats;                /* [ncats] kept categories: one-hot most frequent first
				       (ties in byte order); ordinal in byte order, the
				       feature being the index */
	size_t ncats;
	size_t *cat_count;          /* [ncats] training counts, missing cells counted
				       as their fill category */
	int other;                  /* has an "other" bucket (one-hot column <name>=__other__) */
	enum maas_unknown unknown;
	char **folded;              /* [nfolded] training categories folded into "other";
				       kept only when unknown is not OTHER, to tell
				       them from unseen ones */
	size_t nfolded;
	char *fill_str;             /* most frequent / constant category for missing */
	int as_text;                /* the table column was read as written
				       (maas_table_want_str); maas_spec_prepare_table
				       does the same for new data */
	/* booleans: which text means true is fixed: true yes t y 1 (any case) */
	/* dates: features year, month_sin, month_cos, dow_sin, dow_cos, doy_sin, doy_cos (+ hour_sin, hour_cos) */
	int date_has_time;
	struct maas_stats stats;    /* on the training split, raw values */
	size_t out_off, out_n;      /* its features in the output vector */
};

struct maas_spec {
	enum maas_task task;
	/* target */
	char *target;               /* NULL without a target */
	char **classes;             /* classification: labels, index = class id */
	size_t nclasses;
	size_t *class_count;        /* [nclasses] on train */
	double y_mean, y_std;       /* regression target on train (y_std 1 when constant) */
	int target_as_text;         /* the target column was read as written */
	/* inputs */
	struct maas_spec_col *cols; /* the raw columns used, in output order */
	size_t ncols;
	char **features;            /* output feature names, [nfeatures] */
	size_t nfeatures;
	json_t *dropped;            /* [{"name":..., "reason":...}] */
	/* windows */
	size_t window, horizon, stride;
	char *time_column;          /* windows follow this column's order (NULL: input order) */
	int target_in_window;       /* windows: the target's past values are a feature ("<target>" scaled) */
};

/* Fits on the training rows only.  Appends what it did ("imputed 'x' with
 * mean 3.2 in 12 rows", "dropped constant column 'y'") to report's
 * "actions" array. */
int maas_spec_fit(const struct maas_table *t, const struct maas_schema *s,
		  const struct maas_split *split, const struct maas_prep_opts *o,
		  struct maas_spec *spec, json_t *report, struct maas_err *e);
void maas_spec_release(struct maas_spec *spec);
/* Recomputes every column's out_off/out_n and spec->features from the
 * columns (fit and from_json call it). */
void maas_spec_layout(struct maas_spec *spec);

/* JSON form: the "prep" metadata of datasets and prep.json of bundles
 * (documented in maas-dataset(5); the field list is at the top of spec.c).
 * from_json validates every field (MAAS_ECONFIG naming its JSON path) and
 * fills a spec the caller releases; on failure it leaves the spec empty
 * (releasing it then is harmless).  maas_spec_fit does the same. */
json_t *maas_spec_to_json(const struct maas_spec *spec);
int maas_spec_from_json(const json_t *j, struct maas_spec *spec, struct maas_err *e);

/* Before reading new data for a spec: asks the table to keep as written
 * (maas_table_want_str) the columns that were read that way when the spec
 * was fitted, so that a category "02134" is still "02134". */
void maas_spec_prepare_table(const struct maas_spec *spec, struct maas_table *t);

/* How a table's columns map to a spec (a table may have its columns in
 * any order, extra columns are ignored, a missing column is an error naming
 * it; the target is optional unless need_target).  Binding reads each
 * string column's dictionary once, so that transforming a row is a few
 * array reads; a table must not get new rows after it was bound. */
struct maas_binding {
	size_t ncols;               /* spec columns (the length of the arrays below) */
	long *col;                  /* [spec ncols] table column */
	uint32_t **cat_of_sid;      /* [spec ncols] categorical on a string table column:
				       sid -> code (0 unknown, 1..ncats the category
				       index + 1, ncats + 1 a folded category) */
	double **val_of_sid;        /* [spec ncols] number, boolean or date on a string table
				       column: sid -> the number (rounded to float32), 0/1,
				       or seconds; NaN when the text is not one */
	struct maas_dict *cat_dict; /* [spec ncols] categorical on a numeric table column:
				       category text -> code, as cat_of_sid */
	uint32_t *fill_code;        /* [spec ncols] code of a categorical's fill_str */
	long target;                /* table column of the target, -1 */
	uint32_t *class_of_sid;     /* for a string target: sid -> class index + 1 */
	double *y_of_sid;           /* regression target in a string column: sid -> value or NaN */
	struct maas_dict class_dict;/* classification target in a numeric column: label -> index + 1 */
};
int maas_spec_bind(const struct maas_spec *spec, const struct maas_table *t, int need_target,
		   struct maas_binding *b, struct maas_err *e);
void maas_binding_release(struct maas_binding *b);

/* Writes spec->nfeatures floats for table row `row`.  An unseen category
 * with unknown=ERROR, or a value of the wrong type (text in a number
 * column), is MAAS_EDATA naming the column, file and line. */
int maas_spec_transform(const struct maas_spec *spec, const struct maas_binding *b,
			const struct maas_table *t, size_t row, float *x, struct maas_err *e);
/* The target of a row: class index (classification) or value (regression).
 * A label never seen in training, or a missing target, is MAAS_EDATA. */
int maas_spec_target(const struct maas_spec *spec, const struct maas_binding *b,
		     const struct maas_table *t, size_t row, double *y, struct maas_err *e);

/* ---- windows (window.c) ---- */

/* Number of windows a split of n rows gives: floor((n - length - horizon) / stride) + 1, or 0. */
size_t maas_window_count(size_t n, size_t length, size_t horizon, size_t stride);
/* Window w of a split covers rows first .. first+length-1 (positions in the
 * split's row list) and its target is the row at first+length-1+horizon. */
size_t maas_window_first(size_t w, size_t stride);

/* ---- the quality report (report.c) and rules (rules.c) ---- */

/* A fresh report object {"rows":..,"columns":N,"column_stats":[..],"missing":{..},
 * "duplicates":{..},"target":{..},"actions":[]} (every key is documented at
 * the top of report.c) from the raw table and schema: per column its type, missing count and
 * fraction, distinct count, constant, high cardinality; duplicate rows; the
 * target's class balance (counts, imbalance ratio = largest/smallest). */
json_t *maas_report_table(const struct maas_table *t, const struct maas_schema *s);
/* Adds "split": {"method", "train", "val", "test", "cross_split_duplicates"}
 * (rows whose input columns, target excluded, are equal across two splits). */
void maas_report_split(json_t *report, const struct maas_table *t, const struct maas_schema *s,
		       const struct maas_split *split);
/* Appends one action to report["actions"]: {"action": "impute", "column": ..., ...}.
 * Takes the reference to `action` (json_pack(...) can be passed directly);
 * a NULL report drops it. */
void maas_report_action(json_t *report, json_t *action);

/* A --fail-on rule: METRIC OP NUMBER, e.g. "missing>0.3", "rows<100",
 * "duplicates>=0.05", "imbalance>10", "constant>0", "high_cardinality>0",
 * "cross_split_duplicates>0", "missing[colname]>0.1".  Metrics are
 * documented in maas-prep(1). */
struct maas_rule {
	char *metric;
	char *column;     /* for missing[col], else NULL */
	int op;           /* '<', '>', 'l' (<=), 'g' (>=), '=' , '!' (!=) */
	double value;
	char *text;       /* as written */
};
int maas_rule_parse(const char *text, struct maas_rule *r, struct maas_err *e);
void maas_rule_release(struct maas_rule *r);
/* Evaluates rules against a finished report; adds "checks": [{"rule", "value", "failed"}]
 * to it.  Returns the number of failed rules, or -1 with *e (unknown metric,
 * unknown column). */
int maas_rules_check(const struct maas_rule *rules, size_t n, json_t *report, struct maas_err *e);

#endif
