/* recorder: append-only JSON Lines files, per episode or per trial, never
 * truncated; a bounded buffer; the metadata file. */
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
	struct rec_config c = {dir, "p", "u1", true};
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

	/* a second recorder for the same participant appends, never truncates */
	r = rec_open(&c, err, sizeof err);
	CHECK(rec_begin_episode(r, 1, err, sizeof err) == 0);
	CHECK(rec_append(r, "{\"c\":1}", 7) == 0);
	const char *const *f = rec_files(r);
	CHECK(f[0] && strcmp(f[0], "p/trials/u1/episode_1.jsonl") == 0 && f[1] == NULL);
	CHECK(rec_close(r, err, sizeof err) == 0);
	s = slurp("p/trials/u1/episode_1.jsonl");
	CHECK(s && strcmp(s, "{\"a\":1}\n{\"a\":2}\n{\"c\":1}\n") == 0);
	free(s);
}

static void test_per_trial_and_limit(void)
{
	char err[256];
	struct rec_config c = {dir, "p", "u2", false};
	struct rec *r = rec_open(&c, err, sizeof err);
	CHECK(r != NULL);
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
	struct rec_config bad = {"/proc/no-such-dir", "p", "u", false};
	CHECK(rec_open(&bad, err, sizeof err) == NULL && err[0]);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(test_per_episode);
	RUN(test_per_trial_and_limit);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return test_summary();
}
