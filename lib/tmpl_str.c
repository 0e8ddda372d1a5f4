/*
 * tmpl_str.c - Python's str methods and formatting for the template
 * interpreter: case mapping (full Unicode, final sigma), strip, split,
 * find, replace, justification, printf-style "%" and str.format().
 *
 * Invariants:
 * - Indices and lengths are in code points, as in Python; byte offsets
 *   never leak out.  Inputs are valid UTF-8 and so are all results.
 * - Results are allocated in the render arena; scratch buffers (q_buf)
 *   are freed on every path.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tmpl_int.h"
#include "tmpl_str.h"
#include "utf8.h"

static int put_cp(q_buf *b, uint32_t cp)
{
	char u[4];
	return q_buf_add(b, u, q_utf8_put(cp, u));
}

/* Decodes s into a code point array in the arena; *n gets the count. */
uint32_t *tstr_cps(trender *r, tstr s, size_t *n)
{
	size_t len = tmpl_u8len(s.p, s.n);
	uint32_t *v = ta_alloc(&r->a, (len + 1) * sizeof *v);
	if (!v)
		return NULL;
	size_t i = 0, k = 0;
	while (i < s.n)
		i += tmpl_u8dec(s.p + i, s.n - i, &v[k++]);
	*n = k;
	return v;
}

/* Python's str.isspace() for one code point. */
int tstr_isspace_cp(uint32_t cp)
{
	return cp < 0x80 ? (cp == ' ' || (cp >= 9 && cp <= 13) || (cp >= 0x1c && cp <= 0x1f)) : tmpl_uc_space(cp);
}

/* CPython's lower_ucs4: Σ becomes ς at the end of a word. */
static int lower_at(const uint32_t *c, size_t n, size_t i, uint32_t out[3])
{
	if (c[i] != 0x3A3)
		return tmpl_uc_lower(c[i], out);
	size_t j = i;
	int fin = 0;
	while (j > 0 && (tmpl_uc_flags(c[j - 1]) & UC_IGNORABLE))
		j--;
	if (j > 0 && (tmpl_uc_flags(c[j - 1]) & UC_CASED)) {
		size_t k = i + 1;
		while (k < n && (tmpl_uc_flags(c[k]) & UC_IGNORABLE))
			k++;
		fin = k == n || !(tmpl_uc_flags(c[k]) & UC_CASED);
	}
	out[0] = fin ? 0x3C2 : 0x3C3;
	return 1;
}

/* upper(), lower(), title(), capitalize(), swapcase() of s. */
int tstr_case(trender *r, tstr s, int mode, tv *out)
{
	int ascii = 1;
	for (size_t i = 0; i < s.n && ascii; i++)
		ascii = (unsigned char)s.p[i] < 0x80;
	if (ascii) {
		char *p = ta_alloc(&r->a, s.n + 1);
		if (!p)
			return -1;
		int prev_cased = 0;
		for (size_t i = 0; i < s.n; i++) {
			char c = s.p[i];
			int up = c >= 'A' && c <= 'Z', lo = c >= 'a' && c <= 'z';
			int to_up;
			switch (mode) {
			case CASE_UPPER: to_up = 1; break;
			case CASE_LOWER: to_up = 0; break;
			case CASE_TITLE: to_up = !prev_cased; break;
			case CASE_CAPITALIZE: to_up = i == 0; break;
			default: to_up = lo; break;
			}
			if (to_up && lo)
				c = (char)(c - 32);
			else if (!to_up && up)
				c = (char)(c + 32);
			p[i] = c;
			prev_cased = up || lo;
		}
		*out = tv_strv(p, s.n);
		return 0;
	}
	size_t n;
	uint32_t *c = tstr_cps(r, s, &n), m[3];
	if (!c)
		return -1;
	q_buf b = Q_BUF_INIT;
	int prev_cased = 0, rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int k, f = tmpl_uc_flags(c[i]);
		switch (mode) {
		case CASE_UPPER: k = tmpl_uc_upper(c[i], m); break;
		case CASE_LOWER: k = lower_at(c, n, i, m); break;
		case CASE_TITLE:
			k = prev_cased ? lower_at(c, n, i, m) : tmpl_uc_title(c[i], m);
			prev_cased = (f & UC_CASED) != 0;
			break;
		case CASE_CAPITALIZE: k = i == 0 ? tmpl_uc_title(c[i], m) : lower_at(c, n, i, m); break;
		default:
			if (f & UC_UPPER)
				k = lower_at(c, n, i, m);
			else if (f & UC_LOWER)
				k = tmpl_uc_upper(c[i], m);
			else {
				m[0] = c[i];
				k = 1;
			}
		}
		for (int j = 0; j < k && rc == 0; j++)
			rc = put_cp(&b, m[j]);
	}
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&b);
	return rc;
}

