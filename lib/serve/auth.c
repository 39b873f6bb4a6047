/*
 * auth.c - API keys from a key file, checked in constant time, with a token
 * bucket per key; and the request deadline.  See auth.h for the format.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/io.h"
#include "core/log.h"
#include "core/mem.h"
#include "serve/auth.h"

void maas_auth_init(struct maas_auth *a)
{
	memset(a, 0, sizeof *a);
	a->now = maas_now;
}

static void drop_keys(struct maas_auth *a, size_t from)
{
	for (size_t i = from; i < a->n; i++)
		pthread_mutex_destroy(&a->keys[i].lock);
	a->n = from;
}

void maas_auth_release(struct maas_auth *a)
{
	drop_keys(a, 0);
	free(a->keys);
	a->keys = NULL;
	a->n = a->cap = 0;
}

/* ---- the key file ---- */

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Splits line (NUL-terminated, modified) into at most max fields; returns
 * how many there are (max + 1 when there are more). */
static int split_fields(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;
	for (;;) {
		while (is_blank(*p))
			p++;
		if (!*p)
			return n;
		if (n == max)
			return max + 1;
		f[n++] = p;
		while (*p && !is_blank(*p))
			p++;
		if (*p)
			*p++ = 0;
	}
}

static int valid_id(const char *s)
{
	size_t n = strlen(s);
	if (!n || n >= MAAS_AUTH_ID_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* A finite number from lo to hi, the whole field. */
static int parse_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	return end != s && !*end && !errno && isfinite(*out) && *out >= lo && *out <= hi ? 0 : -1;
}

static int parse_line(struct maas_auth *a, char *line, const char *name, size_t lineno, size_t first,
		      struct maas_err *e)
{
	char *f[5], *hash;
	struct maas_auth_key k;
	int n;

	if ((hash = strchr(line, '#')))
		*hash = 0;
	n = split_fields(line, f, 5);
	if (!n)
		return 0;
	if (n != 5)
		return maas_err_set(e, MAAS_EDATA, "cannot read '%s': line %zu: %s%d fields; write ID SCOPE RATE BURST SHA256",
				    name, lineno, n > 5 ? "more than " : "", n > 5 ? 5 : n);
	memset(&k, 0, sizeof k);
	if (!valid_id(f[0]))
		return maas_err_set(e, MAAS_EDATA,
				    "cannot read '%s': line %zu: bad key id '%.80s': 1 to %d of letters, digits, '.', '_', '-'",
				    name, lineno, f[0], MAAS_AUTH_ID_MAX - 1);
	for (size_t i = first; i < a->n; i++)
		if (!strcmp(a->keys[i].id, f[0]))
			return maas_err_set(e, MAAS_EDATA, "cannot read '%s': line %zu: key id '%s' is given twice", name,
					    lineno, f[0]);
	snprintf(k.id, sizeof k.id, "%s", f[0]);
	if (!strcmp(f[1], "admin"))
		k.admin = 1;
	else if (strcmp(f[1], "predict"))
		return maas_err_set(e, MAAS_EDATA, "cannot read '%s': line %zu: unknown scope '%.80s': predict or admin",
				    name, lineno, f[1]);
	if (parse_number(f[2], 0, 1e9, &k.rate))
		return maas_err_set(e, MAAS_EDATA,
				    "cannot read '%s': line %zu: bad rate '%.80s': requests per second from 0 (no limit)",
				    name, lineno, f[2]);
	if (parse_number(f[3], 1, 1e6, &k.burst) || k.burst != floor(k.burst))
		return maas_err_set(e, MAAS_EDATA,
				    "cannot read '%s': line %zu: bad burst '%.80s': a whole number of requests from 1 to 1000000",
				    name, lineno, f[3]);
	if (strlen(f[4]) != MAAS_SHA256_HEX - 1 || strspn(f[4], "0123456789abcdefABCDEF") != MAAS_SHA256_HEX - 1)
		return maas_err_set(e, MAAS_EDATA,
				    "cannot read '%s': line %zu: bad digest '%.80s': 64 hex digits (maas-serve --hash-key prints them)",
				    name, lineno, f[4]);
	for (int i = 0; i < MAAS_SHA256_HEX - 1; i++)
		k.sha256[i] = (char)(f[4][i] >= 'A' && f[4][i] <= 'F' ? f[4][i] - 'A' + 'a' : f[4][i]);
	for (size_t i = first; i < a->n; i++)
		if (!strcmp(a->keys[i].sha256, k.sha256))
			return maas_err_set(e, MAAS_EDATA, "cannot read '%s': line %zu: key '%s' has the digest of key '%s'",
					    name, lineno, k.id, a->keys[i].id);
	k.tokens = k.burst;
	k.last = a->now ? a->now() : maas_now();
	xgrow(&a->keys, &a->cap, a->n + 1, sizeof *a->keys);
	a->keys[a->n] = k;
	pthread_mutex_init(&a->keys[a->n].lock, NULL);
	a->n++;
	return 0;
}

int maas_auth_parse(struct maas_auth *a, const char *text, size_t len, const char *name, struct maas_err *e)
{
	size_t first = a->n, lineno = 0, i = 0;
	char line[MAAS_AUTH_LINE_MAX];

	if (len > MAAS_AUTH_FILE_MAX)
		return maas_err_set(e, MAAS_EDATA, "cannot read '%s': %zu bytes exceed the limit of %u bytes", name, len,
				    MAAS_AUTH_FILE_MAX);
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = (nl ? (size_t)(nl - text) : len) - i;
		lineno++;
		if (n >= sizeof line) {
			maas_err_set(e, MAAS_EDATA, "cannot read '%s': line %zu: longer than %d bytes", name, lineno,
				     MAAS_AUTH_LINE_MAX - 1);
			goto fail;
		}
		if (memchr(text + i, 0, n)) {
			maas_err_set(e, MAAS_EDATA, "cannot read '%s': line %zu: a NUL byte", name, lineno);
			goto fail;
		}
		memcpy(line, text + i, n);
		line[n] = 0;
		if (parse_line(a, line, name, lineno, first, e))
			goto fail;
		i += n + 1;
	}
	if (a->n == first) {
		maas_err_set(e, MAAS_EDATA, "cannot read '%s': no keys; write ID SCOPE RATE BURST SHA256 lines", name);
		goto fail;
	}
	return 0;
fail:
	drop_keys(a, first);
	return -1;
}

