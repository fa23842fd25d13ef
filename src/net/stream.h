/* stream: an HTTP response body produced while it is sent (a data download),
 * in constant memory. A handler creates the stream, gives it to a thread of
 * its own (the producer) and sets http_response.stream; the server (the
 * consumer, on its I/O thread) sends the response's status and headers once
 * the producer has data, then the data as it comes (HTTP/1.1 chunks).
 *
 * Memory is the buffer given to http_stream_new, whatever the body's size:
 * the producer blocks while it is full, so a slow client slows the producer
 * down rather than growing anything.
 *
 * Lifetime: two references, the producer's (dropped by http_stream_close) and
 * the response's (dropped by http_stream_detach, which http_response_free
 * calls). Once the client is gone, http_stream_write returns -1: the producer
 * stops and closes.
 *
 *     // handler (I/O thread)
 *     struct http_stream *st = http_stream_new(256 << 10);
 *     resp->stream = st; resp->status = 200; ...content type, headers...
 *     start_thread(producer, http_stream_ref(st));     // one reference each
 *     // producer thread
 *     while ((n = read(fd, buf, sizeof buf)) > 0)
 *             if (http_stream_write(st, buf, n) < 0)
 *                     break;                           // client gone
 *     http_stream_close(st, ok ? 0 : 500, "tar failed");
 */
#ifndef HIPPO_NET_STREAM_H
#define HIPPO_NET_STREAM_H

#include <stdbool.h>
#include <stddef.h>

struct http_stream;

/* A stream buffering at most CAPACITY bytes (at least 4096), with one
 * reference (the response's). NULL when out of memory. */
struct http_stream *http_stream_new(size_t capacity);
/* Takes another reference (the producer's) and returns ST. */
struct http_stream *http_stream_ref(struct http_stream *st);

/* ---- producer (any thread) ---- */

/* Appends LEN bytes, blocking while the buffer is full. Returns 0, or -1 when
 * the client is gone (or the stream was closed): stop producing. LEN 0 only
 * asks whether the client is still there. */
int http_stream_write(struct http_stream *st, const void *data, size_t len);
/* Appends the LEN bytes only if they fit in the buffer now, never blocking.
 * Returns 0 when written, 1 when there was no room (nothing written: a
 * producer of live events drops or replaces what a slow client cannot take),
 * -1 when the client is gone. */
int http_stream_try_write(struct http_stream *st, const void *data, size_t len);
/* Ends the body and drops the producer's reference. STATUS 0: the body is
 * complete. Otherwise it failed: if nothing was sent yet the client gets
 * STATUS with {"error": MESSAGE} instead of the handler's answer; if some
 * data was, the connection is cut so the client sees an incomplete body. */
void http_stream_close(struct http_stream *st, int status, const char *message);

/* ---- consumer (the server's I/O thread) ---- */

enum http_stream_state {
	HTTP_STREAM_WAIT,   /* nothing to send yet */
	HTTP_STREAM_DATA,   /* bytes were copied out */
	HTTP_STREAM_END,    /* the body is complete and every byte was taken */
	HTTP_STREAM_FAILED, /* the producer failed: see http_stream_error */
};

/* WAKE(USER) is called, from the producer's thread, when the stream goes from
 * nothing to send to something to send (data or its end); the consumer then
 * calls http_stream_read. Set it before the producer starts. */
void http_stream_set_wake(struct http_stream *st, void (*wake)(void *user), void *user);
/* Copies up to MAX buffered bytes to BUF (*N gets how many) and says what the
 * stream is in. MAX 0 only looks (HTTP_STREAM_DATA: there is data). */
enum http_stream_state http_stream_read(struct http_stream *st, void *buf, size_t max, size_t *n);
/* After HTTP_STREAM_FAILED: the status and message given to http_stream_close,
 * and whether any data had been taken before. */
int http_stream_error(struct http_stream *st, char *msg, size_t msglen, bool *started);
/* Whether the producer signalled (woke) since the last call; clears the flag. */
bool http_stream_signalled(struct http_stream *st);
/* The client is gone or the answer is sent: drops the response's reference;
 * the producer's writes fail from now on and WAKE is never called again. */
void http_stream_detach(struct http_stream *st);

#endif
