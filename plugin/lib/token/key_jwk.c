/* key_jwk.c - JWK and JWKS parsing (RFC 7517, RFC 7518 section 6, RFC 8037).
 *
 * Keys are built with OSSL_PARAM_BLD + EVP_PKEY_fromdata and then checked
 * by mja_key__adopt_pkey() (size, curve, point on curve).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "mja/token/b64url.h"
#include "mja/util/text.h"
#include "mja/token/key_internal.h"

/* A decoded base64url member; private ones are scrubbed. */
struct blob {
	unsigned char *p;
	size_t len;
};

static void blob_free(struct blob *b)
{
	if (b->p) {
		OPENSSL_cleanse(b->p, b->len);
		free(b->p);
	}
	b->p = NULL;
	b->len = 0;
}

/* Parser state for one key: where it is, for diagnostics. */
struct jctx {
	const char *origin;
	char where[160];   /* "" or "key 2 (kid \"a\"): " */
	mja_diag *d;
};

static mja_err jfail(struct jctx *c, mja_err e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static mja_err jfail(struct jctx *c, mja_err e, const char *fmt, ...)
{
	char reason[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return mja_key__fail(c->d, e, c->origin, "%s%s", c->where, reason);
}

/* Member name's string value, or NULL if absent; *bad on wrong type. */
static const char *get_str(json_t *o, const char *name, size_t *len, int *bad)
{
	json_t *v = json_object_get(o, name);

	*len = 0;
	if (!v)
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

/* Decode member name (base64url, RFC 7518 6: Base64urlUInt etc.). */
static mja_err get_b64(struct jctx *c, json_t *o, const char *name, int required,
		struct blob *out)
{
	int bad = 0;
	size_t len;
	const char *s = get_str(o, name, &len, &bad);

	out->p = NULL;
	out->len = 0;
	if (bad)
		return jfail(c, MJA_ERR_KEY, "member \"%s\" is not a string", name);
	if (!s) {
		if (required)
			return jfail(c, MJA_ERR_KEY, "missing member \"%s\"", name);
		return MJA_OK;
	}
	if (len == 0)
		return jfail(c, MJA_ERR_KEY, "member \"%s\" is empty", name);
	out->p = malloc(mja_b64url_decoded_max(len) + 1);
	if (!out->p)
		return jfail(c, MJA_ERR_NOMEM, "out of memory");
	if (mja_b64url_decode(s, len, out->p, &out->len) != MJA_OK) {
		blob_free(out);
		return jfail(c, MJA_ERR_KEY, "bad base64url in \"%s\"", name);
	}
	return MJA_OK;
}

static int has(json_t *o, const char *name)
{
	return json_object_get(o, name) != NULL;
}

/* Private members by kty (RFC 7518 6.2.2, 6.3.2; RFC 8037 2). */
static int has_private_members(json_t *o, const char *kty)
{
	static const char *const rsa[] = { "d", "p", "q", "dp", "dq", "qi", "oth" };
	size_t i;

	if (strcmp(kty, "RSA") == 0) {
		for (i = 0; i < sizeof(rsa) / sizeof(rsa[0]); i++)
			if (has(o, rsa[i]))
				return 1;
		return 0;
	}
	return has(o, "d");
}

/* Build a key from params. selection: EVP_PKEY_PUBLIC_KEY or EVP_PKEY_KEYPAIR. */
static EVP_PKEY *fromdata(const char *type, OSSL_PARAM_BLD *bld, int selection)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
		if (EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
			pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params); /* OpenSSL 3.0 has no OSSL_PARAM_clear_free */
	return pkey;
}

static int push_bn(OSSL_PARAM_BLD *bld, const char *key, const struct blob *b, BIGNUM **keep)
{
	BIGNUM *bn = BN_bin2bn(b->p, (int)b->len, NULL);

	if (!bn)
		return 0;
	if (!OSSL_PARAM_BLD_push_BN(bld, key, bn)) {
		BN_clear_free(bn);
		return 0;
	}
	*keep = bn; /* the builder copies the value at to_param time */
	return 1;
}

/* d (and p, q, ...) must belong to n, e: a signature made with the key
 * verifies with it. Works with or without the CRT members. */
static int rsa_self_test(EVP_PKEY *pkey)
{
	static const unsigned char msg[] = "mja RSA key self-test";
	unsigned char sig[MJA_RSA_MAX_BITS / 8];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_PKEY_get_size(pkey) > 0 && (size_t)EVP_PKEY_get_size(pkey) <= sizeof(sig) &&
		EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		EVP_DigestSign(c, sig, &siglen, msg, sizeof(msg) - 1) == 1 &&
		EVP_MD_CTX_reset(c) == 1 &&
		EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		EVP_DigestVerify(c, sig, siglen, msg, sizeof(msg) - 1) == 1;

	EVP_MD_CTX_free(c);
	ERR_clear_error();
	return ok;
}

/* RFC 7518 6.3: RSA n, e (and d, p, q, dp, dq, qi for a private key). */
static mja_err jwk_rsa(struct jctx *c, json_t *o, int priv, EVP_PKEY **out)
{
	static const char *const names[8] = { "n", "e", "d", "p", "q", "dp", "dq", "qi" };
	static const char *const params[8] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	struct blob b[8] = { { 0 } };
	BIGNUM *bn[8] = { 0 };
	OSSL_PARAM_BLD *bld = NULL;
	mja_err e = MJA_OK;
	int i, nparts = priv ? 8 : 2, crt = 0;

	*out = NULL;
	for (i = 0; i < nparts && e == MJA_OK; i++)
		e = get_b64(c, o, names[i], i < 3, &b[i]);
	if (e != MJA_OK)
		goto out;
	if (priv) {
		/* RFC 7518 6.3.2: p, q, dp, dq, qi all or none; oth unsupported */
		for (i = 3; i < 8; i++)
			crt += b[i].p != NULL;
		if (crt != 0 && crt != 5) {
			e = jfail(c, MJA_ERR_KEY, "RSA private key needs all of p, q, dp, dq, qi or none");
			goto out;
		}
		if (has(o, "oth")) {
			e = jfail(c, MJA_ERR_KEY, "multi-prime RSA keys (\"oth\") are not supported");
			goto out;
		}
		if (crt == 0)
			nparts = 3;
	}
	for (i = 0; i < nparts; i++)
		if (b[i].len > MJA_RSA_MAX_BITS / 8 + 1) {
			e = jfail(c, MJA_ERR_KEY, "RSA member \"%s\" is too long", names[i]);
			goto out;
		}
	bld = OSSL_PARAM_BLD_new();
	if (!bld) {
		e = jfail(c, MJA_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nparts; i++)
		if (!push_bn(bld, params[i], &b[i], &bn[i])) {
			e = jfail(c, MJA_ERR_INTERNAL, "cannot build RSA key");
			goto out;
		}
	*out = fromdata("RSA", bld, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
	if (!*out)
		e = jfail(c, MJA_ERR_KEY, "invalid RSA key");
	else if (priv && !rsa_self_test(*out)) {
		EVP_PKEY_free(*out);
		*out = NULL;
		e = jfail(c, MJA_ERR_KEY, "RSA private key does not match its public key");
	}
out:
	OSSL_PARAM_BLD_free(bld);
	for (i = 0; i < 8; i++) {
		BN_clear_free(bn[i]);
		blob_free(&b[i]);
	}
	return e;
}

/* RFC 7518 6.2: EC crv, x, y (and d). */
static mja_err jwk_ec(struct jctx *c, json_t *o, int priv, EVP_PKEY **out)
{
	struct blob x = { 0 }, y = { 0 }, dd = { 0 };
	unsigned char point[1 + 2 * 66];
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *dbn = NULL;
	const char *crv, *group;
	size_t clen, crvlen;
	char shown[40];
	mja_err e;
	int bad = 0, es;

	*out = NULL;
	crv = get_str(o, "crv", &crvlen, &bad);
	if (bad || !crv)
		return jfail(c, MJA_ERR_KEY, "missing or non-string \"crv\"");
	/* RFC 7518 6.2.1.1: the curves of alg.h's table */
	es = mja_alg_by_curve(crv, crvlen);
	if (es < 0) {
		mja_text_printable(crv, crvlen, shown, sizeof(shown));
		return jfail(c, MJA_ERR_KEY, "unsupported curve %s", shown);
	}
	group = mja_alg_info_of((mja_alg)es)->curve;
	clen = mja_alg_info_of((mja_alg)es)->coord_len;
	e = get_b64(c, o, "x", 1, &x);
	if (e == MJA_OK)
		e = get_b64(c, o, "y", 1, &y);
	if (e == MJA_OK && priv)
		e = get_b64(c, o, "d", 1, &dd);
	if (e != MJA_OK)
		goto out;
	/* RFC 7518 6.2.1.2/6.2.1.3: x and y are the full coordinate size;
	 * 6.2.2.1: so is d */
	if (x.len != clen || y.len != clen || (priv && dd.len != clen)) {
		e = jfail(c, MJA_ERR_KEY, "%s coordinates must be %zu bytes each", group, clen);
		goto out;
	}
	point[0] = 0x04; /* SEC 1 2.3.3 uncompressed point */
	memcpy(point + 1, x.p, clen);
	memcpy(point + 1 + clen, y.p, clen);
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * clen) ||
	    (priv && !push_bn(bld, OSSL_PKEY_PARAM_PRIV_KEY, &dd, &dbn))) {
		e = jfail(c, MJA_ERR_INTERNAL, "cannot build EC key");
		goto out;
	}
	*out = fromdata("EC", bld, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
	if (!*out)
		e = jfail(c, MJA_ERR_KEY, "EC point is not on curve %s", group);
	else if (priv) {
		/* d must belong to (x, y) */
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
		int ok = pc && EVP_PKEY_pairwise_check(pc) == 1;

		EVP_PKEY_CTX_free(pc);
		if (!ok) {
			EVP_PKEY_free(*out);
			*out = NULL;
			e = jfail(c, MJA_ERR_KEY, "EC private key does not match its public key");
		}
	}
out:
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(dbn);
	blob_free(&x);
	blob_free(&y);
	blob_free(&dd);
	return e;
}

/* RFC 8037 2: OKP crv, x (and d); Ed25519 only. */
static mja_err jwk_okp(struct jctx *c, json_t *o, int priv, EVP_PKEY **out)
{
	const mja_alg_info *ed = mja_alg_info_of(MJA_ALG_EDDSA);
	struct blob x = { 0 }, dd = { 0 };
	OSSL_PARAM_BLD *bld = NULL;
	const char *crv;
	size_t crvlen;
	char shown[40];
	mja_err e;
	int bad = 0;

	*out = NULL;
	crv = get_str(o, "crv", &crvlen, &bad);
	if (bad || !crv)
		return jfail(c, MJA_ERR_KEY, "missing or non-string \"crv\"");
	mja_text_printable(crv, crvlen, shown, sizeof(shown));
	if ((crvlen == 6 && memcmp(crv, "X25519", 6) == 0) ||
	    (crvlen == 4 && memcmp(crv, "X448", 4) == 0))
		return jfail(c, MJA_ERR_KEY,
				"curve %s is for key agreement, not signatures (Ed25519 only)", shown);
	if (!(crvlen == strlen(ed->curve) && memcmp(crv, ed->curve, crvlen) == 0))
		return jfail(c, MJA_ERR_KEY, "unsupported curve %s (Ed25519 only)", shown);
	e = get_b64(c, o, "x", 1, &x);
	if (e == MJA_OK && priv)
		e = get_b64(c, o, "d", 1, &dd);
	if (e != MJA_OK)
		goto out;
	/* RFC 8032 5.1.5: 32-byte keys */
	if (x.len != ed->coord_len || (priv && dd.len != ed->coord_len)) {
		e = jfail(c, MJA_ERR_KEY, "Ed25519 keys are 32 bytes");
		goto out;
	}
	if (priv) {
		/* derive the public key from d and require it to equal x */
		unsigned char pub[32];
		size_t plen = sizeof(pub);

		*out = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, dd.p, dd.len);
		if (!*out || !EVP_PKEY_get_raw_public_key(*out, pub, &plen) || plen != 32 ||
		    memcmp(pub, x.p, 32) != 0) {
			EVP_PKEY_free(*out);
			*out = NULL;
			e = jfail(c, MJA_ERR_KEY, "Ed25519 private key does not match its public key");
		}
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, x.p, x.len)) {
		e = jfail(c, MJA_ERR_INTERNAL, "cannot build Ed25519 key");
		goto out;
	}
	*out = fromdata("ED25519", bld, EVP_PKEY_PUBLIC_KEY);
	if (!*out)
		e = jfail(c, MJA_ERR_KEY, "invalid Ed25519 key");
out:
	OSSL_PARAM_BLD_free(bld);
	blob_free(&x);
	blob_free(&dd);
	return e;
}

/* RFC 7517 4.2 - 4.4: use, key_ops, alg restrict what a key may do. */
static mja_err jwk_restrictions(struct jctx *c, json_t *o, mja_key *k)
{
	json_t *ops = json_object_get(o, "key_ops");
	const char *s;
	size_t len, i, j;
	int bad = 0;

	s = get_str(o, "use", &len, &bad);
	if (bad)
		return jfail(c, MJA_ERR_KEY, "\"use\" is not a string");
	if (s && !(len == 3 && memcmp(s, "sig", 3) == 0))
		k->use_other = 1; /* e.g. "enc": not for us, but not an error */

	if (ops) {
		if (!json_is_array(ops))
			return jfail(c, MJA_ERR_KEY, "\"key_ops\" is not an array");
		k->has_ops = 1;
		for (i = 0; i < json_array_size(ops); i++) {
			json_t *v = json_array_get(ops, i);

			if (!json_is_string(v))
				return jfail(c, MJA_ERR_KEY, "\"key_ops\" holds a non-string");
			/* RFC 7517 4.3: duplicate values MUST NOT be present */
			for (j = 0; j < i; j++)
				if (json_equal(v, json_array_get(ops, j)))
					return jfail(c, MJA_ERR_KEY, "duplicate value in \"key_ops\"");
			if (strcmp(json_string_value(v), "verify") == 0 &&
			    json_string_length(v) == 6)
				k->ops_verify = 1;
			else if (strcmp(json_string_value(v), "sign") == 0 &&
			    json_string_length(v) == 4)
				k->ops_sign = 1;
		}
	}

	s = get_str(o, "alg", &len, &bad);
	if (bad)
		return jfail(c, MJA_ERR_KEY, "\"alg\" is not a string");
	if (s) {
		mja_alg a;

		k->alg_pinned = 1;
		/* an alg we do not implement (RSA-OAEP, none, ...) pins the key
		 * to nothing: unusable, not an error */
		k->alg_pin = mja_alg_from_name(s, len, &a) == MJA_OK ? MJA_ALG_BIT(a) : 0;
	}
	return MJA_OK;
}

static mja_err jwk_one(struct jctx *c, json_t *o, int mode, mja_key **out)
{
	const char *kty, *kid;
	size_t ktylen, kidlen;
	char reason[200], shown[40];
	EVP_PKEY *pkey = NULL;
	mja_key *k;
	mja_err e;
	int bad = 0, priv;

	*out = NULL;
	if (!json_is_object(o))
		return jfail(c, MJA_ERR_KEY, "not a JSON object");
	kty = get_str(o, "kty", &ktylen, &bad);
	if (bad || !kty)
		return jfail(c, MJA_ERR_KEY, "missing or non-string \"kty\"");
	kid = get_str(o, "kid", &kidlen, &bad);
	if (bad)
		return jfail(c, MJA_ERR_KEY, "\"kid\" is not a string");
	if (kid && memchr(kid, '\0', kidlen))
		return jfail(c, MJA_ERR_KEY, "\"kid\" contains NUL");
	if (memchr(kty, '\0', ktylen))
		return jfail(c, MJA_ERR_KEY, "bad \"kty\"");

	k = mja_key__new(MJA_KTY_OCT, c->origin);
	if (!k)
		return jfail(c, MJA_ERR_NOMEM, "out of memory");
	if (strcmp(kty, "oct") == 0) {
		struct blob s = { 0 };

		/* RFC 7518 6.4: k; secrets are keys by nature, so allowed in
		 * key files; RFC 7518 3.2: at least 256 bits */
		e = get_b64(c, o, "k", 1, &s);
		if (e == MJA_OK && s.len < MJA_SECRET_MIN)
			e = jfail(c, MJA_ERR_KEY, "secret of %zu bytes is too short (at least %d bytes, RFC 7518 3.2)",
					s.len, MJA_SECRET_MIN);
		if (e == MJA_OK && (e = mja_key__set_secret(k, s.p, s.len)) != MJA_OK)
			e = jfail(c, e, "%s", mja_strerror(e));
		blob_free(&s);
		priv = 1;
	} else if (strcmp(kty, "RSA") == 0 || strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0) {
		priv = has_private_members(o, kty);
		if (mode == MJA_JWK_PUBLIC && priv)
			e = jfail(c, MJA_ERR_KEY,
					"contains private key material; give the public key only");
		else if (mode == MJA_JWK_PRIVATE && !priv)
			e = jfail(c, MJA_ERR_KEY, "not a private key (no \"d\")");
		else if (kty[0] == 'R')
			e = jwk_rsa(c, o, priv, &pkey);
		else if (kty[0] == 'E')
			e = jwk_ec(c, o, priv, &pkey);
		else
			e = jwk_okp(c, o, priv, &pkey);
		if (e == MJA_OK && (e = mja_key__adopt_pkey(k, pkey, reason, sizeof(reason))) != MJA_OK)
			e = jfail(c, e, "%s", reason);
	} else {
		mja_text_printable(kty, ktylen, shown, sizeof(shown));
		e = jfail(c, MJA_ERR_KEY, "unsupported kty %s", shown);
		priv = 0;
	}
	if (e == MJA_OK)
		e = jwk_restrictions(c, o, k);
	if (e == MJA_OK && kid && mja_key__set_kid(k, kid, kidlen) != MJA_OK)
		e = jfail(c, MJA_ERR_NOMEM, "out of memory");
	if (e != MJA_OK) {
		mja_key_free(k);
		return e;
	}
	k->is_private = mode == MJA_JWK_PRIVATE && priv;
	*out = k;
	return MJA_OK;
}

/* Scrub the text of private members held by jansson before freeing. */
static void scrub_json(json_t *o)
{
	static const char *const secret[] = { "k", "d", "p", "q", "dp", "dq", "qi" };
	size_t i;

	if (!json_is_object(o))
		return;
	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		json_t *v = json_object_get(o, secret[i]);

		if (json_is_string(v))
			OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
	}
}

