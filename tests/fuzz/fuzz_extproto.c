/* Fuzzes the external-process protocol decoder with the input split into
 * chunks whose sizes come from the input itself, then interprets every decoded
 * header as hello, step and frame replies. */
#include <stdint.h>
#include <stdlib.h>

#include "env/external_proto.h"

static void interpret(const struct xp_decoder *d)
{
	char err[160], info[256];
	const char *type;
	json_t *j = xp_parse_header(d->header, d->header_len, &type, err, sizeof err);
	if (!j)
		return;
	struct xp_env_info e;
	if (xp_env_info_parse(json_object_get(j, "env"), "x", &e, err, sizeof err) == 0) {
		json_t *back = xp_env_info_json(&e.info);
		json_decref(back);
		xp_env_info_free(&e);
	}
	double obs[8];
	xp_numbers(json_object_get(j, "observation"), obs, 8, err, sizeof err);
	struct xp_frame f;
	xp_frame_parse(j, d->payload_len, &f, err, sizeof err);
	xp_info_text(j, info, sizeof info, err, sizeof err);
	xp_error_text(j, err, sizeof err);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xp_decoder d;
	xp_decoder_init(&d, 4096, 4096);
	size_t chunk = size ? (size_t)data[0] % 17 + 1 : 1;
	size_t i = size ? 1 : 0;
	while (i < size) {
		size_t n = size - i < chunk ? size - i : chunk, used;
		int rc = xp_decode(&d, data + i, n, &used);
		if (rc < 0)
			break;
		if (rc == 1)
			interpret(&d);
		if (used == 0 && rc == 0)
			break;
		i += used;
	}
	xp_decoder_free(&d);
	return 0;
}
