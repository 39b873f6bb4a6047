/* test_optim.c - optimizers against hand-computed steps and a plain float
 * reference, clipping, schedules, and PyTorch itself when /usr/bin/python3
 * can import torch (test/tools/torch_optim.py).  Run from the repository
 * root. */
#include <stdlib.h>
#include <unistd.h>

#include "core/mem.h"
#include "nn/optim.h"
#include "tap.h"

/* ---- names and defaults ---- */

static void test_names(void)
{
	is_int(maas_optimizer_parse("sgd"), MAAS_OPT_SGD, "parse sgd");
	is_int(maas_optimizer_parse("Adam"), MAAS_OPT_ADAM, "parse Adam (any case)");
	is_int(maas_optimizer_parse("ADAMW"), MAAS_OPT_ADAMW, "parse ADAMW");
	is_int(maas_optimizer_parse("adamax"), -1, "unknown optimizer is -1");
	is_int(maas_optimizer_parse(""), -1, "empty optimizer is -1");
	is_int(maas_optimizer_parse(NULL), -1, "NULL optimizer is -1");
	is_str(maas_optimizer_name(MAAS_OPT_ADAMW), "adamw", "name adamw");
	is_str(maas_optimizer_name((enum maas_optimizer)7), "unknown", "name of a bad value");
	for (int i = 0; i < 3; i++)
		is_int(maas_optimizer_parse(maas_optimizer_name(i)), i, "optimizer %d round trip", i);

	is_int(maas_schedule_parse("cosine"), MAAS_SCHED_COSINE, "parse cosine");
	is_int(maas_schedule_parse("Plateau"), MAAS_SCHED_PLATEAU, "parse Plateau");
	is_int(maas_schedule_parse("linear"), -1, "unknown schedule is -1");
	for (int i = 0; i < 4; i++)
		is_int(maas_schedule_parse(maas_schedule_name(i)), i, "schedule %d round trip", i);
}

static void test_defaults(void)
{
	struct maas_optim o;
	maas_optim_init(&o, MAAS_OPT_ADAMW, 10);
	is_near(o.lr, 1e-3, 0, "default lr 1e-3");
	is_near(o.beta1, 0.9, 0, "beta1 0.9");
	is_near(o.beta2, 0.999, 0, "beta2 0.999");
	is_near(o.eps, 1e-8, 0, "eps 1e-8");
	is_near(o.weight_decay, 0.01, 0, "adamw weight decay 0.01");
	is_int(maas_optim_state_len(&o), 20, "adamw state is 2n");
	int zero = 1;
	for (int i = 0; i < 20; i++)
		zero &= o.state[i] == 0;
	ok(zero, "state starts at zero");
	maas_optim_release(&o);
	ok(o.state == NULL, "release clears state");
	maas_optim_release(&o);         /* twice is harmless */

	maas_optim_init(&o, MAAS_OPT_ADAM, 10);
	is_near(o.weight_decay, 0, 0, "adam weight decay 0");
	maas_optim_release(&o);
	maas_optim_init(&o, MAAS_OPT_SGD, 10);
	is_near(o.momentum, 0, 0, "sgd momentum 0");
	is_int(o.nesterov, 0, "sgd nesterov off");
	is_int(maas_optim_state_len(&o), 10, "sgd state is n");
	maas_optim_release(&o);
	maas_optim_init(&o, MAAS_OPT_SGD, 0);
	maas_optim_step(&o, NULL, NULL);        /* no parameters: nothing to do */
	is_int(o.step, 1, "an empty step still counts");
	maas_optim_release(&o);
}

/* ---- hand-computed steps ---- */

/* Three parameters, three steps of fixed gradients, lr 0.1.  The expected
 * values are the formulas of optim.h worked out in double precision:
 *   sgd           p -= 0.1*g:  1 - 0.1*0.1 = 0.99;  0.99 - 0.1*0.2 = 0.97 ...
 *   sgd_wd        d = g + 0.1*p: 1 - 0.1*(0.1 + 0.1) = 0.98 ...
 *   momentum 0.9  b = g1 = 0.1, p = 0.99; b = 0.9*0.1 + 0.2 = 0.29, p = 0.961
 *   nesterov, wd  d = 0.1 + 0.1*1 = 0.2, b = 0.2, p = 1 - 0.1*(0.2+0.18) = 0.962
 *   adam          t=1: m = 0.01, v = 1e-5, m^ = 0.1, sqrt(v^) = 0.1,
 *                 p = 1 - 0.1*0.1/(0.1 + 1e-8) = 0.900000010 ...
 *   adam_wd 0.1   the same with g + 0.1*p
 *   adamw 0.1     p *= 1 - 0.1*0.1 first: 0.99 - 0.1 = 0.890000010 ... */
