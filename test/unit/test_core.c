/* test_core.c - errors, buffers, JSON strings, atomic files, sha256, rng. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fmt.h"
#include "core/io.h"
#include "core/mem.h"
#include "core/rng.h"
#include "core/sha256.h"
#include "core/sort.h"
#include "tap.h"

static void test_errors(void)
{
	struct maas_err e;
	is_int(maas_err_set(&e, MAAS_EDATA, "bad '%s'", "x"), -1, "err_set returns -1");
	is_str(e.msg, "bad 'x'", "err_set formats");
	maas_err_prefix(&e, "reading '%s'", "f.csv");
	is_str(e.msg, "reading 'f.csv': bad 'x'", "err_prefix prepends");
	is_int(maas_exit_code(&e), 65, "data error exits 65");
	e.kind = MAAS_EUSAGE;
	is_int(maas_exit_code(&e), 64, "usage error exits 64");
	e.kind = MAAS_ECHECK;
	is_int(maas_exit_code(&e), 1, "check failure exits 1");
}

static void test_sha256(void)
{
	char hex[MAAS_SHA256_HEX];
	maas_sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 of abc");
	maas_sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of empty");
}

static void test_atomic(void)
{
	char dir[] = "/tmp/maas-test-XXXXXX";
	struct maas_err e;
	struct maas_out o;
	struct maas_buf b;
	struct stat st;

	ok(mkdtemp(dir) != NULL, "made temp dir");
	char *path = xasprintf("%s/out.bin", dir);
	is_int(maas_out_open(&o, path, 0, &e), 0, "out_open");
	is_int(maas_out_write(&o, "hello", 5, &e), 0, "out_write");
	ok(stat(path, &st) < 0, "target absent before commit");
	is_int(maas_out_commit(&o, &e), 0, "out_commit");
	is_int(maas_read_all(path, &b, 0, &e), 0, "read back");
	is_str(b.data, "hello", "content after commit");
	maas_buf_release(&b);

	is_int(maas_out_open(&o, path, 0, &e), 0, "out_open again");
	maas_out_write(&o, "partial", 7, &e);
	maas_out_abort(&o);
	is_int(maas_read_all(path, &b, 0, &e), 0, "read after abort");
	is_str(b.data, "hello", "abort leaves the old file");
	maas_buf_release(&b);
	is_int(maas_read_all(path, &b, 3, &e), -1, "read_all honours the limit");
	is_int(e.kind, MAAS_EDATA, "limit is a data error");

	char *sub = xasprintf("%s/tree", dir);
	struct maas_outdir d;
	is_int(maas_outdir_begin(&d, sub, &e), 0, "outdir_begin");
	char *f = xasprintf("%s/a", d.tmp);
	maas_write_file(f, "x", 1, &e);
	free(f);
	is_int(maas_outdir_commit(&d, 0, &e), 0, "outdir_commit");
	f = xasprintf("%s/a", sub);
	ok(stat(f, &st) == 0, "directory in place");
	free(f);
	is_int(maas_outdir_begin(&d, sub, &e), 0, "outdir_begin over existing");
	is_int(maas_outdir_commit(&d, 0, &e), -1, "refuses to replace without replace");
	/* a device is written as it is, never renamed over */
	is_int(maas_write_file("/dev/null", "x", 1, &e), 0, "write to /dev/null");
	ok(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "/dev/null is still a device");
	is_int(maas_remove_tree(dir, &e), 0, "remove_tree");
	ok(stat(dir, &st) < 0, "tree removed");
	free(sub);
	free(path);
}

