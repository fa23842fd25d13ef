/* frames: reads a frames file (trial.recordFrames; docs/data.md, "Frames"):
 * the frames sent to the participant, kept next to a data file by the
 * recorder (trial/recorder.h). The file is DATAPATH_FRAMES_MAGIC, then per
 * frame its id (8 bytes), the JPEG's length (4 bytes), both little-endian,
 * and the JPEG. Frames are walked one header at a time (a JPEG is read only
 * when asked for), in bounded memory; a torn last frame (a process killed
 * mid-write) or a length past FRAMES_MAX_JPEG ends the walk with an error.
 * Used by the console's replay and by `hippo verify`. */
#ifndef HIPPO_EXPORT_FRAMES_H
#define HIPPO_EXPORT_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FRAMES_MAX_JPEG (16u << 20) /* larger than any frame a session sends */

struct frames_rd {
	FILE *f;             /* borrowed */
	long long at;        /* offset of the next header */
	unsigned long long n; /* frames read so far */
};

struct frames_ent {
	unsigned long long id;
	long long at;        /* offset of the JPEG */
	uint32_t len;
};

/* Starts reading F (the caller keeps it open and closes it). Returns 0, or
 * -1 with ERR when it is not a frames file (its magic is missing). */
int frames_begin(struct frames_rd *r, FILE *f, char *err, size_t errlen);

/* The next frame's header into E: 1, 0 at the end, -1 with ERR (a torn
 * frame, a length past FRAMES_MAX_JPEG, a read error). */
int frames_next(struct frames_rd *r, struct frames_ent *e, char *err, size_t errlen);

/* E's JPEG into BUF (E->len bytes). Returns 0 or -1. */
int frames_read(struct frames_rd *r, const struct frames_ent *e, void *buf);

/* Whether P (N bytes) is a whole JPEG: its start (FF D8 FF) and end (FF D9). */
bool frames_is_jpeg(const unsigned char *p, size_t n);

/* Opens the frames file next to data file DATA_NAME of folder DIR and
 * begins reading it: the FILE (closed by the caller), or NULL when there is
 * none or it is not a frames file. */
FILE *frames_open(const char *dir, const char *data_name, struct frames_rd *r);

#endif
