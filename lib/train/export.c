/*
 * export.c - the bundle of a trained model (maas-bundle(5)).
 *
 * Files: weights.safetensors (the model's named F32 tensors, PyTorch's
 * names and layouts), prep.json (the dataset's spec, verbatim),
 * metrics.jsonl (the epoch lines), examples.jsonl (examples.c), card.md
 * (a model card of facts), and MODEL.json, written by the bundle writer's
 * commit with a digest for every file.  The whole tree is built in a
 * temporary directory and published at once (lib/bundle): a failure at
 * any point leaves nothing at the target.
 */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "core/mem.h"
#include "core/version.h"
#include "train/train.h"

/* ---- names ---- */

int maas_model_name_check(const char *name, const char **why)
{
	size_t n = strlen(name);
	if (!n || n > 64) {
		*why = "a name has 1 to 64 characters";
		return -1;
	}
	if (!isalnum((unsigned char)name[0])) {
		*why = "a name starts with a letter or digit";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i])) {
			*why = "a name has only letters, digits, '.', '_' and '-'";
			return -1;
		}
	return 0;
}

char *maas_model_name_from_path(const char *path)
{
	if (maas_is_stdio(path))
		return xstrdup("model");
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char *s = xstrdup(base), *dot = strrchr(s, '.');
	if (dot && dot != s)
		*dot = '\0';
	size_t k = 0;
	for (size_t i = 0; s[i] && k < 64; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!k && !isalnum(c))
			continue;
		s[k++] = isalnum(c) || strchr("._-", c) ? (char)c : '-';
	}
	s[k] = '\0';
	if (!k) {
		free(s);
		return xstrdup("model");
	}
	return s;
}

/* ---- MODEL.json ---- */

static const char *layer_type(enum maas_layer_kind k)
{
	/* maas-bundle(5) calls a dense layer "linear", as PyTorch does */
	return k == MAAS_LAYER_DENSE ? "linear" : maas_layer_kind_name(k);
}

static const char *arch_kind(const struct maas_model *m)
{
	int dense = 0, res = 0;
	for (int i = 0; i < m->nlayers; i++)
		switch (m->layers[i].kind) {
		case MAAS_LAYER_GRU: return "gru";
		case MAAS_LAYER_LSTM: return "lstm";
		case MAAS_LAYER_RNN: return "rnn";
		case MAAS_LAYER_RESIDUAL: res = 1; break;
		case MAAS_LAYER_DENSE: dense++; break;
		default: break;
		}
	return res ? "resmlp" : dense > 1 ? "mlp" : "linear";
}

static json_t *shape_json(const struct maas_model_tensor *t)
{
	json_t *a = json_array();
	for (int d = 0; d < t->ndim; d++)
		json_array_append_new(a, json_integer(t->shape[d]));
	return a;
}

/* One layer: {"type", "name", sizes, "tensors": {role: tensor name}} and
 * for a residual block its inner "layers".  A leaf's name is its tensors'
 * common prefix ("0", "1.fc1"), a role what follows ("weight", "weight_ih_l0"). */
static json_t *layer_json(const struct maas_model *m, const struct maas_layer *l, int top)
{
	json_t *o = json_pack("{s:s}", "type", layer_type(l->kind));
	if (l->ntensors > 0) {
		const char *first = m->tensors[l->first_tensor].name;
		const char *cut = l->kind == MAAS_LAYER_RESIDUAL || l->kind == MAAS_LAYER_RNN ||
				  l->kind == MAAS_LAYER_GRU || l->kind == MAAS_LAYER_LSTM || top
				  ? strchr(first, '.') : strrchr(first, '.');
		size_t plen = cut ? (size_t)(cut - first) : strlen(first);
		json_t *roles = json_object();
		json_object_set_new(o, "name", json_stringn(first, plen));
		for (int k = 0; k < l->ntensors; k++) {
			const char *tn = m->tensors[l->first_tensor + k].name;
			json_object_set_new(roles, strlen(tn) > plen + 1 ? tn + plen + 1 : tn, json_string(tn));
		}
		if (l->kind == MAAS_LAYER_RNN || l->kind == MAAS_LAYER_GRU || l->kind == MAAS_LAYER_LSTM) {
			json_object_set_new(o, "in", json_integer(l->in));
			json_object_set_new(o, "hidden", json_integer(l->out));
			json_object_set_new(o, "num_layers", json_integer(l->stack));
		} else if (l->kind == MAAS_LAYER_LAYERNORM) {
			json_object_set_new(o, "size", json_integer(l->out));
		} else {
			json_object_set_new(o, "in", json_integer(l->in));
			json_object_set_new(o, "out", json_integer(l->out));
		}
		json_object_set_new(o, "tensors", roles);
	}
	if (l->kind == MAAS_LAYER_DROPOUT)
		json_object_set_new(o, "p", json_real(l->p));
	if (l->kind == MAAS_LAYER_RESIDUAL && l->block >= 0) {
		json_t *inner = json_array();
		for (int j = 0; j < l->nblock && l->block + j < m->nall; j++)
			json_array_append_new(inner, layer_json(m, &m->layers[l->block + j], 0));
		json_object_set_new(o, "layers", inner);
	}
	return o;
}

