/* mosquitto_jwt_inspect.c - `mosquitto_jwt inspect`: show a token, unverified.
 *
 * Decoding is mja_token_decode_unverified() (token.c). The output starts
 * with "UNVERIFIED: signature not checked" on stdout, so that whatever
 * reads it (a person, a log, a script) sees that nothing was verified; this
 * command never says "valid".
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mja/token/token.h"
#include "mosquitto_jwt.h"

#define CMD "inspect"

static void help(FILE *f)
{
	fprintf(f,
		"Usage: mosquitto_jwt inspect [options] [TOKEN | -]\n"
		"\n"
		"Print the header and payload of a token WITHOUT verifying it: anyone can\n"
		"write a token that looks like this. Use 'mosquitto_jwt verify' to know\n"
		"whether the broker would accept it. The token is read from stdin when\n"
		"TOKEN is '-' or missing.\n"
		"\n"
		"Output (stdout): the line 'UNVERIFIED: signature not checked', then\n"
		"'header:' and the header as indented JSON, then 'payload:' and the\n"
		"payload, then the times exp / nbf / iat in UTC.\n"
		"\n"
		"  --now SECONDS  the clock for 'expired' / 'in N s' remarks (default: now)\n"
		"  -h, --help     this text\n"
		"\n"
		"Exit codes: 0 decoded, 1 the token cannot be decoded (reason on stderr),\n"
		"2 usage error, 3 stdin cannot be read.\n");
}

static void print_time(const json_t *payload, const char *name, int64_t now)
{
	const json_t *v = json_object_get(payload, name);
	char iso[40], rel[48];
	int64_t t;

	if (json_is_integer(v))
		t = (int64_t)json_integer_value(v);
	else if (json_is_real(v) && json_real_value(v) > -9.2e18 && json_real_value(v) < 9.2e18)
		t = (int64_t)json_real_value(v);
	else {
		if (v)
			printf("%s: not a number\n", name);
		return;
	}
	printf("%s: %lld %s (%s)\n", name, (long long)t, mjt_iso_time(t, iso, sizeof(iso)),
			mjt_relative_time(t, now, rel, sizeof(rel)));
}

int mjt_inspect(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "now", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int64_t now = (int64_t)time(NULL);
	json_t *header = NULL, *payload = NULL;
	char *tok = NULL;
	size_t len;
	mja_err e;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (mjt_parse_int64(optarg, 0, INT64_MAX / 4, &now) != 0) {
				mjt_error(CMD, "--now: not a time in seconds: '%s'", optarg);
				return MJT_EXIT_USAGE;
			}
			break;
		case 'h': help(stdout); return MJT_EXIT_OK;
		default: return mjt_bad_option(CMD, c, argv);
		}
	}
	if (argc - optind > 1) {
		mjt_error(CMD, "one token at a time");
		return MJT_EXIT_USAGE;
	}
	rc = mjt_get_token(CMD, optind < argc ? argv[optind] : NULL, &tok, &len);
	if (rc != MJT_EXIT_OK)
		return rc;
	e = mja_token_decode_unverified(tok, len, &header, &payload);
	if (e != MJA_OK) {
		mjt_error(CMD, "cannot decode: %s", mja_strerror(e));
		free(tok);
		return MJT_EXIT_REFUSED;
	}
	printf("UNVERIFIED: signature not checked\n");
	printf("header:\n");
	mjt_print_json(header);
	printf("payload:\n");
	mjt_print_json(payload);
	if (json_is_object(payload)) {
		print_time(payload, "exp", now);
		print_time(payload, "nbf", now);
		print_time(payload, "iat", now);
	}
	json_decref(header);
	json_decref(payload);
	free(tok);
	return MJT_EXIT_OK;
}
