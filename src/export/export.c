/* export: see export.h. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/id.h"
#include "export/export.h"
#include "export/records.h"

/* ------------------------------------------------------------ row writer */

/* One output table. In CSV, names are only used for the header; in JSONL each
 * row is an object with the same names in the same order. */
struct xw {
	FILE *f;
	bool csv;
	int col;
	char *tmp_path, *path;
	char *buf;   /* stdio buffer */
	char *jbuf;  /* scratch for JSON text cells */
	size_t jlen, jcap;
	bool jfail;
};

/* True when S (N bytes) is a plain decimal number: [+-]?digits[.digits][e[+-]digits]
 * (also "1." and ".5"). */
static bool plain_number(const char *s, size_t n)
{
	size_t i = 0, digits = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t exp = 0;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			exp++;
		if (exp == 0)
			return false;
	}
	return i == n;
}

/* OWASP's rule against formula injection: spreadsheets read a cell that
 * starts with = + - @ TAB or CR as a formula, so such a cell gets a leading '
 * (shown as text, the quote hidden). A plain number ("-3", "+1.5") runs
 * nothing and stays as it is, so numeric answers remain numbers. */
static bool formula_like(const char *s, size_t n)
{
	return n > 0 && strchr("=+-@\t\r", s[0]) && s[0] != '\0' && !plain_number(s, n);
}

static void csv_field(FILE *f, const char *s, size_t n)
{
	/* RFC 4180: "Fields containing line breaks (CRLF), double quotes, and
	 * commas should be enclosed in double-quotes" and "a double-quote
	 * appearing inside a field must be escaped by preceding it with another
	 * double quote". */
	bool quote = false;
	bool formula = formula_like(s, n);
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		if (formula)
			fputc('\'', f);
		fwrite(s, 1, n, f);
		return;
	}
	fputc('"', f);
	if (formula)
		fputc('\'', f);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

static void json_str(FILE *f, const char *s, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\r') {
			fputs("\\r", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u00%c%c", hexd[c >> 4], hexd[c & 15]);
		} else {
			fputc(c, f);
		}
	}
	fputc('"', f);
}

static void xw_key(struct xw *w, const char *name)
{
	if (w->col++ > 0)
		fputc(',', w->f);
	if (!w->csv) {
		json_str(w->f, name, strlen(name));
		fputc(':', w->f);
	}
}

static void xw_begin(struct xw *w)
{
	w->col = 0;
	if (!w->csv)
		fputc('{', w->f);
}

static void xw_end(struct xw *w)
{
	fputs(w->csv ? "\r\n" : "}\n", w->f);
}

/* A string value; NULL is an empty CSV field / JSON null. */
static void xw_strn(struct xw *w, const char *name, const char *s, size_t n)
{
	xw_key(w, name);
	if (!s) {
		if (!w->csv)
			fputs("null", w->f);
	} else if (w->csv) {
		csv_field(w->f, s, n);
	} else {
		json_str(w->f, s, n);
	}
}

static void xw_str(struct xw *w, const char *name, const char *s)
{
	xw_strn(w, name, s, s ? strlen(s) : 0);
}

/* A number, boolean or null already formatted (NULL: null). */
static void xw_raw(struct xw *w, const char *name, const char *text)
{
	xw_key(w, name);
	if (text)
		fputs(text, w->f);
	else if (!w->csv)
		fputs("null", w->f);
}

static void xw_int(struct xw *w, const char *name, long long v)
{
	char b[32];
	snprintf(b, sizeof b, "%lld", v);
	xw_raw(w, name, b);
}

