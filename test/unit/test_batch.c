/*
 * test_batch.c - batch scoring (lib/serve/batch.h): JSON lines, CSV and
 * TSV in, one answer line per record out, bad records answered with an
 * error line, a stream through a pipe, windowed models.  Bundles are made
 * here with bin/maas-prep and bin/maas-train.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io.h"
#include "core/mem.h"
#include "nn/blas.h"
#include "serve/batch.h"
#include "tap.h"
#include "tools.h"


static int make_bundles(void)
{
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "(cd %s && %s/maas-prep -q -t species -o iris.st "
		 "/usr/lib/python3/dist-packages/vega_datasets/_data/iris.json && %s/maas-train -q -e 5 -o iris.maas "
		 "iris.st && %s/maas-prep -q -t temp_max --time-column date --window 14 -o sw.st "
		 "%s/examples/data/seattle-weather.csv && %s/maas-train -q -e 2 -a gru:16 -o sw.maas sw.st) >/dev/null",
		 tools_dir, tools_bin, tools_bin, tools_bin, tools_root, tools_bin);
	return system(cmd);
}

/* Scores text; returns the output (caller frees) and the return code in *rc. */
static char *score(const struct maas_served *m, const char *text, enum maas_batch_format fmt, size_t batch, int *rc,
		   struct maas_err *e)
{
	char *in = xasprintf("%s/in", tools_dir);
	maas_write_file(in, text, strlen(text), e);
	int fd = open(in, O_RDONLY);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	*rc = maas_serve_batch(m, fd, out, fmt, batch, e);
	fclose(out);
	close(fd);
	free(in);
	return buf;
}

/* The n-th line (0-based) of text as JSON. */
static json_t *line_json(const char *text, int n)
{
	const char *p = text;
	for (int i = 0; i < n && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p || !*p)
		return NULL;
	const char *nl = strchr(p, '\n');
	return json_loadb(p, nl ? (size_t)(nl - p) : strlen(p), 0, NULL);
}

static int count_lines(const char *text)
{
	int n = 0;
	for (const char *p = text; p && *p; p++)
		n += *p == '\n';
	return n;
}

static void is_error_line(const char *out, int idx, long line, const char *want, const char *name)
{
	json_t *j = line_json(out, idx);
	const char *err = json_string_value(json_object_get(j, "error"));
	ok(j && json_integer_value(json_object_get(j, "line")) == line && err && !strcmp(err, want) &&
	   json_object_size(j) == 2, "%s", name);
	if (!err || strcmp(err, want))
		printf("#   got '%s'\n#  want '%s'\n", err ? err : "(none)", want);
	json_decref(j);
}

/* Equal answers, numbers to the 9 digits they are written with. */
static int same_answer(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b)) {
		double x = json_number_value(a), y = json_number_value(b);
		return fabs(x - y) <= 1e-8 * (fabs(y) > 1 ? fabs(y) : 1);
	}
	if (json_is_object(a) && json_is_object(b)) {
		const char *k;
		const json_t *v;
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, k, v)
			if (!same_answer(v, json_object_get(b, k)))
				return 0;
		return 1;
	}
	return json_equal(a, b);
}

static void is_prediction(const struct maas_served *m, const char *out, int idx, long line, const char *rec,
			  const char *name)
{
	json_t *j = line_json(out, idx), *r = json_loads(rec, 0, NULL), *recs = json_array();
	struct maas_predict_ctx c;
	struct maas_prediction p;
	struct maas_err e;
	float pr[16];

	json_array_append(recs, r);
	maas_predict_ctx_init(&c, m, 1);
	int rc = maas_predict_records(m, &c, recs, &p, pr, &e);
	json_t *want = rc == 0 ? maas_prediction_json(m, &p, m->classification ? pr : NULL) : NULL;
	ok(j && json_integer_value(json_object_get(j, "line")) == line && want &&
	   same_answer(json_object_get(j, "prediction"), want), "%s", name);
	json_decref(want);
	maas_predict_ctx_release(&c);
	json_decref(recs);
	json_decref(r);
	json_decref(j);
}

