/* The participant store's slots for the researcher console (store.h, "the
 * console"; every backend implements them): a filtered page of participants
 * and the count of every match, when each participant saw each step, group
 * sizes, and a withdrawal deleting a participant's rows in every table and
 * nothing of anyone else's. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow/admin.h"
#include "store/store.h"
#include "store_under_test.h"
#include "test.h"

static char dir[64];
static struct store *S;

static int choose_zero_then_one(void *user, const long long *counts, int n)
{
	int *k = user;
	return (*k)++ % 2;
}

struct page {
	char users[64][80];
	int n;
};

static int take(void *user, const struct store_participant_row *r)
{
	struct page *p = user;
	if (p->n < 64)
		snprintf(p->users[p->n++], sizeof p->users[0], "%s", r->user_id);
	return 0;
}

/* Participants u0..u9 of project "p": ui advanced to step 1 + i % 3, those at
 * step 3 completed; u0 has a crowd id; groups alternate 0/1 among 2; one
 * participant "other" in project "q". */
static struct store *fill(void)
{
	char spec[256], err[256];
	CHECK(tsu_new(spec, sizeof spec, dir, "c") == 0);
	struct store *s = store_open(spec, err, sizeof err);
	CHECK(s != NULL);
	int k = 0;
	for (int i = 0; i < 10; i++) {
		char u[16];
		snprintf(u, sizeof u, "u%d", i);
		json_t *crowd = i == 0 ? json_pack("{s:s}", "PROLIFIC_PID", "PP123") : NULL;
		struct store_participant p;
		bool created;
		CHECK(store_participant_ensure(s, "p", u, crowd, &p, &created) == 0);
		json_decref(crowd);
		store_request_log(s, p.id, "GET", 1, "{}", NULL);
		int g;
		store_group_assign(s, p.id, "p", 2, choose_zero_then_one, &k, &g);
		for (int st = 1; st < 1 + i % 3; st++) {
			json_t *a = json_pack("{s:s}", "q", "a");
			CHECK(store_advance(s, p.id, st, st + 1, a, st + 1 == 3) == 1);
			json_decref(a);
			store_request_log(s, p.id, "POST", st + 1, "{}", NULL);
			store_request_log(s, p.id, "GET", st + 1, "{}", NULL);
		}
	}
	struct store_participant o;
	bool created;
	store_participant_ensure(s, "q", "other", NULL, &o, &created);
	store_request_log(s, o.id, "GET", 1, "{}", NULL);
	store_flush(s);
	return s;
}

static void pages_filter_count_and_come_newest_first(void)
{
	struct store *s = S;
	struct page pg = {0};
	long long total = -1;
	struct store_find q = {.project_id = "p", .limit = 4};
	CHECK_INT(store_participants_find(s, &q, take, &pg, &total), 0);
	CHECK_INT(total, 10);
	CHECK_INT(pg.n, 4);
	CHECK_STR(pg.users[0], "u9");
	CHECK_STR(pg.users[3], "u6");
	pg.n = 0;
	q.offset = 8;
	CHECK_INT(store_participants_find(s, &q, take, &pg, &total), 0);
	CHECK_INT(pg.n, 2);
	CHECK_STR(pg.users[1], "u0");

	struct store_find step3 = {.project_id = "p", .step = 3, .limit = 50};
	pg.n = 0;
	store_participants_find(s, &step3, take, &pg, &total);
	CHECK_INT(total, 3); /* u2, u5, u8 */
	CHECK_INT(pg.n, 3);
	struct store_find done = {.project_id = "p", .status = "completed", .limit = 0};
	CHECK_INT(store_participants_find(s, &done, NULL, NULL, &total), 0);
	CHECK_INT(total, 3);
	struct store_find g1 = {.project_id = "p", .group_n = 2, .group = 1, .limit = 0};
	store_participants_find(s, &g1, NULL, NULL, &total);
	CHECK_INT(total, 5);
	struct store_find crowd = {.project_id = "p", .search = "PP12", .limit = 5};
	pg.n = 0;
	store_participants_find(s, &crowd, take, &pg, &total);
	CHECK_INT(total, 1);
	CHECK_STR(pg.users[0], "u0");
	struct store_find user = {.project_id = "p", .search = "u1", .limit = 0};
	store_participants_find(s, &user, NULL, NULL, &total);
	CHECK_INT(total, 1);
	/* idle: every active one changed before a time in the future */
	struct store_find idle = {.project_id = "p", .status = "active",
				  .updated_before = "9999-01-01T00:00:00.000Z", .limit = 0};
	store_participants_find(s, &idle, NULL, NULL, &total);
	CHECK_INT(total, 7);
	idle.updated_before = "2000-01-01T00:00:00.000Z";
	store_participants_find(s, &idle, NULL, NULL, &total);
	CHECK_INT(total, 0);
}

