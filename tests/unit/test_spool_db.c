/* The upload spool's rows (src/store/spool_db.h) on a real database file: a
 * job is leased to one owner at a time, a try's outcome is recorded unless
 * the job was re-submitted meanwhile, a verified file is not re-armed, dead
 * owners' leases are released, failed jobs come back on retry. */
#include <stdlib.h>
#include <unistd.h>

#include "store/spool_db.h"
#include "test.h"

static char dir[64];

static struct spool *open_spool(const char *name)
{
	char path[160], err[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct spool *sp = NULL;
	if (spool_open(&sp, path, err, sizeof err) != 0)
		fprintf(stderr, "spool_open: %s\n", err);
	return sp;
}

static struct spool_put job(const char *key, long long size, double mtime)
{
	return (struct spool_put){.path = "P/trials/u/episode_1.jsonl",
				  .endpoint = "http://127.0.0.1:1",
				  .region = "us-east-1",
				  .bucket = "b",
				  .key = key,
				  .size = size,
				  .mtime = mtime};
}

static void owners_seen(void *user, long long owner)
{
	*(long long *)user = owner;
}

static void job_is_leased_once_and_finished(void)
{
	struct spool *sp = open_spool("lease.db");
	if (!sp)
		return;
	struct spool_put p = job("P/Trials/u/episode_1.jsonl", 10, 100.0);
	CHECK_INT(spool_put(sp, &p, 1000.0), 0);
	struct spool_lease j;
	double next = -1;
	CHECK_INT(spool_take(sp, 999.0, 300.0, 42, &j, &next), 0); /* not due yet */
	CHECK(next == 1000.0);
	CHECK_INT(spool_take(sp, 1000.0, 300.0, 42, &j, &next), 1);
	CHECK_STR(j.key, "P/Trials/u/episode_1.jsonl");
	CHECK_STR(j.bucket, "b");
	CHECK_INT(j.attempts, 0);
	struct spool_lease again;
	CHECK_INT(spool_take(sp, 1001.0, 300.0, 43, &again, &next), 0); /* leased to 42 */
	CHECK(next == 1300.0);
	long long owner = 0;
	CHECK_INT(spool_owners(sp, owners_seen, &owner), 0);
	CHECK_INT(owner, 42);

	struct spool_outcome o = {.state = "pending", .attempts = 1, .next_try = 1002.0,
				  .now = 1001.0, .size = -1, .error = "timeout"};
	CHECK_INT(spool_finish(sp, &j, &o), 0);
	struct spool_counts c;
	CHECK_INT(spool_counts(sp, &c), 0);
	CHECK_INT(c.pending, 1);
	CHECK_INT(spool_take(sp, 1002.0, 300.0, 43, &j, &next), 1);
	CHECK_INT(j.attempts, 1);
	o = (struct spool_outcome){.state = "done", .attempts = 2, .next_try = 1003.0,
				   .now = 1003.0, .size = 10, .md5 = "abc", .etag = "\"abc\""};
	CHECK_INT(spool_finish(sp, &j, &o), 0);
	char state[16];
	long long size = 0;
	CHECK_INT(spool_lookup(sp, p.endpoint, p.bucket, p.key, state, sizeof state, &size), 1);
	CHECK_STR(state, "done");
	CHECK_INT(size, 10);
	CHECK_INT(spool_lookup(sp, p.endpoint, p.bucket, "other", state, sizeof state, &size), 0);

	/* the same file again (unchanged since it was verified): stays done */
	CHECK_INT(spool_put(sp, &p, 2000.0), 0);
	CHECK_INT(spool_counts(sp, &c), 0);
	CHECK_INT(c.done, 1);
	/* changed after the verification: uploaded again */
	p.mtime = 1500.0;
	CHECK_INT(spool_put(sp, &p, 2000.0), 0);
	CHECK_INT(spool_counts(sp, &c), 0);
	CHECK_INT(c.pending, 1);
	spool_close(sp);
}

static void resubmission_wins_over_a_late_outcome(void)
{
	struct spool *sp = open_spool("gen.db");
	if (!sp)
		return;
	struct spool_put p = job("k", 5, 1.0);
	struct spool_lease j;
	double next;
	CHECK_INT(spool_put(sp, &p, 10.0), 0);
	CHECK_INT(spool_take(sp, 10.0, 300.0, 7, &j, &next), 1);
	CHECK_INT(spool_put(sp, &p, 11.0), 0); /* re-submitted while uploading */
	struct spool_outcome o = {.state = "failed", .attempts = 9, .next_try = 12.0, .now = 12.0,
				  .size = -1, .error = "gave up"};
	CHECK_INT(spool_finish(sp, &j, &o), 0);
	struct spool_counts c;
	CHECK_INT(spool_counts(sp, &c), 0);
	CHECK_INT(c.failed, 0);
	CHECK_INT(c.pending, 1);
	CHECK_INT(spool_take(sp, 12.0, 300.0, 7, &j, &next), 1);
	CHECK_INT(spool_release(sp, &j, 13.0), 0); /* shutdown: no attempt counted */
	CHECK_INT(spool_take(sp, 13.0, 300.0, 8, &j, &next), 1);
	CHECK_INT(j.attempts, 0);
	CHECK_INT(spool_release_owner(sp, 8, 14.0), 0); /* owner 8 died */
	CHECK_INT(spool_take(sp, 14.0, 300.0, 9, &j, &next), 1);
	o.attempts = 1;
	CHECK_INT(spool_finish(sp, &j, &o), 0);
	CHECK_INT(spool_counts(sp, &c), 0);
	CHECK_INT(c.failed, 1);
	CHECK_INT(spool_retry_failed(sp, 20.0), 1);
	CHECK_INT(spool_counts(sp, &c), 0);
	CHECK_INT(c.pending, 1);
	spool_close(sp);
}

static void list_row(void *user, const struct spool_row *r)
{
	int *n = user;
	CHECK_STR(r->state, "pending");
	CHECK_INT(r->size, -1); /* not verified yet */
	CHECK(r->created == 30.0);
	(*n)++;
}

static void rows_are_listed_oldest_first(void)
{
	struct spool *sp = open_spool("list.db");
	if (!sp)
		return;
	struct spool_put a = job("a", 1, 1.0), b = job("b", 1, 1.0);
	spool_begin(sp);
	CHECK_INT(spool_put(sp, &a, 30.0), 0);
	CHECK_INT(spool_put(sp, &b, 30.0), 0);
	spool_commit(sp);
	int n = 0;
	CHECK_INT(spool_list(sp, list_row, &n), 2);
	CHECK_INT(n, 2);
	spool_close(sp);
	sp = open_spool("list.db"); /* survives a reopen */
	n = 0;
	CHECK_INT(spool_list(sp, list_row, &n), 2);
	spool_close(sp);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/hippo-test-spool-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(job_is_leased_once_and_finished);
	RUN(resubmission_wins_over_a_late_outcome);
	RUN(rows_are_listed_oldest_first);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary();
}
