/* ticker: a thread that calls one function every few seconds until it is
 * stopped (the polls of the store a server runs beside its requests: the
 * deployed versions, the withdrawals). The stop wakes the thread at once;
 * a call under way is let finish. */
#ifndef HIPPO_CORE_TICKER_H
#define HIPPO_CORE_TICKER_H

struct ticker;

/* Starts the thread: it waits EVERY_MS (> 0), calls FN(USER), and again.
 * Returns the ticker, or NULL when the thread cannot start. */
struct ticker *ticker_start(int every_ms, void (*fn)(void *user), void *user);

/* Stops the thread (waits for a call under way) and frees T; NULL is a no-op. */
void ticker_stop(struct ticker *t);

#endif