/* Shortest of %.15g..%.17g that reads back as the same double. */
static void fmt_real(double v, char *out, size_t cap)
{
	for (int p = 15; p <= 17; p++) {
		snprintf(out, cap, "%.*g", p, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

static void jb_add(struct xw *w, const char *s, size_t n)
{
	if (w->jfail)
		return;
	if (w->jlen + n + 1 > w->jcap) {
		size_t cap = w->jcap ? w->jcap : 256;
		while (cap < w->jlen + n + 1)
			cap *= 2;
		char *b = realloc(w->jbuf, cap);
		if (!b) {
			w->jfail = true;
			return;
		}
		w->jbuf = b;
		w->jcap = cap;
	}
	memcpy(w->jbuf + w->jlen, s, n);
	w->jlen += n;
	w->jbuf[w->jlen] = '\0';
}

static void jb_str(struct xw *w, const char *s, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	jb_add(w, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		jb_add(w, s + run, i - run);
		run = i + 1;
		char e[8] = {'\\', (char)c, 0};
		if (c == '\n')
			e[1] = 'n';
		else if (c == '\r')
			e[1] = 'r';
		else if (c == '\t')
			e[1] = 't';
		else if (c != '"' && c != '\\')
			snprintf(e, sizeof e, "\\u00%c%c", hexd[c >> 4], hexd[c & 15]);
		jb_add(w, e, strlen(e));
	}
	jb_add(w, s + run, n - run);
	jb_add(w, "\"", 1);
}

static void fmt_real(double v, char *out, size_t cap);

/* V as compact JSON text, numbers in their shortest exact form (jansson's
 * own dump would print 0.1 as 0.10000000000000001). */
static void jb_value(struct xw *w, json_t *v, int depth)
{
	char b[64];
	size_t i;
	const char *k;
	json_t *e;
	if (depth > 4096) {
		jb_add(w, "null", 4);
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		jb_add(w, "{", 1);
		i = 0;
		json_object_foreach(v, k, e) {
			if (i++)
				jb_add(w, ",", 1);
			jb_str(w, k, strlen(k));
			jb_add(w, ":", 1);
			jb_value(w, e, depth + 1);
		}
		jb_add(w, "}", 1);
		return;
	case JSON_ARRAY:
		jb_add(w, "[", 1);
		json_array_foreach(v, i, e) {
			if (i)
				jb_add(w, ",", 1);
			jb_value(w, e, depth + 1);
		}
		jb_add(w, "]", 1);
		return;
	case JSON_STRING:
		jb_str(w, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fmt_real(json_real_value(v), b, sizeof b);
		break;
	case JSON_TRUE:
		snprintf(b, sizeof b, "true");
		break;
	case JSON_FALSE:
		snprintf(b, sizeof b, "false");
		break;
	default:
		snprintf(b, sizeof b, "null");
		break;
	}
	jb_add(w, b, strlen(b));
}

/* A JSON scalar as a cell: numbers and booleans bare, strings as text,
 * null/absent empty; arrays and objects as JSON text. */
static void xw_value(struct xw *w, const char *name, json_t *v)
{
	char b[64];
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_INTEGER:
		xw_int(w, name, (long long)json_integer_value(v));
		return;
	case JSON_REAL:
		fmt_real(json_real_value(v), b, sizeof b);
		xw_raw(w, name, b);
		return;
	case JSON_TRUE:
		xw_raw(w, name, "true");
		return;
	case JSON_FALSE:
		xw_raw(w, name, "false");
		return;
	case JSON_STRING:
		xw_strn(w, name, json_string_value(v), json_string_length(v));
		return;
	case JSON_NULL:
		xw_raw(w, name, NULL);
		return;
	default:
		break;
	}
	w->jlen = 0;
	w->jfail = false;
	jb_value(w, v, 0);
	xw_key(w, name);
	if (w->jfail || !w->jbuf)
		fputs(w->csv ? "" : "null", w->f);
	else if (w->csv)
		csv_field(w->f, w->jbuf, w->jlen);
	else
		fwrite(w->jbuf, 1, w->jlen, w->f);
}

static void xw_header(struct xw *w, const char *const *names, int obs_columns)
{
	if (!w->csv)
		return;
	for (int i = 0; names[i]; i++)
		fprintf(w->f, "%s%s", i ? "," : "", names[i]);
	for (int i = 0; i < obs_columns; i++)
		fprintf(w->f, ",obs_%d", i);
	fputs("\r\n", w->f);
}

static int xw_open(struct xw *w, const char *dir, const char *table, enum exp_format fmt,
		   char *err, size_t errlen)
{
	memset(w, 0, sizeof *w);
	w->csv = fmt == EXP_CSV;
	const char *ext = w->csv ? "csv" : "jsonl";
	if (asprintf(&w->path, "%s/%s.%s", dir, table, ext) < 0 ||
	    asprintf(&w->tmp_path, "%s/.%s.%s.tmp", dir, table, ext) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->f = fopen(w->tmp_path, "w");
	if (!w->f) {
		snprintf(err, errlen, "cannot create %s: %s", w->tmp_path, strerror(errno));
		return -1;
	}
	w->buf = malloc(1 << 20);
	if (w->buf)
		setvbuf(w->f, w->buf, _IOFBF, 1 << 20);
	return 0;
}

/* Closes W; renames it into place when COMMIT, else removes it. */
static int xw_close(struct xw *w, bool commit, char *err, size_t errlen)
{
	int rc = 0;
	if (w->f) {
		if (fflush(w->f) != 0 || ferror(w->f) || fsync(fileno(w->f)) != 0) {
			if (commit)
				snprintf(err, errlen, "cannot write %s: %s", w->tmp_path,
					 strerror(errno));
			rc = -1;
		}
		fclose(w->f);
		if (commit && rc == 0 && rename(w->tmp_path, w->path) != 0) {
			snprintf(err, errlen, "cannot rename %s: %s", w->tmp_path, strerror(errno));
			rc = -1;
		}
		if (!commit || rc != 0)
			unlink(w->tmp_path);
	}
	free(w->buf);
	free(w->jbuf);
	free(w->path);
	free(w->tmp_path);
	memset(w, 0, sizeof *w);
	return rc;
}

/* ------------------------------------------------------------ helpers */

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void iso_ms(long long ms, char *out, size_t cap)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	char b[32];
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%s.%03lldZ", b, ms % 1000);
}

static int mkdirs(const char *path)
{
	char b[4096];
	snprintf(b, sizeof b, "%s", path);
	for (char *p = b + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(b, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(b, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Natural order: "episode_2" before "episode_10". */
static int natcmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			const char *a0 = a, *b0 = b;
			while (*a0 == '0')
				a0++;
			while (*b0 == '0')
				b0++;
			const char *a1 = a0, *b1 = b0;
			while (*a1 >= '0' && *a1 <= '9')
				a1++;
			while (*b1 >= '0' && *b1 <= '9')
				b1++;
			if (a1 - a0 != b1 - b0)
				return a1 - a0 < b1 - b0 ? -1 : 1;
			int c = strncmp(a0, b0, (size_t)(a1 - a0));
			if (c)
				return c;
			a = a1;
			b = b1;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

static int natcmp_ptr(const void *a, const void *b)
{
	return natcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in DIR accepted by KEEP. Returns the count (0 when DIR is absent) or -1. */
static long list_dir(const char *dir, bool (*keep)(const char *, const char *), char ***out)
{
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	char **v = NULL;
	long n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !keep(dir, e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, (size_t)cap * sizeof *v);
			if (!nv)
				goto fail;
			v = nv;
		}
		if (!(v[n] = strdup(e->d_name)))
			goto fail;
		n++;
	}
	closedir(d);
	if (n > 1) /* qsort wants a non-null array even for none */
		qsort(v, (size_t)n, sizeof *v, natcmp_ptr);
	*out = v;
	return n;
fail:
	for (long i = 0; i < n; i++)
		free(v[i]);
	free(v);
	closedir(d);
	return -1;
}

static void free_list(char **v, long n)
{
	for (long i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool keep_user_dir(const char *dir, const char *name)
{
	char p[4096];
	struct stat sb;
	int n = snprintf(p, sizeof p, "%s/%s", dir, name);
	return n > 0 && (size_t)n < sizeof p && id_valid_user(name) && stat(p, &sb) == 0 &&
	       S_ISDIR(sb.st_mode);
}

/* Step record files: *.jsonl except the per-trial metadata file trials.jsonl. */
static bool keep_record_file(const char *dir, const char *name)
{
	size_t n = strlen(name);
	return n > 6 && strcmp(name + n - 6, ".jsonl") == 0 && strcmp(name, "trials.jsonl") != 0;
}

/* ------------------------------------------------------------ steps */

static const char *const step_cols[] = {
	"project_id", "user_id", "trial_id", "episode", "step", "t_ms", "time", "frame_id",
	"reset", "action", "action_name", "reward", "terminated", "truncated", "fps",
	"seen_frame_id", "reaction_ms", "rtt_ms", "n_inputs", "feedback_good", "feedback_bad",
	"inputs", "info", NULL,
};

static const char *const episode_cols[] = {
	"project_id", "user_id", "trial_id", "episode", "steps", "return", "terminated",
	"truncated", "start_time", "end_time", "duration_s", "feedback_good", "feedback_bad",
	"n_inputs", NULL,
};

/* Number of leaves in a (nested) observation array. */
static long long obs_count(json_t *v, int depth)
{
	if (!json_is_array(v))
		return 1;
	if (depth > 32)
		return 0;
	long long n = 0;
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) n += obs_count(e, depth + 1);
	return n;
}

/* Writes the leaves of V (row-major) as cells until *LEFT runs out; counts
 * the ones that did not fit in *CLIPPED. */
static void obs_cells(struct xw *w, json_t *v, int depth, int *idx, int columns,
		      long long *clipped)
{
	if (json_is_array(v) && depth <= 32) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) obs_cells(w, e, depth + 1, idx, columns, clipped);
		return;
	}
	if (json_is_array(v))
		return;
	if (*idx >= columns) {
		(*clipped)++;
		return;
	}
	char name[24];
	snprintf(name, sizeof name, "obs_%d", *idx);
	xw_value(w, name, v);
	(*idx)++;
}

struct episode {
	char trial_id[96];
	long long episode, steps, inputs, fb_good, fb_bad;
	double ret;
	long long first_t, last_t;
	bool terminated, truncated, have_t;
};

/* The open episodes of one participant, written to OUT when the
 * participant's files are done (or when MAX_OPEN_EPISODES are open). */
struct episodes {
	struct episode *v;
	size_t n, cap;
	struct xw *out;
};

#define MAX_OPEN_EPISODES 100000

/* Feedback in one step's inputs: {"feedback": "good"|"bad"} (hippo) or the
 * original's {"command": "good"|"bad"}. */
static void count_feedback(json_t *inputs, long long *good, long long *bad)
{
	size_t i;
	json_t *in;
	*good = *bad = 0;
	json_array_foreach(inputs, i, in) {
		json_t *m = json_object_get(in, "msg");
		if (!json_is_object(m))
			m = in;
		const char *fb = json_string_value(json_object_get(m, "feedback"));
		if (!fb)
			fb = json_string_value(json_object_get(m, "command"));
		if (fb && strcmp(fb, "good") == 0)
			(*good)++;
		else if (fb && strcmp(fb, "bad") == 0)
			(*bad)++;
	}
}

static struct episode *episode_find(struct episodes *eps, const char *trial_id, long long ep)
{
	for (size_t i = eps->n; i-- > 0;)
		if (eps->v[i].episode == ep && strcmp(eps->v[i].trial_id, trial_id) == 0)
			return &eps->v[i];
	if (eps->n == eps->cap) {
		size_t cap = eps->cap ? eps->cap * 2 : 16;
		struct episode *v = realloc(eps->v, cap * sizeof *v);
		if (!v)
			return NULL;
		eps->v = v;
		eps->cap = cap;
	}
	struct episode *e = &eps->v[eps->n++];
	memset(e, 0, sizeof *e);
	snprintf(e->trial_id, sizeof e->trial_id, "%s", trial_id);
	e->episode = ep;
	return e;
}

static void write_episodes(struct xw *w, const char *project, const char *user,
			   struct episodes *eps, struct exp_stats *st)
{
	for (size_t i = 0; i < eps->n; i++) {
		struct episode *e = &eps->v[i];
		char b[64], t0[40], t1[40];
		xw_begin(w);
		xw_str(w, "project_id", project);
		xw_str(w, "user_id", user);
		xw_str(w, "trial_id", e->trial_id[0] ? e->trial_id : NULL);
		xw_int(w, "episode", e->episode);
		xw_int(w, "steps", e->steps);
		fmt_real(e->ret, b, sizeof b);
		xw_raw(w, "return", b);
		xw_raw(w, "terminated", e->terminated ? "true" : "false");
		xw_raw(w, "truncated", e->truncated ? "true" : "false");
		iso_ms(e->first_t, t0, sizeof t0);
		iso_ms(e->last_t, t1, sizeof t1);
		xw_str(w, "start_time", e->have_t ? t0 : NULL);
		xw_str(w, "end_time", e->have_t ? t1 : NULL);
		fmt_real((double)(e->last_t - e->first_t) / 1000.0, b, sizeof b);
		xw_raw(w, "duration_s", e->have_t ? b : NULL);
		xw_int(w, "feedback_good", e->fb_good);
		xw_int(w, "feedback_bad", e->fb_bad);
		xw_int(w, "n_inputs", e->inputs);
		xw_end(w);
		st->episodes++;
	}
	eps->n = 0;
}

static bool json_int_of(json_t *o, const char *key, long long *out)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v)) {
		*out = (long long)json_integer_value(v);
		return true;
	}
	if (json_is_real(v) && isfinite(json_real_value(v)) && fabs(json_real_value(v)) < 9e15) {
		*out = (long long)json_real_value(v);
		return true;
	}
	return false;
}

/* Writes one step row for record R (skipped when it is not a step record:
 * it needs integer "episode" and "step"), and adds it to its episode.
 * Returns 1 when a row was written. */
static int step_row(struct xw *w, const char *project, const char *user, json_t *r,
		    int obs_columns, struct episodes *eps, struct exp_stats *st)
{
	long long episode, step, t = 0;
	if (!json_int_of(r, "episode", &episode) || !json_int_of(r, "step", &step))
		return 0;
	bool have_t = json_int_of(r, "t", &t);
	const char *rec_user = json_string_value(json_object_get(r, "userId"));
	const char *rec_proj = json_string_value(json_object_get(r, "projectId"));
	const char *trial_id = json_string_value(json_object_get(r, "trialId"));
	json_t *inputs = json_object_get(r, "inputs");
	json_t *obs = json_object_get(r, "observation");
	json_t *reset = json_object_get(r, "reset");
	bool is_reset = json_is_true(reset);
	long long good = 0, bad = 0, ninputs = json_is_array(inputs) ? (long long)json_array_size(inputs) : 0;
	if (json_is_array(inputs))
		count_feedback(inputs, &good, &bad);
	char tb[40];
	if (have_t)
		iso_ms(t, tb, sizeof tb);

	xw_begin(w);
	xw_str(w, "project_id", rec_proj ? rec_proj : project);
	xw_str(w, "user_id", rec_user ? rec_user : user);
	xw_str(w, "trial_id", trial_id);
	xw_int(w, "episode", episode);
	xw_int(w, "step", step);
	xw_value(w, "t_ms", json_object_get(r, "t"));
	xw_str(w, "time", have_t ? tb : NULL);
	xw_value(w, "frame_id", json_object_get(r, "frameId"));
	xw_raw(w, "reset", is_reset ? "true" : "false");
	xw_value(w, "action", json_object_get(r, "action"));
	xw_value(w, "action_name", json_object_get(r, "actionName"));
	xw_value(w, "reward", json_object_get(r, "reward"));
	xw_value(w, "terminated", json_object_get(r, "terminated"));
	xw_value(w, "truncated", json_object_get(r, "truncated"));
	xw_value(w, "fps", json_object_get(r, "fps"));
	xw_value(w, "seen_frame_id", json_object_get(r, "seenFrameId"));
	xw_value(w, "reaction_ms", json_object_get(r, "reactionMs"));
	xw_value(w, "rtt_ms", json_object_get(r, "rttMs"));
	xw_int(w, "n_inputs", ninputs);
	xw_int(w, "feedback_good", good);
	xw_int(w, "feedback_bad", bad);
	xw_value(w, "inputs", inputs);
	xw_value(w, "info", json_object_get(r, "info"));
	if (w->csv) {
		int idx = 0;
		if (obs)
			obs_cells(w, obs, 0, &idx, obs_columns, &st->obs_clipped);
		for (; idx < obs_columns; idx++)
			xw_raw(w, "obs", NULL);
	} else {
		xw_value(w, "observation", obs);
	}
	xw_end(w);
	st->steps++;

	if (eps) {
		if (eps->n >= MAX_OPEN_EPISODES)
			write_episodes(eps->out, project, user, eps, st);
		struct episode *e = episode_find(eps, trial_id ? trial_id : "", episode);
		if (e) {
			json_t *rw = json_object_get(r, "reward");
			if (!is_reset)
				e->steps++;
			if (json_is_number(rw) && isfinite(json_number_value(rw)))
				e->ret += json_number_value(rw);
			e->terminated = e->terminated || json_is_true(json_object_get(r, "terminated"));
			e->truncated = e->truncated || json_is_true(json_object_get(r, "truncated"));
			e->fb_good += good;
			e->fb_bad += bad;
			e->inputs += ninputs;
			if (have_t) {
				if (!e->have_t || t < e->first_t)
					e->first_t = t;
				if (!e->have_t || t > e->last_t)
					e->last_t = t;
				e->have_t = true;
			}
		}
	}
	return 1;
}

long long exp_convert_records(FILE *in, FILE *out, enum exp_format fmt, int obs_columns,
			      struct exp_stats *st)
{
	struct xw w = {.f = out, .csv = fmt == EXP_CSV};
	struct xw ew = {.f = out, .csv = fmt == EXP_CSV};
	struct rr r;
	struct episodes eps = {.out = &ew};
	char err[256];
	long long rows = 0;
	rr_init(&r, in, 1 << 20);
	for (;;) {
		json_t *rec;
		int rc = rr_next(&r, &rec, err, sizeof err);
		if (rc == 0 || rc == -2)
			break;
		if (rc < 0) {
			st->bad_lines++;
			continue;
		}
		rows += step_row(&w, "P", "U", rec, obs_columns, &eps, st);
		json_decref(rec);
	}
	write_episodes(&ew, "P", "U", &eps, st);
	free(w.jbuf);
	free(ew.jbuf);
	free(eps.v);
	rr_free(&r);
	return rows;
}

/* ------------------------------------------------------------ progress */

struct progress {
	bool on;
	FILE *f;
	long long total, done_before; /* bytes of all files, of the files finished */
	double start, last;
};

static void progress_draw(struct progress *p, long long bytes, long long steps, bool final)
{
	if (!p->on)
		return;
	double now = mono_s();
	if (!final && now - p->last < 0.2)
		return;
	p->last = now;
	double frac = p->total > 0 ? (double)bytes / (double)p->total : 1.0;
	if (frac > 1)
		frac = 1;
	char bar[31];
	int fill = (int)(frac * 30);
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[30] = '\0';
	double el = now - p->start;
	fprintf(p->f, "\r[%s] %5.1f%%  %lld steps  %.1f MB/s  %.0fs ", bar, frac * 100, steps,
		el > 0 ? (double)bytes / 1e6 / el : 0, el);
	if (final)
		fputc('\n', p->f);
	fflush(p->f);
}

/* ------------------------------------------------------------ participant store */

static const char *const participant_cols[] = {
	"project_id", "user_id", "group", "created", "updated", "step", "status", "completed",
	"sessions", "session_started", "session_stopped", "session_end_reason",
	"crowd_PROLIFIC_PID", "crowd_STUDY_ID", "crowd_SESSION_ID", "crowd_workerId",
	"crowd_assignmentId", "crowd_hitId", "crowd", NULL,
};

static const char *const answer_cols[] = {
	"project_id", "user_id", "step", "field", "value", "time", NULL,
};

static const char participants_sql[] =
	"SELECT p.user_id, p.created, p.updated, p.step, p.status, p.crowd,"
	" (SELECT group_concat(grp, ';') FROM (SELECT grp FROM groups g"
	"   WHERE g.participant = p.id ORDER BY n)),"
	" (SELECT count(*) FROM sessions s WHERE s.participant = p.id),"
	" (SELECT min(started) FROM sessions s WHERE s.participant = p.id),"
	" (SELECT max(stopped) FROM sessions s WHERE s.participant = p.id),"
	" (SELECT reason FROM sessions s WHERE s.participant = p.id ORDER BY s.id DESC LIMIT 1)"
	" FROM participants p WHERE p.project_id = ?1 ORDER BY p.created, p.id";

static const char answers_sql[] =
	"SELECT p.user_id, a.step, a.field, a.value, a.time FROM answers a"
	" JOIN participants p ON p.id = a.participant"
	" WHERE p.project_id = ?1 ORDER BY p.created, p.id, a.id";

#define COL_TEXT(s, i) ((const char *)sqlite3_column_text(s, i))

static int export_store(const struct exp_opts *o, struct xw *pw, struct xw *aw,
			struct exp_stats *st, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/hippo.db", o->data_dir);
	if (access(path, F_OK) != 0) {
		st->no_store = true;
		return 0;
	}
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_prepare_v2(db, participants_sql, -1, &s, NULL) != SQLITE_OK)
		goto sqlerr;
	sqlite3_bind_text(s, 1, o->project_id, -1, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *crowd_text = COL_TEXT(s, 5);
		json_t *crowd = crowd_text ? json_loads(crowd_text, 0, NULL) : NULL;
		const char *status = COL_TEXT(s, 4);
		xw_begin(pw);
		xw_str(pw, "project_id", o->project_id);
		xw_str(pw, "user_id", COL_TEXT(s, 0));
		xw_str(pw, "group", COL_TEXT(s, 6));
		xw_str(pw, "created", COL_TEXT(s, 1));
		xw_str(pw, "updated", COL_TEXT(s, 2));
		xw_int(pw, "step", sqlite3_column_int64(s, 3));
		xw_str(pw, "status", status);
		xw_raw(pw, "completed", status && strcmp(status, "completed") == 0 ? "true" : "false");
		xw_int(pw, "sessions", sqlite3_column_int64(s, 7));
		xw_str(pw, "session_started", COL_TEXT(s, 8));
		xw_str(pw, "session_stopped", COL_TEXT(s, 9));
		xw_str(pw, "session_end_reason", COL_TEXT(s, 10));
		for (int i = 12; i <= 17; i++)
			xw_value(pw, participant_cols[i],
				 json_object_get(crowd, participant_cols[i] + 6));
		xw_str(pw, "crowd", crowd_text);
		xw_end(pw);
		json_decref(crowd);
		st->participants++;
	}
	if (step != SQLITE_DONE)
		goto sqlerr;
	sqlite3_finalize(s);
	s = NULL;
	if (sqlite3_prepare_v2(db, answers_sql, -1, &s, NULL) != SQLITE_OK)
		goto sqlerr;
	sqlite3_bind_text(s, 1, o->project_id, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		xw_begin(aw);
		xw_str(aw, "project_id", o->project_id);
		xw_str(aw, "user_id", COL_TEXT(s, 0));
		xw_int(aw, "step", sqlite3_column_int64(s, 1));
		xw_str(aw, "field", COL_TEXT(s, 2));
		xw_strn(aw, "value", COL_TEXT(s, 3), (size_t)sqlite3_column_bytes(s, 3));
		xw_str(aw, "time", COL_TEXT(s, 4));
		xw_end(aw);
		st->answers++;
	}
	if (step != SQLITE_DONE)
		goto sqlerr;
	rc = 0;
	goto out;
sqlerr:
	snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

/* ------------------------------------------------------------ run */

struct rfile {
	char *path; /* DATA/P/trials/U/F */
	char *user;
	long long size;
};

static void free_files(struct rfile *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].user);
	}
	free(v);
}

