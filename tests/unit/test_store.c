/* The participant store on a real database: an SQLite file, or a database
 * of a PostgreSQL server (HIPPO_TEST_STORE, store_under_test.h). */
#include <stdlib.h>
#include <unistd.h>

#include "flow/flow.h"
#include "store/store.h"
#include "store_under_test.h"
#include "test.h"

static char dir[64];
static char path[256];

static struct store *open_fresh(void)
{
	char err[256];
	struct store *s = store_open(path, err, sizeof err);
	if (!s)
		fprintf(stderr, "store_open: %s\n", err);
	return s;
}

static void participant_is_created_once_at_step_one(void)
{
	struct store *s = open_fresh();
	struct store_participant p, q;
	bool created;
	json_t *crowd = json_pack("{s:s}", "PROLIFIC_PID", "abc");
	CHECK_INT(store_participant_get(s, "proj", "u1", &p), 0);
	CHECK_INT(store_participant_ensure(s, "proj", "u1", crowd, &p, &created), 0);
	CHECK(created);
	CHECK_INT(p.step, 1);
	CHECK_INT(p.status, STORE_ACTIVE);
	CHECK_INT(store_participant_ensure(s, "proj", "u1", NULL, &q, &created), 0);
	CHECK(!created);
	CHECK_INT(q.id, p.id);
	CHECK_INT(store_participant_get(s, "other", "u1", &q), 0);
	json_decref(crowd);
	store_close(s);
}

static void advance_stores_answers_and_refuses_stale_step(void)
{
	struct store *s = open_fresh();
	struct store_participant p;
	bool created;
	CHECK_INT(store_participant_ensure(s, "proj", "u2", NULL, &p, &created), 0);
	json_t *a = json_pack("{s:s,s:i,s:s}", "consent", "yes", "age", 42, "html",
			      "<script>x</script>'; DROP TABLE answers; --");
	CHECK_INT(store_advance(s, p.id, 1, 2, a, false), 1);
	CHECK_INT(store_advance(s, p.id, 1, 2, a, false), 0); /* already at 2 */
	CHECK_INT(store_participant_get(s, "proj", "u2", &p), 1);
	CHECK_INT(p.step, 2);
	CHECK_INT(store_advance(s, p.id, 2, 3, NULL, true), 1);
	CHECK_INT(store_participant_get(s, "proj", "u2", &p), 1);
	CHECK_INT(p.status, STORE_COMPLETED);
	json_t *list = store_participants_json(s, "proj");
	json_t *me = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(json_object_get(v, "userId")), "u2") == 0)
			me = v;
	CHECK(me != NULL);
	json_t *ans = json_object_get(me, "answers");
	CHECK_INT(json_array_size(ans), 3);
	int seen = 0;
	json_array_foreach(ans, i, v)
	{
		const char *field = json_string_value(json_object_get(v, "field"));
		const char *value = json_string_value(json_object_get(v, "value"));
		CHECK_INT(json_integer_value(json_object_get(v, "step")), 1);
		if (strcmp(field, "age") == 0)
			seen += strcmp(value, "42") == 0;
		if (strcmp(field, "html") == 0)
			seen += strcmp(value, "<script>x</script>'; DROP TABLE answers; --") == 0;
	}
	CHECK_INT(seen, 2);
	json_decref(list);
	json_decref(a);
	store_close(s);
}

static int pick_last(void *user, const long long *counts, int n)
{
	(*(int *)user)++;
	return n - 1;
}

static void group_is_assigned_once(void)
{
	struct store *s = open_fresh();
	struct store_participant p;
	bool created;
	int g = -1, calls = 0;
	CHECK_INT(store_participant_ensure(s, "proj", "u3", NULL, &p, &created), 0);
	CHECK_INT(store_group_get(s, p.id, 3, &g), 0);
	CHECK_INT(store_group_assign(s, p.id, "proj", 3, pick_last, &calls, &g), 0);
	CHECK_INT(g, 2);
	CHECK_INT(store_group_assign(s, p.id, "proj", 3, pick_last, &calls, &g), 0);
	CHECK_INT(calls, 1);
	CHECK_INT(store_group_get(s, p.id, 3, &g), 1);
	CHECK_INT(g, 2);
	store_close(s);
}

