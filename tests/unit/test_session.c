/* session: the lifecycle seen by the study flow (session.h), in process:
 * allocate (idempotent, validated ids, bounded, limited per client), state,
 * stop with the end callback and the files written, the connect timeout,
 * ended sessions freed, record failures, shutdown of the manager. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "session/sess_conn.h"
#include "test.h"
#include "trial/recorder.h"

static char dir[] = "/tmp/hippo-test-sess-XXXXXX";
static char *actions[] = {"left", "right"};
static char *ui[] = {"left", "right"};

struct ends {
	struct sess_mgr *m;
	int n;
	enum sess_end_reason reason;
	char user[80];
	int nfiles;
	int has_meta;
	enum sess_state seen;             /* sess_get_state inside the callback */
	enum sess_end_reason seen_reason;
};

static void on_end(void *user, const char *project, const char *uid, enum sess_end_reason r,
		   const char *const *files)
{
	struct ends *e = user;
	if (e->m)
		e->seen = sess_get_state(e->m, project, uid, &e->seen_reason);
	__atomic_add_fetch(&e->n, 1, __ATOMIC_SEQ_CST);
	e->reason = r;
	snprintf(e->user, sizeof e->user, "%s/%s", project, uid);
	e->nfiles = 0;
	for (; files[e->nfiles]; e->nfiles++)
		if (strstr(files[e->nfiles], "trials.jsonl"))
			e->has_meta = 1;
}

static void make_cfg(struct cfg *c)
{
	cfg_defaults(c);
	c->project.id = "study-1";
	c->trial.game = "CartPole-v1";
	c->trial.action_space = actions;
	c->trial.naction_space = 2;
	c->trial.ui = ui;
	c->trial.nui = 2;
}

static struct sess_mgr *mgr(size_t max)
{
	char err[256];
	struct sess_mgr_config mc = {.data_dir = dir, .workers = 2, .grace_s = -1, .max_sessions = max};
	struct sess_mgr *m = sess__mgr_new(&mc, err, sizeof err);
	CHECK(m != NULL);
	return m;
}

static void test_allocate_stop(void)
{
	struct cfg c;
	make_cfg(&c);
	struct sess_mgr *m = mgr(0);
	struct ends e = {.m = m};
	sess_on_end(m, on_end, &e);
	char err[256];
	CHECK(sess_get_state(m, "study-1", "u1", NULL) == SESS_NONE);
	CHECK(sess_allocate(m, &c, "u1", NULL, NULL, err, sizeof err) == 0);
	CHECK(sess_allocate(m, &c, "u1", NULL, NULL, err, sizeof err) == 0); /* idempotent */
	CHECK(sess_get_state(m, "study-1", "u1", NULL) == SESS_READY);
	CHECK(sess_allocate(m, &c, "../x", NULL, NULL, err, sizeof err) < 0 && strstr(err, "userId"));
	CHECK(sess__live(m) == 1);
	sess_stop(m, "study-1", "u1", SESS_END_STOP_STEP);
	/* while its end is reported the session says why it ended; then it is gone */
	CHECK(e.seen == SESS_ENDED && e.seen_reason == SESS_END_STOP_STEP);
	enum sess_end_reason r = SESS_END_DONE;
	CHECK(sess_get_state(m, "study-1", "u1", &r) == SESS_NONE && r == SESS_END_NONE);
	CHECK(e.n == 1 && e.reason == SESS_END_STOP_STEP && strcmp(e.user, "study-1/u1") == 0);
	CHECK(e.has_meta && e.nfiles == 1); /* trials.jsonl: nobody played, no episode file */
	sess_stop(m, "study-1", "u1", SESS_END_STOP_STEP); /* no-op */
	CHECK(e.n == 1);
	CHECK(sess_allocate(m, &c, "u1", NULL, NULL, err, sizeof err) == 0); /* a new trial after the end */
	CHECK(sess_get_state(m, "study-1", "u1", NULL) == SESS_READY);
	sess__mgr_free(m); /* ends it with SHUTDOWN */
	CHECK(e.n == 2 && e.reason == SESS_END_SHUTDOWN);
	CHECK_STR(sess_end_reason_name(SESS_END_MAX_RUNTIME), "max_runtime");
}

