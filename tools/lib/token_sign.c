/* token_sign.c - build and sign a compact JWS (RFC 7515 7.1). Only
 * `mosquitto_jwt`, the tests and the benchmarks sign: this file is in the
 * mja_tool library, never in the plugin.
 */
#include <stdlib.h>
#include <string.h>

#include "mja/token/b64url.h"
#include "mja/token/sig.h"
#include "mja/token/token.h"

/* Base64url of a JSON value's compact serialisation, malloc'd. */
static char *encode_json(const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT), *enc;
	size_t n;

	if (!text)
		return NULL;
	n = strlen(text);
	enc = malloc(mja_b64url_encoded_len(n) + 1);
	if (enc)
		mja_b64url_encode((const unsigned char *)text, n, enc);
	free(text);
	return enc;
}

mja_err mja_token_sign(const mja_key *k, mja_alg alg, const json_t *header_extra,
		const json_t *payload, char **out)
{
	json_t *header = NULL;
	char *h64 = NULL, *p64 = NULL, *input = NULL, *res = NULL;
	unsigned char *sig = NULL;
	size_t hl, pl, siglen = 0, sl;
	mja_err e = MJA_ERR_NOMEM;

	if (out)
		*out = NULL;
	if (!k || !out || !json_is_object(payload) || (int)alg < 0 || alg >= MJA_ALG__COUNT ||
			(header_extra && !json_is_object(header_extra)))
		return MJA_ERR_INVAL;
	/* the algorithm is what we sign with: the caller may not relabel it */
	if (header_extra && json_object_get(header_extra, "alg"))
		return MJA_ERR_INVAL;
	header = json_pack("{s:s, s:s}", "alg", mja_alg_name(alg), "typ", "JWT");
	if (!header)
		goto out;
	if (mja_key_kid(k) && json_object_set_new(header, "kid", json_string(mja_key_kid(k))))
		goto out;
	if (header_extra && json_object_update(header, (json_t *)header_extra))
		goto out;
	h64 = encode_json(header);
	p64 = encode_json(payload);
	if (!h64 || !p64)
		goto out;
	hl = strlen(h64);
	pl = strlen(p64);
	input = malloc(hl + 1 + pl + 1);
	if (!input)
		goto out;
	memcpy(input, h64, hl);
	input[hl] = '.';
	memcpy(input + hl + 1, p64, pl + 1);
	e = mja_sig_sign(k, alg, (const unsigned char *)input, hl + 1 + pl, &sig, &siglen);
	if (e != MJA_OK)
		goto out;
	e = MJA_ERR_NOMEM;
	sl = mja_b64url_encoded_len(siglen);
	res = malloc(hl + 1 + pl + 1 + sl + 1);
	if (!res)
		goto out;
	memcpy(res, input, hl + 1 + pl);
	res[hl + 1 + pl] = '.';
	mja_b64url_encode(sig, siglen, res + hl + 1 + pl + 1);
	*out = res;
	e = MJA_OK;
out:
	json_decref(header);
	free(h64);
	free(p64);
	free(input);
	free(sig);
	return e;
}
