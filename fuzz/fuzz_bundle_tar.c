/*
 * fuzz_bundle_tar.c - libFuzzer target: arbitrary bytes opened as a tar
 * bundle (plain or compressed), through extraction, the manifest checks and
 * the digests.  Lower limits than the defaults keep each run small: a
 * decompression bomb stops at 4 MiB instead of 32 GiB.
 *
 *   clang -fsanitize=fuzzer,address -Ilib fuzz/fuzz_bundle_tar.c lib/\*\/\*.c \
 *     $(pkg-config --cflags --libs jansson libarchive libcrypto zlib) -lm
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bundle/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_input(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maas_bundle_limits l;
	struct maas_bundle b;
	struct maas_err e;
	FILE *f;

	if (!path[0]) {
		snprintf(path, sizeof path, "/tmp/fuzz_bundle_tar-%d.tar", (int)getpid());
		atexit(remove_input);
	}
	if (!(f = fopen(path, "wb")))
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();

	maas_bundle_limits_default(&l);
	l.max_entries = 64;
	l.max_file = 1 << 20;
	l.max_total = 4 << 20;
	l.max_manifest = 1 << 16;
	if (maas_bundle_open_limits(&b, path, &l, &e) == 0) {
		const char *name;
		json_t *v;
		json_object_foreach(json_object_get((json_t *)maas_bundle_manifest(&b), "files"), name, v) {
			struct maas_buf buf;
			if (maas_bundle_read(&b, name, &buf, 1 << 20, &e) == 0)
				maas_buf_release(&buf);
		}
		maas_bundle_close(&b);
	}
	return 0;
}
