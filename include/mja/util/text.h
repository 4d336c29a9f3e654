/* text.h - the one definition of each text rule: UTF-8, blank characters,
 * a valid sub, and the escaping of values written to a log line.
 *
 * Every module that checks UTF-8, splits words, checks a sub (or any claim
 * the plugin turns into a username or a topic substitution) or logs a value
 * from a token, a client or a file calls these; none keeps its own copy.
 */
#ifndef MJA_TEXT_H
#define MJA_TEXT_H

#include <stddef.h>

/* 1 iff p[0..len) is well-formed UTF-8 (RFC 3629 4): no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated
 * sequence. NUL bytes are valid UTF-8 (callers that refuse them say so).
 * p may be NULL when len is 0. */
int mja_utf8_valid(const char *p, size_t len);

/* Length of the well-formed UTF-8 sequence at p[0..len) (1 to 4), or 0 if
 * there is none (len 0, or an ill-formed or truncated sequence). */
size_t mja_utf8_seq(const char *p, size_t len);

/* Blank: space or tab, the characters that separate words on a line (ACL
 * file, option lists, mosquitto.conf). */
int mja_text_is_blank(int c);

/* White space: a blank, or one of "\r\n\v\f" (C's isspace in the "C"
 * locale, independent of the process locale). Trimmed from both ends of a
 * whole value (an option value, an ACL line, text before a key). */
int mja_text_is_space(int c);

/* The sub rule (RFC 7519 4.1.2; docs: a sub names an MQTT subject and
 * becomes the broker's username and the ACL's %s): 1 iff p[0..len) is
 * 1..256 bytes of valid UTF-8 with
 *  - no C0 control byte (0x00-0x1F) and no DEL (0x7F),
 *  - no C1 control character (U+0080..U+009F) and no Unicode line or
 *    paragraph separator (U+2028, U+2029): line breaks for some readers,
 *  - no '+' or '#' (MQTT wildcards).
 * A value that fails it is refused with MJA_ERR_BAD_SUB. */
int mja_sub_valid(const char *p, size_t len);

/* A bounded, printable copy of s[0..len) for a log line or a diagnostic,
 * always NUL-terminated in buf[0..size) (nothing written when size is 0).
 * Printable ASCII and well-formed UTF-8 are copied; C0 control bytes, DEL,
 * '"', '\\', bytes of invalid UTF-8, C1 controls and U+2028/U+2029 are
 * written as \xHH (one per byte), so no value can break or recolour a log
 * line or end a quoted field. When the result does not fit, it is cut at a
 * character boundary and ends in "...". s == NULL gives "(none)". */
void mja_text_printable(const char *s, size_t len, char *buf, size_t size);

#endif
