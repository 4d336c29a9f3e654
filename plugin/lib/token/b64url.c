/* b64url.c - strict base64url without padding (RFC 4648 section 5, RFC 7515 section 2). */
#include <stdint.h>

#include "mja/token/b64url.h"

static const char enc_table[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 0..63 for the URL alphabet, 0xff for everything else (including '+',
 * '/', '=', whitespace and NUL: RFC 7515 2 forbids padding, line breaks and
 * whitespace; RFC 4648 5 replaces '+' and '/' by '-' and '_'). */
#define X 0xff
static const uint8_t dec_table[256] = {
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, 62, X, X,          /* '-' */
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X, /* 0-9 */
	X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,      /* A-O */
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, 63, /* P-Z, '_' */
	X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, /* a-o */
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X, /* p-z */
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef X

size_t mja_b64url_decoded_max(size_t len)
{
	/* Cannot overflow: the result is at most 3/4 of len. */
	return len / 4 * 3 + (len % 4) * 3 / 4;
}

size_t mja_b64url_encoded_len(size_t len)
{
	static const size_t tail[3] = { 0, 2, 3 };

	return len / 3 * 4 + tail[len % 3];
}

mja_err mja_b64url_decode(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t full = len / 4, rem = len % 4, o = 0;
	uint8_t v[4];

	if (outlen)
		*outlen = 0;
	if (!outlen || (len && (!in || !out)))
		return MJA_ERR_INVAL;
	/* RFC 4648 5 / RFC 7515 2: one leftover character cannot encode a byte. */
	if (rem == 1)
		return MJA_ERR_MALFORMED;
	for (size_t g = 0; g < full; g++, p += 4) {
		v[0] = dec_table[p[0]];
		v[1] = dec_table[p[1]];
		v[2] = dec_table[p[2]];
		v[3] = dec_table[p[3]];
		if ((v[0] | v[1] | v[2] | v[3]) & 0xc0)
			return MJA_ERR_MALFORMED;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		out[o++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
		out[o++] = (unsigned char)(v[2] << 6 | v[3]);
	}
	if (rem) {
		v[0] = dec_table[p[0]];
		v[1] = dec_table[p[1]];
		v[2] = rem == 3 ? dec_table[p[2]] : 0;
		if ((v[0] | v[1] | v[2]) & 0xc0)
			return MJA_ERR_MALFORMED;
		/* RFC 4648 3.5: the pad bits of the last character must be
		 * zero, so every byte string has exactly one encoding. */
		if (rem == 2 ? (v[1] & 0x0f) : (v[2] & 0x03))
			return MJA_ERR_MALFORMED;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (rem == 3)
			out[o++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
	}
	*outlen = o;
	return MJA_OK;
}

void mja_b64url_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i = 0, o = 0;

	for (; len - i >= 3; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = enc_table[w >> 18 & 63];
		out[o++] = enc_table[w >> 12 & 63];
		out[o++] = enc_table[w >> 6 & 63];
		out[o++] = enc_table[w & 63];
	}
	if (len - i == 1) {
		out[o++] = enc_table[in[i] >> 2];
		out[o++] = enc_table[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t w = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = enc_table[w >> 10 & 63];
		out[o++] = enc_table[w >> 4 & 63];
		out[o++] = enc_table[(w & 15) << 2];
	}
	out[o] = '\0';
}
