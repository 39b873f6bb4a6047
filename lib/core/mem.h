/*
 * mem.h - allocation that cannot fail.
 *
 * xmalloc and friends return memory or, when the system has none left,
 * print "maas: out of memory" and exit 71 (EX_OSERR). Temporary outputs are
 * removed first (maas_io_remove_temporaries).  This is the one place
 * the library exits: every caller would have to do the same, and an
 * out-of-memory path that is never tested is worse than none.  Sizes are
 * checked for overflow (xmallocarray).  The caller frees with free().
 */
#ifndef MAAS_CORE_MEM_H
#define MAAS_CORE_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xmallocarray(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh string */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows *p (of *cap elements of size `size`) so that it holds at least `need`. */
void xgrow(void *pp, size_t *cap, size_t need, size_t size);

/* a = b * c, returning 0, or -1 on overflow */
int maas_mul_overflow(size_t b, size_t c, size_t *a);

#endif
