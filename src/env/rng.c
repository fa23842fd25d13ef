/* rng: numpy's SeedSequence -> PCG64 -> Generator, re-implemented from the
 * algorithms' definitions (numpy/random/bit_generator.pyx for SeedSequence,
 * numpy/random/src/pcg64/pcg64.h for PCG64 XSL-RR 128/64, and
 * numpy/random/src/distributions/distributions.c for the draws). Every
 * constant below is numpy's; tests/unit/test_rng.c checks outputs against
 * numpy and against tests/reference/rng_reference.py. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "env/rng.h"

/* SeedSequence hashing constants (bit_generator.pyx). */
#define SS_POOL_SIZE 4
#define SS_INIT_A    0x43b0d7e5u
#define SS_MULT_A    0x931e8875u
#define SS_INIT_B    0x8b51f9ddu
#define SS_MULT_B    0x58f38dedu
#define SS_MIX_MULT_L 0xca01f9ddu
#define SS_MIX_MULT_R 0x4973f715u
#define SS_XSHIFT    16

/* PCG_DEFAULT_MULTIPLIER_128 = 2549297995355413924 * 2^64 + 4865540595714422341 */
#define PCG_MULT_HI 0x2360ed051fc65da4ull
#define PCG_MULT_LO 0x4385df649fccf645ull

__extension__ typedef unsigned __int128 u128;

static uint32_t ss_hashmix(uint32_t value, uint32_t *hash_const)
{
	value ^= *hash_const;
	*hash_const *= SS_MULT_A;
	value *= *hash_const;
	value ^= value >> SS_XSHIFT;
	return value;
}

static uint32_t ss_mix(uint32_t x, uint32_t y)
{
	uint32_t result = SS_MIX_MULT_L * x - SS_MIX_MULT_R * y;
	result ^= result >> SS_XSHIFT;
	return result;
}

/* SeedSequence.mix_entropy() followed by generate_state(4, np.uint64):
 * ENTROPY is the seed as little-endian 32-bit words (numpy's
 * _int_to_uint32_array; no spawn key). Writes 4 uint64 words to OUT. */
static void ss_generate(const uint32_t *entropy, int n, uint64_t out[4])
{
	uint32_t pool[SS_POOL_SIZE];
	uint32_t hash_const = SS_INIT_A;

	for (int i = 0; i < SS_POOL_SIZE; i++)
		pool[i] = ss_hashmix(i < n ? entropy[i] : 0, &hash_const);
	for (int src = 0; src < SS_POOL_SIZE; src++)
		for (int dst = 0; dst < SS_POOL_SIZE; dst++)
			if (src != dst)
				pool[dst] = ss_mix(pool[dst], ss_hashmix(pool[src], &hash_const));
	for (int src = SS_POOL_SIZE; src < n; src++)
		for (int dst = 0; dst < SS_POOL_SIZE; dst++)
			pool[dst] = ss_mix(pool[dst], ss_hashmix(entropy[src], &hash_const));

	uint32_t words[8];
	hash_const = SS_INIT_B;
	for (int i = 0; i < 8; i++) {
		uint32_t v = pool[i % SS_POOL_SIZE];
		v ^= hash_const;
		hash_const *= SS_MULT_B;
		v *= hash_const;
		v ^= v >> SS_XSHIFT;
		words[i] = v;
	}
	/* .view(np.uint64) on a little-endian machine: low word first */
	for (int i = 0; i < 4; i++)
		out[i] = (uint64_t)words[2 * i] | (uint64_t)words[2 * i + 1] << 32;
}

static u128 rng_state(const struct rng *r)
{
	return (u128)r->state_hi << 64 | r->state_lo;
}

static void pcg_step(struct rng *r)
{
	const u128 mult = (u128)PCG_MULT_HI << 64 | PCG_MULT_LO;
	u128 s = rng_state(r) * mult + ((u128)r->inc_hi << 64 | r->inc_lo);
	r->state_hi = (uint64_t)(s >> 64);
	r->state_lo = (uint64_t)s;
}

/* pcg64_set_seed(): seed = words 0,1 (high, low), sequence = words 2,3;
 * pcg_setseq_128_srandom_r(): state 0, inc = seq << 1 | 1, step, add seed, step. */
