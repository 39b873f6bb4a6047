/*
 * arch.c - architecture strings: "dense:256,relu,dropout:0.2" to words.
 *
 * The grammar and the bounds are in model.h.  Every error names the whole
 * architecture and then the word at fault, so that a user sees which of
 * many words to fix.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "nn/model_int.h"

static const struct {
	const char *name, *layers;
} presets[] = {
	{ "linear", "" },
	{ "mlp", "dense:256,relu,dense:128,relu" },
	{ "resmlp", "res:256x2" },
	{ "rnn", "rnn:64" },
	{ "gru", "gru:64" },
	{ "lstm", "lstm:64" },
};

static const struct {
	const char *name;
	enum maas_layer_kind kind;
	int arg;                /* 0 none, 1 units, 2 units [x count], 3 probability */
	const char *example;
} words[] = {
	{ "dense", MAAS_LAYER_DENSE, 1, "dense:128" },
	{ "relu", MAAS_LAYER_RELU, 0, NULL },
	{ "gelu", MAAS_LAYER_GELU, 0, NULL },
	{ "tanh", MAAS_LAYER_TANH, 0, NULL },
	{ "sigmoid", MAAS_LAYER_SIGMOID, 0, NULL },
	{ "dropout", MAAS_LAYER_DROPOUT, 3, "dropout:0.2" },
	{ "layernorm", MAAS_LAYER_LAYERNORM, 0, NULL },
	{ "res", MAAS_LAYER_RESIDUAL, 2, "res:256x2" },
	{ "rnn", MAAS_LAYER_RNN, 2, "rnn:64x2" },
	{ "gru", MAAS_LAYER_GRU, 2, "gru:64x2" },
	{ "lstm", MAAS_LAYER_LSTM, 2, "lstm:64x2" },
};

#define LAYER_LIST "dense:N, relu, gelu, tanh, sigmoid, dropout:P, layernorm, res:N[xK], " \
		   "rnn:N[xK], gru:N[xK], lstm:N[xK]"

static int is_recurrent(enum maas_layer_kind k)
{
	return k == MAAS_LAYER_RNN || k == MAAS_LAYER_GRU || k == MAAS_LAYER_LSTM;
}

/* A whole number in s[0..len) (digits only), or -1; values above `max`
 * give max + 1 so that the caller reports the bound. */
static long whole(const char *s, int len, long max)
{
	long v = 0;
	if (len <= 0)
		return -1;
	for (int i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v <= max)
			v = v * 10 + (s[i] - '0');
	}
	return v > max ? max + 1 : v;
}

/* Parses one word s[0..len) into *w.  Returns 0, or -1 with *e set. */
static int parse_word(struct maas_arch_word *w, const char *arch, const char *s, int len,
		      struct maas_err *e)
{
	const char *colon = memchr(s, ':', (size_t)len);
	int nlen = colon ? (int)(colon - s) : len;
	int i, nw = (int)(sizeof words / sizeof words[0]);

	for (i = 0; i < nw; i++)
		if ((int)strlen(words[i].name) == nlen && !strncmp(words[i].name, s, (size_t)nlen))
			break;
	if (i == nw) {
		for (size_t j = 0; j < sizeof presets / sizeof presets[0]; j++)
			if ((int)strlen(presets[j].name) == len && !strncmp(presets[j].name, s, (size_t)len))
				return maas_err_set(e, MAAS_EUSAGE,
						    "architecture '%s': '%.*s' is a preset and stands alone",
						    arch, len, s);
		return maas_err_set(e, MAAS_EUSAGE, "architecture '%s': '%.*s' is not a layer (%s)", arch,
				    len, s, LAYER_LIST);
	}
	w->kind = words[i].kind;
	w->n = 0;
	w->k = 1;
	w->p = 0;
	if (words[i].arg == 0) {
		if (colon)
			return maas_err_set(e, MAAS_EUSAGE, "architecture '%s': '%.*s' takes no argument",
					    arch, len, s);
		return 0;
	}
	if (!colon)
		return maas_err_set(e, MAAS_EUSAGE, "architecture '%s': '%.*s' needs %s, as in '%s'", arch,
				    len, s, words[i].arg == 3 ? "a probability" : "a width",
				    words[i].example);
	const char *a = colon + 1;
	int alen = len - nlen - 1;
	if (words[i].arg == 3) {
		char buf[64], *end;
		double p;
		if (alen <= 0 || alen >= (int)sizeof buf)
			goto badp;
		memcpy(buf, a, (size_t)alen);
		buf[alen] = 0;
		p = strtod(buf, &end);   /* an underflow is 0; an overflow fails below */
		if (*end || end == buf)
			goto badp;
		if (!(p >= 0 && p < 1))
			return maas_err_set(e, MAAS_EUSAGE,
					    "architecture '%s': '%.*s' needs a probability of at least 0 and below 1",
					    arch, len, s);
		w->p = (float)p;
		if (w->p >= 1)   /* rounded up to 1 as a float */
			w->p = nextafterf(1.0f, 0.0f);
		return 0;
badp:
		return maas_err_set(e, MAAS_EUSAGE, "architecture '%s': '%.*s' needs a probability", arch,
				    len, s);
	}
	const char *x = words[i].arg == 2 ? memchr(a, 'x', (size_t)alen) : NULL;
	int ulen = x ? (int)(x - a) : alen;
	long n = whole(a, ulen, MAAS_ARCH_MAX_UNITS);
	if (n < 0)
		return maas_err_set(e, MAAS_EUSAGE, "architecture '%s': '%.*s' needs a whole number of units",
				    arch, len, s);
	if (n < 1 || n > MAAS_ARCH_MAX_UNITS)
		return maas_err_set(e, MAAS_EUSAGE, "architecture '%s': '%.*s' needs 1 to %d units", arch,
				    len, s, MAAS_ARCH_MAX_UNITS);
	w->n = (int)n;
	if (x) {
		const char *what = w->kind == MAAS_LAYER_RESIDUAL ? "blocks" : "stacked layers";
		long k = whole(x + 1, alen - ulen - 1, MAAS_ARCH_MAX_STACK);
		if (k < 0)
			return maas_err_set(e, MAAS_EUSAGE,
					    "architecture '%s': '%.*s' needs a whole number of %s after 'x'",
					    arch, len, s, what);
		if (k < 1 || k > MAAS_ARCH_MAX_STACK)
			return maas_err_set(e, MAAS_EUSAGE, "architecture '%s': '%.*s' needs 1 to %d %s",
					    arch, len, s, MAAS_ARCH_MAX_STACK, what);
		w->k = (int)k;
	}
	return 0;
}

