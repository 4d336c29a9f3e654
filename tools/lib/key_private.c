/* key_private.c - private keys and secrets for signing: PEM private keys,
 * private JWKs, secrets as standalone keys. Only `mosquitto_jwt`, the tests
 * and the benchmarks sign: this file is in the mja_tool library, never in
 * the plugin.
 */
#define _GNU_SOURCE /* memmem */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "mja/util/file.h"
#include "mja/token/key.h"
#include "mja/token/key_internal.h"

static int contains(const char *buf, size_t len, const char *s)
{
	size_t sl = strlen(s);

	return len >= sl && memmem(buf, len, s, sl) != NULL;
}

mja_err mja_key_from_secret(const unsigned char *secret, size_t len, const char *kid,
		mja_key **out, mja_diag *d)
{
	mja_err e;

	if (!out || (!secret && len))
		return MJA_ERR_INVAL;
	e = mja_key__secret(secret, len, kid, "secret", out, d);
	if (e == MJA_OK)
		(*out)->is_private = 1;
	return e;
}


/* ---- private keys ---- */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1; /* never prompt on a terminal; encrypted keys are refused */
}

mja_err mja_key__private(EVP_PKEY *pkey, const char *kid, const char *origin,
		mja_key **out, mja_diag *d)
{
	char reason[200];
	mja_key *k = mja_key__new(MJA_KTY_RSA, origin);
	mja_err e;

	if (!k) {
		EVP_PKEY_free(pkey);
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	}
	k->is_private = 1;
	e = mja_key__adopt_pkey(k, pkey, reason, sizeof(reason));
	if (e == MJA_OK && kid && mja_key__set_kid(k, kid, strlen(kid)) != MJA_OK)
		e = MJA_ERR_NOMEM;
	if (e != MJA_OK) {
		mja_key_free(k);
		return mja_key__fail(d, e, origin, "%s", e == MJA_ERR_KEY ? reason : mja_strerror(e));
	}
	*out = k;
	return MJA_OK;
}

mja_err mja_key_from_private_pem(const char *buf, size_t len, const char *kid,
		mja_key **out, mja_diag *d)
{
	const char *origin = "private key";
	EVP_PKEY *pkey;
	BIO *bio;

	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (!buf || len > INT_MAX)
		return MJA_ERR_INVAL;
	if (contains(buf, len, "ENCRYPTED"))
		return mja_key__fail(d, MJA_ERR_KEY, origin, "encrypted private keys are not supported");
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio)
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pkey)
		return mja_key__fail(d, MJA_ERR_KEY, origin, "no PEM private key found");
	ERR_clear_error();
	return mja_key__private(pkey, kid, origin, out, d);
}

/* A private JWK, or the one key of a JWKS (chosen by kid if given). */
static mja_err private_jwk(const char *buf, size_t len, const char *kid, const char *origin,
		mja_key **out, mja_diag *d)
{
	struct mja_keylist l = { 0 };
	mja_key *pick = NULL;
	size_t i, matches = 0;
	mja_err e;

	e = mja_jwk__parse(buf, len, MJA_JWK_PRIVATE, origin, &l, d);
	if (e != MJA_OK) {
		mja_keylist__free(&l);
		return e;
	}
	for (i = 0; i < l.n; i++) {
		if (kid && !(l.v[i]->kid && strcmp(l.v[i]->kid, kid) == 0))
			continue;
		matches++;
		pick = l.v[i];
	}
	if (matches != 1) {
		mja_keylist__free(&l);
		if (matches == 0 && kid)
			return mja_key__fail(d, MJA_ERR_KEY, origin, "no key with that kid");
		return mja_key__fail(d, MJA_ERR_KEY, origin,
				"%zu keys: give the kid of the one to use", matches);
	}
	for (i = 0; i < l.n; i++)
		if (l.v[i] != pick)
			mja_key_free(l.v[i]);
	free(l.v);
	/* a JWK without kid takes the one given */
	if (kid && !pick->kid && mja_key__set_kid(pick, kid, strlen(kid)) != MJA_OK) {
		mja_key_free(pick);
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	}
	*out = pick;
	return MJA_OK;
}

mja_err mja_key_load_private_file(const char *path, const char *kid, mja_key **out, mja_diag *d)
{
	char *buf;
	size_t len;
	mja_err e;

	if (!out || !path)
		return MJA_ERR_INVAL;
	*out = NULL;
	e = mja_file_read(path, MJA_KEY_FILE_MAX, 0, &buf, &len, d);
	if (e != MJA_OK)
		return e;
	if (mja_key__looks_like_json(buf, len)) {
		e = private_jwk(buf + mja_key__bom_len(buf, len), len - mja_key__bom_len(buf, len),
				kid, path, out, d);
	} else {
		mja_diag tmp = { 0 };

		e = mja_key_from_private_pem(buf, len, kid, out, &tmp);
		if (e != MJA_OK) {
			/* re-label "private key: why" as "<path>: why" */
			const char *why = strchr(tmp.text, ':');

			mja_key__fail(d, e, path, "%s", why ? why + 2 : tmp.text);
		} else {
			char *o = strdup(path);

			if (!o) {
				mja_key_free(*out);
				*out = NULL;
				e = mja_key__fail(d, MJA_ERR_NOMEM, path, "out of memory");
			} else {
				free((*out)->origin);
				(*out)->origin = o;
			}
		}
	}
	mja_file_free(buf, len);
	return e;
}