mja_err mja_jwk__parse(const char *buf, size_t len, int mode, const char *origin,
		struct mja_keylist *out, mja_diag *d)
{
	struct jctx c = { .origin = origin ? origin : "memory", .d = d };
	json_error_t jerr;
	json_t *root, *keys;
	mja_err e = MJA_OK;
	size_t i;

	/* RFC 7517 4 / RFC 8259 4: duplicate member names refused */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return mja_key__fail(d, MJA_ERR_KEY, c.origin, "invalid JSON at line %d: %s",
				jerr.line, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return mja_key__fail(d, MJA_ERR_KEY, c.origin, "not a JWK or JWKS object");
	}
	keys = json_object_get(root, "keys");
	if (!keys) {
		/* a single JWK */
		mja_key *k;

		e = jwk_one(&c, root, mode, &k);
		if (e == MJA_OK && (e = mja_keylist__push(out, k)) != MJA_OK)
			e = jfail(&c, e, "out of memory");
		scrub_json(root);
		json_decref(root);
		return e;
	}
	/* RFC 7517 5.1: "keys" is an array of JWKs */
	if (!json_is_array(keys)) {
		json_decref(root);
		return mja_key__fail(d, MJA_ERR_KEY, c.origin, "\"keys\" is not an array");
	}
	if (json_array_size(keys) == 0) {
		json_decref(root);
		return mja_key__fail(d, MJA_ERR_KEY, c.origin, "JWKS has no keys");
	}
	for (i = 0; i < json_array_size(keys) && e == MJA_OK; i++) {
		json_t *o = json_array_get(keys, i);
		json_t *kid = json_object_get(o, "kid");
		mja_key *k;

		if (json_is_string(kid)) {
			char shown[64];

			mja_text_printable(json_string_value(kid), json_string_length(kid),
					shown, sizeof(shown));
			snprintf(c.where, sizeof(c.where), "key %zu (kid \"%s\"): ", i + 1, shown);
		} else {
			snprintf(c.where, sizeof(c.where), "key %zu: ", i + 1);
		}
		e = jwk_one(&c, o, mode, &k);
		if (e == MJA_OK && (e = mja_keylist__push(out, k)) != MJA_OK)
			e = jfail(&c, e, "out of memory");
	}
	for (i = 0; i < json_array_size(keys); i++)
		scrub_json(json_array_get(keys, i));
	json_decref(root);
	return e;
}
