/* session internals shared by the files of the session manager (sess__
 * prefix, like the I/O thread's side in sess_conn.h):
 *
 *   session.c      references, the registry, the life cycle (allocate, stop,
 *                  end), the manager
 *   sess_worker.c  the worker threads and their timer loop
 *   sess_conn.c    connections: attach, messages in, output queued and taken
 *   sess_rate.c    the allocation allowance per client address
 *
 * Threads, locks and lifetime: session.c's header comment. */
#ifndef HIPPO_SESSION_SESS_INT_H
#define HIPPO_SESSION_SESS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session/sess_conn.h"
#include "session/session.h"
#include "trial/trial.h"

#define SESS_CTRL_MAX 64 /* queued control messages per session; errors beyond are dropped */
#define SESS_ALLOC_RATE 120     /* default allocations per client address and minute */
#define SESS_MAX_PER_ADDR 200   /* default live sessions per client address */
#define SESS_ROOM_RETRY_S 30    /* Retry-After when an address holds its most */
#define SESS_ADDR_MAX 65536     /* client addresses tracked at most */
#define SESS_ADDR_BUCKETS 4096  /* hash buckets of the allowance table */
#define SESS_END_LISTENERS 8    /* sess_on_end listeners at most */

struct ctrl {
	unsigned char *buf; /* headroom + message */
	size_t len;
	bool done;
};

/* A frame slot: the message (trial/wire.h) after the transport's headroom. */
struct fbuf {
	unsigned char *p;   /* headroom + message */
	size_t cap, len;
	size_t time_off;    /* where the send time goes */
	bool binary;
};

struct sess {
	pthread_mutex_t mu;
	struct sess_mgr *m;
	int refs;                     /* atomic */
	struct sess *hnext;           /* registry chain; guarded by m->mu */
	struct sess *oprev, *onext;   /* every object of the manager; guarded by m->mu */
	bool registered;              /* in the registry; guarded by m->mu */
	bool ended;                   /* state is SESS_ENDED; guarded by m->mu (for lookups) */
	char project_id[MSG_ID_MAX + 1];
	char user_id[MSG_ID_MAX + 1];
	char client[64];              /* the address it counts against, "" none (m->mu) */
	const struct cfg *cfg;
	struct trial *trial;          /* NULL once ended */
	enum sess_state state;
	enum sess_end_reason reason;
	int worker;
	void *conn;                   /* written on the I/O thread only */
	bool binary;
	struct ctrl q[SESS_CTRL_MAX + 1];
	int qhead, qlen;
	unsigned char *ctrl_out;      /* the control message handed out last */
	bool closing;                 /* "done" was handed out */
	bool fail_close;              /* the trial failed: close so the client asks again */
	bool attached_once;           /* a client has connected */
	struct fbuf fpend, fsend;
	bool frame_ready;
	bool wake_queued;             /* guarded by m->mu */
	struct sess *wake_next;       /* guarded by m->mu */
	int64_t grace_deadline, max_deadline, connect_deadline;
	int grace_s, connect_s;
	/* the researcher console (sess_watch.c) */
	unsigned long long frames_sent, frames_dropped;
	int attaches;                 /* connections attached so far */
	int64_t created_ms;           /* wall clock */
	int64_t fps_at;               /* monotonic ns: start of the frame-rate window */
	unsigned long long fps_frames; /* frames_sent then */
	double fps;                   /* the rate over the last window */
	int viewers;                  /* atomic reads outside mu */
	struct sess__watch *watch;    /* what viewers take; allocated by the first */
};

/* What a watched session keeps for its viewers (guarded by the session's mutex). */
struct sess__watch {
	unsigned char *jpeg;          /* the newest frame sent to the participant */
	size_t len, cap;
	unsigned long long frame_id;
	struct sess_view_input in[SESS_VIEW_INPUTS]; /* a ring: input seq k at k % N */
	unsigned long long in_seq;    /* the last input kept */
};

/* One client address's allowance of allocations (a token bucket). */
struct addr_bucket {
	struct addr_bucket *next;
	double tokens;
	int64_t at;                   /* when tokens was computed (monotonic ns) */
	int live;                     /* live sessions it allocated (sess__addr_hold) */
	char addr[64];
};

struct worker {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sess **list; /* guarded by mu */
	size_t n, cap;
	struct sess **local; /* the worker thread's copy of list: only that thread touches it */
	size_t local_cap;
	bool stop, kicked, started;
	struct trial_scratch sc;
};

struct sess_end_listener {
	sess_end_fn fn;
	void *user;
};

