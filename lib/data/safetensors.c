/* safetensors.c - the safetensors reader (validating, zero-copy) and streaming writer. */
#include "data/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader uses the bytes as they are"
#endif

/* ---- dtypes ---- */

static const char *const dtype_names[MAAS_DT_COUNT] = {
	"BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64",
};
static const unsigned char dtype_sizes[MAAS_DT_COUNT] = {
	1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8,
};

size_t maas_dtype_size(enum maas_dtype dt)
{
	return (unsigned)dt < MAAS_DT_COUNT ? dtype_sizes[dt] : 0;
}

const char *maas_dtype_name(enum maas_dtype dt)
{
	return (unsigned)dt < MAAS_DT_COUNT ? dtype_names[dt] : "?";
}

int maas_dtype_parse(const char *name, enum maas_dtype *dt)
{
	for (int i = 0; i < MAAS_DT_COUNT; i++)
		if (!strcmp(name, dtype_names[i])) {
			*dt = (enum maas_dtype)i;
			return 0;
		}
	return -1;
}

int maas_st_sizes(enum maas_dtype dt, int ndim, const int64_t *shape, size_t *nelem,
		  size_t *nbytes)
{
	size_t n = 1, size = maas_dtype_size(dt);

	if (!size || ndim < 0 || ndim > MAAS_ST_MAXDIM)
		return -1;
	/* in order, like the reference: [2^40, 2^40, 0] overflows before the 0 */
	for (int i = 0; i < ndim; i++)
		if (shape[i] < 0 || maas_mul_overflow(n, (size_t)shape[i], &n) < 0)
			return -1;
	if (maas_mul_overflow(n, size, nbytes) < 0)
		return -1;
	*nelem = n;
	return 0;
}

/* ---- messages ---- */

/* A name fit for a message: at most 80 characters, control characters and
 * quotes escaped.  Tensor names come from the file and may be anything. */
struct shown {
	char s[4 * 80 + 8];
};

static const char *shown(struct shown *b, const char *name)
{
	size_t o = 0, i;

	for (i = 0; name[i] && i < 80; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\')
			o += (size_t)snprintf(b->s + o, sizeof b->s - o, "\\x%02x", c);
		else
			b->s[o++] = (char)c;
	}
	if (name[i])
		o += (size_t)snprintf(b->s + o, sizeof b->s - o, "...");
	b->s[o] = '\0';
	return b->s;
}

/* "cannot read 'file': " + the formatted message, kind MAAS_EDATA */
__attribute__((format(printf, 3, 4)))
static int bad(struct maas_err *e, const char *file, const char *fmt, ...)
{
	char msg[MAAS_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return maas_err_set(e, MAAS_EDATA, "cannot read '%s': %s", file, msg);
}

static void format_shape(char *buf, size_t cap, int ndim, const int64_t *shape)
{
	size_t o = (size_t)snprintf(buf, cap, "[");
	for (int i = 0; i < ndim && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
	if (o < cap)
		snprintf(buf + o, cap - o, "]");
}

/* ---- reading ---- */

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Strict UTF-8 as Rust's str::from_utf8: no overlong forms, no surrogates,
 * nothing above U+10FFFF.  Returns the offset of the first bad byte, or n. */
static size_t utf8_check(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t len;
		unsigned lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return i;
		}
		if (n - i < len)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
		i += len;
	}
	return n;
}