static const float P0[3] = { 1.0f, -0.5f, 0.25f };
static const float G[3][3] = { { 0.1f, -0.2f, 0.3f }, { 0.2f, 0.1f, -0.4f }, { -0.3f, 0.05f, 0.1f } };

struct hand_case {
	const char *name;
	enum maas_optimizer kind;
	double momentum, wd;
	int nesterov;
	double want[3][3];
};

static const struct hand_case HAND[] = {
	{ "sgd", MAAS_OPT_SGD, 0, 0, 0, {
		{ 0.990000000, -0.480000000, 0.220000000 },
		{ 0.970000000, -0.490000000, 0.260000000 },
		{ 1.000000000, -0.495000000, 0.250000000 } } },
	{ "sgd weight decay", MAAS_OPT_SGD, 0, 0.1, 0, {
		{ 0.980000000, -0.475000000, 0.217500000 },
		{ 0.950200000, -0.480250000, 0.255325000 },
		{ 0.970698000, -0.480447500, 0.242771750 } } },
	{ "sgd momentum", MAAS_OPT_SGD, 0.9, 0, 0, {
		{ 0.990000000, -0.480000000, 0.220000000 },
		{ 0.961000000, -0.472000000, 0.233000000 },
		{ 0.964900000, -0.469800000, 0.234700000 } } },
	{ "sgd nesterov weight decay", MAAS_OPT_SGD, 0.9, 0.1, 1, {
		{ 0.962000000, -0.452500000, 0.188250000 },
		{ 0.889522000, -0.442652500, 0.234348250 },
		{ 0.891048882, -0.429951853, 0.218078308 } } },
	{ "adam", MAAS_OPT_ADAM, 0, 0, 0, {
		{ 0.900000010, -0.400000005, 0.150000003 },
		{ 0.803481814, -0.373366303, 0.169351044 },
		{ 0.810141715, -0.367227417, 0.171482225 } } },
	{ "adam weight decay", MAAS_OPT_ADAM, 0, 0.1, 0, {
		{ 0.900000005, -0.400000004, 0.150000003 },
		{ 0.800703320, -0.352220525, 0.163664584 },
		{ 0.769451762, -0.319017209, 0.159570690 } } },
	{ "adamw", MAAS_OPT_ADAMW, 0, 0.1, 0, {
		{ 0.890000010, -0.395000005, 0.147500003 },
		{ 0.784581813, -0.364416303, 0.165376044 },
		{ 0.783395897, -0.354633254, 0.165853465 } } },
};

static void test_hand(void)
{
	for (size_t c = 0; c < sizeof HAND / sizeof *HAND; c++) {
		const struct hand_case *h = &HAND[c];
		struct maas_optim o;
		float p[3];
		memcpy(p, P0, sizeof p);
		maas_optim_init(&o, h->kind, 3);
		o.lr = 0.1;
		o.momentum = h->momentum;
		o.nesterov = h->nesterov;
		o.weight_decay = h->wd;
		for (int t = 0; t < 3; t++) {
			maas_optim_step(&o, p, G[t]);
			for (int i = 0; i < 3; i++)
				is_near(p[i], h->want[t][i], 2e-7 + 2e-7 * fabs(h->want[t][i]),
					"%s: step %d, parameter %d", h->name, t + 1, i);
		}
		is_int(o.step, 3, "%s: three steps counted", h->name);
		maas_optim_release(&o);
	}
}

