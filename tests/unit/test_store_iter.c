/* The participant store's contract beyond single rows: store specs (which
 * backend), the read-only mode export uses beside a running server, the
 * iterators (every row once, in the documented order, early stop), and the
 * schema versions every backend applies. */
#include <stdlib.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_int.h"
#include "test.h"

static char dir[64];

static int choose_last(void *user, const long long *counts, int n)
{
	return n - 1;
}

static struct store *open_at(const char *name)
{
	char spec[160], err[256];
	snprintf(spec, sizeof spec, "%s/%s", dir, name);
	struct store *s = store_open(spec, err, sizeof err);
	if (!s)
		fprintf(stderr, "store_open %s: %s\n", spec, err);
	return s;
}

static void specs_name_the_backend(void)
{
	char spec[160], file[160], err[256] = "";
	snprintf(spec, sizeof spec, "sqlite:%s/scheme.db", dir);
	snprintf(file, sizeof file, "%s/scheme.db", dir);
	struct store *s = store_open(spec, err, sizeof err);
	CHECK(s != NULL);
	CHECK(access(file, F_OK) == 0); /* "sqlite:" is the scheme, not part of the path */
	store_close(s);

	s = open_at("plain.db"); /* a plain path is an SQLite file */
	CHECK(s != NULL);
	store_close(s);

	err[0] = '\0';
	s = store_open("postgresql://localhost/hippo", err, sizeof err);
	CHECK(s == NULL);
	CHECK(strstr(err, "postgresql") != NULL);
	store_close(s);

	err[0] = '\0';
	s = store_open("sqlite:", err, sizeof err);
	CHECK(s == NULL);
	CHECK(err[0] != '\0');
}

static void versions_are_described(void)
{
	for (int v = 1; v <= STORE_SCHEMA_VERSION; v++)
		CHECK(store__versions[v] != NULL && store__versions[v][0] != '\0');
}

/* ------------------------------------------------------------ iterators */

struct seen {
	int n;
	char users[16][16];
	char text[16][64];
	long long nums[16];
	size_t lens[16];
	int stop_after; /* 0: never */
};

static int see_participant(void *user, const struct store_participant_row *r)
{
	struct seen *k = user;
	snprintf(k->users[k->n], sizeof k->users[0], "%s", r->user_id);
	snprintf(k->text[k->n], sizeof k->text[0], "%s|%s|%s|%s|%d", r->groups ? r->groups : "-",
		 r->session_started ? "started" : "-", r->session_stopped ? "stopped" : "-",
		 r->session_reason ? r->session_reason : "-", r->step);
	k->nums[k->n] = r->sessions;
	k->n++;
	return k->stop_after && k->n == k->stop_after ? 7 : 0;
}

static int see_answer(void *user, const struct store_answer_row *r)
{
	struct seen *k = user;
	snprintf(k->users[k->n], sizeof k->users[0], "%s", r->user_id);
	snprintf(k->text[k->n], sizeof k->text[0], "%d:%s", r->step, r->field);
	k->lens[k->n] = r->value ? r->value_len : (size_t)-1;
	k->n++;
	return 0;
}

static int see_group(void *user, const struct store_group_row *r)
{
	struct seen *k = user;
	snprintf(k->text[k->n], sizeof k->text[0], "%s:%d/%d", r->user_id, r->group, r->n);
	k->n++;
	return 0;
}

static int see_session(void *user, const struct store_session_row *r)
{
	struct seen *k = user;
	snprintf(k->text[k->n], sizeof k->text[0], "%s:%d:%s:%s", r->user_id, r->step,
		 r->reason ? r->reason : "-", r->files ? r->files : "-");
	k->n++;
	return 0;
}

static int see_request(void *user, const struct store_request_row *r)
{
	struct seen *k = user;
	snprintf(k->text[k->n], sizeof k->text[0], "%s:%s:%d:%s", r->user_id, r->method, r->step,
		 r->headers ? r->headers : "-");
	k->nums[k->n] = r->repeats;
	k->n++;
	return 0;
}

