/* sha256.c - SHA-256 through libcrypto's EVP interface. */
#include "core/sha256.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/io.h"

void maas_sha256_init(struct maas_sha256 *s)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		abort();
	s->ctx = ctx;
}

void maas_sha256_update(struct maas_sha256 *s, const void *p, size_t n)
{
	if (n)
		EVP_DigestUpdate(s->ctx, p, n);
}

void maas_sha256_final(struct maas_sha256 *s, char hex[MAAS_SHA256_HEX])
{
	unsigned char md[32];
	unsigned int len = 0;
	static const char digits[] = "0123456789abcdef";

	EVP_DigestFinal_ex(s->ctx, md, &len);
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

void maas_sha256_hex(const void *p, size_t n, char hex[MAAS_SHA256_HEX])
{
	struct maas_sha256 s;
	maas_sha256_init(&s);
	maas_sha256_update(&s, p, n);
	maas_sha256_final(&s, hex);
}

int maas_sha256_file(const char *path, char hex[MAAS_SHA256_HEX], struct maas_err *e)
{
	char buf[1 << 16];
	struct maas_sha256 s;
	int fd = maas_open_in(path, e);

	if (fd < 0)
		return -1;
	maas_sha256_init(&s);
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			maas_err_sys(e, MAAS_EIO, "cannot read '%s'", maas_display_name(path, 0));
			maas_sha256_final(&s, hex);
			if (fd)
				close(fd);
			return -1;
		}
		if (r == 0)
			break;
		maas_sha256_update(&s, buf, (size_t)r);
	}
	if (fd)
		close(fd);
	maas_sha256_final(&s, hex);
	return 0;
}
