/* bench_micro.c - micro benchmarks with the ratios of docs/performance.md.
 *
 * In one run, side by side:
 *  - per algorithm (RS256, ES256, EdDSA): OpenSSL's bare verification of a
 *    signature (EVP_DigestVerifyInit + EVP_DigestVerify on a ready EVP_PKEY,
 *    DER signature prepared outside the loop) against mja_token_verify() of
 *    a whole token carrying that signature (split, base64url, JSON, key
 *    selection, verify, claims), and a hit of the verified-token cache;
 *  - HS256 end to end in microseconds over distinct tokens: mja_token_verify,
 *    mja_token_verify_ex with a header memo, and through the cache with a
 *    different token each time (every call a miss), as the plugin does;
 *  - ACL decisions with 100, 10,000 and 100,000 subjects in the file;
 *  - the same decisions from a 50-rule acl claim (compiled once, as at
 *    CONNECT) against a 50-rule section of the ACL file;
 *  - the revocation list: loading a file of 1,000,000 entries (wall time,
 *    heap allocated and peak resident memory) and one lookup;
 *  - the CONNECT decision (mja_auth_connect, HS256, 64 distinct tokens
 *    through the default cache, so the cheapest path and the one where any
 *    added cost shows most): as it was, with the glue's counters
 *    incremented, and with a 1,000,000-entry revocation list as well.
 *
 * Measurement on a busy 2-core machine: the bodies being compared are
 * interleaved, one short batch of each per round (order alternating), so
 * that load from other processes hits both alike; a ratio is the median of
 * the per-round ratios, shown with its interquartile range. Times are the
 * CPU time of this thread (CLOCK_THREAD_CPUTIME_ID: time spent waiting for
 * a core while other processes run is not counted; cache and frequency
 * effects of their load still are), medians over rounds. Nothing about time is
 * asserted (this is a benchmark); a body that fails (a token that does not
 * verify, an ACL decision that is not "allow") exits with status 1.
 *
 * Usage: bench_micro [--quick] [--only rs256|es256|eddsa|hs256|acl|aclclaim|revoke|connect]
 * For instruction counts: valgrind --tool=callgrind --toggle-collect=full_verify
 *   bench_micro --quick --only hs256  (bodies: bare_verify, full_verify,
 *   cached_verify, hs_full_verify, hs_memo_verify, hs_miss_verify, acl_once)
 */
#include <malloc.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mja/topic/acl.h"
#include "mja/topic/aclclaim.h"
#include "mja/session/auth.h"
#include "mja/session/config.h"
#include "mja/session/stats.h"
#include "mja/token/b64url.h"
#include "mja/token/cache.h"
#include "mja/token/key.h"
#include "mja/revoke/revoke.h"
#include "mja/token/token.h"

#define MAX_ROUNDS 61
#define MAX_BODIES 4
#define NOW ((int64_t)1700000000)

static int rounds = 31;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* q-quantile (0..1) of v[0..n), sorting v */
static double quantile(double *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return v[(int)(q * (n - 1) + 0.5)];
}

typedef int (*bench_fn)(void *arg);

struct body {
	bench_fn fn;
	void *arg;
	long iters;             /* calls per batch */
	/* results */
	double med_ns;          /* median over rounds of ns per call */
	double ratio, ratio_q1, ratio_q3;  /* to body 0: per-round medians */
};

static void run_batch(const struct body *b, long n)
{
	for (long i = 0; i < n; i++)
		if (b->fn(b->arg) != 0) {
			fprintf(stderr, "benchmark body failed (a verification or decision did not succeed)\n");
			exit(1);
		}
}

/* Interleave n bodies: each round runs one batch of every body, starting
 * with a different body each round; ratios are per round, to body 0. */
