/* mosquitto_jwt.h - shared pieces of the mosquitto_jwt command-line tool.
 *
 * The tool is a thin front end: every key, token, claim, option and ACL
 * decision is made by mja_core, the same code the plugin runs.
 */
#ifndef MOSQUITTO_JWT_H
#define MOSQUITTO_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "mja/util/error.h"

/* Exit codes, documented in --help, the man page and the README. */
enum {
	MJT_EXIT_OK = 0,        /* done; verify: the token is accepted */
	MJT_EXIT_REFUSED = 1,   /* verify: the token is refused; inspect: cannot be decoded */
	MJT_EXIT_USAGE = 2,     /* bad command line */
	MJT_EXIT_IO = 3         /* a file, key or configuration cannot be used */
};

/* Subcommands: argv[0] is the subcommand's name. */
int mjt_keygen(int argc, char **argv);
int mjt_sign(int argc, char **argv);
int mjt_verify(int argc, char **argv);
int mjt_inspect(int argc, char **argv);

/* "mosquitto_jwt CMD: message" on stderr. */
void mjt_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getopt_long's complaints, reported the same way; returns MJT_EXIT_USAGE.
 * c is getopt's return value (':' or '?'), argv/optind as after the call. */
int mjt_bad_option(const char *cmd, int c, char **argv);

/* Strict decimal integer in [min, max]; 0 on success, -1 otherwise. */
int mjt_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Read a whole stream (stdin); *buf is malloc'd and NUL-terminated (the NUL
 * is not counted in *len). 0 on success; -1 with errno set. Files are read
 * with mja_file_read (file.h), never with this. */
int mjt_read_stream(FILE *f, char **buf, size_t *len);

/* Scrub and free a buffer that held key material. NULL is fine. */
void mjt_free_secret(char *buf, size_t len);

/* The token argument: the string itself, or stdin when arg is NULL or "-"
 * (trailing "\r" / "\n" stripped). *tok is malloc'd. Returns an exit code. */
int mjt_get_token(const char *cmd, const char *arg, char **tok, size_t *len);

/* Pretty-print a JSON value to stdout (indent 2, keys in token order). */
void mjt_print_json(const json_t *v);

/* "2026-01-01T00:00:00Z" for t (UTC); buf has at least 32 bytes. */
const char *mjt_iso_time(int64_t t, char *buf, size_t n);

/* "in 60 s" or "60 s ago" for t seen at now. */
const char *mjt_relative_time(int64_t t, int64_t now, char *buf, size_t n);

#endif
