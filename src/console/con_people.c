/* con_people: the participants table (a filtered page of a project's
 * participants, newest first) and one participant's page: their answers per
 * step, the timeline of their requests, sessions and episodes (read from
 * their record files), and their files for download. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console/con_int.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/datapath.h"
#include "dataset/walk.h"
#include "export/records.h"
#include "store/store.h"

#define CON_PAGE_DEFAULT 50
#define CON_PAGE_MAX 500
#define CON_EPISODES_MAX 10000 /* episodes listed on a participant's page */

static json_t *text_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* A stored JSON object text (crowd ids), or null when absent or unreadable. */
static json_t *object_of(const char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j ? j : json_null();
}

static int row_json(void *user, const struct store_participant_row *r)
{
	json_t *rows = user;
	json_array_append_new(
		rows, json_pack("{s:s,s:o,s:o,s:i,s:o,s:o,s:o,s:I,s:o,s:o}", "userId", r->user_id,
				"created", text_or_null(r->created), "updated",
				text_or_null(r->updated), "step", r->step, "status",
				text_or_null(r->status), "crowd", object_of(r->crowd), "groups",
				text_or_null(r->groups), "sessions", (json_int_t)r->sessions,
				"lastReason", text_or_null(r->session_reason), "lastStopped",
				text_or_null(r->session_stopped)));
	if (r->preview)
		json_object_set_new(json_array_get(rows, json_array_size(rows) - 1), "preview",
				    json_true());
	return 0;
}

int con__people(struct console *c, struct con_job *j)
{
	long long step, offset, limit, idle, preview;
	char status[16], group[32], search[257];
	if (con__query_int(j, "step", 0, 0, 1000000, &step) < 0 ||
	    con__query_int(j, "offset", 0, 0, 1LL << 40, &offset) < 0 ||
	    con__query_int(j, "limit", CON_PAGE_DEFAULT, 0, CON_PAGE_MAX, &limit) < 0 ||
	    con__query_int(j, "idleMinutes", CON_IDLE_MIN_DEFAULT, 0, 525600, &idle) < 0 ||
	    con__query_int(j, "preview", 0, 0, 1, &preview) < 0 ||
	    con__query_text(j, "status", status, sizeof status) < 0 ||
	    con__query_text(j, "group", group, sizeof group) < 0 ||
	    con__query_text(j, "q", search, sizeof search) < 0)
		return 400;
	struct store_find q = {.project_id = j->project,
			       .step = (int)step,
			       .offset = offset,
			       .limit = limit,
			       .preview = preview == 1,
			       .search = search[0] ? search : NULL};
	char cutoff[32];
	if (strcmp(status, "active") == 0 || strcmp(status, "completed") == 0) {
		q.status = status;
	} else if (strcmp(status, "dropped") == 0 || strcmp(status, "inProgress") == 0) {
		/* dropped: active and idle; in progress is the rest of active */
		q.status = "active";
		clock_iso8601(clock_wall_ms() - idle * 60000, cutoff, sizeof cutoff);
		if (status[0] == 'd')
			q.updated_before = cutoff;
		else
			return con__fail(j, 400, "status=inProgress is not a filter: use active");
	} else if (status[0]) {
		return con__fail(j, 400, "status: expected active, completed or dropped");
	}
	if (group[0]) {
		int n, g;
		if (con__parse_group(group, &n, &g) < 0)
			return con__fail(j, 400, "group: expected VARIANTS:GROUP, e.g. 2:0");
		q.group_n = n;
		q.group = g;
	}
	json_t *rows = json_array();
	long long total = 0;
	if (store_participants_find(c->ro, &q, row_json, rows, &total) < 0) {
		json_decref(rows);
		return con__fail(j, 500, "participant store: %s", store_errmsg(c->ro));
	}
	j->out = json_pack("{s:I,s:I,s:I,s:o}", "total", (json_int_t)total, "offset",
			   (json_int_t)offset, "limit", (json_int_t)limit, "rows", rows);
	return 200;
}

/* ------------------------------------------------------------ one participant */

/* LEN bytes of S as a JSON string; bytes that are not UTF-8 become U+FFFD. */
static json_t *text_json(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	if (j)
		return j;
	struct buf b;
	buf_init(&b, 4 * len + 16);
	for (size_t i = 0; i < len;) {
		size_t n = 1;
		unsigned char c = (unsigned char)s[i];
		if (c >= 0xc2 && c <= 0xf4)
			n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		json_t *one = n > 1 && i + n <= len ? json_stringn(s + i, n) : NULL;
		if (one || c < 0x80)
			buf_append(&b, s + i, n);
		else
			buf_append(&b, "\xef\xbf\xbd", 3);
		json_decref(one);
		i += one || c < 0x80 ? n : 1;
	}
	j = json_stringn(b.data ? b.data : "", b.len);
	buf_free(&b);
	return j ? j : json_string("");
}

