/* placed: the flow on one node of several (docs/cluster.md). A game session
 * is not allocated by the node answering /next but placed through the store
 * on a live node with a free slot (store_place, one transaction); the answer
 * names that node's websocket. The node it was placed on allocates it when
 * it sees it (flow_node_prepare, from src/cluster/) or when the
 * participant's websocket arrives first (flow_node_locate). A session whose
 * node died ends with "node_lost" and project.onNodeLoss says what follows. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/id.h"
#include "core/log.h"
#include "flow/flow_int.h"
#include "store/store.h"

void flow_set_node(struct flow *f, const char *node)
{
	snprintf(f->node, sizeof f->node, "%s", node && id_valid_node(node) ? node : "");
}

void flow_set_node_suspect(struct flow *f, void (*fn)(void *user, const char *node), void *user)
{
	f->suspect = fn;
	f->suspect_user = user;
}

bool flow_node_url(const char *base, char *out, size_t len)
{
	const char *rest = NULL, *scheme = NULL;
	if (strncmp(base, "https://", 8) == 0 || strncmp(base, "wss://", 6) == 0) {
		scheme = "wss://";
		rest = strstr(base, "://") + 3;
	} else if (strncmp(base, "http://", 7) == 0 || strncmp(base, "ws://", 5) == 0) {
		scheme = "ws://";
		rest = strstr(base, "://") + 3;
	}
	if (!rest || !*rest || *rest == '/')
		return false;
	size_t n = strlen(rest);
	while (n > 0 && rest[n - 1] == '/')
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)rest[i] <= ' ' || rest[i] == '"' || rest[i] == '\\' ||
		    rest[i] == '?' || rest[i] == '#' || (unsigned char)rest[i] >= 0x7f)
			return false;
	int w = snprintf(out, len, "%s%.*s/ws", scheme, (int)n, rest);
	return w > 0 && (size_t)w < len;
}

/* Moves the participant from the game step to TO (the step after it, or the
 * final step); the caller shows the step they are at now. */
static void move_on(struct flow *f, struct flow__project *p, struct store_participant *part,
		    int to)
{
	if (store_advance(f->store, part->id, part->step, to, NULL, to >= p->final.number) < 0)
		log_error("flow", "store", "error=\"%s\"", store_errmsg(f->store));
	store_participant_get(f->store, part->project_id, part->user_id, part);
}

/* show_game_page with the websocket of the node at BASE. */
static void respond_node(const struct flow__project *p, const struct store_participant *part,
			 const char *base, struct http_response *resp)
{
	char url[STORE_URL_MAX + 8];
	json_t *j = json_pack("{s:s,s:i,s:i}", "page", "show_game_page", "step", part->step,
			      "totalSteps", (int)p->nsteps);
	if (flow_node_url(base, url, sizeof url))
		json_object_set_new(j, "server", json_string(url));
	http_respond_json(resp, 200, j);
}

int flow__node_place(struct flow *f, const struct store_participant *part,
		     const struct http_request *req, int episodes, struct store_placement *pl,
		     int *retry_s)
{
	char cbuf[64];
	const char *client = flow__client_of(f, req, cbuf, sizeof cbuf);
	if (f->sess && !sess_client_allowed(f->sess, client, false, retry_s)) {
		log_debug("flow", "session not placed: allowance spent",
			  "project=%s user=%s client=%s", part->project_id, part->user_id, client);
		return -2;
	}
	/* A participant withdrawn moments ago and back already waits (the wait
	 * page) until every node has applied the withdrawal (withdraw_watch
	 * polls every 2 s): a node applying it late would delete the files of
	 * their new game. */
	int w = store_withdrawn_within(f->store, part->project_id, part->user_id,
				       FLOW_WITHDRAW_SETTLE_S);
	if (w != 0) {
		if (w < 0)
			log_error("flow", "store", "error=\"%s\"", store_errmsg(f->store));
		else
			log_info("flow", "session not placed: withdrawn moments ago",
				 "project=%s user=%s", part->project_id, part->user_id);
		return w < 0 ? -1 : 0;
	}
	int rc = store_place(f->store, part->id, part->step, episodes, pl);
	if (rc == 1 && f->sess)
		sess_client_allowed(f->sess, client, true, NULL);
	if (rc < 0)
		log_error("flow", "store", "error=\"%s\"", store_errmsg(f->store));
	else if (rc == 1)
		log_info("flow", "session placed", "project=%s user=%s step=%d node=%s episodes=%d",
			 part->project_id, part->user_id, part->step, pl->node, episodes);
	else if (rc == 0)
		log_debug("flow", "no node has a free slot", "project=%s user=%s",
			  part->project_id, part->user_id);
	return rc;
}

