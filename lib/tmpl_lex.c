/*
 * tmpl_lex.c - the template lexer, token for token what jinja2's lexer makes
 * with trim_blocks=True, lstrip_blocks=True and the default delimiters.
 *
 * Invariants:
 * - The source is checked to be UTF-8 and normalised first: "\r\n" and "\r"
 *   become "\n" and one trailing newline is dropped (keep_trailing_newline is
 *   off).  Token texts point into that copy or into unescaped copies, all in
 *   the template arena.
 * - Whitespace control is applied here, so TK_DATA texts are final:
 *   "{%-"/"{{-"/"{#-" strip all whitespace before the tag, "-%}"/"-}}"/"-#}"
 *   all whitespace after it; lstrip_blocks removes spaces and tabs between the
 *   start of a line and a block or comment tag unless it opens with "+";
 *   trim_blocks removes the first newline after a block or comment tag
 *   unless it ends with "+%}".  "Whitespace" is Python's str.isspace().
 * - Inside a tag the end delimiter only counts while (), [] and {} balance.
 * - A token's line is the line it starts on; lines are counted exactly as
 *   jinja2 counts them (including newlines removed by "-").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tmpl_int.h"
#include "utf8.h"

typedef struct lx {
	const char *s;
	size_t n, pos;
	int line, line_starting;
	tarena *a;
	ttok *t;
	size_t nt, cap;
	char *bal;  /* stack of expected closing brackets */
	size_t nbal, capbal;
} lx;

/* Length of the str.isspace() character at s (n bytes left), 0 if none. */
static size_t ws_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	if (c < 0x80)
		return (c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f)) ? 1 : 0;
	uint32_t cp;
	size_t l = tmpl_u8dec(s, n, &cp);
	return tmpl_uc_space(cp) ? l : 0;
}

static size_t count_nl(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += s[i] == '\n';
	return k;
}

static int lx_err(lx *l, int line, const char *msg)
{
	(void)l;
	return q_error("template line %d: %s", line, msg);
}

/* Appends a token; returns it (NULL + q_error on allocation failure). */
static ttok *lx_push(lx *l, int type, int line, const char *p, size_t n)
{
	if (l->nt == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		ttok *t = realloc(l->t, nc * sizeof *t);
		if (!t) {
			q_error("out of memory");
			return NULL;
		}
		l->t = t;
		l->cap = nc;
	}
	ttok *t = &l->t[l->nt++];
	memset(t, 0, sizeof *t);
	t->type = type;
	t->line = line;
	t->s.p = p;
	t->s.n = n;
	return t;
}

