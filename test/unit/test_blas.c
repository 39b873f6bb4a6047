/*
 * test_blas.c - nn/blas: kernel choice, thread count, and products against
 * a plain double-precision reference.
 *
 * The kernel choice is made once per process, so each choice is tested in a
 * forked child that has not loaded OpenBLAS; the child sends what it saw
 * back through a pipe and the parent asserts on it.  Those children run
 * first, then this process loads OpenBLAS and tests the products.
 */
#include <fcntl.h>
#include <float.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn/blas.h"
#include "tap.h"

/* ---- children ---- */

struct seen {
	int rc, kind, threads, threads_after_default;
	char corename[64], env[64], desc[2048], msg[MAAS_ERRMSG_MAX];
	float c[4];
};

struct opts_case {
	const char *env_core;   /* OPENBLAS_CORETYPE in the child; NULL unset */
	const char *env_threads;/* OPENBLAS_NUM_THREADS; NULL unset */
	struct maas_blas_opts o;
	int sgemm_first;        /* a product before maas_blas_init (lazy load) */
};

static void child(int fd, const struct opts_case *k)
{
	struct seen s;
	struct maas_err e;
	memset(&s, 0, sizeof s);
	maas_err_clear(&e);
	if (k->env_core)
		setenv("OPENBLAS_CORETYPE", k->env_core, 1);
	else
		unsetenv("OPENBLAS_CORETYPE");
	if (k->env_threads)
		setenv("OPENBLAS_NUM_THREADS", k->env_threads, 1);
	else
		unsetenv("OPENBLAS_NUM_THREADS");
	if (k->sgemm_first) {
		float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
		maas_sgemm(0, 0, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, s.c, 2);
		s.rc = 0;
	} else {
		s.rc = maas_blas_init(&k->o, &e);
	}
	s.kind = e.kind;
	snprintf(s.msg, sizeof s.msg, "%s", e.msg);
	snprintf(s.corename, sizeof s.corename, "%s", maas_blas_corename());
	snprintf(s.desc, sizeof s.desc, "%s", maas_blas_describe());
	const char *env = getenv("OPENBLAS_CORETYPE");
	snprintf(s.env, sizeof s.env, "%s", env ? env : "(unset)");
	if (s.rc == 0) {
		s.threads = maas_blas_threads();
		maas_blas_set_threads(1);
		maas_blas_set_threads(0);
		s.threads_after_default = maas_blas_threads();
	}
	if (write(fd, &s, sizeof s) != (ssize_t)sizeof s)
		_exit(2);
	_exit(0);
}

