/* test_idx.c - the IDX reader: pairing, dtypes, gzip, truncation, Fashion-MNIST. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/io.h"
#include "core/sha256.h"
#include "data/read.h"
#include "tap.h"

static void put(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(p, 1, n, f);
	fclose(f);
}

static void put_gz(const char *path, const void *p, size_t n)
{
	gzFile g = gzopen(path, "wb");
	gzwrite(g, p, (unsigned)n);
	gzclose(g);
}

/* An IDX file in b: dtype, dims, then `data` of dlen bytes. */
static size_t make_idx(unsigned char *b, int dtype, int ndim, const unsigned *dims, const void *data, size_t dlen)
{
	size_t n = 0;
	b[n++] = 0;
	b[n++] = 0;
	b[n++] = (unsigned char)dtype;
	b[n++] = (unsigned char)ndim;
	for (int i = 0; i < ndim; i++) {
		b[n++] = (unsigned char)(dims[i] >> 24);
		b[n++] = (unsigned char)(dims[i] >> 16);
		b[n++] = (unsigned char)(dims[i] >> 8);
		b[n++] = (unsigned char)dims[i];
	}
	memcpy(b + n, data, dlen);
	return n + dlen;
}

static int rd(struct maas_table *t, const char *const *paths, size_t n, struct maas_err *e)
{
	struct maas_read_opts o;
	maas_read_opts_init(&o);
	maas_table_init(t);
	memset(e, 0, sizeof *e);
	return maas_read_inputs(t, paths, n, &o, e);
}

static const char *fails(const char *const *paths, size_t n)
{
	static struct maas_err e;
	struct maas_table t;
	int rc = rd(&t, paths, n, &e);
	maas_table_release(&t);
	if (rc != -1 || e.kind != MAAS_EDATA) {
		printf("# rc %d kind %d: %s\n", rc, e.kind, e.msg);
		return "(did not fail as expected)";
	}
	return e.msg;
}

static unsigned char img[4096], lab[4096];
static size_t nimg, nlab;

static void test_pair(void)
{
	struct maas_table t;
	struct maas_err e;
	unsigned char pix[3 * 2 * 2], labels[3] = {7, 0, 9};
	for (int i = 0; i < 12; i++)
		pix[i] = (unsigned char)(i * 20);
	unsigned di[3] = {3, 2, 2}, dl[1] = {3};
	nimg = make_idx(img, 0x08, 3, di, pix, sizeof pix);
	nlab = make_idx(lab, 0x08, 1, dl, labels, sizeof labels);
	put("images-idx3-ubyte", img, nimg);
	put("labels-idx1-ubyte", lab, nlab);
	put_gz("images-idx3-ubyte.gz", img, nimg);
	put_gz("labels-idx1-ubyte.gz", lab, nlab);

	const char *plain[] = {"images-idx3-ubyte", "labels-idx1-ubyte"};
	is_int(rd(&t, plain, 2, &e), 0, "plain pair reads: %s", e.msg);
	is_int(t.nrows, 3, "3 rows");
	is_int(t.ncols, 5, "4 pixels and a label");
	is_str(t.cols[0].name, "pixel0", "pixel0");
	is_str(t.cols[3].name, "pixel3", "pixel3");
	is_str(t.cols[4].name, "label", "label");
	is_int(t.cols[3].num[1], 140, "pixel 3 of image 2");
	is_int(t.cols[4].num[2], 9, "label of image 3");
	is_int(t.cols[0].n_missing, 0, "no missing pixels");
	is_int(t.cols[4].n_missing, 0, "no missing labels");
	is_int(t.line[2], 3, "line is the record index + 1");
	char where[64];
	maas_table_where(&t, 1, where, sizeof where);
	is_str(where, "'images-idx3-ubyte' record 2", "where says record");
	maas_table_release(&t);

	const char *gz[] = {"labels-idx1-ubyte.gz", "images-idx3-ubyte.gz"};
	is_int(rd(&t, gz, 2, &e), 0, "gzip pair, labels first, reads: %s", e.msg);
	is_int(t.nrows, 3, "gzip: 3 rows");
	is_str(t.cols[0].name, "label", "label column first");
	is_int(t.cols[4].num[1], 140, "gzip: pixel 3 of image 2");
	char hex[MAAS_SHA256_HEX];
	maas_sha256_file("images-idx3-ubyte.gz", hex, &e);
	is_str(t.source_sha256[1], hex, "sha256 of the compressed file");
	maas_table_release(&t);

	const char *four[] = {"images-idx3-ubyte", "labels-idx1-ubyte", "images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"};
	is_int(rd(&t, four, 4, &e), 0, "two pairs read: %s", e.msg);
	is_int(t.nrows, 6, "two pairs append rows");
	is_int(t.cols[4].num[5], 9, "label of the second pair");
	is_int(t.source[4], 2, "second pair's rows from its images file");
	maas_table_release(&t);

	const char *only[] = {"images-idx3-ubyte"};
	is_int(rd(&t, only, 1, &e), 0, "images alone read");
	is_int(t.ncols, 4, "images alone: pixels only");
	maas_table_release(&t);

	unsigned d2[1] = {2};
	unsigned char b2[64];
	size_t n2 = make_idx(b2, 0x08, 1, d2, labels, 2);
	put("two-labels-idx1-ubyte", b2, n2);
	const char *mismatch[] = {"images-idx3-ubyte", "two-labels-idx1-ubyte"};
	is_str(fails(mismatch, 2), "'two-labels-idx1-ubyte': 2 labels do not match the 3 images of 'images-idx3-ubyte'",
	       "count mismatch");
}