/* A non-negative JSON integer into *v. */
static int json_uint(const json_t *j, uint64_t *v)
{
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

/* Where a tensor's bytes are, before they are checked. */
struct span {
	uint64_t begin, end;
};

static int parse_meta(struct maas_st *st, json_t *meta, struct maas_err *e)
{
	const char *k;
	json_t *v;

	if (json_is_null(meta))
		return 0;
	if (!json_is_object(meta))
		return bad(e, st->name, "__metadata__ is not a map of strings");
	st->meta_keys = xcalloc(json_object_size(meta) + 1, sizeof *st->meta_keys);
	st->meta_vals = xcalloc(json_object_size(meta) + 1, sizeof *st->meta_vals);
	json_object_foreach(meta, k, v) {
		struct shown sk;
		if (!json_is_string(v))
			return bad(e, st->name, "__metadata__ is not a map of strings: the value of '%s' is %s",
				   shown(&sk, k), json_is_object(v) ? "an object" : json_is_array(v) ? "an array" :
				   "not a string");
		st->meta_keys[st->nmeta] = xstrdup(k);
		st->meta_vals[st->nmeta] = xstrdup(json_string_value(v));
		st->nmeta++;
	}
	return 0;
}

static int parse_tensor(struct maas_st *st, struct maas_tensor *t, struct span *sp, json_t *v,
			struct maas_err *e)
{
	struct shown sn;
	const char *name = shown(&sn, t->name);
	json_t *dt = json_object_get(v, "dtype");
	json_t *shape = json_object_get(v, "shape");
	json_t *offs = json_object_get(v, "data_offsets");

	if (!json_is_object(v))
		return bad(e, st->name, "tensor '%s': entry is not an object", name);
	if (!dt)
		return bad(e, st->name, "tensor '%s': no \"dtype\"", name);
	if (!json_is_string(dt))
		return bad(e, st->name, "tensor '%s': dtype is not a string", name);
	if (maas_dtype_parse(json_string_value(dt), &t->dtype) < 0) {
		struct shown sd;
		return bad(e, st->name, "tensor '%s': unknown dtype '%s'", name,
			   shown(&sd, json_string_value(dt)));
	}
	if (!shape)
		return bad(e, st->name, "tensor '%s': no \"shape\"", name);
	if (!json_is_array(shape))
		return bad(e, st->name, "tensor '%s': shape is not an array of non-negative integers", name);
	if (json_array_size(shape) > MAAS_ST_MAXDIM)
		return bad(e, st->name, "tensor '%s': shape has %zu dimensions, more than the limit of %d",
			   name, json_array_size(shape), MAAS_ST_MAXDIM);
	t->ndim = (int)json_array_size(shape);
	for (int i = 0; i < t->ndim; i++) {
		uint64_t d;
		if (json_uint(json_array_get(shape, (size_t)i), &d) < 0)
			return bad(e, st->name, "tensor '%s': shape is not an array of non-negative integers",
				   name);
		t->shape[i] = (int64_t)d;
	}
	if (!offs)
		return bad(e, st->name, "tensor '%s': no \"data_offsets\"", name);
	if (!json_is_array(offs) || json_array_size(offs) != 2 ||
	    json_uint(json_array_get(offs, 0), &sp->begin) < 0 ||
	    json_uint(json_array_get(offs, 1), &sp->end) < 0)
		return bad(e, st->name, "tensor '%s': data_offsets is not a pair of non-negative integers",
			   name);
	return 0;
}

/* Sorting tensors by (begin, end, name), the reference's order with a tie
 * breaker, through an array of indexes. */
struct order {
	const struct maas_tensor *t;
	const struct span *sp;
};

static int by_offsets(const void *a, const void *b, void *arg)
{
	const struct order *o = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct span *x = &o->sp[i], *y = &o->sp[j];

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return strcmp(o->t[i].name, o->t[j].name);
}

static int by_name(const void *a, const void *b, void *arg)
{
	const struct maas_tensor *t = arg;
	return strcmp(t[*(const size_t *)a].name, t[*(const size_t *)b].name);
}

/* Checks the layout, in offset order, as the reference's validate(); on
 * success reorders st->tensors by offset and sets their data pointers. */
static int check_layout(struct maas_st *st, struct span *sp, const unsigned char *data,
			size_t datalen, struct maas_err *e)
{
	size_t n = st->n, *idx = xmallocarray(n ? n : 1, sizeof *idx);
	uint64_t start = 0;
	int misaligned = 0, r = -1;

	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	struct order o = { st->tensors, sp };
	qsort_r(idx, n, sizeof *idx, by_offsets, &o);
	for (size_t k = 0; k < n; k++) {
		struct maas_tensor *t = &st->tensors[idx[k]];
		const struct span *s = &sp[idx[k]];
		struct shown sn;
		const char *name = shown(&sn, t->name);
		char shp[MAAS_ST_MAXDIM * 24];

		if (s->end < s->begin) {
			bad(e, st->name, "tensor '%s': data_offsets [%llu, %llu] end before they begin",
			    name, (unsigned long long)s->begin, (unsigned long long)s->end);
			goto out;
		}
		if (s->begin < start) {
			bad(e, st->name, "tensor '%s': data_offsets [%llu, %llu] overlap the previous tensor, "
			    "which ends at %llu", name, (unsigned long long)s->begin,
			    (unsigned long long)s->end, (unsigned long long)start);
			goto out;
		}
		if (s->begin > start) {
			bad(e, st->name, "tensor '%s': data_offsets [%llu, %llu] leave a gap: %s at %llu",
			    name, (unsigned long long)s->begin, (unsigned long long)s->end,
			    k ? "the previous tensor ends" : "the data section starts",
			    (unsigned long long)start);
			goto out;
		}
		start = s->end;
		format_shape(shp, sizeof shp, t->ndim, t->shape);
		if (maas_st_sizes(t->dtype, t->ndim, t->shape, &t->nelem, &t->nbytes) < 0) {
			bad(e, st->name, "tensor '%s': the size of %s %s overflows", name,
			    maas_dtype_name(t->dtype), shp);
			goto out;
		}
		if (s->end - s->begin != t->nbytes) {
			bad(e, st->name, "tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but %s %s "
			    "takes %zu", name, (unsigned long long)s->begin, (unsigned long long)s->end,
			    (unsigned long long)(s->end - s->begin), maas_dtype_name(t->dtype), shp,
			    t->nbytes);
			goto out;
		}
		/* integer arithmetic: begin may still lie past the end of the input */
		if (t->nbytes && ((uintptr_t)data + s->begin) % maas_dtype_size(t->dtype))
			misaligned = 1;
	}
	if (start > datalen) {
		bad(e, st->name, "file is truncated: the tensors end at byte %llu of the data section, "
		    "which holds %zu bytes", (unsigned long long)start, datalen);
		goto out;
	}
	if (start < datalen) {
		bad(e, st->name, "%llu bytes at the end of the data section belong to no tensor",
		    (unsigned long long)(datalen - start));
		goto out;
	}
	if (misaligned) {
		st->abuf = xmalloc(datalen); /* malloc aligns for every dtype */
		memcpy(st->abuf, data, datalen);
		data = st->abuf;
	}

	struct maas_tensor *sorted = xmallocarray(n ? n : 1, sizeof *sorted);
	for (size_t k = 0; k < n; k++) {
		sorted[k] = st->tensors[idx[k]];
		sorted[k].data = data + sp[idx[k]].begin;
	}
	free(st->tensors);
	st->tensors = sorted;

	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof *idx, by_name, st->tensors);
	st->by_name = idx;
	idx = NULL;
	r = 0;
out:
	free(idx);
	return r;
}