static void measure(struct body *b, int n)
{
	double t[MAX_BODIES][MAX_ROUNDS], r[MAX_ROUNDS];
	int k, j;

	for (j = 0; j < n; j++)         /* warm up */
		run_batch(&b[j], b[j].iters / 10 + 1);
	for (k = 0; k < rounds; k++) {
		for (int m = 0; m < n; m++) {
			double t0;

			j = (k + m) % n;
			t0 = now_ns();
			run_batch(&b[j], b[j].iters);
			t[j][k] = (now_ns() - t0) / (double)b[j].iters;
		}
	}
	for (j = 0; j < n; j++) {
		for (k = 0; k < rounds; k++)
			r[k] = t[j][k] / t[0][k];
		b[j].ratio = quantile(r, rounds, 0.5);
		b[j].ratio_q1 = quantile(r, rounds, 0.25);
		b[j].ratio_q3 = quantile(r, rounds, 0.75);
	}
	for (j = 0; j < n; j++)
		b[j].med_ns = quantile(t[j], rounds, 0.5);
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
	struct body b[3];
	mja_cache_stats st;
	mja_key *priv = NULL;
	mja_diag d = {0};
	mja_err rc;
	char *privpem, *pubpem;

	v.pkey = gen(type, param);
	v.md = md;
	privpem = pem_of(v.pkey, 1);
	pubpem = pem_of(v.pkey, 0);
	rc = mja_key_from_private_pem(privpem, strlen(privpem), NULL, &priv, &d);
	if (rc != MJA_OK)
		die("mja_key_from_private_pem", rc, &d);
	setup_token(&v, priv, alg, pubpem);
	v.cache = mja_cache_new(1024);
	if (!v.cache || bare_verify(&v) != 0 || full_verify(&v) != 0) {
		fprintf(stderr, "%s: token does not verify\n", label);
		exit(1);
	}
	b[0] = (struct body){ .fn = bare_verify, .arg = &v, .iters = iters };
	b[1] = (struct body){ .fn = full_verify, .arg = &v, .iters = iters };
	b[2] = (struct body){ .fn = cached_verify, .arg = &v, .iters = iters * 20 };
	measure(b, 3);
	/* the cache column must have measured hits, not verifications */
	mja_cache_get_stats(v.cache, &st);
	if (st.misses != 1 || st.hits < (uint64_t)iters) {
		fprintf(stderr, "%s: cache did not hit (%llu hits, %llu misses)\n", label,
			(unsigned long long)st.hits, (unsigned long long)st.misses);
		exit(1);
	}
	printf("| %-6s | %12.2f | %10.2f | %6.3f | %5.3f-%5.3f | %10.3f | %7.1fx |\n", label,
		b[0].med_ns / 1e3, b[1].med_ns / 1e3, b[1].ratio, b[1].ratio_q1, b[1].ratio_q3,
		b[2].med_ns / 1e3, b[1].ratio / b[2].ratio);
	mja_cache_free(v.cache);
	mja_keyset_free(v.ks);
	mja_key_free(priv);
	EVP_PKEY_free(v.pkey);
	free(privpem);
	free(pubpem);
	free(v.der);
	free((char *)v.tok);
}

/* ---- HS256: distinct tokens, as a connect storm of new clients sends ---- */

#define HS_TOKENS 64

struct hsctx {
	mja_keyset *ks;
	mja_verify_opts opts;
	char *tok[HS_TOKENS];
	size_t len[HS_TOKENS];
	unsigned next;
	mja_cache *cache;       /* smaller than HS_TOKENS: every call misses */
	mja_token_memo memo;
};

/* The next token through mja_token_verify (memo and cache NULL), with a
 * header memo, or through the cache; the free is part of the cost. */
static int hs_verify(struct hsctx *h, mja_token_memo *memo, mja_cache *cache)
{
	unsigned i = h->next++ % HS_TOKENS;
	mja_token *t = NULL;
	mja_err rc = cache ? mja_cache_verify(cache, h->ks, &h->opts, h->tok[i], h->len[i], NOW, &t)
		: mja_token_verify_ex(h->ks, &h->opts, h->tok[i], h->len[i], NOW, memo, &t);

	mja_token_free(t);
	return rc == MJA_OK ? 0 : 1;
}

/* one function per body, so callgrind can count each (--toggle-collect) */
static int hs_full_verify(void *arg)
{
	return hs_verify(arg, NULL, NULL);
}

