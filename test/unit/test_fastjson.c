/*
 * test_fastjson.c - the OIP v2 fast path against jansson: thousands of
 * generated infer bodies (numbers in every JSON spelling, flat and nested
 * data, any key order and whitespace) give bit-identical floats, ids and
 * outputs; and no malformed or mutated body is ever accepted with a
 * result that the jansson path (http.c's checks, repeated here) would not
 * give.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/io.h"
#include "core/mem.h"
#include "serve/fastjson.h"
#include "tap.h"

static const char *const OUTS[] = {"probabilities", "class", "label"};

static void expect(struct maas_fastjson_expect *w, int T, int F)
{
	memset(w, 0, sizeof *w);
	w->input = "x";
	w->ndim = T ? 3 : 2;
	w->dims[0] = -1;
	w->dims[1] = T ? T : F;
	w->dims[2] = F;
	for (int i = 0; i < 3; i++)
		w->outputs[i] = OUTS[i];
	w->noutputs = 3;
}

/* What http.c's jansson path makes of the body: 1 and *r, or 0 (an error). */
static int reference(const char *body, size_t len, const struct maas_fastjson_expect *w,
		     struct maas_fastjson_infer *r)
{
	json_error_t je;
	json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je), *in, *shape, *d, *v, *o, *id, *outs;
	size_t row = 1, total, i, k = 0;
	int ok = 0;

	memset(r, 0, sizeof *r);
	if (!req || !json_is_object(req))
		goto out;
	in = json_object_get(req, "inputs");
	if (!json_is_array(in) || json_array_size(in) != 1)
		goto out;
	in = json_array_get(in, 0);
	if (!json_string_value(json_object_get(in, "name")) ||
	    strcmp(json_string_value(json_object_get(in, "name")), w->input) ||
	    !json_string_value(json_object_get(in, "datatype")) ||
	    strcmp(json_string_value(json_object_get(in, "datatype")), "FP32"))
		goto out;
	shape = json_object_get(in, "shape");
	if (!json_is_array(shape) || json_array_size(shape) != (size_t)w->ndim)
		goto out;
	for (i = 0; i < (size_t)w->ndim; i++) {
		d = json_array_get(shape, i);
		if (!json_is_integer(d) || json_integer_value(d) < 0 || (i && json_integer_value(d) != w->dims[i]))
			goto out;
		if (i)
			row *= (size_t)w->dims[i];
	}
	r->n = (size_t)json_integer_value(json_array_get(shape, 0));
	if (w->max_rows && r->n > w->max_rows)
		goto out;
	if (maas_mul_overflow(r->n, row, &total) || total > len / 2 + 1)
		goto out;
	if ((outs = json_object_get(req, "outputs"))) {
		if (!json_is_array(outs))
			goto out;
		json_array_foreach(outs, i, o) {
			const char *name = json_string_value(json_object_get(o, "name"));
			int j;
			if (!name)
				goto out;
			for (j = 0; j < w->noutputs && strcmp(name, w->outputs[j]); j++)
				;
			if (j == w->noutputs)
				goto out;
			r->outputs |= 1u << j;
		}
	}
	/* flatten, as http.c does */
	json_t *stack[64];
	size_t idx[64];
	int sp = 0;
	r->x = xmallocarray(total ? total : 1, sizeof *r->x);
	d = json_object_get(in, "data");
	if (!json_is_array(d)) {
		if (!json_is_number(d) || total != 1)
			goto out;
		r->x[k++] = (float)json_number_value(d);
		if (!isfinite(r->x[0]))
			goto out;
	} else {
		stack[0] = d;
		idx[0] = 0;
		while (sp >= 0) {
			if (idx[sp] >= json_array_size(stack[sp])) {
				sp--;
				continue;
			}
			v = json_array_get(stack[sp], idx[sp]++);
			if (json_is_array(v)) {
				if (sp + 1 >= 64)
					goto out;
				stack[++sp] = v;
				idx[sp] = 0;
				continue;
			}
			if (!json_is_number(v) || k >= total)
				goto out;
			float f = (float)json_number_value(v);
			if (!isfinite(f))
				goto out;
			r->x[k++] = f;
		}
	}
	if (k != total)
		goto out;
	r->nx = total;
	if ((id = json_object_get(req, "id")) && json_is_string(id))
		r->id = xstrdup(json_string_value(id));
	ok = 1;
out:
	if (!ok)
		maas_fastjson_infer_release(r);
	json_decref(req);
	return ok;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static int below(int n)
{
	return (int)(next() % (uint64_t)n);
}
static double unif(void)
{
	return (double)(next() >> 11) / 9007199254740992.0;
}

