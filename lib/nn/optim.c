/*
 * optim.c - SGD, Adam and AdamW over one flat parameter array, gradient
 * clipping and learning-rate schedules (see optim.h for the rules).
 *
 * The update runs once per batch over every parameter, so it is written for
 * the vectoriser: the array is walked in chunks of 16 whose inner loops have
 * a fixed trip count (GCC vectorises those at -O2), and the one operation it
 * cannot vectorise by itself (sqrtf, because of errno) is done with SSE2 or
 * AVX2 intrinsics.  The body is one always-inline function instantiated per
 * instruction set and per variant, so the flags fold away.  No multiply-add
 * is fused (-std=c11 implies -ffp-contract=off), so the vector, the scalar
 * tail and every instruction set give the same bits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "nn/optim.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

#define CHUNK 16
#define INLINE static inline __attribute__((always_inline))

/* ---- names ---- */

static const char *const opt_names[] = { "sgd", "adam", "adamw" };
static const char *const sched_names[] = { "constant", "step", "cosine", "plateau" };

const char *maas_optimizer_name(enum maas_optimizer o)
{
	return (unsigned)o < sizeof opt_names / sizeof *opt_names ? opt_names[o] : "unknown";
}

int maas_optimizer_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof opt_names / sizeof *opt_names; i++)
		if (!strcasecmp(s, opt_names[i]))
			return (int)i;
	return -1;
}

const char *maas_schedule_name(enum maas_schedule s)
{
	return (unsigned)s < sizeof sched_names / sizeof *sched_names ? sched_names[s] : "unknown";
}

int maas_schedule_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof sched_names / sizeof *sched_names; i++)
		if (!strcasecmp(s, sched_names[i]))
			return (int)i;
	return -1;
}

/* ---- optimizer state ---- */

void maas_optim_init(struct maas_optim *o, enum maas_optimizer kind, size_t n)
{
	memset(o, 0, sizeof *o);
	o->kind = kind;
	o->lr = 1e-3;
	o->beta1 = 0.9;
	o->beta2 = 0.999;
	o->eps = 1e-8;
	o->weight_decay = kind == MAAS_OPT_ADAMW ? 0.01 : 0.0;
	o->n = n;
	o->state = xcalloc(n ? n : 1, (kind == MAAS_OPT_SGD ? 1 : 2) * sizeof(float));
}

void maas_optim_release(struct maas_optim *o)
{
	free(o->state);
	o->state = NULL;
}

size_t maas_optim_state_len(const struct maas_optim *o)
{
	return o->kind == MAAS_OPT_SGD ? o->n : 2 * o->n;    /* allocated, so it fits */
}

/* ---- kernels ---- */

/* Square roots of CHUNK floats in place, correctly rounded like sqrtf. */
INLINE void sqrt_chunk_generic(float *d)
{
#ifdef __SSE2__
	for (int j = 0; j < CHUNK; j += 4)
		_mm_storeu_ps(d + j, _mm_sqrt_ps(_mm_loadu_ps(d + j)));
#else
	for (int j = 0; j < CHUNK; j++)
		d[j] = sqrtf(d[j]);
#endif
}

#ifdef HAVE_X86
__attribute__((target("avx2"), always_inline)) static inline void sqrt_chunk_avx2(float *d)
{
	for (int j = 0; j < CHUNK; j += 8)
		_mm256_storeu_ps(d + j, _mm256_sqrt_ps(_mm256_loadu_ps(d + j)));
}
#endif

struct sgd_k {
	float lr;       /* -lr */
	float wd, mom;
};

/* p (n), g (n), buf (n); wd, mom, nest are constants after inlining. */
INLINE void sgd_body(float *restrict p, const float *restrict g, float *restrict buf, size_t n,
		     struct sgd_k k, int wd, int mom, int nest)
{
	size_t i = 0;
#define SGD_ONE(j) do { \
		float d_ = g[j]; \
		if (wd) \
			d_ = d_ + k.wd * p[j]; \
		if (mom) { \
			float b_ = buf[j] * k.mom + d_; \
			buf[j] = b_; \
			d_ = nest ? d_ + k.mom * b_ : b_; \
		} \
		p[j] = p[j] + k.lr * d_; \
	} while (0)
	for (; i + CHUNK <= n; i += CHUNK)
		for (size_t j = i; j < i + CHUNK; j++)
			SGD_ONE(j);
	for (; i < n; i++)
		SGD_ONE(i);
#undef SGD_ONE
}

#define SGD_DISPATCH(p, g, buf, n, k, wd, mom, nest) do { \
	if (!(mom)) { \
		if (wd) sgd_body(p, g, buf, n, k, 1, 0, 0); else sgd_body(p, g, buf, n, k, 0, 0, 0); \
	} else if (nest) { \
		if (wd) sgd_body(p, g, buf, n, k, 1, 1, 1); else sgd_body(p, g, buf, n, k, 0, 1, 1); \
	} else { \
		if (wd) sgd_body(p, g, buf, n, k, 1, 1, 0); else sgd_body(p, g, buf, n, k, 0, 1, 0); \
	} \
} while (0)

