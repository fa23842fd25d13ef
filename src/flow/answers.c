/* answers: parsing of a POST /next body into the answers of a step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flow/flow.h"

json_t *flow_parse_answers(const char *body, size_t len, const char *content_type, char *err,
			   size_t errlen)
{
	json_t *o = NULL;
	bool form = content_type &&
		    strncasecmp(content_type, "application/x-www-form-urlencoded", 33) == 0;
	if (len > FLOW_MAX_BODY) {
		snprintf(err, errlen, "body larger than %d bytes", FLOW_MAX_BODY);
		return NULL;
	}
	size_t i = 0;
	while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i == len)
		return json_object();
	/* Some clients send a JSON object with the form content type. */
	if (form && body[i] == '{') {
		json_t *t = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
		if (json_is_object(t))
			form = false;
		json_decref(t);
	}
	if (!form) {
		json_error_t je;
		o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
		if (!o) {
			snprintf(err, errlen, "invalid JSON body: %s (line %d, column %d)", je.text,
				 je.line, je.column);
			return NULL;
		}
		if (!json_is_object(o)) {
			snprintf(err, errlen, "the body must be a JSON object of form fields");
			goto fail;
		}
	} else {
		o = json_object();
		const char *p = body, *end = body + len;
		while (p < end && o) {
			const char *amp = memchr(p, '&', (size_t)(end - p));
			const char *stop = amp ? amp : end;
			const char *eq = memchr(p, '=', (size_t)(stop - p));
			const char *nend = eq ? eq : stop;
			char name[FLOW_MAX_FIELD_NAME + 1];
			if (nend > p) {
				size_t vlen = eq ? (size_t)(stop - eq - 1) : 0;
				char *value = malloc(vlen + 1);
				int nl = http_url_decode(p, (size_t)(nend - p), name, sizeof name);
				int vl = value ? http_url_decode(eq ? eq + 1 : stop, vlen, value,
								 vlen + 1)
					       : -2;
				json_t *v = vl >= 0 ? json_stringn(value, (size_t)vl) : NULL;
				free(value);
				if (nl < 0 || !v) {
					json_decref(v);
					snprintf(err, errlen,
						 nl < 0 ? "form field name malformed or longer than %d bytes"
							: "form field value malformed or not UTF-8",
						 FLOW_MAX_FIELD_NAME);
					goto fail;
				}
				json_t *old = json_object_get(o, name);
				if (json_is_array(old)) {
					json_array_append_new(old, v);
				} else if (old) {
					json_t *a = json_pack("[O,o]", old, v);
					json_object_set_new(o, name, a);
				} else if (json_object_set_new(o, name, v) < 0) {
					snprintf(err, errlen, "form field name is not UTF-8");
					goto fail;
				}
				if (json_object_size(o) > FLOW_MAX_FIELDS)
					break;
			}
			p = stop + 1;
		}
	}
	if (json_object_size(o) > FLOW_MAX_FIELDS) {
		snprintf(err, errlen, "too many fields (at most %d)", FLOW_MAX_FIELDS);
		goto fail;
	}
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		if (strlen(k) > FLOW_MAX_FIELD_NAME || k[0] == '\0') {
			snprintf(err, errlen, "field names must be 1 to %d bytes",
				 FLOW_MAX_FIELD_NAME);
			goto fail;
		}
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}
