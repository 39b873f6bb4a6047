/*
 * csv-parse.c - times maas_read_inputs on one file (for bench/csv-speed).
 *
 *   csv-parse FILE [REPEAT]
 *
 * Reads FILE REPEAT times (default 3) into a fresh table and prints one
 * line for the best run:
 *   maas: ROWS rows, COLS columns, SECONDS s, MB/s
 * MB are 10^6 bytes of the file as stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/log.h"
#include "data/read.h"

int main(int argc, char **argv)
{
	struct maas_read_opts o;
	struct maas_err e;
	struct stat st;
	double best = 0;
	size_t rows = 0, cols = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: csv-parse FILE [REPEAT]\n");
		return 64;
	}
	int repeat = argc == 3 ? atoi(argv[2]) : 3;
	if (stat(argv[1], &st) < 0) {
		perror(argv[1]);
		return 66;
	}
	maas_read_opts_init(&o);
	for (int i = 0; i < (repeat > 0 ? repeat : 1); i++) {
		struct maas_table t;
		const char *paths[1] = {argv[1]};
		maas_table_init(&t);
		double t0 = maas_now();
		if (maas_read_inputs(&t, paths, 1, &o, &e) < 0) {
			fprintf(stderr, "csv-parse: %s\n", e.msg);
			return 65;
		}
		double dt = maas_now() - t0;
		if (!i || dt < best)
			best = dt;
		rows = t.nrows;
		cols = t.ncols;
		maas_table_release(&t);
	}
	printf("maas: %zu rows, %zu columns, %.3f s, %.1f MB/s\n", rows, cols, best,
	       (double)st.st_size / 1e6 / best);
	return 0;
}
