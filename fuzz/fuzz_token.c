/* fuzz_token.c - the token path: mja_token_verify() with a fixed keyset
 * (an HS secret with kid "hs-1", and RSA, EC P-256 and Ed25519 keys from
 * fuzz/keys/public.jwks) and mja_token_decode_unverified().
 *
 * Three shapes of input, so that the checks behind the signature are
 * reached as well as the parser in front of it:
 *  - "{HEADER JSON}\0{PAYLOAD JSON}": the harness base64url-encodes both
 *    and signs them with the fixture HS256 secret (mutations then act on
 *    the JSON itself: claims, duplicates, UTF-8, numbers);
 *  - "header.payload" (one dot): the harness appends an HS256 signature;
 *  - anything else is verified as it is.
 * Every token is verified under two option sets (defaults with issuer and
 * audience; a strict allow-list, size cap and max_token_age).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "mja/token/alg.h"
#include "mja/token/b64url.h"
#include "mja/token/claims.h"
#include "mja/token/key.h"
#include "mja/token/sig.h"
#include "mja/token/token.h"
#include "fuzz_common.h"

static mja_keyset *keyset;
static mja_key *hs_key;

static const char *const issuers[] = { "https://issuer.example" };
static const char *const audiences[] = { "mqtt.example.com" };
static const char *const required[] = { "exp", "sub" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	mja_diag d = {0};
	size_t slen, jlen;
	char *secret = fuzz_read_fixture("hs.secret", &slen);
	char *jwks = fuzz_read_fixture("public.jwks", &jlen);

	keyset = mja_keyset_new();
	FUZZ_ASSERT(keyset != NULL);
	if (mja_keyset_add_secret(keyset, (const unsigned char *)secret, slen, "hs-1",
			"hs.secret", &d) != MJA_OK ||
	    mja_keyset_add_jwk_json(keyset, jwks, jlen, "public.jwks", &d) != MJA_OK ||
	    mja_key_from_secret((const unsigned char *)secret, slen, "hs-1", &hs_key, &d) != MJA_OK) {
		fprintf(stderr, "fuzz_token: fixture keys refused: %s\n", d.text);
		abort();
	}
	FUZZ_ASSERT(mja_keyset_count(keyset) == 4);
	free(secret);
	free(jwks);
	return 0;
}

/* Option set 0: defaults plus issuer and audience; 1: a strict allow-list,
 * a small size cap and max_token_age. */
static void pick_opts(int variant, mja_verify_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->claims.required = required;
	o->claims.n_required = 2;
	o->claims.leeway = 30;
	if (variant) {
		o->algorithms = MJA_ALG_SET_ALL & ~(MJA_ALG_BIT(MJA_ALG_HS384) |
			MJA_ALG_BIT(MJA_ALG_HS512) | MJA_ALG_BIT(MJA_ALG_PS512));
		o->max_token_bytes = 2048;
		o->claims.max_token_age = 7200;
	} else {
		o->claims.issuers = issuers;
		o->claims.n_issuers = 1;
		o->claims.audiences = audiences;
		o->claims.n_audiences = 1;
	}
}

/* The roles claim of an accepted token (issuer data, still untrusted in
 * shape): every role a NUL-free C string. */
static void roles(const json_t *payload, const char *path)
{
	char **r = NULL;
	size_t n = 0, i;

	if (mja_claims_roles(payload, path, &r, &n) != MJA_OK)
		return;
	FUZZ_ASSERT(n == 0 || r != NULL);
	for (i = 0; i < n; i++)
		FUZZ_ASSERT(r[i] != NULL);
	mja_claims_roles_free(r, n);
}

