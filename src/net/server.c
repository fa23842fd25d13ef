/* server: the libwebsockets front end: its context and callback, TLS,
 * signals and graceful shutdown; HTTP requests are in server_http.c, the
 * websockets in server_ws.c (server_int.h). Everything runs on the I/O
 * thread except net_server_stop/reload (flags + wake-up). */
#include "net/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "net/server_int.h"
#include "net/stream.h"
#include "session/sess_conn.h"

static struct net_server *running; /* for the signal handlers */

void net_config_defaults(struct net_config *c)
{
	memset(c, 0, sizeof *c);
	c->host = "127.0.0.1";
	c->port = 5000;
	c->data_dir = "data";
	c->grace_s = -1;
	c->max_http_body = 1 << 20;
	c->max_sessions = 2000;
	c->handle_signals = true;
}

static void lws_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_emit(level == LLL_ERR ? LOG_ERROR : LOG_WARN, "net", "libwebsockets", "detail=\"%.*s\"",
		 (int)n, line);
}

void net__wake_ctx(void *ctx)
{
	lws_cancel_service(ctx);
}

/* ------------------------------------------------------------ callback ---- */

/* A stop request with draining set: the first starts the drain; the drain
 * ends with the last session, at its deadline or at a second request.
 * Returns true while the server drains (no shutdown yet). */
static bool drain(struct net_server *srv, int requests)
{
	if ((srv->drain_s <= 0 && !srv->drain_fn) || srv->stopping)
		return false;
	int64_t now = clock_mono_ns();
	if (!srv->draining) {
		srv->draining = true;
		srv->drain_deadline = now + (int64_t)srv->drain_s * 1000000000;
		log_info("net", "draining", "sessions=%zu grace_s=%d", sess__live(srv->m),
			 srv->drain_s);
		if (srv->drain_fn)
			srv->drain_fn(srv->drain_user);
	}
	size_t live = sess__live(srv->m);
	if (live > 0 && requests < 2 && now < srv->drain_deadline)
		return true;
	if (live > 0) {
		log_info("net", "drain over: sessions moved", "sessions=%zu", live);
		sess__end_all(srv->m, SESS_END_DRAINED);
	}
	return false;
}