static void test_limits_and_bad_env(void)
{
	struct cfg c;
	make_cfg(&c);
	struct sess_mgr *m = mgr(2);
	char err[256];
	CHECK(sess_allocate(m, &c, "a", NULL, NULL, err, sizeof err) == 0);
	CHECK(sess_allocate(m, &c, "b", NULL, NULL, err, sizeof err) == 0);
	CHECK(sess_allocate(m, &c, "c", NULL, NULL, err, sizeof err) < 0 && strstr(err, "too many"));
	struct cfg bad;
	make_cfg(&bad);
	bad.trial.game = "NoSuchEnv-v9";
	sess_stop(m, "study-1", "a", SESS_END_STOP);
	CHECK(sess_allocate(m, &bad, "d", NULL, NULL, err, sizeof err) < 0 && err[0]);
	CHECK(sess_get_state(m, "study-1", "d", NULL) == SESS_NONE);
	sess__mgr_free(m);
}

/* Polls COND (an expression) for up to 20 s. */
#define WAIT_FOR(cond)                                                                 \
	do {                                                                           \
		for (int w_ = 0; w_ < 2000 && !(cond); w_++)                           \
			usleep(10000);                                                 \
	} while (0)

static size_t held(struct sess_mgr *m)
{
	struct sess_stats st;
	sess_stats(m, &st);
	return st.held;
}

/* A handshake for USER, parsed as the server would. */
static void handshake(struct trial_msg *hs, const char *user)
{
	char text[128], err[128];
	snprintf(text, sizeof text, "{\"userId\":\"%s\",\"projectId\":\"study-1\"}", user);
	CHECK(msg_parse(text, strlen(text), hs, err, sizeof err) == 0);
}

/* Nobody connects: the session is released after trial.connectTimeout (its
 * slot freed, reason connect_timeout); a session a client attached to is
 * not released. */
static void test_connect_timeout(void)
{
	struct cfg c;
	make_cfg(&c);
	c.trial.connect_timeout_s = 1;
	struct sess_mgr *m = mgr(1);
	struct ends e = {0};
	sess_on_end(m, on_end, &e);
	char err[256];
	CHECK(sess_allocate(m, &c, "nobody", NULL, NULL, err, sizeof err) == SESS_ALLOC_OK);
	CHECK(sess_allocate(m, &c, "other", NULL, NULL, err, sizeof err) == SESS_ALLOC_FULL);
	WAIT_FOR(__atomic_load_n(&e.n, __ATOMIC_SEQ_CST) == 1);
	CHECK(e.n == 1 && e.reason == SESS_END_CONNECT_TIMEOUT);
	CHECK(sess_get_state(m, "study-1", "nobody", NULL) == SESS_NONE);
	struct sess_stats st;
	sess_stats(m, &st);
	CHECK(st.live == 0 && st.connect_timeouts == 1 && st.refused_full == 1);
	/* the slot is free again; this one is played */
	CHECK(sess_allocate(m, &c, "player", NULL, NULL, err, sizeof err) == SESS_ALLOC_OK);
	struct trial_msg hs;
	handshake(&hs, "player");
	void *replaced = NULL;
	int conn = 0;
	struct sess *s = sess__attach(m, &hs, &conn, NULL, false, &replaced, err, sizeof err);
	msg_free(&hs);
	CHECK(s != NULL && replaced == NULL);
	usleep(2500000); /* past the connect timeout */
	CHECK(e.n == 1);
	CHECK(sess_get_state(m, "study-1", "player", NULL) == SESS_RUNNING);
	sess__detach(s, &conn);
	sess__mgr_free(m);
	CHECK(e.n == 2 && e.reason == SESS_END_SHUTDOWN);
}

/* Allocations per client address: an allowance of N a minute; another
 * address, no address, and a session that exists already are not charged. */