static json_t *architecture_json(const struct maas_model *m)
{
	json_t *layers = json_array(), *tensors = json_object();

	for (int i = 0; i < m->nlayers; i++)
		json_array_append_new(layers, layer_json(m, &m->layers[i], 1));
	for (int i = 0; i < m->ntensors; i++)
		json_object_set_new(tensors, m->tensors[i].name, shape_json(&m->tensors[i]));
	return json_pack("{s:s, s:s, s:o, s:o, s:I}", "kind", arch_kind(m), "arch", m->arch, "layers", layers,
			 "tensors", tensors, "parameters", (json_int_t)m->nparams);
}

static json_t *inputs_json(const struct maas_dataset *ds)
{
	const struct maas_spec *s = &ds->spec;
	json_t *fields = json_array(), *features = json_array();
	for (size_t i = 0; i < s->ncols; i++)
		json_array_append_new(fields, json_pack("{s:s, s:s}", "name", s->cols[i].name, "type",
							maas_ftype_name(s->cols[i].type)));
	for (size_t i = 0; i < s->nfeatures; i++)
		json_array_append_new(features, json_string(s->features[i]));
	json_t *shape = ds->T ? json_pack("[i, i, i]", -1, ds->T, ds->d) : json_pack("[i, i]", -1, ds->d);
	json_t *in = json_pack("{s:o, s:{s:s, s:s, s:o}, s:o}", "fields", fields, "tensor", "name", "x", "dtype",
			       "F32", "shape", shape, "features", features);
	if (ds->T)
		json_object_set_new(in, "window", json_pack("{s:I, s:I, s:I, s:o, s:b}", "length",
			(json_int_t)s->window, "horizon", (json_int_t)s->horizon, "stride", (json_int_t)s->stride,
			"time_column", s->time_column ? json_string(s->time_column) : json_null(),
			"target_in_window", s->target_in_window));
	return in;
}

static json_t *outputs_json(const struct maas_trainer *t)
{
	const struct maas_dataset *ds = t->ds;
	int out = t->model.out_dim;
	json_t *o = json_pack("{s:s, s:{s:s, s:s, s:[i, i]}}", "target", ds->spec.target, "tensor", "name",
			      ds->classification ? "logits" : "value", "dtype", "F32", "shape", -1, out);
	if (ds->classification) {
		json_t *labels = json_array();
		for (int k = 0; k < ds->K; k++)
			json_array_append_new(labels, json_string(ds->spec.classes[k]));
		json_object_set_new(o, "labels", labels);
		json_object_set_new(o, "activation", json_string(out == 1 ? "sigmoid" : "softmax"));
	} else {
		json_object_set_new(o, "activation", json_string("none"));
		json_object_set_new(o, "target_scale", json_pack("{s:f, s:f}", "mean", ds->y_mean, "std", ds->y_std));
	}
	return o;
}

static void created_now(char *buf, size_t len)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t now = time(NULL);
	struct tm tm;
	if (sde && *sde) {
		char *end;
		long long v = strtoll(sde, &end, 10);
		if (!*end && v >= 0)
			now = (time_t)v;
	}
	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *lineage_json(const struct maas_trainer *t, const struct maas_export *x, const char *created)
{
	const struct maas_dataset *ds = t->ds;
	json_t *cmd = json_array();
	for (int i = 0; i < x->argc; i++)
		json_array_append_new(cmd, json_string(x->argv[i]));
	json_t *dset = json_pack("{s:s}", "sha256", ds->sha256);
	if (ds->source_sha256)
		json_object_set_new(dset, "source_sha256", json_string(ds->source_sha256));
	json_object_set_new(dset, "path", json_string(maas_display_name(ds->path, 0)));
	json_t *l = json_pack("{s:o}", "dataset", dset);
	if (t->parent_sha256)
		json_object_set_new(l, "parents", json_pack("[{s:s, s:s}]", "name", t->parent_name ? t->parent_name : "",
							    "sha256", t->parent_sha256));
	json_object_set_new(l, "tool", json_string("maas-train " MAAS_VERSION));
	json_object_set_new(l, "command", cmd);
	json_object_set_new(l, "created", json_string(created));
	return l;
}

