/*
 * blas.c - OpenBLAS opened at run time, its kernels chosen and checked
 * first (see blas.h for the rules).
 *
 * How maas learns what OpenBLAS would choose: it asks.  A forked child
 * loads the library without OPENBLAS_CORETYPE and reports
 * openblas_get_corename(); only a known pre-AVX-512 name leads to a second
 * child that checks the SkylakeX kernels.  So a machine that OpenBLAS
 * already serves well (e.g. Cooperlake on AMD Zen 4) pays one fork and
 * keeps its kernels; a machine it does not recognise pays two and gets
 * SkylakeX.  Neither child ever returns into the caller's code: both end
 * with _exit, so no atexit handler or stdio buffer of the parent runs twice.
 */
#include "nn/blas.h"

#include <cblas.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"

#define BLAS_SONAME "libopenblas.so.0"
#define CHILD_TIMEOUT_MS 20000
#define GFLOPS_MAX_N 4096

typedef __typeof__(cblas_sgemm) sgemm_fn;
typedef __typeof__(openblas_set_num_threads) set_threads_fn;
typedef __typeof__(openblas_get_num_threads) get_threads_fn;
typedef __typeof__(openblas_get_corename) corename_fn;
typedef __typeof__(openblas_get_config) config_fn;

/* The loaded library.  Written under `lock` before `state` becomes LOADED;
 * read without the lock afterwards. */
static struct {
	void *dl;
	sgemm_fn *sgemm;
	set_threads_fn *set_threads;
	get_threads_fn *get_threads;
	corename_fn *corename;
	config_fn *config;
	int default_threads;
	char who[512];          /* "chosen by ..." */
	char failure[MAAS_ERRMSG_MAX];  /* why the lazy load failed */
	char desc[2048];
} ob;

enum { UNLOADED, LOADED, FAILED };
static atomic_int state = UNLOADED;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Kernel sets of OpenBLAS (x86) that predate AVX-512: a choice among these
 * on an AVX-512 CPU means OpenBLAS did not recognise it. */
static const char *const weak_cores[] = {
	"Unknown", "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2",
	"Penryn", "Dunnington", "Nehalem", "Athlon", "Opteron", "Opteron_SSE3", "Barcelona",
	"Nano", "Sandybridge", "Bobcat", "Bulldozer", "Piledriver", "Haswell", "Steamroller",
	"Excavator", "Zen",
};

static int is_weak_core(const char *name)
{
	for (size_t i = 0; i < sizeof weak_cores / sizeof *weak_cores; i++)
		if (!strcasecmp(name, weak_cores[i]))
			return 1;
	return 0;
}

static int cpu_has_avx512(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
	return 0;
#endif
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int affinity_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 && n < INT_MAX ? (int)n : 1;
}

/* OPENBLAS_NUM_THREADS if it is a positive whole number, else the CPUs we may use. */
static int default_threads(void)
{
	const char *s = getenv("OPENBLAS_NUM_THREADS");
	if (s && *s) {
		char *end;
		errno = 0;
		long n = strtol(s, &end, 10);
		if (!errno && !*end && n > 0 && n <= 4096)
			return (int)n;
	}
	return affinity_cpus();
}

/* ---- the plain product: reference for the check, fallback without OpenBLAS ---- */

static void ref_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
		      const float *B, int ldb, float beta, float *C, int ldc)
{
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			double s = 0;
			if (alpha != 0)
				for (int p = 0; p < K; p++) {
					double a = ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
					double b = tb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
					s += a * b;
				}
			float *c = &C[(size_t)i * ldc + j];
			*c = (float)(alpha * s + (beta == 0 ? 0.0 : (double)beta * *c));
		}
}

/* ---- the check run in the child ---- */

static uint32_t lcg_next(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s;
}

static void fill(float *x, size_t n, uint32_t *s)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)((lcg_next(s) >> 8) / 8388608.0 - 1.0);  /* [-1, 1) */
}

