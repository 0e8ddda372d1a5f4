/*
 * tmpl_parse.c - recursive-descent parser with jinja2's grammar.
 *
 * The functions mirror jinja2/parser.py one for one (parse_tuple,
 * parse_condexpr, parse_or, ..., parse_primary, parse_postfix,
 * parse_filter_expr), including the quirks that decide what a template
 * means: "-2**2" is (-2)**2, "**" is left-associative, a filter binds to the
 * unary expression before it, "x is test arg" takes one primary as argument,
 * "for x in y if c" filters the loop.  Node line numbers are computed as
 * jinja2 computes them, because runtime errors report the line of the
 * statement or output expression being run.
 *
 * Invariants:
 * - Nodes and their strings live in the template arena; nothing is freed
 *   until q_tmpl_free().
 * - Nesting (expressions and statements) is limited to MAX_DEPTH so that
 *   neither the parser nor the evaluator can exhaust the C stack.
 * - Unknown or unsupported tags, filters and tests are parse errors naming
 *   the line; so is break/continue outside a loop (jinja2 fails there too).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "tmpl_int.h"

#define MAX_DEPTH 200

typedef struct ps {
	q_tmpl *t;
	const ttok *tk;
	size_t n, i;
	int depth;
	int loops;  /* enclosing for loops (reset inside macros) */
} ps;

static const ttok *cur(ps *p) { return &p->tk[p->i]; }
static const ttok *peek(ps *p) { return &p->tk[p->i + 1 < p->n ? p->i + 1 : p->i]; }
static const ttok *next(ps *p)
{
	const ttok *t = cur(p);
	if (t->type != TK_EOF)
		p->i++;
	return t;
}

static int isname(const ttok *t, const char *name)
{
	return t->type == TK_NAME && t->s.n == strlen(name) && memcmp(t->s.p, name, t->s.n) == 0;
}

static const char *tkdesc(const ttok *t, char *buf, size_t cap)
{
	static const char *names[] = {
		[TK_EOF] = "end of template", [TK_DATA] = "template data / text",
		[TK_VAR_BEGIN] = "begin of print statement", [TK_VAR_END] = "end of print statement",
		[TK_BLOCK_BEGIN] = "begin of statement block", [TK_BLOCK_END] = "end of statement block",
		[TK_STRING] = "string", [TK_INT] = "integer", [TK_FLOAT] = "float",
		[TK_ADD] = "+", [TK_SUB] = "-", [TK_DIV] = "/", [TK_FLOORDIV] = "//", [TK_MUL] = "*",
		[TK_MOD] = "%", [TK_POW] = "**", [TK_TILDE] = "~", [TK_LBRACKET] = "[",
		[TK_RBRACKET] = "]", [TK_LPAREN] = "(", [TK_RPAREN] = ")", [TK_LBRACE] = "{",
		[TK_RBRACE] = "}", [TK_EQ] = "==", [TK_NE] = "!=", [TK_GT] = ">", [TK_GTEQ] = ">=",
		[TK_LT] = "<", [TK_LTEQ] = "<=", [TK_ASSIGN] = "=", [TK_DOT] = ".", [TK_COLON] = ":",
		[TK_PIPE] = "|", [TK_COMMA] = ",", [TK_SEMICOLON] = ";",
	};
	if (t->type == TK_NAME) {
		snprintf(buf, cap, "%.*s", (int)(t->s.n > 40 ? 40 : t->s.n), t->s.p);
		return buf;
	}
	return names[t->type];
}

static int fail(ps *p, int line, const char *fmt, ...) Q_PRINTF(3, 4);
static int fail(ps *p, int line, const char *fmt, ...)
{
	(void)p;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return q_error("template line %d: %s", line, msg);
}

/* Consumes a token of the given type, or fails the way jinja2's expect() does. */
static const ttok *expect(ps *p, int type, const char *what)
{
	const ttok *t = cur(p);
	if (t->type == type)
		return next(p);
	char b[64];
	if (t->type == TK_EOF)
		fail(p, t->line, "unexpected end of template, expected '%s'.", what);
	else
		fail(p, t->line, "expected token '%s', got '%s'", what, tkdesc(t, b, sizeof b));
	return NULL;
}

static const ttok *expect_name(ps *p, const char *name)
{
	const ttok *t = cur(p);
	if (isname(t, name))
		return next(p);
	char b[64];
	if (t->type == TK_EOF)
		fail(p, t->line, "unexpected end of template, expected '%s'.", name);
	else
		fail(p, t->line, "expected token '%s', got '%s'", name, tkdesc(t, b, sizeof b));
	return NULL;
}

/* A zeroed node in the template arena (NULL + q_error). */
static tnode *mk(ps *p, int kind, int line)
{
	tnode *n = ta_alloc(&p->t->arena, sizeof *n);
	if (n) {
		n->kind = kind;
		n->line = line;
	}
	return n;
}

/* Appends x to l (arena-grown). */
static int nl_add(ps *p, tnlist *l, tnode *x)
{
	if ((l->n & (l->n - 1)) == 0) {  /* 0, 1, 2, 4, ...: grow to the next power */
		size_t old = (size_t)l->n * sizeof *l->v;
		size_t nw = (size_t)(l->n ? l->n * 2 : 1) * sizeof *l->v;
		tnode **v = ta_grow(&p->t->arena, l->v, old, nw);
		if (!v)
			return -1;
		l->v = v;
	}
	l->v[l->n++] = x;
	return 0;
}

