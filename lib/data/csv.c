/*
 * csv.c - the RFC 4180 CSV/TSV reader (see read.h for the dialect).
 *
 * The input is read in blocks of 1 MiB (more when one record is longer)
 * into one buffer that ends in a '\n' sentinel.  A record is tokenized in
 * place into (pointer, length) fields: an unquoted field is scanned with a
 * byte-class table that stops only at the delimiter, CR, LF, NUL and bytes
 * of 0x80 and up (those mark the field for the UTF-8 check), a quoted one
 * with memchr for the closing quote.  A record cut by the end of the buffer
 * is moved to the front and parsed again once more bytes are in, so the
 * table only ever sees whole records.  Quoted fields are unescaped in place
 * when their record is complete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/mem.h"
#include "data/read_int.h"

#define BLOCK ((size_t)1 << 20)
/* readable bytes after the sentinel: 16-byte loads, MAAS_TEXT_PAD for the number parser */
#define PAD (MAAS_TEXT_PAD > 16 ? MAAS_TEXT_PAD : 16)
#define NAME_MAX_SHOWN 100 /* bytes of a column name shown in messages */

enum { F_QUOTED = 1, F_CHECK = 2 };

struct csv {
	struct maas_table *t;
	struct maas_in *in;
	const struct maas_read_opts *o;
	struct maas_err *e;
	const char *name;
	size_t src;
	char delim;
	unsigned char stop[256]; /* bytes that end the fast scan of an unquoted field */
	char *buf;               /* [cap + 1 + PAD]: data in [pos, len), buf[len] = '\n', then PAD zeros */
	size_t cap, len, pos;
	int eof;
	struct maas_text *f;     /* fields of the record just parsed (in buf: writable) */
	unsigned char *ff;       /* [fcap] their F_ flags */
	unsigned rec_flags;      /* the flags of all of them, or-ed */
	size_t nf, fcap;
	size_t rec_nl;           /* newlines inside its quotes */
	uint64_t line;           /* line where the next record starts */
	size_t *colmap;          /* field index -> table column */
	size_t ncols;            /* fields a record must have */
	int have_header;
	size_t nrows;
};

/* ---- UTF-8 ---- */

enum { UTF8_OK = 0, UTF8_BAD, UTF8_NUL };

static int utf8_check(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned c = *p;
		if (c < 0x80) {
			if (!c)
				return UTF8_NUL;
			p++;
			continue;
		}
		size_t k;
		unsigned min;
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			min = 0x10000;
		} else {
			return UTF8_BAD;
		}
		if ((size_t)(end - p) <= k)
			return UTF8_BAD;
		unsigned cp = c & (0x3f >> k);
		for (size_t i = 1; i <= k; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return UTF8_BAD;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return UTF8_BAD;
		p += k + 1;
	}
	return UTF8_OK;
}

/* ---- messages ---- */

static unsigned long long line_of(const struct csv *c)
{
	return (unsigned long long)c->line;
}

/* "column 2 ('city')" or, before the header is known, "column 2" */
static void col_desc(const struct csv *c, size_t i, char *buf, size_t size)
{
	if (c->colmap && i < c->ncols)
		snprintf(buf, size, "column %zu ('%.*s')", i + 1, NAME_MAX_SHOWN, c->t->cols[c->colmap[i]].name);
	else
		snprintf(buf, size, "column %zu", i + 1);
}

static int field_error(struct csv *c, size_t i, const char *what)
{
	char col[160];
	col_desc(c, i, col, sizeof col);
	return maas_err_set(c->e, MAAS_EDATA, "'%s' line %llu, %s: %s", c->name, line_of(c), col, what);
}

static int too_long(struct csv *c, size_t i)
{
	char what[80];
	snprintf(what, sizeof what, "field longer than %zu bytes", c->o->max_field);
	return field_error(c, i, what);
}

/* ---- tokenizing ---- */

static size_t count_nl(const char *p, const char *end)
{
	size_t n = 0;
	while ((p = memchr(p, '\n', (size_t)(end - p)))) {
		n++;
		p++;
	}
	return n;
}

