/* table.c - the raw column store the readers fill (see table.h). */
#include "data/table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/mem.h"

static const char *const default_na[] = {"NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?"};

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

/* ---- dictionaries ---- */

void maas_dict_init(struct maas_dict *d)
{
	memset(d, 0, sizeof *d);
}

void maas_dict_release(struct maas_dict *d)
{
	for (uint32_t i = 1; i <= d->n; i++)
		free(d->str[i]);
	free(d->str);
	free(d->len);
	free(d->count);
	free(d->slots);
	maas_dict_init(d);
}

static void dict_rehash(struct maas_dict *d, uint32_t nslots)
{
	free(d->slots);
	d->slots = xcalloc(nslots, sizeof *d->slots);
	d->nslots = nslots;
	for (uint32_t id = 1; id <= d->n; id++) {
		uint32_t k = (uint32_t)hash_bytes(d->str[id], d->len[id]) & (nslots - 1);
		while (d->slots[k])
			k = (k + 1) & (nslots - 1);
		d->slots[k] = id;
	}
}

uint32_t maas_dict_lookup(const struct maas_dict *d, const char *s, size_t len)
{
	if (!d->nslots)
		return 0;
	uint32_t k = (uint32_t)hash_bytes(s, len) & (d->nslots - 1);
	for (uint32_t id; (id = d->slots[k]); k = (k + 1) & (d->nslots - 1))
		if (d->len[id] == len && !memcmp(d->str[id], s, len))
			return id;
	return 0;
}

uint32_t maas_dict_intern(struct maas_dict *d, const char *s, size_t len)
{
	uint32_t id = maas_dict_lookup(d, s, len);
	if (id) {
		d->count[id]++;
		return id;
	}
	if ((size_t)(d->n + 1) * 2 >= d->nslots)
		dict_rehash(d, d->nslots ? d->nslots * 2 : 64);
	if (d->n + 2 > d->cap) {
		size_t cap = d->cap;
		xgrow(&d->str, &cap, (size_t)d->n + 2, sizeof *d->str);
		d->len = xreallocarray(d->len, cap, sizeof *d->len);
		d->count = xreallocarray(d->count, cap, sizeof *d->count);
		d->cap = (uint32_t)cap;
	}
	id = ++d->n;
	d->str[id] = xstrndup(s, len);
	d->len[id] = (uint32_t)len;
	d->count[id] = 1;
	uint32_t k = (uint32_t)hash_bytes(s, len) & (d->nslots - 1);
	while (d->slots[k])
		k = (k + 1) & (d->nslots - 1);
	d->slots[k] = id;
	return id;
}

/* ---- numbers ---- */

