/* mosquitto_jwt_keygen.c - `mosquitto_jwt keygen`: make a signing key.
 *
 * Key pairs (RSA, EC, Ed25519): PREFIX.key (private PEM, 0600),
 * PREFIX.pub.pem (public PEM) and PREFIX.jwks (public JWKS with kid, alg,
 * use). HMAC (HS256/384/512): PREFIX.secret (0600) and PREFIX.jwks (kty oct,
 * 0600, since it holds the secret).
 *
 * The secret file holds printable text: base64url of 32/48/64 random bytes
 * (43/64/86 characters, so 256/384/512 bits of entropy) and a newline. The
 * HMAC key is that text itself, as the plugin's secret_file reads it (the
 * file's bytes less one trailing newline); the JWKS "k" encodes the same
 * bytes. So the secret file, the JWKS and any other JWT library given the
 * file's text all agree.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mja/token/alg.h"
#include "mja/token/b64url.h"
#include "mja/token/key.h"
#include "mosquitto_jwt.h"

#define CMD "keygen"

static void help(FILE *f)
{
	fprintf(f,
		"Usage: mosquitto_jwt keygen --type TYPE [options]\n"
		"\n"
		"Make a signing key and the files a broker needs to verify its tokens.\n"
		"\n"
		"  --type TYPE      hs256 | hs384 | hs512 | rsa | ec | ed25519 (required)\n"
		"  --bits N         rsa: modulus size, 2048 or more (default 2048)\n"
		"  --curve CURVE    ec: P-256 | P-384 | P-521 (default P-256)\n"
		"  --alg ALG        the JWKS \"alg\": rsa RS256 (default), RS384, RS512,\n"
		"                   PS256, PS384, PS512; other types have one algorithm\n"
		"  --kid ID         key id (default: the RFC 7638 JWK thumbprint)\n"
		"  --out-dir DIR    where to write (default: the current directory)\n"
		"  --prefix NAME    file name prefix (default: jwt)\n"
		"  --force          overwrite existing files\n"
		"  -h, --help       this text\n"
		"\n"
		"Files written (mode 0600 for private material):\n"
		"  rsa, ec, ed25519: PREFIX.key      private key, PEM (PKCS#8), 0600\n"
		"                    PREFIX.pub.pem  public key, PEM: plugin_opt_key_file\n"
		"                    PREFIX.jwks     public JWKS with kid: plugin_opt_key_file\n"
		"  hs256/384/512:    PREFIX.secret   the secret, 0600: plugin_opt_secret_file\n"
		"                    PREFIX.jwks     kty oct JWKS with the same secret, 0600\n"
		"\n"
		"The secret file is printable: base64url of 32/48/64 random bytes and a\n"
		"newline. The HMAC key is that text itself (the file's bytes less the\n"
		"trailing newline), which is how the plugin reads secret_file.\n"
		"\n"
		"Exit codes: 0 written, 2 usage error, 3 a file could not be written.\n");
}

struct outfile {
	char *path;
	const char *what;
	mode_t mode;
	const char *data;
	size_t len;
	int created;
};

/* RFC 7638: SHA-256 over the required members, lexicographically ordered,
 * no whitespace; base64url without padding. */
static char *thumbprint(const json_t *jwk)
{
	static const char *const rsa[] = { "e", "kty", "n", NULL };
	static const char *const ec[] = { "crv", "kty", "x", "y", NULL };
	static const char *const okp[] = { "crv", "kty", "x", NULL };
	static const char *const oct[] = { "k", "kty", NULL };
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *const *names;
	json_t *req;
	char *text, *out = NULL;
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!kty)
		return NULL;
	names = !strcmp(kty, "RSA") ? rsa : !strcmp(kty, "EC") ? ec
		: !strcmp(kty, "OKP") ? okp : !strcmp(kty, "oct") ? oct : NULL;
	if (!names)
		return NULL;
	req = json_object();
	for (; req && *names; names++) {
		json_t *v = json_object_get(jwk, *names);

		if (!json_is_string(v) || json_object_set(req, *names, v)) {
			json_decref(req);
			return NULL;
		}
	}
	text = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(req);
	if (text && EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) == 1) {
		out = malloc(mja_b64url_encoded_len(mdlen) + 1);
		if (out)
			mja_b64url_encode(md, mdlen, out);
	}
	free(text);
	return out;
}

