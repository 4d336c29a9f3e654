/* bench_micro.c - micro benchmarks with the ratios of spec section 6.
 *
 * In one run, side by side:
 *  - per algorithm (RS256, ES256, EdDSA): OpenSSL's bare verification of a
 *    signature (EVP_DigestVerify on a ready EVP_PKEY, DER signature prepared
 *    outside the loop) against mja_token_verify() of a whole token carrying
 *    that signature (split, base64url, JSON, key selection, verify, claims);
 *  - HS256 end to end in microseconds;
 *  - the verified-token cache: first verification against a cached one;
 *  - ACL decisions with 100, 10,000 and 100,000 subjects in the file.
 * Times are medians of several rounds of CLOCK_MONOTONIC-timed loops.
 * Usage: bench_micro [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mja/acl.h"
#include "mja/b64url.h"
#include "mja/cache.h"
#include "mja/key.h"
#include "mja/token.h"

#define ROUNDS 7
#define NOW ((int64_t)1700000000)

static int quick;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

typedef int (*bench_fn)(void *arg);

/* Median over ROUNDS of the mean ns per call of fn, run iters times. */
static double measure(bench_fn fn, void *arg, long iters)
{
	double r[ROUNDS];
	int k;
	long i;

	for (i = 0; i < iters / 10 + 1; i++)   /* warm up */
		if (fn(arg) != 0) {
			fprintf(stderr, "benchmark body failed\n");
			exit(1);
		}
	for (k = 0; k < ROUNDS; k++) {
		double t0 = now_ns();
		for (i = 0; i < iters; i++)
			if (fn(arg) != 0) {
				fprintf(stderr, "benchmark body failed\n");
				exit(1);
			}
		r[k] = (now_ns() - t0) / (double)iters;
	}
	qsort(r, ROUNDS, sizeof(r[0]), cmp_double);
	return r[ROUNDS / 2];
}

static void die(const char *what, mja_err rc, const mja_diag *d)
{
	fprintf(stderr, "%s: %s%s%s\n", what, mja_strerror(rc),
		d && d->text[0] ? ": " : "", d ? d->text : "");
	exit(1);
}

/* ---- token verification ---- */

struct vctx {
	EVP_PKEY *pkey;
	const EVP_MD *md;           /* NULL for Ed25519 */
	const unsigned char *input; /* signing input */
	size_t inlen;
	unsigned char *der;         /* signature as OpenSSL wants it */
	size_t derlen;
	mja_keyset *ks;
	mja_verify_opts opts;
	const char *tok;
	size_t toklen;
	mja_cache *cache;
};

static int bare_verify(void *arg)
{
	struct vctx *v = arg;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, v->md, NULL, v->pkey) == 1 &&
		EVP_DigestVerify(ctx, v->der, v->derlen, v->input, v->inlen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : 1;
}

static int full_verify(void *arg)
{
	struct vctx *v = arg;
	mja_token *t = NULL;
	mja_err rc = mja_token_verify(v->ks, &v->opts, v->tok, v->toklen, NOW, &t);

	mja_token_free(t);
	return rc == MJA_OK ? 0 : 1;
}

static int cached_verify(void *arg)
{
	struct vctx *v = arg;
	mja_token *t = NULL;
	mja_err rc = mja_cache_verify(v->cache, v->ks, &v->opts, v->tok, v->toklen, NOW, &t);

	mja_token_free(t);
	return rc == MJA_OK ? 0 : 1;
}

static char *pem_of(EVP_PKEY *pk, int private)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (!b)
		return NULL;
	if (private ? !PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL)
		    : !PEM_write_bio_PUBKEY(b, pk)) {
		BIO_free(b);
		return NULL;
	}
	n = BIO_get_mem_data(b, &data);
	out = malloc((size_t)n + 1);
	if (out) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	return out;
}

/* Raw R||S (JWS) to DER (OpenSSL), outside the timed loop. */
static unsigned char *raw_to_der(const unsigned char *raw, size_t len, size_t *derlen)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL);
	BIGNUM *sv = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
	unsigned char *der = NULL;
	int n;

	if (!s || !r || !sv || !ECDSA_SIG_set0(s, r, sv))
		exit(1);
	n = i2d_ECDSA_SIG(s, &der);
	ECDSA_SIG_free(s);
	if (n <= 0)
		exit(1);
	*derlen = (size_t)n;
	return der;
}