/* One more level of nesting; fails past MAX_DEPTH (leave with p->depth--). */
static int enter(ps *p)
{
	if (++p->depth > MAX_DEPTH)
		return fail(p, cur(p)->line, "nesting too deep (more than %d levels)", MAX_DEPTH);
	return 0;
}

/* Each link of a left-nested chain (a.b.c, a|f|g, 1 + 2 + 3) deepens the
 * tree by one: count it as a nesting level, given back by chain_end(). */
static int chain_link(ps *p, int *links)
{
	(*links)++;
	return enter(p);
}

static void chain_end(ps *p, int links)
{
	p->depth -= links;
}

static tnode *parse_expression(ps *p, int with_condexpr);
static tnode *parse_tuple(ps *p, int simplified, int with_condexpr, const char *extra_end,
			  int explicit_parens, int with_namespace);
static tnode *parse_unary(ps *p, int with_filter);
static tnode *parse_primary(ps *p, int with_namespace);
static tnode *parse_postfix(ps *p, tnode *node);
/*
 * The parse_* functions below are jinja2's Parser methods of the same names
 * (parser.py): same grammar, same error messages where it matters, same
 * node line numbers.  Each returns the new node, or NULL + q_error.
 */
static tnode *parse_filter(ps *p, tnode *node, int start_inline);
static int subparse(ps *p, tnlist *body, const char *const *end_tokens);

/* Arguments of a call, filter or test: "(" args, kw=v, *a, **k ")". */
static int parse_call_args(ps *p, tnode *call)
{
	const ttok *lp = expect(p, TK_LPAREN, "(");
	if (!lp)
		return -1;
	int require_comma = 0;
	while (cur(p)->type != TK_RPAREN) {
		if (require_comma) {
			if (!expect(p, TK_COMMA, ","))
				return -1;
			if (cur(p)->type == TK_RPAREN)
				break;
		}
		if (cur(p)->type == TK_MUL) {
			if (call->b || call->c)
				return fail(p, lp->line, "invalid syntax for function call expression");
			next(p);
			if (!(call->b = parse_expression(p, 1)))
				return -1;
		} else if (cur(p)->type == TK_POW) {
			if (call->c)
				return fail(p, lp->line, "invalid syntax for function call expression");
			next(p);
			if (!(call->c = parse_expression(p, 1)))
				return -1;
		} else if (cur(p)->type == TK_NAME && peek(p)->type == TK_ASSIGN) {
			if (call->c)
				return fail(p, lp->line, "invalid syntax for function call expression");
			const ttok *k = next(p);
			next(p);
			tnode *v = parse_expression(p, 1);
			if (!v)
				return -1;
			tnode *kw = mk(p, E_KW, v->line);
			if (!kw)
				return -1;
			kw->s = k->s;
			kw->a = v;
			if (nl_add(p, &call->l2, kw) < 0)
				return -1;
		} else {
			if (call->b || call->c || call->l2.n)
				return fail(p, lp->line, "invalid syntax for function call expression");
			tnode *v = parse_expression(p, 1);
			if (!v || nl_add(p, &call->l1, v) < 0)
				return -1;
		}
		require_comma = 1;
	}
	return expect(p, TK_RPAREN, ")") ? 0 : -1;
}

/* Dotted filter / test name after "|" or "is"; returns 0 and sets *name. */
static int parse_dotted(ps *p, tstr *name, int *dotted)
{
	const ttok *t = expect(p, TK_NAME, "name");
	if (!t)
		return -1;
	*name = t->s;
	*dotted = 0;
	while (cur(p)->type == TK_DOT) {
		next(p);
		if (!expect(p, TK_NAME, "name"))
			return -1;
		*dotted = 1;
	}
	return 0;
}

static tnode *parse_filter(ps *p, tnode *node, int start_inline)
{
	int links = 0;
	while (cur(p)->type == TK_PIPE || start_inline) {
		if (chain_link(p, &links) < 0)
			return NULL;
		if (!start_inline)
			next(p);
		int line = cur(p)->line, dotted;
		tnode *f = mk(p, E_FILTER, line);
		if (!f || parse_dotted(p, &f->s, &dotted) < 0)
			return NULL;
		f->op = dotted ? -1 : tmpl_filter_id(f->s.p, f->s.n);
		if (f->op < 0) {
			static const char *const builtin[] = {"filesizeformat", "groupby", "pprint", "random",
				"striptags", "urlencode", "urlize", "wordwrap", "xmlattr", NULL};
			int known = 0;
			for (int i = 0; builtin[i] && !dotted; i++)
				known |= f->s.n == strlen(builtin[i]) && !memcmp(f->s.p, builtin[i], f->s.n);
			fail(p, line, known ? "unsupported filter '%.*s' (a jinja2 filter q does not implement)"
				    : "No filter named '%.*s'.", (int)(f->s.n > 40 ? 40 : f->s.n), f->s.p);
			return NULL;
		}
		if (cur(p)->type == TK_LPAREN && parse_call_args(p, f) < 0)
			return NULL;
		f->a = node;
		node = f;
		start_inline = 0;
	}
	chain_end(p, links);
	return node;
}

