/*
 * read.h - the input readers of maas-prep: CSV/TSV, JSON, JSON lines, IDX.
 *
 * maas_read_inputs reads files (or stdin, "-") into a struct maas_table the
 * caller owns (see data/table.h), appending rows.  Each input is registered
 * as a source of the table, with the sha256 of its bytes as read (before
 * any decompression) in t->source_sha256[source].  Any input may be
 * gzip-compressed: gzip is recognised by its magic bytes, never by the name.
 * The format comes from the options, else from the name (".csv", ".tsv",
 * ".tab", ".json", ".jsonl", ".ndjson", "-ubyte", ".idx", each with or
 * without ".gz"), else from the first bytes of the content (an IDX magic;
 * '[' is a JSON array, '{' JSON lines, anything else CSV with a detected
 * delimiter).  A ".json" file whose content starts with '{' is read as JSON
 * lines.  Nothing is ever loaded whole except a JSON array.
 *
 * CSV/TSV (csv.c) follows RFC 4180: quoted fields with doubled quotes,
 * delimiters and newlines inside quotes, CRLF or LF, the trailing newline
 * optional, a UTF-8 byte order mark skipped.  The first record is the header
 * unless no_header is set (columns are then named c1, c2, ...).  An empty
 * header name becomes c<i> (i its 1-based column); a name given twice is an
 * error.  Fields keep their spaces (numbers are trimmed when parsed).  A
 * quote that does not open a field is an ordinary character, and text
 * after a closing quote is kept as written (`"a"b` is `ab`), as pandas
 * does.  Blank lines are skipped.  Lines are counted from 1, the header
 * included; a record's line is the line where it starts.  Limits: a field
 * holds at most max_field bytes, a record at most max_columns fields and
 * MAAS_CSV_MAX_RECORD bytes.  Several CSV inputs append rows; their columns
 * are matched by name (a column absent from a file is missing there).
 *
 * JSON (json.c): a JSON array of objects (at most MAAS_JSON_MAX_BYTES of
 * text; its elements are parsed one at a time), or JSON lines: one object a
 * line, blank lines skipped, each line at most MAAS_JSONL_MAX_LINE bytes.
 * Keys become columns in order of first appearance; a key missing from a
 * record is a missing cell; numbers, strings, true/false and null are
 * cells; a nested array or object is an error, as is a key given twice in
 * one object.  Rows of JSON lines carry their line number; rows of a JSON
 * array carry the record's 1-based index, and messages about them say
 * "record N" instead of "line N" (maas_table_source_records).
 *
 * IDX (idx.c): the MNIST format: 2 zero bytes, a dtype byte (0x08 u8, 0x09
 * i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64), a dimension count (1 to 8),
 * the big-endian u32 sizes, then the data.  A 1-dimensional file gives a
 * column "label", any other "pixel0".."pixel{k-1}" (k the product of the
 * sizes after the first, at most max_columns).  Consecutive IDX inputs pair
 * up column-wise: an images file and a labels file with the same count form
 * one set of rows (a count that differs is an error); another images file
 * after that starts new rows.  IDX rows carry their 1-based record index
 * ("record N" in messages).
 *
 * Errors: an input that cannot be opened is MAAS_ENOINPUT, a failing read
 * MAAS_EIO, anything malformed MAAS_EDATA, with the file, the line (or
 * record) and, for a cell, the column: "'x.csv' line 3, column 2 ('city'):
 * invalid UTF-8".  On error the table holds what was read so far and the
 * caller should release it.
 *
 * Ownership: the options are the caller's and only read; the table is the
 * caller's.
 */
#ifndef MAAS_DATA_READ_H
#define MAAS_DATA_READ_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/log.h"
#include "data/table.h"

enum maas_format { MAAS_FMT_AUTO = 0, MAAS_FMT_CSV, MAAS_FMT_TSV, MAAS_FMT_JSON, MAAS_FMT_JSONL, MAAS_FMT_IDX };

#define MAAS_CSV_MAX_RECORD ((size_t)1 << 30)   /* bytes in one CSV record */
#define MAAS_JSON_MAX_BYTES ((size_t)1 << 30)   /* bytes of one JSON array text */
#define MAAS_JSONL_MAX_LINE ((size_t)64 << 20)  /* bytes in one JSON line */

/* "csv", "tsv", "json", "jsonl", "idx"; "auto" for MAAS_FMT_AUTO. */
const char *maas_format_name(enum maas_format f);
/* The format of a name as above (also "auto"); -1 if unknown. */
int maas_format_parse(const char *s);

struct maas_read_opts {
	enum maas_format format;  /* AUTO: from the name, else sniffed from the content */
	char delimiter;           /* 0: detect (',' '\t' ';' '|') from the first lines, quote-aware */
	int no_header;            /* CSV/TSV without header: columns named c1, c2, ... */
	size_t max_field;         /* bytes in one field (default 1 MiB) */
	size_t max_columns;       /* default 100000 */
	struct maas_progress *progress; /* may be NULL: advanced by bytes read (all inputs) */
};

void maas_read_opts_init(struct maas_read_opts *o);

/* Reads the n inputs into t, appending rows (see above).  At most 65535
 * inputs.  Returns 0, or -1 with *e. */
int maas_read_inputs(struct maas_table *t, const char *const *paths, size_t n,
		     const struct maas_read_opts *o, struct maas_err *e);

#endif