static const double pow10_exact[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static int slow_number(const char *s, size_t len, double *v)
{
	char small[64], *buf = len < sizeof small ? small : xmalloc(len + 1), *end;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*v = strtod(buf, &end);
	int okay = end == buf + len;
	if (buf != small)
		free(buf);
	return okay && isfinite(*v);
}

int maas_parse_number(const char *s, size_t len, double *v)
{
	size_t i = 0, ndig = 0, start;
	uint64_t m = 0;
	int neg = 0, exp10 = 0, sawdig = 0;

	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	s += i;
	len -= i;
	i = 0;
	if (!len)
		return 0;
	start = 0;
	if (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-';
		i++;
	}
	while (i < len && s[i] == '0') {
		i++;
		sawdig = 1;
	}
	for (; i < len && (unsigned)(s[i] - '0') < 10; i++, sawdig = 1) {
		if (ndig < 19)
			m = m * 10 + (uint64_t)(s[i] - '0');
		else
			exp10++;
		ndig++;
	}
	if (i < len && s[i] == '.') {
		i++;
		if (!ndig)
			for (; i < len && s[i] == '0'; i++, sawdig = 1)
				exp10--;
		for (; i < len && (unsigned)(s[i] - '0') < 10; i++, sawdig = 1) {
			if (ndig < 19) {
				m = m * 10 + (uint64_t)(s[i] - '0');
				exp10--;
			}
			ndig++;
		}
	}
	if (!sawdig)
		return 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		int eneg = 0, e = 0, edig = 0;
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			eneg = s[i++] == '-';
		for (; i < len && (unsigned)(s[i] - '0') < 10; i++, edig++)
			if (e < 100000)
				e = e * 10 + (s[i] - '0');
		if (!edig)
			return 0;
		exp10 += eneg ? -e : e;
	}
	if (i != len)
		return 0;
	if (ndig <= 19 && m < (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
		double d = (double)m;
		d = exp10 < 0 ? d / pow10_exact[-exp10] : d * pow10_exact[exp10];
		*v = neg ? -d : d;
		return 1;
	}
	(void)start;
	return slow_number(s, len, v);
}

/*
 * parse_float_fast: the common case of a CSV cell, [-+]digits[.digits] with
 * a few digits on either side, without a branch per digit (nor on the
 * sign, which is as random as the data).  len >= 1 and s[len..len +
 * MAAS_TEXT_PAD) must be readable.  Returns 1 with *f, the float32 of the
 * number, and *frac, 1 when its fractional digits are not all zero; or 0
 * when the general parser must decide.  The result is the general
 * parser's: m (the digits) and the quotient m / 10^n2 are exact doubles,
 * rounded once to double and once to float, and that float rounding is
 * symmetric, so the sign is set afterwards; the quotient is an integer
 * exactly when the fractional digits are all zero (nonint()), as m has at
 * most 15 digits.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline uint64_t load8(const char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

/* the value of the first n (1..8) digits of w */
static inline uint64_t digits_value(uint64_t w, unsigned n)
{
	w -= 0x3030303030303030ULL;  /* borrows only move up, past the n digits */
	w <<= 8 * (8 - n);           /* leading zeros */
	w = w * 10 + (w >> 8);
	w = (((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
	     (((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
	return (uint32_t)w;
}

static const uint64_t pow10_u64[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

#ifdef __SSE2__
/* SSE2: the cell checked 16 bytes at a time (after the sign at most 16
 * bytes of digits and at most one '.'), at most 8 digits on either side,
 * each side summed 8 bytes at a time. */
static inline int parse_float_fast(const char *s, size_t len, float *f, unsigned *frac)
{
	uint32_t neg = s[0] == '-';
	size_t sign = neg | (s[0] == '+');
	const char *p = s + sign;
	size_t n = len - sign;
	if (n - 1 >= 16) /* nothing, or more than 16 bytes */
		return 0;
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
	unsigned in = (1u << n) - 1;
	unsigned digit = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d));
	unsigned dot = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))) & in;
	if ((~digit & in) != dot || (dot & (dot - 1)))
		return 0;
	unsigned n1 = dot ? (unsigned)__builtin_ctz(dot) : (unsigned)n;
	unsigned n2 = dot ? (unsigned)n - n1 - 1 : 0;
	if (n1 > 8 || n2 > 8 || n1 + n2 == 0)
		return 0;
	uint64_t m = n1 ? digits_value(load8(p), n1) : 0;
	uint64_t fr = n2 ? digits_value(load8(p + n1 + 1), n2) : 0;
	m = m * pow10_u64[n2] + fr;
	float r = (float)((double)m / pow10_exact[n2]);
	uint32_t u;
	memcpy(&u, &r, sizeof u);
	u |= neg << 31;
	memcpy(f, &u, sizeof u);
	*frac = fr != 0;
	return 1;
}
#else
/* leading ASCII digits of the 8 bytes (the first byte is the lowest) */
static inline unsigned lead_digits(uint64_t w)
{
	uint64_t t = (w & 0xF0F0F0F0F0F0F0F0ULL) | (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4);
	uint64_t x = t ^ 0x3333333333333333ULL;
	uint64_t nz = (((x & 0x7F7F7F7F7F7F7F7FULL) + 0x7F7F7F7F7F7F7F7FULL) | x) & 0x8080808080808080ULL;
	return nz ? (unsigned)__builtin_ctzll(nz) >> 3 : 8;
}

/* SWAR: at most 7 digits on either side, 8 bytes at a time. */
static inline int parse_float_fast(const char *s, size_t len, float *f, unsigned *frac)
{
	const char *p = s, *end = s + len;
	uint32_t neg = *p == '-';
	p += neg | (*p == '+');
	uint64_t w = load8(p);
	unsigned n1 = lead_digits(w), n2 = 0;
	if (n1 > (size_t)(end - p))
		n1 = (unsigned)(end - p);
	if (n1 == 8)
		return 0;
	uint64_t m = n1 ? digits_value(w, n1) : 0, fr = 0;
	p += n1;
	if (p < end && *p == '.') {
		p++;
		w = load8(p);
		n2 = lead_digits(w);
		if (n2 > (size_t)(end - p))
			n2 = (unsigned)(end - p);
		if (n2 == 8)
			return 0;
		if (n2) {
			fr = digits_value(w, n2);
			m = m * pow10_u64[n2] + fr;
		}
		p += n2;
	}
	if (p != end || n1 + n2 == 0)
		return 0;
	float r = (float)((double)m / pow10_exact[n2]);
	uint32_t u;
	memcpy(&u, &r, sizeof u);
	u |= neg << 31;
	memcpy(f, &u, sizeof u);
	*frac = fr != 0;
	return 1;
}
#endif
#else
static inline int parse_float_fast(const char *s, size_t len, float *f, unsigned *frac)
{
	(void)s, (void)len, (void)f, (void)frac;
	return 0;
}
#endif

/* ---- the table ---- */

void maas_table_init(struct maas_table *t)
{
	memset(t, 0, sizeof *t);
	maas_table_set_na(t, default_na, sizeof default_na / sizeof default_na[0]);
}

void maas_table_release(struct maas_table *t)
{
	for (size_t c = 0; c < t->ncols; c++) {
		free(t->cols[c].name);
		free(t->cols[c].num);
		free(t->cols[c].sid);
		maas_dict_release(&t->cols[c].dict);
	}
	free(t->cols);
	free(t->line);
	free(t->source);
	for (size_t i = 0; i < t->nsources; i++) {
		free(t->sources[i]);
		free(t->source_sha256[i]);
	}
	free(t->sources);
	free(t->source_sha256);
	free(t->source_records);
	for (size_t i = 0; i < t->nna; i++)
		free(t->na[i]);
	free(t->na);
	for (size_t i = 0; i < t->nwant_str; i++)
		free(t->want_str[i]);
	free(t->want_str);
	free(t->cslots);
	memset(t, 0, sizeof *t);
}

void maas_table_set_na(struct maas_table *t, const char *const *tokens, size_t n)
{
	for (size_t i = 0; i < t->nna; i++)
		free(t->na[i]);
	free(t->na);
	t->na = xcalloc(n ? n : 1, sizeof *t->na);
	memset(t->na_first, 0, sizeof t->na_first);
	t->na_maxlen = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c0 = (unsigned char)tokens[i][0];
		size_t len = strlen(tokens[i]);
		t->na[i] = xstrdup(tokens[i]);
		t->na_first[c0 >> 5] |= 1u << (c0 & 31);
		if (len > t->na_maxlen)
			t->na_maxlen = len;
	}
	t->nna = n;
}

size_t maas_table_add_source(struct maas_table *t, const char *display_name)
{
	t->sources = xreallocarray(t->sources, t->nsources + 1, sizeof *t->sources);
	t->source_sha256 = xreallocarray(t->source_sha256, t->nsources + 1, sizeof *t->source_sha256);
	t->source_records = xreallocarray(t->source_records, t->nsources + 1, sizeof *t->source_records);
	t->sources[t->nsources] = xstrdup(display_name);
	t->source_sha256[t->nsources] = NULL;
	t->source_records[t->nsources] = 0;
	return t->nsources++;
}

void maas_table_source_records(struct maas_table *t, size_t source)
{
	if (source < t->nsources)
		t->source_records[source] = 1;
}

void maas_table_want_str(struct maas_table *t, const char *name)
{
	t->want_str = xreallocarray(t->want_str, t->nwant_str + 1, sizeof *t->want_str);
	t->want_str[t->nwant_str++] = xstrdup(name);
	long c = maas_table_find(t, name, strlen(name));
	if (c >= 0)
		maas_table_force_str(t, (size_t)c);
}

static void cslots_rebuild(struct maas_table *t)
{
	uint32_t n = 64;
	while (n < t->ncols * 2 + 2)
		n *= 2;
	free(t->cslots);
	t->cslots = xcalloc(n, sizeof *t->cslots);
	t->ncslots = n;
	for (size_t c = 0; c < t->ncols; c++) {
		const char *name = t->cols[c].name;
		uint32_t k = (uint32_t)hash_bytes(name, strlen(name)) & (n - 1);
		while (t->cslots[k])
			k = (k + 1) & (n - 1);
		t->cslots[k] = (uint32_t)c + 1;
	}
}

long maas_table_find(const struct maas_table *t, const char *name, size_t len)
{
	if (!t->ncslots)
		return -1;
	uint32_t k = (uint32_t)hash_bytes(name, len) & (t->ncslots - 1);
	for (uint32_t id; (id = t->cslots[k]); k = (k + 1) & (t->ncslots - 1)) {
		const char *cn = t->cols[id - 1].name;
		if (strlen(cn) == len && !memcmp(cn, name, len))
			return (long)id - 1;
	}
	return -1;
}

static void col_alloc(struct maas_col *c, size_t cap)
{
	if (c->kind == MAAS_COL_NUM)
		c->num = xreallocarray(c->num, cap ? cap : 1, sizeof *c->num);
	else
		c->sid = xreallocarray(c->sid, cap ? cap : 1, sizeof *c->sid);
}

size_t maas_table_column(struct maas_table *t, const char *name, size_t len)
{
	long found = maas_table_find(t, name, len);
	if (found >= 0)
		return (size_t)found;
	t->cols = xreallocarray(t->cols, t->ncols + 1, sizeof *t->cols);
	struct maas_col *c = &t->cols[t->ncols];
	memset(c, 0, sizeof *c);
	c->name = xstrndup(name, len);
	c->kind = MAAS_COL_NUM;
	maas_dict_init(&c->dict);
	for (size_t i = 0; i < t->nwant_str; i++)
		if (strlen(t->want_str[i]) == len && !memcmp(t->want_str[i], name, len)) {
			c->kind = MAAS_COL_STR;
			c->forced_str = 1;
		}
	col_alloc(c, t->cap);
	/* rows so far (and the row being built) are missing in a new column */
	size_t upto = t->in_row ? t->nrows + 1 : t->nrows;
	for (size_t r = 0; r < upto; r++) {
		if (c->kind == MAAS_COL_NUM)
			c->num[r] = NAN;
		else
			c->sid[r] = 0;
	}
	c->n_missing = t->nrows;
	t->ncols++;
	if (t->ncols * 2 + 2 > t->ncslots)
		cslots_rebuild(t);
	else {
		uint32_t k = (uint32_t)hash_bytes(name, len) & (t->ncslots - 1);
		while (t->cslots[k])
			k = (k + 1) & (t->ncslots - 1);
		t->cslots[k] = (uint32_t)t->ncols;
	}
	return t->ncols - 1;
}

int maas_float_text(float f, char *buf, size_t size)
{
	int n = 0;
	for (int prec = 6; prec <= 9; prec++) {
		n = snprintf(buf, size, "%.*g", prec, (double)f);
		if (strtof(buf, NULL) == f)
			break;
	}
	return n;
}

static void col_to_str(struct maas_table *t, struct maas_col *c, size_t upto)
{
	float *num = c->num;
	char buf[32];

	c->kind = MAAS_COL_STR;
	c->num = NULL;
	c->sid = xmallocarray(t->cap ? t->cap : 1, sizeof *c->sid);
	for (size_t r = 0; r < upto; r++) {
		if (num[r] != num[r]) {
			c->sid[r] = 0;
			continue;
		}
		int n = maas_float_text(num[r], buf, sizeof buf);
		c->sid[r] = maas_dict_intern(&c->dict, buf, (size_t)n);
	}
	free(num);
}

void maas_table_force_str(struct maas_table *t, size_t col)
{
	struct maas_col *c = &t->cols[col];
	c->forced_str = 1;
	if (c->kind == MAAS_COL_NUM)
		col_to_str(t, c, t->in_row ? t->nrows + 1 : t->nrows);
}

static void reserve_rows(struct maas_table *t, size_t need)
{
	if (need > t->cap) {
		size_t cap = t->cap;
		xgrow(&t->line, &cap, need, sizeof *t->line);
		t->source = xreallocarray(t->source, cap, sizeof *t->source);
		for (size_t c = 0; c < t->ncols; c++)
			col_alloc(&t->cols[c], cap);
		t->cap = cap;
	}
}

void maas_table_reserve(struct maas_table *t, size_t nrows)
{
	reserve_rows(t, nrows);
}

void maas_table_begin_row(struct maas_table *t, size_t source, uint32_t line)
{
	size_t r = t->nrows;
	reserve_rows(t, r + 1);
	t->line[r] = line;
	t->source[r] = (uint16_t)source;
	for (size_t c = 0; c < t->ncols; c++) {
		struct maas_col *col = &t->cols[c];
		if (col->kind == MAAS_COL_NUM)
			col->num[r] = NAN;
		else
			col->sid[r] = 0;
	}
	t->in_row = 1;
}

static inline int is_na(const struct maas_table *t, const char *s, size_t len)
{
	if (!len)
		return 1;
	unsigned char c0 = (unsigned char)s[0];
	/* most cells: the first byte starts no token */
	if (len > t->na_maxlen || !(t->na_first[c0 >> 5] >> (c0 & 31) & 1))
		return 0;
	for (size_t i = 0; i < t->nna; i++)
		if (!strncmp(t->na[i], s, len) && t->na[i][len] == '\0')
			return 1;
	return 0;
}

/* row r: the row being built (r == nrows) or an earlier one (bulk fill) */
static void set_str_at(struct maas_table *t, struct maas_col *c, size_t r, const char *s, size_t len)
{
	if (c->kind == MAAS_COL_NUM)
		col_to_str(t, c, t->nrows);
	c->sid[r] = maas_dict_intern(&c->dict, s, len);
}

static void set_str(struct maas_table *t, struct maas_col *c, const char *s, size_t len)
{
	set_str_at(t, c, t->nrows, s, len);
}

/* v has a fractional part (every double of 2^52 or more is an integer) */
static int nonint(double v)
{
	return fabs(v) < 4503599627370496.0 && v != (double)(int64_t)v;
}

static void put_num_at(struct maas_table *t, struct maas_col *c, size_t r, double v)
{
	float f = (float)v;
	if (c->kind == MAAS_COL_STR) {
		char buf[32];
		int n = maas_float_text(f, buf, sizeof buf);
		c->sid[r] = maas_dict_intern(&c->dict, buf, (size_t)n);
		return;
	}
	if (isinf(f)) {
		/* a number too large for float32 is text: it would be +-inf in every tensor */
		char buf[32];
		int n = snprintf(buf, sizeof buf, "%.17g", v);
		set_str_at(t, c, r, buf, (size_t)n);
		return;
	}
	c->num[r] = f;
	if (nonint(v))
		c->n_nonint++;
}

static void put_num(struct maas_table *t, struct maas_col *c, double v)
{
	put_num_at(t, c, t->nrows, v);
}

void maas_table_set_text(struct maas_table *t, size_t col, const char *s, size_t len)
{
	struct maas_col *c = &t->cols[col];
	double v;

	if (is_na(t, s, len)) {
		maas_table_set_missing(t, col);
		return;
	}
	if (c->kind == MAAS_COL_NUM && maas_parse_number(s, len, &v)) {
		put_num(t, c, v);
		return;
	}
	set_str(t, c, s, len);
}

/* A cell of the row being built that is not missing: 0 when it is the
 * table's, 1 when it is missing (a missing-value token). */
static inline int set_cell_padded(struct maas_table *t, struct maas_col *c, const char *s, size_t len)
{
	if (is_na(t, s, len))
		return 1;
	if (c->kind == MAAS_COL_NUM) {
		float f;
		unsigned frac;
		double v;
		if (parse_float_fast(s, len, &f, &frac)) {
			c->num[t->nrows] = f;
			c->n_nonint += frac;
			return 0;
		}
		if (maas_parse_number(s, len, &v)) {
			put_num(t, c, v);
			return 0;
		}
	}
	set_str(t, c, s, len);
	return 0;
}

void maas_table_set_text_padded(struct maas_table *t, size_t col, const char *s, size_t len)
{
	if (set_cell_padded(t, &t->cols[col], s, len))
		maas_table_set_missing(t, col);
}

void maas_table_add_text_row(struct maas_table *t, size_t source, uint32_t line, const size_t *cols,
			     const struct maas_text *cells, size_t n)
{
	if (n != t->ncols) {
		maas_table_begin_row(t, source, line);
		for (size_t i = 0; i < n; i++)
			maas_table_set_text_padded(t, cols[i], cells[i].s, cells[i].len);
		maas_table_end_row(t);
		return;
	}
	/* every column gets a cell: no missing ones to fill first or count after
	 * (a cell is missing only when it is a missing-value token: numbers are
	 * finite and strings have ids from 1) */
	size_t r = t->nrows;
	reserve_rows(t, r + 1);
	t->line[r] = line;
	t->source[r] = (uint16_t)source;
	t->in_row = 1;
	for (size_t i = 0; i < n; i++) {
		struct maas_col *c = &t->cols[cols[i]];
		if (set_cell_padded(t, c, cells[i].s, cells[i].len)) {
			if (c->kind == MAAS_COL_NUM)
				c->num[r] = NAN;
			else
				c->sid[r] = 0;
			c->n_missing++;
		}
	}
	t->nrows++;
	t->in_row = 0;
}

void maas_table_set_num(struct maas_table *t, size_t col, double v)
{
	struct maas_col *c = &t->cols[col];
	if (v != v) {
		maas_table_set_missing(t, col);
		return;
	}
	put_num(t, c, v);
}

void maas_table_set_json_str(struct maas_table *t, size_t col, const char *s, size_t len)
{
	struct maas_col *c = &t->cols[col];
	c->n_json_str++;
	maas_table_set_text(t, col, s, len);
}

void maas_table_set_json_bool(struct maas_table *t, size_t col, int v)
{
	struct maas_col *c = &t->cols[col];
	c->n_json_bool++;
	set_str(t, c, v ? "true" : "false", v ? 4 : 5);
}

void maas_table_set_missing(struct maas_table *t, size_t col)
{
	struct maas_col *c = &t->cols[col];
	if (c->kind == MAAS_COL_NUM)
		c->num[t->nrows] = NAN;
	else
		c->sid[t->nrows] = 0;
}

size_t maas_table_add_rows(struct maas_table *t, size_t n, size_t source, uint32_t first_line)
{
	size_t r0 = t->nrows;

	reserve_rows(t, r0 + n);
	for (size_t i = 0; i < n; i++) {
		uint64_t line = (uint64_t)first_line + i;
		t->line[r0 + i] = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
		t->source[r0 + i] = (uint16_t)source;
	}
	for (size_t c = 0; c < t->ncols; c++) {
		struct maas_col *col = &t->cols[c];
		for (size_t i = 0; i < n; i++) {
			if (col->kind == MAAS_COL_NUM)
				col->num[r0 + i] = NAN;
			else
				col->sid[r0 + i] = 0;
		}
		col->n_missing += n;
	}
	t->nrows += n;
	return r0;
}

void maas_table_put_num(struct maas_table *t, size_t col, size_t row, double v)
{
	struct maas_col *c = &t->cols[col];
	if (v != v)
		return;
	put_num_at(t, c, row, v);
	if (!maas_table_missing(t, col, row))
		c->n_missing--;
}

void maas_table_end_row(struct maas_table *t)
{
	size_t r = t->nrows;
	for (size_t c = 0; c < t->ncols; c++)
		if (maas_table_missing(t, c, r))
			t->cols[c].n_missing++;
	t->nrows++;
	t->in_row = 0;
}

void maas_table_clear_rows(struct maas_table *t)
{
	for (size_t i = 0; i < t->ncols; i++) {
		struct maas_col *c = &t->cols[i];
		if (c->kind == MAAS_COL_STR && !c->forced_str) {
			free(c->sid);
			c->sid = NULL;
			c->kind = MAAS_COL_NUM;
			col_alloc(c, t->cap);
		}
		maas_dict_release(&c->dict);
		c->n_missing = c->n_nonint = c->n_json_bool = c->n_json_str = 0;
	}
	t->nrows = 0;
	t->in_row = 0;
}

const char *maas_table_str(const struct maas_table *t, size_t col, size_t row, size_t *len)
{
	const struct maas_col *c = &t->cols[col];
	if (c->kind != MAAS_COL_STR || !c->sid[row])
		return NULL;
	if (len)
		*len = c->dict.len[c->sid[row]];
	return c->dict.str[c->sid[row]];
}

void maas_table_where(const struct maas_table *t, size_t row, char *buf, size_t size)
{
	const char *src = t->nsources ? t->sources[t->source[row]] : "<input>";
	int rec = t->nsources && t->source_records[t->source[row]];
	snprintf(buf, size, "'%s' %s %u", src, rec ? "record" : "line", (unsigned)t->line[row]);
}