static tnode *parse_test(ps *p, tnode *node)
{
	const ttok *is = next(p);
	int negated = 0, dotted;
	if (isname(cur(p), "not")) {
		next(p);
		negated = 1;
	}
	tnode *t = mk(p, E_TEST, is->line);
	if (!t || parse_dotted(p, &t->s, &dotted) < 0)
		return NULL;
	t->op = dotted ? -1 : tmpl_test_id(t->s.p, t->s.n);
	if (t->op < 0) {
		fail(p, is->line, "No test named '%.*s'.", (int)(t->s.n > 40 ? 40 : t->s.n), t->s.p);
		return NULL;
	}
	t->a = node;
	int ty = cur(p)->type;
	if (ty == TK_LPAREN) {
		if (parse_call_args(p, t) < 0)
			return NULL;
	} else if ((ty == TK_NAME || ty == TK_STRING || ty == TK_INT || ty == TK_FLOAT ||
		    ty == TK_LBRACKET || ty == TK_LBRACE) &&
		   !isname(cur(p), "else") && !isname(cur(p), "or") && !isname(cur(p), "and")) {
		if (isname(cur(p), "is")) {
			fail(p, cur(p)->line, "You cannot chain multiple tests with is");
			return NULL;
		}
		tnode *arg = parse_primary(p, 0);
		if (!arg || !(arg = parse_postfix(p, arg)) || nl_add(p, &t->l1, arg) < 0)
			return NULL;
	}
	if (negated) {
		tnode *n = mk(p, E_NOT, is->line);
		if (!n)
			return NULL;
		n->a = t;
		return n;
	}
	return t;
}

static tnode *parse_call(ps *p, tnode *node)
{
	tnode *c = mk(p, E_CALL, cur(p)->line);
	if (!c || parse_call_args(p, c) < 0)
		return NULL;
	c->a = node;
	return c;
}

static tnode *parse_filter_expr(ps *p, tnode *node)
{
	int links = 0;
	while (node) {
		if ((cur(p)->type == TK_PIPE || isname(cur(p), "is") || cur(p)->type == TK_LPAREN) &&
		    chain_link(p, &links) < 0)
			return NULL;
		if (cur(p)->type == TK_PIPE)
			node = parse_filter(p, node, 0);
		else if (isname(cur(p), "is"))
			node = parse_test(p, node);
		else if (cur(p)->type == TK_LPAREN)
			node = parse_call(p, node);
		else
			break;
	}
	chain_end(p, links);
	return node;
}

/* One item inside [...]: an expression or a slice a:b:c. */
static tnode *parse_subscribed(ps *p)
{
	int line = cur(p)->line;
	tnode *args[3] = {NULL, NULL, NULL};
	if (cur(p)->type == TK_COLON) {
		next(p);
	} else {
		tnode *node = parse_expression(p, 1);
		if (!node || cur(p)->type != TK_COLON)
			return node;
		next(p);
		args[0] = node;
	}
	int ty = cur(p)->type;
	if (ty != TK_COLON && ty != TK_RBRACKET && ty != TK_COMMA)
		if (!(args[1] = parse_expression(p, 1)))
			return NULL;
	if (cur(p)->type == TK_COLON) {
		next(p);
		ty = cur(p)->type;
		if (ty != TK_RBRACKET && ty != TK_COMMA)
			if (!(args[2] = parse_expression(p, 1)))
				return NULL;
	}
	tnode *s = mk(p, E_SLICE, line);
	if (s) {
		s->a = args[0];
		s->b = args[1];
		s->c = args[2];
	}
	return s;
}

static tnode *parse_subscript(ps *p, tnode *node)
{
	const ttok *t = next(p);
	if (t->type == TK_DOT) {
		const ttok *a = next(p);
		if (a->type == TK_NAME) {
			tnode *g = mk(p, E_GETATTR, t->line);
			if (g) {
				g->a = node;
				g->s = a->s;
			}
			return g;
		}
		if (a->type != TK_INT) {
			fail(p, a->line, "expected name or number");
			return NULL;
		}
		tnode *k = mk(p, E_CONST, a->line), *g = mk(p, E_GETITEM, t->line);
		if (!k || !g)
			return NULL;
		k->v.t = V_INT;
		k->v.u.i = a->i;
		g->a = node;
		g->b = k;
		return g;
	}
	/* "[" */
	tnode *tup = mk(p, E_TUPLE, t->line);
	if (!tup)
		return NULL;
	while (cur(p)->type != TK_RBRACKET) {
		if (tup->l1.n && !expect(p, TK_COMMA, ","))
			return NULL;
		tnode *x = parse_subscribed(p);
		if (!x || nl_add(p, &tup->l1, x) < 0)
			return NULL;
	}
	if (!expect(p, TK_RBRACKET, "]"))
		return NULL;
	tnode *g = mk(p, E_GETITEM, t->line);
	if (!g)
		return NULL;
	g->a = node;
	g->b = tup->l1.n == 1 ? tup->l1.v[0] : tup;
	return g;
}

static tnode *parse_postfix(ps *p, tnode *node)
{
	int links = 0;
	while (node) {
		int ty = cur(p)->type;
		if ((ty == TK_DOT || ty == TK_LBRACKET || ty == TK_LPAREN) && chain_link(p, &links) < 0)
			return NULL;
		if (ty == TK_DOT || ty == TK_LBRACKET)
			node = parse_subscript(p, node);
		else if (ty == TK_LPAREN)
			node = parse_call(p, node);
		else
			break;
	}
	chain_end(p, links);
	return node;
}

static tnode *parse_list(ps *p)
{
	const ttok *t = next(p);
	tnode *l = mk(p, E_LIST, t->line);
	if (!l)
		return NULL;
	while (cur(p)->type != TK_RBRACKET) {
		if (l->l1.n && !expect(p, TK_COMMA, ","))
			return NULL;
		if (cur(p)->type == TK_RBRACKET)
			break;
		tnode *x = parse_expression(p, 1);
		if (!x || nl_add(p, &l->l1, x) < 0)
			return NULL;
	}
	return expect(p, TK_RBRACKET, "]") ? l : NULL;
}