static char *join_path(const char *dir, const char *prefix, const char *suffix)
{
	size_t n = strlen(dir) + strlen(prefix) + strlen(suffix) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s%s", dir, prefix, suffix);
	return p;
}

static int write_one(struct outfile *o, int force)
{
	int fd, flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
	size_t off = 0;
	ssize_t w;

	flags |= force ? O_TRUNC : O_EXCL;
	fd = open(o->path, flags, o->mode);
	if (fd < 0)
		return -1;
	o->created = 1;
	/* an existing file keeps its mode on O_TRUNC: set ours */
	if (fchmod(fd, o->mode) != 0)
		goto fail;
	while (off < o->len) {
		w = write(fd, o->data + off, o->len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 && errno != EINVAL)
		goto fail;
	return close(fd);
fail:
	close(fd);
	return -1;
}

/* Write all or none: on a failure, the files made so far are removed. */
static int write_all(struct outfile *o, size_t n, int force)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!force && access(o[i].path, F_OK) == 0) {
			mjt_error(CMD, "%s exists (use --force to overwrite)", o[i].path);
			return MJT_EXIT_IO;
		}
	}
	for (i = 0; i < n; i++) {
		if (write_one(&o[i], force) != 0) {
			mjt_error(CMD, "cannot write %s: %s", o[i].path, strerror(errno));
			for (size_t j = 0; j <= i; j++)
				if (o[j].created)
					unlink(o[j].path);
			return MJT_EXIT_IO;
		}
	}
	for (i = 0; i < n; i++) {
		struct stat st;

		/* the mode the file has (the umask may have narrowed a public one) */
		printf("wrote %s (%s, mode %04o)\n", o[i].path, o[i].what,
				stat(o[i].path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : (unsigned)o[i].mode);
	}
	return MJT_EXIT_OK;
}

static int parse_type(const char *t, mja_kty *kty, mja_alg *alg)
{
	static const struct {
		const char *name;
		mja_kty kty;
		mja_alg alg;
	} types[] = {
		{ "hs256", MJA_KTY_OCT, MJA_ALG_HS256 },
		{ "hs384", MJA_KTY_OCT, MJA_ALG_HS384 },
		{ "hs512", MJA_KTY_OCT, MJA_ALG_HS512 },
		{ "rsa", MJA_KTY_RSA, MJA_ALG_RS256 },
		{ "ec", MJA_KTY_EC, MJA_ALG_ES256 },
		{ "ed25519", MJA_KTY_OKP, MJA_ALG_EDDSA },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (!strcasecmp(t, types[i].name)) {
			*kty = types[i].kty;
			*alg = types[i].alg;
			return 0;
		}
	}
	return -1;
}

/* Make the key. HMAC: random bytes as base64url text (see the top). */
static mja_err make_key(mja_kty kty, int bits, mja_alg alg, mja_key **key,
		char **secret_text, mja_diag *d)
{
	unsigned char raw[64];
	size_t nraw;
	mja_err e;

	*secret_text = NULL;
	if (kty != MJA_KTY_OCT)
		return mja_key_generate(kty, bits, NULL, key, d);
	/* RFC 7518 3.2: a key of at least the hash output size (alg.h) */
	nraw = mja_alg_info_of(alg)->min_key_bytes;
	if (nraw > sizeof(raw))
		return MJA_ERR_INTERNAL;
	if (RAND_bytes(raw, (int)nraw) != 1) {
		mja_diag_set(d, "no random bytes from OpenSSL");
		return MJA_ERR_INTERNAL;
	}
	*secret_text = malloc(mja_b64url_encoded_len(nraw) + 2);
	if (!*secret_text) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return MJA_ERR_NOMEM;
	}
	mja_b64url_encode(raw, nraw, *secret_text);
	OPENSSL_cleanse(raw, sizeof(raw));
	e = mja_key_from_secret((const unsigned char *)*secret_text, strlen(*secret_text),
			NULL, key, d);
	strcat(*secret_text, "\n");
	return e;
}

