/*
 * model_check.h - what test_model.c and test_model_rnn.c both use: small
 * builders, the finite-difference gradient check of a whole model, and the
 * comparison with PyTorch (test/tools/torch_model.py, skipped when torch
 * cannot be imported).  Included by exactly those two test programs.
 */
#ifndef MAAS_TEST_MODEL_CHECK_H
#define MAAS_TEST_MODEL_CHECK_H

#include <stdlib.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/rng.h"
#include "nn/blas.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "tap.h"

#define UNUSED __attribute__((unused))

UNUSED static void fill_normal(float *x, size_t n, double scale, struct maas_rng *r)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(scale * maas_rng_normal(r));
}

UNUSED static int build(struct maas_model *m, const char *arch, int in, int T, int out)
{
	struct maas_err e;
	if (maas_model_build(m, arch, in, T, out, &e) < 0) {
		printf("# build '%s': %s\n", arch, e.msg);
		return -1;
	}
	return 0;
}

/* sum(logits * R), the forward run with a fresh dropout stream (so a fixed mask) */
UNUSED static double objective(struct maas_model *m, struct maas_acts *a, const float *x, int B,
			const float *R, int train)
{
	struct maas_rng r;
	double s = 0;
	maas_rng_init(&r, 99, 5);
	maas_model_forward(m, a, x, B, train, &r);
	for (size_t i = 0; i < (size_t)B * m->out_dim; i++)
		s += (double)a->logits[i] * R[i];
	return s;
}

/* Central differences over every parameter (or a sample of 300). */
UNUSED static void gradcheck(const char *arch, int in, int T, int out, int B, int train)
{
	struct maas_model m;
	struct maas_acts a;
	struct maas_rng r;
	if (build(&m, arch, in, T, out) < 0) {
		ok(0, "gradcheck '%s' builds", arch);
		return;
	}
	size_t nx = (size_t)B * (T ? T : 1) * in, nl = (size_t)B * out;
	float *x = xmalloc(nx * sizeof *x), *R = xmalloc(nl * sizeof *R);
	float *g = xmalloc(m.nparams * sizeof *g);
	maas_rng_init(&r, 7, 1);
	maas_model_init_params(&m, &r);
	/* more spread than the defaults, so that every layer matters */
	for (size_t i = 0; i < m.nparams; i++)
		m.params[i] *= 2.0f;
	fill_normal(x, nx, 1.0, &r);
	fill_normal(R, nl, 1.0, &r);
	maas_acts_alloc(&a, &m, B + 3);
	maas_model_zero_grad(&m);
	objective(&m, &a, x, B, R, train);
	maas_model_backward(&m, &a, x, R, B);
	memcpy(g, m.grads, m.nparams * sizeof *g);

	size_t step = m.nparams > 300 ? m.nparams / 300 : 1, bad = 0, checked = 0, kinks = 0;
	double worst = 0, gmax = 0;
	for (size_t i = 0; i < m.nparams; i++)
		gmax = fabs(g[i]) > gmax ? fabs(g[i]) : gmax;
	for (size_t i = 0; i < m.nparams; i += step) {
		/* central differences with steps h, then h/4 if that disagrees: a
		 * relu that switches within +-h spoils the first, rarely both;
		 * one-sided slopes that differ mark such a kink */
		double f0 = objective(&m, &a, x, B, R, train), num = 0, err = 0;
		int kink = 0;
		for (int k = 0; k < 2; k++) {
			float p = m.params[i], h = (k ? 1e-3f : 4e-3f) * (fabsf(p) > 1 ? fabsf(p) : 1);
			float pp = p + h, pm = p - h;
			m.params[i] = pp;
			double fp = objective(&m, &a, x, B, R, train);
			m.params[i] = pm;
			double fm = objective(&m, &a, x, B, R, train);
			m.params[i] = p;
			double dr = (fp - f0) / ((double)pp - p), dl = (f0 - fm) / ((double)p - pm);
			num = (fp - fm) / ((double)pp - (double)pm);
			err = fabs(num - g[i]) / (fabs(num) + 1e-2 * gmax + 1e-6);
			kink = fabs(dr - dl) > 0.05 * (fabs(dr) + fabs(dl)) + 1e-3 * gmax;
			if (err <= 2e-2 && !kink)
				break;
		}
		if (kink) {
			kinks++;   /* no derivative to compare */
			continue;
		}
		if (err > worst)
			worst = err;
		if (err > 2e-2) {
			if (bad < 3)
				printf("#   '%s' param %zu: analytic %.7g, numeric %.7g\n", arch, i, g[i], num);
			bad++;
		}
		checked++;
	}
	ok(bad == 0 && gmax > 0 && kinks * 10 <= checked,
	   "gradcheck '%s'%s: %zu parameters, worst relative error %.2g (%zu at a kink)", arch,
	   train ? " (training)" : "", checked, worst, kinks);

	/* backward adds: a second pass doubles the gradient */
	objective(&m, &a, x, B, R, train);
	maas_model_backward(&m, &a, x, R, B);
	int twice = 1;
	for (size_t i = 0; i < m.nparams; i++)
		twice &= fabsf(m.grads[i] - 2 * g[i]) <= 1e-5f * (fabsf(g[i]) + 1e-3f);
	ok(twice, "'%s': backward adds into grads", arch);
	maas_acts_release(&a);
	maas_model_release(&m);
	free(x);
	free(R);
	free(g);
}

/* ---- PyTorch ---- */

UNUSED static int have_torch(void)
{
	static int have = -1;
	if (have < 0)
		have = access("/usr/bin/python3", X_OK) == 0 &&
		       system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
	return have;
}

