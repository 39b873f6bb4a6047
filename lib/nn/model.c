/*
 * model.c - a network's layers, its parameter layout, names and initial values.
 *
 * Parameters are laid out top-level layer by top-level layer, each tensor
 * row-major, in the order below; a tensor's name is the top-level layer's
 * index (counting every layer, parameter-free ones too, as nn.Sequential
 * does) followed by:
 *
 *   dense          "L.weight" (out, in), "L.bias" (out)        nn.Linear
 *   layernorm      "L.weight" (N), "L.bias" (N)                 nn.LayerNorm
 *   residual       "L.norm.weight" (N), "L.norm.bias" (N),      a module with
 *                  "L.fc1.weight" (N, N), "L.fc1.bias" (N),     norm, fc1, act,
 *                  "L.fc2.weight" (N, N), "L.fc2.bias" (N)      fc2 attributes:
 *                                              x + fc2(gelu(fc1(norm(x))))
 *   rnn/gru/lstm   for each stacked layer k = 0 .. K-1:         nn.RNN / GRU /
 *                  "L.weight_ih_lk" (G*H, C_k), "L.weight_hh_lk" (G*H, H),
 *                  "L.bias_ih_lk" (G*H), "L.bias_hh_lk" (G*H)  LSTM(batch_first)
 *                  G = 1, 3, 4; C_0 the input width, C_k = H after; gate
 *                  order as PyTorch's (recurrent.h)
 *   relu, gelu, tanh, sigmoid, dropout: none
 *
 * Example: "mlp" with 784 inputs and 10 classes gives 0.weight (256, 784),
 * 0.bias, 2.weight (128, 256), 2.bias, 4.weight (10, 128), 4.bias: the
 * state_dict of nn.Sequential(Linear, ReLU, Linear, ReLU, Linear).
 * "res:64x2" on 20 inputs: 0.weight (64, 20) (the projection), 1.norm.weight
 * ... 1.fc2.bias, 2.norm.weight ... 2.fc2.bias, 3.weight (K, 64), 3.bias.
 * "gru:32x2,dense:16" on 3 features: 0.weight_ih_l0 (96, 3),
 * 0.weight_hh_l0 (96, 32), 0.bias_ih_l0, 0.bias_hh_l0, 0.weight_ih_l1
 * (96, 32), ..., 1.weight (16, 32), 1.bias, 2.weight, 2.bias.
 *
 * Initialisation draws every value in that order from the rng: PyTorch's
 * defaults (see model.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "nn/model_int.h"

const char *maas_layer_kind_name(enum maas_layer_kind k)
{
	switch (k) {
	case MAAS_LAYER_DENSE: return "dense";
	case MAAS_LAYER_RELU: return "relu";
	case MAAS_LAYER_GELU: return "gelu";
	case MAAS_LAYER_TANH: return "tanh";
	case MAAS_LAYER_SIGMOID: return "sigmoid";
	case MAAS_LAYER_DROPOUT: return "dropout";
	case MAAS_LAYER_LAYERNORM: return "layernorm";
	case MAAS_LAYER_RESIDUAL: return "residual";
	case MAAS_LAYER_RNN: return "rnn";
	case MAAS_LAYER_GRU: return "gru";
	case MAAS_LAYER_LSTM: return "lstm";
	}
	return "?";
}

static int gates(enum maas_layer_kind k)
{
	return k == MAAS_LAYER_GRU ? 3 : k == MAAS_LAYER_LSTM ? 4 : 1;
}

static int is_recurrent(enum maas_layer_kind k)
{
	return k == MAAS_LAYER_RNN || k == MAAS_LAYER_GRU || k == MAAS_LAYER_LSTM;
}

/* Layout state while building. */
struct lay {
	struct maas_model *m;
	size_t off;
	int cap_tensors;
};

