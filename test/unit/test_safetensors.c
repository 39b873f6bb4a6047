/* test_safetensors.c - the safetensors reader and writer: golden file, round
 * trips, every malformed case, streaming and alignment, and a cross-check
 * with an independent reader (test/tools/st_read.py).  Run from the
 * repository root. */
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/io.h"
#include "core/mem.h"
#include "data/safetensors.h"
#include "tap.h"

#define GOLDEN "test/golden/small.safetensors"
#define GOLDEN_JSON "test/golden/small.json"

static char tmpdir[] = "/tmp/maas-st-XXXXXX";

static double half_to_double(uint16_t h)
{
	int sign = h >> 15, ex = (h >> 10) & 0x1f, man = h & 0x3ff;
	double v;

	if (ex == 0)
		v = ldexp(man, -24);
	else if (ex == 31)
		v = man ? NAN : INFINITY;
	else
		v = ldexp(man + 1024, ex - 25);
	return sign ? -v : v;
}

/* Element i of a tensor as a double (integers exactly up to 2^53). */
static double elem(const struct maas_tensor *t, size_t i)
{
	const void *p = t->data;
	switch (t->dtype) {
	case MAAS_DT_BOOL: case MAAS_DT_U8: return ((const uint8_t *)p)[i];
	case MAAS_DT_I8: return ((const int8_t *)p)[i];
	case MAAS_DT_I16: return ((const int16_t *)p)[i];
	case MAAS_DT_U16: return ((const uint16_t *)p)[i];
	case MAAS_DT_F16: return half_to_double(((const uint16_t *)p)[i]);
	case MAAS_DT_BF16: {
		uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16;
		float f;
		memcpy(&f, &u, 4);
		return f;
	}
	case MAAS_DT_I32: return ((const int32_t *)p)[i];
	case MAAS_DT_U32: return ((const uint32_t *)p)[i];
	case MAAS_DT_F32: return ((const float *)p)[i];
	case MAAS_DT_F64: return ((const double *)p)[i];
	case MAAS_DT_I64: return (double)((const int64_t *)p)[i];
	case MAAS_DT_U64: return (double)((const uint64_t *)p)[i];
	default: return NAN;
	}
}

static int aligned(const struct maas_tensor *t)
{
	return (uintptr_t)t->data % maas_dtype_size(t->dtype) == 0;
}

static void test_dtypes(void)
{
	static const char *names[] = {"BOOL", "U8", "I8", "I16", "U16", "F16", "BF16",
				      "I32", "U32", "F32", "F64", "I64", "U64"};
	static const int sizes[] = {1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8};
	int good = 1;

	for (int i = 0; i < MAAS_DT_COUNT; i++) {
		enum maas_dtype dt;
		if (maas_dtype_parse(names[i], &dt) < 0 || (int)dt != i ||
		    strcmp(maas_dtype_name(dt), names[i]) || (int)maas_dtype_size(dt) != sizes[i])
			good = 0;
	}
	ok(good, "every dtype parses to itself, with its name and size");
	enum maas_dtype dt;
	is_int(maas_dtype_parse("f32", &dt), -1, "dtype names are case-sensitive");
	is_int(maas_dtype_parse("F8_E4M3", &dt), -1, "F8_E4M3 is not supported");
	is_int(maas_dtype_size(MAAS_DT_COUNT), 0, "size of an invalid dtype is 0");
	is_str(maas_dtype_name(MAAS_DT_COUNT), "?", "name of an invalid dtype");
}

/* ---- the golden file, made by test/golden/make-safetensors.py ---- */

static void test_golden(void)
{
	struct maas_st st;
	struct maas_err e;
	json_error_t jerr;
	json_t *want = json_load_file(GOLDEN_JSON, 0, &jerr);

	ok(want != NULL, "golden description loads");
	if (!want)
		return;
	if (!ok(maas_st_open(&st, GOLDEN, &e) == 0, "golden file opens")) {
		printf("# %s\n", e.msg);
		json_decref(want);
		return;
	}
	ok(st.map != NULL, "golden file is mapped, not copied");
	json_t *order = json_object_get(want, "order");
	is_int(st.n, json_array_size(order), "golden tensor count");
	for (size_t i = 0; i < st.n && i < json_array_size(order); i++)
		is_str(st.tensors[i].name, json_string_value(json_array_get(order, i)),
		       "golden tensor %zu in offset order", i);

	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(want, "tensors"), k, v) {
		const struct maas_tensor *t = maas_st_get(&st, k);
		if (!ok(t != NULL, "golden '%s' found", k))
			continue;
		is_str(maas_dtype_name(t->dtype), json_string_value(json_object_get(v, "dtype")),
		       "golden '%s' dtype", k);
		json_t *shape = json_object_get(v, "shape"), *vals = json_object_get(v, "values");
		int same = (size_t)t->ndim == json_array_size(shape);
		for (int d = 0; same && d < t->ndim; d++)
			same = t->shape[d] == json_integer_value(json_array_get(shape, (size_t)d));
		ok(same, "golden '%s' shape", k);
		is_int(t->nelem, json_array_size(vals), "golden '%s' element count", k);
		is_int(t->nbytes, t->nelem * maas_dtype_size(t->dtype), "golden '%s' nbytes", k);
		ok(aligned(t), "golden '%s' data aligned", k);
		int bad = 0;
		for (size_t i = 0; i < t->nelem && i < json_array_size(vals); i++) {
			json_t *x = json_array_get(vals, i);
			if (t->dtype == MAAS_DT_I64) {
				bad += ((const int64_t *)t->data)[i] != json_integer_value(x);
			} else if (json_is_integer(x)) {
				bad += elem(t, i) != (double)json_integer_value(x);
			} else {
				double g = elem(t, i), w = json_real_value(x);
				bad += g != w || signbit(g) != signbit(w);
			}
		}
		is_int(bad, 0, "golden '%s': every value exact", k);
	}
	json_t *meta = json_object_get(want, "metadata");
	is_int(st.nmeta, json_object_size(meta), "golden metadata count");
	json_object_foreach(meta, k, v)
		is_str(maas_st_meta(&st, k), json_string_value(v), "golden metadata '%s'", k);
	ok(maas_st_meta(&st, "absent") == NULL, "absent metadata key gives NULL");
	ok(maas_st_get(&st, "absent") == NULL, "absent tensor gives NULL");

	/* maas writes the same tensors and metadata to the same bytes */
	char *path = xasprintf("%s/golden-again.safetensors", tmpdir);
	const char **mk = xcalloc(st.nmeta, sizeof *mk), **mv = xcalloc(st.nmeta, sizeof *mv);
	for (size_t i = 0; i < st.nmeta; i++) {
		mk[i] = st.meta_keys[i];
		mv[i] = st.meta_vals[i];
	}
	is_int(maas_st_write_file(path, st.tensors, st.n, mk, mv, st.nmeta, &e), 0,
	       "golden tensors written again");
	struct maas_buf a, b;
	maas_read_all(GOLDEN, &a, 0, &e);
	maas_read_all(path, &b, 0, &e);
	ok(a.len == b.len && !memcmp(a.data, b.data, a.len),
	   "maas writes the golden file byte for byte (%zu and %zu bytes)", a.len, b.len);
	maas_buf_release(&a);
	maas_buf_release(&b);
	free(mk);
	free(mv);
	free(path);
	maas_st_close(&st);
	ok(st.tensors == NULL && st.n == 0, "close empties the struct");
	maas_st_close(&st);
	json_decref(want);
}

