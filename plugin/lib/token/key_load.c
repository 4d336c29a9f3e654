/* key_load.c - key files and secret files: format detection, PEM public
 * keys and certificates, JWK/JWKS (key_jwk.c), HMAC secrets. Every file is
 * read with file.h's reader: regular files only, not writable by every
 * user; a secret readable by every user is a warning.
 */
#define _GNU_SOURCE /* memmem */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mja/util/file.h"
#include "mja/token/key.h"
#include "mja/token/key_internal.h"
#include "mja/util/text.h"

/* 1 iff a secret file's content starts (after a UTF-8 BOM and blanks)
 * with a PEM armour line or a JSON object: a key, not a secret. */
static int looks_like_key(const char *b, size_t len)
{
	size_t i = 0;

	if (len >= 3 && !memcmp(b, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len && mja_text_is_space((unsigned char)b[i]))
		i++;
	if (i < len && b[i] == '{')
		return 1;
	return len - i >= 10 && !memcmp(b + i, "-----BEGIN", 10);
}

mja_err mja_keyset_load_secret_file(mja_keyset *ks, const char *path, mja_diag *d)
{
	char *buf;
	size_t len, flen;
	mja_err e;

	if (!ks || !path)
		return MJA_ERR_INVAL;
	e = mja_file_read(path, MJA_KEY_FILE_MAX, MJA_FILE_TRUSTED | MJA_FILE_SECRET, &buf, &flen, d);
	if (e != MJA_OK)
		return e;
	len = flen;
	/* README, option secret_file: the bytes less one trailing "\n" or "\r\n" */
	if (len >= 2 && buf[len - 2] == '\r' && buf[len - 1] == '\n')
		len -= 2;
	else if (len >= 1 && buf[len - 1] == '\n')
		len -= 1;
	/* A public key given as a secret makes HS tokens forgeable by anyone
	 * who has the public key (RFC 8725 2.1, alg confusion by config). */
	if (looks_like_key(buf, len)) {
		mja_diag_set(d, "%s: looks like a PEM or JWK key, not a secret "
				"(give keys with key_file)", path);
		mja_file_free(buf, flen);
		return MJA_ERR_KEY;
	}
	e = mja_keyset_add_secret(ks, (const unsigned char *)buf, len, NULL, path, d);
	mja_file_free(buf, flen);
	return e;
}


/* ---- PEM ---- */

static int has_private_label(const char *name)
{
	/* "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY",
	 * "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY", ... */
	return strstr(name, "PRIVATE") != NULL;
}

/* One PEM block's DER to a public key. */
static EVP_PKEY *pem_block_pkey(const char *name, const unsigned char *der, long len,
		int *is_cert, char *reason, size_t rlen)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = NULL;
	char shown[64];

	/* the block's name comes from the file: escaped (text.h) */
	mja_text_printable(name, strlen(name), shown, sizeof(shown));

	*is_cert = 0;
	if (strcmp(name, "PUBLIC KEY") == 0) {
		pkey = d2i_PUBKEY(NULL, &p, len);
	} else if (strcmp(name, "RSA PUBLIC KEY") == 0) {
		/* PKCS#1 RSAPublicKey (RFC 8017 A.1.1) */
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
	} else if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0) {
		X509 *x = d2i_X509(NULL, &p, len);

		*is_cert = 1;
		if (x) {
			pkey = X509_get_pubkey(x);
			X509_free(x);
		}
	} else {
		snprintf(reason, rlen, "unsupported PEM block \"%s\"", shown);
		return NULL;
	}
	if (!pkey) {
		snprintf(reason, rlen, "cannot parse PEM block \"%s\"", shown);
		return NULL;
	}
	if (p != der + len) {
		EVP_PKEY_free(pkey);
		snprintf(reason, rlen, "trailing data in PEM block \"%s\"", shown);
		return NULL;
	}
	return pkey;
}

static mja_err pem_parse_public(const char *buf, size_t len, const char *origin,
		struct mja_keylist *out, mja_diag *d)
{
	BIO *bio;
	int blocks = 0, certs = 0;
	mja_err e = MJA_OK;