int maas_auth_load(struct maas_auth *a, const char *path, struct maas_err *e)
{
	struct maas_buf b;
	int rc;

	maas_buf_init(&b);
	if (maas_read_all(path, &b, MAAS_AUTH_FILE_MAX, e)) {
		maas_buf_release(&b);
		return -1;
	}
	rc = maas_auth_parse(a, b.data ? b.data : "", b.len, maas_display_name(path, 0), e);
	maas_buf_release(&b);
	return rc;
}

/* ---- checking a request ---- */

/* 1 when the 64-digit strings are equal; the time does not depend on where
 * they differ. */
static int digest_equal(const char *x, const char *y)
{
	unsigned char d = 0;
	for (int i = 0; i < MAAS_SHA256_HEX - 1; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	return d == 0;
}

/* Takes one token; returns 0, or 429 with the seconds until one is free. */
static int take_token(struct maas_auth_key *k, double now, double *retry_after)
{
	int status = 0;
	if (k->rate <= 0)
		return 0;
	pthread_mutex_lock(&k->lock);
	if (now > k->last) {
		k->tokens += (now - k->last) * k->rate;
		if (k->tokens > k->burst)
			k->tokens = k->burst;
		k->last = now;
	}
	if (k->tokens >= 1)
		k->tokens -= 1;
	else {
		status = 429;
		*retry_after = (1 - k->tokens) / k->rate;
	}
	pthread_mutex_unlock(&k->lock);
	return status;
}

int maas_auth_check(const struct maas_auth *a, const char *header, int need_admin, const char **key_id,
		    double *retry_after)
{
	char hex[MAAS_SHA256_HEX];
	struct maas_auth_key *found = NULL;
	const char *p, *end;

	*key_id = NULL;
	*retry_after = 0;
	if (!a || !a->n)
		return 0;
	if (!header)
		return 401;
	p = header;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Bearer", 6) || (p[6] != ' ' && p[6] != '\t'))
		return 401;
	for (p += 6; *p == ' ' || *p == '\t'; p++)
		;
	for (end = p + strlen(p); end > p && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	if (end == p || end - p > MAAS_AUTH_KEY_MAX)
		return 401;
	maas_sha256_hex(p, (size_t)(end - p), hex);
	/* every key is compared, so the time does not say which one matched */
	for (size_t i = 0; i < a->n; i++)
		if (digest_equal(hex, a->keys[i].sha256))
			found = &a->keys[i];
	if (!found)
		return 401;
	*key_id = found->id;
	if (need_admin && !found->admin)
		return 403;
	return take_token(found, a->now ? a->now() : maas_now(), retry_after);
}

int maas_auth_need(const char *url)
{
	if (!strcmp(url, "/") || !strcmp(url, "/metrics") || !strcmp(url, "/v2/health/live") ||
	    !strcmp(url, "/v2/health/ready"))
		return -1;
	if (!strncmp(url, "/v2/repository/", 15) || !strcmp(url, "/v2/repository"))
		return 1;
	return 0;
}

int maas_deadline_passed(double start, double deadline_ms)
{
	return deadline_ms > 0 && (maas_now() - start) * 1e3 > deadline_ms;
}

int maas_auth_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1) {
		static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
		if (!memcmp(a6.s6_addr, loop6, 16))
			return 1;
		return !memcmp(a6.s6_addr, v4mapped, 12) && a6.s6_addr[12] == 127;
	}
	return -1;
}

int maas_auth_hash_stream(FILE *in, const char *name, char hex[MAAS_SHA256_HEX], struct maas_err *e)
{
	char buf[MAAS_AUTH_KEY_MAX + 3];
	size_t n = fread(buf, 1, sizeof buf, in);

	if (ferror(in))
		return maas_err_sys(e, MAAS_EIO, "cannot read '%s'", name);
	if (n && buf[n - 1] == '\n')
		n--;
	if (n && buf[n - 1] == '\r')
		n--;
	if (n > MAAS_AUTH_KEY_MAX)
		return maas_err_set(e, MAAS_EDATA, "cannot hash the key from '%s': longer than %d bytes", name,
				    MAAS_AUTH_KEY_MAX);
	if (!n)
		return maas_err_set(e, MAAS_EDATA, "cannot hash the key from '%s': it is empty", name);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] <= ' ' || (unsigned char)buf[i] >= 0x7f)
			return maas_err_set(e, MAAS_EDATA,
					    "cannot hash the key from '%s': byte %zu is a blank, control or non-ASCII character; "
					    "a key is one line of printable ASCII",
					    name, i + 1);
	maas_sha256_hex(buf, n, hex);
	return 0;
}
