/* error.c - filling struct maas_err and mapping it to exit codes. */
#include "core/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static void vset(struct maas_err *e, enum maas_errkind kind, const char *fmt, va_list ap)
{
	e->kind = kind;
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

int maas_err_set(struct maas_err *e, enum maas_errkind kind, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vset(e, kind, fmt, ap);
	va_end(ap);
	return -1;
}

int maas_err_sys(struct maas_err *e, enum maas_errkind kind, const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vset(e, kind, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int maas_err_prefix(struct maas_err *e, const char *fmt, ...)
{
	char head[MAAS_ERRMSG_MAX];
	size_t h, keep;
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	h = strlen(head);
	if (h + 3 > sizeof e->msg)
		h = sizeof e->msg - 3;
	/* "head: old", the old message cut to what fits */
	keep = strnlen(e->msg, sizeof e->msg - 1);
	if (keep > sizeof e->msg - h - 3)
		keep = sizeof e->msg - h - 3;
	memmove(e->msg + h + 2, e->msg, keep);
	e->msg[h + 2 + keep] = '\0';
	memcpy(e->msg, head, h);
	e->msg[h] = ':';
	e->msg[h + 1] = ' ';
	return -1;
}

void maas_err_clear(struct maas_err *e)
{
	e->kind = MAAS_OK;
	e->msg[0] = '\0';
}

int maas_exit_code(const struct maas_err *e)
{
	switch (e->kind) {
	case MAAS_OK:        return 0;
	case MAAS_EUSAGE:    return EX_USAGE;
	case MAAS_EDATA:     return EX_DATAERR;
	case MAAS_ENOINPUT:  return EX_NOINPUT;
	case MAAS_ESOFTWARE: return EX_SOFTWARE;
	case MAAS_EOS:       return EX_OSERR;
	case MAAS_ECANTCREAT: return EX_CANTCREAT;
	case MAAS_EIO:       return EX_IOERR;
	case MAAS_ECONFIG:   return EX_CONFIG;
	case MAAS_ECHECK:    return 1;
	case MAAS_EINTR:     return 130;
	}
	return EX_SOFTWARE;
}

const char *maas_err_kind_name(enum maas_errkind kind)
{
	static const char *const names[] = {
		[MAAS_OK] = "ok", [MAAS_EUSAGE] = "usage", [MAAS_EDATA] = "data",
		[MAAS_ENOINPUT] = "noinput", [MAAS_ESOFTWARE] = "software",
		[MAAS_EOS] = "os", [MAAS_ECANTCREAT] = "cantcreat", [MAAS_EIO] = "io",
		[MAAS_ECONFIG] = "config", [MAAS_ECHECK] = "check", [MAAS_EINTR] = "interrupted",
	};
	if ((unsigned)kind < sizeof names / sizeof names[0] && names[kind])
		return names[kind];
	return "unknown";
}