static void sgd_generic(float *restrict p, const float *restrict g, float *restrict buf, size_t n,
			struct sgd_k k, int wd, int mom, int nest)
{
	SGD_DISPATCH(p, g, buf, n, k, wd, mom, nest);
}

#ifdef HAVE_X86
__attribute__((target("avx2"))) static void sgd_avx2(float *restrict p, const float *restrict g,
						       float *restrict buf, size_t n, struct sgd_k k,
						       int wd, int mom, int nest)
{
	SGD_DISPATCH(p, g, buf, n, k, wd, mom, nest);
}
#endif

struct adam_k {
	float b1, c1;   /* beta1, 1 - beta1 */
	float b2, c2;   /* beta2, 1 - beta2 */
	float bc2s;     /* sqrt(1 - beta2^t) */
	float eps;
	float nss;      /* -lr / (1 - beta1^t) */
	float wd;       /* Adam: L2 added to the gradient */
	float decay;    /* AdamW: 1 - lr*wd */
};

enum { ADAM_PLAIN, ADAM_L2, ADAM_DECOUPLED };

/* One parameter, as torch computes it; d is sqrt(v) once filled in. */
#define ADAM_MOMENTS(j, dj) do { \
		float g_ = g[j]; \
		if (mode == ADAM_L2) \
			g_ = g_ + k.wd * p[j]; \
		if (mode == ADAM_DECOUPLED) \
			p[j] = p[j] * k.decay; \
		float m_ = m[j] * k.b1 + k.c1 * g_; \
		float v_ = v[j] * k.b2 + k.c2 * g_ * g_; \
		m[j] = m_; \
		v[j] = v_; \
		dj = v_; \
	} while (0)
#define ADAM_UPDATE(j, sq) (p[j] = p[j] + k.nss * m[j] / ((sq) / k.bc2s + k.eps))

INLINE void adam_body(float *restrict p, const float *restrict g, float *restrict m,
		      float *restrict v, size_t n, struct adam_k k, int mode,
		      void (*sqrt_chunk)(float *))
{
	size_t i = 0;
	for (; i + CHUNK <= n; i += CHUNK) {
		float d[CHUNK];
		for (int j = 0; j < CHUNK; j++)
			ADAM_MOMENTS(i + j, d[j]);
		sqrt_chunk(d);
		for (int j = 0; j < CHUNK; j++)
			ADAM_UPDATE(i + j, d[j]);
	}
	for (; i < n; i++) {
		float d;
		ADAM_MOMENTS(i, d);
		ADAM_UPDATE(i, sqrtf(d));
	}
}

static void adam_generic(float *restrict p, const float *restrict g, float *restrict m,
			 float *restrict v, size_t n, struct adam_k k, int mode)
{
	if (mode == ADAM_L2)
		adam_body(p, g, m, v, n, k, ADAM_L2, sqrt_chunk_generic);
	else if (mode == ADAM_DECOUPLED)
		adam_body(p, g, m, v, n, k, ADAM_DECOUPLED, sqrt_chunk_generic);
	else
		adam_body(p, g, m, v, n, k, ADAM_PLAIN, sqrt_chunk_generic);
}

#ifdef HAVE_X86
__attribute__((target("avx2"))) static void adam_avx2(float *restrict p, const float *restrict g,
							float *restrict m, float *restrict v, size_t n,
							struct adam_k k, int mode)
{
	if (mode == ADAM_L2)
		adam_body(p, g, m, v, n, k, ADAM_L2, sqrt_chunk_avx2);
	else if (mode == ADAM_DECOUPLED)
		adam_body(p, g, m, v, n, k, ADAM_DECOUPLED, sqrt_chunk_avx2);
	else
		adam_body(p, g, m, v, n, k, ADAM_PLAIN, sqrt_chunk_avx2);
}
#endif

static int force_portable;

void maas_optim_force_portable(int on)
{
	force_portable = on;
}

static int use_avx2(void)
{
#ifdef HAVE_X86
	return !force_portable && __builtin_cpu_supports("avx2");
#else
	return 0;
#endif
}

const char *maas_optim_isa(void)
{
	if (use_avx2())
		return "avx2";
#ifdef __SSE2__
	return "sse2";
#else
	return "scalar";
#endif
}