static json_t *manifest_json(const struct maas_trainer *t, const struct maas_export *x, const char *created,
			     int raw_examples, size_t nexamples)
{
	json_t *m = json_object();
	json_t *hp = maas_train_opts_json(&t->o);
	json_object_set_new(hp, "threads", json_integer(x->threads));
	json_object_set_new(m, "format", json_string(MAAS_BUNDLE_FORMAT));
	json_object_set_new(m, "name", json_string(x->name));
	json_object_set_new(m, "task", json_string(t->ds->classification ? "classification" : "regression"));
	json_object_set_new(m, "architecture", architecture_json(&t->model));
	json_object_set_new(m, "inputs", inputs_json(t->ds));
	json_object_set_new(m, "outputs", outputs_json(t));
	json_object_set_new(m, "hyperparameters", hp);
	json_object_set_new(m, "metrics", x->metrics ? json_deep_copy(x->metrics) : json_object());
	json_object_set_new(m, "training", json_pack("{s:i, s:i, s:s, s:I, s:f, s:b}", "epochs", t->epoch,
		"best_epoch", t->best_epoch, "stopped", t->stop_reason ? t->stop_reason : "epochs",
		"steps", (json_int_t)t->step, "seconds", t->elapsed, "restored_best", t->best_params &&
		t->best_epoch > 0 && t->best_epoch != t->epoch));
	json_object_set_new(m, "examples", json_pack("{s:I, s:s}", "count", (json_int_t)nexamples, "input",
						     raw_examples ? "records" : "features"));
	json_object_set_new(m, "lineage", lineage_json(t, x, created));
	return m;
}

/* ---- card.md ---- */

static void metric_row(struct maas_buf *b, const char *split, const json_t *m, const char *const *cols, size_t n)
{
	if (!json_is_object(m))
		return;
	maas_buf_addf(b, "| %s |", split);
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_object_get(m, cols[i]);
		if (json_is_number(v))
			maas_buf_addf(b, " %.4g |", json_number_value(v));
		else
			maas_buf_addstr(b, " - |");
	}
	maas_buf_addstr(b, "\n");
}

