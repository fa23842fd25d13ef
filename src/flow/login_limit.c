/* login_limit: see login_limit.h. A set-associative table: an address hashes
 * to a set of WAYS slots; a new address takes a free slot of its set or the
 * one whose bucket is the fullest (the address that failed least lately). */
#include "flow/login_limit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 8
#define SETS (LOGIN_SLOTS / WAYS)

struct slot {
	char addr[64];
	double tokens; /* failures still allowed */
	int64_t at;    /* when TOKENS was computed */
	bool used;
};

struct login_limit {
	pthread_mutex_t mu;
	struct slot slots[LOGIN_SLOTS];
};

struct login_limit *login_limit_new(void)
{
	struct login_limit *l = calloc(1, sizeof *l);
	if (l)
		pthread_mutex_init(&l->mu, NULL);
	return l;
}

void login_limit_free(struct login_limit *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static size_t hash(const char *s)
{
	size_t h = 14695981039346656037u;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 1099511628211u;
	return h;
}

static void refill(struct slot *s, int64_t now)
{
	if (now > s->at) {
		s->tokens += (double)(now - s->at) / (LOGIN_REFILL_S * 1000.0);
		if (s->tokens > LOGIN_BURST)
			s->tokens = LOGIN_BURST;
	}
	s->at = now;
}

/* With the lock held: ADDR's slot, or NULL when it has none and CREATE is false. */
static struct slot *find(struct login_limit *l, const char *addr, int64_t now, bool create)
{
	struct slot *set = &l->slots[(hash(addr) % SETS) * WAYS], *victim = NULL;
	for (int i = 0; i < WAYS; i++) {
		if (set[i].used && strcmp(set[i].addr, addr) == 0) {
			refill(&set[i], now);
			return &set[i];
		}
	}
	if (!create)
		return NULL;
	double best = -1;
	for (int i = 0; i < WAYS; i++) {
		if (!set[i].used) {
			victim = &set[i];
			break;
		}
		refill(&set[i], now);
		if (set[i].tokens > best) {
			best = set[i].tokens;
			victim = &set[i];
		}
	}
	snprintf(victim->addr, sizeof victim->addr, "%s", addr);
	victim->tokens = LOGIN_BURST;
	victim->at = now;
	victim->used = true;
	return victim;
}

int login_limit_wait(struct login_limit *l, const char *addr, int64_t now_ms)
{
	if (!l || !addr)
		return 0;
	pthread_mutex_lock(&l->mu);
	struct slot *s = find(l, addr, now_ms, false);
	int wait = 0;
	if (s && s->tokens < 1) {
		double ms = (1 - s->tokens) * LOGIN_REFILL_S * 1000.0;
		wait = (int)(ms / 1000.0) + 1;
	}
	pthread_mutex_unlock(&l->mu);
	return wait;
}

void login_limit_failed(struct login_limit *l, const char *addr, int64_t now_ms)
{
	if (!l || !addr)
		return;
	pthread_mutex_lock(&l->mu);
	struct slot *s = find(l, addr, now_ms, true);
	s->tokens -= 1;
	if (s->tokens < 0)
		s->tokens = 0;
	pthread_mutex_unlock(&l->mu);
}