static void test_rng(void)
{
	struct maas_rng a, b, c;
	maas_rng_init(&a, 42, 0);
	maas_rng_init(&b, 42, 0);
	maas_rng_init(&c, 42, 1);
	int same = 1, diff = 0;
	for (int i = 0; i < 100; i++) {
		uint64_t x = maas_rng_u64(&a), y = maas_rng_u64(&b), z = maas_rng_u64(&c);
		same &= x == y;
		diff += x != z;
	}
	ok(same, "same seed and stream repeat");
	ok(diff > 95, "streams differ");
	double sum = 0, sq = 0;
	int n = 100000, inrange = 1;
	for (int i = 0; i < n; i++) {
		double u = maas_rng_uniform(&a);
		inrange &= u >= 0 && u < 1;
		double g = maas_rng_normal(&a);
		sum += g;
		sq += g * g;
	}
	ok(inrange, "uniform in [0,1)");
	is_near(sum / n, 0.0, 0.02, "normal mean near 0");
	is_near(sq / n, 1.0, 0.02, "normal variance near 1");
	int counts[7] = {0};
	for (int i = 0; i < 70000; i++)
		counts[maas_rng_below(&a, 7)]++;
	int flat = 1;
	for (int i = 0; i < 7; i++)
		flat &= counts[i] > 9500 && counts[i] < 10500;
	ok(flat, "below(7) is uniform");
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void test_sort(void)
{
	struct maas_rng r;
	size_t sizes[] = {0, 1, 5, 63, 64, 1000, 100000};
	maas_rng_init(&r, 3, 0);
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t n = sizes[k];
		double *a = xmallocarray(n + 1, sizeof *a), *b = xmallocarray(n + 1, sizeof *b);
		for (size_t i = 0; i < n; i++) {
			double u = maas_rng_uniform(&r);
			/* negatives, zeros of both signs, huge, tiny, repeats */
			a[i] = i % 7 == 0 ? (double)(i % 3) - 1 : i % 11 == 0 ? -0.0
			     : (u - 0.5) * (i % 2 ? 1e300 : 1e-300);
			b[i] = a[i];
		}
		maas_sort_doubles(a, n);
		qsort(b, n, sizeof *b, cmp);
		int same = 1;
		for (size_t i = 0; i < n; i++)
			same &= a[i] == b[i];
		ok(same, "radix sort of %zu values agrees with qsort", n);
		free(a);
		free(b);
	}
	double z[] = {0.0, -0.0, 0.0, -0.0};
	maas_sort_doubles(z, 4);
	ok(signbit(z[0]) && signbit(z[1]) && !signbit(z[2]), "-0 sorts before +0");
}

/* maas_buf_add_json_string against jansson: what it writes always parses
 * as one JSON string; valid UTF-8 comes back unchanged, invalid bytes as
 * U+FFFD, one each. */
static void test_json_string(void)
{
	static const char *const cases[][2] = {
		{"", "\"\""},
		{"setosa", "\"setosa\""},
		{"a\"b\\c", "\"a\\\"b\\\\c\""},
		{"tab\tnl\ncr\r\x01", "\"tab\\tnl\\ncr\\r\\u0001\""},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xb8", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xb8\""},
		{"bad \xff \xc3 \xed\xa0\x80 \xc0\xaf", "\"bad \\ufffd \\ufffd \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\""},
	};
	struct maas_buf b;
	struct maas_rng rng;
	int parsed = 1, same = 1;

	maas_buf_init(&b);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		b.len = 0;
		maas_buf_add_json_string(&b, cases[i][0]);
		is_str(b.data, cases[i][1], "JSON string %zu", i);
	}
	maas_rng_init(&rng, 11, 0);
	for (int t = 0; t < 20000; t++) {
		char s[16];
		size_t n = maas_rng_below(&rng, sizeof s);
		for (size_t k = 0; k < n; k++)
			s[k] = (char)(1 + maas_rng_below(&rng, 255));
		s[n] = 0;
		b.len = 0;
		maas_buf_add_json_string(&b, s);
		json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
		parsed &= json_is_string(j);
		json_t *ref = json_string(s); /* NULL for invalid UTF-8 */
		if (ref && j)
			same &= !strcmp(json_string_value(j), s);
		json_decref(ref);
		json_decref(j);
	}
	ok(parsed, "random bytes always give a string jansson parses");

	/* maas_buf_addf: short pieces in the room there is, long ones grown */
	char want[8192] = "", piece[600];
	b.len = 0;
	for (int i = 0; i < 40; i++) {
		int n = i % 5 == 4 ? 500 : i % 7;
		memset(piece, 'a' + i % 26, (size_t)n);
		piece[n] = 0;
		maas_buf_addf(&b, "%d:%s;", i, piece);
		snprintf(want + strlen(want), sizeof want - strlen(want), "%d:%s;", i, piece);
	}
	ok(b.len == strlen(want) && !strcmp(b.data, want), "maas_buf_addf appends what snprintf writes (%zu bytes)", b.len);
	ok(same, "valid UTF-8 comes back unchanged");
	maas_buf_release(&b);
}

