/* Failed admin logins per client address (flow/login_limit.h): a burst of
 * LOGIN_BURST, then one every LOGIN_REFILL_S seconds, each address on its
 * own, the table bounded whatever the number of addresses. */
#include <stdio.h>

#include "flow/login_limit.h"
#include "test.h"

static void a_burst_then_one_every_refill(void)
{
	struct login_limit *l = login_limit_new();
	int64_t t = 1000000;
	for (int i = 0; i < LOGIN_BURST; i++) {
		CHECK_INT(login_limit_wait(l, "192.0.2.1", t), 0);
		login_limit_failed(l, "192.0.2.1", t);
	}
	int w = login_limit_wait(l, "192.0.2.1", t);
	CHECK(w >= 1 && w <= LOGIN_REFILL_S + 1);
	CHECK_INT(login_limit_wait(l, "192.0.2.2", t), 0); /* another address */
	t += (int64_t)LOGIN_REFILL_S * 1000;
	CHECK_INT(login_limit_wait(l, "192.0.2.1", t), 0); /* one more try */
	login_limit_failed(l, "192.0.2.1", t);
	CHECK(login_limit_wait(l, "192.0.2.1", t) >= 1);
	t += 3600 * 1000; /* an hour later the whole burst is back */
	for (int i = 0; i < LOGIN_BURST; i++) {
		CHECK_INT(login_limit_wait(l, "192.0.2.1", t), 0);
		login_limit_failed(l, "192.0.2.1", t);
	}
	CHECK(login_limit_wait(l, "192.0.2.1", t) >= 1);
	login_limit_free(l);
}

static void many_addresses_stay_bounded_and_the_guesser_stays_limited(void)
{
	struct login_limit *l = login_limit_new();
	int64_t t = 5000;
	for (int i = 0; i < LOGIN_BURST; i++)
		login_limit_failed(l, "198.51.100.7", t);
	/* a crowd of addresses failing once each evicts the idle, not the limited */
	char a[64];
	for (int i = 0; i < 4 * LOGIN_SLOTS; i++) {
		snprintf(a, sizeof a, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		login_limit_failed(l, a, t);
	}
	CHECK(login_limit_wait(l, "198.51.100.7", t) >= 1);
	CHECK_INT(login_limit_wait(l, NULL, t), 0);
	login_limit_free(l);
}

int main(void)
{
	RUN(a_burst_then_one_every_refill);
	RUN(many_addresses_stay_bounded_and_the_guesser_stays_limited);
	return test_summary();
}
