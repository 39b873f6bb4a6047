/* test_model.c - architecture strings, parameter layout, gradients, losses, PyTorch. */
#include "model_check.h"

/* ---- architecture strings ---- */

static void test_presets(void)
{
	struct maas_model m;
	static const struct {
		const char *arch, *expanded;
		int T, nlayers;
		const char *kinds;
	} cases[] = {
		{ "linear", "linear", 0, 1, "dense" },
		{ "mlp", "dense:256,relu,dense:128,relu", 0, 5, "dense,relu,dense,relu,dense" },
		{ "resmlp", "res:256x2", 0, 4, "dense,residual,residual,dense" },
		{ "rnn", "rnn:64", 8, 2, "rnn,dense" },
		{ "gru", "gru:64", 8, 2, "gru,dense" },
		{ "lstm", "lstm:64", 8, 2, "lstm,dense" },
		{ " mlp ", "dense:256,relu,dense:128,relu", 0, 5, "dense,relu,dense,relu,dense" },
		{ "dense:4, gelu ,tanh,sigmoid,dropout:0.5,layernorm", "dense:4, gelu ,tanh,sigmoid,dropout:0.5,layernorm",
		  0, 7, "dense,gelu,tanh,sigmoid,dropout,layernorm,dense" },
		{ "gru:8x2,lstm:4,rnn:3,relu", "gru:8x2,lstm:4,rnn:3,relu", 5, 5, "gru,lstm,rnn,relu,dense" },
		{ "res:20x3", "res:20x3", 0, 4, "residual,residual,residual,dense" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char kinds[256] = "";
		if (build(&m, cases[i].arch, 20, cases[i].T, 3) < 0) {
			ok(0, "preset '%s' builds", cases[i].arch);
			continue;
		}
		is_str(m.arch, cases[i].expanded, "'%s' expands", cases[i].arch);
		is_int(m.nlayers, cases[i].nlayers, "'%s' has %d top-level layers", cases[i].arch,
		       cases[i].nlayers);
		for (int j = 0; j < m.nlayers; j++) {
			if (j)
				strcat(kinds, ",");
			strcat(kinds, maas_layer_kind_name(m.layers[j].kind));
		}
		is_str(kinds, cases[i].kinds, "'%s' layer kinds", cases[i].arch);
		maas_model_release(&m);
	}

	/* details: dropout p, stacked recurrent layers, seq flags */
	if (build(&m, "gru:8x2,lstm:4,rnn:3,dropout:0.25", 6, 5, 2) == 0) {
		is_int(m.layers[0].stack, 2, "gru:8x2 stacks 2");
		is_int(m.layers[0].seq, 1, "gru before lstm passes all steps");
		is_int(m.layers[1].seq, 1, "lstm before rnn passes all steps");
		is_int(m.layers[2].seq, 0, "the last recurrent layer is many-to-one");
		is_int(m.layers[1].in, 8, "lstm reads 8 per step");
		is_int(m.recurrent, 1, "recurrent flag");
		is_near(m.layers[3].p, 0.25, 1e-7, "dropout p");
		maas_model_release(&m);
	}
}

static void test_arch_errors(void)
{
	static const struct {
		const char *arch;
		int T;
		const char *msg;
	} cases[] = {
		{ "dense:256,relu,dense:x", 0,
		  "architecture 'dense:256,relu,dense:x': 'dense:x' needs a whole number of units" },
		{ "dense:0", 0, "architecture 'dense:0': 'dense:0' needs 1 to 65536 units" },
		{ "dense:65537", 0, "architecture 'dense:65537': 'dense:65537' needs 1 to 65536 units" },
		{ "dense:99999999999999999999", 0, "'dense:99999999999999999999' needs 1 to 65536 units" },
		{ "dense:-3", 0, "'dense:-3' needs a whole number of units" },
		{ "dense:", 0, "'dense:' needs a whole number of units" },
		{ "dense", 0, "architecture 'dense': 'dense' needs a width, as in 'dense:128'" },
		{ "relu,gru", 0, "'gru' needs a width, as in 'gru:64x2'" },
		{ "res", 0, "'res' needs a width, as in 'res:256x2'" },
		{ "dense:8,relu:2", 0, "architecture 'dense:8,relu:2': 'relu:2' takes no argument" },
		{ "dense:8,layernorm:1", 0, "'layernorm:1' takes no argument" },
		{ "dense:8,swish", 0, "architecture 'dense:8,swish': 'swish' is not a layer (dense:N, relu," },
		{ "Dense:8", 0, "'Dense:8' is not a layer" },
		{ "dense:8,mlp", 0, "architecture 'dense:8,mlp': 'mlp' is a preset and stands alone" },
		{ "dropout", 0, "'dropout' needs a probability, as in 'dropout:0.2'" },
		{ "dropout:x", 0, "architecture 'dropout:x': 'dropout:x' needs a probability" },
		{ "dropout:0.5x", 0, "'dropout:0.5x' needs a probability" },
		{ "dropout:1", 0, "'dropout:1' needs a probability of at least 0 and below 1" },
		{ "dropout:-0.1", 0, "'dropout:-0.1' needs a probability of at least 0 and below 1" },
		{ "dropout:nan", 0, "'dropout:nan' needs a probability of at least 0 and below 1" },
		{ "res:64x0", 0, "'res:64x0' needs 1 to 16 blocks" },
		{ "res:64x17", 0, "'res:64x17' needs 1 to 16 blocks" },
		{ "res:64x", 0, "'res:64x' needs a whole number of blocks after 'x'" },
		{ "gru:64xy", 5, "'gru:64xy' needs a whole number of stacked layers after 'x'" },
		{ "lstm:64x99", 5, "'lstm:64x99' needs 1 to 16 stacked layers" },
		{ "gru:x2", 5, "'gru:x2' needs a whole number of units" },
		{ "dense:8x2", 0, "'dense:8x2' needs a whole number of units" },
		{ "dense:8,,relu", 0, "architecture 'dense:8,,relu': empty layer after 'dense:8'" },
		{ ",relu", 0, "architecture ',relu': empty layer at the start" },
		{ "dense:8,", 0, "empty layer after 'dense:8'" },
		{ "", 0, "architecture '': empty (use 'linear' for none)" },
		{ "  ", 0, "empty (use 'linear' for none)" },
		{ "gru:8,relu,gru:8", 5,
		  "architecture 'gru:8,relu,gru:8': 'gru:8' comes after 'relu': recurrent layers come first" },
		{ "gru:16", 0,
		  "architecture 'gru:16': 'gru:16' needs sequence input (windows from maas-prep), but the data is tabular" },
		{ "gru", 0, "architecture 'gru': 'gru:64' needs sequence input" },
		{ "dense:8,gru:4", 0, "'gru:4' comes after 'dense:8': recurrent layers come first" },
		{ "mlp", 12,
		  "architecture 'mlp': 'dense:256' cannot read sequence input (12 steps): the first layer must be rnn, gru or lstm" },
		{ "linear", 12,
		  "architecture 'linear': sequence input (12 steps) needs a recurrent first layer, as in 'gru:64'" },
		{ "dense:65536,dense:65536", 0, "parameters exceed the limit of 1073741824" },
	};
	struct maas_model m;
	struct maas_err e;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = maas_model_build(&m, cases[i].arch, 20, cases[i].T, 3, &e);
		is_int(rc, -1, "'%s' is refused", cases[i].arch);
		if (rc == 0) {
			maas_model_release(&m);
			continue;
		}
		is_int(e.kind, MAAS_EUSAGE, "'%s': usage error", cases[i].arch);
		if (!ok(strstr(e.msg, cases[i].msg) != NULL, "'%s': message", cases[i].arch))
			printf("#   got '%s'\n#   want '%s'\n", e.msg, cases[i].msg);
	}

	/* too long, too many words */
	char *s = xmalloc(5000);
	memset(s, 'a', 4999);
	s[4999] = 0;
	is_int(maas_model_build(&m, s, 3, 0, 2, &e), -1, "a long architecture is refused");
	ok(strstr(e.msg, "4999 characters exceed the limit of 4096") != NULL, "says the limit: %s", e.msg);
	s[0] = 0;
	for (int i = 0; i < 257; i++)
		strcat(s, i ? ",relu" : "relu");
	is_int(maas_model_build(&m, s, 3, 0, 2, &e), -1, "257 words are refused");
	ok(strstr(e.msg, "more than 256 layers") != NULL, "says more than 256: %s", e.msg);
	s[strlen(s) - 5] = 0;
	is_int(maas_model_build(&m, s, 3, 0, 2, &e), 0, "256 words are fine");
	if (m.arch)
		maas_model_release(&m);
	free(s);

	/* dimensions */
	is_int(maas_model_build(&m, "mlp", 0, 0, 2, &e), -1, "in_dim 0 refused");
	is_int(e.kind, MAAS_EDATA, "in_dim 0: data error");
	is_str(e.msg, "input width 0 is not within 1..16777216", "in_dim message");
	is_int(maas_model_build(&m, "mlp", 3, 0, 0, &e), -1, "out_dim 0 refused");
	is_str(e.msg, "output width 0 is not within 1..65536", "out_dim message");
	is_int(maas_model_build(&m, "gru", 3, -1, 2, &e), -1, "T -1 refused");
	is_str(e.msg, "sequence length -1 is not within 0..65536", "T message");
}

