/*
 * bundle.h - reading, verifying and writing maas bundles (see maas-bundle(5)).
 *
 * A bundle is a trained model: a directory tree holding MODEL.json (the
 * manifest) and the files it lists (weights.safetensors, prep.json, ...), or
 * the same tree as a tar stream.  The manifest names every other file with
 * its sha256 and size, and a bundle is exactly what its manifest says: a
 * file that is missing, differs, or is present without being listed makes
 * the whole bundle unusable.
 *
 * Reading.  maas_bundle_open takes a bundle directory, a tar file (plain or
 * compressed with gzip, bzip2, xz, lzma, lzip, zstd or lz4) or "-" for a tar
 * stream on stdin.  A tar is extracted into a private temporary directory
 * under $TMPDIR (or /tmp) that maas_bundle_close removes; every entry is
 * checked first (see the limits below; links, devices, fifos, absolute names
 * and ".." are refused).  Then MODEL.json is parsed and every file is
 * checked against it.  Problems with the bundle's own bytes (a hostile or
 * corrupt archive, a bad manifest, a digest that does not match) are
 * MAAS_EDATA; a path that cannot be opened is MAAS_ENOINPUT.
 *
 * Writing.  maas_bundle_begin prepares a temporary tree; the caller puts
 * files in it (maas_bundle_add, or directly under maas_bundle_writer_dir);
 * maas_bundle_commit digests them, writes MODEL.json and publishes the
 * bundle atomically: a directory is renamed into place, a tar (target "-"
 * or a name ending in ".tar") is streamed reproducibly to stdout or to a
 * file written under a temporary name.  maas_bundle_abort removes
 * everything.  Nothing half-written is ever left at the target.
 *
 * Ownership: struct maas_bundle and struct maas_bundle_writer are owned by
 * the caller; maas_bundle_close / maas_bundle_abort / a successful or
 * failed maas_bundle_commit release what they hold, never the struct.  The
 * manifest returned by maas_bundle_manifest belongs to the bundle (valid
 * until close; take json_incref to keep it).  Strings returned as char *
 * are the caller's to free.
 */
#ifndef MAAS_BUNDLE_BUNDLE_H
#define MAAS_BUNDLE_BUNDLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/io.h"

/* The value of MODEL.json's "format". */
#define MAAS_BUNDLE_FORMAT "maas-bundle/1"
#define MAAS_BUNDLE_MANIFEST "MODEL.json"

/* Default limits (documented in maas-bundle(5), LIMITS). */
#define MAAS_BUNDLE_MAX_ENTRIES  4096                   /* files and directories */
#define MAAS_BUNDLE_MAX_FILE     ((uint64_t)16 << 30)   /* bytes in one file: 16 GiB */
#define MAAS_BUNDLE_MAX_TOTAL    ((uint64_t)32 << 30)   /* bytes in all files: 32 GiB */
#define MAAS_BUNDLE_MAX_MANIFEST ((size_t)16 << 20)     /* bytes of MODEL.json: 16 MiB */
#define MAAS_BUNDLE_NAME_MAX     255                    /* bytes in a file name */

struct maas_bundle_limits {
	size_t max_entries;
	uint64_t max_file;
	uint64_t max_total;
	size_t max_manifest;
};

/* Fills l with the defaults above. */
void maas_bundle_limits_default(struct maas_bundle_limits *l);

struct bundle_digests;

struct maas_bundle {
	char *name;       /* as given, for messages ("<stdin>" for "-") */
	char *root;       /* the directory that holds the tree */
	struct maas_outdir extract; /* extract.tmp: private directory for tar input */
	json_t *manifest; /* MODEL.json, verified */
	double extract_seconds;  /* unpacking a tar (0 for a directory) */
	double digest_seconds;   /* digesting every file (on its own thread after _start) */
	uint64_t digest_bytes;   /* bytes digested */
	struct bundle_digests *pending; /* private: digests not yet waited for */
};

/* Opens and verifies a bundle with the default limits, or with l (NULL
 * for the defaults).  On failure b is left released (maas_bundle_close is
 * harmless on it). */
int maas_bundle_open(struct maas_bundle *b, const char *path, struct maas_err *e);
int maas_bundle_open_limits(struct maas_bundle *b, const char *path,
			    const struct maas_bundle_limits *l, struct maas_err *e);

