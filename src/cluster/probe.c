/* probe: one GET BASE/healthz per suspected node, all at once (probe.h). */
#include "cluster/probe.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/clock.h"

#define PROBE_BODY_MAX 4096 /* of an answer read (it is not used, only its arrival) */

bool probe_url_valid(const char *url, size_t max)
{
	const char *rest;
	if (!url || strlen(url) > max)
		return false;
	if (strncmp(url, "http://", 7) == 0)
		rest = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		rest = url + 8;
	else
		return false;
	if (!*rest || *rest == '/' || *rest == ':')
		return false;
	for (const char *c = rest; *c; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f || *c == '"' ||
		    *c == '\\' || *c == '?' || *c == '#' || *c == '@')
			return false;
	return true;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void probe_init(void)
{
	pthread_once(&curl_once, curl_init_once);
}

struct one {
	struct probe *p;
	size_t got;
	char url[1100];
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
	struct one *o = user;
	(void)data;
	o->got += size * nmemb;
	return o->got > PROBE_BODY_MAX ? 0 : size * nmemb; /* 0: enough, stop */
}

/* The verdict on a finished transfer (its result CC, the status seen). */
static void judge(struct probe *p, CURLcode cc, long status)
{
	p->status = (int)status;
	if (status > 0) { /* it answered (a body cut short by on_body included) */
		p->result = PROBE_ALIVE;
		return;
	}
	snprintf(p->error, sizeof p->error, "%s", curl_easy_strerror(cc));
	switch (cc) {
	case CURLE_COULDNT_CONNECT:    /* refused, unreachable: no process listens */
	case CURLE_OPERATION_TIMEDOUT: /* no answer in time */
	case CURLE_GOT_NOTHING:        /* closed without an answer */
	case CURLE_RECV_ERROR:         /* reset */
	case CURLE_SEND_ERROR:
		p->result = PROBE_DEAD;
		break;
	default: /* a name that does not resolve, TLS, a local failure: the lease decides */
		p->result = PROBE_UNKNOWN;
		break;
	}
}

void probe_run(struct probe *v, size_t n, int timeout_ms)
{
	for (size_t i = 0; i < n; i++) {
		v[i].result = PROBE_UNKNOWN;
		v[i].status = 0;
		snprintf(v[i].error, sizeof v[i].error, "not probed");
	}
	struct one *o = calloc(n ? n : 1, sizeof *o);
	CURL **h = calloc(n ? n : 1, sizeof *h);
	CURLM *m = o && h ? curl_multi_init() : NULL;
	if (!m)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct probe *p = &v[i];
		o[i].p = p;
		if (!probe_url_valid(p->base, sizeof o[i].url - 16)) {
			snprintf(p->error, sizeof p->error, "not an internal URL");
			continue;
		}
		size_t len = strlen(p->base);
		while (len > 0 && p->base[len - 1] == '/')
			len--;
		snprintf(o[i].url, sizeof o[i].url, "%.*s/healthz", (int)len, p->base);
		if (!(h[i] = curl_easy_init())) {
			snprintf(p->error, sizeof p->error, "out of memory");
			continue;
		}
		curl_easy_setopt(h[i], CURLOPT_URL, o[i].url);
		curl_easy_setopt(h[i], CURLOPT_PRIVATE, &o[i]);
		curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h[i], CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h[i], CURLOPT_FOLLOWLOCATION, 0L);
		/* never through a proxy named by the environment */
		curl_easy_setopt(h[i], CURLOPT_PROXY, "");
		curl_easy_setopt(h[i], CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
		curl_easy_setopt(h[i], CURLOPT_TIMEOUT_MS, (long)timeout_ms);
		curl_easy_setopt(h[i], CURLOPT_USERAGENT, "hippo-node-probe");
		curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &o[i]);
		if (curl_multi_add_handle(m, h[i]) != CURLM_OK) {
			curl_easy_cleanup(h[i]);
			h[i] = NULL;
			snprintf(p->error, sizeof p->error, "out of memory");
		}
	}
	/* each transfer ends by its own timeout; the deadline is a safety net */
	int64_t deadline = clock_mono_ms() + timeout_ms + 500;
	int running = 1;
	while (running > 0 && clock_mono_ms() < deadline) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		if (running > 0)
			curl_multi_poll(m, NULL, 0, 50, NULL);
	}
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(m, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct one *x = NULL;
		long status = 0;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		if (x)
			judge(x->p, msg->data.result, status);
	}
out:
	for (size_t i = 0; h && i < n; i++)
		if (h[i]) {
			curl_multi_remove_handle(m, h[i]);
			curl_easy_cleanup(h[i]);
		}
	if (m)
		curl_multi_cleanup(m);
	free(h);
	free(o);
}