static int see_count(void *user, const struct store_step_count_row *r)
{
	struct seen *k = user;
	snprintf(k->text[k->n], sizeof k->text[0], "%s:%d:%s", r->project_id, r->step,
		 r->status ? r->status : "*");
	k->nums[k->n] = r->count;
	k->n++;
	return 0;
}

static void iterators_read_every_row_in_order(void)
{
	struct store *s = open_at("iter.db");
	if (!s)
		return;
	struct store_participant a, b, c, other;
	bool created;
	CHECK_INT(store_participant_ensure(s, "P", "ann", NULL, &a, &created), 0);
	CHECK_INT(store_participant_ensure(s, "P", "ben", NULL, &b, &created), 0);
	CHECK_INT(store_participant_ensure(s, "Q", "oth", NULL, &other, &created), 0);
	CHECK_INT(store_participant_ensure(s, "P", "cat", NULL, &c, &created), 0);
	json_t *ans = json_pack("{s:s,s:o,s:n}", "consent", "yes", "nul",
				json_stringn("a\0b", 3), "none");
	CHECK_INT(store_advance(s, a.id, 1, 2, ans, false), 1);
	json_decref(ans);
	ans = json_pack("{s:i}", "age", 30);
	CHECK_INT(store_advance(s, c.id, 1, 2, ans, true), 1);
	CHECK_INT(store_advance(s, other.id, 1, 2, ans, false), 1);
	json_decref(ans);
	int g;
	CHECK_INT(store_group_assign(s, a.id, "P", 3, choose_last, NULL, &g), 0);
	CHECK_INT(store_group_assign(s, a.id, "P", 2, choose_last, NULL, &g), 0);
	CHECK_INT(store_session_start(s, a.id, 2), 0);
	CHECK_INT(store_session_end(s, a.id, "stop", NULL), 1);
	CHECK_INT(store_session_start(s, a.id, 2), 0);
	json_t *files = json_pack("[s]", "P/trials/ann/episode_1.jsonl");
	CHECK_INT(store_session_end(s, a.id, "done", files), 1);
	json_decref(files);
	for (int i = 0; i < 3; i++)
		CHECK_INT(store_request_log(s, b.id, "GET", 1, "{\"h\":\"1\"}", NULL), 0);
	CHECK_INT(store_request_log(s, b.id, "POST", 1, "{\"h\":\"1\"}", NULL), 0);

	struct store_query q = {.project_id = "P"};
	struct seen k = {0};
	CHECK_INT(store_participants_each(s, &q, see_participant, &k), 0);
	CHECK_INT(k.n, 3); /* not Q's participant */
	CHECK_STR(k.users[0], "ann");
	CHECK_STR(k.users[1], "ben");
	CHECK_STR(k.users[2], "cat");
	CHECK_STR(k.text[0], "1;2|started|stopped|done|2"); /* by n: n=2 -> 1, n=3 -> 2 */
	CHECK_INT(k.nums[0], 2);
	CHECK_STR(k.text[1], "-|-|-|-|1");
	CHECK_INT(k.nums[1], 0);

	memset(&k, 0, sizeof k);
	q.order = STORE_ORDER_ID;
	CHECK_INT(store_participants_each(s, &q, see_participant, &k), 0);
	CHECK_INT(k.n, 3);
	q.order = STORE_ORDER_CREATED;

	memset(&k, 0, sizeof k);
	k.stop_after = 1;
	CHECK_INT(store_participants_each(s, &q, see_participant, &k), 7);
	CHECK_INT(k.n, 1);

	memset(&k, 0, sizeof k);
	CHECK_INT(store_answers_each(s, &q, see_answer, &k), 0);
	CHECK_INT(k.n, 4);
	CHECK_STR(k.text[0], "1:consent");
	CHECK_STR(k.text[1], "1:nul");
	CHECK_INT(k.lens[1], 3); /* the NUL byte is kept */
	CHECK_INT(k.lens[2], (size_t)-1); /* JSON null */
	CHECK_STR(k.users[3], "cat");

	memset(&k, 0, sizeof k);
	struct store_query one = {.project_id = "P", .participant = c.id};
	CHECK_INT(store_answers_each(s, &one, see_answer, &k), 0);
	CHECK_INT(k.n, 1);
	CHECK_STR(k.text[0], "1:age");

	memset(&k, 0, sizeof k);
	CHECK_INT(store_groups_each(s, &q, see_group, &k), 0);
	CHECK_INT(k.n, 2);
	CHECK_STR(k.text[0], "ann:1/2");
	CHECK_STR(k.text[1], "ann:2/3");

	memset(&k, 0, sizeof k);
	CHECK_INT(store_sessions_each(s, &q, see_session, &k), 0);
	CHECK_INT(k.n, 2);
	CHECK_STR(k.text[0], "ann:2:stop:-");
	CHECK_STR(k.text[1], "ann:2:done:[\"P/trials/ann/episode_1.jsonl\"]");

	memset(&k, 0, sizeof k); /* pending request records are committed first */
	CHECK_INT(store_requests_each(s, &q, see_request, &k), 0);
	CHECK_INT(k.n, 2);
	CHECK_STR(k.text[0], "ben:GET:1:{\"h\":\"1\"}");
	CHECK_INT(k.nums[0], 2);
	CHECK_STR(k.text[1], "ben:POST:1:{\"h\":\"1\"}");
	CHECK_INT(k.nums[1], 0);

	memset(&k, 0, sizeof k);
	CHECK_INT(store_step_counts_each(s, "P", see_count, &k), 0);
	CHECK_INT(k.n, 3);
	CHECK_STR(k.text[0], "P:1:active");
	CHECK_INT(k.nums[0], 1);
	CHECK_STR(k.text[1], "P:2:active");
	CHECK_STR(k.text[2], "P:2:completed");
	memset(&k, 0, sizeof k);
	CHECK_INT(store_step_counts_each(s, NULL, see_count, &k), 0);
	CHECK_INT(k.n, 3);
	CHECK_STR(k.text[0], "P:1:*");
	CHECK_STR(k.text[1], "P:2:*");
	CHECK_INT(k.nums[1], 2);
	CHECK_STR(k.text[2], "Q:2:*");
	store_close(s);
}

