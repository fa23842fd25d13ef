#include <stdint.h>

#include "test.h"
#include "core/text.h"

static void hex_digits_in_both_cases_and_nothing_else(void)
{
	CHECK_INT(text_hexval('0'), 0);
	CHECK_INT(text_hexval('9'), 9);
	CHECK_INT(text_hexval('a'), 10);
	CHECK_INT(text_hexval('F'), 15);
	CHECK_INT(text_hexval('g'), -1);
	CHECK_INT(text_hexval('/'), -1);
	CHECK_INT(text_hexval(0), -1);
}

static void edit_distance_counts_insertions_deletions_substitutions(void)
{
	CHECK_INT(text_edit_distance("", "", false, 10), 0);
	CHECK_INT(text_edit_distance("abc", "", false, 10), 3);
	CHECK_INT(text_edit_distance("kitten", "sitting", false, 10), 3);
	CHECK_INT(text_edit_distance("CartPol-v1", "CartPole-v1", false, 20), 1);
	CHECK_INT(text_edit_distance("maxEpisode", "maxEpisodes", false, 62), 1);
}

static void case_folding_is_optional(void)
{
	CHECK_INT(text_edit_distance("cartpole-v1", "CartPole-v1", false, 20), 2);
	CHECK_INT(text_edit_distance("cartpole-v1", "CartPole-v1", true, 20), 0);
}

static void strings_over_the_limit_are_far(void)
{
	char long_s[300];
	memset(long_s, 'x', sizeof long_s - 1);
	long_s[sizeof long_s - 1] = '\0';
	CHECK(text_edit_distance("abc", "abcd", false, 3) == SIZE_MAX);
	CHECK(text_edit_distance(long_s, "x", true, 1000) == SIZE_MAX);
	CHECK_INT(text_edit_distance(long_s + 45, long_s + 46, true, 255), 1);
}

int main(void)
{
	RUN(hex_digits_in_both_cases_and_nothing_else);
	RUN(edit_distance_counts_insertions_deletions_substitutions);
	RUN(case_folding_is_optional);
	RUN(strings_over_the_limit_are_far);
	return test_summary();
}
