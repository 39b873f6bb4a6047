/*
 * optim.h - optimizers, learning-rate schedules, gradient clipping.
 *
 * One flat loop over the parameter array (params and grads share the
 * model's layout), with PyTorch's update rules (torch.optim, as of 1.13)
 * and default constants, in float32 in the order PyTorch computes them:
 *   SGD     momentum 0, dampening 0 (always), nesterov off, weight decay 0;
 *           d = g + wd*p; buf = m*buf + d; d = nesterov ? d + m*buf : buf;
 *           p = p - lr*d
 *   Adam    beta1 0.9, beta2 0.999, eps 1e-8, weight decay 0 (L2: added to
 *           the gradient); m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
 *           p = p - (lr/bc1)*m / (sqrt(v)/sqrt(bc2) + eps), bcK = 1 - bK^t
 *   AdamW   as Adam with decoupled decay first: p = p*(1 - lr*wd), wd 0.01
 * The learning rate starts at 1e-3 for all three (torch's default for Adam
 * and AdamW; SGD has none in torch 1.13).  Parameters [0, frozen) are
 * neither updated nor decayed and their moments stay zero (--freeze).  The
 * moments live in one allocation (state, maas_optim_state_len floats), so
 * a checkpoint writes them as they are and a resumed run is bit-identical.
 * The update is vectorised (SSE2, or AVX2 when the CPU has it) without
 * fused multiply-add, so every machine computes the same bits.  PyTorch's
 * own kernels fuse some of these operations, so the two agree to a few
 * float32 ulps, not bit for bit.
 *
 * Schedules give the learning rate of an epoch (0-based) from the base
 * rate, as torch's schedulers stepped once per epoch would:
 *   constant  base
 *   step      base * gamma^floor(e/step_size)               (StepLR)
 *   cosine    min + (base-min) * (1 + cos(pi*e/T)) / 2, T the run's
 *             epochs; past T it stays at min                 (CosineAnnealingLR)
 *   plateau   ReduceLROnPlateau, threshold mode 'rel', threshold 1e-4,
 *             cooldown 0: after an epoch whose metric is not better than
 *             best*(1-1e-4) (lower is better; best*(1+1e-4) when higher is
 *             better) patience times in a row and once more, the rate
 *             becomes max(rate*factor, min_lr), unless that changes it by
 *             1e-8 or less.
 * Warm-up: with warmup W > 1 epochs, epoch e < W runs at base*(e+1)/W and
 * the schedule above then runs on e - W with T = epochs - W (torch's
 * SequentialLR of LinearLR(start_factor=1/W, total_iters=W-1) and the
 * schedule, milestone W).  For plateau, the metrics observed during
 * warm-up count as usual; the rate of epochs >= W is the plateau rate.
 *
 * Ownership: maas_optim_init fills a caller-owned struct (state allocated
 * here) that maas_optim_release frees; maas_sched holds no memory.
 */
#ifndef MAAS_NN_OPTIM_H
#define MAAS_NN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

enum maas_optimizer { MAAS_OPT_SGD, MAAS_OPT_ADAM, MAAS_OPT_ADAMW };

struct maas_optim {
	enum maas_optimizer kind;
	double lr;              /* current rate (set by the schedule each epoch) */
	double momentum;        /* SGD */
	int nesterov;           /* SGD */
	double beta1, beta2, eps;
	double weight_decay;
	size_t n;               /* parameters */
	size_t frozen;          /* parameters [0, frozen) stay */
	float *state;           /* SGD: [n] momentum; Adam(W): [2n] m then v */
	uint64_t step;          /* updates so far (bias correction) */
};

/* "sgd", "adam", "adamw"; parse takes them in any case, -1 if unknown. */
const char *maas_optimizer_name(enum maas_optimizer o);
int maas_optimizer_parse(const char *s);
/* Fills defaults for kind (lr 1e-3, weight decay 0, AdamW 0.01) and
 * zeroed state; n is the parameter count. */
void maas_optim_init(struct maas_optim *o, enum maas_optimizer kind, size_t n);
void maas_optim_release(struct maas_optim *o);
/* Floats in o->state: n for SGD, 2n for Adam and AdamW. */
size_t maas_optim_state_len(const struct maas_optim *o);
/* One update of params [frozen, n) from grads (both of n floats); step++. */
void maas_optim_step(struct maas_optim *o, float *params, const float *grads);
/* The instruction set of the update loop: "avx2", "sse2" or "scalar".
 * maas_optim_force_portable(1) turns AVX2 off (process-wide, for tests and
 * benchmarks: the results are the same bits either way). */
const char *maas_optim_isa(void);
void maas_optim_force_portable(int on);

/* Scales grads so that their global L2 norm is at most max_norm, as torch's
 * clip_grad_norm_: by max_norm/(norm + 1e-6) when that is below 1.  Returns
 * the norm before clipping (computed in double).  A non-finite norm leaves
 * the gradients as they are (the caller sees it and stops). */
double maas_clip_grad_norm(float *grads, size_t n, double max_norm);

enum maas_schedule { MAAS_SCHED_CONSTANT, MAAS_SCHED_STEP, MAAS_SCHED_COSINE, MAAS_SCHED_PLATEAU };

struct maas_sched {
	enum maas_schedule kind;
	double base_lr, min_lr;
	int epochs;             /* cosine: the run's length */
	int warmup;             /* epochs of linear warm-up (0 or 1: none) */
	int step_size;          /* step: max(1, epochs/3) */
	double gamma;           /* step: 0.1 */
	double factor;          /* plateau: 0.1 */
	int patience;           /* plateau: 10 */
	int higher_is_better;   /* plateau: 0 (a loss) */
	/* plateau state */
	double best;            /* NaN before the first observation */
	int bad_epochs;
	double plateau_lr;
};
/* "constant", "step", "cosine", "plateau"; parse takes any case, -1 if unknown. */
const char *maas_schedule_name(enum maas_schedule s);
int maas_schedule_parse(const char *s);
/* Defaults as commented above, min_lr 0, no warm-up.  Set
 * higher_is_better before the first maas_sched_observe. */
void maas_sched_init(struct maas_sched *s, enum maas_schedule kind, double base_lr, int epochs);
/* The rate for epoch (0-based). */
double maas_sched_lr(const struct maas_sched *s, int epoch);
/* Plateau: tell the epoch's validation metric (after the epoch); a NaN
 * counts as not better.  Other schedules ignore it. */
void maas_sched_observe(struct maas_sched *s, double metric);

#endif
