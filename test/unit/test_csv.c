/* test_csv.c - the CSV/TSV reader: RFC 4180, detection, errors, gzip, stdin. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "core/io.h"
#include "core/mem.h"
#include "core/sha256.h"
#include "data/read_int.h"
#include "tap.h"

static void put(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(s, 1, n, f);
	fclose(f);
}

static void puts_file(const char *path, const char *s)
{
	put(path, s, strlen(s));
}

static void put_gz(const char *path, const char *s, size_t n)
{
	gzFile g = gzopen(path, "wb");
	gzwrite(g, s, (unsigned)n);
	gzclose(g);
}

/* Reads paths with the options; the table is left for the caller. */
static int rd(struct maas_table *t, const char *const *paths, size_t n, const struct maas_read_opts *o,
	      struct maas_err *e)
{
	struct maas_read_opts def;
	if (!o) {
		maas_read_opts_init(&def);
		o = &def;
	}
	maas_table_init(t);
	memset(e, 0, sizeof *e);
	return maas_read_inputs(t, paths, n, o, e);
}

static int rd1(struct maas_table *t, const char *path, const struct maas_read_opts *o, struct maas_err *e)
{
	return rd(t, &path, 1, o, e);
}

/* The message of reading one file that must fail with kind. */
static const char *fails(const char *path, const struct maas_read_opts *o, enum maas_errkind kind)
{
	static struct maas_err e;
	struct maas_table t;
	int rc = rd1(&t, path, o, &e);
	maas_table_release(&t);
	if (rc != -1 || e.kind != kind) {
		printf("# %s: rc %d kind %d (want %d): %s\n", path, rc, e.kind, kind, e.msg);
		return "(did not fail as expected)";
	}
	return e.msg;
}

static const char *cell(const struct maas_table *t, const char *col, size_t row)
{
	static char buf[64];
	long c = maas_table_find(t, col, strlen(col));
	if (c < 0)
		return "(no column)";
	if (maas_table_missing(t, (size_t)c, row))
		return "(missing)";
	if (t->cols[c].kind == MAAS_COL_NUM) {
		snprintf(buf, sizeof buf, "%g", t->cols[c].num[row]);
		return buf;
	}
	return maas_table_str(t, (size_t)c, row, NULL);
}

static void test_formats(void)
{
	is_str(maas_format_name(MAAS_FMT_TSV), "tsv", "format name");
	is_int(maas_format_parse("jsonl"), MAAS_FMT_JSONL, "format parse");
	is_int(maas_format_parse("idx"), MAAS_FMT_IDX, "format parse idx");
	is_int(maas_format_parse("xml"), -1, "unknown format");
	struct maas_read_opts o;
	maas_read_opts_init(&o);
	is_int(o.max_field, 1 << 20, "default max_field");
	is_int(o.max_columns, 100000, "default max_columns");
}

static void test_basic(void)
{
	struct maas_table t;
	struct maas_err e;
	puts_file("a.csv", "id,city,temp\n1,Paris,12.5\n2,\"New York, NY\",-3\n3,,NA\n");
	is_int(rd1(&t, "a.csv", NULL, &e), 0, "basic reads");
	is_int(t.nrows, 3, "3 rows");
	is_int(t.ncols, 3, "3 columns");
	is_str(t.cols[0].name, "id", "first name");
	is_str(cell(&t, "city", 1), "New York, NY", "embedded delimiter");
	ok(maas_table_missing(&t, 1, 2), "empty field is missing");
	is_str(cell(&t, "temp", 0), "12.5", "number");
	is_str(cell(&t, "temp", 2), "(missing)", "NA is missing");
	is_int(t.cols[2].kind, MAAS_COL_NUM, "temp numeric");
	is_int(t.line[0], 2, "row 1 on line 2");
	is_int(t.line[2], 4, "row 3 on line 4");
	is_str(t.sources[0], "a.csv", "source name");
	char hex[MAAS_SHA256_HEX];
	maas_sha256_file("a.csv", hex, &e);
	is_str(t.source_sha256[0], hex, "sha256 of the input");
	char where[64];
	maas_table_where(&t, 1, where, sizeof where);
	is_str(where, "'a.csv' line 3", "where says line");
	maas_table_release(&t);
}

