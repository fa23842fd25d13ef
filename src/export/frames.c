/* frames: see frames.h. */
#include "export/frames.h"

#include <errno.h>
#include <string.h>

#include "core/datapath.h"

int frames_begin(struct frames_rd *r, FILE *f, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	r->f = f;
	char magic[DATAPATH_FRAMES_MAGIC_LEN];
	if (fseek(f, 0, SEEK_SET) != 0 || fread(magic, 1, sizeof magic, f) != sizeof magic ||
	    memcmp(magic, DATAPATH_FRAMES_MAGIC, sizeof magic) != 0) {
		snprintf(err, errlen, "not a frames file (no HIPPOFRAMES1 header)");
		return -1;
	}
	r->at = DATAPATH_FRAMES_MAGIC_LEN;
	return 0;
}

int frames_next(struct frames_rd *r, struct frames_ent *e, char *err, size_t errlen)
{
	unsigned char head[12];
	if (fseeko(r->f, (off_t)r->at, SEEK_SET) != 0) {
		snprintf(err, errlen, "byte %lld: %s", r->at, strerror(errno));
		return -1;
	}
	size_t got = fread(head, 1, sizeof head, r->f);
	if (got == 0 && feof(r->f))
		return 0;
	if (got != sizeof head) {
		snprintf(err, errlen, "frame %llu (byte %lld): torn header", r->n + 1, r->at);
		return -1;
	}
	unsigned long long id = 0;
	uint32_t len = 0;
	for (int i = 7; i >= 0; i--)
		id = id << 8 | head[i];
	for (int i = 3; i >= 0; i--)
		len = len << 8 | head[8 + i];
	if (len > FRAMES_MAX_JPEG) {
		snprintf(err, errlen, "frame %llu (byte %lld): length %u past the limit", r->n + 1,
			 r->at, (unsigned)len);
		return -1;
	}
	/* the whole JPEG must be there: its last byte can be read */
	unsigned char last;
	if (len > 0 && (fseeko(r->f, (off_t)(r->at + 12 + len - 1), SEEK_SET) != 0 ||
			fread(&last, 1, 1, r->f) != 1)) {
		snprintf(err, errlen, "frame %llu (byte %lld): torn (%u bytes announced)", r->n + 1,
			 r->at, (unsigned)len);
		return -1;
	}
	e->id = id;
	e->at = r->at + 12;
	e->len = len;
	r->at += 12 + (long long)len;
	r->n++;
	return 1;
}

int frames_read(struct frames_rd *r, const struct frames_ent *e, void *buf)
{
	if (fseeko(r->f, (off_t)e->at, SEEK_SET) != 0)
		return -1;
	return e->len == 0 || fread(buf, 1, e->len, r->f) == e->len ? 0 : -1;
}

bool frames_is_jpeg(const unsigned char *p, size_t n)
{
	return n >= 5 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff && p[n - 2] == 0xff &&
	       p[n - 1] == 0xd9;
}

FILE *frames_open(const char *dir, const char *data_name, struct frames_rd *r)
{
	char name[300], path[4600], err[128];
	if (datapath_frames_name(name, sizeof name, data_name) < 0)
		return NULL;
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof path)
		return NULL;
	FILE *f = fopen(path, "rb");
	if (f && frames_begin(r, f, err, sizeof err) < 0) {
		fclose(f);
		f = NULL;
	}
	return f;
}
