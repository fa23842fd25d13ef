/* stream: a bounded ring buffer between a producer thread and the server's
 * I/O thread (see stream.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/stream.h"

struct http_stream {
	pthread_mutex_t mu;
	pthread_cond_t space; /* the producer waits here while the buffer is full */
	unsigned char *buf;
	size_t cap, head, len; /* ring: LEN bytes from HEAD */
	int refs;
	bool closed;   /* the producer called http_stream_close */
	bool detached; /* the consumer is gone */
	bool taken;    /* some data was read by the consumer */
	bool signalled;
	int status; /* the producer's close status (0: complete) */
	char message[160];
	void (*wake)(void *user);
	void *wake_user;
};

struct http_stream *http_stream_new(size_t capacity)
{
	struct http_stream *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->cap = capacity < 4096 ? 4096 : capacity;
	st->buf = malloc(st->cap);
	if (!st->buf) {
		free(st);
		return NULL;
	}
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->space, NULL);
	st->refs = 1;
	return st;
}

struct http_stream *http_stream_ref(struct http_stream *st)
{
	pthread_mutex_lock(&st->mu);
	st->refs++;
	pthread_mutex_unlock(&st->mu);
	return st;
}

/* Drops one reference; the caller holds the lock, which this releases. */
static void unref_unlock(struct http_stream *st)
{
	bool last = --st->refs == 0;
	pthread_mutex_unlock(&st->mu);
	if (!last)
		return;
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->space);
	free(st->buf);
	free(st);
}

/* Tells the consumer there is something new (with the lock held). */
static void signal_consumer(struct http_stream *st)
{
	st->signalled = true;
	if (st->wake && !st->detached)
		st->wake(st->wake_user);
}

int http_stream_write(struct http_stream *st, const void *data, size_t len)
{
	const unsigned char *p = data;
	pthread_mutex_lock(&st->mu);
	if (st->detached || st->closed) {
		pthread_mutex_unlock(&st->mu);
		return -1;
	}
	while (len > 0) {
		while (st->len == st->cap && !st->detached && !st->closed)
			pthread_cond_wait(&st->space, &st->mu);
		if (st->detached || st->closed) {
			pthread_mutex_unlock(&st->mu);
			return -1;
		}
		bool was_empty = st->len == 0;
		size_t tail = (st->head + st->len) % st->cap;
		size_t room = st->cap - st->len, run = st->cap - tail;
		size_t n = len < room ? len : room;
		if (n > run)
			n = run;
		memcpy(st->buf + tail, p, n);
		st->len += n;
		p += n;
		len -= n;
		if (was_empty)
			signal_consumer(st);
	}
	pthread_mutex_unlock(&st->mu);
	return 0;
}

int http_stream_try_write(struct http_stream *st, const void *data, size_t len)
{
	pthread_mutex_lock(&st->mu);
	if (st->detached || st->closed) {
		pthread_mutex_unlock(&st->mu);
		return -1;
	}
	if (len > st->cap - st->len) {
		pthread_mutex_unlock(&st->mu);
		return 1;
	}
	bool was_empty = st->len == 0;
	const unsigned char *p = data;
	while (len > 0) {
		size_t tail = (st->head + st->len) % st->cap;
		size_t run = st->cap - tail, n = len < run ? len : run;
		memcpy(st->buf + tail, p, n);
		st->len += n;
		p += n;
		len -= n;
	}
	if (was_empty)
		signal_consumer(st);
	pthread_mutex_unlock(&st->mu);
	return 0;
}

void http_stream_close(struct http_stream *st, int status, const char *message)
{
	pthread_mutex_lock(&st->mu);
	if (!st->closed) {
		st->closed = true;
		st->status = status;
		snprintf(st->message, sizeof st->message, "%s", message ? message : "");
		signal_consumer(st);
	}
	unref_unlock(st);
}

void http_stream_set_wake(struct http_stream *st, void (*wake)(void *user), void *user)
{
	pthread_mutex_lock(&st->mu);
	st->wake = wake;
	st->wake_user = user;
	pthread_mutex_unlock(&st->mu);
}

enum http_stream_state http_stream_read(struct http_stream *st, void *buf, size_t max, size_t *n)
{
	enum http_stream_state s;
	*n = 0;
	pthread_mutex_lock(&st->mu);
	if (st->closed && st->status != 0) {
		s = HTTP_STREAM_FAILED;
	} else if (st->len > 0 && max == 0) {
		s = HTTP_STREAM_DATA; /* a look: nothing taken */
	} else if (st->len > 0) {
		size_t run = st->cap - st->head, k = st->len < max ? st->len : max;
		if (k > run)
			k = run;
		memcpy(buf, st->buf + st->head, k);
		st->head = (st->head + k) % st->cap;
		st->len -= k;
		if (st->len == 0)
			st->head = 0;
		st->taken = true;
		*n = k;
		pthread_cond_signal(&st->space);
		s = HTTP_STREAM_DATA;
	} else if (st->closed && st->len == 0) {
		s = HTTP_STREAM_END;
	} else {
		s = HTTP_STREAM_WAIT;
	}
	pthread_mutex_unlock(&st->mu);
	return s;
}

int http_stream_error(struct http_stream *st, char *msg, size_t msglen, bool *started)
{
	pthread_mutex_lock(&st->mu);
	int status = st->status;
	snprintf(msg, msglen, "%s", st->message);
	*started = st->taken;
	pthread_mutex_unlock(&st->mu);
	return status;
}

bool http_stream_signalled(struct http_stream *st)
{
	pthread_mutex_lock(&st->mu);
	bool s = st->signalled;
	st->signalled = false;
	pthread_mutex_unlock(&st->mu);
	return s;
}

void http_stream_detach(struct http_stream *st)
{
	pthread_mutex_lock(&st->mu);
	st->detached = true;
	st->wake = NULL;
	pthread_cond_broadcast(&st->space);
	unref_unlock(st);
}
