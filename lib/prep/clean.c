/*
 * clean.c - exact duplicate rows: row hashing, row equality, the row set
 * (quality.h) and maas_dedupe_rows.
 *
 * Equality of cells: a number column compares float values, where -0 equals
 * 0 and every NaN (a missing cell) equals every other; a string column
 * compares interned ids, and since each column has its own dictionary equal
 * text means an equal id.  The hash follows the same rule, so equal rows
 * hash equal.
 */
#include "prep/quality.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* 32 bits that are equal exactly when the cells are equal */
static inline uint32_t cell_key(const struct maas_col *c, size_t row)
{
	if (c->kind == MAAS_COL_STR)
		return c->sid[row];
	float f = c->num[row];
	uint32_t bits;
	if (f != f)
		return 0x7fc00000u;    /* one NaN */
	if (f == 0)
		return 0;              /* -0 is 0 */
	memcpy(&bits, &f, sizeof bits);
	return bits;
}

static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t maas_row_hash(const struct maas_table *t, size_t row, const size_t *cols, size_t ncols)
{
	uint64_t h = 0x6d616173ULL + ncols;
	for (size_t i = 0; i < ncols; i++)
		h = (h ^ cell_key(&t->cols[cols[i]], row)) * 0x9e3779b97f4a7c15ULL + i;
	return mix64(h);
}

int maas_rows_equal(const struct maas_table *t, size_t a, size_t b, const size_t *cols, size_t ncols)
{
	for (size_t i = 0; i < ncols; i++) {
		const struct maas_col *c = &t->cols[cols[i]];
		if (c->kind == MAAS_COL_STR) {
			if (c->sid[a] != c->sid[b])
				return 0;
		} else {
			float x = c->num[a], y = c->num[b];
			if (x != y && !(x != x && y != y))
				return 0;
		}
	}
	return 1;
}

/* ---- the row set ---- */

void maas_rowset_init(struct maas_rowset *rs, const struct maas_table *t,
		      const size_t *cols, size_t ncols)
{
	memset(rs, 0, sizeof *rs);
	rs->t = t;
	rs->cols = cols;
	rs->ncols = ncols;
}

void maas_rowset_release(struct maas_rowset *rs)
{
	free(rs->row);
	free(rs->hash);
	free(rs->slot);
	memset(rs, 0, sizeof *rs);
}

static void rowset_rehash(struct maas_rowset *rs, size_t nslots)
{
	free(rs->slot);
	rs->slot = xcalloc(nslots, sizeof *rs->slot);
	rs->nslots = nslots;
	for (size_t i = 0; i < rs->n; i++) {
		size_t k = (size_t)rs->hash[i] & (nslots - 1);
		while (rs->slot[k])
			k = (k + 1) & (nslots - 1);
		rs->slot[k] = (uint32_t)(i + 1);
	}
}

/* the slot holding row's entry, or the empty slot where it would go */
static size_t rowset_probe(const struct maas_rowset *rs, size_t row, uint64_t h)
{
	size_t mask = rs->nslots - 1, k = (size_t)h & mask;
	for (uint32_t id; (id = rs->slot[k]); k = (k + 1) & mask)
		if (rs->hash[id - 1] == h && maas_rows_equal(rs->t, rs->row[id - 1], row, rs->cols, rs->ncols))
			break;
	return k;
}

size_t maas_rowset_find(const struct maas_rowset *rs, size_t row)
{
	if (!rs->nslots)
		return SIZE_MAX;
	uint64_t h = maas_row_hash(rs->t, row, rs->cols, rs->ncols);
	uint32_t id = rs->slot[rowset_probe(rs, row, h)];
	return id ? (size_t)id - 1 : SIZE_MAX;
}

size_t maas_rowset_add(struct maas_rowset *rs, size_t row, int *added)
{
	uint64_t h = maas_row_hash(rs->t, row, rs->cols, rs->ncols);
	size_t k = 0;

	*added = 0;
	if (rs->nslots) {
		k = rowset_probe(rs, row, h);
		if (rs->slot[k])
			return (size_t)rs->slot[k] - 1;
	}
	*added = 1;
	if (rs->n >= MAAS_ROWSET_MAX)
		return SIZE_MAX;
	if ((rs->n + 1) * 2 > rs->nslots) {
		rowset_rehash(rs, rs->nslots ? rs->nslots * 2 : 64);
		k = rowset_probe(rs, row, h);
	}
	if (rs->n == rs->cap) {
		size_t cap = rs->cap;
		xgrow(&rs->row, &cap, rs->n + 1, sizeof *rs->row);
		rs->hash = xreallocarray(rs->hash, cap, sizeof *rs->hash);
		rs->cap = cap;
	}
	rs->row[rs->n] = row;
	rs->hash[rs->n] = h;
	rs->slot[k] = (uint32_t)(rs->n + 1);
	return rs->n++;
}

/* ---- duplicates ---- */

size_t maas_dedupe_rows(const struct maas_table *t, size_t *rows, size_t *n)
{
	struct maas_rowset rs;
	size_t *cols = xmallocarray(t->ncols ? t->ncols : 1, sizeof *cols), out = 0;
	int added;

	for (size_t c = 0; c < t->ncols; c++)
		cols[c] = c;
	maas_rowset_init(&rs, t, cols, t->ncols);
	for (size_t i = 0; i < *n; i++) {
		maas_rowset_add(&rs, rows[i], &added);
		if (added)
			rows[out++] = rows[i];
	}
	maas_rowset_release(&rs);
	free(cols);
	size_t gone = *n - out;
	*n = out;
	return gone;
}