#define R1 "{\"sepalLength\": 5.1, \"sepalWidth\": 3.5, \"petalLength\": 1.4, \"petalWidth\": 0.2}"
#define R2 "{\"sepalLength\": 6.7, \"sepalWidth\": 3.0, \"petalLength\": 5.2, \"petalWidth\": 2.3}"
#define R3 "{\"sepalLength\": 5.9, \"sepalWidth\": 2.8, \"petalLength\": 4.1, \"petalWidth\": 1.3}"

static void test_jsonl(const struct maas_served *m)
{
	struct maas_err e;
	int rc;
	const char *in = R1 "\n"
		"\n"
		"{\"sepalLength\": 5.1,\n"
		R2 "\n"
		"{\"sepalLength\": 5.1, \"sepalWidth\": 3.5, \"petalLength\": 1.4}\n"
		"   \n"
		R3 "\r\n"
		"{\"sepalLength\": 5.1, \"sepalWidth\": 3.5, \"petalLength\": 1.4, \"petalWidth\": 0.2, \"x\": 1}\n"
		"[1, 2]\n"
		R1;   /* no final newline */
	for (size_t batch = 1; batch <= 4; batch += 3) {
		char *out = score(m, in, MAAS_BATCH_JSONL, batch, &rc, &e);
		is_int(rc, 0, "jsonl, batch %zu: scored: %s", batch, rc ? e.msg : "");
		is_int(count_lines(out), 8, "jsonl, batch %zu: one line per record, none for blank lines", batch);
		is_prediction(m, out, 0, 1, R1, "jsonl: line 1 predicted");
		{
			json_t *j = line_json(out, 1);
			const char *err = json_string_value(json_object_get(j, "error"));
			ok(json_integer_value(json_object_get(j, "line")) == 3 && err &&
			   !strncmp(err, "invalid JSON at column", 22), "jsonl: malformed JSON is an error line: %s",
			   err ? err : "(none)");
			json_decref(j);
		}
		is_prediction(m, out, 2, 4, R2, "jsonl: line 4 predicted after the bad line");
		is_error_line(out, 3, 5, "field 'petalWidth' is missing", "jsonl: missing field");
		is_prediction(m, out, 4, 7, R3, "jsonl: CRLF line predicted");
		is_error_line(out, 5, 8, "unknown field 'x'", "jsonl: unknown field");
		is_error_line(out, 6, 9, "not a record (a JSON object)", "jsonl: not an object");
		is_prediction(m, out, 7, 10, R1, "jsonl: last line without newline");
		free(out);
	}
	char *out = score(m, "", MAAS_BATCH_JSONL, 0, &rc, &e);
	ok(rc == 0 && out && !*out, "jsonl: empty input, empty output");
	free(out);

	/* lines longer than the reader's 64 KiB buffer, and one ending exactly
	 * at a buffer's end */
	struct maas_buf big;
	maas_buf_init(&big);
	maas_buf_addstr(&big, "{\"sepalLength\": 5.1,");
	for (int i = 0; i < 150000; i++)
		maas_buf_addstr(&big, " ");
	maas_buf_addstr(&big, "\"sepalWidth\": 3.5, \"petalLength\": 1.4, \"petalWidth\": 0.2}\n");
	while (big.len < 3 * 65536 - 1)
		maas_buf_addstr(&big, " ");
	maas_buf_addstr(&big, "\n" R2 "\n");
	out = score(m, big.data, MAAS_BATCH_JSONL, 2, &rc, &e);
	is_int(count_lines(out), 2, "jsonl: a 150 kB line, a blank one up to a buffer's end, another: two answers");
	is_prediction(m, out, 0, 1, R1, "jsonl: the line over three buffers predicted");
	is_prediction(m, out, 1, 3, R2, "jsonl: the line after a buffer's end predicted");
	free(out);
	maas_buf_release(&big);
}

