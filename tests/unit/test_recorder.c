/* recorder: append-only JSON Lines files, per episode or per trial, never
 * truncated; a later trial of the same participant in files of its own; a
 * bounded buffer; the metadata file; the end line of a trial cut off by a
 * crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "trial/recorder.h"

static char dir[] = "/tmp/hippo-test-rec-XXXXXX";

static char *slurp(const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_per_episode(void)
{
	char err[256];
	struct rec_config c = {.data_dir = dir, .project_id = "p", .user_id = "u1",
			       .trial_id = "T1", .per_episode = true};
	struct rec *r = rec_open(&c, err, sizeof err);
	CHECK(r != NULL);
	CHECK(rec_begin_episode(r, 1, err, sizeof err) == 0);
	CHECK(rec_append(r, "{\"a\":1}", 7) == 0);
	CHECK(rec_flush(r, err, sizeof err) == 0);
	char *s = slurp("p/trials/u1/episode_1.jsonl");
	CHECK(s && strcmp(s, "{\"a\":1}\n") == 0);
	free(s);
	CHECK(rec_append(r, "{\"a\":2}", 7) == 0);
	CHECK(rec_begin_episode(r, 2, err, sizeof err) == 0); /* ends episode 1 */
	CHECK(rec_append(r, "{\"b\":1}", 7) == 0);
	CHECK(rec_meta(r, "{\"event\":\"start\"}", 17, err, sizeof err) == 0);
	CHECK(rec_close(r, err, sizeof err) == 0);
	rec_sync_wait();
	s = slurp("p/trials/u1/episode_1.jsonl");
	CHECK(s && strcmp(s, "{\"a\":1}\n{\"a\":2}\n") == 0);
	free(s);
	s = slurp("p/trials/u1/episode_2.jsonl");
	CHECK(s && strcmp(s, "{\"b\":1}\n") == 0);
	free(s);

	/* a later trial of the same participant never writes into the first
	 * one's files: its names carry its trial id */
	c.trial_id = "T2";
	r = rec_open(&c, err, sizeof err);
	CHECK(rec_begin_episode(r, 1, err, sizeof err) == 0);
	CHECK(rec_append(r, "{\"c\":1}", 7) == 0);
	CHECK(rec_begin_episode(r, 2, err, sizeof err) == 0);
	const char *const *f = rec_files(r);
	CHECK(f[0] && strcmp(f[0], "p/trials/u1/episode_1-T2.jsonl") == 0);
	CHECK(f[1] && strcmp(f[1], "p/trials/u1/episode_2-T2.jsonl") == 0 && f[2] == NULL);
	CHECK(rec_close(r, err, sizeof err) == 0);
	s = slurp("p/trials/u1/episode_1.jsonl");
	CHECK(s && strcmp(s, "{\"a\":1}\n{\"a\":2}\n") == 0);
	free(s);
	s = slurp("p/trials/u1/episode_1-T2.jsonl");
	CHECK(s && strcmp(s, "{\"c\":1}\n") == 0);
	free(s);

	/* a trial that recorded no episode leaves the plain names free */
	struct rec_config c3 = {.data_dir = dir, .project_id = "p", .user_id = "u3",
				.trial_id = "T3", .per_episode = true};
	r = rec_open(&c3, err, sizeof err);
	CHECK(rec_files(r)[0] == NULL);
	CHECK(rec_close(r, err, sizeof err) == 0);
	c3.trial_id = "T4";
	r = rec_open(&c3, err, sizeof err);
	CHECK(rec_begin_episode(r, 1, err, sizeof err) == 0);
	CHECK(strcmp(rec_files(r)[0], "p/trials/u3/episode_1.jsonl") == 0);
	CHECK(rec_close(r, err, sizeof err) == 0);
}

/* The ids of the frames in frames file REL, up to MAX; -1 when it is not one. */
static int frame_ids(const char *rel, unsigned long long *ids, int max)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char magic[REC_FRAMES_MAGIC_LEN];
	int n = fread(magic, 1, sizeof magic, f) == sizeof magic &&
				memcmp(magic, REC_FRAMES_MAGIC, sizeof magic) == 0
			? 0
			: -1;
	unsigned char head[12];
	while (n >= 0 && n < max && fread(head, 1, sizeof head, f) == sizeof head) {
		unsigned long long id = 0;
		unsigned len = 0;
		for (int i = 7; i >= 0; i--)
			id = id << 8 | head[i];
		for (int i = 3; i >= 0; i--)
			len = len << 8 | head[8 + i];
		ids[n++] = id;
		fseek(f, (long)len, SEEK_CUR);
	}
	fclose(f);
	return n;
}

