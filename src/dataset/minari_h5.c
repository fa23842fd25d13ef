/* minari HDF5 writing: columns written in chunks of rows, scalar
 * attributes, the types, and the settings of a dataset's file
 * (see minari_int.h). */
#include <stdlib.h>
#include <string.h>

#include "dataset/minari_int.h"

int mn__col_init(struct mn__col *c, const char *name, hid_t ftype, hid_t mtype, size_t esize,
		 int ndim, const int *shape)
{
	memset(c, 0, sizeof *c);
	c->name = name;
	c->ftype = ftype;
	c->mtype = mtype;
	c->esize = esize;
	c->ndim = ndim;
	c->width = 1;
	c->ds = H5I_INVALID_HID;
	for (int i = 0; i < ndim; i++) {
		c->shape[i] = (hsize_t)shape[i];
		c->width *= (size_t)shape[i];
	}
	c->buf = malloc(MN__CHUNK_ROWS * c->width * esize);
	return c->buf ? 0 : -1;
}

int mn__col_init_str(struct mn__col *c, const char *name, hid_t stype)
{
	memset(c, 0, sizeof *c);
	c->name = name;
	c->ftype = c->mtype = stype;
	c->str = true;
	c->width = 1;
	c->ds = H5I_INVALID_HID;
	c->sbuf = calloc(MN__CHUNK_ROWS, sizeof *c->sbuf);
	return c->sbuf ? 0 : -1;
}

bool mn__col_full(const struct mn__col *c)
{
	return c->nbuf == MN__CHUNK_ROWS || c->sbytes > MN__STR_BYTES_MAX;
}

int mn__col_flush(struct mn__col *c, hid_t parent, bool final)
{
	if (c->nbuf == 0)
		return 0;
	int rank = 1 + c->ndim;
	hsize_t count[1 + HIPPO_SPACE_MAX_DIMS], start[1 + HIPPO_SPACE_MAX_DIMS] = {0};
	hsize_t total[1 + HIPPO_SPACE_MAX_DIMS], maxd[1 + HIPPO_SPACE_MAX_DIMS];
	count[0] = c->nbuf;
	total[0] = c->rows + c->nbuf;
	maxd[0] = H5S_UNLIMITED;
	start[0] = c->rows;
	for (int i = 0; i < c->ndim; i++)
		count[i + 1] = total[i + 1] = maxd[i + 1] = c->shape[i];
	int rc = -1;
	hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
	if (c->ds <= 0) {
		hid_t space = H5Screate_simple(rank, count, final ? NULL : maxd);
		hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
		if (!final)
			H5Pset_chunk(dcpl, rank, count); /* the first write sets the chunk */
		c->ds = H5Dcreate2(parent, c->name, c->ftype, space, H5P_DEFAULT, dcpl,
				   H5P_DEFAULT);
		H5Pclose(dcpl);
		H5Sclose(space);
		if (c->ds < 0)
			goto out;
	} else if (H5Dset_extent(c->ds, total) < 0) {
		goto out;
	}
	fspace = H5Dget_space(c->ds);
	mspace = H5Screate_simple(rank, count, NULL);
	if (fspace < 0 || mspace < 0 ||
	    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0)
		goto out;
	if (H5Dwrite(c->ds, c->mtype, mspace, fspace, H5P_DEFAULT,
		     c->str ? (const void *)c->sbuf : (const void *)c->buf) < 0)
		goto out;
	c->rows += c->nbuf;
	rc = 0;
out:
	if (fspace >= 0)
		H5Sclose(fspace);
	if (mspace >= 0)
		H5Sclose(mspace);
	if (c->str)
		for (size_t i = 0; i < c->nbuf; i++) {
			free(c->sbuf[i]);
			c->sbuf[i] = NULL;
		}
	c->nbuf = 0;
	c->sbytes = 0;
	return rc;
}

void *mn__col_row(struct mn__col *c)
{
	return c->buf + c->nbuf++ * c->width * c->esize;
}