static void test_frozen(void)
{
	struct maas_optim o;
	float p[3];
	memcpy(p, P0, sizeof p);
	maas_optim_init(&o, MAAS_OPT_ADAMW, 3);
	o.lr = 0.1;
	o.weight_decay = 0.1;
	o.frozen = 1;
	for (int t = 0; t < 3; t++)
		maas_optim_step(&o, p, G[t]);
	ok(p[0] == 1.0f, "frozen parameter stays (and is not decayed)");
	ok(o.state[0] == 0 && o.state[3] == 0, "frozen parameter's moments stay zero");
	is_near(p[1], HAND[6].want[2][1], 4e-7, "parameter after the frozen prefix is updated");
	is_near(p[2], HAND[6].want[2][2], 4e-7, "last parameter is updated");
	maas_optim_release(&o);

	maas_optim_init(&o, MAAS_OPT_SGD, 3);
	o.frozen = 5;                   /* more than n: everything frozen */
	memcpy(p, P0, sizeof p);
	maas_optim_step(&o, p, G[0]);
	ok(!memcmp(p, P0, sizeof p), "frozen beyond n freezes everything");
	maas_optim_release(&o);
}

/* ---- the vectorised loops against a plain float loop ---- */

/* The same float operations in the same order, one parameter at a time:
 * the chunked (SSE2/AVX2) update must give exactly these bits. */
static void ref_step(const struct maas_optim *o, float *p, const float *g, float *s, uint64_t step)
{
	size_t n = o->n;
	for (size_t i = o->frozen; i < n; i++) {
		if (o->kind == MAAS_OPT_SGD) {
			float d = g[i];
			if (o->weight_decay != 0)
				d = d + (float)o->weight_decay * p[i];
			if (o->momentum != 0) {
				s[i] = s[i] * (float)o->momentum + d;
				d = o->nesterov ? d + (float)o->momentum * s[i] : s[i];
			}
			p[i] = p[i] + (float)-o->lr * d;
			continue;
		}
		double bc1 = 1 - pow(o->beta1, (double)step), bc2 = 1 - pow(o->beta2, (double)step);
		float gi = g[i];
		if (o->kind == MAAS_OPT_ADAMW)
			p[i] = p[i] * (float)(1 - o->lr * o->weight_decay);
		else if (o->weight_decay != 0)
			gi = gi + (float)o->weight_decay * p[i];
		s[i] = s[i] * (float)o->beta1 + (float)(1 - o->beta1) * gi;
		s[n + i] = s[n + i] * (float)o->beta2 + (float)(1 - o->beta2) * gi * gi;
		float denom = sqrtf(s[n + i]) / (float)sqrt(bc2) + (float)o->eps;
		p[i] = p[i] + (float)-(o->lr / bc1) * s[i] / denom;
	}
}

static void vector_exact(void)
{
	enum { N = 1000 + 13, STEPS = 4 };
	struct { enum maas_optimizer kind; double mom, wd; int nest; size_t frozen; } cases[] = {
		{ MAAS_OPT_SGD, 0, 0, 0, 0 }, { MAAS_OPT_SGD, 0.9, 0, 0, 3 },
		{ MAAS_OPT_SGD, 0.9, 1e-2, 1, 17 }, { MAAS_OPT_SGD, 0, 1e-2, 0, 0 },
		{ MAAS_OPT_ADAM, 0, 0, 0, 0 }, { MAAS_OPT_ADAM, 0, 0.1, 0, 5 },
		{ MAAS_OPT_ADAMW, 0, 0.01, 0, 31 },
	};
	float *p = xmallocarray(N, sizeof *p), *q = xmallocarray(N, sizeof *q);
	float *g = xmallocarray(N, sizeof *g), *s = xcalloc(2 * N, sizeof *s);
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		struct maas_optim o;
		maas_optim_init(&o, cases[c].kind, N);
		o.lr = 0.01;
		o.momentum = cases[c].mom;
		o.weight_decay = cases[c].wd;
		o.nesterov = cases[c].nest;
		o.frozen = cases[c].frozen;
		memset(s, 0, 2 * N * sizeof *s);
		for (int i = 0; i < N; i++)
			p[i] = q[i] = (float)((i * 37) % 101 - 50) / 17.0f;
		for (uint64_t t = 1; t <= STEPS; t++) {
			for (int i = 0; i < N; i++)
				g[i] = (float)((i * 13 + (int)t * 7) % 23 - 11) / 9.0f + 0.01f * p[i];
			maas_optim_step(&o, p, g);
			ref_step(&o, q, g, s, t);
		}
		ok(!memcmp(p, q, N * sizeof *p), "%s %s case %zu: vector loop gives the scalar loop's bits",
		   maas_optim_isa(), maas_optimizer_name(o.kind), c);
		ok(!memcmp(o.state, s, maas_optim_state_len(&o) * sizeof *s),
		   "%s %s case %zu: moments are the scalar loop's bits", maas_optim_isa(),
		   maas_optimizer_name(o.kind), c);
		maas_optim_release(&o);
	}
	free(p);
	free(q);
	free(g);
	free(s);
}

