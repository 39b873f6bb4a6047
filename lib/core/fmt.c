/*
 * fmt.c - "%.9g" without printf (see fmt.h).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/fmt.h"

const double maas_pow10_exact[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static size_t slow(char *out, double v)
{
	return (size_t)snprintf(out, MAAS_FMT_G9_MAX, "%.9g", v);
}

/* x (> 0) times 10^k, one rounding; k within -22..22 */
static double scale(double x, int k)
{
	return k >= 0 ? x * maas_pow10_exact[k] : x / maas_pow10_exact[-k];
}

size_t maas_fmt_g9(char *out, double v)
{
	double x = fabs(v), s;
	char dig[9], *o = out;
	uint32_t n;
	int e, k;

	if (!(x >= 1e-14 && x < 1e31))   /* zero, tiny, huge, inf, NaN */
		return slow(out, v);
	e = (int)floor(log10(x));        /* the decimal exponent, perhaps off by one */
	k = 8 - e;
	if (k < -22 || k > 22)
		return slow(out, v);
	s = scale(x, k);
	if (s < 1e8 || s >= 1e9) {       /* log10 was off: move by one */
		e += s < 1e8 ? -1 : 1;
		k = 8 - e;
		if (k < -22 || k > 22)
			return slow(out, v);
		s = scale(x, k);
		if (s < 1e8 || s >= 1e9)
			return slow(out, v);
	}
	n = (uint32_t)s;
	double frac = s - (double)n;     /* exact: s < 2^30 */
	if (fabs(frac - 0.5) < 1e-6)
		return slow(out, v);     /* too near a tie to be sure */
	if (frac > 0.5 && ++n == 1000000000) {
		n = 100000000;
		e++;
	}
	for (int i = 8; i >= 0; i--, n /= 10)
		dig[i] = (char)('0' + n % 10);

	int last = 8;                    /* the last digit kept: trailing zeros go */
	while (last > 0 && dig[last] == '0')
		last--;
	if (v < 0)
		*o++ = '-';
	if (e < -4 || e >= 9) {          /* d.ddde+XX */
		*o++ = dig[0];
		if (last > 0) {
			*o++ = '.';
			memcpy(o, dig + 1, (size_t)last);
			o += last;
		}
		*o++ = 'e';
		*o++ = e < 0 ? '-' : '+';
		int a = e < 0 ? -e : e;
		if (a >= 100)
			*o++ = (char)('0' + a / 100);
		*o++ = (char)('0' + a / 10 % 10);
		*o++ = (char)('0' + a % 10);
	} else if (e >= 0) {             /* ddd.ddd */
		memcpy(o, dig, (size_t)e + 1);
		o += e + 1;
		if (last > e) {
			*o++ = '.';
			memcpy(o, dig + e + 1, (size_t)(last - e));
			o += last - e;
		}
	} else {                         /* 0.000ddd */
		*o++ = '0';
		*o++ = '.';
		for (int i = -1; i > e; i--)
			*o++ = '0';
		memcpy(o, dig, (size_t)last + 1);
		o += last + 1;
	}
	*o = '\0';
	return (size_t)(o - out);
}

size_t maas_fmt_uint(char *out, unsigned long long v)
{
	char tmp[20];
	size_t n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

size_t maas_fmt_int(char *out, long long v)
{
	if (v >= 0)
		return maas_fmt_uint(out, (unsigned long long)v);
	*out = '-';
	return 1 + maas_fmt_uint(out + 1, 0 - (unsigned long long)v);
}

void maas_copy_str(char *out, size_t size, const char *s, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}
