/*
 * error.h - the one error type of the maas library.
 *
 * Every library function that can fail returns 0 on success and -1 on
 * failure, having filled the caller's struct maas_err.  The library never
 * prints and never exits (the single exception is running out of memory in
 * xmalloc, see mem.h).  Only cmd/ turns an error into a message on stderr and
 * an exit code, through maas_exit_code(): that mapping lives here and nowhere
 * else, and man/man7/maas.7 documents it.
 *
 * Messages follow git's style: lowercase, no full stop, the error first and
 * the subject quoted: "cannot open 'x.csv': No such file or directory".
 */
#ifndef MAAS_CORE_ERROR_H
#define MAAS_CORE_ERROR_H

#include <stddef.h>

enum maas_errkind {
	MAAS_OK = 0,
	MAAS_EUSAGE,     /* bad command line or option value        -> 64 */
	MAAS_EDATA,      /* input data malformed or unusable         -> 65 */
	MAAS_ENOINPUT,   /* input missing or unreadable              -> 66 */
	MAAS_ESOFTWARE,  /* internal error (a bug)                   -> 70 */
	MAAS_EOS,        /* system error (out of memory, fork, ...)  -> 71 */
	MAAS_ECANTCREAT, /* cannot create an output file             -> 73 */
	MAAS_EIO,        /* read or write failed midway              -> 74 */
	MAAS_ECONFIG,    /* a spec, bundle or config is inconsistent -> 78 */
	MAAS_ECHECK,     /* a requested check failed (--fail-on)     ->  1 */
	MAAS_EINTR,      /* interrupted by SIGINT or SIGTERM         -> 130 */
};

#define MAAS_ERRMSG_MAX 1024

struct maas_err {
	enum maas_errkind kind;
	char msg[MAAS_ERRMSG_MAX];
};

/* Sets kind and message; returns -1 so that callers can `return maas_err_set(...)`. */
int maas_err_set(struct maas_err *e, enum maas_errkind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As maas_err_set, then appends ": " and strerror(errno) (errno as on entry). */
int maas_err_sys(struct maas_err *e, enum maas_errkind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends context: "reading 'x': " + old message.  Keeps the kind.  Returns -1. */
int maas_err_prefix(struct maas_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Clears the error (kind MAAS_OK, empty message). */
void maas_err_clear(struct maas_err *e);

/* The process exit code for an error (sysexits.h values; see maas(7)). */
int maas_exit_code(const struct maas_err *e);

/* Short name of the kind for JSON output: "usage", "data", ... */
const char *maas_err_kind_name(enum maas_errkind kind);

#endif
