/* static: the embedded participant UI served over HTTP. */
#ifndef HIPPO_NET_STATIC_H
#define HIPPO_NET_STATIC_H

#include <stdbool.h>
#include <stddef.h>

#include "net/http.h"

/* The frame-ancestors sources of the UI when none are given: only pages of
 * the same origin may embed it. */
#define STATIC_FRAME_ANCESTORS_DEFAULT "'self'"

/* Room for any policy static_csp() accepts. */
#define STATIC_CSP_MAX 1536

/* Writes the UI's Content-Security-Policy to OUT (STATIC_CSP_MAX bytes),
 * with FRAME_ANCESTORS (a space-separated CSP source list such as
 * "'self' https://survey.example.org"; NULL: the default) as its
 * frame-ancestors. Returns false, with a message in ERR, for a list that is
 * empty, too long, or holds anything but 'self', 'none', schemes and hosts
 * (no ';' or ',' that would start another directive or policy). */
bool static_csp(const char *frame_ancestors, char *out, size_t outlen, char *err, size_t errlen);

/* GET/HEAD of an embedded file ("/" is /index.html); false for anything else.
 * USER: the Content-Security-Policy to send (from static_csp), or NULL for
 * the default one. */
bool static_http_handler(void *user, const struct http_request *req, struct http_response *resp);

#endif