static void add_tensor(struct lay *s, int layer, int ndim, int d0, int d1, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void add_tensor(struct lay *s, int layer, int ndim, int d0, int d1, const char *fmt, ...)
{
	struct maas_model *m = s->m;
	struct maas_model_tensor *t;
	va_list ap;

	if (m->ntensors == s->cap_tensors) {
		s->cap_tensors = s->cap_tensors ? 2 * s->cap_tensors : 16;
		m->tensors = xreallocarray(m->tensors, (size_t)s->cap_tensors, sizeof *m->tensors);
	}
	t = &m->tensors[m->ntensors++];
	memset(t, 0, sizeof *t);
	va_start(ap, fmt);
	vsnprintf(t->name, sizeof t->name, fmt, ap);
	va_end(ap);
	t->ndim = ndim;
	t->shape[0] = d0;
	t->shape[1] = ndim > 1 ? d1 : 0;
	t->off = s->off;
	t->layer = layer;
	s->off += (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1);
}

static void leaf_init(struct maas_layer *l, enum maas_layer_kind kind, int in, int out)
{
	memset(l, 0, sizeof *l);
	l->kind = kind;
	l->in = in;
	l->out = out;
	l->stack = 1;
	l->block = -1;
}

/* Lays out the parameters and names of top-level layer i (prefix "i."). */
static void layout(struct lay *s, int i)
{
	struct maas_model *m = s->m;
	struct maas_layer *l = &m->layers[i];
	int first = m->ntensors;

	l->off = s->off;
	switch (l->kind) {
	case MAAS_LAYER_DENSE:
		add_tensor(s, i, 2, l->out, l->in, "%d.weight", i);
		add_tensor(s, i, 1, l->out, 0, "%d.bias", i);
		break;
	case MAAS_LAYER_LAYERNORM:
		add_tensor(s, i, 1, l->out, 0, "%d.weight", i);
		add_tensor(s, i, 1, l->out, 0, "%d.bias", i);
		break;
	case MAAS_LAYER_RESIDUAL: {
		static const char *part[] = { "norm", "fc1", NULL, "fc2" };
		for (int j = 0; j < l->nblock; j++) {
			struct maas_layer *u = &m->layers[l->block + j];
			int ft = m->ntensors;
			u->off = s->off;
			if (u->kind == MAAS_LAYER_DENSE)
				add_tensor(s, i, 2, u->out, u->in, "%d.%s.weight", i, part[j]);
			else if (u->kind == MAAS_LAYER_LAYERNORM)
				add_tensor(s, i, 1, u->out, 0, "%d.%s.weight", i, part[j]);
			if (u->kind == MAAS_LAYER_DENSE || u->kind == MAAS_LAYER_LAYERNORM)
				add_tensor(s, i, 1, u->out, 0, "%d.%s.bias", i, part[j]);
			u->n = s->off - u->off;
			u->first_tensor = ft;
			u->ntensors = m->ntensors - ft;
		}
		break;
	}
	case MAAS_LAYER_RNN:
	case MAAS_LAYER_GRU:
	case MAAS_LAYER_LSTM: {
		int G = gates(l->kind), H = l->out;
		for (int k = 0; k < l->stack; k++) {
			add_tensor(s, i, 2, G * H, k ? H : l->in, "%d.weight_ih_l%d", i, k);
			add_tensor(s, i, 2, G * H, H, "%d.weight_hh_l%d", i, k);
			add_tensor(s, i, 1, G * H, 0, "%d.bias_ih_l%d", i, k);
			add_tensor(s, i, 1, G * H, 0, "%d.bias_hh_l%d", i, k);
		}
		break;
	}
	default:
		break;
	}
	l->n = s->off - l->off;
	l->first_tensor = first;
	l->ntensors = m->ntensors - first;
}

/* Parameters of a layer of that kind and widths (for the limit check). */
static double count_params(enum maas_layer_kind kind, int in, int out, int stack)
{
	double G = gates(kind), H = out, n = 0;
	switch (kind) {
	case MAAS_LAYER_DENSE: return (double)in * out + out;
	case MAAS_LAYER_LAYERNORM: return 2.0 * out;
	case MAAS_LAYER_RESIDUAL: return 2.0 * out + 2.0 * ((double)out * out + out);
	case MAAS_LAYER_RNN:
	case MAAS_LAYER_GRU:
	case MAAS_LAYER_LSTM:
		for (int k = 0; k < stack; k++)
			n += G * H * (k ? H : in) + G * H * H + 2 * G * H;
		return n;
	default: return 0;
	}
}

int maas_model_layout(struct maas_model *m, const char *arch, int in_dim, int T, int out_dim,
		      struct maas_err *e)
{
	struct maas_arch a;
	int ntop = 0, ninner = 0, width, i, j;
	double total = 0;

	memset(m, 0, sizeof *m);
	if (in_dim < 1 || in_dim > MAAS_MODEL_MAX_IN)
		return maas_err_set(e, MAAS_EDATA, "input width %d is not within 1..%d", in_dim,
				    MAAS_MODEL_MAX_IN);
	if (out_dim < 1 || out_dim > MAAS_MODEL_MAX_OUT)
		return maas_err_set(e, MAAS_EDATA, "output width %d is not within 1..%d", out_dim,
				    MAAS_MODEL_MAX_OUT);
	if (T < 0 || T > MAAS_MODEL_MAX_T)
		return maas_err_set(e, MAAS_EDATA, "sequence length %d is not within 0..%d", T,
				    MAAS_MODEL_MAX_T);
	if (maas_arch_parse(&a, arch, T, e) < 0)
		return -1;

	/* count the layers and the parameters */
	width = in_dim;
	for (i = 0; i < a.n; i++) {
		struct maas_arch_word *w = &a.w[i];
		switch (w->kind) {
		case MAAS_LAYER_DENSE:
			total += count_params(w->kind, width, w->n, 1);
			width = w->n;
			ntop++;
			break;
		case MAAS_LAYER_RESIDUAL:
			if (width != w->n) {
				total += count_params(MAAS_LAYER_DENSE, width, w->n, 1);
				ntop++;
			}
			total += w->k * count_params(w->kind, w->n, w->n, 1);
			width = w->n;
			ntop += w->k;
			ninner += 4 * w->k;
			break;
		case MAAS_LAYER_RNN:
		case MAAS_LAYER_GRU:
		case MAAS_LAYER_LSTM:
			total += count_params(w->kind, width, w->n, w->k);
			width = w->n;
			ntop++;
			break;
		default:
			total += count_params(w->kind, width, width, 1);
			ntop++;
			break;
		}
	}
	total += count_params(MAAS_LAYER_DENSE, width, out_dim, 1);
	ntop++;
	if (total > (double)MAAS_MODEL_MAX_PARAMS) {
		maas_err_set(e, MAAS_EUSAGE, "architecture '%s': %.0f parameters exceed the limit of %zu",
			     arch, total, MAAS_MODEL_MAX_PARAMS);
		maas_arch_release(&a);
		return -1;
	}

	/* the layers */
	m->arch = a.expanded;
	a.expanded = NULL;
	m->in_dim = in_dim;
	m->T = T;
	m->out_dim = out_dim;
	m->nlayers = ntop;
	m->nall = ntop + ninner;
	m->layers = xcalloc((size_t)m->nall, sizeof *m->layers);
	int top = 0, inner = ntop;
	width = in_dim;
	for (i = 0; i < a.n; i++) {
		struct maas_arch_word *w = &a.w[i];
		struct maas_layer *l;
		switch (w->kind) {
		case MAAS_LAYER_RESIDUAL:
			if (width != w->n)
				leaf_init(&m->layers[top++], MAAS_LAYER_DENSE, width, w->n);
			for (j = 0; j < w->k; j++) {
				l = &m->layers[top++];
				leaf_init(l, MAAS_LAYER_RESIDUAL, w->n, w->n);
				l->block = inner;
				l->nblock = 4;
				leaf_init(&m->layers[inner++], MAAS_LAYER_LAYERNORM, w->n, w->n);
				leaf_init(&m->layers[inner++], MAAS_LAYER_DENSE, w->n, w->n);
				leaf_init(&m->layers[inner++], MAAS_LAYER_GELU, w->n, w->n);
				leaf_init(&m->layers[inner++], MAAS_LAYER_DENSE, w->n, w->n);
			}
			width = w->n;
			break;
		case MAAS_LAYER_DENSE:
		case MAAS_LAYER_RNN:
		case MAAS_LAYER_GRU:
		case MAAS_LAYER_LSTM:
			l = &m->layers[top++];
			leaf_init(l, w->kind, width, w->n);
			if (is_recurrent(w->kind)) {
				l->stack = w->k;
				l->seq = i + 1 < a.n && is_recurrent(a.w[i + 1].kind);
				m->recurrent = 1;
			}
			width = w->n;
			break;
		default:
			l = &m->layers[top++];
			leaf_init(l, w->kind, width, width);
			l->p = w->p;
			break;
		}
	}
	leaf_init(&m->layers[top++], MAAS_LAYER_DENSE, width, out_dim);
	maas_arch_release(&a);

	/* parameters and names */
	struct lay s = { m, 0, 0 };
	for (i = 0; i < ntop; i++)
		layout(&s, i);
	m->nparams = s.off;
	return 0;
}

int maas_model_build(struct maas_model *m, const char *arch, int in_dim, int T, int out_dim,
		     struct maas_err *e)
{
	if (maas_model_layout(m, arch, in_dim, T, out_dim, e) < 0)
		return -1;
	m->params = xcalloc(m->nparams, sizeof *m->params);
	m->grads = xcalloc(m->nparams, sizeof *m->grads);
	for (int i = 0; i < m->ntensors; i++)
		m->tensors[i].data = m->params + m->tensors[i].off;
	return 0;
}

void maas_model_release(struct maas_model *m)
{
	free(m->arch);
	free(m->layers);
	free(m->tensors);
	free(m->params);
	free(m->grads);
	memset(m, 0, sizeof *m);
}

static void uniform(float *p, size_t n, double bound, struct maas_rng *rng)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (float)((2.0 * maas_rng_uniform(rng) - 1.0) * bound);
}

