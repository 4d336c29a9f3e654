/* json.c - a token's JSON objects: jansson's rules, a fast path for the
 * common subset (json.h). */
#include <string.h>

#include "mja/token/json.h"
#include "mja/util/text.h"

/* 1 iff the JSON text's array/object nesting never exceeds max. Strings
 * are skipped (with their escapes); the text is validated by the parser
 * afterwards, this only bounds the work and recursion of jansson. */
static int depth_ok(const unsigned char *p, size_t n, int max)
{
	int depth = 0, in_str = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return 0;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return 1;
}

/* ---- the subset parser: NULL means "ask jansson", never "refused" ---- */

/* String bytes: 1 printable ASCII and DEL (jansson refuses only bytes below
 * 0x20 raw), 2 a byte of a multi-byte UTF-8 sequence (validated per
 * string), 0 the end quote, a backslash or a control byte. */
static const unsigned char str_class[256] = {
	[0x20] = 1, [0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1,
	[0x80 ... 0xff] = 2,
};

/* The longest string with escapes decoded on the stack; longer ones go
 * to jansson. */
#define ESCAPED_MAX 256

struct rd {
	const unsigned char *p, *end;
	int depth, max;
};

static void skip_ws(struct rd *r)
{
	/* RFC 8259 2: the four whitespace characters, as jansson */
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

/* The string at r->p (just after its opening quote): *s and *n set to its
 * bytes, a view of the input, or decoded into buf (ESCAPED_MAX bytes) when
 * it has escapes; r->p moved past the closing quote. 1 on success, 0 to
 * punt. */
static int string_body(struct rd *r, char *buf, const char **s, size_t *n)
{
	const unsigned char *q = r->p, *start = r->p;
	int multi = 0;
	size_t o = 0;

	while (q < r->end && str_class[*q]) {
		multi |= str_class[*q] & 2;
		q++;
	}
	if (q == r->end)
		return 0;
	if (*q == '"') {
		*s = (const char *)start;
		*n = (size_t)(q - start);
		r->p = q + 1;
		goto check;
	}
	if (*q != '\\')
		return 0;                    /* a control byte: jansson refuses */
	/* escapes: decode the whole string into buf */
	if ((size_t)(q - start) > ESCAPED_MAX)
		return 0;
	memcpy(buf, start, (size_t)(q - start));
	o = (size_t)(q - start);
	while (q < r->end && *q != '"') {
		unsigned char c = *q++;

		if (o == ESCAPED_MAX)
			return 0;
		if (str_class[c]) {
			multi |= str_class[c] & 2;
			buf[o++] = (char)c;
			continue;
		}
		if (c != '\\' || q == r->end)
			return 0;
		switch (*q++) {
		case '"': buf[o++] = '"'; break;
		case '\\': buf[o++] = '\\'; break;
		case '/': buf[o++] = '/'; break;
		case 'b': buf[o++] = '\b'; break;
		case 'f': buf[o++] = '\f'; break;
		case 'n': buf[o++] = '\n'; break;
		case 'r': buf[o++] = '\r'; break;
		case 't': buf[o++] = '\t'; break;
		default: return 0;           /* \u, or not an escape */
		}
	}
	if (q == r->end)
		return 0;
	*s = buf;
	*n = o;
	r->p = q + 1;
check:
	/* jansson checks UTF-8 byte by byte; the escapes above add ASCII only */
	return !multi || mja_utf8_valid(*s, *n);
}

static json_t *value(struct rd *r);

static json_t *string_value(struct rd *r)
{
	char buf[ESCAPED_MAX];
	const char *s;
	size_t n;

	r->p++;
	if (!string_body(r, buf, &s, &n))
		return NULL;
	return json_stringn_nocheck(s, n);
}

/* An integer of at most 18 digits (never out of the int64 range); a
 * fraction, an exponent or more digits go to jansson. */
static json_t *number(struct rd *r)
{
	const unsigned char *q = r->p;
	int neg = 0, digits = 0;
	json_int_t v = 0;

	if (*q == '-') {
		neg = 1;
		q++;
	}
	if (q == r->end || *q < '0' || *q > '9')
		return NULL;
	if (*q == '0' && q + 1 < r->end && q[1] >= '0' && q[1] <= '9')
		return NULL;                 /* a leading zero: jansson refuses */
	while (q < r->end && *q >= '0' && *q <= '9') {
		if (++digits > 18)
			return NULL;
		v = v * 10 + (*q++ - '0');
	}
	if (q < r->end && (*q == '.' || *q == 'e' || *q == 'E'))
		return NULL;
	r->p = q;
	return json_integer(neg ? -v : v);
}

static json_t *literal(struct rd *r, const char *word, size_t n, json_t *v)
{
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return NULL;
	r->p += n;
	return v;
}

/* Members whose names are remembered for the duplicate check; an object
 * with more asks jansson's table. */
#define SEEN_MAX 16

static json_t *object(struct rd *r)
{
	struct { const char *k; size_t n; } seen[SEEN_MAX];
	size_t n_seen = 0;
	int table = 0;
	json_t *o;

	if (++r->depth > r->max)
		return NULL;
	o = json_object();
	if (!o)
		return NULL;
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		r->depth--;
		return o;
	}
	for (;;) {
		char buf[ESCAPED_MAX];
		const char *k;
		size_t kn;
		json_t *v;

		if (r->p == r->end || *r->p != '"')
			goto punt;
		r->p++;
		if (!string_body(r, buf, &k, &kn))
			goto punt;
		skip_ws(r);
		if (r->p == r->end || *r->p != ':')
			goto punt;
		r->p++;
		skip_ws(r);
		/* RFC 7515 4 / RFC 7519 4: a duplicate name is jansson's
		 * refusal (JSON_REJECT_DUPLICATES). While every name so far
		 * is a view of the input and there are few, they are compared
		 * here; after that jansson's table (which holds them all) is
		 * asked. */
		if (!table && k != buf && n_seen < SEEN_MAX) {
			for (size_t i = 0; i < n_seen; i++)
				if (seen[i].n == kn && memcmp(seen[i].k, k, kn) == 0)
					goto punt;
			seen[n_seen].k = k;
			seen[n_seen++].n = kn;
		} else {
			table = 1;
			if (json_object_getn(o, k, kn))
				goto punt;
		}
		/* k may point into buf, which value() does not touch */
		v = value(r);
		if (!v || json_object_setn_new_nocheck(o, k, kn, v) != 0)
			goto punt;
		skip_ws(r);
		if (r->p == r->end)
			goto punt;
		if (*r->p == '}')
			break;
		if (*r->p != ',')
			goto punt;
		r->p++;
		skip_ws(r);
	}
	r->p++;
	r->depth--;
	return o;
punt:
	json_decref(o);
	return NULL;
}

static json_t *array(struct rd *r)
{
	json_t *a;

	if (++r->depth > r->max)
		return NULL;
	a = json_array();
	if (!a)
		return NULL;
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		r->depth--;
		return a;
	}
	for (;;) {
		json_t *v = value(r);

		if (!v || json_array_append_new(a, v) != 0)
			goto punt;
		skip_ws(r);
		if (r->p == r->end)
			goto punt;
		if (*r->p == ']')
			break;
		if (*r->p != ',')
			goto punt;
		r->p++;
		skip_ws(r);
	}
	r->p++;
	r->depth--;
	return a;
punt:
	json_decref(a);
	return NULL;
}

