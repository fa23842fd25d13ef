/* bench trial: a load generator for the trial server. It plays N participants
 * over websockets with the original (v1) protocol: handshake, wait for the
 * first frame, "start", an action every 10 frames, and measures for T seconds
 * once every session has started:
 *   - sessions opened and playing,
 *   - frames per second per session (min / median),
 *   - inter-frame gaps over all sessions (p50 / p99 / max),
 *   - first-frame latency (handshake sent -> first frame received),
 *   - with --pid, the server's CPU (cores used) and RSS (total and per session
 *     above the RSS before the sessions connected), from /proc.
 * One libwebsockets client context, one thread.
 *
 * Against `hippo serve` (--next): each participant first asks /next for its
 * game session; with --spectators K the researcher console is open during
 * the measurement (its live-sessions stream, /api/live) and K spectators
 * watch the first K participants (/api/.../spectate), read by a thread of
 * their own; their frame rate is reported too (docs/console.md). */
#include <libwebsockets.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "core/clock.h"
#include "core/opt.h"

static const char *o_url = "ws://127.0.0.1:5000/";
static int o_sessions = 20;
static double o_seconds = 10;
static const char *o_project = "bench";
static int o_pid;
static int o_ramp_ms = 10;
static bool o_binary;
static bool o_next;
static int o_spectators;
static const char *o_token_file;

