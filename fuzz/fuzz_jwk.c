/* fuzz_jwk.c - key parsing: mja_keyset_add_jwk_json() and mja_keyset_add_pem()
 * on the same input, each into a fresh keyset, then every accepted key is
 * used: mja_key_fits() for each algorithm, mja_keyset_find() by kid and
 * without, and mja_sig_verify() of a wrong signature.
 *
 * Invariants (include/mja/token/key.h, sig.h): loading is all-or-nothing; a key
 * fits only the algorithms of its family; a garbage signature never
 * verifies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mja/token/alg.h"
#include "mja/token/key.h"
#include "mja/token/sig.h"
#include "fuzz_common.h"

static int family_ok(mja_kty kty, mja_alg a)
{
	switch (kty) {
	case MJA_KTY_OCT: return a <= MJA_ALG_HS512;
	case MJA_KTY_RSA: return a >= MJA_ALG_RS256 && a <= MJA_ALG_PS512;
	case MJA_KTY_EC:  return a >= MJA_ALG_ES256 && a <= MJA_ALG_ES512;
	case MJA_KTY_OKP: return a == MJA_ALG_EDDSA;
	}
	return 0;
}

static void use_key(const mja_keyset *ks, const mja_key *k)
{
	static const unsigned char msg[] = "e30.e30";
	unsigned char sig[132];
	const mja_key *found[8];
	const char *kid = mja_key_kid(k);
	size_t n;
	int a;

	FUZZ_ASSERT(mja_key_origin(k) != NULL);
	memset(sig, 0x5a, sizeof(sig));
	for (a = 0; a < MJA_ALG__COUNT; a++) {
		if (!mja_key_fits(k, (mja_alg)a))
			continue;
		FUZZ_ASSERT(family_ok(mja_key_type(k), (mja_alg)a));
		FUZZ_ASSERT(mja_keyset_algs(ks) & MJA_ALG_BIT(a));
		/* 64 bytes: the right size for ES256 and HS512, wrong for others. */
		FUZZ_ASSERT(mja_sig_verify(k, (mja_alg)a, msg, sizeof(msg) - 1, sig, 64) != MJA_OK);
		if (kid) {
			n = 0;
			FUZZ_ASSERT(mja_keyset_find(ks, (mja_alg)a, kid, strlen(kid), found, 8, &n) == MJA_OK);
			FUZZ_ASSERT(n >= 1 && n <= 8);
		}
		n = 0;
		FUZZ_ASSERT(mja_keyset_find(ks, (mja_alg)a, NULL, 0, found, 8, &n) == MJA_OK);
		FUZZ_ASSERT(n >= 1 && n <= 8);
	}
}

static void load(const char *s, size_t size, int pem)
{
	mja_keyset *ks = mja_keyset_new();
	mja_diag d = {0};
	mja_err e;
	size_t i;

	FUZZ_ASSERT(ks != NULL);
	e = pem ? mja_keyset_add_pem(ks, s, size, "fuzz", &d)
		: mja_keyset_add_jwk_json(ks, s, size, "fuzz", &d);
	FUZZ_ASSERT(memchr(d.text, '\0', sizeof(d.text)) != NULL);
	if (e != MJA_OK) {
		FUZZ_ASSERT(mja_keyset_count(ks) == 0);
		FUZZ_ASSERT(d.text[0] != '\0');
	}
	for (i = 0; i < mja_keyset_count(ks); i++)
		use_key(ks, mja_keyset_get(ks, i));
	mja_keyset_free(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	load((const char *)data, size, 0);
	load((const char *)data, size, 1);
	return 0;
}
