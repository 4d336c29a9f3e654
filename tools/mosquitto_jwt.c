/* mosquitto_jwt.c - command dispatch and shared helpers of the mosquitto_jwt tool.
 *
 *   mosquitto_jwt <command> [options]
 *
 * In the manner of mosquitto_passwd and mosquitto_ctrl: one subcommand per
 * task, --help for each, errors on stderr, exit codes scripts can rely on.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mosquitto_jwt.h"

#ifndef MJA_VERSION
#define MJA_VERSION "unknown"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mosquitto_jwt <command> [options]\n"
		"\n"
		"Keys and tokens for the mosquitto_jwt_auth plugin, and why a broker with\n"
		"that plugin accepts or refuses a token. Uses the plugin's own code.\n"
		"\n"
		"Commands:\n"
		"  keygen   make a key: HS256/384/512 secret, RSA, EC or Ed25519 key pair,\n"
		"           written as PEM files and a JWKS with a kid\n"
		"  sign     make a signed token (sub, ttl, aud, iss, roles, other claims)\n"
		"  verify   check a token with the plugin options of a mosquitto.conf (or\n"
		"           given on the command line) and say why it would be refused;\n"
		"           with an ACL file, what its subject may publish and subscribe to\n"
		"  inspect  print a token's header and payload WITHOUT verifying it\n"
		"\n"
		"'mosquitto_jwt <command> --help' describes each command.\n"
		"\n"
		"Exit codes:\n"
		"  0  success; verify: the token would be accepted\n"
		"  1  verify: the token would be refused; inspect: it cannot be decoded\n"
		"  2  usage error (unknown option, missing or bad argument)\n"
		"  3  a file, key or configuration cannot be read or used\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "keygen", mjt_keygen },
		{ "sign", mjt_sign },
		{ "verify", mjt_verify },
		{ "inspect", mjt_inspect },
	};

	if (argc < 2) {
		usage(stderr);
		return MJT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			/* "mosquitto_jwt help sign" = "mosquitto_jwt sign --help" */
			char *sub[] = { argv[2], "--help", NULL };

			for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
				if (!strcmp(argv[2], cmds[i].name))
					return cmds[i].fn(2, sub);
			mjt_error(NULL, "unknown command '%s'", argv[2]);
			return MJT_EXIT_USAGE;
		}
		usage(stdout);
		return MJT_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("mosquitto_jwt %s\n", MJA_VERSION);
		return MJT_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	mjt_error(NULL, "unknown command '%s' (try 'mosquitto_jwt --help')", argv[1]);
	return MJT_EXIT_USAGE;
}

void mjt_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, cmd ? "mosquitto_jwt %s: " : "mosquitto_jwt: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int mjt_bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		mjt_error(cmd, "option '%s' needs a value", arg);
	else if (optopt && optopt < 256 && arg[0] == '-' && arg[1] != '-')
		mjt_error(cmd, "unknown option '-%c'", optopt);
	else
		mjt_error(cmd, "unknown option '%s'", arg);
	fprintf(stderr, "Try 'mosquitto_jwt %s --help'.\n", cmd);
	return MJT_EXIT_USAGE;
}

int mjt_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int mjt_read_stream(FILE *f, char **buf, size_t *len)
{
	char *b = NULL, *nb;
	size_t cap = 0, n = 0, got;

	*buf = NULL;
	*len = 0;
	for (;;) {
		if (cap - n < 4096) {
			if (cap > (SIZE_MAX - 4097) / 2) {
				free(b);
				errno = ENOMEM;
				return -1;
			}
			cap = cap * 2 + 4096;
			nb = realloc(b, cap + 1);
			if (!nb) {
				free(b);
				return -1;
			}
			b = nb;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(b);
		errno = EIO;
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

void mjt_free_secret(char *buf, size_t len)
{
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
}

int mjt_get_token(const char *cmd, const char *arg, char **tok, size_t *len)
{
	if (arg && strcmp(arg, "-") != 0) {
		*len = strlen(arg);
		*tok = strdup(arg);
		if (!*tok) {
			mjt_error(cmd, "out of memory");
			return MJT_EXIT_IO;
		}
		return MJT_EXIT_OK;
	}
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "mosquitto_jwt %s: reading the token from stdin (end with Ctrl-D)\n", cmd);
	if (mjt_read_stream(stdin, tok, len) != 0) {
		mjt_error(cmd, "cannot read the token from stdin: %s", strerror(errno));
		return MJT_EXIT_IO;
	}
	while (*len > 0 && ((*tok)[*len - 1] == '\n' || (*tok)[*len - 1] == '\r'))
		(*tok)[--*len] = '\0';
	return MJT_EXIT_OK;
}

void mjt_print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

	if (s) {
		puts(s);
		free(s);
	}
}

const char *mjt_iso_time(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if ((int64_t)tt != t || !gmtime_r(&tt, &tm) ||
			strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "out of range");
	return buf;
}

const char *mjt_relative_time(int64_t t, int64_t now, char *buf, size_t n)
{
	/* both are clamped to a quarter of the int64 range by the callers'
	 * parsers or by mja_claims_exp(); compute in long double to be safe */
	long double diff = (long double)t - (long double)now;

	if (diff >= 0)
		snprintf(buf, n, "in %.0Lf s", diff);
	else
		snprintf(buf, n, "%.0Lf s ago", -diff);
	return buf;
}
