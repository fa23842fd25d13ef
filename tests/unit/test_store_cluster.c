/* The participant store's cluster slots (store.h, "cluster") on a real store
 * (an SQLite file, or a PostgreSQL database under the `_pg` variant:
 * store_under_test.h): node leases, probes, draining asked by the console,
 * leases ended by another node, placement (least loaded, slots, draining,
 * dead nodes, never twice), the sessions of a node, stop requests and
 * reaping; placement from several connections at once never exceeds a
 * node's slots. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "store_under_test.h"
#include "test.h"

static char dir[64];
static char path[256]; /* the spec of the latest store opened */

/* A new, empty store NAME. */
static struct store *open_new(const char *name)
{
	char err[256];
	if (tsu_new(path, sizeof path, dir, name) < 0)
		return NULL;
	struct store *s = store_open(path, err, sizeof err);
	if (!s)
		fprintf(stderr, "store_open: %s\n", err);
	return s;
}

/* A renewal by a running node, without a probe. */
static int renew(struct store *s, const char *name, const char *url, int slots, bool draining,
		 int lease_ms)
{
	return store_node_renew(s, name, url, NULL, slots, draining, false, lease_ms, NULL);
}

static long long participant(struct store *s, const char *user)
{
	struct store_participant p;
	bool created;
	if (store_participant_ensure(s, "proj", user, NULL, &p, &created) < 0)
		return -1;
	return p.id;
}

struct node_seen {
	int n;
	char name[4][64];
	char probe[4][STORE_URL_MAX + 1];
	int used[4], slots[4];
	bool live[4], draining[4];
};

static int node_row(void *user, const struct store_node_row *r)
{
	struct node_seen *k = user;
	if (k->n < 4) {
		snprintf(k->name[k->n], sizeof k->name[0], "%s", r->name);
		k->used[k->n] = r->used;
		k->slots[k->n] = r->slots;
		k->live[k->n] = r->live;
		k->draining[k->n] = r->draining;
		snprintf(k->probe[k->n], sizeof k->probe[0], "%s", r->probe);
	}
	k->n++;
	return 0;
}

static void nodes_register_renew_and_expire(void)
{
	struct store *s = open_new("cl_nodes");
	CHECK_INT(renew(s, "b", "ws://127.0.0.1:2/g/b", 4, false, 60000), 0);
	CHECK_INT(renew(s, "a", "ws://127.0.0.1:1/g/a", 2, false, 60000), 0);
	/* a lease already over: the node is dead */
	CHECK_INT(renew(s, "c", "ws://127.0.0.1:3/g/c", 2, false, -1000), 0);
	struct node_seen k = {0};
	CHECK_INT(store_nodes_each(s, node_row, &k), 0);
	CHECK_INT(k.n, 3);
	CHECK_STR(k.name[0], "a");
	CHECK(k.live[0] && k.live[1] && !k.live[2]);
	CHECK_INT(k.slots[1], 4);
	/* renewing updates the row, and brings a dead node back */
	CHECK_INT(renew(s, "c", "ws://127.0.0.1:3/g/c", 5, true, 60000), 0);
	k = (struct node_seen){0};
	store_nodes_each(s, node_row, &k);
	CHECK_INT(k.n, 3);
	CHECK(k.live[2] && k.draining[2]);
	CHECK_INT(k.slots[2], 5);
	CHECK_INT(store_node_remove(s, "c"), 0);
	k = (struct node_seen){0};
	store_nodes_each(s, node_row, &k);
	CHECK_INT(k.n, 2);
	/* a URL or name longer than the store keeps is refused */
	char long_url[STORE_URL_MAX + 8];
	memset(long_url, 'x', sizeof long_url - 1);
	long_url[sizeof long_url - 1] = '\0';
	CHECK_INT(renew(s, "d", long_url, 1, false, 1000), -1);
	store_close(s);
}

