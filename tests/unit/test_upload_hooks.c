/* The pieces that connect the data to the upload spool: the recorder's
 * file-closed hook (one call per closed episode file, none in per-trial mode)
 * and the participant record read from the store. */
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "store/store.h"
#include "store_under_test.h"
#include "test.h"
#include "trial/recorder.h"

static char dir[64];

struct closed {
	int n;
	char project[80], user[80], path[600];
};

static void on_closed(void *user, const char *project_id, const char *user_id,
		      const char *rel_path)
{
	struct closed *c = user;
	c->n++;
	snprintf(c->project, sizeof c->project, "%s", project_id);
	snprintf(c->user, sizeof c->user, "%s", user_id);
	snprintf(c->path, sizeof c->path, "%s", rel_path);
}

static void episode_files_are_announced_when_closed(void)
{
	struct closed c = {0};
	char err[256];
	struct rec_config rc = {.data_dir = dir, .project_id = "proj-1", .user_id = "user_1",
				.per_episode = true, .on_closed = on_closed, .on_closed_user = &c};
	struct rec *r = rec_open(&rc, err, sizeof err);
	CHECK(r != NULL);
	CHECK_INT(rec_begin_episode(r, 1, err, sizeof err), 0);
	CHECK_INT(rec_append(r, "{\"step\":0}", 10), 0);
	CHECK_INT(c.n, 0);
	CHECK_INT(rec_begin_episode(r, 2, err, sizeof err), 0); /* closes episode 1 */
	CHECK_INT(c.n, 1);
	CHECK_STR(c.project, "proj-1");
	CHECK_STR(c.user, "user_1");
	CHECK_STR(c.path, "proj-1/trials/user_1/episode_1.jsonl");
	char full[256];
	snprintf(full, sizeof full, "%s/%s", dir, c.path);
	CHECK(access(full, R_OK) == 0);
	CHECK_INT(rec_end_episode(r, err, sizeof err), 0);
	CHECK_INT(c.n, 2);
	CHECK_STR(c.path, "proj-1/trials/user_1/episode_2.jsonl");
	CHECK_INT(rec_end_episode(r, err, sizeof err), 0); /* nothing open: no call */
	CHECK_INT(c.n, 2);
	rec_close(r, err, sizeof err);
	CHECK_INT(c.n, 2);
}

static void trial_files_are_left_to_the_session_end(void)
{
	struct closed c = {0};
	char err[256];
	struct rec_config rc = {.data_dir = dir, .project_id = "proj-1", .user_id = "user_2",
				.on_closed = on_closed, .on_closed_user = &c};
	struct rec *r = rec_open(&rc, err, sizeof err);
	CHECK(r != NULL);
	CHECK_INT(rec_begin_episode(r, 1, err, sizeof err), 0);
	CHECK_INT(rec_append(r, "{\"step\":0}", 10), 0);
	CHECK_INT(rec_end_episode(r, err, sizeof err), 0);
	CHECK_INT(rec_begin_episode(r, 2, err, sizeof err), 0);
	rec_close(r, err, sizeof err);
	CHECK_INT(c.n, 0);
}

/* With upload_every_ms the open data file and trials.jsonl are announced
 * while they grow (a cluster node's records reach S3 before the episode
 * ends), and only when they grew. */
