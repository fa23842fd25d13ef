/* The participant store's contract beyond single rows: store specs (which
 * backend, URLs, passwords kept out of messages), the read-only mode export
 * uses beside a running server, the iterators (every row once, in the
 * documented order, early stop), the schema versions every backend applies,
 * and several servers sharing one store. Runs against the backend of
 * HIPPO_TEST_STORE (store_under_test.h). */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store_under_test.h"
#include "test.h"

static char dir[64];

static int choose_last(void *user, const long long *counts, int n)
{
	return n - 1;
}

/* A new store NAME of the backend under test; its spec in SPEC. */
static struct store *open_new(const char *name, char *spec, size_t len)
{
	char err[256];
	if (tsu_new(spec, len, dir, name) < 0)
		return NULL;
	struct store *s = store_open(spec, err, sizeof err);
	if (!s)
		fprintf(stderr, "store_open %s: %s\n", spec, err);
	return s;
}

static struct store *open_at(const char *name)
{
	char spec[256];
	return open_new(name, spec, sizeof spec);
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

	snprintf(spec, sizeof spec, "%s/plain.db", dir); /* a plain path is an SQLite file */
	s = store_open(spec, err, sizeof err);
	CHECK(s != NULL);
	store_close(s);
	CHECK(access(spec, F_OK) == 0);

	err[0] = '\0';
	s = store_open("mysql://localhost/hippo", err, sizeof err);
	CHECK(s == NULL);
	CHECK(strstr(err, "no participant store backend for 'mysql:'") != NULL);
	store_close(s);

	err[0] = '\0';
	s = store_open("sqlite:", err, sizeof err);
	CHECK(s == NULL);
	CHECK(err[0] != '\0');
}

/* A bad PostgreSQL URL is refused before any connection, with a message that
 * says what is wrong and shows no password. */
