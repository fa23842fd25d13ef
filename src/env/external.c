/* ext_proc: a child process speaking the external-process protocol; see
 * external.h. Failure policy: the first problem wins, kills the process group
 * at once, reaps the child and keeps one sentence for the participant and log. */
#include "env/external.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/childenv.h"
#include "core/clock.h"
#include "core/log.h"
#include "env/external_proto.h"

#define EXT_READ_CHUNK  65536
#define EXT_ERRLINE_MAX 512
#define EXT_CLOSE_GRACE_MS 100
#define EXT_MAX_QUEUED  (1u << 20) /* bytes waiting for the process to read */

struct ext_proc {
	pid_t pid;
	int fd_in, fd_out, fd_err;
	enum ext_state state;
	bool expect_reply;
	int64_t deadline_ms;
	int step_timeout_ms;
	uint8_t *wbuf;
	size_t wlen, woff, wcap;
	struct xp_decoder dec;
	json_t *reply;
	char err[256];
	char ctx[96];
	char eline[EXT_ERRLINE_MAX];
	size_t elen;
};

static void ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- stderr forwarding ---- */

static void emit_line(struct ext_proc *p)
{
	p->eline[p->elen] = '\0';
	if (p->elen)
		log_info("ext", p->eline, "pid=%d%s%s", (int)p->pid, p->ctx[0] ? " " : "", p->ctx);
	p->elen = 0;
}

/* Reads what stderr has without blocking and logs complete lines. */
static void drain_stderr(struct ext_proc *p)
{
	char buf[4096];
	while (p->fd_err >= 0) {
		ssize_t n = read(p->fd_err, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				emit_line(p);
				close_fd(&p->fd_err);
			}
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				emit_line(p);
			} else if (buf[i] != '\r') {
				if (p->elen == sizeof p->eline - 1)
					emit_line(p);
				p->eline[p->elen++] = buf[i];
			}
		}
	}
}

/* ---- lifecycle ---- */

/* Describes how the child ended, waiting up to WAIT_MS for it to exit. Returns
 * true when it was reaped. */
static bool reap(struct ext_proc *p, int wait_ms, char *how, size_t howlen)
{
	int status;
	int64_t until = clock_mono_ms() + wait_ms;
	if (p->pid <= 0)
		return true;
	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid)
			break;
		if (r < 0 && errno != EINTR) {
			p->pid = -1;
			return true;
		}
		if (clock_mono_ms() >= until)
			return false;
		struct timespec ts = {0, 5 * 1000000};
		nanosleep(&ts, NULL);
	}
	if (how && WIFEXITED(status))
		snprintf(how, howlen, "exited with status %d", WEXITSTATUS(status));
	else if (how && WIFSIGNALED(status))
		snprintf(how, howlen, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	p->pid = -1;
	return true;
}

static void kill_and_reap(struct ext_proc *p)
{
	if (p->pid > 0) {
		kill(-p->pid, SIGKILL); /* the whole group: helpers the process started too */
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		p->pid = -1;
	}
}

void ext_proc_fail(struct ext_proc *p, const char *msg)
{
	if (p->state == EXT_FAILED)
		return;
	snprintf(p->err, sizeof p->err, "%s", msg);
	p->state = EXT_FAILED;
	drain_stderr(p);
	emit_line(p);
	kill_and_reap(p);
	close_fd(&p->fd_in);
	close_fd(&p->fd_out);
	close_fd(&p->fd_err);
	log_warn("ext", "external process failed", "reason=\"%s\"%s%s", p->err, p->ctx[0] ? " " : "",
		 p->ctx);
}

/* The process's output ended: say how it ended when it did. */
static void fail_eof(struct ext_proc *p)
{
	char how[96] = "", msg[200];
	drain_stderr(p);
	if (reap(p, 200, how, sizeof how) && how[0])
		snprintf(msg, sizeof msg, "the process %s", how);
	else
		snprintf(msg, sizeof msg, "the process closed its output");
	ext_proc_fail(p, msg);
}

