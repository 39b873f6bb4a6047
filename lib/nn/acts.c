/*
 * acts.c - activations of one batch size, and the forward and backward passes.
 *
 * maas_acts_alloc makes one block of floats holding, for every layer
 * (inner ones too), its output y and the gradient dy of that output, plus
 * what its backward reads: dropout masks, layernorm row statistics,
 * recurrent outputs of every step and cell caches.  Buffers start on 64-byte
 * boundaries.  A residual block's last dense layer writes straight into
 * the block's y (then x is added), and a recurrent layer that passes all
 * steps on has its last stacked layer's outputs as y.  Nothing allocates
 * per batch.
 *
 * Recurrent layers (many-to-one): the last stacked layer of a layer whose
 * successor is not recurrent keeps all T steps in seq[K-1]; y is step T-1
 * of each sample, and backward scatters dy into step T-1 of a zeroed
 * dseq[K-1].  Stacked layers pass all steps to each other.
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "nn/model_int.h"
#include "nn/recurrent.h"

struct lbuf {
	float *y, *dy;                  /* (B, out), or (B, T, out) passing all steps */
	float *mask;                    /* dropout (B, out) */
	float *mean, *rstd;             /* layernorm (B) */
	float *seq[MAAS_ARCH_MAX_STACK];   /* recurrent: (B, T, H) outputs of stacked layer k */
	float *dseq[MAAS_ARCH_MAX_STACK];  /* their gradients */
	float *cache[MAAS_ARCH_MAX_STACK];
};

struct acts_priv {
	struct lbuf *l;                 /* [nall] */
	float *work;                    /* recurrent scratch */
	int train;                      /* the mode of the last forward */
	int first;                      /* the first top-level layer with parameters */
};

static enum maas_cell cell_of(enum maas_layer_kind k)
{
	return k == MAAS_LAYER_GRU ? MAAS_CELL_GRU : k == MAAS_LAYER_LSTM ? MAAS_CELL_LSTM
									: MAAS_CELL_RNN;
}

static int is_recurrent(enum maas_layer_kind k)
{
	return k == MAAS_LAYER_RNN || k == MAAS_LAYER_GRU || k == MAAS_LAYER_LSTM;
}

/* Carves buffers: counts on the first pass (base NULL), points on the second. */
struct carve {
	float *base;
	size_t used;
};

static float *take(struct carve *c, size_t n)
{
	float *p = c->base ? c->base + c->used : NULL;
	c->used += (n + 15) & ~(size_t)15;
	return p;
}

static void plan(struct carve *c, const struct maas_model *m, struct acts_priv *P, int B)
{
	size_t work = 0;
	int T = m->T;

	for (int i = 0; i < m->nall; i++) {
		const struct maas_layer *l = &m->layers[i];
		struct lbuf *b = &P->l[i];
		size_t n = (size_t)B * (size_t)l->out;

		if (is_recurrent(l->kind)) {
			enum maas_cell cell = cell_of(l->kind);
			size_t nseq = n * (size_t)T;
			for (int k = 0; k < l->stack; k++) {
				int C = k ? l->out : l->in;
				size_t wk = maas_cell_work_floats(cell, B, T, C, l->out);
				b->seq[k] = take(c, nseq);
				b->dseq[k] = take(c, nseq);
				b->cache[k] = take(c, maas_cell_cache_floats(cell, B, T, C, l->out));
				if (wk > work)
					work = wk;
			}
			if (l->seq) {
				b->y = b->seq[l->stack - 1];
				b->dy = b->dseq[l->stack - 1];
			} else {
				b->y = take(c, n);
				b->dy = take(c, n);
			}
			continue;
		}
		if (l->kind == MAAS_LAYER_RESIDUAL) {
			b->y = take(c, n);
			b->dy = take(c, n);
			continue;
		}
		/* inner layers after their blocks: the last dense one shares the block's */
		if (i >= m->nlayers && (i - m->nlayers) % 4 == 3)
			continue;
		b->y = take(c, n);
		b->dy = take(c, n);
		if (l->kind == MAAS_LAYER_DROPOUT)
			b->mask = take(c, n);
		if (l->kind == MAAS_LAYER_LAYERNORM) {
			b->mean = take(c, (size_t)B);
			b->rstd = take(c, (size_t)B);
		}
	}
	for (int i = 0; i < m->nlayers; i++) {
		const struct maas_layer *l = &m->layers[i];
		if (l->kind == MAAS_LAYER_RESIDUAL) {
			P->l[l->block + 3].y = P->l[i].y;
			P->l[l->block + 3].dy = P->l[i].dy;
		}
	}
	P->work = take(c, work);
}