static void open_files_are_announced_while_they_grow(void)
{
	struct closed c = {0};
	char err[256];
	struct rec_config rc = {.data_dir = dir, .project_id = "proj-1", .user_id = "user_3",
				.on_closed = on_closed, .on_closed_user = &c,
				.upload_every_ms = 1};
	struct rec *r = rec_open(&rc, err, sizeof err);
	CHECK(r != NULL);
	CHECK_INT(rec_meta(r, "{\"event\":\"start\"}", 17, err, sizeof err), 0);
	CHECK_INT(rec_begin_episode(r, 1, err, sizeof err), 0);
	CHECK_INT(rec_append(r, "{\"step\":0}", 10), 0);
	usleep(3000); /* past the 1 ms period */
	CHECK_INT(rec_flush(r, err, sizeof err), 0);
	CHECK_INT(c.n, 2); /* trials.jsonl, then the data file */
	CHECK_STR(c.path, "proj-1/trials/user_3/trial.jsonl");
	usleep(3000);
	CHECK_INT(rec_flush(r, err, sizeof err), 0); /* nothing written: nothing announced */
	CHECK_INT(c.n, 2);
	CHECK_INT(rec_append(r, "{\"step\":1}", 10), 0);
	usleep(3000);
	CHECK_INT(rec_flush(r, err, sizeof err), 0);
	CHECK_INT(c.n, 3); /* the data file only */
	CHECK_STR(c.path, "proj-1/trials/user_3/trial.jsonl");
	rec_close(r, err, sizeof err);
}

static void participant_record_has_answers_groups_sessions(void)
{
	char path[256], err[256];
	if (tsu_new(path, sizeof path, dir, "hippo") < 0)
		CHECK(0);
	struct store *s = store_open(path, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(store_participant_json(s, "proj-1", "nobody") == NULL);
	struct store_participant p;
	bool created;
	json_t *crowd = json_pack("{s:s}", "PROLIFIC_PID", "pp");
	CHECK_INT(store_participant_ensure(s, "proj-1", "u1", crowd, &p, &created), 0);
	json_t *ans = json_pack("{s:s}", "consent", "yes");
	CHECK_INT(store_advance(s, p.id, 1, 2, ans, false), 1);
	int g = -1;
	CHECK_INT(store_group_get(s, p.id, 2, &g), 0);
	CHECK_INT(store_session_start(s, p.id, 2), 0);
	json_t *files = json_pack("[s]", "proj-1/trials/u1/episode_1.jsonl");
	CHECK_INT(store_session_end(s, p.id, "done", files), 1);
	CHECK_INT(store_advance(s, p.id, 2, 3, NULL, true), 1);

	json_t *r = store_participant_json(s, "proj-1", "u1");
	CHECK(r != NULL);
	CHECK_STR(json_string_value(json_object_get(r, "projectId")), "proj-1");
	CHECK_STR(json_string_value(json_object_get(r, "userId")), "u1");
	CHECK_INT(json_integer_value(json_object_get(r, "step")), 3);
	CHECK_STR(json_string_value(json_object_get(r, "status")), "completed");
	CHECK_STR(json_string_value(json_object_get(json_object_get(r, "crowd"), "PROLIFIC_PID")),
		  "pp");
	json_t *a = json_array_get(json_object_get(r, "answers"), 0);
	CHECK_STR(json_string_value(json_object_get(a, "field")), "consent");
	CHECK_STR(json_string_value(json_object_get(a, "value")), "yes");
	json_t *se = json_array_get(json_object_get(r, "sessions"), 0);
	CHECK_STR(json_string_value(json_object_get(se, "reason")), "done");
	CHECK(json_equal(json_object_get(se, "files"), files));
	CHECK(json_is_object(json_object_get(r, "groups")));
	/* The same object as the project's participant list holds. */
	json_t *list = store_participants_json(s, "proj-1");
	json_t *one = json_deep_copy(json_array_get(list, 0));
	json_object_set_new(one, "projectId", json_string("proj-1"));
	CHECK(json_equal(one, r));
	json_decref(one);
	json_decref(list);
	json_decref(r);
	json_decref(files);
	json_decref(ans);
	json_decref(crowd);
	store_close(s);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/hippo-test-upload-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(episode_files_are_announced_when_closed);
	RUN(trial_files_are_left_to_the_session_end);
	RUN(open_files_are_announced_while_they_grow);
	RUN(participant_record_has_answers_groups_sessions);
	rec_sync_wait();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary();
}
