#include "test.h"
#include "core/opt.h"

static int port = 5000;
static const char *host = "127.0.0.1";
static bool verbose;
static const struct opt opts[] = {
	{"host", OPT_STRING, &host, "HOST", "address to listen on", 0, 0},
	{"port", OPT_INT, &port, "PORT", "port to listen on", 1, 65535},
	{"verbose", OPT_FLAG, &verbose, NULL, "more output", 0, 0},
	{0},
};
static const struct opt_cmd cmd = {.name = "demo", .args = "DIR", .summary = "a demo", .min_pos = 1, .max_pos = 1, .opts = opts};

static void options_and_positionals_in_any_order(void)
{
	char *argv[] = {"demo", "--port", "8080", "dir", "--host=0.0.0.0", "--verbose", NULL};
	int npos = -1;
	CHECK_INT(opt_parse(&cmd, 6, argv, &npos), OPT_OK);
	CHECK_INT(npos, 1);
	CHECK_STR(argv[1], "dir");
	CHECK_INT(port, 8080);
	CHECK_STR(host, "0.0.0.0");
	CHECK(verbose);
}

static void out_of_range_int_is_usage_error(void)
{
	char *argv[] = {"demo", "--port", "70000", "dir", NULL};
	int npos;
	CHECK_INT(opt_parse(&cmd, 4, argv, &npos), OPT_EXIT_USAGE);
}

static void unknown_option_is_usage_error(void)
{
	char *argv[] = {"demo", "--nope", "dir", NULL};
	int npos;
	CHECK_INT(opt_parse(&cmd, 3, argv, &npos), OPT_EXIT_USAGE);
}

static void missing_and_extra_positionals_are_usage_errors(void)
{
	char *a1[] = {"demo", NULL};
	char *a2[] = {"demo", "a", "b", NULL};
	int npos;
	CHECK_INT(opt_parse(&cmd, 1, a1, &npos), OPT_EXIT_USAGE);
	CHECK_INT(opt_parse(&cmd, 3, a2, &npos), OPT_EXIT_USAGE);
}

static void missing_value_is_usage_error(void)
{
	char *argv[] = {"demo", "dir", "--port", NULL};
	int npos;
	CHECK_INT(opt_parse(&cmd, 3, argv, &npos), OPT_EXIT_USAGE);
}

int main(void)
{
	RUN(options_and_positionals_in_any_order);
	RUN(out_of_range_int_is_usage_error);
	RUN(unknown_option_is_usage_error);
	RUN(missing_and_extra_positionals_are_usage_errors);
	RUN(missing_value_is_usage_error);
	return test_summary();
}
