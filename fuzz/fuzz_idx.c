/* fuzz_idx.c - libFuzzer target for the IDX reader (plain or gzip).
 *
 * The input is one IDX file, or, when its first byte is 'P', two: the
 * second byte is the length of the first file, the rest the second; they
 * are read as a pair (images and labels) so that the pairing code runs.  Files reach maas_read_inputs through memfds
 * with the format forced; max_columns is kept small so that a header
 * cannot ask for 100000 columns on every run. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "data/read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd_with(const uint8_t *p, size_t n)
{
	int fd = memfd_create("fuzz.idx", 0);
	if (fd < 0)
		return -1;
	if (n && write(fd, p, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maas_read_opts o;
	struct maas_table t;
	struct maas_err e;
	char p0[64], p1[64];
	int fd[2] = {-1, -1};
	size_t n = 1;

	maas_read_opts_init(&o);
	o.format = MAAS_FMT_IDX;
	o.max_columns = 4096;
	if (size >= 2 && data[0] == 'P') {
		size_t first = data[1] < size - 2 ? data[1] : size - 2;
		fd[0] = memfd_with(data + 2, first);
		fd[1] = memfd_with(data + 2 + first, size - 2 - first);
		n = 2;
	} else {
		fd[0] = memfd_with(data, size);
	}
	if (fd[0] >= 0 && (n == 1 || fd[1] >= 0)) {
		snprintf(p0, sizeof p0, "/proc/self/fd/%d", fd[0]);
		snprintf(p1, sizeof p1, "/proc/self/fd/%d", fd[1]);
		const char *paths[2] = {p0, p1};
		maas_table_init(&t);
		if (maas_read_inputs(&t, paths, n, &o, &e) == 0 && t.nrows == 0)
			__builtin_trap(); /* success means rows */
		maas_table_release(&t);
	}
	for (int i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return 0;
}