static int see_project(void *user, const struct store_project_row *r)
{
	struct seen *k = user;
	snprintf(k->text[k->n], sizeof k->text[0], "%s:%s:%s:%d:%d:%d", r->id,
		 r->name ? r->name : "-", r->researcher ? r->researcher : "-", r->version,
		 r->deployed, r->live);
	k->n++;
	return 0;
}

static void projects_are_read_one_or_all(void)
{
	struct store *s = open_at("projects.db");
	if (!s)
		return;
	int v;
	CHECK_INT(store_project_put(s, "b", "Bee", "Lab B", "/p/b", true, &v), 0);
	CHECK_INT(store_project_put(s, "a", "Ay", NULL, "/p/a", false, &v), 0);
	CHECK_INT(store_project_put(s, "a", "Ay 2", "Lab A", "/p/a", true, &v), 0);
	CHECK_INT(store_project_live_set(s, "b", 0), 0);
	struct seen k = {0};
	CHECK_INT(store_projects_each(s, NULL, see_project, &k), 0);
	CHECK_INT(k.n, 2); /* by id */
	CHECK_STR(k.text[0], "a:Ay 2:Lab A:2:1:-1");
	CHECK_STR(k.text[1], "b:Bee:Lab B:1:1:0");
	memset(&k, 0, sizeof k);
	CHECK_INT(store_projects_each(s, "b", see_project, &k), 0);
	CHECK_INT(k.n, 1);
	CHECK_STR(k.text[0], "b:Bee:Lab B:1:1:0");
	memset(&k, 0, sizeof k);
	CHECK_INT(store_projects_each(s, "none", see_project, &k), 0);
	CHECK_INT(k.n, 0);
	store_close(s);
}

/* ------------------------------------------------------------ read only */

