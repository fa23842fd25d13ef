/* test_rng: numpy's default generator bit for bit. The table below was printed
 * by tests/reference/rng_reference.py, a pure-Python derivation of
 * SeedSequence, PCG64 and the Generator draws from their definitions, which
 * checks itself against Debian's numpy 1.24 (`rng_reference.py --check`). */
#include <stdint.h>

#include "env/rng.h"
#include "test.h"

struct rng_case {
	uint64_t seed;
	uint64_t state[4]; /* SeedSequence(seed).generate_state(4, np.uint64), for reference */
	uint64_t raw[3];   /* PCG64(seed).random_raw(3) */
	double random[3];  /* default_rng(seed).random(3) */
	double uniform[4]; /* default_rng(seed).uniform(-0.05, 0.05, size=4) */
	int64_t ints[8];   /* integers(0,7) x5, integers(1,19), integers(0,10**12), integers(-3,4) */
};

static const struct rng_case cases[] = {
	{0ull,
	 {0xdb2cd7e7b0f478beull, 0xabf4641a2c71ba49ull, 0x20c6ed6d9d7b8d41ull, 0x2c4099de223c39d4ull},
	 {0xa30febcfd9c2825full, 0x4510bdf882d9d721ull, 0x0a7d3da94ecde8b8ull},
	 {0x1.461fd79fb3850p-1, 0x1.1442f7e20b674p-2, 0x1.4fa7b529d9bd0p-5},
	 {0x1.c0cbca647ced0p-7, -0x1.792e736320f47p-6, -0x1.7808d4489d6d2p-5, -0x1.8c0f80ec8f29dp-5},
	 {5, 4, 3, 1, 2, 1, 16527635528, -2}},
	{1ull,
	 {0x672d8ee56d6791ffull, 0x8ae19ca14eb1072cull, 0x4915796d1322fc4aull, 0xd0cc2bdcaba049bdull},
	 {0x8306bdf37922e4ffull, 0xf35196bbc152a866ull, 0x24e7a4f608ec18cdull},
	 {0x1.060d7be6f245cp-1, 0x1.e6a32d7782a55p-1, 0x1.273d27b04760cp-3},
	 {0x1.35e59496dac00p-10, 0x1.7105158c043bcp-5, -0x1.2381235316a62p-5, 0x1.6f889bc9088e2p-5},
	 {3, 3, 5, 6, 0, 3, 948649447137, -2}},
	{42ull,
	 {0x9f1e2e6dcd540ab7ull, 0xd57873dc79fb94b6ull, 0x7d282a1b64d420b7ull, 0x336579714692d5ffull},
	 {0xc621fbcd16d92688ull, 0x705a5661a791ffc1ull, 0xdbcd12c26eda1624ull},
	 {0x1.8c43f79a2db24p-1, 0x1.c16959869e47ep-2, 0x1.b79a2584ddb42p-1},
	 {0x1.c0d97eba2bd40p-6, -0x1.9090f63c0b010p-8, 0x1.25c36f3afc536p-5, 0x1.435e26c08cd04p-6},
	 {0, 5, 4, 3, 3, 16, 697368029059, -2}},
	{123ull,
	 {0xb1383ed0295844f6ull, 0xa250632e171d58afull, 0x86a7247f7443199dull, 0x136de7e3c11fce1dull},
	 {0xaeae9c9903f3e9cdull, 0x0dc736db97cb6d23ull, 0x3869812ee8b9ea96ull},
	 {0x1.5d5d393207e7dp-1, 0x1.b8e6db72f96d0p-5, 0x1.c34c097745cf4p-3},
	 {0x1.2ac3ea39b2e5cp-6, -0x1.6d8283a7b3db8p-5, -0x1.ca299206fb5a4p-6, -0x1.02900762623b2p-5},
	 {0, 4, 4, 0, 6, 4, 184371810698, -1}},
	{4294967301ull,
	 {0xf9c15bd6e249d9acull, 0xb2021b4036320ed7ull, 0x9388b47fe6dcf739ull, 0x5eeba8d9ad6439e1ull},
	 {0xc6323ec321deb8d1ull, 0x78814821c73a0583ull, 0xb22536d8e0ec17c0ull},
	 {0x1.8c647d8643bd7p-1, 0x1.e20520871ce80p-2, 0x1.644a6db1c1d82p-1},
	 {0x1.c14191ada5918p-6, -0x1.7fbe5fa4f4660p-9, 0x1.40ee2bd26c4d4p-6, 0x1.034ec175ea346p-5},
	 {0, 5, 5, 3, 6, 13, 816537645842, 2}},
	{18446744073709551615ull,
	 {0xaebca151928cad0dull, 0x119c30448638dc7aull, 0x1bbb155659e642a7ull, 0xa76b11e3e8c4a8f6ull},
	 {0xae163a7a8c47568full, 0xd86659f5f3382359ull, 0x01e52b195bc2d24aull},
	 {0x1.5c2c74f5188eap-1, 0x1.b0ccb3ebe6704p-1, 0x1.e52b195bc2d00p-8},
	 {0x1.26f4a976b4fb8p-6, 0x1.1ae11fdfd71a0p-5, -0x1.93890faeda5d7p-5, 0x1.433aeefd1ed3cp-5},
	 {3, 4, 6, 5, 2, 1, 894568126439, 1}},
};

#define NCASES (sizeof cases / sizeof cases[0])

static void test_raw_outputs_match_numpy(void)
{
	for (size_t i = 0; i < NCASES; i++) {
		struct rng r;
		rng_seed(&r, cases[i].seed);
		for (int k = 0; k < 3; k++)
			CHECK(rng_next_u64(&r) == cases[i].raw[k]);
	}
}

