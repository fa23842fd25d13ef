/* A cluster node's probe (src/cluster/probe.h) against real sockets on
 * 127.0.0.1: any HTTP answer is alive (503 "draining" too, a long body too),
 * a refused connection, a connection closed without an answer and one that
 * never answers are dead, a URL that is no internal URL is never requested;
 * several nodes are probed in one call. And which URLs count as internal. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/probe.h"
#include "test.h"

enum mode { ANSWER_503, ANSWER_LONG, CLOSE_AT_ONCE, SILENT };

struct server {
	int fd, port;
	enum mode mode;
	pthread_t th;
	char first_line[256]; /* of the last request read */
	int accepted;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	s->accepted++;
	if (s->mode == CLOSE_AT_ONCE) {
		close(c);
		return NULL;
	}
	char req[2048];
	size_t n = 0;
	while (n < sizeof req - 1) {
		ssize_t r = read(c, req + n, sizeof req - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[n] = '\0';
	snprintf(s->first_line, sizeof s->first_line, "%.*s", (int)strcspn(req, "\r\n"), req);
	if (s->mode == SILENT) {
		char b[256];
		while (read(c, b, sizeof b) > 0) /* until the prober gives up */
			;
		close(c);
		return NULL;
	}
	if (s->mode == ANSWER_503) {
		const char *a = "HTTP/1.1 503 Service Unavailable\r\n"
				"Content-Type: application/json\r\n"
				"Content-Length: 21\r\nConnection: close\r\n\r\n"
				"{\"status\":\"draining\"}";
		if (write(c, a, strlen(a)) < 0)
			CHECK(0);
	} else {
		const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n"
				"Connection: close\r\n\r\n";
		if (write(c, h, strlen(h)) < 0)
			CHECK(0);
		static char body[100000];
		memset(body, 'x', sizeof body);
		ssize_t w = write(c, body, sizeof body); /* the prober may stop reading: fine */
		(void)w;
	}
	close(c);
	return NULL;
}

static void start(struct server *s, enum mode mode)
{
	memset(s, 0, sizeof *s);
	s->mode = mode;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	CHECK(bind(s->fd, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(listen(s->fd, 4) == 0);
	CHECK(getsockname(s->fd, (struct sockaddr *)&a, &len) == 0);
	s->port = ntohs(a.sin_port);
	CHECK(pthread_create(&s->th, NULL, serve, s) == 0);
}

static void stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->fd);
}

/* A port nothing listens on (bound, then released). */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void internal_urls(void)
{
	CHECK(probe_url_valid("http://10.0.0.7:8080", 255));
	CHECK(probe_url_valid("https://node-1.internal/base/", 255));
	CHECK(probe_url_valid("http://[::1]:8080", 255));
	CHECK(!probe_url_valid(NULL, 255));
	CHECK(!probe_url_valid("", 255));
	CHECK(!probe_url_valid("ftp://10.0.0.7", 255));
	CHECK(!probe_url_valid("file:///etc/passwd", 255));
	CHECK(!probe_url_valid("gopher://10.0.0.7:70/", 255));
	CHECK(!probe_url_valid("10.0.0.7:8080", 255));
	CHECK(!probe_url_valid("http://", 255));
	CHECK(!probe_url_valid("http:///healthz", 255));
	CHECK(!probe_url_valid("http://:8080", 255));
	CHECK(!probe_url_valid("http://user:pw@10.0.0.7", 255));
	CHECK(!probe_url_valid("http://10.0.0.7/?x=1", 255));
	CHECK(!probe_url_valid("http://10.0.0.7/#x", 255));
	CHECK(!probe_url_valid("http://10.0.0.7 /", 255));
	CHECK(!probe_url_valid("http://10.0.0.7\r\nHost: x", 255));
	CHECK(!probe_url_valid("http://10.0.0.7/\"", 255));
	CHECK(!probe_url_valid("http://10.0.0.7/\\", 255));
	CHECK(!probe_url_valid("http://n\xc3\xb6" "de", 255));
	CHECK(!probe_url_valid("http://10.0.0.7:8080", 10)); /* too long */
}

static void an_answer_is_alive_whatever_it_says(void)
{
	struct server s;
	start(&s, ANSWER_503);
	char base[64];
	snprintf(base, sizeof base, "http://127.0.0.1:%d/base/", s.port);
	struct probe p = {.base = base};
	probe_run(&p, 1, 2000);
	stop(&s);
	CHECK_INT(p.result, PROBE_ALIVE);
	CHECK_INT(p.status, 503);
	CHECK_STR(s.first_line, "GET /base/healthz HTTP/1.1");

	start(&s, ANSWER_LONG);
	snprintf(base, sizeof base, "http://127.0.0.1:%d", s.port);
	p = (struct probe){.base = base};
	probe_run(&p, 1, 2000);
	stop(&s);
	CHECK_INT(p.result, PROBE_ALIVE);
	CHECK_INT(p.status, 200);
	CHECK_STR(s.first_line, "GET /healthz HTTP/1.1");
}

static void no_answer_is_dead(void)
{
	char refused[64], closing[64], silent[64];
	struct server c, q;
	start(&c, CLOSE_AT_ONCE);
	start(&q, SILENT);
	snprintf(refused, sizeof refused, "http://127.0.0.1:%d", closed_port());
	snprintf(closing, sizeof closing, "http://127.0.0.1:%d", c.port);
	snprintf(silent, sizeof silent, "http://127.0.0.1:%d", q.port);
	struct probe v[3] = {{.base = refused}, {.base = closing}, {.base = silent}};
	probe_run(v, 3, 500);
	stop(&c);
	stop(&q);
	CHECK_INT(v[0].result, PROBE_DEAD);
	CHECK_INT(v[1].result, PROBE_DEAD);
	CHECK_INT(v[2].result, PROBE_DEAD);
	CHECK_INT(v[0].status + v[1].status + v[2].status, 0);
	CHECK(v[0].error[0] && v[1].error[0] && v[2].error[0]);
	CHECK_INT(c.accepted, 1);
	CHECK_STR(q.first_line, "GET /healthz HTTP/1.1");
}

static void no_internal_url_no_request(void)
{
	struct server s;
	start(&s, ANSWER_503);
	char base[96];
	/* the listening server's address, but not as an internal URL */
	snprintf(base, sizeof base, "http://x@127.0.0.1:%d", s.port);
	struct probe v[2] = {{.base = base}, {.base = "dict://127.0.0.1:11211/"}};
	probe_run(v, 2, 300);
	/* nothing connected: wake the server thread and check */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s.port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
	const char *req = "GET /by-the-test HTTP/1.1\r\n\r\n";
	CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	char b[256];
	while (read(fd, b, sizeof b) > 0)
		;
	close(fd);
	stop(&s);
	CHECK_INT(s.accepted, 1);
	CHECK_STR(s.first_line, "GET /by-the-test HTTP/1.1");
	CHECK_INT(v[0].result, PROBE_UNKNOWN);
	CHECK_INT(v[1].result, PROBE_UNKNOWN);
	CHECK_STR(v[0].error, "not an internal URL");
}

int main(void)
{
	probe_init();
	RUN(internal_urls);
	RUN(an_answer_is_alive_whatever_it_says);
	RUN(no_answer_is_dead);
	RUN(no_internal_url_no_request);
	return test_summary();
}