static void placement_takes_the_least_loaded_live_node(void)
{
	struct store *s = open_new("cl_placement");
	renew(s, "a", "ws://h/g/a", 2, false, 60000);
	renew(s, "b", "ws://h/g/b", 4, false, 60000);
	renew(s, "dead", "ws://h/g/dead", 100, false, -1);
	renew(s, "drain", "ws://h/g/drain", 100, true, 60000);
	struct store_placement pl;
	const char *want[] = {"a", "b", "b", "a", "b", "b"}; /* by used/slots, then used, name */
	for (int i = 0; i < 6; i++) {
		char user[16];
		snprintf(user, sizeof user, "u%d", i);
		CHECK_INT(store_place(s, participant(s, user), 3, 0, &pl), 1);
		CHECK_STR(pl.node, want[i]);
		CHECK(pl.session > 0);
	}
	CHECK_STR(pl.url, "ws://h/g/b");
	/* every slot of the live nodes taken: none for the next participant */
	CHECK_INT(store_place(s, participant(s, "u6"), 3, 0, &pl), 0);
	struct node_seen k = {0};
	store_nodes_each(s, node_row, &k);
	CHECK_INT(k.used[0], 2);
	CHECK_INT(k.used[1], 4);
	CHECK_INT(k.used[2], 0); /* dead */
	CHECK_INT(k.used[3], 0); /* draining */
	/* a participant already placed gets the same session, never a second */
	long long u0 = participant(s, "u0");
	struct store_placement again;
	CHECK_INT(store_place(s, u0, 3, 0, &again), 2);
	CHECK_STR(again.node, "a");
	struct store_session_info in;
	CHECK_INT(store_session_info(s, u0, &in), 1);
	CHECK(in.open && in.node_live);
	CHECK_STR(in.node, "a");
	CHECK_STR(in.url, "ws://h/g/a");
	CHECK_INT(in.id, again.session);
	/* its end frees the slot: the waiting participant gets it */
	CHECK_INT(store_session_end_node(s, u0, "a", "done", NULL), 1);
	CHECK_INT(store_session_info(s, u0, &in), 1);
	CHECK(!in.open);
	CHECK_STR(in.reason, "done");
	CHECK_INT(store_place(s, participant(s, "u6"), 3, 0, &pl), 1);
	CHECK_STR(pl.node, "a");
	CHECK_INT(store_session_info(s, participant(s, "nobody"), &in), 0);
	store_close(s);
}

struct placed_seen {
	int n;
	long long session[8];
	char user[8][16];
	char stop[8][32];
	int episodes[8];
};

static int placed_row(void *user, const struct store_placed_row *r)
{
	struct placed_seen *k = user;
	if (k->n < 8) {
		k->session[k->n] = r->session;
		snprintf(k->user[k->n], sizeof k->user[0], "%s", r->user_id);
		snprintf(k->stop[k->n], sizeof k->stop[0], "%s", r->stop ? r->stop : "");
		k->episodes[k->n] = r->episodes;
	}
	k->n++;
	return 0;
}