void maas_acts_alloc(struct maas_acts *a, const struct maas_model *m, int B)
{
	struct acts_priv *P = xcalloc(1, sizeof *P);
	struct carve c = { NULL, 0 };

	memset(a, 0, sizeof *a);
	P->l = xcalloc((size_t)m->nall, sizeof *P->l);
	plan(&c, m, P, B);
	a->nmem = c.used + 16;
	a->mem = xmallocarray(a->nmem, sizeof *a->mem);
	memset(a->mem, 0, a->nmem * sizeof *a->mem);
	c.base = (float *)(((uintptr_t)a->mem + 63) & ~(uintptr_t)63);
	c.used = 0;
	memset(P->l, 0, (size_t)m->nall * sizeof *P->l);
	plan(&c, m, P, B);
	P->first = 0;
	while (P->first < m->nlayers - 1 && m->layers[P->first].n == 0)
		P->first++;
	a->B = B;
	a->priv = P;
	a->logits = P->l[m->nlayers - 1].y;
}

void maas_acts_release(struct maas_acts *a)
{
	struct acts_priv *P = a->priv;
	if (P)
		free(P->l);
	free(P);
	free(a->mem);
	memset(a, 0, sizeof *a);
}

/* ---- forward ---- */

/* Layer l's j-th tensor's values (params, or borrowed: model.h). */
static const float *tensor(const struct maas_model *m, const struct maas_layer *l, int j)
{
	return m->tensors[l->first_tensor + j].data;
}

static void recurrent_forward(const struct maas_model *m, const struct maas_layer *l,
			      struct lbuf *b, float *work, const float *x, int B)
{
	enum maas_cell cell = cell_of(l->kind);
	int H = l->out, T = m->T;

	/* per stacked layer: weight_ih, weight_hh, bias_ih, bias_hh */
	for (int k = 0; k < l->stack; k++) {
		int C = k ? H : l->in;
		maas_cell_forward(cell, b->seq[k], b->cache[k], work, k ? b->seq[k - 1] : x, tensor(m, l, 4 * k),
				  tensor(m, l, 4 * k + 1), tensor(m, l, 4 * k + 2), tensor(m, l, 4 * k + 3), B, T, C, H);
	}
	if (!l->seq) {
		const float *last = b->seq[l->stack - 1];
		for (int i = 0; i < B; i++)
			memcpy(b->y + (size_t)i * H, last + ((size_t)i * T + T - 1) * H,
			       (size_t)H * sizeof *b->y);
	}
}

static void layer_forward(const struct maas_model *m, struct acts_priv *P, int i, const float *x,
			  int B, struct maas_rng *rng)
{
	const struct maas_layer *l = &m->layers[i];
	struct lbuf *b = &P->l[i];
	size_t n = (size_t)B * (size_t)l->out;

	switch (l->kind) {
	case MAAS_LAYER_DENSE:
		maas_dense_forward(b->y, x, tensor(m, l, 0), tensor(m, l, 1), B, l->in, l->out);
		break;
	case MAAS_LAYER_RELU:
	case MAAS_LAYER_GELU:
	case MAAS_LAYER_TANH:
	case MAAS_LAYER_SIGMOID:
		maas_act_forward(l->kind, b->y, x, n);
		break;
	case MAAS_LAYER_DROPOUT:
		if (P->train && l->p > 0) {
			maas_dropout_mask(b->mask, n, l->p, rng);
			maas_mul(b->y, x, b->mask, n);
		} else {
			memcpy(b->y, x, n * sizeof *b->y);
		}
		break;
	case MAAS_LAYER_LAYERNORM:
		maas_layernorm_forward(b->y, b->mean, b->rstd, x, tensor(m, l, 0), tensor(m, l, 1), B, l->out);
		break;
	case MAAS_LAYER_RESIDUAL: {
		int j = l->block;
		layer_forward(m, P, j, x, B, rng);
		layer_forward(m, P, j + 1, P->l[j].y, B, rng);
		layer_forward(m, P, j + 2, P->l[j + 1].y, B, rng);
		layer_forward(m, P, j + 3, P->l[j + 2].y, B, rng);   /* into b->y */
		maas_add(b->y, x, n);
		break;
	}
	case MAAS_LAYER_RNN:
	case MAAS_LAYER_GRU:
	case MAAS_LAYER_LSTM:
		recurrent_forward(m, l, b, P->work, x, B);
		break;
	}
}

void maas_model_forward(const struct maas_model *m, struct maas_acts *a, const float *x, int B,
			int train, struct maas_rng *rng)
{
	struct acts_priv *P = a->priv;
	P->train = train && rng;
	for (int i = 0; i < m->nlayers; i++)
		layer_forward(m, P, i, i ? P->l[i - 1].y : x, B, rng);
}