/* Every record file of the project, users and files in natural order. */
static int collect_files(const char *trials, struct rfile **out, size_t *nout, long long *total)
{
	char **users = NULL;
	long nu = list_dir(trials, keep_user_dir, &users);
	struct rfile *v = NULL;
	size_t n = 0, cap = 0;
	*total = 0;
	if (nu < 0)
		return -1;
	for (long u = 0; u < nu; u++) {
		char dir[4096];
		int dn = snprintf(dir, sizeof dir, "%s/%s", trials, users[u]);
		if (dn < 0 || (size_t)dn >= sizeof dir)
			continue;
		char **files = NULL;
		long nf = list_dir(dir, keep_record_file, &files);
		for (long i = 0; i < nf; i++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				struct rfile *nv = realloc(v, cap * sizeof *v);
				if (!nv) {
					free_list(files, nf);
					goto fail;
				}
				v = nv;
			}
			struct stat sb;
			memset(&v[n], 0, sizeof v[n]);
			if (asprintf(&v[n].path, "%s/%s", dir, files[i]) < 0) {
				v[n].path = NULL;
				free_list(files, nf);
				goto fail;
			}
			v[n].user = strdup(users[u]);
			v[n].size = stat(v[n].path, &sb) == 0 ? (long long)sb.st_size : 0;
			*total += v[n].size;
			n++;
		}
		free_list(files, nf > 0 ? nf : 0);
	}
	free_list(users, nu);
	*out = v;
	*nout = n;
	return 0;
