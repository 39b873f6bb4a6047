/* mem.c - allocation that exits on exhaustion (see mem.h for why). */
#include "core/mem.h"

#include "core/io.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static void oom(void)
{
	static const char msg[] = "maas: out of memory\n";
	maas_io_remove_temporaries();
	ssize_t r = write(2, msg, sizeof msg - 1);
	(void)r;
	_exit(EX_OSERR);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom();
	return q;
}

int maas_mul_overflow(size_t b, size_t c, size_t *a)
{
	if (c && b > SIZE_MAX / c)
		return -1;
	*a = b * c;
	return 0;
}

void *xmallocarray(size_t n, size_t size)
{
	size_t t;
	if (maas_mul_overflow(n, size, &t))
		oom();
	return xmalloc(t);
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	size_t t;
	if (maas_mul_overflow(n, size, &t))
		oom();
	return xrealloc(p, t);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void xgrow(void *pp, size_t *cap, size_t need, size_t size)
{
	void **p = pp;
	size_t c = *cap;

	if (need <= c)
		return;
	if (c < 16)
		c = 16;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			oom();
		c *= 2;
	}
	*p = xreallocarray(*p, c, size);
	*cap = c;
}