/* ---- round trip ---- */

static void test_roundtrip(void)
{
	struct maas_err e;
	struct maas_st st;
	uint8_t b[3] = {1, 0, 1};
	int8_t i8[4] = {-128, -1, 0, 127};
	int16_t i16[2] = {-32768, 32767};
	uint16_t u16[2] = {0, 65535};
	uint16_t bf16[3] = {0x3f80, 0xc000, 0x7f80}; /* 1, -2, inf */
	int32_t i32[2][2] = {{INT32_MIN, -7}, {7, INT32_MAX}};
	uint32_t u32[1] = {4000000000u};
	float f32s = 3.25f;
	double f64[3] = {1e300, -1e-300, 0.1};
	uint64_t u64[2] = {0, UINT64_MAX};
	struct maas_tensor t[] = {
		{"bool", MAAS_DT_BOOL, 1, {3}, 3, 3, b},
		{"i8", MAAS_DT_I8, 2, {2, 2}, 4, 4, i8},
		{"i16", MAAS_DT_I16, 1, {2}, 2, 4, i16},
		{"u16", MAAS_DT_U16, 1, {2}, 2, 4, u16},
		{"bf16", MAAS_DT_BF16, 1, {3}, 3, 6, bf16},
		{"i32", MAAS_DT_I32, 2, {2, 2}, 4, 16, i32},
		{"u32", MAAS_DT_U32, 1, {1}, 1, 4, u32},
		{"scalar", MAAS_DT_F32, 0, {0}, 1, 4, &f32s},
		{"none", MAAS_DT_F32, 3, {4, 0, 2}, 0, 0, NULL},
		{"none8", MAAS_DT_U8, 1, {0}, 0, 0, NULL},
		{"f64", MAAS_DT_F64, 1, {3}, 3, 24, f64},
		{"u64", MAAS_DT_U64, 1, {2}, 2, 16, u64},
	};
	size_t n = sizeof t / sizeof t[0];
	const char *mk[] = {"format", "empty", "prep"};
	const char *mv[] = {"maas-dataset/1", "", "{\"scale\": [1.5, 2]}\n\ttab"};
	char *path = xasprintf("%s/rt.safetensors", tmpdir);

	is_int(maas_st_write_file(path, t, n, mk, mv, 3, &e), 0, "round trip: written");
	if (!ok(maas_st_open(&st, path, &e) == 0, "round trip: read back")) {
		printf("# %s\n", e.msg);
		free(path);
		return;
	}
	is_int(st.n, n, "round trip: tensor count");
	int all = 1;
	for (size_t i = 0; i < n; i++) {
		const struct maas_tensor *g = maas_st_get(&st, t[i].name);
		if (!g || g->dtype != t[i].dtype || g->ndim != t[i].ndim || g->nelem != t[i].nelem ||
		    g->nbytes != t[i].nbytes || memcmp(g->shape, t[i].shape, sizeof(int64_t) * (size_t)g->ndim) ||
		    (g->nbytes && memcmp(g->data, t[i].data, g->nbytes)) || !aligned(g)) {
			printf("# tensor '%s' differs\n", t[i].name);
			all = 0;
		}
	}
	ok(all, "round trip: every tensor equal (dtype, shape, bytes, alignment)");
	/* the reference's layout: dtype descending, then name; read back in
	 * offset order, where a zero-size tensor comes before the tensor that
	 * starts at the same offset */
	static const char *want_order[] = {"u64", "f64", "none", "scalar", "u32", "i32", "bf16",
					   "u16", "i16", "i8", "none8", "bool"};
	int order_ok = st.n == n;
	for (size_t i = 0; order_ok && i < n; i++)
		order_ok = !strcmp(st.tensors[i].name, want_order[i]);
	ok(order_ok, "round trip: laid out by dtype, largest first, then name");
	is_int(st.nmeta, 3, "round trip: metadata count");
	is_str(maas_st_meta(&st, "prep"), mv[2], "round trip: metadata with JSON and control characters");
	is_str(maas_st_meta(&st, "empty"), "", "round trip: empty metadata value");
	is_str(st.meta_keys[0], "format", "round trip: metadata keeps its order");
	const struct maas_tensor *s = maas_st_get(&st, "scalar");
	ok(s && s->ndim == 0 && s->nelem == 1 && *(const float *)s->data == 3.25f, "round trip: 0-d tensor");
	maas_st_close(&st);

	/* the header length is a multiple of 8 */
	struct maas_buf raw;
	maas_read_all(path, &raw, 0, &e);
	uint64_t hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | (unsigned char)raw.data[i];
	is_int(hlen % 8, 0, "header padded to a multiple of 8");
	is_int(raw.data[8 + hlen - 1] == ' ' || raw.data[8 + hlen - 1] == '}', 1, "padding is spaces");

	/* stdin: "-" reads into memory */
	int saved = dup(0), fd = open(path, O_RDONLY);
	dup2(fd, 0);
	close(fd);
	int r = maas_st_open(&st, "-", &e);
	dup2(saved, 0);
	close(saved);
	if (ok(r == 0, "open '-' reads stdin")) {
		ok(st.map != NULL, "stdin redirected from a file is mapped");
		const struct maas_tensor *g = maas_st_get(&st, "f64");
		ok(g && !memcmp(g->data, f64, sizeof f64), "stdin: data equal");
		maas_st_close(&st);
	} else {
		printf("# %s\n", e.msg);
	}

	/* a pipe cannot be mapped */
	int pfd[2];
	if (pipe(pfd) == 0) {
		ok(raw.len < 65536 && write(pfd[1], raw.data, raw.len) == (ssize_t)raw.len,
		   "file fits in the pipe");
		close(pfd[1]);
		char *dev = xasprintf("/dev/fd/%d", pfd[0]);
		r = maas_st_open(&st, dev, &e);
		ok(r == 0 && st.map == NULL && maas_st_get(&st, "u64") &&
		   ((const uint64_t *)maas_st_get(&st, "u64")->data)[1] == UINT64_MAX, "pipe is read");
		if (r < 0)
			printf("# %s\n", e.msg);
		maas_st_close(&st);
		close(pfd[0]);
		free(dev);
	}

	/* an input cut short names the file */
	char *cut = xasprintf("%s/cut.safetensors", tmpdir);
	maas_write_file(cut, raw.data, raw.len - 1, &e);
	is_int(maas_st_open(&st, cut, &e), -1, "truncated file refused");
	is_int(e.kind, MAAS_EDATA, "truncated file: data error");
	ok(strstr(e.msg, cut) && strstr(e.msg, "truncated"), "truncated file: message names it (%s)", e.msg);
	free(cut);
	maas_buf_release(&raw);

	/* write_file checks nbytes against the shape */
	struct maas_tensor wrong = {"w", MAAS_DT_F32, 1, {3}, 3, 8, f64};
	is_int(maas_st_write_file(path, &wrong, 1, NULL, NULL, 0, &e), -1, "nbytes mismatch refused");
	is_int(e.kind, MAAS_EUSAGE, "nbytes mismatch: usage error");
	ok(strstr(e.msg, "'w'") != NULL, "nbytes mismatch names the tensor (%s)", e.msg);
	free(path);
}

