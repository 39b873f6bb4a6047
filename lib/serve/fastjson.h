/*
 * fastjson.h - the fast path for an Open Inference Protocol v2 infer body
 * of FP32 numbers: a hand-written scanner that reads the common request
 *
 *   {"id": "...", "inputs": [{"name": "x", "shape": [n, 4], "datatype":
 *    "FP32", "data": [[5.1, 3.5, 1.4, 0.2], ...]}], "outputs": [{"name":
 *    "label"}]}
 *
 * (keys in any order, "id" and "outputs" optional, "data" flat or nested
 * to any shape) straight into floats, without building a JSON tree.
 *
 * It only ever answers the happy path.  Anything unusual or wrong (an
 * escape or a non-ASCII byte in a string, an unknown or repeated key, a
 * number the scanner cannot convert exactly, a name, datatype or shape
 * the model does not take, a wrong element count, a non-finite FP32, more
 * rows than max_rows, bad JSON of any kind) is "not handled": the caller
 * then parses the body with jansson, which says precisely what is wrong.
 * So the fast path never accepts a body the jansson path refuses, and
 * when it accepts one, the floats are bit for bit those of jansson's
 * strtod followed by a cast to float (exact decimal conversion: Clinger's
 * fast path, strtod beyond it; integers as jansson's long long).
 *
 * Ownership: maas_fastjson_infer fills a caller-owned struct only when it
 * returns 1; maas_fastjson_infer_release frees what it holds (safe on a
 * zeroed struct).  The expectation's strings are borrowed.
 */
#ifndef MAAS_SERVE_FASTJSON_H
#define MAAS_SERVE_FASTJSON_H

#include <stddef.h>

#define MAAS_FASTJSON_MAX_OUTPUTS 16
#define MAAS_FASTJSON_MAX_DEPTH 32   /* nesting of "data" arrays */

/* What the model takes. */
struct maas_fastjson_expect {
	const char *input;        /* the input tensor's name */
	int ndim;                 /* 2 (n, features) or 3 (n, T, features) */
	long long dims[3];        /* dims[1..ndim-1] must match; dims[0] is n */
	size_t max_rows;          /* 0: no limit */
	const char *outputs[MAAS_FASTJSON_MAX_OUTPUTS]; /* names "outputs" may ask for */
	int noutputs;
};

/* A request the fast path read. */
struct maas_fastjson_infer {
	float *x;                 /* (n, dims[1], ...) FP32, malloc'd */
	size_t n;                 /* rows (shape[0]) */
	size_t nx;                /* floats in x: n * row */
	char *id;                 /* the request's "id", or NULL */
	unsigned outputs;         /* bit i: expect->outputs[i] asked for; 0: none named */
};

/* 1: handled, *out filled; 0: not handled, hand the body to jansson
 * (*out is then zeroed and holds nothing). */
int maas_fastjson_infer(const char *body, size_t len, const struct maas_fastjson_expect *want,
			struct maas_fastjson_infer *out);
void maas_fastjson_infer_release(struct maas_fastjson_infer *r);

#endif