static void test_rfc4180(void)
{
	struct maas_table t;
	struct maas_err e;
	/* BOM, CRLF, doubled quotes, newline inside quotes, no final newline */
	const char *s = "\xef\xbb\xbfname,note,n\r\n"
			"a,\"say \"\"hi\"\"\",1\r\n"
			"b,\"two\r\nlines\nthree\",2\r\n"
			"c, spaced ,  3 \r\n"
			"d,\"x\"y,4";
	puts_file("r.csv", s);
	is_int(rd1(&t, "r.csv", NULL, &e), 0, "rfc4180 reads");
	is_int(t.nrows, 4, "4 rows");
	is_str(t.cols[0].name, "name", "BOM skipped");
	is_str(cell(&t, "note", 0), "say \"hi\"", "doubled quotes");
	is_str(cell(&t, "note", 1), "two\r\nlines\nthree", "newlines inside quotes kept");
	is_str(cell(&t, "note", 2), " spaced ", "spaces kept in text");
	is_str(cell(&t, "n", 2), "3", "number trimmed");
	is_str(cell(&t, "note", 3), "xy", "text after closing quote kept");
	is_str(cell(&t, "n", 3), "4", "last field without newline");
	is_int(t.line[1], 3, "multi-line record starts on line 3");
	is_int(t.line[2], 6, "next record on line 6");
	is_int(t.line[3], 7, "last record on line 7");
	maas_table_release(&t);

	/* blank lines skipped, lone CR is data, quoted empty is missing, trailing delimiter */
	puts_file("b.csv", "a,b\n\n1,x\ry\n\n\"\",\"\"\n3,\n");
	is_int(rd1(&t, "b.csv", NULL, &e), 0, "blank lines read");
	is_int(t.nrows, 3, "blank lines skipped");
	is_str(cell(&t, "b", 0), "x\ry", "lone CR is data");
	ok(maas_table_missing(&t, 0, 1) && maas_table_missing(&t, 1, 1), "quoted empty is missing");
	ok(maas_table_missing(&t, 1, 2), "trailing delimiter: empty last field");
	is_int(t.line[2], 6, "line counted across blank lines");
	maas_table_release(&t);

	/* UTF-8 text */
	puts_file("u.csv", "city,v\nZ\xc3\xbcrich,1\n\xe6\x9d\xb1\xe4\xba\xac,2\n");
	is_int(rd1(&t, "u.csv", NULL, &e), 0, "utf-8 reads");
	is_str(cell(&t, "city", 0), "Z\xc3\xbcrich", "utf-8 kept");
	maas_table_release(&t);
}