/* The record at pos: 1 when whole (fields in c->f, pos after it), 0 when
 * the buffer ends first (and more input may follow), -1 on error. */
static int parse_record(struct csv *c)
{
	char *const end = c->buf + c->len;
	char *p = c->buf + c->pos;
	const unsigned char *stop = c->stop;
	const char delim = c->delim;
	const size_t max_field = c->o->max_field;
	size_t nl = 0, nf = 0;
	unsigned rec_flags = 0;
	char *start = p;
#ifdef __SSE2__
	const __m128i vdelim = _mm_set1_epi8(delim), vlf = _mm_set1_epi8('\n');
	const __m128i vcr = _mm_set1_epi8('\r'), vnul = _mm_setzero_si128();
	(void)stop;
#endif

	for (;;) {
		unsigned flags = 0;
		start = p;
		if (*p == '"' && p < end) {
			flags = F_QUOTED | F_CHECK;
			p++;
			for (;;) {
				char *q = memchr(p, '"', (size_t)(end - p));
				if (!q) {
					if (c->eof)
						return field_error(c, nf, "unterminated quote at end of file");
					goto more;
				}
				nl += count_nl(p, q);
				if (q + 1 == end && !c->eof)
					goto more;
				if (q + 1 < end && q[1] == '"') {
					p = q + 2;
					continue;
				}
				p = q + 1;
				break;
			}
		}
		for (;;) {
#ifdef __SSE2__
			/* 16 bytes at a time: the sentinel and the padding make the loads safe */
			for (;;) {
				__m128i b = _mm_loadu_si128((const __m128i *)(const void *)p);
				__m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, vdelim), _mm_cmpeq_epi8(b, vlf)),
							   _mm_or_si128(_mm_cmpeq_epi8(b, vcr), _mm_cmpeq_epi8(b, vnul)));
				unsigned mask = (unsigned)(_mm_movemask_epi8(hit) | _mm_movemask_epi8(b));
				if (mask) {
					p += __builtin_ctz(mask);
					break;
				}
				p += 16;
			}
#else
			while (!stop[(unsigned char)*p])
				p++;
#endif
			if (*p == delim || *p == '\n')
				break;
			if (*p == '\r') {
				if (p + 1 < end) {
					if (p[1] == '\n')
						break;
					p++; /* a lone CR is data */
					continue;
				}
				if (!c->eof)
					goto more;
				break; /* CR at the end of the input */
			}
			flags |= F_CHECK; /* NUL or a byte of 0x80 and up */
			p++;
		}
		if (p == end && !c->eof)
			goto more;
		size_t len = (size_t)(p - start);
		if (len > max_field + (flags & F_QUOTED ? 2 : 0))
			return too_long(c, nf);
		if (nf == c->fcap) {
			if (nf >= c->o->max_columns)
				return maas_err_set(c->e, MAAS_EDATA, "'%s' line %llu: more than %zu fields",
						    c->name, line_of(c), c->o->max_columns);
			size_t cap = c->fcap;
			xgrow(&c->f, &cap, nf + 1, sizeof *c->f);
			c->ff = xrealloc(c->ff, cap);
			c->fcap = cap > c->o->max_columns ? c->o->max_columns : cap; /* so that the check above fires */
		}
		c->f[nf].s = start;
		c->f[nf].len = len;
		c->ff[nf] = (unsigned char)flags;
		rec_flags |= flags;
		nf++;
		if (p == end) {
			c->pos = c->len;
			break;
		}
		if (*p == delim) {
			p++;
			continue;
		}
		if (*p == '\r')
			p++;
		if (p < end)
			p++; /* the LF */
		c->pos = (size_t)(p - c->buf);
		break;
	}
	c->nf = nf;
	c->rec_nl = nl;
	c->rec_flags = rec_flags;
	return 1;
more:
	/* a field that is already too long fails now, not after the buffer grew */
	if ((size_t)(end - start) > max_field + 2)
		return too_long(c, nf);
	return 0;
}