static int keep_counts(void *user, const long long *counts, int n)
{
	long long *out = user;
	for (int g = 0; g < n; g++)
		out[g] = counts[g];
	return 0;
}

static int pick_first(void *user, const long long *counts, int n)
{
	(void)user;
	(void)counts;
	(void)n;
	return 0;
}

/* Two projects with grouped steps of the same size: each one's balance only
 * counts its own participants. */
static void group_counts_are_per_project(void)
{
	struct store *s = open_fresh();
	struct store_participant p;
	bool created;
	int g;
	for (int i = 0; i < 5; i++) {
		char u[16];
		snprintf(u, sizeof u, "a%d", i);
		CHECK_INT(store_participant_ensure(s, "grp-a", u, NULL, &p, &created), 0);
		CHECK_INT(store_group_assign(s, p.id, "grp-a", 2, pick_first, NULL, &g), 0);
	}
	CHECK_INT(store_participant_ensure(s, "grp-b", "b0", NULL, &p, &created), 0);
	CHECK_INT(store_group_assign(s, p.id, "grp-b", 2, pick_last, &(int){0}, &g), 0);
	CHECK_INT(g, 1);
	long long counts[2] = {-1, -1};
	CHECK_INT(store_participant_ensure(s, "grp-b", "b1", NULL, &p, &created), 0);
	CHECK_INT(store_group_assign(s, p.id, "grp-b", 2, keep_counts, counts, &g), 0);
	CHECK_INT(counts[0], 0);
	CHECK_INT(counts[1], 1);
	CHECK_INT(store_participant_ensure(s, "grp-a", "a5", NULL, &p, &created), 0);
	CHECK_INT(store_group_assign(s, p.id, "grp-a", 2, keep_counts, counts, &g), 0);
	CHECK_INT(counts[0], 5);
	CHECK_INT(counts[1], 0);
	store_close(s);
}

static void final_step_is_submitted_once(void)
{
	struct store *s = open_fresh();
	struct store_participant p;
	bool created;
	CHECK_INT(store_participant_ensure(s, "fin", "f1", NULL, &p, &created), 0);
	CHECK_INT(store_advance(s, p.id, 1, 2, NULL, true), 1);
	json_t *empty = json_object(), *a = json_pack("{s:s}", "comment", "first"),
	       *b = json_pack("{s:s}", "comment", "second");
	CHECK_INT(store_submit_final(s, p.id, 1, a), 0); /* not at step 1 any more */
	CHECK_INT(store_submit_final(s, p.id, 2, empty), 0);
	CHECK_INT(store_submit_final(s, p.id, 2, a), 1);
	CHECK_INT(store_submit_final(s, p.id, 2, b), 0);
	CHECK_INT(store_submit_final(s, p.id, 2, a), 0);
	json_t *me = store_participant_json(s, "fin", "f1");
	json_t *ans = json_object_get(me, "answers");
	CHECK_INT(json_array_size(ans), 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(ans, 0), "value")), "first");
	json_decref(me);
	json_decref(empty);
	json_decref(a);
	json_decref(b);
	store_close(s);
}

/* A database written by schema version 1 (requests with their headers inline)
 * is brought to version 2 at open; its rows stay. */