static int line(struct rec *r, const char *s)
{
	return rec_append(r, s, strlen(s));
}

static const char jpeg[] = {(char)0xff, (char)0xd8, 'x', (char)0xff, (char)0xd9};

/* trial.recordFrames: each episode's frames next to its data file, the frame
 * of its last step included, though that frame is sent once the next
 * episode's file is open (an external environment's reset pending). */
static void test_frames(void)
{
	char err[256];
	struct rec_config c = {.data_dir = dir, .project_id = "p", .user_id = "uf",
			       .trial_id = "TF", .per_episode = true, .frames = true};
	struct rec *r = rec_open(&c, err, sizeof err);
	CHECK(r != NULL);
	CHECK(rec_frame(r, 1, jpeg, sizeof jpeg) == 0); /* before any episode: nowhere to go */
	CHECK(rec_begin_episode(r, 1, err, sizeof err) == 0);
	CHECK(line(r, "{\"step\":0,\"frameId\":2}") == 0);
	CHECK(rec_frame(r, 2, jpeg, sizeof jpeg) == 0);
	CHECK(line(r, "{\"step\":1,\"frameId\":3}") == 0);
	CHECK(rec_flush(r, err, sizeof err) == 0);
	CHECK(rec_frame(r, 3, jpeg, sizeof jpeg) == 0);
	CHECK(line(r, "{\"step\":2,\"frameId\":4}") == 0);  /* terminated */
	CHECK(rec_begin_episode(r, 2, err, sizeof err) == 0); /* ends episode 1 */
	CHECK(rec_frame(r, 4, jpeg, sizeof jpeg) == 0);       /* shows episode 1's last step */
	CHECK(line(r, "{\"step\":0,\"frameId\":5}") == 0);  /* episode 2's reset */
	CHECK(rec_frame(r, 5, jpeg, sizeof jpeg) == 0);
	CHECK(line(r, "{\"step\":1,\"frameId\":6}") == 0);
	CHECK(rec_end_episode(r, err, sizeof err) == 0);
	CHECK(rec_close(r, err, sizeof err) == 0);
	rec_sync_wait();
	unsigned long long ids[8];
	CHECK(frame_ids("p/trials/uf/episode_1.frames", ids, 8) == 3 && ids[0] == 2 &&
	      ids[1] == 3 && ids[2] == 4);
	CHECK(frame_ids("p/trials/uf/episode_2.frames", ids, 8) == 1 && ids[0] == 5);
	char *s = slurp("p/trials/uf/episode_2.jsonl");
	CHECK(s && strncmp(s, "{\"step\":0", 9) == 0);
	free(s);

	/* off: no frames file */
	struct rec_config c2 = {.data_dir = dir, .project_id = "p", .user_id = "ug",
				.trial_id = "TG", .per_episode = true};
	r = rec_open(&c2, err, sizeof err);
	CHECK(rec_begin_episode(r, 1, err, sizeof err) == 0);
	CHECK(line(r, "{\"step\":0}") == 0);
	CHECK(rec_frame(r, 1, jpeg, sizeof jpeg) == 0);
	CHECK(rec_close(r, err, sizeof err) == 0);
	CHECK(frame_ids("p/trials/ug/episode_1.frames", ids, 8) == -1);
}

static void test_per_trial_and_limit(void)
{
	char err[256];
	struct rec_config c = {.data_dir = dir, .project_id = "p", .user_id = "u2",
			       .trial_id = "T5"};
	struct rec *r = rec_open(&c, err, sizeof err);
	CHECK(r != NULL);
	char *none = slurp("p/trials/u2/trial.jsonl");
	CHECK(none == NULL); /* opened with the first episode, not before */
	free(none);
	CHECK(rec_begin_episode(r, 1, err, sizeof err) == 0);
	CHECK(rec_append(r, "x", 1) == 0);
	CHECK(rec_end_episode(r, err, sizeof err) == 0);
	CHECK(rec_begin_episode(r, 2, err, sizeof err) == 0);
	CHECK(rec_append(r, "y", 1) == 0);
	size_t big = 1u << 20;
	char *line = malloc(big);
	memset(line, 'z', big);
	int refused = 0;
	for (int i = 0; i < 80; i++)
		refused += rec_append(r, line, big) < 0;
	CHECK(refused > 0 && rec_dropped(r) == (size_t)refused);
	free(line);
	CHECK(rec_close(r, err, sizeof err) == 0);
	char *s = slurp("p/trials/u2/trial.jsonl");
	CHECK(s && strncmp(s, "x\ny\nzzz", 7) == 0);
	free(s);
	struct rec_config bad = {.data_dir = "/proc/no-such-dir", .project_id = "p",
				 .user_id = "u"};
	CHECK(rec_open(&bad, err, sizeof err) == NULL && err[0]);
}

