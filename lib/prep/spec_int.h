/*
 * spec_int.h - helpers shared by infer.c, fit.c, spec.c and transform.c
 * and by nothing else: how a raw cell reads as a number, a boolean, a
 * category or a date, and the calendar fields of a date's features.  They
 * live in one place so that fitting and transforming read cells the same way.
 *
 * Ownership: nothing here allocates except where said.
 */
#ifndef MAAS_PREP_SPEC_INT_H
#define MAAS_PREP_SPEC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "prep/prep.h"

/* A number read from text, rounded to float32 like every table number:
 * 1 and *v, or 0 when the text is not a number. */
int maas_spec_text_num(const char *s, size_t len, double *v);

/* A string column's sid -> value table for a spec column of type NUMBER or
 * INTEGER (the number, rounded to float32), BOOLEAN (0/1) or DATE
 * (seconds): [dict.n + 1], NaN where a text is not such a value.  The
 * caller frees it. */
double *maas_spec_sid_values(const struct maas_col *c, enum maas_ftype type);

/* The value of one cell for a column of that type: 1 and *v, 0 when the
 * cell is missing, -1 when it is not a value of the type.  sidv is the
 * column's maas_spec_sid_values table (string columns only). */
static inline int maas_spec_cell(const struct maas_col *c, size_t row, enum maas_ftype type,
				 const double *sidv, double *v)
{
	if (c->kind == MAAS_COL_NUM) {
		float f = c->num[row];
		if (f != f)
			return 0;
		if (type == MAAS_FT_DATE)
			return -1;
		*v = type == MAAS_FT_BOOLEAN ? (double)(f != 0) : (double)f;
		return 1;
	}
	uint32_t id = c->sid[row];
	if (!id)
		return 0;
	*v = sidv[id];
	return *v == *v ? 1 : -1;
}

/* MAAS_EDATA: "'abc' in column 'age' at 'x.csv' line 7 is not a number" */
int maas_spec_bad_value(const struct maas_table *t, size_t col, size_t row,
			enum maas_ftype type, struct maas_err *e);

/* Calendar fields of a timestamp (seconds since 1970-01-01 UTC). */
struct maas_calendar {
	long year;
	int month;      /* 1..12 */
	int dow;        /* 0 Monday .. 6 Sunday */
	int doy;        /* 0-based day of the year */
	int year_days;  /* 365 or 366 */
	double sod;     /* seconds since midnight, [0, 86400) */
};
void maas_spec_calendar(double ts, struct maas_calendar *c);

/* The spec's enum names, shared by spec.c and the report actions in fit.c. */
extern const char *const maas_impute_names[5];   /* "default", "mean", "median", "most_frequent", "constant" */
extern const char *const maas_scale_names[5];    /* "default", "none", "standard", "minmax", "robust" */
extern const char *const maas_clip_names[3];     /* "none", "zscore", "iqr" */
extern const char *const maas_encode_names[3];   /* "default", "onehot", "ordinal" */
extern const char *const maas_unknown_names[3];  /* "other", "zero", "error" */

#endif