static void date_text(double ts, char *buf, size_t len)
{
	time_t tt = (time_t)ts;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

static char *card_md(const struct maas_trainer *t, const struct maas_export *x, const char *created)
{
	const struct maas_dataset *ds = t->ds;
	const struct maas_spec *s = &ds->spec;
	const struct maas_train_opts *o = &t->o;
	struct maas_buf b;

	maas_buf_init(&b);
	maas_buf_addf(&b, "# %s\n\n", x->name);
	maas_buf_addf(&b, "A %s model that predicts `%s`, trained by maas-train %s (%s).\n\n",
		      ds->classification ? "classification" : "regression", s->target, MAAS_VERSION, created);

	maas_buf_addstr(&b, "## Data\n\n");
	maas_buf_addf(&b, "- Dataset: `%s`, sha256 `%s`", maas_display_name(ds->path, 0), ds->sha256);
	if (ds->source_sha256)
		maas_buf_addf(&b, ", prepared from data with sha256 `%s`", ds->source_sha256);
	maas_buf_addstr(&b, ".\n");
	maas_buf_addf(&b, "- Samples: %zu for training, %zu for validation, %zu for testing%s.\n",
		      ds->split[MAAS_TRAIN].n, ds->split[MAAS_VAL].n, ds->split[MAAS_TEST].n,
		      ds->T ? " (windows)" : "");
	maas_buf_addf(&b, "- Inputs: %zu raw fields, %d features", s->ncols, ds->d);
	if (ds->T)
		maas_buf_addf(&b, " per step, windows of %d records in the order of `%s`, predicting %zu record%s ahead",
			      ds->T, s->time_column ? s->time_column : "the input", s->horizon, s->horizon == 1 ? "" : "s");
	maas_buf_addstr(&b, ".\n");
	if (ds->classification) {
		maas_buf_addf(&b, "- Target: `%s`, %d classes (training samples):", s->target, ds->K);
		for (int k = 0; k < ds->K; k++)
			maas_buf_addf(&b, "%s `%s` (%zu)", k ? "," : "", s->classes[k], ds->class_count[k]);
		maas_buf_addstr(&b, ".\n");
	} else {
		maas_buf_addf(&b, "- Target: `%s`, a number; on the training split mean %.6g, standard deviation %.6g.\n",
			      s->target, ds->y_mean, ds->y_std);
	}

	maas_buf_addstr(&b, "\n## Architecture\n\n");
	maas_buf_addf(&b, "- `%s` (%s), %zu parameters, output of width %d%s.\n", t->model.arch, arch_kind(&t->model),
		      t->model.nparams, t->model.out_dim,
		      ds->classification ? (t->model.out_dim == 1 ? " (a logit; sigmoid)" : " (logits; softmax)") : "");
	if (t->parent_sha256)
		maas_buf_addf(&b, "- Fine-tuned from `%s` (bundle sha256 `%s`)%s; the first %d layers frozen.\n",
			      t->parent_name, t->parent_sha256, t->reinit_output ? ", with a new output layer" : "",
			      o->freeze);

	maas_buf_addstr(&b, "\n## Training\n\n");
	maas_buf_addf(&b, "- Loss %s", maas_loss_name(o->loss));
	if (t->class_weight)
		maas_buf_addf(&b, " with class weights (%s)", o->class_weight);
	if (o->label_smoothing > 0)
		maas_buf_addf(&b, ", label smoothing %g", o->label_smoothing);
	maas_buf_addf(&b, "; optimizer %s, learning rate %g, weight decay %g, schedule %s%s; batches of %d.\n",
		      maas_optimizer_name(o->optimizer), o->lr, o->weight_decay, maas_schedule_name(o->schedule),
		      o->warmup ? " with warm-up" : "", o->batch_size);
	maas_buf_addf(&b, "- %d epochs of at most %d (stopped by %s), %llu steps, %.1f s; seed %llu.\n", t->epoch,
		      o->epochs, t->stop_reason ? t->stop_reason : "epochs", (unsigned long long)t->step, t->elapsed,
		      (unsigned long long)o->seed);
	if (o->patience > 0 && t->best_epoch > 0)
		maas_buf_addf(&b, "- Early stopping on validation %s (patience %d): weights of epoch %d.\n", o->metric,
			      o->patience, t->best_epoch);

	maas_buf_addstr(&b, "\n## Metrics\n\n");
	static const char *const cc[] = {"loss", "accuracy", "macro_f1", "logloss", "auc"};
	static const char *const rc[] = {"loss", "rmse", "mae", "r2"};
	const char *const *cols = ds->classification ? cc : rc;
	size_t nc = ds->classification ? (ds->K == 2 ? 5 : 4) : 4;
	maas_buf_addstr(&b, "| split |");
	for (size_t i = 0; i < nc; i++)
		maas_buf_addf(&b, " %s |", cols[i]);
	maas_buf_addstr(&b, "\n|---|");
	for (size_t i = 0; i < nc; i++)
		maas_buf_addstr(&b, "---|");
	maas_buf_addstr(&b, "\n");
	static const char *const splits[] = {"train", "val", "test"};
	for (int i = 0; i < 3; i++)
		metric_row(&b, splits[i], json_object_get(x->metrics, splits[i]), cols, nc);
	if (!ds->classification)
		maas_buf_addstr(&b, "\nThe loss is measured on the standardised target; RMSE and MAE are in its units.\n");

	maas_buf_addstr(&b, "\n## Limits\n\n");
	if (ds->classification)
		maas_buf_addf(&b, "- It only ever answers one of the %d classes above.\n", ds->K);
	maas_buf_addstr(&b, "- Inputs seen in training (outside these ranges it extrapolates):\n");
	for (size_t i = 0; i < s->ncols; i++) {
		const struct maas_spec_col *c = &s->cols[i];
		char lo[32], hi[32];
		switch (c->type) {
		case MAAS_FT_NUMBER:
		case MAAS_FT_INTEGER:
			maas_buf_addf(&b, "  - `%s`: %.6g to %.6g", c->name, c->stats.min, c->stats.max);
			break;
		case MAAS_FT_BOOLEAN:
			maas_buf_addf(&b, "  - `%s`: true or false", c->name);
			break;
		case MAAS_FT_DATE:
			date_text(c->stats.min, lo, sizeof lo);
			date_text(c->stats.max, hi, sizeof hi);
			maas_buf_addf(&b, "  - `%s`: dates from %s to %s", c->name, lo, hi);
			break;
		case MAAS_FT_CATEGORICAL:
			maas_buf_addf(&b, "  - `%s`: %zu categories; others are %s", c->name, c->ncats,
				      c->unknown == MAAS_UNKNOWN_ERROR ? "refused" :
				      c->unknown == MAAS_UNKNOWN_ZERO || !c->other ? "encoded as none of them" :
				      "put in the 'other' bucket");
			break;
		default:
			maas_buf_addf(&b, "  - `%s`", c->name);
		}
		if (c->stats.missing)
			maas_buf_addf(&b, " (%zu missing in training, imputed)", c->stats.missing);
		maas_buf_addstr(&b, "\n");
	}
	maas_buf_addstr(&b, "- The metrics hold for data like the test split; check drift against prep.json's "
			    "statistics before trusting it elsewhere.\n");
	return b.data;
}

/* ---- writing ---- */

static int add_text(struct maas_bundle_writer *w, const char *name, const char *text, struct maas_err *e)
{
	return maas_bundle_add(w, name, text ? text : "", text ? strlen(text) : 0, e);
}

static int write_weights(struct maas_bundle_writer *w, const struct maas_model *m, struct maas_err *e)
{
	char *path = maas_bundle_writer_file(w, "weights.safetensors", e);
	if (!path)
		return -1;
	struct maas_tensor *ts = xcalloc((size_t)(m->ntensors ? m->ntensors : 1), sizeof *ts);
	for (int i = 0; i < m->ntensors; i++) {
		const struct maas_model_tensor *mt = &m->tensors[i];
		ts[i].name = (char *)mt->name;
		ts[i].dtype = MAAS_DT_F32;
		ts[i].ndim = mt->ndim;
		ts[i].nelem = 1;
		for (int d = 0; d < mt->ndim; d++) {
			ts[i].shape[d] = mt->shape[d];
			ts[i].nelem *= (size_t)mt->shape[d];
		}
		ts[i].nbytes = ts[i].nelem * sizeof(float);
		ts[i].data = m->params + mt->off;
	}
	int r = maas_st_write_file(path, ts, (size_t)m->ntensors, NULL, NULL, 0, e);
	free(ts);
	free(path);
	return r;
}

/* A directory target may be replaced only when it is a bundle (or empty):
 * never a directory of someone's files. */
int maas_train_output_check(const char *path, struct maas_err *e)
{
	return maas_bundle_check_target(path, e);
}

int maas_train_export(struct maas_trainer *t, const struct maas_export *x, struct maas_err *e)
{
	struct maas_bundle_writer w;
	struct maas_buf hist;
	char created[32];
	int raw = 0, r = -1;
	size_t nex = 0;
	char *examples = NULL, *card = NULL;
	json_t *manifest = NULL;
	const char *why;

	if (maas_model_name_check(x->name, &why) < 0)
		return maas_err_set(e, MAAS_EUSAGE, "bad model name '%s': %s", x->name, why);
	if (maas_train_output_check(x->output, e) < 0)
		return -1;
	examples = maas_train_examples(t, &raw, &nex, e);
	if (!examples)
		return -1;
	created_now(created, sizeof created);
	maas_buf_init(&hist);
	size_t i;
	json_t *line;
	json_array_foreach(t->history, i, line) {
		maas_buf_addstr(&hist, json_string_value(line));
		maas_buf_addstr(&hist, "\n");
	}
	card = card_md(t, x, created);
	manifest = manifest_json(t, x, created, raw, nex);
	if (maas_bundle_begin(&w, x->output, e) < 0)
		goto out;
	if (write_weights(&w, &t->model, e) < 0 || add_text(&w, "prep.json", t->ds->spec_text, e) < 0 ||
	    add_text(&w, "metrics.jsonl", hist.data, e) < 0 || add_text(&w, "examples.jsonl", examples, e) < 0 ||
	    add_text(&w, "card.md", card, e) < 0) {
		maas_bundle_abort(&w);
		goto out;
	}
	r = maas_bundle_commit(&w, manifest, 1, e);
out:
	json_decref(manifest);
	maas_buf_release(&hist);
	free(examples);
	free(card);
	return r;
}
