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
