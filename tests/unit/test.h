/* test.h: a minimal harness for unit tests. Each test file is one executable
 * (one ctest test); TEST functions are run in order by RUN and the file's main
 * returns test_summary(), which prints "N passed, N failed". */
#ifndef HIPPO_TEST_H
#define HIPPO_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_failures_;
static int test_checks_failed_;
static int tests_passed_, tests_failed_;

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			test_checks_failed_++;                                          \
		}                                                                       \
	} while (0)

#define CHECK_INT(a, b)                                                                 \
	do {                                                                            \
		long long a_ = (long long)(a), b_ = (long long)(b);                     \
		if (a_ != b_) {                                                         \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, \
				__LINE__, #a, a_, #b, b_);                              \
			test_checks_failed_++;                                          \
		}                                                                       \
	} while (0)

#define CHECK_STR(a, b)                                                                 \
	do {                                                                            \
		const char *a_ = (a), *b_ = (b);                                        \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, \
				__LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");  \
			test_checks_failed_++;                                          \
		}                                                                       \
	} while (0)

/* Exact comparison for values that must be bit-identical (e.g. float32 physics). */
#define CHECK_EXACT(a, b)                                                               \
	do {                                                                            \
		double a_ = (double)(a), b_ = (double)(b);                              \
		if (!(a_ == b_)) {                                                      \
			fprintf(stderr, "%s:%d: %s == %.17g, expected %.17g\n", __FILE__, \
				__LINE__, #a, a_, b_);                                  \
			test_checks_failed_++;                                          \
		}                                                                       \
	} while (0)

#define RUN(fn)                                                                         \
	do {                                                                            \
		int before_ = test_checks_failed_;                                      \
		fn();                                                                   \
		if (test_checks_failed_ == before_) {                                   \
			tests_passed_++;                                                \
		} else {                                                                \
			tests_failed_++;                                                \
			fprintf(stderr, "FAIL %s\n", #fn);                              \
		}                                                                       \
	} while (0)

static inline int test_summary(void)
{
	(void)test_failures_;
	printf("%d passed, %d failed\n", tests_passed_, tests_failed_);
	return tests_failed_ ? 1 : 0;
}

#endif