	if (len > INT_MAX)
		return mja_key__fail(d, MJA_ERR_KEY, origin, "too large");
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio)
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		long dlen = 0;
		char reason[200];
		EVP_PKEY *pkey;
		mja_key *k;
		int is_cert;

		if (!PEM_read_bio(bio, &name, &header, &data, &dlen)) {
			unsigned long err = ERR_peek_last_error();

			if (ERR_GET_LIB(err) == ERR_LIB_PEM &&
			    ERR_GET_REASON(err) == PEM_R_NO_START_LINE && blocks > 0)
				break; /* end of input */
			if (blocks > 0)
				e = mja_key__fail(d, MJA_ERR_KEY, origin, "bad PEM block after block %d", blocks);
			else
				e = mja_key__fail(d, MJA_ERR_KEY, origin, "no PEM public key found");
			break;
		}
		blocks++;
		if (has_private_label(name)) {
			/* key.h: private keys are not spread to brokers */
			char shown[64];

			mja_text_printable(name, strlen(name), shown, sizeof(shown));
			e = mja_key__fail(d, MJA_ERR_KEY, origin,
					"contains private key material (PEM \"%s\"); give the public key", shown);
		} else if (strcmp(name, "EC PARAMETERS") == 0) {
			/* written by `openssl ecparam`; carries no key */
			blocks--;
		} else if (!(pkey = pem_block_pkey(name, data, dlen, &is_cert, reason, sizeof(reason)))) {
			e = mja_key__fail(d, MJA_ERR_KEY, origin, "%s", reason);
		} else if (is_cert && ++certs > 1) {
			/* a chain would give the CA's key the power to sign tokens */
			EVP_PKEY_free(pkey);
			e = mja_key__fail(d, MJA_ERR_KEY, origin,
					"more than one certificate (give the token signer's certificate only)");
		} else if (!(k = mja_key__new(MJA_KTY_RSA, origin))) {
			EVP_PKEY_free(pkey);
			e = mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
		} else if ((e = mja_key__adopt_pkey(k, pkey, reason, sizeof(reason))) != MJA_OK) {
			mja_key_free(k);
			e = mja_key__fail(d, e, origin, "%s", reason);
		} else if ((e = mja_keylist__push(out, k)) != MJA_OK) {
			e = mja_key__fail(d, e, origin, "out of memory");
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		if (e != MJA_OK)
			break;
	}
	BIO_free(bio);
	ERR_clear_error();
	if (e == MJA_OK && blocks == 0)
		e = mja_key__fail(d, MJA_ERR_KEY, origin, "no public key found");
	return e;
}

mja_err mja_keyset_add_pem(mja_keyset *ks, const char *buf, size_t len,
		const char *origin, mja_diag *d)
{
	struct mja_keylist l = { 0 };
	mja_err e;

	if (!ks || (!buf && len))
		return MJA_ERR_INVAL;
	e = pem_parse_public(buf, len, origin, &l, d);
	if (e != MJA_OK) {
		mja_keylist__free(&l);
		return e;
	}
	return mja_keyset__take(ks, &l, origin, d);
}

mja_err mja_keyset_add_jwk_json(mja_keyset *ks, const char *buf, size_t len,
		const char *origin, mja_diag *d)
{
	struct mja_keylist l = { 0 };
	mja_err e;

	if (!ks || (!buf && len))
		return MJA_ERR_INVAL;
	e = mja_jwk__parse(buf, len, MJA_JWK_PUBLIC, origin, &l, d);
	if (e != MJA_OK) {
		mja_keylist__free(&l);
		return e;
	}
	return mja_keyset__take(ks, &l, origin, d);
}

size_t mja_key__bom_len(const char *buf, size_t len)
{
	return len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

int mja_key__looks_like_json(const char *buf, size_t len)
{
	size_t i = mja_key__bom_len(buf, len);

	while (i < len && mja_text_is_space((unsigned char)buf[i]))
		i++;
	return i < len && buf[i] == '{';
}

static int contains(const char *buf, size_t len, const char *s)
{
	size_t sl = strlen(s);

	return len >= sl && memmem(buf, len, s, sl) != NULL;
}

mja_err mja_keyset_load_key_file(mja_keyset *ks, const char *path, mja_diag *d)
{
	char *buf;
	size_t len;
	mja_err e;

	if (!ks || !path)
		return MJA_ERR_INVAL;
	e = mja_file_read(path, MJA_KEY_FILE_MAX, MJA_FILE_TRUSTED, &buf, &len, d);
	if (e != MJA_OK)
		return e;
	if (len == 0)
		e = mja_key__fail(d, MJA_ERR_KEY, path, "empty key file");
	else if (mja_key__looks_like_json(buf, len))
		e = mja_keyset_add_jwk_json(ks, buf + mja_key__bom_len(buf, len),
				len - mja_key__bom_len(buf, len), path, d);
	else if (contains(buf, len, "-----BEGIN "))
		e = mja_keyset_add_pem(ks, buf, len, path, d);
	else
		e = mja_key__fail(d, MJA_ERR_KEY, path,
				"not a PEM or JWK/JWKS file (DER is not supported)");
	mja_file_free(buf, len);
	return e;
}

