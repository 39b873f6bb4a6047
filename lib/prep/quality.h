/*
 * quality.h - helpers of maas-prep's cleaning, splitting and reporting that
 * prep.h does not declare: split method names and a set of table rows
 * compared by value.
 *
 * A row set holds table rows keyed by the values of some columns (the same
 * equality as maas_rows_equal: missing equals missing, -0 equals 0, strings
 * by their interned id, so by text).  It answers "is a row equal to this one
 * already in?" in O(1) expected time; clean.c uses it to drop duplicates,
 * report.c to count distinct values and duplicates across splits, split.c
 * to number classes and groups.
 *
 * Ownership: the set is caller-owned (maas_rowset_init fills it,
 * maas_rowset_release frees what it holds).  It keeps pointers to the table
 * and to the column list, which must outlive it.
 */
#ifndef MAAS_PREP_QUALITY_H
#define MAAS_PREP_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#include "prep/prep.h"

/* "auto", "random", "stratified", "time", "group" */
const char *maas_split_method_name(enum maas_split_method m);
/* the method of that name, or -1 */
int maas_split_method_parse(const char *s);

/* The random stream of maas_rng (seed = --seed) that splitting draws from. */
#define MAAS_RNG_STREAM_SPLIT 0x73706c6974ULL   /* "split" */

/* Entries are numbered 0, 1, ... in the order they were added; at most
 * MAAS_ROWSET_MAX of them (past that, maas_rowset_add stops adding and
 * reports every further unseen row as new, returning SIZE_MAX). */
#define MAAS_ROWSET_MAX 0xfffffffeu

struct maas_rowset {
	const struct maas_table *t;
	const size_t *cols;    /* [ncols] the columns compared */
	size_t ncols;
	size_t n, cap;         /* entries */
	size_t *row;           /* [n] table row of each entry */
	uint64_t *hash;        /* [n] its hash */
	uint32_t *slot;        /* [nslots] entry + 1, 0 empty */
	size_t nslots;         /* power of two, at least 2n */
};

void maas_rowset_init(struct maas_rowset *rs, const struct maas_table *t,
		      const size_t *cols, size_t ncols);
void maas_rowset_release(struct maas_rowset *rs);
/* The entry equal to table row `row`, adding it first if there is none
 * (*added says which).  Returns the entry's number. */
size_t maas_rowset_add(struct maas_rowset *rs, size_t row, int *added);
/* The entry equal to `row`, or SIZE_MAX. */
size_t maas_rowset_find(const struct maas_rowset *rs, size_t row);

#endif
