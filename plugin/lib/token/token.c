/* token.c - compact JWS / JWT verification and signing (docs/design.md, "Token rules"; RFC 7515,
 * RFC 7519, RFC 8725).
 *
 * The token is parsed in place: the three segments are (pointer, length)
 * views into the caller's buffer, the signing input is the caller's bytes
 * up to the second dot (RFC 7515 5.2 step 8: the original encoding, never a
 * re-encoding). Nothing from the header or payload leaves this file before
 * the signature verifies.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mja/token/b64url.h"
#include "mja/token/json.h"
#include "mja/token/sig.h"
#include "mja/token/token.h"

/* A JOSE header is a handful of short members; even with an x5c chain it
 * stays far below this. Larger headers are refused before JSON parsing. */
#define MAX_HEADER_BYTES 8192
/* Nesting limits checked before jansson sees the text (whose own limit is
 * 2048). A JWS header needs 3 (jwk inside, x5c array); claims rarely 5. */
#define MAX_HEADER_DEPTH 4
#define MAX_PAYLOAD_DEPTH 32
/* Candidate keys tried without allocating. */
#define STACK_KEYS 16
/* Decoded bytes of a default-sized token fit here: 6144 for 8192 chars. */
#define STACK_DECODE 6144

struct seg {
	const char *p;
	size_t n;
};

/* Split tok into exactly three segments at the two dots (RFC 7515 7.1).
 * A header segment must not be empty. */
static mja_err split(const char *tok, size_t len, struct seg s[3])
{
	const char *end = tok + len, *d1, *d2;

	if (len == 0)
		return MJA_ERR_MALFORMED;
	d1 = memchr(tok, '.', len);
	if (!d1)
		return MJA_ERR_MALFORMED;
	d2 = memchr(d1 + 1, '.', (size_t)(end - (d1 + 1)));
	if (!d2 || memchr(d2 + 1, '.', (size_t)(end - (d2 + 1))))
		return MJA_ERR_MALFORMED;
	s[0] = (struct seg){ tok, (size_t)(d1 - tok) };
	s[1] = (struct seg){ d1 + 1, (size_t)(d2 - (d1 + 1)) };
	s[2] = (struct seg){ d2 + 1, (size_t)(end - (d2 + 1)) };
	if (s[0].n == 0)
		return MJA_ERR_MALFORMED;
	return MJA_OK;
}

/* Parse a JSON object: RFC 7515 4 / RFC 7519 4 (and RFC 8725 3.6 on
 * parser differentials): duplicate member names are refused, the top
 * level must be an object, embedded NUL in strings is refused; the rules
 * are jansson's, with a fast path for the usual claims (json.h). */
static json_t *load_object(const unsigned char *p, size_t n, int max_depth)
{
	return mja_json_load_object(p, n, max_depth);
}

/* typ, RFC 7515 4.1.9 and RFC 8725 3.11 / RFC 9068 2.1: compared
 * case-insensitively. */
static int typ_ok(const json_t *typ)
{
	static const char *const ok[] = { "JWT", "at+jwt" };
	const char *s;
	size_t n;

	if (!json_is_string(typ))
		return 0;
	s = json_string_value(typ);
	n = json_string_length(typ);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strlen(ok[i]) == n && strncasecmp(s, ok[i], n) == 0)
			return 1;
	return 0;
}

/* The header members check_header reads. */
static const char *const header_names[4] = { "alg", "crit", "typ", "kid" };

/* Step 2: everything the header decides, from m, the header's members
 * named header_names (mja_json_pick). On MJA_OK *alg, *kid and *kidlen are
 * set (kid NULL if absent; borrowed from the header). */