static const struct opt opts[] = {
	{"url", OPT_STRING, &o_url, "URL", "trial server websocket URL (ws:// or wss://)", 0, 0},
	{"sessions", OPT_INT, &o_sessions, "N", "participants to play at once", 1, 5000},
	{"seconds", OPT_DOUBLE, &o_seconds, "T", "measurement time once all sessions play", 1,
	 3600},
	{"project", OPT_STRING, &o_project, "ID", "projectId sent in the handshake", 0, 0},
	{"pid", OPT_INT, &o_pid, "PID", "server process id: report its CPU and RSS", 0,
	 1 << 30},
	{"ramp-ms", OPT_INT, &o_ramp_ms, "MS", "delay between two connections", 0, 10000},
	{"binary", OPT_FLAG, &o_binary, NULL, "ask for binary frames (hippo extension)", 0, 0},
	{"next", OPT_FLAG, &o_next, NULL,
	 "hippo serve: allocate each participant's session with GET /next first", 0, 0},
	{"spectators", OPT_INT, &o_spectators, "K",
	 "with --next: the console's live stream open and K spectators of the first K "
	 "participants (admin token from HIPPO_ADMIN_TOKEN or --token-file)",
	 0, 100},
	{"token-file", OPT_STRING, &o_token_file, "FILE", "the admin token (first line)", 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "bench trial",
	.args = "",
	.summary = "load generator: N websocket participants against a trial server",
	.min_pos = 0,
	.max_pos = 0,
	.opts = opts,
};

enum { SEND_NONE = 0, SEND_HANDSHAKE, SEND_START, SEND_ACTION };

struct bsess {
	int id;
	struct lws *wsi;
	bool connected, failed, closed, started;
	int pending;
	double t_hs, t_first, t_last;
	long frames, frames_window;
	bool in_msg;
};

struct bench {
	struct lws_context *ctx;
	struct bsess *s;
	int n, connecting_next;
	double t0, next_connect, window_start, window_end;
	bool window_open, done;
	float *gaps;
	size_t ngaps, capgaps;
	lws_sorted_usec_list_t sul;
	char addr[256], path[512];
	int port;
	bool tls;
	double cpu0;
};

static struct bench B;

/* The console's streams: index 0 is /api/live, 1..K spectate participants 0..K-1. */
struct watcher {
	int fd;
	long events, frames_window;
	char tail[16];
};
static struct watcher *W;
static int NW;
static atomic_bool watch_stop, watch_window;
static pthread_t watch_th;
static char token[512];

static bool watch_started;
static int open_stream(int k);
static void *watch_main(void *arg);

/* utime+stime of PID in seconds, or -1. */
static double proc_cpu(int pid)
{
	char path[64], buf[2048];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	unsigned long ut = 0, st = 0;
	/* fields after the command: state(3) ... utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double proc_rss_mb(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	double mb = -1;
	while (fgets(line, sizeof line, f)) {
		long kb;
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			mb = kb / 1024.0;
	}
	fclose(f);
	return mb;
}

static void add_gap(double g)
{
	if (B.ngaps == B.capgaps) {
		size_t cap = B.capgaps ? B.capgaps * 2 : 65536;
		float *p = realloc(B.gaps, cap * sizeof *p);
		if (!p)
			return;
		B.gaps = p;
		B.capgaps = cap;
	}
	B.gaps[B.ngaps++] = (float)g;
}

static void on_frame(struct bsess *s)
{
	double t = clock_mono_s();
	s->frames++;
	if (s->frames == 1) {
		s->t_first = t;
		s->pending = SEND_START;
		lws_callback_on_writable(s->wsi);
	} else if (s->started && B.window_open && t >= B.window_start && t <= B.window_end) {
		s->frames_window++;
		add_gap((t - s->t_last) * 1000.0);
	}
	s->t_last = t;
	if (s->started && s->frames % 10 == 0) {
		s->pending = SEND_ACTION;
		lws_callback_on_writable(s->wsi);
	}
}

static int send_text(struct lws *wsi, const char *text)
{
	unsigned char buf[LWS_PRE + 256];
	size_t n = strlen(text);
	memcpy(buf + LWS_PRE, text, n);
	return lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct bsess *s = user;
	char msg[256];
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		s->connected = true;
		s->pending = SEND_HANDSHAKE;
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		switch (s->pending) {
		case SEND_HANDSHAKE:
			snprintf(msg, sizeof msg, "{\"userId\":\"bench-%d-%ld\",\"projectId\":\"%s\"%s}",
				 s->id, (long)getpid(), o_project,
				 o_binary ? ",\"accept\":[\"binary\"]" : "");
			s->t_hs = clock_mono_s();
			break;
		case SEND_START:
			snprintf(msg, sizeof msg, "{\"command\":\"start\"}");
			s->started = true;
			break;
		case SEND_ACTION:
			snprintf(msg, sizeof msg, "{\"actionType\":\"bench\",\"action\":\"%s\"}",
				 (s->frames / 10) % 2 ? "left" : "right");
			break;
		default:
			return 0;
		}
		s->pending = SEND_NONE;
		return send_text(wsi, msg);
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!s->in_msg) {
			s->in_msg = true;
			bool frame = lws_frame_is_binary(wsi) ||
				     (len >= 10 && memcmp(in, "{\"frameId\"", 10) == 0) ||
				     (len >= 9 && memcmp(in, "{\"frame\":", 9) == 0);
			if (len == 4 && memcmp(in, "done", 4) == 0)
				s->closed = true;
			if (frame)
				on_frame(s);
		}
		if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
			s->in_msg = false;
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (s)
			s->failed = true;
		fprintf(stderr, "bench trial: connection error: %s\n",
			in ? (const char *)in : "(none)");
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (s)
			s->closed = true;
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{"bench", callback, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static void connect_one(int i)
{
	struct bsess *s = &B.s[i];
	s->id = i;
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = B.ctx;
	ci.address = B.addr;
	ci.port = B.port;
	ci.path = B.path;
	ci.host = B.addr;
	ci.origin = B.addr;
	ci.ssl_connection = B.tls ? LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED |
					    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK
				  : 0;
	ci.protocol = NULL;
	ci.userdata = s;
	ci.pwsi = &s->wsi;
	if (!lws_client_connect_via_info(&ci))
		s->failed = true;
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
	double t = clock_mono_s();
	while (B.connecting_next < B.n && t >= B.next_connect) {
		connect_one(B.connecting_next++);
		B.next_connect += o_ramp_ms / 1000.0;
	}
	if (!B.window_open && B.connecting_next == B.n) {
		bool all = true;
		for (int i = 0; i < B.n; i++)
			if (!B.s[i].started && !B.s[i].failed && !B.s[i].closed)
				all = false;
		if (all || t - B.t0 > 30 + B.n * o_ramp_ms / 1000.0) {
			B.window_open = true;
			B.window_start = t + 1.0; /* one second to settle */
			B.window_end = B.window_start + o_seconds;
			for (int i = 0; i < B.n; i++)
				B.s[i].t_last = t;
		}
	}
	if (B.window_open && B.window_start > 0 && o_pid && B.cpu0 == 0 && t >= B.window_start)
		B.cpu0 = proc_cpu(o_pid);
	if (B.window_open && NW && t >= B.window_start && t <= B.window_end)
		atomic_store(&watch_window, true);
	if (B.window_open && NW && t > B.window_end)
		atomic_store(&watch_window, false);
	if (B.window_open && NW && !watch_started && t >= B.window_start - 1.0) {
		/* the console opens once every session plays, before the window */
		for (int k = 0; k < NW; k++)
			if ((W[k].fd = open_stream(k)) < 0)
				fprintf(stderr, "bench trial: cannot open console stream %d\n", k);
		watch_started = pthread_create(&watch_th, NULL, watch_main, NULL) == 0;
	}
	if (B.window_open && t > B.window_end)
		B.done = true;
	lws_sul_schedule(B.ctx, 0, &B.sul, on_tick, 20 * LWS_US_PER_MS);
}