static void test_alloc_rate(void)
{
	struct cfg c;
	make_cfg(&c);
	struct sess_mgr *m = mgr(0);
	sess_set_alloc_rate(m, 2);
	char err[256];
	int retry = 0;
	const char *a = "198.51.100.7";
	CHECK(sess_allocate(m, &c, "r1", a, &retry, err, sizeof err) == SESS_ALLOC_OK);
	CHECK(sess_allocate(m, &c, "r2", a, &retry, err, sizeof err) == SESS_ALLOC_OK);
	CHECK(sess_allocate(m, &c, "r1", a, &retry, err, sizeof err) == SESS_ALLOC_OK);
	CHECK(sess_allocate(m, &c, "r3", a, &retry, err, sizeof err) == SESS_ALLOC_LIMITED);
	CHECK(retry >= 1 && retry <= 30 && strstr(err, a));
	CHECK(sess_get_state(m, "study-1", "r3", NULL) == SESS_NONE);
	CHECK(sess_allocate(m, &c, "r3", "198.51.100.8", NULL, err, sizeof err) == SESS_ALLOC_OK);
	CHECK(sess_allocate(m, &c, "r4", NULL, NULL, err, sizeof err) == SESS_ALLOC_OK);
	struct sess_stats st;
	sess_stats(m, &st);
	CHECK(st.refused_rate == 1 && st.live == 4);
	sess_set_alloc_rate(m, 0);
	CHECK(sess_allocate(m, &c, "r5", a, NULL, err, sizeof err) == SESS_ALLOC_OK);
	sess__mgr_free(m);

	/* the default lets a classroom of 120 behind one address start together */
	m = mgr(0);
	int ok = 0;
	for (int i = 0; i < 121; i++) {
		char user[16];
		snprintf(user, sizeof user, "class%d", i);
		ok += sess_allocate(m, &c, user, "192.0.2.10", NULL, err, sizeof err) ==
		      SESS_ALLOC_OK;
	}
	CHECK_INT(ok, 120);
	sess__mgr_free(m);
}

/* Live sessions per client address (sess_allocate): an address holding its
 * most is refused until one of its sessions ends; other addresses, no
 * address and an existing session are not counted against it. */
static void test_max_per_address(void)
{
	struct cfg c;
	make_cfg(&c);
	struct sess_mgr *m = mgr(0);
	sess_set_max_per_address(m, 2);
	char err[256];
	int retry = 0;
	const char *a = "198.51.100.9";
	CHECK(sess_allocate(m, &c, "p1", a, &retry, err, sizeof err) == SESS_ALLOC_OK);
	CHECK(sess_allocate(m, &c, "p2", a, &retry, err, sizeof err) == SESS_ALLOC_OK);
	CHECK(sess_allocate(m, &c, "p1", a, &retry, err, sizeof err) == SESS_ALLOC_OK);
	CHECK(sess_allocate(m, &c, "p3", a, &retry, err, sizeof err) == SESS_ALLOC_LIMITED);
	CHECK(retry > 0 && strstr(err, "at most 2"));
	CHECK(sess_allocate(m, &c, "p3", "198.51.100.10", NULL, err, sizeof err) == SESS_ALLOC_OK);
	CHECK(sess_allocate(m, &c, "p4", NULL, NULL, err, sizeof err) == SESS_ALLOC_OK);
	sess_stop(m, "study-1", "p1", SESS_END_STOP);
	WAIT_FOR(sess_get_state(m, "study-1", "p1", NULL) == SESS_NONE);
	CHECK(sess_allocate(m, &c, "p5", a, &retry, err, sizeof err) == SESS_ALLOC_OK);
	CHECK(sess_allocate(m, &c, "p6", a, &retry, err, sizeof err) == SESS_ALLOC_LIMITED);
	sess_set_max_per_address(m, 0);
	CHECK(sess_allocate(m, &c, "p6", a, NULL, err, sizeof err) == SESS_ALLOC_OK);
	sess__mgr_free(m);
}

