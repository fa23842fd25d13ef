/* console: the life cycle, the route table and the worker threads of the
 * researcher console (console.h); /admin's files. */
#include "console/console.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "console/audit.h"
#include "console/con_int.h"
#include "console/withdraw.h"
#include "core/clock.h"
#include "core/log.h"
#include "flow/admin.h"
#include "flow/flow.h"
#include "net/static.h"
#include "net/stream.h"
#include "store/store.h"

static const struct con_route routes[] = {
	{"GET", "/api/studies", CON_JSON, NULL, con__studies},
	{"GET", "/api/projects/{p}/funnel", CON_JSON, NULL, con__funnel},
	{"GET", "/api/projects/{p}/participant-list", CON_JSON, NULL, con__people},
	{"GET", "/api/projects/{p}/participants/{u}", CON_JSON, NULL, con__person},
	{"GET", "/api/projects/{p}/participants/{u}/files/{f}", CON_STREAM,
	 "application/octet-stream", con__person_file},
	{"GET", "/api/sessions", CON_JSON, NULL, con__sessions},
	{"GET", "/api/live", CON_LIVE, "text/event-stream", NULL},
	{"GET", "/api/projects/{p}/participants/{u}/spectate", CON_SPECTATE, "text/event-stream",
	 NULL},
	{"GET", "/api/audit", CON_JSON, NULL, con__audit},
	{"POST", "/api/projects/{p}/participants/{u}/withdraw", CON_JSON, NULL, con__withdraw},
	{"GET", "/api/projects/{p}/participants/{u}/replay", CON_JSON, NULL, con__replay},
	{"GET", "/api/projects/{p}/participants/{u}/replay/frame.jpg", CON_STREAM, "image/jpeg",
	 con__replay_jpeg},
	{"GET", "/api/projects/{p}/participants/{u}/replay/frame.png", CON_STREAM, "image/png",
	 con__replay_png},
	{"GET", "/api/nodes", CON_JSON, NULL, con__nodes},
	{"POST", "/api/nodes/{n}/drain", CON_JSON, NULL, con__node_drain},
};

/* ------------------------------------------------------------ helpers */

bool con__stopping(struct console *c)
{
	return __atomic_load_n(&c->stop, __ATOMIC_ACQUIRE);
}

int con__fail(struct con_job *j, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->err, sizeof j->err, fmt, ap);
	va_end(ap);
	return status;
}

int con__write(struct console *c, struct con_job *j, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len > 0) {
		size_t n = len < CON_STREAM_BUF / 4 ? len : CON_STREAM_BUF / 4;
		int r = http_stream_try_write(j->st, p, n);
		if (r < 0 || con__stopping(c))
			return -1;
		if (r == 1) { /* the client lags: wait for room */
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
			continue;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int con__query_text(struct con_job *j, const char *key, char *out, size_t outlen)
{
	int n = http_query_get(j->query ? j->query : "", key, out, outlen);
	if (n == -1) {
		out[0] = '\0';
		return 0;
	}
	if (n < 0) {
		snprintf(j->err, sizeof j->err, "query parameter '%s': too long or malformed", key);
		return -1;
	}
	return 1;
}

int con__query_int(struct con_job *j, const char *key, long long def, long long min,
		   long long max, long long *out)
{
	char v[32];
	int k = con__query_text(j, key, v, sizeof v);
	*out = def;
	if (k <= 0)
		return k;
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (!v[0] || *end || errno || x < min || x > max) {
		snprintf(j->err, sizeof j->err,
			 "query parameter '%s': expected an integer in [%lld, %lld]", key, min, max);
		return -1;
	}
	*out = x;
	return 0;
}

static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int64_t con__time_ms(const char *iso)
{
	/* 2026-11-23T21:30:00.123Z */
	if (!iso || strlen(iso) < 20 || iso[4] != '-' || iso[7] != '-' || iso[10] != 'T')
		return -1;
	int y = digits(iso, 4), mo = digits(iso + 5, 2), d = digits(iso + 8, 2);
	int h = digits(iso + 11, 2), mi = digits(iso + 14, 2), s = digits(iso + 17, 2);
	int ms = iso[19] == '.' ? digits(iso + 20, 3) : 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || mi < 0 || s < 0 ||
	    ms < 0)
		return -1;
	/* days from the civil date (proleptic Gregorian), H. Hinnant's algorithm */
	int yy = y - (mo <= 2);
	int era = yy / 400, yoe = yy - era * 400;
	int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = (int64_t)era * 146097 + doe - 719468;
	return ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)s * 1000 + ms;
}

