/* static: the embedded participant UI served over HTTP. */
#ifndef HIPPO_NET_STATIC_H
#define HIPPO_NET_STATIC_H

#include <stdbool.h>

#include "net/http.h"

/* GET/HEAD of an embedded file ("/" is /index.html); false for anything else. */
bool static_http_handler(void *user, const struct http_request *req, struct http_response *resp);

#endif
