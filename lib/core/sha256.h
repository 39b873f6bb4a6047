/*
 * sha256.h - SHA-256 digests through OpenSSL's libcrypto.
 *
 * The one wrapper around EVP for the whole library: files in bundles,
 * dataset sources and registry objects are named by their hex digest.
 * struct maas_sha256 is caller-owned; maas_sha256_final releases it.
 */
#ifndef MAAS_CORE_SHA256_H
#define MAAS_CORE_SHA256_H

#include <stddef.h>

#include "core/error.h"

#define MAAS_SHA256_HEX 65 /* 64 hex digits and NUL */

struct maas_sha256 {
	void *ctx; /* EVP_MD_CTX */
};

void maas_sha256_init(struct maas_sha256 *s);
void maas_sha256_update(struct maas_sha256 *s, const void *p, size_t n);
/* Writes 64 lowercase hex digits and a NUL to hex; frees the context. */
void maas_sha256_final(struct maas_sha256 *s, char hex[MAAS_SHA256_HEX]);

/* One-shot digest of a buffer. */
void maas_sha256_hex(const void *p, size_t n, char hex[MAAS_SHA256_HEX]);

/* Digest of a file's contents. */
int maas_sha256_file(const char *path, char hex[MAAS_SHA256_HEX], struct maas_err *e);

#endif
