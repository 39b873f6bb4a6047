/* test_model_rnn.c - recurrent layers inside a model: gradients, layout, PyTorch.
 *
 * The helpers (gradcheck, the PyTorch cases) are shared with test_model.c
 * through model_check.h; this file is apart so that test_model.c links
 * before recurrent.c does.
 */
#include "model_check.h"

/* many-to-one: only the last step of the last recurrent layer matters */
static void test_many_to_one(const char *arch)
{
	struct maas_model m;
	struct maas_acts a;
	struct maas_rng r;
	enum { B = 3, T = 6, C = 2 };
	float x[B * T * C], x2[B * T * C];
	if (build(&m, arch, C, T, 2) < 0) {
		ok(0, "'%s' builds", arch);
		return;
	}
	maas_rng_init(&r, 8, 1);
	maas_model_init_params(&m, &r);
	fill_normal(x, B * T * C, 1, &r);
	maas_acts_alloc(&a, &m, B);
	maas_model_forward(&m, &a, x, B, 0, NULL);
	float l0[B * 2];
	memcpy(l0, a.logits, sizeof l0);
	/* the last step of sample 1 changes its output, and only its */
	memcpy(x2, x, sizeof x);
	x2[(1 * T + T - 1) * C] += 0.5f;
	maas_model_forward(&m, &a, x2, B, 0, NULL);
	ok(a.logits[2] != l0[2] && a.logits[0] == l0[0] && a.logits[4] == l0[4],
	   "'%s': a sample's last step moves its output only", arch);
	/* the first step matters too (through the state) */
	memcpy(x2, x, sizeof x);
	x2[(1 * T) * C] += 0.5f;
	maas_model_forward(&m, &a, x2, B, 0, NULL);
	ok(a.logits[2] != l0[2], "'%s': the first step reaches the output", arch);
	/* a batch of 1 inside acts for 3 gives the same first row */
	maas_model_forward(&m, &a, x, 1, 0, NULL);
	ok(a.logits[0] == l0[0] && a.logits[1] == l0[1], "'%s': B=1 in acts for 3", arch);
	maas_acts_release(&a);
	maas_model_release(&m);
}

static void test_rnn_gradients(void)
{
	gradcheck("rnn:5x2,dense:6,tanh", 3, 4, 3, 3, 0);
	gradcheck("gru:5x2,dense:6,relu", 3, 4, 3, 3, 0);
	gradcheck("gru:5x2,dense:6,sigmoid", 3, 4, 3, 3, 0);
	gradcheck("lstm:5x2,dense:6,gelu", 3, 4, 3, 3, 0);
	gradcheck("gru:4,lstm:3,rnn:5,dense:4", 2, 5, 2, 3, 0);
	gradcheck("lstm:6,dropout:0.3,layernorm", 3, 4, 2, 3, 1);
	gradcheck("gru", 2, 3, 1, 2, 0);
}

static void test_rnn_torch(void)
{
	static const float w3[3] = { 1.0f, 2.0f, 0.5f };
	static const struct torch_run cases[] = {
		{ "gru:8x2,dense:6,relu", 3, 5, 3, 4, { MAAS_LOSS_SOFTMAX_CE, w3, 0.1f, 1 } },
		{ "lstm:6x2,dense:5,tanh", 2, 7, 1, 5, { MAAS_LOSS_MSE, NULL, 0, 1 } },
		{ "rnn:5x2,dense:4,relu", 4, 6, 1, 3, { MAAS_LOSS_BCE, NULL, 0, 1 } },
		{ "gru:6,lstm:5,rnn:4,layernorm", 3, 4, 3, 4, { MAAS_LOSS_SOFTMAX_CE, NULL, 0, 1 } },
		{ "gru", 1, 32, 1, 8, { MAAS_LOSS_HUBER, NULL, 0, 1 } },
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
	test_many_to_one("gru:4x2,dense:3");
	test_many_to_one("lstm:4,rnn:3");
	test_rnn_gradients();
	test_rnn_torch();
	return done_testing();
}
