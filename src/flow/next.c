/* next: the /next handler (shared/SPEC.md §2) and the session events of the
 * flow. Every check on untrusted input happens before the store is touched, so
 * a rejected request changes nothing stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/id.h"
#include "core/log.h"
#include "flow/flow_int.h"
#include "store/store.h"

#define NOT_FOUND_BODY "\"Project ID Not Found\""

/* Crowd-platform ids the participant UI forwards as query parameters. */
static const char *const crowd_keys[] = {
	"PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "workerId", "assignmentId", "hitId",
};
#define CROWD_VALUE_MAX 256
#define HEADER_VALUE_MAX 512 /* bytes of one stored request header value */

/* Headers never stored: credentials, and addresses unless the project logs IPs. */
static bool header_secret(const char *name)
{
	return strcasecmp(name, "authorization") == 0 || strcasecmp(name, "cookie") == 0 ||
	       strcasecmp(name, "proxy-authorization") == 0;
}

static bool header_ip(const char *name)
{
	return strcasecmp(name, "x-forwarded-for") == 0 || strcasecmp(name, "x-real-ip") == 0 ||
	       strcasecmp(name, "forwarded") == 0 || strcasecmp(name, "cf-connecting-ip") == 0;
}

static void respond_not_found(struct http_response *resp)
{
	char *b = strdup(NOT_FOUND_BODY);
	http_response_set_body(resp, 400, "application/json", b, b ? strlen(b) : 0);
}

static void add_cors(struct http_response *resp)
{
	http_add_header(resp, "Access-Control-Allow-Origin", "*");
	http_add_header(resp, "Access-Control-Allow-Headers", "Content-Type");
	http_add_header(resp, "Access-Control-Allow-Methods", "OPTIONS, GET, POST");
	http_add_header(resp, "Cache-Control", "no-store");
}

void flow_set_trust_proxy(struct flow *f, bool trust)
{
	f->trust_proxy = trust;
}

/* The address a request came from, for the allocation limit: the socket's
 * peer; behind a trusted proxy, the last X-Forwarded-For entry (the address
 * the proxy itself saw). */
const char *flow__client_of(const struct flow *f, const struct http_request *req, char *buf,
			    size_t len)
{
	const char *xff = f->trust_proxy ? http_header_get(req, "x-forwarded-for") : NULL;
	return http_client_addr(xff, req->remote_ip, buf, len);
}

/* Allocates the participant's game session for a request from REQ's client
 * and records it. Returns what sess_allocate said (*RETRY_S: when limited). */
static enum sess_alloc session_allocate(struct flow *f, struct flow__project *p,
					const struct store_participant *part,
					const struct http_request *req, int *retry_s)
{
	char err[256] = "", cbuf[64];
	if (!f->sess)
		return SESS_ALLOC_ERROR;
	const char *client = flow__client_of(f, req, cbuf, sizeof cbuf);
	int64_t t0 = clock_mono_ns();
	enum sess_alloc rc =
		sess_allocate(f->sess, p->cfg, part->user_id, client, retry_s, err, sizeof err);
	if (rc == SESS_ALLOC_FULL || rc == SESS_ALLOC_LIMITED) {
		/* counted in /metrics; one line each would let a flood fill the log */
		log_debug("flow", "session not allocated", "project=%s user=%s client=%s error=\"%s\"",
			  part->project_id, part->user_id, client, err);
		return rc;
	}
	if (rc != SESS_ALLOC_OK) {
		log_error("flow", "session allocation failed", "project=%s user=%s error=\"%s\"",
			  part->project_id, part->user_id, err);
		return rc;
	}
	int64_t t1 = clock_mono_ns();
	if (store_session_start(f->store, part->id, part->step) < 0)
		log_error("flow", "store", "error=\"%s\"", store_errmsg(f->store));
	log_info("flow", "session allocated", "project=%s user=%s step=%d ms=%.3f",
		 part->project_id, part->user_id, part->step, (double)(t1 - t0) / 1e6);
	return rc;
}

/* Runs the events of the step the participant just reached. An allocation
 * refused here is made again on the game step. */
