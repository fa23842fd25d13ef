/* console internals shared by the files of src/console/ (con__ prefix):
 *
 *   console.c      life cycle, the route table, the worker threads that
 *                  produce answers, /admin's files
 *   con_studies.c  studies and the funnel
 *   con_people.c   the participants table, a participant's page, their files
 *   con_live.c     live sessions and spectators (one thread of their own)
 *   con_replay.c   a recorded episode re-simulated, drawn and compared
 *   con_nodes.c    a cluster's nodes, and draining one
 *   withdraw.c     a participant's data deleted everywhere (withdraw.h)
 *   audit.c        the audit log (audit.h) */
#ifndef HIPPO_CONSOLE_CON_INT_H
#define HIPPO_CONSOLE_CON_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "console/console.h"
#include "core/id.h"

#define CON_WORKERS 2          /* threads producing answers */
#define CON_QUEUE_MAX 64       /* answers waiting for a thread; more get 503 */
#define CON_NICE 10            /* the workers' CPU priority: the games come first */
#define CON_STREAM_BUF (256u << 10) /* bytes between a worker and its client */
#define CON_IDLE_MIN_DEFAULT 60 /* an active participant idle this long counts as dropped */

struct http_stream;
struct store;
struct con_job;
struct con_live;
struct con_replays;
struct con_funnels;

/* Produces the answer of job J. CON_JSON: returns the HTTP status and sets
 * j->out (the body; on a failure, j->err is the message). CON_STREAM: writes
 * the body with con__write and returns 0, or the status of a failure before
 * the first byte (j->err). */
typedef int (*con_fn)(struct console *c, struct con_job *j);

enum con_kind {
	CON_JSON,     /* a JSON answer */
	CON_STREAM,   /* a body written as it is produced (a file) */
	CON_LIVE,     /* server-sent events: every live session, once a second */
	CON_SPECTATE, /* server-sent events: one session's frames and inputs */
};

struct con_route {
	const char *method;
	const char *pattern;      /* "/api/projects/{p}/participants/{u}/files/{f}"; {n}: a
				   * node name (in con_job's name) */
	enum con_kind kind;
	const char *content_type; /* CON_STREAM: of the body (the job may not change it) */
	con_fn fn;
};

struct con_job {
	struct con_job *next;
	const struct con_route *route;
	char project[ID_MAX + 1], user[ID_MAX + 1], name[256]; /* from the path, validated */
	char *query;              /* the raw query string */
	char *body;               /* NUL-terminated */
	size_t body_len;
	char ip[64];
	struct http_stream *st;   /* the producer's reference */
	json_t *out;
	char err[512];
};

struct console {
	struct con_opts o;
	char *data_dir;
	struct store *ro;         /* the console's read-only store connection */
	pthread_mutex_t mu;       /* the queue */
	pthread_cond_t cv;
	struct con_job *head, *tail;
	size_t njobs;
	pthread_t th[CON_WORKERS];
	bool started[CON_WORKERS];
	bool stop;                /* atomic: con_free was called */
	struct con_live *live;
	struct con_replays *replays;
	struct con_funnels *funnels;
};

/* console.c */
/* Writes LEN bytes of J's body, waiting while its client lags behind (never
 * blocking the console's shutdown). Returns 0, or -1 when the client is gone
 * or the console stops. */
int con__write(struct console *c, struct con_job *j, const void *data, size_t len);
bool con__stopping(struct console *c);
/* The integer query parameter KEY of J in [MIN, MAX] (DEF when absent) into
 * *OUT; -1 with a message in j->err when malformed or out of range. */
int con__query_int(struct con_job *j, const char *key, long long def, long long min,
		   long long max, long long *out);
/* The text query parameter KEY (at most OUTLEN-1 bytes) into OUT: 1 found, 0
 * absent (OUT ""), -1 malformed (j->err set). */
int con__query_text(struct con_job *j, const char *key, char *out, size_t outlen);
/* Sets j->err and returns STATUS. */
int con__fail(struct con_job *j, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "VARIANTS:GROUP" (1..1000, 0..VARIANTS-1) into *N and *G; -1 when not that. */
int con__parse_group(const char *s, int *n, int *g);
/* Milliseconds since 1970 of a store time ("2026-11-23T21:30:00.123Z"), or -1. */
int64_t con__time_ms(const char *iso);

/* con_people.c */
int con__people(struct console *c, struct con_job *j);
int con__person(struct console *c, struct con_job *j);
int con__person_file(struct console *c, struct con_job *j);

/* con_live.c */
int con__live_start(struct console *c);
void con__live_stop(struct console *c);
/* A CON_LIVE or CON_SPECTATE route of J (ids validated): sets RESP to the
 * event stream (or an error). */
int con__live_subscribe(struct console *c, enum con_kind kind, const struct con_job *j,
			struct http_response *resp);
int con__sessions(struct console *c, struct con_job *j);
int con__audit(struct console *c, struct con_job *j);
/* The live state of a participant's game session: {"state": "none" |
 * "starting" | "ready" | "running" | "paused" | "ended"}. */
json_t *con__live_state(struct console *c, const char *project, const char *user);

/* con_replay.c */
struct con_replays *con__replays_new(void);
void con__replays_free(struct con_replays *r);
/* Closes the kept episodes of (PROJECT, USER) (after their withdrawal). */
void con__replays_forget(struct con_replays *r, const char *project, const char *user);
int con__replay(struct console *c, struct con_job *j);
int con__replay_jpeg(struct console *c, struct con_job *j);
int con__replay_png(struct console *c, struct con_job *j);

/* console.c */
int con__withdraw(struct console *c, struct con_job *j);

/* con_nodes.c */
int con__nodes(struct console *c, struct con_job *j);
int con__node_drain(struct console *c, struct con_job *j);

/* con_studies.c */
int con__studies(struct console *c, struct con_job *j);
int con__funnel(struct console *c, struct con_job *j);
struct con_funnels *con__funnels_new(void);
void con__funnels_free(struct con_funnels *f);
void con__funnels_clear(struct con_funnels *f);

#endif