static void read_only_reads_beside_a_writer_and_writes_nothing(void)
{
	char spec[160], err[256] = "";
	struct store *ro = NULL;
	snprintf(spec, sizeof spec, "%s/absent.db", dir);
	CHECK_INT(store_open_flags(spec, STORE_READ_ONLY, &ro, err, sizeof err), 1);
	CHECK(ro == NULL);
	CHECK(access(spec, F_OK) != 0); /* not created */

	struct store *w = open_at("shared.db");
	if (!w)
		return;
	struct store_participant p;
	bool created;
	CHECK_INT(store_participant_ensure(w, "P", "u1", NULL, &p, &created), 0);
	snprintf(spec, sizeof spec, "%s/shared.db", dir);
	CHECK_INT(store_open_flags(spec, STORE_READ_ONLY, &ro, err, sizeof err), 0);
	if (!ro) {
		store_close(w);
		return;
	}
	struct store_query q = {.project_id = "P"};
	struct seen k = {0};
	CHECK_INT(store_participants_each(ro, &q, see_participant, &k), 0);
	CHECK_INT(k.n, 1);
	CHECK_INT(store_advance(ro, p.id, 1, 2, NULL, false), -1);
	CHECK(strstr(store_errmsg(ro), "read-only") != NULL);
	CHECK_INT(store_participant_ensure(ro, "P", "u2", NULL, &p, &created), -1);
	CHECK_INT(store_participant_get(w, "P", "u2", &p), 0);
	CHECK_INT(store_participant_get(ro, "P", "u1", &p), 1);
	CHECK_INT(p.step, 1);
	store_close(ro);
	store_close(w);
}

/* A version 1 database (what older servers and bench/gen_data.py write) is
 * read as it is: no migration, the request log from the inline headers. */