static void test_open_errors(void)
{
	struct maas_st st;
	struct maas_err e;

	is_int(maas_st_open(&st, "/nonexistent/x.safetensors", &e), -1, "missing file refused");
	is_int(e.kind, MAAS_ENOINPUT, "missing file: no-input error");
	ok(strstr(e.msg, "cannot open '/nonexistent/x.safetensors'") != NULL, "missing file: message (%s)", e.msg);
	is_int(maas_st_open(&st, tmpdir, &e), -1, "directory refused");
	is_int(e.kind, MAAS_ENOINPUT, "directory: no-input error");
	char *empty = xasprintf("%s/empty.safetensors", tmpdir);
	maas_write_file(empty, "", 0, &e);
	is_int(maas_st_open(&st, empty, &e), -1, "empty file refused");
	ok(strstr(e.msg, "file is 0 bytes, too short") != NULL, "empty file: message (%s)", e.msg);
	free(empty);
	maas_st_close(&st);
}

/* ---- malformed inputs, in memory ---- */

/* 8-byte length + header + `data` zero bytes (hlen: the length to claim,
 * or -1 for the header's own length). */
static size_t mk(unsigned char *buf, const char *header, long long hlen, size_t data)
{
	size_t h = strlen(header);
	uint64_t n = hlen < 0 ? h : (uint64_t)hlen;

	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)(n >> (8 * i));
	memcpy(buf + 8, header, h);
	memset(buf + 8 + h, 0, data);
	return 8 + h + data;
}

static _Alignas(16) unsigned char mbuf[1 << 16];

/* Expects the buffer to be refused as malformed with `frag` in the message. */
static void refuse(const char *what, size_t n, const char *frag)
{
	struct maas_st st;
	struct maas_err e;
	int r = maas_st_open_mem(&st, mbuf, n, &e);

	if (!ok(r == -1 && e.kind == MAAS_EDATA && strstr(e.msg, frag), "refused: %s", what))
		printf("#   r=%d kind=%d msg '%s', want '%s'\n", r, e.kind, r ? e.msg : "", frag);
	else if (!ok(strncmp(e.msg, "cannot read '<memory>': ", 24) == 0, "message names the input: %s", what))
		printf("#   msg '%s'\n", e.msg);
	if (r == 0)
		maas_st_close(&st);
}