static void test_delimiters(void)
{
	struct maas_table t;
	struct maas_err e;
	struct maas_read_opts o;

	is_int(maas_csv_detect_delimiter("a;b;c\n1;2;3\n", 12, 1), ';', "detect ;");
	is_int(maas_csv_detect_delimiter("a\tb\n1\t2\n", 8, 1), '\t', "detect tab");
	is_int(maas_csv_detect_delimiter("a|b\n1|2\n", 8, 1), '|', "detect |");
	is_int(maas_csv_detect_delimiter("a,b;c\n1,\"x;y;z\";3\n", 19, 1), ',', "quote-aware: ; inside quotes ignored");
	is_int(maas_csv_detect_delimiter("a;b,c\n1;2,5\n3;4,5\n", 18, 1), ',', "tie: comma first");
	is_int(maas_csv_detect_delimiter("abc\n1\n", 6, 1), ',', "single column: comma");
	is_int(maas_csv_detect_delimiter("a;b\n1;\"x\ny\"\n", 12, 1), ';', "newline inside quotes");

	puts_file("semi.txt", "x;y\n1,5;2\n");
	is_int(rd1(&t, "semi.txt", NULL, &e), 0, "sniffed semicolon file reads");
	is_int(t.ncols, 2, "two columns");
	is_str(cell(&t, "x", 0), "1,5", "decimal comma is text");
	maas_table_release(&t);

	puts_file("t.tsv", "a,b\tc\n1,2\t3\n");
	is_int(rd1(&t, "t.tsv", NULL, &e), 0, ".tsv reads");
	is_str(t.cols[0].name, "a,b", ".tsv uses tab");
	maas_table_release(&t);

	maas_read_opts_init(&o);
	o.delimiter = '|';
	puts_file("p.csv", "a|b,c\n1|2,3\n");
	is_int(rd1(&t, "p.csv", &o, &e), 0, "forced delimiter reads");
	is_str(t.cols[1].name, "b,c", "forced delimiter used");
	maas_table_release(&t);

	o.delimiter = '"';
	is_str(fails("p.csv", &o, MAAS_EUSAGE), "invalid delimiter '\"'", "quote is no delimiter");
}

static void test_header(void)
{
	struct maas_table t;
	struct maas_err e;
	struct maas_read_opts o;

	maas_read_opts_init(&o);
	o.no_header = 1;
	puts_file("nh.csv", "1,2,x\n3,4,y\n");
	is_int(rd1(&t, "nh.csv", &o, &e), 0, "no header reads");
	is_int(t.nrows, 2, "first line is data");
	is_str(t.cols[0].name, "c1", "named c1");
	is_str(t.cols[2].name, "c3", "named c3");
	is_int(t.line[0], 1, "first row on line 1");
	maas_table_release(&t);

	puts_file("nh2.csv", "1,2\n3\n");
	is_str(fails("nh2.csv", &o, MAAS_EDATA), "'nh2.csv' line 2: 1 field, expected 2 (as in the first line)",
	       "ragged without header");

	puts_file("empty-name.csv", "a,,c\n1,2,3\n");
	is_int(rd1(&t, "empty-name.csv", NULL, &e), 0, "empty header name reads");
	is_str(t.cols[1].name, "c2", "empty name becomes c2");
	maas_table_release(&t);

	puts_file("dup.csv", "a,b,a\n1,2,3\n");
	is_str(fails("dup.csv", NULL, MAAS_EDATA), "'dup.csv' line 1: duplicate column name 'a' (columns 1 and 3)",
	       "duplicate header name");
	puts_file("dup2.csv", "a,,c2\n1,2,3\n");
	is_str(fails("dup2.csv", NULL, MAAS_EDATA), "'dup2.csv' line 1: duplicate column name 'c2' (columns 2 and 3)",
	       "generated name colliding");
}

