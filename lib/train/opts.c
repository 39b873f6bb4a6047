/*
 * opts.c - maas-train's options: defaults, their JSON form (the
 * "hyperparameters" of MODEL.json and the options of a checkpoint), and the
 * validation metrics they name.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "train/train.h"

void maas_train_opts_init(struct maas_train_opts *o)
{
	memset(o, 0, sizeof *o);
	o->loss = -1;
	o->label_smoothing = 0;
	o->huber_delta = 1;
	o->optimizer = MAAS_OPT_ADAM;
	o->lr = 1e-3;
	o->weight_decay = NAN;
	o->beta1 = 0.9;
	o->beta2 = 0.999;
	o->schedule = MAAS_SCHED_CONSTANT;
	o->step_size = 0;
	o->gamma = 0.1;
	o->plateau_patience = -1;
	o->clip_norm = NAN;
	o->epochs = 20;
	o->batch_size = 128;
	o->patience = 5;
}

void maas_train_opts_set(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

void maas_train_opts_release(struct maas_train_opts *o)
{
	free(o->arch);
	free(o->class_weight);
	free(o->metric);
	free(o->init);
	memset(o, 0, sizeof *o);
}

void maas_train_opts_copy(struct maas_train_opts *dst, const struct maas_train_opts *src)
{
	*dst = *src;
	dst->arch = src->arch ? xstrdup(src->arch) : NULL;
	dst->class_weight = src->class_weight ? xstrdup(src->class_weight) : NULL;
	dst->metric = src->metric ? xstrdup(src->metric) : NULL;
	dst->init = src->init ? xstrdup(src->init) : NULL;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *maas_train_opts_json(const struct maas_train_opts *o)
{
	json_t *j = json_object();
	json_object_set_new(j, "arch", str_or_null(o->arch));
	json_object_set_new(j, "loss", o->loss >= 0 ? json_string(maas_loss_name(o->loss)) : json_null());
	json_object_set_new(j, "class_weight", str_or_null(o->class_weight));
	json_object_set_new(j, "label_smoothing", json_real(o->label_smoothing));
	json_object_set_new(j, "huber_delta", json_real(o->huber_delta));
	json_object_set_new(j, "optimizer", json_string(maas_optimizer_name(o->optimizer)));
	json_object_set_new(j, "learning_rate", json_real(o->lr));
	json_object_set_new(j, "momentum", json_real(o->momentum));
	json_object_set_new(j, "nesterov", json_boolean(o->nesterov));
	json_object_set_new(j, "weight_decay", num_or_null(o->weight_decay));
	json_object_set_new(j, "betas", json_pack("[f, f]", o->beta1, o->beta2));
	json_object_set_new(j, "schedule", json_string(maas_schedule_name(o->schedule)));
	json_object_set_new(j, "warmup", json_integer(o->warmup));
	json_object_set_new(j, "step_size", json_integer(o->step_size));
	json_object_set_new(j, "gamma", json_real(o->gamma));
	json_object_set_new(j, "min_lr", json_real(o->min_lr));
	json_object_set_new(j, "plateau_patience", json_integer(o->plateau_patience));
	json_object_set_new(j, "clip_norm", num_or_null(o->clip_norm));
	json_object_set_new(j, "epochs", json_integer(o->epochs));
	json_object_set_new(j, "batch_size", json_integer(o->batch_size));
	json_object_set_new(j, "patience", json_integer(o->patience));
	json_object_set_new(j, "metric", str_or_null(o->metric));
	json_object_set_new(j, "time_budget", json_real(o->time_budget));
	json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
	json_object_set_new(j, "init", str_or_null(o->init));
	json_object_set_new(j, "freeze", json_integer(o->freeze));
	return j;
}

/* ---- reading them back ---- */

static int bad(struct maas_err *e, const char *key, const char *what)
{
	return maas_err_set(e, MAAS_ECONFIG, "options.%s: %s", key, what);
}

static int get_num(const json_t *j, const char *key, int nullable, double *v, struct maas_err *e)
{
	const json_t *x = json_object_get(j, key);
	if (nullable && json_is_null(x)) {
		*v = NAN;
		return 0;
	}
	if (!json_is_number(x))
		return bad(e, key, "expected a number");
	*v = json_number_value(x);
	return 0;
}

static int get_int(const json_t *j, const char *key, int lo, int *v, struct maas_err *e)
{
	const json_t *x = json_object_get(j, key);
	if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > 1000000000)
		return bad(e, key, "expected a whole number");
	*v = (int)json_integer_value(x);
	return 0;
}

static int get_str(const json_t *j, const char *key, int nullable, char **v, struct maas_err *e)
{
	const json_t *x = json_object_get(j, key);
	if (nullable && json_is_null(x)) {
		maas_train_opts_set(v, NULL);
		return 0;
	}
	if (!json_is_string(x))
		return bad(e, key, "expected a string");
	maas_train_opts_set(v, json_string_value(x));
	return 0;
}