static void enter_step(struct flow *f, struct flow__project *p,
		       const struct store_participant *part, const struct http_request *req)
{
	const struct cfg_project *c = &p->cfg->project;
	struct store_placement pl;
	if (c->start_server_step > 0 && part->step == c->start_server_step) {
		if (f->node[0])
			flow__node_place(f, part, req, 0, &pl, NULL); /* several nodes: placed.c */
		else
			session_allocate(f, p, part, req, NULL);
	}
	if (c->stop_server_step > 0 && part->step == c->stop_server_step && f->sess)
		sess_stop(f->sess, part->project_id, part->user_id, SESS_END_STOP_STEP);
	if (c->stop_server_step > 0 && part->step == c->stop_server_step && f->node[0])
		store_session_stop(f->store, part->id, "stop_step"); /* on another node */
}

/* Tells the hook that the participant's stored record changed. */
static void changed(struct flow *f, const struct flow__project *p, const char *project_id,
		    const char *user_id)
{
	if (f->hooks.participant_changed)
		f->hooks.participant_changed(f->hooks.user, p->cfg, project_id, user_id);
}

/* Builds "ws[s]://HOST/ws" from the request, or returns false when the Host
 * header is missing or holds anything but a host[:port]. */
static bool server_url(const struct http_request *req, bool secure, char *out, size_t len)
{
	const char *host = http_header_get(req, "host");
	if (!host || !host[0] || strlen(host) > 255)
		return false;
	for (const char *c = host; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr(".-:[]_", *c)))
			return false;
	const char *proto = http_header_get(req, "x-forwarded-proto");
	bool tls = secure || (proto && strcasecmp(proto, "https") == 0);
	snprintf(out, len, "%s://%s/ws", tls ? "wss" : "ws", host);
	return true;
}

static void respond_page(struct http_response *resp, const struct flow__page *page, int step,
			 int total)
{
	char tail[192];
	int tl = snprintf(tail, sizeof tail,
			  ",\"css\":null,\"step\":%d,\"totalSteps\":%d,\"pageHash\":\"%s\"}", step,
			  total, page->hash);
	size_t len = 8 + page->len + (size_t)tl;
	char *b = malloc(len + 1);
	if (!b) {
		http_respond_error(resp, 500, "out of memory");
		return;
	}
	memcpy(b, "{\"page\":", 8);
	memcpy(b + 8, page->json, page->len);
	memcpy(b + 8 + page->len, tail, (size_t)tl + 1);
	http_response_set_body(resp, 200, "application/json", b, len);
}

/* The page step S shows the participant: its group's variant, or its one page. */
static const struct flow__page *page_of(struct flow *f, const struct flow__project *p,
					const struct store_participant *part,
					const struct flow__step *s)
{
	int g = s->nvariants > 0 ? flow__group_of(f, p, part, s->nvariants) : 0;
	return &s->pages[g >= 0 && g < s->nvariants ? g : 0];
}

/* True when the participant's last session ended for good (not by a shutdown,
 * a restart, a connect timeout or a record error, after which it is allocated
 * again). */
static bool session_over(struct flow *f, const struct store_participant *part)
{
	bool open = false;
	char reason[32];
	if (store_session_last(f->store, part->id, &open, reason, sizeof reason) != 1 || open)
		return false;
	return sess_end_name_final(reason);
}

/* The answer for a game step: wait / show_game_page, allocating the session
 * when there is none. Returns 1 when the game is over and the participant was
 * moved past it (the caller shows the next step), 0 when RESP is set. */