static mja_err check_header(const json_t *const m[4], const mja_keyset *ks,
		mja_alg_set allowed, mja_alg *alg, const char **kid, size_t *kidlen)
{
	const json_t *v;
	mja_err e;

	/* RFC 7515 4.1.1: alg is required and is a string. */
	v = m[0];
	if (!json_is_string(v))
		return MJA_ERR_BAD_HEADER;
	/* RFC 7518 3.6 / RFC 8725 3.1: "none" is not a name we know, and the
	 * algorithm must be allowed and usable by some configured key (RFC
	 * 8725 3.1: the key, not the token, decides). */
	e = mja_alg_from_name(json_string_value(v), json_string_length(v), alg);
	if (e != MJA_OK)
		return MJA_ERR_ALG_NOT_ALLOWED;
	if (!(allowed & mja_keyset_algs(ks) & MJA_ALG_BIT(*alg)))
		return MJA_ERR_ALG_NOT_ALLOWED;
	/* RFC 7515 4.1.11: we understand no extension, so any crit (even an
	 * empty or malformed one) means we must refuse. */
	if (m[1])
		return MJA_ERR_CRIT;
	v = m[2];
	if (v && !typ_ok(v))
		return MJA_ERR_BAD_HEADER;
	/* RFC 7515 4.1.4: kid is a string. jku, x5u, jwk, x5c (4.1.2-4.1.6)
	 * are never read: keys come from configuration only (RFC 8725 3.10). */
	v = m[3];
	*kid = NULL;
	*kidlen = 0;
	if (v) {
		if (!json_is_string(v))
			return MJA_ERR_BAD_HEADER;
		*kid = json_string_value(v);
		*kidlen = json_string_length(v);
	}
	return MJA_OK;
}

/* Steps 3-4: any candidate key whose signature verifies passes. */
static mja_err check_signature(const mja_keyset *ks, mja_alg alg, const char *kid,
		size_t kidlen, const char *input, size_t inlen,
		const unsigned char *sig, size_t siglen)
{
	const mja_key *stack[STACK_KEYS], **cand = stack;
	size_t max = mja_keyset_count(ks), n = 0;
	mja_err e, first = MJA_OK;
	int any_bad = 0;

	if (max > STACK_KEYS) {
		cand = calloc(max, sizeof(*cand));
		if (!cand)
			return MJA_ERR_NOMEM;
	} else {
		max = STACK_KEYS;
	}
	/* RFC 7515 4.1.4, docs/design.md "Token rules" 3: kid selects, alg must fit the key. */
	e = mja_keyset_find(ks, alg, kid, kidlen, cand, max, &n);
	if (e != MJA_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		/* RFC 7515 5.2 step 8 */
		mja_err r = mja_sig_verify(cand[i], alg, (const unsigned char *)input,
				inlen, sig, siglen);

		if (r == MJA_OK) {
			e = MJA_OK;
			goto out;
		}
		if (r == MJA_ERR_BAD_SIGNATURE)
			any_bad = 1;
		else if (first == MJA_OK)
			first = r;
	}
	/* fail closed; report another failure only if no key said "bad
	 * signature" (e.g. every candidate hit an internal error) */
	e = (any_bad || first == MJA_OK) ? MJA_ERR_BAD_SIGNATURE : first;
out:
	if (cand != stack)
		free(cand);
	return e;
}

/* ---- header memo (see token.h) ---- */

void mja_token_memo_init(mja_token_memo *m)
{
	if (m)
		memset(m, 0, sizeof(*m));
}

void mja_token_memo_clear(mja_token_memo *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < MJA_TOKEN_MEMO_SLOTS; i++)
		json_decref(m->slot[i].header);
	memset(m, 0, sizeof(*m));
}

/* The slot of a byte-identical header segment seen before in a token that
 * passed every check, or -1. */
static int memo_slot(const mja_token_memo *m, const char *seg, size_t n)
{
	if (!m || n == 0 || n > MJA_TOKEN_MEMO_MAX_SEGMENT)
		return -1;
	for (int i = 0; i < MJA_TOKEN_MEMO_SLOTS; i++)
		if (m->slot[i].len == n && memcmp(m->slot[i].seg, seg, n) == 0)
			return i;
	return -1;
}

int mja_token_memo_alg(const mja_token_memo *m, const char *tok, size_t len, mja_alg *alg)
{
	const char *dot;
	const json_t *a;
	int i;

	if (!m || !tok || !alg)
		return 0;
	dot = memchr(tok, '.', len < MJA_TOKEN_MEMO_MAX_SEGMENT + 1 ? len : MJA_TOKEN_MEMO_MAX_SEGMENT + 1);
	if (!dot || (i = memo_slot(m, tok, (size_t)(dot - tok))) < 0)
		return 0;
	a = m->slot[i].pick[0];
	return json_is_string(a) &&
		mja_alg_from_name(json_string_value(a), json_string_length(a), alg) == MJA_OK;
}

