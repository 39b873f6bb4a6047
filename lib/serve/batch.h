/*
 * batch.h - batch scoring: records in, one JSON line of predictions per
 * record out, through the same engine as the server (serve/predict.h).
 * Behind `maas-serve --stdin BUNDLE < records.jsonl > predictions.jsonl`.
 *
 * Input, read from a file descriptor as a stream:
 *   MAAS_BATCH_JSONL  one instance per line: a record {"field": value, ...},
 *                     or for a windowed model an array of `window` records;
 *                     blank lines are skipped (and answer nothing);
 *   MAAS_BATCH_CSV,   a header line of field names, then one record per
 *   MAAS_BATCH_TSV    line (RFC 4180 quoting: quoted fields may hold the
 *                     delimiter, doubled quotes and newlines; CRLF or LF; a
 *                     UTF-8 byte order mark is skipped; blank lines are
 *                     skipped).  Every cell is text, read as maas-prep reads
 *                     CSV: an empty cell or "NA"-like token is missing.
 *                     Tabular models only (MAAS_EUSAGE for a windowed one).
 *
 * Output, in input order, one compact JSON object per line:
 *   {"line": N, "prediction": {"label": "setosa", "class": 0,
 *                              "probabilities": {...}}}   or {"value": v}
 *   {"line": N, "error": "field 'petalWidth' is missing"}
 * N is the input line where the record starts (CSV: the header is line 1).
 * A bad record (malformed JSON, a line over MAAS_BATCH_MAX_LINE bytes, a
 * missing, unknown or mistyped field, a CSV record with the wrong number of
 * fields) gives an error line and scoring goes on with the next: one bad
 * row in a nightly file of millions should not cost the other answers, and
 * the error lines say exactly which rows to fix.
 *
 * Records are predicted max_batch at a time (0 means 256); memory is
 * bounded by one batch of records (each at most MAAS_BATCH_MAX_LINE bytes),
 * never by the input.  Output is flushed at the end.
 *
 * Returns 0 when the whole input was read and answered (error lines
 * included); -1 with *e when it could not be: reading fails (MAAS_EIO),
 * writing fails (MAAS_EIO), a CSV header is missing, empty or names a
 * field twice, or a CSV record is longer than MAAS_BATCH_MAX_LINE
 * (MAAS_EDATA).  Lines answered before such a failure stay written.
 *
 * Ownership: nothing is kept; the caller owns the model, the fd and the
 * stream (neither is closed).
 */
#ifndef MAAS_SERVE_BATCH_H
#define MAAS_SERVE_BATCH_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"
#include "serve/predict.h"

#define MAAS_BATCH_MAX_LINE ((size_t)64 << 20)   /* bytes in one input line / CSV record */
#define MAAS_BATCH_DEFAULT 256                   /* records per forward pass */

enum maas_batch_format { MAAS_BATCH_JSONL = 0, MAAS_BATCH_CSV, MAAS_BATCH_TSV };

int maas_serve_batch(const struct maas_served *m, int in_fd, FILE *out, enum maas_batch_format fmt,
		     size_t max_batch, struct maas_err *e);

#endif
