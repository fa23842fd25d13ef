/* rng: numpy's default generator, bit for bit: SeedSequence -> PCG64 ->
 * Generator, so that reset(seed=s) draws exactly what Gymnasium draws with
 * np.random.Generator(np.random.PCG64(np.random.SeedSequence(s))). */
#ifndef HIPPO_ENV_RNG_H
#define HIPPO_ENV_RNG_H

#include <stdbool.h>
#include <stdint.h>

struct rng {
	/* PCG64 (XSL-RR 128/64): 128-bit state and increment as hi/lo halves */
	uint64_t state_hi, state_lo;
	uint64_t inc_hi, inc_lo;
	/* numpy's buffered 32-bit half, used by 32-bit draws */
	bool has_uint32;
	uint32_t uinteger;
};

/* Seeds like np.random.default_rng(SEED) (SeedSequence(SEED) entropy = SEED). */
void rng_seed(struct rng *r, uint64_t seed);
/* Seeds from the operating system's entropy (Gymnasium's reset() with no seed
 * on a fresh env). Returns the 128-bit entropy's low 64 bits for logging. */
uint64_t rng_seed_random(struct rng *r);

uint64_t rng_next_u64(struct rng *r);
uint32_t rng_next_u32(struct rng *r);
/* Generator.random(): (next_u64 >> 11) * 2^-53, in [0, 1). */
double rng_next_double(struct rng *r);
/* Generator.uniform(low, high) for one float64 value. */
double rng_uniform(struct rng *r, double low, double high);
/* Generator.integers(low, high) for one int64 value in [low, high)
 * (numpy's default: Lemire's bounded method, 32-bit path when the range fits). */
int64_t rng_integers(struct rng *r, int64_t low, int64_t high);

#endif