static void check_requests(struct net_server *srv)
{
	if (atomic_exchange(&srv->reload_req, 0))
		net_server_reload_tls(srv);
	int requests = atomic_load(&srv->stop_req);
	if (requests && !srv->stopping && !drain(srv, requests)) {
		srv->stopping = true;
		srv->stop_deadline = clock_mono_ns() + (int64_t)NET_SHUTDOWN_S * 1000000000;
		log_info("net", "shutting down", "sessions=%zu", sess__live(srv->m));
		sess__shutdown(srv->m);
	}
	if (srv->stopping) {
		sess__drain_wakes(srv->m, net__on_wake, srv);
		if (srv->nconns == 0 || clock_mono_ns() > srv->stop_deadline)
			srv->finished = true;
	}
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct net_conn *c = user;
	struct lws_context *ctx = lws_get_context(wsi);
	struct net_server *srv = ctx ? lws_context_user(ctx) : NULL;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (srv && srv->m) {
			sess__drain_wakes(srv->m, net__on_wake, srv);
			for (struct net_conn *h = srv->streams; h; h = h->snext)
				if (http_stream_signalled(h->resp.stream))
					lws_callback_on_writable(h->wsi);
			check_requests(srv);
		}
		return 0;

	case LWS_CALLBACK_HTTP:
		return net__http_begin(c, srv, wsi);
	case LWS_CALLBACK_HTTP_BODY:
		return net__http_body(c, wsi, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return net__http_body_done(c, wsi);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return net__http_write(c, wsi);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (c && !c->is_ws && c->srv)
			net__http_reset(c);
		return 0;

	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return net__confirm_upgrade(srv, wsi, in);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* Checked at the upgrade already (HTTP/1.1); HTTP/2 comes here only. */
		return srv->stopping || !net__ws_path_ok(srv, wsi) ? 1 : 0;
	case LWS_CALLBACK_ESTABLISHED:
		net__ws_open(c, srv, wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return net__ws_receive(c, wsi, in, len);
	case LWS_CALLBACK_RECEIVE_PONG:
		net__ws_pong(c, in, len);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return net__ws_writable(c, wsi);
	case LWS_CALLBACK_CLOSED:
		net__ws_closed(c);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* -------------------------------------------------------------- server ---- */

static void on_signal(int sig)
{
	struct net_server *srv = running;
	if (!srv)
		return;
	if (sig == SIGHUP)
		atomic_store(&srv->reload_req, 1);
	else
		atomic_fetch_add(&srv->stop_req, 1);
	lws_cancel_service(srv->ctx);
}

/* Checks that HOST:PORT can be bound (IPv4 literals only; others are left to
 * libwebsockets), so the common "address in use" gets a precise message. */
static int can_bind(const char *host, int port, char *err, size_t errlen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (port <= 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	if (rc < 0)
		snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
	close(fd);
	return rc < 0 ? -1 : 0;
}

struct net_server *net_server_new(const struct net_config *cfg, char *err, size_t errlen)
{
	struct net_server *srv = calloc(1, sizeof *srv);
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->c = *cfg;
	/* The websocket limits: the open project's, or (hippo serve: any
	 * project's websocket) the config layer's defaults. */
	struct cfg defaults;
	cfg_defaults(&defaults);
	const struct cfg_trial *lim = cfg->open_project ? &cfg->open_project->trial : &defaults.trial;
	srv->max_msg = cfg->max_message_bytes ? cfg->max_message_bytes : lim->max_message_bytes;
	srv->max_rate = cfg->max_messages_per_s ? cfg->max_messages_per_s : lim->max_messages_per_s;
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		snprintf(err, errlen, "TLS needs both a certificate and a key");
		free(srv);
		return NULL;
	}
	for (const char *f = cfg->tls_cert; f; f = f == cfg->tls_cert ? cfg->tls_key : NULL)
		if (access(f, R_OK) < 0) {
			snprintf(err, errlen, "%s: %s", f, strerror(errno));
			free(srv);
			return NULL;
		}

	if (can_bind(srv->c.host, cfg->port, err, errlen) < 0) {
		free(srv);
		return NULL;
	}
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	srv->protocols[0] = (struct lws_protocols){
		.name = "hippo",
		.callback = callback,
		.per_session_data_size = sizeof(struct net_conn),
		.rx_buffer_size = 0,
	};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = cfg->port;
	info.iface = srv->c.host;
	info.protocols = srv->protocols;
	info.user = srv;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	info.count_threads = 1;
	info.timeout_secs = 30;
	info.max_http_header_data = 8192; /* long study URLs (crowd-platform ids) */
	info.keepalive_timeout = 30;
	if (cfg->tls_cert) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg->tls_cert;
		info.ssl_private_key_filepath = cfg->tls_key;
	}
	/* Workers must not take the process signals: block them while they start. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	srv->ctx = lws_create_context(&info);
	if (!srv->ctx) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		snprintf(err, errlen, "cannot listen on %s:%d (address in use, or bad TLS files?)",
			 srv->c.host, cfg->port);
		free(srv);
		return NULL;
	}
	srv->vh = lws_get_vhost_by_name(srv->ctx, "default");
	srv->port = srv->vh ? lws_get_vhost_listen_port(srv->vh) : cfg->port;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct sess_mgr_config mc = {
		.data_dir = srv->c.data_dir,
		.open_project = cfg->open_project,
		.workers = cfg->workers > 0 ? cfg->workers : (ncpu > 0 ? (int)ncpu : 1),
		.grace_s = cfg->grace_s,
		.max_sessions = cfg->max_sessions,
		.headroom = LWS_PRE,
		.wake = net__wake_ctx,
		.wake_user = srv->ctx,
	};
	srv->m = sess__mgr_new(&mc, err, errlen);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!srv->m) {
		lws_context_destroy(srv->ctx);
		free(srv);
		return NULL;
	}
	signal(SIGPIPE, SIG_IGN);
	/* From here on a SIGTERM stops the server cleanly, also one that arrives
	 * before net_server_run (the caller prints its "listening" line in
	 * between): the loop sees the request at once. The handlers stay
	 * installed after the loop (a second SIGTERM during the last flushes is
	 * ignored rather than fatal); they act only while a server exists. */
	if (srv->c.handle_signals) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		running = srv;
	}
	return srv;
}

void net_server_add_handler(struct net_server *s, http_handler_fn fn, void *user)
{
	if (s->nhandlers < NET_MAX_HANDLERS)
		s->handlers[s->nhandlers++] = (struct handler){fn, user};
}

struct sess_mgr *net_server_sessions(struct net_server *s)
{
	return s->m;
}

int net_server_port(const struct net_server *s)
{
	return s->port;
}

void net_server_set_drain(struct net_server *s, int seconds, void (*fn)(void *user), void *user)
{
	s->drain_s = seconds > 0 ? seconds : 0;
	s->drain_fn = fn;
	s->drain_user = user;
}

void net_server_stop(struct net_server *s)
{
	atomic_fetch_add(&s->stop_req, 1);
	lws_cancel_service(s->ctx);
}

/* The file at PATH (at most 1 MiB), NUL-terminated, or NULL. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b;
	buf_init(&b, 1u << 20);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && buf_append(&b, chunk, n) == 0)
		;
	fclose(f);
	char *s = buf_detach(&b, len);
	buf_free(&b);
	return s;
}

int net_server_reload_tls(struct net_server *s)
{
	if (!s->c.tls_cert)
		return 0;
	size_t cl = 0, kl = 0;
	char *cert = slurp(s->c.tls_cert, &cl), *key = slurp(s->c.tls_key, &kl);
	int rc = -1;
	if (cert && key && cl && kl)
		rc = lws_tls_cert_updated(s->ctx, s->c.tls_cert, s->c.tls_key, cert, cl, key, kl);
	if (rc)
		log_error("net", "TLS reload failed; keeping the old certificate", "cert=%s",
			  s->c.tls_cert);
	else
		log_info("net", "TLS certificate reloaded", "cert=%s", s->c.tls_cert);
	if (key)
		explicit_bzero(key, kl);
	free(cert);
	free(key);
	return rc ? -1 : 0;
}

int net_server_run(struct net_server *s)
{
	lws_sul_schedule(s->ctx, 0, &s->sul, net__on_second, LWS_US_PER_SEC);
	int rc = 0;
	while (!s->finished) {
		if (lws_service(s->ctx, 0) < 0) {
			rc = -1;
			break;
		}
		check_requests(s);
	}
	lws_sul_cancel(&s->sul);
	if (running == s)
		running = NULL;
	return rc;
}

void net_server_free(struct net_server *s)
{
	if (!s)
		return;
	/* Streamed answers first: their producers stop (their writes fail) and
	 * never wake the context again. Then sessions (they end and flush), then
	 * the sockets. */
	while (s->streams)
		net__http_reset(s->streams);
	for (struct net_conn *c = s->conns; c; c = c->next)
		c->s = NULL;
	sess__mgr_free(s->m);
	s->m = NULL;
	lws_context_destroy(s->ctx);
	free(s);
}
