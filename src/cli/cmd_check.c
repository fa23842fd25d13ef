/* hippo check PROJECT_DIR: validates config.yml and StepFiles/ (step files
 * inside the study, trial.game a known environment without trial.env), loads
 * a plug-in's tables, and starts an external environment process once for its
 * hello (at most CHECK_HELLO_MAX_S seconds). Every problem is printed to stdout as
 *   error: DIR/config.yml:LINE:COL: key.path: message
 * followed by one summary line; exit 0 when there is no error (warnings
 * allowed), 1 otherwise, 2 for usage errors. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "core/config.h"
#include "trial/trial_env.h"

static const struct opt_cmd spec = {
	.name = "check",
	.args = "PROJECT_DIR",
	.summary = "validate a study folder (config.yml + StepFiles/) and print every problem",
	.min_pos = 1,
	.max_pos = 1,
};

#define CHECK_HELLO_MAX_S 60

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

static int run(int argc, char **argv)
{
	int npos;
	int rc = opt_parse(&spec, argc, argv, &npos);
	if (rc != OPT_OK)
		return rc;

	const char *dir = argv[1];
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		printf("error: %s: %s\n", dir, stat(dir, &st) < 0 ? strerror(errno) : "not a folder");
		printf("%s: 1 error\n", dir);
		return 1;
	}

	char label[4096];
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	snprintf(label, sizeof label, "%.*s/config.yml", (int)n, dir);

	struct cfg c;
	struct cfg_diags d = {0};
	struct cfg_load_opts lo = {.game_known = tenv_game_known};
	int ok = cfg_load_with(dir, &lo, &c, &d) == 0;
	/* plug-in ABI and id, external programs; then the environment's hello */
	if (ok && (tenv_check(&c, &d) > 0 || tenv_probe(&c, CHECK_HELLO_MAX_S, &d) > 0)) {
		cfg_free(&c);
		ok = 0;
	}
	cfg_diags_print(&d, label, stdout);
	if (ok)
		printf("%.*s: ok", (int)n, dir);
	else
		printf("%.*s: %zu error%s", (int)n, dir, d.nerrors, plural(d.nerrors));
	if (d.nwarnings)
		printf("%s%zu warning%s%s", ok ? " (" : ", ", d.nwarnings, plural(d.nwarnings),
		       ok ? ")" : "");
	printf("\n");
	if (ok)
		cfg_free(&c);
	cfg_diags_free(&d);
	return ok ? 0 : 1;
}

const struct command cmd_check = {.spec = &spec, .run = run};