static int parse(struct maas_st *st, const unsigned char *p, size_t size, struct maas_err *e)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *k;
	struct span *sp = NULL;
	int r = -1;

	if (size < 8)
		return bad(e, st->name, "file is %zu bytes, too short for the 8-byte header length", size);
	uint64_t hlen = le64(p);
	if (hlen > MAAS_ST_HEADER_MAX)
		return bad(e, st->name, "header length %llu exceeds the limit of %llu bytes",
			   (unsigned long long)hlen, MAAS_ST_HEADER_MAX);
	if (hlen > size - 8)
		return bad(e, st->name, "header length %llu goes past the end of the file (%zu bytes)",
			   (unsigned long long)hlen, size);
	const char *h = (const char *)p + 8;
	size_t at = utf8_check((const unsigned char *)h, hlen);
	if (at != hlen)
		return bad(e, st->name, "header is not valid UTF-8 (byte %zu)", 8 + at);
	if (hlen == 0 || h[0] != '{')
		return bad(e, st->name, "header does not start with '{'");
	root = json_loadb(h, hlen, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (json_error_code(&jerr) == json_error_duplicate_key) {
			/* jansson says: duplicate object key near '"name"' */
			const char *near = strstr(jerr.text, "near '");
			const char *end = near ? strrchr(near + 6, '\'') : NULL;
			if (near && end)
				return bad(e, st->name, "header has the key %.*s twice (byte %d)",
					   (int)(end - near - 6), near + 6, 8 + jerr.position);
			return bad(e, st->name, "header has a key twice (byte %d)", 8 + jerr.position);
		}
		return bad(e, st->name, "header is not valid JSON: %s (byte %d)", jerr.text,
			   8 + jerr.position);
	}
	if (!json_is_object(root)) {
		bad(e, st->name, "header is not a JSON object");
		goto out;
	}

	size_t cap = json_object_size(root);
	st->tensors = xcalloc(cap ? cap : 1, sizeof *st->tensors);
	sp = xcalloc(cap ? cap : 1, sizeof *sp);
	json_object_foreach(root, k, v) {
		if (!strcmp(k, "__metadata__")) {
			if (parse_meta(st, v, e) < 0)
				goto out;
			continue;
		}
		struct maas_tensor *t = &st->tensors[st->n];
		t->name = xstrdup(k);
		st->n++;
		if (parse_tensor(st, t, &sp[st->n - 1], v, e) < 0)
			goto out;
	}
	r = check_layout(st, sp, p + 8 + hlen, size - 8 - (size_t)hlen, e);