/* ------------------------------------------------------------ workers */

static void job_free(struct con_job *j)
{
	if (!j)
		return;
	json_decref(j->out);
	free(j->query);
	free(j->body);
	free(j);
}

static void run_job(struct console *c, struct con_job *j)
{
	int64_t t0 = clock_mono_ms();
	int status = j->route->fn(c, j);
	if (j->route->kind == CON_JSON && status == 200) {
		char *text = json_dumps(j->out, JSON_COMPACT);
		if (!text || con__write(c, j, text, strlen(text)) < 0)
			status = text ? 499 : 500;
		free(text);
		http_stream_close(j->st, status == 200 ? 0 : status, "answer cut short");
	} else if (j->route->kind == CON_STREAM && status == 0) {
		http_stream_close(j->st, 0, NULL);
	} else {
		if (!j->err[0])
			snprintf(j->err, sizeof j->err, "internal error");
		http_stream_close(j->st, status, j->err);
	}
	j->st = NULL;
	log_debug("console", "answer", "route=\"%s\" status=%d ms=%lld", j->route->pattern, status,
		  (long long)(clock_mono_ms() - t0));
}

static void *worker_main(void *arg)
{
	struct console *c = arg;
	setpriority(PRIO_PROCESS, (id_t)gettid(), CON_NICE);
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->head && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		struct con_job *j = c->head;
		c->head = j->next;
		if (!c->head)
			c->tail = NULL;
		c->njobs--;
		pthread_mutex_unlock(&c->mu);
		run_job(c, j);
		job_free(j);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* ------------------------------------------------------------ routes */

/* Whether PATH matches PATTERN, copying its {p} {u} {f} segments into J
 * (not validated yet). */
static bool match(const char *pattern, const char *path, struct con_job *j)
{
	while (*pattern && *path) {
		if (pattern[0] == '{' && pattern[2] == '}') {
			size_t n = strcspn(path, "/");
			char *dst = pattern[1] == 'p' ? j->project : pattern[1] == 'u' ? j->user : j->name;
			size_t cap = pattern[1] == 'p' ? sizeof j->project
				     : pattern[1] == 'u' ? sizeof j->user
							 : sizeof j->name;
			if (n == 0 || n >= cap)
				return false;
			memcpy(dst, path, n);
			dst[n] = '\0';
			pattern += 3;
			path += n;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

/* A file name from a URL: [A-Za-z0-9._-], no leading dot, no "..". */
static bool plain_name(const char *s)
{
	if (!s[0] || s[0] == '.' || strstr(s, ".."))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static bool admin_page(void *user, const struct http_request *req, struct http_response *resp)
{
	(void)user;
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_respond_error(resp, 405, "method not allowed: GET");
		return true;
	}
	struct http_request r = *req;
	if (strcmp(req->path, "/admin") == 0 || strcmp(req->path, "/admin/") == 0)
		r.path = "/admin/index.html";
	http_add_header(resp, "Referrer-Policy", "no-referrer");
	if (!static_http_handler(CON_CSP, &r, resp))
		http_respond_error(resp, 404, "not found");
	return true;
}

/* The route of METHOD PATH with its path segments in *J (validated).
 * Returns 0 when PATH is no console route, 405 when it is one of another
 * method, 400 (MSG) when a segment is malformed, 200 with *RT. */
static int route_of(const char *method, const char *path, struct con_job *j,
		    const struct con_route **rt, const char **msg)
{
	bool path_known = false;
	*rt = NULL;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0] && !*rt; i++) {
		memset(j, 0, sizeof *j);
		if (!match(routes[i].pattern, path, j))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, method) == 0)
			*rt = &routes[i];
	}
	if (!path_known)
		return 0;
	if (!*rt) {
		*msg = "method not allowed";
		return 405;
	}
	bool node = strstr((*rt)->pattern, "{n}") != NULL;
	*msg = j->project[0] && !id_valid_project(j->project)
		       ? "invalid project id: expected " ID_PROJECT_RULE
	       : j->user[0] && !id_valid_user(j->user) ? "invalid userId: expected " ID_USER_RULE
	       : node && !id_valid_node(j->name)       ? "invalid node name: expected " ID_NODE_RULE
	       : j->name[0] && !plain_name(j->name)    ? "invalid file name: expected [A-Za-z0-9._-]"
						       : NULL;
	return *msg ? 400 : 200;
}

