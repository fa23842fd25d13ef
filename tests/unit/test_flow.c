/* The study flow in-process: real handlers over http.h structs, a real
 * participant store (SQLite, or PostgreSQL with HIPPO_TEST_STORE:
 * store_under_test.h), and the real session manager of a server bound to a free port (no
 * HTTP traffic: the handlers are called directly). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/config.h"
#include "core/log.h"
#include "flow/admin.h"
#include "flow/flow.h"
#include "net/server.h"
#include "store/store.h"
#include "store_under_test.h"
#include "test.h"

static char tmp[64];
static char dbpath[256];
static const char *src_dir;

struct env {
	struct store *store;
	struct net_server *srv;
	struct sess_mgr *sess;
	struct flow *flow;
};

static struct env env;

static void env_open(void)
{
	char err[4096];
	env.store = store_open(dbpath, err, sizeof err);
	if (!env.store) {
		fprintf(stderr, "store: %s\n", err);
		exit(1);
	}
	store_sessions_close_all(env.store, "restart");
	struct net_config nc;
	net_config_defaults(&nc);
	nc.port = 0;
	nc.data_dir = tmp;
	nc.ws_path = "/ws";
	nc.handle_signals = false;
	env.srv = net_server_new(&nc, err, sizeof err);
	if (!env.srv) {
		fprintf(stderr, "server: %s\n", err);
		exit(1);
	}
	env.sess = net_server_sessions(env.srv);
	env.flow = flow_new(env.store, env.sess, tmp);
	sess_on_end(env.sess, flow_on_session_end, env.flow);
	char dir[512];
	snprintf(dir, sizeof dir, "%s/examples/cartpole", src_dir);
	if (flow_project_load(env.flow, dir, false, err, sizeof err) < 0) {
		fprintf(stderr, "project: %s\n", err);
		exit(1);
	}
}

static void env_close(void)
{
	net_server_free(env.srv);
	flow_free(env.flow);
	store_close(env.store);
	memset(&env, 0, sizeof env);
}

static const char *xff = "203.0.113.9";  /* the X-Forwarded-For of call() */
static char resp_headers[1024];           /* the extra headers of the last answer */

/* One request through the /next handler with the usual headers plus EXTRA
 * (NULL-terminated name, value pairs; may be NULL); returns the parsed body
 * (or a JSON string for non-JSON), the status in *STATUS. */
static json_t *call_with(const char *method, const char *query, const char *body,
			 const char *ctype, const char *const *extra, int *status)
{
	struct http_request req;
	struct http_response resp;
	http_response_init(&resp);
	http_request_init(&req, method, "/next", query, body);
	http_request_add_header(&req, "host", "study.example:8080");
	http_request_add_header(&req, "user-agent", "test-agent/1.0");
	http_request_add_header(&req, "x-forwarded-for", xff);
	if (ctype)
		http_request_add_header(&req, "content-type", ctype);
	for (size_t i = 0; extra && extra[i]; i += 2)
		http_request_add_header(&req, extra[i], extra[i + 1]);
	bool took = flow_http_handler(env.flow, &req, &resp);
	CHECK(took);
	*status = resp.status;
	json_t *j = resp.body ? json_loadb(resp.body, resp.body_len, JSON_DECODE_ANY, NULL) : NULL;
	/* Every answer of /next, refusals included, carries the original's CORS
	 * headers: the UI may be served from another origin. */
	const char *h = resp.extra_headers ? resp.extra_headers : "";
	CHECK(strstr(h, "Access-Control-Allow-Origin: *\r\n") != NULL);
	CHECK(strstr(h, "Access-Control-Allow-Headers: Content-Type\r\n") != NULL);
	CHECK(strstr(h, "Access-Control-Allow-Methods: OPTIONS, GET, POST\r\n") != NULL);
	snprintf(resp_headers, sizeof resp_headers, "%s", h);
	http_response_free(&resp);
	return j ? j : json_null();
}

static json_t *call(const char *method, const char *query, const char *body, const char *ctype,
		    int *status)
{
	return call_with(method, query, body, ctype, NULL, status);
}

static const char *page_of(json_t *j)
{
	const char *p = json_string_value(json_object_get(j, "page"));
	return p ? p : "";
}

static int step_of(json_t *j)
{
	return (int)json_integer_value(json_object_get(j, "step"));
}

static int count_participants(void)
{
	long long total = 0, completed = 0;
	json_decref(store_step_counts(env.store, "cartpole-demo", &total, &completed));
	return (int)total;
}

static void get_shows_current_step_and_never_advances(void)
{
	int st;
	json_t *a = call("GET", "projectId=cartpole-demo&userId=reload1", NULL, NULL, &st);
	CHECK_INT(st, 200);
	CHECK(strstr(page_of(a), "Consent") != NULL);
	CHECK_INT(step_of(a), 1);
	CHECK_INT(json_integer_value(json_object_get(a, "totalSteps")), 4);
	CHECK(json_is_null(json_object_get(a, "css")));
	for (int i = 0; i < 3; i++) {
		json_t *b = call("GET", "projectId=cartpole-demo&userId=reload1", NULL, NULL, &st);
		CHECK_STR(page_of(b), page_of(a));
		CHECK_INT(step_of(b), 1);
		json_decref(b);
	}
	json_decref(a);
}