static int respond_game(struct flow *f, struct flow__project *p, struct store_participant *part,
			const struct http_request *req, struct http_response *resp)
{
	enum sess_end_reason reason = SESS_END_NONE;
	if (f->node[0])
		return flow__node_game(f, p, part, req, resp); /* several nodes: placed.c */
	if (!f->sess) {
		http_respond_error(resp, 503, "game sessions are not available on this server");
		return 0;
	}
	enum sess_state st = sess_get_state(f->sess, part->project_id, part->user_id, &reason);
	/* A session that ended for good is still in its end callback
	 * (flow_on_session_end): that stores the end with its files and moves the
	 * participant on. Until it has, the page waits, so the step after the
	 * game never shows before the session's record is complete. */
	bool ending = st == SESS_ENDED && sess_end_name_final(sess_end_reason_name(reason));
	if (!ending && st == SESS_NONE && session_over(f, part)) {
		int next = flow__step_next(p, part->step);
		struct store_page game = {.version = p->version};
		if (store_advance_page(f->store, part->id, part->step, next, NULL,
				       next >= p->final.number, &game) < 0)
			log_error("flow", "store", "error=\"%s\"", store_errmsg(f->store));
		store_participant_get(f->store, part->project_id, part->user_id, part);
		return 1;
	}
	if (!ending && (st == SESS_NONE || st == SESS_ENDED)) {
		/* Reached the game without a session (no startServerStep, or a restart). */
		bool open = false;
		char r[32];
		if (store_session_last(f->store, part->id, &open, r, sizeof r) == 1 && open)
			store_session_end(f->store, part->id, "lost", NULL);
		int retry = 1;
		enum sess_alloc a = session_allocate(f, p, part, req, &retry);
		if (a == SESS_ALLOC_LIMITED) {
			char ra[16];
			snprintf(ra, sizeof ra, "%d", retry);
			http_add_header(resp, "Retry-After", ra);
			http_respond_error(resp, 429,
					   "too many new games from your network address: please "
					   "try again in a moment");
			return 0;
		}
		if (a == SESS_ALLOC_ERROR) {
			http_respond_error(resp, 503,
					   "the game could not be started on the server: please "
					   "try again in a moment");
			return 0;
		}
		if (a == SESS_ALLOC_FULL) {
			http_respond_json(
				resp, 200,
				json_pack("{s:s,s:i,s:i,s:s}", "page", "wait", "step", part->step,
					  "totalSteps", (int)p->nsteps, "message",
					  "The game server is busy. You will be let in as soon as "
					  "a place frees up."));
			return 0;
		}
		st = sess_get_state(f->sess, part->project_id, part->user_id, &reason);
	}
	json_t *j;
	char url[300];
	int total = (int)p->nsteps;
	if (st == SESS_READY || st == SESS_RUNNING || st == SESS_PAUSED) {
		j = json_pack("{s:s,s:i,s:i}", "page", "show_game_page", "step", part->step,
			      "totalSteps", total);
		if (server_url(req, f->secure, url, sizeof url))
			json_object_set_new(j, "server", json_string(url));
	} else {
		j = json_pack("{s:s,s:i,s:i}", "page", "wait", "step", part->step, "totalSteps",
			      total);
	}
	http_respond_json(resp, 200, j);
	return 0;
}

/* An upper bound of the bytes S (N bytes) takes as a JSON string. */
static size_t json_len_max(const char *s, size_t n)
{
	size_t len = 2;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		len += c < 0x20 ? 6 : c == '"' || c == '\\' ? 2 : 1;
	}
	return len;
}

/* Copies V (N bytes, N <= HEADER_VALUE_MAX) to OUT with the value of every
 * "preview=" parameter replaced by "masked" (a study's preview link in a
 * Referer: the token lets anyone who has it make preview participants).
 * Returns the length written. */
static size_t mask_preview(const char *v, size_t n, char out[HEADER_VALUE_MAX + 16])
{
	static const char key[] = "preview=", mask[] = "masked";
	size_t o = 0, i = 0;
	while (i < n) {
		bool at = n - i >= sizeof key - 1 && memcmp(v + i, key, sizeof key - 1) == 0 &&
			  (i == 0 || v[i - 1] == '?' || v[i - 1] == '&' || v[i - 1] == '#');
		if (!at) {
			out[o++] = v[i++];
			continue;
		}
		memcpy(out + o, key, sizeof key - 1);
		o += sizeof key - 1;
		i += sizeof key - 1;
		size_t t = i;
		while (i < n && v[i] != '&' && v[i] != '#')
			i++;
		if (i > t) { /* "masked" is no longer than a token worth masking */
			size_t m = i - t < sizeof mask - 1 ? i - t : sizeof mask - 1;
			memcpy(out + o, mask, m);
			o += m;
		}
	}
	return o;
}

