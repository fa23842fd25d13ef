/* core/ticker: the function is called again and again from the thread; a
 * stop wakes a thread waiting a whole hour and returns once a call under
 * way has finished, and no call comes after it; bad arguments start
 * nothing. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/ticker.h"
#include "test.h"

struct counter {
	atomic_int calls, busy, after_stop;
	atomic_bool stopped;
	int sleep_us;
};

static void tick(void *user)
{
	struct counter *c = user;
	if (atomic_load(&c->stopped))
		atomic_fetch_add(&c->after_stop, 1);
	atomic_store(&c->busy, 1);
	if (c->sleep_us)
		usleep((useconds_t)c->sleep_us);
	atomic_fetch_add(&c->calls, 1);
	atomic_store(&c->busy, 0);
}

static void calls_again_and_again(void)
{
	struct counter c = {0};
	struct ticker *t = ticker_start(5, tick, &c);
	CHECK(t != NULL);
	for (int i = 0; i < 2000 && atomic_load(&c.calls) < 5; i++)
		usleep(5000);
	CHECK(atomic_load(&c.calls) >= 5);
	ticker_stop(t);
	atomic_store(&c.stopped, true);
	int n = atomic_load(&c.calls);
	usleep(30000);
	CHECK_INT(atomic_load(&c.calls), n); /* nothing after the stop */
	CHECK_INT(atomic_load(&c.after_stop), 0);
}

static void stop_lets_a_call_finish(void)
{
	struct counter c = {.sleep_us = 100000};
	struct ticker *t = ticker_start(1, tick, &c);
	CHECK(t != NULL);
	for (int i = 0; i < 2000 && !atomic_load(&c.busy); i++)
		usleep(1000);
	CHECK(atomic_load(&c.busy) == 1);
	ticker_stop(t);
	CHECK_INT(atomic_load(&c.busy), 0); /* the call under way ended first */
	CHECK(atomic_load(&c.calls) >= 1);
}

static void stop_wakes_a_long_wait(void)
{
	struct counter c = {0};
	struct ticker *t = ticker_start(3600 * 1000, tick, &c);
	CHECK(t != NULL);
	ticker_stop(t); /* would hang the test for an hour if it did not wake */
	CHECK_INT(atomic_load(&c.calls), 0);
	ticker_stop(NULL);
}

static void bad_arguments_start_nothing(void)
{
	struct counter c = {0};
	CHECK(ticker_start(0, tick, &c) == NULL);
	CHECK(ticker_start(-5, tick, &c) == NULL);
	CHECK(ticker_start(10, NULL, &c) == NULL);
}

int main(void)
{
	RUN(calls_again_and_again);
	RUN(stop_lets_a_call_finish);
	RUN(stop_wakes_a_long_wait);
	RUN(bad_arguments_start_nothing);
	return test_summary();
}