static int run(const struct opts_case *k, struct seen *s)
{
	int p[2];
	memset(s, 0, sizeof *s);
	fflush(stdout);
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 2);
		close(p[0]);
		child(p[1], k);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t n;
	while (got < sizeof *s && (n = read(p[0], (char *)s + got, sizeof *s - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return got == sizeof *s && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

#if defined(__x86_64__) || defined(__i386__)
static int cpu_avx512(void)
{
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

static int cpu_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}
#else
static int cpu_avx512(void) { return 0; }
static int cpu_avx2(void) { return 0; }
#endif

static int affinity_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		return CPU_COUNT(&set);
	return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

static void test_choice(void)
{
	struct seen s;
	struct opts_case k;

	memset(&k, 0, sizeof k);
	k.env_core = "Prescott";
	ok(run(&k, &s) == 0 && s.rc == 0, "OPENBLAS_CORETYPE=Prescott: init succeeds");
	is_str(s.corename, "Prescott", "OPENBLAS_CORETYPE=Prescott: Prescott kernels");
	ok(has(s.desc, "chosen by OPENBLAS_CORETYPE"), "describe credits OPENBLAS_CORETYPE: %s", s.desc);
	is_str(s.env, "Prescott", "the user's OPENBLAS_CORETYPE is left as it was");

	if (cpu_avx2()) {
		k.env_core = "haswell";
		ok(run(&k, &s) == 0 && s.rc == 0, "OPENBLAS_CORETYPE=haswell: init succeeds");
		is_str(s.corename, "Haswell", "OPENBLAS_CORETYPE=haswell: Haswell kernels (any case)");
	} else {
		ok(1, "# SKIP no AVX2 for Haswell kernels");
		ok(1, "# SKIP no AVX2 for Haswell kernels");
	}

	k.env_core = "";
	ok(run(&k, &s) == 0 && s.rc == 0, "OPENBLAS_CORETYPE empty: init succeeds");
	ok(has(s.desc, "(chosen by OpenBLAS") || has(s.desc, "(chosen by maas"),
	   "OPENBLAS_CORETYPE empty counts as unset: %s", s.desc);
	is_str(s.env, "", "OPENBLAS_CORETYPE empty is left empty");

	k.env_core = "Bogus";  /* OpenBLAS says "Core not found" on stderr: silenced */
	ok(run(&k, &s) == 0 && s.rc == 0, "OPENBLAS_CORETYPE=Bogus: init succeeds");
	ok(has(s.desc, "(chosen by OpenBLAS, which does not offer OPENBLAS_CORETYPE 'Bogus' here)"),
	   "OPENBLAS_CORETYPE=Bogus: describe says it was not honoured: %s", s.desc);

	memset(&k, 0, sizeof k);
	k.o.coretype = "prescott";
	ok(run(&k, &s) == 0 && s.rc == 0, "coretype prescott: init succeeds");
	is_str(s.corename, "Prescott", "coretype prescott: Prescott kernels");
	ok(has(s.desc, "(chosen by --blas-core)"), "describe credits --blas-core: %s", s.desc);
	is_str(s.env, "(unset)", "OPENBLAS_CORETYPE is unset again after loading");

	k.env_core = "Haswell";
	ok(run(&k, &s) == 0 && s.rc == 0, "coretype beats OPENBLAS_CORETYPE: init succeeds");
	is_str(s.corename, "Prescott", "coretype beats OPENBLAS_CORETYPE");
	is_str(s.env, "Haswell", "OPENBLAS_CORETYPE restored to the user's value");

	memset(&k, 0, sizeof k);
	k.o.coretype = "NoSuchCore";
	ok(run(&k, &s) == 0, "unknown coretype: child ran");
	is_int(s.rc, -1, "unknown coretype fails");
	is_int(s.kind, MAAS_EUSAGE, "unknown coretype is a usage error");
	ok(has(s.msg, "cannot use OpenBLAS kernels 'NoSuchCore': OpenBLAS does not offer them"),
	   "message names the core: %s", s.msg);
	is_str(s.corename, "none", "nothing loaded after the failure");

	memset(&k, 0, sizeof k);
	k.o.threads = -1;
	ok(run(&k, &s) == 0 && s.rc == -1 && s.kind == MAAS_EUSAGE &&
	   !strcmp(s.msg, "invalid thread count -1"), "negative thread count refused: %s", s.msg);

	/* automatic choice: on an AVX-512 CPU it must be an AVX-512 kernel set */
	memset(&k, 0, sizeof k);
	ok(run(&k, &s) == 0 && s.rc == 0, "automatic: init succeeds");
	printf("# automatic: %s\n", s.desc);
	ok(has(s.desc, "chosen by OpenBLAS") || has(s.desc, "chosen by maas for this AVX-512 CPU"),
	   "automatic: describe says who chose");
	if (cpu_avx512())
		ok(!strcmp(s.corename, "SkylakeX") || !strcmp(s.corename, "Cooperlake") ||
		   !strcmp(s.corename, "SapphireRapids"),
		   "automatic on an AVX-512 CPU: AVX-512 kernels (%s)", s.corename);
	else
		ok(s.corename[0] && strcmp(s.corename, "none"), "automatic: some kernels (%s)", s.corename);
	is_str(s.env, "(unset)", "automatic: OPENBLAS_CORETYPE not left behind");
	is_int(s.threads, affinity_cpus(), "automatic: threads = CPUs in the affinity mask");

	k.env_threads = "1";
	ok(run(&k, &s) == 0 && s.rc == 0, "OPENBLAS_NUM_THREADS=1: init succeeds");
	is_int(s.threads, 1, "OPENBLAS_NUM_THREADS=1: one thread");
	is_int(s.threads_after_default, 1, "OPENBLAS_NUM_THREADS=1: set_threads(0) restores 1");
	ok(has(s.desc, ", 1 thread;"), "describe says 1 thread: %s", s.desc);

	k.env_threads = NULL;
	k.o.threads = 2;
	ok(run(&k, &s) == 0 && s.rc == 0, "threads 2: init succeeds");
	is_int(s.threads, 2, "threads 2 honoured");
	is_int(s.threads_after_default, affinity_cpus(), "set_threads(0) restores the default");

	memset(&k, 0, sizeof k);
	k.sgemm_first = 1;
	ok(run(&k, &s) == 0, "product before init: child ran");
	ok(s.c[0] == 19 && s.c[1] == 22 && s.c[2] == 43 && s.c[3] == 50,
	   "product before init loads OpenBLAS and is right (%g %g %g %g)",
	   s.c[0], s.c[1], s.c[2], s.c[3]);
	ok(strcmp(s.corename, "none") && strcmp(s.corename, "reference"),
	   "product before init: OpenBLAS loaded (%s)", s.corename);
}

/* maas_blas_check runs in a child of its own; call it before loading here. */
static void test_check(void)
{
	char name[64];
	struct maas_err e;
	maas_err_clear(&e);
	is_int(maas_blas_check("Prescott", name, sizeof name, &e), 0, "check Prescott passes: %s", e.msg);
	is_str(name, "Prescott", "check Prescott reports Prescott");
	is_int(maas_blas_check(NULL, name, sizeof name, &e), 0, "check default passes: %s", e.msg);
	ok(name[0] != '\0', "check default reports a name (%s)", name);
	if (cpu_avx512()) {
		is_int(maas_blas_check("SkylakeX", name, sizeof name, &e), 0, "check SkylakeX passes: %s", e.msg);
		is_str(name, "SkylakeX", "check SkylakeX reports SkylakeX");
	} else {
		ok(1, "# SKIP no AVX-512");
		ok(1, "# SKIP no AVX-512");
	}
}

/* ---- products in this process ---- */

static uint32_t seed = 7;

static float frand(void)
{
	seed = seed * 1664525u + 1013904223u;
	return (float)((seed >> 8) / 8388608.0 - 1.0);
}

/* C = alpha op(A) op(B) + beta C in double; mag gets the rounding scale */
static void reference(int ta, int tb, int M, int N, int K, double alpha, const float *A, int lda,
		      const float *B, int ldb, double beta, const float *C, int ldc, double *R,
		      double *mag)
{
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			double s = 0, m = 0;
			for (int p = 0; p < K; p++) {
				double a = ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
				double b = tb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
				s += a * b;
				m += fabs(a * b);
			}
			double c = beta == 0 ? 0 : C[(size_t)i * ldc + j];
			R[(size_t)i * N + j] = alpha * s + beta * c;
			mag[(size_t)i * N + j] = fabs(alpha) * m + fabs(beta * c);
		}
}

/* One product with padded strides; returns the number of wrong elements
 * (results off the reference, or padding touched). */
static int one_product(int ta, int tb, int M, int N, int K, float alpha, float beta, int pad,
		       double *worst)
{
	int arows = ta ? K : M, acols = ta ? M : K, brows = tb ? N : K, bcols = tb ? K : N;
	int lda = acols + pad, ldb = bcols + 2 * pad, ldc = N + pad;
	size_t na = (size_t)arows * lda, nb = (size_t)brows * ldb, nc = (size_t)M * ldc;
	float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C);
	double *R = malloc((size_t)M * N * sizeof *R), *mag = malloc((size_t)M * N * sizeof *mag);
	for (size_t i = 0; i < na; i++)
		A[i] = frand();
	for (size_t i = 0; i < nb; i++)
		B[i] = frand();
	for (size_t i = 0; i < nc; i++)
		C[i] = beta == 0 ? NAN : frand();
	for (int i = 0; i < M; i++)  /* padding of C: a sentinel */
		for (int j = N; j < ldc; j++)
			C[(size_t)i * ldc + j] = 12345.0f;
	reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, R, mag);
	maas_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
	int bad = 0;
	for (int i = 0; i < M; i++) {
		for (int j = 0; j < N; j++) {
			double d = fabs(C[(size_t)i * ldc + j] - R[(size_t)i * N + j]);
			double tol = (K + 2) * (double)FLT_EPSILON * mag[(size_t)i * N + j] + 1e-30;
			if (!(d <= tol))
				bad++;
			if (mag[(size_t)i * N + j] > 0 && d / mag[(size_t)i * N + j] > *worst)
				*worst = d / mag[(size_t)i * N + j];
		}
		for (int j = N; j < ldc; j++)
			bad += C[(size_t)i * ldc + j] != 12345.0f;
	}
	free(A);
	free(B);
	free(C);
	free(R);
	free(mag);
	return bad;
}