static int hs_memo_verify(void *arg)
{
	return hs_verify(arg, &((struct hsctx *)arg)->memo, NULL);
}

static int hs_miss_verify(void *arg)
{
	return hs_verify(arg, NULL, ((struct hsctx *)arg)->cache);
}

static void bench_hs256(long iters)
{
	static const char *aud[] = { "mqtt.example.com" };
	static const char *req[] = { "exp", "sub" };
	const unsigned char secret[] = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
	struct hsctx h = {0};
	struct body b[3];
	mja_cache_stats st;
	mja_key *priv = NULL;
	mja_diag d = {0};
	mja_err rc;
	int i;

	rc = mja_key_from_secret(secret, sizeof(secret) - 1, NULL, &priv, &d);
	if (rc != MJA_OK)
		die("mja_key_from_secret", rc, &d);
	h.ks = mja_keyset_new();
	rc = mja_keyset_add_secret(h.ks, secret, sizeof(secret) - 1, NULL, "bench", &d);
	if (rc != MJA_OK)
		die("mja_keyset_add_secret", rc, &d);
	h.opts.claims.leeway = 30;
	h.opts.claims.audiences = aud;
	h.opts.claims.n_audiences = 1;
	h.opts.claims.required = req;
	h.opts.claims.n_required = 2;
	for (i = 0; i < HS_TOKENS; i++) {
		char sub[32], jti[32];
		json_t *p;

		snprintf(sub, sizeof(sub), "device-%04d", i);
		snprintf(jti, sizeof(jti), "%08x-%04x", (unsigned)i * 2654435761u, (unsigned)i);
		p = json_pack("{s:s,s:I,s:I,s:s,s:s}", "sub", sub,
				"exp", (json_int_t)(NOW + 3600), "iat", (json_int_t)NOW,
				"aud", "mqtt.example.com", "jti", jti);
		rc = mja_token_sign(priv, MJA_ALG_HS256, NULL, p, &h.tok[i]);
		json_decref(p);
		if (rc != MJA_OK)
			die("mja_token_sign", rc, NULL);
		h.len[i] = strlen(h.tok[i]);
	}
	h.cache = mja_cache_new(4);
	if (!h.cache)
		exit(1);
	b[0] = (struct body){ .fn = hs_full_verify, .arg = &h, .iters = iters };
	b[1] = (struct body){ .fn = hs_memo_verify, .arg = &h, .iters = iters };
	b[2] = (struct body){ .fn = hs_miss_verify, .arg = &h, .iters = iters };
	mja_token_memo_init(&h.memo);
	measure(b, 3);
	mja_cache_get_stats(h.cache, &st);
	if (st.hits != 0) {
		fprintf(stderr, "HS256: the miss path hit the cache\n");
		exit(1);
	}
	printf("| HS256 end to end (mja_token_verify) | %.3f |\n", b[0].med_ns / 1e3);
	printf("| HS256 end to end with a header memo (mja_token_verify_ex) | %.3f |\n",
		b[1].med_ns / 1e3);
	printf("| HS256 through the cache, always a miss (the plugin's path for a new token) | %.3f |\n",
		b[2].med_ns / 1e3);
	mja_token_memo_clear(&h.memo);
	mja_cache_free(h.cache);
	mja_keyset_free(h.ks);
	mja_key_free(priv);
	for (i = 0; i < HS_TOKENS; i++)
		free(h.tok[i]);
}

/* ---- ACL ---- */

struct actx {
	mja_acl *acl;
	mja_acl_who who;
	const char *topic;
	int access;
	char sub[32], pubtopic[64];
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
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct actx a[N];
	struct body pub[N], subs[N];
	int k;

