/*
 * auth.h - maas-serve's API keys, their scopes, per-key rate limits, and the
 * request deadline.
 *
 * A key file (maas-serve --keys FILE) holds one key per line:
 *
 *     ID SCOPE RATE BURST SHA256
 *
 * separated by blanks; '#' starts a comment, blank lines are ignored.
 *   ID      1 to 63 of [A-Za-z0-9._-], unique in the file; it names the key
 *           in the access log, never the key itself
 *   SCOPE   "predict" (inference and metadata) or "admin" (everything,
 *           model loading included)
 *   RATE    requests per second the key may make on average, a number > 0,
 *           or 0 for no limit
 *   BURST   requests the key may make at once (token bucket size), 1..1e6
 *   SHA256  the 64 hex digits of the key's SHA-256 (maas-serve --hash-key
 *           prints it), so the file holds no secret
 * Lines are at most 1023 bytes and the file at most 1 MiB.
 *
 * A request carries "Authorization: Bearer KEY".  maas_auth_check hashes
 * KEY, compares the digest with every key's in constant time, checks the
 * scope, then takes one token from the key's bucket.
 *
 * Threads: maas_auth_check may be called from any thread at once; each key's
 * bucket has its own mutex.  Load and release from one thread, while no
 * check runs.
 *
 * Ownership: maas_auth_init fills a caller-owned struct, maas_auth_load and
 * maas_auth_parse add the keys it owns, maas_auth_release frees them.  The
 * key ids returned by maas_auth_check point into the struct and live until
 * maas_auth_release.
 */
#ifndef MAAS_SERVE_AUTH_H
#define MAAS_SERVE_AUTH_H

#include <pthread.h>
#include <stdio.h>

#include "core/error.h"
#include "core/sha256.h"

#define MAAS_AUTH_ID_MAX 64       /* id bytes with the NUL */
#define MAAS_AUTH_LINE_MAX 1024   /* key file line bytes with the newline */
#define MAAS_AUTH_FILE_MAX (1u << 20)
#define MAAS_AUTH_KEY_MAX 4096    /* bytes of a key itself */

struct maas_auth_key {
	char id[MAAS_AUTH_ID_MAX];
	int admin;                    /* scope: 1 admin, 0 predict */
	double rate, burst;           /* tokens per second (0: no limit), bucket size */
	char sha256[MAAS_SHA256_HEX]; /* lowercase hex */
	pthread_mutex_t lock;         /* guards tokens and last */
	double tokens, last;          /* the bucket: tokens left at time last */
};

struct maas_auth {
	struct maas_auth_key *keys;
	size_t n, cap;
	double (*now)(void);          /* the clock, seconds (maas_now; tests set a fake) */
};

void maas_auth_init(struct maas_auth *a);
void maas_auth_release(struct maas_auth *a);

/* Adds the keys of the file at path.  MAAS_ENOINPUT when it cannot be
 * opened, MAAS_EDATA with the line number when it is malformed or holds no
 * key.  On failure a holds no key from this file. */
int maas_auth_load(struct maas_auth *a, const char *path, struct maas_err *e);
/* The same for text already read; name is the file's name for messages. */
int maas_auth_parse(struct maas_auth *a, const char *text, size_t len, const char *name, struct maas_err *e);

/* The HTTP status for a request with this Authorization header value (NULL
 * when absent): 0 allowed, 401 missing or unknown key, 403 a predict key on
 * an admin endpoint (need_admin), 429 over the key's rate, with the seconds
 * until a token is free in *retry_after.  *key_id is the key's id when the
 * key is known (403 and 429 included), else NULL.  With no keys loaded
 * every request is allowed. */
int maas_auth_check(const struct maas_auth *a, const char *header, int need_admin, const char **key_id,
		    double *retry_after);

/* What a request to url needs: -1 nothing (health, /metrics, the page at
 * /), 0 a predict key, 1 an admin key (/v2/repository/...). */
int maas_auth_need(const char *url);

/* 1 when deadline_ms > 0 and more than deadline_ms have passed since start
 * (a maas_now() time), else 0. */
int maas_deadline_passed(double start, double deadline_ms);

/* 1 when addr is a loopback IPv4 or IPv6 address (127.0.0.0/8, ::1,
 * ::ffff:127.x.y.z), 0 for any other IP address, -1 when addr is not an
 * IP address at all (a Unix socket path, say). */
int maas_auth_is_loopback(const char *addr);

/* Reads one key from in (a trailing newline dropped), checks it is 1 to
 * MAAS_AUTH_KEY_MAX printable ASCII characters without blanks, and writes
 * its SHA-256 hex digest.  name is in's name for messages. */
int maas_auth_hash_stream(FILE *in, const char *name, char hex[MAAS_SHA256_HEX], struct maas_err *e);

#endif
