/* fuzz_b64url.c - strict base64url decoding and encoding (RFC 4648 5).
 *
 * Invariants: strict decoding is canonical, so encode(decode(x)) == x for
 * every accepted x; decode(encode(b)) == b for all bytes b; the decoded
 * size never exceeds mja_b64url_decoded_max().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mja/token/b64url.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max = mja_b64url_decoded_max(size), outlen = (size_t)-1, enclen, back;
	unsigned char *out = malloc(max ? max : 1), *round;
	char *enc;
	mja_err e;

	FUZZ_ASSERT(out != NULL);
	/* Decode the input as text. */
	e = mja_b64url_decode((const char *)data, size, out, &outlen);
	if (e == MJA_OK) {
		FUZZ_ASSERT(outlen <= max);
		enc = malloc(mja_b64url_encoded_len(outlen) + 1);
		FUZZ_ASSERT(enc != NULL);
		mja_b64url_encode(out, outlen, enc);
		FUZZ_ASSERT(mja_b64url_encoded_len(outlen) == size);
		FUZZ_ASSERT(memcmp(enc, data, size) == 0 && enc[size] == '\0');
		free(enc);
	} else {
		FUZZ_ASSERT(e == MJA_ERR_MALFORMED && outlen == 0);
	}
	free(out);

	/* Encode the input as bytes and decode it back. */
	enclen = mja_b64url_encoded_len(size);
	enc = malloc(enclen + 1);
	FUZZ_ASSERT(enc != NULL);
	mja_b64url_encode(data, size, enc);
	FUZZ_ASSERT(strlen(enc) == enclen);
	FUZZ_ASSERT(mja_b64url_decoded_max(enclen) >= size);
	round = malloc(mja_b64url_decoded_max(enclen) + 1);
	FUZZ_ASSERT(round != NULL);
	FUZZ_ASSERT(mja_b64url_decode(enc, enclen, round, &back) == MJA_OK);
	FUZZ_ASSERT(back == size && memcmp(round, data, size) == 0);
	free(round);
	free(enc);
	return 0;
}