	memset(a, 0, sizeof(a));
	for (k = 0; k < N; k++) {
		a[k].acl = acl_with_subjects(sizes[k]);
		snprintf(a[k].sub, sizeof(a[k].sub), "device-%06ld", sizes[k] / 2);
		snprintf(a[k].pubtopic, sizeof(a[k].pubtopic), "telemetry/%06ld/room-4/data",
			sizes[k] / 2);
		a[k].who.sub = a[k].sub;
		a[k].who.clientid = a[k].sub;
		a[k].topic = a[k].pubtopic;
		a[k].access = MJA_ACCESS_WRITE;
		pub[k] = (struct body){ .fn = acl_once, .arg = &a[k], .iters = iters };
	}
	measure(pub, N);
	for (k = 0; k < N; k++) {
		a[k].topic = "fleet/broadcast/+/news";
		a[k].access = MJA_ACCESS_SUBSCRIBE;
		subs[k] = (struct body){ .fn = acl_once, .arg = &a[k], .iters = iters };
	}
	measure(subs, N);
	printf("| subjects | publish check (ns) | ratio to 100 (IQR) | subscribe check (ns) | ratio to 100 (IQR) |\n");
	printf("|---:|---:|---:|---:|---:|\n");
	for (k = 0; k < N; k++) {
		printf("| %ld | %.1f | %.3f (%.3f-%.3f) | %.1f | %.3f (%.3f-%.3f) |\n", sizes[k],
			pub[k].med_ns, pub[k].ratio, pub[k].ratio_q1, pub[k].ratio_q3,
			subs[k].med_ns, subs[k].ratio, subs[k].ratio_q1, subs[k].ratio_q3);
		mja_acl_free(a[k].acl);
	}
}

/* ---- acl claim against the ACL file ---- */

#define CLAIM_RULES 50

struct cctx {
	mja_aclclaim *claim;
	mja_acl *acl;
	mja_acl_who who;
	const char *topic;
	int access;
};

static int claim_once(void *arg)
{
	struct cctx *a = arg;

	return mja_aclclaim_check(a->claim, &a->who, a->topic, strlen(a->topic), a->access, 1, 0) ==
		MJA_ACLCLAIM_ALLOW ? 0 : 1;
}

static int file_once(void *arg)
{
	struct cctx *a = arg;

	return mja_acl_check(a->acl, &a->who, a->topic, strlen(a->topic), a->access) == 1 ? 0 : 1;
}

/* The same 50 rules both ways: every fifth one uses the client id (the
 * file's %c, the claim's ${clientid}); the topic checked is allowed by the
 * last rule, so both walk all 50 (the file looks at every rule of the
 * subject anyway: a later deny would win). */
static void bench_aclclaim(long iters)
{
	size_t cap = CLAIM_RULES * 128 + 256, flen = 0, clen = 0;
	char *file = malloc(cap), *claim = malloc(cap);
	struct cctx a;
	struct body pub[2], subs[2];
	json_error_t jerr;
	json_t *v;
	mja_diag d = {0};
	mja_err rc;

	if (!file || !claim)
		exit(1);
	memset(&a, 0, sizeof(a));
	flen += (size_t)snprintf(file + flen, cap - flen,
		"pattern read fleet/broadcast/#\nsub device-000025\n");
	clen += (size_t)snprintf(claim + clen, cap - clen, "[");
	for (int i = 0; i < CLAIM_RULES; i++) {
		int tmpl = i % 5 == 4;

		flen += (size_t)snprintf(file + flen, cap - flen, "topic readwrite site/%02d/%s/+/data\n",
			i, tmpl ? "%c" : "x");
		clen += (size_t)snprintf(claim + clen, cap - clen, "%s{\"permission\":\"allow\","
			"\"action\":\"all\",\"topic\":\"site/%02d/%s/+/data\"}",
			i ? "," : "", i, tmpl ? "${clientid}" : "x");
	}
	snprintf(claim + clen, cap - clen, "]");
	rc = mja_acl_load_buf(file, flen, "bench.acl", &a.acl, &d);
	if (rc != MJA_OK)
		die("mja_acl_load_buf", rc, &d);
	v = json_loads(claim, 0, &jerr);
	if (!v)
		exit(1);
	rc = mja_aclclaim_compile(v, &a.claim, &d);
	json_decref(v);
	if (rc != MJA_OK)
		die("mja_aclclaim_compile", rc, &d);
	free(file);
	free(claim);
	a.who.sub = "device-000025";
	a.who.clientid = "device-000025";
	a.topic = "site/49/device-000025/room-4/data";
	a.access = MJA_ACCESS_WRITE;
	pub[0] = (struct body){ .fn = file_once, .arg = &a, .iters = iters };
	pub[1] = (struct body){ .fn = claim_once, .arg = &a, .iters = iters };
	measure(pub, 2);
	a.topic = "site/49/device-000025/+/data";
	a.access = MJA_ACCESS_SUBSCRIBE;
	subs[0] = (struct body){ .fn = file_once, .arg = &a, .iters = iters };
	subs[1] = (struct body){ .fn = claim_once, .arg = &a, .iters = iters };
	measure(subs, 2);
	printf("| %d rules, match on the last | ACL file section (ns) | acl claim (ns) | ratio claim / file (IQR; target <= 2) |\n",
		CLAIM_RULES);
	printf("|---|---:|---:|---:|\n");
	printf("| publish check | %.1f | %.1f | %.3f (%.3f-%.3f) |\n", pub[0].med_ns, pub[1].med_ns,
		pub[1].ratio, pub[1].ratio_q1, pub[1].ratio_q3);
	printf("| subscribe check | %.1f | %.1f | %.3f (%.3f-%.3f) |\n", subs[0].med_ns,
		subs[1].med_ns, subs[1].ratio, subs[1].ratio_q1, subs[1].ratio_q3);
	mja_aclclaim_free(a.claim);
	mja_acl_free(a.acl);
}