int con_parse_request(const char *method, const char *path, const char *query, char *project,
		      char *user, char *name)
{
	struct con_job j;
	const struct con_route *rt;
	const char *msg;
	int st = route_of(method, path, &j, &rt, &msg);
	if (st != 200)
		return st;
	j.query = (char *)(query ? query : "");
	/* every query parameter a route reads, as the routes read them */
	static const char *const ints[] = {"idleMinutes", "step", "offset", "limit", "episode"};
	long long v;
	char text[257];
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
		if (con__query_int(&j, ints[i], 0, 0, 1LL << 40, &v) < 0)
			return 400;
	static const char *const texts[] = {"status", "q", "trial", "viewer", "group"};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		if (con__query_text(&j, texts[i], text, sizeof text) < 0)
			return 400;
	int n, g;
	if (con__query_text(&j, "group", text, sizeof text) == 1 &&
	    con__parse_group(text, &n, &g) < 0)
		return 400;
	snprintf(project, ID_MAX + 1, "%s", j.project);
	snprintf(user, ID_MAX + 1, "%s", j.user);
	snprintf(name, 256, "%s", j.name);
	return 200;
}

int con__parse_group(const char *s, int *n, int *g)
{
	char *end;
	errno = 0;
	long a = strtol(s, &end, 10);
	if (end == s || *end != ':' || errno || a < 1 || a > 1000)
		return -1;
	const char *b = end + 1;
	long x = strtol(b, &end, 10);
	if (end == b || *end || errno || x < 0 || x >= a || !(*b >= '0' && *b <= '9'))
		return -1;
	*n = (int)a;
	*g = (int)x;
	return 0;
}