static void test_products(void)
{
	static const int shapes[][3] = {
		{1, 1, 1}, {2, 3, 4}, {7, 5, 3}, {13, 17, 19}, {64, 33, 100}, {129, 65, 257}, {300, 200, 250},
		/* cut in pieces by maas_sgemm: along N, along M, and in 8 for few rows */
		{1, 1024, 1024}, {8, 300, 700}, {3000, 4, 100}, {5, 1500, 1000},
	};
	static const float ab[][2] = {{1.0f, 0.0f}, {0.5f, -2.0f}, {-1.25f, 1.0f}};
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
		for (int t = 0; t < 4; t++) {
			int bad = 0;
			double worst = 0;
			for (size_t a = 0; a < sizeof ab / sizeof *ab; a++)
				bad += one_product(t >> 1, t & 1, shapes[s][0], shapes[s][1], shapes[s][2],
						   ab[a][0], ab[a][1], (int)(1 + s % 3), &worst);
			is_int(bad, 0, "sgemm %c%c %dx%dx%d, 3 alpha/beta, padded strides (worst rel. error %.2g)",
			       t & 2 ? 'T' : 'N', t & 1 ? 'T' : 'N', shapes[s][0], shapes[s][1],
			       shapes[s][2], worst);
		}
}

static void test_edges(void)
{
	float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 0, 0, 1, 1, 1};
	float C[4] = {1, 2, 3, 4};

	/* alpha 0: A and B unread (NaN there does not leak), C = beta C */
	float An[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
	maas_sgemm(0, 0, 2, 2, 3, 0.0f, An, 3, B, 2, 2.0f, C, 2);
	ok(C[0] == 2 && C[1] == 4 && C[2] == 6 && C[3] == 8, "alpha 0: C = beta C, A unread");

	/* K 0: C = beta C; beta 0 overwrites NaN */
	float Cn[4] = {NAN, NAN, NAN, NAN};
	maas_sgemm(0, 0, 2, 2, 0, 1.0f, A, 1, B, 1, 0.0f, Cn, 2);
	ok(Cn[0] == 0 && Cn[1] == 0 && Cn[2] == 0 && Cn[3] == 0, "K 0, beta 0: C zeroed");

	/* beta 0 overwrites NaN in a real product: [1 2 3; 4 5 6] [1 0; 0 1; 1 1] */
	float Cm[4] = {NAN, NAN, NAN, NAN};
	maas_sgemm(0, 0, 2, 2, 3, 1.0f, A, 3, B, 2, 0.0f, Cm, 2);
	ok(Cm[0] == 4 && Cm[1] == 5 && Cm[2] == 10 && Cm[3] == 11,
	   "beta 0 overwrites NaN: %g %g %g %g", Cm[0], Cm[1], Cm[2], Cm[3]);

	/* M 0 and N 0: nothing touched */
	float Cz[4] = {9, 9, 9, 9};
	maas_sgemm(0, 0, 0, 2, 3, 1.0f, A, 3, B, 2, 0.0f, Cz, 2);
	maas_sgemm(0, 0, 2, 0, 3, 1.0f, A, 3, B, 2, 0.0f, Cz, 2);
	ok(Cz[0] == 9 && Cz[1] == 9 && Cz[2] == 9 && Cz[3] == 9, "M 0 or N 0: C untouched");

	/* ldb 0: every row of op(B) is the same row (broadcast), plain loops */
	float row[2] = {10, 20}, ones[3] = {1, 1, 1}, Cb[4] = {0};
	maas_sgemm(0, 0, 1, 2, 3, 1.0f, ones, 3, row, 0, 0.0f, Cb, 2);
	ok(Cb[0] == 30 && Cb[1] == 60, "ldb 0 repeats a row: %g %g", Cb[0], Cb[1]);
}

