/*
 * finetune.c - --init: start from the weights of another bundle.
 *
 * Tensors are matched by name and shape.  The output layer may differ in
 * its number of outputs (a new set of classes): it then keeps the fresh
 * initialisation of the new model.  Anything else that differs is an
 * error naming the tensor, since silently training half a model from
 * scratch is worse than refusing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle.h"
#include "core/mem.h"
#include "train/train.h"

#define WEIGHTS_LIMIT ((size_t)16 << 30)

static void shape_text(int ndim, const int64_t *shape, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "[");
	for (int d = 0; d < ndim && off < len; d++)
		off += (size_t)snprintf(buf + off, len - off, "%s%lld", d ? ", " : "", (long long)shape[d]);
	if (off < len)
		snprintf(buf + off, len - off, "]");
}

static int copy_weights(struct maas_trainer *t, const struct maas_st *st, const char *bname, struct maas_err *e)
{
	const struct maas_model *m = &t->model;
	char have[64], want[64];

	for (int i = 0; i < m->ntensors; i++) {
		const struct maas_model_tensor *mt = &m->tensors[i];
		const struct maas_tensor *pt = maas_st_get(st, mt->name);
		int64_t shape[2] = {mt->shape[0], mt->ndim > 1 ? mt->shape[1] : 0};
		int output = mt->layer == m->nlayers - 1;

		if (!pt)
			return maas_err_set(e, MAAS_ECONFIG, "cannot start from bundle '%s': it has no tensor '%s' "
					    "(another architecture? give the parent's with -a)", bname, mt->name);
		if (pt->dtype != MAAS_DT_F32)
			return maas_err_set(e, MAAS_ECONFIG, "cannot start from bundle '%s': tensor '%s' is %s "
					    "(fine-tune from an unpacked F32 bundle)", bname, mt->name,
					    maas_dtype_name(pt->dtype));
		int same = pt->ndim == mt->ndim && pt->shape[0] == shape[0] && (mt->ndim < 2 || pt->shape[1] == shape[1]);
		if (!same) {
			/* a new output layer: only its number of outputs may differ */
			if (output && pt->ndim == mt->ndim && (mt->ndim < 2 || pt->shape[1] == shape[1])) {
				t->reinit_output = 1;
				continue;
			}
			shape_text(pt->ndim, pt->shape, have, sizeof have);
			shape_text(mt->ndim, shape, want, sizeof want);
			return maas_err_set(e, MAAS_ECONFIG, "cannot start from bundle '%s': tensor '%s' is %s there "
					    "but %s here", bname, mt->name, have, want);
		}
		memcpy(m->params + mt->off, pt->data, pt->nbytes);
	}
	for (size_t i = 0; i < st->n; i++)
		if (!maas_model_find(m, st->tensors[i].name) && !strstr(st->tensors[i].name, ".scale"))
			return maas_err_set(e, MAAS_ECONFIG, "cannot start from bundle '%s': its tensor '%s' has no "
					    "place in the model '%s'", bname, st->tensors[i].name, m->arch);
	return 0;
}

int maas_trainer_init_from(struct maas_trainer *t, const char *bundle, struct maas_err *e)
{
	struct maas_bundle b;
	struct maas_buf w;
	struct maas_st st;
	char hex[MAAS_SHA256_HEX];
	const char *bname = maas_display_name(bundle, 0);
	int r = -1;

	memset(&st, 0, sizeof st);
	maas_buf_init(&w);
	if (maas_bundle_open(&b, bundle, e) < 0)
		return -1;
	char *mpath = maas_bundle_file(&b, MAAS_BUNDLE_MANIFEST);
	if (!mpath || maas_sha256_file(mpath, hex, e) < 0) {
		if (!mpath)
			maas_err_set(e, MAAS_ESOFTWARE, "bundle '%s' has no manifest path", bname);
		goto out;
	}
	if (maas_bundle_read(&b, "weights.safetensors", &w, WEIGHTS_LIMIT, e) < 0)
		goto out;
	char *wname = xasprintf("%s:weights.safetensors", bname);
	r = maas_st_open_mem_named(&st, w.data ? w.data : "", w.len, wname, e);
	free(wname);
	if (r < 0)
		goto out;
	r = copy_weights(t, &st, bname, e);
	if (r == 0) {
		const char *name = json_string_value(json_object_get(maas_bundle_manifest(&b), "name"));
		maas_train_opts_set(&t->parent_name, name ? name : "");
		maas_train_opts_set(&t->parent_sha256, hex);
	}
out:
	maas_st_close(&st);
	maas_buf_release(&w);
	free(mpath);
	maas_bundle_close(&b);
	return r;
}

char *maas_bundle_arch(const char *bundle, struct maas_err *e)
{
	struct maas_bundle b;
	char *arch = NULL;

	if (maas_bundle_open(&b, bundle, e) < 0)
		return NULL;
	const json_t *a = json_object_get(json_object_get(maas_bundle_manifest(&b), "architecture"), "arch");
	if (json_is_string(a))
		arch = xstrdup(json_string_value(a));
	else
		maas_err_set(e, MAAS_ECONFIG, "bundle '%s' does not say its architecture (architecture.arch): give -a",
			     maas_display_name(bundle, 0));
	maas_bundle_close(&b);
	return arch;
}