static void whole_journey_with_game_stop_step_and_final(void)
{
	int st;
	const char *q = "projectId=cartpole-demo&userId=walker_1&PROLIFIC_PID=pp1";
	json_t *j = call("POST", q, "{\"consent\":\"yes\"}", "application/json", &st);
	CHECK_INT(st, 200);
	CHECK_INT(step_of(j), 2); /* instructions: startServerStep */
	CHECK(strstr(page_of(j), "Instructions") != NULL);
	json_decref(j);
	CHECK_INT(sess_get_state(env.sess, "cartpole-demo", "walker_1", NULL), SESS_READY);
	j = call("POST", q, "{}", "application/json", &st);
	CHECK_STR(page_of(j), "show_game_page");
	CHECK_STR(json_string_value(json_object_get(j, "server")), "ws://study.example:8080/ws");
	CHECK_INT(step_of(j), 3);
	json_decref(j);
	/* A reload and a POST on the game step change nothing. */
	j = call("POST", q, "{}", "application/json", &st);
	CHECK_STR(page_of(j), "show_game_page");
	json_decref(j);
	/* The trial ends (as maxEpisodes would): the participant moves on. */
	sess_stop(env.sess, "cartpole-demo", "walker_1", SESS_END_DONE);
	j = call("GET", q, NULL, NULL, &st);
	CHECK_INT(step_of(j), 4);
	CHECK(strstr(page_of(j), "<h1>A few questions</h1>") != NULL); /* survey.html */
	CHECK(strstr(page_of(j), "name=\"difficulty\"") != NULL);
	json_decref(j);
	j = call("POST", q, "{\"fun\":\"5\",\"comment\":\"<b>hi</b>\"}", "application/json", &st);
	CHECK_INT(step_of(j), 5); /* finalStep */
	CHECK(strstr(page_of(j), "<b>hi</b>") == NULL);
	json_t *again = call("GET", q, NULL, NULL, &st);
	CHECK_STR(page_of(again), page_of(j));
	json_decref(again);
	json_decref(j);

	struct store_participant p;
	CHECK_INT(store_participant_get(env.store, "cartpole-demo", "walker_1", &p), 1);
	CHECK_INT(p.status, STORE_COMPLETED);
	json_t *list = store_participants_json(env.store, "cartpole-demo");
	json_t *me = NULL, *v;
	size_t i;
	json_array_foreach(list, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "userId")), "walker_1"))
			me = v;
	CHECK(me != NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(me, "crowd"), "PROLIFIC_PID")),
		  "pp1");
	json_t *sessions = json_object_get(me, "sessions");
	CHECK_INT(json_array_size(sessions), 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(sessions, 0), "reason")), "done");
	bool html_verbatim = false;
	json_array_foreach(json_object_get(me, "answers"), i, v)
		if (!strcmp(json_string_value(json_object_get(v, "field")), "comment"))
			html_verbatim = !strcmp(json_string_value(json_object_get(v, "value")),
						"<b>hi</b>");
	CHECK(html_verbatim);
	json_decref(list);
}

static void stop_command_ends_the_game_and_moves_on(void)
{
	int st;
	const char *q = "projectId=cartpole-demo&userId=stopper";
	json_decref(call("POST", q, "{}", NULL, &st)); /* -> 2, allocated */
	json_decref(call("POST", q, "{}", NULL, &st)); /* -> 3, game */
	struct store_participant p;
	store_participant_get(env.store, "cartpole-demo", "stopper", &p);
	CHECK_INT(p.step, 3);
	sess_stop(env.sess, "cartpole-demo", "stopper", SESS_END_STOP);
	json_t *j = call("GET", q, NULL, NULL, &st);
	CHECK_INT(step_of(j), 4);
	json_decref(j);
	/* the ended session is forgotten; the store says why it ended */
	CHECK_INT(sess_get_state(env.sess, "cartpole-demo", "stopper", NULL), SESS_NONE);
	bool open = true;
	char reason[32] = "";
	CHECK_INT(store_session_last(env.store, p.id, &open, reason, sizeof reason), 1);
	CHECK(!open);
	CHECK_STR(reason, "stop");
}

/* A session released before its game was played (nobody connected in
 * time, its records could not be written, a shutdown): the participant
 * stays on the game step and their next /next starts a new session. */
static void released_session_is_allocated_again_never_skipped(void)
{
	const enum sess_end_reason why[] = {SESS_END_CONNECT_TIMEOUT, SESS_END_RECORD,
					    SESS_END_SHUTDOWN};
	for (size_t i = 0; i < sizeof why / sizeof why[0]; i++) {
		int st;
		char q[96];
		snprintf(q, sizeof q, "projectId=cartpole-demo&userId=released%zu", i);
		json_decref(call("POST", q, "{}", NULL, &st)); /* -> 2, allocated */
		json_t *j = call("POST", q, "{}", NULL, &st);  /* -> 3, the game */
		CHECK_STR(page_of(j), "show_game_page");
		json_decref(j);
		char user[32];
		snprintf(user, sizeof user, "released%zu", i);
		sess_stop(env.sess, "cartpole-demo", user, why[i]);
		struct store_participant p;
		store_participant_get(env.store, "cartpole-demo", user, &p);
		CHECK_INT(p.step, 3);
		bool open = true;
		char reason[32] = "";
		store_session_last(env.store, p.id, &open, reason, sizeof reason);
		CHECK(!open);
		CHECK_STR(reason, sess_end_reason_name(why[i]));
		j = call("GET", q, NULL, NULL, &st);
		CHECK_INT(st, 200);
		CHECK_STR(page_of(j), "show_game_page");
		CHECK_INT(step_of(j), 3);
		json_decref(j);
		CHECK_INT(sess_get_state(env.sess, "cartpole-demo", user, NULL), SESS_READY);
		store_session_last(env.store, p.id, &open, reason, sizeof reason);
		CHECK(open);
	}
	CHECK(!sess_end_name_final("connect_timeout") && !sess_end_name_final("record_error") &&
	      !sess_end_name_final("restart") && !sess_end_name_final("lost") &&
	      sess_end_name_final("grace") && sess_end_name_final("done"));
}

