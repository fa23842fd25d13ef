/* core/datapath: the data folder's layout (docs/data.md), absolute and
 * relative, the data file names, and paths that do not fit. */
#include <string.h>

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

int main(void)
{
	RUN(layout_under_the_data_folder);
	RUN(relative_to_the_data_folder_without_one);
	RUN(data_file_names);
	RUN(too_long_is_an_error_and_empty);
	return test_summary();
}