int mn__col_str(struct mn__col *c, const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		return -1;
	memcpy(p, s, n);
	p[n] = '\0';
	c->sbuf[c->nbuf++] = p;
	c->sbytes += n;
	return 0;
}

void mn__col_close(struct mn__col *c)
{
	if (c->str)
		for (size_t i = 0; i < c->nbuf; i++)
			free(c->sbuf[i]);
	free(c->sbuf);
	free(c->buf);
	if (c->ds > 0)
		H5Dclose(c->ds);
	memset(c, 0, sizeof *c);
	c->ds = H5I_INVALID_HID;
}

/* ------------------------------------------------------------ attributes */

static int attr_write(hid_t obj, const char *name, hid_t type, const void *v)
{
	hid_t sp = H5Screate(H5S_SCALAR);
	hid_t a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
	int rc = a >= 0 && H5Awrite(a, type, v) >= 0 ? 0 : -1;
	if (a >= 0)
		H5Aclose(a);
	H5Sclose(sp);
	return rc;
}

int mn__attr_i64(hid_t obj, const char *name, long long v)
{
	int64_t x = (int64_t)v;
	return attr_write(obj, name, H5T_NATIVE_INT64, &x);
}

int mn__attr_f64(hid_t obj, const char *name, double v)
{
	return attr_write(obj, name, H5T_NATIVE_DOUBLE, &v);
}

int mn__attr_str(hid_t obj, const char *name, hid_t stype, const char *s)
{
	const char *p = s ? s : "";
	return attr_write(obj, name, stype, &p);
}

/* ------------------------------------------------------------ types and files */

hid_t mn__h5_type(enum hippo_dtype t, size_t *esize, bool file)
{
	switch (t) {
	case HIPPO_DTYPE_FLOAT64:
		*esize = 8;
		return file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE;
	case HIPPO_DTYPE_UINT8:
		*esize = 1;
		return file ? H5T_STD_U8LE : H5T_NATIVE_UINT8;
	case HIPPO_DTYPE_INT64:
		*esize = 8;
		return file ? H5T_STD_I64LE : H5T_NATIVE_INT64;
	default:
		*esize = 4;
		return file ? H5T_IEEE_F32LE : H5T_NATIVE_FLOAT;
	}
}

void mn__h5_init(hid_t *str_t, hid_t *bool_t)
{
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	/* HDF5 keeps freed blocks on free lists of up to 64 MiB: keep them small */
	H5set_free_list_limits(1 << 20, 1 << 18, 1 << 20, 1 << 18, 1 << 20, 1 << 18);
	*str_t = H5Tcopy(H5T_C_S1);
	H5Tset_size(*str_t, H5T_VARIABLE);
	H5Tset_cset(*str_t, H5T_CSET_UTF8);
	/* numpy's bool as h5py stores it: an int8 enum FALSE = 0, TRUE = 1 */
	*bool_t = H5Tenum_create(H5T_NATIVE_SCHAR);
	signed char v0 = 0, v1 = 1;
	H5Tenum_insert(*bool_t, "FALSE", &v0);
	H5Tenum_insert(*bool_t, "TRUE", &v1);
}

hid_t mn__h5_create(const char *path)
{
	hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
	H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
	/* the 1.8 file format: compact groups and object headers (HDF5 1.8 and
	 * later read it, as every h5py does) */
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
	/* every chunk is written once, whole: no raw-data chunk cache (1 MiB per
	 * open dataset by default) */
	H5Pset_cache(fapl, 0, 0, 0, 0.75);
	/* a small metadata cache: episodes are written once and closed */
	H5AC_cache_config_t mdc = {.version = H5AC__CURR_CACHE_CONFIG_VERSION};
	if (H5Pget_mdc_config(fapl, &mdc) >= 0) {
		mdc.set_initial_size = 1;
		mdc.initial_size = 1 << 20;
		mdc.min_size = 1 << 20;
		mdc.max_size = 4 << 20;
		H5Pset_mdc_config(fapl, &mdc);
	}
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
	H5Pclose(fapl);
	H5Pclose(fcpl);
	return f;
}
