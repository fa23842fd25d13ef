/* login_limit: failed admin logins per client address (docs/api.md, "/api/").
 * Each address may fail LOGIN_BURST times at once and then once every
 * LOGIN_REFILL_S seconds (a token bucket); while it has no allowance left,
 * every admin request from it is refused with 429 before its token is even
 * compared, so a token cannot be guessed faster than that. The table is
 * bounded (LOGIN_SLOTS addresses; an address that has not failed for a
 * while is forgotten first). Thread-safe. */
#ifndef HIPPO_FLOW_LOGIN_LIMIT_H
#define HIPPO_FLOW_LOGIN_LIMIT_H

#include <stdint.h>

#define LOGIN_BURST 10     /* failures at once */
#define LOGIN_REFILL_S 6   /* then one more every 6 s: 10 a minute */
#define LOGIN_SLOTS 4096   /* addresses remembered */

struct login_limit;

struct login_limit *login_limit_new(void);
void login_limit_free(struct login_limit *l);

/* 0 when ADDR may try a token now, else the seconds until it may (>= 1).
 * NOW_MS: a monotonic clock in milliseconds. */
int login_limit_wait(struct login_limit *l, const char *addr, int64_t now_ms);
/* ADDR presented a missing or wrong token at NOW_MS. */
void login_limit_failed(struct login_limit *l, const char *addr, int64_t now_ms);

#endif
