/* alg.c - JWS algorithm names (RFC 7518 section 3.1, RFC 8037 section 3.1). */
#include <string.h>

#include "mja/token/alg.h"
#include "mja/util/text.h"

/* Indexed by mja_alg: exactly the "alg" Header Parameter Values of RFC 7518
 * 3.1 that this project implements, and "EdDSA" of RFC 8037 3.1. */
static const mja_alg_info table[MJA_ALG__COUNT] = {
	/* RFC 7518 3.2: the MAC is the full hash; a secret of at least the hash size */
	[MJA_ALG_HS256] = { "HS256", MJA_FAMILY_HMAC, MJA_KTY_OCT, MJA_DIGEST_SHA256, "SHA256", 32, 32, 32, 0, 0, NULL, 0 },
	[MJA_ALG_HS384] = { "HS384", MJA_FAMILY_HMAC, MJA_KTY_OCT, MJA_DIGEST_SHA384, "SHA384", 48, 48, 48, 0, 0, NULL, 0 },
	[MJA_ALG_HS512] = { "HS512", MJA_FAMILY_HMAC, MJA_KTY_OCT, MJA_DIGEST_SHA512, "SHA512", 64, 64, 64, 0, 0, NULL, 0 },
	/* RFC 7518 3.3, 3.5: the signature is the modulus size; 2048 bits or more */
	[MJA_ALG_RS256] = { "RS256", MJA_FAMILY_RSA_PKCS1, MJA_KTY_RSA, MJA_DIGEST_SHA256, "SHA256", 32, 0, 0,
		MJA_RSA_MIN_BITS, MJA_RSA_MAX_BITS, NULL, 0 },
	[MJA_ALG_RS384] = { "RS384", MJA_FAMILY_RSA_PKCS1, MJA_KTY_RSA, MJA_DIGEST_SHA384, "SHA384", 48, 0, 0,
		MJA_RSA_MIN_BITS, MJA_RSA_MAX_BITS, NULL, 0 },
	[MJA_ALG_RS512] = { "RS512", MJA_FAMILY_RSA_PKCS1, MJA_KTY_RSA, MJA_DIGEST_SHA512, "SHA512", 64, 0, 0,
		MJA_RSA_MIN_BITS, MJA_RSA_MAX_BITS, NULL, 0 },
	[MJA_ALG_PS256] = { "PS256", MJA_FAMILY_RSA_PSS, MJA_KTY_RSA, MJA_DIGEST_SHA256, "SHA256", 32, 0, 0,
		MJA_RSA_MIN_BITS, MJA_RSA_MAX_BITS, NULL, 0 },
	[MJA_ALG_PS384] = { "PS384", MJA_FAMILY_RSA_PSS, MJA_KTY_RSA, MJA_DIGEST_SHA384, "SHA384", 48, 0, 0,
		MJA_RSA_MIN_BITS, MJA_RSA_MAX_BITS, NULL, 0 },
	[MJA_ALG_PS512] = { "PS512", MJA_FAMILY_RSA_PSS, MJA_KTY_RSA, MJA_DIGEST_SHA512, "SHA512", 64, 0, 0,
		MJA_RSA_MIN_BITS, MJA_RSA_MAX_BITS, NULL, 0 },
	/* RFC 7518 3.4: one curve per algorithm; R||S of twice the coordinate size */
	[MJA_ALG_ES256] = { "ES256", MJA_FAMILY_ECDSA, MJA_KTY_EC, MJA_DIGEST_SHA256, "SHA256", 32, 64, 0,
		256, 256, "P-256", 32 },
	[MJA_ALG_ES384] = { "ES384", MJA_FAMILY_ECDSA, MJA_KTY_EC, MJA_DIGEST_SHA384, "SHA384", 48, 96, 0,
		384, 384, "P-384", 48 },
	[MJA_ALG_ES512] = { "ES512", MJA_FAMILY_ECDSA, MJA_KTY_EC, MJA_DIGEST_SHA512, "SHA512", 64, 132, 0,
		521, 521, "P-521", 66 },
	/* RFC 8037 3.1, RFC 8032 5.1: pure Ed25519, 32-byte keys, 64-byte signatures */
	[MJA_ALG_EDDSA] = { "EdDSA", MJA_FAMILY_EDDSA, MJA_KTY_OKP, MJA_DIGEST_NONE, NULL, 0, 64, 0,
		256, 256, "Ed25519", 32 },
};

const mja_alg_info *mja_alg_info_of(mja_alg a)
{
	if ((int)a < 0 || a >= MJA_ALG__COUNT)
		return NULL;
	return &table[a];
}

int mja_alg_by_curve(const char *crv, size_t len)
{
	if (!crv)
		return -1;
	for (int a = 0; a < MJA_ALG__COUNT; a++)
		if (table[a].family == MJA_FAMILY_ECDSA && strlen(table[a].curve) == len &&
		    memcmp(table[a].curve, crv, len) == 0)
			return a;
	return -1;
}

mja_err mja_alg_from_name(const char *name, size_t len, mja_alg *out)
{
	if (!name || !out)
		return MJA_ERR_INVAL;
	/* RFC 7515 4.1.1: case-sensitive; "none" (RFC 7518 3.6) is not in the
	 * table, so it can never be looked up here. An embedded NUL cannot
	 * match because the names contain none and the lengths must agree. */
	for (int a = 0; a < MJA_ALG__COUNT; a++) {
		if (strlen(table[a].name) == len && memcmp(table[a].name, name, len) == 0) {
			*out = (mja_alg)a;
			return MJA_OK;
		}
	}
	return MJA_ERR_ALG_NOT_ALLOWED;
}

const char *mja_alg_name(mja_alg a)
{
	if ((int)a < 0 || a >= MJA_ALG__COUNT)
		return "?";
	return table[a].name;
}

static int is_sep(char c)
{
	return c == ',' || mja_text_is_blank((unsigned char)c);
}

static int is_none(const char *s, size_t len)
{
	static const char none[] = "none";

	if (len != sizeof(none) - 1)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != none[i])
			return 0;
	}
	return 1;
}

mja_err mja_alg_set_parse(const char *list, size_t len, mja_alg_set *out, mja_diag *d)
{
	mja_alg_set set = 0;
	size_t i = 0;

	if (!out)
		return MJA_ERR_INVAL;
	*out = 0;
	if (!list && len)
		return MJA_ERR_INVAL;
	while (i < len) {
		size_t start;
		mja_alg a;

		while (i < len && is_sep(list[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !is_sep(list[i]))
			i++;
		/* RFC 8725 3.1: "none" is never accepted, in any case. */
		if (is_none(list + start, i - start)) {
			mja_diag_set(d, "algorithm \"none\" is never accepted");
			return MJA_ERR_CONFIG;
		}
		if (mja_alg_from_name(list + start, i - start, &a) != MJA_OK) {
			char shown[72];

			/* escaped and bounded (text.h) */
			mja_text_printable(list + start, i - start, shown, sizeof(shown));
			mja_diag_set(d, "unknown algorithm \"%s\"", shown);
			return MJA_ERR_CONFIG;
		}
		set |= MJA_ALG_BIT(a);
	}
	if (set == 0) {
		mja_diag_set(d, "empty algorithm list");
		return MJA_ERR_CONFIG;
	}
	*out = set;
	return MJA_OK;
}