static tnode *parse_dict(ps *p)
{
	const ttok *t = next(p);
	tnode *d = mk(p, E_DICT, t->line);
	if (!d)
		return NULL;
	while (cur(p)->type != TK_RBRACE) {
		if (d->l1.n && !expect(p, TK_COMMA, ","))
			return NULL;
		if (cur(p)->type == TK_RBRACE)
			break;
		tnode *k = parse_expression(p, 1);
		if (!k || !expect(p, TK_COLON, ":"))
			return NULL;
		tnode *v = parse_expression(p, 1);
		if (!v || nl_add(p, &d->l1, k) < 0 || nl_add(p, &d->l2, v) < 0)
			return NULL;
	}
	return expect(p, TK_RBRACE, "}") ? d : NULL;
}

static tnode *parse_primary(ps *p, int with_namespace)
{
	const ttok *t = cur(p);
	tnode *n;
	char b[64];
	switch (t->type) {
	case TK_NAME:
		next(p);
		if (isname(t, "true") || isname(t, "false") || isname(t, "True") || isname(t, "False")) {
			if ((n = mk(p, E_CONST, t->line))) {
				n->v.t = V_BOOL;
				n->v.u.i = t->s.p[0] == 't' || t->s.p[0] == 'T';
			}
		} else if (isname(t, "none") || isname(t, "None")) {
			if ((n = mk(p, E_CONST, t->line)))
				n->v.t = V_NONE;
		} else if (with_namespace && cur(p)->type == TK_DOT) {
			next(p);
			const ttok *a = expect(p, TK_NAME, "name");
			if (!a || !(n = mk(p, E_NSREF, t->line)))
				return NULL;
			n->s = t->s;
			n->s2 = a->s;
		} else if ((n = mk(p, E_NAME, t->line))) {
			n->s = t->s;
		}
		return n;
	case TK_STRING: {
		next(p);
		if (!(n = mk(p, E_CONST, t->line)))
			return NULL;
		n->v.t = V_STR;
		n->v.u.s = t->s;
		if (cur(p)->type != TK_STRING)
			return n;
		q_buf buf = Q_BUF_INIT;
		int rc = q_buf_add(&buf, t->s.p, t->s.n);
		while (rc == 0 && cur(p)->type == TK_STRING) {
			rc = q_buf_add(&buf, cur(p)->s.p, cur(p)->s.n);
			next(p);
		}
		if (rc == 0) {
			n->v.u.s.n = buf.len;
			n->v.u.s.p = ta_strdup(&p->t->arena, buf.p, buf.len);
		}
		q_buf_free(&buf);
		return rc == 0 && n->v.u.s.p ? n : NULL;
	}
	case TK_INT:
	case TK_FLOAT:
		next(p);
		if ((n = mk(p, E_CONST, t->line))) {
			n->v.t = t->type == TK_INT ? V_INT : V_FLOAT;
			if (t->type == TK_INT)
				n->v.u.i = t->i;
			else
				n->v.u.f = t->f;
		}
		return n;
	case TK_LPAREN:
		next(p);
		n = parse_tuple(p, 0, 1, NULL, 1, 0);
		return n && expect(p, TK_RPAREN, ")") ? n : NULL;
	case TK_LBRACKET:
		return parse_list(p);
	case TK_LBRACE:
		return parse_dict(p);
	default:
		fail(p, t->line, "unexpected '%s'", tkdesc(t, b, sizeof b));
		return NULL;
	}
}

static tnode *parse_unary(ps *p, int with_filter)
{
	if (enter(p) < 0)
		return NULL;
	const ttok *t = cur(p);
	tnode *node;
	if (t->type == TK_SUB || t->type == TK_ADD) {
		next(p);
		node = mk(p, t->type == TK_SUB ? E_NEG : E_POS, t->line);
		if (node && !(node->a = parse_unary(p, 0)))
			node = NULL;
	} else {
		node = parse_primary(p, 0);
	}
	node = parse_postfix(p, node);
	if (with_filter)
		node = parse_filter_expr(p, node);
	p->depth--;
	return node;
}

static tnode *bin(ps *p, int op, int line, tnode *l, tnode *r)
{
	if (!l || !r)
		return NULL;
	tnode *n = mk(p, E_BIN, line);
	if (n) {
		n->op = op;
		n->a = l;
		n->b = r;
	}
	return n;
}

static tnode *parse_pow(ps *p)
{
	int line = cur(p)->line, links = 0;
	tnode *left = parse_unary(p, 1);
	while (left && cur(p)->type == TK_POW) {
		if (chain_link(p, &links) < 0)
			return NULL;
		next(p);
		left = bin(p, TK_POW, line, left, parse_unary(p, 1));
		line = cur(p)->line;
	}
	chain_end(p, links);
	return left;
}

static tnode *parse_math2(ps *p)
{
	int line = cur(p)->line, links = 0;
	tnode *left = parse_pow(p);
	int ty;
	while (left && ((ty = cur(p)->type) == TK_MUL || ty == TK_DIV || ty == TK_FLOORDIV || ty == TK_MOD)) {
		if (chain_link(p, &links) < 0)
			return NULL;
		next(p);
		left = bin(p, ty, line, left, parse_pow(p));
		line = cur(p)->line;
	}
	chain_end(p, links);
	return left;
}

