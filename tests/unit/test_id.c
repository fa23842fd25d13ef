/* core/id.h: the one rule for projectIds, userIds and node names. */
#include <string.h>

#include "core/id.h"
#include "test.h"

/* A string of N copies of C (N < 100). */
static const char *rep(char c, int n)
{
	static char b[100];
	memset(b, c, (size_t)n);
	b[n] = '\0';
	return b;
}

static void project_ids_are_letters_digits_and_dashes(void)
{
	CHECK(id_valid_project("cartpole-demo"));
	CHECK(id_valid_project("A"));
	CHECK(id_valid_project("Study2026-B"));
	CHECK(id_valid_project("-"));
	CHECK(id_valid_project(rep('p', 64)));
	CHECK(!id_valid_project(rep('p', 65)));
	CHECK(!id_valid_project(""));
	CHECK(!id_valid_project(NULL));
	CHECK(!id_valid_project("my_study")); /* the original's project.id: [A-Za-z0-9-] */
	CHECK(!id_valid_project("a b"));
	CHECK(!id_valid_project("../etc"));
	CHECK(!id_valid_project("a/b"));
	CHECK(!id_valid_project("a.b"));
	CHECK(!id_valid_project("caf\xc3\xa9"));
	CHECK(!id_valid_project("p'; DROP TABLE participants; --"));
}

static void user_ids_take_uuids_and_underscores(void)
{
	CHECK(id_valid_user("0b3c1f9e-5a4d-4e6b-9c2a-7f1d2e3a4b5c")); /* the original's UUID v4 */
	CHECK(id_valid_user("crowd_worker_17"));
	CHECK(id_valid_user("A-z_09"));
	CHECK(id_valid_user(rep('u', 64)));
	CHECK(!id_valid_user(rep('u', 65)));
	CHECK(!id_valid_user(""));
	CHECK(!id_valid_user(NULL));
	CHECK(!id_valid_user(".."));
	CHECK(!id_valid_user("a/b"));
	CHECK(!id_valid_user("a\\b"));
	CHECK(!id_valid_user("u=1"));
	CHECK(!id_valid_user("<b>"));
	CHECK(!id_valid_user("u\n1"));
}

static void every_project_id_is_a_user_id(void)
{
	/* A projectId can name a participant folder too (DATA/P/trials/U). */
	for (int c = 1; c < 256; c++) {
		char s[2] = {(char)c, 0};
		if (id_valid_project(s))
			CHECK(id_valid_user(s));
		if (id_valid_user(s))
			CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_');
	}
}

static void node_names_are_dns_labels(void)
{
	CHECK(id_valid_node("hippo-0"));
	CHECK(id_valid_node("a"));
	CHECK(id_valid_node("n1"));
	CHECK(id_valid_node(rep('n', 63)));
	CHECK(!id_valid_node(rep('n', 64)));
	CHECK(!id_valid_node(""));
	CHECK(!id_valid_node(NULL));
	CHECK(!id_valid_node("-a"));
	CHECK(!id_valid_node("a-"));
	CHECK(!id_valid_node("-"));
	CHECK(!id_valid_node("Hippo-0"));
	CHECK(!id_valid_node("hippo_0"));
	CHECK(!id_valid_node("hippo.example"));
}

int main(void)
{
	RUN(project_ids_are_letters_digits_and_dashes);
	RUN(user_ids_take_uuids_and_underscores);
	RUN(every_project_id_is_a_user_id);
	RUN(node_names_are_dns_labels);
	return test_summary();
}
