/* test_actions: the action-file format: integers for Discrete, N numbers for
 * Box, comments and blank lines skipped, errors naming the line. */
#include <string.h>

#include "env/actions.h"
#include "test.h"

static const struct hippo_space discrete3 = {.kind = HIPPO_SPACE_DISCRETE, .n = 3};
static const double lo[2] = {-1, -1}, hi[2] = {1, 1};
static const struct hippo_space box2 = {
	.kind = HIPPO_SPACE_BOX, .dtype = HIPPO_DTYPE_FLOAT32, .ndim = 1, .shape = {2}, .low = lo, .high = hi};

static int parse(const char *text, const struct hippo_space *s, struct env_actions *a, char *err)
{
	return env_actions_parse(text, strlen(text), s, a, err, 256);
}

static void test_discrete_lines_with_comments_and_blanks(void)
{
	struct env_actions a;
	char err[256];
	CHECK(parse("0\n# push right\n\n  2 \r\n1", &discrete3, &a, err) == 0);
	CHECK_INT(a.n, 3);
	CHECK_EXACT(a.v[0], 0);
	CHECK_EXACT(a.v[1], 2);
	CHECK_EXACT(a.v[2], 1);
	CHECK_INT(a.line[1], 4);
	CHECK_INT(a.line[2], 5);
	env_actions_free(&a);
}

static void test_discrete_errors_name_the_line(void)
{
	struct env_actions a;
	char err[256];
	CHECK(parse("0\n3\n", &discrete3, &a, err) != 0);
	CHECK(strncmp(err, "line 2: action 3 out of range", 29) == 0);
	CHECK(parse("1.0\n", &discrete3, &a, err) != 0);
	CHECK(strstr(err, "line 1: '1.0' is not an integer") != NULL);
	CHECK(parse("1 2\n", &discrete3, &a, err) != 0);
	CHECK(strstr(err, "got more") != NULL);
	CHECK(parse("-1\n", &discrete3, &a, err) != 0);
	CHECK(parse("99999999999999999999999\n", &discrete3, &a, err) != 0);
	CHECK(a.n == 0 && a.v == NULL);
}

static void test_box_values_and_arity(void)
{
	struct env_actions a;
	char err[256];
	CHECK(parse("0.5 -0.25\n3\t-7e-1\n", &box2, &a, err) == 0);
	CHECK_INT(a.n, 2);
	CHECK_EXACT(a.v[0], 0.5);
	CHECK_EXACT(a.v[3], -0.7);
	CHECK_EXACT(a.v[2], 3); /* out of [low, high] is passed on: the env clips as Gymnasium */
	env_actions_free(&a);
	CHECK(parse("0.5\n", &box2, &a, err) != 0);
	CHECK(strstr(err, "line 1: expected 2 values, got 1") != NULL);
	CHECK(parse("0 0\n0 nan\n", &box2, &a, err) != 0);
	CHECK(strstr(err, "line 2: 'nan' is not a finite number") != NULL);
	CHECK(parse("inf 0\n", &box2, &a, err) != 0);
	CHECK(parse("1e999 0\n", &box2, &a, err) != 0);
	CHECK(parse("0,5 1\n", &box2, &a, err) != 0);
	CHECK(strstr(err, "'0,5' is not a number") != NULL);
}

static void test_empty_file_has_no_actions(void)
{
	struct env_actions a;
	char err[256];
	CHECK(parse("", &discrete3, &a, err) == 0);
	CHECK_INT(a.n, 0);
	env_actions_free(&a);
}

int main(void)
{
	RUN(test_discrete_lines_with_comments_and_blanks);
	RUN(test_discrete_errors_name_the_line);
	RUN(test_box_values_and_arity);
	RUN(test_empty_file_has_no_actions);
	return test_summary();
}