/* Logs the request with the headers the original kept, within bounds: each
 * value cut to HEADER_VALUE_MAX bytes (at a UTF-8 character boundary), the
 * whole set within STORE_HEADERS_MAX bytes of JSON; headers that do not fit
 * are left out and counted in "(omitted)" (not a header name: '(' is not a
 * token character). Values that are not UTF-8 are left out, as before; a
 * preview link's token is masked (mask_preview). */
static void log_request(struct flow *f, struct flow__project *p, long long pid,
			const struct http_request *req, int step)
{
	bool log_ip = p->cfg->project.log_ip;
	json_t *h = json_object();
	size_t room = STORE_HEADERS_MAX - sizeof "{,\"(omitted)\":99}", used = 0;
	int omitted = 0;
	for (size_t i = 0; i < req->nheaders && i < HTTP_MAX_HEADERS; i++) {
		const struct http_header *hd = &req->headers[i];
		if (!hd->name || !hd->value || header_secret(hd->name) ||
		    (!log_ip && header_ip(hd->name)))
			continue;
		size_t n = strlen(hd->value);
		if (n > HEADER_VALUE_MAX) {
			n = HEADER_VALUE_MAX;
			while (n > 0 && ((unsigned char)hd->value[n] & 0xc0) == 0x80)
				n--;
		}
		char masked[HEADER_VALUE_MAX + 16];
		const char *value = hd->value;
		if (strstr(hd->value, "preview=")) {
			n = mask_preview(hd->value, n, masked);
			value = masked;
		}
		size_t len = json_len_max(hd->name, strlen(hd->name)) + 2 +
			     json_len_max(value, n);
		if (used + len > room) {
			omitted++;
			continue;
		}
		json_t *v = json_stringn(value, n);
		if (v) {
			json_object_set_new(h, hd->name, v);
			used += len;
		}
	}
	if (omitted)
		json_object_set_new(h, "(omitted)", json_integer(omitted));
	char *text = json_dumps(h, JSON_COMPACT);
	json_decref(h);
	const char *ip = NULL;
	if (log_ip) {
		ip = http_header_get(req, "x-forwarded-for");
		if (!ip)
			ip = req->remote_ip;
	}
	if (store_request_log(f->store, pid, req->method, step, text, ip) < 0)
		log_error("flow", "store", "error=\"%s\"", store_errmsg(f->store));
	free(text);
}

/* Reads an id parameter: 1 ok, 0 absent, -1 malformed (RESP set). */
static int read_id(const struct http_request *req, const char *key, char *out, size_t len,
		   bool (*valid)(const char *), const char *rule, struct http_response *resp)
{
	int rc = http_query_get(req->query, key, out, len);
	if (rc == -1 || rc == 0)
		return 0;
	if (rc < 0 || !valid(out)) {
		char msg[160];
		snprintf(msg, sizeof msg, "invalid %s: expected %s", key, rule);
		http_respond_error(resp, 400, msg);
		return -1;
	}
	return 1;
}

/* Crowd ids from the query: a JSON object, or NULL with RESP set on a bad value. */
static json_t *read_crowd(const struct http_request *req, struct http_response *resp)
{
	json_t *crowd = json_object();
	for (size_t i = 0; i < sizeof crowd_keys / sizeof crowd_keys[0]; i++) {
		char v[CROWD_VALUE_MAX + 1];
		int rc = http_query_get(req->query, crowd_keys[i], v, sizeof v);
		if (rc == -1)
			continue;
		json_t *s = rc >= 0 ? json_string(v) : NULL;
		if (!s) {
			char msg[128];
			snprintf(msg, sizeof msg, "invalid %s: malformed or longer than %d bytes",
				 crowd_keys[i], CROWD_VALUE_MAX);
			http_respond_error(resp, 400, msg);
			json_decref(crowd);
			return NULL;
		}
		json_object_set_new(crowd, crowd_keys[i], s);
	}
	return crowd;
}

/* Whether H is a page hash (STORE_PAGE_HASH_LEN hex digits), lowercased in place. */
static bool page_hash_read(char *h)
{
	if (strlen(h) != STORE_PAGE_HASH_LEN || strspn(h, "0123456789abcdefABCDEF") != strlen(h))
		return false;
	for (char *c = h; *c; c++)
		if (*c >= 'A' && *c <= 'F')
			*c = (char)(*c - 'A' + 'a');
	return true;
}