UNUSED static void put_floats(FILE *f, const char *key, const float *x, size_t n)
{
	fprintf(f, "\"%s\": [", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%.9g", i ? "," : "", x[i]);
	fprintf(f, "]");
}

/* Runs our model and loss on random data and writes everything to a JSON
 * file for test/tools/torch_model.py to redo in PyTorch.  Returns the
 * file's path (malloc), or NULL. */
UNUSED static char *torch_case(const char *arch, int in, int T, int out, int B, const struct maas_loss_opts *o)
{
	struct maas_model m;
	struct maas_acts a;
	struct maas_rng r;
	if (build(&m, arch, in, T, out) < 0)
		return NULL;
	size_t nx = (size_t)B * (T ? T : 1) * in, nl = (size_t)B * out;
	float *x = xmalloc(nx * sizeof *x), *d = xmalloc(nl * sizeof *d);
	double *y = xmalloc(nl * sizeof *y);
	maas_rng_init(&r, 21, 1);
	maas_model_init_params(&m, &r);
	fill_normal(x, nx, 1.0, &r);
	for (size_t i = 0; i < nl; i++)
		y[i] = o->kind == MAAS_LOSS_SOFTMAX_CE ? (double)maas_rng_below(&r, (uint64_t)out)
		       : o->kind == MAAS_LOSS_BCE ? (double)maas_rng_below(&r, 2)
		       : 1.5 * maas_rng_normal(&r);
	maas_acts_alloc(&a, &m, B);
	maas_model_zero_grad(&m);
	maas_model_forward(&m, &a, x, B, 1, &r);
	double loss = maas_loss_compute(o, a.logits, y, B, out, d, NULL);
	maas_model_backward(&m, &a, x, d, B);

	char *path = xstrdup("/tmp/maas-torch-XXXXXX");
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f) {
		fprintf(f, "{\"arch\": \"%s\", \"in\": %d, \"T\": %d, \"out\": %d, \"B\": %d,\n", m.arch,
			in, T, out, B);
		fprintf(f, "\"loss\": \"%s\", \"smoothing\": %.9g, \"delta\": %.9g,\n",
			maas_loss_name(o->kind), o->label_smoothing, o->huber_delta);
		if (o->class_weight) {
			put_floats(f, "class_weight", o->class_weight, (size_t)out);
			fprintf(f, ",\n");
		}
		put_floats(f, "x", x, nx);
		fprintf(f, ",\n\"y\": [");
		for (size_t i = 0; i < (o->kind >= MAAS_LOSS_MSE ? nl : (size_t)B); i++)
			fprintf(f, "%s%.17g", i ? "," : "", y[i]);
		fprintf(f, "],\n");
		put_floats(f, "logits", a.logits, nl);
		fprintf(f, ",\n\"loss_value\": %.17g,\n\"params\": {", loss);
		for (int i = 0; i < m.ntensors; i++) {
			const struct maas_model_tensor *t = &m.tensors[i];
			fprintf(f, "%s\n\"%s\": {\"shape\": [%d", i ? "," : "", t->name, t->shape[0]);
			if (t->ndim > 1)
				fprintf(f, ", %d", t->shape[1]);
			fprintf(f, "], ");
			put_floats(f, "value", m.params + t->off, maas_model_tensor_size(t));
			fprintf(f, ", ");
			put_floats(f, "grad", m.grads + t->off, maas_model_tensor_size(t));
			fprintf(f, "}");
		}
		fprintf(f, "}}\n");
		fclose(f);
	} else {
		free(path);
		path = NULL;
	}
	free(x);
	free(d);
	free(y);
	maas_acts_release(&a);
	maas_model_release(&m);
	return path;
}

struct torch_run {
	const char *arch;
	int in, T, out, B;
	struct maas_loss_opts loss;
};

/* Writes every case, runs the script once over all, and reports each. */
UNUSED static void torch_run(const struct torch_run *c, int n)
{
	char *paths[16], *cmd = xstrdup("/usr/bin/python3 test/tools/torch_model.py"), *out = NULL;
	size_t outlen = 0;

	if (!have_torch()) {
		for (int i = 0; i < n; i++)
			printf("ok %d # skip /usr/bin/python3 cannot import torch\n", ++tap_n);
		free(cmd);
		return;
	}
	for (int i = 0; i < n && i < 16; i++) {
		paths[i] = torch_case(c[i].arch, c[i].in, c[i].T, c[i].out, c[i].B, &c[i].loss);
		char *t = xasprintf("%s '%s'", cmd, paths[i] ? paths[i] : "/nonexistent");
		free(cmd);
		cmd = t;
	}
	char *t = xasprintf("%s 2>&1", cmd);
	free(cmd);
	cmd = t;
	FILE *p = popen(cmd, "r"), *o = open_memstream(&out, &outlen);
	char line[512];
	while (p && fgets(line, sizeof line, p)) {
		printf("#   %s", line);
		fputs(line, o);
	}
	if (p)
		pclose(p);
	fclose(o);
	for (int i = 0; i < n && i < 16; i++) {
		char *want = xasprintf("result %s ok\n", paths[i] ? paths[i] : "-");
		ok(paths[i] && strstr(out, want) != NULL,
		   "PyTorch agrees on '%s' (%d inputs%s) with %s: logits, loss, every gradient", c[i].arch,
		   c[i].in, c[i].T ? ", a sequence" : "", maas_loss_name(c[i].loss.kind));
		free(want);
		if (paths[i])
			unlink(paths[i]);
		free(paths[i]);
	}
	free(out);
	free(cmd);
}

#endif