int maas_arch_parse(struct maas_arch *a, const char *arch, int T, struct maas_err *e)
{
	size_t alen = strlen(arch);
	memset(a, 0, sizeof *a);
	if (alen > MAAS_ARCH_MAX_LEN)
		return maas_err_set(e, MAAS_EUSAGE,
				    "architecture '%.32s...': %zu characters exceed the limit of %d", arch,
				    alen, MAAS_ARCH_MAX_LEN);

	/* a preset, possibly with spaces around it */
	const char *s = arch, *t = arch + alen;
	while (s < t && *s == ' ')
		s++;
	while (t > s && t[-1] == ' ')
		t--;
	if (s == t)
		return maas_err_set(e, MAAS_EUSAGE, "architecture '%s': empty (use 'linear' for none)",
				    arch);
	const char *body = arch;
	for (size_t j = 0; j < sizeof presets / sizeof presets[0]; j++)
		if (strlen(presets[j].name) == (size_t)(t - s) &&
		    !strncmp(presets[j].name, s, (size_t)(t - s)))
			body = presets[j].layers;
	a->expanded = xstrdup(body == arch ? arch : *body ? body : "linear");
	if (!*body) {   /* linear */
		if (T > 0) {
			maas_err_set(e, MAAS_EUSAGE,
				     "architecture '%s': sequence input (%d steps) needs a recurrent first layer, as in 'gru:64'",
				     arch, T);
			goto fail;
		}
		return 0;
	}

	/* words; messages quote the string as given, positions index body */
	const char *q = body;
	a->w = xcalloc(MAAS_ARCH_MAX_WORDS, sizeof *a->w);
	for (;;) {
		const char *end = strchr(q, ',');
		const char *ws = q, *we = end ? end : q + strlen(q);
		while (ws < we && *ws == ' ')
			ws++;
		while (we > ws && we[-1] == ' ')
			we--;
		if (ws == we) {
			if (a->n == 0)
				maas_err_set(e, MAAS_EUSAGE, "architecture '%s': empty layer at the start",
					     arch);
			else
				maas_err_set(e, MAAS_EUSAGE, "architecture '%s': empty layer after '%.*s'",
					     arch, a->w[a->n - 1].len, body + a->w[a->n - 1].at);
			goto fail;
		}
		if (a->n == MAAS_ARCH_MAX_WORDS) {
			maas_err_set(e, MAAS_EUSAGE, "architecture '%.32s...': more than %d layers", arch,
				     MAAS_ARCH_MAX_WORDS);
			goto fail;
		}
		struct maas_arch_word *w = &a->w[a->n];
		if (parse_word(w, arch, ws, (int)(we - ws), e) < 0)
			goto fail;
		w->at = (int)(ws - body);
		w->len = (int)(we - ws);
		if (is_recurrent(w->kind) && a->n > 0 && !is_recurrent(a->w[a->n - 1].kind)) {
			maas_err_set(e, MAAS_EUSAGE,
				     "architecture '%s': '%.*s' comes after '%.*s': recurrent layers come first",
				     arch, w->len, ws, a->w[a->n - 1].len, body + a->w[a->n - 1].at);
			goto fail;
		}
		if (is_recurrent(w->kind) && T == 0) {
			maas_err_set(e, MAAS_EUSAGE,
				     "architecture '%s': '%.*s' needs sequence input (windows from maas-prep), but the data is tabular",
				     arch, w->len, ws);
			goto fail;
		}
		if (a->n == 0 && T > 0 && !is_recurrent(w->kind)) {
			maas_err_set(e, MAAS_EUSAGE,
				     "architecture '%s': '%.*s' cannot read sequence input (%d steps): the first layer must be rnn, gru or lstm",
				     arch, w->len, ws, T);
			goto fail;
		}
		a->n++;
		if (!end)
			break;
		q = end + 1;
	}
	return 0;
fail:
	maas_arch_release(a);
	return -1;
}

void maas_arch_release(struct maas_arch *a)
{
	free(a->expanded);
	free(a->w);
	memset(a, 0, sizeof *a);
}
