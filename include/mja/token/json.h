/* json.h - the one loader of a token's JSON objects (docs/design.md, "Token
 * rules" 2 and 5; RFC 7515 4, RFC 7519 4, RFC 8725 3.6 on parser
 * differentials).
 *
 * jansson decides what is accepted: json_loadb with JSON_REJECT_DUPLICATES
 * (duplicate member names refused, embedded NUL refused, strings valid
 * UTF-8, integers in the int64 range), the top level an object, and the
 * nesting at most max_depth (checked before any parsing, to bound its work).
 *
 * jansson reads its input a character at a time through a stream, which
 * costs more than the rest of a CONNECT. So the common shape of a claims
 * set is first read by a small parser of a strict subset of JSON: objects,
 * arrays, strings of printable ASCII or valid UTF-8 with the two-character
 * escapes (\" \\ \/ \b \f \n \r \t), integers of at most 18 digits, true,
 * false, null. It builds the same jansson tree that json_loadb would (a
 * differential fuzz test, fuzz/fuzz_json.c, holds it to that), and it never
 * refuses anything: any input outside the subset or not well-formed in it
 * (a \u escape, a fraction or exponent, a longer integer, a control
 * character, invalid UTF-8, a duplicate member, trailing bytes, ...) is
 * handed to json_loadb, whose answer stands. So the accepted set and the
 * trees are jansson's by construction, and the subset only decides speed.
 */
#ifndef MJA_JSON_H
#define MJA_JSON_H

#include <stddef.h>
#include <jansson.h>

/* A new object (the caller owns the reference) or NULL: p[0..n) is not one
 * JSON object, or it nests deeper than max_depth, or memory ran out. */
json_t *mja_json_load_object(const unsigned char *p, size_t n, int max_depth);

/* The subset parser alone: a new object, or NULL for "not in the subset,
 * ask jansson" (never a refusal). For the differential fuzz test. */
json_t *mja_json__fast_object(const unsigned char *p, size_t n, int max_depth);

#endif
