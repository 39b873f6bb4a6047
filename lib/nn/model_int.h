/*
 * model_int.h - the model's insides, shared by arch.c, model.c, dense.c
 * and norm.c; not part of the library's interface.
 *
 * The architecture parser turns a string into words (arch.c).  The layer
 * kernels (dense.c, norm.c) follow llm.c: <layer>_forward writes its
 * output, <layer>_backward ADDS into the parameter gradients and
 * OVERWRITES dx (skipped when dx is NULL).  B rows, C input features, N
 * output features, row-major.
 */
#ifndef MAAS_NN_MODEL_INT_H
#define MAAS_NN_MODEL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"
#include "nn/model.h"

/* for (size_t i = 0; i < n; i++) body, in a shape that GCC vectorises at
 * -O2 (whose cost model skips loops of unknown length): blocks of 16 with
 * a known trip count, then the rest. */
#define MAAS_VLOOP(i, n, body) do { \
	size_t i##_0 = 0, i##_n = (n); \
	for (; i##_0 + 16 <= i##_n; i##_0 += 16) \
		for (size_t i = i##_0; i < i##_0 + 16; i++) \
			body; \
	for (size_t i = i##_0; i < i##_n; i++) \
		body; \
} while (0)

/* One word of an architecture string. */
struct maas_arch_word {
	enum maas_layer_kind kind;
	int n;                  /* units: dense, res, recurrent */
	int k;                  /* residual blocks or stacked recurrent layers; else 1 */
	float p;                /* dropout */
	int at, len;            /* where the word is in the string (for messages) */
};

struct maas_arch {
	char *expanded;         /* the string with a preset expanded (malloc) */
	struct maas_arch_word *w;
	int n;
};

/* Parses arch; T > 0 means sequence input (a recurrent first layer is
 * needed), T == 0 tabular (no recurrent layer allowed).  Fills *a (free
 * with maas_arch_release) or returns -1 with a MAAS_EUSAGE error. */
int maas_arch_parse(struct maas_arch *a, const char *arch, int T, struct maas_err *e);
void maas_arch_release(struct maas_arch *a);

/* dense.c */
void maas_dense_forward(float *y, const float *x, const float *w, const float *b, int B, int C,
			int N);
void maas_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
			 const float *w, int B, int C, int N);
/* elementwise activations over n values; backward reads x (input) or y */
void maas_act_forward(enum maas_layer_kind k, float *y, const float *x, size_t n);
void maas_act_backward(enum maas_layer_kind k, float *dx, const float *dy, const float *x,
		       const float *y, size_t n);
/* dropout: mask[i] is 0 or 1/(1-p), drawn from rng */
void maas_dropout_mask(float *mask, size_t n, float p, struct maas_rng *rng);
void maas_mul(float *y, const float *x, const float *mask, size_t n);
/* y += x */
void maas_add(float *y, const float *x, size_t n);

/* norm.c: layernorm over the last axis (N), eps 1e-5; mean and rstd (B) kept */
void maas_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w,
			    const float *b, int B, int N);
void maas_layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
			     const float *mean, const float *rstd, const float *w, int B, int N);

#endif