static void node_sessions_stop_requests_and_reaping(void)
{
	struct store *s = open_new("cl_node_sessions");
	renew(s, "a", "ws://h/g/a", 10, false, 60000);
	struct store_placement pl;
	long long p1 = participant(s, "p1"), p2 = participant(s, "p2"), p3 = participant(s, "p3");
	CHECK_INT(store_place(s, p1, 2, 0, &pl), 1);
	CHECK_INT(store_place(s, p2, 2, 0, &pl), 1);
	struct placed_seen k = {0};
	CHECK_INT(store_placed_each(s, "a", placed_row, &k), 0);
	CHECK_INT(k.n, 2);
	CHECK_STR(k.user[0], "p1");
	CHECK_STR(k.stop[0], "");
	/* another node asks for p1's end: a (the node running it) sees it */
	CHECK_INT(store_session_stop(s, p1, "stop_step"), 1);
	CHECK_INT(store_session_stop(s, p1, "other"), 0); /* asked once */
	k = (struct placed_seen){0};
	store_placed_each(s, "a", placed_row, &k);
	CHECK_STR(k.stop[0], "stop_step");
	CHECK_STR(k.stop[1], "");
	/* node b joins, a stops renewing: b's place is untouched, a's sessions are lost */
	renew(s, "b", "ws://h/g/b", 10, false, 60000);
	renew(s, "a", "ws://h/g/a", 10, false, 60000);
	renew(s, "a", "ws://h/g/a", 10, false, -1);
	struct store_session_info in;
	CHECK_INT(store_session_info(s, p1, &in), 1);
	CHECK(in.open && !in.node_live);
	CHECK_INT(store_place(s, p3, 2, 0, &pl), 1);
	CHECK_STR(pl.node, "b");
	CHECK_INT(store_nodes_reap(s), 2);
	CHECK_INT(store_nodes_reap(s), 0);
	CHECK_INT(store_session_info(s, p1, &in), 1);
	CHECK(!in.open);
	CHECK_STR(in.reason, "node_lost");
	CHECK_INT(store_session_info(s, p3, &in), 1);
	CHECK(in.open && in.node_live);
	/* a's progress came before: the game goes on from 3 episodes on b */
	CHECK_INT(store_session_progress(s, p1, "a", 3), 1); /* recorded after its loss */
	CHECK_INT(store_place(s, p1, 2, 3, &pl), 1);
	CHECK_STR(pl.node, "b");
	k = (struct placed_seen){0};
	store_placed_each(s, "b", placed_row, &k);
	CHECK_INT(k.n, 2);
	CHECK_INT(k.episodes[1], 3);
	CHECK_INT(store_session_progress(s, p1, "b", 5), 1);
	CHECK_INT(store_session_info(s, p1, &in), 1);
	CHECK_INT(in.episodes, 5);
	CHECK_INT(store_session_progress(s, p1, "nowhere", 5), 0);
	/* the end recorded by a, late, closes nothing of the new session on b */
	CHECK_INT(store_session_end_node(s, p1, "a", "node_lost", NULL), 0);
	CHECK_INT(store_session_info(s, p1, &in), 1);
	CHECK(in.open);
	CHECK_STR(in.node, "b");
	/* a node starting again closes what it had */
	CHECK_INT(store_sessions_close_node(s, "b", "restart"), 2);
	CHECK_INT(store_session_info(s, p1, &in), 1);
	CHECK_STR(in.reason, "restart");
	/* sessions placed on no node (one node before the cluster) */
	CHECK_INT(store_session_start(s, p2, 2), 0);
	CHECK_INT(store_sessions_close_node(s, NULL, "restart"), 1);
	store_close(s);
}

static void a_session_open_on_a_dead_node_is_closed_by_a_new_placement(void)
{
	struct store *s = open_new("cl_dead_node");
	renew(s, "a", "ws://h/g/a", 10, false, 60000);
	long long p = participant(s, "p");
	struct store_placement pl;
	CHECK_INT(store_place(s, p, 2, 0, &pl), 1);
	long long first = pl.session;
	renew(s, "a", "ws://h/g/a", 10, false, -1);
	renew(s, "b", "ws://h/g/b", 10, false, 60000);
	CHECK_INT(store_place(s, p, 2, 0, &pl), 1);
	CHECK_STR(pl.node, "b");
	CHECK(pl.session != first);
	struct placed_seen k = {0};
	store_placed_each(s, "a", placed_row, &k);
	CHECK_INT(k.n, 0);
	store_close(s);
}

/* The probe URL, FRESH, the drain the console asks (store_node_drain) and
 * a lease another node ends (store_node_expire). */