static void memo_add(mja_token_memo *m, const char *seg, size_t n, json_t *header)
{
	size_t i;

	if (!m || n == 0 || n > MJA_TOKEN_MEMO_MAX_SEGMENT)
		return;
	i = m->next++ % MJA_TOKEN_MEMO_SLOTS;
	json_decref(m->slot[i].header);
	memcpy(m->slot[i].seg, seg, n);
	m->slot[i].len = n;
	m->slot[i].header = json_incref(header);
	mja_json_pick(header, header_names, 4, m->slot[i].pick);
}

mja_err mja_token_verify(const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out)
{
	return mja_token_verify_ex(ks, o, tok, len, now, NULL, out);
}

mja_err mja_token_verify_ex(const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token_memo *memo,
		mja_token **out)
{
	unsigned char stackbuf[STACK_DECODE], *buf = stackbuf, *hdr, *pay, *sig;
	size_t maxlen, need, hn = 0, pn, sn;
	struct seg s[3];
	json_t *header = NULL, *payload = NULL, *known;
	const json_t *hm[4];
	mja_claims_found found;
	int slot;
	mja_token *t;
	mja_alg alg;
	const char *kid;
	size_t kidlen;
	mja_err e;

	if (out)
		*out = NULL;
	if (!ks || !o || !out || (!tok && len))
		return MJA_ERR_INVAL;

	/* docs/design.md "Token rules" 1: the size cap comes before anything else. */
	maxlen = o->max_token_bytes ? o->max_token_bytes : MJA_DEFAULT_MAX_TOKEN_BYTES;
	if (len > maxlen)
		return MJA_ERR_TOO_LONG;

	/* RFC 7515 7.1: three segments. An empty signature is an unsecured
	 * JWS (RFC 7515 A.5 / RFC 7519 6): never acceptable here. */
	e = split(tok, len, s);
	if (e != MJA_OK)
		return e;
	if (s[2].n == 0)
		return MJA_ERR_MALFORMED;

	/* A header segment byte-identical to one that already passed strict
	 * base64url and JSON parsing gives the same object: only the
	 * decoding, parsing and member lookups are skipped, the checks below
	 * all run. */
	slot = memo_slot(memo, s[0].p, s[0].n);
	known = slot < 0 ? NULL : memo->slot[slot].header;

	/* RFC 7515 2 / docs/design.md "Token rules" 1: strict base64url for every segment. */
	need = (known ? 0 : mja_b64url_decoded_max(s[0].n)) + mja_b64url_decoded_max(s[1].n) +
		mja_b64url_decoded_max(s[2].n); /* <= len, cannot overflow */
	if (need > sizeof(stackbuf)) {
		buf = malloc(need);
		if (!buf)
			return MJA_ERR_NOMEM;
	}
	hdr = buf;
	if (!known && mja_b64url_decode(s[0].p, s[0].n, hdr, &hn) != MJA_OK)
		goto malformed;
	pay = hdr + hn;
	if (mja_b64url_decode(s[1].p, s[1].n, pay, &pn) != MJA_OK)
		goto malformed;
	sig = pay + pn;
	if (mja_b64url_decode(s[2].p, s[2].n, sig, &sn) != MJA_OK)
		goto malformed;

	/* Step 2: the JOSE header (RFC 7515 4, 5.2 steps 3-5). */
	e = MJA_ERR_BAD_HEADER;
	if (known) {
		header = json_incref(known);
	} else {
		if (hn > MAX_HEADER_BYTES)
			goto out;
		header = load_object(hdr, hn, MAX_HEADER_DEPTH);
		if (!header)
			goto out;
	}
	if (known)
		memcpy(hm, memo->slot[slot].pick, sizeof(hm));
	else
		mja_json_pick(header, header_names, 4, hm);
	e = check_header(hm, ks, o->algorithms ? o->algorithms : MJA_ALG_SET_ALL,
			&alg, &kid, &kidlen);
	if (e != MJA_OK)
		goto out;

	/* Steps 3-4: key and signature over the original ASCII segments. */
	e = check_signature(ks, alg, kid, kidlen, tok, (size_t)(s[1].p + s[1].n - tok),
			sig, sn);
	if (e != MJA_OK)
		goto out;

	/* Step 5: the claims set (RFC 7519 7.2 steps 9-10). */
	payload = load_object(pay, pn, MAX_PAYLOAD_DEPTH);
	if (!payload) {
		e = MJA_ERR_BAD_PAYLOAD;
		goto out;
	}
	/* Steps 6-7 */
	e = mja_claims_check_found(payload, &o->claims, now, &found);
	if (e != MJA_OK)
		goto out;

	t = calloc(1, sizeof(*t));
	if (!t) {
		e = MJA_ERR_NOMEM;
		goto out;
	}
	/* the token passed every check: its header may be remembered */
	if (!known)
		memo_add(memo, s[0].p, s[0].n, header);
	t->alg = alg;
	t->header = header;
	t->payload = payload;
	t->sub = json_is_string(found.sub) ? json_string_value(found.sub) : NULL;
	t->has_exp = mja_claims_exp_value(found.exp, &t->exp);
	t->kid = kid;
	t->jti = found.jti;
	t->iat = found.iat;
	header = payload = NULL;
	*out = t;
	e = MJA_OK;
	goto out;
malformed:
	e = MJA_ERR_MALFORMED;
out:
	json_decref(header);
	json_decref(payload);
	if (buf != stackbuf)
		free(buf);
	return e;
}

