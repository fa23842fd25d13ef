/* console: the researcher console of `hippo serve` (docs/console.md): the
 * page at /admin (web/admin/, embedded like the participant UI, sent with a
 * strict Content-Security-Policy) and the admin API routes it reads
 * (docs/api.md): studies, funnel, participants, live sessions, spectating,
 * replay, withdrawal, a cluster's nodes. Every /api/ route passes the admin API's gate
 * (admin_gate: the token, failed logins limited per address).
 *
 * Nothing that reads the store or the disk runs on the I/O thread: a route's
 * answer is produced by one of the console's worker threads (at a lower CPU
 * priority than the games) and streamed (net/stream.h); live sessions and
 * spectators are fed by one thread of their own that never blocks on a
 * client (a client too slow for an event skips it: newest frame wins). The
 * console reads the participant store through a read-only connection of its
 * own, so its queries never hold up /next.
 *
 *     struct console *con;
 *     con_new(&(struct con_opts){.flow = f, .admin = a, .sess = m, ...}, &con, err, n);
 *     net_server_add_handler(srv, con_http_handler, con); // before admin_http_handler
 *     net_server_run(srv);
 *     con_free(con);                                      // before net_server_free
 */
#ifndef HIPPO_CONSOLE_CONSOLE_H
#define HIPPO_CONSOLE_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "net/http.h"

struct admin;
struct cluster;
struct withdraw_watch;
struct flow;
struct sess_mgr;
struct storage;
struct console;

struct con_opts {
	struct flow *flow;        /* the projects and the store the flow writes (withdrawals) */
	struct admin *admin;      /* the gate of every /api/ route */
	struct sess_mgr *sess;    /* live sessions (may be NULL: none) */
	struct storage *storage;  /* the upload spool (withdrawals delete uploads; may be NULL) */
	const char *data_dir;
	const char *store_spec;   /* the participant store, opened read-only for the console */
	struct cluster *cluster;  /* this server as a cluster node (the Nodes page), or NULL */
	struct withdraw_watch *withdrawals; /* this server's (withdraw.h), or NULL */
};

/* Starts the console's threads and opens its read-only store connection.
 * Returns 0, or -1 with a message in ERR. */
int con_new(const struct con_opts *o, struct console **out, char *err, size_t errlen);
/* Stops the threads (live streams end, routes in progress are abandoned).
 * Call after net_server_run returned and before net_server_free (the live
 * thread reads the session manager). */
void con_free(struct console *c);

/* /admin (the page) and the console's /api/ routes; false for other paths
 * (other /api/ routes are the admin API's, admin_http_handler). */
bool con_http_handler(void *user, const struct http_request *req, struct http_response *resp);

/* Runs the JSON route METHOD PATH?QUERY on the calling thread, without the
 * gate (benchmarks: `hippo bench admin`): *OUT gets the answer, or
 * {"error": ...}. Returns the HTTP status (404 for a path that is not a
 * console JSON route). */
int con_call(struct console *c, const char *method, const char *path, const char *query,
	     json_t **out);
/* What the console's handler makes of METHOD PATH?QUERY before it reads
 * anything (the fuzz target): 0 when PATH is no console route, 405 for
 * another method, 400 for a malformed path segment or query parameter,
 * else 200 with the path's project, userId and file name copied (ID_MAX + 1,
 * ID_MAX + 1 and 256 bytes; "" when the route has none), each valid. */
int con_parse_request(const char *method, const char *path, const char *query, char *project,
		      char *user, char *name);
/* Forgets what the console cached (the funnels), so the next call computes. */
void con_forget(struct console *c);

/* The page's Content-Security-Policy. */
#define CON_CSP                                                                               \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " \
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

#endif