/* New sessions are limited per client address: the participant over the
 * limit gets 429 with Retry-After on the game step (and is neither moved
 * nor skipped); another address is not affected. Behind a trusted proxy
 * the address is X-Forwarded-For's last entry. */
static void allocations_are_rate_limited_per_client_address(void)
{
	int st;
	flow_set_trust_proxy(env.flow, true);
	sess_set_alloc_rate(env.sess, 2);
	xff = "192.0.2.1, 198.51.100.1";
	for (int i = 0; i < 3; i++) {
		char q[96];
		snprintf(q, sizeof q, "projectId=cartpole-demo&userId=limited%d", i);
		json_t *j = call("POST", q, "{}", NULL, &st); /* -> 2: allocation, or not */
		CHECK_INT(st, 200);
		CHECK_INT(step_of(j), 2);
		json_decref(j);
		j = call("POST", q, "{}", NULL, &st); /* -> 3, the game */
		if (i < 2) {
			CHECK_STR(page_of(j), "show_game_page");
		} else {
			CHECK_INT(st, 429);
			CHECK(strstr(json_string_value(json_object_get(j, "error")), "try again"));
			CHECK(strstr(resp_headers, "Retry-After: ") != NULL);
		}
		json_decref(j);
	}
	struct store_participant p;
	store_participant_get(env.store, "cartpole-demo", "limited2", &p);
	CHECK_INT(p.step, 3);
	CHECK_INT(sess_get_state(env.sess, "cartpole-demo", "limited2", NULL), SESS_NONE);
	json_t *j = call("GET", "projectId=cartpole-demo&userId=limited2", NULL, NULL, &st);
	CHECK_INT(st, 429); /* still limited, still on the game step */
	json_decref(j);
	xff = "198.51.100.2"; /* another client */
	j = call("GET", "projectId=cartpole-demo&userId=limited2", NULL, NULL, &st);
	CHECK_STR(page_of(j), "show_game_page");
	CHECK_INT(step_of(j), 3);
	json_decref(j);
	struct sess_stats ss;
	sess_stats(env.sess, &ss);
	CHECK(ss.refused_rate >= 2);
	/* without --trust-proxy the header is ignored: the peer (127.0.0.1) counts */
	flow_set_trust_proxy(env.flow, false);
	xff = "198.51.100.3";
	j = call("POST", "projectId=cartpole-demo&userId=limited3", "{}", NULL, &st);
	CHECK_INT(sess_get_state(env.sess, "cartpole-demo", "limited3", NULL), SESS_READY);
	json_decref(j);
	xff = "203.0.113.9";
	sess_set_alloc_rate(env.sess, 120);
}

static void max_runtime_end_is_recorded_and_moves_on(void)
{
	int st;
	const char *q = "projectId=cartpole-demo&userId=slowpoke";
	json_decref(call("POST", q, "{}", NULL, &st)); /* -> 2, allocated */
	sess_stop(env.sess, "cartpole-demo", "slowpoke", SESS_END_MAX_RUNTIME);
	json_decref(call("POST", q, "{}", NULL, &st)); /* -> 3: the game is over already */
	json_t *j = call("GET", q, NULL, NULL, &st);
	CHECK_INT(step_of(j), 4);
	json_decref(j);
	bool open = true;
	char reason[32] = "";
	struct store_participant p;
	store_participant_get(env.store, "cartpole-demo", "slowpoke", &p);
	CHECK_INT(store_session_last(env.store, p.id, &open, reason, sizeof reason), 1);
	CHECK(!open);
	CHECK_STR(reason, "max_runtime");
}

static void stale_step_post_does_not_advance(void)
{
	int st;
	json_t *j = call("POST", "projectId=cartpole-demo&userId=double1&step=1", "{}", NULL, &st);
	CHECK_INT(step_of(j), 2);
	json_decref(j);
	/* The same submit again (double click, resent form) */
	j = call("POST", "projectId=cartpole-demo&userId=double1&step=1", "{}", NULL, &st);
	CHECK_INT(st, 200);
	CHECK_INT(step_of(j), 2);
	json_decref(j);
}

