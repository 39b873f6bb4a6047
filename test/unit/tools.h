/*
 * tools.h - for unit tests that need bundles made by the tools themselves
 * (test_predict.c, test_batch.c): where bin/ is, the source tree, and a
 * scratch directory.
 *
 *   int r = tools_setup("predict");   // 0 ready, 1 skipped, -1 failed
 *   if (r) return r < 0;
 *
 * sets tools_bin (MAAS_BIN or ./bin), tools_root (the working directory,
 * the source tree the tests run from) and tools_dir (a new directory
 * /tmp/maas-TAG-XXXXXX), loads OpenBLAS, and prints the TAP skip line
 * (when bin/maas-prep, bin/maas-train or the Vega data are missing) or
 * the failure line itself.
 */
#ifndef MAAS_TEST_TOOLS_H
#define MAAS_TEST_TOOLS_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/mem.h"
#include "nn/blas.h"

static char tools_dir[64];
static const char *tools_bin;
static char tools_root[4096];

static int tools_setup(const char *tag)
{
	static char bins[4200];
	struct maas_err e;
	char *prep, *train;
	int have;

	if (!getcwd(tools_root, sizeof tools_root))
		tools_root[0] = 0;
	tools_bin = getenv("MAAS_BIN");
	if (!tools_bin) {
		snprintf(bins, sizeof bins, "%s/bin", tools_root);
		tools_bin = bins;
	}
	prep = xasprintf("%s/maas-prep", tools_bin);
	train = xasprintf("%s/maas-train", tools_bin);
	have = access(prep, X_OK) == 0 && access(train, X_OK) == 0 &&
	       access("/usr/lib/python3/dist-packages/vega_datasets/_data/iris.json", R_OK) == 0;
	free(prep);
	free(train);
	if (!have) {
		printf("ok 1 # skip bin/maas-prep, bin/maas-train or the vega datasets are missing\n1..1\n");
		return 1;
	}
	snprintf(tools_dir, sizeof tools_dir, "/tmp/maas-%s-XXXXXX", tag);
	if (!mkdtemp(tools_dir) || maas_blas_init(NULL, &e) < 0) {
		printf("not ok 1 - setup\n1..1\n");
		return -1;
	}
	return 0;
}

#endif
