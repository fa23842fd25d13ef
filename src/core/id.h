/* id: the one rule for each kind of id that arrives from outside (a browser,
 * a config, a websocket handshake, a directory listing) and later reaches a
 * path, a storage key, a query or a log line. Every module checks ids with
 * these functions; none keeps a copy of the rules (docs/config.md, "Ids").
 *
 *   projectId  [A-Za-z0-9-]{1,64}   the original's project.id: a folder name
 *                                   in storage; '_' was never allowed
 *   userId     [A-Za-z0-9_-]{1,64}  the original generated UUID v4 strings;
 *                                   '_' is accepted for crowd-platform ids
 *   node name  [a-z0-9] or [a-z0-9][a-z0-9-]{0,61}[a-z0-9]
 *                                   a server node: one DNS label (RFC 1123), so
 *                                   it can be a host name and a URL segment
 *
 * All functions take a NUL-terminated string (NULL is invalid) and read at most
 * one byte past the longest valid id. */
#ifndef HIPPO_CORE_ID_H
#define HIPPO_CORE_ID_H

#include <stdbool.h>

#define ID_MAX      64 /* longest projectId or userId, in bytes */
#define ID_NODE_MAX 63 /* longest node name */

/* The rules as they appear in error messages. */
#define ID_PROJECT_RULE "[A-Za-z0-9-]{1,64}"
#define ID_USER_RULE    "[A-Za-z0-9_-]{1,64}"
#define ID_NODE_RULE    "a DNS label: [a-z0-9-]{1,63}, not starting or ending with '-'"

bool id_valid_project(const char *s);
bool id_valid_user(const char *s);
bool id_valid_node(const char *s);

#endif