static void test_dtypes(void)
{
	struct maas_table t;
	struct maas_err e;
	unsigned char b[256];
	unsigned d[2] = {2, 2};
	/* i16: -2, 300, 7, 0 */
	unsigned char i16[] = {0xff, 0xfe, 0x01, 0x2c, 0x00, 0x07, 0x00, 0x00};
	put("i16.idx", b, make_idx(b, 0x0b, 2, d, i16, sizeof i16));
	const char *p1[] = {"i16.idx"};
	is_int(rd(&t, p1, 1, &e), 0, "i16 reads");
	is_int(t.cols[0].num[0], -2, "i16 negative");
	is_int(t.cols[1].num[0], 300, "i16 big-endian");
	maas_table_release(&t);
	/* f32: 1.5, -0.25; f64: 2.75 */
	unsigned char f32[] = {0x3f, 0xc0, 0, 0, 0xbe, 0x80, 0, 0};
	unsigned d1[2] = {1, 2};
	put("f32.idx", b, make_idx(b, 0x0d, 2, d1, f32, sizeof f32));
	const char *p2[] = {"f32.idx"};
	is_int(rd(&t, p2, 1, &e), 0, "f32 reads");
	is_near(t.cols[0].num[0], 1.5, 0, "f32 1.5");
	is_near(t.cols[1].num[0], -0.25, 0, "f32 -0.25");
	is_int(t.cols[0].n_nonint, 1, "fractions counted");
	maas_table_release(&t);
	unsigned char f64[] = {0x40, 0x06, 0, 0, 0, 0, 0, 0};
	unsigned d3[1] = {1};
	put("f64.idx", b, make_idx(b, 0x0e, 1, d3, f64, sizeof f64));
	const char *p3[] = {"f64.idx"};
	is_int(rd(&t, p3, 1, &e), 0, "f64 reads");
	is_near(t.cols[0].num[0], 2.75, 0, "f64 2.75");
	maas_table_release(&t);
}

