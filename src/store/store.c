/* store: the backend-independent half of the participant store (see store.h
 * and store_int.h): the spec, the checks and conversions every backend
 * shares, and the JSON shape of participant records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/buf.h"
#include "core/clock.h"
#include "store/store_int.h"

const char *const store__versions[STORE_SCHEMA_VERSION + 1] = {
	[1] = "projects, participants, answers, requests (headers inline), header_sets, "
	      "sessions, groups",
	[2] = "requests refer to a header set stored once per participant, and one row "
	      "stands for a run of identical requests (header_set, repeats, last)",
	[3] = "the version of the page answered or passed: answers get page_hash and "
	      "project_version, and the table passes has one row per step passed",
	[4] = "cluster: the nodes (name, url, slots, draining, lease_until, renewed), and "
	      "the node a session is placed on, a stop asked of it and the episodes played "
	      "(sessions.node, sessions.stop, sessions.episodes)",
	[5] = "cluster: the internal URL other nodes check a node's life at (nodes.probe)",
	[6] = "the files of each version of a study deployed through the admin API "
	      "(deploys: project_id, version, config, files, created)",
	[7] = "a researcher's preview participants (participants.preview), left out of "
	      "groups, counts and exports",
};

/* The backends, by scheme; a spec without a known scheme is an SQLite path. */
static const struct store_backend *const backends[] = {
	&store__sqlite,
	&store__postgresql,
	&store__postgres,
};

struct store {
	const struct store_backend *be;
	void *db;
	char *spec;
	bool read_only;
	bool refused; /* a write was refused (read only) */
};

void store_now(char *buf, size_t len)
{
	clock_iso8601_now(buf, len);
}

/* The backend of SPEC and, in *WHERE, what follows "scheme:". */
static const struct store_backend *backend_of(const char *spec, const char **where, char *err,
					      size_t errlen)
{
	size_t n = strspn(spec, "abcdefghijklmnopqrstuvwxyz0123456789+.-");
	*where = spec;
	if (n == 0 || spec[n] != ':' || spec[0] < 'a' || spec[0] > 'z')
		return &store__sqlite;
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
		if (strlen(backends[i]->scheme) == n && strncmp(spec, backends[i]->scheme, n) == 0) {
			*where = spec + n + 1;
			return backends[i];
		}
	}
	if (strncmp(spec + n, "://", 3) == 0) {
		snprintf(err, errlen, "no participant store backend for '%.*s:' (known: sqlite:PATH, "
				      "postgresql://...)",
			 (int)n, spec);
		return NULL;
	}
	return &store__sqlite; /* a relative path with a ':' in it */
}

/* ------------------------------------------------------------ spec */

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0'
	     : c >= 'a' && c <= 'f' ? c - 'a' + 10
	     : c >= 'A' && c <= 'F' ? c - 'A' + 10
				    : -1;
}

/* Whether the LEN bytes at KEY, percent-decoded, are "password". */
static bool key_is_password(const char *key, size_t len)
{
	static const char want[] = "password";
	size_t w = 0;
	for (size_t i = 0; i < len; i++, w++) {
		int c = (unsigned char)key[i];
		if (c == '%' && i + 2 < len && hexval(key[i + 1]) >= 0 && hexval(key[i + 2]) >= 0) {
			c = hexval(key[i + 1]) * 16 + hexval(key[i + 2]);
			i += 2;
		}
		if (w >= sizeof want - 1 || c != want[w])
			return false;
	}
	return w == sizeof want - 1;
}

size_t store__spec_secrets(const char *spec, struct store__span *out, size_t max)
{
	size_t n = 0;
	const char *auth = strstr(spec, "://");
	if (!auth)
		return 0;
	auth += 3;
	size_t alen = strcspn(auth, "/?#");
	const char *at = NULL;
	for (size_t i = 0; i < alen; i++)
		if (auth[i] == '@')
			at = auth + i;
	const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon) {
		if (n < max)
			out[n] = (struct store__span){(size_t)(colon + 1 - spec),
						      (size_t)(at - colon - 1)};
		n++;
	}
	const char *q = strchr(auth + alen, '?');
	while (q && *q && *q != '#') {
		const char *key = q + 1;
		size_t plen = strcspn(key, "&#");
		const char *eq = memchr(key, '=', plen);
		if (eq && key_is_password(key, (size_t)(eq - key))) {
			if (n < max)
				out[n] = (struct store__span){(size_t)(eq + 1 - spec),
							      plen - (size_t)(eq + 1 - key)};
			n++;
		}
		q = key + plen;
	}
	return n;
}