out:
	free(sp);
	json_decref(root);
	return r;
}

static int open_parse(struct maas_st *st, const void *p, size_t n, struct maas_err *e)
{
	if (parse(st, p, n, e) < 0) {
		maas_st_close(st);
		return -1;
	}
	return 0;
}

int maas_st_open_mem_named(struct maas_st *st, const void *p, size_t n, const char *name,
			   struct maas_err *e)
{
	memset(st, 0, sizeof *st);
	st->name = xstrdup(name ? name : "<memory>");
	return open_parse(st, n ? p : "", n, e);
}

int maas_st_open_mem(struct maas_st *st, const void *p, size_t n, struct maas_err *e)
{
	return maas_st_open_mem_named(st, p, n, NULL, e);
}

/* Reads all of fd into st->buf, at most MAAS_ST_READ_LIMIT bytes.  `hint`
 * is the size when known. */
static int read_fd(struct maas_st *st, int fd, size_t hint, size_t *len, struct maas_err *e)
{
	size_t cap = hint ? hint + 1 : (size_t)1 << 20, n = 0;
	char *b;

	if (hint > MAAS_ST_READ_LIMIT)
		return bad(e, st->name, "input is larger than the limit of %llu bytes "
			   "for data that cannot be mapped (stdin, pipes)", MAAS_ST_READ_LIMIT);
	b = xmalloc(cap);

	for (;;) {
		if (n == cap) {
			if (cap >= MAAS_ST_READ_LIMIT + 1) {
				free(b);
				return bad(e, st->name, "input is larger than the limit of %llu bytes "
					   "for data that cannot be mapped (stdin, pipes)", MAAS_ST_READ_LIMIT);
			}
			cap = cap * 2 > MAAS_ST_READ_LIMIT + 1 ? MAAS_ST_READ_LIMIT + 1 : cap * 2;
			b = xrealloc(b, cap);
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			maas_err_sys(e, MAAS_EIO, "cannot read '%s'", st->name);
			free(b);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > MAAS_ST_READ_LIMIT) {
		free(b);
		return bad(e, st->name, "input is larger than the limit of %llu bytes "
			   "for data that cannot be mapped (stdin, pipes)", MAAS_ST_READ_LIMIT);
	}
	st->buf = b;
	*len = n;
	return 0;
}

int maas_st_open(struct maas_st *st, const char *path, struct maas_err *e)
{
	struct stat sb;
	size_t len = 0, hint = 0;
	int fd, stdio;

	memset(st, 0, sizeof *st);
	fd = maas_open_in(path, e);
	if (fd < 0)
		return -1;
	stdio = maas_is_stdio(path);
	st->name = xstrdup(maas_display_name(path, 0));
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		if ((uint64_t)sb.st_size > SIZE_MAX) {
			if (!stdio)
				close(fd);
			bad(e, st->name, "file is too large to map");
			maas_st_close(st);
			return -1;
		}
		hint = (size_t)sb.st_size;
		if (hint >= 8) {
			void *m = mmap(NULL, hint, PROT_READ, MAP_PRIVATE, fd, 0);
			if (m != MAP_FAILED) {
				if (!stdio)
					close(fd);
				st->map = m;
				st->maplen = hint;
				return open_parse(st, m, hint, e);
			}
		}
	}
	int r = read_fd(st, fd, hint, &len, e);
	if (!stdio)
		close(fd);
	if (r < 0) {
		maas_st_close(st);
		return -1;
	}
	return open_parse(st, st->buf, len, e);
}