/* A game that goes on after its node was lost (sess_allocate_from) has only
 * what its earlier sessions left of project.maxRuntime. */
static void test_runtime_carries_over(void)
{
	struct cfg c;
	make_cfg(&c);
	c.project.max_runtime_min = 1;
	struct sess_mgr *m = mgr(0);
	struct ends e = {.m = m};
	sess_on_end(m, on_end, &e);
	char err[256];
	CHECK(sess_allocate_from(m, &c, "late", 1, 59500, err, sizeof err) == SESS_ALLOC_OK);
	CHECK(sess_allocate_from(m, &c, "fresh", 1, 0, err, sizeof err) == SESS_ALLOC_OK);
	WAIT_FOR(__atomic_load_n(&e.n, __ATOMIC_SEQ_CST) == 1);
	CHECK(e.reason == SESS_END_MAX_RUNTIME && strcmp(e.user, "study-1/late") == 0);
	CHECK(sess_get_state(m, "study-1", "fresh", NULL) == SESS_READY);
	/* all of it used already: ended at once, as one node ends it */
	CHECK(sess_allocate_from(m, &c, "spent", 1, 90000, err, sizeof err) == SESS_ALLOC_OK);
	WAIT_FOR(__atomic_load_n(&e.n, __ATOMIC_SEQ_CST) == 2);
	CHECK(e.reason == SESS_END_MAX_RUNTIME && strcmp(e.user, "study-1/spent") == 0);
	sess__mgr_free(m);
}

static void no_wake(void *conn, void *user)
{
	(void)conn;
	(void)user;
}

/* Ended sessions are freed: many allocate/stop cycles, and sessions that
 * ended while a client was attached, leave no session object behind. */
static void test_ended_sessions_are_freed(void)
{
	struct cfg c;
	make_cfg(&c);
	struct sess_mgr *m = mgr(0);
	struct ends e = {0};
	sess_on_end(m, on_end, &e);
	char err[256];
	for (int i = 0; i < 2000; i++) {
		char user[16];
		snprintf(user, sizeof user, "c%d", i % 10);
		CHECK(sess_allocate(m, &c, user, NULL, NULL, err, sizeof err) == SESS_ALLOC_OK);
		sess_stop(m, "study-1", user, SESS_END_STOP);
	}
	WAIT_FOR(held(m) == 0);
	CHECK_INT(held(m), 0);
	CHECK_INT(e.n, 2000);
	/* attached: the connection keeps it until it detaches */
	CHECK(sess_allocate(m, &c, "att", NULL, NULL, err, sizeof err) == SESS_ALLOC_OK);
	struct trial_msg hs;
	handshake(&hs, "att");
	void *replaced = NULL;
	int conn = 0, conn2 = 0;
	struct sess *s = sess__attach(m, &hs, &conn, NULL, false, &replaced, err, sizeof err);
	/* a second connection replaces the first and takes over its reference */
	struct sess *s2 = sess__attach(m, &hs, &conn2, NULL, false, &replaced, err, sizeof err);
	msg_free(&hs);
	CHECK(s && s2 == s && replaced == &conn);
	sess_stop(m, "study-1", "att", SESS_END_STOP);
	CHECK(sess_get_state(m, "study-1", "att", NULL) == SESS_NONE);
	usleep(100000);
	CHECK_INT(held(m), 1); /* the connection still refers to it */
	unsigned char *buf;
	size_t len;
	bool more;
	bool done = false;
	while (sess__next_output(s2, &conn2, &buf, &len, &more) == SESS_OUT_TEXT)
		done = len == 4 && memcmp(buf, "done", 4) == 0;
	CHECK(done); /* the last message */
	sess__detach(s2, &conn2);
	sess__drain_wakes(m, no_wake, NULL); /* the server's I/O loop does this */
	WAIT_FOR(held(m) == 0); /* and its worker has let it go */
	CHECK_INT(held(m), 0);
	sess__mgr_free(m);
}

