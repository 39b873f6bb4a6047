/*
 * table.h - the raw table every reader fills and maas-prep works on.
 *
 * A table is a column store of what the input said, before any cleaning.
 * Each column is one of two kinds and switches at most once:
 *
 *   MAAS_COL_NUM  float values, NaN marks a missing cell.  A column starts
 *                 here and stays while every non-missing cell parses as a
 *                 number.
 *   MAAS_COL_STR  interned strings: each cell is an id into the column's
 *                 dictionary, 0 marks a missing cell.  A column moves here
 *                 the first time a cell is not a number (earlier numbers are
 *                 re-entered as their shortest text, "%.9g"), or from the
 *                 start when the caller forces it (maas_table_force_str,
 *                 e.g. --type zip=categorical keeps "02134" as written).
 *
 * Four bytes a cell, whichever the kind: a table of numbers takes the
 * memory of the float32 dataset it becomes, which is how maas-prep stays
 * within 2x of its output.  Numbers are stored as float32, the precision of
 * every tensor maas writes; statistics are accumulated in double.
 *
 * Missing cells: empty fields and the tokens of maas_table_set_na()
 * (default "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?") and JSON
 * null.
 *
 * Rows remember where they came from (source index and line) so that every
 * later error can name file and line.
 *
 * Ownership: the table owns its columns, names and dictionaries;
 * maas_table_release frees them.  Strings returned by maas_table_str point
 * into the table and live as long as it does.
 */
#ifndef MAAS_DATA_TABLE_H
#define MAAS_DATA_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum maas_colkind { MAAS_COL_NUM = 0, MAAS_COL_STR = 1 };

/* Interned strings of one column: ids 1..n (0 = missing). */
struct maas_dict {
	char **str;        /* [n+1], str[0] unused */
	uint32_t *len;     /* [n+1] byte lengths */
	uint32_t *count;   /* [n+1] occurrences so far */
	uint32_t n, cap;
	uint32_t *slots;   /* open-addressing hash of ids */
	uint32_t nslots;
};

struct maas_col {
	char *name;
	enum maas_colkind kind;
	int forced_str;    /* kind fixed to STR by the caller */
	float *num;        /* [cap] when NUM */
	uint32_t *sid;     /* [cap] when STR */
	struct maas_dict dict;
	/* what the reader saw, for inference and the report */
	size_t n_missing;
	size_t n_nonint;   /* numbers with a fractional part */
	size_t n_json_bool;  /* cells that were JSON true/false */
	size_t n_json_str;   /* cells that were JSON strings */
};

struct maas_table {
	size_t nrows, ncols, cap;
	struct maas_col *cols;
	uint32_t *line;     /* [cap] source line (CSV: line where the record starts; JSON: record index+1) */
	uint16_t *source;   /* [cap] index into sources */
	char **sources;     /* display names of the inputs */
	char **source_sha256; /* [nsources] hex sha256 of each input's bytes as read (NULL until known) */
	unsigned char *source_records; /* [nsources] 1: rows count records ("record N"), not lines */
	size_t nsources;
	int in_row;         /* between begin_row and end_row */
	char **want_str;    /* names of columns that start as strings (maas_table_want_str) */
	size_t nwant_str;
	/* missing-value tokens */
	char **na;
	size_t nna;
	uint32_t na_first[8]; /* bitmap of the first bytes of the tokens (fast rejection) */
	size_t na_maxlen;
	/* column lookup */
	uint32_t *cslots;
	uint32_t ncslots;
};

void maas_table_init(struct maas_table *t);
void maas_table_release(struct maas_table *t);

/* Replaces the missing-value tokens (a copy is kept). */
void maas_table_set_na(struct maas_table *t, const char *const *tokens, size_t n);

/* Registers an input; returns its index for maas_table_begin_row. */
size_t maas_table_add_source(struct maas_table *t, const char *display_name);

/* Marks a source whose rows are numbered by record (a JSON array's
 * elements, IDX images): maas_table_where then says "record N". */
void maas_table_source_records(struct maas_table *t, size_t source);

/* Finds a column by name; -1 if absent. */
long maas_table_find(const struct maas_table *t, const char *name, size_t len);
/* Finds or adds a column (earlier rows are missing in a new column). */
size_t maas_table_column(struct maas_table *t, const char *name, size_t len);
/* Makes a column a string column (numbers so far become their text). */
void maas_table_force_str(struct maas_table *t, size_t col);
/* Before reading: the column of this name, whenever it appears, keeps its
 * cells as written (e.g. --type zip=categorical keeps "02134"). */
