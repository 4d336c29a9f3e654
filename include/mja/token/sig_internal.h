/* sig_internal.h - what verification (sig.c) and signing (sig_sign.c, in
 * the mja_tool library) share. Internal: only those files include it.
 */
#ifndef MJA_SIG_INTERNAL_H
#define MJA_SIG_INTERNAL_H

#include <stddef.h>
#include "mja/token/alg.h"
#include "mja/util/error.h"
#include "mja/token/key.h"

/* HMAC (RFC 2104, RFC 7518 3.2) of in under the oct key k from its
 * prepared digest states; out has room for EVP_MAX_MD_SIZE bytes, *outlen
 * gets the hash size. MJA_ERR_INTERNAL for a key without those states. */
mja_err mja_sig__hmac(const mja_key *k, mja_alg alg, const unsigned char *in, size_t inlen,
		unsigned char *out, size_t *outlen);

#endif