static void test_vector_exact(void)
{
	const char *isa = maas_optim_isa();
	ok(!strcmp(isa, "avx2") || !strcmp(isa, "sse2") || !strcmp(isa, "scalar"), "isa is %s", isa);
	vector_exact();
	maas_optim_force_portable(1);
	ok(strcmp(maas_optim_isa(), "avx2") != 0, "forced portable loop (%s)", maas_optim_isa());
	vector_exact();
	maas_optim_force_portable(0);
}

/* ---- clipping ---- */

static void test_clip(void)
{
	float g[2] = { 3, 4 };
	is_near(maas_clip_grad_norm(g, 2, 10.0), 5.0, 1e-12, "norm of (3,4) is 5");
	ok(g[0] == 3 && g[1] == 4, "norm under max_norm: unchanged");
	/* clip_coef = 1/(5 + 1e-6) */
	is_near(maas_clip_grad_norm(g, 2, 1.0), 5.0, 1e-12, "returns the norm before clipping");
	is_near(g[0], 3.0 / 5.000001, 1e-7, "clipped x = 3/(5+1e-6)");
	is_near(g[1], 4.0 / 5.000001, 1e-7, "clipped y = 4/(5+1e-6)");
	float h[2] = { 3, 4 };
	maas_clip_grad_norm(h, 2, 5.0);        /* coef = 5/5.000001 < 1: torch clips */
	is_near(h[0], 15.0 / 5.000001, 1e-6, "norm equal to max_norm is still scaled by max/(norm+1e-6)");
	float z[3] = { 0, 0, 0 };
	is_near(maas_clip_grad_norm(z, 3, 1.0), 0, 0, "zero gradient has norm 0");
	ok(z[0] == 0 && z[1] == 0 && z[2] == 0, "zero gradient unchanged");
	float bad[2] = { NAN, 1 };
	ok(isnan(maas_clip_grad_norm(bad, 2, 1.0)), "NaN gradient gives a NaN norm");
	ok(bad[1] == 1, "non-finite norm leaves gradients alone");
	float inf[2] = { INFINITY, 1 };
	ok(isinf(maas_clip_grad_norm(inf, 2, 1.0)) && inf[1] == 1, "infinite norm leaves gradients alone");
	is_near(maas_clip_grad_norm(NULL, 0, 1.0), 0, 0, "no gradients: norm 0");
	/* 7 values so the unrolled loop and its tail both run: norm sqrt(140) */
	float v[7] = { 1, 2, 3, 4, 5, 6, 7 };
	is_near(maas_clip_grad_norm(v, 7, 100), sqrt(140.0), 1e-12, "norm of 1..7 is sqrt(140)");
}

/* ---- schedules ---- */

