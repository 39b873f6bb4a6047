/*
 * read.c - opening inputs (hashing, gzip), detecting formats, dispatch (see read.h).
 *
 * The digest of a regular file (not stdin) of HASH_THREAD_MIN bytes or
 * more is computed by a thread of its own, which reads the file a second
 * time with pread (from the page cache the reader fills) while the reader
 * parses: hashing then costs the reader nothing on a machine with a core
 * to spare.  The two must have read as many bytes, or the file changed
 * while it was read and that is an error.  Anything else (stdin, pipes,
 * small files) is hashed as it is read.
 */
#include "data/read_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/io.h"
#include "core/mem.h"
#include "core/sha256.h"

#define RAW_BLOCK ((size_t)1 << 18)   /* raw bytes read at a time */
#define PEEK_BYTES ((size_t)1 << 16)  /* decompressed bytes sniffed */
#define HASH_THREAD_MIN ((off_t)1 << 20) /* smaller files are hashed as they are read */
#define HASH_BLOCK ((size_t)1 << 18)  /* bytes the hasher reads at a time */

/* The thread that hashes a regular file on its own (see above). */
struct hasher {
	pthread_t thread;
	int fd;
	struct maas_sha256 *sha;
	unsigned char *buf;    /* [HASH_BLOCK] */
	uint64_t n;            /* bytes hashed */
	int err;               /* errno of a failed read, or 0 */
	atomic_int stop;       /* the input failed: the digest is not wanted */
};

struct maas_in {
	int fd;
	const char *name;
	struct maas_sha256 sha;
	struct hasher *hasher; /* NULL: hashed here, as the bytes are read */
	/* raw bytes read from fd, not yet handed on */
	unsigned char *raw;
	size_t raw_pos, raw_len;
	int raw_eof;
	uint64_t nraw;
	/* gzip */
	int gz;
	z_stream z;
	int z_ready;    /* inflateInit2 done */
	int z_member_end; /* the last member ended; more input must be another member */
	int done;       /* decompressed stream ended */
	/* decompressed bytes peeked at, handed out first */
	unsigned char *peek;
	size_t peek_pos, peek_len;
	struct maas_progress *progress;
	uint64_t progress_base;
};

const char *maas_format_name(enum maas_format f)
{
	switch (f) {
	case MAAS_FMT_AUTO: return "auto";
	case MAAS_FMT_CSV: return "csv";
	case MAAS_FMT_TSV: return "tsv";
	case MAAS_FMT_JSON: return "json";
	case MAAS_FMT_JSONL: return "jsonl";
	case MAAS_FMT_IDX: return "idx";
	}
	return "?";
}

int maas_format_parse(const char *s)
{
	for (int f = MAAS_FMT_AUTO; f <= MAAS_FMT_IDX; f++)
		if (!strcmp(s, maas_format_name((enum maas_format)f)))
			return f;
	return -1;
}

void maas_read_opts_init(struct maas_read_opts *o)
{
	memset(o, 0, sizeof *o);
	o->format = MAAS_FMT_AUTO;
	o->max_field = (size_t)1 << 20;
	o->max_columns = 100000;
}

/* ---- struct maas_in ---- */

const char *maas_in_name(const struct maas_in *in)
{
	return in->name;
}

/* ---- the hasher ---- */

static void *hasher_main(void *arg)
{
	struct hasher *h = arg;
	while (!atomic_load_explicit(&h->stop, memory_order_relaxed)) {
		ssize_t r = pread(h->fd, h->buf, HASH_BLOCK, (off_t)h->n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			h->err = errno;
			break;
		}
		if (r == 0)
			break;
		maas_sha256_update(h->sha, h->buf, (size_t)r);
		h->n += (uint64_t)r;
	}
	return NULL;
}

/* Starts the hasher for a large regular file at its start; without it (a
 * pipe, a small file, no thread) the bytes are hashed as they are read. */