const struct maas_tensor *maas_st_get(const struct maas_st *st, const char *name)
{
	size_t lo = 0, hi = st->n;

	if (!st->by_name)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct maas_tensor *t = &st->tensors[st->by_name[mid]];
		int c = strcmp(name, t->name);
		if (!c)
			return t;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *maas_st_meta(const struct maas_st *st, const char *key)
{
	for (size_t i = 0; i < st->nmeta; i++)
		if (!strcmp(st->meta_keys[i], key))
			return st->meta_vals[i];
	return NULL;
}

const char *maas_st_copied(const struct maas_st *st)
{
	if (st->abuf)
		return "its data section is misaligned";
	if (st->buf)
		return "the file cannot be mapped";
	return NULL;
}

void maas_st_close(struct maas_st *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->tensors[i].name);
	free(st->tensors);
	for (size_t i = 0; i < st->nmeta; i++) {
		free(st->meta_keys[i]);
		free(st->meta_vals[i]);
	}
	free(st->meta_keys);
	free(st->meta_vals);
	if (st->map)
		munmap(st->map, st->maplen);
	free(st->buf);
	free(st->abuf);
	free(st->by_name);
	free(st->name);
	memset(st, 0, sizeof *st);
}

/* ---- writing ---- */

static const char *out_name(const struct maas_st_writer *w)
{
	return w->out && w->out->path ? maas_display_name(w->out->path, 1) : "<stdout>";
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first string given twice, or NULL. */
static const char *find_duplicate(const char *const *s, size_t n)
{
	const char **c = xmallocarray(n ? n : 1, sizeof *c);
	const char *dup = NULL;

	if (n)
		memcpy(c, s, n * sizeof *c);
	qsort(c, n, sizeof *c, strp_cmp);
	for (size_t i = 1; i < n && !dup; i++)
		if (!strcmp(c[i - 1], c[i]))
			dup = c[i];
	free(c);
	return dup;
}

/* The header JSON for the descriptions, or NULL with *e. */
static char *header_json(const char *file, const struct maas_st_desc *t, size_t n,
			 const char *const *mk, const char *const *mv, size_t nmeta,
			 struct maas_err *e)
{
	json_t *root = json_object();
	uint64_t off = 0;
	char *s = NULL;

	if (nmeta) {
		json_t *m = json_object();
		json_object_set_new(root, "__metadata__", m);
		for (size_t i = 0; i < nmeta; i++) {
			struct shown sk;
			json_t *v = json_string(mv[i]);
			if (!v) {
				maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': the metadata value of '%s' "
					     "is not valid UTF-8", file, shown(&sk, mk[i]));
				goto out;
			}
			if (json_object_set_new(m, mk[i], v) < 0) {
				maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': metadata key '%s' is not "
					     "valid UTF-8", file, shown(&sk, mk[i]));
				goto out;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		size_t nelem, nbytes, size = maas_dtype_size(t[i].dtype);
		json_t *o = json_object(), *shape = json_array();
		struct shown sn;
		const char *name = shown(&sn, t[i].name);

		if (json_object_set_new(root, t[i].name, o) < 0) { /* o is freed on failure */
			json_decref(shape);
			maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': tensor name '%s' is not valid UTF-8",
				     file, name);
			goto out;
		}
		json_object_set_new(o, "dtype", json_string(maas_dtype_name(t[i].dtype)));
		json_object_set_new(o, "shape", shape);
		if (maas_st_sizes(t[i].dtype, t[i].ndim, t[i].shape, &nelem, &nbytes) < 0 ||
		    nbytes > (uint64_t)INT64_MAX - off) {
			maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': tensor '%s': bad %s shape "
				     "(%d dimensions, negative or too large)", file, name,
				     maas_dtype_name(t[i].dtype), t[i].ndim);
			goto out;
		}
		if (off % size) {
			maas_err_set(e, MAAS_ESOFTWARE, "cannot write '%s': tensor '%s' (%s) would start "
				     "at offset %llu, not a multiple of %zu; order tensors by dtype size, "
				     "largest first", file, name, maas_dtype_name(t[i].dtype),
				     (unsigned long long)off, size);
			goto out;
		}
		for (int d = 0; d < t[i].ndim; d++)
			json_array_append_new(shape, json_integer(t[i].shape[d]));
		json_t *offs = json_array();
		json_array_append_new(offs, json_integer((json_int_t)off));
		json_array_append_new(offs, json_integer((json_int_t)(off + nbytes)));
		json_object_set_new(o, "data_offsets", offs);
		off += nbytes;
	}
	s = json_dumps(root, JSON_COMPACT);
	if (!s)
		maas_err_set(e, MAAS_ESOFTWARE, "cannot write '%s': cannot encode the header", file);