/* Moves the unparsed rest to the front and reads until the buffer is full
 * or the input ends; grows the buffer when one record fills it. */
static int refill(struct csv *c)
{
	size_t keep = c->len - c->pos;
	if (c->pos) {
		memmove(c->buf, c->buf + c->pos, keep);
		c->pos = 0;
		c->len = keep;
	}
	if (c->len == c->cap) {
		if (c->cap >= MAAS_CSV_MAX_RECORD)
			return maas_err_set(c->e, MAAS_EDATA, "'%s' line %llu: record longer than %zu bytes",
					    c->name, line_of(c), MAAS_CSV_MAX_RECORD);
		c->cap *= 2;
		c->buf = xrealloc(c->buf, c->cap + 1 + PAD);
	}
	while (c->len < c->cap && !c->eof) {
		ssize_t r = maas_in_read(c->in, c->buf + c->len, c->cap - c->len, c->e);
		if (r < 0)
			return -1;
		if (r == 0)
			c->eof = 1;
		c->len += (size_t)r;
	}
	c->buf[c->len] = '\n';
	memset(c->buf + c->len + 1, 0, PAD);
	return 0;
}

/* Unescapes a quoted field in place: `"a""b"c` -> `a"bc`. */
static size_t unquote(char *s, size_t len)
{
	char *out = s;
	int in = 1;
	for (size_t i = 1; i < len; i++) {
		if (in && s[i] == '"') {
			if (i + 1 < len && s[i + 1] == '"')
				*out++ = s[++i];
			else
				in = 0;
			continue;
		}
		*out++ = s[i];
	}
	return (size_t)(out - s);
}

/* Unquotes and checks the fields of the record that need it. */
static int prepare_fields(struct csv *c)
{
	if (!c->rec_flags)
		return 0;
	for (size_t i = 0; i < c->nf; i++) {
		struct maas_text *f = &c->f[i];
		if (!c->ff[i])
			continue;
		if (c->ff[i] & F_QUOTED)
			f->len = unquote((char *)f->s, f->len); /* the fields are in c->buf */
		int u = utf8_check(f->s, f->len);
		if (u == UTF8_BAD)
			return field_error(c, i, "invalid UTF-8");
		if (u == UTF8_NUL)
			return field_error(c, i, "contains a NUL byte");
	}
	return 0;
}

/* ---- header and rows ---- */

static int take_header(struct csv *c)
{
	struct maas_table *t = c->t;
	size_t *seen = NULL, nseen = 0; /* table column -> 1 + field index in this file */
	char gen[32];

	if (prepare_fields(c) < 0)
		return -1;
	c->ncols = c->nf;
	c->colmap = xmallocarray(c->nf, sizeof *c->colmap);
	for (size_t i = 0; i < c->nf; i++) {
		const char *name = c->f[i].s;
		size_t len = c->f[i].len;
		if (c->o->no_header || !len) {
			len = (size_t)snprintf(gen, sizeof gen, "c%zu", i + 1);
			name = gen;
		}
		size_t col = maas_table_column(t, name, len);
		if (col >= nseen) {
			size_t old = nseen;
			xgrow(&seen, &nseen, t->ncols, sizeof *seen);
			memset(seen + old, 0, (nseen - old) * sizeof *seen);
		}
		if (seen[col]) {
			int rc = maas_err_set(c->e, MAAS_EDATA, "'%s' line %llu: duplicate column name '%.*s' (columns %zu and %zu)",
					      c->name, line_of(c), NAME_MAX_SHOWN, t->cols[col].name, seen[col], i + 1);
			free(seen);
			return rc;
		}
		seen[col] = i + 1;
		c->colmap[i] = col;
	}
	free(seen);
	return 0;
}