/* maas_bundle_open in two halves, for a caller with work to do while the
 * digests are computed (reading every byte of every file is most of the
 * time it takes to open a bundle with large weights): _start does all
 * but the digests, which it starts on a thread of its own, and _finish
 * waits for them and fails as maas_bundle_open would (releasing b).
 * Between the two, maas_bundle_read still verifies what it reads, but a
 * file opened by its path (maas_bundle_file) is not yet known to match:
 * whatever the caller made of it counts only once _finish returned 0,
 * and when its own work fails, a digest that does not match is the
 * better error (call _finish, and prefer its error when it fails too).
 * maas_bundle_close waits for the thread as well. */
int maas_bundle_open_start(struct maas_bundle *b, const char *path, struct maas_err *e);
int maas_bundle_open_finish(struct maas_bundle *b, struct maas_err *e);

/* The parsed MODEL.json; owned by b. */
const json_t *maas_bundle_manifest(const struct maas_bundle *b);

/* The directory holding the tree (the bundle itself, or the extraction). */
const char *maas_bundle_dir(const struct maas_bundle *b);

/* The path of a file listed in the manifest (caller frees), or NULL when
 * name is not listed.  "MODEL.json" itself is also answered. */
char *maas_bundle_file(const struct maas_bundle *b, const char *name);

/* Reads a listed file into out (initialised here), checking its size and
 * digest again.  Fails with MAAS_ENOINPUT when name is not listed and
 * MAAS_EDATA when the file is larger than limit (0 = no limit) or no longer
 * matches the manifest. */
int maas_bundle_read(const struct maas_bundle *b, const char *name, struct maas_buf *out,
		     size_t limit, struct maas_err *e);

/* Removes the extraction directory, frees what b holds.  Safe on a zeroed
 * or already closed struct. */
void maas_bundle_close(struct maas_bundle *b);

/* Opens and verifies path, then describes it in *report (caller decrefs):
 *   {"bundle": path, "format": ..., "name": ... (when set),
 *    "files": [{"name", "size", "sha256"}, ...] (MODEL.json first),
 *    "size": total bytes}
 * On failure *report is NULL and e says why. */
int maas_bundle_verify(const char *path, json_t **report, struct maas_err *e);

/* Checks a file name for use inside a bundle: relative, "/"-separated, no
 * empty, "." or ".." component, printable ASCII without space or "\",
 * at most MAAS_BUNDLE_NAME_MAX bytes.  Returns 0, or -1 and sets *why. */
int maas_bundle_name_check(const char *name, const char **why);

struct maas_bundle_writer {
	char *path;             /* target as given */
	int tar;                /* stream a tar (to stdout when path is "-") */
	struct maas_outdir dir; /* dir.tmp is the tree being built */
};

/* Starts a bundle at path: "-" or a name ending in ".tar" streams a tar,
 * anything else is a directory to create.  Compressed suffixes
 * (.tar.gz, .tgz, .tar.zst, .tar.xz, .tar.bz2) are refused (MAAS_EUSAGE):
 * compression is maas-pack's job.  The tree is built beside the target
 * (in $TMPDIR for "-"). */
int maas_bundle_begin(struct maas_bundle_writer *w, const char *path, struct maas_err *e);
/* What maas_bundle_begin refuses about a target, checked alone so that a
 * tool can refuse before hours of work: an empty or compressed name, a
 * file that is not a bundle directory (unless the name ends in ".tar"),
 * a non-empty directory without MODEL.json.  An existing bundle is fine
 * (replaced when the caller commits with replace). */
int maas_bundle_check_target(const char *path, struct maas_err *e);

/* The temporary directory where files go; valid until commit or abort. */
const char *maas_bundle_writer_dir(const struct maas_bundle_writer *w);

/* The path where a file called name is to be written in the tree, with its
 * parent directories created (caller frees), or NULL with *e when the name
 * is not valid (MAAS_EUSAGE) or a directory cannot be made. */
char *maas_bundle_writer_file(struct maas_bundle_writer *w, const char *name, struct maas_err *e);

/* Writes n bytes as file name (replacing an earlier file of that name). */
int maas_bundle_add(struct maas_bundle_writer *w, const char *name, const void *p, size_t n,
		    struct maas_err *e);

/* Digests every file of the tree, sets manifest's "format" and "files"
 * (overwriting what was there; the caller keeps its reference), writes
 * MODEL.json and publishes the bundle.  replace allows an existing bundle
 * directory or tar file to be replaced; without it an existing directory
 * is an error (MAAS_ECANTCREAT).  Releases w whether it succeeds or not. */
int maas_bundle_commit(struct maas_bundle_writer *w, json_t *manifest, int replace,
		       struct maas_err *e);

/* Removes the temporary tree; nothing is left at the target.  Releases w.
 * Safe on a zeroed, committed or aborted writer. */
void maas_bundle_abort(struct maas_bundle_writer *w);

#endif