static void test_errors(void)
{
	struct maas_read_opts o;

	puts_file("x.csv", "a,b,c,d,e,f\n1,2,3,4,5,6\n1,2,3,4,5,6\n\"q\nq\",2,3,4,5,6\n1,2,3,4,5,6\n1,2,3,4,5\n");
	is_str(fails("x.csv", NULL, MAAS_EDATA), "'x.csv' line 7: 5 fields, expected 6 (as in the header)", "ragged row");

	puts_file("u.csv", "id,city\n1,Paris\n2,Lyon\xff\n");
	is_str(fails("u.csv", NULL, MAAS_EDATA), "'u.csv' line 3, column 2 ('city'): invalid UTF-8", "invalid UTF-8");
	puts_file("u2.csv", "id,city\n1,\"a\xc0\xaf\"\n");
	is_str(fails("u2.csv", NULL, MAAS_EDATA), "'u2.csv' line 2, column 2 ('city'): invalid UTF-8", "overlong UTF-8 in quotes");
	puts_file("u3.csv", "id,ci\xed\xa0\x80ty\n1,2\n");
	is_str(fails("u3.csv", NULL, MAAS_EDATA), "'u3.csv' line 1, column 2: invalid UTF-8", "surrogate in the header");
	put("nul.csv", "a,b\n1,x\0y\n", 10);
	is_str(fails("nul.csv", NULL, MAAS_EDATA), "'nul.csv' line 2, column 2 ('b'): contains a NUL byte", "NUL byte");

	puts_file("q.csv", "a,b\n1,2\n3,\"open\n4,5\n");
	is_str(fails("q.csv", NULL, MAAS_EDATA), "'q.csv' line 3, column 2 ('b'): unterminated quote at end of file",
	       "unterminated quote");

	maas_read_opts_init(&o);
	o.max_field = 4;
	puts_file("l.csv", "a,b\n1,1234\n2,12345\n");
	is_str(fails("l.csv", &o, MAAS_EDATA), "'l.csv' line 3, column 2 ('b'): field longer than 4 bytes",
	       "field over max_field");
	puts_file("l2.csv", "a,b\n1,\"1234\"\n2,\"12\"\"45\"\n");
	is_str(fails("l2.csv", &o, MAAS_EDATA), "'l2.csv' line 3, column 2 ('b'): field longer than 4 bytes",
	       "quoted field over max_field");
	maas_read_opts_init(&o);
	o.max_columns = 3;
	puts_file("w.csv", "a,b,c,d\n1,2,3,4\n");
	is_str(fails("w.csv", &o, MAAS_EDATA), "'w.csv' line 1: more than 3 fields", "too many fields");

	puts_file("e.csv", "");
	is_str(fails("e.csv", NULL, MAAS_EDATA), "'e.csv': no data rows", "empty file");
	puts_file("h.csv", "a,b,c\n\n");
	is_str(fails("h.csv", NULL, MAAS_EDATA), "'h.csv': no data rows", "header only");

	const char *m = fails("absent.csv", NULL, MAAS_ENOINPUT);
	ok(strstr(m, "cannot open 'absent.csv'") != NULL, "unopenable file: %s", m);
	mkdir("adir", 0755);
	m = fails("adir", NULL, MAAS_ENOINPUT);
	ok(strstr(m, "'adir'") != NULL, "directory: %s", m);
}

/* A CSV bigger than a block, with long quoted fields across the boundaries. */
static void test_large(void)
{
	struct maas_table t;
	struct maas_err e;
	struct maas_buf b;
	size_t rows = 0, longlen = 700000;

	maas_buf_init(&b);
	maas_buf_addstr(&b, "i,x,text\n");
	char *longtext = xmalloc(longlen + 1);
	for (size_t i = 0; i < longlen; i++)
		longtext[i] = (char)('a' + i % 26);
	longtext[longlen] = '\0';
	for (int i = 0; i < 60000; i++) {
		if (i % 20000 == 7) {
			maas_buf_addf(&b, "%d,%d.25,\"%s\"\"\n\"\n", i, i, longtext);
		} else {
			maas_buf_addf(&b, "%d,%d.25,t%d\n", i, i, i % 7);
		}
		rows++;
	}
	put("big.csv", b.data, b.len);
	put_gz("big.csv.gz", b.data, b.len);
	is_int(rd1(&t, "big.csv", NULL, &e), 0, "large file reads: %s", e.msg);
	is_int(t.nrows, rows, "every row");
	size_t len = 0;
	const char *s = maas_table_str(&t, 2, 7, &len);
	is_int(len, longlen + 2, "long field whole");
	ok(s && s[longlen] == '"' && s[longlen + 1] == '\n', "long field ends as written");
	is_int(t.line[8], 11, "line after a two-line record");
	is_int(t.line[59999], 60000 + 1 + 3, "last line counts the newlines in quotes");
	is_near(t.cols[1].num[59999], 59999.25, 0.01, "last value");
	{
		/* over 1 MiB: hashed by the reader's second thread */
		char h[MAAS_SHA256_HEX];
		maas_sha256_file("big.csv", h, &e);
		is_str(t.source_sha256[0], h, "sha256 of a large plain file (hashing thread)");
	}
	maas_table_release(&t);

	is_int(rd1(&t, "big.csv.gz", NULL, &e), 0, "gzip reads: %s", e.msg);
	is_int(t.nrows, rows, "gzip: every row");
	char hex[MAAS_SHA256_HEX];
	maas_sha256_file("big.csv.gz", hex, &e);
	is_str(t.source_sha256[0], hex, "sha256 of the compressed bytes");
	maas_table_release(&t);
	free(longtext);
	maas_buf_release(&b);
}