/* ---- layout ---- */

struct tcase {
	const char *name;
	int d0, d1;            /* d1 0: a vector */
};

static void check_layout(const char *arch, int in, int T, int out, size_t nparams,
			 const struct tcase *t, int nt)
{
	struct maas_model m;
	if (build(&m, arch, in, T, out) < 0) {
		ok(0, "'%s' builds", arch);
		return;
	}
	is_int(m.nparams, nparams, "'%s' on %d inputs has %zu parameters", arch, in, nparams);
	is_int(m.ntensors, nt, "'%s' has %d tensors", arch, nt);
	size_t off = 0;
	int good = 1;
	for (int i = 0; i < nt && i < m.ntensors; i++) {
		const struct maas_model_tensor *x = &m.tensors[i];
		int nd = t[i].d1 ? 2 : 1;
		if (strcmp(x->name, t[i].name) || x->ndim != nd || x->shape[0] != t[i].d0 ||
		    (nd == 2 && x->shape[1] != t[i].d1) || x->off != off) {
			printf("#   tensor %d: got %s (%d: %d, %d) at %zu, want %s (%d, %d) at %zu\n", i,
			       x->name, x->ndim, x->shape[0], x->shape[1], x->off, t[i].name, t[i].d0,
			       t[i].d1, off);
			good = 0;
		}
		off += maas_model_tensor_size(x);
	}
	ok(good && off == m.nparams, "'%s': names, shapes and offsets in order", arch);
	maas_model_release(&m);
}