static void version_1_database_is_migrated(void)
{
	char old[256], row[256], want[64];
	CHECK_INT(tsu_new(old, sizeof old, dir, "v1"), 0);
	if (tsu_pg()) {
		/* version 1 as this backend's first migration made it */
		char err[256];
		struct store *s = store_open(old, err, sizeof err);
		CHECK(s != NULL);
		store_close(s);
		CHECK_INT(tsu_make_version_1(old), 0);
	} else {
		static const char v1[] =
			"PRAGMA journal_mode = WAL;"
			"CREATE TABLE schema_version (version INTEGER NOT NULL);"
			"INSERT INTO schema_version VALUES (1);"
			"CREATE TABLE participants (id INTEGER PRIMARY KEY,"
			" project_id TEXT NOT NULL, user_id TEXT NOT NULL, created TEXT NOT NULL,"
			" updated TEXT NOT NULL, step INTEGER NOT NULL DEFAULT 1,"
			" status TEXT NOT NULL DEFAULT 'active', crowd TEXT,"
			" UNIQUE (project_id, user_id));"
			"CREATE TABLE requests (id INTEGER PRIMARY KEY, participant INTEGER NOT"
			" NULL REFERENCES participants (id), time TEXT NOT NULL,"
			" method TEXT NOT NULL, step INTEGER, headers TEXT, ip TEXT);";
		CHECK_INT(tsu_sql(old, v1, NULL, NULL, 0), 0);
	}
	CHECK_INT(tsu_sql(old,
			  "INSERT INTO participants (project_id, user_id, created, updated, step,"
			  " status) VALUES ('old', 'u1', 't', 't', 1, 'active');"
			  "INSERT INTO requests (participant, time, method, step, headers)"
			  " VALUES (1, 't', 'GET', 1, '{\"a\":\"b\"}')",
			  NULL, NULL, 0),
		  0);
	char err[256] = "";
	struct store *s = store_open(old, err, sizeof err);
	CHECK(s != NULL);
	if (!s) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	struct store_participant p;
	CHECK_INT(store_participant_get(s, "old", "u1", &p), 1);
	CHECK_INT(store_request_log(s, p.id, "GET", 1, "{\"a\":\"b\"}", NULL), 0);
	CHECK_INT(store_request_log(s, p.id, "GET", 1, "{\"a\":\"b\"}", NULL), 0);
	CHECK_INT(store_flush(s), 0);
	store_close(s);
	CHECK_INT(tsu_sql(old,
			  "SELECT (SELECT max(version) FROM schema_version),"
			  " (SELECT count(*) FROM requests),"
			  " (SELECT headers FROM requests WHERE id = 1),"
			  " (SELECT repeats FROM requests WHERE id = 2),"
			  " (SELECT count(*) FROM header_sets)",
			  NULL, row, sizeof row),
		  0);
	/* the version; the old row, then one for both; its headers; the second
	 * request counted in the new row; one header set */
	snprintf(want, sizeof want, "%d|2|{\"a\":\"b\"}|1|1", STORE_SCHEMA_VERSION);
	CHECK_STR(row, want);
}

static void sessions_open_close_and_survive_reopen(void)
{
	struct store *s = open_fresh();
	struct store_participant p;
	bool created, open;
	char reason[32];
	CHECK_INT(store_participant_ensure(s, "proj", "u4", NULL, &p, &created), 0);
	CHECK_INT(store_session_last(s, p.id, &open, reason, sizeof reason), 0);
	CHECK_INT(store_session_start(s, p.id, 3), 0);
	CHECK_INT(store_session_last(s, p.id, &open, reason, sizeof reason), 1);
	CHECK(open);
	CHECK(store_sessions_open(s) >= 1);
	store_close(s);
	/* A restart: open sessions are closed as "restart". */
	s = open_fresh();
	CHECK(store_sessions_close_all(s, "restart") >= 1);
	CHECK_INT(store_sessions_open(s), 0);
	CHECK_INT(store_session_last(s, p.id, &open, reason, sizeof reason), 1);
	CHECK(!open);
	CHECK_STR(reason, "restart");
	CHECK_INT(store_session_start(s, p.id, 3), 0);
	json_t *files = json_pack("[s]", "proj/Trials/u4/episode_1.jsonl");
	CHECK_INT(store_session_end(s, p.id, "done", files), 1);
	CHECK_INT(store_session_end(s, p.id, "done", files), 0);
	CHECK_INT(store_session_last(s, p.id, &open, reason, sizeof reason), 1);
	CHECK_STR(reason, "done");
	json_decref(files);
	store_close(s);
}