static void test_numbers(void)
{
	struct maas_table t;
	struct maas_err e;
	struct maas_buf b;
	enum { N = 20000 };
	static double want[N];
	maas_buf_init(&b);
	maas_buf_addstr(&b, "v\n");
	srand(7);
	for (int i = 0; i < N; i++) {
		char s[64];
		double x = (rand() - RAND_MAX / 2) * pow(10, rand() % 24 - 14) / 7.0;
		int k = rand() % 5;
		int n = k == 0 ? snprintf(s, sizeof s, "%.*g", 1 + rand() % 17, x)
		      : k == 1 ? snprintf(s, sizeof s, "%.*f", rand() % 9, x)
		      : k == 2 ? snprintf(s, sizeof s, "%.*e", rand() % 10, x)
		      : k == 3 ? snprintf(s, sizeof s, "%d", rand() % 100000 - 50000)
			       : snprintf(s, sizeof s, "%s%.3f", rand() % 2 ? "+" : " ", fabs(x));
		want[i] = strtod(s, NULL);
		maas_buf_add(&b, s, (size_t)n);
		maas_buf_addstr(&b, "\n");
	}
	put("num.csv", b.data, b.len);
	maas_buf_release(&b);
	is_int(rd1(&t, "num.csv", NULL, &e), 0, "numbers read");
	int agree = t.cols[0].kind == MAAS_COL_NUM;
	for (int i = 0; i < N && agree; i++)
		if (t.cols[0].num[i] != (float)want[i]) {
			agree = 0;
			printf("# row %d: got %.9g want %.9g\n", i, t.cols[0].num[i], (float)want[i]);
		}
	ok(agree, "20000 numbers agree with strtod as float32");
	maas_table_release(&t);
}

static void test_several(void)
{
	struct maas_table t;
	struct maas_err e;
	puts_file("d1.csv", "a,b\n1,2\n");
	puts_file("d2.csv", "b,c\n3,4\n5,6\n");
	const char *paths[] = {"d1.csv", "d2.csv"};
	is_int(rd(&t, paths, 2, NULL, &e), 0, "two files");
	is_int(t.nrows, 3, "rows appended");
	is_int(t.ncols, 3, "columns by name");
	is_str(cell(&t, "b", 2), "5", "b from the second file");
	ok(maas_table_missing(&t, 0, 1), "a missing in the second file");
	is_int(t.source[1], 1, "source index");
	is_int(t.line[2], 3, "line in the second file");
	maas_table_release(&t);

	/* progress counts the bytes of every input */
	struct maas_progress prog;
	struct maas_read_opts o;
	memset(&prog, 0, sizeof prog);
	maas_read_opts_init(&o);
	o.progress = &prog;
	is_int(rd(&t, paths, 2, &o, &e), 0, "two files with progress");
	is_int(prog.done, 8 + 12, "progress advanced by the bytes read");
	maas_table_release(&t);

	const char *twice[] = {"-", "-"};
	is_int(rd(&t, twice, 2, NULL, &e), -1, "stdin twice refused");
	is_int(e.kind, MAAS_EUSAGE, "stdin twice is a usage error");
	maas_table_release(&t);
}

