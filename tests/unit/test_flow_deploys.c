/* Deployed versions across the nodes of a cluster (flow/deploys.c,
 * docs/cluster.md "Deploying"), in-process: two flows, "a" and "b", each
 * with a data folder and a store connection of its own, share one store
 * (SQLite, or PostgreSQL in the _pg variant: store_under_test.h) as two
 * nodes do. A study deployed through a's admin_deploy is applied by b's
 * flow_deploys_sync and served by b's /next, with the version number of the
 * files it serves; so is a study b did not serve at all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "flow/admin.h"
#include "flow/flow.h"
#include "net/http.h"
#include "store/store.h"
#include "store_under_test.h"
#include "test.h"

#define PID "cartpole-demo"

static char tmp[64], spec[256];
static const char *src_dir;

struct node {
	struct store *store;
	struct flow *flow;
	char data[128];
};

static void node_open(struct node *n, const char *name)
{
	char err[4096], study[512];
	snprintf(n->data, sizeof n->data, "%s/data-%s", tmp, name);
	n->store = store_open(spec, err, sizeof err);
	if (!n->store) {
		fprintf(stderr, "store: %s\n", err);
		exit(1);
	}
	n->flow = flow_new(n->store, NULL, n->data);
	snprintf(study, sizeof study, "%s/examples/cartpole", src_dir);
	if (!n->flow || flow_project_load(n->flow, study, false, err, sizeof err) < 0) {
		fprintf(stderr, "project: %s\n", err);
		exit(1);
	}
}

static void node_close(struct node *n)
{
	flow_free(n->flow);
	store_close(n->store);
}

/* The version node N serves of the study (0: none). */
static int version_of(struct node *n)
{
	json_t *list = flow_projects_json(n->flow), *p;
	size_t i;
	int v = 0;
	json_array_foreach(list, i, p)
		if (strcmp(json_string_value(json_object_get(p, "id")), PID) == 0)
			v = (int)json_integer_value(json_object_get(p, "version"));
	json_decref(list);
	return v;
}

/* Whether node N's /next shows TEXT to a new participant USER. */
static bool serves(struct node *n, const char *user, const char *text)
{
	char query[128];
	snprintf(query, sizeof query, "projectId=%s&userId=%s", PID, user);
	struct http_request req;
	struct http_response resp;
	http_response_init(&resp);
	http_request_init(&req, "GET", "/next", query, NULL);
	http_request_add_header(&req, "host", "study.example");
	bool took = flow_http_handler(n->flow, &req, &resp);
	bool found = took && resp.status == 200 && resp.body &&
		     memmem(resp.body, resp.body_len, text, strlen(text)) != NULL;
	http_response_free(&resp);
	return found;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *s = calloc(1, 1 << 16);
	size_t n = s ? fread(s, 1, (1 << 16) - 1, f) : 0;
	fclose(f);
	if (s)
		s[n] = '\0';
	return s;
}

/* The study's config and step files, the consent page saying CONSENT. */
static json_t *study_files(char **config, const char *consent)
{
	static const char *names[] = {"instructions.html", "survey.html", "thanks.html"};
	char path[512];
	snprintf(path, sizeof path, "%s/examples/cartpole/config.yml", src_dir);
	*config = slurp(path);
	json_t *files = json_object();
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/examples/cartpole/StepFiles/%s", src_dir, names[i]);
		char *text = slurp(path);
		json_object_set_new(files, names[i], json_string(text ? text : ""));
		free(text);
	}
	json_object_set_new(files, "consent.html", json_string(consent));
	return files;
}

/* Deploys through node N's admin API. Returns the HTTP status. */
static int deploy(struct node *n, const char *consent)
{
	char *config = NULL;
	json_t *files = study_files(&config, consent), *resp = NULL;
	int status = config ? admin_deploy(n->flow, PID, config, files, &resp) : 0;
	json_decref(resp);
	json_decref(files);
	free(config);
	return status;
}

static void a_deploy_reaches_the_other_node(void)
{
	struct node a, b;
	node_open(&a, "a");
	node_open(&b, "b");
	int v0 = version_of(&a);
	CHECK_INT(version_of(&b), v0);
	CHECK_INT(flow_deploys_sync(b.flow), 0); /* nothing deployed yet */

	CHECK_INT(deploy(&a, "<p>Version two</p>"), 200);
	CHECK(serves(&a, "u1", "Version two"));
	CHECK_INT(version_of(&a), v0 + 1);
	CHECK(!serves(&b, "u2", "Version two"));
	CHECK_INT(flow_deploys_sync(b.flow), 1);
	CHECK(serves(&b, "u3", "Version two"));
	CHECK_INT(version_of(&b), v0 + 1);
	/* the node that deployed it, and b once it has it, have nothing newer */
	CHECK_INT(flow_deploys_sync(a.flow), 0);
	CHECK_INT(flow_deploys_sync(b.flow), 0);
	node_close(&b);

	/* a node started later applies it at start */
	node_open(&b, "b2");
	CHECK(!serves(&b, "u4", "Version two"));
	CHECK_INT(flow_deploys_sync(b.flow), 1);
	CHECK(serves(&b, "u5", "Version two"));
	CHECK_INT(version_of(&b), v0 + 1);
	node_close(&b);
	node_close(&a);
}