static int add_row(struct csv *c)
{
	struct maas_table *t = c->t;

	if (c->nf != c->ncols)
		return maas_err_set(c->e, MAAS_EDATA, "'%s' line %llu: %zu field%s, expected %zu (as in %s)",
				    c->name, line_of(c), c->nf, c->nf == 1 ? "" : "s", c->ncols,
				    c->o->no_header ? "the first line" : "the header");
	if (prepare_fields(c) < 0)
		return -1;
	maas_table_add_text_row(t, c->src, c->line > UINT32_MAX ? UINT32_MAX : (uint32_t)c->line, c->colmap,
				c->f, c->nf);
	c->nrows++;
	return 0;
}

static int run(struct csv *c)
{
	if (refill(c) < 0)
		return -1;
	if (c->len >= 3 && !memcmp(c->buf, "\xef\xbb\xbf", 3))
		c->pos = 3;
	for (;;) {
		if (c->pos == c->len) {
			if (c->eof)
				break;
			if (refill(c) < 0)
				return -1;
			continue;
		}
		int r = parse_record(c);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (refill(c) < 0)
				return -1;
			continue;
		}
		uint64_t lines = 1 + c->rec_nl;
		if (c->nf == 1 && c->f[0].len == 0 && !c->ff[0]) {
			c->line += lines; /* blank line */
			continue;
		}
		if (!c->have_header) {
			if (take_header(c) < 0)
				return -1;
			c->have_header = 1;
			if (!c->o->no_header) {
				c->line += lines;
				continue;
			}
		}
		if (add_row(c) < 0)
			return -1;
		c->line += lines;
	}
	if (!c->nrows)
		return maas_err_set(c->e, MAAS_EDATA, "'%s': no data rows", c->name);
	return 0;
}

char maas_csv_detect_delimiter(const char *p, size_t n, int eof)
{
	static const char cand[4] = {',', '\t', ';', '|'};
	enum { MAXREC = 20 };
	size_t cnt[MAXREC][4], cur[4] = {0}, nrec = 0, i = 0;
	int inq = 0, nonblank = 0;

	if (n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		i = 3;
	for (; i < n && nrec < MAXREC; i++) {
		char ch = p[i];
		if (ch == '"') {
			inq = !inq;
		} else if (inq) {
			continue;
		} else if (ch == '\n') {
			if (nonblank)
				memcpy(cnt[nrec++], cur, sizeof cur);
			memset(cur, 0, sizeof cur);
			nonblank = 0;
			continue;
		} else if (ch == '\r') {
			continue;
		}
		nonblank = 1;
		for (int k = 0; k < 4; k++)
			cur[k] += ch == cand[k];
	}
	/* a last record without its newline counts when it is whole, or the only one */
	if (nonblank && nrec < MAXREC && (eof || nrec == 0))
		memcpy(cnt[nrec++], cur, sizeof cur);
	if (!nrec)
		return ',';
	int best = -1;
	for (int k = 0; k < 4; k++) {
		int same = cnt[0][k] > 0;
		for (size_t r = 1; r < nrec && same; r++)
			same = cnt[r][k] == cnt[0][k];
		if (same && (best < 0 || cnt[0][k] > cnt[0][best]))
			best = k;
	}
	if (best < 0) {
		for (int k = 0; k < 4; k++)
			if (cnt[0][k] && (best < 0 || cnt[0][k] > cnt[0][best]))
				best = k;
	}
	return best < 0 ? ',' : cand[best];
}

int maas_read_csv(struct maas_table *t, struct maas_in *in, size_t source, char delim,
		  const struct maas_read_opts *o, struct maas_err *e)
{
	struct csv c;
	memset(&c, 0, sizeof c);
	c.t = t;
	c.in = in;
	c.o = o;
	c.e = e;
	c.name = maas_in_name(in);
	c.src = source;
	c.delim = delim;
	c.line = 1;
	c.cap = BLOCK;
	c.buf = xmalloc(c.cap + 1 + PAD);
	c.stop[(unsigned char)delim] = 1;
	c.stop['\n'] = c.stop['\r'] = c.stop[0] = 1;
	for (int b = 0x80; b < 256; b++)
		c.stop[b] = 1;
	int rc = run(&c);
	free(c.buf);
	free(c.f);
	free(c.ff);
	free(c.colmap);
	return rc;
}