static tnode *parse_concat(ps *p)
{
	int line = cur(p)->line;
	tnode *first = parse_math2(p);
	if (!first || cur(p)->type != TK_TILDE)
		return first;
	tnode *c = mk(p, E_CONCAT, line);
	if (!c || nl_add(p, &c->l1, first) < 0)
		return NULL;
	while (cur(p)->type == TK_TILDE) {
		next(p);
		tnode *x = parse_math2(p);
		if (!x || nl_add(p, &c->l1, x) < 0)
			return NULL;
	}
	return c;
}

static tnode *parse_math1(ps *p)
{
	int line = cur(p)->line, links = 0;
	tnode *left = parse_concat(p);
	int ty;
	while (left && ((ty = cur(p)->type) == TK_ADD || ty == TK_SUB)) {
		if (chain_link(p, &links) < 0)
			return NULL;
		next(p);
		left = bin(p, ty, line, left, parse_concat(p));
		line = cur(p)->line;
	}
	chain_end(p, links);
	return left;
}

static tnode *parse_compare(ps *p)
{
	int line = cur(p)->line;
	tnode *expr = parse_math1(p);
	if (!expr)
		return NULL;
	tnode *cmp = NULL;
	for (;;) {
		int ty = cur(p)->type, op;
		if (ty == TK_EQ || ty == TK_NE || ty == TK_LT || ty == TK_LTEQ || ty == TK_GT || ty == TK_GTEQ) {
			next(p);
			op = ty;
		} else if (isname(cur(p), "in")) {
			next(p);
			op = OP_IN;
		} else if (isname(cur(p), "not") && isname(peek(p), "in")) {
			next(p);
			next(p);
			op = OP_NOTIN;
		} else {
			break;
		}
		tnode *operand = parse_math1(p);
		if (!operand)
			return NULL;
		if (!cmp && !(cmp = mk(p, E_COMPARE, line)))
			return NULL;
		tnode *o = mk(p, E_KW, operand->line);
		if (!o)
			return NULL;
		o->op = op;
		o->a = operand;
		if (nl_add(p, &cmp->l1, o) < 0)
			return NULL;
		line = cur(p)->line;
	}
	if (!cmp)
		return expr;
	cmp->a = expr;
	cmp->line = line;
	return cmp;
}

static tnode *parse_not(ps *p)
{
	if (!isname(cur(p), "not"))
		return parse_compare(p);
	if (enter(p) < 0)
		return NULL;
	const ttok *t = next(p);
	tnode *n = mk(p, E_NOT, t->line);
	if (n && !(n->a = parse_not(p)))
		n = NULL;
	p->depth--;
	return n;
}

static tnode *logic(ps *p, int kind, int line, tnode *l, tnode *r)
{
	if (!l || !r)
		return NULL;
	tnode *n = mk(p, kind, line);
	if (n) {
		n->a = l;
		n->b = r;
	}
	return n;
}

static tnode *parse_and(ps *p)
{
	int line = cur(p)->line, links = 0;
	tnode *left = parse_not(p);
	while (left && isname(cur(p), "and")) {
		if (chain_link(p, &links) < 0)
			return NULL;
		next(p);
		left = logic(p, E_AND, line, left, parse_not(p));
		line = cur(p)->line;
	}
	chain_end(p, links);
	return left;
}

static tnode *parse_or(ps *p)
{
	int line = cur(p)->line, links = 0;
	tnode *left = parse_and(p);
	while (left && isname(cur(p), "or")) {
		if (chain_link(p, &links) < 0)
			return NULL;
		next(p);
		left = logic(p, E_OR, line, left, parse_and(p));
		line = cur(p)->line;
	}
	chain_end(p, links);
	return left;
}

static tnode *parse_condexpr(ps *p)
{
	if (enter(p) < 0)
		return NULL;
	int line = cur(p)->line, links = 0;
	tnode *e1 = parse_or(p);
	while (e1 && isname(cur(p), "if")) {
		if (chain_link(p, &links) < 0)
			return NULL;
		next(p);
		tnode *e2 = parse_or(p), *e3 = NULL;
		if (!e2)
			return NULL;
		if (isname(cur(p), "else")) {
			next(p);
			if (!(e3 = parse_condexpr(p)))
				return NULL;
		}
		tnode *c = mk(p, E_COND, line);
		if (!c)
			return NULL;
		c->a = e2;
		c->b = e1;
		c->c = e3;
		e1 = c;
		line = cur(p)->line;
	}
	chain_end(p, links);
	p->depth--;
	return e1;
}

static tnode *parse_expression(ps *p, int with_condexpr)
{
	return with_condexpr ? parse_condexpr(p) : parse_or(p);
}

static int is_tuple_end(ps *p, const char *extra_end)
{
	int ty = cur(p)->type;
	if (ty == TK_VAR_END || ty == TK_BLOCK_END || ty == TK_RPAREN)
		return 1;
	return extra_end && isname(cur(p), extra_end);
}

