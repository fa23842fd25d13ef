/* probe: asks cluster nodes directly whether they are alive
 * (docs/cluster.md, "Failure detection"). A node started with --internal
 * URL registers URL as its probe; another node that suspects it is dead (a
 * participant of it asked /next again: their websocket dropped) sends one
 * GET URL/healthz and judges the answer:
 *
 *   - any HTTP answer (200, 503 "draining", any other status): alive. A
 *     process answers at the node's address, so it is not expired, whatever
 *     it says; the lease decides the rest;
 *   - connection refused, reset, closed without an answer, or no answer
 *     within the timeout: dead;
 *   - anything else (a host name that does not resolve, a TLS failure, a
 *     local error): unknown, left to the lease.
 *
 * Probes only go to URLs that probe_url_valid accepts (http:// or https://,
 * no user info, query or fragment), without a proxy or redirects, reading at
 * most a few kilobytes of the answer. The functions keep no state and are
 * thread-safe (curl_global_init must have run: probe_init). */
#ifndef HIPPO_CLUSTER_PROBE_H
#define HIPPO_CLUSTER_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#define PROBE_TIMEOUT_MS 1000 /* a probe's whole time: connect, send, answer */

enum probe_result { PROBE_UNKNOWN = 0, PROBE_ALIVE, PROBE_DEAD };

struct probe {
	const char *base;         /* in: the node's probe URL (probe_url_valid) */
	enum probe_result result; /* out */
	int status;               /* out: the HTTP status of an answer, else 0 */
	char error[128];          /* out: why it is dead or unknown */
};

/* Whether URL is a node's internal base URL: http[s]://HOST[:PORT][/PATH],
 * at most MAX bytes, without user info, '?', '#', blanks, quotes,
 * backslashes, control or non-ASCII bytes. */
bool probe_url_valid(const char *url, size_t max);

/* curl_global_init, once per process. */
void probe_init(void);

/* Probes the N nodes of V at once; returns within about TIMEOUT_MS. A base
 * probe_url_valid refuses is unknown, never requested. */
void probe_run(struct probe *v, size_t n, int timeout_ms);

#endif