static void a_copy_has_the_version_of_its_files(void)
{
	struct node a, b;
	node_open(&a, "a3");
	node_open(&b, "b3");
	CHECK_INT(flow_deploys_sync(b.flow), 1); /* the previous test's version */
	CHECK_INT(deploy(&a, "<p>Version three</p>"), 200);
	int v3 = version_of(&a);
	/* another node's deploy under way: it has taken the next number, its
	 * files are not in the store yet */
	int next = 0;
	CHECK_INT(store_project_put(a.store, PID, "x", "x", "/elsewhere", true, &next), 0);
	CHECK_INT(next, v3 + 1);
	CHECK_INT(flow_deploys_sync(b.flow), 1);
	CHECK(serves(&b, "u6", "Version three"));
	CHECK_INT(version_of(&b), v3); /* not the number of files it does not serve */

	/* that deploy's files arrive */
	char *config = NULL;
	json_t *files = study_files(&config, "<p>Version four</p>");
	char *text = json_dumps(files, JSON_COMPACT);
	CHECK_INT(store_deploy_put(a.store, PID, next, config, text), 0);
	CHECK_INT(flow_deploys_sync(b.flow), 1);
	CHECK(serves(&b, "u7", "Version four"));
	CHECK_INT(version_of(&b), next);

	/* a version b's checks refuse (its project.id is another study's) is
	 * not applied: b goes on serving the one it has */
	char *other = NULL;
	size_t len = strlen(config) + 16;
	other = malloc(len + 32);
	const char *at = strstr(config, "id: " PID);
	CHECK(at != NULL);
	if (at)
		snprintf(other, len + 32, "%.*sid: another%s", (int)(at - config), config,
			 at + strlen("id: " PID));
	CHECK_INT(store_deploy_put(a.store, PID, next + 1, other, text), 0);
	CHECK_INT(flow_deploys_sync(b.flow), 0);
	CHECK(serves(&b, "u8", "Version four"));
	CHECK_INT(version_of(&b), next);
	free(other);
	free(text);
	json_decref(files);
	free(config);
	node_close(&b);
	node_close(&a);
}

static void a_new_study_reaches_the_other_node(void)
{
	struct node a, b;
	node_open(&a, "a4");
	node_open(&b, "b4");
	flow_deploys_sync(b.flow);
	char *config = NULL;
	json_t *files = study_files(&config, "<p>A study of its own</p>"), *resp = NULL;
	const char *at = config ? strstr(config, "id: " PID) : NULL;
	CHECK(at != NULL);
	if (!at) {
		json_decref(files);
		free(config);
		return;
	}
	char *fresh = malloc(strlen(config) + 32);
	snprintf(fresh, strlen(config) + 32, "%.*sid: fresh%s", (int)(at - config), config,
		 at + strlen("id: " PID));
	CHECK_INT(admin_deploy(a.flow, "fresh", fresh, files, &resp), 200);
	json_decref(resp);
	CHECK_INT(flow_deploys_sync(b.flow), 1);
	struct http_request req;
	struct http_response r;
	http_response_init(&r);
	http_request_init(&req, "GET", "/next", "projectId=fresh&userId=u9", NULL);
	http_request_add_header(&req, "host", "study.example");
	CHECK(flow_http_handler(b.flow, &req, &r));
	CHECK_INT(r.status, 200);
	CHECK(r.body && memmem(r.body, r.body_len, "A study of its own", 18) != NULL);
	http_response_free(&r);
	free(fresh);
	json_decref(files);
	free(config);
	node_close(&b);
	node_close(&a);
}

int main(void)
{
	src_dir = getenv("HIPPO_SRC");
	if (!src_dir)
		src_dir = "../..";
	snprintf(tmp, sizeof tmp, "/tmp/hippo-test-flow-deploys-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	if (tsu_new(spec, sizeof spec, tmp, "flow_deploys") < 0)
		return 1;
	log_set_level(LOG_WARN);
	printf("backend: %s\n", tsu_backend());
	RUN(a_deploy_reaches_the_other_node);
	RUN(a_copy_has_the_version_of_its_files);
	RUN(a_new_study_reaches_the_other_node);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	return test_summary();
}
