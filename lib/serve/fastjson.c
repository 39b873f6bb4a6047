/*
 * fastjson.c - a scanner for the happy path of an OIP v2 infer body.  Every
 * function returns 0 when the body is not what it handles; the caller then
 * falls back to jansson (see fastjson.h for the contract).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"
#include "core/mem.h"
#include "serve/fastjson.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the SWAR digit scanning reads 8 bytes as a little-endian word"
#endif

struct scan {
	const char *p, *end;
};

/* Skips whitespace: one test when there is none, the common case. */
static inline __attribute__((always_inline)) void ws(struct scan *s)
{
	const char *p = s->p, *end = s->end;
	while (p < end && (unsigned char)*p <= ' ' && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	s->p = p;
}

/* Skips whitespace, then takes the byte c. */
static inline __attribute__((always_inline)) int take(struct scan *s, char c)
{
	ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return 1;
	}
	return 0;
}

/* A string of printable ASCII without escapes; *str points into the body. */
static int string(struct scan *s, const char **str, size_t *n)
{
	const char *q;
	if (!take(s, '"'))
		return 0;
	for (q = s->p; q < s->end && *q != '"'; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x80 || *q == '\\')
			return 0;
	if (q == s->end)
		return 0;
	*str = s->p;
	*n = (size_t)(q - s->p);
	s->p = q + 1;
	return 1;
}

static int key(struct scan *s, const char **k, size_t *n)
{
	return string(s, k, n) && take(s, ':');
}

static int is(const char *k, size_t n, const char *word)
{
	return strlen(word) == n && !memcmp(k, word, n);
}

static int digit(const struct scan *s, const char *q)
{
	return q < s->end && *q >= '0' && *q <= '9';
}


/* How many of the 8 bytes of v (little-endian: the first byte lowest) are
 * ASCII digits before the first that is not (0-8).  A byte's high nibble
 * must be 3 and adding 6 must leave it 3; a carry out of a byte >= 0xFA
 * reaches only bytes after a non-digit, which do not count. */