static void space(struct maas_buf *b)
{
	static const char *const sp[] = {"", "", "", " ", "\n", "\t ", "\r\n  "};
	maas_buf_addstr(b, sp[below(7)]);
}

/* One number in one of many spellings. */
static void number(struct maas_buf *b)
{
	double v = (unif() - 0.5) * pow(10, below(12) - 6);
	/* the spellings that leave the fast path (over 19 digits, 19-digit
	 * integers, beyond FP32) are rare, so that most bodies stay on it */
	switch (below(300) ? below(14) : 14 + below(3)) {
	case 0: maas_buf_addf(b, "%.9g", v); break;
	case 1: maas_buf_addf(b, "%.17g", v); break;
	case 2: maas_buf_addf(b, "%.3f", v); break;
	case 3: maas_buf_addf(b, "%e", v); break;
	case 4: maas_buf_addf(b, "%.6E", v); break;
	case 5: maas_buf_addf(b, "%d", below(2001) - 1000); break;
	case 6: maas_buf_addf(b, "%lld", (long long)(next() % 1000000000000000000ull) * (below(2) ? 1 : -1)); break;
	case 7: maas_buf_addstr(b, below(2) ? "-0" : "0"); break;
	case 8: maas_buf_addstr(b, below(2) ? "-0.0" : "0.000"); break;
	case 9: maas_buf_addf(b, "%.18f", v); break;
	case 10: maas_buf_addf(b, "%.1e", v * 1e-40); break;  /* FP32 underflow */
	case 11: maas_buf_addf(b, "%de+%d", below(100), below(30)); break;
	case 12: maas_buf_addf(b, "%.4fe-%d", v, below(40)); break;
	case 13: maas_buf_addf(b, "%.9g", (double)(float)v); break;
	case 14: maas_buf_addf(b, "1%018d", below(1000)); break; /* 19 digits */
	case 15: maas_buf_addf(b, "%.25f", v); break;            /* more digits than 19 */
	default: maas_buf_addf(b, "%.12g", v * 1e35); break;     /* perhaps beyond FP32 */
	}
}

/* A body for a model of (T, F): kinds of nesting, key orders, optional parts. */
static void gen(struct maas_buf *b, int T, int F, int n)
{
	int order[3] = {0, 1, 2}, torder[4] = {0, 1, 2, 3};
	int row = (T ? T : 1) * F, nested = below(3);
	for (int i = 3; i > 0; i--) {
		int j = below(i + 1), t = torder[i];
		torder[i] = torder[j], torder[j] = t;
		if (i < 3) {
			j = below(i + 1), t = order[i];
			order[i] = order[j], order[j] = t;
		}
	}
	maas_buf_addstr(b, "{");
	int first = 1;
	for (int k = 0; k < 3; k++) {
		int part = order[k];
		if (part == 1 && below(2))
			continue;
		if (part == 2 && below(3))
			continue;
		if (!first)
			maas_buf_addstr(b, ",");
		first = 0;
		space(b);
		if (part == 0) {
			maas_buf_addstr(b, "\"inputs\":");
			space(b);
			maas_buf_addstr(b, "[{");
			for (int t = 0; t < 4; t++) {
				if (t)
					maas_buf_addstr(b, ",");
				space(b);
				switch (torder[t]) {
				case 0: maas_buf_addstr(b, "\"name\":\"x\""); break;
				case 1: maas_buf_addstr(b, "\"datatype\" : \"FP32\""); break;
				case 2:
					if (T)
						maas_buf_addf(b, "\"shape\":[%d,%d, %d]", n, T, F);
					else
						maas_buf_addf(b, "\"shape\":[%d, %d]", n, F);
					break;
				case 3:
					maas_buf_addstr(b, "\"data\":");
					space(b);
					maas_buf_addstr(b, "[");
					for (int i = 0; i < n * row; i++) {
						if (nested && i % row == 0)
							maas_buf_addstr(b, i ? ",[" : "[");
						else if (i)
							maas_buf_addstr(b, ",");
						if (nested == 2 && T && i % F == 0)
							maas_buf_addstr(b, "[");
						space(b);
						number(b);
						space(b);
						if (nested == 2 && T && i % F == F - 1)
							maas_buf_addstr(b, "]");
						if (nested && i % row == row - 1)
							maas_buf_addstr(b, "]");
					}
					maas_buf_addstr(b, "]");
					break;
				}
			}
			maas_buf_addstr(b, "}]");
		} else if (part == 1) {
			maas_buf_addf(b, "\"id\":\"req-%d\"", below(1000));
		} else {
			maas_buf_addstr(b, "\"outputs\":[");
			int k2 = below(4);
			for (int i = 0; i < k2; i++)
				maas_buf_addf(b, "%s{\"name\":\"%s\"}", i ? "," : "", OUTS[below(3)]);
			maas_buf_addstr(b, "]");
		}
		space(b);
	}
	maas_buf_addstr(b, "}");
	space(b);
}