/* ---- hippo serve: /next and the console's streams (plain blocking sockets) ---- */

static int tcp_connect(const char *host, int port)
{
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(host, ps, &hints, &ai) != 0)
		return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int send_all(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* GET /next for participant I: its session is allocated at the game step. */
static int next_get(int i)
{
	char req[512], buf[4096];
	int fd = tcp_connect(B.addr, B.port);
	if (fd < 0)
		return -1;
	snprintf(req, sizeof req,
		 "GET /next?projectId=%s&userId=bench-%d-%ld HTTP/1.1\r\nHost: %s\r\n"
		 "Connection: close\r\n\r\n",
		 o_project, i, (long)getpid(), B.addr);
	int rc = send_all(fd, req);
	size_t got = 0;
	ssize_t r;
	while (rc == 0 && got < sizeof buf - 1 && (r = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
		got += (size_t)r;
	buf[got] = '\0';
	close(fd);
	return rc == 0 && (strstr(buf, "show_game_page") || strstr(buf, "\"wait\"")) ? 0 : -1;
}

static int open_stream(int k)
{
	char req[2048], path[256];
	if (k == 0)
		snprintf(path, sizeof path, "/api/live");
	else
		snprintf(path, sizeof path, "/api/projects/%s/participants/bench-%d-%ld/spectate",
			 o_project, k - 1, (long)getpid());
	int fd = tcp_connect(B.addr, B.port);
	if (fd < 0)
		return -1;
	snprintf(req, sizeof req,
		 "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", path,
		 B.addr, token);
	if (send_all(fd, req) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Counts the events of each stream ("event: frame" for spectators,
 * "event: sessions" for the live list) as they are read. */
static void *watch_main(void *arg)
{
	(void)arg;
	struct pollfd *pf = calloc((size_t)NW, sizeof *pf);
	char buf[65536 + 16];
	while (pf && !atomic_load(&watch_stop)) {
		for (int k = 0; k < NW; k++)
			pf[k] = (struct pollfd){.fd = W[k].fd, .events = POLLIN};
		if (poll(pf, (nfds_t)NW, 100) <= 0)
			continue;
		for (int k = 0; k < NW; k++) {
			if (!(pf[k].revents & (POLLIN | POLLHUP)))
				continue;
			size_t carry = strlen(W[k].tail);
			memcpy(buf, W[k].tail, carry);
			ssize_t r = recv(W[k].fd, buf + carry, sizeof buf - carry - 1, 0);
			if (r <= 0) {
				W[k].fd = -1;
				continue;
			}
			size_t n = carry + (size_t)r;
			buf[n] = '\0';
			const char *want = k == 0 ? "event: sessions" : "event: frame";
			for (char *p = buf; (p = memmem(p, (size_t)(buf + n - p), want, strlen(want)));
			     p += strlen(want)) {
				W[k].events++;
				if (atomic_load(&watch_window))
					W[k].frames_window++;
			}
			size_t keep = n < 15 ? n : 15;
			memcpy(W[k].tail, buf + n - keep, keep);
			W[k].tail[keep] = '\0';
		}
	}
	free(pf);
	return NULL;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

static int run(int argc, char **argv)
{
	int npos;
	int rc = opt_parse(&spec, argc, argv, &npos);
	if (rc != OPT_OK)
		return rc;
	char url[1024];
	snprintf(url, sizeof url, "%s", o_url);
	const char *prot, *addr, *path;
	int port;
	if (lws_parse_uri(url, &prot, &addr, &port, &path)) {
		fprintf(stderr, "bench trial: bad URL %s\n", o_url);
		return 2;
	}
	B.tls = strcmp(prot, "wss") == 0;
	if (!B.tls && strcmp(prot, "ws") != 0) {
		fprintf(stderr, "bench trial: the URL must be ws:// or wss://\n");
		return 2;
	}
	snprintf(B.addr, sizeof B.addr, "%s", addr);
	snprintf(B.path, sizeof B.path, "/%s", path);
	B.port = port;
	B.n = o_sessions;
	B.s = calloc((size_t)B.n, sizeof *B.s);
	if (!B.s)
		return 1;
	double rss0 = o_pid ? proc_rss_mb(o_pid) : -1;
	if (o_spectators && !o_next) {
		fprintf(stderr, "bench trial: --spectators needs --next (hippo serve)\n");
		return 2;
	}
	if (o_spectators) {
		const char *env = getenv("HIPPO_ADMIN_TOKEN");
		FILE *tf = o_token_file ? fopen(o_token_file, "r") : NULL;
		if (tf) {
			if (!fgets(token, sizeof token, tf))
				token[0] = '\0';
			fclose(tf);
			token[strcspn(token, "\r\n")] = '\0';
		} else if (env) {
			snprintf(token, sizeof token, "%s", env);
		}
		if (!token[0]) {
			fprintf(stderr, "bench trial: --spectators needs the admin token\n");
			return 2;
		}
		NW = 1 + (o_spectators < B.n ? o_spectators : B.n);
		W = calloc((size_t)NW, sizeof *W);
		for (int k = 0; W && k < NW; k++)
			W[k].fd = -1;
	}
	if (o_next) {
		int bad = 0;
		for (int i = 0; i < B.n; i++)
			bad += next_get(i) < 0;
		if (bad)
			fprintf(stderr, "bench trial: %d participants got no game session from /next\n",
				bad);
	}

	lws_set_log_level(LLL_ERR, NULL);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = (unsigned)(B.n + 64);
	if (B.tls)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	B.ctx = lws_create_context(&info);
	if (!B.ctx) {
		fprintf(stderr, "bench trial: cannot create the client context\n");
		return 1;
	}
	B.t0 = B.next_connect = clock_mono_s();
	lws_sul_schedule(B.ctx, 0, &B.sul, on_tick, 1);
	while (!B.done && lws_service(B.ctx, 0) >= 0)
		;
	double cpu1 = o_pid ? proc_cpu(o_pid) : -1;
	double rss1 = o_pid ? proc_rss_mb(o_pid) : -1;
	double wall = B.window_end - B.window_start;

	int opened = 0, playing = 0;
	double *fps = calloc((size_t)B.n, sizeof *fps);
	double *ffl = calloc((size_t)B.n, sizeof *ffl);
	int nf = 0, nl = 0;
	for (int i = 0; i < B.n; i++) {
		struct bsess *s = &B.s[i];
		opened += s->connected;
		if (s->t_first > 0)
			ffl[nl++] = (s->t_first - s->t_hs) * 1000.0;
		if (s->started && !s->failed) {
			playing++;
			fps[nf++] = s->frames_window / wall;
		}
	}
	bench_sort(fps, (size_t)nf);
	bench_sort(ffl, (size_t)nl);
	qsort(B.gaps, B.ngaps, sizeof *B.gaps, cmp_float);
#define PCT(a, n, p) ((n) ? (a)[bench_rank((n), (p) * 100.0)] : 0) /* doubles or floats */
	printf("hippo bench trial: %s, %d sessions, %.1f s measured%s\n", o_url, B.n, wall,
	       o_binary ? ", binary frames" : "");
	printf("  sessions opened        %d (playing %d)\n", opened, playing);
	printf("  fps per session        min %.2f  median %.2f\n", nf ? fps[0] : 0.0,
	       PCT(fps, (size_t)nf, 0.5));
	printf("  inter-frame gap (ms)   p50 %.1f  p99 %.1f  max %.1f  (%zu gaps)\n",
	       (double)PCT(B.gaps, B.ngaps, 0.5), (double)PCT(B.gaps, B.ngaps, 0.99),
	       B.ngaps ? (double)B.gaps[B.ngaps - 1] : 0.0, B.ngaps);
	printf("  first frame (ms)       median %.1f  max %.1f\n", PCT(ffl, (size_t)nl, 0.5),
	       nl ? ffl[nl - 1] : 0.0);
	if (o_pid && cpu1 >= 0 && B.cpu0 > 0) {
		double cores = (cpu1 - B.cpu0) / wall;
		printf("  server CPU             %.3f cores (%.4f per session)\n", cores,
		       playing ? cores / playing : 0.0);
		printf("  server RSS             %.1f MB (%.2f MB per session above %.1f MB before)\n",
		       rss1, playing ? (rss1 - rss0) / playing : 0.0, rss0);
	}
	if (NW) {
		atomic_store(&watch_stop, true);
		if (watch_started)
			pthread_join(watch_th, NULL);
		double lo = 1e9, sum = 0;
		for (int k = 1; k < NW; k++) {
			double f = W[k].frames_window / wall;
			sum += f;
			lo = f < lo ? f : lo;
		}
		printf("  console open           live stream: %ld updates (%.2f a second)\n",
		       W[0].frames_window, W[0].frames_window / wall);
		printf("  spectators             %d: frames shown per second min %.2f  mean %.2f\n",
		       NW - 1, NW > 1 ? lo : 0.0, NW > 1 ? sum / (NW - 1) : 0.0);
		for (int k = 0; k < NW; k++)
			if (W[k].fd >= 0)
				close(W[k].fd);
		free(W);
	}
	lws_sul_cancel(&B.sul);
	lws_context_destroy(B.ctx);
	free(fps);
	free(ffl);
	free(B.gaps);
	free(B.s);
	return playing == B.n ? 0 : 1;
}

const struct bench_kind bench_trial = {"trial", "trial server load: N websocket participants",
				       run};