static EVP_PKEY *gen(const char *type, const char *param)
{
	EVP_PKEY *pk = NULL;

	if (!strcmp(type, "RSA"))
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (!strcmp(type, "EC"))
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, type);
	if (!pk) {
		fprintf(stderr, "keygen %s failed\n", type);
		exit(1);
	}
	return pk;
}

static void setup_token(struct vctx *v, mja_key *priv, mja_alg alg, const char *pubpem)
{
	json_t *payload = json_pack("{s:s,s:I,s:I,s:s}", "sub", "device-0042",
			"exp", (json_int_t)(NOW + 3600), "iat", (json_int_t)NOW,
			"aud", "mqtt.example.com");
	mja_diag d = {0};
	char *tok = NULL;
	mja_err rc;
	const char *dot2;
	size_t siglen = 0;
	unsigned char *sig;

	rc = mja_token_sign(priv, alg, NULL, payload, &tok);
	json_decref(payload);
	if (rc != MJA_OK)
		die("mja_token_sign", rc, NULL);
	v->tok = tok;
	v->toklen = strlen(tok);
	dot2 = strrchr(tok, '.');
	v->input = (const unsigned char *)tok;
	v->inlen = (size_t)(dot2 - tok);
	sig = malloc(mja_b64url_decoded_max(strlen(dot2 + 1)));
	if (!sig || mja_b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, &siglen) != MJA_OK)
		exit(1);
	if (alg == MJA_ALG_ES256) {
		v->der = raw_to_der(sig, siglen, &v->derlen);
		free(sig);
	} else {
		v->der = sig;
		v->derlen = siglen;
	}
	v->ks = mja_keyset_new();
	if (pubpem) {
		rc = mja_keyset_add_pem(v->ks, pubpem, strlen(pubpem), "bench", &d);
		if (rc != MJA_OK)
			die("mja_keyset_add_pem", rc, &d);
	}
	memset(&v->opts, 0, sizeof(v->opts));
	v->opts.claims.leeway = 30;
	{
		static const char *aud[] = { "mqtt.example.com" };
		static const char *req[] = { "exp", "sub" };
		v->opts.claims.audiences = aud;
		v->opts.claims.n_audiences = 1;
		v->opts.claims.required = req;
		v->opts.claims.n_required = 2;
	}
}

static void bench_alg(const char *label, const char *type, const char *param,
		const EVP_MD *md, mja_alg alg, long iters)
{
	struct vctx v = {0};
	mja_key *priv = NULL;
	mja_diag d = {0};
	mja_err rc;
	char *privpem, *pubpem;
	double bare, full, cached;

	v.pkey = gen(type, param);
	v.md = md;
	privpem = pem_of(v.pkey, 1);
	pubpem = pem_of(v.pkey, 0);
	rc = mja_key_from_private_pem(privpem, strlen(privpem), NULL, &priv, &d);
	if (rc != MJA_OK)
		die("mja_key_from_private_pem", rc, &d);
	setup_token(&v, priv, alg, pubpem);
	if (bare_verify(&v) != 0 || full_verify(&v) != 0) {
		fprintf(stderr, "%s: token does not verify\n", label);
		exit(1);
	}
	bare = measure(bare_verify, &v, iters);
	full = measure(full_verify, &v, iters);
	v.cache = mja_cache_new(1024);
	cached = measure(cached_verify, &v, iters * 20);
	printf("| %-6s | %10.2f | %10.2f | %6.3f | %10.2f | %7.1fx |\n", label,
		bare / 1e3, full / 1e3, full / bare, cached / 1e3, full / cached);
	mja_cache_free(v.cache);
	mja_keyset_free(v.ks);
	mja_key_free(priv);
	EVP_PKEY_free(v.pkey);
	free(privpem);
	free(pubpem);
	free(v.der);
	free((char *)v.tok);
}