void maas_table_want_str(struct maas_table *t, const char *name);

/* Row building: begin, set any cells, end.  Cells not set are missing. */
void maas_table_begin_row(struct maas_table *t, size_t source, uint32_t line);
/* A cell as text: missing tokens, numbers ("1.5e3", " 12 ", "-inf" is not a
 * number) and everything else (interned).  Text must be valid UTF-8 (the
 * readers check it before). */
void maas_table_set_text(struct maas_table *t, size_t col, const char *s, size_t len);
/* The same, for a reader whose buffer holds MAAS_TEXT_PAD readable bytes
 * after s[len): numbers are then parsed 16 bytes at a time. */
#define MAAS_TEXT_PAD 16
void maas_table_set_text_padded(struct maas_table *t, size_t col, const char *s, size_t len);
/* A whole row of text cells at once, the CSV reader's fast path: cell i
 * goes to column cols[i] (all different), as maas_table_set_text_padded
 * (so with MAAS_TEXT_PAD readable bytes after each), and the table's other
 * columns are missing.  The same as begin_row, n set_text_padded and
 * end_row. */
struct maas_text {
	const char *s;
	size_t len;
};
void maas_table_add_text_row(struct maas_table *t, size_t source, uint32_t line, const size_t *cols,
			     const struct maas_text *cells, size_t n);
/* A cell known to be a number (JSON number, IDX byte). */
void maas_table_set_num(struct maas_table *t, size_t col, double v);
/* A cell known to be a JSON string / boolean (counted for inference, then as text). */
void maas_table_set_json_str(struct maas_table *t, size_t col, const char *s, size_t len);
void maas_table_set_json_bool(struct maas_table *t, size_t col, int v);
void maas_table_set_missing(struct maas_table *t, size_t col);
void maas_table_end_row(struct maas_table *t);

/* Bulk append for binary readers (IDX): adds n rows of source with lines
 * first_line, first_line+1, ..., every cell missing, and returns the index
 * of the first.  The caller then fills cells with maas_table_put_num, or
 * writes a MAAS_COL_NUM column's num[] directly and keeps its n_missing and
 * n_nonint right.  Not while a row is being built. */
size_t maas_table_add_rows(struct maas_table *t, size_t n, size_t source, uint32_t first_line);
/* Makes room for nrows rows in every column (a hint: readers that know
 * how many rows are coming save the copies of growing). */
void maas_table_reserve(struct maas_table *t, size_t nrows);
/* Stores a number into a missing cell of an existing row (as set_num). */
void maas_table_put_num(struct maas_table *t, size_t col, size_t row, double v);

/* Empties a table for reuse (a server parses each batch of records into
 * the same table): no rows; every column back to how maas_table_column
 * made it (numbers, or strings when wanted or forced), its dictionary and
 * counts emptied.  Columns, sources, missing-value tokens and want_str
 * names stay, and so does the memory for rows, so refilling allocates only
 * for strings.  Strings from maas_table_str and bindings made before are
 * invalid afterwards.  Not while a row is being built. */
void maas_table_clear_rows(struct maas_table *t);

/* Reading cells. */
static inline int maas_table_missing(const struct maas_table *t, size_t col, size_t row)
{
	const struct maas_col *c = &t->cols[col];
	return c->kind == MAAS_COL_NUM ? c->num[row] != c->num[row] : c->sid[row] == 0;
}
/* The text of a string cell (NULL when missing). */
const char *maas_table_str(const struct maas_table *t, size_t col, size_t row, size_t *len);

/* "'file' line N" (or "'file' record N") for messages about a row. */
void maas_table_where(const struct maas_table *t, size_t row, char *buf, size_t size);

/* Fast number parsing shared by the readers: parses all of s[0..len) (after
 * trimming ASCII spaces) as a decimal or scientific number; returns 1 and
 * *v on success, 0 if it is not a number.  Rejects "inf", "nan", hex. */
int maas_parse_number(const char *s, size_t len, double *v);

/* The shortest text ("%.6g" to "%.9g") that reads back as the same float:
 * how a number is written when its column turns to strings, and how every
 * consumer must spell a number it looks up among a column's strings. */
int maas_float_text(float f, char *buf, size_t size);

/* Interning, exposed for the prep module's own dictionaries. */
void maas_dict_init(struct maas_dict *d);
void maas_dict_release(struct maas_dict *d);
uint32_t maas_dict_intern(struct maas_dict *d, const char *s, size_t len);
/* 0 when absent */
uint32_t maas_dict_lookup(const struct maas_dict *d, const char *s, size_t len);

#endif
