/* wire: the frames the server writes in the trial websocket protocol
 * (docs/protocol.md, "Server -> client" and "Binary frames"), next to msg.c,
 * which parses what clients send. Pure: no I/O, no allocation; the caller
 * owns the buffers (the session's frame slots).
 *
 *   JSON:   {"frameId":N,"serverTime":MS,"frame":"<base64 JPEG>"<extra members>}
 *   binary: 1, 0, 0, 0, frameId (u32 BE), send time ms (u64 BE), the JPEG
 *
 * The send time is written when the frame is handed to the socket
 * (wire_stamp), after the message was built. */
#ifndef HIPPO_TRIAL_WIRE_H
#define HIPPO_TRIAL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_BINARY_HEADER 16 /* bytes before the JPEG in a binary frame */

/* The most bytes wire_frame writes for a JPEG of LEN bytes and EXTRA_LEN
 * bytes of extra members (one more is written past the end of the base64 of
 * a JSON frame, within this size); 0 when LEN (1 GiB at most) is too large. */
size_t wire_frame_max(size_t len, size_t extra_len, bool binary);

/* Writes the frame message of the JPEG (LEN bytes) with id ID into OUT (at
 * least wire_frame_max bytes). EXTRA: extra JSON members (",\"display\":{...}"
 * or "") for JSON frames, ignored for binary ones. Returns the message's
 * length; *TIME_OFF gets where wire_stamp writes the send time. */
size_t wire_frame(unsigned char *out, bool binary, const uint8_t *jpeg, size_t len,
		  unsigned long long id, const char *extra, size_t *time_off);

/* Writes WALL_MS (ms since 1970) as the send time of MSG, a message written
 * by wire_frame with the same BINARY and *TIME_OFF. */
void wire_stamp(unsigned char *msg, size_t time_off, bool binary, long long wall_ms);

/* Standard base64 (RFC 4648, padded) of IN (LEN bytes, at most 1 GiB) into
 * OUT (4 * ((LEN + 2) / 3) bytes, then a NUL). Returns the length without
 * the NUL. */
size_t wire_base64(char *out, const uint8_t *in, size_t len);

#endif