static void test_csv(const struct maas_served *m)
{
	struct maas_err e;
	int rc;
	const char *in = "\xEF\xBB\xBFsepalLength,sepalWidth,\"petalLength\",petalWidth,species\r\n"
		"5.1,3.5,1.4,0.2,setosa\r\n"
		"\r\n"
		"6.7,\"3.0\",5.2,2.3,\"vir\"\"gi\nnica\"\r\n"
		"5.9,2.8,4.1\r\n"
		"5.9,abc,4.1,1.3,\n"
		"5.9,2.8,4.1,1.3,\n";
	char *out = score(m, in, MAAS_BATCH_CSV, 2, &rc, &e);
	is_int(rc, 0, "csv: scored: %s", rc ? e.msg : "");
	is_int(count_lines(out), 5, "csv: one line per record");
	is_prediction(m, out, 0, 2, R1, "csv: line 2 predicted (the target column is ignored)");
	is_prediction(m, out, 1, 4, R2, "csv: a quoted record over two lines");
	is_error_line(out, 2, 6, "the record has 3 fields, the header 5", "csv: short record");
	is_error_line(out, 3, 7, "'abc' in column 'sepalWidth' is not a number", "csv: mistyped cell");
	is_prediction(m, out, 4, 8, R3, "csv: an empty cell of an ignored column");
	free(out);

	/* a record that is not UTF-8 between good ones, in batches of one
	 * and of three (the objects of a batch's places are reused) */
	for (size_t batch = 1; batch <= 3; batch += 2) {
		out = score(m, "sepalLength,sepalWidth,petalLength,petalWidth,species\n"
			    "5.1,3.5,1.4,0.2,setosa\n"
			    "6.7,3.0,5.2,2.3,vir\xffginica\n"
			    "6.7,3.0,5.2,2.3,\n"
			    "5.9,2.8,4.1,1.3,x\n", MAAS_BATCH_CSV, batch, &rc, &e);
		is_int(count_lines(out), 4, "csv, batch %zu: one line per record", batch);
		is_prediction(m, out, 0, 2, R1, "csv: the record before one that is not UTF-8");
		is_error_line(out, 1, 3, "the record is not UTF-8 text", "csv: a record that is not UTF-8");
		is_prediction(m, out, 2, 4, R2, "csv: the record after it, in the same place of a batch");
		is_prediction(m, out, 3, 5, R3, "csv: and the next");
		free(out);
	}

	out = score(m, "sepalLength\tsepalWidth\tpetalLength\tpetalWidth\n5.1\t3.5\t1.4\t0.2\n", MAAS_BATCH_TSV, 0,
		    &rc, &e);
	is_int(rc, 0, "tsv: scored");
	is_prediction(m, out, 0, 2, R1, "tsv: predicted");
	free(out);

	out = score(m, "sepalLength,sepalLength\n1,2\n", MAAS_BATCH_CSV, 0, &rc, &e);
	ok(rc == -1 && e.kind == MAAS_EDATA && !strcmp(e.msg, "the CSV header names 'sepalLength' twice"),
	   "csv: a repeated header name: %s", e.msg);
	free(out);
	out = score(m, "sepalLength,sepalWidth,petalLength,petal\xffWidth,species\n5.1,3.5,1.4,0.2,x\n", MAAS_BATCH_CSV, 0,
		    &rc, &e);
	ok(rc == -1 && e.kind == MAAS_EDATA && !strcmp(e.msg, "the CSV header is not UTF-8 (column 4)"),
	   "csv: a header name that is not UTF-8: %s", e.msg);
	free(out);
	out = score(m, "", MAAS_BATCH_CSV, 0, &rc, &e);
	ok(rc == -1 && e.kind == MAAS_EDATA && !strcmp(e.msg, "the CSV input has no header line"),
	   "csv: no header: %s", e.msg);
	free(out);
	out = score(m, "sepalLength,sepalWidth,petalLength,petalWidth\n" "5.1,3.5,1.4,0.2\n" "1,\"2,3,4\n", MAAS_BATCH_CSV,
		    0, &rc, &e);
	ok(rc == -1 && e.kind == MAAS_EDATA && strstr(e.msg, "line 3: a quoted field is not closed"),
	   "csv: an open quote at the end: %s", e.msg);
	is_int(count_lines(out), 1, "csv: the records before it are answered");
	free(out);
}

