/* deploys: the studies deployed on other nodes of a cluster (docs/cluster.md,
 * "Deploying"). The admin API of any node stores each deployed version's
 * files in the store (admin_deploy); every node looks at the latest version
 * of each study (one small query) at start and every few seconds, and a
 * version newer than the one it serves goes through the same checks and
 * swap-in as a deploy on this node (admin_deploy_copy), keeping its number.
 * The same thread brings each study's live switch from the store
 * (flow_live_sync, project.c). */
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "core/log.h"
#include "core/ticker.h"
#include "flow/admin.h"
#include "flow/flow.h"
#include "flow/flow_int.h"
#include "store/store.h"

struct newer {
	struct flow *f;
	char (*ids)[80];
	int *versions;
	size_t n, cap;
};

static int on_latest(void *user, const char *id, int version)
{
	struct newer *w = user;
	if (!id_valid_project(id) || flow__project_applied_get(w->f, id) >= version)
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		char(*ids)[80] = realloc(w->ids, cap * sizeof *ids);
		if (!ids)
			return 1;
		w->ids = ids;
		int *vs = realloc(w->versions, cap * sizeof *vs);
		if (!vs)
			return 1;
		w->versions = vs;
		w->cap = cap;
	}
	snprintf(w->ids[w->n], sizeof w->ids[w->n], "%s", id);
	w->versions[w->n++] = version;
	return 0;
}

int flow_deploys_sync(struct flow *f)
{
	struct newer w = {.f = f};
	int applied = 0;
	/* the list first: the store is not held while a version is applied */
	if (store_deploys_latest(flow_store(f), on_latest, &w) < 0)
		log_warn("flow", "deployed versions not read", "error=\"%s\"",
			 store_errmsg(flow_store(f)));
	for (size_t i = 0; i < w.n; i++) {
		char *config = NULL, *files = NULL, err[4096];
		int got = 0;
		int k = store_deploy_get(flow_store(f), w.ids[i], w.versions[i], &got, &config,
					 &files);
		if (k == 1 && admin_deploy_copy(f, w.ids[i], got, config, files, err,
						sizeof err) == 0) {
			log_info("flow", "deployed version applied", "project=%s version=%d",
				 w.ids[i], got);
			applied++;
		} else if (k == 1) {
			log_error("flow", "deployed version not applied", "project=%s error=\"%s\"",
				  w.ids[i], err);
			/* not tried again until a newer one comes */
			flow__project_applied(f, w.ids[i], w.versions[i]);
		}
		free(config);
		free(files);
	}
	free(w.ids);
	free(w.versions);
	return applied;
}

/* The thread's call: the versions, then the live switches. */
static void watch_tick(void *user)
{
	struct flow *f = user;
	flow_deploys_sync(f);
	flow_live_sync(f);
}

struct flow_deploys_watch {
	struct ticker *t;
};

struct flow_deploys_watch *flow_deploys_watch(struct flow *f, int every_ms)
{
	struct flow_deploys_watch *w = calloc(1, sizeof *w);
	if (w && !(w->t = ticker_start(every_ms > 0 ? every_ms : 2000, watch_tick, f))) {
		free(w);
		w = NULL;
	}
	return w;
}

void flow_deploys_watch_stop(struct flow_deploys_watch *w)
{
	if (!w)
		return;
	ticker_stop(w->t);
	free(w);
}
