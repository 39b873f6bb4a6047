/*
 * model.h - a network: its architecture, its parameters, forward and backward.
 *
 * Architecture strings (documented for users in maas-train(1)):
 *
 *   ARCH   := PRESET | LAYER { "," LAYER }
 *   LAYER  := "dense:" N | "relu" | "gelu" | "tanh" | "sigmoid"
 *           | "dropout:" P | "layernorm"
 *           | "res:" N [ "x" K ]                  K residual blocks of width N
 *           | ("rnn" | "gru" | "lstm") ":" N [ "x" K ]   K stacked layers of N units
 *   PRESET := "linear" | "mlp" | "resmlp" | "rnn" | "gru" | "lstm"
 *             linear = (nothing), mlp = dense:256,relu,dense:128,relu,
 *             resmlp = res:256x2, rnn = rnn:64, gru = gru:64, lstm = lstm:64
 *
 * Bounds: N is 1..65536, K is 1..16, 0 <= P < 1; at most 256 words and
 * 4096 characters.  Spaces around words are ignored.  A preset stands
 * alone.  The output layer (dense to out_dim) is always added last.
 * Recurrent layers read (T, C) sequences and come first (and only there);
 * the last one's final hidden state (many-to-one) feeds what follows.
 * Sequence input (T > 0) needs a recurrent first layer; tabular input
 * (T = 0) allows none.  A residual block is pre-norm:
 * x + dense(gelu(dense(layernorm(x)))), both dense layers N to N, with a
 * dense projection to N in front (a layer of its own) when the input width
 * differs.  Errors (MAAS_EUSAGE) point at the word:
 * "architecture 'dense:256,relu,dense:x': 'dense:x' needs a whole number
 * of units".
 *
 * Layers: every word is one top-level layer, except "res:NxK" (K blocks,
 * plus the projection when needed); "gru:NxK" is one layer of K stacked
 * GRUs, as torch.nn.GRU(num_layers=K).  layers[0 .. nlayers) are the
 * top-level layers, the output layer last; layers[nlayers .. nall) are the
 * residual blocks' inner layers (layernorm, dense, gelu, dense each).
 *
 * Parameters live in one allocation (params), gradients in another of the
 * same layout (grads), so an optimizer is one flat loop and a checkpoint
 * one write; named tensors (maas_model_tensor) point into them, with names
 * and shapes as PyTorch's nn.Sequential would give, the top-level layer's
 * index first (model.c's header comment lists them; maas-bundle(5)
 * documents them).  The layout is top-level layer by layer, so the first
 * layers' parameters are a prefix (--freeze).  Initialisation is PyTorch's
 * default: dense weight and bias uniform +-1/sqrt(in); every recurrent
 * weight and bias uniform +-1/sqrt(H); layernorm weight 1, bias 0.
 *
 * Borrowed parameters.  Forward passes read each tensor through its
 * `data` pointer, which maas_model_build sets to params + off.  A model
 * made by maas_model_layout has neither params nor grads: the caller
 * points every tensor's data at values it keeps alive and unchanged for
 * the model's life (maas-serve points them into the read-only map of
 * weights.safetensors: serve/predict.h).  Such a model runs forward only;
 * initialisation, backward and optimizers need params and grads.
 *
 * A struct maas_acts holds the activations of one batch size in one block;
 * forward fills it, backward reads it and ADDS into grads (zero them with
 * maas_model_zero_grad between steps).  Training mode enables dropout
 * (inverted dropout, its mask drawn from the given rng stream; with a NULL
 * rng dropout is the identity).  Backward needs the acts of the forward
 * just before it (same x, same B).
 *
 * Ownership: maas_model_build fills a caller-owned struct that
 * maas_model_release frees; likewise maas_acts_alloc / maas_acts_release.
 */
#ifndef MAAS_NN_MODEL_H
#define MAAS_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"

#define MAAS_ARCH_MAX_LEN 4096
#define MAAS_ARCH_MAX_WORDS 256
#define MAAS_ARCH_MAX_UNITS 65536
#define MAAS_ARCH_MAX_STACK 16
#define MAAS_MODEL_MAX_IN (1 << 24)      /* in_dim */
#define MAAS_MODEL_MAX_OUT 65536          /* out_dim */
#define MAAS_MODEL_MAX_T 65536            /* sequence length */
#define MAAS_MODEL_MAX_PARAMS ((size_t)1 << 30)

