/* text.c - UTF-8, blank characters, the sub rule, log escaping (text.h). */
#include <string.h>

#include "mja/util/text.h"

/* RFC 7519 4.1.2 leaves sub's form to the application; ours: see text.h. */
#define SUB_MAX 256

size_t mja_utf8_seq(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c, lo = 0x80, hi = 0xbf;
	size_t n;

	if (!s || len == 0)
		return 0;
	c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0; /* continuation byte, overlong C0/C1 lead, or F5..FF */
	if (c == 0xe0)
		lo = 0xa0;      /* overlong 3-byte form */
	else if (c == 0xed)
		hi = 0x9f;      /* U+D800..U+DFFF */
	else if (c == 0xf0)
		lo = 0x90;      /* overlong 4-byte form */
	else if (c == 0xf4)
		hi = 0x8f;      /* above U+10FFFF */
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

int mja_utf8_valid(const char *p, size_t len)
{
	size_t i = 0;

	if (!p)
		return len == 0;
	while (i < len) {
		size_t n;

		if ((unsigned char)p[i] < 0x80) {  /* ASCII runs, the usual case */
			i++;
			continue;
		}
		n = mja_utf8_seq(p + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

int mja_text_is_blank(int c)
{
	return c == ' ' || c == '\t';
}

int mja_text_is_space(int c)
{
	return mja_text_is_blank(c) || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* 1 iff the well-formed sequence p[0..n) must not appear raw in a log line:
 * a C0 control, DEL, a C1 control (C2 80..C2 9F) or U+2028/U+2029 (E2 80 A8,
 * E2 80 A9), which Unicode-aware readers take for a line break. */
static int is_control_seq(const unsigned char *p, size_t n)
{
	if (n == 1)
		return p[0] < 0x20 || p[0] == 0x7f;
	if (n == 2)
		return p[0] == 0xc2 && p[1] < 0xa0;
	if (n == 3)
		return p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9);
	return 0;
}

int mja_sub_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s || len == 0 || len > SUB_MAX)
		return 0;
	for (size_t i = 0; i < len;) {
		size_t n;

		if (p[i] < 0x80) {   /* ASCII, the usual case: the same rule inline */
			if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '+' || p[i] == '#')
				return 0;
			i++;
			continue;
		}
		n = mja_utf8_seq(s + i, len - i);
		if (n == 0 || is_control_seq(p + i, n))
			return 0;
		i += n;
	}
	return 1;
}

/* Bytes needed for the character of n bytes at p[i] (n == 0: one invalid
 * byte); *esc tells whether it is escaped. */
static size_t printable_char(const unsigned char *p, size_t len, size_t i, size_t *n, int *esc)
{
	*n = mja_utf8_seq((const char *)p + i, len - i);
	*esc = *n == 0 || is_control_seq(p + i, *n) ||
		(*n == 1 && (p[i] == '"' || p[i] == '\\'));
	if (*n == 0)
		*n = 1;  /* one invalid byte at a time */
	return *esc ? 4 * *n : *n;
}

void mja_text_printable(const char *s, size_t len, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	static const char none[] = "(none)";
	const unsigned char *p = (const unsigned char *)s;
	size_t i, o = 0, total = 0, n;
	int esc, cut;

	if (size == 0)
		return;
	if (!s) {
		p = (const unsigned char *)none;
		len = sizeof(none) - 1;
	}
	/* the common case: printable ASCII that fits, copied as it is */
	for (i = 0; i < len && p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\'; i++)
		;
	if (i == len && len < size) {
		memcpy(buf, p, len);
		buf[len] = '\0';
		return;
	}
	for (i = 0; i < len; i += n)
		total += printable_char(p, len, i, &n, &esc);
	/* when it does not all fit, keep room for "..." */
	cut = total > size - 1;
	for (i = 0; i < len; i += n) {
		size_t need = printable_char(p, len, i, &n, &esc);

		if (o + need + (cut ? 3 : 0) > size - 1)
			break;
		for (size_t k = 0; k < n; k++) {
			if (esc) {
				buf[o++] = '\\';
				buf[o++] = 'x';
				buf[o++] = hex[p[i + k] >> 4];
				buf[o++] = hex[p[i + k] & 0xf];
			} else {
				buf[o++] = (char)p[i + k];
			}
		}
	}
	if (cut)
		for (int k = 0; k < 3 && o < size - 1; k++)
			buf[o++] = '.';
	buf[o] = '\0';
}