struct sess_mgr {
	struct sess_mgr_config c;
	pthread_mutex_t mu;
	struct sess **reg;            /* registry: chains by user id hash */
	size_t nreg, regcap;          /* entries, buckets (a power of two) */
	struct sess *objs;            /* every session object (for shutdown and free) */
	size_t nobjs, live;
	unsigned long long refused_full, refused_rate, connect_timeouts;
	int alloc_rate;               /* allocations per client and minute; 0: no limit */
	int max_per_addr;             /* live sessions per client address; 0: no limit */
	struct addr_bucket **addrs;   /* SESS_ADDR_BUCKETS chains */
	size_t naddrs;
	struct sess *wake_head;
	struct worker *w;
	int nw;
	struct tile_cache *tiles;     /* encoded MCUs shared by the workers */
	struct sess_end_listener ends[SESS_END_LISTENERS];
	int nends;
	sess_file_fn file_fn;         /* set before sessions exist */
	void *file_user;
	int upload_every_ms;          /* set before sessions exist */
	sess_episode_fn episode_fn;   /* set before sessions exist */
	void *episode_user;
	sess_locate_fn locate;        /* set before the server runs */
	void *locate_user;
	bool draining;                /* guarded by mu */
	unsigned long long frames_sent; /* atomic: frames handed to connections */
	bool shutting_down;             /* atomic: sess__shutdown was called */
};

/* What sess__end_locked found for the end listeners. */
struct sess__ended {
	bool yes;
	enum sess_end_reason reason;
	char **files;
};

/* session.c */
size_t sess__hash(const char *s); /* FNV-1a: the registry's and the allowances' hash */
void sess__ref(struct sess *s);
/* Drops a reference; the last one frees S. Never called with a lock held. */
void sess__unref(struct sess *s);
/* With s->mu held: if the trial has ended, frees it, marks the session ended
 * and fills E for the end listeners (called after unlocking, by sess__notify_end). */
void sess__end_locked(struct sess *s, struct sess__ended *e);
/* Reports the end (E from sess__end_locked) to the listeners, then forgets
 * the session. The caller holds a reference. */
void sess__notify_end(struct sess *s, struct sess__ended *e);
/* The session of (PROJECT, USER) with a reference for the caller, or NULL. */
struct sess *sess__lookup(struct sess_mgr *m, const char *project, const char *user);
/* A session for USER_ID with CFG, not registered yet (the caller's reference).
 * RUNTIME_USED_MS of its project.maxRuntime went to earlier sessions of the
 * same game (sess_allocate_from). */
struct sess *sess__create(struct sess_mgr *m, const struct cfg *cfg, const char *user_id,
			  int episodes_before, int64_t runtime_used_ms, char *err, size_t errlen);
/* Registers S and starts it on a worker: S, or the live session of the same
 * participant that appeared meanwhile, with a reference for the caller; NULL
 * (S discarded) with *FULL set when max_sessions sessions are live. */
struct sess *sess__insert(struct sess_mgr *m, struct sess *s, bool *full);

/* sess_worker.c */
void *sess__worker_main(void *arg);
/* Wakes worker WI to look at its sessions again. */
void sess__kick(struct sess_mgr *m, int wi);
/* Adds S to the least loaded worker (the list takes a reference). */
int sess__assign(struct sess_mgr *m, struct sess *s);

/* sess_conn.c (with s->mu held unless said) */
/* Queues the connection of S on the wake list (the I/O thread writes). */
void sess__wake(struct sess *s);
/* The trial's output goes to S's control queue and frame slot. */
struct trial_sink sess__sink(struct sess *s);
void sess__clear_ctrl(struct sess *s);

/* sess_watch.c (with s->mu held) */
/* The frame JPEG (LEN bytes, id ID) was handed to S's connection: kept for its viewers. */
void sess__watch_frame(struct sess *s, const uint8_t *jpeg, size_t len, unsigned long long id);
/* The participant of S sent TEXT (LEN bytes): kept for its viewers. */
void sess__watch_input(struct sess *s, const char *text, size_t len);
void sess__watch_free(struct sess *s);

/* sess_rate.c (with m->mu held) */
/* Whether CLIENT may allocate now (CHARGE: and takes one allocation from its
 * allowance); *RETRY_S gets the wait otherwise. */
bool sess__addr_allow(struct sess_mgr *m, const char *client, bool charge, int *retry_s);
/* With m->mu held: whether CLIENT may hold one more live session
 * (sess_set_max_per_address); false counts the refusal. */
bool sess__addr_room(struct sess_mgr *m, const char *client);
/* With m->mu held: S, just registered, counts as one of CLIENT's live
 * sessions until sess__addr_release (at its end). */
void sess__addr_hold(struct sess_mgr *m, struct sess *s, const char *client);
void sess__addr_release(struct sess_mgr *m, struct sess *s);
void sess__addrs_clear(struct sess_mgr *m);

#endif