/* Runs the products through `f`; 0 when all match, else -1 and a message in msg. */
static int check_products(sgemm_fn *f, char *msg, size_t msgsz)
{
	static const int shapes[][3] = {
		{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {65, 31, 129}, {100, 48, 64}, {37, 23, 520},
	};
	static const float ab[][2] = {{1.0f, 0.0f}, {0.75f, -0.5f}};
	uint32_t seed = 12345;
	int rc = 0;
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes && !rc; s++) {
		int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
		for (int t = 0; t < 4 && !rc; t++) {
			int ta = t >> 1, tb = t & 1;
			float alpha = ab[(s + t) % 2][0], beta = ab[(s + t) % 2][1];
			int arows = ta ? K : M, acols = ta ? M : K;
			int brows = tb ? N : K, bcols = tb ? K : N;
			int lda = acols + 3, ldb = bcols + 1, ldc = N + 2;
			size_t na = (size_t)arows * lda, nb = (size_t)brows * ldb, nc = (size_t)M * ldc;
			float *A = xmallocarray(na, sizeof *A), *Bm = xmallocarray(nb, sizeof *Bm);
			float *C = xmallocarray(nc, sizeof *C), *R = xmallocarray(nc, sizeof *R);
			double *mag = xcalloc(nc, sizeof *mag);
			fill(A, na, &seed);
			fill(Bm, nb, &seed);
			fill(C, nc, &seed);
			if (beta == 0)
				for (size_t i = 0; i < nc; i++)
					C[i] = NAN;  /* beta 0 must overwrite */
			/* the reference in double, and the scale of each result's rounding:
			 * |alpha| sum |a||b| + |beta c| */
			for (int i = 0; i < M; i++)
				for (int j = 0; j < ldc; j++) {
					size_t k = (size_t)i * ldc + j;
					double sum = 0, m = 0, c = beta == 0 ? 0 : C[k];
					R[k] = C[k];
					if (j >= N)
						continue;  /* padding: must stay as it is */
					for (int p = 0; p < K; p++) {
						double ap = ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
						double bp = tb ? Bm[(size_t)j * ldb + p] : Bm[(size_t)p * ldb + j];
						sum += ap * bp;
						m += fabs(ap * bp);
					}
					R[k] = (float)(alpha * sum + beta * c);
					mag[k] = fabs(alpha) * m + fabs(beta * c);
				}
			f(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
			  M, N, K, alpha, A, lda, Bm, ldb, beta, C, ldc);
			for (int i = 0; i < M && !rc; i++)
				for (int j = 0; j < ldc && !rc; j++) {
					size_t k = (size_t)i * ldc + j;
					double tol = (K + 2) * (double)FLT_EPSILON * mag[k] + FLT_MIN;
					int bad = j < N ? !(fabs((double)C[k] - R[k]) <= tol)
							: memcmp(&C[k], &R[k], sizeof *C) != 0;
					if (bad) {
						snprintf(msg, msgsz, "sgemm %c%c %dx%dx%d: C[%d][%d] = %g, want %g",
							 ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, i, j,
							 (double)C[k], (double)R[k]);
						rc = -1;
					}
				}
			free(A);
			free(Bm);
			free(C);
			free(R);
			free(mag);
		}
	}
	return rc;
}

/* ---- children: ask OpenBLAS, and check its kernels, away from the caller ---- */

struct reply {
	int loaded;             /* the library loaded and has the functions we need */
	int checked;            /* the products ran and matched the reference */
	char corename[64];
	char msg[448];
};

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		c += k;
		n -= (size_t)k;
	}
}

/* In the child: load OpenBLAS with `coretype` (NULL: none), report its
 * kernel name and, if asked, check its products.  Never returns. */
static void child_main(int fd, const sigset_t *mask, const char *coretype, int check)
{
	struct reply r;
	memset(&r, 0, sizeof r);
	/* the parent's handlers (e.g. removing its temporary files) are not ours */
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
		    sa.sa_handler != SIG_IGN) {
			memset(&sa, 0, sizeof sa);
			sa.sa_handler = SIG_DFL;
			sigemptyset(&sa.sa_mask);
			sigaction(sig, &sa, NULL);
		}
	}
	pthread_sigmask(SIG_SETMASK, mask, NULL);
	int null = open("/dev/null", O_WRONLY);  /* OpenBLAS's "Core not found" */
	if (null >= 0)
		dup2(null, 2);
	if (coretype)
		setenv("OPENBLAS_CORETYPE", coretype, 1);
	else
		unsetenv("OPENBLAS_CORETYPE");
	setenv("OPENBLAS_NUM_THREADS", "1", 1);  /* no thread pool to start */
	void *h = dlopen(BLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(r.msg, sizeof r.msg, "%s", dlerror());
	} else {
		corename_fn *cn = (corename_fn *)dlsym(h, "openblas_get_corename");
		sgemm_fn *f = (sgemm_fn *)dlsym(h, "cblas_sgemm");
		if (!cn || !f) {
			snprintf(r.msg, sizeof r.msg, "it has no function '%s'",
				 cn ? "cblas_sgemm" : "openblas_get_corename");
		} else {
			r.loaded = 1;
			snprintf(r.corename, sizeof r.corename, "%s", cn());
			if (check)
				r.checked = check_products(f, r.msg, sizeof r.msg) == 0;
		}
	}
	write_all(fd, &r, sizeof r);
	_exit(0);
}