static tnode *parse_tuple(ps *p, int simplified, int with_condexpr, const char *extra_end,
			  int explicit_parens, int with_namespace)
{
	int line = cur(p)->line, is_tuple = 0;
	tnode *tup = mk(p, E_TUPLE, line);
	if (!tup)
		return NULL;
	for (;;) {
		if (tup->l1.n && !expect(p, TK_COMMA, ","))
			return NULL;
		if (is_tuple_end(p, extra_end))
			break;
		tnode *x = simplified ? parse_primary(p, with_namespace) : parse_expression(p, with_condexpr);
		if (!x || nl_add(p, &tup->l1, x) < 0)
			return NULL;
		if (cur(p)->type == TK_COMMA)
			is_tuple = 1;
		else
			break;
		line = cur(p)->line;
	}
	if (!is_tuple) {
		if (tup->l1.n)
			return tup->l1.v[0];
		if (!explicit_parens) {
			char b[64];
			fail(p, cur(p)->line, "Expected an expression, got '%s'", tkdesc(cur(p), b, sizeof b));
			return NULL;
		}
	}
	tup->line = line;
	return tup;
}

static const char *node_kind_name(const tnode *n)
{
	switch (n->kind) {
	case E_CONST: return "const";
	case E_GETATTR: return "getattr";
	case E_GETITEM: return "getitem";
	case E_CALL: return "call";
	case E_FILTER: return "filter";
	case E_TEST: return "test";
	case E_LIST: return "list";
	case E_DICT: return "dict";
	case E_TUPLE: return "tuple";
	default: return "expression";
	}
}

/* Checks that target can be assigned to (names, namespace attributes, tuples of them). */
static int check_target(ps *p, const tnode *x)
{
	if (x->kind == E_NAME || x->kind == E_NSREF)
		return 0;
	if (x->kind == E_TUPLE) {
		for (int i = 0; i < x->l1.n; i++)
			if (check_target(p, x->l1.v[i]) < 0)
				return -1;
		return 0;
	}
	return fail(p, x->line, "can't assign to '%s'", node_kind_name(x));
}

static tnode *parse_assign_target(ps *p, int name_only, const char *extra_end, int with_namespace)
{
	tnode *x;
	if (name_only) {
		const ttok *t = expect(p, TK_NAME, "name");
		if (!t || !(x = mk(p, E_NAME, t->line)))
			return NULL;
		x->s = t->s;
		if (isname(t, "true") || isname(t, "false") || isname(t, "none") ||
		    isname(t, "True") || isname(t, "False") || isname(t, "None")) {
			fail(p, t->line, "can't assign to 'name'");
			return NULL;
		}
		return x;
	}
	x = parse_tuple(p, 1, 1, extra_end, 0, with_namespace);
	return x && check_target(p, x) == 0 ? x : NULL;
}

/* Body of a block statement up to one of end_tokens (left current). */
static int parse_statements(ps *p, tnlist *body, const char *const *end_tokens, int drop_needle)
{
	if (cur(p)->type == TK_COLON)
		next(p);
	if (!expect(p, TK_BLOCK_END, "end of statement block"))
		return -1;
	if (subparse(p, body, end_tokens) < 0)
		return -1;
	if (cur(p)->type == TK_EOF) {
		char want[128] = "";
		for (int i = 0; end_tokens[i]; i++)
			snprintf(want + strlen(want), sizeof want - strlen(want), "%s'%s'",
				 i ? " or " : "", end_tokens[i]);
		return fail(p, cur(p)->line, "Unexpected end of template. Jinja was looking for the following tags: %s.", want);
	}
	if (drop_needle)
		next(p);
	return 0;
}

/* Walks a subtree: does it load any of the names caller/varargs/kwargs? */
static int uses_special(const tnode *n)
{
	if (!n)
		return 0;
	int f = 0;
	if (n->kind == E_NAME) {
		if (n->s.n == 6 && !memcmp(n->s.p, "caller", 6))
			f |= M_USES_CALLER;
		if (n->s.n == 7 && !memcmp(n->s.p, "varargs", 7))
			f |= M_USES_VARARGS;
		if (n->s.n == 6 && !memcmp(n->s.p, "kwargs", 6))
			f |= M_USES_KWARGS;
	}
	f |= uses_special(n->a) | uses_special(n->b) | uses_special(n->c);
	const tnlist *ls[3] = {&n->l1, &n->l2, &n->l3};
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < ls[k]->n; i++)
			f |= uses_special(ls[k]->v[i]);
	return f;
}

static int parse_signature(ps *p, tnode *node)
{
	if (!expect(p, TK_LPAREN, "("))
		return -1;
	int have_default = 0;
	while (cur(p)->type != TK_RPAREN) {
		if (node->l2.n && !expect(p, TK_COMMA, ","))
			return -1;
		tnode *arg = parse_assign_target(p, 1, NULL, 0);
		if (!arg)
			return -1;
		if (cur(p)->type == TK_ASSIGN) {
			next(p);
			if (!(arg->a = parse_expression(p, 1)))
				return -1;
			have_default = 1;
		} else if (have_default) {
			return fail(p, cur(p)->line, "non-default argument follows default argument");
		}
		if (nl_add(p, &node->l2, arg) < 0)
			return -1;
	}
	return expect(p, TK_RPAREN, ")") ? 0 : -1;
}

static tnode *parse_for(ps *p)
{
	static const char *const end1[] = {"endfor", "else", NULL}, *const end2[] = {"endfor", NULL};
	const ttok *t = next(p);
	tnode *n = mk(p, N_FOR, t->line);
	if (!n || !(n->a = parse_assign_target(p, 0, "in", 0)) || !expect_name(p, "in"))
		return NULL;
	if (!(n->b = parse_tuple(p, 0, 0, "recursive", 0, 0)))
		return NULL;
	if (isname(cur(p), "if")) {
		next(p);
		if (!(n->c = parse_expression(p, 1)))
			return NULL;
	}
	if (isname(cur(p), "recursive")) {
		next(p);
		n->op = 1;
	}
	p->loops++;
	int rc = parse_statements(p, &n->l1, end1, 0);
	p->loops--;
	if (rc < 0)
		return NULL;
	if (isname(next(p), "else") && parse_statements(p, &n->l2, end2, 1) < 0)
		return NULL;
	return n;
}

