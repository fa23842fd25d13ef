/* core/clock: ISO 8601 stamps (extended and basic), monotonic order, deadlines normalised. */
#include <string.h>

#include "core/clock.h"
#include "test.h"

static void iso8601_of_known_instants(void)
{
	char b[CLOCK_ISO_LEN];
	clock_iso8601(0, b, sizeof b);
	CHECK_STR(b, "1970-01-01T00:00:00.000Z");
	clock_iso8601(1795469895377LL, b, sizeof b);
	CHECK_STR(b, "2026-11-23T21:38:15.377Z");
	clock_iso8601(951782400000LL + 86399999LL, b, sizeof b); /* leap day, last ms */
	CHECK_STR(b, "2000-02-29T23:59:59.999Z");
	clock_iso8601(-1, b, sizeof b);
	CHECK_STR(b, "1969-12-31T23:59:59.999Z");
	clock_iso8601_now(b, sizeof b);
	CHECK(strlen(b) == 24 && b[10] == 'T' && b[23] == 'Z');
}

/* Parsing is the inverse of writing; anything else is -1. */
static void iso8601_parsed_back(void)
{
	static const int64_t at[] = {0, 1795469895377LL, 951782400000LL + 86399999LL, 1};
	char b[CLOCK_ISO_LEN];
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		clock_iso8601(at[i], b, sizeof b);
		CHECK(clock_iso8601_parse(b) == at[i]);
	}
	CHECK(clock_iso8601_parse("2026-11-23T21:38:15Z") == 1795469895000LL);
	CHECK(clock_iso8601_parse("2026-11-23T21:38:15.5Z") == 1795469895500LL);
	static const char *const bad[] = {"", "2026-11-23", "2026-11-23T21:38:15", "2026-13-01T00:00:00Z",
					  "2026-11-23T21:38:15.Z", "2026-11-23 21:38:15Z", "x026-11-23T21:38:15Z",
					  "2026-11-23T21:38:15.123Zjunk"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(clock_iso8601_parse(bad[i]) == -1);
	CHECK(clock_iso8601_parse(NULL) == -1);
}

static void stamps_of_known_instants(void)
{
	char b[CLOCK_STAMP_LEN];
	clock_stamp(0, b, sizeof b);
	CHECK_STR(b, "19700101T000000Z");
	clock_stamp(1795469895377LL, b, sizeof b);
	CHECK_STR(b, "20261123T213815Z");
	clock_stamp(-1, b, sizeof b);
	CHECK_STR(b, "19691231T235959Z");
}

static void monotonic_never_goes_back(void)
{
	int64_t a = clock_mono_ns();
	int64_t b = clock_mono_ns();
	CHECK(b >= a);
	CHECK(clock_mono_ms() >= a / 1000000);
	CHECK(clock_wall_ms() > 1700000000000LL);
	double c0 = clock_thread_cpu_s();
	volatile unsigned long x = 0;
	for (unsigned long i = 0; i < 20000000; i++)
		x += i;
	CHECK(x > 0 && clock_thread_cpu_s() > c0); /* this thread worked */
}

static void deadlines_are_normalised(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct timespec d = clock_deadline(CLOCK_MONOTONIC, 1999);
	CHECK(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
	long long diff = (long long)(d.tv_sec - now.tv_sec) * 1000 + (d.tv_nsec - now.tv_nsec) / 1000000;
	CHECK(diff >= 1999 && diff < 2999);
}

int main(void)
{
	RUN(iso8601_of_known_instants);
	RUN(iso8601_parsed_back);
	RUN(stamps_of_known_instants);
	RUN(monotonic_never_goes_back);
	RUN(deadlines_are_normalised);
	return test_summary();
}