static void test_schedules(void)
{
	struct maas_sched s;
	maas_sched_init(&s, MAAS_SCHED_CONSTANT, 0.1, 10);
	is_near(maas_sched_lr(&s, 0), 0.1, 0, "constant epoch 0");
	is_near(maas_sched_lr(&s, 9), 0.1, 0, "constant epoch 9");

	maas_sched_init(&s, MAAS_SCHED_STEP, 0.1, 9);
	is_int(s.step_size, 3, "step default: epochs/3");
	is_near(s.gamma, 0.1, 0, "step default gamma 0.1");
	s.step_size = 4;
	s.gamma = 0.5;
	const double want_step[] = { 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025 };
	for (int e = 0; e < 9; e++)
		is_near(maas_sched_lr(&s, e), want_step[e], 1e-15, "step: epoch %d", e);
	maas_sched_init(&s, MAAS_SCHED_STEP, 0.1, 2);
	is_int(s.step_size, 1, "step default at least 1");

	/* cosine over 4 epochs to 0.01: 0.01 + 0.09*(1 + cos(pi*e/4))/2 */
	maas_sched_init(&s, MAAS_SCHED_COSINE, 0.1, 4);
	s.min_lr = 0.01;
	const double want_cos[] = { 0.1, 0.01 + 0.045 * (1 + sqrt(0.5)), 0.055,
				    0.01 + 0.045 * (1 - sqrt(0.5)), 0.01, 0.01 };
	for (int e = 0; e < 6; e++)
		is_near(maas_sched_lr(&s, e), want_cos[e], 1e-15, "cosine: epoch %d", e);

	/* warm-up of 4 epochs: 0.025, 0.05, 0.075, 0.1, then cosine over 4 */
	maas_sched_init(&s, MAAS_SCHED_COSINE, 0.1, 8);
	s.warmup = 4;
	s.min_lr = 0.01;
	const double want_warm[] = { 0.025, 0.05, 0.075, 0.1, 0.1, 0.01 + 0.045 * (1 + sqrt(0.5)),
				     0.055, 0.01 + 0.045 * (1 - sqrt(0.5)) };
	for (int e = 0; e < 8; e++)
		is_near(maas_sched_lr(&s, e), want_warm[e], 1e-15, "warm-up + cosine: epoch %d", e);
	maas_sched_init(&s, MAAS_SCHED_STEP, 0.1, 8);
	s.warmup = 2;
	s.step_size = 2;
	const double want_wstep[] = { 0.05, 0.1, 0.1, 0.1, 0.01, 0.01, 0.001 };
	for (int e = 0; e < 7; e++)
		is_near(maas_sched_lr(&s, e), want_wstep[e], 1e-15, "warm-up + step: epoch %d", e);
	maas_sched_init(&s, MAAS_SCHED_CONSTANT, 0.1, 8);
	s.warmup = 1;
	is_near(maas_sched_lr(&s, 0), 0.1, 0, "warm-up of 1 epoch is none");

	/* plateau, loss: patience 2, factor 0.5, min 0.03 */
	maas_sched_init(&s, MAAS_SCHED_PLATEAU, 0.1, 20);
	is_int(s.patience, 10, "plateau default patience 10");
	is_near(s.factor, 0.1, 0, "plateau default factor 0.1");
	s.patience = 2;
	s.factor = 0.5;
	s.min_lr = 0.03;
	/* observed after epoch e; the rate of epoch e+1 follows */
	const double loss[] = { 1.0, 0.9, 0.9, 0.95, 0.92, 0.89995, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6 };
	const double want_pl[] = { 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.03,
				   0.03, 0.03, 0.03 };
	/* epoch 4's 0.92 is the third bad epoch (> patience) -> 0.05 from epoch 5;
	 * 0.89995 is not below 0.9*(1-1e-4): bad again, as are the 0.6s after 0.5;
	 * the cut after epoch 9 hits min_lr 0.03, and then nothing changes */
	is_near(maas_sched_lr(&s, 0), want_pl[0], 0, "plateau: epoch 0");
	for (int e = 0; e < 13; e++) {
		maas_sched_observe(&s, loss[e]);
		is_near(maas_sched_lr(&s, e + 1), want_pl[e + 1], 1e-15, "plateau: epoch %d", e + 1);
	}
	is_near(s.best, 0.5, 0, "plateau keeps the best metric");

	/* plateau, accuracy (higher is better), patience 0: every non-improvement cuts */
	maas_sched_init(&s, MAAS_SCHED_PLATEAU, 1.0, 10);
	s.higher_is_better = 1;
	s.patience = 0;
	maas_sched_observe(&s, 0.5);
	is_near(maas_sched_lr(&s, 1), 1.0, 0, "accuracy: first observation is the best");
	maas_sched_observe(&s, 0.50004);
	is_near(maas_sched_lr(&s, 2), 0.1, 1e-15, "accuracy: 0.50004 is not above 0.5*(1+1e-4)");
	maas_sched_observe(&s, 0.6);
	is_near(maas_sched_lr(&s, 3), 0.1, 1e-15, "accuracy: 0.6 is better");
	maas_sched_observe(&s, NAN);
	is_near(maas_sched_lr(&s, 4), 0.01, 1e-15, "accuracy: NaN is not better");
	maas_sched_init(&s, MAAS_SCHED_PLATEAU, 1e-8, 10);
	s.patience = 0;
	maas_sched_observe(&s, 1);
	maas_sched_observe(&s, 2);
	is_near(maas_sched_lr(&s, 2), 1e-8, 0, "plateau: a cut of at most 1e-8 is not made");
	maas_sched_init(&s, MAAS_SCHED_COSINE, 0.1, 10);
	maas_sched_observe(&s, 1);
	maas_sched_observe(&s, 2);
	is_int(s.bad_epochs, 0, "other schedules ignore observations");
}