static char crash[64]; /* a data folder of its own */

static void write_file(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", crash, rel);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_crash_recovery(void)
{
	char err[256];
	snprintf(crash, sizeof crash, "%s/crash", dir);
	/* killed mid-trial: the start line is the last one */
	struct rec_config c = {.data_dir = crash, .project_id = "p", .user_id = "k1",
			       .trial_id = "K1"};
	struct rec *r = rec_open(&c, err, sizeof err);
	const char *start = "{\"event\":\"start\",\"trialId\":\"K1\",\"projectId\":\"p\","
			    "\"userId\":\"k1\",\"t\":1,\"game\":\"CartPole-v1\"}";
	CHECK(rec_meta(r, start, strlen(start), err, sizeof err) == 0);
	rec_close(r, err, sizeof err);
	/* killed while writing a line: a torn line after a complete trial */
	struct rec_config c2 = {.data_dir = crash, .project_id = "p", .user_id = "k2"};
	r = rec_open(&c2, err, sizeof err);
	rec_close(r, err, sizeof err);
	write_file("p/trials/k2/trials.jsonl", "{\"event\":\"start\",\"trialId\":\"A\"}\n"
					       "{\"event\":\"end\",\"trialId\":\"A\"}\n"
					       "{\"event\":\"start\",\"tri");
	/* a trial that ended: nothing to do; a folder that is not a project's */
	write_file("p/trials/k1/episode_1.jsonl", "{}\n");
	struct rec_config c3 = {.data_dir = crash, .project_id = "p", .user_id = "k3"};
	r = rec_open(&c3, err, sizeof err);
	rec_close(r, err, sizeof err);
	write_file("p/trials/k3/trials.jsonl", "{\"event\":\"start\",\"trialId\":\"B\"}\n"
					       "{\"event\":\"end\",\"trialId\":\"B\"}\n");

	CHECK_INT(rec_recover(crash, err, sizeof err), 1);
	char *s = slurp("crash/p/trials/k1/trials.jsonl");
	CHECK(s && strstr(s, "\n{\"event\":\"end\",\"trialId\":\"K1\",\"projectId\":\"p\","
				"\"userId\":\"k1\",\"t\":") != NULL);
	CHECK(s && strstr(s, "\"game\":\"CartPole-v1\",\"reason\":\"crash\"}\n") != NULL);
	free(s);
	s = slurp("crash/p/trials/k2/trials.jsonl");
	CHECK(s && strcmp(s + strlen(s) - 5, "\"tri\n") == 0); /* the torn line ended */
	free(s);
	s = slurp("crash/p/trials/k3/trials.jsonl");
	CHECK(s && strstr(s, "crash") == NULL);
	free(s);
	CHECK_INT(rec_recover(crash, err, sizeof err), 0); /* once */
	CHECK(rec_recover("/proc/no-such-dir", err, sizeof err) < 0 && err[0]);

	/* a metadata line after a torn one starts on a line of its own */
	write_file("p/trials/k3/trials.jsonl", "{\"event\":\"sta");
	struct rec_config c4 = {.data_dir = crash, .project_id = "p", .user_id = "k3"};
	r = rec_open(&c4, err, sizeof err);
	CHECK(rec_meta(r, "{\"x\":1}", 7, err, sizeof err) == 0);
	rec_close(r, err, sizeof err);
	s = slurp("crash/p/trials/k3/trials.jsonl");
	CHECK_STR(s, "{\"event\":\"sta\n{\"x\":1}\n");
	free(s);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(test_per_episode);
	RUN(test_per_trial_and_limit);
	RUN(test_frames);
	RUN(test_crash_recovery);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return test_summary();
}
