/* text.h - text rules shared by every module.
 *
 * mja_text_printable: the one escaping helper for a value written to a log
 * line or a diagnostic. */
#ifndef MJA_TEXT_H
#define MJA_TEXT_H

#include <stddef.h>

/* A bounded, printable copy of s[0..len) in buf[0..size), always
 * NUL-terminated (nothing written when size is 0). Printable ASCII is
 * copied; control bytes (0x00-0x1F), DEL, '"', '\\' and every byte that is
 * not ASCII are written as \xHH, so no value can break or recolour a log
 * line. Cut with "..." when it does not fit. s == NULL gives "(none)". */
void mja_text_printable(const char *s, size_t len, char *buf, size_t size);

#endif
