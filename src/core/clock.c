#include "core/clock.h"

#include <stdio.h>

static int64_t ns_of(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t clock_mono_ns(void)
{
	return ns_of(CLOCK_MONOTONIC);
}

int64_t clock_mono_ms(void)
{
	return ns_of(CLOCK_MONOTONIC) / 1000000;
}

double clock_mono_s(void)
{
	return (double)ns_of(CLOCK_MONOTONIC) / 1e9;
}

double clock_thread_cpu_s(void)
{
	return (double)ns_of(CLOCK_THREAD_CPUTIME_ID) / 1e9;
}

int64_t clock_wall_ms(void)
{
	return ns_of(CLOCK_REALTIME) / 1000000;
}

double clock_wall_s(void)
{
	return (double)ns_of(CLOCK_REALTIME) / 1e9;
}

static char *put_digits(char *p, int v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + n;
}

int64_t clock_iso8601_parse(const char *text)
{
	if (!text)
		return -1;
	int f[6] = {0}, ms = 0;
	static const int width[6] = {4, 2, 2, 2, 2, 2};
	static const char sep[6] = {'-', '-', 'T', ':', ':', 0};
	const char *p = text;
	for (int i = 0; i < 6; i++) {
		for (int k = 0; k < width[i]; k++, p++) {
			if (*p < '0' || *p > '9')
				return -1;
			f[i] = f[i] * 10 + (*p - '0');
		}
		if (sep[i] && *p++ != sep[i])
			return -1;
	}
	if (*p == '.') {
		p++;
		int k = 0;
		for (; k < 3 && *p >= '0' && *p <= '9'; k++, p++)
			ms = ms * 10 + (*p - '0');
		if (k == 0)
			return -1;
		for (; k < 3; k++)
			ms *= 10;
	}
	if (p[0] != 'Z' || p[1] != '\0' || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 ||
	    f[3] > 23 || f[4] > 59 || f[5] > 60)
		return -1;
	struct tm tm = {.tm_year = f[0] - 1900, .tm_mon = f[1] - 1, .tm_mday = f[2],
			.tm_hour = f[3], .tm_min = f[4], .tm_sec = f[5]};
	time_t s = timegm(&tm);
	return s == (time_t)-1 ? -1 : (int64_t)s * 1000 + ms;
}

void clock_iso8601(int64_t wall_ms, char *buf, size_t len)
{
	time_t s = (time_t)(wall_ms / 1000);
	int ms = (int)(wall_ms % 1000);
	if (ms < 0) { /* before 1970: keep the millisecond field positive */
		ms += 1000;
		s -= 1;
	}
	struct tm tm;
	gmtime_r(&s, &tm);
	int year = tm.tm_year + 1900;
	if (year < 0 || year > 9999 || len < 25) {
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
		return;
	}
	/* the same text without printf's cost: store_now runs on every request */
	char *p = put_digits(buf, year, 4);
	*p++ = '-';
	p = put_digits(p, tm.tm_mon + 1, 2);
	*p++ = '-';
	p = put_digits(p, tm.tm_mday, 2);
	*p++ = 'T';
	p = put_digits(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_min, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_sec, 2);
	*p++ = '.';
	p = put_digits(p, ms, 3);
	*p++ = 'Z';
	*p = '\0';
}

void clock_stamp(int64_t wall_ms, char *buf, size_t len)
{
	time_t s = (time_t)(wall_ms / 1000 - (wall_ms % 1000 < 0));
	struct tm tm;
	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void clock_iso8601_now(char *buf, size_t len)
{
	clock_iso8601(clock_wall_ms(), buf, len);
}

struct timespec clock_deadline(clockid_t id, int64_t ms)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}
