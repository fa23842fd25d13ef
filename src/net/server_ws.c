/* server_ws: the websocket connections of the trial protocol on the I/O
 * thread. Complete text messages go to the session layer (sess_conn.h), which
 * parses them: the first must be the handshake. What the session has to say
 * is written when the socket is writable: control messages, then the newest
 * frame. Limits: message size and time to complete, messages per second,
 * the handshake within 30 s; pings measure the round trip. Close codes:
 * net/ws_close.h. */
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/server_int.h"
#include "session/sess_conn.h"

static void conn_close(struct net_conn *c, enum ws_close code, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_code = code;
	/* A close frame's reason is short: cut a long one. */
	snprintf(c->close_reason, sizeof c->close_reason, "%.*s", (int)sizeof c->close_reason - 1,
		 reason);
	lws_callback_on_writable(c->wsi);
}

void net__on_wake(void *conn, void *user)
{
	struct net_conn *c = conn;
	lws_callback_on_writable(c->wsi);
}

/* Token bucket per connection: max_rate messages per second, bursts of one
 * second. Returns false when the message must be dropped. */
static bool rate_ok(struct net_conn *c)
{
	int rate = c->srv->max_rate;
	int64_t now = clock_mono_ns();
	c->tokens += (double)(now - c->tokens_ns) * rate / 1e9;
	c->tokens_ns = now;
	if (c->tokens > rate)
		c->tokens = rate;
	if (now - c->drops_window_ns > 1000000000) {
		c->drops_window_ns = now;
		c->drops = 0;
	}
	if (c->tokens >= 1) {
		c->tokens -= 1;
		return true;
	}
	c->drops++;
	if (c->drops == 1 && c->s) /* one error per second of flooding */
		sess__error(c->s, "message rate limit exceeded: messages dropped");
	if (c->drops > 100u * (unsigned)rate) /* far beyond any client: hostile */
		conn_close(c, WS_CLOSE_REFUSED, "message rate limit exceeded");
	return false;
}

static void handle_message(struct net_conn *c)
{
	struct net_server *srv = c->srv;
	if (!rate_ok(c))
		return;
	if (c->rx_binary) {
		if (c->s)
			sess__error(c->s, "binary messages are not accepted");
		else
			conn_close(c, WS_CLOSE_BINARY_REFUSED, "binary messages are not accepted");
		return;
	}
	if (c->s) {
		sess__text(c->s, c->rx, c->rx_len);
		return;
	}
	char err[320];
	struct sess *s = NULL;
	void *replaced = NULL;
	enum sess_open o = sess__open(srv->m, c->rx, c->rx_len, c, c->client, &s, &replaced, err,
				      sizeof err);
	if (o == SESS_OPEN_SHUTTING_DOWN) {
		conn_close(c, WS_CLOSE_SHUTTING_DOWN, err);
		return;
	}
	if (o == SESS_OPEN_MOVED) {
		/* the URL when it fits in a close frame's reason, else the UI asks /next */
		conn_close(c, WS_CLOSE_MOVED, strlen(err) < sizeof c->close_reason ? err : "moved");
		return;
	}
	if (o != SESS_OPEN_ATTACHED) {
		conn_close(c, WS_CLOSE_REFUSED, err);
		return;
	}
	c->s = s;
	if (replaced) {
		struct net_conn *old = replaced;
		old->s = NULL;
		conn_close(old, WS_CLOSE_TAKEN_OVER, "replaced by a newer connection of this participant");
	}
	c->next_ping_ns = clock_mono_ns() + 1000000000;
}

int net__ws_receive(struct net_conn *c, struct lws *wsi, const void *in, size_t len)
{
	size_t max = c->srv->max_msg;
	if (!c->rx_open) {
		c->rx_open = true;
		c->rx_start_ns = clock_mono_ns();
	}
	if (c->rx_len == 0 && !c->rx_discard)
		c->rx_binary = lws_frame_is_binary(wsi);
	if (!c->rx_discard && c->rx_len + len > max) {
		lws_close_reason(wsi, (enum lws_close_status)WS_CLOSE_TOO_LARGE,
				 (unsigned char *)"message too large", 17);
		return -1;
	}
	if (buf_grow_array((void **)&c->rx, &c->rx_cap, c->rx_len + len + 1, 1, 1024, 0) < 0)
		return -1;
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
		c->rx[c->rx_len] = '\0';
		c->rx_open = false;
		handle_message(c);
		c->rx_len = 0;
		if (c->rx_cap > 65536) { /* do not keep a large buffer for a small session */
			free(c->rx);
			c->rx = NULL;
			c->rx_cap = 0;
		}
	}
	return 0;
}