static void bad_input_is_refused_and_changes_nothing(void)
{
	int st, before = count_participants();
	json_t *j;
	j = call("GET", "projectId=nope&userId=u", NULL, NULL, &st);
	CHECK_INT(st, 400);
	CHECK_STR(json_string_value(j), "Project ID Not Found");
	json_decref(j);
	j = call("GET", "projectId=cartpole-demo", NULL, NULL, &st);
	CHECK_INT(st, 400);
	CHECK_STR(json_string_value(j), "Project ID Not Found");
	json_decref(j);
	j = call("GET", "userId=x", NULL, NULL, &st);
	CHECK_STR(json_string_value(j), "Project ID Not Found");
	json_decref(j);
	const char *bad_queries[] = {
		"projectId=..%2F..%2Fetc&userId=u",
		"projectId=cartpole-demo&userId=..%2Fpasswd",
		"projectId=cartpole-demo&userId=a'%3B%20DROP%20TABLE%20participants%3B--",
		"projectId=cartpole-demo&userId=%zz",
		("projectId=cartpole-demo&userId="
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		"projectId=cartpole-demo&userId=u1&step=abc",
		"projectId=cartpole-demo&userId=u1&PROLIFIC_PID=%00",
	};
	for (size_t i = 0; i < sizeof bad_queries / sizeof bad_queries[0]; i++) {
		j = call("GET", bad_queries[i], NULL, NULL, &st);
		CHECK_INT(st, 400);
		CHECK(json_is_string(json_object_get(j, "error")));
		json_decref(j);
	}
	const char *q = "projectId=cartpole-demo&userId=badbody";
	const char *bodies[] = {"{\"a\":", "[1,2]", "\"x\"", "{\"a\":1,\"a\":2}", "{\"\":1}"};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		j = call("POST", q, bodies[i], "application/json", &st);
		CHECK_INT(st, 400);
		json_decref(j);
	}
	/* 10 000 fields */
	size_t cap = 10000 * 16 + 16, n = 0;
	char *big = malloc(cap);
	big[n++] = '{';
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(big + n, cap - n, "%s\"f%d\":\"v\"", i ? "," : "", i);
	big[n++] = '}';
	big[n] = '\0';
	j = call("POST", q, big, "application/json", &st);
	CHECK_INT(st, 400);
	json_decref(j);
	free(big);
	/* > 1 MB */
	big = malloc(FLOW_MAX_BODY + 100);
	memset(big, ' ', FLOW_MAX_BODY + 99);
	big[0] = '{';
	big[FLOW_MAX_BODY + 98] = '}';
	big[FLOW_MAX_BODY + 99] = '\0';
	j = call("POST", q, big, "application/json", &st);
	CHECK_INT(st, 413);
	json_decref(j);
	free(big);
	j = call("PUT", q, "{}", NULL, &st);
	CHECK_INT(st, 405);
	json_decref(j);
	j = call("DELETE", q, NULL, NULL, &st);
	CHECK_INT(st, 405);
	json_decref(j);
	j = call("OPTIONS", q, NULL, NULL, &st);
	CHECK_INT(st, 204);
	json_decref(j);
	CHECK_INT(count_participants(), before);
}

static void form_bodies_are_accepted(void)
{
	int st;
	const char *q = "projectId=cartpole-demo&userId=former";
	json_t *j = call("POST", q, "consent=yes&why=a+b%26c&c=1&c=2",
			 "application/x-www-form-urlencoded", &st);
	CHECK_INT(st, 200);
	CHECK_INT(step_of(j), 2);
	json_decref(j);
	json_t *list = store_participants_json(env.store, "cartpole-demo");
	json_t *v, *a;
	size_t i, k;
	int seen = 0;
	json_array_foreach(list, i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "userId")), "former"))
			continue;
		json_array_foreach(json_object_get(v, "answers"), k, a)
		{
			const char *f = json_string_value(json_object_get(a, "field"));
			const char *val = json_string_value(json_object_get(a, "value"));
			seen += !strcmp(f, "why") && !strcmp(val, "a b&c");
			seen += !strcmp(f, "c") && !strcmp(val, "[\"1\",\"2\"]");
		}
	}
	CHECK_INT(seen, 2);
	json_decref(list);
}

static void not_live_project_is_not_found(void)
{
	int st;
	CHECK_INT(flow_project_set_live(env.flow, "cartpole-demo", false), 0);
	json_t *j = call("GET", "projectId=cartpole-demo&userId=reload1", NULL, NULL, &st);
	CHECK_INT(st, 400);
	CHECK_STR(json_string_value(j), "Project ID Not Found");
	json_decref(j);
	CHECK_INT(flow_project_set_live(env.flow, "cartpole-demo", true), 0);
	j = call("GET", "projectId=cartpole-demo&userId=reload1", NULL, NULL, &st);
	CHECK_INT(st, 200);
	json_decref(j);
}

static void restart_continues_and_reallocates_the_game(void)
{
	int st;
	const char *q = "projectId=cartpole-demo&userId=restarter";
	json_decref(call("POST", q, "{}", NULL, &st));
	json_t *j = call("POST", q, "{}", NULL, &st);
	CHECK_STR(page_of(j), "show_game_page");
	json_decref(j);
	env_close();
	env_open();
	CHECK_INT(sess_get_state(env.sess, "cartpole-demo", "restarter", NULL), SESS_NONE);
	j = call("GET", q, NULL, NULL, &st);
	CHECK_INT(step_of(j), 3);
	CHECK_STR(page_of(j), "show_game_page");
	json_decref(j);
	CHECK_INT(sess_get_state(env.sess, "cartpole-demo", "restarter", NULL), SESS_READY);
	/* Earlier participants kept their steps. */
	struct store_participant p;
	CHECK_INT(store_participant_get(env.store, "cartpole-demo", "walker_1", &p), 1);
	CHECK_INT(p.step, 5);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		exit(1);
	fputs(text, f);
	fclose(f);
}

