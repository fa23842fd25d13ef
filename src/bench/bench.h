/* bench: `hippo bench KIND ...` benchmarks; each KIND is one function taking
 * the arguments after KIND (argv[0] is KIND) and returning an exit code. */
#ifndef HIPPO_BENCH_BENCH_H
#define HIPPO_BENCH_BENCH_H

#include <stddef.h>

struct bench_kind {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

/* The kinds, listed in src/cli/cmd_bench.c's table (one extern per kind). */
extern const struct bench_kind bench_env; /* src/bench/bench_env.c */
extern const struct bench_kind bench_external; /* src/bench/bench_external.c */
extern const struct bench_kind bench_trial; /* src/bench/bench_trial.c */
extern const struct bench_kind bench_next; /* src/bench/bench_next.c */
extern const struct bench_kind bench_admin; /* src/bench/bench_admin.c */
extern const struct bench_kind bench_place; /* src/bench/bench_place.c */

/* Sorting and percentiles (stats.c), one rule for every kind: V sorted
 * ascending; the P-th percentile (0..100) of N sorted values is the value at
 * the nearest rank, index round(P/100 * (N-1)) (bench_rank); 0 when N is 0. */
void bench_sort(double *v, size_t n);
size_t bench_rank(size_t n, double p);
double bench_pct(const double *sorted, size_t n, double p);

#endif