static void read_only_reads_version_1_without_migrating(void)
{
	char path[160], err[256] = "";
	snprintf(path, sizeof path, "%s/v1.db", dir);
	sqlite3 *db = NULL;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	static const char v1[] =
		"CREATE TABLE schema_version (version INTEGER NOT NULL);"
		"INSERT INTO schema_version VALUES (1);"
		"CREATE TABLE participants (id INTEGER PRIMARY KEY,"
		" project_id TEXT NOT NULL, user_id TEXT NOT NULL, created TEXT NOT NULL,"
		" updated TEXT NOT NULL, step INTEGER NOT NULL DEFAULT 1,"
		" status TEXT NOT NULL DEFAULT 'active', crowd TEXT,"
		" UNIQUE (project_id, user_id));"
		"CREATE TABLE requests (id INTEGER PRIMARY KEY, participant INTEGER NOT"
		" NULL, time TEXT NOT NULL, method TEXT NOT NULL, step INTEGER, headers TEXT,"
		" ip TEXT);"
		"CREATE TABLE sessions (id INTEGER PRIMARY KEY, participant INTEGER NOT NULL,"
		" step INTEGER, started TEXT NOT NULL, stopped TEXT, reason TEXT, files TEXT);"
		"CREATE TABLE groups (participant INTEGER NOT NULL, project_id TEXT NOT NULL,"
		" n INTEGER NOT NULL, grp INTEGER NOT NULL, assigned TEXT NOT NULL);"
		"INSERT INTO participants VALUES (1, 'old', 'u1', 't', 't', 1, 'active', NULL);"
		"INSERT INTO requests VALUES (1, 1, 't', 'GET', 1, '{\"a\":\"b\"}', NULL);";
	CHECK_INT(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	struct store *ro = NULL;
	CHECK_INT(store_open_flags(path, STORE_READ_ONLY, &ro, err, sizeof err), 0);
	if (!ro) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	struct store_query q = {.project_id = "old"};
	struct seen k = {0};
	CHECK_INT(store_participants_each(ro, &q, see_participant, &k), 0);
	CHECK_INT(k.n, 1);
	memset(&k, 0, sizeof k);
	CHECK_INT(store_requests_each(ro, &q, see_request, &k), 0);
	CHECK_INT(k.n, 1);
	CHECK_STR(k.text[0], "u1:GET:1:{\"a\":\"b\"}");
	store_close(ro);

	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &st, NULL),
		  SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int see_answer_page(void *user, const struct store_answer_row *r)
{
	struct seen *k = user;
	snprintf(k->text[k->n], sizeof k->text[0], "%s:%d:%s:%s:%d", r->user_id, r->step,
		 r->field, r->page_hash ? r->page_hash : "-", r->project_version);
	k->n++;
	return 0;
}

static int see_pass(void *user, const struct store_pass_row *r)
{
	struct seen *k = user;
	k->n++;
	return 0;
}

/* A version 2 database (answers without their page, no passes table) is read
 * as it is: its answers with no page, no passes, no migration. */
static void read_only_reads_version_2_without_migrating(void)
{
	char path[160], err[256] = "";
	snprintf(path, sizeof path, "%s/v2.db", dir);
	sqlite3 *db = NULL;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	static const char v2[] =
		"CREATE TABLE schema_version (version INTEGER NOT NULL);"
		"INSERT INTO schema_version VALUES (2);"
		"CREATE TABLE participants (id INTEGER PRIMARY KEY,"
		" project_id TEXT NOT NULL, user_id TEXT NOT NULL, created TEXT NOT NULL,"
		" updated TEXT NOT NULL, step INTEGER NOT NULL DEFAULT 1,"
		" status TEXT NOT NULL DEFAULT 'active', crowd TEXT,"
		" UNIQUE (project_id, user_id));"
		"CREATE TABLE answers (id INTEGER PRIMARY KEY, participant INTEGER NOT NULL,"
		" step INTEGER NOT NULL, field TEXT NOT NULL, value TEXT, time TEXT NOT NULL);"
		"CREATE TABLE sessions (id INTEGER PRIMARY KEY, participant INTEGER NOT NULL,"
		" step INTEGER, started TEXT NOT NULL, stopped TEXT, reason TEXT, files TEXT);"
		"CREATE TABLE groups (participant INTEGER NOT NULL, project_id TEXT NOT NULL,"
		" n INTEGER NOT NULL, grp INTEGER NOT NULL, assigned TEXT NOT NULL);"
		"INSERT INTO participants VALUES (1, 'old', 'u1', 't', 't', 2, 'active', NULL);"
		"INSERT INTO answers VALUES (1, 1, 1, 'consent', 'yes', 't');";
	CHECK_INT(sqlite3_exec(db, v2, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	struct store *ro = NULL;
	CHECK_INT(store_open_flags(path, STORE_READ_ONLY, &ro, err, sizeof err), 0);
	if (!ro) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	struct store_query q = {.project_id = "old"};
	struct seen k = {0};
	CHECK_INT(store_answers_each(ro, &q, see_answer_page, &k), 0);
	CHECK_INT(k.n, 1);
	CHECK_STR(k.text[0], "u1:1:consent:-:0");
	memset(&k, 0, sizeof k);
	CHECK_INT(store_passes_each(ro, &q, see_pass, &k), 0);
	CHECK_INT(k.n, 0);
	json_t *me = store_participant_json(ro, "old", "u1");
	CHECK(me != NULL);
	CHECK_INT(json_array_size(json_object_get(me, "answers")), 1);
	CHECK_INT(json_array_size(json_object_get(me, "passes")), 0);
	json_decref(me);
	store_close(ro);

	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &st, NULL),
		  SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(st, 0), 2);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void read_only_refuses_a_newer_schema(void)
{
	struct store *s = open_at("newer.db");
	store_close(s);
	char path[160], err[256] = "";
	snprintf(path, sizeof path, "%s/newer.db", dir);
	sqlite3 *db = NULL;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99)", NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(db);
	struct store *ro = NULL;
	CHECK_INT(store_open_flags(path, STORE_READ_ONLY, &ro, err, sizeof err), -1);
	CHECK(strstr(err, "newer") != NULL);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/hippo-test-store-iter-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(specs_name_the_backend);
	RUN(versions_are_described);
	RUN(iterators_read_every_row_in_order);
	RUN(projects_are_read_one_or_all);
	RUN(read_only_reads_beside_a_writer_and_writes_nothing);
	RUN(read_only_reads_version_1_without_migrating);
	RUN(read_only_reads_version_2_without_migrating);
	RUN(read_only_refuses_a_newer_schema);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary();
}