static void test_errors(void)
{
	unsigned char b[4096];
	memcpy(b, img, nimg);
	put("cut-idx3-ubyte", b, nimg - 5);
	const char *p1[] = {"cut-idx3-ubyte"};
	is_str(fails(p1, 1), "'cut-idx3-ubyte': truncated: expected 12 bytes of data, found 7", "truncated");
	put_gz("cut-idx3-ubyte.gz", b, nimg - 5);
	const char *p1z[] = {"cut-idx3-ubyte.gz"};
	is_str(fails(p1z, 1), "'cut-idx3-ubyte.gz': truncated: expected 12 bytes of data, found 7", "truncated gzip");
	put("hdr-idx3-ubyte", b, 10);
	const char *p2[] = {"hdr-idx3-ubyte"};
	is_str(fails(p2, 1), "'hdr-idx3-ubyte': truncated: the header has 3 dimensions, found 6 bytes of sizes",
	       "truncated header");
	memcpy(b, "\x00\x00\x07\x03", 4);
	put("magic-idx3-ubyte", b, nimg);
	const char *p3[] = {"magic-idx3-ubyte"};
	is_str(fails(p3, 1), "'magic-idx3-ubyte': not an IDX file (magic 0x00000703)", "bad magic");
	memcpy(b, img, nimg);
	b[nimg] = 1;
	put("long-idx3-ubyte", b, nimg + 1);
	const char *p4[] = {"long-idx3-ubyte"};
	is_str(fails(p4, 1), "'long-idx3-ubyte': trailing data after the 12 bytes of data the header announces",
	       "trailing data");
	unsigned d0[3] = {0, 2, 2};
	put("zero-idx3-ubyte", b, make_idx(b, 0x08, 3, d0, "", 0));
	const char *p5[] = {"zero-idx3-ubyte"};
	is_str(fails(p5, 1), "'zero-idx3-ubyte': no data rows", "no records");
	unsigned dw[3] = {1, 1000, 1000};
	put("wide-idx3-ubyte", b, make_idx(b, 0x08, 3, dw, "", 0));
	const char *p6[] = {"wide-idx3-ubyte"};
	is_str(fails(p6, 1), "'wide-idx3-ubyte': records of more than 100000 values", "too many columns");

	/* corrupt gzip: zlib's message */
	gzFile g = gzopen("big-idx3-ubyte.gz", "wb");
	unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, 0x27, 0x10, 0, 0, 0, 28, 0, 0, 0, 28};
	gzwrite(g, hdr, 16);
	for (int i = 0; i < 10000; i++) {
		unsigned char row[784];
		for (int j = 0; j < 784; j++)
			row[j] = (unsigned char)((i * 31 + j * 7) % 251);
		gzwrite(g, row, 784);
	}
	gzclose(g);
	struct maas_buf z;
	struct maas_err e;
	maas_read_all("big-idx3-ubyte.gz", &z, 0, &e);
	for (int i = 0; i < 64; i++)
		z.data[z.len / 2 + (size_t)i] ^= 0xa5;
	put("corrupt-idx3-ubyte.gz", z.data, z.len);
	const char *p7[] = {"corrupt-idx3-ubyte.gz"};
	const char *m = fails(p7, 1);
	ok(!strncmp(m, "cannot read 'corrupt-idx3-ubyte.gz': corrupt gzip data: ", 56) && strlen(m) > 56,
	   "corrupt gzip: %s", m);
	maas_buf_release(&z);
	struct maas_table t;
	const char *p8[] = {"big-idx3-ubyte.gz"};
	is_int(rd(&t, p8, 1, &e), 0, "10000 generated images read (several blocks)");
	is_int(t.nrows, 10000, "10000 rows");
	is_int(t.cols[783].num[9999], (9999 * 31 + 783 * 7) % 251, "last pixel");
	maas_table_release(&t);
}

static void test_real(void)
{
	const char *dir = "/usr/share/datasets/fashion-mnist";
	char ti[256], tl[256], si[256], sl[256];
	snprintf(ti, sizeof ti, "%s/train-images-idx3-ubyte.gz", dir);
	snprintf(tl, sizeof tl, "%s/train-labels-idx1-ubyte.gz", dir);
	snprintf(si, sizeof si, "%s/t10k-images-idx3-ubyte.gz", dir);
	snprintf(sl, sizeof sl, "%s/t10k-labels-idx1-ubyte.gz", dir);
	if (access(ti, R_OK) || access(tl, R_OK) || access(si, R_OK) || access(sl, R_OK)) {
		for (int i = 0; i < 9; i++)
			printf("ok %d # skip Fashion-MNIST absent\n", ++tap_n);
		return;
	}
	struct maas_table t;
	struct maas_err e;
	const char *train[] = {ti, tl};
	is_int(rd(&t, train, 2, &e), 0, "fashion-mnist train reads: %s", e.msg);
	is_int(t.nrows, 60000, "60000 images");
	is_int(t.ncols, 785, "784 pixels and a label");
	is_int(t.cols[784].num[0], 9, "first label is 9 (ankle boot)");
	double sum = 0;
	for (int j = 0; j < 784; j++)
		sum += t.cols[j].num[0];
	is_int((long)sum, 76247, "pixel sum of the first image");
	maas_table_release(&t);
	const char *all[] = {ti, tl, si, sl};
	is_int(rd(&t, all, 4, &e), 0, "train and test read: %s", e.msg);
	is_int(t.nrows, 70000, "70000 images");
	is_int(t.cols[784].num[60001], 2, "second test label is 2");
	is_int(t.cols[784].n_missing, 0, "every image labelled");
	maas_table_release(&t);
}

int main(void)
{
	char dir[] = "/tmp/maas-idx-XXXXXX", cwd[4096];
	if (!mkdtemp(dir) || !getcwd(cwd, sizeof cwd) || chdir(dir))
		return 1;
	test_pair();
	test_dtypes();
	test_errors();
	test_real();
	if (chdir(cwd) == 0) {
		struct maas_err e;
		maas_remove_tree(dir, &e);
	}
	return done_testing();
}