void maas_optim_step(struct maas_optim *o, float *params, const float *grads)
{
	size_t lo = o->frozen < o->n ? o->frozen : o->n, len = o->n - lo;
	float *p = params + lo;
	const float *g = grads + lo;
	int avx2 = use_avx2();

	o->step++;
	if (o->kind == MAAS_OPT_SGD) {
		struct sgd_k k = { (float)-o->lr, (float)o->weight_decay, (float)o->momentum };
		int wd = o->weight_decay != 0, mom = o->momentum != 0, nest = o->nesterov != 0;
		float *buf = o->state + lo;
#ifdef HAVE_X86
		if (avx2) {
			sgd_avx2(p, g, buf, len, k, wd, mom, nest);
			return;
		}
#endif
		sgd_generic(p, g, buf, len, k, wd, mom, nest);
		return;
	}

	double t = (double)o->step;
	double bc1 = 1.0 - pow(o->beta1, t), bc2 = 1.0 - pow(o->beta2, t);
	struct adam_k k = {
		.b1 = (float)o->beta1, .c1 = (float)(1.0 - o->beta1),
		.b2 = (float)o->beta2, .c2 = (float)(1.0 - o->beta2),
		.bc2s = (float)sqrt(bc2), .eps = (float)o->eps,
		.nss = (float)-(o->lr / bc1),
		.wd = (float)o->weight_decay,
		.decay = (float)(1.0 - o->lr * o->weight_decay),
	};
	int mode = o->kind == MAAS_OPT_ADAMW ? ADAM_DECOUPLED
		 : o->weight_decay != 0      ? ADAM_L2 : ADAM_PLAIN;
	float *m = o->state + lo, *v = o->state + o->n + lo;
#ifdef HAVE_X86
	if (avx2) {
		adam_avx2(p, g, m, v, len, k, mode);
		return;
	}
#endif
	(void)avx2;
	adam_generic(p, g, m, v, len, k, mode);
}

/* ---- clipping ---- */

double maas_clip_grad_norm(float *grads, size_t n, double max_norm)
{
	/* four partial sums so the loop pipelines; double keeps it exact enough */
	double s[4] = { 0, 0, 0, 0 };
	size_t i = 0;
	for (; i + 4 <= n; i += 4)
		for (int j = 0; j < 4; j++)
			s[j] += (double)grads[i + j] * grads[i + j];
	for (; i < n; i++)
		s[0] += (double)grads[i] * grads[i];
	double norm = sqrt((s[0] + s[1]) + (s[2] + s[3]));
	if (!isfinite(norm))
		return norm;
	double coef = max_norm / (norm + 1e-6);
	if (coef < 1.0) {
		float c = (float)coef;
		for (i = 0; i < n; i++)
			grads[i] *= c;
	}
	return norm;
}

/* ---- schedules ---- */

void maas_sched_init(struct maas_sched *s, enum maas_schedule kind, double base_lr, int epochs)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->base_lr = base_lr;
	s->min_lr = 0.0;
	s->epochs = epochs;
	s->warmup = 0;
	s->step_size = epochs / 3 > 1 ? epochs / 3 : 1;
	s->gamma = 0.1;
	s->factor = 0.1;
	s->patience = 10;
	s->best = NAN;
	s->bad_epochs = 0;
	s->plateau_lr = base_lr;
	s->higher_is_better = 0;
}

double maas_sched_lr(const struct maas_sched *s, int epoch)
{
	int e = epoch < 0 ? 0 : epoch, T = s->epochs;
	if (s->warmup > 1) {
		if (e < s->warmup)
			return s->base_lr * (double)(e + 1) / (double)s->warmup;
		e -= s->warmup;
		T -= s->warmup;
	}
	switch (s->kind) {
	case MAAS_SCHED_STEP:
		return s->base_lr * pow(s->gamma, (double)(e / (s->step_size > 0 ? s->step_size : 1)));
	case MAAS_SCHED_COSINE:
		if (T <= 0 || e >= T)
			return T <= 0 ? s->base_lr : s->min_lr;
		return s->min_lr + (s->base_lr - s->min_lr) * (1.0 + cos(M_PI * e / T)) / 2.0;
	case MAAS_SCHED_PLATEAU:
		return s->plateau_lr;
	case MAAS_SCHED_CONSTANT:
	default:
		return s->base_lr;
	}
}

void maas_sched_observe(struct maas_sched *s, double metric)
{
	if (s->kind != MAAS_SCHED_PLATEAU)
		return;
	const double threshold = 1e-4, eps = 1e-8;
	double best = isnan(s->best) ? (s->higher_is_better ? -INFINITY : INFINITY) : s->best;
	int better = s->higher_is_better ? metric > best * (1.0 + threshold)
					 : metric < best * (1.0 - threshold);
	if (better) {
		s->best = metric;
		s->bad_epochs = 0;
	} else {
		s->best = best;
		s->bad_epochs++;
	}
	if (s->bad_epochs > s->patience) {
		double lr = s->plateau_lr * s->factor;
		if (lr < s->min_lr)
			lr = s->min_lr;
		if (s->plateau_lr - lr > eps)
			s->plateau_lr = lr;
		s->bad_epochs = 0;
	}
}