/* The records cannot be written (no descriptor left): the session ends
 * with SESS_END_RECORD, the client gets the error and a close that is not
 * "done"; an allocation in that state fails with the real error. */
static void test_record_failure_is_reported(void)
{
	struct cfg c;
	make_cfg(&c);
	struct sess_mgr *m = mgr(0);
	struct ends e = {0};
	sess_on_end(m, on_end, &e);
	char err[256];
	CHECK(sess_allocate(m, &c, "fd1", NULL, NULL, err, sizeof err) == SESS_ALLOC_OK);
	rec_sync_wait(); /* no fsync in flight that would give a descriptor back */
	/* use up every descriptor */
	struct rlimit old, low;
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = 256;
	setrlimit(RLIMIT_NOFILE, &low);
	int fds[256], nfd = 0;
	while (nfd < 256 && (fds[nfd] = dup(0)) >= 0)
		nfd++;
	CHECK(errno == EMFILE);
	CHECK(sess_allocate(m, &c, "fd2", NULL, NULL, err, sizeof err) == SESS_ALLOC_ERROR);
	CHECK(strstr(err, "Too many open files") != NULL);
	struct trial_msg hs;
	handshake(&hs, "fd1");
	void *replaced = NULL;
	int conn = 0;
	struct sess *s = sess__attach(m, &hs, &conn, NULL, false, &replaced, err, sizeof err);
	msg_free(&hs);
	CHECK(s != NULL);
	WAIT_FOR(__atomic_load_n(&e.n, __ATOMIC_SEQ_CST) == 1);
	while (nfd > 0)
		close(fds[--nfd]);
	setrlimit(RLIMIT_NOFILE, &old);
	CHECK(e.n == 1 && e.reason == SESS_END_RECORD);
	unsigned char *buf;
	size_t len;
	bool more;
	enum sess_out o;
	bool error_seen = false, done_seen = false;
	while ((o = sess__next_output(s, &conn, &buf, &len, &more)) == SESS_OUT_TEXT) {
		error_seen |= len > 10 && memmem(buf, len, "Please try again", 16) != NULL;
		done_seen |= len == 4 && memcmp(buf, "done", 4) == 0;
	}
	CHECK(error_seen && !done_seen && o == SESS_OUT_CLOSE_RETRY);
	sess__detach(s, &conn);
	/* descriptors back: the participant plays */
	CHECK(sess_allocate(m, &c, "fd1", NULL, NULL, err, sizeof err) == SESS_ALLOC_OK);
	sess__mgr_free(m);
}

struct hooks {
	char order[16];  /* end listeners called, in order */
	int nclosed;     /* episode files closed (atomic) */
	char last[128];
};

static void end_a(void *user, const char *project, const char *uid, enum sess_end_reason r,
		  const char *const *files)
{
	struct hooks *h = user;
	strncat(h->order, "a", sizeof h->order - strlen(h->order) - 1);
}

static void end_b(void *user, const char *project, const char *uid, enum sess_end_reason r,
		  const char *const *files)
{
	struct hooks *h = user;
	strncat(h->order, "b", sizeof h->order - strlen(h->order) - 1);
}

static void file_closed(void *user, const char *project, const char *uid, const char *rel)
{
	struct hooks *h = user;
	snprintf(h->last, sizeof h->last, "%s", rel);
	__atomic_add_fetch(&h->nclosed, 1, __ATOMIC_SEQ_CST);
}

/* The hooks go down the layers: every end listener is called, in the order
 * added; the file-closed hook reaches the recorder of each session. The
 * connection side parses what a client sends: the handshake, or a refusal. */