int ext_proc_spawn(const struct ext_proc_conf *c, json_t *hello, struct ext_proc **out, char *err,
		   size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int in[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct ext_proc *p = NULL;
	int rc = -1;

	pthread_once(&once, ignore_sigpipe);
	if (!c->argv || !c->argv[0] || !c->argv[0][0]) {
		snprintf(err, errlen, "empty command");
		json_decref(hello);
		return -1;
	}
	if (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	if (c->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, c->cwd);
	posix_spawnattr_init(&attr);
	sigset_t none, def;
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	/* a clean environment: the server's secrets stay out of study code */
	int e = posix_spawnp(&pid, c->argv[0], &fa, &attr, c->argv, childenv());
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (e) {
		snprintf(err, errlen, "cannot start '%s'%s%s: %s", c->argv[0], c->cwd ? " in " : "",
			 c->cwd ? c->cwd : "", strerror(e));
		goto out;
	}
	p = calloc(1, sizeof *p);
	if (!p) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	p->pid = pid;
	p->fd_in = in[1];
	p->fd_out = outp[0];
	p->fd_err = errp[0];
	in[1] = outp[0] = errp[0] = -1;
	/* a 600x400 RGB frame is 720 kB: a 1 MB pipe takes it in one go instead of
	 * eleven 64 kB rounds of the writer blocking (best effort) */
	fcntl(p->fd_out, F_SETPIPE_SZ, 1 << 20);
	fcntl(p->fd_in, F_SETFL, O_NONBLOCK);
	fcntl(p->fd_out, F_SETFL, O_NONBLOCK);
	fcntl(p->fd_err, F_SETFL, O_NONBLOCK);
	p->step_timeout_ms = c->step_timeout_ms > 0 ? c->step_timeout_ms : EXT_DEFAULT_STEP_TIMEOUT_MS;
	snprintf(p->ctx, sizeof p->ctx, "%s", c->log_ctx ? c->log_ctx : "");
	xp_decoder_init(&p->dec, c->max_header, c->max_payload);
	p->state = EXT_IDLE;
	if (ext_proc_send(p, hello, true) < 0) {
		hello = NULL;
		snprintf(err, errlen, "cannot send hello: %s", p->err);
		ext_proc_close(p);
		p = NULL;
		goto out;
	}
	hello = NULL;
	p->state = EXT_STARTING;
	p->deadline_ms =
		clock_mono_ms() + (c->start_timeout_ms > 0 ? c->start_timeout_ms : EXT_DEFAULT_START_TIMEOUT_MS);
	log_info("ext", "external process started", "pid=%d cmd=%s%s%s", (int)pid, c->argv[0],
		 p->ctx[0] ? " " : "", p->ctx);
	*out = p;
	rc = 0;
	ext_proc_progress(p);
out:
	json_decref(hello);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&outp[0]);
	close_fd(&outp[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	return rc;
}

void ext_proc_close(struct ext_proc *p)
{
	if (!p)
		return;
	if (p->state != EXT_FAILED && p->fd_in >= 0) {
		/* best effort: a close message if the pipe takes it at once, then EOF */
		if (p->wlen == p->woff) {
			static const char msg[] = "{\"type\":\"close\"}";
			uint8_t frame[XP_FRAME_HEADER + sizeof msg - 1];
			xp_frame_header(frame, sizeof msg - 1, 0);
			memcpy(frame + XP_FRAME_HEADER, msg, sizeof msg - 1);
			ssize_t n = write(p->fd_in, frame, sizeof frame);
			(void)n;
		}
		close_fd(&p->fd_in);
		drain_stderr(p);
		if (!reap(p, EXT_CLOSE_GRACE_MS, NULL, 0))
			kill_and_reap(p);
		drain_stderr(p);
		emit_line(p);
	}
	kill_and_reap(p);
	close_fd(&p->fd_in);
	close_fd(&p->fd_out);
	close_fd(&p->fd_err);
	xp_decoder_free(&p->dec);
	json_decref(p->reply);
	free(p->wbuf);
	free(p);
}

/* ---- requests and replies ---- */

int ext_proc_send(struct ext_proc *p, json_t *msg, bool expect_reply)
{
	char *text = NULL;
	int rc = -1;
	if (!msg || p->state == EXT_FAILED || (expect_reply && p->state != EXT_IDLE))
		goto out;
	if (p->wlen - p->woff > EXT_MAX_QUEUED) {
		ext_proc_fail(p, "the process does not read its input (more than 1 MiB queued)");
		goto out;
	}
	text = json_dumps(msg, JSON_COMPACT);
	if (!text) {
		ext_proc_fail(p, "out of memory");
		goto out;
	}
	size_t h = strlen(text), need = p->wlen - p->woff + XP_FRAME_HEADER + h;
	if (p->woff) { /* compact what is left of earlier messages */
		memmove(p->wbuf, p->wbuf + p->woff, p->wlen - p->woff);
		p->wlen -= p->woff;
		p->woff = 0;
	}
	if (need > p->wcap) {
		size_t cap = need < 4096 ? 4096 : need * 2;
		uint8_t *nb = realloc(p->wbuf, cap);
		if (!nb) {
			ext_proc_fail(p, "out of memory");
			goto out;
		}
		p->wbuf = nb;
		p->wcap = cap;
	}
	xp_frame_header(p->wbuf + p->wlen, (uint32_t)h, 0);
	memcpy(p->wbuf + p->wlen + XP_FRAME_HEADER, text, h);
	p->wlen += XP_FRAME_HEADER + h;
	if (expect_reply) {
		json_decref(p->reply);
		p->reply = NULL;
		p->state = EXT_BUSY;
		p->deadline_ms = clock_mono_ms() + p->step_timeout_ms;
	}
	rc = 0;
out:
	free(text);
	json_decref(msg);
	return rc;
}

static void flush_writes(struct ext_proc *p)
{
	while (p->state != EXT_FAILED && p->woff < p->wlen) {
		ssize_t n = write(p->fd_in, p->wbuf + p->woff, p->wlen - p->woff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			fail_eof(p); /* EPIPE: it is gone */
			return;
		}
		p->woff += (size_t)n;
	}
	if (p->woff == p->wlen)
		p->woff = p->wlen = 0;
}

/* Takes a complete message from the decoder. */
static void on_message(struct ext_proc *p)
{
	char perr[200], msg[256];
	const char *type;
	if (p->state != EXT_BUSY && p->state != EXT_STARTING) {
		ext_proc_fail(p, "protocol error: a message nobody asked for");
		return;
	}
	json_t *j = xp_parse_header(p->dec.header, p->dec.header_len, &type, perr, sizeof perr);
	if (!j) {
		snprintf(msg, sizeof msg, "protocol error: %s", perr);
		ext_proc_fail(p, msg);
		return;
	}
	if (strcmp(type, "error") == 0) {
		xp_error_text(j, perr, sizeof perr);
		snprintf(msg, sizeof msg, "the process reported an error: %s", perr);
		json_decref(j);
		ext_proc_fail(p, msg);
		return;
	}
	p->reply = j;
	p->state = EXT_IDLE;
}

static void read_replies(struct ext_proc *p)
{
	uint8_t buf[EXT_READ_CHUNK];
	while (p->state == EXT_BUSY || p->state == EXT_STARTING || p->state == EXT_IDLE) {
		ssize_t n = read(p->fd_out, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			fail_eof(p);
			return;
		}
		size_t off = 0;
		while (off < (size_t)n) {
			if (p->state == EXT_IDLE) {
				ext_proc_fail(p, "protocol error: a message nobody asked for");
				return;
			}
			size_t used;
			int rc = xp_decode(&p->dec, buf + off, (size_t)n - off, &used);
			off += used;
			if (rc < 0) {
				char msg[220];
				snprintf(msg, sizeof msg, "protocol error: %s", p->dec.err);
				ext_proc_fail(p, msg);
				return;
			}
			if (rc == 1)
				on_message(p);
			if (p->state == EXT_FAILED)
				return;
		}
	}
}

enum ext_state ext_proc_progress(struct ext_proc *p)
{
	if (p->state == EXT_FAILED)
		return p->state;
	flush_writes(p);
	if (p->state != EXT_FAILED)
		read_replies(p);
	if (p->state != EXT_FAILED)
		drain_stderr(p);
	if ((p->state == EXT_BUSY || p->state == EXT_STARTING) && clock_mono_ms() >= p->deadline_ms) {
		char msg[160];
		if (p->state == EXT_STARTING)
			snprintf(msg, sizeof msg, "the process did not answer hello in time (start "
						  "timeout)");
		else
			snprintf(msg, sizeof msg, "the process did not answer within %d ms (step "
						  "timeout)",
				 p->step_timeout_ms);
		ext_proc_fail(p, msg);
	}
	return p->state;
}

enum ext_state ext_proc_wait(struct ext_proc *p)
{
	while (ext_proc_progress(p) == EXT_BUSY || p->state == EXT_STARTING) {
		struct pollfd fds[3];
		int n = ext_proc_pollfds(p, fds);
		int64_t left = p->deadline_ms - clock_mono_ms();
		if (left < 0)
			left = 0;
		if (poll(fds, (nfds_t)n, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR) {
			ext_proc_fail(p, "poll failed");
			break;
		}
	}
	return p->state;
}

int ext_proc_pollfds(const struct ext_proc *p, struct pollfd fds[3])
{
	int n = 0;
	if (p->state == EXT_FAILED)
		return 0;
	if (p->fd_out >= 0)
		fds[n++] = (struct pollfd){.fd = p->fd_out, .events = POLLIN};
	if (p->fd_err >= 0)
		fds[n++] = (struct pollfd){.fd = p->fd_err, .events = POLLIN};
	if (p->fd_in >= 0 && p->woff < p->wlen)
		fds[n++] = (struct pollfd){.fd = p->fd_in, .events = POLLOUT};
	return n;
}

enum ext_state ext_proc_state(const struct ext_proc *p)
{
	return p->state;
}

json_t *ext_proc_reply(const struct ext_proc *p)
{
	return p->reply;
}

const uint8_t *ext_proc_payload(const struct ext_proc *p, size_t *len)
{
	*len = p->reply ? p->dec.payload_len : 0;
	return p->dec.payload;
}

const char *ext_proc_error(const struct ext_proc *p)
{
	return p->err;
}

int ext_proc_pid(const struct ext_proc *p)
{
	return (int)p->pid;
}
