/* The environment of child processes: only the allow-list and the names the
 * operator adds (HIPPO_CHILD_ENV: names and PREFIX_*) pass; secrets, malformed
 * entries and look-alike names do not. */
#include <stdlib.h>

#include "test.h"
#include "core/childenv.h"

static bool has(char **env, const char *entry)
{
	for (size_t i = 0; env && env[i]; i++)
		if (strcmp(env[i], entry) == 0)
			return true;
	return false;
}

static size_t count(char **env)
{
	size_t n = 0;
	while (env && env[n])
		n++;
	return n;
}

static void only_the_allow_list_passes(void)
{
	char *from[] = {"PATH=/usr/bin:/bin",
			"HIPPO_ADMIN_TOKEN=secret",
			"AWS_SECRET_ACCESS_KEY=secret",
			"AWS_ACCESS_KEY_ID=AKIA",
			"LC_ALL=C.UTF-8",
			"PYTHONPATH=/opt/py",
			"PATHX=look-alike",
			"LC=no-underscore",
			"HOME=/home/r",
			"no-equals-sign",
			"=empty-name",
			NULL};
	char **env = childenv_build(from, NULL);
	CHECK(env != NULL);
	CHECK(has(env, "PATH=/usr/bin:/bin"));
	CHECK(has(env, "LC_ALL=C.UTF-8"));
	CHECK(has(env, "PYTHONPATH=/opt/py"));
	CHECK(has(env, "HOME=/home/r"));
	CHECK_INT(count(env), 4);
	childenv_free(env);
}

static void the_operator_extends_it(void)
{
	char *from[] = {"PATH=/bin", "WANDB_MODE=offline", "MYLAB_A=1", "MYLAB_B=2", "MYLABX=3",
			"AWS_REGION=eu-west-1", "AWS_SECRET_ACCESS_KEY=s", NULL};
	char **env = childenv_build(from, " WANDB_MODE,MYLAB_*:AWS_REGION\t");
	CHECK(has(env, "WANDB_MODE=offline"));
	CHECK(has(env, "MYLAB_A=1") && has(env, "MYLAB_B=2"));
	CHECK(!has(env, "MYLABX=3"));
	CHECK(has(env, "AWS_REGION=eu-west-1"));
	CHECK(!has(env, "AWS_SECRET_ACCESS_KEY=s"));
	CHECK_INT(count(env), 5);
	childenv_free(env);
	/* a lone '*' is not "everything" */
	env = childenv_build(from, "*");
	CHECK_INT(count(env), 1);
	childenv_free(env);
}

static void the_process_list_drops_secrets(void)
{
	setenv("HIPPO_ADMIN_TOKEN", "secret", 1);
	setenv("PATH", "/usr/bin:/bin", 1);
	char *const *env = childenv();
	bool token = false, path = false;
	for (size_t i = 0; env[i]; i++) {
		token |= strncmp(env[i], "HIPPO_ADMIN_TOKEN=", 18) == 0;
		path |= strncmp(env[i], "PATH=", 5) == 0;
	}
	CHECK(!token);
	CHECK(path);
	CHECK(childenv() == env); /* built once */
}

int main(void)
{
	RUN(only_the_allow_list_passes);
	RUN(the_operator_extends_it);
	RUN(the_process_list_drops_secrets);
	return test_summary();
}