int flow__node_game(struct flow *f, struct flow__project *p, struct store_participant *part,
		    const struct http_request *req, struct http_response *resp)
{
	struct store_session_info in;
	int k = store_session_info(f->store, part->id, &in);
	if (k == 1 && in.open && in.node[0] && !in.node_live) {
		/* Its node died just now: its sessions end with node_lost, here or by
		 * another node reaping at the same moment (a probe, a renewal); read
		 * again either way, or the session read open would be placed anew
		 * as if never lost (from episode 0, whatever onNodeLoss says). */
		k = store_nodes_reap(f->store) < 0 ? -1
						   : store_session_info(f->store, part->id, &in);
	}
	if (k < 0) {
		log_error("flow", "store", "error=\"%s\"", store_errmsg(f->store));
		http_respond_error(resp, 500, "participant store unavailable");
		return 0;
	}
	if (k == 1 && in.open && in.node[0] && in.node_live) {
		/* asked again: the participant's websocket to that node dropped */
		if (f->suspect && strcmp(in.node, f->node) != 0)
			f->suspect(f->suspect_user, in.node);
		respond_node(p, part, in.url, resp);
		return 0;
	}
	int episodes = 0;
	if (k == 1 && !in.open) {
		if (sess_end_name_final(in.reason)) {
			move_on(f, p, part, flow__step_next(p, part->step));
			return 1;
		}
		bool lost = strcmp(in.reason, "node_lost") == 0;
		enum cfg_node_loss policy = p->cfg->project.on_node_loss;
		if (lost && policy != CFG_NODE_LOSS_RESTART) {
			log_info("flow", "game node lost", "project=%s user=%s onNodeLoss=%s",
				 part->project_id, part->user_id,
				 policy == CFG_NODE_LOSS_SKIP_GAME ? "skip_game" : "end_study");
			move_on(f, p, part,
				policy == CFG_NODE_LOSS_SKIP_GAME ? flow__step_next(p, part->step)
								  : p->final.number);
			return 1;
		}
		/* the game goes on from the episodes played before the loss */
		if (lost || strcmp(in.reason, "drained") == 0)
			episodes = in.episodes;
	}
	struct store_placement pl;
	int retry = 1;
	int rc = flow__node_place(f, part, req, episodes, &pl, &retry);
	if (rc == -2) {
		char ra[16];
		snprintf(ra, sizeof ra, "%d", retry);
		http_add_header(resp, "Retry-After", ra);
		http_respond_error(resp, 429,
				   "too many new games from your network address: please try again "
				   "in a moment");
		return 0;
	}
	if (rc < 0) {
		http_respond_error(resp, 503,
				   "the game could not be started on the server: please try again "
				   "in a moment");
		return 0;
	}
	if (rc == 0) {
		http_respond_json(resp, 200,
				  json_pack("{s:s,s:i,s:i,s:s}", "page", "wait", "step", part->step,
					    "totalSteps", (int)p->nsteps, "message",
					    "The game servers are busy. You will be let in as soon "
					    "as a place frees up."));
		return 0;
	}
	respond_node(p, part, pl.url, resp);
	return 0;
}

/* The part of project.maxRuntime a participant's game used in sessions that
 * ended for it to go on elsewhere (a lost or drained node, a record failure:
 * sess_end_retry's reasons), from their start to their end. A final end
 * moves the participant past the game, so those are the game's. */
static int add_used(void *user, const struct store_session_row *r)
{
	int64_t *used = user;
	static const enum sess_end_reason retry[] = {SESS_END_NODE_LOST, SESS_END_DRAINED,
						     SESS_END_RECORD};
	for (size_t i = 0; r->reason && r->stopped && i < sizeof retry / sizeof retry[0]; i++)
		if (strcmp(r->reason, sess_end_reason_name(retry[i])) == 0) {
			int64_t a = clock_iso8601_parse(r->started), b = clock_iso8601_parse(r->stopped);
			if (a >= 0 && b > a)
				*used += b - a;
		}
	return 0;
}

static int64_t runtime_used_ms(struct flow *f, const char *project_id, const char *user_id)
{
	struct store_participant part;
	int64_t used = 0;
	if (store_participant_get(f->store, project_id, user_id, &part) == 1) {
		struct store_query q = {.project_id = project_id, .participant = part.id};
		store_sessions_each(f->store, &q, add_used, &used);
	}
	return used;
}

int flow_node_prepare(struct flow *f, const char *project_id, const char *user_id, int episodes,
		      char *err, size_t errlen)
{
	struct flow__project *p = flow__project_get(f, project_id);
	if (!p) {
		snprintf(err, errlen, "project %s is not served by this node", project_id);
		return -1;
	}
	if (!f->sess) {
		snprintf(err, errlen, "no game sessions on this node");
		return -1;
	}
	int64_t used = runtime_used_ms(f, project_id, user_id);
	enum sess_alloc a =
		sess_allocate_from(f->sess, p->cfg, user_id, episodes, used, err, errlen);
	if (a != SESS_ALLOC_OK)
		return -1;
	log_info("flow", "placed session allocated", "project=%s user=%s episodes=%d runtime_used_ms=%lld",
		 project_id, user_id, episodes, (long long)used);
	return 0;
}

enum sess_locate flow_node_locate(void *user, const char *project_id, const char *user_id,
				  char *url, size_t len)
{
	struct flow *f = user;
	struct store_participant part;
	struct store_session_info in;
	char err[256];
	if (!f->node[0] || store_participant_get(f->store, project_id, user_id, &part) != 1 ||
	    store_session_info(f->store, part.id, &in) != 1 || !in.open || !in.node[0])
		return SESS_LOCATE_NONE;
	if (strcmp(in.node, f->node) == 0) {
		if (flow_node_prepare(f, project_id, user_id, in.episodes, err, sizeof err) < 0) {
			log_warn("flow", "placed session not allocated",
				 "project=%s user=%s err=\"%s\"", project_id, user_id, err);
			return SESS_LOCATE_NONE;
		}
		return SESS_LOCATE_HERE;
	}
	return in.node_live && flow_node_url(in.url, url, len) ? SESS_LOCATE_ELSEWHERE
							       : SESS_LOCATE_NONE;
}