static void refuse_h(const char *header, size_t data, const char *frag)
{
	refuse(header, mk(mbuf, header, -1, data), frag);
}

static void accept_h(const char *header, size_t data, size_t want_n)
{
	struct maas_st st;
	struct maas_err e;
	int r = maas_st_open_mem(&st, mbuf, mk(mbuf, header, -1, data), &e);

	if (!ok(r == 0 && st.n == want_n, "accepted: %s", header))
		printf("#   %s\n", r ? e.msg : "wrong count");
	if (r == 0)
		maas_st_close(&st);
}

#define T(name, dt, shape, offs) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" offs "}"

static void test_malformed(void)
{
	/* the length prefix */
	refuse("0 bytes", 0, "file is 0 bytes, too short for the 8-byte header length");
	refuse("7 bytes", 7, "file is 7 bytes, too short");
	refuse("header over the cap", mk(mbuf, "{}", 100000001LL, 0),
	       "header length 100000001 exceeds the limit of 100000000 bytes");
	refuse("header length 2^63", mk(mbuf, "{}", 1LL << 62, 0) , "exceeds the limit");
	memset(mbuf, 0xff, 8);
	refuse("header length 2^64-1", 8, "header length 18446744073709551615 exceeds the limit");
	refuse("header past the end", mk(mbuf, "{}", 3, 0), "header length 3 goes past the end of the file (10 bytes)");
	refuse("header exactly at the cap but past the end", mk(mbuf, "{}", 100000000LL, 0), "goes past the end");

	/* the header text */
	refuse_h("{\"\xff\":1}", 0, "header is not valid UTF-8 (byte 10)");
	refuse_h("{\"\xc0\x80\":1}", 0, "not valid UTF-8");      /* overlong NUL */
	refuse_h("{\"\xed\xa0\x80\":1}", 0, "not valid UTF-8");  /* surrogate */
	refuse_h("{\"\xf4\x90\x80\x80\":1}", 0, "not valid UTF-8"); /* above U+10FFFF */
	refuse_h("{\"\xe2\x9c\":1}", 0, "not valid UTF-8");      /* cut short */
	refuse_h("", 0, "header does not start with '{'");
	refuse_h(" {}", 0, "header does not start with '{'");
	refuse_h("[]", 0, "header does not start with '{'");
	refuse_h("{", 0, "header is not valid JSON");
	refuse_h("{}x", 0, "header is not valid JSON");
	refuse_h("{\"a\":1,}", 0, "header is not valid JSON");
	refuse_h("{\"a\":\"\\u0000\"}", 0, "header is not valid JSON");
	refuse_h("{" T("a", "U8", "[1]", "[0,1]") "," T("a", "U8", "[1]", "[1,2]") "}", 2,
		 "header has the key \"a\" twice");
	refuse_h("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "header has the key \"__metadata__\" twice");
	refuse_h("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "header has the key \"k\" twice");

	/* __metadata__ */
	refuse_h("{\"__metadata__\":\"x\"}", 0, "__metadata__ is not a map of strings");
	refuse_h("{\"__metadata__\":[]}", 0, "__metadata__ is not a map of strings");
	refuse_h("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ is not a map of strings: the value of 'k'");
	refuse_h("{\"__metadata__\":{\"k\":null}}", 0, "the value of 'k' is not a string");
	refuse_h("{\"__metadata__\":{\"k\":{}}}", 0, "the value of 'k' is an object");
	accept_h("{\"__metadata__\":null}", 0, 0);
	accept_h("{\"__metadata__\":{}}", 0, 0);

	/* tensor entries */
	refuse_h("{\"t\":1}", 0, "tensor 't': entry is not an object");
	refuse_h("{\"t\":[]}", 0, "tensor 't': entry is not an object");
	refuse_h("{\"t\":{\"shape\":[],\"data_offsets\":[0,1]}}", 1, "tensor 't': no \"dtype\"");
	refuse_h("{\"t\":{\"dtype\":5,\"shape\":[],\"data_offsets\":[0,1]}}", 1, "tensor 't': dtype is not a string");
	refuse_h("{" T("t", "F8_E4M3", "[]", "[0,1]") "}", 1, "tensor 't': unknown dtype 'F8_E4M3'");
	refuse_h("{" T("t", "f32", "[]", "[0,4]") "}", 4, "unknown dtype 'f32'");
	refuse_h("{\"t\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1, "tensor 't': no \"shape\"");
	refuse_h("{" T("t", "U8", "1", "[0,1]") "}", 1, "tensor 't': shape is not an array of non-negative integers");
	refuse_h("{" T("t", "U8", "[-1]", "[0,1]") "}", 1, "shape is not an array of non-negative integers");
	refuse_h("{" T("t", "U8", "[1.0]", "[0,1]") "}", 1, "shape is not an array of non-negative integers");
	refuse_h("{" T("t", "U8", "[true]", "[0,1]") "}", 1, "shape is not an array of non-negative integers");
	refuse_h("{" T("t", "U8", "[\"1\"]", "[0,1]") "}", 1, "shape is not an array of non-negative integers");
	refuse_h("{" T("t", "U8", "[99999999999999999999]", "[0,1]") "}", 1, "header is not valid JSON");
	refuse_h("{" T("t", "U8", "[1,1,1,1,1,1,1,1,1]", "[0,1]") "}", 1,
		 "tensor 't': shape has 9 dimensions, more than the limit of 8");
	accept_h("{" T("t", "U8", "[1,1,1,1,1,1,1,1]", "[0,1]") "}", 1, 1);
	refuse_h("{\"t\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, "tensor 't': no \"data_offsets\"");
	refuse_h("{" T("t", "U8", "[1]", "[0]") "}", 1, "tensor 't': data_offsets is not a pair of non-negative integers");
	refuse_h("{" T("t", "U8", "[1]", "[0,1,2]") "}", 1, "data_offsets is not a pair");
	refuse_h("{" T("t", "U8", "[1]", "[-1,0]") "}", 1, "data_offsets is not a pair");
	refuse_h("{" T("t", "U8", "[1]", "[0,1.5]") "}", 1, "data_offsets is not a pair");
	refuse_h("{" T("t", "U8", "[1]", "{}") "}", 1, "data_offsets is not a pair");
	refuse_h("{\"\\u0001it's\":1}", 0, "tensor '\\x01it\\x27s': entry is not an object");

	/* offsets and sizes */
	refuse_h("{" T("t", "U8", "[0]", "[4,0]") "}", 0, "tensor 't': data_offsets [4, 0] end before they begin");
	refuse_h("{" T("t", "F32", "[2]", "[0,4]") "}", 4,
		 "tensor 't': data_offsets [0, 4] hold 4 bytes but F32 [2] takes 8");
	refuse_h("{" T("t", "F32", "[]", "[0,8]") "}", 8, "hold 8 bytes but F32 [] takes 4");
	refuse_h("{" T("t", "F32", "[4294967296,4294967296,16]", "[0,0]") "}", 0,
		 "tensor 't': the size of F32 [4294967296, 4294967296, 16] overflows");
	refuse_h("{" T("t", "F32", "[4611686018427387904]", "[0,0]") "}", 0, "overflows");
	refuse_h("{" T("t", "F32", "[4294967296,4294967296,0]", "[0,0]") "}", 0, "overflows");
	refuse_h("{" T("t", "U8", "[4]", "[4,8]") "}", 8,
		 "tensor 't': data_offsets [4, 8] leave a gap: the data section starts at 0");
	refuse_h("{" T("a", "U8", "[4]", "[0,4]") "," T("b", "U8", "[4]", "[5,9]") "}", 9,
		 "tensor 'b': data_offsets [5, 9] leave a gap: the previous tensor ends at 4");
	refuse_h("{" T("a", "U8", "[8]", "[0,8]") "," T("b", "U8", "[4]", "[4,8]") "}", 8,
		 "tensor 'b': data_offsets [4, 8] overlap the previous tensor, which ends at 8");
	refuse_h("{" T("a", "U8", "[4]", "[0,4]") "," T("b", "U8", "[4]", "[0,4]") "}", 4,
		 "tensor 'b': data_offsets [0, 4] overlap");
	refuse_h("{" T("t", "U8", "[4]", "[0,4]") "}", 6, "2 bytes at the end of the data section belong to no tensor");
	refuse_h("{}", 1, "1 bytes at the end of the data section belong to no tensor");
	refuse_h("{" T("t", "U8", "[4]", "[0,4]") "}", 3,
		 "file is truncated: the tensors end at byte 4 of the data section, which holds 3 bytes");
	refuse_h("{" T("t", "U8", "[0]", "[18446744073709551615,18446744073709551615]") "}", 0, "header is not valid JSON");

	/* valid layouts */
	accept_h("{}", 0, 0);
	accept_h("{}      ", 0, 0);
	accept_h("{" T("b", "U8", "[2]", "[2,4]") "," T("a", "U8", "[2]", "[0,2]") "}", 4, 2);
	accept_h("{" T("z", "F32", "[0]", "[0,0]") "," T("y", "F32", "[0,5]", "[0,0]") "," T("x", "U8", "[1]", "[0,1]") "}", 1, 3);
	accept_h("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"extra\":[1]}}", 1, 1);
	accept_h("{\"\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, 1);
	accept_h("{" T("\xe0\xa4\x85\xed\x9f\xbf\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", "U8", "[1]", "[0,1]") "}", 1, 1);

	/* long names are cut short in messages */
	char *h = xasprintf("{\"%0200d\":1}", 7);
	refuse_h(h, 0, "tensor '00000000000000000000000000000000000000000000000000000000000000000000000000000000...': "
		 "entry is not an object");
	free(h);
}

/* tensors come back in offset order, and misaligned data is realigned */
static void test_order_and_alignment(void)
{
	struct maas_st st;
	struct maas_err e;
	/* a header padded to a multiple of 8, the whole file at an odd address */
	const char *h = "{" T("b", "F32", "[2]", "[8,16]") "," T("a", "F32", "[2]", "[0,8]") "}";
	char *hp = xasprintf("%s%*s", h, (int)((8 - strlen(h) % 8) % 8), "");
	size_t n = mk(mbuf, hp, -1, 0);
	float want[4] = {1.5f, -2.0f, 3.0f, 1e-3f};

	memcpy(mbuf + n, want, sizeof want);
	n += sizeof want;
	memmove(mbuf + 1, mbuf, n);
	ok(strlen(hp) % 8 == 0 && (uintptr_t)(mbuf + 1 + 8 + strlen(hp)) % 4 != 0,
	   "test data is misaligned in memory");
	int r = maas_st_open_mem(&st, mbuf + 1, n, &e);
	if (ok(r == 0, "misaligned input opens")) {
		is_str(st.tensors[0].name, "a", "tensors sorted by offset (0)");
		is_str(st.tensors[1].name, "b", "tensors sorted by offset (1)");
		ok(aligned(&st.tensors[0]) && aligned(&st.tensors[1]), "data realigned");
		ok(st.abuf != NULL, "realigned through a copy");
		const float *a = st.tensors[0].data, *b = st.tensors[1].data;
		ok(a[0] == 1.5f && a[1] == -2.0f && b[0] == 3.0f && b[1] == 1e-3f, "realigned values");
		maas_st_close(&st);
	} else {
		printf("# %s\n", e.msg);
	}
	free(hp);
}

/* ---- the streaming writer ---- */

static int read_back(const char *path, struct maas_st *st)
{
	struct maas_err e;
	if (maas_st_open(st, path, &e) < 0) {
		printf("# %s\n", e.msg);
		return -1;
	}
	return 0;
}

static void test_writer(void)
{
	struct maas_err e;
	struct maas_out out;
	struct maas_st_writer *w = xmalloc(sizeof *w);
	struct maas_st st;
	char *path = xasprintf("%s/stream.safetensors", tmpdir);
	enum { N = 50000 };
	float *x = xmallocarray(N, sizeof *x);
	int64_t y[7];
	const char *mk1[] = {"k"}, *mv1[] = {"v"};

	for (int i = 0; i < N; i++)
		x[i] = (float)i * 0.5f - 3.0f;
	for (int i = 0; i < 7; i++)
		y[i] = (int64_t)i * 1000000007LL;
	struct maas_st_desc d[] = {
		{"y", MAAS_DT_I64, 1, {7}},
		{"x", MAAS_DT_F32, 2, {N / 10, 10}},
		{"s", MAAS_DT_F32, 0, {0}},
		{"z", MAAS_DT_U8, 2, {0, 3}},
		{"m", MAAS_DT_U8, 1, {5}},
	};
	unsigned char m[5] = {9, 8, 7, 6, 5};
	float s = -1.0f;

	/* data in uneven chunks: 1, 3, 7, ... bytes, then one large write */
	is_int(maas_out_open(&out, path, 0, &e), 0, "writer: output opened");
	is_int(maas_st_writer_begin(w, &out, d, 5, mk1, mv1, 1, &e), 0, "writer: header written");
	is_int(w->total, 56 + 4 * N + 4 + 5, "writer: data size");
	const unsigned char *yb = (const unsigned char *)y;
	size_t off = 0, step = 1;
	int r = 0;
	while (off < sizeof y) {
		size_t c = step < sizeof y - off ? step : sizeof y - off;
		r |= maas_st_writer_write(w, yb + off, c, &e);
		off += c;
		step = step * 2 + 1;
	}
	const unsigned char *xb = (const unsigned char *)x;
	r |= maas_st_writer_write(w, xb, 3, &e);
	r |= maas_st_writer_write(w, xb + 3, 100, &e);
	r |= maas_st_writer_write(w, xb + 103, 4 * N - 103 - 40000, &e);
	r |= maas_st_writer_write(w, xb + 4 * N - 40000, 40000, &e);
	r |= maas_st_writer_write(w, &s, 4, &e);
	r |= maas_st_writer_write(w, NULL, 0, &e);
	r |= maas_st_writer_write(w, m, 2, &e);
	r |= maas_st_writer_write(w, m + 2, 3, &e);
	is_int(r, 0, "writer: chunks accepted");
	is_int(maas_st_writer_end(w, &e), 0, "writer: end");
	is_int(maas_out_commit(&out, &e), 0, "writer: committed");
	if (read_back(path, &st) == 0) {
		const struct maas_tensor *tx = maas_st_get(&st, "x"), *ty = maas_st_get(&st, "y");
		ok(tx && tx->nelem == N && !memcmp(tx->data, x, 4 * (size_t)N), "writer: x read back");
		ok(ty && !memcmp(ty->data, y, sizeof y), "writer: y read back");
		ok(maas_st_get(&st, "m") && !memcmp(maas_st_get(&st, "m")->data, m, 5), "writer: m read back");
		ok(maas_st_get(&st, "z") && maas_st_get(&st, "z")->nbytes == 0, "writer: empty z read back");
		is_str(st.tensors[0].name, "y", "writer: the order given is kept (0)");
		is_str(st.tensors[1].name, "x", "writer: the order given is kept (1)");
		is_str(maas_st_meta(&st, "k"), "v", "writer: metadata");
		maas_st_close(&st);
	}

	/* writing past the end, ending early */
	struct maas_st_desc one[] = {{"a", MAAS_DT_F32, 1, {2}}};
	maas_out_open(&out, path, 0, &e);
	is_int(maas_st_writer_begin(w, &out, one, 1, NULL, NULL, 0, &e), 0, "writer: begin (one tensor)");
	is_int(maas_st_writer_write(w, x, 4, &e), 0, "writer: first half");
	is_int(maas_st_writer_write(w, x, 8, &e), -1, "writer: past the end refused");
	is_int(e.kind, MAAS_ESOFTWARE, "writer: past the end is a software error");
	ok(strstr(e.msg, "4 bytes more than the data section holds (4 of 8 bytes written)") != NULL,
	   "writer: past-the-end message (%s)", e.msg);
	is_int(maas_st_writer_end(w, &e), -1, "writer: end after a failure refused");
	maas_out_abort(&out);
	maas_out_open(&out, path, 0, &e);
	maas_st_writer_begin(w, &out, one, 1, NULL, NULL, 0, &e);
	maas_st_writer_write(w, x, 4, &e);
	is_int(maas_st_writer_end(w, &e), -1, "writer: ending early refused");
	is_int(e.kind, MAAS_ESOFTWARE, "writer: ending early is a software error");
	ok(strstr(e.msg, "4 of the 8 data bytes were written") != NULL, "writer: ending early message (%s)", e.msg);
	maas_out_abort(&out);
	ok(read_back(path, &st) == 0 && maas_st_get(&st, "x"), "aborted outputs left the old file");
	maas_st_close(&st);

	/* refused orders and names */
	struct maas_st_desc mis[] = {{"b", MAAS_DT_U8, 1, {3}}, {"f", MAAS_DT_F32, 1, {1}}};
	maas_out_open(&out, path, 0, &e);
	is_int(maas_st_writer_begin(w, &out, mis, 2, NULL, NULL, 0, &e), -1, "writer: misaligned order refused");
	is_int(e.kind, MAAS_ESOFTWARE, "writer: misaligned order is a software error");
	ok(strstr(e.msg, "tensor 'f' (F32) would start at offset 3, not a multiple of 4") != NULL,
	   "writer: misaligned message (%s)", e.msg);
	struct maas_st_desc mis2[] = {{"h", MAAS_DT_F16, 1, {1}}, {"d", MAAS_DT_F64, 1, {1}}};
	is_int(maas_st_writer_begin(w, &out, mis2, 2, NULL, NULL, 0, &e), -1, "writer: F64 after one F16 refused");
	struct maas_st_desc dup[] = {{"a", MAAS_DT_U8, 1, {1}}, {"b", MAAS_DT_U8, 1, {1}}, {"a", MAAS_DT_U8, 1, {1}}};
	is_int(maas_st_writer_begin(w, &out, dup, 3, NULL, NULL, 0, &e), -1, "writer: duplicate names refused");
	is_int(e.kind, MAAS_EUSAGE, "writer: duplicate names are a usage error");
	ok(strstr(e.msg, "tensor name 'a' is given twice") != NULL, "writer: duplicate message (%s)", e.msg);
	const char *dk[] = {"k", "k"}, *dv[] = {"1", "2"};
	is_int(maas_st_writer_begin(w, &out, one, 1, dk, dv, 2, &e), -1, "writer: duplicate metadata keys refused");
	is_int(e.kind, MAAS_EUSAGE, "writer: duplicate metadata keys are a usage error");
	struct maas_st_desc meta[] = {{"__metadata__", MAAS_DT_U8, 1, {1}}};
	is_int(maas_st_writer_begin(w, &out, meta, 1, NULL, NULL, 0, &e), -1, "writer: tensor '__metadata__' refused");
	is_int(e.kind, MAAS_EUSAGE, "writer: tensor '__metadata__' is a usage error");
	struct maas_st_desc badutf[] = {{"\xff", MAAS_DT_U8, 1, {1}}};
	is_int(maas_st_writer_begin(w, &out, badutf, 1, NULL, NULL, 0, &e), -1, "writer: non-UTF-8 name refused");
	is_int(e.kind, MAAS_EUSAGE, "writer: non-UTF-8 name is a usage error");
	const char *bk[] = {"k"}, *bv[] = {"\xc3"};
	is_int(maas_st_writer_begin(w, &out, one, 1, bk, bv, 1, &e), -1, "writer: non-UTF-8 metadata refused");
	struct maas_st_desc neg[] = {{"n", MAAS_DT_U8, 2, {2, -1}}};
	is_int(maas_st_writer_begin(w, &out, neg, 1, NULL, NULL, 0, &e), -1, "writer: negative dimension refused");
	is_int(e.kind, MAAS_EUSAGE, "writer: negative dimension is a usage error");
	struct maas_st_desc deep[] = {{"n", MAAS_DT_U8, 9, {1}}};
	is_int(maas_st_writer_begin(w, &out, deep, 1, NULL, NULL, 0, &e), -1, "writer: 9 dimensions refused");
	struct maas_st_desc huge[] = {{"n", MAAS_DT_F64, 2, {INT64_MAX, 2}}};
	is_int(maas_st_writer_begin(w, &out, huge, 1, NULL, NULL, 0, &e), -1, "writer: overflowing shape refused");
	maas_out_abort(&out);

	/* a header over the reference's limit */
	char *huge_val = xmalloc(100000001);
	memset(huge_val, 'x', 100000000);
	huge_val[100000000] = '\0';
	const char *hk[] = {"big"}, *hv[] = {huge_val};
	is_int(maas_st_writer_begin(w, &out, one, 1, hk, hv, 1, &e), -1, "writer: header over 100000000 bytes refused");
	ok(strstr(e.msg, "exceeds the limit of 100000000 bytes") != NULL, "writer: header limit message (%s)", e.msg);
	free(huge_val);
	maas_out_abort(&out);

	/* a failing output */
	struct maas_out full = {.fd = open("/dev/full", O_WRONLY), .is_stdout = 1};
	if (full.fd >= 0) {
		is_int(maas_st_writer_begin(w, &full, one, 1, NULL, NULL, 0, &e), -1, "writer: a full disk fails the header");
		is_int(e.kind, MAAS_EIO, "writer: a full disk is an I/O error");
		is_int(maas_st_writer_write(w, x, 8, &e), -1, "writer: no writes after a failure");
		close(full.fd);
	}

	/* no metadata: no "__metadata__" key; an empty file is valid */
	maas_out_open(&out, path, 0, &e);
	is_int(maas_st_writer_begin(w, &out, NULL, 0, NULL, NULL, 0, &e), 0, "writer: no tensors");
	is_int(maas_st_writer_end(w, &e), 0, "writer: end with no tensors");
	maas_out_commit(&out, &e);
	struct maas_buf raw;
	maas_read_all(path, &raw, 0, &e);
	ok(raw.len == 16 && !memcmp(raw.data, "\x08\0\0\0\0\0\0\0{}      ", 16),
	   "writer: an empty file is the reference's 16 bytes");
	maas_buf_release(&raw);

	free(x);
	free(w);
	free(path);
}

/* ---- cross-check with the independent reader ---- */

static int have_python(void)
{
	return access("/usr/bin/python3", X_OK) == 0 &&
	       system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0 &&
	       access("test/tools/st_read.py", R_OK) == 0;
}

static json_t *st_read(const char *path, int *status)
{
	char *out = xasprintf("%s/st_read.json", tmpdir);
	char *cmd = xasprintf("/usr/bin/python3 test/tools/st_read.py '%s' >'%s' 2>/dev/null", path, out);
	int st = system(cmd);
	json_t *j = NULL;

	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (*status == 0)
		j = json_load_file(out, 0, NULL);
	free(cmd);
	free(out);
	return j;
}

static void test_crosscheck(void)
{
	if (!have_python()) {
		printf("ok %d # skip /usr/bin/python3 with numpy not found\n", ++tap_n);
		return;
	}
	struct maas_err e;
	enum { BIG = 1000 };
	float *big = xmallocarray(BIG, sizeof *big);
	double sum = 0;
	for (int i = 0; i < BIG; i++) {
		big[i] = (i % 97 == 0) ? NAN : (float)(i - 300) * 0.25f;
		if (i % 97)
			sum += big[i];
	}
	int32_t small[3] = {-5, 0, 2147483647};
	uint16_t bf[2] = {0x4049, 0xff80}; /* 3.140625, -inf */
	double f64[1] = {-0.0};
	struct maas_tensor t[] = {
		{"big", MAAS_DT_F32, 2, {100, 10}, BIG, 4 * BIG, big},
		{"small", MAAS_DT_I32, 1, {3}, 3, 12, small},
		{"bf", MAAS_DT_BF16, 1, {2}, 2, 4, bf},
		{"neg0", MAAS_DT_F64, 0, {0}, 1, 8, f64},
	};
	const char *mkeys[] = {"task"}, *mvals[] = {"classification"};
	char *path = xasprintf("%s/cross.safetensors", tmpdir);
	int status;

	is_int(maas_st_write_file(path, t, 4, mkeys, mvals, 1, &e), 0, "cross-check: written");
	json_t *j = st_read(path, &status);
	if (!ok(status == 0 && j, "st_read.py reads what maas wrote (exit %d)", status)) {
		free(big);
		free(path);
		return;
	}
	json_t *ts = json_object_get(j, "tensors");
	json_t *b = json_object_get(ts, "big");
	is_str(json_string_value(json_object_get(b, "dtype")), "F32", "cross-check: big dtype");
	is_int(json_integer_value(json_array_get(json_object_get(b, "shape"), 0)), 100, "cross-check: big shape");
	is_int(json_integer_value(json_object_get(b, "nan")), 11, "cross-check: big NaN count");
	is_near(json_real_value(json_object_get(b, "sum")), sum, 1e-9, "cross-check: big sum");
	is_near(json_real_value(json_object_get(b, "min")), -74.75, 0, "cross-check: big min");
	is_near(json_real_value(json_object_get(b, "max")), 174.75, 0, "cross-check: big max");
	json_t *sv = json_object_get(json_object_get(ts, "small"), "values");
	ok(json_integer_value(json_array_get(sv, 0)) == -5 && json_integer_value(json_array_get(sv, 2)) == 2147483647,
	   "cross-check: I32 values");
	json_t *bv = json_object_get(json_object_get(ts, "bf"), "values");
	is_near(json_real_value(json_array_get(bv, 0)), 3.140625, 0, "cross-check: BF16 value");
	is_str(json_string_value(json_array_get(bv, 1)), "-inf", "cross-check: BF16 -inf");
	json_t *n0 = json_object_get(json_object_get(ts, "neg0"), "values");
	ok(json_array_size(json_object_get(json_object_get(ts, "neg0"), "shape")) == 0 &&
	   signbit(json_real_value(json_array_get(n0, 0))), "cross-check: 0-d F64 -0.0");
	is_str(json_string_value(json_object_get(json_object_get(j, "metadata"), "task")), "classification",
	       "cross-check: metadata");
	/* offsets as the independent reader sees them: aligned */
	const char *k;
	json_t *v;
	int al = 1;
	json_object_foreach(ts, k, v) {
		enum maas_dtype dt;
		maas_dtype_parse(json_string_value(json_object_get(v, "dtype")), &dt);
		al &= json_integer_value(json_array_get(json_object_get(v, "offsets"), 0)) %
		      (json_int_t)maas_dtype_size(dt) == 0;
	}
	ok(al, "cross-check: every tensor offset aligned to its dtype");
	json_decref(j);

	/* and it refuses what maas refuses */
	char *badp = xasprintf("%s/bad.safetensors", tmpdir);
	static const char *bad[] = {
		"{" T("a", "U8", "[8]", "[0,8]") "," T("b", "U8", "[4]", "[4,8]") "}",
		"{" T("t", "F32", "[2]", "[0,4]") "}",
		"{" T("t", "U8", "[4]", "[4,8]") "}",
		"{\"__metadata__\":{\"k\":1}}",
		" {}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = mk(mbuf, bad[i], -1, 8);
		struct maas_st st;
		maas_write_file(badp, mbuf, n, &e);
		int ours = maas_st_open(&st, badp, &e);
		json_t *jj = st_read(badp, &status);
		ok(ours == -1 && status == 1, "both readers refuse malformed file %zu", i);
		json_decref(jj);
	}
	free(badp);
	free(big);
	free(path);
}

static void cleanup(void)
{
	struct maas_err e;
	maas_remove_tree(tmpdir, &e);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_dtypes();
	test_golden();
	test_roundtrip();
	test_open_errors();
	test_malformed();
	test_order_and_alignment();
	test_writer();
	test_crosscheck();
	cleanup();
	return done_testing();
}
