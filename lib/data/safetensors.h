/*
 * safetensors.h - reading and writing safetensors files.
 *
 * The format (Hugging Face's): an 8-byte little-endian length N, N bytes of
 * a UTF-8 JSON object (the header), then the data section.  The header maps
 * each tensor name to {"dtype": "F32", "shape": [2, 3], "data_offsets":
 * [begin, end]}, offsets counted from the start of the data section; the
 * optional key "__metadata__" holds a string-to-string map.  Tensor data is
 * row-major and little-endian: maas runs on little-endian machines (x86_64,
 * aarch64) and reads and writes the bytes as they are.
 *
 * Reading.  maas_st_open() maps the file read-only: the tensors' `data`
 * pointers point into the map, nothing is copied.  "-" is stdin, mapped
 * too when it is a regular file.  An input that cannot be mapped (a pipe)
 * is read into memory instead, up to MAAS_ST_READ_LIMIT bytes.  (As with
 * any map, a file truncated in place while open would fault; maas's writers
 * replace files by rename, never in place.)
 * maas_st_open_mem() parses a buffer that the caller keeps alive until
 * maas_st_close().  Every check of the reference implementation (the Rust
 * `safetensors` crate) is made, plus a few of maas's own: the header starts
 * with '{', has no duplicate keys, no NUL in strings, no number of 2^63 or
 * more, and at most MAAS_ST_MAXDIM dimensions per tensor.  A failure
 * (MAAS_EDATA) names the file and, where there is one, the tensor.  Tensors
 * are listed in the order of their data offsets, which cover the data
 * section from 0 to its end without gap or overlap.
 *
 * Alignment.  Every tensor's `data` is aligned to its dtype size, so it may
 * be cast to float * and the like.  Files written by maas or by Python's
 * safetensors always are; for any other file whose data would be misaligned
 * in memory, the data section is copied once into an aligned buffer.
 *
 * Writing.  maas_st_writer_begin() writes the header for a list of tensor
 * descriptions; the caller then streams the data bytes, in tensor order and
 * in chunks of any size, with maas_st_writer_write(), and maas_st_writer_end()
 * checks that exactly all of them came.  The writer never holds more than a
 * small buffer, so a dataset larger than memory can be written.  The caller
 * owns the struct maas_out (core/io.h) and commits or aborts it.
 * maas_st_write_file() writes in-memory tensors to a path atomically.
 *
 * Ownership: struct maas_st is the caller's; maas_st_open* fill it and
 * maas_st_close() frees what it holds (names, metadata, the map or buffer),
 * after which no tensor pointer obtained from it may be used.  A failed open
 * leaves nothing to close (closing is still safe).  struct maas_st_writer is
 * the caller's and holds no heap memory.
 */
#ifndef MAAS_DATA_SAFETENSORS_H
#define MAAS_DATA_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/io.h"

#define MAAS_ST_MAXDIM 8
/* Largest header accepted or written, as in the reference implementation. */
#define MAAS_ST_HEADER_MAX 100000000ULL
/* Largest input read into memory (stdin, pipes): 16 GiB. */
#define MAAS_ST_READ_LIMIT (16ULL << 30)

/* In the reference's order, which is by increasing alignment: writers sort
 * tensors by this value, largest first. */
enum maas_dtype {
	MAAS_DT_BOOL,
	MAAS_DT_U8,
	MAAS_DT_I8,
	MAAS_DT_I16,
	MAAS_DT_U16,
	MAAS_DT_F16,
	MAAS_DT_BF16,
	MAAS_DT_I32,
	MAAS_DT_U32,
	MAAS_DT_F32,
	MAAS_DT_F64,
	MAAS_DT_I64,
	MAAS_DT_U64,
	MAAS_DT_COUNT
};

/* Bytes per element (1, 2, 4 or 8); 0 for a value out of range. */
size_t maas_dtype_size(enum maas_dtype dt);
/* "F32" etc.; "?" for a value out of range. */
const char *maas_dtype_name(enum maas_dtype dt);
/* Parses a dtype name (exact, case-sensitive); returns 0, or -1 if unknown. */
int maas_dtype_parse(const char *name, enum maas_dtype *dt);

struct maas_tensor {
	char *name;
	enum maas_dtype dtype;
	int ndim;                       /* 0..MAAS_ST_MAXDIM; 0 is a scalar */
	int64_t shape[MAAS_ST_MAXDIM];
	size_t nelem, nbytes;           /* product(shape), nelem * dtype size */
	const void *data;               /* nbytes, aligned to the dtype size */
};