static int same(const struct maas_fastjson_infer *a, const struct maas_fastjson_infer *b)
{
	if (a->n != b->n || a->nx != b->nx || a->outputs != b->outputs)
		return 0;
	if (!a->id != !b->id || (a->id && strcmp(a->id, b->id)))
		return 0;
	return !a->nx || !memcmp(a->x, b->x, a->nx * sizeof *a->x);
}

/* fast and reference on one body: 1 fast handled it, 0 it did not, -1 they disagree */
static int compare(const char *body, size_t len, const struct maas_fastjson_expect *w, int *ref_ok)
{
	struct maas_fastjson_infer f, r;
	int fo = maas_fastjson_infer(body, len, w, &f), ro = reference(body, len, w, &r), rc;
	*ref_ok = ro;
	rc = fo ? (ro && same(&f, &r) ? 1 : -1) : 0;
	if (rc < 0)
		printf("# disagree on: %.*s\n", (int)(len < 400 ? len : 400), body);
	maas_fastjson_infer_release(&f);
	maas_fastjson_infer_release(&r);
	return rc;
}

static void generated(void)
{
	int bad = 0, handled = 0, refok = 0, total = 3000, plain_missed = 0;
	struct maas_fastjson_expect w;
	for (int i = 0; i < total; i++) {
		struct maas_buf b;
		int T = below(3) ? 0 : 1 + below(4), F = 1 + below(9), n = below(6), ro;
		maas_buf_init(&b);
		expect(&w, T, F);
		gen(&b, T, F, n);
		int rc = compare(b.data, b.len, &w, &ro);
		bad += rc < 0;
		handled += rc > 0;
		refok += ro;
		plain_missed += ro && rc == 0 && !strchr(b.data, 'e') && !strchr(b.data, 'E') && b.len < 200 && !strstr(b.data, "10000");
		maas_buf_release(&b);
	}
	is_int(bad, 0, "generated bodies: the fast path never disagrees with jansson");
	ok(handled > total * 3 / 5, "generated bodies: the fast path handles most (%d of %d; jansson accepts %d)", handled,
	   total, refok);
	ok(refok - handled < total / 3, "the fallback is the exception (%d bodies)", refok - handled);
}

/* One number at a time, in every spelling: 200,000 conversions. */
static void numbers(void)
{
	struct maas_fastjson_expect w;
	int bad = 0, handled = 0, refok = 0;
	expect(&w, 0, 1);
	for (int i = 0; i < 200000; i++) {
		struct maas_buf b;
		int ro, rc;
		maas_buf_init(&b);
		maas_buf_addstr(&b, "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,1],\"data\":[");
		if (i % 4 == 0)
			maas_buf_addf(&b, "%.*g", 1 + below(17), ((double)(int64_t)next()) * pow(10, below(80) - 58));
		else
			number(&b);
		maas_buf_addstr(&b, "]}]}");
		rc = compare(b.data, b.len, &w, &ro);
		bad += rc < 0;
		handled += rc > 0;
		refok += ro;
		maas_buf_release(&b);
	}
	is_int(bad, 0, "200000 numbers: every one the fast path reads is jansson's float, bit for bit");
	ok(handled > refok * 95 / 100, "and it reads nearly all of those jansson accepts (%d of %d)", handled, refok);
}

static void mutated(void)
{
	static const char alphabet[] = "{}[],:\"0123456789-+.eE xa\\\n\x01\xc3";
	int bad = 0, accepted = 0, tries = 0;
	struct maas_fastjson_expect w;
	for (int i = 0; i < 600; i++) {
		struct maas_buf b;
		int T = below(4) ? 0 : 2, F = 1 + below(4), n = 1 + below(3), ro;
		maas_buf_init(&b);
		expect(&w, T, F);
		gen(&b, T, F, n);
		for (int m = 0; m < 30; m++) {
			char *t = xmalloc(b.len + 2);
			size_t len = b.len, at = (size_t)below((int)b.len);
			memcpy(t, b.data, b.len);
			switch (m % 4) {
			case 0: len = at; break;                                            /* truncated */
			case 1: t[at] = alphabet[below((int)sizeof alphabet - 1)]; break;   /* a byte changed */
			case 2: memmove(t + at, t + at + 1, len - at - 1); len--; break;     /* a byte gone */
			default:                                                            /* a byte added */
				memmove(t + at + 1, t + at, len - at);
				t[at] = alphabet[below((int)sizeof alphabet - 1)];
				len++;
			}
			int rc = compare(t, len, &w, &ro);
			bad += rc < 0;
			accepted += rc > 0;
			tries++;
			free(t);
		}
		maas_buf_release(&b);
	}
	is_int(bad, 0, "%d mutated bodies: the fast path accepts none that jansson refuses or reads otherwise "
		       "(%d still valid and identical)", tries, accepted);
}