static tnode *parse_if(ps *p)
{
	static const char *const end1[] = {"elif", "else", "endif", NULL}, *const end2[] = {"endif", NULL};
	const ttok *t = next(p);
	tnode *result = mk(p, N_IF, t->line), *node = result;
	if (!result)
		return NULL;
	for (;;) {
		if (!(node->a = parse_tuple(p, 0, 0, NULL, 0, 0)))
			return NULL;
		if (parse_statements(p, &node->l1, end1, 0) < 0)
			return NULL;
		const ttok *k = next(p);
		if (isname(k, "elif")) {
			tnode *e = mk(p, N_IF, cur(p)->line);
			if (!e || nl_add(p, &node->l2, e) < 0)
				return NULL;
			node = e;
			continue;
		}
		if (isname(k, "else") && parse_statements(p, &node->l2, end2, 1) < 0)
			return NULL;
		break;
	}
	return result;
}

static tnode *parse_set(ps *p)
{
	static const char *const end[] = {"endset", NULL};
	const ttok *t = next(p);
	tnode *target = parse_assign_target(p, 0, NULL, 1);
	if (!target)
		return NULL;
	if (cur(p)->type == TK_ASSIGN) {
		next(p);
		tnode *n = mk(p, N_SET, t->line);
		if (!n || !(n->b = parse_tuple(p, 0, 1, NULL, 0, 0)))
			return NULL;
		n->a = target;
		return n;
	}
	tnode *n = mk(p, N_SETBLOCK, t->line);
	if (!n)
		return NULL;
	n->a = target;
	if (cur(p)->type == TK_PIPE && !(n->c = parse_filter(p, NULL, 0)))
		return NULL;
	return parse_statements(p, &n->l1, end, 1) < 0 ? NULL : n;
}

static tnode *parse_macro(ps *p)
{
	static const char *const end[] = {"endmacro", NULL};
	const ttok *t = next(p);
	tnode *n = mk(p, N_MACRO, t->line), *name;
	if (!n || !(name = parse_assign_target(p, 1, NULL, 0)))
		return NULL;
	n->s = name->s;
	if (parse_signature(p, n) < 0)
		return NULL;
	int loops = p->loops;
	p->loops = 0;
	int rc = parse_statements(p, &n->l1, end, 1);
	p->loops = loops;
	if (rc < 0)
		return NULL;
	for (int i = 0; i < n->l1.n; i++)
		n->op |= uses_special(n->l1.v[i]);
	return n;
}

static tnode *parse_call_block(ps *p)
{
	static const char *const end[] = {"endcall", NULL};
	const ttok *t = next(p);
	tnode *n = mk(p, N_CALLBLOCK, t->line);
	if (!n)
		return NULL;
	if (cur(p)->type == TK_LPAREN && parse_signature(p, n) < 0)
		return NULL;
	if (!(n->a = parse_expression(p, 1)))
		return NULL;
	if (n->a->kind != E_CALL) {
		fail(p, t->line, "expected call");
		return NULL;
	}
	int loops = p->loops;
	p->loops = 0;
	int rc = parse_statements(p, &n->l1, end, 1);
	p->loops = loops;
	if (rc < 0)
		return NULL;
	for (int i = 0; i < n->l1.n; i++)
		n->op |= uses_special(n->l1.v[i]);
	return n;
}

static tnode *parse_filter_block(ps *p)
{
	static const char *const end[] = {"endfilter", NULL};
	const ttok *t = next(p);
	tnode *n = mk(p, N_FILTERBLOCK, t->line);
	if (!n || !(n->c = parse_filter(p, NULL, 1)))
		return NULL;
	return parse_statements(p, &n->l1, end, 1) < 0 ? NULL : n;
}

static tnode *parse_with(ps *p)
{
	static const char *const end[] = {"endwith", NULL};
	const ttok *t = next(p);
	tnode *n = mk(p, N_WITH, t->line);
	if (!n)
		return NULL;
	while (cur(p)->type != TK_BLOCK_END) {
		if (n->l2.n && !expect(p, TK_COMMA, ","))
			return NULL;
		tnode *target = parse_assign_target(p, 0, NULL, 0);
		if (!target || !expect(p, TK_ASSIGN, "="))
			return NULL;
		tnode *v = parse_expression(p, 1);
		if (!v || nl_add(p, &n->l2, target) < 0 || nl_add(p, &n->l3, v) < 0)
			return NULL;
	}
	return parse_statements(p, &n->l1, end, 1) < 0 ? NULL : n;
}

/* {% print a, b %}: one N_OUTPUT per expression, appended to body. */
static int parse_print(ps *p, tnlist *body)
{
	next(p);
	int k = 0;
	while (cur(p)->type != TK_BLOCK_END) {
		if (k++ && !expect(p, TK_COMMA, ","))
			return -1;
		tnode *e = parse_expression(p, 1), *o;
		if (!e || !(o = mk(p, N_OUTPUT, e->line)))
			return -1;
		o->a = e;
		if (nl_add(p, body, o) < 0)
			return -1;
	}
	return 0;
}