/* {"keys":[jwk + kid]} as indented text; *kid_out the kid used. */
static char *make_jwks(const char *jwk_text, const char *kid, char **kid_out)
{
	json_t *jwk, *jwks = NULL;
	char *tp = NULL, *text = NULL;

	*kid_out = NULL;
	jwk = json_loads(jwk_text, 0, NULL);
	if (!json_is_object(jwk))
		goto out;
	if (!kid) {
		tp = thumbprint(jwk);
		if (!tp)
			goto out;
		kid = tp;
	}
	if (json_object_set_new(jwk, "kid", json_string(kid)))
		goto out;
	jwks = json_pack("{s:[O]}", "keys", jwk);
	if (jwks)
		text = json_dumps(jwks, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text) {
		char *nl = realloc(text, strlen(text) + 2);

		if (!nl) {
			free(text);
			text = NULL;
			goto out;
		}
		text = strcat(nl, "\n");
	}
	if (text)
		*kid_out = strdup(kid);
	if (text && !*kid_out) {
		free(text);
		text = NULL;
	}
out:
	free(tp);
	json_decref(jwks);
	json_decref(jwk);
	return text;
}

int mjt_keygen(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "bits", required_argument, NULL, 'b' },
		{ "curve", required_argument, NULL, 'c' },
		{ "alg", required_argument, NULL, 'a' },
		{ "kid", required_argument, NULL, 'k' },
		{ "out-dir", required_argument, NULL, 'o' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *type = NULL, *curve = NULL, *alg_name = NULL, *kid = NULL;
	const char *dir = ".", *prefix = "jwt";
	int64_t bits = 0;
	int force = 0, c, rc = MJT_EXIT_IO;
	mja_kty kty;
	mja_alg alg;
	mja_key *key = NULL;
	mja_diag d = { 0 };
	mja_err e;
	char *secret = NULL, *priv = NULL, *pub = NULL, *jwk = NULL, *jwks = NULL, *kid_used = NULL;
	struct outfile out[3];
	size_t nout = 0;

	memset(out, 0, sizeof(out));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lopts, NULL)) != -1) {
		switch (c) {
		case 't': type = optarg; break;
		case 'b':
			if (mjt_parse_int64(optarg, 1, 65536, &bits) != 0) {
				mjt_error(CMD, "--bits: not a number of bits: '%s'", optarg);
				return MJT_EXIT_USAGE;
			}
			break;
		case 'c': curve = optarg; break;
		case 'a': alg_name = optarg; break;
		case 'k': kid = optarg; break;
		case 'o': dir = optarg; break;
		case 'p': prefix = optarg; break;
		case 'f': force = 1; break;
		case 'h': help(stdout); return MJT_EXIT_OK;
		default: return mjt_bad_option(CMD, c, argv);
		}
	}
	if (optind < argc) {
		mjt_error(CMD, "unexpected argument '%s'", argv[optind]);
		return MJT_EXIT_USAGE;
	}
	if (!type) {
		mjt_error(CMD, "--type is required (hs256, hs384, hs512, rsa, ec, ed25519)");
		return MJT_EXIT_USAGE;
	}
	if (parse_type(type, &kty, &alg) != 0) {
		mjt_error(CMD, "--type: unknown key type '%s' (hs256, hs384, hs512, rsa, ec, ed25519)", type);
		return MJT_EXIT_USAGE;
	}
	if (bits && kty != MJA_KTY_RSA) {
		mjt_error(CMD, "--bits is for --type rsa only");
		return MJT_EXIT_USAGE;
	}
	if (curve && kty != MJA_KTY_EC) {
		mjt_error(CMD, "--curve is for --type ec only");
		return MJT_EXIT_USAGE;
	}
	if (kty == MJA_KTY_RSA) {
		if (!bits)
			bits = 2048;
		/* RFC 7518 3.3: RSA keys of 2048 bits or more (alg.h) */
		if (bits < MJA_RSA_MIN_BITS || bits > MJA_RSA_MAX_BITS) {
			mjt_error(CMD, "--bits %lld refused: RSA keys must have %d to %d bits (RFC 7518 3.3)",
					(long long)bits, MJA_RSA_MIN_BITS, MJA_RSA_MAX_BITS);
			return MJT_EXIT_USAGE;
		}
	}
	if (kty == MJA_KTY_EC) {
		/* the table's ECDSA algorithm of that curve (RFC 7518 3.4) */
		int es = curve ? mja_alg_by_curve(curve, strlen(curve)) : (int)MJA_ALG_ES256;

		if (es < 0) {
			mjt_error(CMD, "--curve: unknown curve '%s' (P-256, P-384, P-521)", curve);
			return MJT_EXIT_USAGE;
		}
		alg = (mja_alg)es;
		bits = mja_alg_info_of(alg)->min_bits;
	}
	if (alg_name) {
		mja_alg want;

		if (mja_alg_from_name(alg_name, strlen(alg_name), &want) != MJA_OK) {
			mjt_error(CMD, "--alg: unknown algorithm '%s'", alg_name);
			return MJT_EXIT_USAGE;
		}
		/* one algorithm per key type, except RSA: RS* and PS* (alg.h) */
		if (want != alg && !(kty == MJA_KTY_RSA && mja_alg_info_of(want)->kty == MJA_KTY_RSA)) {
			mjt_error(CMD, "--alg %s does not go with --type %s%s%s", alg_name, type,
					curve ? " --curve " : "", curve ? curve : "");
			return MJT_EXIT_USAGE;
		}
		alg = want;
	}
	if (kid && !*kid) {
		mjt_error(CMD, "--kid must not be empty");
		return MJT_EXIT_USAGE;
	}
	if (!*prefix || strchr(prefix, '/')) {
		mjt_error(CMD, "--prefix must be a non-empty file name without '/'");
		return MJT_EXIT_USAGE;
	}

	e = make_key(kty, (int)bits, alg, &key, &secret, &d);
	if (e != MJA_OK) {
		mjt_error(CMD, "cannot make the key: %s%s%s", mja_strerror(e), d.text[0] ? ": " : "", d.text);
		goto out;
	}
	e = mja_key_public_jwk(key, mja_alg_name(alg), &jwk);
	if (e == MJA_OK && kty != MJA_KTY_OCT) {
		e = mja_key_private_pem(key, &priv);
		if (e == MJA_OK)
			e = mja_key_public_pem(key, &pub);
	}
	if (e != MJA_OK) {
		mjt_error(CMD, "cannot export the key: %s", mja_strerror(e));
		goto out;
	}
	jwks = make_jwks(jwk, kid, &kid_used);
	if (!jwks) {
		mjt_error(CMD, "cannot build the JWKS");
		goto out;
	}
	if (kty == MJA_KTY_OCT) {
		out[nout++] = (struct outfile){ join_path(dir, prefix, ".secret"), "HMAC secret", 0600,
			secret, strlen(secret), 0 };
		out[nout++] = (struct outfile){ join_path(dir, prefix, ".jwks"), "JWKS with the secret", 0600,
			jwks, strlen(jwks), 0 };
	} else {
		out[nout++] = (struct outfile){ join_path(dir, prefix, ".key"), "private key", 0600,
			priv, strlen(priv), 0 };
		out[nout++] = (struct outfile){ join_path(dir, prefix, ".pub.pem"), "public key", 0644,
			pub, strlen(pub), 0 };
		out[nout++] = (struct outfile){ join_path(dir, prefix, ".jwks"), "public JWKS", 0644,
			jwks, strlen(jwks), 0 };
	}
	for (size_t i = 0; i < nout; i++) {
		if (!out[i].path) {
			mjt_error(CMD, "out of memory");
			goto out;
		}
	}
	rc = write_all(out, nout, force);
	if (rc == MJT_EXIT_OK)
		printf("kid %s, alg %s\n", kid_used, mja_alg_name(alg));
out:
	for (size_t i = 0; i < nout; i++)
		free(out[i].path);
	if (secret) {
		OPENSSL_cleanse(secret, strlen(secret));
		free(secret);
	}
	if (priv) {
		OPENSSL_cleanse(priv, strlen(priv));
		free(priv);
	}
	if (jwks && kty == MJA_KTY_OCT)
		OPENSSL_cleanse(jwks, strlen(jwks));
	if (jwk && kty == MJA_KTY_OCT)
		OPENSSL_cleanse(jwk, strlen(jwk));
	free(pub);
	free(jwk);
	free(jwks);
	free(kid_used);
	mja_key_free(key);
	return rc;
}