static void handwritten(void)
{
	static const char *const refused[] = {
		"", " ", "{}", "[]", "null", "{\"inputs\":[]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[01,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1.,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[.5,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[-,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1e,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[+1,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[NaN,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[Infinity,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1e39,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1e400,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2,]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}],}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}]",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}]} x",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1x,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2,3]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[[1],[2]]}]}", /* fine: fallback not needed */
		"{\"inputs\":[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP64\",\"shape\":[1,2],\"data\":[1,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1.0,2],\"data\":[1,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[-1,2],\"data\":[1,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2,1],\"data\":[1,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}]}",
		"{\"id\":\"a\",\"id\":\"b\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}]}",
		"{\"id\":\"a\\\"b\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}]}",
		"{\"id\":\"a\x01\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}]}",
		"{\"id\":7,\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2],\"parameters\":{}}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}],\"outputs\":[{\"name\":\"nope\"}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}],\"outputs\":{}}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]},{}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,\"2\"]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[3,2],\"data\":[1,2,3,4,5,6]}]}", /* > max_rows */
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,12345678901234567890]}]}",
		"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1,2]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]}",
	};
	struct maas_fastjson_expect w;
	struct maas_fastjson_infer r;
	expect(&w, 0, 2);
	w.max_rows = 2;
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
		int got = maas_fastjson_infer(refused[i], strlen(refused[i]), &w, &r);
		if (strstr(refused[i], "[[1],[2]]")) {
			ok(got == 1 && r.nx == 2 && r.x[0] == 1 && r.x[1] == 2, "ragged nesting is read as jansson reads it");
		} else
			ok(got == 0 && !r.x && !r.id, "not handled: %.90s", refused[i][0] ? refused[i] : "(empty)");
		maas_fastjson_infer_release(&r);
	}

	const char *good = " {\"outputs\": [{\"name\": \"label\"}, {\"name\": \"class\"}], \"id\": \"abc\",\n"
			   "  \"inputs\": [{\"data\": [[5.1, 3.5], [-0, -0.0]], \"datatype\": \"FP32\",\n"
			   "  \"shape\": [2, 2], \"name\": \"x\"}]}\n";
	is_int(maas_fastjson_infer(good, strlen(good), &w, &r), 1, "a typical body is handled");
	is_int(r.n, 2, "its rows");
	is_int(r.nx, 4, "its floats");
	ok(r.x[0] == 5.1f && r.x[1] == 3.5f, "its values");
	ok(r.x[2] == 0 && !signbit(r.x[2]) && signbit(r.x[3]), "-0 is +0 (an integer), -0.0 is -0 (a real), as in jansson");
	is_str(r.id, "abc", "its id");
	is_int(r.outputs, 6, "its outputs: class and label");
	maas_fastjson_infer_release(&r);

	static const char nul[] = "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}]}";
	is_int(maas_fastjson_infer(nul, sizeof nul, &w, &r), 0, "a NUL byte after the object is not handled");
	is_int(maas_fastjson_infer(nul, sizeof nul - 1, &w, &r), 1, "the same body without it is");
	maas_fastjson_infer_release(&r);

	char *big = xasprintf("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[%s,2],\"data\":[1,2]}]}",
			      "99999999999999999999");
	is_int(maas_fastjson_infer(big, strlen(big), &w, &r), 0, "a row count beyond long long is not handled");
	free(big);
	big = xasprintf("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[%s,2],\"data\":[1,2]}]}",
			"999999999999999999");
	w.max_rows = 0;
	is_int(maas_fastjson_infer(big, strlen(big), &w, &r), 0, "an element count beyond size_t is not handled");
	free(big);
	w.ndim = 4;
	is_int(maas_fastjson_infer(good, strlen(good), &w, &r), 0, "an expectation of 4 dimensions is not handled");
}

int main(void)
{
	handwritten();
	numbers();
	generated();
	mutated();
	return done_testing();
}