/* A field of /proc/self/status in KiB ("VmRSS:", "VmHWM:"), or -1. */
static long status_kib(const char *field)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = strtol(line + strlen(field), NULL, 10);
	fclose(f);
	return v;
}

static double wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The revocation list: a file of n entries (jti lines of 36-character
 * UUID-shaped ids, as identity providers issue, with every 10th line a sub
 * and every 100th a kid), loaded through mja_revoke_load_file as the plugin
 * does at start and on change; then lookups. */
static void bench_revoke(long n)
{
	char path[] = "/tmp/mja-bench-revoke-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	mja_revoke *r = NULL;
	mja_diag d = { 0 };
	struct mallinfo2 m0, m1;
	long rss0, hwm1, rss1;
	double t0, t1, tl = 0;
	long found = 0, lookups = 1000000;
	char (*ids)[40] = malloc((size_t)lookups * sizeof(*ids));
	struct stat st;

	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		perror("revocation file");
		exit(1);
	}
	for (long i = 0; i < n; i++) {
		if (i % 100 == 99)
			fprintf(f, "kid key-%ld\n", i);
		else if (i % 10 == 9)
			fprintf(f, "sub device-%08ld before 1767225600\n", i);
		else
			fprintf(f, "jti %08lx-%04lx-4%03lx-a%03lx-%012lx\n", i * 2654435761UL & 0xffffffffUL,
					i & 0xffff, i & 0xfff, (i >> 12) & 0xfff, i * 40503UL);
	}
	fclose(f);
	m0 = mallinfo2();
	rss0 = status_kib("VmRSS:");
	t0 = wall_ns();
	if (mja_revoke_load_file(path, &r, &d) != MJA_OK) {
		fprintf(stderr, "revocation load failed: %s\n", d.text);
		exit(1);
	}
	t1 = wall_ns();
	m1 = mallinfo2();
	hwm1 = status_kib("VmHWM:");
	rss1 = status_kib("VmRSS:");
	if (!ids || stat(path, &st) != 0) {
		perror("revocation bench");
		exit(1);
	}
	for (long i = 0; i < lookups; i++) {
		long k = (i * 7919) % (2 * n);   /* about half present, half absent */

		snprintf(ids[i], sizeof(ids[i]), "%08lx-%04lx-4%03lx-a%03lx-%012lx",
				k * 2654435761UL & 0xffffffffUL, k & 0xffff, k & 0xfff,
				(k >> 12) & 0xfff, k * 40503UL);
	}
	tl = now_ns();
	for (long i = 0; i < lookups; i++) {
		mja_revoke_query q = { .jti = ids[i], .sub = "device-x", .kid = "k1",
			.has_iat = 1, .iat = NOW };

		found += mja_revoke_check(r, &q) == MJA_ERR_REVOKED;
	}
	tl = now_ns() - tl;
	free(ids);
	printf("| revocation list | figure |\n|---|---:|\n");
	printf("| entries loaded | %zu |\n", mja_revoke_count(r));
	printf("| file size (MiB) | %.1f |\n", (double)st.st_size / 1048576.0);
	printf("| load time, wall (ms; target < 1000) | %.0f |\n", (t1 - t0) / 1e6);
	printf("| heap held by the list (MiB; target < 150) | %.1f |\n",
			(double)((m1.uordblks + m1.hblkhd) - (m0.uordblks + m0.hblkhd)) / 1048576.0);
	printf("| resident after load, growth (MiB) | %.1f |\n", (double)(rss1 - rss0) / 1024.0);
	printf("| peak resident of the process (MiB; file buffer included) | %.1f |\n",
			(double)hwm1 / 1024.0);
	printf("| check of one token (jti, kid, sub), ns CPU (%ld tokens, %ld revoked) | %.0f |\n\n",
			lookups, found, tl / (double)lookups);
	mja_revoke_free(r);
	unlink(path);
}

