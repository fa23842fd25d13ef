/* wire: frame messages of the trial protocol. */
#include "trial/wire.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#define JSON_HEAD_MAX 96 /* {"frameId":N,"serverTime":0000000000000,"frame":" */
#define TIME_DIGITS 13   /* ms since 1970, zero-padded (until the year 2286) */
#define WIRE_FRAME_MAX (1u << 30) /* bytes of JPEG at most (base64 takes an int) */

size_t wire_base64(char *out, const uint8_t *in, size_t len)
{
	/* OpenSSL's encoder: fast, and not instrumented in the sanitizer build */
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

size_t wire_frame_max(size_t len, size_t extra_len, bool binary)
{
	if (len > WIRE_FRAME_MAX || extra_len > WIRE_FRAME_MAX)
		return 0;
	if (binary)
		return WIRE_BINARY_HEADER + len;
	return JSON_HEAD_MAX + 4 * ((len + 2) / 3) + extra_len + 2;
}

size_t wire_frame(unsigned char *out, bool binary, const uint8_t *jpeg, size_t len,
		  unsigned long long id, const char *extra, size_t *time_off)
{
	if (binary) {
		memset(out, 0, WIRE_BINARY_HEADER);
		out[0] = 1;
		for (int i = 0; i < 4; i++)
			out[4 + i] = (unsigned char)(id >> (8 * (3 - i)));
		memcpy(out + WIRE_BINARY_HEADER, jpeg, len);
		*time_off = 8;
		return WIRE_BINARY_HEADER + len;
	}
	char *p = (char *)out;
	int n = snprintf(p, JSON_HEAD_MAX, "{\"frameId\":%llu,\"serverTime\":0000000000000,\"frame\":\"",
			 id);
	*time_off = (size_t)n - (TIME_DIGITS + 10); /* the zeros before ,"frame":" */
	size_t pos = (size_t)n + wire_base64(p + n, jpeg, len);
	p[pos++] = '"';
	size_t xn = strlen(extra);
	memcpy(p + pos, extra, xn);
	pos += xn;
	p[pos++] = '}';
	return pos;
}

void wire_stamp(unsigned char *msg, size_t time_off, bool binary, long long wall_ms)
{
	unsigned char *p = msg + time_off;
	if (binary) {
		for (int i = 0; i < 8; i++)
			p[i] = (unsigned char)((unsigned long long)wall_ms >> (8 * (7 - i)));
		return;
	}
	for (int i = TIME_DIGITS - 1; i >= 0; i--) {
		p[i] = (unsigned char)('0' + wall_ms % 10);
		wall_ms /= 10;
	}
}