/* str.islower() / isupper() / istitle(). */
int tstr_is_case(trender *r, tstr s, int mode)
{
	size_t n;
	uint32_t *c = tstr_cps(r, s, &n);
	if (!c)
		return -1;
	int cased = 0, prev_cased = 0;
	for (size_t i = 0; i < n; i++) {
		int f = tmpl_uc_flags(c[i]);
		if (mode == CASE_LOWER) {
			if (f & (UC_UPPER | UC_TITLE))
				return 0;
			if (f & UC_LOWER)
				cased = 1;
		} else if (mode == CASE_UPPER) {
			if (f & (UC_LOWER | UC_TITLE))
				return 0;
			if (f & UC_UPPER)
				cased = 1;
		} else {
			if (f & (UC_UPPER | UC_TITLE)) {
				if (prev_cased)
					return 0;
				prev_cased = cased = 1;
			} else if (f & UC_LOWER) {
				if (!prev_cased)
					return 0;
				prev_cased = cased = 1;
			} else {
				prev_cased = 0;
			}
		}
	}
	return cased;
}

/* isalpha / isdigit / isdecimal / isnumeric / isalnum / isspace. */
int tstr_is_class(trender *r, tstr s, int cls)
{
	size_t n;
	uint32_t *c = tstr_cps(r, s, &n);
	if (!c)
		return -1;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t x = c[i];
		int ok;
		switch (cls) {
		case CLS_ALPHA: ok = tmpl_uc_alpha(x); break;
		case CLS_DIGIT: ok = tmpl_uc_digit(x); break;
		case CLS_DECIMAL: ok = tmpl_uc_decimal(x); break;
		case CLS_NUMERIC: ok = tmpl_uc_numeric(x); break;
		case CLS_ALNUM: ok = tmpl_uc_alpha(x) || tmpl_uc_decimal(x) || tmpl_uc_digit(x) || tmpl_uc_numeric(x); break;
		default: ok = tstr_isspace_cp(x); break;
		}
		if (!ok)
			return 0;
	}
	return 1;
}

/* strip / lstrip / rstrip: chars NULL strips whitespace. which: 1 left, 2 right, 3 both. */
int tstr_strip(trender *r, tstr s, const tstr *chars, int which, tv *out)
{
	size_t nc = 0;
	uint32_t *set = NULL;
	if (chars && !(set = tstr_cps(r, *chars, &nc)))
		return -1;
	size_t b = 0, e = s.n;
	while (b < e && (which & 1)) {
		uint32_t cp;
		size_t l = tmpl_u8dec(s.p + b, e - b, &cp);
		int hit = 0;
		if (!chars)
			hit = tstr_isspace_cp(cp);
		for (size_t i = 0; i < nc && !hit; i++)
			hit = set[i] == cp;
		if (!hit)
			break;
		b += l;
	}
	while (e > b && (which & 2)) {
		size_t st = e - 1;
		while (st > b && ((unsigned char)s.p[st] & 0xC0) == 0x80)
			st--;
		uint32_t cp;
		tmpl_u8dec(s.p + st, e - st, &cp);
		int hit = 0;
		if (!chars)
			hit = tstr_isspace_cp(cp);
		for (size_t i = 0; i < nc && !hit; i++)
			hit = set[i] == cp;
		if (!hit)
			break;
		e = st;
	}
	*out = tv_strv(s.p + b, e - b);
	return 0;
}

static int push_str(trender *r, tlist *l, const char *p, size_t n)
{
	return tl_push(r, l, tv_strv(p, n));
}

/* Length in bytes of the whitespace code point at p (0 if none). */
static size_t ws_at(const char *p, size_t n)
{
	uint32_t cp;
	size_t l = tmpl_u8dec(p, n, &cp);
	return tstr_isspace_cp(cp) ? l : 0;
}

/* str.split(sep, maxsplit) (right = 0) or str.rsplit (right = 1). */
int tstr_split(trender *r, tstr s, const tstr *sep, int64_t maxsplit, int right, tv *out)
{
	tlist *l = tl_new(r, 0);
	if (!l)
		return -1;
	if (maxsplit < 0)
		maxsplit = INT64_MAX;
	if (sep && !sep->n)
		return q_error("empty separator");
	if (!right) {
		size_t i = 0;
		if (!sep) {
			for (;;) {
				size_t w;
				while (i < s.n && (w = ws_at(s.p + i, s.n - i)))
					i += w;
				if (i >= s.n)
					break;
				if (maxsplit-- == 0) {
					if (push_str(r, l, s.p + i, s.n - i) < 0)
						return -1;
					break;
				}
				size_t j = i;
				while (j < s.n && !ws_at(s.p + j, s.n - j))
					j += tmpl_u8dec(s.p + j, s.n - j, &(uint32_t){0});
				if (push_str(r, l, s.p + i, j - i) < 0)
					return -1;
				i = j;
			}
		} else {
			for (;;) {
				const char *hit = maxsplit-- > 0 ? memmem(s.p + i, s.n - i, sep->p, sep->n) : NULL;
				if (!hit) {
					if (push_str(r, l, s.p + i, s.n - i) < 0)
						return -1;
					break;
				}
				if (push_str(r, l, s.p + i, (size_t)(hit - (s.p + i))) < 0)
					return -1;
				i = (size_t)(hit - s.p) + sep->n;
			}
		}
	} else {
		/* collect from the right, then reverse */
		size_t e = s.n;
		if (!sep) {
			for (;;) {
				while (e > 0) {
					size_t st = e - 1;
					while (st > 0 && ((unsigned char)s.p[st] & 0xC0) == 0x80)
						st--;
					if (!ws_at(s.p + st, e - st))
						break;
					e = st;
				}
				if (e == 0)
					break;
				if (maxsplit-- == 0) {
					if (push_str(r, l, s.p, e) < 0)
						return -1;
					break;
				}
				size_t b = e;
				while (b > 0) {
					size_t st = b - 1;
					while (st > 0 && ((unsigned char)s.p[st] & 0xC0) == 0x80)
						st--;
					if (ws_at(s.p + st, b - st))
						break;
					b = st;
				}
				if (push_str(r, l, s.p + b, e - b) < 0)
					return -1;
				e = b;
			}
		} else {
			for (;;) {
				const char *hit = NULL;
				if (maxsplit-- > 0 && e >= sep->n)
					for (size_t k = e - sep->n + 1; k-- > 0;)
						if (memcmp(s.p + k, sep->p, sep->n) == 0) {
							hit = s.p + k;
							break;
						}
				if (!hit) {
					if (push_str(r, l, s.p, e) < 0)
						return -1;
					break;
				}
				size_t after = (size_t)(hit - s.p) + sep->n;
				if (push_str(r, l, s.p + after, e - after) < 0)
					return -1;
				e = (size_t)(hit - s.p);
			}
		}
		for (size_t i = 0; i < l->n / 2; i++) {
			tv t = l->v[i];
			l->v[i] = l->v[l->n - 1 - i];
			l->v[l->n - 1 - i] = t;
		}
	}
	*out = tv_list(l, L_LIST);
	return 0;
}