static void test_hooks_and_first_messages(void)
{
	struct cfg c;
	make_cfg(&c);
	struct sess_mgr *m = mgr(0);
	struct hooks h = {0};
	CHECK_INT(sess_on_end(m, end_a, &h), 0);
	CHECK_INT(sess_on_end(m, end_b, &h), 0);
	struct ends more[6] = {{0}};
	for (int i = 0; i < 6; i++)
		CHECK_INT(sess_on_end(m, on_end, &more[i]), 0);
	CHECK_INT(sess_on_end(m, end_a, &h), -1); /* the ninth */
	CHECK_INT(sess_on_end(m, NULL, NULL), -1);
	sess_on_file_closed(m, file_closed, &h);
	char err[256];
	CHECK(sess_allocate(m, &c, "hooked", NULL, NULL, err, sizeof err) == SESS_ALLOC_OK);
	struct sess *s = NULL;
	void *replaced = NULL;
	int conn = 0;
	const char *bad = "{\"userId\": 5}", *notyet = "{\"command\": \"start\"}";
	CHECK(sess__open(m, bad, strlen(bad), &conn, NULL, &s, &replaced, err, sizeof err) ==
	      SESS_OPEN_REFUSED && s == NULL && err[0]);
	CHECK(sess__open(m, notyet, strlen(notyet), &conn, NULL, &s, &replaced, err, sizeof err) ==
		      SESS_OPEN_REFUSED &&
	      strstr(err, "handshake"));
	const char *hs = "{\"userId\": \"hooked\", \"projectId\": \"study-1\"}";
	CHECK(sess__open(m, hs, strlen(hs), &conn, NULL, &s, &replaced, err, sizeof err) ==
	      SESS_OPEN_ATTACHED && s && !replaced);
	CHECK(sess_get_state(m, "study-1", "hooked", NULL) == SESS_RUNNING);
	/* the first episode starts on the worker; a reset closes its file */
	usleep(200000);
	const char *reset = "{\"command\": \"reset\"}";
	sess__text(s, reset, strlen(reset));
	WAIT_FOR(__atomic_load_n(&h.nclosed, __ATOMIC_SEQ_CST) == 1);
	CHECK_INT(h.nclosed, 1);
	CHECK_STR(h.last, "study-1/trials/hooked/episode_1.jsonl");
	sess_stop(m, "study-1", "hooked", SESS_END_STOP_STEP);
	CHECK_INT(h.nclosed, 2);
	CHECK_STR(h.last, "study-1/trials/hooked/episode_2.jsonl");
	CHECK_STR(h.order, "ab");
	CHECK(more[5].n == 1 && more[5].reason == SESS_END_STOP_STEP);
	sess__detach(s, &conn);
	sess__shutdown(m);
	CHECK(sess__open(m, hs, strlen(hs), &conn, NULL, &s, &replaced, err, sizeof err) ==
	      SESS_OPEN_SHUTTING_DOWN);
	sess__mgr_free(m);
}

/* One worker running many sessions while more are allocated: its list
 * grows (64, 128, 256) while it services the sessions it has, which must
 * never read a list that moved under it (ASan). */
static void test_worker_list_grows_while_running(void)
{
	struct cfg c;
	make_cfg(&c);
	struct sess_mgr_config mc = {.data_dir = dir, .workers = 1, .grace_s = -1};
	char err[256];
	struct sess_mgr *m = sess__mgr_new(&mc, err, sizeof err);
	CHECK(m != NULL);
	sess_set_alloc_rate(m, 0);
	int ok = 0;
	for (int i = 0; i < 300; i++) {
		char user[16];
		snprintf(user, sizeof user, "g%d", i);
		ok += sess_allocate(m, &c, user, NULL, NULL, err, sizeof err) == SESS_ALLOC_OK;
	}
	CHECK_INT(ok, 300);
	struct sess_stats st;
	sess_stats(m, &st);
	CHECK_INT(st.live, 300);
	sess__mgr_free(m);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(test_allocate_stop);
	RUN(test_runtime_carries_over);
	RUN(test_limits_and_bad_env);
	RUN(test_connect_timeout);
	RUN(test_alloc_rate);
	RUN(test_max_per_address);
	RUN(test_ended_sessions_are_freed);
	RUN(test_worker_list_grows_while_running);
	RUN(test_record_failure_is_reported);
	RUN(test_hooks_and_first_messages);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return test_summary();
}