static void hasher_start(struct maas_in *in)
{
	struct stat st;
	if (fstat(in->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < HASH_THREAD_MIN ||
	    lseek(in->fd, 0, SEEK_CUR) != 0)
		return;
	struct hasher *h = xcalloc(1, sizeof *h);
	h->fd = in->fd;
	h->sha = &in->sha;
	h->buf = xmalloc(HASH_BLOCK);
	atomic_init(&h->stop, 0);
	if (pthread_create(&h->thread, NULL, hasher_main, h)) {
		free(h->buf);
		free(h);
		return;
	}
	in->hasher = h;
}

/* Waits for the hasher: 0 when it hashed the bytes the reader read, else
 * -1 with *e (with e NULL, it is stopped, the digest not wanted). */
static int hasher_join(struct maas_in *in, struct maas_err *e)
{
	struct hasher *h = in->hasher;
	int rc = 0;
	if (!h)
		return 0;
	if (!e)
		atomic_store(&h->stop, 1);
	pthread_join(h->thread, NULL);
	if (e && h->err) {
		errno = h->err;
		rc = maas_err_sys(e, MAAS_EIO, "cannot read '%s'", in->name);
	} else if (e && h->n != in->nraw) {
		rc = maas_err_set(e, MAAS_EIO, "cannot read '%s': the file changed while it was read", in->name);
	}
	free(h->buf);
	free(h);
	in->hasher = NULL;
	return rc;
}

static void in_hash(struct maas_in *in, const void *p, size_t n)
{
	if (!in->hasher)
		maas_sha256_update(&in->sha, p, n);
}

/* Reads the next raw block (when the last is used up): 1, 0 at the end, -1. */
static int raw_fill(struct maas_in *in, struct maas_err *e)
{
	if (in->raw_pos < in->raw_len)
		return 1;
	if (in->raw_eof)
		return 0;
	for (;;) {
		ssize_t r = read(in->fd, in->raw, RAW_BLOCK);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return maas_err_sys(e, MAAS_EIO, "cannot read '%s'", in->name);
		}
		in->raw_pos = 0;
		in->raw_len = (size_t)r;
		if (r == 0) {
			in->raw_eof = 1;
			return 0;
		}
		in_hash(in, in->raw, (size_t)r);
		in->nraw += (uint64_t)r;
		maas_progress_update(in->progress, in->progress_base + in->nraw);
		return 1;
	}
}

static int gz_error(struct maas_in *in, const char *why, struct maas_err *e)
{
	return maas_err_set(e, MAAS_EDATA, "cannot read '%s': corrupt gzip data: %s", in->name, why);
}

static ssize_t gz_read(struct maas_in *in, void *buf, size_t n, struct maas_err *e)
{
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	in->z.next_out = buf;
	in->z.avail_out = (uInt)n;
	while (in->z.avail_out == n && !in->done) {
		int r = raw_fill(in, e);
		if (r < 0)
			return -1;
		if (in->z_member_end) {
			/* after a member: the end, or another member */
			if (r == 0) {
				in->done = 1;
				break;
			}
			if (in->raw[in->raw_pos] != 0x1f)
				return maas_err_set(e, MAAS_EDATA, "cannot read '%s': trailing garbage after the gzip data", in->name);
			inflateReset(&in->z);
			in->z_member_end = 0;
		}
		/* with no input left, inflate may still hold output */
		in->z.next_in = in->raw + in->raw_pos;
		in->z.avail_in = (uInt)(in->raw_len - in->raw_pos);
		int zr = inflate(&in->z, Z_NO_FLUSH);
		in->raw_pos = in->raw_len - in->z.avail_in;
		if (zr == Z_STREAM_END)
			in->z_member_end = 1;
		else if (zr == Z_BUF_ERROR && r == 0)
			return gz_error(in, "unexpected end of file", e);
		else if (zr == Z_NEED_DICT)
			return gz_error(in, "a preset dictionary is required", e);
		else if (zr == Z_DATA_ERROR)
			return gz_error(in, in->z.msg ? in->z.msg : "invalid data", e);
		else if (zr == Z_MEM_ERROR)
			return maas_err_set(e, MAAS_EOS, "cannot read '%s': out of memory in zlib", in->name);
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return gz_error(in, in->z.msg ? in->z.msg : "inflate failed", e);
		else if (zr == Z_OK && r == 0 && in->z.avail_out == n)
			return gz_error(in, "unexpected end of file", e);
	}
	return (ssize_t)(n - in->z.avail_out);
}

static ssize_t in_read_raw(struct maas_in *in, void *buf, size_t n, struct maas_err *e)
{
	if (in->gz)
		return gz_read(in, buf, n, e);
	if (in->raw_pos < in->raw_len) {
		size_t k = in->raw_len - in->raw_pos;
		if (k > n)
			k = n;
		memcpy(buf, in->raw + in->raw_pos, k);
		in->raw_pos += k;
		return (ssize_t)k;
	}
	if (in->raw_eof)
		return 0;
	if (n > ((size_t)1 << 30))
		n = (size_t)1 << 30;
	for (;;) {
		/* large reads go straight into the caller's buffer */
		ssize_t r = read(in->fd, buf, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return maas_err_sys(e, MAAS_EIO, "cannot read '%s'", in->name);
		}
		if (r == 0)
			in->raw_eof = 1;
		in_hash(in, buf, (size_t)r);
		in->nraw += (uint64_t)r;
		maas_progress_update(in->progress, in->progress_base + in->nraw);
		return r;
	}
}

