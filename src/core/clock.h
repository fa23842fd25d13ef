/* clock: the time helpers every module uses. Monotonic time measures
 * durations and deadlines (it never jumps); wall-clock time stamps records
 * (ISO 8601 UTC with milliseconds, as the store and the records write it). */
#ifndef HIPPO_CORE_CLOCK_H
#define HIPPO_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CLOCK_ISO_LEN 32 /* a buffer for clock_iso8601* */

/* Monotonic time (CLOCK_MONOTONIC). */
int64_t clock_mono_ns(void);
int64_t clock_mono_ms(void);
double clock_mono_s(void);

/* The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID): what one core
 * delivered, whatever else the machine runs (benchmarks). */
double clock_thread_cpu_s(void);

/* Wall-clock time (CLOCK_REALTIME), since the Unix epoch. */
int64_t clock_wall_ms(void);
double clock_wall_s(void);

/* "2026-11-23T21:30:00.123Z" for WALL_MS (ms since the epoch), into BUF
 * (at least CLOCK_ISO_LEN bytes); for now with clock_iso8601_now. */
void clock_iso8601(int64_t wall_ms, char *buf, size_t len);
void clock_iso8601_now(char *buf, size_t len);
/* The ms since the epoch of TEXT as clock_iso8601 writes it
 * ("2026-11-23T21:30:00.123Z"; the fraction may be absent), -1 for anything
 * else. */
int64_t clock_iso8601_parse(const char *text);
/* The basic form to the second, "20261123T213000Z", for names (trial ids):
 * at least CLOCK_STAMP_LEN bytes. */
#define CLOCK_STAMP_LEN 17
void clock_stamp(int64_t wall_ms, char *buf, size_t len);

/* The absolute time MS milliseconds from now on clock ID (CLOCK_MONOTONIC or
 * CLOCK_REALTIME), for pthread_cond_timedwait on a condition variable of
 * that clock. */
struct timespec clock_deadline(clockid_t id, int64_t ms);

#endif