out:
	json_decref(root);
	return s;
}

int maas_st_writer_begin(struct maas_st_writer *w, struct maas_out *out,
			 const struct maas_st_desc *t, size_t n,
			 const char *const *meta_keys, const char *const *meta_vals, size_t nmeta,
			 struct maas_err *e)
{
	const char *file;
	const char **names;
	const char *dup;
	struct shown sn;

	w->out = out;
	w->total = w->written = 0;
	w->failed = 1; /* until the header is out */
	w->buflen = 0;
	file = out_name(w);

	for (size_t i = 0; i < n; i++) {
		if (!t[i].name)
			return maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': tensor %zu has no name", file, i);
		if (!strcmp(t[i].name, "__metadata__"))
			return maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': a tensor cannot be called "
					    "'__metadata__'", file);
		if (!maas_dtype_size(t[i].dtype))
			return maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': tensor '%s' has no valid dtype",
					    file, shown(&sn, t[i].name));
	}
	for (size_t i = 0; i < nmeta; i++)
		if (!meta_keys[i] || !meta_vals[i])
			return maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': metadata entry %zu is NULL",
					    file, i);
	names = xmallocarray(n ? n : 1, sizeof *names);
	for (size_t i = 0; i < n; i++)
		names[i] = t[i].name;
	dup = find_duplicate(names, n);
	free(names);
	if (dup)
		return maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': tensor name '%s' is given twice",
				    file, shown(&sn, dup));
	dup = find_duplicate(meta_keys, nmeta);
	if (dup)
		return maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': metadata key '%s' is given twice",
				    file, shown(&sn, dup));

	char *json = header_json(file, t, n, meta_keys, meta_vals, nmeta, e);
	if (!json)
		return -1;
	size_t len = strlen(json), padded = (len + 7) / 8 * 8;
	if (padded > MAAS_ST_HEADER_MAX) {
		free(json);
		return maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': the header of %zu bytes exceeds "
				    "the limit of %llu bytes", file, padded, MAAS_ST_HEADER_MAX);
	}
	unsigned char lenbuf[8];
	for (int i = 0; i < 8; i++)
		lenbuf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
	int r = maas_out_write(out, lenbuf, 8, e);
	if (r == 0)
		r = maas_out_write(out, json, len, e);
	if (r == 0 && padded > len)
		r = maas_out_write(out, "       ", padded - len, e);
	free(json);
	if (r < 0)
		return -1;

	for (size_t i = 0; i < n; i++) {
		size_t nelem, nbytes;
		maas_st_sizes(t[i].dtype, t[i].ndim, t[i].shape, &nelem, &nbytes);
		w->total += nbytes;
	}
	w->failed = 0;
	return 0;
}

static int writer_flush(struct maas_st_writer *w, struct maas_err *e)
{
	if (!w->buflen)
		return 0;
	if (maas_out_write(w->out, w->buf, w->buflen, e) < 0) {
		w->failed = 1;
		return -1;
	}
	w->buflen = 0;
	return 0;
}