/* Runs maas_read_inputs on "-" with data written into a pipe by a child. */
static int read_stdin(struct maas_table *t, const char *data, size_t n, struct maas_err *e)
{
	int p[2], saved = dup(0);
	if (pipe(p) < 0)
		return -2;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		size_t off = 0;
		while (off < n) {
			ssize_t w = write(p[1], data + off, n - off);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	dup2(p[0], 0);
	close(p[0]);
	const char *path = "-";
	int rc = rd(t, &path, 1, NULL, e);
	dup2(saved, 0);
	close(saved);
	int st;
	waitpid(pid, &st, 0);
	return rc;
}

static void test_stdin(void)
{
	struct maas_table t;
	struct maas_err e;
	struct maas_buf b;
	maas_buf_init(&b);
	maas_buf_addstr(&b, "k;v\n");
	for (int i = 0; i < 50000; i++)
		maas_buf_addf(&b, "k%d;%d\n", i % 3, i);
	is_int(read_stdin(&t, b.data, b.len, &e), 0, "stdin reads: %s", e.msg);
	is_int(t.nrows, 50000, "stdin: every row (past the sniffed block)");
	is_int(t.ncols, 2, "stdin: semicolon sniffed");
	is_str(t.sources[0], "<stdin>", "stdin display name");
	char hex[MAAS_SHA256_HEX];
	maas_sha256_hex(b.data, b.len, hex);
	is_str(t.source_sha256[0], hex, "stdin sha256");
	maas_table_release(&t);

	/* gzip on stdin */
	put_gz("s.gz", b.data, b.len);
	struct maas_buf z;
	is_int(maas_read_all("s.gz", &z, 0, &e), 0, "read gz bytes");
	is_int(read_stdin(&t, z.data, z.len, &e), 0, "gzip on stdin reads: %s", e.msg);
	is_int(t.nrows, 50000, "gzip stdin: every row");
	maas_sha256_hex(z.data, z.len, hex);
	is_str(t.source_sha256[0], hex, "gzip stdin: sha256 of the compressed bytes");
	maas_table_release(&t);

	/* a corrupt gzip stream */
	z.data[z.len / 2] ^= 0x55;
	z.data[z.len / 2 + 1] ^= 0x55;
	put("bad.csv.gz", z.data, z.len);
	const char *m = fails("bad.csv.gz", NULL, MAAS_EDATA);
	ok(!strncmp(m, "cannot read 'bad.csv.gz': corrupt gzip data: ", 45), "corrupt gzip: %s", m);
	put("cut.csv.gz", z.data, z.len / 3);
	is_str(fails("cut.csv.gz", NULL, MAAS_EDATA), "cannot read 'cut.csv.gz': corrupt gzip data: unexpected end of file",
	       "truncated gzip");
	maas_buf_release(&z);
	maas_buf_release(&b);
}

static void test_real(void)
{
	const char *path = "/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-weather.csv";
	struct maas_table t;
	struct maas_err e;
	if (access(path, R_OK)) {
		for (int i = 0; i < 4; i++)
			printf("ok %d # skip %s absent\n", ++tap_n, path);
		return;
	}
	is_int(rd1(&t, path, NULL, &e), 0, "seattle-weather.csv reads");
	is_int(t.nrows, 1461, "1461 rows");
	is_int(t.ncols, 6, "6 columns");
	is_str(cell(&t, "weather", 0), "drizzle", "first weather");
	maas_table_release(&t);
}

int main(void)
{
	char dir[] = "/tmp/maas-csv-XXXXXX", cwd[4096];
	if (!mkdtemp(dir) || !getcwd(cwd, sizeof cwd) || chdir(dir))
		return 1;
	test_formats();
	test_basic();
	test_rfc4180();
	test_delimiters();
	test_header();
	test_errors();
	test_large();
	test_numbers();
	test_several();
	test_stdin();
	test_real();
	if (chdir(cwd) == 0) {
		struct maas_err e;
		maas_remove_tree(dir, &e);
	}
	return done_testing();
}