static void postgresql_urls_are_checked(void)
{
	static const struct {
		const char *spec, *says;
	} bad[] = {
		{"postgresql:hippo", "not a PostgreSQL URL"},
		{"postgres:/h/db", "not a PostgreSQL URL"},
		{"postgresql://u:Secret1@127.0.0.1:5432", "no database named"},
		{"postgresql://u:Secret1@127.0.0.1:5432/", "no database named"},
		{"postgresql://u:Secret1@127.0.0.1:5432/?sslmode=disable", "no database named"},
		{"postgresql://u:Secret1@127.0.0.1:port/db", "value \"port\" for connection option"},
		{"postgresql://u:Secret1%zz@127.0.0.1/db", "bad PostgreSQL URL"},
		{"postgresql://u@127.0.0.1/db?password=Secret1%zz", "bad PostgreSQL URL"},
		{"postgresql://u@127.0.0.1/db?nosuchparam=1", "bad PostgreSQL URL"},
		/* port 1 on the loopback: refused at once */
		{"postgresql://u:Secret1@127.0.0.1:1/db", "cannot connect"},
		{"postgres://u:Secret1@127.0.0.1:1/db?connect_timeout=5", "cannot connect"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[512] = "";
		struct store *s = NULL;
		CHECK_INT(store_open_flags(bad[i].spec, 0, &s, err, sizeof err), -1);
		CHECK(s == NULL);
		if (!strstr(err, bad[i].says) || strstr(err, "Secret1") || strchr(err, '\n')) {
			fprintf(stderr, "%s: %s\n", bad[i].spec, err);
			CHECK(0);
		}
		CHECK(strstr(bad[i].spec, "Secret1") == NULL || strstr(err, "***") != NULL);
	}
}

static void passwords_are_masked(void)
{
	static const struct {
		const char *spec, *shown;
	} cases[] = {
		{"postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"},
		{"postgresql://u@h/db", "postgresql://u@h/db"},
		{"postgresql://u:@h/db", "postgresql://u:***@h/db"},
		{"postgres://u:p%40ss:w@h/db", "postgres://u:***@h/db"},
		{"postgresql://u:a@b@h/db", "postgresql://u:***@h/db"},
		{"postgresql://h/db?sslmode=require&password=x&application_name=a",
		 "postgresql://h/db?sslmode=require&password=***&application_name=a"},
		{"postgresql://h/db?pass%77ord=x", "postgresql://h/db?pass%77ord=***"},
		{"postgresql://u:p@h/db?password=q", "postgresql://u:***@h/db?password=***"},
		{"postgresql://h/db?passwords=x", "postgresql://h/db?passwords=x"},
		{"postgresql://h/db#password=x", "postgresql://h/db#password=x"},
		{"postgresql://h/x:y@z", "postgresql://h/x:y@z"},
		{"sqlite:data/hippo.db", "sqlite:data/hippo.db"},
		{"data/a:b@c.db", "data/a:b@c.db"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[256];
		store_spec_masked(cases[i].spec, out, sizeof out);
		CHECK_STR(out, cases[i].shown);
	}
	char small[12];
	store_spec_masked("postgresql://u:secret@h/db", small, sizeof small);
	CHECK_STR(small, "postgresql:");
	store_spec_masked("postgresql://h/d?password=a&password=b&password=c&password=d&password=e",
			  small, sizeof small);
	CHECK(strstr(small, "=a") == NULL);
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
	struct store *s = open_at("iter");
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
	struct store *s = open_at("projects");
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
	char spec[256], err[256] = "", v[64];
	struct store *ro = NULL;
	CHECK_INT(tsu_new(spec, sizeof spec, dir, "absent"), 0);
	CHECK_INT(store_open_flags(spec, STORE_READ_ONLY, &ro, err, sizeof err), 1);
	CHECK(ro == NULL);
	if (tsu_pg()) { /* an empty database: nothing created in it */
		CHECK_INT(tsu_sql(spec, "SELECT to_regclass('schema_version') IS NULL", NULL, v,
				  sizeof v),
			  0);
		CHECK_STR(v, "t");
	} else {
		CHECK(access(spec, F_OK) != 0); /* not created */
	}

	CHECK_INT(tsu_new(spec, sizeof spec, dir, "shared"), 0);
	struct store *w = store_open(spec, err, sizeof err);
	CHECK(w != NULL);
	if (!w)
		return;
	struct store_participant p;
	bool created;
	CHECK_INT(store_participant_ensure(w, "P", "u1", NULL, &p, &created), 0);
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
	char spec[256], err[256] = "", v[64];
	CHECK_INT(tsu_new(spec, sizeof spec, dir, "v1"), 0);
	if (tsu_pg()) {
		CHECK_INT(tsu_pg_make_version(spec, 1), 0);
	} else {
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
			" n INTEGER NOT NULL, grp INTEGER NOT NULL, assigned TEXT NOT NULL);";
		CHECK_INT(tsu_sql(spec, v1, NULL, NULL, 0), 0);
	}
	CHECK_INT(tsu_sql(spec,
			  "INSERT INTO participants (project_id, user_id, created, updated, step,"
			  " status) VALUES ('old', 'u1', 't', 't', 1, 'active');"
			  "INSERT INTO requests (participant, time, method, step, headers)"
			  " VALUES (1, 't', 'GET', 1, '{\"a\":\"b\"}')",
			  NULL, NULL, 0),
		  0);

	struct store *ro = NULL;
	CHECK_INT(store_open_flags(spec, STORE_READ_ONLY, &ro, err, sizeof err), 0);
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
	CHECK_INT(tsu_sql(spec, "SELECT max(version) FROM schema_version", NULL, v, sizeof v), 0);
	CHECK_STR(v, "1");
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
	char spec[256], err[256] = "", v[64];
	CHECK_INT(tsu_new(spec, sizeof spec, dir, "v2"), 0);
	if (tsu_pg()) {
		CHECK_INT(tsu_pg_make_version(spec, 2), 0);
	} else {
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
			" n INTEGER NOT NULL, grp INTEGER NOT NULL, assigned TEXT NOT NULL);";
		CHECK_INT(tsu_sql(spec, v2, NULL, NULL, 0), 0);
	}
	CHECK_INT(tsu_sql(spec,
			  "INSERT INTO participants VALUES (1, 'old', 'u1', 't', 't', 2, 'active',"
			  " NULL);"
			  "INSERT INTO answers VALUES (1, 1, 1, 'consent', 'yes', 't');",
			  NULL, NULL, 0),
		  0);

	struct store *ro = NULL;
	CHECK_INT(store_open_flags(spec, STORE_READ_ONLY, &ro, err, sizeof err), 0);
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
	CHECK_INT(tsu_sql(spec, "SELECT max(version) FROM schema_version", NULL, v, sizeof v), 0);
	CHECK_STR(v, "2");
}

static void read_only_refuses_a_newer_schema(void)
{
	char spec[256], err[256] = "";
	struct store *s = open_new("newer", spec, sizeof spec);
	store_close(s);
	CHECK_INT(tsu_sql(spec, "INSERT INTO schema_version VALUES (99)", NULL, NULL, 0), 0);
	struct store *ro = NULL;
	CHECK_INT(store_open_flags(spec, STORE_READ_ONLY, &ro, err, sizeof err), -1);
	CHECK(strstr(err, "newer") != NULL);
}

/* ------------------------------------------------------------ shared stores */

/* Three servers starting at once on a new store: every one opens it, and the
 * schema is made once (one schema_version row per version). */
static void stores_opened_at_once_migrate_once(void)
{
	char spec[256], row[64];
	int go[2];
	CHECK_INT(tsu_new(spec, sizeof spec, dir, "at_once"), 0);
	CHECK_INT(pipe(go), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			char c, err[256];
			close(go[1]);
			if (read(go[0], &c, 1) != 1)
				_exit(3);
			struct store *s = store_open(spec, err, sizeof err);
			if (!s)
				fprintf(stderr, "process %d: %s\n", i, err);
			store_close(s);
			exit(s ? 0 : 1);
		}
	}
	close(go[0]);
	CHECK(write(go[1], "gogo", 3) == 3); /* all three at once */
	close(go[1]);
	for (int i = 0; i < 3; i++) {
		int st = -1;
		CHECK(kids[i] > 0 && waitpid(kids[i], &st, 0) == kids[i]);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	CHECK_INT(tsu_sql(spec,
			  "SELECT count(*) = count(DISTINCT version), max(version) FROM"
			  " schema_version",
			  NULL, row, sizeof row),
		  0);
	char want[32];
	snprintf(want, sizeof want, "%s|%d", tsu_pg() ? "t" : "1", STORE_SCHEMA_VERSION);
	CHECK_STR(row, want);
	if (tsu_pg()) /* a row per version applied */
		CHECK_INT(tsu_value(spec, "SELECT count(*) FROM schema_version", NULL),
			  STORE_SCHEMA_VERSION);
}

#define SERVERS 4
#define EACH 20

struct balance {
	pthread_mutex_t mu;
	int n;
	long long seen[SERVERS * EACH]; /* how many were assigned when each choice was made */
};

/* The least filled group, after a pause that lets other servers choose
 * meanwhile if nothing keeps them from it. */
static int choose_least(void *user, const long long *counts, int n)
{
	struct balance *b = user;
	usleep(2000);
	pthread_mutex_lock(&b->mu);
	b->seen[b->n++] = counts[0] + counts[1];
	pthread_mutex_unlock(&b->mu);
	return counts[1] < counts[0] ? 1 : 0;
}

struct server {
	char spec[256];
	int index;
	struct balance *b;
	int failures;
};

static void *assign_groups(void *arg)
{
	struct server *v = arg;
	char err[256], user[32];
	struct store *s = store_open(v->spec, err, sizeof err);
	if (!s) {
		v->failures = EACH;
		return NULL;
	}
	for (int i = 0; i < EACH; i++) {
		struct store_participant p;
		bool created;
		int g;
		snprintf(user, sizeof user, "s%d-%d", v->index, i);
		if (store_participant_ensure(s, "G", user, NULL, &p, &created) < 0 ||
		    store_group_assign(s, p.id, "G", 2, choose_least, v->b, &g) < 0)
			v->failures++;
	}
	store_close(s);
	return NULL;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* Servers sharing a store assign groups one at a time per project: every
 * choice sees the counts of all the assignments before it (a balanced study
 * stays balanced exactly, whatever the number of servers). */
static void groups_are_assigned_exactly_across_servers(void)
{
	struct server v[SERVERS];
	pthread_t th[SERVERS];
	struct balance b = {.mu = PTHREAD_MUTEX_INITIALIZER};
	char spec[256], row[64];
	struct store *s = open_new("balance", spec, sizeof spec); /* the schema, made once */
	store_close(s);
	for (int i = 0; i < SERVERS; i++) {
		v[i] = (struct server){.index = i, .b = &b};
		snprintf(v[i].spec, sizeof v[i].spec, "%s", spec);
		pthread_create(&th[i], NULL, assign_groups, &v[i]);
	}
	for (int i = 0; i < SERVERS; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(v[i].failures, 0);
	}
	CHECK_INT(b.n, SERVERS * EACH);
	qsort(b.seen, (size_t)b.n, sizeof b.seen[0], cmp_ll);
	int stale = 0;
	for (int i = 0; i < b.n; i++)
		stale += b.seen[i] != i;
	CHECK_INT(stale, 0);
	CHECK_INT(tsu_sql(spec,
			  "SELECT sum(CASE WHEN grp = 0 THEN 1 ELSE 0 END),"
			  " sum(CASE WHEN grp = 1 THEN 1 ELSE 0 END) FROM groups",
			  NULL, row, sizeof row),
		  0);
	CHECK_STR(row, "40|40");
}

/* PostgreSQL: a connection the server dropped (a restart, a failover, an idle
 * timeout) is reset once, with a log line, and the call goes through. */
static void a_broken_connection_is_reset(void)
{
	if (!tsu_pg())
		return;
	char spec[256], *logged = NULL;
	size_t loglen = 0;
	FILE *logf = open_memstream(&logged, &loglen);
	log_set_stream(logf);
	struct store *s = open_new("reset", spec, sizeof spec);
	CHECK(s != NULL);
	if (!s)
		goto out;
	struct store_participant p;
	bool created;
	CHECK_INT(store_participant_ensure(s, "R", "u1", NULL, &p, &created), 0);
	const char *kill_others = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
				  " WHERE datname = current_database() AND pid <> pg_backend_pid()";
	/* the callers' and the batches' connections (the backend of an earlier
	 * check's own connection may still be going away: at least two) */
	CHECK(tsu_value(spec, kill_others, NULL) >= 2);
	usleep(100000);
	CHECK_INT(store_participant_get(s, "R", "u1", &p), 1);
	CHECK_INT(store_request_log(s, p.id, "GET", 1, NULL, NULL), 0);
	CHECK_INT(store_flush(s), 0);
	CHECK_INT(tsu_value(spec, "SELECT count(*) FROM requests", NULL), 1);

	CHECK(tsu_value(spec, kill_others, NULL) >= 2);
	usleep(100000);
	struct store_query q = {.project_id = "R"};
	struct seen k = {0};
	CHECK_INT(store_participants_each(s, &q, see_participant, &k), 0);
	CHECK_INT(k.n, 1);
	store_close(s);
out:
	log_set_stream(NULL);
	fclose(logf);
	CHECK(logged && strstr(logged, "the connection to PostgreSQL broke: reconnecting"));
	CHECK(logged && strstr(logged, "reconnected to PostgreSQL"));
	if (logged)
		printf("%s", logged);
	free(logged);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/hippo-test-store-iter-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	printf("backend: %s\n", tsu_backend());
	RUN(specs_name_the_backend);
	RUN(postgresql_urls_are_checked);
	RUN(passwords_are_masked);
	RUN(versions_are_described);
	RUN(iterators_read_every_row_in_order);
	RUN(projects_are_read_one_or_all);
	RUN(read_only_reads_beside_a_writer_and_writes_nothing);
	RUN(read_only_reads_version_1_without_migrating);
	RUN(read_only_reads_version_2_without_migrating);
	RUN(read_only_refuses_a_newer_schema);
	RUN(stores_opened_at_once_migrate_once);
	RUN(groups_are_assigned_exactly_across_servers);
	RUN(a_broken_connection_is_reset);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary();
}
