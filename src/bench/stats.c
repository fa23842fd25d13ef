/* stats: the benchmarks' one rule for sorting and percentiles (bench.h). */
#include <stdlib.h>

#include "bench/bench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
}

size_t bench_rank(size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return i < n ? i : n - 1;
}

double bench_pct(const double *sorted, size_t n, double p)
{
	return n ? sorted[bench_rank(n, p)] : 0.0;
}