static void test_threads_and_describe(void)
{
	struct maas_err e;
	maas_err_clear(&e);
	is_int(maas_blas_init(NULL, &e), 0, "init: %s", e.msg);
	const char *d = maas_blas_describe();
	printf("# %s\n", d);
	ok(!strncmp(d, "OpenBLAS ", 9), "describe starts with OpenBLAS");
	ok(has(d, maas_blas_corename()) && has(d, " kernels (chosen by ") && has(d, "; build: OpenBLAS "),
	   "describe names the kernels, who chose them and the build");
	is_int(maas_blas_init(NULL, &e), 0, "init again is fine");

	const char *other = strcmp(maas_blas_corename(), "Prescott") ? "Prescott" : "Haswell";
	struct maas_blas_opts o = { .coretype = other };
	is_int(maas_blas_init(&o, &e), -1, "init asking for other kernels once loaded fails");
	is_int(e.kind, MAAS_EUSAGE, "... as a usage error");
	ok(has(e.msg, "OpenBLAS is already loaded with"), "... saying so: %s", e.msg);

	char name[64] = "x";
	is_int(maas_blas_check("Prescott", name, sizeof name, &e), -1, "check once loaded fails");
	is_int(e.kind, MAAS_ESOFTWARE, "... as a software error");
	is_str(name, "", "... with an empty name");

	const char *env = getenv("OPENBLAS_NUM_THREADS");
	int def = env && atoi(env) > 0 ? atoi(env) : affinity_cpus();
	is_int(maas_blas_threads(), def, "default threads");
	maas_blas_set_threads(1);
	is_int(maas_blas_threads(), 1, "set_threads(1)");
	ok(has(maas_blas_describe(), ", 1 thread;"), "describe follows the thread count");
	maas_blas_set_threads(2);
	is_int(maas_blas_threads(), 2, "set_threads(2)");
	struct maas_blas_opts o1 = { .threads = 1 };
	is_int(maas_blas_init(&o1, &e), 0, "init again with threads 1");
	is_int(maas_blas_threads(), 1, "... sets one thread");
	maas_blas_set_threads(0);
	is_int(maas_blas_threads(), def, "set_threads(0) restores the default");

	double g = maas_blas_measure_gflops(64, 0.01);
	ok(g > 0.1 && g < 1e5, "measure_gflops(64) is plausible: %.1f GFLOP/s", g);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_check();   /* before this process loads OpenBLAS */
	test_choice();
	test_threads_and_describe();
	test_products();
	maas_blas_set_threads(1);
	test_products();  /* the same with one thread */
	maas_blas_set_threads(0);
	test_edges();
	return done_testing();
}
