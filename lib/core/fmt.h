/*
 * fmt.h - numbers as text, fast.
 *
 * maas_fmt_g9 writes exactly what snprintf(out, n, "%.9g", v) writes (nine
 * significant digits: enough for every float to read back the same), about
 * ten times faster.  A server answers thousands of probabilities a second
 * and the monitor logs every feature of every request this way, where
 * glibc's exact multi-precision printf is a visible share of the time.
 *
 * How: the value times an exact power of ten, one correctly rounded double
 * product, lands between 1e8 and 1e9 with an error below 2^-23; its integer
 * part and the rounding are then certain unless the fraction is within
 * 1e-6 of one half.  Those cases, values beyond 1e-14..1e31 (where the
 * power of ten is not exact), zeros, infinities and NaN go to snprintf, so
 * the text is always printf's.
 *
 * The integer and string writers are there for the same reason: once
 * OpenBLAS is loaded, its libquadmath has registered printf extensions,
 * and from then on glibc takes its slow positional path for every printf
 * call in the process (twice the time for a plain "%d").
 */
#ifndef MAAS_CORE_FMT_H
#define MAAS_CORE_FMT_H

#include <stddef.h>

#define MAAS_FMT_G9_MAX 24 /* "-1.23456789e-308" and its NUL fit */

/* 10^0 .. 10^22: the powers of ten a double holds exactly */
extern const double maas_pow10_exact[23];

/* "%.9g" of v into out (MAAS_FMT_G9_MAX bytes); returns the length. */
size_t maas_fmt_g9(char *out, double v);

/* v in decimal into out (at least 21 bytes); returns the length. */
size_t maas_fmt_uint(char *out, unsigned long long v);
/* v in decimal, '-' first when negative (at least 21 bytes). */
size_t maas_fmt_int(char *out, long long v);

/* s into out (size bytes, > 0), cut to fit and NUL-terminated:
 * snprintf(out, size, "%s", s) without printf. */
void maas_copy_str(char *out, size_t size, const char *s, size_t n);

#endif