/* ---- the CONNECT decision, with counting and a revocation list ---- */

struct connctx {
	mja_config *cfg;
	char *tok[HS_TOKENS];
	unsigned next;
	mja_stats *stats;      /* NULL: no counting */
};

static int connect_once(struct connctx *c)
{
	unsigned i = c->next++ % HS_TOKENS;
	mja_principal *p = NULL;
	mja_err why;
	mja_decision r = mja_auth_connect(c->cfg, "bench", c->tok[i], "cid", NOW, &p, &why);

	/* what the glue adds per CONNECT: one counter */
	if (c->stats) {
		if (r == MJA_ALLOW)
			c->stats->connects_accepted++;
		else if (r == MJA_DENY)
			mja_stats_refused(c->stats, why);
		else
			c->stats->connects_deferred++;
	}
	mja_principal_free(p);
	return r == MJA_ALLOW ? 0 : 1;
}

static int connect_plain(void *arg) { return connect_once(arg); }
static int connect_counted(void *arg) { return connect_once(arg); }
static int connect_revoke(void *arg) { return connect_once(arg); }

static mja_config *connect_config(const char *secret_path, const char *revocation)
{
	mja_config_opt o[3] = { { "secret_file", secret_path }, { "audience", "mqtt.example.com" },
		{ "revocation_file", revocation } };
	mja_config *cfg = NULL;
	mja_diag d = { 0 };
	mja_err rc = mja_config_parse(o, revocation ? 3 : 2, &cfg, &d);

	if (rc != MJA_OK)
		die("mja_config_parse", rc, &d);
	return cfg;
}