void store_spec_masked(const char *spec, char *out, size_t len)
{
	struct store__span sp[STORE__SECRETS_MAX];
	size_t n = store__spec_secrets(spec, sp, STORE__SECRETS_MAX), from = 0, o = 0;
	if (len == 0)
		return;
	out[0] = '\0';
	if (n > STORE__SECRETS_MAX) { /* too many to show each: nothing after the scheme */
		snprintf(out, len, "%.*s://***", (int)(strstr(spec, "://") - spec), spec);
		return;
	}
	for (size_t i = 0; i <= n && o < len; i++) {
		size_t end = i < n ? sp[i].off : strlen(spec);
		int k = snprintf(out + o, len - o, "%.*s%s", (int)(end - from), spec + from,
				 i < n ? "***" : "");
		if (k < 0)
			break;
		o += (size_t)k;
		if (i < n)
			from = sp[i].off + sp[i].len;
	}
}

int store_open_flags(const char *spec, unsigned flags, struct store **out, char *err,
		     size_t errlen)
{
	const char *where;
	*out = NULL;
	spec = spec ? spec : "";
	const struct store_backend *be = backend_of(spec, &where, err, errlen);
	if (!be)
		return -1;
	struct store *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->be = be;
	s->read_only = flags & STORE_READ_ONLY;
	int rc = (s->spec = strdup(spec)) ? be->open(where, flags, &s->db, err, errlen) : -1;
	if (!s->spec)
		snprintf(err, errlen, "out of memory");
	if (rc != 0) {
		free(s->spec);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

struct store *store_open(const char *spec, char *err, size_t errlen)
{
	struct store *s;
	return store_open_flags(spec, 0, &s, err, errlen) == 0 ? s : NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	s->be->close(s->db);
	memset(s->spec, 0, strlen(s->spec)); /* it may hold a password */
	free(s->spec);
	free(s);
}

const char *store_spec(struct store *s)
{
	return s->spec;
}

const char *store_errmsg(struct store *s)
{
	return s->refused ? "the participant store is open read-only" : s->be->errmsg(s->db);
}

/* Writes are refused on a read-only store. */
#define WRITABLE(s)                        \
	do {                               \
		if ((s)->read_only) {      \
			(s)->refused = true; \
			return -1;         \
		}                          \
	} while (0)

int store_flush(struct store *s)
{
	return s->read_only ? 0 : s->be->flush(s->db);
}

/* ------------------------------------------------------------ participants */

int store_participant_get(struct store *s, const char *project_id, const char *user_id,
			  struct store_participant *p)
{
	return s->be->participant_get(s->db, project_id, user_id, p);
}

int store_participant_ensure_preview(struct store *s, const char *project_id,
				     const char *user_id, json_t *crowd, bool preview,
				     struct store_participant *p, bool *created)
{
	*created = false;
	WRITABLE(s);
	bool has_crowd = json_is_object(crowd) && json_object_size(crowd) > 0;
	return s->be->participant_ensure(s->db, project_id, user_id, has_crowd ? crowd : NULL,
					 preview, p, created);
}

int store_participant_ensure(struct store *s, const char *project_id, const char *user_id,
			     json_t *crowd, struct store_participant *p, bool *created)
{
	return store_participant_ensure_preview(s, project_id, user_id, crowd, false, p, created);
}

char *store__crowd_text(json_t *crowd)
{
	return json_dumps(crowd, JSON_COMPACT | JSON_SORT_KEYS);
}

char *store__crowd_merge(const char *old_text, json_t *crowd)
{
	json_t *old = old_text ? json_loads(old_text, 0, NULL) : NULL;
	if (!json_is_object(old)) {
		json_decref(old);
		old = json_object();
	}
	bool changed = false;
	const char *k;
	json_t *v;
	json_object_foreach(crowd, k, v)
	{
		if (!json_object_get(old, k)) {
			json_object_set(old, k, v);
			changed = true;
		}
	}
	char *text = changed ? store__crowd_text(old) : NULL;
	json_decref(old);
	return text;
}

/* ------------------------------------------------------------ requests */

bool store__text_same(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

bool store__request_same(const struct store__request *a, const struct store__request *b)
{
	return a->step == b->step && strcmp(a->method, b->method) == 0 &&
	       a->has_digest == b->has_digest &&
	       (!b->has_digest || memcmp(a->digest, b->digest, sizeof b->digest) == 0) &&
	       store__text_same(a->ip, b->ip);
}

int store_request_log(struct store *s, long long pid, const char *method, int step,
		      const char *headers_json, const char *ip)
{
	WRITABLE(s);
	struct store__request n = {.pid = pid, .step = step, .ip = ip};
	size_t hlen = headers_json ? strlen(headers_json) : 0;
	store_now(n.time, sizeof n.time);
	snprintf(n.method, sizeof n.method, "%s", method ? method : "");
	if (headers_json && hlen <= STORE_HEADERS_MAX)
		n.has_digest =
			EVP_Digest(headers_json, hlen, n.digest, NULL, EVP_sha256(), NULL) == 1;
	n.headers = n.has_digest ? headers_json : NULL;
	return s->be->request_log(s->db, &n);
}

/* ------------------------------------------------------------ answers */

/* ANSWERS (a JSON object, may be NULL) as rows: strings verbatim, null as
 * NULL, other values as compact JSON text (kept in OWNED[i]). */
struct answers {
	struct store__answer *v;
	char **owned;
	size_t n;
};

static int answers_of(json_t *answers, struct answers *a)
{
	size_t n = json_object_size(answers);
	memset(a, 0, sizeof *a);
	if (n == 0)
		return 0;
	a->v = calloc(n, sizeof *a->v);
	a->owned = calloc(n, sizeof *a->owned);
	if (!a->v || !a->owned)
		return -1;
	const char *k;
	json_t *v;
	json_object_foreach(answers, k, v)
	{
		struct store__answer *r = &a->v[a->n];
		r->field = k;
		if (json_is_string(v)) {
			r->value = json_string_value(v);
			r->len = json_string_length(v);
		} else if (!json_is_null(v)) {
			r->value = a->owned[a->n] = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			r->len = r->value ? strlen(r->value) : 0;
		}
		a->n++;
	}
	return 0;
}

static void answers_free(struct answers *a)
{
	for (size_t i = 0; a->owned && i < a->n; i++)
		free(a->owned[i]);
	free(a->owned);
	free(a->v);
}

int store_advance_page(struct store *s, long long pid, int from, int to, json_t *answers,
		       bool completed, const struct store_page *page)
{
	WRITABLE(s);
	struct answers a;
	int rc = answers_of(answers, &a) == 0
			 ? s->be->advance(s->db, pid, from, to, a.v, a.n, completed, page)
			 : -1;
	answers_free(&a);
	return rc;
}

int store_advance(struct store *s, long long pid, int from, int to, json_t *answers,
		  bool completed)
{
	return store_advance_page(s, pid, from, to, answers, completed, NULL);
}

int store_submit_final_page(struct store *s, long long pid, int step, json_t *answers,
			    const struct store_page *page)
{
	WRITABLE(s);
	if (json_object_size(answers) == 0)
		return 0;
	struct answers a;
	int rc = answers_of(answers, &a) == 0
			 ? s->be->submit_final(s->db, pid, step, a.v, a.n, page)
			 : -1;
	answers_free(&a);
	return rc;
}

int store_submit_final(struct store *s, long long pid, int step, json_t *answers)
{
	return store_submit_final_page(s, pid, step, answers, NULL);
}

/* ------------------------------------------------------------ groups, sessions */

int store_group_get(struct store *s, long long pid, int n, int *group)
{
	return s->be->group_get(s->db, pid, n, group);
}

struct choice {
	store_choose_fn choose;
	void *user;
};

/* The caller's choice, 0 when out of range. */
static int clamped_choice(void *user, const long long *counts, int n)
{
	const struct choice *c = user;
	int g = c->choose(c->user, counts, n);
	return g < 0 || g >= n ? 0 : g;
}

int store_group_assign(struct store *s, long long pid, const char *project_id, int n,
		       store_choose_fn choose, void *user, int *group)
{
	WRITABLE(s);
	if (n <= 0)
		return -1;
	struct choice c = {choose, user};
	return s->be->group_assign(s->db, pid, project_id, n, clamped_choice, &c, group);
}

int store_session_start(struct store *s, long long pid, int step)
{
	WRITABLE(s);
	return s->be->session_start(s->db, pid, step);
}

int store_session_end(struct store *s, long long pid, const char *reason, json_t *files)
{
	WRITABLE(s);
	char *text = files ? json_dumps(files, JSON_COMPACT) : NULL;
	int rc = s->be->session_end(s->db, pid, reason, text);
	free(text);
	return rc;
}

int store_session_last(struct store *s, long long pid, bool *open, char *reason, size_t rlen)
{
	return s->be->session_last(s->db, pid, open, reason, rlen);
}

int store_sessions_close_all(struct store *s, const char *reason)
{
	WRITABLE(s);
	return s->be->sessions_close_all(s->db, reason);
}

long long store_sessions_open(struct store *s)
{
	return s->be->sessions_open(s->db);
}

/* ------------------------------------------------------------ the console */

int store_participants_find(struct store *s, const struct store_find *q, store_participant_fn fn,
			    void *user, long long *total)
{
	long long t = 0;
	if (!q->project_id || q->offset < 0 || q->limit < 0)
		return -1;
	int rc = s->be->participants_find(s->db, q, fn, user, &t);
	if (total)
		*total = t;
	return rc;
}

int store_step_times_each(struct store *s, const char *project_id, store_step_time_fn fn,
			  void *user)
{
	return s->be->step_times(s->db, project_id, fn, user);
}

int store_group_counts_each(struct store *s, const char *project_id, store_group_count_fn fn,
			    void *user)
{
	return s->be->group_counts(s->db, project_id, fn, user);
}

int store_participant_delete(struct store *s, long long pid, struct store_delete_counts *counts)
{
	WRITABLE(s);
	struct store_delete_counts c = {0};
	int rc = s->be->participant_delete(s->db, pid, &c);
	if (counts)
		*counts = c;
	return rc;
}

/* ------------------------------------------------------------ cluster */

int store_node_renew(struct store *s, const char *name, const char *url, const char *probe,
		     int slots, bool draining, bool fresh, int lease_ms, bool *drain_asked)
{
	if (drain_asked)
		*drain_asked = false;
	WRITABLE(s);
	if (!name || !url || strlen(name) > STORE_NODE_MAX || strlen(url) > STORE_URL_MAX ||
	    (probe && strlen(probe) > STORE_URL_MAX))
		return -1;
	bool asked = false;
	int rc = s->be->node_renew(s->db, name, url, probe && *probe ? probe : NULL, slots,
				   draining, fresh, lease_ms, &asked);
	if (rc == 0 && drain_asked)
		*drain_asked = asked;
	return rc;
}

int store_node_remove(struct store *s, const char *name)
{
	WRITABLE(s);
	return s->be->node_remove(s->db, name);
}

int store_node_drain(struct store *s, const char *name)
{
	WRITABLE(s);
	return name ? s->be->node_drain(s->db, name) : 0;
}

int store_node_expire(struct store *s, const char *name)
{
	WRITABLE(s);
	return name ? s->be->node_expire(s->db, name) : 0;
}

int store_nodes_each(struct store *s, store_node_fn fn, void *user)
{
	return s->be->nodes(s->db, fn, user);
}

int store_place(struct store *s, long long pid, int step, int episodes,
		struct store_placement *out)
{
	memset(out, 0, sizeof *out);
	WRITABLE(s);
	return s->be->place(s->db, pid, step, episodes, out);
}

int store_session_info(struct store *s, long long pid, struct store_session_info *out)
{
	memset(out, 0, sizeof *out);
	return s->be->session_info(s->db, pid, out);
}

int store_placed_each(struct store *s, const char *node, store_placed_fn fn, void *user)
{
	return s->be->placed(s->db, node, fn, user);
}

int store_session_end_node(struct store *s, long long pid, const char *node, const char *reason,
			   json_t *files)
{
	WRITABLE(s);
	char *text = files ? json_dumps(files, JSON_COMPACT) : NULL;
	int rc = s->be->session_end_node(s->db, pid, node, reason, text);
	free(text);
	return rc;
}

int store_session_progress(struct store *s, long long pid, const char *node, int episodes)
{
	WRITABLE(s);
	return s->be->session_progress(s->db, pid, node, episodes);
}

int store_session_stop(struct store *s, long long pid, const char *reason)
{
	WRITABLE(s);
	return s->be->session_stop(s->db, pid, reason);
}

int store_sessions_close_node(struct store *s, const char *node, const char *reason)
{
	WRITABLE(s);
	return s->be->sessions_close_node(s->db, node, reason);
}

int store_nodes_reap(struct store *s)
{
	WRITABLE(s);
	return s->be->nodes_reap(s->db);
}

/* ------------------------------------------------------------ projects */

int store_project_put(struct store *s, const char *id, const char *name, const char *researcher,
		      const char *dir, bool deployed, int *version)
{
	WRITABLE(s);
	return s->be->project_put(s->db, id, name, researcher, dir, deployed, version);
}

int store_project_live_get(struct store *s, const char *id)
{
	return s->be->project_live_get(s->db, id);
}

int store_deploy_put(struct store *s, const char *id, int version, const char *config,
		     const char *files)
{
	WRITABLE(s);
	if (!s->be->deploy_put || !config || !files || version < 1)
		return -1;
	return s->be->deploy_put(s->db, id, version, config, files);
}

int store_deploy_get(struct store *s, const char *id, int version, int *got, char **config,
		     char **files)
{
	*config = *files = NULL;
	if (!s->be->deploy_get)
		return -1;
	return s->be->deploy_get(s->db, id, version, got, config, files);
}

int store_deploys_latest(struct store *s, int (*fn)(void *user, const char *id, int version),
			 void *user)
{
	if (!s->be->deploys_latest)
		return -1;
	return s->be->deploys_latest(s->db, fn, user);
}

int store_project_live_set(struct store *s, const char *id, int live)
{
	WRITABLE(s);
	return s->be->project_live_set(s->db, id, live);
}

/* ------------------------------------------------------------ iterators */

int store_participants_each(struct store *s, const struct store_query *q,
			    store_participant_fn fn, void *user)
{
	return s->be->participants(s->db, q, fn, user);
}

int store_answers_each(struct store *s, const struct store_query *q, store_answer_fn fn,
		       void *user)
{
	return s->be->answers(s->db, q, fn, user);
}

int store_groups_each(struct store *s, const struct store_query *q, store_group_fn fn,
		      void *user)
{
	return s->be->groups(s->db, q, fn, user);
}

int store_sessions_each(struct store *s, const struct store_query *q, store_session_fn fn,
			void *user)
{
	return s->be->sessions(s->db, q, fn, user);
}

int store_requests_each(struct store *s, const struct store_query *q, store_request_fn fn,
			void *user)
{
	return s->be->requests(s->db, q, fn, user);
}

int store_passes_each(struct store *s, const struct store_query *q, store_pass_fn fn,
		      void *user)
{
	return s->be->passes(s->db, q, fn, user);
}

int store_step_counts_each(struct store *s, const char *project_id, store_step_count_fn fn,
			   void *user)
{
	return s->be->step_counts(s->db, project_id, fn, user);
}

int store_projects_each(struct store *s, const char *project_id, store_project_fn fn,
			void *user)
{
	return s->be->projects(s->db, project_id, fn, user);
}

/* ------------------------------------------------------------ JSON */

struct step_totals {
	json_t *steps;
	long long total, completed;
};

static int add_step_count(void *user, const struct store_step_count_row *r)
{
	struct step_totals *t = user;
	char key[16];
	snprintf(key, sizeof key, "%d", r->step);
	json_t *old = json_object_get(t->steps, key);
	json_object_set_new(t->steps, key,
			    json_integer(r->count + (old ? json_integer_value(old) : 0)));
	t->total += r->count;
	if (r->status && strcmp(r->status, "completed") == 0)
		t->completed += r->count;
	return 0;
}

json_t *store_step_counts(struct store *s, const char *project_id, long long *total,
			  long long *completed)
{
	struct step_totals t = {.steps = json_object()};
	store_step_counts_each(s, project_id, add_step_count, &t);
	*total = t.total;
	*completed = t.completed;
	return t.steps;
}

/* A text column as a JSON string, null when missing. */
static json_t *jstr(const char *t)
{
	json_t *v = t ? json_string_nocheck(t) : NULL;
	return v ? v : json_null();
}

/* A JSON text column as its value, null when missing or unreadable. */
static json_t *jparse(const char *t)
{
	json_t *v = t ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
	return v ? v : json_null();
}

static json_t *participant_object(const struct store_participant_row *r, bool with_project)
{
	if (with_project)
		return json_pack("{s:o,s:o,s:o,s:o,s:i,s:o,s:o}", "projectId", jstr(r->project_id),
				 "userId", jstr(r->user_id), "created", jstr(r->created),
				 "updated", jstr(r->updated), "step", r->step, "status",
				 jstr(r->status), "crowd", jparse(r->crowd));
	return json_pack("{s:o,s:o,s:o,s:i,s:o,s:o}", "userId", jstr(r->user_id), "created",
			 jstr(r->created), "updated", jstr(r->updated), "step", r->step, "status",
			 jstr(r->status), "crowd", jparse(r->crowd));
}

/* A version number, null when unknown (0). */
static json_t *jversion(int v)
{
	return v > 0 ? json_integer(v) : json_null();
}

static int add_answer(void *user, const struct store_answer_row *r)
{
	json_t *v = r->value ? json_stringn_nocheck(r->value, r->value_len) : NULL;
	json_array_append_new(user, json_pack("{s:i,s:o,s:o,s:o,s:o,s:o}", "step", r->step,
					      "field", jstr(r->field), "value",
					      v ? v : json_null(), "time", jstr(r->time),
					      "pageHash", jstr(r->page_hash), "projectVersion",
					      jversion(r->project_version)));
	return 0;
}

static int add_pass(void *user, const struct store_pass_row *r)
{
	json_array_append_new(user, json_pack("{s:i,s:o,s:o,s:o}", "step", r->step, "pageHash",
					      jstr(r->page_hash), "projectVersion",
					      jversion(r->project_version), "time",
					      jstr(r->time)));
	return 0;
}

static int add_group(void *user, const struct store_group_row *r)
{
	char key[16];
	snprintf(key, sizeof key, "%d", r->n);
	json_object_set_new(user, key, json_integer(r->group));
	return 0;
}

static int add_session(void *user, const struct store_session_row *r)
{
	json_array_append_new(user, json_pack("{s:i,s:o,s:o,s:o,s:o}", "step", r->step, "started",
					      jstr(r->started), "stopped", jstr(r->stopped),
					      "reason", jstr(r->reason), "files", jparse(r->files)));
	return 0;
}

/* Adds the answers, steps passed, groups and sessions of participant PID to P. */
static void participant_details(struct store *s, const char *project_id, long long pid, json_t *p)
{
	struct store_query q = {.project_id = project_id, .participant = pid};
	json_t *answers = json_array(), *groups = json_object(), *sessions = json_array();
	json_t *passes = json_array();
	store_answers_each(s, &q, add_answer, answers);
	store_passes_each(s, &q, add_pass, passes);
	store_groups_each(s, &q, add_group, groups);
	store_sessions_each(s, &q, add_session, sessions);
	json_object_set_new(p, "answers", answers);
	json_object_set_new(p, "passes", passes);
	json_object_set_new(p, "groups", groups);
	json_object_set_new(p, "sessions", sessions);
}

/* The participants as objects, and their ids for the details read after
 * (an iterator's function must not call the store). */
struct listing {
	json_t *list;
	long long *ids;
	size_t n, cap;
	bool with_project;
};

static int add_participant(void *user, const struct store_participant_row *r)
{
	struct listing *l = user;
	if (buf_grow_array((void **)&l->ids, &l->cap, l->n + 1, sizeof *l->ids, 64, 0) < 0)
		return 1;
	json_t *p = participant_object(r, l->with_project);
	if (!p)
		return 1;
	if (r->preview)
		json_object_set_new(p, "preview", json_true());
	l->ids[l->n++] = r->id;
	json_array_append_new(l->list, p);
	return 0;
}

json_t *store_participants_json(struct store *s, const char *project_id)
{
	return store_participants_json_with(s, project_id, false);
}

json_t *store_participants_json_with(struct store *s, const char *project_id, bool preview)
{
	struct listing l = {.list = json_array()};
	struct store_query q = {.project_id = project_id, .order = STORE_ORDER_ID,
				.preview = preview};
	store_participants_each(s, &q, add_participant, &l);
	for (size_t i = 0; i < l.n; i++)
		participant_details(s, project_id, l.ids[i], json_array_get(l.list, i));
	free(l.ids);
	return l.list;
}

json_t *store_participant_json(struct store *s, const char *project_id, const char *user_id)
{
	struct store_participant part;
	if (store_participant_get(s, project_id, user_id, &part) != 1)
		return NULL;
	struct listing l = {.list = json_array(), .with_project = true};
	struct store_query q = {.project_id = project_id, .participant = part.id};
	store_participants_each(s, &q, add_participant, &l);
	json_t *p = l.n == 1 ? json_incref(json_array_get(l.list, 0)) : NULL;
	if (p)
		participant_details(s, project_id, part.id, p);
	json_decref(l.list);
	free(l.ids);
	return p;
}