/* The whole GET/POST logic once the method and path are known. */
static void handle_next(struct flow *f, const struct http_request *req, bool post,
			struct http_response *resp)
{
	char pid[80], uid[80], stepq[16], pageq[STORE_PAGE_HASH_LEN + 2] = "";
	json_t *answers = NULL, *crowd = NULL;
	struct store_participant part;
	bool created = false, dirty = false;
	int expect_step = 0;
	struct flow__project *p = NULL;

	int rc = read_id(req, "projectId", pid, sizeof pid, id_valid_project, ID_PROJECT_RULE,
		     resp);
	if (rc < 0)
		return;
	if (rc == 0) {
		respond_not_found(resp);
		return;
	}
	rc = read_id(req, "userId", uid, sizeof uid, id_valid_user, ID_USER_RULE, resp);
	if (rc < 0)
		return;
	if (rc == 0) {
		respond_not_found(resp);
		return;
	}
	p = flow__project_get(f, pid);
	if (!p || !flow__project_live(f, p)) {
		respond_not_found(resp);
		return;
	}
	rc = http_query_get(req->query, "step", stepq, sizeof stepq);
	if (rc >= 0) {
		char *end;
		long v = strtol(stepq, &end, 10);
		if (rc == 0 || *end || v < 1 || v > 1000000) {
			http_respond_error(resp, 400, "invalid step: expected a step number");
			return;
		}
		expect_step = (int)v;
	} else if (rc == -2) {
		http_respond_error(resp, 400, "invalid step: expected a step number");
		return;
	}
	rc = post ? http_query_get(req->query, "pageHash", pageq, sizeof pageq) : -1;
	if (rc != -1 && (rc < 0 || !page_hash_read(pageq))) {
		http_respond_error(resp, 400, "invalid pageHash: expected 64 hex digits");
		return;
	}
	if (rc == -1)
		pageq[0] = '\0';
	if (post) {
		char err[256];
		if (req->body_len > FLOW_MAX_BODY) {
			http_respond_error(resp, 413, "body larger than 1 MB");
			return;
		}
		answers = flow_parse_answers(req->body ? req->body : "", req->body_len,
					     http_header_get(req, "content-type"), err, sizeof err);
		if (!answers) {
			http_respond_error(resp, 400, err);
			return;
		}
	}
	crowd = read_crowd(req, resp);
	if (!crowd)
		goto out;
	/* preview=VALUE: a researcher's preview (flow.h); a value that is not the
	 * study's is refused, so that a stale or forged link never counts as a
	 * participant */
	char pv[FLOW_PREVIEW_LEN + 2];
	rc = http_query_get(req->query, "preview", pv, sizeof pv);
	bool preview = rc != -1;
	if (preview && (rc < 0 || !flow_preview_ok(f, pid, pv))) {
		http_respond_error(resp, 403, "this preview link is not valid for this study (ask "
					      "the console for the current one)");
		goto out;
	}

