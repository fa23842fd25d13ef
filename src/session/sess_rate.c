/* sess_rate: how many sessions a client address may allocate: a token
 * bucket per address (sess_set_alloc_rate), and how many it may hold live at
 * once (sess_set_max_per_address), so that one client cannot take every
 * slot. Bounded: at most SESS_ADDR_MAX addresses are tracked; an address
 * holding live sessions is never forgotten. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "session/sess_int.h"

/* With m->mu held: the allowance of ADDR refilled to NOW, created when new
 * (NULL when the table is full of addresses that used theirs lately). */
static struct addr_bucket *addr_get(struct sess_mgr *m, const char *addr, int64_t now)
{
	double rate = m->alloc_rate / 60e9; /* tokens per ns */
	double cap = m->alloc_rate;
	if (!m->addrs) {
		m->addrs = calloc(SESS_ADDR_BUCKETS, sizeof *m->addrs);
		if (!m->addrs)
			return NULL;
	}
	size_t h = sess__hash(addr) & (SESS_ADDR_BUCKETS - 1);
	for (struct addr_bucket *b = m->addrs[h]; b; b = b->next) {
		if (strcmp(b->addr, addr) != 0)
			continue;
		b->tokens = fmin(cap, b->tokens + (double)(now - b->at) * rate);
		b->at = now;
		return b;
	}
	if (m->naddrs >= SESS_ADDR_MAX) {
		/* forget the addresses whose allowance is full again (idle for a minute) */
		for (size_t i = 0; i < SESS_ADDR_BUCKETS; i++) {
			struct addr_bucket **pp = &m->addrs[i];
			while (*pp) {
				struct addr_bucket *b = *pp;
				if (b->live == 0 && b->tokens + (double)(now - b->at) * rate >= cap) {
					*pp = b->next;
					free(b);
					m->naddrs--;
				} else {
					pp = &b->next;
				}
			}
		}
		if (m->naddrs >= SESS_ADDR_MAX)
			return NULL;
	}
	struct addr_bucket *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	snprintf(b->addr, sizeof b->addr, "%s", addr);
	b->tokens = cap;
	b->at = now;
	b->next = m->addrs[h];
	m->addrs[h] = b;
	m->naddrs++;
	return b;
}

/* With m->mu held: whether CLIENT may allocate now (CHARGE: and takes one
 * allocation from its allowance); *RETRY_S gets the wait otherwise. */
bool sess__addr_allow(struct sess_mgr *m, const char *client, bool charge, int *retry_s)
{
	if (!client || !client[0] || m->alloc_rate <= 0)
		return true;
	int64_t now = clock_mono_ns();
	struct addr_bucket *b = addr_get(m, client, now);
	if (b && b->tokens >= 1) {
		if (charge)
			b->tokens -= 1;
		return true;
	}
	if (retry_s) {
		double need = b ? 1 - b->tokens : 1;
		*retry_s = (int)ceil(need * 60.0 / m->alloc_rate);
		if (*retry_s < 1)
			*retry_s = 1;
	}
	return false;
}

void sess__addrs_clear(struct sess_mgr *m)
{
	for (size_t i = 0; m->addrs && i < SESS_ADDR_BUCKETS; i++)
		while (m->addrs[i]) {
			struct addr_bucket *b = m->addrs[i];
			m->addrs[i] = b->next;
			free(b);
		}
	m->naddrs = 0;
}

void sess_set_alloc_rate(struct sess_mgr *m, int per_minute)
{
	pthread_mutex_lock(&m->mu);
	m->alloc_rate = per_minute > 0 ? per_minute : 0;
	sess__addrs_clear(m); /* every address starts with a full allowance at the new rate */
	pthread_mutex_unlock(&m->mu);
}


/* With m->mu held: ADDR's entry when it has one (no refill, no creation). */
static struct addr_bucket *addr_find(struct sess_mgr *m, const char *addr)
{
	if (!m->addrs)
		return NULL;
	size_t h = sess__hash(addr) & (SESS_ADDR_BUCKETS - 1);
	for (struct addr_bucket *b = m->addrs[h]; b; b = b->next)
		if (strcmp(b->addr, addr) == 0)
			return b;
	return NULL;
}

bool sess__addr_room(struct sess_mgr *m, const char *client)
{
	if (!client || !client[0] || m->max_per_addr <= 0)
		return true;
	struct addr_bucket *b = addr_find(m, client);
	if (!b || b->live < m->max_per_addr)
		return true;
	m->refused_rate++;
	return false;
}

void sess__addr_hold(struct sess_mgr *m, struct sess *s, const char *client)
{
	if (!client || !client[0] || m->max_per_addr <= 0 || s->client[0])
		return;
	struct addr_bucket *b = addr_get(m, client, clock_mono_ns());
	if (!b)
		return; /* the table is full of busy addresses: not counted */
	b->live++;
	snprintf(s->client, sizeof s->client, "%s", client);
}

void sess__addr_release(struct sess_mgr *m, struct sess *s)
{
	if (!s->client[0])
		return;
	struct addr_bucket *b = addr_find(m, s->client);
	if (b && b->live > 0)
		b->live--;
	s->client[0] = '\0';
}

void sess_set_max_per_address(struct sess_mgr *m, int n)
{
	pthread_mutex_lock(&m->mu);
	m->max_per_addr = n > 0 ? n : 0;
	pthread_mutex_unlock(&m->mu);
}
