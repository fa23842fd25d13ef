/* admin: the researcher's API under /api/ (docs/api.md). Every request needs
 * "Authorization: Bearer <token>"; without a configured token the API is
 * disabled (403). Routes:
 *
 *   GET  /api/projects                         the master list
 *   POST /api/projects/<id>/deploy             {"config": yaml, "files": {name: text}},
 *                                              or the study folder as a zip, tar or
 *                                              tar.gz archive (deploy_archive.h)
 *   POST /api/projects/<id>/live               {"live": true|false}
 *   GET  /api/projects/<id>/participants       participants with steps and answers
 *   GET  /api/projects/<id>/data.tar.gz        participants.json + trial data files,
 *                                              streamed from a download thread (tar at a
 *                                              lower CPU priority; constant memory)
 */
#ifndef HIPPO_FLOW_ADMIN_H
#define HIPPO_FLOW_ADMIN_H

#include <stdbool.h>

#include "net/http.h"

struct flow;
struct admin;

#define ADMIN_MAX_FILES 1000

/* A deployed file's name (StepFiles/NAME): [A-Za-z0-9._-], 1..200 bytes, no
 * leading dot, no "..". */
bool admin_file_name_ok(const char *s);
#define ADMIN_MAX_DOWNLOADS 2 /* data downloads at once; more get 503 */

/* A new admin API over FLOW (borrowed). TOKEN may be NULL or "": disabled. */
struct admin *admin_new(struct flow *flow, const char *token);
/* Waits for running downloads (free the server first: their writes then fail). */
void admin_free(struct admin *a);

/* Whether REQ carries "Authorization: Bearer <the admin token>" (false when
 * the admin API is disabled). Compared in constant time. */
bool admin_authorized(const struct admin *a, const struct http_request *req);

/* The gate every /api/ request passes (the routes here and the console's,
 * src/console/): true when REQ carries the token; otherwise RESP gets 403
 * (API disabled), 401 (missing or wrong token; a wrong one is counted against
 * the client address) or 429 with Retry-After (that address failed too often lately,
 * flow/login_limit.h). Sets "Cache-Control: no-store" either way. */
bool admin_gate(struct admin *a, const struct http_request *req, struct http_response *resp);

/* Handles /api/...; false for other paths. USER is the admin. */
bool admin_http_handler(void *user, const struct http_request *req, struct http_response *resp);

/* Deploys a project from an upload: writes CONFIG and FILES (JSON object name
 * -> text) to a temporary folder, validates it (flow_cfg_load_deployed), then
 * replaces DATA/projects/<ID>/ atomically and registers the new version
 * (participants are kept). Returns the HTTP status (400 invalid, 403 when it
 * names programs or plug-ins this server does not run for deployed studies);
 * RESP_J gets the JSON answer with the diagnostics. The version's files
 * also go to the store (store_deploy_put), where the other nodes of a
 * cluster find them (flow_deploys_sync). */
int admin_deploy(struct flow *f, const char *id, const char *config, json_t *files,
		 json_t **resp_j);
/* Deploys version VERSION of study ID as another node deployed it (the
 * deploys table of the store, FILES_TEXT its JSON object {name: text}):
 * the same checks and swap-in as admin_deploy, keeping that version number.
 * 0, or -1 with a message in ERR. */
int admin_deploy_copy(struct flow *f, const char *id, int version, const char *config,
		      const char *files_text, char *err, size_t errlen);

/* Removes a folder tree (no symlinks followed). */
int admin_rmtree(const char *path);

#endif