static void pcg_seed(struct rng *r, const uint64_t w[4])
{
	u128 initstate = (u128)w[0] << 64 | w[1];
	u128 initseq = (u128)w[2] << 64 | w[3];
	u128 inc = initseq << 1 | 1u;

	r->state_hi = r->state_lo = 0;
	r->inc_hi = (uint64_t)(inc >> 64);
	r->inc_lo = (uint64_t)inc;
	pcg_step(r);
	u128 s = rng_state(r) + initstate;
	r->state_hi = (uint64_t)(s >> 64);
	r->state_lo = (uint64_t)s;
	pcg_step(r);
	r->has_uint32 = false;
	r->uinteger = 0;
}

static void rng_seed_words(struct rng *r, const uint32_t *entropy, int n)
{
	uint64_t w[4];
	ss_generate(entropy, n, w);
	pcg_seed(r, w);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	uint32_t e[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
	/* _int_to_uint32_array: 0 -> [0]; otherwise as many words as needed */
	rng_seed_words(r, e, e[1] ? 2 : 1);
}

uint64_t rng_seed_random(struct rng *r)
{
	uint32_t e[4];
	size_t got = 0;
	while (got < sizeof e) {
		ssize_t n = getrandom((char *)e + got, sizeof e - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	if (got < sizeof e) { /* no entropy source: fall back to the clock */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		e[0] = (uint32_t)ts.tv_nsec;
		e[1] = (uint32_t)ts.tv_sec;
		e[2] = (uint32_t)((uintptr_t)r >> 4);
		e[3] = 0x9e3779b9u;
	}
	/* numpy draws 128 bits (randbits(128)); a top word of 0 would be dropped */
	int n = 4;
	while (n > 1 && e[n - 1] == 0)
		n--;
	rng_seed_words(r, e, n);
	return (uint64_t)e[0] | (uint64_t)e[1] << 32;
}

uint64_t rng_next_u64(struct rng *r)
{
	pcg_step(r);
	uint64_t hi = r->state_hi, lo = r->state_lo;
	unsigned rot = (unsigned)(hi >> 58);
	uint64_t x = hi ^ lo;
	return (x >> rot) | (x << ((64u - rot) & 63u));
}

uint32_t rng_next_u32(struct rng *r)
{
	if (r->has_uint32) {
		r->has_uint32 = false;
		return r->uinteger;
	}
	uint64_t next = rng_next_u64(r);
	r->has_uint32 = true;
	r->uinteger = (uint32_t)(next >> 32);
	return (uint32_t)next;
}

double rng_next_double(struct rng *r)
{
	return (double)(rng_next_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

double rng_uniform(struct rng *r, double low, double high)
{
	/* random_uniform(bitgen, lower, range) = lower + range * next_double */
	double range = high - low;
	return low + range * rng_next_double(r);
}

/* numpy's buffered_bounded_lemire_uint32 (RNG is the inclusive range, < 2^32-1). */
static uint32_t lemire32(struct rng *r, uint32_t rng)
{
	const uint32_t rng_excl = rng + 1;
	uint64_t m = (uint64_t)rng_next_u32(r) * rng_excl;
	uint32_t leftover = (uint32_t)m;
	if (leftover < rng_excl) {
		const uint32_t threshold = (UINT32_MAX - rng) % rng_excl;
		while (leftover < threshold) {
			m = (uint64_t)rng_next_u32(r) * rng_excl;
			leftover = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

/* numpy's bounded_lemire_uint64. */
static uint64_t lemire64(struct rng *r, uint64_t rng)
{
	const uint64_t rng_excl = rng + 1;
	u128 m = (u128)rng_next_u64(r) * rng_excl;
	uint64_t leftover = (uint64_t)m;
	if (leftover < rng_excl) {
		const uint64_t threshold = (UINT64_MAX - rng) % rng_excl;
		while (leftover < threshold) {
			m = (u128)rng_next_u64(r) * rng_excl;
			leftover = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

int64_t rng_integers(struct rng *r, int64_t low, int64_t high)
{
	if (high <= low)
		return low;
	/* _rand_int64: closed range [low, high - 1], rng = high - 1 - low */
	uint64_t rng = (uint64_t)high - 1u - (uint64_t)low;
	uint64_t off = (uint64_t)low;
	if (rng == 0)
		return low;
	if (rng <= 0xffffffffull) {
		if (rng == 0xffffffffull)
			return (int64_t)(off + rng_next_u32(r));
		return (int64_t)(off + lemire32(r, (uint32_t)rng));
	}
	if (rng == UINT64_MAX)
		return (int64_t)(off + rng_next_u64(r));
	return (int64_t)(off + lemire64(r, rng));
}