/* str.splitlines(keepends). */
int tstr_splitlines(trender *r, tstr s, int keepends, tv *out)
{
	tlist *l = tl_new(r, 0);
	if (!l)
		return -1;
	size_t i = 0, start = 0;
	while (i < s.n) {
		uint32_t cp;
		size_t cl = tmpl_u8dec(s.p + i, s.n - i, &cp);
		int brk = cp == '\n' || cp == '\r' || cp == 0x0b || cp == 0x0c || cp == 0x1c || cp == 0x1d ||
			  cp == 0x1e || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
		if (!brk) {
			i += cl;
			continue;
		}
		size_t eol = i;
		i += cl;
		if (cp == '\r' && i < s.n && s.p[i] == '\n')
			i++;
		if (push_str(r, l, s.p + start, (keepends ? i : eol) - start) < 0)
			return -1;
		start = i;
	}
	if (start < s.n && push_str(r, l, s.p + start, s.n - start) < 0)
		return -1;
	*out = tv_list(l, L_LIST);
	return 0;
}

/* str.replace(old, new, count). */
int tstr_replace(trender *r, tstr s, tstr old, tstr nw, int64_t count, tv *out)
{
	if (count < 0)
		count = INT64_MAX;
	q_buf b = Q_BUF_INIT;
	int rc = 0;
	if (!old.n) {
		/* insert nw before every code point and at the end */
		size_t i = 0;
		while (rc == 0 && count > 0) {
			rc = q_buf_add(&b, nw.p, nw.n);
			if (rc == 0 && b.len > r->lim.max_output)
				rc = q_error("string too large");
			count--;
			if (i >= s.n)
				break;
			size_t cl = tmpl_u8dec(s.p + i, s.n - i, &(uint32_t){0});
			if (rc == 0)
				rc = q_buf_add(&b, s.p + i, cl);
			i += cl;
		}
		if (rc == 0 && i < s.n)
			rc = q_buf_add(&b, s.p + i, s.n - i);
	} else {
		size_t i = 0;
		while (rc == 0) {
			const char *hit = count > 0 ? memmem(s.p + i, s.n - i, old.p, old.n) : NULL;
			if (!hit) {
				rc = q_buf_add(&b, s.p + i, s.n - i);
				break;
			}
			rc = q_buf_add(&b, s.p + i, (size_t)(hit - (s.p + i)));
			if (rc == 0)
				rc = q_buf_add(&b, nw.p, nw.n);
			if (rc == 0 && b.len > r->lim.max_output)
				rc = q_error("string too large");
			i = (size_t)(hit - s.p) + old.n;
			count--;
		}
	}
	if (rc == 0 && b.len > r->lim.max_output)
		rc = q_error("string too large");
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&b);
	return rc;
}

/* Python's ADJUST_INDICES for (start, end) in code points, as byte offsets. */
int tstr_bounds(tstr s, int64_t start, int64_t end, int has_end, size_t *b0, size_t *b1)
{
	int64_t len = (int64_t)tmpl_u8len(s.p, s.n);
	if (!has_end || end > len)
		end = len;
	else if (end < 0 && (end += len) < 0)
		end = 0;
	if (start < 0 && (start += len) < 0)
		start = 0;
	if (start > end)
		return -1;
	*b0 = tmpl_u8off(s.p, s.n, (size_t)start);
	*b1 = tmpl_u8off(s.p, s.n, (size_t)end);
	return 0;
}

