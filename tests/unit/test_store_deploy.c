/* The store's deployed versions (store_deploy_put, store_deploy_get,
 * store_deploys_latest; schema version 6) on the backend the tests run
 * against (store_under_test.h: SQLite, or PostgreSQL in the _pg variant),
 * seen from a second connection as another node of a cluster sees them. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store_under_test.h"
#include "test.h"

static char dir[64], path[512];

struct seen {
	char ids[8][80];
	int versions[8];
	int n;
};

static int collect(void *user, const char *id, int version)
{
	struct seen *s = user;
	if (s->n < 8) {
		snprintf(s->ids[s->n], sizeof s->ids[0], "%s", id);
		s->versions[s->n++] = version;
	}
	return 0;
}

static void versions_are_kept_and_the_latest_listed(void)
{
	char err[512];
	struct store *a = store_open(path, err, sizeof err);
	struct store *b = store_open(path, err, sizeof err); /* another node */
	CHECK(a && b);
	if (!a || !b)
		return;
	struct seen none = {0};
	CHECK_INT(store_deploys_latest(b, collect, &none), 0);
	CHECK_INT(none.n, 0);
	char *config = NULL, *files = NULL;
	int got = -1;
	CHECK_INT(store_deploy_get(b, "p1", 0, &got, &config, &files), 0);
	CHECK(config == NULL && files == NULL);

	CHECK_INT(store_deploy_put(a, "p1", 2, "project:\n  id: p1\n", "{\"a.html\": \"two\"}"), 0);
	CHECK_INT(store_deploy_put(a, "p1", 3, "project:\n  id: p1 # 3\n", "{\"a.html\": \"3\"}"), 0);
	CHECK_INT(store_deploy_put(a, "p2", 1, "project:\n  id: p2\n", "{}"), 0);
	/* a version is written once: the same (id, version) again changes nothing */
	CHECK_INT(store_deploy_put(b, "p1", 3, "other", "{}"), 0);
	CHECK_INT(store_deploy_put(a, "p1", 0, "bad", "{}"), -1);

	struct seen s = {0};
	CHECK_INT(store_deploys_latest(b, collect, &s), 0);
	CHECK_INT(s.n, 2);
	CHECK_STR(s.ids[0], "p1");
	CHECK_INT(s.versions[0], 3);
	CHECK_STR(s.ids[1], "p2");
	CHECK_INT(s.versions[1], 1);

	CHECK_INT(store_deploy_get(b, "p1", 0, &got, &config, &files), 1);
	CHECK_INT(got, 3);
	CHECK_STR(config, "project:\n  id: p1 # 3\n");
	CHECK_STR(files, "{\"a.html\": \"3\"}");
	free(config);
	free(files);
	CHECK_INT(store_deploy_get(b, "p1", 2, &got, &config, &files), 1);
	CHECK_INT(got, 2);
	CHECK_STR(files, "{\"a.html\": \"two\"}");
	free(config);
	free(files);
	CHECK_INT(store_deploy_get(b, "p1", 7, &got, &config, &files), 0);
	CHECK_INT(store_deploy_get(b, "p3", 0, &got, &config, &files), 0);
	store_close(b);
	store_close(a);

	/* kept across a reopen, and readable read only */
	struct store *r = NULL;
	CHECK_INT(store_open_flags(path, STORE_READ_ONLY, &r, err, sizeof err), 0);
	if (r) {
		CHECK_INT(store_deploy_get(r, "p2", 0, &got, &config, &files), 1);
		CHECK_INT(got, 1);
		free(config);
		free(files);
		CHECK_INT(store_deploy_put(r, "p2", 2, "x", "{}"), -1);
		store_close(r);
	}
}

static void schema_version_is_six(void)
{
	char out[64];
	CHECK_INT(tsu_sql(path, "SELECT max(version) FROM schema_version", NULL, out,
			  sizeof out), 0);
	CHECK(strtol(out, NULL, 10) >= 6); /* 6 or a later version */
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/hippo-test-store-deploy-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	if (tsu_new(path, sizeof path, dir, "deploys") < 0)
		return 1;
	printf("backend: %s\n", tsu_backend());
	RUN(versions_are_kept_and_the_latest_listed);
	RUN(schema_version_is_six);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary();
}