int maas_train_opts_from_json(const json_t *j, struct maas_train_opts *o, struct maas_err *e)
{
	char *s = NULL;
	const json_t *x;
	int r = -1;

	maas_train_opts_init(o);
	if (!json_is_object(j))
		return maas_err_set(e, MAAS_ECONFIG, "options: expected an object");
	if (get_str(j, "arch", 1, &o->arch, e) || get_str(j, "class_weight", 1, &o->class_weight, e) ||
	    get_str(j, "metric", 1, &o->metric, e) || get_str(j, "init", 1, &o->init, e))
		goto out;
	x = json_object_get(j, "loss");
	if (json_is_null(x))
		o->loss = -1;
	else if (!json_is_string(x) || (o->loss = maas_loss_parse(json_string_value(x))) < 0) {
		bad(e, "loss", "expected a loss name");
		goto out;
	}
	if (get_str(j, "optimizer", 0, &s, e) < 0)
		goto out;
	if ((o->optimizer = maas_optimizer_parse(s)) < 0) {
		bad(e, "optimizer", "unknown optimizer");
		goto out;
	}
	if (get_str(j, "schedule", 0, &s, e) < 0)
		goto out;
	if ((o->schedule = maas_schedule_parse(s)) < 0) {
		bad(e, "schedule", "unknown schedule");
		goto out;
	}
	x = json_object_get(j, "betas");
	if (!json_is_array(x) || json_array_size(x) != 2 || !json_is_number(json_array_get(x, 0)) ||
	    !json_is_number(json_array_get(x, 1))) {
		bad(e, "betas", "expected two numbers");
		goto out;
	}
	o->beta1 = json_number_value(json_array_get(x, 0));
	o->beta2 = json_number_value(json_array_get(x, 1));
	x = json_object_get(j, "nesterov");
	if (!json_is_boolean(x)) {
		bad(e, "nesterov", "expected a boolean");
		goto out;
	}
	o->nesterov = json_is_true(x);
	x = json_object_get(j, "seed");
	if (!json_is_integer(x)) {
		bad(e, "seed", "expected a whole number");
		goto out;
	}
	o->seed = (uint64_t)json_integer_value(x);
	if (get_num(j, "label_smoothing", 0, &o->label_smoothing, e) ||
	    get_num(j, "huber_delta", 0, &o->huber_delta, e) || get_num(j, "learning_rate", 0, &o->lr, e) ||
	    get_num(j, "momentum", 0, &o->momentum, e) || get_num(j, "weight_decay", 1, &o->weight_decay, e) ||
	    get_num(j, "gamma", 0, &o->gamma, e) || get_num(j, "min_lr", 0, &o->min_lr, e) ||
	    get_num(j, "clip_norm", 1, &o->clip_norm, e) || get_num(j, "time_budget", 0, &o->time_budget, e) ||
	    get_int(j, "warmup", 0, &o->warmup, e) || get_int(j, "step_size", 0, &o->step_size, e) ||
	    get_int(j, "plateau_patience", -1, &o->plateau_patience, e) ||
	    get_int(j, "epochs", 1, &o->epochs, e) || get_int(j, "batch_size", 1, &o->batch_size, e) ||
	    get_int(j, "patience", 0, &o->patience, e) || get_int(j, "freeze", 0, &o->freeze, e))
		goto out;
	r = 0;
out:
	free(s);
	if (r < 0)
		maas_train_opts_release(o);
	return r;
}

/* ---- metrics ---- */

static const struct {
	const char *name;
	int classification;     /* 1 classification, 0 regression, -1 both */
	int higher;
} metrics[] = {
	{"loss", -1, 0}, {"accuracy", 1, 1}, {"macro_f1", 1, 1}, {"logloss", 1, 0}, {"auc", 1, 1},
	{"rmse", 0, 0}, {"mae", 0, 0}, {"r2", 0, 1},
};

int maas_metric_valid(const char *name, int classification)
{
	for (size_t i = 0; i < sizeof metrics / sizeof *metrics; i++)
		if (!strcmp(name, metrics[i].name))
			return metrics[i].classification < 0 || metrics[i].classification == classification;
	return 0;
}

int maas_metric_higher_is_better(const char *name)
{
	for (size_t i = 0; i < sizeof metrics / sizeof *metrics; i++)
		if (!strcmp(name, metrics[i].name))
			return metrics[i].higher;
	return 0;
}

double maas_metric_value(const struct maas_metrics *m, const char *name)
{
	if (!m->n)
		return NAN;
	if (!strcmp(name, "loss"))
		return maas_metrics_loss(m);
	if (m->classification) {
		if (!strcmp(name, "accuracy"))
			return maas_metrics_accuracy(m);
		if (!strcmp(name, "macro_f1"))
			return maas_metrics_macro_f1(m);
		if (!strcmp(name, "logloss"))
			return maas_metrics_logloss(m);
		if (!strcmp(name, "auc"))
			return maas_metrics_auc(m);
		return NAN;
	}
	if (!strcmp(name, "rmse"))
		return maas_metrics_rmse(m);
	if (!strcmp(name, "mae"))
		return maas_metrics_mae(m);
	if (!strcmp(name, "r2"))
		return maas_metrics_r2(m);
	return NAN;
}
