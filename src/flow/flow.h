/* flow: the study flow behind `/next` (shared/SPEC.md §1-2). It keeps the
 * registered projects (config + step pages held in memory), moves each
 * participant through the steps stored in the participant store, assigns
 * groups, and starts/stops game sessions at the configured steps.
 *
 * Semantics (fixing the original's reload bug, docs/compatibility.md): GET
 * shows the participant's current step and never advances; POST stores the
 * answers for the current step and advances; the game step advances when the
 * trial ends. Every function is thread-safe. */
#ifndef HIPPO_FLOW_FLOW_H
#define HIPPO_FLOW_FLOW_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "net/http.h"
#include "session/session.h"

struct cfg;
struct cfg_diags;
struct store;
struct flow;

#define FLOW_MAX_BODY (1024 * 1024) /* bytes of a POST /next body */
#define FLOW_MAX_FIELDS 1000        /* answer fields in one POST */
#define FLOW_MAX_FIELD_NAME 256     /* bytes of a field name */
/* seconds a withdrawn participant who comes back waits for a game on a
 * cluster, while every node applies the withdrawal (placed.c) */
#define FLOW_WITHDRAW_SETTLE_S 10

/* A new flow over STORE (borrowed) and the session manager SESS (borrowed; may
 * be NULL, then game steps answer 503). DATA_DIR is the data folder (deployed
 * projects live in DATA_DIR/projects/<id>/). */
struct flow *flow_new(struct store *store, struct sess_mgr *sess, const char *data_dir);
/* Frees the flow and every project version it registered. Sessions must be
 * stopped first (they borrow project configs). */
void flow_free(struct flow *f);

/* The server runs TLS: game session URLs use wss://. */
void flow_set_secure(struct flow *f, bool secure);

/* Whether studies deployed through the admin API (and found under
 * DATA/projects/ at start-up) may name programs or plug-ins: trial.env.command,
 * trial.env.plugin, trial.agentCommand. Default false: such a study is refused
 * (CFG_LOAD_NO_CODE), since the admin token would otherwise run any program
 * as the server's user. Call before flow_load_deployed. */
void flow_set_trust_deployed_code(struct flow *f, bool trust);

/* Loads the study folder DIR with the checks the flow applies to a deployed
 * study (code keys per flow_set_trust_deployed_code; trial.game a known
 * environment). Same contract as cfg_load. */
int flow_cfg_load_deployed(struct flow *f, const char *dir, struct cfg *c,
			   struct cfg_diags *diags);
/* The same checks on the text of a config.yml (LEN bytes) alone, before
 * anything is written: step files are not looked at. */
int flow_cfg_check_deployed_text(struct flow *f, const char *yaml, size_t len, struct cfg *c,
				 struct cfg_diags *diags);

/* The server runs behind a reverse proxy that appends the client's address
 * to X-Forwarded-For: the last entry, not the socket's peer, is the address
 * charged for new game sessions (sess_allocate). Off by default (the header
 * is the client's to forge). */
void flow_set_trust_proxy(struct flow *f, bool trust);

/* Optional hooks (e.g. for storage). Both run on the thread making the
 * change, without flow locks held, and must not block. */
struct flow_hooks {
	void *user;
	/* A project version is about to be registered (start-up, deploy).
	 * Returning -1 (message in ERR) rejects it. */
	int (*project_added)(void *user, const struct cfg *cfg, char *err, size_t errlen);
	/* The participant's stored record changed: created, answered,
	 * advanced, a session started or ended. CFG is the project's. */
	void (*participant_changed)(void *user, const struct cfg *cfg, const char *project_id,
				    const char *user_id);
};
/* Sets the hooks (copied); call before any project is added. */
void flow_set_hooks(struct flow *f, const struct flow_hooks *h);

/* Registers CFG (ownership taken, also on failure) as the current version of
 * its project, replacing an older one (which is kept alive until flow_free,
 * since running sessions borrow it). DEPLOYED: it came through the admin API
 * (resets the live override). Reads every step page into memory. Returns 0,
 * or -1 with a message in ERR. */
int flow_project_add(struct flow *f, struct cfg *cfg, bool deployed, char *err, size_t errlen);
/* cfg_load(DIR) + flow_project_add. Errors (with config diagnostics) in ERR.
 * trial.game must name a known environment when there is no trial.env; a
 * DEPLOYED study gets the checks of flow_cfg_load_deployed. */
int flow_project_load(struct flow *f, const char *dir, bool deployed, char *err, size_t errlen);
/* Loads every project deployed earlier under DATA_DIR/projects/ (with the
 * checks of flow_cfg_load_deployed). Returns the number loaded; problems are
 * logged. */
int flow_load_deployed(struct flow *f);

/* Handles /next (GET, POST, OPTIONS; anything else 405). Returns false for
 * other paths. USER is the flow. */
bool flow_http_handler(void *user, const struct http_request *req, struct http_response *resp);

/* Session-end callback for sess_on_end (USER is the flow): records the end in
 * the store and moves a participant waiting on the game step past it. */
void flow_on_session_end(void *user, const char *project_id, const char *user_id,
			 enum sess_end_reason reason, const char *const *files);