static inline int digit_run(uint64_t v)
{
	uint64_t bad = ((v & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL) |
		       (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL);
	return bad ? __builtin_ctzll(bad) >> 3 : 8;
}

/* The value of eight ASCII digits (the SWAR conversion of fast_float and
 * simdjson). */
static inline uint64_t eight_value(uint64_t v)
{
	const uint64_t mask = 0x000000FF000000FFULL, mul1 = 100 + (1000000ULL << 32), mul2 = 1 + (10000ULL << 32);
	v -= 0x3030303030303030ULL;
	v = v * 10 + (v >> 8);
	return ((v & mask) * mul1 + ((v >> 16) & mask) * mul2) >> 32;
}

static const uint64_t pow10_u64[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

/* The value of the first n (1-8) digits of v: shifted up behind '0's
 * and converted as eight. */
static inline uint64_t run_value(uint64_t v, int n)
{
	if (n < 8)
		v = (v << (8 * (8 - n))) | (0x3030303030303030ULL >> (8 * n));
	return eight_value(v);
}

/* Digits at *q (up to end) into *m, counted in *nd: up to eight at a
 * time while 8 bytes can be read and the count stays within 19 (a run of
 * n < 8 is shifted up behind '0's and converted as eight); the rest, and
 * any beyond 19 (counted, not added), one at a time. */
static inline const char *digits(const char *q, const char *end, uint64_t *m, int *nd)
{
	uint64_t v;
	while (end - q >= 8) {
		memcpy(&v, q, 8);
		int n = digit_run(v);
		if (n == 0)
			return q;
		if (*nd + n > 19)
			break;
		*m = *m * pow10_u64[n] + run_value(v, n);
		*nd += n;
		q += n;
		if (n < 8)
			return q;
	}
	for (; q < end && (unsigned)(*q - '0') < 10; q++, (*nd)++)
		if (*nd < 19)
			*m = *m * 10 + (uint64_t)(*q - '0');
	return q;
}

/*
 * The common number, fast: [-]d.d with 1-7 digits on each side of the
 * point, 32 bytes or more from the end (so no bound checks), and then a
 * byte that cannot continue a number.  m has at most 14 digits and the
 * power of ten is at most 10^7, so the quotient is the one correctly
 * rounded double, what number() computes too.  Anything else, integers
 * and leading zeros included, is left to number(): 0, nothing consumed.
 */
static inline __attribute__((always_inline)) int short_number(struct scan *s, double *out)
{
	const char *q = s->p;
	uint64_t v, m;
	int neg, n, f;

	if (s->end - q < 32)
		return 0;
	neg = *q == '-';
	q += neg;
	if ((unsigned)(q[0] - '0') < 10 && q[1] == '.') {  /* one digit, the most common */
		m = (uint64_t)(q[0] - '0');
		q += 2;
	} else {
		memcpy(&v, q, 8);
		n = digit_run(v);
		if (n == 0 || n == 8 || (*q == '0' && n > 1) || q[n] != '.')
			return 0;
		m = run_value(v, n);
		q += n + 1;
	}
	memcpy(&v, q, 8);
	f = digit_run(v);
	if (f == 0 || f == 8 || q[f] == 'e' || q[f] == 'E')
		return 0;
	m = m * pow10_u64[f] + run_value(v, f);
	double d = (double)m / maas_pow10_exact[f];
	*out = neg ? -d : d;
	s->p = q + f;
	return 1;
}

/*
 * A JSON number, as jansson reads it: an integer (no fraction, no
 * exponent) is a long long converted to double; anything else is strtod's
 * correctly rounded double.  Clinger's fast path gives the same double
 * when there are at most 19 digits (leading zeros count: simpler, and
 * still exact), the digits fit in 53 bits and the power of ten is exact;
 * other numbers go to strtod.  *integer says which kind it was.
 */
static inline __attribute__((always_inline)) int number(struct scan *s, double *out, int *integer)
{
	const char *start, *q, *end = s->end, *f;
	uint64_t m = 0;
	int nd = 0, neg = 0, real = 0;
	long ex = 0, scale = 0; /* the value is m * 10^(ex - scale) */

	ws(s);
	start = q = s->p;
	if (q < end && *q == '-') {
		neg = 1;
		q++;
	}
	if (!digit(s, q))
		return 0;
	if (*q == '0' && digit(s, q + 1))
		return 0; /* a leading zero */
	q = digits(q, end, &m, &nd);
	if (q < end && *q == '.') {
		real = 1;
		f = ++q;
		if (!digit(s, q))
			return 0;
		q = digits(q, end, &m, &nd);
		scale = q - f;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		int exneg = 0;
		real = 1;
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			exneg = *q++ == '-';
		if (!digit(s, q))
			return 0;
		for (; digit(s, q); q++)
			if (ex < 100000)
				ex = ex * 10 + (*q - '0');
		if (exneg)
			ex = -ex;
	}
	s->p = q;
	*integer = !real;
	if (!real) {
		if (nd > 18)
			return 0; /* jansson may say "too big integer": let it */
		long long v = (long long)m;
		*out = (double)(neg ? -v : v);
		return 1;
	}
	long e10 = ex - scale;
	if (nd <= 19 && !m) {
		*out = neg ? -0.0 : 0.0;
		return 1;
	}
	if (nd <= 19 && m <= ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
		double d = (double)m; /* exact, and so is the power of ten: one rounding */
		d = e10 < 0 ? d / maas_pow10_exact[-e10] : d * maas_pow10_exact[e10];
		*out = neg ? -d : d;
		return 1;
	}
	/* beyond the fast path: strtod, as jansson does */
	char buf[64];
	size_t n = (size_t)(q - start);
	if (n >= sizeof buf)
		return 0;
	memcpy(buf, start, n);
	buf[n] = 0;
	errno = 0;
	double d = strtod(buf, NULL);
	if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
		return 0; /* jansson: "real number overflow" */
	*out = d;
	return 1;
}

/* "shape": [n, ...] of non-negative integers, exactly as the model takes */
static int shape(struct scan *s, const struct maas_fastjson_expect *w, size_t *rows)
{
	int k = 0, integer;
	double d;
	if (!take(s, '['))
		return 0;
	if (take(s, ']'))
		return 0;
	do {
		if (k >= w->ndim || !number(s, &d, &integer) || !integer || d < 0)
			return 0;
		if (k == 0)
			*rows = (size_t)d;
		else if (d != (double)w->dims[k])
			return 0;
		k++;
	} while (take(s, ','));
	return take(s, ']') && k == w->ndim;
}

/* "data": nested arrays of numbers, flattened into a growing buffer */
static int data(struct scan *s, float **x, size_t *nx, size_t *cap)
{
	int depth = 0, integer;
	double d;
	if (!take(s, '['))
		return 0;
	depth = 1;
	if (take(s, ']'))
		return 1;
	for (;;) {
		/* a value */
		ws(s);
		if (s->p < s->end && *s->p == '[') {
			s->p++;
			if (++depth > MAAS_FASTJSON_MAX_DEPTH)
				return 0;
			if (!take(s, ']'))
				continue;
			depth--;
		} else {
			float f;
			if (short_number(s, &d)) {
				f = (float)d;    /* below 10^7: finite */
			} else {
				if (!number(s, &d, &integer))
					return 0;
				f = (float)d;
				if (!isfinite(f))
					return 0;
			}
			if (*nx == *cap)
				xgrow(x, cap, *nx + 1, sizeof **x);
			(*x)[(*nx)++] = f;
		}
		/* after a value: ',' or the ends of arrays */
		for (;;) {
			if (take(s, ','))
				break;
			if (!take(s, ']'))
				return 0;
			if (--depth == 0)
				return 1;
		}
	}
}

static int input(struct scan *s, const struct maas_fastjson_expect *w, struct maas_fastjson_infer *r, size_t *cap)
{
	int seen_name = 0, seen_type = 0, seen_shape = 0, seen_data = 0;
	const char *k, *v;
	size_t kn, vn;
	if (!take(s, '{'))
		return 0;
	do {
		if (!key(s, &k, &kn))
			return 0;
		if (is(k, kn, "name") && !seen_name++) {
			if (!string(s, &v, &vn) || !is(v, vn, w->input))
				return 0;
		} else if (is(k, kn, "datatype") && !seen_type++) {
			if (!string(s, &v, &vn) || !is(v, vn, "FP32"))
				return 0;
		} else if (is(k, kn, "shape") && !seen_shape++) {
			if (!shape(s, w, &r->n))
				return 0;
		} else if (is(k, kn, "data") && !seen_data++) {
			if (!data(s, &r->x, &r->nx, cap))
				return 0;
		} else
			return 0;
	} while (take(s, ','));
	return take(s, '}') && seen_name && seen_type && seen_shape && seen_data;
}

static int outputs(struct scan *s, const struct maas_fastjson_expect *w, unsigned *mask)
{
	const char *k, *v;
	size_t kn, vn;
	if (!take(s, '['))
		return 0;
	if (take(s, ']'))
		return 1;
	do {
		int i;
		if (!take(s, '{') || !key(s, &k, &kn) || !is(k, kn, "name") || !string(s, &v, &vn) || !take(s, '}'))
			return 0;
		for (i = 0; i < w->noutputs && i < MAAS_FASTJSON_MAX_OUTPUTS && !is(v, vn, w->outputs[i]); i++)
			;
		if (i >= w->noutputs || i >= MAAS_FASTJSON_MAX_OUTPUTS)
			return 0;
		*mask |= 1u << i;
	} while (take(s, ','));
	return take(s, ']');
}

static int body(struct scan *s, const struct maas_fastjson_expect *w, struct maas_fastjson_infer *r)
{
	int seen_id = 0, seen_inputs = 0, seen_outputs = 0;
	size_t cap = 0, kn, vn, row = 1;
	const char *k, *v;

	if (w->ndim < 2 || w->ndim > 3)
		return 0;
	if (!take(s, '{'))
		return 0;
	do {
		if (!key(s, &k, &kn))
			return 0;
		if (is(k, kn, "id") && !seen_id++) {
			if (!string(s, &v, &vn))
				return 0;
			r->id = xstrndup(v, vn);
		} else if (is(k, kn, "inputs") && !seen_inputs++) {
			if (!take(s, '[') || !input(s, w, r, &cap) || !take(s, ']'))
				return 0;
		} else if (is(k, kn, "outputs") && !seen_outputs++) {
			if (!outputs(s, w, &r->outputs))
				return 0;
		} else
			return 0;
	} while (take(s, ','));
	if (!take(s, '}'))
		return 0;
	ws(s);
	if (s->p != s->end || !seen_inputs)
		return 0;
	for (int i = 1; i < w->ndim; i++)
		row *= (size_t)w->dims[i];
	if (w->max_rows && r->n > w->max_rows)
		return 0;
	size_t total;
	return !maas_mul_overflow(r->n, row, &total) && total == r->nx;
}

int maas_fastjson_infer(const char *text, size_t len, const struct maas_fastjson_expect *want,
			struct maas_fastjson_infer *out)
{
	struct scan s = {text, text + len};
	memset(out, 0, sizeof *out);
	if (text && body(&s, want, out))
		return 1;
	maas_fastjson_infer_release(out);
	return 0;
}

void maas_fastjson_infer_release(struct maas_fastjson_infer *r)
{
	free(r->x);
	free(r->id);
	memset(r, 0, sizeof *r);
}