/* ---- PyTorch ---- */

struct ref_line {
	char name[64];
	double *v;
	int n;
};

static int have_torch(void)
{
	return access("/usr/bin/python3", X_OK) == 0 && access("test/tools/torch_optim.py", R_OK) == 0 &&
	       system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

static int read_ref(struct ref_line *lines, int max)
{
	FILE *f = popen("/usr/bin/python3 test/tools/torch_optim.py", "r");
	char *buf = NULL;
	size_t cap = 0;
	int n = 0;
	if (!f)
		return -1;
	while (n < max && getline(&buf, &cap, f) > 0) {
		struct ref_line *l = &lines[n];
		char *save = NULL, *tok = strtok_r(buf, " \n", &save);
		if (!tok)
			continue;
		snprintf(l->name, sizeof l->name, "%s", tok);
		l->v = NULL;
		l->n = 0;
		size_t vcap = 0;
		while ((tok = strtok_r(NULL, " \n", &save))) {
			xgrow(&l->v, &vcap, (size_t)l->n + 1, sizeof *l->v);
			l->v[l->n++] = strtod(tok, NULL);
		}
		n++;
	}
	free(buf);
	return pclose(f) == 0 ? n : -1;
}

static const struct ref_line *find_ref(const struct ref_line *lines, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(lines[i].name, name))
			return &lines[i];
	return NULL;
}

enum { TN = 37, TSTEPS = 5 };

static void torch_problem_step(float *p, float *g, int t)
{
	for (int i = 0; i < TN; i++)
		g[i] = p[i] * 0.5f + (float)((((7 * i + 3 * t) % 11) - 5) / 8.0);
}

static void compare(const struct ref_line *r, const double *got, int n, double tol, const char *what)
{
	if (!ok(r && r->n == n, "torch: %s has %d values", what, n))
		return;
	double worst = 0;
	int at = 0;
	for (int i = 0; i < n; i++) {
		double d = fabs(got[i] - r->v[i]) / (1.0 > fabs(r->v[i]) ? 1.0 : fabs(r->v[i]));
		if (!(d <= worst)) {
			worst = d;
			at = i;
		}
	}
	if (!ok(worst <= tol, "torch: %s agrees (worst relative difference %.3g)", what, worst))
		printf("#   at %d: got %.9g, torch %.9g\n", at, got[at], r->v[at]);
}

