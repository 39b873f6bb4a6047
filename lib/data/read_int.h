/*
 * read_int.h - reader internals shared by read.c, csv.c, json.c and idx.c;
 * not for callers (they use read.h).  struct maas_in is one opened input:
 * it hashes the raw bytes, inflates gzip, and hands out the bytes it
 * peeked at first.
 */
#ifndef MAAS_DATA_READ_INT_H
#define MAAS_DATA_READ_INT_H

#include <sys/types.h>

#include "data/read.h"

struct maas_in;
/* The display name ("<stdin>" for "-"). */
const char *maas_in_name(const struct maas_in *in);
/* Reads up to n decompressed bytes: >0, 0 at the end, -1 with *e. */
ssize_t maas_in_read(struct maas_in *in, void *buf, size_t n, struct maas_err *e);
/* Reads exactly n bytes unless the input ends first: returns the count read
 * (< n only at the end), or -1 with *e. */
ssize_t maas_in_read_full(struct maas_in *in, void *buf, size_t n, struct maas_err *e);

/* Delimiter detection on the first bytes of a CSV (quote-aware); eof says
 * that p[0..n) is the whole input. */
char maas_csv_detect_delimiter(const char *p, size_t n, int eof);

int maas_read_csv(struct maas_table *t, struct maas_in *in, size_t source, char delim,
		  const struct maas_read_opts *o, struct maas_err *e);
int maas_read_json(struct maas_table *t, struct maas_in *in, size_t source,
		   const struct maas_read_opts *o, struct maas_err *e);
int maas_read_jsonl(struct maas_table *t, struct maas_in *in, size_t source,
		    const struct maas_read_opts *o, struct maas_err *e);

/* IDX inputs in a row pair up: the group is the rows the last IDX input
 * made, and which kinds of columns it has. */
struct maas_idx_group {
	int open;             /* the previous input was IDX */
	size_t base, n;       /* its rows */
	int has_label, has_pixels;
	char *first;          /* display name of the file that made the rows */
};
void maas_idx_group_init(struct maas_idx_group *g);
void maas_idx_group_release(struct maas_idx_group *g);
int maas_read_idx(struct maas_table *t, struct maas_in *in, size_t source, struct maas_idx_group *g,
		  const struct maas_read_opts *o, struct maas_err *e);

#endif