static int answer_json(void *user, const struct store_answer_row *r)
{
	json_array_append_new(user, json_pack("{s:i,s:s,s:o,s:o}", "step", r->step, "field",
					      r->field ? r->field : "", "value",
					      r->value ? text_json(r->value, r->value_len) : json_null(),
					      "time", text_or_null(r->time)));
	return 0;
}

static int request_json(void *user, const struct store_request_row *r)
{
	json_array_append_new(user, json_pack("{s:o,s:o,s:o,s:i,s:I}", "time",
					      text_or_null(r->time), "last", text_or_null(r->last),
					      "method", text_or_null(r->method), "step", r->step,
					      "repeats", (json_int_t)r->repeats));
	return 0;
}

static int session_json(void *user, const struct store_session_row *r)
{
	json_t *files = r->files ? json_loads(r->files, 0, NULL) : NULL;
	json_array_append_new(user, json_pack("{s:i,s:o,s:o,s:o,s:o}", "step", r->step, "started",
					      text_or_null(r->started), "stopped",
					      text_or_null(r->stopped), "reason",
					      text_or_null(r->reason), "files",
					      files ? files : json_array()));
	return 0;
}

static int group_json(void *user, const struct store_group_row *r)
{
	json_array_append_new(user, json_pack("{s:i,s:i,s:o}", "variants", r->n, "group",
					      r->group, "assigned", text_or_null(r->assigned)));
	return 0;
}

/* One episode being summed up from its record lines. */
struct ep {
	char trial[64];
	long long episode, steps;
	double ret, rtt_sum;
	long long rtt_n, good, bad, inputs;
	int64_t t0, t1;
	int fps;
	char file[256];
};

static void count_inputs(struct ep *e, json_t *inputs)
{
	size_t i;
	json_t *in;
	json_array_foreach(inputs, i, in)
	{
		json_t *m = json_object_get(in, "msg");
		const char *fb = json_string_value(json_object_get(m, "feedback"));
		if (!fb)
			fb = json_string_value(json_object_get(m, "command"));
		if (fb && strcmp(fb, "good") == 0)
			e->good++;
		else if (fb && strcmp(fb, "bad") == 0)
			e->bad++;
		e->inputs++;
	}
}

static json_t *ep_json(const struct ep *e)
{
	double fps = e->t1 > e->t0 && e->steps > 1
			     ? (double)(e->steps) * 1000.0 / (double)(e->t1 - e->t0)
			     : 0;
	return json_pack("{s:s,s:I,s:I,s:f,s:I,s:I,s:I,s:o,s:o,s:I,s:I,s:I,s:s}", "trialId",
			 e->trial, "episode", (json_int_t)e->episode, "steps",
			 (json_int_t)e->steps, "return", isfinite(e->ret) ? e->ret : 0.0, "start",
			 (json_int_t)e->t0, "end", (json_int_t)e->t1, "durationMs",
			 (json_int_t)(e->t1 - e->t0), "fps",
			 fps > 0 ? json_real(round(fps * 10) / 10) : json_null(), "rttMs",
			 e->rtt_n ? json_real(round(e->rtt_sum / (double)e->rtt_n * 10) / 10)
				  : json_null(),
			 "targetFps", (json_int_t)e->fps, "feedbackGood", (json_int_t)e->good,
			 "feedbackBad", (json_int_t)e->bad, "file", e->file);
}