/* find / rfind: code point index or -1. */
int64_t tstr_find(tstr s, tstr sub, int64_t start, int64_t end, int has_end, int rev)
{
	size_t b0, b1;
	if (tstr_bounds(s, start, end, has_end, &b0, &b1) < 0 || b1 - b0 < sub.n)
		return -1;
	const char *hit = NULL;
	if (!rev) {
		hit = sub.n ? memmem(s.p + b0, b1 - b0, sub.p, sub.n) : s.p + b0;
	} else {
		for (size_t k = b1 - sub.n + 1; k-- > b0;)
			if (memcmp(s.p + k, sub.p, sub.n) == 0) {
				hit = s.p + k;
				break;
			}
	}
	return hit ? (int64_t)tmpl_u8len(s.p, (size_t)(hit - s.p)) : -1;
}

/* count(sub, start, end): non-overlapping occurrences. */
int64_t tstr_count(tstr s, tstr sub, int64_t start, int64_t end, int has_end)
{
	size_t b0, b1;
	if (tstr_bounds(s, start, end, has_end, &b0, &b1) < 0)
		return 0;
	if (!sub.n)
		return (int64_t)tmpl_u8len(s.p + b0, b1 - b0) + 1;
	int64_t k = 0;
	size_t i = b0;
	const char *hit;
	while (i <= b1 && (hit = memmem(s.p + i, b1 - i, sub.p, sub.n))) {
		k++;
		i = (size_t)(hit - s.p) + sub.n;
	}
	return k;
}

/* center / ljust / rjust (align 0 / -1 / 1) to width with fill. */
int tstr_justify(trender *r, tstr s, int64_t width, uint32_t fill, int align, tv *out)
{
	int64_t len = (int64_t)tmpl_u8len(s.p, s.n);
	if (width <= len) {
		*out = tv_strv(s.p, s.n);
		return 0;
	}
	if (width > (int64_t)r->lim.max_output)
		return q_error("string too large");
	int64_t marg = width - len, left;
	if (align < 0)
		left = 0;
	else if (align > 0)
		left = marg;
	else
		left = marg / 2 + (marg & width & 1);
	q_buf b = Q_BUF_INIT;
	int rc = 0;
	for (int64_t i = 0; i < left && rc == 0; i++)
		rc = put_cp(&b, fill);
	if (rc == 0)
		rc = q_buf_add(&b, s.p, s.n);
	for (int64_t i = left; i < marg && rc == 0; i++)
		rc = put_cp(&b, fill);
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&b);
	return rc;
}

/* ---- formatting ------------------------------------------------------- */

/* Applies a numeric-or-string conversion with width / flags into b. */
typedef struct fspec {
	uint32_t fill;
	char align;   /* '<', '>', '^', '=' or 0 */
	char sign;    /* '+', '-', ' ' or 0 */
	int alt, zero, comma;
	int64_t width, prec;  /* -1 if absent */
	char type;    /* 0 if absent */
} fspec;

/* Appends body padded to f->width with f->fill as f->align says ('=' pads
 * between the sign_len bytes of sign and the digits). */
static int pad_out(q_buf *b, const char *body, size_t n, const fspec *f, char dflt_align, size_t sign_len)
{
	int64_t len = (int64_t)tmpl_u8len(body, n);
	int64_t padn = f->width > len ? f->width - len : 0;
	char align = f->align ? f->align : dflt_align;
	uint32_t fill = f->fill ? f->fill : ' ';
	int64_t left = align == '<' ? 0 : align == '^' ? padn / 2 : padn;
	if (align == '=') {
		if (q_buf_add(b, body, sign_len) < 0)
			return -1;
		for (int64_t i = 0; i < padn; i++)
			if (put_cp(b, fill) < 0)
				return -1;
		return q_buf_add(b, body + sign_len, n - sign_len);
	}
	for (int64_t i = 0; i < left; i++)
		if (put_cp(b, fill) < 0)
			return -1;
	if (q_buf_add(b, body, n) < 0)
		return -1;
	for (int64_t i = left; i < padn; i++)
		if (put_cp(b, fill) < 0)
			return -1;
	return 0;
}

/* Inserts ',' every three digits into the integer part of num. */
static void group_digits(const char *num, char *out)
{
	const char *p = num;
	char *o = out;
	if (*p == '-' || *p == '+' || *p == ' ')
		*o++ = *p++;
	size_t nd = strspn(p, "0123456789");
	for (size_t i = 0; i < nd; i++) {
		*o++ = p[i];
		if ((nd - i - 1) % 3 == 0 && i + 1 < nd)
			*o++ = ',';
	}
	strcpy(o, p + nd);
}

static int spec_empty(const fspec *f)
{
	return !f->fill && !f->align && !f->sign && !f->alt && !f->zero && !f->comma && f->width < 0 &&
	       f->prec < 0 && !f->type;
}