static void test_torch(void)
{
	if (!have_torch()) {
		printf("ok %d # skip /usr/bin/python3 cannot import torch\n", ++tap_n);
		return;
	}
	struct ref_line lines[32];
	int n = read_ref(lines, 32);
	if (!ok(n > 0, "torch_optim.py runs")) {
		return;
	}
	struct { const char *name; enum maas_optimizer kind; double lr, mom, wd, b1, b2, eps; int nest; } cases[] = {
		{ "opt_sgd", MAAS_OPT_SGD, 0.1, 0, 0, 0.9, 0.999, 1e-8, 0 },
		{ "opt_sgd_momentum", MAAS_OPT_SGD, 0.1, 0.9, 0, 0.9, 0.999, 1e-8, 0 },
		{ "opt_sgd_nesterov_wd", MAAS_OPT_SGD, 0.05, 0.9, 0.01, 0.9, 0.999, 1e-8, 1 },
		{ "opt_adam", MAAS_OPT_ADAM, 0.01, 0, 0, 0.9, 0.999, 1e-8, 0 },
		{ "opt_adam_wd", MAAS_OPT_ADAM, 0.01, 0, 0.1, 0.9, 0.999, 1e-8, 0 },
		{ "opt_adamw", MAAS_OPT_ADAMW, 0.01, 0, 0.01, 0.9, 0.999, 1e-8, 0 },
		{ "opt_adamw_betas", MAAS_OPT_ADAMW, 0.01, 0, 0.1, 0.8, 0.99, 1e-6, 0 },
	};
	double got[64];
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		struct maas_optim o;
		float p[TN], g[TN];
		maas_optim_init(&o, cases[c].kind, TN);
		o.lr = cases[c].lr;
		o.momentum = cases[c].mom;
		o.weight_decay = cases[c].wd;
		o.nesterov = cases[c].nest;
		o.beta1 = cases[c].b1;
		o.beta2 = cases[c].b2;
		o.eps = cases[c].eps;
		for (int i = 0; i < TN; i++)
			p[i] = (float)(((5 * i) % 13 - 6) / 4.0);
		for (int t = 0; t < TSTEPS; t++) {
			torch_problem_step(p, g, t);
			maas_optim_step(&o, p, g);
		}
		for (int i = 0; i < TN; i++)
			got[i] = p[i];
		/* torch fuses some multiply-adds: a few float32 ulps apart */
		compare(find_ref(lines, n, cases[c].name), got, TN, 5e-7, cases[c].name);
		maas_optim_release(&o);
	}

	const double maxes[] = { 1.0, 100.0 };
	const char *clip_names[] = { "clip_1", "clip_100" };
	for (int c = 0; c < 2; c++) {
		float g[TN];
		for (int i = 0; i < TN; i++)
			g[i] = (float)((((7 * i) % 11) - 5) / 8.0) * 3;
		got[0] = maas_clip_grad_norm(g, TN, maxes[c]);
		for (int i = 0; i < TN; i++)
			got[i + 1] = g[i];
		compare(find_ref(lines, n, clip_names[c]), got, TN + 1, 1e-6, clip_names[c]);
	}

	struct maas_sched s;
	maas_sched_init(&s, MAAS_SCHED_STEP, 0.1, 12);
	s.step_size = 4;
	s.gamma = 0.5;
	for (int e = 0; e < 12; e++)
		got[e] = maas_sched_lr(&s, e);
	compare(find_ref(lines, n, "sched_step"), got, 12, 1e-12, "step schedule");
	maas_sched_init(&s, MAAS_SCHED_COSINE, 0.1, 12);
	s.min_lr = 0.001;
	for (int e = 0; e < 13; e++)
		got[e] = maas_sched_lr(&s, e);
	compare(find_ref(lines, n, "sched_cosine"), got, 13, 1e-12, "cosine schedule");
	s.warmup = 3;
	for (int e = 0; e < 12; e++)
		got[e] = maas_sched_lr(&s, e);
	compare(find_ref(lines, n, "sched_warm_cosine"), got, 12, 1e-12, "warm-up + cosine");
	maas_sched_init(&s, MAAS_SCHED_STEP, 0.1, 12);
	s.step_size = 4;
	s.gamma = 0.5;
	s.warmup = 3;
	for (int e = 0; e < 12; e++)
		got[e] = maas_sched_lr(&s, e);
	compare(find_ref(lines, n, "sched_warm_step"), got, 12, 1e-12, "warm-up + step");

	const double losses[] = { 1.0, 0.9, 0.9, 0.95, 0.92, 0.89995, 0.91, 0.5, 0.6, 0.6, 0.6, 0.49996,
				  0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6 };
	maas_sched_init(&s, MAAS_SCHED_PLATEAU, 0.1, 20);
	s.factor = 0.5;
	s.patience = 2;
	s.min_lr = 0.02;
	for (int e = 0; e < 20; e++) {
		got[e] = maas_sched_lr(&s, e);
		maas_sched_observe(&s, losses[e]);
	}
	compare(find_ref(lines, n, "sched_plateau"), got, 20, 1e-12, "plateau on a loss");
	const double accs[] = { 0.5, 0.6, 0.6, 0.6, 0.60005, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7 };
	maas_sched_init(&s, MAAS_SCHED_PLATEAU, 0.1, 12);
	s.higher_is_better = 1;
	s.patience = 1;
	for (int e = 0; e < 12; e++) {
		got[e] = maas_sched_lr(&s, e);
		maas_sched_observe(&s, accs[e]);
	}
	compare(find_ref(lines, n, "sched_plateau_max"), got, 12, 1e-12, "plateau on an accuracy");

	for (int i = 0; i < n; i++)
		free(lines[i].v);
}

int main(void)
{
	test_names();
	test_defaults();
	test_hand();
	test_frozen();
	test_vector_exact();
	test_clip();
	test_schedules();
	test_torch();
	return done_testing();
}