static void init_leaf(struct maas_model *m, const struct maas_layer *l, struct maas_rng *rng)
{
	float *p = m->params + l->off;
	double bound;

	switch (l->kind) {
	case MAAS_LAYER_DENSE:   /* kaiming_uniform(a=sqrt(5)) is +-1/sqrt(in); bias alike */
		bound = 1.0 / sqrt((double)l->in);
		uniform(p, l->n, bound, rng);
		break;
	case MAAS_LAYER_LAYERNORM:
		for (int j = 0; j < l->out; j++) {
			p[j] = 1.0f;
			p[l->out + j] = 0.0f;
		}
		break;
	case MAAS_LAYER_RNN:
	case MAAS_LAYER_GRU:
	case MAAS_LAYER_LSTM:
		bound = 1.0 / sqrt((double)l->out);
		uniform(p, l->n, bound, rng);
		break;
	default:
		break;
	}
}

void maas_model_init_params(struct maas_model *m, struct maas_rng *rng)
{
	for (int i = 0; i < m->nlayers; i++) {
		const struct maas_layer *l = &m->layers[i];
		if (l->kind == MAAS_LAYER_RESIDUAL)
			for (int j = 0; j < l->nblock; j++)
				init_leaf(m, &m->layers[l->block + j], rng);
		else
			init_leaf(m, l, rng);
	}
}

void maas_model_zero_grad(struct maas_model *m)
{
	memset(m->grads, 0, m->nparams * sizeof *m->grads);
}

const struct maas_model_tensor *maas_model_find(const struct maas_model *m, const char *name)
{
	for (int i = 0; i < m->ntensors; i++)
		if (!strcmp(m->tensors[i].name, name))
			return &m->tensors[i];
	return NULL;
}

size_t maas_model_tensor_size(const struct maas_model_tensor *t)
{
	return (size_t)t->shape[0] * (size_t)(t->ndim > 1 ? t->shape[1] : 1);
}

size_t maas_model_frozen_end(const struct maas_model *m, int layers)
{
	if (layers <= 0)
		return 0;
	if (layers > m->nlayers)
		layers = m->nlayers;
	const struct maas_layer *l = &m->layers[layers - 1];
	return l->off + l->n;
}