static void verify_one(const char *tok, size_t len, const mja_verify_opts *o)
{
	mja_token *t = (mja_token *)1;
	mja_err e = mja_token_verify(keyset, o, tok, len, MJA_FUZZ_NOW, &t);
	json_t *alg;

	/* MJA_FUZZ_DEBUG=1 fuzz_token FILE: say what became of each input. */
	if (getenv("MJA_FUZZ_DEBUG"))
		fprintf(stderr, "verify (%zu bytes): %s\n", len, e ? mja_strerror(e) : "accepted");

	if (e != MJA_OK) {
		FUZZ_ASSERT(t == NULL);
		FUZZ_ASSERT(e > MJA_OK && e < MJA_ERR__COUNT);
		return;
	}
	/* What an accepted token must satisfy (docs/design.md, "Token rules"). */
	FUZZ_ASSERT(t != NULL && json_is_object(t->header) && json_is_object(t->payload));
	FUZZ_ASSERT(len <= (o->max_token_bytes ? o->max_token_bytes : MJA_DEFAULT_MAX_TOKEN_BYTES));
	FUZZ_ASSERT(mja_token_looks_like_jwt(tok, len));
	FUZZ_ASSERT(json_object_get(t->header, "crit") == NULL);
	alg = json_object_get(t->header, "alg");
	FUZZ_ASSERT(json_is_string(alg) && strcmp(json_string_value(alg), mja_alg_name(t->alg)) == 0);
	FUZZ_ASSERT(o->algorithms == 0 || (o->algorithms & MJA_ALG_BIT(t->alg)));
	FUZZ_ASSERT(t->sub != NULL && mja_sub_valid(t->sub, strlen(t->sub)));
	FUZZ_ASSERT(t->has_exp && t->exp >= MJA_FUZZ_NOW - 30);
	roles(t->payload, "roles");
	roles(t->payload, "realm_access.roles");
	mja_token_free(t);
}

static void verify(const char *tok, size_t len)
{
	mja_verify_opts o;

	pick_opts(0, &o);
	verify_one(tok, len, &o);
	pick_opts(1, &o);
	verify_one(tok, len, &o);
}

static void decode_unverified(const char *tok, size_t len)
{
	json_t *h = (json_t *)1, *p = (json_t *)1;

	if (mja_token_decode_unverified(tok, len, &h, &p) == MJA_OK) {
		FUZZ_ASSERT(h != NULL && p != NULL);
		json_decref(h);
		json_decref(p);
	}
}

/* "header.payload" -> "header.payload.sig" with the fixture HS256 secret,
 * in a buffer of exactly the token's size (no NUL, so over-reads trap). */
static void verify_signed(const char *hp, size_t len)
{
	unsigned char *sig = NULL;
	size_t siglen = 0, slen;
	char *tok, *enc;

	if (mja_sig_sign(hs_key, MJA_ALG_HS256, (const unsigned char *)hp, len, &sig, &siglen) != MJA_OK)
		abort();
	slen = mja_b64url_encoded_len(siglen);
	enc = malloc(slen + 1);
	tok = malloc(len + 1 + slen);
	FUZZ_ASSERT(enc && tok);
	mja_b64url_encode(sig, siglen, enc);
	FUZZ_ASSERT(strlen(enc) == slen);
	memcpy(tok, hp, len);
	tok[len] = '.';
	memcpy(tok + len + 1, enc, slen);
	verify(tok, len + 1 + slen);
	decode_unverified(tok, len + 1 + slen);
	free(tok);
	free(enc);
	free(sig);
}

/* "{header}\0{payload}" -> base64url "header.payload", then signed. */
static void verify_json(const char *s, size_t size)
{
	const char *nul = memchr(s, '\0', size);
	size_t hlen = nul ? (size_t)(nul - s) : size;
	size_t plen = nul ? size - hlen - 1 : 0;
	size_t eh = mja_b64url_encoded_len(hlen), ep = mja_b64url_encoded_len(plen);
	char *hp = malloc(eh + 1 + ep + 1);

	FUZZ_ASSERT(hp != NULL);
	mja_b64url_encode((const unsigned char *)s, hlen, hp);
	hp[eh] = '.';
	mja_b64url_encode((const unsigned char *)s + hlen + (nul != NULL), plen, hp + eh + 1);
	verify_signed(hp, eh + 1 + ep);
	free(hp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *dot = memchr(s, '.', size);

	if (size > 0 && s[0] == '{')
		verify_json(s, size);
	else if (dot && !memchr(dot + 1, '.', size - (size_t)(dot + 1 - s)))
		verify_signed(s, size);
	verify(s, size);
	decode_unverified(s, size);
	return 0;
}
