/* test_json.c - the JSON array and JSON lines readers. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "core/io.h"
#include "core/sha256.h"
#include "data/read.h"
#include "tap.h"

static void puts_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "wb");
	fputs(s, f);
	fclose(f);
}

static int rd1(struct maas_table *t, const char *path, enum maas_format fmt, struct maas_err *e)
{
	struct maas_read_opts o;
	maas_read_opts_init(&o);
	o.format = fmt;
	maas_table_init(t);
	memset(e, 0, sizeof *e);
	return maas_read_inputs(t, &path, 1, &o, e);
}

static const char *fails(const char *path, enum maas_format fmt)
{
	static struct maas_err e;
	struct maas_table t;
	int rc = rd1(&t, path, fmt, &e);
	maas_table_release(&t);
	if (rc != -1 || e.kind != MAAS_EDATA) {
		printf("# %s: rc %d kind %d: %s\n", path, rc, e.kind, e.msg);
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

static void test_array(void)
{
	struct maas_table t;
	struct maas_err e;
	puts_file("a.json", "\xef\xbb\xbf[\n"
			    " {\"x\": 1, \"name\": \"ann\", \"ok\": true},\n"
			    " {\"name\": \"bob\", \"x\": 2.5, \"extra\": null},\n"
			    " {\"x\": null, \"ok\": false, \"big\": 123456789012345678901234567890}\n"
			    "]\n");
	is_int(rd1(&t, "a.json", MAAS_FMT_AUTO, &e), 0, "array reads: %s", e.msg);
	is_int(t.nrows, 3, "3 records");
	is_int(t.ncols, 5, "5 keys");
	is_str(t.cols[0].name, "x", "first key first");
	is_str(t.cols[1].name, "name", "second key");
	is_str(t.cols[3].name, "extra", "keys in order of first appearance");
	is_str(cell(&t, "x", 1), "2.5", "number");
	is_str(cell(&t, "x", 2), "(missing)", "null is missing");
	is_str(cell(&t, "name", 2), "(missing)", "absent key is missing");
	is_str(cell(&t, "ok", 0), "true", "boolean");
	is_int(t.cols[2].n_json_bool, 2, "booleans counted");
	is_int(t.cols[1].n_json_str, 2, "strings counted");
	is_str(cell(&t, "big", 2), "1.23457e+29", "integer beyond 64 bits is a number");
	is_int(t.cols[3].n_missing, 3, "all-null key all missing");
	is_int(t.line[0], 1, "record 1");
	is_int(t.line[2], 3, "record 3");
	char where[64];
	maas_table_where(&t, 1, where, sizeof where);
	is_str(where, "'a.json' record 2", "where says record");
	maas_table_release(&t);

	puts_file("str.json", "[{\"zip\": \"02134\", \"n\": \"12\"}]");
	is_int(rd1(&t, "str.json", MAAS_FMT_AUTO, &e), 0, "strings read");
	is_str(cell(&t, "n", 0), "12", "numeric string as number (inference decides later)");
	is_int(t.cols[1].n_json_str, 1, "but counted as a JSON string");
	maas_table_release(&t);
}

static void test_lines(void)
{
	struct maas_table t;
	struct maas_err e;
	puts_file("l.jsonl", "{\"a\": 1, \"b\": \"x\"}\r\n\n   \n{\"b\": \"y\", \"c\": false}\n{\"a\": -2e3}");
	is_int(rd1(&t, "l.jsonl", MAAS_FMT_AUTO, &e), 0, "lines read: %s", e.msg);
	is_int(t.nrows, 3, "blank lines skipped");
	is_int(t.ncols, 3, "3 keys");
	is_int(t.line[1], 4, "line number kept");
	is_int(t.line[2], 5, "last line without newline");
	is_str(cell(&t, "a", 2), "-2000", "exponent");
	is_str(cell(&t, "a", 1), "(missing)", "missing key");
	char where[64];
	maas_table_where(&t, 1, where, sizeof where);
	is_str(where, "'l.jsonl' line 4", "where says line");
	maas_table_release(&t);

	/* .json that holds lines, and content sniffing without a suffix */
	puts_file("lines.json", "{\"a\": 1}\n{\"a\": 2}\n");
	is_int(rd1(&t, "lines.json", MAAS_FMT_AUTO, &e), 0, ".json with lines reads");
	is_int(t.nrows, 2, "read as lines");
	maas_table_release(&t);
	puts_file("noext", "  [{\"a\": 1}]");
	is_int(rd1(&t, "noext", MAAS_FMT_AUTO, &e), 0, "sniffed array reads");
	is_int(t.nrows, 1, "sniffed array");
	maas_table_release(&t);

	/* gzip */
	gzFile g = gzopen("g.ndjson.gz", "wb");
	for (int i = 0; i < 30000; i++)
		gzprintf(g, "{\"i\": %d, \"s\": \"v%d\"}\n", i, i % 5);
	gzclose(g);
	is_int(rd1(&t, "g.ndjson.gz", MAAS_FMT_AUTO, &e), 0, "gzip lines read: %s", e.msg);
	is_int(t.nrows, 30000, "gzip lines: every row");
	is_str(cell(&t, "i", 29999), "29999", "last value");
	char hex[MAAS_SHA256_HEX];
	maas_sha256_file("g.ndjson.gz", hex, &e);
	is_str(t.source_sha256[0], hex, "sha256 of the compressed bytes");
	maas_table_release(&t);
}

