#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"

static _Atomic int current_level = LOG_INFO;
static FILE *_Atomic stream;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void log_set_level(enum log_level level)
{
	atomic_store(&current_level, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&current_level);
}

bool log_level_parse(const char *name, enum log_level *out)
{
	for (int i = 0; i <= LOG_OFF; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

void log_set_stream(FILE *f)
{
	atomic_store(&stream, f);
}

/* Appends MSG to BUF as a double-quoted value, escaping quotes, backslashes and
 * control characters so that one event is always one line. */
static size_t put_quoted(char *buf, size_t cap, size_t n, const char *msg)
{
	if (n < cap)
		buf[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)msg; *p && n + 4 < cap; p++) {
		if (*p == '"' || *p == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)*p;
		} else if (*p < 0x20) {
			n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", *p);
		} else {
			buf[n++] = (char)*p;
		}
	}
	if (n < cap)
		buf[n++] = '"';
	return n;
}

void log_emit(enum log_level level, const char *comp, const char *msg, const char *fields, ...)
{
	if (!log_enabled(level) || level >= LOG_OFF)
		return;
	char line[2048];
	size_t cap = sizeof line - 2; /* room for '\n' and NUL */
	clock_iso8601_now(line, cap);
	size_t n = strlen(line);
	n += (size_t)snprintf(line + n, cap - n, " level=%s comp=%s msg=", level_names[level],
			      comp ? comp : "-");
	n = put_quoted(line, cap, n, msg ? msg : "");
	if (fields && *fields && n + 1 < cap) {
		line[n++] = ' ';
		va_list ap;
		va_start(ap, fields);
		int w = vsnprintf(line + n, cap - n, fields, ap);
		va_end(ap);
		if (w > 0)
			n += (size_t)w < cap - n ? (size_t)w : cap - n - 1;
	}
	/* A field value may have carried a newline: keep one event on one line. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	FILE *f = atomic_load(&stream);
	if (f == NULL)
		f = stderr;
	fwrite(line, 1, n, f);
	fflush(f);
}