/* format(v, spec) for the types we model (Python's format spec mini-language). */
static int format_value(trender *r, q_buf *b, tv v, const fspec *f)
{
	char num[1200], tmp[1100];
	int isnumv = v.t == V_INT || v.t == V_BOOL || v.t == V_FLOAT;
	if (!isnumv && v.t != V_STR) {
		/* object.__format__: only the empty spec, meaning str(v) */
		if (!spec_empty(f))
			return q_error("unsupported format string passed to %s.__format__", tv_typename(v));
		tv s;
		if (tv_to_text(r, v, &s) < 0)
			return -1;
		return q_buf_add(b, s.u.s.p, s.u.s.n);
	}
	if (v.t == V_STR) {
		if (f->type && f->type != 's')
			return q_error("Unknown format code '%c' for object of type 'str'", f->type);
		if (f->sign || f->comma || f->alt)
			return q_error("invalid format specifier");
		if (f->align == '=')
			return q_error("'=' alignment not allowed in string format specifier");
		size_t n = v.u.s.n;
		if (f->prec >= 0)
			n = tmpl_u8off(v.u.s.p, v.u.s.n, (size_t)f->prec);
		fspec g = *f;
		if (g.zero && !g.fill)  /* "08" pads a string with zeros, on the right */
			g.fill = '0';
		return pad_out(b, v.u.s.p, n, &g, '<', 0);
	}
	char type = f->type;
	if (type == 's')
		return q_error("Unknown format code 's' for object of type '%s'", tv_typename(v));
	if (v.t == V_BOOL && spec_empty(f))
		return q_buf_adds(b, v.u.i ? "True" : "False");
	const char *signs = f->sign == '+' ? "+" : f->sign == ' ' ? " " : "";
	if (v.t != V_FLOAT && (!type || type == 'd' || type == 'x' || type == 'X' || type == 'o' || type == 'b' || type == 'c')) {
		int64_t x = v.u.i;
		if (f->prec >= 0)
			return q_error("Precision not allowed in integer format specifier");
		unsigned long long ax = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
		const char *sg = x < 0 ? "-" : signs;
		if (type == 'c') {
			if (x < 0 || x > 0x10FFFF)
				return q_error("%%c arg not in range(0x110000)");
			q_buf t = Q_BUF_INIT;
			int rc = put_cp(&t, (uint32_t)x);
			if (rc == 0)
				rc = pad_out(b, t.p, t.len, f, '<', 0);
			q_buf_free(&t);
			return rc;
		}
		if (type == 'b') {
			char bits[70];
			int k = 0;
			do {
				bits[k++] = (char)('0' + (ax & 1));
				ax >>= 1;
			} while (ax);
			char *o = num + sprintf(num, "%s%s", sg, f->alt ? "0b" : "");
			while (k)
				*o++ = bits[--k];
			*o = 0;
		} else if (type == 'x' || type == 'X' || type == 'o') {
			sprintf(num, type == 'x' ? "%s%s%llx" : type == 'X' ? "%s%s%llX" : "%s%s%llo", sg,
				f->alt ? (type == 'o' ? "0o" : type == 'x' ? "0x" : "0X") : "", ax);
		} else {
			sprintf(num, "%s%llu", sg, ax);
			if (f->comma) {
				group_digits(num, tmp);
				strcpy(num, tmp);
			}
		}
		size_t sl = strlen(sg) + (f->alt && type && type != 'd' ? 2 : 0);
		if (f->zero && !f->align) {
			fspec g = *f;
			g.fill = '0';
			g.align = '=';
			return pad_out(b, num, strlen(num), &g, '>', sl);
		}
		return pad_out(b, num, strlen(num), f, '>', sl);
	}
	double x = v.t == V_FLOAT ? v.u.f : (double)v.u.i;
	if (type == 'd' || type == 'x' || type == 'X' || type == 'o' || type == 'b' || type == 'c')
		return q_error("Unknown format code '%c' for object of type 'float'", type);
	int prec = f->prec >= 0 ? (int)(f->prec > 300 ? 300 : f->prec) : 6;
	const char *sg = signbit(x) && !isnan(x) ? "-" : signs;
	double ax = fabs(x);
	if (!type && f->prec < 0) {
		tv_float_repr(ax, tmp);
		snprintf(num, sizeof num, "%s%s", sg, tmp);
	} else if (isinf(ax) || isnan(ax)) {
		int upper = type == 'F' || type == 'E' || type == 'G';
		snprintf(num, sizeof num, "%s%s", sg, isnan(ax) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf"));
	} else if (type == '%') {
		snprintf(num, sizeof num, "%s%.*f%%", sg, prec, ax * 100);
	} else if (!type) {
		/* like 'g' but always with a digit after the point when in fixed form */
		snprintf(tmp, sizeof tmp, "%.*g", prec ? prec : 1, ax);
		if (!strpbrk(tmp, ".en"))
			strcat(tmp, ".0");
		snprintf(num, sizeof num, "%s%s", sg, tmp);
	} else if (type == 'f' || type == 'F' || type == 'e' || type == 'E' || type == 'g' || type == 'G') {
		char fmt[16];
		snprintf(fmt, sizeof fmt, "%%s%%%s.*%c", f->alt ? "#" : "", type);
		snprintf(num, sizeof num, fmt, sg, prec, ax);
	} else {
		return q_error("Unknown format code '%c' for object of type 'float'", type);
	}
	if (f->comma) {
		group_digits(num, tmp);
		strcpy(num, tmp);
	}
	if (f->zero && !f->align) {
		fspec g = *f;
		g.fill = '0';
		g.align = '=';
		return pad_out(b, num, strlen(num), &g, '>', strlen(sg));
	}
	return pad_out(b, num, strlen(num), f, '>', strlen(sg));
}

/* Parses a format spec "[[fill]align][sign][#][0][width][,][.prec][type]". */
static int parse_spec(const char *s, size_t n, fspec *f)
{
	memset(f, 0, sizeof *f);
	f->width = f->prec = -1;
	size_t i = 0;
	uint32_t cp;
	size_t l = n ? tmpl_u8dec(s, n, &cp) : 0;
	if (l && l < n && strchr("<>^=", s[l])) {
		f->fill = cp;
		f->align = s[l];
		i = l + 1;
	} else if (n && strchr("<>^=", s[0])) {
		f->align = s[0];
		i = 1;
	}
	if (i < n && (s[i] == '+' || s[i] == '-' || s[i] == ' '))
		f->sign = s[i++];
	if (i < n && s[i] == '#') {
		f->alt = 1;
		i++;
	}
	if (i < n && s[i] == '0') {
		f->zero = 1;
		i++;
	}
	if (i < n && s[i] >= '0' && s[i] <= '9') {
		f->width = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9' && f->width < 100000000)
			f->width = f->width * 10 + (s[i++] - '0');
	}
	if (i < n && s[i] == ',') {
		f->comma = 1;
		i++;
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return q_error("Format specifier missing precision");
		f->prec = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9' && f->prec < 100000000)
			f->prec = f->prec * 10 + (s[i++] - '0');
	}
	if (i < n)
		f->type = s[i++];
	if (i < n)
		return q_error("Invalid format specifier");
	if (f->width > 10000000)
		return q_error("Too many decimal digits in format string");
	return 0;
}

/* Python's str.format() (sandboxed): {} {0} {name} {0.attr} {0[key]} !r !s :spec. */
int tstr_format(trender *r, tstr fmt, const targs *a, int esc, tv *out)
{
	q_buf b = Q_BUF_INIT;
	int rc = 0, auto_idx = 0, used_manual = 0, used_auto = 0;
	size_t i = 0;
	while (i < fmt.n && rc == 0) {
		char c = fmt.p[i];
		if (c == '}') {
			if (i + 1 < fmt.n && fmt.p[i + 1] == '}') {
				rc = q_buf_addc(&b, '}');
				i += 2;
				continue;
			}
			rc = q_error("Single '}' encountered in format string");
			break;
		}
		if (c != '{') {
			rc = q_buf_addc(&b, c);
			i++;
			continue;
		}
		if (i + 1 < fmt.n && fmt.p[i + 1] == '{') {
			rc = q_buf_addc(&b, '{');
			i += 2;
			continue;
		}
		size_t j = i + 1;
		int nest = 1;
		while (j < fmt.n && nest) {
			if (fmt.p[j] == '{')
				nest++;
			else if (fmt.p[j] == '}')
				nest--;
			if (nest)
				j++;
		}
		if (j >= fmt.n) {
			rc = q_error("expected '}' before end of string");
			break;
		}
		const char *f = fmt.p + i + 1;
		size_t fn = j - i - 1, k = 0;
		/* field name: arg_name ("." name | "[" key "]")* */
		while (k < fn && f[k] != '.' && f[k] != '[' && f[k] != '!' && f[k] != ':')
			k++;
		tv v;
		if (k == 0) {
			if (used_manual) {
				rc = q_error("cannot switch from manual field specification to automatic field numbering");
				break;
			}
			used_auto = 1;
			if (auto_idx >= a->npos) {
				rc = q_error("Replacement index %d out of range for positional args tuple", auto_idx);
				break;
			}
			v = a->pos[auto_idx++];
		} else if (f[0] >= '0' && f[0] <= '9') {
			if (used_auto) {
				rc = q_error("cannot switch from automatic field numbering to manual field specification");
				break;
			}
			used_manual = 1;
			long idx = strtol(f, NULL, 10);
			if (idx >= a->npos) {
				rc = q_error("Replacement index %ld out of range for positional args tuple", idx);
				break;
			}
			v = a->pos[idx];
		} else {
			int found = 0;
			for (int q = 0; q < a->nkw; q++)
				if (a->kwn[q].n == k && !memcmp(a->kwn[q].p, f, k)) {
					v = a->kwv[q];
					found = 1;
				}
			if (!found) {
				rc = q_error("'%.*s'", (int)k, f);
				break;
			}
		}
		while (rc == 0 && k < fn && (f[k] == '.' || f[k] == '[')) {
			if (f[k] == '.') {
				size_t e = k + 1;
				while (e < fn && f[e] != '.' && f[e] != '[' && f[e] != '!' && f[e] != ':')
					e++;
				rc = tmpl_getattr(r, v, (tstr){f + k + 1, e - k - 1}, &v);
				k = e;
			} else {
				size_t e = k + 1;
				while (e < fn && f[e] != ']')
					e++;
				if (e >= fn) {
					rc = q_error("Missing ']' in format string");
					break;
				}
				tstr key = {f + k + 1, e - k - 1};
				int digits = key.n > 0;
				for (size_t q = 0; q < key.n; q++)
					digits &= key.p[q] >= '0' && key.p[q] <= '9';
				rc = tmpl_getitem(r, v, digits ? tv_int(strtoll(key.p, NULL, 10)) : tv_strv(key.p, key.n), &v);
				k = e + 1;
			}
		}
		if (rc < 0)
			break;
		if (v.t == V_UNDEF && v.k != U_HINT) {
			rc = tv_undef_error(r, v);
			break;
		}
		char conv = 0;
		if (k < fn && f[k] == '!') {
			conv = k + 1 < fn ? f[k + 1] : 0;
			k += 2;
			if (conv != 'r' && conv != 's' && conv != 'a') {
				rc = q_error("Unknown conversion specifier %c", conv ? conv : '?');
				break;
			}
		}
		fspec sp;
		if (k < fn && f[k] == ':')
			rc = parse_spec(f + k + 1, fn - k - 1, &sp);
		else if (k < fn)
			rc = q_error("expected ':' after conversion specifier");
		else
			rc = parse_spec("", 0, &sp);
		if (rc < 0)
			break;
		if (conv) {
			q_buf t = Q_BUF_INIT;
			rc = conv == 's' ? tv_str(r, &t, v) : tv_repr(r, &t, v);
			if (rc == 0)
				rc = tv_str_from_buf(r, &t, &v);
			q_buf_free(&t);
		}
		if (rc == 0 && esc && v.t == V_STR && v.k) {
			/* Markup's EscapeFormatter: Markup fields go in as they are */
			rc = spec_empty(&sp) ? q_buf_add(&b, v.u.s.p, v.u.s.n)
					     : q_error("Unsupported format specification for Markup.");
		} else if (rc == 0 && esc) {
			q_buf t = Q_BUF_INIT;
			tv fs, e;
			rc = format_value(r, &t, v, &sp);
			if (rc == 0)
				rc = tv_str_from_buf(r, &t, &fs);
			if (rc == 0)
				rc = tmpl_markup_escape(r, fs, &e);
			if (rc == 0)
				rc = q_buf_add(&b, e.u.s.p, e.u.s.n);
			q_buf_free(&t);
		} else if (rc == 0) {
			rc = format_value(r, &b, v, &sp);
		}
		if (rc == 0 && b.len > r->lim.max_output)
			rc = q_error("string too large");
		i = j + 1;
	}
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&b);
	return rc;
}