static void groups_see_their_variant(void)
{
	char dir[256], path[320], err[4096];
	snprintf(dir, sizeof dir, "%s/groups", tmp);
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/StepFiles", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/config.yml", dir);
	write_text(path, "project:\n  id: groups-test\n  name: G\n  events:\n"
			 "    startServerStep: null\n    stopServerStep: null\n"
			 "  steps:\n    1: intro.html\n    2: thanks.html\n"
			 "    finalStep: thanks.html\n"
			 "trial:\n  game: CartPole-v1\n");
	snprintf(path, sizeof path, "%s/StepFiles/intro-0.html", dir);
	write_text(path, "<p>variant zero</p>");
	snprintf(path, sizeof path, "%s/StepFiles/intro-1.html", dir);
	write_text(path, "<p>variant one</p>");
	snprintf(path, sizeof path, "%s/StepFiles/thanks.html", dir);
	write_text(path, "<p>You may exit now</p>");
	if (flow_project_load(env.flow, dir, false, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
		return;
	}
	int counts[2] = {0, 0};
	for (int u = 0; u < 6; u++) {
		char q[128];
		int st;
		snprintf(q, sizeof q, "projectId=groups-test&userId=g%d", u);
		json_t *j = call("GET", q, NULL, NULL, &st);
		int g = strstr(page_of(j), "variant one") ? 1 : 0;
		CHECK(strstr(page_of(j), "variant") != NULL);
		counts[g]++;
		for (int r = 0; r < 3; r++) {
			json_t *k = call("GET", q, NULL, NULL, &st);
			CHECK_STR(page_of(k), page_of(j));
			json_decref(k);
		}
		json_decref(j);
	}
	/* balanced: least-filled first, so 6 participants split 3/3 */
	CHECK_INT(counts[0], 3);
	CHECK_INT(counts[1], 3);
}

static void hash_groups_follow_the_original_bucketer(void)
{
	char dir[256], path[320], err[4096];
	snprintf(dir, sizeof dir, "%s/hashgroups", tmp);
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/StepFiles", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/config.yml", dir);
	write_text(path, "project:\n  id: hash-test\n  name: H\n  groupStrategy: hash\n"
			 "  events:\n    startServerStep: null\n    stopServerStep: null\n"
			 "  steps:\n    1: intro.html\n    finalStep: intro.html\n"
			 "trial:\n  game: CartPole-v1\n");
	const char *texts[3] = {"<p>v0</p>", "<p>v1</p>", "<p>v2</p>"};
	for (int g = 0; g < 3; g++) {
		snprintf(path, sizeof path, "%s/StepFiles/intro-%d.html", dir, g);
		write_text(path, texts[g]);
	}
	if (flow_project_load(env.flow, dir, false, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
		return;
	}
	const char *users[] = {"0a1b2c3d", "ffff", "e0", "not_hex_zz", "abc-123"};
	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
		char q[128];
		int st;
		snprintf(q, sizeof q, "projectId=hash-test&userId=%s", users[i]);
		json_t *j = call("GET", q, NULL, NULL, &st);
		int g = flow_group_hash(users[i], 3);
		CHECK(strstr(page_of(j), texts[g]) != NULL);
		json_decref(j);
	}
}

/* The stored request of USER (latest): its headers JSON and ip column. */
static void last_request(const char *user, char *headers, size_t hlen, char *ip, size_t iplen)
{
	char row[16384] = "";
	headers[0] = ip[0] = '\0';
	store_flush(env.store);
	tsu_sql(dbpath,
		"SELECT coalesce(r.ip, ''), coalesce(h.headers, '') FROM requests r"
		" JOIN participants p ON p.id = r.participant"
		" LEFT JOIN header_sets h ON h.id = r.header_set"
		" WHERE p.user_id = ?1 ORDER BY r.id DESC LIMIT 1",
		user, row, sizeof row);
	char *bar = strchr(row, '|');
	if (bar) {
		snprintf(ip, iplen, "%.*s", (int)(bar - row), row);
		snprintf(headers, hlen, "%s", bar + 1);
	}
}

static void requests_keep_headers_but_no_ip_unless_asked(void)
{
	char headers[1024], ip[64], dir[256], path[320], err[4096];
	int st;
	json_decref(call("GET", "projectId=cartpole-demo&userId=logged1", NULL, NULL, &st));
	last_request("logged1", headers, sizeof headers, ip, sizeof ip);
	CHECK(strstr(headers, "\"user-agent\":\"test-agent/1.0\"") != NULL);
	CHECK(strstr(headers, "203.0.113.9") == NULL);
	CHECK_STR(ip, "");

	snprintf(dir, sizeof dir, "%s/logip", tmp);
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/StepFiles", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/config.yml", dir);
	write_text(path, "project:\n  id: logip-test\n  name: L\n  logIp: true\n"
			 "  events:\n    startServerStep: null\n    stopServerStep: null\n"
			 "  steps:\n    1: a.html\n    finalStep: a.html\n"
			 "trial:\n  game: CartPole-v1\n");
	snprintf(path, sizeof path, "%s/StepFiles/a.html", dir);
	write_text(path, "<p>a</p>");
	if (flow_project_load(env.flow, dir, false, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
		return;
	}
	json_decref(call("GET", "projectId=logip-test&userId=logged2", NULL, NULL, &st));
	last_request("logged2", headers, sizeof headers, ip, sizeof ip);
	CHECK(strstr(headers, "203.0.113.9") != NULL);
	CHECK_STR(ip, "203.0.113.9");
}

/* One number from the database: the first column of SQL, ?1 bound to USER
 * (after the pending request records are committed); -1 on error. */