static void test_errors(void)
{
	puts_file("x.jsonl", "{\"a\": 1}\n{\"a\": 2}\n\n{\"a\": 3, \"tags\": [1, 2]}\n");
	is_str(fails("x.jsonl", MAAS_FMT_AUTO), "'x.jsonl' line 4: key 'tags' holds an array; only scalars are supported",
	       "nested array in lines");
	puts_file("o.json", "[{\"a\": 1}, {\"a\": {\"b\": 2}}]");
	is_str(fails("o.json", MAAS_FMT_AUTO), "'o.json' record 2: key 'a' holds an object; only scalars are supported",
	       "nested object in an array");
	puts_file("p.json", "[\n  {\"a\": 1},\n  {\"a\": 2,,}\n]");
	is_str(fails("p.json", MAAS_FMT_AUTO), "'p.json' line 3, column 11: string or '}' expected near ','",
	       "parse error with line and column");
	puts_file("p.jsonl", "{\"a\": 1}\n{\"a\" 2}\n");
	is_str(fails("p.jsonl", MAAS_FMT_AUTO), "'p.jsonl' line 2, column 6: ':' expected near '2'", "parse error in lines");
	puts_file("n.json", "[{\"a\": 1}, 5]");
	is_str(fails("n.json", MAAS_FMT_AUTO), "'n.json' record 2: a number, not an object", "element not an object");
	puts_file("n.jsonl", "{\"a\": 1}\n[1]\n");
	is_str(fails("n.jsonl", MAAS_FMT_AUTO), "'n.jsonl' line 2: an array, not an object", "line not an object");
	puts_file("e.json", "[ ]");
	is_str(fails("e.json", MAAS_FMT_AUTO), "'e.json': no data rows", "empty array");
	puts_file("e.jsonl", "\n\n");
	is_str(fails("e.jsonl", MAAS_FMT_AUTO), "'e.jsonl': no data rows", "empty lines");
	puts_file("d.jsonl", "{\"a\": 1, \"a\": 2}\n");
	const char *m = fails("d.jsonl", MAAS_FMT_AUTO);
	ok(!strncmp(m, "'d.jsonl' line 1, column", 24) && strstr(m, "duplicate object key"), "duplicate key: %s", m);
	puts_file("t.json", "[{\"a\": 1}] x");
	is_str(fails("t.json", MAAS_FMT_AUTO), "'t.json' line 1, column 12: trailing data after the array", "trailing data");
	puts_file("c.json", "[{\"a\": 1} {\"a\": 2}]");
	is_str(fails("c.json", MAAS_FMT_AUTO), "'c.json' line 1, column 11: expected ',' or ']' after record 1", "missing comma");
	puts_file("u.json", "[{\"a\": 1}");
	is_str(fails("u.json", MAAS_FMT_AUTO), "'u.json' line 1, column 10: unexpected end of file in the array",
	       "unterminated array");
	puts_file("obj.json", "{\"a\": 1}");
	is_str(fails("obj.json", MAAS_FMT_JSON), "'obj.json' line 1, column 1: expected a JSON array of objects",
	       "forced json on an object");
	puts_file("bad.jsonl", "{\"a\": \"\xff\"}\n");
	m = fails("bad.jsonl", MAAS_FMT_AUTO);
	ok(!strncmp(m, "'bad.jsonl' line 1, column", 26) && strstr(m, "unable to decode byte 0xff"), "invalid UTF-8: %s", m);
}

static void test_real(void)
{
	const char *dir = "/usr/lib/python3/dist-packages/vega_datasets/_data";
	struct maas_table t;
	struct maas_err e;
	char path[256];
	snprintf(path, sizeof path, "%s/cars.json", dir);
	if (access(path, R_OK)) {
		for (int i = 0; i < 7; i++)
			printf("ok %d # skip %s absent\n", ++tap_n, path);
		return;
	}
	is_int(rd1(&t, path, MAAS_FMT_AUTO, &e), 0, "cars.json reads");
	is_int(t.nrows, 406, "406 records");
	is_int(t.ncols, 9, "9 keys");
	is_int(t.cols[maas_table_find(&t, "Miles_per_Gallon", 16)].n_missing, 8, "8 null mpg");
	is_int(t.cols[maas_table_find(&t, "Horsepower", 10)].n_missing, 6, "6 null horsepower");
	maas_table_release(&t);
	snprintf(path, sizeof path, "%s/iris.json", dir);
	is_int(rd1(&t, path, MAAS_FMT_AUTO, &e), 0, "iris.json reads");
	is_int(t.nrows, 150, "150 records");
	maas_table_release(&t);
}

int main(void)
{
	char dir[] = "/tmp/maas-json-XXXXXX", cwd[4096];
	if (!mkdtemp(dir) || !getcwd(cwd, sizeof cwd) || chdir(dir))
		return 1;
	test_array();
	test_lines();
	test_errors();
	test_real();
	if (chdir(cwd) == 0) {
		struct maas_err e;
		maas_remove_tree(dir, &e);
	}
	return done_testing();
}