static void bench_connect(long iters)
{
	const unsigned char secret[] = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
	char spath[] = "/tmp/mja-bench-secret-XXXXXX", rpath[] = "/tmp/mja-bench-rev-XXXXXX";
	int sfd = mkstemp(spath), rfd = mkstemp(rpath);
	struct connctx a = { 0 }, b = { 0 }, c = { 0 };
	mja_stats st1 = { 0 }, st2 = { 0 };
	struct body bd[3];
	mja_key *priv = NULL;
	FILE *f;

	if (sfd < 0 || rfd < 0 || write(sfd, secret, sizeof(secret) - 1) != (ssize_t)(sizeof(secret) - 1)) {
		perror("bench files");
		exit(1);
	}
	close(sfd);
	f = fdopen(rfd, "w");
	for (long i = 0; i < 1000000; i++)
		fprintf(f, "jti revoked-%08lx-%04lx\n", i * 2654435761UL & 0xffffffffUL, i & 0xffff);
	fclose(f);
	a.cfg = connect_config(spath, NULL);
	b.cfg = connect_config(spath, NULL);
	c.cfg = connect_config(spath, rpath);
	b.stats = &st1;
	c.stats = &st2;
	if (mja_key_from_secret(secret, sizeof(secret) - 1, NULL, &priv, NULL) != MJA_OK)
		exit(1);
	for (int i = 0; i < HS_TOKENS; i++) {
		char sub[32], jti[40];
		json_t *p;

		snprintf(sub, sizeof(sub), "device-%04d", i);
		snprintf(jti, sizeof(jti), "%08x-%04x", (unsigned)i * 2654435761u, (unsigned)i);
		p = json_pack("{s:s,s:I,s:I,s:s,s:s}", "sub", sub, "exp", (json_int_t)(NOW + 3600),
				"iat", (json_int_t)NOW, "aud", "mqtt.example.com", "jti", jti);
		if (mja_token_sign(priv, MJA_ALG_HS256, NULL, p, &a.tok[i]) != MJA_OK)
			exit(1);
		json_decref(p);
		b.tok[i] = c.tok[i] = a.tok[i];
	}
	bd[0] = (struct body){ .fn = connect_plain, .arg = &a, .iters = iters };
	bd[1] = (struct body){ .fn = connect_counted, .arg = &b, .iters = iters };
	bd[2] = (struct body){ .fn = connect_revoke, .arg = &c, .iters = iters };
	measure(bd, 3);
	printf("| CONNECT decision (mja_auth_connect, HS256, cached token) | ns | ratio to the first (IQR) |\n");
	printf("|---|---:|---:|\n");
	printf("| without counting and without revocation_file | %.0f | 1 |\n", bd[0].med_ns);
	printf("| with the glue's counter increment | %.0f | %.3f (%.3f-%.3f) |\n", bd[1].med_ns,
			bd[1].ratio, bd[1].ratio_q1, bd[1].ratio_q3);
	printf("| with the counter and a 1,000,000-entry revocation list | %.0f | %.3f (%.3f-%.3f) |\n\n",
			bd[2].med_ns, bd[2].ratio, bd[2].ratio_q1, bd[2].ratio_q3);
	for (int i = 0; i < HS_TOKENS; i++)
		free(a.tok[i]);
	mja_key_free(priv);
	mja_config_free(a.cfg);
	mja_config_free(b.cfg);
	mja_config_free(c.cfg);
	unlink(spath);
	unlink(rpath);
}

static int selected(const char *only, const char *name)
{
	return !only || !strcmp(only, name);
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	long n = 200;           /* calls per batch of an asymmetric verify */

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			rounds = 9;
			n = 50;
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--quick] [--only rs256|es256|eddsa|hs256|acl|aclclaim|revoke|connect]\n",
				argv[0]);
			return 2;
		}
	}
	printf("## Token verification (microseconds per token)\n\n");
	printf("Interleaved rounds: %d; ratio = median of per-round (mja full / OpenSSL bare) "
		"CPU-time ratios, IQR = their interquartile range.\n\n", rounds);
	printf("| alg    | OpenSSL bare | mja full   | ratio  | ratio IQR   | cache hit  | speedup |\n");
	printf("|--------|-------------:|-----------:|-------:|------------:|-----------:|--------:|\n");
	if (selected(only, "rs256"))
		bench_alg("RS256", "RSA", NULL, EVP_sha256(), MJA_ALG_RS256, n * 4);
	if (selected(only, "es256"))
		bench_alg("ES256", "EC", "P-256", EVP_sha256(), MJA_ALG_ES256, n);
	if (selected(only, "eddsa"))
		bench_alg("EdDSA", "ED25519", NULL, NULL, MJA_ALG_EDDSA, n);
	printf("\n| HS256, 64 distinct tokens, parse + decode + verify + claims | us per token (target < 3) |\n");
	printf("|---|---:|\n");
	if (selected(only, "hs256"))
		bench_hs256(n * 20);
	printf("\n");
	if (selected(only, "acl"))
		bench_acl(n * 100);
	printf("\n");
	if (selected(only, "aclclaim"))
		bench_aclclaim(n * 20);
	printf("\n");
	if (selected(only, "revoke"))
		bench_revoke(1000000);
	if (selected(only, "connect"))
		bench_connect(n * 20);
	return 0;
}
