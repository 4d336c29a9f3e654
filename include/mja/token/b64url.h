/* b64url.h - strict base64url (RFC 4648 section 5, as RFC 7515 section 2 uses it).
 *
 * Strict means: only A-Z a-z 0-9 - _ ; no '=' padding; no whitespace;
 * input length mod 4 != 1; the unused low bits of the last character are
 * zero (canonical encoding, RFC 4648 3.5). Anything else is MJA_ERR_MALFORMED.
 * Nothing here allocates or relies on NUL termination.
 */
#ifndef MJA_B64URL_H
#define MJA_B64URL_H

#include <stddef.h>
#include "mja/util/error.h"

/* Upper bound of the decoded size of len input characters. */
size_t mja_b64url_decoded_max(size_t len);

/* Decode in[0..len) into out, which must have room for
 * mja_b64url_decoded_max(len) bytes. *outlen receives the decoded length
 * (0 on error). Returns MJA_OK or MJA_ERR_MALFORMED. */
mja_err mja_b64url_decode(const char *in, size_t len, unsigned char *out, size_t *outlen);

/* Exact encoded length (no padding) of len bytes. */
size_t mja_b64url_encoded_len(size_t len);

/* Encode in[0..len) into out, which must have room for
 * mja_b64url_encoded_len(len) + 1 bytes; out is NUL-terminated. */
void mja_b64url_encode(const unsigned char *in, size_t len, char *out);

#endif
