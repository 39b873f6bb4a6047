/* opts.c - the defaults of maas-prep's options (see struct maas_prep_opts). */
#include "prep/prep.h"

#include <string.h>

void maas_prep_opts_init(struct maas_prep_opts *o)
{
	memset(o, 0, sizeof *o);
	o->task = MAAS_TASK_AUTO;
	o->impute_num = MAAS_IMPUTE_MEAN;
	o->impute_cat = MAAS_IMPUTE_MOST_FREQUENT;
	o->clip = MAAS_CLIP_NONE;
	o->clip_k = 0;             /* the method's default: 3 for z-score, 1.5 for IQR */
	o->encode = MAAS_ENCODE_ONEHOT;
	o->min_frequency = 1;
	o->max_categories = 64;
	o->unknown = MAAS_UNKNOWN_OTHER;
	o->scale = MAAS_SCALE_STANDARD;
	o->max_text_cardinality = 100;
	o->frac[0] = 0.8;
	o->frac[1] = 0.1;
	o->frac[2] = 0.1;
	o->split = MAAS_SPLIT_AUTO;
	o->seed = 0;
	o->first_test_row = -1;
	o->window = 0;
	o->horizon = 1;
	o->stride = 1;
}