static void bench_hs256(long iters)
{
	struct vctx v = {0};
	mja_key *priv = NULL;
	mja_diag d = {0};
	const unsigned char secret[] = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
	double full;
	mja_err rc;

	rc = mja_key_from_secret(secret, sizeof(secret) - 1, NULL, &priv, &d);
	if (rc != MJA_OK)
		die("mja_key_from_secret", rc, &d);
	setup_token(&v, priv, MJA_ALG_HS256, NULL);
	rc = mja_keyset_add_secret(v.ks, secret, sizeof(secret) - 1, NULL, "bench", &d);
	if (rc != MJA_OK)
		die("mja_keyset_add_secret", rc, &d);
	if (full_verify(&v) != 0) {
		fprintf(stderr, "HS256 token does not verify\n");
		exit(1);
	}
	full = measure(full_verify, &v, iters);
	printf("HS256 end to end (parse, decode, verify, claims): %.3f us per token (target < 3 us)\n",
		full / 1e3);
	mja_keyset_free(v.ks);
	mja_key_free(priv);
	free(v.der);
	free((char *)v.tok);
}

/* ---- ACL ---- */

struct actx {
	mja_acl *acl;
	mja_acl_who who;
	const char *topic;
	int access;
};

static int acl_once(void *arg)
{
	struct actx *a = arg;

	/* The decision must be "allow" for the chosen topic: a failing check
	 * would make the benchmark measure the wrong path. */
	return mja_acl_check(a->acl, &a->who, a->topic, strlen(a->topic), a->access) == 1 ? 0 : 1;
}

static mja_acl *acl_with_subjects(long n)
{
	size_t cap = (size_t)n * 96 + 1024, len = 0;
	char *buf = malloc(cap);
	mja_acl *acl = NULL;
	mja_diag d = {0};
	mja_err rc;
	long i;

	if (!buf)
		exit(1);
	len += (size_t)snprintf(buf + len, cap - len,
		"pattern read fleet/broadcast/#\npattern readwrite devices/%%s/#\n");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len,
			"sub device-%06ld\ntopic write telemetry/%06ld/+/data\n", i, i);
	len += (size_t)snprintf(buf + len, cap - len, "sub sensor-*\ntopic read sensors/#\n");
	rc = mja_acl_load_buf(buf, len, "bench.acl", &acl, &d);
	free(buf);
	if (rc != MJA_OK)
		die("mja_acl_load_buf", rc, &d);
	return acl;
}

static void bench_acl(long iters)
{
	static const long sizes[] = { 100, 10000, 100000 };
	double base = 0;
	size_t k;

	printf("\n| subjects | publish check (ns) | subscribe check (ns) | ratio to 100 |\n");
	printf("|---:|---:|---:|---:|\n");
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct actx a = {0};
		char sub[32], topic[64];
		double pub, subs;

		a.acl = acl_with_subjects(sizes[k]);
		snprintf(sub, sizeof(sub), "device-%06ld", sizes[k] / 2);
		snprintf(topic, sizeof(topic), "telemetry/%06ld/room-4/data", sizes[k] / 2);
		a.who.sub = sub;
		a.who.clientid = sub;
		a.topic = topic;
		a.access = MJA_ACCESS_WRITE;
		pub = measure(acl_once, &a, iters);
		a.topic = "fleet/broadcast/+/news";
		a.access = MJA_ACCESS_SUBSCRIBE;
		subs = measure(acl_once, &a, iters);
		if (k == 0)
			base = pub;
		printf("| %ld | %.1f | %.1f | %.3f |\n", sizes[k], pub, subs, pub / base);
		mja_acl_free(a.acl);
	}
}

int main(int argc, char **argv)
{
	long n = 2000;

	if (argc > 1 && !strcmp(argv[1], "--quick")) {
		quick = 1;
		n = 200;
	}
	printf("## Token verification (microseconds per token; median of %d rounds)\n\n", ROUNDS);
	printf("| alg    | OpenSSL bare | mja full   | ratio  | cache hit  | speedup |\n");
	printf("|--------|-------------:|-----------:|-------:|-----------:|--------:|\n");
	bench_alg("RS256", "RSA", NULL, EVP_sha256(), MJA_ALG_RS256, n);
	bench_alg("ES256", "EC", "P-256", EVP_sha256(), MJA_ALG_ES256, n);
	bench_alg("EdDSA", "ED25519", NULL, NULL, MJA_ALG_EDDSA, n);
	printf("\n");
	bench_hs256(n * 50);
	bench_acl(n * 100);
	return 0;
}