enum maas_layer_kind {
	MAAS_LAYER_DENSE, MAAS_LAYER_RELU, MAAS_LAYER_GELU, MAAS_LAYER_TANH, MAAS_LAYER_SIGMOID,
	MAAS_LAYER_DROPOUT, MAAS_LAYER_LAYERNORM, MAAS_LAYER_RESIDUAL, MAAS_LAYER_RNN,
	MAAS_LAYER_GRU, MAAS_LAYER_LSTM,
};

/* "dense", "relu", "gelu", "tanh", "sigmoid", "dropout", "layernorm",
 * "residual", "rnn", "gru", "lstm" */
const char *maas_layer_kind_name(enum maas_layer_kind k);

struct maas_layer {
	enum maas_layer_kind kind;
	int in, out;            /* widths (per step for recurrent layers) */
	int seq;                /* recurrent: 1 if the next layer is recurrent (pass all steps) */
	int stack;              /* recurrent: stacked layers (K), else 1 */
	float p;                /* dropout probability */
	size_t off, n;          /* its parameters: params[off .. off+n) */
	int first_tensor, ntensors;
	int block;              /* residual: index in layers[] of the block's first inner layer, else -1 */
	int nblock;             /* residual: inner layers (4) */
};

struct maas_model_tensor {
	char name[48];
	size_t off;             /* into params / grads */
	int ndim;
	int shape[2];
	int layer;              /* owning top-level layer */
	const float *data;      /* its values: params + off, or borrowed (maas_model_layout) */
};

struct maas_model {
	char *arch;             /* as given (a preset expanded; "linear" stays "linear") */
	int in_dim;             /* features per sample (per step for sequences) */
	int T;                  /* sequence length, 0 for tabular input */
	int out_dim;
	struct maas_layer *layers;   /* [nall]: top-level layers (the output layer last), then inner ones */
	int nlayers;            /* top-level layers */
	int nall;               /* all layers */
	struct maas_model_tensor *tensors;
	int ntensors;
	float *params, *grads;  /* [nparams] each; NULL when borrowed (maas_model_layout) */
	size_t nparams;
	int recurrent;          /* has recurrent layers */
};

/* Parses arch and lays out the parameters (zeroed; see init_params).
 * in_dim 1..2^24, out_dim 1..65536, T 0..65536 (MAAS_EDATA otherwise). */
int maas_model_build(struct maas_model *m, const char *arch, int in_dim, int T, int out_dim,
		     struct maas_err *e);
/* The same without parameter or gradient memory: every tensor's data is
 * NULL until the caller points it at maas_model_tensor_size floats. */
int maas_model_layout(struct maas_model *m, const char *arch, int in_dim, int T, int out_dim,
		      struct maas_err *e);
void maas_model_release(struct maas_model *m);
void maas_model_init_params(struct maas_model *m, struct maas_rng *rng);
void maas_model_zero_grad(struct maas_model *m);
/* The tensor of that name, or NULL. */
const struct maas_model_tensor *maas_model_find(const struct maas_model *m, const char *name);
/* Elements of a tensor. */
size_t maas_model_tensor_size(const struct maas_model_tensor *t);
/* Parameters of the first `layers` top-level layers (for --freeze): [0, *end). */
size_t maas_model_frozen_end(const struct maas_model *m, int layers);

struct maas_acts {
	int B;                  /* batch size it was made for */
	float *mem;             /* one allocation */
	size_t nmem;
	float *logits;          /* (B, out_dim) after forward */
	void *priv;             /* per-layer pointers, caches, dropout masks */
};
/* B >= 1.  Sizes are those of the model now: rebuild after changing it. */
void maas_acts_alloc(struct maas_acts *a, const struct maas_model *m, int B);
void maas_acts_release(struct maas_acts *a);

/* x: (B, in_dim) or (B, T, in_dim); 1 <= B <= a->B.  rng may be NULL when !train. */
void maas_model_forward(const struct maas_model *m, struct maas_acts *a, const float *x, int B,
			int train, struct maas_rng *rng);
/* dlogits: (B, out_dim), the loss gradient.  Adds into m->grads.  The
 * gradient of the input is not computed (nothing needs it), nor are the
 * layers before the first one with parameters visited. */
void maas_model_backward(struct maas_model *m, struct maas_acts *a, const float *x,
			 const float *dlogits, int B);

#endif