/* ---- backward ---- */

static void recurrent_backward(struct maas_model *m, const struct maas_layer *l, struct lbuf *b,
			       float *work, const float *x, const float *dy, float *dx, int B)
{
	enum maas_cell cell = cell_of(l->kind);
	int G = maas_cell_gates(cell), H = l->out, T = m->T, K = l->stack;
	size_t off[MAAS_ARCH_MAX_STACK], o = l->off;

	for (int k = 0; k < K; k++) {
		int C = k ? H : l->in;
		off[k] = o;
		o += (size_t)G * H * ((size_t)C + H + 2);
	}
	if (!l->seq) {
		float *d = b->dseq[K - 1];
		memset(d, 0, (size_t)B * T * H * sizeof *d);
		for (int i = 0; i < B; i++)
			memcpy(d + ((size_t)i * T + T - 1) * H, dy + (size_t)i * H, (size_t)H * sizeof *d);
	}
	for (int k = K - 1; k >= 0; k--) {
		int C = k ? H : l->in;
		const float *w_ih = tensor(m, l, 4 * k), *w_hh = tensor(m, l, 4 * k + 1);
		float *dw_ih = m->grads + off[k], *dw_hh = dw_ih + (size_t)G * H * C;
		float *db_ih = dw_hh + (size_t)G * H * H, *db_hh = db_ih + (size_t)G * H;
		float *dxk = k ? b->dseq[k - 1] : dx;
		if (dxk)
			memset(dxk, 0, (size_t)B * T * C * sizeof *dxk);
		maas_cell_backward(cell, dxk, dw_ih, dw_hh, db_ih, db_hh, work, b->dseq[k], b->cache[k],
				   k ? b->seq[k - 1] : x, w_ih, w_hh, B, T, C, H);
	}
}

/* dy: the gradient of layer i's output; dx (NULL: not wanted) is overwritten. */
static void layer_backward(struct maas_model *m, struct acts_priv *P, int i, const float *x,
			   const float *dy, float *dx, int B)
{
	const struct maas_layer *l = &m->layers[i];
	struct lbuf *b = &P->l[i];
	const float *w = l->ntensors ? tensor(m, l, 0) : NULL;
	float *g = m->grads + l->off;
	size_t n = (size_t)B * (size_t)l->out;

	switch (l->kind) {
	case MAAS_LAYER_DENSE:
		maas_dense_backward(dx, g, g + (size_t)l->out * l->in, dy, x, w, B, l->in, l->out);
		break;
	case MAAS_LAYER_RELU:
	case MAAS_LAYER_GELU:
	case MAAS_LAYER_TANH:
	case MAAS_LAYER_SIGMOID:
		if (dx)
			maas_act_backward(l->kind, dx, dy, x, b->y, n);
		break;
	case MAAS_LAYER_DROPOUT:
		if (!dx)
			break;
		if (P->train && l->p > 0)
			maas_mul(dx, dy, b->mask, n);
		else
			memcpy(dx, dy, n * sizeof *dx);
		break;
	case MAAS_LAYER_LAYERNORM:
		maas_layernorm_backward(dx, g, g + l->out, dy, x, b->mean, b->rstd, w, B, l->out);
		break;
	case MAAS_LAYER_RESIDUAL: {
		int j = l->block;
		struct lbuf *in = P->l + j;
		layer_backward(m, P, j + 3, in[2].y, dy, in[2].dy, B);
		layer_backward(m, P, j + 2, in[1].y, in[2].dy, in[1].dy, B);
		layer_backward(m, P, j + 1, in[0].y, in[1].dy, in[0].dy, B);
		layer_backward(m, P, j, x, in[0].dy, dx, B);
		if (dx)
			maas_add(dx, dy, n);
		break;
	}
	case MAAS_LAYER_RNN:
	case MAAS_LAYER_GRU:
	case MAAS_LAYER_LSTM:
		recurrent_backward(m, l, b, P->work, x, dy, dx, B);
		break;
	}
}

void maas_model_backward(struct maas_model *m, struct maas_acts *a, const float *x,
			 const float *dlogits, int B)
{
	struct acts_priv *P = a->priv;
	const float *dy = dlogits;
	for (int i = m->nlayers - 1; i >= P->first; i--) {
		float *dx = i > P->first ? P->l[i - 1].dy : NULL;
		layer_backward(m, P, i, i ? P->l[i - 1].y : x, dy, dx, B);
		dy = dx;
	}
}