struct maas_st {
	struct maas_tensor *tensors;    /* n, in data-offset order */
	size_t n;
	char **meta_keys, **meta_vals;  /* nmeta, in header order */
	size_t nmeta;
	/* private */
	char *name;                     /* file name for messages */
	void *map;                      /* mmap of the file, maplen bytes */
	size_t maplen;
	void *buf;                      /* heap copy of an unmappable input */
	void *abuf;                     /* aligned copy of a misaligned data section */
	size_t *by_name;                /* indexes of tensors sorted by name */
};

/* Opens and validates a file ("-" = stdin).  Errors: MAAS_ENOINPUT when it
 * cannot be opened, MAAS_EIO when reading fails, MAAS_EDATA when it is not a
 * valid safetensors file. */
int maas_st_open(struct maas_st *st, const char *path, struct maas_err *e);
/* Validates the n bytes at p, which the caller keeps alive and unchanged
 * until maas_st_close().  Messages call it '<memory>'. */
int maas_st_open_mem(struct maas_st *st, const void *p, size_t n, struct maas_err *e);
/* The same, with the name to use in messages (e.g. "bundle.tar:weights.safetensors"). */
int maas_st_open_mem_named(struct maas_st *st, const void *p, size_t n, const char *name,
			   struct maas_err *e);
/* The tensor called name, or NULL. */
const struct maas_tensor *maas_st_get(const struct maas_st *st, const char *name);
/* The metadata value for key, or NULL. */
const char *maas_st_meta(const struct maas_st *st, const char *key);
/* NULL when the tensors' data points into the input itself (the file's
 * map, or the caller's buffer), else why it is a copy: "the file cannot
 * be mapped" or "its data section is misaligned". */
const char *maas_st_copied(const struct maas_st *st);
/* Frees what st holds; safe on a zeroed or already-closed struct. */
void maas_st_close(struct maas_st *st);

/* The product of shape[0..ndim) into *nelem and times the dtype size into
 * *nbytes; returns -1 if a dimension is negative, ndim is out of range or
 * the size overflows. */
int maas_st_sizes(enum maas_dtype dt, int ndim, const int64_t *shape, size_t *nelem,
		  size_t *nbytes);

/* A tensor to be written: its data comes later through the writer. */
struct maas_st_desc {
	const char *name;
	enum maas_dtype dtype;
	int ndim;
	int64_t shape[MAAS_ST_MAXDIM];
};

struct maas_st_writer {
	struct maas_out *out;
	uint64_t total;                 /* bytes of the data section */
	uint64_t written;               /* bytes accepted so far */
	int failed;
	size_t buflen;
	unsigned char buf[32768];
};

/* Writes the header: "__metadata__" first (if nmeta > 0), then the tensors
 * in the order given, laid out one after the other, padded with spaces so
 * that the data section starts at a multiple of 8.  Refuses duplicate
 * tensor names or metadata keys, a tensor named "__metadata__", names that
 * are not UTF-8 and bad shapes (MAAS_EUSAGE), and an order in which a
 * tensor's offset is not a multiple of its dtype size (MAAS_ESOFTWARE: sort
 * by dtype size, largest first).  Write errors are MAAS_EIO. */
int maas_st_writer_begin(struct maas_st_writer *w, struct maas_out *out,
			 const struct maas_st_desc *t, size_t n,
			 const char *const *meta_keys, const char *const *meta_vals, size_t nmeta,
			 struct maas_err *e);
/* Appends n data bytes (tensor after tensor, any chunking).  Refuses to go
 * past the end of the data section (MAAS_ESOFTWARE). */
int maas_st_writer_write(struct maas_st_writer *w, const void *p, size_t n, struct maas_err *e);
/* Flushes, and checks that exactly all data bytes were written
 * (MAAS_ESOFTWARE otherwise).  Does not commit the output. */
int maas_st_writer_end(struct maas_st_writer *w, struct maas_err *e);

/* Writes n in-memory tensors (name, dtype, ndim, shape, nbytes and data
 * used; nbytes must match the shape) and the metadata to path atomically
 * ("-" = stdout).  Tensors are laid out as the reference does: by dtype,
 * largest alignment first, then by name, so every tensor is aligned. */
int maas_st_write_file(const char *path, const struct maas_tensor *t, size_t n,
		       const char *const *meta_keys, const char *const *meta_vals, size_t nmeta,
		       struct maas_err *e);

#endif
