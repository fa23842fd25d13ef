/* Environment plug-ins: the reference plug-in (examples/plugin-env) loaded
 * with dlopen and run through the host wrapper; a plug-in built for another
 * ABI version, a library that is not a plug-in, a missing file and an unknown
 * id are refused with clear messages. */
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "env/plugin.h"

static char build_dir[1024];

static void lib(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/tests/lib%s.so", build_dir, name);
}

static void reference_plugin_runs_an_episode(void)
{
	char path[1200], err[512];
	struct env e;
	struct plugin *pl;
	lib(path, sizeof path, "hippo_plugin_corridor");
	CHECK_INT(plugin_env_open(&e, &pl, NULL, path, "Corridor-v0", "{\"length\": 6}", err,
				  sizeof err), 0);
	if (!pl) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_STR(e.info->id, "Corridor-v0");
	CHECK_INT(e.info->action_space.n, 2);
	uint64_t seed = 3;
	char info[128];
	CHECK_INT(env_reset(&e, &seed, info, sizeof info), 0);
	CHECK_STR(info, "{\"goal\":5}");
	CHECK(e.obs[0] >= 0 && e.obs[0] < 3);
	struct hippo_step_result r = {0};
	double right = 1;
	int steps = 0;
	while (!r.terminated && steps < 10) {
		CHECK_INT(env_step(&e, &right, &r, info, sizeof info), 0);
		steps++;
	}
	CHECK(r.terminated);
	CHECK_EXACT(r.reward, 1.0);
	CHECK_EXACT(e.obs[0], 5);
	static uint8_t rgb[600 * 400 * 3];
	CHECK_INT(env_render(&e, rgb, 600 * 3), 0);
	CHECK_INT(rgb[0], 255);
	double bad = 7;
	CHECK_INT(env_reset(&e, NULL, info, sizeof info), 0);
	CHECK_INT(env_step(&e, &bad, &r, info, sizeof info), -1); /* out of the action space */
	env_close(&e);
	plugin_close(pl);
}

static void plugin_options_are_validated_by_the_plugin(void)
{
	char path[1200], err[512];
	struct env e;
	struct plugin *pl;
	lib(path, sizeof path, "hippo_plugin_corridor");
	CHECK_INT(plugin_env_open(&e, &pl, NULL, path, NULL, "{\"length\": 99}", err, sizeof err),
		  -1);
	CHECK(strstr(err, "length") != NULL);
	printf("  bad option -> %s\n", err);
}

static void abi_mismatch_is_refused_with_both_versions(void)
{
	char path[1200], err[512];
	struct plugin *pl = NULL;
	lib(path, sizeof path, "hippo_plugin_badabi");
	CHECK_INT(plugin_open(NULL, path, &pl, err, sizeof err), -1);
	printf("  ABI mismatch -> %s\n", err);
	CHECK(strstr(err, "ABI version 42") != NULL);
	CHECK(strstr(err, "this hippo speaks 1") != NULL);
	CHECK(strstr(err, "FromTheFuture-v0") != NULL);
	CHECK(pl == NULL);
}

static void missing_and_foreign_libraries_are_refused(void)
{
	char err[512];
	struct plugin *pl = NULL;
	CHECK_INT(plugin_open("/nonexistent", "libnothing.so", &pl, err, sizeof err), -1);
	CHECK(strstr(err, "/nonexistent/libnothing.so: cannot load") != NULL);
	printf("  missing -> %s\n", err);
	CHECK_INT(plugin_open(NULL, "/lib/x86_64-linux-gnu/libm.so.6", &pl, err, sizeof err), -1);
	CHECK(strstr(err, "not a hippo environment plug-in") != NULL);
	printf("  foreign -> %s\n", err);
}

static void unknown_id_lists_what_the_plugin_offers(void)
{
	char path[1200], err[512];
	struct env e;
	struct plugin *pl;
	lib(path, sizeof path, "hippo_plugin_corridor");
	CHECK_INT(plugin_env_open(&e, &pl, NULL, path, "Hallway-v0", NULL, err, sizeof err), -1);
	printf("  unknown id -> %s\n", err);
	CHECK(strstr(err, "offers: Corridor-v0") != NULL);
	CHECK(strstr(err, "Hallway-v0") != NULL);
}

/* A study's plug-in lies inside its folder: a copy loads, an absolute path, a
 * '..' path out and a symbolic link leading out are refused. */
static void study_plugins_stay_inside_the_study(void)
{
	char so[1200], dir[] = "/tmp/hippo-plugin-unit-XXXXXX", copy[1300], link[1300], cmd[2600];
	char err[512];
	struct plugin *pl = NULL;
	lib(so, sizeof so, "hippo_plugin_corridor");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(copy, sizeof copy, "%s/corridor.so", dir);
	snprintf(link, sizeof link, "%s/link.so", dir);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", so, copy);
	CHECK_INT(system(cmd), 0);
	CHECK_INT(symlink(so, link), 0);
	CHECK_INT(plugin_open(dir, "corridor.so", &pl, err, sizeof err), 0);
	plugin_close(pl);
	pl = NULL;
	CHECK_INT(plugin_open(dir, so, &pl, err, sizeof err), -1);
	CHECK(strstr(err, "inside the study folder") != NULL);
	printf("  absolute -> %s\n", err);
	CHECK_INT(plugin_open(dir, "link.so", &pl, err, sizeof err), -1);
	CHECK(strstr(err, "outside the study folder") != NULL);
	printf("  symlink out -> %s\n", err);
	CHECK_INT(plugin_open(dir, "../../../../../../../lib/x86_64-linux-gnu/libm.so.6", &pl, err,
			      sizeof err), -1);
	CHECK(strstr(err, "outside the study folder") != NULL);
	CHECK(pl == NULL);
	unlink(copy);
	unlink(link);
	rmdir(dir);
}

int main(void)
{
	const char *b = getenv("HIPPO_BUILD");
	snprintf(build_dir, sizeof build_dir, "%s", b ? b : "../../build/test");
	RUN(reference_plugin_runs_an_episode);
	RUN(study_plugins_stay_inside_the_study);
	RUN(plugin_options_are_validated_by_the_plugin);
	RUN(abi_mismatch_is_refused_with_both_versions);
	RUN(missing_and_foreign_libraries_are_refused);
	RUN(unknown_id_lists_what_the_plugin_offers);
	return test_summary();
}
