/* fuzz_csv.c - libFuzzer target for the CSV/TSV reader.
 *
 * The first byte picks options (delimiter: detect / ',' / tab / ';'; no
 * header; a small max_field and max_columns), the rest is the file,
 * handed to maas_read_inputs through a memfd with the format forced. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "data/read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[4] = {0, ',', '\t', ';'};
	struct maas_read_opts o;
	struct maas_table t;
	struct maas_err e;
	char path[64];

	if (!size)
		return 0;
	maas_read_opts_init(&o);
	o.format = (data[0] & 0x20) ? MAAS_FMT_TSV : MAAS_FMT_CSV;
	o.delimiter = delims[data[0] & 3];
	o.no_header = (data[0] >> 2) & 1;
	if (data[0] & 0x08) {
		o.max_field = 16;
		o.max_columns = 8;
	}
	int fd = memfd_create("fuzz.csv", 0);
	if (fd < 0)
		return 0;
	if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
		close(fd);
		return 0;
	}
	lseek(fd, 0, SEEK_SET);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	const char *paths[1] = {path};
	maas_table_init(&t);
	if (maas_read_inputs(&t, paths, 1, &o, &e) == 0 && t.nrows == 0)
		__builtin_trap(); /* success means rows */
	maas_table_release(&t);
	close(fd);
	return 0;
}