fail:
	free_list(users, nu);
	free_files(v, n);
	return -1;
}

/* Widest observation among the first step record of each file. */
static int obs_width(const struct rfile *files, size_t n)
{
	long long w = 0;
	for (size_t i = 0; i < n; i++) {
		FILE *f = fopen(files[i].path, "r");
		if (!f)
			continue;
		struct rr r;
		rr_init(&r, f, 0);
		char err[256];
		for (int k = 0; k < 64; k++) {
			json_t *rec;
			int rc = rr_next(&r, &rec, err, sizeof err);
			if (rc == 0 || rc == -2)
				break;
			if (rc < 0)
				continue;
			json_t *obs = json_object_get(rec, "observation");
			bool found = obs != NULL;
			if (obs) {
				long long c = obs_count(obs, 0);
				if (c > w)
					w = c;
			}
			json_decref(rec);
			if (found)
				break;
		}
		rr_free(&r);
		fclose(f);
	}
	return w > EXP_MAX_OBS_COLUMNS ? EXP_MAX_OBS_COLUMNS : (int)w;
}

int exp_run(const struct exp_opts *o, struct exp_stats *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	if (!id_valid_project(o->project_id)) {
		snprintf(err, errlen, "invalid project id '%s' (expected " ID_PROJECT_RULE ")",
			 o->project_id ? o->project_id : "");
		return -1;
	}
	struct xw pw = {0}, aw = {0}, sw = {0}, ew = {0};
	struct rfile *files = NULL;
	size_t nfiles = 0;
	struct episodes eps = {.out = &ew};
	int rc = -1;
	char trials[4096];
	snprintf(trials, sizeof trials, "%s/%s/trials", o->data_dir, o->project_id);
	long long total = 0;
	if (collect_files(trials, &files, &nfiles, &total) != 0) {
		snprintf(err, errlen, "cannot list %s: %s", trials, strerror(errno));
		goto out;
	}
	if (mkdirs(o->out_dir) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", o->out_dir, strerror(errno));
		goto out;
	}
	if (xw_open(&pw, o->out_dir, "participants", o->format, err, errlen) ||
	    xw_open(&aw, o->out_dir, "answers", o->format, err, errlen) ||
	    xw_open(&sw, o->out_dir, "steps", o->format, err, errlen) ||
	    xw_open(&ew, o->out_dir, "episodes", o->format, err, errlen))
		goto out;
	st->obs_columns = obs_width(files, nfiles);
	xw_header(&pw, participant_cols, 0);
	xw_header(&aw, answer_cols, 0);
	xw_header(&sw, step_cols, st->obs_columns);
	xw_header(&ew, episode_cols, 0);
	if (export_store(o, &pw, &aw, st, err, errlen) != 0)
		goto out;
	if (nfiles == 0 && st->participants == 0) {
		snprintf(err, errlen, "no data for project '%s' in %s (no participants, no %s)",
			 o->project_id, o->data_dir, trials);
		goto out;
	}

	struct progress pg = {.on = o->progress, .f = o->progress_stream ? o->progress_stream : stderr,
			      .total = total, .start = mono_s()};
	for (size_t i = 0; i < nfiles; i++) {
		FILE *f = fopen(files[i].path, "r");
		if (!f) {
			snprintf(err, errlen, "cannot open %s: %s", files[i].path, strerror(errno));
			goto out;
		}
		char fbuf[1 << 16];
		setvbuf(f, fbuf, _IOFBF, sizeof fbuf);
		struct rr r;
		rr_init(&r, f, 0);
		st->files++;
		for (;;) {
			json_t *rec;
			char lerr[256];
			int k = rr_next(&r, &rec, lerr, sizeof lerr);
			if (k == 0)
				break;
			if (k == -2) {
				snprintf(err, errlen, "%s: %s", files[i].path, lerr);
				rr_free(&r);
				fclose(f);
				goto out;
			}
			if (k < 0) {
				if (!st->first_bad[0])
					snprintf(st->first_bad, sizeof st->first_bad, "%s: %s",
						 files[i].path, lerr);
				st->bad_lines++;
				continue;
			}
			step_row(&sw, o->project_id, files[i].user, rec, st->obs_columns, &eps, st);
			json_decref(rec);
			if ((st->steps & 4095) == 0)
				progress_draw(&pg, pg.done_before + (long long)r.bytes, st->steps, false);
		}
		pg.done_before += (long long)r.bytes;
		st->bytes += (long long)r.bytes;
		rr_free(&r);
		fclose(f);
		if (i + 1 == nfiles || strcmp(files[i + 1].user, files[i].user) != 0)
			write_episodes(&ew, o->project_id, files[i].user, &eps, st);
	}
	progress_draw(&pg, pg.done_before, st->steps, true);
	rc = 0;
out:;
	struct xw *all[] = {&pw, &aw, &sw, &ew};
	for (int i = 0; i < 4; i++)
		if (xw_close(all[i], rc == 0, err, errlen) != 0)
			rc = -1;
	free(eps.v);
	free_files(files, nfiles);
	return rc;
}