/* A value at r->p (no whitespace before it). */
static json_t *value(struct rd *r)
{
	if (r->p == r->end)
		return NULL;
	switch (*r->p) {
	case '{': return object(r);
	case '[': return array(r);
	case '"': return string_value(r);
	case 't': return literal(r, "true", 4, json_true());
	case 'f': return literal(r, "false", 5, json_false());
	case 'n': return literal(r, "null", 4, json_null());
	default: return number(r);
	}
}

json_t *mja_json__fast_object(const unsigned char *p, size_t n, int max_depth)
{
	struct rd r = { p, p + n, 0, max_depth };
	json_t *o;

	if (!p)
		return NULL;
	skip_ws(&r);
	if (r.p == r.end || *r.p != '{')
		return NULL;
	o = object(&r);
	if (!o)
		return NULL;
	skip_ws(&r);
	if (r.p != r.end) {          /* trailing bytes: jansson refuses */
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *mja_json_load_object(const unsigned char *p, size_t n, int max_depth)
{
	json_error_t err;
	json_t *v;

	if (!p)
		return NULL;
	/* the subset parser bounds its own nesting (and punts past it) */
	v = mja_json__fast_object(p, n, max_depth);
	if (v)
		return v;
	if (!depth_ok(p, n, max_depth))
		return NULL;
	v = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &err);
	if (v && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}