bool con_http_handler(void *user, const struct http_request *req, struct http_response *resp)
{
	struct console *c = user;
	if (strcmp(req->path, "/admin") == 0 || strncmp(req->path, "/admin/", 7) == 0)
		return admin_page(c, req, resp);
	if (strncmp(req->path, "/api/", 5) != 0)
		return false;
	struct con_job probe;
	const struct con_route *rt = NULL;
	const char *msg = NULL;
	int found = route_of(req->method, req->path, &probe, &rt, &msg);
	if (found == 0)
		return false; /* the admin API's, or its 404 */
	if (!admin_gate(c->o.admin, req, resp))
		return true;
	if (found != 200) {
		http_respond_error(resp, found, msg);
		return true;
	}
	if (probe.project[0] && !flow_project_exists(c->o.flow, probe.project)) {
		http_respond_error(resp, 404, "no such project");
		return true;
	}
	if (rt->kind == CON_LIVE || rt->kind == CON_SPECTATE) {
		probe.query = (char *)(req->query ? req->query : "");
		snprintf(probe.ip, sizeof probe.ip, "%s", req->remote_ip ? req->remote_ip : "");
		con__live_subscribe(c, rt->kind, &probe, resp);
		return true;
	}
	struct con_job *j = calloc(1, sizeof *j);
	struct http_stream *st = http_stream_new(CON_STREAM_BUF);
	if (j)
		*j = probe;
	if (!j || !st || !(j->query = strdup(req->query ? req->query : "")) ||
	    !(j->body = malloc(req->body_len + 1))) {
		job_free(j);
		if (st)
			http_stream_detach(st);
		http_respond_error(resp, 500, "out of memory");
		return true;
	}
	memcpy(j->body, req->body ? req->body : "", req->body_len);
	j->body[req->body_len] = '\0';
	j->body_len = req->body_len;
	snprintf(j->ip, sizeof j->ip, "%s", req->remote_ip ? req->remote_ip : "");
	j->route = rt;
	pthread_mutex_lock(&c->mu);
	bool full = c->njobs >= CON_QUEUE_MAX;
	if (!full) {
		j->st = http_stream_ref(st);
		if (c->tail)
			c->tail->next = j;
		else
			c->head = j;
		c->tail = j;
		c->njobs++;
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	if (full) {
		job_free(j);
		http_stream_detach(st);
		http_add_header(resp, "Retry-After", "5");
		http_respond_error(resp, 503, "the console is busy: retry in a moment");
		return true;
	}
	http_response_set_body(resp, 200,
			       rt->content_type ? rt->content_type : "application/json", NULL, 0);
	resp->stream = st;
	return true;
}

int con__audit(struct console *c, struct con_job *j)
{
	long long n;
	if (con__query_int(j, "limit", 200, 1, 10000, &n) < 0)
		return 400;
	j->out = audit_tail(c->data_dir, (size_t)n, j->err, sizeof j->err);
	return j->out ? 200 : 500;
}

int con__withdraw(struct console *c, struct con_job *j)
{
	json_error_t je;
	json_t *b = json_loadb(j->body, j->body_len, 0, &je);
	const char *confirm = json_string_value(json_object_get(b, "confirm"));
	const char *by = json_string_value(json_object_get(b, "by"));
	if (!json_is_object(b) || !confirm || strcmp(confirm, j->user) != 0) {
		json_decref(b);
		return con__fail(j, 400, "confirm the withdrawal: {\"confirm\": \"<the userId>\"}");
	}
	char name[128];
	snprintf(name, sizeof name, "%s", by ? by : "");
	json_decref(b);
	struct withdraw_opts wo = {.store = flow_store(c->o.flow),
				   .storage = c->o.storage,
				   .sess = c->o.sess,
				   .data_dir = c->data_dir,
				   .project_id = j->project,
				   .user_id = j->user,
				   .by_name = name,
				   .by_address = j->ip,
				   .via = "api"};
	int st = withdraw_participant(&wo, &j->out, j->err, sizeof j->err);
	con__replays_forget(c->replays, j->project, j->user);
	return st;
}

int con_call(struct console *c, const char *method, const char *path, const char *query,
	     json_t **out)
{
	struct con_job j;
	*out = NULL;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		memset(&j, 0, sizeof j);
		if (routes[i].kind != CON_JSON || strcmp(routes[i].method, method) != 0 ||
		    !match(routes[i].pattern, path, &j))
			continue;
		j.route = &routes[i];
		j.query = (char *)(query ? query : "");
		j.body = (char *)"";
		int status = routes[i].fn(c, &j);
		*out = status == 200 ? j.out : json_pack("{s:s}", "error", j.err);
		if (status != 200)
			json_decref(j.out);
		return status;
	}
	*out = json_pack("{s:s}", "error", "not found");
	return 404;
}

void con_forget(struct console *c)
{
	con__funnels_clear(c->funnels);
}

/* ------------------------------------------------------------ life cycle */

int con_new(const struct con_opts *o, struct console **out, char *err, size_t errlen)
{
	*out = NULL;
	struct console *c = calloc(1, sizeof *c);
	if (!c || !(c->data_dir = strdup(o->data_dir ? o->data_dir : "data"))) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->o = *o;
	c->o.data_dir = c->data_dir;
	c->o.store_spec = NULL;
	if (store_open_flags(o->store_spec, STORE_READ_ONLY, &c->ro, err, errlen) != 0) {
		if (!c->ro && !err[0]) {
			char shown[1024];
			store_spec_masked(o->store_spec, shown, sizeof shown);
			snprintf(err, errlen, "%s: no participant store", shown);
		}
		free(c->data_dir);
		free(c);
		return -1;
	}
	c->funnels = con__funnels_new();
	c->replays = con__replays_new();
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	for (int i = 0; i < CON_WORKERS; i++)
		c->started[i] = pthread_create(&c->th[i], NULL, worker_main, c) == 0;
	if (!c->funnels || !c->replays || !c->started[0] || con__live_start(c) < 0) {
		snprintf(err, errlen, "cannot start the console's threads");
		con_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void con_free(struct console *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	__atomic_store_n(&c->stop, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < CON_WORKERS; i++)
		if (c->started[i])
			pthread_join(c->th[i], NULL);
	con__live_stop(c);
	while (c->head) {
		struct con_job *j = c->head;
		c->head = j->next;
		http_stream_close(j->st, 503, "the server is stopping");
		job_free(j);
	}
	con__funnels_free(c->funnels);
	con__replays_free(c->replays);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	store_close(c->ro);
	free(c->data_dir);
	free(c);
}