static void probe_drain_asked_and_expire(void)
{
	struct store *s = open_new("cl_probe_drain");
	const char *url = "ws://h/g/a", *probe = "http://10.0.0.7:8080";
	bool asked = true;
	/* a new row takes DRAINING as given, fresh or not */
	CHECK_INT(store_node_renew(s, "a", url, probe, 2, false, true, 60000, &asked), 0);
	CHECK(!asked);
	CHECK_INT(store_node_renew(s, "b", "ws://h/g/b", NULL, 2, true, false, 60000, &asked), 0);
	CHECK(asked);
	struct node_seen k = {0};
	CHECK_INT(store_nodes_each(s, node_row, &k), 0);
	CHECK_INT(k.n, 2);
	CHECK_STR(k.probe[0], probe);
	CHECK_STR(k.probe[1], "");
	CHECK(!k.draining[0] && k.draining[1]);
	/* b stays draining while it says it does not (it drained before) */
	CHECK_INT(store_node_renew(s, "b", "ws://h/g/b", NULL, 2, false, false, 60000, &asked), 0);
	CHECK(asked);
	/* the console asks a to drain: its next renewal says so, and a takes no
	 * new session from then on */
	CHECK_INT(store_node_drain(s, "a"), 1);
	CHECK_INT(store_node_drain(s, "nobody"), 0);
	CHECK_INT(store_node_renew(s, "a", url, probe, 2, false, false, 60000, &asked), 0);
	CHECK(asked);
	CHECK_INT(store_node_renew(s, "a", url, probe, 2, false, false, 60000, NULL), 0);
	struct store_placement pl;
	long long p1 = participant(s, "p1");
	CHECK_INT(store_place(s, p1, 2, 0, &pl), 0);
	/* a node process starting again under the same name is not draining */
	CHECK_INT(store_node_renew(s, "a", url, NULL, 2, false, true, 60000, &asked), 0);
	CHECK(!asked);
	k = (struct node_seen){0};
	store_nodes_each(s, node_row, &k);
	CHECK(!k.draining[0]);
	CHECK_STR(k.probe[0], ""); /* the probe is the latest renewal's */
	CHECK_INT(store_place(s, p1, 2, 0, &pl), 1);
	CHECK_STR(pl.node, "a");
	/* a probe longer than the store keeps is refused */
	char long_probe[STORE_URL_MAX + 8];
	memset(long_probe, 'x', sizeof long_probe - 1);
	long_probe[sizeof long_probe - 1] = '\0';
	CHECK_INT(store_node_renew(s, "a", url, long_probe, 2, false, false, 60000, NULL), -1);
	/* another node found a dead: its lease ends now, once */
	CHECK_INT(store_node_expire(s, "a"), 1);
	CHECK_INT(store_node_expire(s, "a"), 0);
	CHECK_INT(store_node_expire(s, "nobody"), 0);
	k = (struct node_seen){0};
	store_nodes_each(s, node_row, &k);
	CHECK(!k.live[0] && k.live[1]);
	struct store_session_info in;
	CHECK_INT(store_session_info(s, p1, &in), 1);
	CHECK(in.open && !in.node_live);
	CHECK_INT(store_nodes_reap(s), 1);
	CHECK_INT(store_session_info(s, p1, &in), 1);
	CHECK_STR(in.reason, "node_lost");
	/* a renewal brings it back */
	CHECK_INT(store_node_renew(s, "a", url, probe, 2, false, false, 60000, &asked), 0);
	k = (struct node_seen){0};
	store_nodes_each(s, node_row, &k);
	CHECK(k.live[0]);
	store_close(s);
}

/* Placement from several connections at once (as several processes). */
struct racer {
	int first, n, placed;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	char err[256];
	struct store *s = store_open(path, err, sizeof err);
	if (!s)
		return NULL;
	for (int i = r->first; i < r->first + r->n; i++) {
		char user[16];
		snprintf(user, sizeof user, "r%d", i);
		struct store_placement pl;
		long long p = participant(s, user);
		if (p > 0 && store_place(s, p, 2, 0, &pl) == 1)
			r->placed++;
	}
	store_close(s);
	return NULL;
}

static void concurrent_placements_respect_slots(void)
{
	struct store *s = open_new("cl_concurrent");
	renew(s, "a", "ws://h/g/a", 7, false, 60000);
	renew(s, "b", "ws://h/g/b", 7, false, 60000);
	renew(s, "c", "ws://h/g/c", 6, false, 60000);
	pthread_t th[4];
	struct racer r[4];
	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){.first = i * 25, .n = 25};
		pthread_create(&th[i], NULL, race, &r[i]);
	}
	int placed = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		placed += r[i].placed;
	}
	CHECK_INT(placed, 20);
	struct node_seen k = {0};
	store_nodes_each(s, node_row, &k);
	CHECK_INT(k.used[0], 7);
	CHECK_INT(k.used[1], 7);
	CHECK_INT(k.used[2], 6);
	store_close(s);
}

/* Placement from several processes at once, each with its connection, on
 * nodes with few slots, the same participants placed by every process and
 * their sessions ended now and then (slots freed and taken again): sampled
 * meanwhile, no node ever has more open sessions than slots and no
 * participant two open sessions. */
#define HAMMER_PROCS 6
#define HAMMER_EACH 150
#define HAMMER_PARTS 30