static void projects_versions_and_live_override(void)
{
	struct store *s = open_fresh();
	int v = 0;
	CHECK_INT(store_project_put(s, "p1", "Study", "Dr X", "/tmp/p1", false, &v), 0);
	CHECK_INT(v, 1);
	CHECK_INT(store_project_live_get(s, "p1"), -1);
	CHECK_INT(store_project_live_set(s, "p1", 0), 0);
	CHECK_INT(store_project_live_get(s, "p1"), 0);
	CHECK_INT(store_project_put(s, "p1", "Study", "Dr X", "/tmp/p1", false, &v), 0);
	CHECK_INT(store_project_live_get(s, "p1"), 0); /* a re-registration keeps it */
	CHECK_INT(store_project_put(s, "p1", "Study 2", "Dr X", "/tmp/p1", true, &v), 0);
	CHECK_INT(v, 2);
	CHECK_INT(store_project_live_get(s, "p1"), -1); /* a deploy resets it */
	CHECK_INT(store_project_live_set(s, "nope", 1), -1);
	store_close(s);
}

static void step_counts_group_by_step(void)
{
	struct store *s = open_fresh();
	struct store_participant p;
	bool created;
	long long total, completed;
	store_participant_ensure(s, "cnt", "a", NULL, &p, &created);
	store_participant_ensure(s, "cnt", "b", NULL, &p, &created);
	store_advance(s, p.id, 1, 2, NULL, false);
	json_t *c = store_step_counts(s, "cnt", &total, &completed);
	CHECK_INT(total, 2);
	CHECK_INT(completed, 0);
	CHECK_INT(json_integer_value(json_object_get(c, "1")), 1);
	CHECK_INT(json_integer_value(json_object_get(c, "2")), 1);
	json_decref(c);
	store_close(s);
}

static void newer_schema_is_refused(void)
{
	struct store *s = open_fresh();
	store_close(s);
	CHECK_INT(tsu_sql(path, "INSERT INTO schema_version VALUES (99)", NULL, NULL, 0), 0);
	char err[256] = "";
	s = store_open(path, err, sizeof err);
	CHECK(s == NULL);
	CHECK(strstr(err, "newer") != NULL);
	store_close(s);
}

static void groups_hash_matches_original_bucketer(void)
{
	/* n = 2: window 1 (primes {2}, smallest dropped), last hex digit mod 2. */
	CHECK_INT(flow_group_hash("0a3f", 2), 1);
	CHECK_INT(flow_group_hash("0a3e", 2), 0);
	/* n = 6: primes {2,3}, window 3: (a + b + c) mod 6 = 33 mod 6. */
	CHECK_INT(flow_group_hash("xxabc", 6), 3);
	/* n = 3: primes {3}, window 1: f = 15 mod 3. */
	CHECK_INT(flow_group_hash("123f", 3), 0);
	/* Non-hex characters: deterministic fallback in range. */
	int g = flow_group_hash("user_zz", 3);
	CHECK(g >= 0 && g < 3);
	CHECK_INT(flow_group_hash("user_zz", 3), g);
	CHECK_INT(flow_group_hash("abc", 1), 0);
}

static void groups_balanced_picks_least_filled(void)
{
	long long c1[3] = {5, 2, 7};
	CHECK_INT(flow_group_balanced(c1, 3, 12345), 1);
	long long c2[3] = {1, 0, 0};
	int seen[3] = {0};
	for (unsigned r = 0; r < 10; r++)
		seen[flow_group_balanced(c2, 3, r)]++;
	CHECK_INT(seen[0], 0);
	CHECK(seen[1] > 0 && seen[2] > 0);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/hippo-test-store-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	if (tsu_new(path, sizeof path, dir, "hippo") < 0)
		return 1;
	printf("backend: %s\n", tsu_backend());
	RUN(participant_is_created_once_at_step_one);
	RUN(advance_stores_answers_and_refuses_stale_step);
	RUN(group_is_assigned_once);
	RUN(group_counts_are_per_project);
	RUN(final_step_is_submitted_once);
	RUN(version_1_database_is_migrated);
	RUN(sessions_open_close_and_survive_reopen);
	RUN(projects_versions_and_live_override);
	RUN(step_counts_group_by_step);
	RUN(groups_hash_matches_original_bucketer);
	RUN(groups_balanced_picks_least_filled);
	RUN(newer_schema_is_refused);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary();
}