static void test_layout(void)
{
	static const struct tcase mlp[] = {
		{ "0.weight", 256, 784 }, { "0.bias", 256, 0 }, { "2.weight", 128, 256 },
		{ "2.bias", 128, 0 }, { "4.weight", 10, 128 }, { "4.bias", 10, 0 },
	};
	check_layout("mlp", 784, 0, 10, 235146, mlp, 6);

	static const struct tcase lin[] = { { "0.weight", 3, 20 }, { "0.bias", 3, 0 } };
	check_layout("linear", 20, 0, 3, 63, lin, 2);

	static const struct tcase res[] = {
		{ "0.weight", 256, 20 }, { "0.bias", 256, 0 },
		{ "1.norm.weight", 256, 0 }, { "1.norm.bias", 256, 0 },
		{ "1.fc1.weight", 256, 256 }, { "1.fc1.bias", 256, 0 },
		{ "1.fc2.weight", 256, 256 }, { "1.fc2.bias", 256, 0 },
		{ "2.norm.weight", 256, 0 }, { "2.norm.bias", 256, 0 },
		{ "2.fc1.weight", 256, 256 }, { "2.fc1.bias", 256, 0 },
		{ "2.fc2.weight", 256, 256 }, { "2.fc2.bias", 256, 0 },
		{ "3.weight", 3, 256 }, { "3.bias", 3, 0 },
	};
	check_layout("resmlp", 20, 0, 3, 270339, res, 16);

	static const struct tcase res2[] = {
		{ "0.norm.weight", 6, 0 }, { "0.norm.bias", 6, 0 },
		{ "0.fc1.weight", 6, 6 }, { "0.fc1.bias", 6, 0 },
		{ "0.fc2.weight", 6, 6 }, { "0.fc2.bias", 6, 0 },
		{ "1.weight", 6, 0 }, { "1.bias", 6, 0 },
		{ "3.weight", 2, 6 }, { "3.bias", 2, 0 },
	};
	check_layout("res:6,layernorm,dropout:0.1", 6, 0, 2, 12 + 2 * 42 + 12 + 14, res2, 10);

	static const struct tcase gru[] = {
		{ "0.weight_ih_l0", 96, 3 }, { "0.weight_hh_l0", 96, 32 },
		{ "0.bias_ih_l0", 96, 0 }, { "0.bias_hh_l0", 96, 0 },
		{ "0.weight_ih_l1", 96, 32 }, { "0.weight_hh_l1", 96, 32 },
		{ "0.bias_ih_l1", 96, 0 }, { "0.bias_hh_l1", 96, 0 },
		{ "1.weight", 16, 32 }, { "1.bias", 16, 0 },
		{ "3.weight", 2, 16 }, { "3.bias", 2, 0 },
	};
	check_layout("gru:32x2,dense:16,relu", 3, 8, 2, 3552 + 6336 + 528 + 34, gru, 12);

	static const struct tcase lstm[] = {
		{ "0.weight_ih_l0", 256, 5 }, { "0.weight_hh_l0", 256, 64 },
		{ "0.bias_ih_l0", 256, 0 }, { "0.bias_hh_l0", 256, 0 },
		{ "1.weight", 1, 64 }, { "1.bias", 1, 0 },
	};
	check_layout("lstm", 5, 10, 1, 18241, lstm, 6);

	static const struct tcase rnn[] = {
		{ "0.weight_ih_l0", 4, 2 }, { "0.weight_hh_l0", 4, 4 },
		{ "0.bias_ih_l0", 4, 0 }, { "0.bias_hh_l0", 4, 0 },
		{ "1.weight_ih_l0", 12, 4 }, { "1.weight_hh_l0", 12, 4 },
		{ "1.bias_ih_l0", 12, 0 }, { "1.bias_hh_l0", 12, 0 },
		{ "2.weight", 3, 4 }, { "2.bias", 3, 0 },
	};
	check_layout("rnn:4,gru:4", 2, 7, 3, 32 + 120 + 15, rnn, 10);

	/* find, frozen prefix */
	struct maas_model m;
	if (build(&m, "mlp", 784, 0, 10) == 0) {
		const struct maas_model_tensor *t = maas_model_find(&m, "2.weight");
		ok(t && t->off == 200960 && t->layer == 2, "find 2.weight");
		ok(maas_model_find(&m, "1.weight") == NULL, "relu has no weight");
		ok(maas_model_find(&m, "2.weigh") == NULL, "no prefix match");
		is_int(maas_model_frozen_end(&m, 0), 0, "freeze 0");
		is_int(maas_model_frozen_end(&m, 1), 200960, "freeze 1 layer");
		is_int(maas_model_frozen_end(&m, 2), 200960, "freeze 2 layers (relu adds none)");
		is_int(maas_model_frozen_end(&m, 3), 233856, "freeze 3 layers");
		is_int(maas_model_frozen_end(&m, 99), m.nparams, "freeze everything");
		maas_model_release(&m);
	}
}