/* A stream through a pipe, larger than the pipe's buffer and the batch. */
struct feeder {
	int fd, n;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	for (int i = 0; i < f->n; i++) {
		const char *r = i % 3 == 0 ? R1 "\n" : i % 3 == 1 ? R2 "\n" : "{}\n";
		if (write(f->fd, r, strlen(r)) < 0)
			break;
	}
	close(f->fd);
	return NULL;
}

static void test_pipe(const struct maas_served *m)
{
	int p[2];
	struct feeder f;
	pthread_t t;
	struct maas_err e;
	char *buf = NULL;
	size_t len = 0;

	if (pipe(p) < 0) {
		ok(0, "pipe");
		return;
	}
	f.fd = p[1];
	f.n = 6000;
	pthread_create(&t, NULL, feed, &f);
	FILE *out = open_memstream(&buf, &len);
	int rc = maas_serve_batch(m, p[0], out, MAAS_BATCH_JSONL, 64, &e);
	fclose(out);
	pthread_join(t, NULL);
	close(p[0]);
	is_int(rc, 0, "pipe: scored");
	is_int(count_lines(buf), 6000, "pipe: 6000 answers");
	is_prediction(m, buf, 5997, 5998, R1, "pipe: line 5998");
	is_error_line(buf, 5999, 6000, "field 'sepalLength' is missing", "pipe: line 6000");
	free(buf);
}

static void test_window(const struct maas_served *m)
{
	struct maas_err e;
	int rc;
	char *p = xasprintf("%s/sw.maas/examples.jsonl", tools_dir);
	struct maas_buf ex;

	maas_read_all(p, &ex, 0, &e);
	free(p);
	json_t *first = line_json(ex.data, 0), *win = json_object_get(first, "input");
	char *w = json_dumps(win, JSON_COMPACT);
	char *in = xasprintf("%s\n[%s]\n", w, R1);
	char *out = score(m, in, MAAS_BATCH_JSONL, 0, &rc, &e);
	is_int(rc, 0, "window: scored");
	json_t *j = line_json(out, 0);
	is_near(json_real_value(json_object_get(json_object_get(j, "prediction"), "value")),
		json_real_value(json_object_get(json_object_get(first, "output"), "value")), 1e-4,
		"window: the example's value");
	json_decref(j);
	is_error_line(out, 1, 2, "not an array of 14 records (the window)", "window: a short window");
	free(out);
	out = score(m, "temp_max,wind\n1,2\n", MAAS_BATCH_CSV, 0, &rc, &e);
	ok(rc == -1 && e.kind == MAAS_EUSAGE && strstr(e.msg, "CSV input needs a tabular model"),
	   "window: CSV refused: %s", e.msg);
	free(out);
	free(in);
	free(w);
	json_decref(first);
	maas_buf_release(&ex);
}

int main(void)
{
	struct maas_err e;
	struct maas_served iris, sw;
	int setup = tools_setup("batch");
	if (setup)
		return setup < 0;
	if (!ok(make_bundles() == 0, "make bundles with maas-prep and maas-train"))
		return done_testing();
	char *ip = xasprintf("%s/iris.maas", tools_dir), *sp = xasprintf("%s/sw.maas", tools_dir);
	if (ok(maas_served_load(&iris, ip, NULL, &e) == 0, "load iris: %s", e.msg)) {
		test_jsonl(&iris);
		test_csv(&iris);
		test_pipe(&iris);
		maas_served_release(&iris);
	}
	if (ok(maas_served_load(&sw, sp, NULL, &e) == 0, "load gru: %s", e.msg)) {
		test_window(&sw);
		maas_served_release(&sw);
	}
	free(ip);
	free(sp);
	maas_remove_tree(tools_dir, &e);
	return done_testing();
}
