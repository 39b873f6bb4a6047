/*
 * run.h - one maas-prep job from inputs to outputs.
 *
 * maas_prep_run reads the inputs, and then either
 *   - fits: infers the schema, reports on quality, drops duplicates,
 *     splits, fits the spec on the training split, checks the --fail-on
 *     rules, and writes the dataset (maas-dataset(5)); or
 *   - applies (job->apply set): loads a fitted spec from a prep.json, a
 *     dataset or a bundle, and writes the transformed rows as one split
 *     named "data".
 * Outputs are written atomically and only when everything before them
 * succeeded: a failed rule writes the report (it explains the failure) but
 * no dataset.
 *
 * Ownership: the job is the caller's and is only read.  The result's
 * report is a new reference the caller releases with maas_prep_result_release.
 */
#ifndef MAAS_PREP_RUN_H
#define MAAS_PREP_RUN_H

#include <jansson.h>

#include "core/log.h"
#include "data/read.h"
#include "prep/prep.h"

struct maas_prep_job {
	const char *const *inputs;       /* "-" is stdin */
	size_t ninputs;
	const char *const *test_inputs;  /* rows that form the test split */
	size_t ntest_inputs;
	struct maas_read_opts read;
	const char *const *na;           /* missing-value tokens, NULL = the defaults */
	size_t nna;
	struct maas_prep_opts prep;
	struct maas_rule *rules;
	size_t nrules;

	const char *apply;               /* spec source for --apply, or NULL */
	int check_only;                  /* --check: report only */
	const char *output;              /* dataset path, "-" = stdout */
	const char *report;              /* report path or NULL ("-" = stdout) */
	const char *spec_out;            /* fitted spec path or NULL */
	const char *command_line;        /* recorded in the metadata */
	struct maas_progress *progress;  /* may be NULL */
};

struct maas_split_summary {
	size_t rows;       /* rows (or windows) written */
	size_t shape[3];   /* shape of x */
	int ndim;
};

struct maas_prep_result {
	json_t *report;                  /* the quality report (fit and check) */
	enum maas_task task;
	size_t nfeatures, nclasses;
	size_t input_rows, duplicates;
	struct maas_split_summary split[3];  /* train, val, test; apply: [0] is "data" */
	int failed_rules;
};

int maas_prep_run(const struct maas_prep_job *job, struct maas_prep_result *res, struct maas_err *e);
void maas_prep_result_release(struct maas_prep_result *res);

/* Loads a fitted spec from a prep.json file, a dataset (.safetensors with
 * "prep" metadata) or a bundle directory/tar (its prep.json). */
int maas_spec_load(const char *path, struct maas_spec *spec, struct maas_err *e);

#endif