static long long db_value(const char *sql, const char *user)
{
	store_flush(env.store);
	return tsu_value(dbpath, sql, user);
}

#define OF_USER " JOIN participants p ON p.id = participant WHERE p.user_id = ?1"
#define REQUEST_ROWS "SELECT count(*) FROM requests" OF_USER
#define REQUESTS_SEEN "SELECT sum(1 + repeats) FROM requests" OF_USER
#define HEADER_SETS "SELECT count(*) FROM header_sets" OF_USER

static void repeated_requests_are_stored_once(void)
{
	int st;
	const char *q = "projectId=cartpole-demo&userId=reloader";
	for (int i = 0; i < 300; i++) {
		json_decref(call("GET", q, NULL, NULL, &st));
		if (i == 150)
			store_flush(env.store); /* half folded in memory, half in the table */
	}
	CHECK_INT(db_value(REQUEST_ROWS, "reloader"), 1);
	CHECK_INT(db_value(REQUESTS_SEEN, "reloader"), 300);
	CHECK_INT(db_value(HEADER_SETS, "reloader"), 1);
}

static void distinct_header_sets_are_bounded_per_participant(void)
{
	int st;
	char nonce[32];
	const char *extra[] = {"x-nonce", nonce, NULL};
	for (int i = 0; i < 40; i++) {
		snprintf(nonce, sizeof nonce, "n%d", i);
		json_decref(call_with("GET", "projectId=cartpole-demo&userId=nonces", NULL, NULL,
				      extra, &st));
	}
	CHECK_INT(db_value(HEADER_SETS, "nonces"), STORE_HEADER_SETS_MAX);
	CHECK_INT(db_value(REQUESTS_SEEN, "nonces"), 40);
	/* one row per stored set, then one for the requests whose set was not kept */
	CHECK_INT(db_value(REQUEST_ROWS, "nonces"), STORE_HEADER_SETS_MAX + 1);
}

static void request_rows_are_bounded_per_participant(void)
{
	int st;
	const char *a[] = {"x-tab", "a", NULL}, *b[] = {"x-tab", "b", NULL};
	int n = 2 * STORE_REQUESTS_MAX + 100;
	for (int i = 0; i < n; i++)
		json_decref(call_with("GET", "projectId=cartpole-demo&userId=flipper", NULL, NULL,
				      i % 2 ? b : a, &st));
	CHECK_INT(db_value(REQUEST_ROWS, "flipper"), STORE_REQUESTS_MAX);
	CHECK_INT(db_value(REQUESTS_SEEN, "flipper"), n);
	CHECK_INT(db_value(HEADER_SETS, "flipper"), 2);
}

static void huge_headers_are_cut_to_bounds(void)
{
	static char pad[2001], utf8[802];
	static char names[28][16];
	const char *extra[2 * 29 + 1];
	int k = 0, st;
	memset(pad, 'a', 2000);
	utf8[0] = 'a';
	for (int i = 0; i < 400; i++)
		memcpy(utf8 + 1 + 2 * i, "\xc3\xa9", 2); /* é */
	extra[k++] = "x-utf8";
	extra[k++] = utf8;
	for (int i = 0; i < 28; i++) {
		snprintf(names[i], sizeof names[i], "x-pad-%02d", i);
		extra[k++] = names[i];
		extra[k++] = pad;
	}
	extra[k] = NULL;
	json_decref(call_with("GET", "projectId=cartpole-demo&userId=bighead", NULL, NULL, extra,
			      &st));
	CHECK_INT(st, 200);
	char headers[8192], ip[64];
	last_request("bighead", headers, sizeof headers, ip, sizeof ip);
	CHECK(strlen(headers) > 1000);
	CHECK(strlen(headers) <= STORE_HEADERS_MAX);
	json_t *h = json_loads(headers, 0, NULL);
	CHECK(json_is_object(h));
	CHECK_STR(json_string_value(json_object_get(h, "user-agent")), "test-agent/1.0");
	/* cut at a character boundary: 'a' + 255 x 2 bytes */
	CHECK_INT(json_string_length(json_object_get(h, "x-utf8")), 511);
	CHECK_INT(json_string_length(json_object_get(h, "x-pad-00")), 512);
	int omitted = (int)json_integer_value(json_object_get(h, "(omitted)"));
	CHECK(omitted > 0);
	CHECK_INT(json_object_size(h), 3 + 28 - omitted + 1); /* host, user-agent, utf8, pads */
	json_decref(h);
}