ssize_t maas_in_read(struct maas_in *in, void *buf, size_t n, struct maas_err *e)
{
	if (!n)
		return 0;
	if (in->peek_pos < in->peek_len) {
		size_t k = in->peek_len - in->peek_pos;
		if (k > n)
			k = n;
		memcpy(buf, in->peek + in->peek_pos, k);
		in->peek_pos += k;
		return (ssize_t)k;
	}
	return in_read_raw(in, buf, n, e);
}

ssize_t maas_in_read_full(struct maas_in *in, void *buf, size_t n, struct maas_err *e)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = maas_in_read(in, (char *)buf + got, n - got, e);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int in_open(struct maas_in *in, int fd, const char *name, int may_thread, struct maas_progress *progress,
		   uint64_t progress_base, struct maas_err *e)
{
	memset(in, 0, sizeof *in);
	in->fd = fd;
	in->name = name;
	in->progress = progress;
	in->progress_base = progress_base;
	in->raw = xmalloc(RAW_BLOCK);
	maas_sha256_init(&in->sha);
	if (may_thread)
		hasher_start(in);
	/* the first two bytes tell gzip */
	while (in->raw_len < 2 && !in->raw_eof) {
		ssize_t r = read(fd, in->raw + in->raw_len, RAW_BLOCK - in->raw_len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return maas_err_sys(e, MAAS_EIO, "cannot read '%s'", name);
		}
		if (r == 0)
			in->raw_eof = 1;
		in_hash(in, in->raw + in->raw_len, (size_t)r);
		in->raw_len += (size_t)r;
		in->nraw += (uint64_t)r;
	}
	if (in->raw_len >= 2 && in->raw[0] == 0x1f && in->raw[1] == 0x8b) {
		in->gz = 1;
		if (inflateInit2(&in->z, 15 + 16) != Z_OK)
			return maas_err_set(e, MAAS_EOS, "cannot read '%s': cannot start zlib", name);
		in->z_ready = 1;
	}
	return 0;
}

/* Fills the peek buffer with up to `want` decompressed bytes; *eof when
 * that is the whole input. */
static int in_peek(struct maas_in *in, size_t want, const unsigned char **p, size_t *n, int *eof,
		   struct maas_err *e)
{
	if (!in->peek)
		in->peek = xmalloc(want);
	ssize_t r = maas_in_read_full(in, in->peek, want, e);
	if (r < 0)
		return -1;
	in->peek_pos = 0;
	in->peek_len = (size_t)r;
	*p = in->peek;
	*n = in->peek_len;
	*eof = (size_t)r < want;
	return 0;
}

/* Reads to the end (for the digest, and to check the gzip trailer). */
static int in_drain(struct maas_in *in, struct maas_err *e)
{
	char buf[1 << 14];
	for (;;) {
		ssize_t r = maas_in_read(in, buf, sizeof buf, e);
		if (r <= 0)
			return (int)r;
	}
}

static void in_close(struct maas_in *in, char hex[MAAS_SHA256_HEX])
{
	char dummy[MAAS_SHA256_HEX];
	hasher_join(in, NULL);
	maas_sha256_final(&in->sha, hex ? hex : dummy);
	if (in->z_ready)
		inflateEnd(&in->z);
	free(in->raw);
	free(in->peek);
}

/* ---- format detection ---- */

static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && !strncasecmp(s + n - k, suffix, k);
}

static enum maas_format format_from_name(const char *path)
{
	size_t n = strlen(path);
	if (ends_with(path, n, ".gz"))
		n -= 3;
	if (ends_with(path, n, ".csv"))
		return MAAS_FMT_CSV;
	if (ends_with(path, n, ".tsv") || ends_with(path, n, ".tab"))
		return MAAS_FMT_TSV;
	if (ends_with(path, n, ".json"))
		return MAAS_FMT_JSON;
	if (ends_with(path, n, ".jsonl") || ends_with(path, n, ".ndjson"))
		return MAAS_FMT_JSONL;
	if (ends_with(path, n, "-ubyte") || ends_with(path, n, ".idx"))
		return MAAS_FMT_IDX;
	return MAAS_FMT_AUTO;
}