/* printf-style fmt % args (args: a tuple, a dict for %(name)s, or one value). */
int tmpl_str_format(trender *r, tv fmt, tv args, tv *out)
{
	const tlist *tup = args.t == V_LIST && args.k == L_TUPLE ? args.u.l : NULL;
	size_t argi = 0, nargs = tup ? tup->n : 1;
	int used_dict = 0;
	/* like PyUnicode_Format: a non-tuple argument with __getitem__ (dict,
	 * list, undefined...) is a mapping: no "not all arguments converted" */
	int mapping = !tup && (args.t == V_DICT || args.t == V_UNDEF ||
			       (args.t == V_LIST && (args.k == L_LIST || args.k == L_RANGE)));
	q_buf b = Q_BUF_INIT;
	int rc = 0;
	const char *s = fmt.u.s.p;
	size_t n = fmt.u.s.n, i = 0;
	while (i < n && rc == 0) {
		if (s[i] != '%') {
			size_t j = i;
			while (j < n && s[j] != '%')
				j++;
			rc = q_buf_add(&b, s + i, j - i);
			i = j;
			continue;
		}
		i++;
		if (i >= n) {
			rc = q_error("incomplete format");
			break;
		}
		tv v = {.t = V_NONE};
		int have = 0;
		if (s[i] == '(') {
			size_t e = i + 1;
			int depth = 1;
			while (e < n && depth) {
				if (s[e] == '(')
					depth++;
				else if (s[e] == ')')
					depth--;
				if (depth)
					e++;
			}
			if (e >= n) {
				rc = q_error("incomplete format key");
				break;
			}
			if (!mapping) {
				rc = q_error("format requires a mapping");
				break;
			}
			if (args.t == V_DICT) {
				int g = td_get(r, args.u.d, tv_strv(s + i + 1, e - i - 1), &v);
				if (g <= 0) {
					rc = g < 0 ? -1 : q_error("'%.*s'", (int)(e - i - 1), s + i + 1);
					break;
				}
			} else {
				rc = args.t == V_UNDEF ? tv_undef_error(r, args)
						       : q_error("list indices must be integers or slices, not str");
				break;
			}
			have = used_dict = 1;
			i = e + 1;
		}
		fspec f;
		memset(&f, 0, sizeof f);
		f.width = f.prec = -1;
		while (i < n && strchr("-+ #0", s[i])) {
			if (s[i] == '-')
				f.align = '<';
			else if (s[i] == '+')
				f.sign = '+';
			else if (s[i] == ' ' && f.sign != '+')
				f.sign = ' ';
			else if (s[i] == '#')
				f.alt = 1;
			else
				f.zero = 1;
			i++;
		}
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			f.width = (f.width < 0 ? 0 : f.width) * 10 + (s[i++] - '0');
			if (f.width > 10000000) {
				rc = q_error("width too big");
				break;
			}
		}
		if (rc < 0)
			break;
		if (i < n && s[i] == '.') {
			i++;
			f.prec = 0;
			while (i < n && s[i] >= '0' && s[i] <= '9' && f.prec < 100000)
				f.prec = f.prec * 10 + (s[i++] - '0');
		}
		if (i >= n) {
			rc = q_error("incomplete format");
			break;
		}
		char conv = s[i++];
		if (conv == '%') {
			rc = q_buf_addc(&b, '%');
			continue;
		}
		if (b.len > r->lim.max_output) {
			rc = q_error("string too large");
			break;
		}
		if (!have) {
			if (argi >= nargs) {
				rc = q_error("not enough arguments for format string");
				break;
			}
			v = tup ? tup->v[argi] : args;
			argi++;
		}
		if (v.t == V_UNDEF && (conv != 's' && conv != 'r')) {
			rc = tv_undef_error(r, v);
			break;
		}
		if (f.align == '<')
			f.zero = 0;
		switch (conv) {
		case 's':
		case 'r':
		case 'a': {
			tv t;
			q_buf tb = Q_BUF_INIT;
			rc = conv == 's' ? tv_str(r, &tb, v) : tv_repr(r, &tb, v);
			if (rc == 0)
				rc = tv_str_from_buf(r, &tb, &t);
			q_buf_free(&tb);
			/* Markup % x escapes x (a Markup x only through repr) */
			if (rc == 0 && fmt.k && !(conv == 's' && v.t == V_STR && v.k))
				rc = tmpl_markup_escape(r, t, &t);
			if (rc == 0) {
				fspec g = f;
				g.type = 's';
				g.sign = 0;
				g.alt = 0;
				if (!g.align)
					g.align = '>';
				rc = format_value(r, &b, t, &g);
			}
			break;
		}
		case 'd':
		case 'i':
		case 'u':
		case 'x':
		case 'X':
		case 'o':
		case 'c':
		case 'f':
		case 'F':
		case 'e':
		case 'E':
		case 'g':
		case 'G': {
			if (conv == 'c' && v.t == V_STR) {  /* %c takes a one-character string too */
				if (tmpl_u8len(v.u.s.p, v.u.s.n) != 1) {
					rc = q_error("%%c requires int or char");
					break;
				}
				fspec h = f;
				h.type = 's';
				h.sign = 0;
				h.zero = 0;
				h.prec = -1;
				if (!h.align)
					h.align = '>';
				rc = format_value(r, &b, v, &h);
				break;
			}
			if (v.t != V_INT && v.t != V_BOOL && v.t != V_FLOAT) {
				rc = conv == 'c' ? q_error("%%c requires int or char")
						 : q_error("%%%c format: a real number is required, not %s", conv, tv_typename(v));
				break;
			}
			fspec g = f;
			g.type = (conv == 'i' || conv == 'u') ? 'd' : conv;
			if (strchr("xXoc", g.type) && v.t == V_FLOAT) {
				rc = q_error(conv == 'c' ? "%%c requires int or char" : "%%%c format: an integer is required, not float", conv);
				break;
			}
			if (strchr("dxXoc", g.type)) {
				if (v.t == V_FLOAT) {
					if (!isfinite(v.u.f) || fabs(v.u.f) >= 9.2e18) {
						rc = q_error("cannot convert float to a 64-bit integer");
						break;
					}
					v = tv_int((int64_t)v.u.f);
				} else if (v.t == V_BOOL) {
					v = tv_int(v.u.i);
				}
				int64_t prec = g.prec;
				g.prec = -1;
				if (prec > 0 && g.type != 'c') {
					/* %.Nd pads with zeros to N digits */
					char digits[80];
					long long x = v.u.i;
					snprintf(digits, sizeof digits, "%s%0*llu", x < 0 ? "-" : (g.sign ? (char[]){g.sign, 0} : ""),
						 (int)(prec > 60 ? 60 : prec), x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x);
					fspec h = g;
					h.type = 's';
					h.sign = 0;
					if (!h.align)
						h.align = '>';
					rc = format_value(r, &b, tv_strv(digits, strlen(digits)), &h);
					break;
				}
			} else if (v.t != V_FLOAT) {
				v = tv_float((double)v.u.i);
			}
			if (!g.align)
				g.align = g.zero ? 0 : '>';
			rc = format_value(r, &b, v, &g);
			break;
		}
		default:
			rc = q_error("unsupported format character '%c'", conv);
		}
	}
	if (rc == 0 && !used_dict && argi < nargs && !mapping)
		rc = q_error("not all arguments converted during string formatting");
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&b);
	if (rc == 0)
		out->k = fmt.k;
	return rc;
}

/* markupsafe.escape(): & < > " ' become entities; Markup passes through. */
int tmpl_markup_escape(trender *r, tv v, tv *out)
{
	if (v.t == V_STR && v.k) {
		*out = v;
		return 0;
	}
	tv s;
	if (tv_to_text(r, v, &s) < 0)
		return -1;
	q_buf b = Q_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < s.u.s.n && rc == 0; i++) {
		char c = s.u.s.p[i];
		switch (c) {
		case '&': rc = q_buf_adds(&b, "&amp;"); break;
		case '<': rc = q_buf_adds(&b, "&lt;"); break;
		case '>': rc = q_buf_adds(&b, "&gt;"); break;
		case '"': rc = q_buf_adds(&b, "&#34;"); break;
		case '\'': rc = q_buf_adds(&b, "&#39;"); break;
		default: rc = q_buf_addc(&b, c);
		}
	}
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&b);
	if (rc == 0)
		out->k = 1;
	return rc;
}