static void test_init(void)
{
	struct maas_model m, m2;
	struct maas_rng r;
	if (build(&m, "dense:50,layernorm,res:50", 400, 0, 3) < 0 ||
	    build(&m2, "dense:50,layernorm,res:50", 400, 0, 3) < 0)
		return;
	maas_rng_init(&r, 42, 1);
	maas_model_init_params(&m, &r);
	maas_rng_init(&r, 42, 1);
	maas_model_init_params(&m2, &r);
	ok(!memcmp(m.params, m2.params, m.nparams * sizeof *m.params), "same seed, same weights");
	maas_rng_init(&r, 43, 1);
	maas_model_init_params(&m2, &r);
	ok(memcmp(m.params, m2.params, m.nparams * sizeof *m.params) != 0, "another seed, other weights");

	const struct maas_model_tensor *w = maas_model_find(&m, "0.weight");
	double lo = 1, hi = -1, sum = 0, sq = 0, bound = 1 / sqrt(400.0);
	size_t n = maas_model_tensor_size(w);
	for (size_t i = 0; i < n; i++) {
		double v = m.params[w->off + i];
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
		sum += v;
		sq += v * v;
	}
	ok(lo >= -bound && hi <= bound && hi > 0.99 * bound && lo < -0.99 * bound,
	   "dense weights fill +-1/sqrt(400): [%g, %g]", lo, hi);
	is_near(sq / n, bound * bound / 3, 0.05 * bound * bound / 3, "uniform variance bound^2/3");
	is_near(sum / n, 0, 0.01 * bound, "mean near 0");
	const struct maas_model_tensor *g = maas_model_find(&m, "1.weight"), *b = maas_model_find(&m, "1.bias");
	const struct maas_model_tensor *g2 = maas_model_find(&m, "2.norm.weight");
	int good = 1;
	for (int i = 0; i < 50; i++)
		good &= m.params[g->off + i] == 1.0f && m.params[b->off + i] == 0.0f &&
			m.params[g2->off + i] == 1.0f;
	ok(good, "layernorm weight 1, bias 0");
	const struct maas_model_tensor *f = maas_model_find(&m, "2.fc1.bias");
	lo = 1, hi = -1;
	for (int i = 0; i < 50; i++) {
		double v = m.params[f->off + i];
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	ok(lo >= -1 / sqrt(50.0) && hi <= 1 / sqrt(50.0) && hi - lo > 0.5 / sqrt(50.0),
	   "dense bias within +-1/sqrt(in)");
	maas_model_release(&m);
	maas_model_release(&m2);
}

/* ---- gradient checks ---- */


static void test_gradients(void)
{
	gradcheck("linear", 5, 0, 3, 4, 0);
	gradcheck("dense:6", 5, 0, 3, 4, 0);
	gradcheck("dense:6,relu,dense:5,relu", 5, 0, 3, 4, 0);
	gradcheck("dense:6,gelu", 5, 0, 3, 4, 0);
	gradcheck("dense:6,tanh", 5, 0, 3, 4, 0);
	gradcheck("dense:6,sigmoid", 5, 0, 3, 4, 0);
	gradcheck("dense:6,layernorm", 5, 0, 3, 4, 0);
	gradcheck("layernorm,dense:4", 5, 0, 3, 4, 0);
	gradcheck("res:6", 5, 0, 3, 4, 0);
	gradcheck("res:5x2", 5, 0, 3, 4, 0);
	gradcheck("relu,res:5,tanh,res:4", 5, 0, 3, 4, 0);
	gradcheck("dense:16,dropout:0.4", 5, 0, 3, 4, 1);
	gradcheck("dense:16,relu", 5, 0, 3, 4, 1);
	gradcheck("dense:16,dropout:0.4,relu", 5, 0, 3, 4, 1);
	gradcheck("dense:6,gelu,layernorm,dense:7,sigmoid,res:7,tanh", 5, 0, 2, 3, 0);
}

/* dropout itself: identity when not training, inverted scaling when training */
static void test_dropout(void)
{
	struct maas_model m;
	struct maas_acts a;
	struct maas_rng r;
	enum { B = 64, N = 200 };
	if (build(&m, "dense:200,dropout:0.3", 10, 0, 1) < 0)
		return;
	float *x = xcalloc(B * 10, sizeof *x);
	maas_rng_init(&r, 3, 1);
	maas_model_init_params(&m, &r);
	fill_normal(x, B * 10, 1.0, &r);
	maas_acts_alloc(&a, &m, B);
	maas_model_forward(&m, &a, x, B, 0, NULL);
	float eval = a.logits[5];
	maas_model_forward(&m, &a, x, B, 1, &r);
	float tr1 = a.logits[5];
	maas_model_forward(&m, &a, x, B, 1, &r);
	float tr2 = a.logits[5];
	ok(tr1 != eval && tr1 != tr2, "training draws a new mask each step (%g %g %g)", eval, tr1, tr2);
	maas_model_forward(&m, &a, x, B, 1, NULL);
	is_near(a.logits[5], eval, 0, "no rng: identity");

	/* mask statistics through a model with an identity-like output: count zeros */
	struct maas_model m2;
	struct maas_acts a2;
	if (build(&m2, "dropout:0.3", N, 0, 1) == 0) {
		float *ones = xmalloc(B * N * sizeof *ones);
		for (int i = 0; i < B * N; i++)
			ones[i] = 1.0f;
		for (size_t i = 0; i < m2.nparams; i++)
			m2.params[i] = 1.0f;
		m2.params[m2.nparams - 1] = 0;   /* bias */
		maas_acts_alloc(&a2, &m2, B);
		maas_model_forward(&m2, &a2, ones, B, 1, &r);
		double mean = 0;
		for (int i = 0; i < B; i++)
			mean += a2.logits[i] / (double)B;
		/* each logit sums N values, each 0 or 1/0.7: mean N */
		is_near(mean, N, 0.03 * N, "inverted dropout keeps the mean (%.1f)", mean);
		maas_model_forward(&m2, &a2, ones, B, 0, &r);
		is_near(a2.logits[0], N, 1e-3, "eval: sum of inputs");
		maas_acts_release(&a2);
		maas_model_release(&m2);
		free(ones);
	}
	maas_acts_release(&a);
	maas_model_release(&m);
	free(x);
}

/* a smaller batch than the acts were made for gives the same rows */
static void test_batch_prefix(void)
{
	struct maas_model m;
	struct maas_acts a, b;
	struct maas_rng r;
	if (build(&m, "res:8,dense:6,gelu,layernorm", 5, 0, 3) < 0)
		return;
	float x[7 * 5], R[7 * 3];
	maas_rng_init(&r, 5, 1);
	maas_model_init_params(&m, &r);
	fill_normal(x, 35, 1, &r);
	fill_normal(R, 21, 1, &r);
	maas_acts_alloc(&a, &m, 7);
	maas_acts_alloc(&b, &m, 3);
	maas_model_forward(&m, &a, x, 3, 0, NULL);
	maas_model_forward(&m, &b, x, 3, 0, NULL);
	ok(!memcmp(a.logits, b.logits, 9 * sizeof(float)), "B=3 in acts for 7 equals acts for 3");
	ok(a.nmem > b.nmem, "acts grow with B");
	float *g = xmalloc(m.nparams * sizeof *g);
	maas_model_zero_grad(&m);
	maas_model_backward(&m, &a, x, R, 3);
	memcpy(g, m.grads, m.nparams * sizeof *g);
	maas_model_zero_grad(&m);
	maas_model_backward(&m, &b, x, R, 3);
	ok(!memcmp(g, m.grads, m.nparams * sizeof *g), "and the same gradients");
	free(g);
	maas_acts_release(&a);
	maas_acts_release(&b);
	maas_model_release(&m);
}

/* a model with borrowed tensors (maas_model_layout) computes what the
 * model that owns them does, wherever the values lie: here in one buffer,
 * tensors in reverse order, as a safetensors file sorted by name would */
static void test_borrowed(void)
{
	static const struct { const char *arch; int in, T; } cases[] = {
		{"mlp", 6, 0}, {"res:8x2,dense:6,gelu,layernorm", 5, 0}, {"gru:6x2,dense:4,tanh", 3, 4},
		{"lstm:5,rnn:4", 2, 3},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		struct maas_model m, b;
		struct maas_acts am, ab;
		struct maas_rng r;
		struct maas_err e;
		int in = cases[c].in, T = cases[c].T, rows = 3;
		size_t nx = (size_t)rows * (size_t)(T ? T : 1) * (size_t)in;
		if (build(&m, cases[c].arch, in, T, 3) < 0)
			continue;
		if (!ok(maas_model_layout(&b, cases[c].arch, in, T, 3, &e) == 0, "%s: lays out", cases[c].arch)) {
			maas_model_release(&m);
			continue;
		}
		ok(b.params == NULL && b.grads == NULL && b.nparams == m.nparams && b.ntensors == m.ntensors &&
		   b.tensors[0].data == NULL, "%s: no parameter memory, the same tensors", cases[c].arch);
		maas_rng_init(&r, 9, 1);
		maas_model_init_params(&m, &r);
		float *vals = xmallocarray(m.nparams, sizeof *vals), *x = xmallocarray(nx, sizeof *x), *at = vals;
		for (int i = m.ntensors - 1; i >= 0; i--) {
			size_t n = maas_model_tensor_size(&m.tensors[i]);
			memcpy(at, m.tensors[i].data, n * sizeof *at);
			b.tensors[i].data = at;
			at += n;
		}
		fill_normal(x, nx, 1, &r);
		maas_acts_alloc(&am, &m, rows);
		maas_acts_alloc(&ab, &b, rows);
		maas_model_forward(&m, &am, x, rows, 0, NULL);
		maas_model_forward(&b, &ab, x, rows, 0, NULL);
		ok(!memcmp(am.logits, ab.logits, (size_t)rows * 3 * sizeof(float)), "%s: borrowed tensors give the same "
		   "logits", cases[c].arch);
		maas_acts_release(&am);
		maas_acts_release(&ab);
		free(vals);
		free(x);
		maas_model_release(&b);
		maas_model_release(&m);
	}
}

/* ---- losses ---- */

static void loss_gradcheck(const char *what, const struct maas_loss_opts *o, const float *logits,
			   const double *y, int B, int K)
{
	size_t n = (size_t)B * K;
	float *x = xmalloc(n * sizeof *x), *d = xmalloc(n * sizeof *d), *tmp = xmalloc(n * sizeof *tmp);
	memcpy(x, logits, n * sizeof *x);
	maas_loss_compute(o, x, y, B, K, d, NULL);
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		float v = x[i], h = 1e-3f;
		float vp = v + h, vm = v - h;
		x[i] = vp;
		double fp = maas_loss_compute(o, x, y, B, K, tmp, NULL);
		x[i] = vm;
		double fm = maas_loss_compute(o, x, y, B, K, tmp, NULL);
		x[i] = v;
		double num = (fp - fm) / ((double)vp - (double)vm);
		double err = fabs(num - d[i]) / (fabs(num) + 1e-4);
		worst = err > worst ? err : worst;
	}
	ok(worst < 1e-3, "loss gradcheck %s: worst relative error %.2g", what, worst);
	free(x);
	free(d);
	free(tmp);
}