/* ---- one node of several (docs/cluster.md) ---- */

/* The flow runs on cluster node NODE (core/id.h's rule; copied): a game
 * session is placed on a live node with a free slot through the store
 * (store_place) and show_game_page names that node's websocket; the ends of
 * sessions this node records are its own (store_session_end_node); a session
 * whose node was lost is followed as project.onNodeLoss says. Call before
 * serving. */
void flow_set_node(struct flow *f, const char *node);
/* FN(USER, NODE) is called (on the thread answering /next; it must not
 * block) when a participant whose open game session runs on another node,
 * NODE (a name from the store, never from the request), asks /next at the
 * game step again: their websocket to NODE dropped, and NODE may be dead
 * (cluster_suspect). Call before serving. */
void flow_set_node_suspect(struct flow *f, void (*fn)(void *user, const char *node), void *user);
/* Allocates here the session the store placed on this node for (PROJECT_ID,
 * USER_ID), going on from EPISODES played earlier: 0, or -1 with a message in
 * ERR (a project this node does not serve, the trial could not start). */
int flow_node_prepare(struct flow *f, const char *project_id, const char *user_id, int episodes,
		      char *err, size_t errlen);
/* A sess_locate_fn (USER: the flow): a handshake for a participant whose
 * session is placed here but not allocated yet, or runs on another node. */
enum sess_locate flow_node_locate(void *user, const char *project_id, const char *user_id,
				  char *url, size_t len);
/* The websocket URL of a node advertised at BASE (http[s]:// or ws[s]://
 * host[:port][/path]): "ws[s]://host[:port][/path]/ws". False when BASE is
 * not such a URL or OUT is too small. */
bool flow_node_url(const char *base, char *out, size_t len);

/* Admin view of projects: [{id, name, researcher, live, version, dir,
 * participants, completed, steps: {"1": n, ...}}]. */
json_t *flow_projects_json(struct flow *f);
/* Sets the live override of a registered project; -1 when unknown. */
int flow_project_set_live(struct flow *f, const char *id, bool live);
/* True when ID is registered. */
bool flow_project_exists(struct flow *f, const char *id);
/* The current version of registered projects, for the researcher console. */
struct flow_project_view {
	const struct cfg *cfg; /* valid until flow_free */
	int version;
	bool live, deployed;
};
/* Sets *OUT to an array (free()) of the project with id ID, or of every
 * registered project (ID NULL), in registration order. Returns the count. */
size_t flow_project_views(struct flow *f, const char *id, struct flow_project_view **out);
struct store *flow_store(struct flow *f);

/* Preview links (preview.c, docs/console.md): a researcher runs a study as
 * a participant marked preview in the store, never put in a group nor
 * counted. The link's value is FLOW_PREVIEW_LEN hex digits of
 * HMAC-SHA256(KEY, "hippo-preview:" project id), KEY the admin token: only
 * the admin API hands it out, and it cannot be made without the token. */
#define FLOW_PREVIEW_LEN 32
/* Sets the key (a copy; NULL or "": no preview links). 0 or -1. */
int flow_preview_key_set(struct flow *f, const char *key);
/* The preview value of study ID into OUT (> FLOW_PREVIEW_LEN bytes): 0, or
 * -1 when there is no key. */
int flow_preview_value(struct flow *f, const char *id, char *out, size_t len);
/* Whether VALUE is study ID's preview value (compared in constant time). */
bool flow_preview_ok(struct flow *f, const char *id, const char *value);
const char *flow_data_dir(struct flow *f);

/* Groups: the original bucketer (hash strategy; falls back to FNV-1a when the
 * characters it reads are not hex, where the original failed), and the
 * balanced choice: the least-filled group, ties broken by RND. */
int flow_group_hash(const char *user_id, int n);
int flow_group_balanced(const long long *counts, int n, unsigned rnd);

/* Parses a POST /next body: a JSON object, or application/x-www-form-urlencoded
 * when CONTENT_TYPE says so (or the body is not JSON and looks like a form).
 * Returns a JSON object of answers, or NULL with a message in ERR (invalid
 * JSON, not an object, too many fields, a field name too long). */
json_t *flow_parse_answers(const char *body, size_t len, const char *content_type, char *err,
			   size_t errlen);

/* snprintf for paths: returns 0, or -1 (ENAMETOOLONG) when OUT was too small. */
int flow_pathf(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Deployed versions across the nodes of a cluster (deploys.c): applies
 * every study's latest version in the store's deploys table that is newer
 * than the one this process serves, as admin_deploy does. Returns how many
 * were applied. */
int flow_deploys_sync(struct flow *f);
/* The live switch of every study as the store holds it (the console's or
 * the admin API's on any node), applied to this process's studies. Returns
 * how many changed, or -1 when the store could not be read. */
int flow_live_sync(struct flow *f);
/* A thread calling flow_deploys_sync and flow_live_sync every EVERY_MS (0:
 * 2000); NULL when it cannot start. Stop it before the flow is freed. */
struct flow_deploys_watch;
struct flow_deploys_watch *flow_deploys_watch(struct flow *f, int every_ms);
void flow_deploys_watch_stop(struct flow_deploys_watch *w);

#endif