/* The episodes of the record files in DIR: one entry per (trial, episode). */
static json_t *episodes_json(const char *dir)
{
	json_t *list = json_array();
	char **files = NULL;
	long nf = datapath_list_data_files(dir, &files);
	struct ep cur = {0};
	bool have = false;
	for (long i = 0; i < nf && json_array_size(list) < CON_EPISODES_MAX; i++) {
		char path[4400];
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		struct rr rd;
		rr_init(&rd, f, 0);
		json_t *jl;
		char e[256];
		int k;
		while ((k = rr_next(&rd, &jl, e, sizeof e)) != 0 && k != -2) {
			if (k < 0)
				continue;
			const char *tid = json_string_value(json_object_get(jl, "trialId"));
			json_t *epj = json_object_get(jl, "episode");
			if (!tid || !json_is_integer(epj)) {
				json_decref(jl);
				continue;
			}
			long long epn = json_integer_value(epj);
			if (!have || strcmp(cur.trial, tid) != 0 || cur.episode != epn) {
				if (have)
					json_array_append_new(list, ep_json(&cur));
				memset(&cur, 0, sizeof cur);
				snprintf(cur.trial, sizeof cur.trial, "%s", tid);
				snprintf(cur.file, sizeof cur.file, "%s", files[i]);
				cur.episode = epn;
				have = true;
			}
			json_t *tj = json_object_get(jl, "t");
			int64_t t = json_is_integer(tj) ? json_integer_value(tj) : 0;
			if (t && (!cur.t0 || t < cur.t0))
				cur.t0 = t;
			if (t > cur.t1)
				cur.t1 = t;
			long long st = json_integer_value(json_object_get(jl, "step"));
			if (st > cur.steps)
				cur.steps = st;
			cur.ret += json_number_value(json_object_get(jl, "reward"));
			json_t *rtt = json_object_get(jl, "rttMs");
			if (json_is_number(rtt)) {
				cur.rtt_sum += json_number_value(rtt);
				cur.rtt_n++;
			}
			json_t *fps = json_object_get(jl, "fps");
			if (json_is_integer(fps))
				cur.fps = (int)json_integer_value(fps);
			count_inputs(&cur, json_object_get(jl, "inputs"));
			json_decref(jl);
		}
		rr_free(&rd);
		fclose(f);
	}
	if (have)
		json_array_append_new(list, ep_json(&cur));
	datapath_list_free(files);
	return list;
}

/* The regular files of DIR with their sizes, sorted. */
static json_t *files_json(const char *dir)
{
	json_t *list = json_array();
	DIR *d = opendir(dir);
	if (!d)
		return list;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat sb;
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		json_array_append_new(list, json_pack("{s:s,s:I}", "name", de->d_name, "size",
						      (json_int_t)sb.st_size));
	}
	closedir(d);
	/* sorted by name, for a stable page */
	size_t n = json_array_size(list);
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0; b--) {
			json_t *x = json_array_get(list, b - 1), *y = json_array_get(list, b);
			if (strcmp(json_string_value(json_object_get(x, "name")),
				   json_string_value(json_object_get(y, "name"))) <= 0)
				break;
			json_incref(x);
			json_array_set(list, b - 1, y);
			json_array_set_new(list, b, x);
		}
	return list;
}

int con__person(struct console *c, struct con_job *j)
{
	struct store_participant p;
	int k = store_participant_get(c->ro, j->project, j->user, &p);
	if (k < 0)
		return con__fail(j, 500, "participant store: %s", store_errmsg(c->ro));
	if (k == 0)
		return con__fail(j, 404, "no such participant");
	struct store_query q = {.project_id = j->project, .participant = p.id};
	json_t *row = json_array(), *answers = json_array(), *requests = json_array(),
	       *sessions = json_array(), *groups = json_array();
	if (store_participants_each(c->ro, &q, row_json, row) < 0 ||
	    store_answers_each(c->ro, &q, answer_json, answers) < 0 ||
	    store_requests_each(c->ro, &q, request_json, requests) < 0 ||
	    store_sessions_each(c->ro, &q, session_json, sessions) < 0 ||
	    store_groups_each(c->ro, &q, group_json, groups) < 0 || json_array_size(row) != 1) {
		json_decref(row);
		json_decref(answers);
		json_decref(requests);
		json_decref(sessions);
		json_decref(groups);
		return con__fail(j, 500, "participant store: %s", store_errmsg(c->ro));
	}
	char dir[4096];
	datapath_participant(dir, sizeof dir, c->data_dir, j->project, j->user);
	json_t *out = json_incref(json_array_get(row, 0));
	json_decref(row);
	json_object_set_new(out, "groups", groups);
	json_object_set_new(out, "answers", answers);
	json_object_set_new(out, "requests", requests);
	json_object_set_new(out, "sessions", sessions);
	json_object_set_new(out, "episodes", episodes_json(dir));
	json_object_set_new(out, "files", files_json(dir));
	json_object_set_new(out, "live", con__live_state(c, j->project, j->user));
	j->out = out;
	return 200;
}

int con__person_file(struct console *c, struct con_job *j)
{
	char dir[4096], path[4400];
	datapath_participant(dir, sizeof dir, c->data_dir, j->project, j->user);
	snprintf(path, sizeof path, "%s/%s", dir, j->name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		return con__fail(j, 404, "no such file");
	}
	char buf[65536];
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				rc = con__fail(j, 500, "read failed");
			break;
		}
		if (con__write(c, j, buf, (size_t)n) < 0) {
			rc = con__fail(j, 499, "client gone");
			break;
		}
	}
	close(fd);
	return rc;
}
