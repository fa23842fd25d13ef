/* groups: which variant of a step (<stem>-<g>.html) a participant sees. A
 * project's strategy (project.groups) picks the group the first time the
 * participant reaches a step with variants; the store keeps it. A strategy
 * is one section below and one entry of the table at the end. */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/text.h"
#include "flow/flow_int.h"
#include "store/store.h"

/* ---- hash: the original bucketer ---- */

/* The original bucketer's window: factor N into primes, drop duplicates and the
 * smallest prime, multiply the rest (1 if none). */
static int bucketer_window(int n)
{
	int k = 1, smallest = 0;
	for (int p = 2; n > 1 && p <= n; p++) {
		if (n % p)
			continue;
		if (!smallest)
			smallest = p;
		else
			k *= p;
		while (n % p == 0)
			n /= p;
	}
	return k;
}

int flow_group_hash(const char *user_id, int n)
{
	if (n <= 1)
		return 0;
	size_t len = strlen(user_id);
	size_t k = (size_t)bucketer_window(n);
	if (k > len)
		k = len;
	long sum = 0;
	bool hex = k > 0;
	for (size_t i = len - k; i < len; i++) {
		int v = text_hexval((unsigned char)user_id[i]);
		if (v < 0) {
			hex = false;
			break;
		}
		sum += v;
	}
	if (hex)
		return (int)(sum % n);
	/* The original failed here; hippo falls back to FNV-1a of the whole id. */
	unsigned h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)user_id[i];
		h *= 16777619u;
	}
	return (int)(h % (unsigned)n);
}

static int choose_hash(struct flow *f, const char *user_id, const long long *counts, int n)
{
	return flow_group_hash(user_id, n);
}

/* ---- balanced: the least-filled group ---- */

int flow_group_balanced(const long long *counts, int n, unsigned rnd)
{
	if (n <= 1)
		return 0;
	long long min = counts[0];
	int nmin = 0;
	for (int g = 0; g < n; g++)
		if (counts[g] < min)
			min = counts[g];
	for (int g = 0; g < n; g++)
		nmin += counts[g] == min;
	int pick = (int)(rnd % (unsigned)nmin);
	for (int g = 0; g < n; g++)
		if (counts[g] == min && pick-- == 0)
			return g;
	return 0;
}

static int choose_balanced(struct flow *f, const char *user_id, const long long *counts, int n)
{
	return flow_group_balanced(counts, n, flow__random(f));
}

/* ---- dispatch ---- */

typedef int (*choose_fn)(struct flow *f, const char *user_id, const long long *counts, int n);

static const choose_fn strategies[] = {
	[CFG_GROUPS_BALANCED] = choose_balanced,
	[CFG_GROUPS_HASH] = choose_hash,
};

struct choose_ctx {
	struct flow *f;
	const char *user_id;
	choose_fn choose;
};

static int choose_group(void *user, const long long *counts, int n)
{
	struct choose_ctx *c = user;
	return c->choose(c->f, c->user_id, counts, n);
}

int flow__group_of(struct flow *f, const struct flow__project *p,
		   const struct store_participant *part, int n)
{
	int g = 0;
	/* a preview is in no group (nothing stored, nothing counted): it sees the
	 * variant its userId hashes to */
	if (part->preview)
		return flow_group_hash(part->user_id, n);
	int rc = store_group_get(f->store, part->id, n, &g);
	if (rc == 1)
		return g;
	unsigned k = (unsigned)p->cfg->project.groups;
	struct choose_ctx ctx = {f, part->user_id,
				 k < sizeof strategies / sizeof strategies[0] && strategies[k]
					 ? strategies[k]
					 : choose_balanced};
	if (rc < 0 || store_group_assign(f->store, part->id, part->project_id, n, choose_group,
					 &ctx, &g) < 0) {
		log_error("flow", "group assignment failed", "user=%s error=\"%s\"", part->user_id,
			  store_errmsg(f->store));
		return flow_group_hash(part->user_id, n);
	}
	log_info("flow", "group assigned", "project=%s user=%s n=%d group=%d", part->project_id,
		 part->user_id, n, g);
	return g;
}