static int looks_idx(const unsigned char *p, size_t n)
{
	return n >= 4 && p[0] == 0 && p[1] == 0 && (p[2] == 0x08 || p[2] == 0x09 || (p[2] >= 0x0b && p[2] <= 0x0e)) &&
	       p[3] >= 1 && p[3] <= 8;
}

/* the first byte that is not a BOM or white space, or 0 */
static int first_char(const unsigned char *p, size_t n)
{
	size_t i = 0;
	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return p[i];
	return 0;
}

static int read_one(struct maas_table *t, const char *path, size_t src, const struct maas_read_opts *o,
		    struct maas_idx_group *g, uint64_t *progress_done, struct maas_err *e)
{
	const char *name = maas_display_name(path, 0);
	struct maas_in in;
	char hex[MAAS_SHA256_HEX];
	int fd = maas_open_in(path, e);
	if (fd < 0)
		return -1;

	int rc = in_open(&in, fd, name, !maas_is_stdio(path), o->progress, *progress_done, e);
	enum maas_format f = o->format;
	const unsigned char *p = NULL;
	size_t np = 0;
	int eof = 0;
	if (!rc)
		rc = in_peek(&in, PEEK_BYTES, &p, &np, &eof, e);
	if (!rc && f == MAAS_FMT_AUTO) {
		f = format_from_name(path);
		int c0 = first_char(p, np);
		if (f == MAAS_FMT_AUTO) {
			if (looks_idx(p, np))
				f = MAAS_FMT_IDX;
			else if (c0 == '[')
				f = MAAS_FMT_JSON;
			else if (c0 == '{')
				f = MAAS_FMT_JSONL;
			else
				f = MAAS_FMT_CSV;
		} else if (f == MAAS_FMT_JSON && c0 == '{') {
			f = MAAS_FMT_JSONL;
		}
	}
	if (f != MAAS_FMT_IDX)
		g->open = 0;
	if (!rc) {
		switch (f) {
		case MAAS_FMT_CSV:
		case MAAS_FMT_TSV: {
			char delim = o->delimiter;
			if (!delim)
				delim = f == MAAS_FMT_TSV ? '\t' : maas_csv_detect_delimiter((const char *)p, np, eof);
			rc = maas_read_csv(t, &in, src, delim, o, e);
			break;
		}
		case MAAS_FMT_JSON:
			rc = maas_read_json(t, &in, src, o, e);
			break;
		case MAAS_FMT_JSONL:
			rc = maas_read_jsonl(t, &in, src, o, e);
			break;
		case MAAS_FMT_IDX:
		default:
			rc = maas_read_idx(t, &in, src, g, o, e);
			break;
		}
	}
	if (!rc)
		rc = in_drain(&in, e);
	if (!rc)
		rc = hasher_join(&in, e);
	*progress_done += in.nraw;
	in_close(&in, rc ? NULL : hex);
	if (!rc)
		t->source_sha256[src] = xstrdup(hex);
	if (!maas_is_stdio(path))
		close(fd);
	return rc;
}

int maas_read_inputs(struct maas_table *t, const char *const *paths, size_t n,
		     const struct maas_read_opts *o, struct maas_err *e)
{
	struct maas_read_opts def;
	struct maas_idx_group g;
	uint64_t done = 0;
	int rc = 0, stdin_used = 0;

	if (!o) {
		maas_read_opts_init(&def);
		o = &def;
	}
	if (o->delimiter == '"' || o->delimiter == '\n' || o->delimiter == '\r')
		return maas_err_set(e, MAAS_EUSAGE, "invalid delimiter '%s'",
				    o->delimiter == '"' ? "\"" : o->delimiter == '\n' ? "\\n" : "\\r");
	if (!n)
		return maas_err_set(e, MAAS_EUSAGE, "no inputs");
	if (t->nsources + n > 65535)
		return maas_err_set(e, MAAS_EUSAGE, "too many inputs (%zu; at most 65535)", t->nsources + n);
	for (size_t i = 0; i < n; i++) {
		if (maas_is_stdio(paths[i]) && stdin_used++)
			return maas_err_set(e, MAAS_EUSAGE, "stdin ('-') given more than once");
	}
	maas_idx_group_init(&g);
	for (size_t i = 0; i < n && !rc; i++) {
		size_t src = maas_table_add_source(t, maas_display_name(paths[i], 0));
		rc = read_one(t, paths[i], src, o, &g, &done, e);
	}
	maas_idx_group_release(&g);
	return rc;
}