/* Runs child_main in a forked child and reads its reply.  -1 with *e when
 * the child gives no complete reply (crash, hang, fork failure). */
static int run_child(const char *coretype, int check, struct reply *r, struct maas_err *e)
{
	const char *label = coretype ? coretype : "default";
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return maas_err_sys(e, MAAS_EOS, "cannot check OpenBLAS kernels '%s': pipe", label);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		child_main(p[1], &old, coretype, check);
	}
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		errno = fork_errno;
		return maas_err_sys(e, MAAS_EOS, "cannot check OpenBLAS kernels '%s': fork", label);
	}

	size_t got = 0;
	int timed_out = 0;
	double deadline = now_ms() + CHILD_TIMEOUT_MS;
	memset(r, 0, sizeof *r);
	while (got < sizeof *r) {
		double left = deadline - now_ms();
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		int n = poll(&pf, 1, (int)left + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			timed_out = n == 0;
			break;
		}
		ssize_t k = read(p[0], (char *)r + got, sizeof *r - got);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(p[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int st = 0;
	pid_t w;
	while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (got == sizeof *r) {
		r->corename[sizeof r->corename - 1] = '\0';
		r->msg[sizeof r->msg - 1] = '\0';
		return 0;
	}
	if (timed_out)
		return maas_err_set(e, MAAS_ECHECK, "cannot check OpenBLAS kernels '%s': "
				    "the test process did not finish within %d s", label,
				    CHILD_TIMEOUT_MS / 1000);
	if (w == pid && WIFSIGNALED(st))
		return maas_err_set(e, MAAS_ECHECK, "cannot check OpenBLAS kernels '%s': "
				    "the test process was killed by signal %d (%s)", label,
				    WTERMSIG(st), strsignal(WTERMSIG(st)));
	if (w == pid && WIFEXITED(st))
		return maas_err_set(e, MAAS_ECHECK, "cannot check OpenBLAS kernels '%s': "
				    "the test process exited with status %d", label, WEXITSTATUS(st));
	return maas_err_set(e, MAAS_ECHECK, "cannot check OpenBLAS kernels '%s': "
			    "the test process ended without an answer", label);
}

/* 1 when some part of this process has already loaded OpenBLAS. */
static int already_loaded(void)
{
	void *h = dlopen(BLAS_SONAME, RTLD_NOW | RTLD_NOLOAD);
	if (!h)
		return 0;
	dlclose(h);
	return 1;
}

int maas_blas_check(const char *coretype, char *name, size_t namesz, struct maas_err *e)
{
	const char *label = coretype ? coretype : "default";
	struct reply r;
	if (name && namesz)
		name[0] = '\0';
	if (atomic_load(&state) == LOADED || already_loaded())
		return maas_err_set(e, MAAS_ESOFTWARE, "cannot check OpenBLAS kernels '%s': "
				    "OpenBLAS is already loaded in this process", label);
	if (run_child(coretype, 1, &r, e))
		return -1;
	if (name && namesz)
		snprintf(name, namesz, "%s", r.corename);
	if (!r.loaded)
		return maas_err_set(e, MAAS_EOS, "cannot load '%s': %s", BLAS_SONAME, r.msg);
	if (!r.checked)
		return maas_err_set(e, MAAS_ECHECK, "OpenBLAS kernels '%s' compute wrong products: %s",
				    r.corename, r.msg);
	return 0;
}

/* ---- loading ---- */

/* dlerror()'s text without the library name it repeats */
static const char *dl_reason(const char *s)
{
	size_t n = strlen(BLAS_SONAME);
	if (!s)
		return "unknown error";
	if (!strncmp(s, BLAS_SONAME, n) && !strncmp(s + n, ": ", 2))
		return s + n + 2;
	return s;
}

/* Decides the kernels (ob.who), loads the library and sets its threads.
 * Called under `lock` while the state is not LOADED. */
static int load(const struct maas_blas_opts *o, struct maas_err *e)
{
	const char *want = o && o->coretype && *o->coretype ? o->coretype : NULL;
	const char *env = getenv("OPENBLAS_CORETYPE");
	char *saved = env ? xstrdup(env) : NULL;
	const char *force = NULL;       /* OPENBLAS_CORETYPE while loading; NULL: as it is */
	int unset_env = 0;
	int pre = already_loaded();
	struct reply r;

	if (o && o->threads < 0) {
		maas_err_set(e, MAAS_EUSAGE, "invalid thread count %d", o->threads);
		goto fail;
	}
	if (pre) {
		snprintf(ob.who, sizeof ob.who, "chosen by OpenBLAS, loaded before maas could choose");
	} else if (want) {
		if (run_child(want, 0, &r, e))
			goto fail;
		if (!r.loaded) {
			maas_err_set(e, MAAS_EOS, "cannot load '%s': %s", BLAS_SONAME, dl_reason(r.msg));
			goto fail;
		}
		if (strcasecmp(r.corename, want)) {
			maas_err_set(e, MAAS_EUSAGE, "cannot use OpenBLAS kernels '%s': OpenBLAS does "
				     "not offer them here and would use '%s' (others: Prescott, "
				     "Haswell, Zen, SkylakeX, Cooperlake)", want, r.corename);
			goto fail;
		}
		force = want;
		snprintf(ob.who, sizeof ob.who, "chosen by --blas-core");
	} else if (env && *env) {
		snprintf(ob.who, sizeof ob.who, "chosen by OPENBLAS_CORETYPE");
	} else {
		unset_env = env != NULL;  /* empty: as if unset */
		snprintf(ob.who, sizeof ob.who, "chosen by OpenBLAS");
		struct maas_err pe;
		double t0 = now_ms();
		if (cpu_has_avx512() && run_child(NULL, 0, &r, &pe) == 0 && r.loaded &&
		    is_weak_core(r.corename)) {
			struct reply c;
			char natural[sizeof r.corename];
			memcpy(natural, r.corename, sizeof natural);
			if (run_child("SkylakeX", 1, &c, &pe))
				;
			else if (!c.loaded || !c.checked)
				snprintf(pe.msg, sizeof pe.msg, "%s", c.msg);
			else if (strcasecmp(c.corename, "SkylakeX"))
				snprintf(pe.msg, sizeof pe.msg, "OpenBLAS gave '%s' instead", c.corename);
			else
				force = "SkylakeX";
			if (force)
				snprintf(ob.who, sizeof ob.who, "chosen by maas for this AVX-512 CPU, "
					 "checked in %.0f ms; OpenBLAS alone would use %s",
					 now_ms() - t0, natural);
			else
				snprintf(ob.who, sizeof ob.who, "chosen by OpenBLAS; maas's check of "
					 "SkylakeX failed: %.400s", pe.msg);
		}
	}

	if (force)
		setenv("OPENBLAS_CORETYPE", force, 1);
	else if (unset_env)
		unsetenv("OPENBLAS_CORETYPE");
	/* one thread asked for: OpenBLAS starts no pool (it would start one
	 * thread a core, and each spins in sched_yield for a while first) */
	const char *nt_env = getenv("OPENBLAS_NUM_THREADS");
	char *nt_saved = nt_env ? xstrdup(nt_env) : NULL;
	int one = o && o->threads == 1;
	if (one)
		setenv("OPENBLAS_NUM_THREADS", "1", 1);
	void *dl = dlopen(BLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
	char dlerr[512] = "";
	if (!dl)
		snprintf(dlerr, sizeof dlerr, "%s", dl_reason(dlerror()));
	if (force || unset_env) {
		if (saved)
			setenv("OPENBLAS_CORETYPE", saved, 1);
		else
			unsetenv("OPENBLAS_CORETYPE");
	}
	if (one) {
		if (nt_saved)
			setenv("OPENBLAS_NUM_THREADS", nt_saved, 1);
		else
			unsetenv("OPENBLAS_NUM_THREADS");
	}
	free(nt_saved);
	if (!dl) {
		maas_err_set(e, MAAS_EOS, "cannot load '%s': %s", BLAS_SONAME, dlerr);
		goto fail;
	}

	static const char *const names[] = {
		"cblas_sgemm", "openblas_set_num_threads", "openblas_get_num_threads",
		"openblas_get_corename", "openblas_get_config",
	};
	void *fn[sizeof names / sizeof *names];
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!(fn[i] = dlsym(dl, names[i]))) {
			/* not dlclosed: its threads may be running */
			maas_err_set(e, MAAS_EOS, "cannot load '%s': it has no function '%s'",
				     BLAS_SONAME, names[i]);
			goto fail;
		}
	ob.dl = dl;
	ob.sgemm = (sgemm_fn *)fn[0];
	ob.set_threads = (set_threads_fn *)fn[1];
	ob.get_threads = (get_threads_fn *)fn[2];
	ob.corename = (corename_fn *)fn[3];
	ob.config = (config_fn *)fn[4];

	const char *got = ob.corename();
	if (want && pre && strcasecmp(got, want)) {
		maas_err_set(e, MAAS_EUSAGE, "cannot use OpenBLAS kernels '%s': OpenBLAS was "
			     "loaded with '%s' before maas could choose", want, got);
		goto fail;
	}
	if (!want && !pre && env && *env && strcasecmp(got, env))
		snprintf(ob.who, sizeof ob.who, "chosen by OpenBLAS, which does not offer "
			 "OPENBLAS_CORETYPE '%.200s' here", env);
	ob.default_threads = default_threads();
	ob.set_threads(o && o->threads > 0 ? o->threads : ob.default_threads);
	atomic_store(&state, LOADED);
	free(saved);
	return 0;
fail:
	free(saved);
	return -1;
}

/* Loads with the defaults if nobody has; returns the state. */
static int ensure_loaded(void)
{
	int s = atomic_load(&state);
	if (s != UNLOADED)
		return s;
	pthread_mutex_lock(&lock);
	if (atomic_load(&state) == UNLOADED) {
		struct maas_err e;
		maas_err_clear(&e);
		if (load(NULL, &e)) {
			memcpy(ob.failure, e.msg, sizeof ob.failure);
			atomic_store(&state, FAILED);
		}
	}
	pthread_mutex_unlock(&lock);
	return atomic_load(&state);
}

int maas_blas_init(const struct maas_blas_opts *o, struct maas_err *e)
{
	int rc = 0;
	pthread_mutex_lock(&lock);
	if (atomic_load(&state) == LOADED) {
		const char *want = o && o->coretype && *o->coretype ? o->coretype : NULL;
		if (want && strcasecmp(want, ob.corename()))
			rc = maas_err_set(e, MAAS_EUSAGE, "cannot use OpenBLAS kernels '%s': "
					  "OpenBLAS is already loaded with '%s'", want, ob.corename());
		else if (o && o->threads < 0)
			rc = maas_err_set(e, MAAS_EUSAGE, "invalid thread count %d", o->threads);
		else if (o && o->threads > 0)
			ob.set_threads(o->threads);
	} else {
		rc = load(o, e);
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

/* ---- reports and threads ---- */

const char *maas_blas_describe(void)
{
	int s = atomic_load(&state);
	if (s == LOADED) {
		const char *cfg = ob.config();
		char ver[64] = "OpenBLAS";
		if (!strncmp(cfg, "OpenBLAS ", 9))  /* "OpenBLAS 0.3.21 NO_LAPACKE ..." */
			snprintf(ver, sizeof ver, "%.*s", (int)(9 + strcspn(cfg + 9, " ")), cfg);
		int n = ob.get_threads();
		snprintf(ob.desc, sizeof ob.desc, "%s %s kernels (%s), %d thread%s; build: %s", ver,
			 ob.corename(), ob.who, n, n == 1 ? "" : "s", cfg);
	} else if (s == FAILED) {
		snprintf(ob.desc, sizeof ob.desc, "plain loops, 1 thread (OpenBLAS unavailable: %s)",
			 ob.failure);
	} else {
		snprintf(ob.desc, sizeof ob.desc, "OpenBLAS not loaded");
	}
	return ob.desc;
}

const char *maas_blas_corename(void)
{
	switch (atomic_load(&state)) {
	case LOADED:
		return ob.corename();
	case FAILED:
		return "reference";
	default:
		return "none";
	}
}

int maas_blas_threads(void)
{
	return ensure_loaded() == LOADED ? ob.get_threads() : 1;
}

void maas_blas_set_threads(int n)
{
	if (ensure_loaded() == LOADED)
		ob.set_threads(n > 0 ? n : ob.default_threads);
}

/* ---- products ---- */

/*
 * Products cut in pieces.  OpenBLAS 0.3.21 has fast kernels for small
 * products (no packing) but takes them only up to M*N*K = 10^6; above, its
 * regular path packs op(B) (or op(A)) on every call, which is what a
 * product with few rows pays most for.  Measured here (one thread, best
 * of three; bench/ has the numbers of whole models):
 *   - just above 10^6, the regular path is 13-15% slower than the same
 *     product as two to four small ones (the LSTM's 64x256x64 step
 *     product 21.5 us whole, 18.6 us in halves; the GRU's with H=128 64 us
 *     whole, 55 us in quarters; in five pieces it was slower);
 *   - with few rows, far more: a 1024x1024 layer on one row takes 708 us
 *     whole and 58 us in two pieces, on 8 rows 922 us and 217 us in nine;
 *     784x256 on 8 rows 82 us and 35 us in two; the pieces win up to 32
 *     rows (1383 against 901 us) and lose from 64 (2075 against 1922 us
 *     for 1024x1024, 284 against 418 us for 784x256).
 * So a product above 10^6 is cut, along the larger of M and N, into the
 * fewest pieces of at most 10^6 each when that is at most four pieces or
 * the other of M and N is at most 32.  Each element of C is computed by
 * one kernel over all of K, as before: only the kernel may differ.
 */
#define SMALL_MNK 1000000.0
#define SMALL_ROWS 32

static void product(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
		    int ldb, float beta, float *C, int ldc);

void maas_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
		const float *B, int ldb, float beta, float *C, int ldc)
{
	double mnk = (double)M * N * K;
	int p = mnk > SMALL_MNK ? (int)ceil(mnk / SMALL_MNK) : 1, big = M > N ? M : N, other = M > N ? N : M;

	if (p > big)
		p = big;
	if (p <= 1 || (p > 4 && other > SMALL_ROWS)) {
		product(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
		return;
	}
	if (N >= M) {           /* columns of op(B) and C */
		for (int i = 0; i < p; i++) {
			int n0 = (int)((long)N * i / p), n1 = (int)((long)N * (i + 1) / p);
			const float *Bi = tb ? B + (size_t)n0 * ldb : B + n0;
			product(ta, tb, M, n1 - n0, K, alpha, A, lda, Bi, ldb, beta, C + n0, ldc);
		}
	} else {                /* rows of op(A) and C */
		for (int i = 0; i < p; i++) {
			int m0 = (int)((long)M * i / p), m1 = (int)((long)M * (i + 1) / p);
			const float *Ai = ta ? A + m0 : A + (size_t)m0 * lda;
			product(ta, tb, m1 - m0, N, K, alpha, Ai, lda, B, ldb, beta, C + (size_t)m0 * ldc, ldc);
		}
	}
}

/* One product, by OpenBLAS or the plain loops. */
static void product(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
		    int ldb, float beta, float *C, int ldc)
{
	if (M <= 0 || N <= 0)
		return;
	if (K <= 0 || alpha == 0) {  /* C = beta C, A and B unread */
		if (beta == 1)
			return;
		for (int i = 0; i < M; i++)
			for (int j = 0; j < N; j++) {
				float *c = &C[(size_t)i * ldc + j];
				*c = beta == 0 ? 0.0f : beta * *c;
			}
		return;
	}
	int acols = ta ? M : K, bcols = tb ? K : N;
	if (ensure_loaded() == LOADED && lda >= acols && ldb >= bcols && ldc >= N)
		ob.sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
			 M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
	else
		ref_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

double maas_blas_measure_gflops(int n, double seconds)
{
	if (n < 1)
		n = 1;
	if (n > GFLOPS_MAX_N)
		n = GFLOPS_MAX_N;
	size_t nn = (size_t)n * n;
	float *A = xmallocarray(nn, sizeof *A), *Bm = xmallocarray(nn, sizeof *Bm);
	float *C = xmallocarray(nn, sizeof *C);
	uint32_t seed = 1;
	fill(A, nn, &seed);
	fill(Bm, nn, &seed);
	maas_sgemm(0, 0, n, n, n, 1.0f, A, n, Bm, n, 0.0f, C, n);  /* warm-up, load */
	long reps = 0;
	double t0 = now_ms(), t;
	do {
		maas_sgemm(0, 0, n, n, n, 1.0f, A, n, Bm, n, 0.0f, C, n);
		reps++;
		t = now_ms() - t0;
	} while (t < seconds * 1e3);
	free(A);
	free(Bm);
	free(C);
	return t > 0 ? 2.0 * n * n * (double)n * reps / (t * 1e6) : 0.0;
}