int maas_st_writer_write(struct maas_st_writer *w, const void *p, size_t n, struct maas_err *e)
{
	if (w->failed)
		return maas_err_set(e, MAAS_ESOFTWARE, "cannot write '%s': the writer has failed before",
				    out_name(w));
	if (n > w->total - w->written) {
		w->failed = 1;
		return maas_err_set(e, MAAS_ESOFTWARE, "cannot write '%s': %zu bytes more than the data "
				    "section holds (%llu of %llu bytes written)", out_name(w),
				    n - (size_t)(w->total - w->written), (unsigned long long)w->written,
				    (unsigned long long)w->total);
	}
	if (w->buflen + n > sizeof w->buf && writer_flush(w, e) < 0)
		return -1;
	if (n >= sizeof w->buf) {
		if (maas_out_write(w->out, p, n, e) < 0) {
			w->failed = 1;
			return -1;
		}
	} else if (n) {
		memcpy(w->buf + w->buflen, p, n);
		w->buflen += n;
	}
	w->written += n;
	return 0;
}

int maas_st_writer_end(struct maas_st_writer *w, struct maas_err *e)
{
	if (w->failed)
		return maas_err_set(e, MAAS_ESOFTWARE, "cannot write '%s': the writer has failed before",
				    out_name(w));
	if (writer_flush(w, e) < 0)
		return -1;
	if (w->written != w->total) {
		w->failed = 1;
		return maas_err_set(e, MAAS_ESOFTWARE, "cannot write '%s': %llu of the %llu data bytes "
				    "were written", out_name(w), (unsigned long long)w->written,
				    (unsigned long long)w->total);
	}
	return 0;
}

/* Reference order: dtype descending (alignment), then name. */
static int by_dtype_name(const void *a, const void *b, void *arg)
{
	const struct maas_tensor *t = arg;
	const struct maas_tensor *x = &t[*(const size_t *)a], *y = &t[*(const size_t *)b];

	if (x->dtype != y->dtype)
		return x->dtype > y->dtype ? -1 : 1;
	return strcmp(x->name, y->name);
}

int maas_st_write_file(const char *path, const struct maas_tensor *t, size_t n,
		       const char *const *meta_keys, const char *const *meta_vals, size_t nmeta,
		       struct maas_err *e)
{
	const char *file = maas_display_name(path, 1);
	struct maas_st_desc *d;
	struct maas_st_writer *w;
	struct maas_out out;
	size_t *idx;
	int r = -1;

	for (size_t i = 0; i < n; i++) {
		size_t nelem, nbytes;
		struct shown sn;
		if (!t[i].name)
			return maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': tensor %zu has no name", file, i);
		if (maas_st_sizes(t[i].dtype, t[i].ndim, t[i].shape, &nelem, &nbytes) < 0)
			return maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': tensor '%s': bad dtype or shape",
					    file, shown(&sn, t[i].name));
		if (nbytes != t[i].nbytes || (nbytes && !t[i].data))
			return maas_err_set(e, MAAS_EUSAGE, "cannot write '%s': tensor '%s': has %zu bytes "
					    "of data, but %s of its shape takes %zu", file,
					    shown(&sn, t[i].name), t[i].data ? t[i].nbytes : 0,
					    maas_dtype_name(t[i].dtype), nbytes);
	}
	idx = xmallocarray(n ? n : 1, sizeof *idx);
	d = xcalloc(n ? n : 1, sizeof *d);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof *idx, by_dtype_name, (void *)t);
	for (size_t k = 0; k < n; k++) {
		const struct maas_tensor *s = &t[idx[k]];
		d[k].name = s->name;
		d[k].dtype = s->dtype;
		d[k].ndim = s->ndim;
		memcpy(d[k].shape, s->shape, sizeof d[k].shape);
	}
	w = xmalloc(sizeof *w);
	if (maas_out_open(&out, path, 1, e) < 0)
		goto done;
	if (maas_st_writer_begin(w, &out, d, n, meta_keys, meta_vals, nmeta, e) < 0)
		goto fail;
	for (size_t k = 0; k < n; k++)
		if (maas_st_writer_write(w, t[idx[k]].data, t[idx[k]].nbytes, e) < 0)
			goto fail;
	if (maas_st_writer_end(w, e) < 0)
		goto fail;
	r = maas_out_commit(&out, e);
	goto done;
fail:
	maas_out_abort(&out);
done:
	free(w);
	free(d);
	free(idx);
	return r;
}
