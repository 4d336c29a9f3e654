/* text.c - text rules shared by every module (text.h). */
#include <stdio.h>
#include <string.h>

#include "mja/text.h"

void mja_text_printable(const char *s, size_t len, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (size == 0)
		return;
	if (!s) {
		snprintf(buf, size, "(none)");
		return;
	}
	for (i = 0; i < len; i++) {
		unsigned char b = (unsigned char)s[i];
		int esc = b < 0x20 || b >= 0x7f || b == '"' || b == '\\';
		size_t need = esc ? 4 : 1;

		/* room for this byte and, if more follow, "..." and the NUL */
		if (o + need + (i + 1 < len ? 3 : 0) + 1 > size) {
			if (size >= 4) {
				while (o + 4 > size)
					o--;
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (esc) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[b >> 4];
			buf[o++] = hex[b & 15];
		} else {
			buf[o++] = (char)b;
		}
	}
	buf[o] = '\0';
}