static void test_random_matches_numpy(void)
{
	for (size_t i = 0; i < NCASES; i++) {
		struct rng r;
		rng_seed(&r, cases[i].seed);
		for (int k = 0; k < 3; k++)
			CHECK_EXACT(rng_next_double(&r), cases[i].random[k]);
	}
}

static void test_uniform_matches_numpy(void)
{
	for (size_t i = 0; i < NCASES; i++) {
		struct rng r;
		rng_seed(&r, cases[i].seed);
		for (int k = 0; k < 4; k++)
			CHECK_EXACT(rng_uniform(&r, -0.05, 0.05), cases[i].uniform[k]);
	}
}

static void test_integers_match_numpy(void)
{
	for (size_t i = 0; i < NCASES; i++) {
		struct rng r;
		rng_seed(&r, cases[i].seed);
		const int64_t *want = cases[i].ints;
		for (int k = 0; k < 5; k++)
			CHECK_INT(rng_integers(&r, 0, 7), want[k]);
		CHECK_INT(rng_integers(&r, 1, 19), want[5]);
		CHECK_INT(rng_integers(&r, 0, 1000000000000ll), want[6]);
		CHECK_INT(rng_integers(&r, -3, 4), want[7]);
	}
}

/* Ranges where Lemire's method rejects about one draw in four: [0, 3*2^30)
 * (32-bit path, threshold 2^30) and [-2^63, 2^62) (64-bit path, threshold
 * 2^62). 16 integers from each, in that order, from one generator;
 * rng_reference.py checks that both ranges' draws went through the rejection
 * loop, and the values against numpy. */
#define REJECT_DRAWS 16
static const struct {
	uint64_t seed;
	int64_t ints[2 * REJECT_DRAWS];
} reject_cases[] = {
	{7ull,
	 {3043751912ll, 2013573438ll, 2203897839ll, 1862810377ll, 2498658503ll, 2685377905ll,
	  725443136ll, 178879731ll, 966903282ll, 2813912609ll, 16960732ll, 1609925925ll,
	  2645361899ll, 423400198ll, 2567540346ll, 383593176ll, -5371337529363104285ll,
	  -3065715505937837011ll, -2242917582479951530ll, -1565704037459220887ll,
	  4549432178509896336ll, 1743151633678879242ll, -615486276745567287ll,
	  4458949020684524306ll, -6244563696958035602ll, -7006829247276663848ll,
	  -748851050577831791ll, -8615431805643365100ll, -8729733308593420536ll,
	  -2099855316384623069ll, -2773384610757053698ll, 3465697351702200358ll}},
	{2026ull,
	 {2744007487ll, 85096847ll, 2061304589ll, 1177285999ll, 1505176875ll, 257144150ll,
	  1193465735ll, 2072701075ll, 1143268757ll, 2323175441ll, 571294618ll, 2765276795ll,
	  2102767033ll, 317183433ll, 960900472ll, 533671716ll, 3502808336339087572ll,
	  -2096190740841841592ll, 2202936810353497831ll, -4535882075406301548ll,
	  -5378620256892705719ll, -6092041055596809807ll, -1948665482728056349ll,
	  -3261678660564395560ll, -48229651478370733ll, -9045723217852178538ll,
	  -3029390237606353232ll, -4171074452513689332ll, -993368176380043015ll,
	  -3200789252049509522ll, -5072972166449231356ll, 2877102570945455556ll}},
};

static void test_integers_rejection_paths_match_numpy(void)
{
	for (size_t i = 0; i < sizeof reject_cases / sizeof reject_cases[0]; i++) {
		struct rng r;
		rng_seed(&r, reject_cases[i].seed);
		const int64_t *want = reject_cases[i].ints;
		for (int k = 0; k < REJECT_DRAWS; k++)
			CHECK_INT(rng_integers(&r, 0, 3ll << 30), want[k]);
		for (int k = 0; k < REJECT_DRAWS; k++)
			CHECK_INT(rng_integers(&r, INT64_MIN, 1ll << 62), want[REJECT_DRAWS + k]);
	}
}

static void test_integers_empty_range_draws_nothing(void)
{
	struct rng a, b;
	rng_seed(&a, 7);
	rng_seed(&b, 7);
	CHECK_INT(rng_integers(&a, 5, 6), 5);
	CHECK(rng_next_u64(&a) == rng_next_u64(&b));
}

static void test_u32_halves_are_buffered(void)
{
	struct rng a, b;
	rng_seed(&a, 99);
	rng_seed(&b, 99);
	uint64_t full = rng_next_u64(&b);
	CHECK(rng_next_u32(&a) == (uint32_t)full);
	CHECK(rng_next_u32(&a) == (uint32_t)(full >> 32));
	CHECK(rng_next_u64(&a) == rng_next_u64(&b));
}

static void test_random_seed_gives_distinct_streams(void)
{
	struct rng a, b;
	rng_seed_random(&a);
	rng_seed_random(&b);
	CHECK(rng_next_u64(&a) != rng_next_u64(&b));
}

int main(void)
{
	RUN(test_raw_outputs_match_numpy);
	RUN(test_random_matches_numpy);
	RUN(test_uniform_matches_numpy);
	RUN(test_integers_match_numpy);
	RUN(test_integers_rejection_paths_match_numpy);
	RUN(test_integers_empty_range_draws_nothing);
	RUN(test_u32_halves_are_buffered);
	RUN(test_random_seed_gives_distinct_streams);
	return test_summary();
}