int net__ws_writable(struct net_conn *c, struct lws *wsi)
{
	if (c->closing) {
		lws_close_reason(wsi, (enum lws_close_status)c->close_code,
				 (unsigned char *)c->close_reason, strlen(c->close_reason));
		return -1;
	}
	if (c->ping_due) {
		unsigned char buf[LWS_PRE + 8];
		int64_t now = clock_mono_ns();
		memcpy(buf + LWS_PRE, &now, 8);
		c->ping_due = false;
		if (lws_write(wsi, buf + LWS_PRE, 8, LWS_WRITE_PING) < 0)
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (!c->s)
		return 0;
	unsigned char *buf = NULL;
	size_t len = 0;
	bool more = false;
	enum sess_out o = sess__next_output(c->s, c, &buf, &len, &more);
	log_debug("net", "writable", "out=%d len=%zu more=%d", (int)o, len, (int)more);
	if (o == SESS_OUT_CLOSE) {
		lws_close_reason(wsi, (enum lws_close_status)WS_CLOSE_DONE, (unsigned char *)"done", 4);
		return -1;
	}
	if (o == SESS_OUT_CLOSE_RETRY) {
		lws_close_reason(wsi, (enum lws_close_status)WS_CLOSE_REFUSED,
				 (unsigned char *)"please try again", 16);
		return -1;
	}
	if (o == SESS_OUT_TEXT || o == SESS_OUT_BINARY) {
		if (lws_write(wsi, buf, len, o == SESS_OUT_TEXT ? LWS_WRITE_TEXT : LWS_WRITE_BINARY) <
		    (int)len)
			return -1;
	}
	if (more)
		lws_callback_on_writable(wsi);
	return 0;
}

static void conn_unlink(struct net_conn *c)
{
	struct net_server *srv = c->srv;
	if (!c->is_ws)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else if (srv->conns == c)
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->is_ws = false;
	srv->nconns--;
}

void net__on_second(lws_sorted_usec_list_t *sul)
{
	struct net_server *srv = lws_container_of(sul, struct net_server, sul);
	int64_t now = clock_mono_ns();
	for (struct net_conn *c = srv->conns; c; c = c->next) {
		if (!c->s && !c->closing && now - c->opened_ns > (int64_t)NET_HANDSHAKE_S * 1000000000)
			conn_close(c, WS_CLOSE_REFUSED, "no handshake");
		/* A message left incomplete (a fragment or a frame's payload that
		 * never ends) would hold its buffer and the connection forever. */
		if (c->rx_open && !c->closing &&
		    now - c->rx_start_ns > (int64_t)NET_MESSAGE_S * 1000000000)
			conn_close(c, WS_CLOSE_REFUSED, "message incomplete for too long");
		if (c->s && now >= c->next_ping_ns) {
			c->ping_due = true;
			c->next_ping_ns = now + (int64_t)NET_PING_S * 1000000000;
			lws_callback_on_writable(c->wsi);
		}
	}
	lws_sul_schedule(srv->ctx, 0, &srv->sul, net__on_second, LWS_US_PER_SEC);
}

/* ---- the callback's cases ---- */

void net__ws_open(struct net_conn *c, struct net_server *srv, struct lws *wsi)
{
	memset(c, 0, sizeof *c);
	c->srv = srv;
	c->wsi = wsi;
	c->is_ws = true;
	c->opened_ns = clock_mono_ns();
	c->tokens = srv->max_rate;
	c->tokens_ns = c->opened_ns;
	char peer[64], xff[256], addr[64];
	peer[0] = '\0';
	lws_get_peer_simple(wsi, peer, sizeof peer);
	bool fwd = srv->c.trust_proxy &&
		   lws_hdr_copy(wsi, xff, sizeof xff, WSI_TOKEN_X_FORWARDED_FOR) > 0;
	snprintf(c->client, sizeof c->client, "%s",
		 http_client_addr(fwd ? xff : NULL, peer, addr, sizeof addr));
	/* Keep the kernel's unsent queue short: the socket reports writable only
	 * below this many unsent bytes, so a slow reader makes frames wait in the
	 * session's one-frame slot (where a newer frame replaces them) rather
	 * than in the socket. Throughput is not limited (this is not SO_SNDBUF). */
	int fd = lws_get_socket_fd(wsi), lowat = NET_NOTSENT_LOWAT;
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
}

void net__ws_pong(struct net_conn *c, const void *in, size_t len)
{
	if (!c->s || len != 8)
		return;
	int64_t sent;
	memcpy(&sent, in, 8);
	double rtt = (double)(clock_mono_ns() - sent) / 1e6;
	if (rtt >= 0 && rtt < 600000)
		sess__rtt(c->s, rtt);
}

void net__ws_closed(struct net_conn *c)
{
	if (c->s)
		sess__detach(c->s, c);
	c->s = NULL;
	conn_unlink(c);
	free(c->rx);
	c->rx = NULL;
}
