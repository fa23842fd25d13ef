/* hippo export against the real participant store: participants, answers,
 * groups and sessions written through src/store/ (as `hippo serve` does) come
 * out in participants.csv and answers.csv with the documented columns. */
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "export/export.h"
#include "store/store.h"
#include "store_under_test.h"
#include "test.h"

static char dir[64];
static char spec[256]; /* the store (store_under_test.h): DIR/hippo.db or a database */

static int choose_one(void *user, const long long *counts, int n)
{
	return 1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void store_tables_exported(void)
{
	char path[256], err[256];
	struct store *s = store_open(spec, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	struct store_participant p;
	bool created;
	json_t *crowd = json_pack("{s:s}", "workerId", "W,42");
	CHECK_INT(store_participant_ensure(s, "P", "alice", crowd, &p, &created), 0);
	json_decref(crowd);
	json_t *ans = json_pack("{s:s}", "consent", "yes");
	CHECK_INT(store_advance(s, p.id, 1, 2, ans, false), 1);
	json_decref(ans);
	int grp = -1;
	CHECK(store_group_assign(s, p.id, "P", 2, choose_one, NULL, &grp) >= 0);
	CHECK_INT(grp, 1);
	CHECK_INT(store_session_start(s, p.id, 2), 0);
	json_t *files = json_pack("[s]", "P/trials/alice/episode_1.jsonl");
	CHECK(store_session_end(s, p.id, "done", files) >= 0);
	json_decref(files);
	ans = json_pack("{s:s, s:i}", "comment", "a \"quoted\", multi\nline answer", "age", 33);
	CHECK_INT(store_advance(s, p.id, 2, 3, ans, true), 1);
	json_decref(ans);
	struct store_participant q;
	CHECK_INT(store_participant_ensure(s, "P", "bob", NULL, &q, &created), 0);
	struct store_participant other;
	CHECK_INT(store_participant_ensure(s, "Other", "carol", NULL, &other, &created), 0);
	store_close(s);

	char out[128];
	snprintf(out, sizeof out, "%s/out", dir);
	struct exp_opts o = {.data_dir = dir, .project_id = "P", .out_dir = out, .format = EXP_CSV,
			     .store = tsu_pg() ? spec : NULL};
	struct exp_stats st;
	int rc = exp_run(&o, &st, err, sizeof err);
	printf("check: export of a store written by src/store/: rc=%d %s\n", rc, rc ? err : "");
	CHECK_INT(rc, 0);
	CHECK_INT(st.participants, 2);
	CHECK_INT(st.answers, 3);
	CHECK(!st.no_store);

	snprintf(path, sizeof path, "%s/participants.csv", out);
	char *csv = slurp(path);
	CHECK(csv != NULL);
	if (!csv)
		return;
	printf("%s", csv);
	CHECK(strncmp(csv, "project_id,user_id,group,created,updated,step,status,completed,sessions,",
		      71) == 0);
	char *alice = strstr(csv, "\r\nP,alice,1,");
	CHECK(alice != NULL);
	CHECK(alice && strstr(alice, ",3,completed,true,1,") != NULL);
	CHECK(alice && strstr(alice, ",done,") != NULL);
	CHECK(alice && strstr(alice, ",\"W,42\",") != NULL);
	CHECK(strstr(csv, "\r\nP,bob,,") != NULL);
	CHECK(strstr(csv, "carol") == NULL);

	snprintf(path, sizeof path, "%s/answers.csv", out);
	csv = slurp(path);
	CHECK(csv != NULL);
	if (!csv)
		return;
	printf("%s", csv);
	CHECK(strstr(csv, "P,alice,1,consent,yes,") != NULL);
	CHECK(strstr(csv, "P,alice,2,comment,\"a \"\"quoted\"\", multi\nline answer\",") != NULL);
	CHECK(strstr(csv, "P,alice,2,age,33,") != NULL);
}

/* Answers and crowd ids that a spreadsheet would run as formulas get a
 * leading ' in CSV (OWASP); plain numbers stay numbers; JSONL keeps every
 * value verbatim. */
static void formula_cells_are_neutralised_in_csv_only(void)
{
	char path[256], err[256];
	struct store *s = store_open(spec, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	struct store_participant p;
	bool created;
	json_t *crowd = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "workerId",
				  "=HYPERLINK(\"http://evil.example\",\"x\")", "PROLIFIC_PID",
				  "@SUM(1+1)", "STUDY_ID", "+cmd|' /C calc'!A0", "SESSION_ID",
				  "-2+3", "hitId", "\t=1+1", "assignmentId", "\r=1+1");
	CHECK_INT(store_participant_ensure(s, "F", "-A1", crowd, &p, &created), 0);
	json_decref(crowd);
	json_t *ans = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "a", "=1+1", "b",
				"-3", "c", "+1.5", "d", "@x", "e", "-2+3+cmd|' /C calc'!A0", "f",
				"\t=1", "g", "\r=1", "h", "plain", "i", "-", "j", "-1.5e3", "k", -7);
	CHECK_INT(store_advance(s, p.id, 1, 2, ans, false), 1);
	json_decref(ans);
	store_close(s);

	char out[128];
	snprintf(out, sizeof out, "%s/out-f", dir);
	struct exp_opts o = {.data_dir = dir, .project_id = "F", .out_dir = out, .format = EXP_CSV,
			     .store = tsu_pg() ? spec : NULL};
	struct exp_stats st;
	CHECK_INT(exp_run(&o, &st, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/answers.csv", out);
	char *csv = slurp(path);
	CHECK(csv != NULL);
	if (!csv)
		return;
	printf("%s", csv);
	CHECK(strstr(csv, "\r\nF,'-A1,1,a,'=1+1,") != NULL);
	CHECK(strstr(csv, ",b,-3,") != NULL);
	CHECK(strstr(csv, ",c,+1.5,") != NULL);
	CHECK(strstr(csv, ",d,'@x,") != NULL);
	CHECK(strstr(csv, ",e,'-2+3+cmd|' /C calc'!A0,") != NULL);
	CHECK(strstr(csv, ",f,'\t=1,") != NULL);
	CHECK(strstr(csv, ",g,\"'\r=1\",") != NULL);
	CHECK(strstr(csv, ",h,plain,") != NULL);
	CHECK(strstr(csv, ",i,'-,") != NULL);
	CHECK(strstr(csv, ",j,-1.5e3,") != NULL);
	CHECK(strstr(csv, ",k,-7,") != NULL);

	snprintf(path, sizeof path, "%s/participants.csv", out);
	csv = slurp(path);
	CHECK(csv != NULL);
	if (!csv)
		return;
	printf("%s", csv);
	CHECK(strstr(csv, "\r\nF,'-A1,") != NULL);
	CHECK(strstr(csv, ",'@SUM(1+1),") != NULL);
	CHECK(strstr(csv, ",\"'+cmd|' /C calc'!A0\",") != NULL || strstr(csv, ",'+cmd|") != NULL);
	CHECK(strstr(csv, ",'-2+3,") != NULL);
	CHECK(strstr(csv, ",'\t=1+1,") != NULL);
	CHECK(strstr(csv, ",\"'\r=1+1\",") != NULL);
	CHECK(strstr(csv, ",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",") != NULL);
	/* no cell of either table starts with a formula character */
	for (const char *c = csv; *c; c++)
		if (c == csv || c[-1] == ',' || c[-1] == '\n')
			CHECK(!strchr("=+-@", *c) || (c[0] == '-' && c[1] >= '0' && c[1] <= '9'));

	o.format = EXP_JSONL;
	snprintf(out, sizeof out, "%s/out-fj", dir);
	CHECK_INT(exp_run(&o, &st, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/answers.jsonl", out);
	char *jl = slurp(path);
	CHECK(jl != NULL);
	if (!jl)
		return;
	CHECK(strstr(jl, "\"user_id\":\"-A1\"") != NULL);
	CHECK(strstr(jl, "\"value\":\"=1+1\"") != NULL);
	CHECK(strstr(jl, "\"value\":\"\\t=1\"") != NULL);
	CHECK(strstr(jl, "'") == NULL || strstr(jl, "\"'") == NULL);
	snprintf(path, sizeof path, "%s/participants.jsonl", out);
	jl = slurp(path);
	CHECK(jl && strstr(jl, "\"crowd_PROLIFIC_PID\":\"@SUM(1+1)\"") != NULL);
	CHECK(jl && strstr(jl, "\"crowd_workerId\":\"=HYPERLINK(") != NULL);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/hippo-export-store-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	if (tsu_new(spec, sizeof spec, dir, "hippo") < 0)
		return 1;
	printf("backend: %s\n", tsu_backend());
	RUN(store_tables_exported);
	RUN(formula_cells_are_neutralised_in_csv_only);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return test_summary();
}