struct times {
	int rows, steps[4];
	long long last;
	bool together;
	long long seen[16];
	int nseen;
};

static int time_row(void *user, const struct store_step_time_row *r)
{
	struct times *t = user;
	t->rows++;
	if (r->step >= 1 && r->step <= 3)
		t->steps[r->step]++;
	if (r->participant != t->last) {
		for (int i = 0; i < t->nseen; i++)
			if (t->seen[i] == r->participant)
				t->together = false; /* came back to a participant */
		if (t->nseen < 16)
			t->seen[t->nseen++] = r->participant;
		t->last = r->participant;
	}
	CHECK(r->first && strlen(r->first) == 24);
	return 0;
}

static void step_times_list_every_request_a_participant_at_a_time(void)
{
	struct store *s = S;
	struct times t = {.together = true};
	CHECK_INT(store_step_times_each(s, "p", time_row, &t), 0);
	/* 10 at step 1; 6 reached step 2 and 3 step 3, each with a POST and a GET */
	CHECK_INT(t.steps[1], 10);
	CHECK_INT(t.steps[2], 12);
	CHECK_INT(t.steps[3], 6);
	CHECK_INT(t.nseen, 10);
	CHECK(t.together);
}

static int group_row(void *user, const struct store_group_count_row *r)
{
	long long *c = user;
	if (r->n == 2 && r->group >= 0 && r->group < 2)
		c[r->group] = r->count;
	return 0;
}

static void group_counts_per_variant(void)
{
	struct store *s = S;
	long long c[2] = {-1, -1};
	CHECK_INT(store_group_counts_each(s, "p", group_row, c), 0);
	CHECK_INT(c[0], 5);
	CHECK_INT(c[1], 5);
}

static void a_withdrawal_deletes_every_row_of_one_participant(void)
{
	struct store *s = S;
	struct store_participant p;
	CHECK_INT(store_participant_get(s, "p", "u5", &p), 1);
	store_request_log(s, p.id, "GET", 3, "{\"late\":\"1\"}", NULL); /* not committed yet */
	store_session_start(s, p.id, 2);
	struct store_delete_counts dc;
	CHECK_INT(store_participant_delete(s, p.id, &dc), 1);
	CHECK_INT(dc.participants, 1);
	CHECK_INT(dc.answers, 2);
	CHECK(dc.passes >= 1);
	CHECK_INT(dc.groups, 1);
	CHECK_INT(dc.sessions, 1);
	CHECK(dc.requests >= 4);
	CHECK(dc.header_sets >= 1);
	CHECK_INT(store_participant_get(s, "p", "u5", &p), 0);
	long long total;
	struct store_find all = {.project_id = "p", .limit = 0};
	store_participants_find(s, &all, NULL, NULL, &total);
	CHECK_INT(total, 9);
	struct times t = {.together = true};
	store_step_times_each(s, "p", time_row, &t);
	CHECK_INT(t.steps[3], 4); /* u2 and u8 still there */
	CHECK_INT(t.nseen, 9);
	struct store_find q = {.project_id = "q", .limit = 0};
	store_participants_find(s, &q, NULL, NULL, &total);
	CHECK_INT(total, 1); /* the other project untouched */
	CHECK_INT(store_participant_delete(s, p.id, &dc), 0); /* nothing left */
	CHECK_INT(dc.participants, 0);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/hippo-store-console-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	printf("backend: %s\n", tsu_backend());
	struct store *s = S = fill();
	if (s) {
		RUN(pages_filter_count_and_come_newest_first);
		RUN(step_times_list_every_request_a_participant_at_a_time);
		RUN(group_counts_per_variant);
		RUN(a_withdrawal_deletes_every_row_of_one_participant);
		store_close(s);
	}
	admin_rmtree(dir);
	return test_summary();
}