static void test_losses(void)
{
	enum { B = 5, K = 4 };
	struct maas_rng r;
	float logits[B * K], d[B * K], probs[B * K];
	double cls[B] = { 0, 3, 1, 1, 2 }, bin[B] = { 0, 1, 1, 0, 1 }, val[B * K];
	float w[K] = { 0.5f, 2.0f, 1.0f, 3.0f };
	struct maas_loss_opts o = { MAAS_LOSS_SOFTMAX_CE, NULL, 0, 1 };

	is_str(maas_loss_name(MAAS_LOSS_SOFTMAX_CE), "cross-entropy", "name ce");
	is_str(maas_loss_name(MAAS_LOSS_HUBER), "huber", "name huber");
	is_int(maas_loss_parse("bce"), MAAS_LOSS_BCE, "parse bce");
	is_int(maas_loss_parse("mae"), MAAS_LOSS_MAE, "parse mae");
	is_int(maas_loss_parse("l1"), -1, "parse unknown");

	maas_rng_init(&r, 11, 1);
	fill_normal(logits, B * K, 1.5, &r);
	for (int i = 0; i < B * K; i++)
		val[i] = maas_rng_normal(&r) * 2;

	/* exact values */
	float zero[B * K] = { 0 };
	is_near(maas_loss_compute(&o, zero, cls, B, K, d, probs), log(4.0), 1e-12, "ce of equal logits is log K");
	is_near(probs[3], 0.25, 1e-7, "softmax probs");
	is_near(d[0], (0.25 - 1) / B, 1e-8, "ce gradient at the target");
	is_near(d[1], 0.25 / B, 1e-8, "ce gradient elsewhere");

	/* by hand: a weighted, smoothed CE of two samples */
	{
		float x2[6] = { 1, 2, 0.5f, -1, 0, 3 };
		double y2[2] = { 1, 2 };
		float w3[3] = { 2, 0.5f, 1 };
		struct maas_loss_opts o2 = { MAAS_LOSS_SOFTMAX_CE, w3, 0.3f, 1 };
		double want = 0, wsum = 0;
		for (int n = 0; n < 2; n++) {
			double lse = 0;
			for (int c = 0; c < 3; c++)
				lse += exp(x2[n * 3 + c]);
			lse = log(lse);
			int t = (int)y2[n];
			wsum += w3[t];
			want += (1 - 0.3) * w3[t] * (lse - x2[n * 3 + t]);
			for (int c = 0; c < 3; c++)
				want += 0.3 / 3 * w3[c] * (lse - x2[n * 3 + c]);
		}
		want /= wsum;
		float d2[6];
		is_near(maas_loss_compute(&o2, x2, y2, 2, 3, d2, NULL), want, 1e-6 * want,
			"weighted smoothed ce by hand (%.6f)", want);
		loss_gradcheck("ce weighted + smoothing by hand", &o2, x2, y2, 2, 3);
	}

	loss_gradcheck("ce", &o, logits, cls, B, K);
	o.class_weight = w;
	loss_gradcheck("ce with class weights", &o, logits, cls, B, K);
	o.label_smoothing = 0.2f;
	loss_gradcheck("ce with weights and smoothing", &o, logits, cls, B, K);
	o.class_weight = NULL;
	loss_gradcheck("ce with smoothing", &o, logits, cls, B, K);
	{
		/* smoothing: the gradient of a sample sums to 0 */
		maas_loss_compute(&o, logits, cls, B, K, d, NULL);
		double s = 0;
		for (int c = 0; c < K; c++)
			s += d[c];
		is_near(s, 0, 1e-7, "ce gradient rows sum to 0");
	}

	o = (struct maas_loss_opts){ MAAS_LOSS_BCE, NULL, 0, 1 };
	float bz[B] = { 0, 0, 0, 0, 0 }, big[B] = { 100, -100, 30, 0, -30 };
	is_near(maas_loss_compute(&o, bz, bin, B, 1, d, probs), log(2.0), 1e-12, "bce at 0 is log 2");
	is_near(probs[0], 0.5, 0, "sigmoid prob 0.5");
	double lb = maas_loss_compute(&o, big, bin, B, 1, d, probs);
	/* 100 with y 0: 100; -100 with y 1: 100; 30 y 1: ~0; 0 y 0: log 2; -30 y 1: 30 */
	is_near(lb, (200 + 30 + log(2.0) + log1p(exp(-30.0)) * 3) / B, 1e-9, "bce is stable for large logits");
	ok(isfinite(d[0]) && fabs(d[0] - 1.0 / B) < 1e-7, "bce gradient saturates at 1/B");
	loss_gradcheck("bce", &o, logits, bin, B, 1);

	o = (struct maas_loss_opts){ MAAS_LOSS_MSE, NULL, 0, 1 };
	float p1[2] = { 1, -2 };
	double y1[2] = { 3, -5 };
	is_near(maas_loss_compute(&o, p1, y1, 2, 1, d, probs), 6.5, 1e-12, "mse (4+9)/2");
	is_near(d[0], -2.0, 1e-7, "mse gradient 2(x-y)/B");
	is_near(d[1], 3.0, 1e-7, "mse gradient 2(x-y)/B, positive");
	is_near(probs[1], -2.0, 0, "regression probs are the predictions");
	loss_gradcheck("mse", &o, logits, val, B, 1);
	loss_gradcheck("mse with 4 outputs", &o, logits, val, B, K);

	o.kind = MAAS_LOSS_MAE;
	is_near(maas_loss_compute(&o, p1, y1, 2, 1, d, NULL), 2.5, 1e-12, "mae (2+3)/2");
	is_near(d[0], -0.5, 0, "mae gradient -1/B");
	is_near(d[1], 0.5, 0, "mae gradient +1/B");
	float at[1] = { 3 };
	maas_loss_compute(&o, at, y1, 1, 1, d, NULL);
	is_near(d[0], 0, 0, "mae gradient 0 at 0");
	loss_gradcheck("mae away from 0", &o, logits, val, B, 1);

	o = (struct maas_loss_opts){ MAAS_LOSS_HUBER, NULL, 0, 1.5f };
	float hx[2] = { 1, -4 };
	double hy[2] = { 0, 0 };
	/* 0.5*1 = 0.5; 1.5*(4-0.75) = 4.875 */
	is_near(maas_loss_compute(&o, hx, hy, 2, 1, d, NULL), (0.5 + 4.875) / 2, 1e-12, "huber both sides");
	is_near(d[0], 0.5, 1e-7, "huber gradient inside: d/B");
	is_near(d[1], -0.75, 1e-7, "huber gradient outside: -delta/B");
	o.huber_delta = 0;
	is_near(maas_loss_compute(&o, hx, hy, 2, 1, d, NULL), (0.5 + 3.5) / 2, 1e-12, "huber delta 0 means 1");
	o.huber_delta = 1.0f;
	{
		/* half the values inside delta, half outside */
		int in = 0;
		for (int i = 0; i < B; i++)
			in += fabs(logits[i] - val[i]) < 1.0;
		ok(in > 0 && in < B, "huber check has values on both sides of delta (%d of %d inside)", in, B);
	}
	loss_gradcheck("huber", &o, logits, val, B, 1);
	o.huber_delta = 0.7f;
	loss_gradcheck("huber delta 0.7 with 4 outputs", &o, logits, val, B, K);
}