/* One statement after "{%"; appends its node(s) to body. */
static int parse_statement(ps *p, tnlist *body)
{
	const ttok *t = cur(p);
	if (t->type != TK_NAME)
		return fail(p, t->line, "tag name expected");
	if (enter(p) < 0)
		return -1;
	tnode *n = NULL;
	int rc = -1;
	if (isname(t, "for"))
		n = parse_for(p);
	else if (isname(t, "if"))
		n = parse_if(p);
	else if (isname(t, "set"))
		n = parse_set(p);
	else if (isname(t, "macro"))
		n = parse_macro(p);
	else if (isname(t, "call"))
		n = parse_call_block(p);
	else if (isname(t, "filter"))
		n = parse_filter_block(p);
	else if (isname(t, "with"))
		n = parse_with(p);
	else if (isname(t, "print")) {
		rc = parse_print(p, body);
		goto out;
	} else if (isname(t, "break") || isname(t, "continue")) {
		next(p);
		if (!p->loops) {
			fail(p, t->line, "'%s' outside loop", isname(t, "break") ? "break" : "continue");
			goto out;
		}
		n = mk(p, isname(t, "break") ? N_BREAK : N_CONTINUE, t->line);
	} else if (isname(t, "generation")) {
		static const char *const end[] = {"endgeneration", NULL};
		next(p);
		n = mk(p, N_SCOPE, t->line);
		int loops = p->loops;
		p->loops = 0;
		if (n && parse_statements(p, &n->l1, end, 1) < 0)
			n = NULL;
		p->loops = loops;
	} else if (isname(t, "block") || isname(t, "extends") || isname(t, "include") ||
		   isname(t, "import") || isname(t, "from") || isname(t, "autoescape")) {
		fail(p, t->line, "unsupported tag '%.*s'", (int)t->s.n, t->s.p);
		goto out;
	} else {
		fail(p, t->line, "Encountered unknown tag '%.*s'.", (int)(t->s.n > 40 ? 40 : t->s.n), t->s.p);
		goto out;
	}
	rc = n ? nl_add(p, body, n) : -1;
out:
	p->depth--;
	return rc;
}

/* Parses nodes into body until EOF or a block whose tag is in end_tokens
 * (then the current token is that tag's name). */
static int subparse(ps *p, tnlist *body, const char *const *end_tokens)
{
	for (;;) {
		const ttok *t = cur(p);
		if (t->type == TK_EOF)
			return 0;
		if (t->type == TK_DATA) {
			tnode *n = mk(p, N_DATA, t->line);
			if (!n)
				return -1;
			n->s = t->s;
			if (nl_add(p, body, n) < 0)
				return -1;
			next(p);
		} else if (t->type == TK_VAR_BEGIN) {
			next(p);
			tnode *e = parse_tuple(p, 0, 1, NULL, 0, 0), *o;
			if (!e || !(o = mk(p, N_OUTPUT, e->line)))
				return -1;
			o->a = e;
			if (nl_add(p, body, o) < 0 || !expect(p, TK_VAR_END, "end of print statement"))
				return -1;
		} else if (t->type == TK_BLOCK_BEGIN) {
			next(p);
			if (end_tokens)
				for (int i = 0; end_tokens[i]; i++)
					if (isname(cur(p), end_tokens[i]))
						return 0;
			if (parse_statement(p, body) < 0 || !expect(p, TK_BLOCK_END, "end of statement block"))
				return -1;
		} else {
			char b[64];
			return fail(p, t->line, "unexpected '%s'", tkdesc(t, b, sizeof b));
		}
	}
}

/*
 * Marks the expressions jinja2's optimizer folds at compile time (as_const
 * succeeds): literals and operators, getattr/getitem, filters and tests on
 * constants (except the context filters map/select/reject/...).  It matters
 * for one quirk: a folded negative number is written into the generated
 * Python without parentheses, so "-3 ** x" with a non-constant x is
 * -(3 ** x) in jinja2.  Returns n->cnst.
 */
static int mark_const(tnode *n)
{
	if (!n)
		return 1;
	int c = 1;
	c &= mark_const(n->a);
	c &= mark_const(n->b);
	c &= mark_const(n->c);
	const tnlist *ls[3] = {&n->l1, &n->l2, &n->l3};
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < ls[k]->n; i++)
			c &= mark_const(ls[k]->v[i]);
	switch (n->kind) {
	case E_CONST:
		break;
	case E_LIST: case E_TUPLE: case E_DICT: case E_BIN: case E_NEG: case E_POS: case E_NOT:
	case E_AND: case E_OR: case E_COMPARE: case E_CONCAT: case E_KW: case E_GETATTR:
	case E_GETITEM: case E_SLICE: case E_TEST:
		break;
	case E_COND:
		/* as_const() needs the test and the branch taken: decided when
		 * it runs (a non-constant branch then makes the fold fail) */
		c = n->a->cnst && (n->b->cnst || (n->c && n->c->cnst));
		break;
	case E_FILTER:
		c &= n->a != NULL && !tmpl_filter_needs_context(n->op);
		break;
	default:
		c = 0;
	}
	n->cnst = c;
	return c;
}

/* Builds t->body from the token array.  -1 + q_error("template line N: ..."). */
int tmpl_parse_tokens(q_tmpl *t, const ttok *toks, size_t ntoks)
{
	ps p = {.t = t, .tk = toks, .n = ntoks};
	if (subparse(&p, &t->body, NULL) < 0)
		return -1;
	for (int i = 0; i < t->body.n; i++)
		mark_const(t->body.v[i]);
	return 0;
}
