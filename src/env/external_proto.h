/* xp: the external-process protocol (docs/plugins.md "Protocol reference").
 *
 * hippo and an environment or agent process exchange messages over the
 * process's stdin (host -> process) and stdout (process -> host). A message is
 *
 *   offset size  field
 *        0    4  magic "HPPO"
 *        4    2  protocol version, little-endian (XP_VERSION)
 *        6    2  flags, little-endian (0 in version 1)
 *        8    4  header length H, little-endian (1 .. max header)
 *       12    4  payload length P, little-endian (0 .. max payload)
 *       16    H  header: a UTF-8 JSON object with a string member "type"
 *     16+H    P  payload: raw bytes (an RGB frame, or PNG / JPEG bytes)
 *
 * This module has no I/O: an incremental decoder that accepts bytes in any
 * chunking, the frame header encoder, and the interpretation of the JSON
 * headers hippo receives (hello, reset/step results, frames, actions). */
#ifndef HIPPO_ENV_EXTERNAL_PROTO_H
#define HIPPO_ENV_EXTERNAL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hippo/env.h"

#define XP_VERSION             1u
#define XP_MAGIC               "HPPO"
#define XP_FRAME_HEADER        16u
#define XP_DEFAULT_MAX_HEADER  (4u << 20)  /* JSON header bytes */
#define XP_DEFAULT_MAX_PAYLOAD (64u << 20) /* frame bytes (4K RGB fits) */
#define XP_MAX_NAMES           256         /* discrete action names kept */
#define XP_MAX_OBS             (1u << 20)  /* observation scalars */

enum xp_dstate { XP_D_FRAME = 0, XP_D_HEADER, XP_D_PAYLOAD, XP_D_DONE, XP_D_ERROR };

/* The incremental decoder. Buffers are reused from message to message and grow
 * up to the limits, never beyond. */
struct xp_decoder {
	enum xp_dstate state;
	size_t max_header, max_payload;
	uint8_t frame[XP_FRAME_HEADER];
	size_t got;          /* bytes of the current part received */
	char *header;        /* NUL-terminated JSON text */
	size_t header_len, header_cap;
	uint8_t *payload;
	size_t payload_len, payload_cap;
	char err[160];
};

void xp_decoder_init(struct xp_decoder *d, size_t max_header, size_t max_payload);
void xp_decoder_free(struct xp_decoder *d);

/* Consumes bytes of DATA (LEN bytes) until a message is complete and sets
 * *USED to the number consumed. Returns 1 when a message is complete:
 * d->header (NUL-terminated, d->header_len bytes) and d->payload
 * (d->payload_len bytes) stay valid until the next call, which starts the next
 * message. Returns 0 when every byte was consumed and more are needed. Returns
 * -1 on a protocol violation (bad magic, unsupported version, oversize part)
 * with a message in d->err; the decoder then refuses all further input. */
int xp_decode(struct xp_decoder *d, const uint8_t *data, size_t len, size_t *used);

/* Writes the 16-byte frame header for a message with the given part lengths. */
void xp_frame_header(uint8_t out[XP_FRAME_HEADER], uint32_t header_len, uint32_t payload_len);

/* Parses the decoder's JSON header: an object with a string "type". Returns
 * the new reference (caller decrefs) and sets *TYPE (borrowed from the
 * object), or NULL with a message in ERR. */
json_t *xp_parse_header(const char *text, size_t len, const char **type, char *err,
			size_t errlen);

/* A space read from JSON; owns its arrays and strings. */
struct xp_space {
	struct hippo_space space;  /* points into the members below */
	char **names;              /* DISCRETE action names, or NULL */
	double *low, *high;        /* BOX bounds */
};

/* An environment description from a "hello" reply; owns everything. */
struct xp_env_info {
	struct hippo_env_info info;   /* points into the members below */
	char *id;
	struct xp_space action, observation;
};

/* Reads a space object: {"kind":"discrete","n":N,"start":S,"names":[...]} or
 * {"kind":"box","shape":[...],"low":[...]|x,"high":[...]|x,"dtype":"float32"}.
 * Returns 0, or -1 with a message in ERR (then S is empty). */
int xp_space_parse(json_t *j, struct xp_space *s, char *err, size_t errlen);
void xp_space_free(struct xp_space *s);
/* The JSON form of S (new reference), as a process receives it. */
json_t *xp_space_json(const struct hippo_space *s);

/* Reads the "env" member of a hello reply. FALLBACK_ID is used when the
 * process gives no id. Returns 0, or -1 with a message in ERR. */
int xp_env_info_parse(json_t *env, const char *fallback_id, struct xp_env_info *out, char *err,
		      size_t errlen);
void xp_env_info_free(struct xp_env_info *e);
/* The JSON form of INFO (new reference): {"id","action_space","observation_space",...}. */
json_t *xp_env_info_json(const struct hippo_env_info *info);

/* Flattens J (a number, a boolean, or nested arrays of them) into exactly N
 * doubles at OUT. Returns 0, or -1 with a message in ERR (wrong count, not a
 * number, too deep). */
int xp_numbers(json_t *j, double *out, size_t n, char *err, size_t errlen);

/* A frame announced by a message's "frame" member:
 * {"width":W,"height":H,"format":"rgb"|"png"|"jpeg"} with the payload bytes. */
enum xp_frame_format { XP_FRAME_RGB = 1, XP_FRAME_PNG, XP_FRAME_JPEG };
struct xp_frame {
	int width, height;
	enum xp_frame_format format;
};
/* Reads the frame description; for RGB the payload must be exactly W*H*3 bytes.
 * Returns 1 when MSG has a frame, 0 when it has none, -1 with a message in ERR. */
int xp_frame_parse(json_t *msg, size_t payload_len, struct xp_frame *f, char *err,
		   size_t errlen);

/* Reads the optional "info" member of MSG into INFO as JSON text ("{}" when
 * absent). Returns 0, or -1 when it is not an object or does not fit. */
int xp_info_text(json_t *msg, char *info, size_t infolen, char *err, size_t errlen);

/* Reads a process's error message: MSG of type "error" gives its "message". */
void xp_error_text(json_t *msg, char *err, size_t errlen);

#endif
