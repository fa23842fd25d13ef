/* groups: which variant of a step (<stem>-<g>.html) a participant sees. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/flow.h"
#include "core/text.h"

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