static int hammer(int w, const long long *ids)
{
	char err[256];
	struct store *s = store_open(path, err, sizeof err);
	if (!s) {
		fprintf(stderr, "worker %d: %s\n", w, err);
		return 2;
	}
	int rc = 0;
	for (int i = 0; i < HAMMER_EACH && rc == 0; i++) {
		/* three participants at a time, each placed by two processes at once */
		long long pid = ids[(i * 7 + (w % 3) * 11) % HAMMER_PARTS];
		struct store_placement pl;
		int k = store_place(s, pid, 2, 0, &pl);
		if (k < 0) {
			fprintf(stderr, "worker %d: store_place: %s\n", w, store_errmsg(s));
			rc = 3;
		} else if (k > 0 && strcmp(pl.node, "a") != 0 && strcmp(pl.node, "b") != 0) {
			fprintf(stderr, "worker %d: placed on %s\n", w, pl.node);
			rc = 4;
		} else if (k > 0 && i % 3 == w % 2 &&
			   store_session_end_node(s, pid, pl.node, "done", NULL) < 0) {
			rc = 5;
		}
	}
	store_close(s);
	return rc;
}

static void placements_from_processes_at_once_never_exceed_slots(void)
{
	char err[256];
	struct store *s = open_new("cl_hammer");
	renew(s, "a", "ws://h/g/a", 3, false, 60000);
	renew(s, "b", "ws://h/g/b", 2, false, 60000);
	renew(s, "dead", "ws://h/g/dead", 50, false, -1);
	renew(s, "drain", "ws://h/g/drain", 50, true, 60000);
	long long ids[HAMMER_PARTS];
	for (int i = 0; i < HAMMER_PARTS; i++) {
		char user[16];
		snprintf(user, sizeof user, "h%d", i);
		ids[i] = participant(s, user);
	}
	store_close(s);
	fflush(stdout);
	fflush(stderr);
	pid_t kids[HAMMER_PROCS];
	for (int w = 0; w < HAMMER_PROCS; w++)
		if ((kids[w] = fork()) == 0)
			_exit(hammer(w, ids));
	const char *sample =
		"SELECT (SELECT count(*) FROM sessions WHERE stopped IS NULL AND node = 'a'),"
		" (SELECT count(*) FROM sessions WHERE stopped IS NULL AND node = 'b'),"
		" (SELECT count(*) FROM (SELECT participant FROM sessions WHERE stopped IS NULL"
		"  GROUP BY participant HAVING count(*) > 1) d)";
	/* one connection of its own, sampling as fast as it can */
	PGconn *pc = NULL;
	sqlite3 *sq = NULL;
	sqlite3_stmt *st = NULL;
	if (tsu_pg()) {
		pc = PQconnectdb(path);
		CHECK(PQstatus(pc) == CONNECTION_OK);
	} else {
		CHECK(sqlite3_open(path, &sq) == SQLITE_OK);
		sqlite3_busy_timeout(sq, 5000);
		CHECK(sqlite3_prepare_v2(sq, sample, -1, &st, NULL) == SQLITE_OK);
	}
	int most_a = 0, most_b = 0, twice = 0, samples = 0, running = HAMMER_PROCS;
	bool ok = true;
	while (running > 0) {
		int v[3] = {0, 0, 0}, got = 0;
		if (pc) {
			PGresult *r = PQexec(pc, sample);
			if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
				for (got = 0; got < 3; got++)
					v[got] = (int)strtol(PQgetvalue(r, 0, got), NULL, 10);
			PQclear(r);
		} else if (st && sqlite3_step(st) == SQLITE_ROW) {
			for (got = 0; got < 3; got++)
				v[got] = sqlite3_column_int(st, got);
		}
		if (st)
			sqlite3_reset(st);
		if (got == 3) {
			samples++;
			most_a = v[0] > most_a ? v[0] : most_a;
			most_b = v[1] > most_b ? v[1] : most_b;
			twice = v[2] > twice ? v[2] : twice;
		}
		for (int w = 0; w < HAMMER_PROCS; w++) {
			int ws;
			if (kids[w] > 0 && waitpid(kids[w], &ws, WNOHANG) == kids[w]) {
				ok = ok && WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
				kids[w] = 0;
				running--;
			}
		}
	}
	PQfinish(pc);
	sqlite3_finalize(st);
	sqlite3_close(sq);
	CHECK(ok);
	CHECK(samples > 0);
	CHECK(most_a <= 3);
	CHECK(most_b <= 2);
	CHECK_INT(twice, 0);
	/* then the free slots are taken, and no more: 5 open sessions, on a and b only */
	s = store_open(path, err, sizeof err);
	int late = 0;
	for (int i = 0; i < 10; i++) {
		char user[16];
		struct store_placement pl;
		snprintf(user, sizeof user, "late%d", i);
		if (store_place(s, participant(s, user), 2, 0, &pl) != 1)
			break;
		late++;
	}
	store_close(s);
	CHECK(late <= 5);
	CHECK_INT(tsu_value(path,
			    "SELECT count(*) FROM sessions WHERE stopped IS NULL AND node IN ('a', 'b')",
			    NULL),
		  5);
	CHECK_INT(tsu_value(path, "SELECT count(*) FROM sessions WHERE node IN ('dead', 'drain')",
			    NULL),
		  0);
	printf("hammer: %d samples, most open on a %d/3, on b %d/2\n", samples, most_a, most_b);
}