	if (store_participant_ensure_preview(f->store, pid, uid, crowd, preview, &part,
					     &created) < 0) {
		log_error("flow", "store", "error=\"%s\"", store_errmsg(f->store));
		http_respond_error(resp, 500, "participant store unavailable");
		goto out;
	}
	if (created) {
		log_info("flow", "participant created", "project=%s user=%s preview=%d", pid, uid,
			 part.preview);
		enter_step(f, p, &part, req);
		dirty = true;
	}
	const struct flow__step *s = flow__step_at(p, part.step);
	/* POST submits the current step, unless the client says it answers
	 * another one (a double submit or a stale tab), or another version of
	 * its page (pageHash: a tab open across a redeploy): then nothing
	 * changes. What is stored carries the version of the page answered. */
	const struct flow__page *shown = NULL;
	if (post && !s->is_game && (!expect_step || expect_step == part.step))
		shown = page_of(f, p, &part, s);
	if (shown && (!pageq[0] || strcmp(pageq, shown->hash) == 0)) {
		int from = part.step;
		bool final = s == &p->final;
		int to = final ? from : flow__step_next(p, from);
		struct store_page seen = {.hash = shown->hash, .version = p->version};
		/* The final page stays: its first submission is stored, repeats are not. */
		rc = final ? store_submit_final_page(f->store, part.id, from, answers, &seen)
			   : store_advance_page(f->store, part.id, from, to, answers,
						to >= p->final.number, &seen);
		if (rc < 0) {
			log_error("flow", "store", "error=\"%s\"", store_errmsg(f->store));
			http_respond_error(resp, 500, "participant store unavailable");
			goto out;
		}
		if (store_participant_get(f->store, pid, uid, &part) != 1) {
			http_respond_error(resp, 500, "participant store unavailable");
			goto out;
		}
		if (rc == 1 && to != from)
			enter_step(f, p, &part, req);
		dirty = dirty || rc == 1;
		s = flow__step_at(p, part.step);
	}
	log_request(f, p, part.id, req, part.step);
	/* A game that ended moves the participant on: show the next step. */
	for (int guard = 0; s->is_game && guard < 8; guard++) {
		if (respond_game(f, p, &part, req, resp) == 0)
			goto out;
		dirty = true;
		enter_step(f, p, &part, req);
		s = flow__step_at(p, part.step);
	}
	if (s->is_game || !s->pages) {
		http_respond_error(resp, 500, "the study has too many consecutive game steps");
		goto out;
	}
	respond_page(resp, page_of(f, p, &part, s), s == &p->final ? p->final.number : part.step,
		     (int)p->nsteps);
out:
	if (dirty)
		changed(f, p, pid, uid);
	json_decref(answers);
	json_decref(crowd);
}

bool flow_http_handler(void *user, const struct http_request *req, struct http_response *resp)
{
	struct flow *f = user;
	if (strcmp(req->path, "/next") != 0 && strcmp(req->path, "/next/") != 0)
		return false;
	add_cors(resp);
	if (strcmp(req->method, "OPTIONS") == 0) {
		http_response_set_body(resp, 204, "text/plain", NULL, 0);
		return true;
	}
	bool post = strcmp(req->method, "POST") == 0;
	if (!post && strcmp(req->method, "GET") != 0) {
		http_add_header(resp, "Allow", "OPTIONS, GET, POST");
		http_respond_error(resp, 405, "method not allowed: use GET, POST or OPTIONS");
		return true;
	}
	handle_next(f, req, post, resp);
	return true;
}

void flow_on_session_end(void *user, const char *project_id, const char *user_id,
			 enum sess_end_reason reason, const char *const *files)
{
	struct flow *f = user;
	struct store_participant part;
	if (store_participant_get(f->store, project_id, user_id, &part) != 1)
		return;
	json_t *fl = json_array();
	for (size_t i = 0; files && files[i]; i++)
		json_array_append_new(fl, json_string(files[i]));
	const char *rname = sess_end_reason_name(reason);
	if ((f->node[0] ? store_session_end_node(f->store, part.id, f->node, rname, fl)
			: store_session_end(f->store, part.id, rname, fl)) < 0)
		log_error("flow", "store", "error=\"%s\"", store_errmsg(f->store));
	json_decref(fl);
	log_info("flow", "session ended", "project=%s user=%s reason=%s step=%d", project_id,
		 user_id, rname, part.step);
	struct flow__project *p = flow__project_get(f, project_id);
	if (!p)
		return;
	const struct flow__step *s = flow__step_at(p, part.step);
	/* After a shutdown, a connect timeout or a record error the game is
	 * still to be played: the next /next allocates a new session. Events of
	 * the step after the game are left to the next request: this runs
	 * inside the session's own end callback. */
	if (sess_end_name_final(rname) && s->is_game) {
		int next = flow__step_next(p, part.step);
		struct store_page game = {.version = p->version};
		if (store_advance_page(f->store, part.id, part.step, next, NULL,
				       next >= p->final.number, &game) < 0)
			log_error("flow", "store", "error=\"%s\"", store_errmsg(f->store));
	}
	changed(f, p, project_id, user_id);
}
