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
 * is brought to the current version at open; its rows stay. */
static void version_1_database_is_migrated(void)
{
	char old[256], row[256], want[64];
	CHECK_INT(tsu_new(old, sizeof old, dir, "v1"), 0);
	if (tsu_pg()) {
		/* version 1 as this backend's first migration made it */
		CHECK_INT(tsu_pg_make_version(old, 1), 0);
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

/* The answers and passes of a participant as text, in order:
 * "a:STEP:FIELD=VALUE:HASH:VERSION" and "p:STEP:HASH:VERSION" ('-' for NULL). */
struct rows {
	char text[8][160];
	int n;
};

static int see_answer_page(void *user, const struct store_answer_row *r)
{
	struct rows *k = user;
	if (k->n < 8)
		snprintf(k->text[k->n++], sizeof k->text[0], "a:%d:%s=%s:%s:%d", r->step, r->field,
			 r->value ? r->value : "-", r->page_hash ? r->page_hash : "-",
			 r->project_version);
	return 0;
}

static int see_pass(void *user, const struct store_pass_row *r)
{
	struct rows *k = user;
	if (k->n < 8)
		snprintf(k->text[k->n++], sizeof k->text[0], "p:%d:%s:%d", r->step,
			 r->page_hash ? r->page_hash : "-", r->project_version);
	return 0;
}

static void rows_of(struct store *s, const char *project, struct rows *k)
{
	struct store_query q = {.project_id = project};
	memset(k, 0, sizeof *k);
	CHECK_INT(store_answers_each(s, &q, see_answer_page, k), 0);
	CHECK_INT(store_passes_each(s, &q, see_pass, k), 0);
}

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* The page a participant answered or passed is kept with each answer and
 * in one passes row per step passed (none for the final step, which is
 * never passed); a game step's pass has the version and no hash. */
static void pages_are_kept_with_answers_and_passes(void)
{
	struct store *s = open_fresh();
	struct store_participant p;
	bool created;
	CHECK_INT(store_participant_ensure(s, "pages", "u1", NULL, &p, &created), 0);
	json_t *a = json_pack("{s:s}", "consent", "yes");
	struct store_page consent = {HASH_A, 1}, game = {NULL, 2}, final = {HASH_B, 2};
	CHECK_INT(store_advance_page(s, p.id, 1, 2, a, false, &consent), 1);
	CHECK_INT(store_advance_page(s, p.id, 1, 2, a, false, &consent), 0); /* stale: nothing */
	CHECK_INT(store_advance_page(s, p.id, 2, 3, NULL, false, &game), 1);
	CHECK_INT(store_advance(s, p.id, 3, 4, NULL, true), 1); /* page unknown */
	json_t *c = json_pack("{s:s}", "comment", "bye");
	CHECK_INT(store_submit_final_page(s, p.id, 4, c, &final), 1);
	struct rows k;
	rows_of(s, "pages", &k);
	CHECK_INT(k.n, 5);
	CHECK_STR(k.text[0], "a:1:consent=yes:" HASH_A ":1");
	CHECK_STR(k.text[1], "a:4:comment=bye:" HASH_B ":2");
	CHECK_STR(k.text[2], "p:1:" HASH_A ":1");
	CHECK_STR(k.text[3], "p:2:-:2");
	CHECK_STR(k.text[4], "p:3:-:0");

	json_t *me = store_participant_json(s, "pages", "u1");
	json_t *a0 = json_array_get(json_object_get(me, "answers"), 0);
	CHECK_STR(json_string_value(json_object_get(a0, "pageHash")), HASH_A);
	CHECK_INT(json_integer_value(json_object_get(a0, "projectVersion")), 1);
	json_t *passes = json_object_get(me, "passes");
	CHECK_INT(json_array_size(passes), 3);
	json_t *p1 = json_array_get(passes, 1);
	CHECK_INT(json_integer_value(json_object_get(p1, "step")), 2);
	CHECK(json_is_null(json_object_get(p1, "pageHash")));
	CHECK_INT(json_integer_value(json_object_get(p1, "projectVersion")), 2);
	CHECK(json_is_null(json_object_get(json_array_get(passes, 2), "projectVersion")));
	json_decref(me);
	json_decref(a);
	json_decref(c);
	store_close(s);
}

/* The schema of version 2 as SQLite servers of that version wrote it
 * (version 1's tables, then version 2's columns). */
static const char v2_schema[] =
	"PRAGMA journal_mode = WAL;"
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"INSERT INTO schema_version VALUES (2);"
	"CREATE TABLE projects (id TEXT PRIMARY KEY, name TEXT, researcher TEXT, dir TEXT,"
	" version INTEGER NOT NULL DEFAULT 1, deployed INTEGER NOT NULL DEFAULT 0,"
	" live_override INTEGER, updated TEXT NOT NULL);"
	"CREATE TABLE participants (id INTEGER PRIMARY KEY, project_id TEXT NOT NULL,"
	" user_id TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL,"
	" step INTEGER NOT NULL DEFAULT 1, status TEXT NOT NULL DEFAULT 'active', crowd TEXT,"
	" UNIQUE (project_id, user_id));"
	"CREATE TABLE answers (id INTEGER PRIMARY KEY,"
	" participant INTEGER NOT NULL REFERENCES participants (id), step INTEGER NOT NULL,"
	" field TEXT NOT NULL, value TEXT, time TEXT NOT NULL);"
	"CREATE TABLE requests (id INTEGER PRIMARY KEY,"
	" participant INTEGER NOT NULL REFERENCES participants (id), time TEXT NOT NULL,"
	" method TEXT NOT NULL, step INTEGER, headers TEXT, ip TEXT);"
	"CREATE TABLE header_sets (id INTEGER PRIMARY KEY,"
	" participant INTEGER NOT NULL REFERENCES participants (id), digest BLOB NOT NULL,"
	" headers TEXT NOT NULL, first TEXT NOT NULL, UNIQUE (participant, digest));"
	"CREATE TABLE sessions (id INTEGER PRIMARY KEY,"
	" participant INTEGER NOT NULL REFERENCES participants (id), step INTEGER,"
	" started TEXT NOT NULL, stopped TEXT, reason TEXT, files TEXT);"
	"CREATE TABLE groups (participant INTEGER NOT NULL REFERENCES participants (id),"
	" project_id TEXT NOT NULL, n INTEGER NOT NULL, grp INTEGER NOT NULL,"
	" assigned TEXT NOT NULL, PRIMARY KEY (participant, n));"
	"ALTER TABLE requests ADD COLUMN header_set INTEGER REFERENCES header_sets (id);"
	"ALTER TABLE requests ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE requests ADD COLUMN last TEXT;";

/* A participant who answered, in a version 2 store of either backend, ids as
 * given: the participant, then (HEADER_SET, in each backend's words) its
 * header set, then its answer and request. */
static const char v2_participant[] =
	"INSERT INTO projects VALUES ('old', 'Old', 'R', '/x', 4, 1, NULL, 't');"
	"INSERT INTO participants VALUES (1, 'old', 'u1', 't', 't', 2, 'active', NULL);";
static const char v2_answered[] =
	"INSERT INTO answers VALUES (1, 1, 1, 'consent', 'yes', 't1');"
	"INSERT INTO requests VALUES (1, 1, 't', 'POST', 1, NULL, NULL, 1, 3, 't2');";

/* A database written by schema version 2 is brought to version 3 at open:
 * its rows stay (answers without a page), new ones carry theirs. */
static void version_2_database_is_migrated(void)
{
	char old[256], row[128], want[64];
	CHECK_INT(tsu_new(old, sizeof old, dir, "v2"), 0);
	if (tsu_pg())
		CHECK_INT(tsu_pg_make_version(old, 2), 0);
	else
		CHECK_INT(tsu_sql(old, v2_schema, NULL, NULL, 0), 0);
	CHECK_INT(tsu_sql(old, v2_participant, NULL, NULL, 0), 0);
	CHECK_INT(tsu_sql(old,
			  tsu_pg() ? "INSERT INTO header_sets VALUES (1, 1, '\\x00', '{}', 't')"
				   : "INSERT INTO header_sets VALUES (1, 1, x'00', '{}', 't')",
			  NULL, NULL, 0),
		  0);
	CHECK_INT(tsu_sql(old, v2_answered, NULL, NULL, 0), 0);
	if (tsu_pg()) /* the sequences past the ids given */
		CHECK_INT(tsu_sql(old,
				  "SELECT setval('participants_id_seq', 10),"
				  " setval('answers_id_seq', 10), setval('requests_id_seq', 10),"
				  " setval('header_sets_id_seq', 10)",
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
	CHECK_INT(p.step, 2);
	struct store_page pg = {HASH_B, 4};
	json_t *a = json_pack("{s:s}", "q", "42");
	CHECK_INT(store_advance_page(s, p.id, 2, 3, a, false, &pg), 1);
	json_decref(a);
	struct rows k;
	rows_of(s, "old", &k);
	CHECK_INT(k.n, 3);
	CHECK_STR(k.text[0], "a:1:consent=yes:-:0");
	CHECK_STR(k.text[1], "a:2:q=42:" HASH_B ":4");
	CHECK_STR(k.text[2], "p:2:" HASH_B ":4");
	int v = 0;
	CHECK_INT(store_project_put(s, "old", "Old", "R", "/x", true, &v), 0);
	CHECK_INT(v, 5); /* the deployed versions go on */
	store_close(s);

	CHECK_INT(tsu_sql(old,
			  "SELECT (SELECT max(version) FROM schema_version),"
			  " (SELECT count(*) FROM schema_version),"
			  " (SELECT count(*) FROM answers),"
			  " (SELECT repeats || last FROM requests WHERE id = 1),"
			  " (SELECT count(*) FROM passes)",
			  NULL, row, sizeof row),
		  0);
	/* the version (PostgreSQL: a row per version applied, SQLite: one); both
	 * answers; the request row as it was; the pass */
	snprintf(want, sizeof want, "%d|%d|2|3t2|1", STORE_SCHEMA_VERSION,
		 tsu_pg() ? STORE_SCHEMA_VERSION : 1);
	CHECK_STR(row, want);
	/* and it opens again at the current version without migrating twice */
	s = store_open(old, err, sizeof err);
	CHECK(s != NULL);
	store_close(s);
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
	RUN(pages_are_kept_with_answers_and_passes);
	RUN(version_2_database_is_migrated);
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