/* ---- PyTorch ---- */


static void test_torch(void)
{
	static const float w4[4] = { 0.5f, 1.0f, 2.0f, 1.5f };
	static const struct torch_run cases[] = {
		{ "dense:16,relu,dense:8,relu", 10, 0, 4, 6, { MAAS_LOSS_SOFTMAX_CE, w4, 0.1f, 1 } },
		{ "mlp", 30, 0, 10, 16, { MAAS_LOSS_SOFTMAX_CE, NULL, 0, 1 } },
		{ "res:8x2", 10, 0, 3, 5, { MAAS_LOSS_SOFTMAX_CE, NULL, 0, 1 } },
		{ "resmlp", 12, 0, 4, 8, { MAAS_LOSS_SOFTMAX_CE, w4, 0.2f, 1 } },
		{ "res:10,dense:6,relu", 10, 0, 1, 7, { MAAS_LOSS_HUBER, NULL, 0, 0.5f } },
		{ "dense:12,tanh,layernorm,dense:8,sigmoid,dense:8,gelu", 10, 0, 1, 9,
		  { MAAS_LOSS_BCE, NULL, 0, 1 } },
		{ "dense:8,relu", 6, 0, 2, 5, { MAAS_LOSS_MSE, NULL, 0, 1 } },
		{ "linear", 6, 0, 1, 5, { MAAS_LOSS_MAE, NULL, 0, 1 } },
	};
	torch_run(cases, (int)(sizeof cases / sizeof cases[0]));
}

int main(void)
{
	struct maas_err e;
	if (maas_blas_init(NULL, &e) < 0) {
		printf("Bail out! %s\n", e.msg);
		return 1;
	}
	test_presets();
	test_arch_errors();
	test_layout();
	test_init();
	test_gradients();
	test_dropout();
	test_batch_prefix();
	test_borrowed();
	test_losses();
	test_torch();
	return done_testing();
}