static void final_step_answers_are_stored_once(void)
{
	char dir[256], path[320], err[4096];
	snprintf(dir, sizeof dir, "%s/finalform", tmp);
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/StepFiles", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/config.yml", dir);
	write_text(path, "project:\n  id: final-test\n  name: F\n"
			 "  events:\n    startServerStep: null\n    stopServerStep: null\n"
			 "  steps:\n    1: a.html\n    finalStep: b.html\n"
			 "trial:\n  game: CartPole-v1\n");
	snprintf(path, sizeof path, "%s/StepFiles/a.html", dir);
	write_text(path, "<p>first</p>");
	snprintf(path, sizeof path, "%s/StepFiles/b.html", dir);
	write_text(path, "<p>thanks</p><textarea name=comment></textarea>");
	if (flow_project_load(env.flow, dir, false, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
		return;
	}
	int st;
	const char *q = "projectId=final-test&userId=finisher";
	json_t *j = call("POST", q, "{\"a\":\"1\"}", "application/json", &st);
	CHECK_INT(step_of(j), 2);
	json_decref(j);
	for (int i = 0; i < 20; i++) {
		char body[64];
		snprintf(body, sizeof body, "{\"comment\":\"take %d\"}", i);
		j = call("POST", i % 2 ? "projectId=final-test&userId=finisher&step=2" : q, body,
			 "application/json", &st);
		CHECK_INT(st, 200);
		CHECK_INT(step_of(j), 2);
		CHECK(strstr(page_of(j), "thanks") != NULL);
		json_decref(j);
	}
	CHECK_INT(db_value("SELECT count(*) FROM answers" OF_USER " AND answers.step = 2",
			   "finisher"),
		  1);
	CHECK_INT(db_value("SELECT value = 'take 0' FROM answers" OF_USER " AND answers.step = 2",
			   "finisher"),
		  1);
	CHECK_INT(db_value("SELECT count(*) FROM answers" OF_USER " AND answers.step = 1",
			   "finisher"),
		  1);
	struct store_participant p;
	CHECK_INT(store_participant_get(env.store, "final-test", "finisher", &p), 1);
	CHECK_INT(p.step, 2);
	CHECK_INT(p.status, STORE_COMPLETED);
}