/* Every process places the same participants, in the same order, at once:
 * each participant gets one session, whichever process placed it. */
#define SAME_PARTS 40

static int place_all(const long long *ids, int go)
{
	char err[256], c;
	struct store *s = store_open(path, err, sizeof err);
	if (!s || read(go, &c, 1) != 1) {
		fprintf(stderr, "%s\n", s ? "no start" : err);
		store_close(s);
		return 2;
	}
	int rc = 0;
	for (int i = 0; i < SAME_PARTS && rc == 0; i++) {
		struct store_placement pl;
		int k = store_place(s, ids[i], 2, 0, &pl);
		if (k != 1 && k != 2) {
			fprintf(stderr, "store_place: %d %s\n", k, store_errmsg(s));
			rc = 3;
		}
	}
	store_close(s);
	return rc;
}

static void one_participant_placed_by_processes_at_once_is_placed_once(void)
{
	struct store *s = open_new("cl_same");
	renew(s, "a", "ws://h/g/a", 100, false, 60000);
	renew(s, "b", "ws://h/g/b", 100, false, 60000);
	renew(s, "c", "ws://h/g/c", 100, false, 60000);
	long long ids[SAME_PARTS];
	for (int i = 0; i < SAME_PARTS; i++) {
		char user[16];
		snprintf(user, sizeof user, "s%d", i);
		ids[i] = participant(s, user);
	}
	store_close(s);
	int go[2];
	CHECK_INT(pipe(go), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t kids[HAMMER_PROCS];
	for (int w = 0; w < HAMMER_PROCS; w++)
		if ((kids[w] = fork()) == 0) {
			close(go[1]);
			_exit(place_all(ids, go[0]));
		}
	close(go[0]);
	CHECK(write(go[1], "gogogo", HAMMER_PROCS) == HAMMER_PROCS);
	close(go[1]);
	for (int w = 0; w < HAMMER_PROCS; w++) {
		int ws = -1;
		CHECK(kids[w] > 0 && waitpid(kids[w], &ws, 0) == kids[w]);
		CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	}
	CHECK_INT(tsu_value(path, "SELECT count(*) FROM sessions", NULL), SAME_PARTS);
	CHECK_INT(tsu_value(path, "SELECT count(DISTINCT participant) FROM sessions", NULL),
		  SAME_PARTS);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/hippo-test-cluster-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	printf("backend: %s\n", tsu_backend());
	RUN(nodes_register_renew_and_expire);
	RUN(probe_drain_asked_and_expire);
	RUN(placement_takes_the_least_loaded_live_node);
	RUN(node_sessions_stop_requests_and_reaping);
	RUN(a_session_open_on_a_dead_node_is_closed_by_a_new_placement);
	RUN(concurrent_placements_respect_slots);
	RUN(placements_from_processes_at_once_never_exceed_slots);
	RUN(one_participant_placed_by_processes_at_once_is_placed_once);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary();
}
