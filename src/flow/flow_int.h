/* flow internals shared by the files of src/flow/ (flow__ prefix). */
#ifndef HIPPO_FLOW_FLOW_INT_H
#define HIPPO_FLOW_FLOW_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "flow/flow.h"

/* A step page, already encoded as a JSON string literal (quotes included), so
 * a GET only concatenates; HASH is the SHA-256 of the file's bytes (what is
 * served), in lowercase hex (STORE_PAGE_HASH_LEN digits), computed once at
 * load and stored with what the participant answers or passes. */
struct flow__page {
	char *json;
	size_t len;
	char hash[65];
};

struct flow__step {
	int number;
	bool is_game;
	int nvariants;            /* 0: one page */
	struct flow__page *pages; /* nvariants entries, or 1 (none for the game) */
};

/* One registered version of a project. Versions are never freed before
 * flow_free: sessions and in-flight requests borrow them. */
struct flow__project {
	struct cfg *cfg;
	int version;
	bool deployed;
	int applied;              /* the deployed version (store deploys) it serves, 0 none */
	int live_override;        /* -1 none (config decides), 0 off, 1 on */
	struct flow__step *steps; /* sorted by number */
	size_t nsteps;
	struct flow__step final;  /* number = last number + 1 */
	struct flow__project *older;
};

struct flow {
	struct store *store;
	struct sess_mgr *sess;
	char *data_dir;
	pthread_mutex_t mu;       /* guards the project table and rnd */
	struct flow__project **projects; /* current versions */
	size_t nprojects, cap;
	struct flow__project *retired;
	unsigned rnd;
	bool secure;              /* served over TLS: game URLs are wss:// */
	bool trust_deployed_code; /* deployed studies may name programs and plug-ins */
	bool trust_proxy;         /* the client address is X-Forwarded-For's last entry */
	struct flow_hooks hooks;  /* optional; set before projects are added */
	char node[64];            /* the cluster node this flow runs on; "": one node alone */
	void (*suspect)(void *user, const char *node); /* flow_set_node_suspect */
	void *suspect_user;
	char *preview_key;        /* flow_preview_key_set; NULL: no preview links */
};

/* The current version of project ID, or NULL. The pointer stays valid until flow_free. */
struct flow__project *flow__project_get(struct flow *f, const char *id);

/* Deployed versions across nodes (admin.c, deploys.c): loads DIR, version
 * VERSION of the deploys table deployed on another node, as a deployed
 * study numbered VERSION (not the store's latest number, which a deploy
 * under way elsewhere may have taken already). 0, or -1 with ERR. */
int flow__project_load_copy(struct flow *f, const char *dir, int version, char *err,
			    size_t errlen);
/* The version of study ID (0 when unknown); the deployed version it serves
 * (0 none), and setting it. */
int flow__project_version(struct flow *f, const char *id);
int flow__project_applied_get(struct flow *f, const char *id);
void flow__project_applied(struct flow *f, const char *id, int version);
bool flow__project_live(struct flow *f, const struct flow__project *p);
/* The step shown at NUMBER: a numbered step, or the final step past the last. */
const struct flow__step *flow__step_at(const struct flow__project *p, int number);
/* The number of the step after NUMBER. */
int flow__step_next(const struct flow__project *p, int number);
unsigned flow__random(struct flow *f);

struct store_participant;
struct store_placement;
/* The address a request came from, for the allocation allowance (next.c):
 * the socket's peer, or behind a trusted proxy X-Forwarded-For's last entry. */
const char *flow__client_of(const struct flow *f, const struct http_request *req, char *buf,
			    size_t len);
/* placed.c (a cluster node): places the participant's session through the
 * store for REQ's client (store_place's result, logged; -2 when the client's
 * allowance is spent, *RETRY_S its wait); answers a game step (as next.c's
 * respond_game: 1 when the participant was moved past it). */
int flow__node_place(struct flow *f, const struct store_participant *part,
		     const struct http_request *req, int episodes, struct store_placement *pl,
		     int *retry_s);
int flow__node_game(struct flow *f, struct flow__project *p, struct store_participant *part,
		    const struct http_request *req, struct http_response *resp);
/* The participant's group for a step of P with N variants (groups.c):
 * assigned once, by the project's strategy (project.groups), then stored. */
int flow__group_of(struct flow *f, const struct flow__project *p,
		   const struct store_participant *part, int n);

#endif
