/* core/datapath: the data folder's layout (docs/data.md), absolute and
 * relative, the data file names, paths that do not fit, and the listings of
 * participants and data files in natural order. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/datapath.h"
#include "test.h"

static void layout_under_the_data_folder(void)
{
	char b[256];
	CHECK_INT(datapath_store(b, sizeof b, "/d"), 0);
	CHECK_STR(b, "/d/hippo.db");
	CHECK_INT(datapath_spool_dir(b, sizeof b, "/d"), 0);
	CHECK_STR(b, "/d/spool");
	CHECK_INT(datapath_spool_db(b, sizeof b, "/d"), 0);
	CHECK_STR(b, "/d/spool/uploads.db");
	CHECK_INT(datapath_projects(b, sizeof b, "data"), 0);
	CHECK_STR(b, "data/projects");
	CHECK_INT(datapath_trials(b, sizeof b, "data", "p-1"), 0);
	CHECK_STR(b, "data/p-1/trials");
	CHECK_INT(datapath_participant(b, sizeof b, "data", "p-1", "u_2"), 0);
	CHECK_STR(b, "data/p-1/trials/u_2");
	CHECK_INT(datapath_users(b, sizeof b, "data", "p-1"), 0);
	CHECK_STR(b, "data/p-1/users");
	CHECK_INT(datapath_user_record(b, sizeof b, "data", "p-1", "u_2"), 0);
	CHECK_STR(b, "data/p-1/users/u_2.json");
}

static void relative_to_the_data_folder_without_one(void)
{
	char b[256];
	CHECK_INT(datapath_participant(b, sizeof b, NULL, "p-1", "u_2"), 0);
	CHECK_STR(b, "p-1/trials/u_2");
	CHECK_INT(datapath_user_record(b, sizeof b, NULL, "p-1", "u_2"), 0);
	CHECK_STR(b, "p-1/users/u_2.json");
	CHECK_INT(datapath_store(b, sizeof b, NULL), 0);
	CHECK_STR(b, "hippo.db");
}

static void data_file_names(void)
{
	char b[128];
	CHECK_INT(datapath_data_name(b, sizeof b, true, 3, NULL), 0);
	CHECK_STR(b, "episode_3.jsonl");
	CHECK_INT(datapath_data_name(b, sizeof b, true, 3, ""), 0);
	CHECK_STR(b, "episode_3.jsonl");
	CHECK_INT(datapath_data_name(b, sizeof b, true, 12, "20260101T000000Z-0a1b2c3d"), 0);
	CHECK_STR(b, "episode_12-20260101T000000Z-0a1b2c3d.jsonl");
	CHECK_INT(datapath_data_name(b, sizeof b, false, 7, NULL), 0);
	CHECK_STR(b, "trial.jsonl");
	CHECK_INT(datapath_data_name(b, sizeof b, false, 7, "t-1"), 0);
	CHECK_STR(b, "trial-t-1.jsonl");
	CHECK(datapath_is_data_file("episode_1.jsonl"));
	CHECK(datapath_is_data_file("trial-t-1.jsonl"));
	CHECK(!datapath_is_data_file(DATAPATH_META));
	CHECK(!datapath_is_data_file("episode_1.json"));
	CHECK(!datapath_is_data_file(".jsonl"));
}

static void too_long_is_an_error_and_empty(void)
{
	char b[16];
	CHECK_INT(datapath_participant(b, sizeof b, "/data", "project", "user"), -1);
	CHECK_STR(b, "");
	CHECK_INT(datapath_store(b, 12, "/d"), 0); /* "/d/hippo.db" is 11 bytes + NUL */
	CHECK_INT(datapath_store(b, 11, "/d"), -1);
	CHECK_INT(datapath_data_name(b, sizeof b, true, 1, "a-long-trial-id"), -1);
	CHECK_STR(b, "");
}

static void natural_order(void)
{
	CHECK(datapath_natcmp("episode_2.jsonl", "episode_10.jsonl") < 0);
	CHECK(datapath_natcmp("episode_10.jsonl", "episode_2.jsonl") > 0);
	CHECK(datapath_natcmp("episode_02.jsonl", "episode_2.jsonl") == 0);
	CHECK(datapath_natcmp("episode_0.jsonl", "episode_1.jsonl") < 0);
	CHECK(datapath_natcmp("a", "ab") < 0);
	CHECK(datapath_natcmp("b", "a10") > 0);
	CHECK(datapath_natcmp("", "") == 0);
}

static void touch(const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
}

static void sub(const char *dir, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", dir, name);
	CHECK_INT(mkdir(out, 0755), 0);
}

static void listings_keep_the_layout_in_natural_order(void)
{
	char root[] = "/tmp/hippo-datapath-XXXXXX", trials[256], u[256], other[256];
	CHECK(mkdtemp(root) != NULL);
	sub(root, "trials", trials, sizeof trials);
	sub(trials, "u10", u, sizeof u);
	sub(trials, "u2", u, sizeof u);
	sub(trials, "bad.id", other, sizeof other); /* not a userId */
	sub(trials, ".hidden", other, sizeof other);
	touch(trials, "u3"); /* a file, not a folder */
	touch(u, "episode_10.jsonl");
	touch(u, "episode_2.jsonl");
	touch(u, "trial-t-1.jsonl");
	touch(u, DATAPATH_META);
	touch(u, "notes.txt");
	sub(u, "episode_3.jsonl", other, sizeof other); /* a folder, not a file */

	char **v = NULL;
	CHECK_INT(datapath_list_participants(trials, &v), 2);
	if (v) {
		CHECK_STR(v[0], "u2");
		CHECK_STR(v[1], "u10");
		CHECK(v[2] == NULL);
	}
	datapath_list_free(v);
	CHECK_INT(datapath_list_data_files(u, &v), 3);
	if (v) {
		CHECK_STR(v[0], "episode_2.jsonl");
		CHECK_STR(v[1], "episode_10.jsonl");
		CHECK_STR(v[2], "trial-t-1.jsonl");
		CHECK(v[3] == NULL);
	}
	datapath_list_free(v);

	char missing[300];
	snprintf(missing, sizeof missing, "%s/none", root);
	errno = 0;
	CHECK_INT(datapath_list_participants(missing, &v), -1);
	CHECK_INT(errno, ENOENT);
	CHECK(v == NULL);

	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	CHECK_INT(system(cmd), 0);
}

int main(void)
{
	RUN(layout_under_the_data_folder);
	RUN(relative_to_the_data_folder_without_one);
	RUN(data_file_names);
	RUN(too_long_is_an_error_and_empty);
	RUN(natural_order);
	RUN(listings_keep_the_layout_in_natural_order);
	return test_summary();
}
