/*
 * internal.h - what the files of lib/bundle share; not for other modules.
 *
 * tree.c walks a bundle tree into a sorted list and digests files;
 * extract.c unpacks a tar into a private directory; bundle.c reads and
 * verifies; write.c builds and publishes.  struct bundle_tree is owned by
 * the caller and freed with bundle_tree_release.
 */
#ifndef MAAS_BUNDLE_INTERNAL_H
#define MAAS_BUNDLE_INTERNAL_H

#include <stdint.h>

#include "bundle/bundle.h"
#include "core/sha256.h"

struct bundle_node {
	char *name;    /* relative, "/"-separated */
	int is_dir;
	uint64_t size; /* files only */
};

struct bundle_tree {
	struct bundle_node *v;
	size_t n, cap;
	uint64_t total; /* bytes of all files */
};

/* Walks root (without following links) into t, sorted by name (bytewise).
 * Refuses links and special files, invalid names and anything over the
 * limits.  `bname` names the bundle in messages.  Errors are MAAS_EDATA,
 * or MAAS_EIO for a directory that cannot be read. */
int bundle_walk(const char *root, const struct maas_bundle_limits *l, const char *bname,
		struct bundle_tree *t, struct maas_err *e);
void bundle_tree_release(struct bundle_tree *t);
/* The node called name, or NULL. */
const struct bundle_node *bundle_tree_find(const struct bundle_tree *t, const char *name);

/* Opens root/name for reading without following a link in the last
 * component; checks it is a regular file.  Returns fd or -1 with *e. */
int bundle_open_file(const char *root, const char *name, const char *bname, struct maas_err *e);

/* Reads fd to its end, digesting it (and fsyncing it when sync is set);
 * *size is the number of bytes read. */
int bundle_digest_fd(int fd, int sync, char hex[MAAS_SHA256_HEX], uint64_t *size,
		     const char *bname, const char *name, struct maas_err *e);

/* Digests a regular file of 1 MiB or more straight from a map of it,
 * without the copy through a buffer (65 instead of 71 ms of CPU for
 * 100 MB on the reference machine): 1 when done, 0 when it is smaller or
 * cannot be mapped (then use bundle_digest_fd).  A file truncated while
 * it is digested kills the process (SIGBUS): only for callers that map
 * the bundle's files anyway (maas_bundle_open_start). */
int bundle_digest_map(int fd, char hex[MAAS_SHA256_HEX], uint64_t *size);

/* Extracts the tar read from fd (compressed or not) into the empty
 * directory dest, enforcing the limits.  bname is for messages. */
int bundle_extract(int fd, const char *dest, const struct maas_bundle_limits *l,
		   const char *bname, struct maas_err *e);

/* A copy of an outside name safe to quote in a message: non-printable bytes
 * become '?', long names are cut with "...".  Writes into buf (size n). */
const char *bundle_quote(char *buf, size_t n, const char *s);
#define BUNDLE_QUOTE_MAX 128

/* mkdtemp of "$TMPDIR/maas-bundle" + suffix, registered for removal on a
 * signal through d (maas_outdir; never committed, only aborted). */
int bundle_private_dir(struct maas_outdir *d, struct maas_err *e);

#endif
