/* sort.c - LSD radix sort of doubles (see sort.h). */
#include "core/sort.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* order-preserving map of a double's bits to an unsigned key */
static inline uint64_t key_of(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	return (u >> 63) ? ~u : u | 0x8000000000000000ULL;
}

static inline double double_of(uint64_t k)
{
	uint64_t u = (k >> 63) ? k & 0x7fffffffffffffffULL : ~k;
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

static void insertion(double *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		double x = v[i];
		uint64_t kx = key_of(x);
		size_t j = i;
		while (j > 0 && key_of(v[j - 1]) > kx) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

void maas_sort_doubles(double *v, size_t n)
{
	if (n < 64) {
		insertion(v, n);
		return;
	}
	uint64_t *a = xmallocarray(n, sizeof *a), *b = xmallocarray(n, sizeof *b);
	size_t (*count)[256] = xcalloc(8, sizeof *count);

	for (size_t i = 0; i < n; i++) {
		uint64_t k = key_of(v[i]);
		a[i] = k;
		for (int d = 0; d < 8; d++)
			count[d][(k >> (8 * d)) & 255]++;
	}
	for (int d = 0; d < 8; d++) {
		size_t *c = count[d], sum = 0;
		int skip = 0;
		for (int x = 0; x < 256; x++)
			if (c[x] == n)
				skip = 1;
		if (skip)
			continue;
		for (int x = 0; x < 256; x++) {
			size_t t = c[x];
			c[x] = sum;
			sum += t;
		}
		for (size_t i = 0; i < n; i++)
			b[c[(a[i] >> (8 * d)) & 255]++] = a[i];
		uint64_t *t = a;
		a = b;
		b = t;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = double_of(a[i]);
	free(a);
	free(b);
	free(count);
}