/* The SHA-256 of TEXT in lowercase hex, into OUT (65 bytes). */
static void sha256_hex(const char *text, char *out)
{
	unsigned char md[32];
	EVP_Digest(text, strlen(text), md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The stored answers and passes of PROJECT as "a:USER:STEP:FIELD:HASH:VERSION"
 * and "p:USER:STEP:HASH:VERSION" lines. */
static int add_answer_line(void *user, const struct store_answer_row *r)
{
	char line[256];
	snprintf(line, sizeof line, "a:%s:%d:%s:%s:%d\n", r->user_id, r->step, r->field,
		 r->page_hash ? r->page_hash : "-", r->project_version);
	strncat(user, line, 4095 - strlen(user));
	return 0;
}

static int add_pass_line(void *user, const struct store_pass_row *r)
{
	char line[256];
	snprintf(line, sizeof line, "p:%s:%d:%s:%d\n", r->user_id, r->step,
		 r->page_hash ? r->page_hash : "-", r->project_version);
	strncat(user, line, 4095 - strlen(user));
	return 0;
}

static void page_versions_of(const char *project, char *out)
{
	struct store_query q = {.project_id = project, .order = STORE_ORDER_ID};
	out[0] = '\0';
	CHECK_INT(store_answers_each(env.store, &q, add_answer_line, out), 0);
	CHECK_INT(store_passes_each(env.store, &q, add_pass_line, out), 0);
}

/* Each page answered or passed is recorded with the hash of the file shown
 * (the group's variant) and the project's version; a redeploy with another
 * consent text gives another hash and version; a POST naming the page
 * version it answers (pageHash) after a redeploy changed that page stores
 * nothing and shows the new text. */
static void page_versions_are_recorded(void)
{
	char dir[256], path[320], err[4096];
	snprintf(dir, sizeof dir, "%s/pages", tmp);
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/StepFiles", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/config.yml", dir);
	write_text(path, "project:\n  id: pages-test\n  name: P\n"
			 "  events:\n    startServerStep: null\n    stopServerStep: null\n"
			 "  steps:\n    1: consent.html\n    2: question.html\n"
			 "    finalStep: thanks.html\n"
			 "trial:\n  game: CartPole-v1\n");
	const char *consent_a = "<p>Consent A</p><input name=consent>",
		   *consent_b = "<p>Consent B</p><input name=consent>",
		   *variants[2] = {"<p>question zero</p>", "<p>question one</p>"};
	char hash_a[65], hash_b[65], hash_q[2][65];
	sha256_hex(consent_a, hash_a);
	sha256_hex(consent_b, hash_b);
	snprintf(path, sizeof path, "%s/StepFiles/consent.html", dir);
	write_text(path, consent_a);
	for (int g = 0; g < 2; g++) {
		sha256_hex(variants[g], hash_q[g]);
		snprintf(path, sizeof path, "%s/StepFiles/question-%d.html", dir, g);
		write_text(path, variants[g]);
	}
	snprintf(path, sizeof path, "%s/StepFiles/thanks.html", dir);
	write_text(path, "<p>You may exit now</p>");
	if (flow_project_load(env.flow, dir, true, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
		return;
	}
	int st;
	char q[160];
	json_t *j = call("GET", "projectId=pages-test&userId=pv1", NULL, NULL, &st);
	CHECK_STR(json_string_value(json_object_get(j, "pageHash")), hash_a);
	json_decref(j);
	snprintf(q, sizeof q, "projectId=pages-test&userId=pv1&pageHash=%s", hash_a);
	j = call("POST", q, "{\"consent\":\"yes\"}", "application/json", &st);
	CHECK_INT(step_of(j), 2);
	int g = strstr(page_of(j), "question one") ? 1 : 0;
	CHECK_STR(json_string_value(json_object_get(j, "pageHash")), hash_q[g]);
	json_decref(j);
	j = call("POST", "projectId=pages-test&userId=pv1", "{\"q\":\"4\"}", "application/json",
		 &st);
	CHECK_INT(step_of(j), 3);
	json_decref(j);

	/* pv2 is shown consent A, then the study is redeployed with consent B */
	j = call("GET", "projectId=pages-test&userId=pv2", NULL, NULL, &st);
	CHECK(strstr(page_of(j), "Consent A") != NULL);
	json_decref(j);
	snprintf(path, sizeof path, "%s/StepFiles/consent.html", dir);
	write_text(path, consent_b);
	if (flow_project_load(env.flow, dir, true, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
		return;
	}
	snprintf(q, sizeof q, "projectId=pages-test&userId=pv2&pageHash=%s", hash_a);
	j = call("POST", q, "{\"consent\":\"yes\"}", "application/json", &st);
	CHECK_INT(st, 200);
	CHECK_INT(step_of(j), 1); /* answered consent A: nothing stored, consent B shown */
	CHECK(strstr(page_of(j), "Consent B") != NULL);
	CHECK_STR(json_string_value(json_object_get(j, "pageHash")), hash_b);
	json_decref(j);
	const char *bad[] = {"abc", "zz", "%00", hash_a + 1};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(q, sizeof q, "projectId=pages-test&userId=pv2&pageHash=%s", bad[i]);
		j = call("POST", q, "{\"consent\":\"yes\"}", "application/json", &st);
		CHECK_INT(st, 400);
		json_decref(j);
	}
	for (char *c = hash_b; *c; c++) /* hex digits in capitals are the same hash */
		*c = *c >= 'a' && *c <= 'f' ? (char)(*c - 'a' + 'A') : *c;
	snprintf(q, sizeof q, "projectId=pages-test&userId=pv2&pageHash=%s", hash_b);
	sha256_hex(consent_b, hash_b);
	j = call("POST", q, "{\"consent\":\"yes\"}", "application/json", &st);
	CHECK_INT(step_of(j), 2);
	json_decref(j);

	char got[4096], want[4096];
	page_versions_of("pages-test", got);
	snprintf(want, sizeof want,
		 "a:pv1:1:consent:%s:1\na:pv1:2:q:%s:1\na:pv2:1:consent:%s:2\n"
		 "p:pv1:1:%s:1\np:pv1:2:%s:1\np:pv2:1:%s:2\n",
		 hash_a, hash_q[g], hash_b, hash_a, hash_q[g], hash_b);
	CHECK_STR(got, want);
}

static void stop_step_ends_the_session(void)
{
	char dir[256], path[320], err[4096];
	snprintf(dir, sizeof dir, "%s/stopstep", tmp);
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/StepFiles", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/config.yml", dir);
	write_text(path, "project:\n  id: stopstep-test\n  name: S\n  events:\n"
			 "    startServerStep: 1\n    stopServerStep: 2\n"
			 "  steps:\n    1: a.html\n    2: b.html\n"
			 "    finalStep: b.html\n"
			 "trial:\n  game: CartPole-v1\n");
	snprintf(path, sizeof path, "%s/StepFiles/a.html", dir);
	write_text(path, "<p>a</p>");
	snprintf(path, sizeof path, "%s/StepFiles/b.html", dir);
	write_text(path, "<p>b</p>");
	if (flow_project_load(env.flow, dir, false, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
		return;
	}
	int st;
	json_decref(call("GET", "projectId=stopstep-test&userId=s1", NULL, NULL, &st));
	CHECK_INT(sess_get_state(env.sess, "stopstep-test", "s1", NULL), SESS_READY);
	json_decref(call("POST", "projectId=stopstep-test&userId=s1", "{}", NULL, &st));
	CHECK_INT(sess_get_state(env.sess, "stopstep-test", "s1", NULL), SESS_NONE);
	struct store_participant p;
	store_participant_get(env.store, "stopstep-test", "s1", &p);
	bool open = true;
	char reason[32] = "";
	CHECK_INT(store_session_last(env.store, p.id, &open, reason, sizeof reason), 1);
	CHECK(!open);
	CHECK_STR(reason, "stop_step");
}

int main(void)
{
	src_dir = getenv("HIPPO_SRC");
	if (!src_dir)
		src_dir = "../..";
	log_set_level(LOG_WARN);
	snprintf(tmp, sizeof tmp, "/tmp/hippo-test-flow-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	if (tsu_new(dbpath, sizeof dbpath, tmp, "hippo") < 0)
		return 1;
	printf("backend: %s\n", tsu_backend());
	env_open();
	RUN(get_shows_current_step_and_never_advances);
	RUN(whole_journey_with_game_stop_step_and_final);
	RUN(stop_command_ends_the_game_and_moves_on);
	RUN(released_session_is_allocated_again_never_skipped);
	RUN(allocations_are_rate_limited_per_client_address);
	RUN(max_runtime_end_is_recorded_and_moves_on);
	RUN(stop_step_ends_the_session);
	RUN(stale_step_post_does_not_advance);
	RUN(bad_input_is_refused_and_changes_nothing);
	RUN(form_bodies_are_accepted);
	RUN(not_live_project_is_not_found);
	RUN(groups_see_their_variant);
	RUN(requests_keep_headers_but_no_ip_unless_asked);
	RUN(repeated_requests_are_stored_once);
	RUN(distinct_header_sets_are_bounded_per_participant);
	RUN(request_rows_are_bounded_per_participant);
	RUN(huge_headers_are_cut_to_bounds);
	RUN(final_step_answers_are_stored_once);
	RUN(page_versions_are_recorded);
	RUN(hash_groups_follow_the_original_bucketer);
	RUN(restart_continues_and_reallocates_the_game);
	env_close();
	admin_rmtree(tmp);
	return test_summary();
}
