/* Fuzzes what reads a frames file (trial.recordFrames, export/frames.h): the
 * header walk, the reads of the JPEGs, and `hippo verify`'s check of a
 * frames file against the frameIds of its data file's lines. Input: record
 * lines, a line "--frames--", then the frames file's bytes (with no such
 * line, all of it is the frames file). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/frames.h"
#include "verify/verify.h"

#define SEP "--frames--\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *sep = size >= sizeof SEP - 1 ? memmem(s, size, SEP, sizeof SEP - 1) : NULL;
	size_t rlen = sep ? (size_t)(sep - s) : 0;
	const char *fr = sep ? sep + sizeof SEP - 1 : s;
	size_t flen = size - (size_t)(fr - s);
	if (flen == 0)
		return 0;
	/* the reader alone: every header, and each JPEG read back */
	FILE *f = fmemopen((void *)fr, flen, "rb");
	if (f) {
		struct frames_rd rd;
		struct frames_ent e;
		char err[200];
		if (frames_begin(&rd, f, err, sizeof err) == 0) {
			while (frames_next(&rd, &e, err, sizeof err) == 1) {
				unsigned char *b = malloc(e.len ? e.len : 1);
				if (b && frames_read(&rd, &e, b) == 0)
					(void)frames_is_jpeg(b, e.len);
				free(b);
			}
		}
		fclose(f);
	}
	/* verify's check against record lines */
	FILE *recs = rlen ? fmemopen((void *)s, rlen, "r") : fopen("/dev/null", "r");
	FILE *frames = fmemopen((void *)fr, flen, "rb");
	FILE *out = fopen("/dev/null", "w");
	if (recs && frames && out) {
		struct vf_stats st = {0};
		vf_frames_stream(recs, frames, out, &st);
	}
	if (recs)
		fclose(recs);
	if (frames)
		fclose(frames);
	if (out)
		fclose(out);
	return 0;
}