/* maas_fmt_g9 against printf: edge values, every float of a stride over
 * all bit patterns, and random doubles over the fast path's range. */
static void test_fmt_g9(void)
{
	static const double edge[] = {
		0.0, -0.0, 1.0, -1.0, 0.5, 1e-14, 9.9999999e-15, 1e31, 9.99999999e30, 1e-5, 1e-4, 9.9999999995e-5,
		123456789.0, 999999999.0, 999999999.5, 999999998.5, 1e9, 0.1, 0.3, 2.5e-7, 1.0 / 3.0, 2.0 / 3.0,
		0.000123456785, 12345.6785, 3.4028234663852886e38, 1.17549435e-38, 1.4e-45, INFINITY, -INFINITY, NAN,
	};
	char a[MAAS_FMT_G9_MAX], b[64];
	size_t bad = 0, n = 0, la;
	uint64_t r = 88172645463325252ull;

	for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
		la = maas_fmt_g9(a, edge[i]);
		snprintf(b, sizeof b, "%.9g", edge[i]);
		ok(la == strlen(b) && !strcmp(a, b), "%%.9g of %s: '%s'", b, a);
	}
	for (uint64_t i = 12345; i < (1ull << 32); i += 4099, n++) {
		uint32_t u = (uint32_t)i;
		float f;
		memcpy(&f, &u, sizeof f);
		la = maas_fmt_g9(a, f);
		snprintf(b, sizeof b, "%.9g", (double)f);
		bad += la != strlen(b) || strcmp(a, b);
	}
	for (int i = 0; i < 1000000; i++, n++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		double d = (double)(r >> 11) / 9007199254740992.0 * pow(10, (double)(r % 48) - 16) * (r & 1 ? -1 : 1);
		la = maas_fmt_g9(a, d);
		snprintf(b, sizeof b, "%.9g", d);
		bad += la != strlen(b) || strcmp(a, b);
	}
	ok(!bad, "maas_fmt_g9 writes what printf writes for %zu floats and doubles (%zu differ)", n, bad);

	static const long long ints[] = {0, 1, -1, 9, 10, -10, 99, 100, 123456789, -2147483648LL, 9223372036854775807LL,
					 -9223372036854775807LL - 1};
	bad = 0;
	for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
		la = maas_fmt_int(a, ints[i]);
		snprintf(b, sizeof b, "%lld", ints[i]);
		bad += la != strlen(b) || strcmp(a, b);
	}
	la = maas_fmt_uint(a, 18446744073709551615ULL);
	ok(!bad && la == 20 && !strcmp(a, "18446744073709551615"), "maas_fmt_int and maas_fmt_uint write what printf writes");
	maas_copy_str(a, 4, "abcdef", 6);
	maas_copy_str(b, 8, "abcdef", 2);
	ok(!strcmp(a, "abc") && !strcmp(b, "ab"), "maas_copy_str cuts to fit and to the length given");
}

int main(void)
{
	test_fmt_g9();
	test_json_string();
	test_sort();
	test_errors();
	test_sha256();
	test_atomic();
	test_rng();
	return done_testing();
}
