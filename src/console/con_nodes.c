/* con_nodes: the nodes of the cluster this server belongs to (the console's
 * Nodes page, docs/cluster.md) and the drain a researcher asks of one. */
#include <stdio.h>
#include <string.h>

#include "cluster/cluster.h"
#include "console/audit.h"
#include "console/con_int.h"
#include "core/id.h"
#include "core/log.h"
#include "store/store.h"

static int node_row(void *user, const struct store_node_row *r)
{
	json_t *list = user;
	if (!r->name || !id_valid_node(r->name))
		return 0;
	json_t *n = json_pack("{s:s,s:s?,s:s?,s:i,s:i,s:b,s:b,s:s?,s:I}", "name", r->name, "url",
			      r->url, "internal", r->probe[0] ? r->probe : NULL, "slots", r->slots,
			      "used", r->used, "live", r->live, "draining", r->draining, "renewed",
			      r->renewed, "leaseLeftMs", (json_int_t)r->lease_left_ms);
	json_array_append_new(list, n); /* NULL (out of memory): the node is left out */
	return 0;
}

/* GET /api/nodes: {"node": this node's name, or null when this server is
 * no cluster node, "nodes": [{name, url, internal, slots, used, live,
 * draining, renewed, leaseLeftMs}] by name}. */
int con__nodes(struct console *c, struct con_job *j)
{
	json_t *list = json_array();
	if (!list)
		return con__fail(j, 500, "out of memory");
	if (c->o.cluster && store_nodes_each(c->ro, node_row, list) < 0) {
		json_decref(list);
		return con__fail(j, 500, "participant store: %s", store_errmsg(c->ro));
	}
	j->out = json_pack("{s:s?,s:o}", "node", cluster_node(c->o.cluster), "nodes", list);
	return j->out ? 200 : con__fail(j, 500, "out of memory");
}

/* POST /api/nodes/{n}/drain, body {"by": "<who>"} (optional): the node takes
 * no new sessions from its next lease renewal on, and its running ones go on
 * (cluster_ask_drain). Written to the audit log before it is reported. */
int con__node_drain(struct console *c, struct con_job *j)
{
	char by[128] = "";
	if (j->body_len > 0) {
		json_error_t je;
		json_t *b = json_loadb(j->body, j->body_len, 0, &je);
		json_t *v = json_object_get(b, "by");
		if (!json_is_object(b) || (v && !json_is_string(v))) {
			json_decref(b);
			return con__fail(j, 400,
					 "expected a JSON object {\"by\": \"<your name>\"}");
		}
		snprintf(by, sizeof by, "%s", v ? json_string_value(v) : "");
		json_decref(b);
	}
	if (!c->o.cluster)
		return con__fail(j, 404, "this server is no cluster node: it has no nodes");
	char err[300];
	int k = cluster_ask_drain(c->o.cluster, j->name, err, sizeof err);
	if (k < 0)
		return con__fail(j, 500, "%s", err);
	if (k == 0)
		return con__fail(j, 404, "no such node");
	json_t *entry = json_pack("{s:s,s:s,s:{s:s,s:s,s:s}}", "action", "drain", "node", j->name,
				  "by", "name", by, "address", j->ip, "via", "api");
	char id[48];
	if (!entry || audit_append(c->data_dir, entry, id, sizeof id, err, sizeof err) < 0) {
		log_error("console", "drain asked but its audit entry not written",
			  "node=%s error=\"%s\"", j->name, entry ? err : "out of memory");
		json_decref(entry);
		return con__fail(j, 500,
				 "node %s drains, but the audit log could not be written: %s", j->name,
				 entry ? err : "out of memory");
	}
	json_decref(entry);
	log_info("console", "node asked to drain", "node=%s audit=%s by=\"%s\"", j->name, id, by);
	j->out = json_pack("{s:s,s:b,s:s}", "node", j->name, "draining", 1, "audit", id);
	return j->out ? 200 : con__fail(j, 500, "out of memory");
}
