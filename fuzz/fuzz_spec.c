/*
 * fuzz_spec.c - libFuzzer target for the prep spec's JSON form.
 *
 * Specs come from files users edit (prep.json, a dataset's metadata), so
 * maas_spec_from_json must refuse anything malformed with an error and
 * never crash.  An accepted spec is written back and read again, and must
 * give the same JSON; it is also bound to a one-row table built from its
 * own column names and transformed.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/table.h"
#include "prep/prep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	struct maas_spec spec, again;
	struct maas_err e;

	if (!j)
		return 0;
	memset(&spec, 0, sizeof spec);
	if (maas_spec_from_json(j, &spec, &e) == 0) {
		json_t *out = maas_spec_to_json(&spec);
		memset(&again, 0, sizeof again);
		if (maas_spec_from_json(out, &again, &e) != 0)
			abort(); /* what we write, we must read */
		json_t *out2 = maas_spec_to_json(&again);
		if (!json_equal(out, out2))
			abort();
		json_decref(out2);
		json_decref(out);

		/* one row with every input column present as "1" */
		struct maas_table t;
		struct maas_binding b;
		maas_table_init(&t);
		maas_spec_prepare_table(&spec, &t);
		size_t src = maas_table_add_source(&t, "fuzz");
		for (size_t i = 0; i < spec.ncols; i++)
			maas_table_column(&t, spec.cols[i].name, strlen(spec.cols[i].name));
		maas_table_begin_row(&t, src, 1);
		for (size_t i = 0; i < t.ncols; i++)
			maas_table_set_text(&t, i, "1", 1);
		maas_table_end_row(&t);
		memset(&b, 0, sizeof b);
		if (spec.nfeatures < (1u << 20) && maas_spec_bind(&spec, &t, 0, &b, &e) == 0) {
			float *x = calloc(spec.nfeatures ? spec.nfeatures : 1, sizeof *x);
			(void)maas_spec_transform(&spec, &b, &t, 0, x, &e);
			free(x);
		}
		maas_binding_release(&b);
		maas_table_release(&t);
		maas_spec_release(&again);
	}
	maas_spec_release(&spec);
	json_decref(j);
	return 0;
}