static int isdig(int c) { return c >= '0' && c <= '9'; }
static int isalpha_(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int ishex(int c) { return isdig(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Matches (\d+_)*\d+ at i; returns the end, or i if no digit is there. */
static size_t digits_us(const char *s, size_t n, size_t i)
{
	if (i >= n || !isdig(s[i]))
		return i;
	while (i < n && isdig(s[i]))
		i++;
	while (i + 1 < n && s[i] == '_' && isdig(s[i + 1])) {
		i++;
		while (i < n && isdig(s[i]))
			i++;
	}
	return i;
}

/* jinja2's float_re at pos; returns the end or pos. */
static size_t match_float(const char *s, size_t n, size_t pos)
{
	if (pos > 0 && s[pos - 1] == '.')
		return pos;
	size_t i = digits_us(s, n, pos);
	if (i == pos)
		return pos;
	/* alternative 1: optional fraction, then a required exponent */
	size_t j = i;
	if (j + 1 < n && s[j] == '.' && isdig(s[j + 1]))
		j = digits_us(s, n, j + 1);
	for (int pass = 0; pass < 2; pass++) {
		size_t k = pass ? i : j;
		if (k < n && (s[k] == 'e' || s[k] == 'E')) {
			k++;
			if (k < n && (s[k] == '+' || s[k] == '-'))
				k++;
			size_t e = digits_us(s, n, k);
			if (e > k)
				return e;
		}
	}
	/* alternative 2: a required fraction */
	if (i + 1 < n && s[i] == '.' && isdig(s[i + 1]))
		return digits_us(s, n, i + 1);
	return pos;
}

/* jinja2's integer_re at pos; returns the end or pos. */
static size_t match_int(const char *s, size_t n, size_t pos, int *base)
{
	if (pos >= n || !isdig(s[pos]))
		return pos;
	if (s[pos] == '0' && pos + 1 < n) {
		char c = (char)(s[pos + 1] | 0x20);
		int b = c == 'b' ? 2 : c == 'o' ? 8 : c == 'x' ? 16 : 0;
		if (b) {
			size_t i = pos + 2;
			for (;;) {
				size_t k = i;
				if (k < n && s[k] == '_')
					k++;
				if (k >= n)
					break;
				int ok = b == 2 ? (s[k] == '0' || s[k] == '1')
				       : b == 8 ? (s[k] >= '0' && s[k] <= '7') : ishex(s[k]);
				if (!ok)
					break;
				i = k + 1;
			}
			if (i > pos + 2) {
				*base = b;
				return i;
			}
		}
	}
	*base = 10;
	size_t i = pos + 1;
	if (s[pos] == '0') {
		while (i < n && (s[i] == '0' || (s[i] == '_' && i + 1 < n && s[i + 1] == '0')))
			i += s[i] == '_' ? 2 : 1;
		return i;
	}
	while (i < n && (isdig(s[i]) || (s[i] == '_' && i + 1 < n && isdig(s[i + 1]))))
		i += s[i] == '_' ? 2 : 1;
	return i;
}

static int hexval(int c)
{
	return isdig(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}

/*
 * Decodes the body of a string literal the way jinja2 does (Python's
 * "unicode-escape" codec after "backslashreplace").  The result goes into
 * the arena; -1 + q_error on a bad escape.
 */
static int unescape(lx *l, const char *s, size_t n, int line, tstr *out)
{
	q_buf b = Q_BUF_INIT;
	size_t i = 0;
	const char *msg = NULL;
	while (i < n) {
		if (s[i] != '\\') {
			size_t j = i;
			while (j < n && s[j] != '\\')
				j++;
			if (q_buf_add(&b, s + i, j - i) < 0)
				goto fail;
			i = j;
			continue;
		}
		if (i + 1 >= n) {
			msg = "\\ at end of string";
			goto fail;
		}
		unsigned char c = (unsigned char)s[i + 1];
		i += 2;
		uint32_t cp = 0;
		int have_cp = 1;
		switch (c) {
		case '\n': have_cp = 0; break;
		case '\\': cp = '\\'; break;
		case '\'': cp = '\''; break;
		case '"': cp = '"'; break;
		case 'a': cp = 7; break;
		case 'b': cp = 8; break;
		case 'f': cp = 12; break;
		case 't': cp = 9; break;
		case 'n': cp = 10; break;
		case 'r': cp = 13; break;
		case 'v': cp = 11; break;
		case 'x': case 'u': case 'U': {
			int want = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			for (int k = 0; k < want; k++) {
				if (i >= n || !ishex(s[i])) {
					msg = c == 'x' ? "truncated \\xXX escape" : c == 'u'
					    ? "truncated \\uXXXX escape" : "truncated \\UXXXXXXXX escape";
					goto fail;
				}
				cp = cp * 16 + (uint32_t)hexval(s[i++]);
			}
			if (cp > 0x10FFFF) {
				msg = "illegal Unicode character";
				goto fail;
			}
			if (cp >= 0xD800 && cp <= 0xDFFF) {
				msg = "unsupported: surrogate code point in string literal";
				goto fail;
			}
			break;
		}
		case 'N':
			msg = "unsupported: \\N{...} escape in string literal";
			goto fail;
		default:
			if (c >= '0' && c <= '7') {
				cp = c - '0';
				for (int k = 0; k < 2 && i < n && s[i] >= '0' && s[i] <= '7'; k++)
					cp = cp * 8 + (uint32_t)(s[i++] - '0');
			} else if (c >= 0x80) {
				/* backslashreplace turned the character into its own
				 * escape, whose backslash this one then escaped */
				uint32_t u;
				size_t ul = tmpl_u8dec(s + i - 1, n - (i - 1), &u);
				i = i - 1 + ul;
				if (q_buf_printf(&b, u < 0x100 ? "\\x%02x" : u < 0x10000 ? "\\u%04x"
						 : "\\U%08x", (unsigned)u) < 0)
					goto fail;
				have_cp = 0;
			} else {
				char two[2] = {'\\', (char)c};
				if (q_buf_add(&b, two, 2) < 0)
					goto fail;
				have_cp = 0;
			}
		}
		if (have_cp) {
			char u8[4];
			if (q_buf_add(&b, u8, q_utf8_put(cp, u8)) < 0)
				goto fail;
		}
	}
	out->n = b.len;
	out->p = ta_strdup(l->a, b.p ? b.p : "", b.len);
	q_buf_free(&b);
	return out->p ? 0 : -1;
fail:
	q_buf_free(&b);
	return msg ? lx_err(l, line, msg) : -1;
}

/* Whitespace control for the text before a tag; emits the TK_DATA token. */
static int emit_text(lx *l, const char *text, size_t tn, char sign, int lstrip_ok)
{
	size_t stripped_nl = 0;
	if (sign == '-') {
		size_t e = tn;
		while (e > 0) {
			/* step back over one code point */
			size_t b = e - 1;
			while (b > 0 && ((unsigned char)text[b] & 0xC0) == 0x80)
				b--;
			if (ws_len(text + b, e - b) != e - b)
				break;
			e = b;
		}
		stripped_nl = count_nl(text + e, tn - e);
		tn = e;
	} else if (sign != '+' && lstrip_ok) {
		size_t lp = tn;
		while (lp > 0 && text[lp - 1] != '\n')
			lp--;
		if ((lp > 0 || l->line_starting) && lp < tn) {
			size_t i = lp;
			while (i < tn) {
				size_t w = ws_len(text + i, tn - i);
				if (!w)
					break;
				i += w;
			}
			if (i == tn)
				tn = lp;
		}
	}
	if (tn && !lx_push(l, TK_DATA, l->line, text, tn))
		return -1;
	l->line += (int)(count_nl(text, tn) + stripped_nl);
	return 0;
}

/* Skips whitespace from i; returns the new position. */
static size_t skip_ws(const char *s, size_t n, size_t i)
{
	size_t w;
	while (i < n && (w = ws_len(s + i, n - i)))
		i += w;
	return i;
}

static int starts(const char *s, size_t n, size_t i, const char *lit)
{
	size_t k = strlen(lit);
	return i + k <= n && memcmp(s + i, lit, k) == 0;
}

/* If a block end ("+%}", "-%}\s*", "%}\n?") starts at i, returns its end. */
static size_t block_end_at(const char *s, size_t n, size_t i)
{
	if (starts(s, n, i, "+%}"))
		return i + 3;
	if (starts(s, n, i, "-%}"))
		return skip_ws(s, n, i + 3);
	if (starts(s, n, i, "%}")) {
		i += 2;
		return i < n && s[i] == '\n' ? i + 1 : i;
	}
	return 0;
}

/* Raw block: {% raw %}...{% endraw %}; pos is just after the raw tag. */
static int lex_raw(lx *l)
{
	const char *s = l->s;
	size_t n = l->n;
	for (size_t i = l->pos; i + 1 < n; i++) {
		if (s[i] != '{' || s[i + 1] != '%')
			continue;
		size_t j = i + 2;
		char sign = 0;
		if (j < n && (s[j] == '-' || s[j] == '+'))
			sign = s[j++];
		j = skip_ws(s, n, j);
		if (!starts(s, n, j, "endraw"))
			continue;
		j = skip_ws(s, n, j + 6);
		size_t e = block_end_at(s, n, j);
		if (!e)
			continue;
		if (emit_text(l, s + l->pos, i - l->pos, sign, 1) < 0)
			return -1;
		l->line += (int)count_nl(s + i, e - i);
		l->line_starting = s[e - 1] == '\n';
		l->pos = e;
		return 0;
	}
	return lx_err(l, l->line, "Missing end of raw directive");
}

/* Comment: pos is just after "{#" and its sign. */
static int lex_comment(lx *l)
{
	const char *s = l->s;
	size_t n = l->n;
	for (size_t i = l->pos; i < n; i++) {
		size_t e = 0;
		if (starts(s, n, i, "+#}"))
			e = i + 3;
		else if (starts(s, n, i, "-#}"))
			e = skip_ws(s, n, i + 3);
		else if (starts(s, n, i, "#}")) {
			e = i + 2;
			if (e < n && s[e] == '\n')
				e++;
		}
		if (!e)
			continue;
		l->line += (int)count_nl(s + l->pos, e - l->pos);
		l->line_starting = s[e - 1] == '\n';
		l->pos = e;
		return 0;
	}
	return lx_err(l, l->line, "Missing end of comment tag");
}

static int bal_push(lx *l, char c)
{
	if (l->nbal == l->capbal) {
		size_t nc = l->capbal ? l->capbal * 2 : 64;
		char *b = realloc(l->bal, nc);
		if (!b)
			return q_error("out of memory");
		l->bal = b;
		l->capbal = nc;
	}
	l->bal[l->nbal++] = c;
	return 0;
}

/* Inside {% %} (block = 1) or {{ }}: tokens up to and including the end. */
static int lex_tag(lx *l, int block)
{
	const char *s = l->s;
	size_t n = l->n;
	char msg[96];
	while (l->pos < n) {
		size_t p = l->pos;
		if (!l->nbal) {
			size_t e = 0;
			if (block)
				e = block_end_at(s, n, p);
			else if (starts(s, n, p, "-}}"))
				e = skip_ws(s, n, p + 3);
			else if (starts(s, n, p, "}}"))
				e = p + 2;
			if (e) {
				if (!lx_push(l, block ? TK_BLOCK_END : TK_VAR_END, l->line, s + p, e - p))
					return -1;
				l->line += (int)count_nl(s + p, e - p);
				l->line_starting = s[e - 1] == '\n';
				l->pos = e;
				return 0;
			}
		}
		size_t e = skip_ws(s, n, p);
		if (e > p) {
			l->line += (int)count_nl(s + p, e - p);
			l->line_starting = s[e - 1] == '\n';
			l->pos = e;
			continue;
		}
		l->line_starting = 0;
		int base = 10;
		if ((e = match_float(s, n, p)) > p) {
			char tmp[64];
			size_t k = 0;
			for (size_t i = p; i < e && k < sizeof tmp - 1; i++)
				if (s[i] != '_')
					tmp[k++] = s[i];
			tmp[k] = 0;
			ttok *t = lx_push(l, TK_FLOAT, l->line, s + p, e - p);
			if (!t)
				return -1;
			if (e - p >= sizeof tmp)
				return lx_err(l, l->line, "unsupported: float literal too long");
			t->f = strtod(tmp, NULL);
			l->pos = e;
			continue;
		}
		if ((e = match_int(s, n, p, &base)) > p) {
			ttok *t = lx_push(l, TK_INT, l->line, s + p, e - p);
			if (!t)
				return -1;
			uint64_t v = 0;
			for (size_t i = p + (base == 10 ? 0 : 2); i < e; i++) {
				if (s[i] == '_')
					continue;
				uint64_t d = (uint64_t)hexval(s[i]);
				if (v > (UINT64_C(0x7fffffffffffffff) - d) / (uint64_t)base)
					return lx_err(l, l->line, "unsupported: integer literal beyond 64 bits");
				v = v * (uint64_t)base + d;
			}
			t->i = (int64_t)v;
			l->pos = e;
			continue;
		}
		if (isalpha_(s[p])) {
			e = p + 1;
			while (e < n && (isalpha_(s[e]) || isdig(s[e])))
				e++;
			if (!lx_push(l, TK_NAME, l->line, s + p, e - p))
				return -1;
			l->pos = e;
			continue;
		}
		if (s[p] == '\'' || s[p] == '"') {
			size_t i = p + 1;
			while (i < n && s[i] != s[p])
				i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
			if (i < n) {
				int line = l->line;
				ttok *t = lx_push(l, TK_STRING, line, NULL, 0);
				if (!t)
					return -1;
				tstr v;
				if (unescape(l, s + p + 1, i - p - 1, line, &v) < 0)
					return -1;
				l->t[l->nt - 1].s = v;
				l->line += (int)count_nl(s + p, i + 1 - p);
				l->pos = i + 1;
				continue;
			}
		}
		static const struct { const char *op; int tk; } ops[] = {
			{"//", TK_FLOORDIV}, {"**", TK_POW}, {"==", TK_EQ}, {"!=", TK_NE},
			{">=", TK_GTEQ}, {"<=", TK_LTEQ}, {"+", TK_ADD}, {"-", TK_SUB},
			{"/", TK_DIV}, {"*", TK_MUL}, {"%", TK_MOD}, {"~", TK_TILDE},
			{"[", TK_LBRACKET}, {"]", TK_RBRACKET}, {"(", TK_LPAREN},
			{")", TK_RPAREN}, {"{", TK_LBRACE}, {"}", TK_RBRACE}, {">", TK_GT},
			{"<", TK_LT}, {"=", TK_ASSIGN}, {".", TK_DOT}, {":", TK_COLON},
			{"|", TK_PIPE}, {",", TK_COMMA}, {";", TK_SEMICOLON},
		};
		size_t k;
		for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
			if (starts(s, n, p, ops[k].op))
				break;
		if (k == sizeof ops / sizeof ops[0]) {
			uint32_t cp;
			tmpl_u8dec(s + p, n - p, &cp);
			if (cp == '\'')
				snprintf(msg, sizeof msg, "unexpected char \"'\"");
			else if (cp >= 0x20 && cp < 0x7f)
				snprintf(msg, sizeof msg, "unexpected char '%c'", (char)cp);
			else
				snprintf(msg, sizeof msg, "unexpected char U+%04X", (unsigned)cp);
			return lx_err(l, l->line, msg);
		}
		char c = ops[k].op[0];
		if (!ops[k].op[1] && (c == '{' || c == '(' || c == '[')) {
			if (bal_push(l, c == '{' ? '}' : c == '(' ? ')' : ']') < 0)
				return -1;
		} else if (!ops[k].op[1] && (c == '}' || c == ')' || c == ']')) {
			if (!l->nbal) {
				snprintf(msg, sizeof msg, "unexpected '%c'", c);
				return lx_err(l, l->line, msg);
			}
			char want = l->bal[--l->nbal];
			if (want != c) {
				snprintf(msg, sizeof msg, "unexpected '%c', expected '%c'", c, want);
				return lx_err(l, l->line, msg);
			}
		}
		if (!lx_push(l, ops[k].tk, l->line, s + p, strlen(ops[k].op)))
			return -1;
		l->pos = p + strlen(ops[k].op);
	}
	return 0;  /* end of source inside a tag: the parser reports it */
}

/* The root state: text up to the next tag, then the tag. */
static int lex_root(lx *l)
{
	const char *s = l->s;
	size_t n = l->n;
	while (l->pos < n) {
		size_t p = l->pos;
		while (p + 1 < n && !(s[p] == '{' && (s[p + 1] == '{' || s[p + 1] == '%' || s[p + 1] == '#')))
			p++;
		if (p + 1 >= n) {
			if (!lx_push(l, TK_DATA, l->line, s + l->pos, n - l->pos))
				return -1;
			l->line += (int)count_nl(s + l->pos, n - l->pos);
			l->pos = n;
			break;
		}
		char kind = s[p + 1];
		size_t q = p + 2;
		char sign = 0;
		if (q < n && (s[q] == '-' || s[q] == '+'))
			sign = s[q++];
		size_t raw_end = 0;
		if (kind == '%') {
			size_t j = skip_ws(s, n, q);
			if (starts(s, n, j, "raw")) {
				j = skip_ws(s, n, j + 3);
				if (starts(s, n, j, "-%}"))
					raw_end = skip_ws(s, n, j + 3);
				else if (starts(s, n, j, "%}"))
					raw_end = j + 2;
			}
		}
		if (emit_text(l, s + l->pos, p - l->pos, sign, kind != '{') < 0)
			return -1;
		if (raw_end) {
			l->line += (int)count_nl(s + p, raw_end - p);
			l->line_starting = s[raw_end - 1] == '\n';
			l->pos = raw_end;
			if (lex_raw(l) < 0)
				return -1;
			continue;
		}
		l->line_starting = 0;
		l->pos = q;
		if (kind == '#') {
			if (lex_comment(l) < 0)
				return -1;
			continue;
		}
		if (!lx_push(l, kind == '%' ? TK_BLOCK_BEGIN : TK_VAR_BEGIN, l->line, s + p, q - p))
			return -1;
		if (lex_tag(l, kind == '%') < 0)
			return -1;
	}
	return 0;
}

/*
 * Normalises and tokenises src.  On success *toks (malloc'd, caller frees)
 * ends with TK_EOF.  Returns -1 + q_error("template line N: ...").
 */
int tmpl_lex(const char *src, size_t len, tarena *a, ttok **toks, size_t *ntoks)
{
	size_t bad = q_utf8_check(src, len);
	if (bad < len)
		return q_error("template line %d: invalid UTF-8", 1 + (int)count_nl(src, bad));
	char *s = ta_alloc(a, len + 1);
	if (!s)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (src[i] == '\r') {
			s[n++] = '\n';
			if (i + 1 < len && src[i + 1] == '\n')
				i++;
		} else {
			s[n++] = src[i];
		}
	}
	if (n && s[n - 1] == '\n')
		n--;
	lx l = {.s = s, .n = n, .line = 1, .line_starting = 1, .a = a};
	int rc = lex_root(&l);
	if (rc == 0 && !lx_push(&l, TK_EOF, l.line, s + n, 0))
		rc = -1;
	free(l.bal);
	if (rc < 0) {
		free(l.t);
		return -1;
	}
	*toks = l.t;
	*ntoks = l.nt;
	return 0;
}