void mja_token_free(mja_token *t)
{
	if (!t)
		return;
	json_decref(t->header);
	json_decref(t->payload);
	free(t);
}

/* 1 for the base64url alphabet (RFC 4648 5), 2 for '.', 0 otherwise: one
 * load a byte on the CONNECT path instead of a chain of range tests. */
static const unsigned char jwt_char[256] = {
	['-'] = 1, ['_'] = 1, ['.'] = 2,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
	['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
	['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
	['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
	['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* 1 iff p[0..n) is all base64url: the table's values ANDed, eight bytes a
 * round (a '.' gives 2, anything else outside the alphabet 0). */
static int all_b64url(const unsigned char *p, size_t n)
{
	unsigned acc = 1;
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		acc &= jwt_char[p[i]] & jwt_char[p[i + 1]] & jwt_char[p[i + 2]] &
			jwt_char[p[i + 3]] & jwt_char[p[i + 4]] & jwt_char[p[i + 5]] &
			jwt_char[p[i + 6]] & jwt_char[p[i + 7]];
	for (; i < n; i++)
		acc &= jwt_char[p[i]];
	return acc == 1;
}

int mja_token_looks_like_jwt(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	const char *d1, *d2;

	if (!s || len == 0)
		return 0;
	d1 = memchr(s, '.', len);
	if (!d1 || d1 == s)
		return 0;
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - s));
	if (!d2)
		return 0;
	/* a third dot fails the last segment's alphabet check */
	return all_b64url(u, (size_t)(d1 - s)) &&
		all_b64url(u + (d1 + 1 - s), (size_t)(d2 - d1 - 1)) &&
		all_b64url(u + (d2 + 1 - s), len - (size_t)(d2 + 1 - s));
}

mja_err mja_token_decode_unverified(const char *tok, size_t len,
		json_t **header, json_t **payload)
{
	struct seg s[3];
	unsigned char *buf, *p;
	size_t n[3];
	mja_err e;

	if (header)
		*header = NULL;
	if (payload)
		*payload = NULL;
	if (!header || !payload || (!tok && len))
		return MJA_ERR_INVAL;
	e = split(tok, len, s);
	if (e != MJA_OK)
		return e;
	buf = malloc(mja_b64url_decoded_max(len) + 1);
	if (!buf)
		return MJA_ERR_NOMEM;
	/* the signature is not checked, but every segment must be base64url */
	p = buf;
	for (int i = 0; i < 3; i++) {
		e = mja_b64url_decode(s[i].p, s[i].n, p, &n[i]);
		if (e != MJA_OK)
			goto out;
		p += n[i];
	}
	e = MJA_ERR_BAD_HEADER;
	*header = load_object(buf, n[0], MAX_HEADER_DEPTH);
	if (!*header)
		goto out;
	e = MJA_ERR_BAD_PAYLOAD;
	*payload = load_object(buf + n[0], n[1], MAX_PAYLOAD_DEPTH);
	if (!*payload) {
		json_decref(*header);
		*header = NULL;
		goto out;
	}
	e = MJA_OK;
out:
	free(buf);
	return e;
}
