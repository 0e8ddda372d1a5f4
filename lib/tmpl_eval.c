/*
 * tmpl_eval.c - runs a parsed template: statements, expressions, scopes,
 * macros and loops, with jinja2's semantics.
 *
 * Invariants:
 * - Scoping is jinja2's: every for-loop iteration, macro call, call block,
 *   with block and {% generation %} body runs in a fresh scope whose parent
 *   is the scope it was written in; {% set %} writes the innermost scope;
 *   if blocks open no scope.  Names resolve through the scope chain, then
 *   the render variables, then the globals (range, namespace, ...).
 * - r->line is the line of the statement (or output expression) running:
 *   that is the line a runtime error names, as in jinja2's tracebacks.
 * - Output goes to r->out; block set, filter blocks, macros and recursive
 *   loops capture into a private buffer, always freed on every path.
 * - Limits (q_tmpl_limits): output bytes, arena bytes, evaluation steps and
 *   nested calls; crossing one is a runtime error, not a crash.
 * - Nothing here mutates a value except a namespace's attribute dict.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "tmpl_int.h"
#include "tmpl_str.h"

#define MAX_EVAL_DEPTH 1000

static int eval(trender *r, const tnode *n, tv *out);
/* Runs a statement list; stops early on a pending break/continue. */
static int exec_body(trender *r, const tnlist *body);

/* Counts one evaluation step; -1 + q_error once past lim.max_steps. */
int tmpl_step(trender *r)
{
	if (++r->steps > r->lim.max_steps)
		return q_error("evaluation step limit (%llu) exceeded", (unsigned long long)r->lim.max_steps);
	return 0;
}

/* Appends n bytes to the current output, within the output limit. */
static int emit(trender *r, const char *p, size_t n)
{
	if (r->out->len + n > r->lim.max_output)
		return q_error("output larger than %zu bytes", r->lim.max_output);
	return q_buf_add(r->out, p, n);
}

/* Appends str(v) to the output (an undefined prints nothing). */
static int emit_value(trender *r, tv v)
{
	if (v.t == V_STR)
		return emit(r, v.u.s.p, v.u.s.n);
	if (v.t == V_UNDEF)
		return 0;
	q_buf b = Q_BUF_INIT;
	int rc = tv_str(r, &b, v);
	if (rc == 0)
		rc = emit(r, b.p, b.len);
	q_buf_free(&b);
	return rc;
}

/* Pushes a new scope whose parent is `parent`; returns it (NULL + q_error). */
static tscope *scope_new(trender *r, tscope *parent)
{
	tscope *s = ta_alloc(&r->a, sizeof *s);
	if (!s || !(s->vars = td_new(r)))
		return NULL;
	s->parent = parent;
	return s;
}

static int scope_set(trender *r, tstr name, tv v)
{
	return td_set(r, r->scope->vars, tv_strv(name.p, name.n), v);
}

/* Resolves a name: scopes, render variables, globals.  1 found, 0 not. */
static int lookup(trender *r, tstr name, tv *out)
{
	tv key = tv_strv(name.p, name.n);
	for (tscope *s = r->scope; s; s = s->parent)
		if (s->vars->n && td_get(r, s->vars, key, out) == 1)
			return 1;
	if (td_get(r, r->vars, key, out) == 1)
		return 1;
	int f = tmpl_func_id(name.p, name.n);
	if (f >= 0) {
		out->t = V_FUNC;
		out->k = 0;
		out->u.i = f;
		return 1;
	}
	return 0;
}

/* Renders body into a private buffer and returns it as a string value. */
static int capture(trender *r, const tnlist *body, tv *out)
{
	q_buf b = Q_BUF_INIT, *saved = r->out;
	r->out = &b;
	int rc = exec_body(r, body);
	r->out = saved;
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&b);
	return rc;
}

/* ---- assignment ------------------------------------------------------- */

/* {% set %} / for-loop target: binds a name in the innermost scope, sets a
 * namespace attribute, or unpacks v into a tuple of targets (Python's
 * errors when the counts differ). */
static int assign(trender *r, const tnode *target, tv v)
{
	if (target->kind == E_NAME)
		return scope_set(r, target->s, v);
	if (target->kind == E_NSREF) {
		tv ns;
		if (!lookup(r, target->s, &ns) || ns.t != V_NS)
			return q_error("cannot assign attribute on non-namespace object");
		return td_set(r, ns.u.d, tv_strv(target->s2.p, target->s2.n), v);
	}
	/* E_TUPLE: unpack */
	tlist *items;
	if (tv_iter(r, v, &items) < 0)
		return q_error("cannot unpack non-iterable %s object", tv_typename(v));
	int want = target->l1.n;
	if (items->n < (size_t)want)
		return q_error("not enough values to unpack (expected %d, got %zu)", want, items->n);
	if (items->n > (size_t)want)
		return q_error("too many values to unpack (expected %d)", want);
	for (int i = 0; i < want; i++)
		if (assign(r, target->l1.v[i], items->v[i]) < 0)
			return -1;
	return 0;
}

/* ---- arithmetic ------------------------------------------------------- */

static int isnum(tv v) { return v.t == V_BOOL || v.t == V_INT || v.t == V_FLOAT; }
static double fval(tv v) { return v.t == V_FLOAT ? v.u.f : (double)v.u.i; }

static int optype_error(const char *op, tv a, tv b)
{
	return q_error("unsupported operand type(s) for %s: '%s' and '%s'", op, tv_typename(a), tv_typename(b));
}

static int overflow(void)
{
	return q_error("integer overflow: the result does not fit in 64 bits");
}

/* Python float divmod (CPython float_divmod). */
static void fdivmod(double vx, double wx, double *fdiv, double *fmodr)
{
	double mod = fmod(vx, wx), div = (vx - mod) / wx, floordiv;
	if (mod) {
		if ((wx < 0) != (mod < 0)) {
			mod += wx;
			div -= 1.0;
		}
	} else {
		mod = copysign(0.0, wx);
	}
	if (div) {
		floordiv = floor(div);
		if (div - floordiv > 0.5)
			floordiv += 1.0;
	} else {
		floordiv = copysign(0.0, vx / wx);
	}
	*fdiv = floordiv;
	*fmodr = mod;
}

/* Repeats list / string v n times. */
static int repeat(trender *r, tv v, int64_t n, tv *out)
{
	if (n < 0)
		n = 0;
	size_t unit = v.t == V_STR ? v.u.s.n : v.u.l->n;
	if (unit && (uint64_t)n > (r->lim.max_memory / (v.t == V_STR ? 1 : sizeof(tv))) / unit)
		return q_error("repetition result too large");
	if (v.t == V_STR) {
		char *p = ta_alloc(&r->a, unit * (size_t)n + 1);
		if (!p)
			return -1;
		for (int64_t i = 0; i < n; i++)
			memcpy(p + unit * (size_t)i, v.u.s.p, unit);
		*out = tv_strv(p, unit * (size_t)n);
		return 0;
	}
	tlist *l = tl_new(r, unit * (size_t)n);
	if (!l)
		return -1;
	for (int64_t i = 0; i < n; i++)
		for (size_t j = 0; j < unit; j++)
			l->v[l->n++] = v.u.l->v[j];
	*out = tv_list(l, v.k == L_TUPLE ? L_TUPLE : L_LIST);
	return 0;
}

/* a op b for + - * / // % ** with Python's semantics. */
int tmpl_binop(trender *r, int op, tv a, tv b, tv *out)
{
	static const char *names[] = {[TK_ADD] = "+", [TK_SUB] = "-", [TK_MUL] = "*", [TK_DIV] = "/",
				      [TK_FLOORDIV] = "//", [TK_MOD] = "%", [TK_POW] = "** or pow()"};
	if (op == TK_MOD && a.t == V_STR)  /* str.__mod__ runs first, even for an undefined */
		return tmpl_str_format(r, a, b, out);
	if (a.t == V_UNDEF)
		return tv_undef_error(r, a);
	if (b.t == V_UNDEF)
		return tv_undef_error(r, b);
	if (isnum(a) && isnum(b)) {
		int fl = a.t == V_FLOAT || b.t == V_FLOAT;
		int64_t x = a.u.i, y = b.u.i, z;
		switch (op) {
		case TK_ADD:
			if (fl) { *out = tv_float(fval(a) + fval(b)); return 0; }
			if (__builtin_add_overflow(x, y, &z)) return overflow();
			*out = tv_int(z);
			return 0;
		case TK_SUB:
			if (fl) { *out = tv_float(fval(a) - fval(b)); return 0; }
			if (__builtin_sub_overflow(x, y, &z)) return overflow();
			*out = tv_int(z);
			return 0;
		case TK_MUL:
			if (fl) { *out = tv_float(fval(a) * fval(b)); return 0; }
			if (__builtin_mul_overflow(x, y, &z)) return overflow();
			*out = tv_int(z);
			return 0;
		case TK_DIV:
			if (fval(b) == 0.0)
				return q_error(fl ? "float division by zero" : "division by zero");
			*out = tv_float(fval(a) / fval(b));
			return 0;
		case TK_FLOORDIV:
		case TK_MOD:
			if (fl) {
				if (fval(b) == 0.0)
					return q_error(op == TK_MOD ? "float modulo" : "float floor division by zero");
				double d, m;
				fdivmod(fval(a), fval(b), &d, &m);
				*out = tv_float(op == TK_MOD ? m : d);
				return 0;
			}
			if (y == 0)
				return q_error("integer division or modulo by zero");
			if (x == INT64_MIN && y == -1)
				return op == TK_MOD ? (*out = tv_int(0), 0) : overflow();
			z = x / y;
			int64_t m = x % y;
			if (m && ((m < 0) != (y < 0))) {
				m += y;
				z -= 1;
			}
			*out = tv_int(op == TK_MOD ? m : z);
			return 0;
		case TK_POW:
			if (!fl && y >= 0) {
				int64_t res = 1, base = x;
				while (y) {
					if ((y & 1) && __builtin_mul_overflow(res, base, &res))
						return overflow();
					y >>= 1;
					if (y && __builtin_mul_overflow(base, base, &base))
						return overflow();
				}
				*out = tv_int(res);
				return 0;
			}
			double fx = fval(a), fy = fval(b);
			if (fx == 0.0 && fy < 0)
				return q_error("0.0 cannot be raised to a negative power");
			if (fx < 0 && fy != floor(fy) && isfinite(fy))
				return q_error("unsupported: a negative number to a fractional power is complex");
			double res = pow(fx, fy);
			if (isinf(res) && isfinite(fx) && isfinite(fy))
				return q_error("(34, 'Numerical result out of range')");
			*out = tv_float(res);
			return 0;
		}
	}
	if (op == TK_ADD) {
		if (a.t == V_STR && b.t == V_STR) {
			if (a.k != b.k) {  /* Markup + str escapes the str */
				if (a.k ? tmpl_markup_escape(r, b, &b) : tmpl_markup_escape(r, a, &a))
					return -1;
			}
			char *p = ta_alloc(&r->a, a.u.s.n + b.u.s.n + 1);
			if (!p)
				return -1;
			memcpy(p, a.u.s.p, a.u.s.n);
			memcpy(p + a.u.s.n, b.u.s.p, b.u.s.n);
			*out = tv_strv(p, a.u.s.n + b.u.s.n);
			out->k = a.k;
			return 0;
		}
		if (a.t == V_STR && a.k == 1 && b.t != V_STR)
			return q_error("can only concatenate str (not \"%s\") to str", tv_typename(b));
		if (a.t == V_LIST && b.t == V_LIST && a.k == b.k && (a.k == L_LIST || a.k == L_TUPLE)) {
			tlist *l = tl_new(r, a.u.l->n + b.u.l->n);
			if (!l)
				return -1;
			for (size_t i = 0; i < a.u.l->n; i++)
				l->v[l->n++] = a.u.l->v[i];
			for (size_t i = 0; i < b.u.l->n; i++)
				l->v[l->n++] = b.u.l->v[i];
			*out = tv_list(l, a.k);
			return 0;
		}
		if (a.t == V_STR)
			return q_error("can only concatenate str (not \"%s\") to str", tv_typename(b));
		if (a.t == V_LIST && (a.k == L_LIST || a.k == L_TUPLE))
			return q_error("can only concatenate %s (not \"%s\") to %s", tv_typename(a), tv_typename(b),
				       tv_typename(a));
	}
	if (op == TK_MUL) {
		tv seq = a, cnt = b;
		if (b.t == V_STR || b.t == V_LIST) {
			seq = b;
			cnt = a;
		}
		if ((seq.t == V_STR || (seq.t == V_LIST && (seq.k == L_LIST || seq.k == L_TUPLE))) &&
		    (cnt.t == V_INT || cnt.t == V_BOOL)) {
			if (repeat(r, seq, cnt.u.i, out) < 0)
				return -1;
			if (seq.t == V_STR)
				out->k = seq.k;
			return 0;
		}
		if (seq.t == V_STR || seq.t == V_LIST)
			return q_error("can't multiply sequence by non-int of type '%s'", tv_typename(cnt));
	}
	return optype_error(names[op], a, b);
}

/* ---- containment and comparison --------------------------------------- */

/* Python's `item in seq` (an undefined seq is empty); 1, 0 or -1. */
int tmpl_contains(trender *r, tv item, tv seq)
{
	switch (seq.t) {
	case V_UNDEF:
		return 0;
	case V_STR:
		if (item.t != V_STR)
			return q_error("'in <string>' requires string as left operand, not %s", tv_typename(item));
		if (!item.u.s.n)
			return 1;
		return memmem(seq.u.s.p, seq.u.s.n, item.u.s.p, item.u.s.n) != NULL;
	case V_DICT: {
		tv dummy;
		return td_get(r, seq.u.d, item, &dummy);
	}
	case V_LIST: {
		tlist *l = seq.u.l;
		size_t from = seq.k == L_GEN ? l->pos : 0;
		for (size_t i = from; i < l->n; i++) {
			int e = tv_eq(r, l->v[i], item);
			if (e) {
				if (seq.k == L_GEN)  /* a generator is consumed up to the match */
					l->pos = i + 1;
				return e;
			}
		}
		if (seq.k == L_GEN)
			l->pos = l->n;
		return 0;
	}
	default:
		return q_error("argument of type '%s' is not iterable", tv_typename(seq));
	}
}

/* One comparison a op b; returns 1 true, 0 false, -1 error. */
static int compare(trender *r, int op, tv a, tv b)
{
	int x;
	switch (op) {
	case TK_EQ: return tv_eq(r, a, b);
	case TK_NE: x = tv_eq(r, a, b); return x < 0 ? -1 : !x;
	case TK_LT: return tv_less(r, a, b);
	case TK_GT: return tv_less(r, b, a);
	case TK_LTEQ:
	case TK_GTEQ:
		x = op == TK_LTEQ ? tv_less(r, a, b) : tv_less(r, b, a);
		if (x)
			return x;
		return tv_eq(r, a, b);
	case OP_IN: return tmpl_contains(r, a, b);
	default: x = tmpl_contains(r, a, b); return x < 0 ? -1 : !x;
	}
}

/* ---- attribute and item access ---------------------------------------- */

static int is_dunder(tstr s)
{
	return s.n >= 4 && s.p[0] == '_' && s.p[1] == '_' && s.p[s.n - 1] == '_' && s.p[s.n - 2] == '_';
}

/* The sandbox's unsafe_undefined(): prints as "", raises SecurityError
 * when used. */
static tv unsafe(trender *r, tv obj, tstr name)
{
	q_buf b = Q_BUF_INIT;
	tv v = tv_undef_hint("access to an attribute is unsafe.");
	v.k = U_SECURITY;
	if (q_buf_adds(&b, "access to attribute ") == 0 && tv_repr(r, &b, tv_strv(name.p, name.n)) == 0 &&
	    q_buf_adds(&b, " of ") == 0 && tv_repr(r, &b, tv_strv(tv_typename(obj), strlen(tv_typename(obj)))) == 0 &&
	    q_buf_adds(&b, " object is unsafe.") == 0) {
		tv s;
		if (tv_str_from_buf(r, &b, &s) == 0)
			v.u.s = s.u.s;
	}
	q_buf_free(&b);
	return v;
}

/* Methods the immutable sandbox forbids (list.append, dict.update, ...). */
static int is_mutator(tv obj, tstr name)
{
	static const char *const dict_m[] = {"clear", "pop", "popitem", "setdefault", "update", NULL};
	static const char *const list_m[] = {"append", "clear", "pop", "reverse", "insert", "sort", "extend", "remove", NULL};
	const char *const *m = obj.t == V_DICT ? dict_m : (obj.t == V_LIST && obj.k == L_LIST) ? list_m : NULL;
	for (; m && *m; m++)
		if (strlen(*m) == name.n && memcmp(*m, name.p, name.n) == 0)
			return 1;
	return 0;
}

/* The sandbox's getattr(obj, name): attribute first, then obj[name]. */
int tmpl_getattr(trender *r, tv obj, tstr name, tv *out)
{
	if (is_dunder(name) || is_mutator(obj, name)) {
		*out = unsafe(r, obj, name);
		return 0;
	}
	if (obj.t == V_UNDEF)
		return tv_undef_error(r, obj);
	int f = tmpl_builtin_attr(r, obj, name, out);
	if (f)
		return f < 0 ? -1 : 0;
	tv key = tv_strv(name.p, name.n);
	if (obj.t == V_DICT || obj.t == V_NS) {
		int g = td_get(r, obj.u.d, key, out);
		if (g < 0)
			return -1;
		if (g)
			return 0;
	}
	*out = tv_undef_attr(obj, name);
	return 0;
}

/* Python slice index adjustment (PySlice_AdjustIndices); returns the length. */
static int64_t slice_adjust(int64_t len, int64_t *start, int64_t *stop, int64_t step, int has_start, int has_stop)
{
	if (!has_start)
		*start = step < 0 ? len - 1 : 0;
	else if (*start < 0) {
		*start += len;
		if (*start < 0)
			*start = step < 0 ? -1 : 0;
	} else if (*start >= len)
		*start = step < 0 ? len - 1 : len;
	if (!has_stop)
		*stop = step < 0 ? -1 : len;
	else if (*stop < 0) {
		*stop += len;
		if (*stop < 0)
			*stop = step < 0 ? -1 : 0;
	} else if (*stop >= len)
		*stop = step < 0 ? len - 1 : len;
	if (step < 0)
		return *stop < *start ? (*start - *stop - 1) / (-step) + 1 : 0;
	return *start < *stop ? (*stop - *start - 1) / step + 1 : 0;
}

/* obj[a:b:c]; non-sliceable objects or bad indices give an undefined. */
static int do_slice(trender *r, tv obj, const tnode *sl, tv *out)
{
	tv parts[3];
	const tnode *pn[3] = {sl->a, sl->b, sl->c};
	for (int i = 0; i < 3; i++) {
		parts[i] = tv_none();
		if (pn[i] && eval(r, pn[i], &parts[i]) < 0)
			return -1;
	}
	if (obj.t == V_UNDEF)
		return tv_undef_error(r, obj);
	/* jinja2 compiles a slice to obj[a:b:c] directly: Python's errors */
	int sliceable = obj.t == V_STR || (obj.t == V_LIST && (obj.k == L_LIST || obj.k == L_TUPLE || obj.k == L_RANGE));
	if (!sliceable && r->fold) {
		/* folded at compile time through the sandbox's getitem(): undefined */
		*out = tv_undef_hint("object is not sliceable");
		return 0;
	}
	if (obj.t == V_DICT)
		return q_error("unhashable type: 'slice'");
	if (!sliceable)
		return q_error("'%s' object is not subscriptable", tv_typename(obj));
	int64_t v[3] = {0, 0, 1};
	for (int i = 0; i < 3; i++) {
		if (parts[i].t == V_INT || parts[i].t == V_BOOL)
			v[i] = parts[i].u.i;
		else if (parts[i].t == V_UNDEF)
			return tv_undef_error(r, parts[i]);
		else if (parts[i].t != V_NONE)
			return q_error("slice indices must be integers or None or have an __index__ method");
	}
	if (parts[2].t != V_NONE && v[2] == 0)
		return q_error("slice step cannot be zero");
	if (v[2] == INT64_MIN)
		v[2] = -INT64_MAX;
	int has_start = parts[0].t != V_NONE, has_stop = parts[1].t != V_NONE;
	if (obj.t == V_STR) {
		int64_t len = (int64_t)tmpl_u8len(obj.u.s.p, obj.u.s.n);
		int64_t st = v[0], sp = v[1];
		int64_t n = slice_adjust(len, &st, &sp, v[2], has_start, has_stop);
		if (v[2] == 1) {
			size_t b0 = tmpl_u8off(obj.u.s.p, obj.u.s.n, (size_t)st);
			size_t b1 = tmpl_u8off(obj.u.s.p, obj.u.s.n, (size_t)(st + n));
			*out = tv_strv(obj.u.s.p + b0, b1 - b0);
			out->k = obj.k;
			return 0;
		}
		tlist *chars;
		if (tv_iter(r, obj, &chars) < 0)
			return -1;
		q_buf b = Q_BUF_INIT;
		int rc = 0;
		for (int64_t i = 0; i < n && rc == 0; i++) {
			int64_t k = (int64_t)(st + (__int128)i * v[2]);
			rc = q_buf_add(&b, chars->v[k].u.s.p, chars->v[k].u.s.n);
		}
		if (rc == 0)
			rc = tv_str_from_buf(r, &b, out);
		q_buf_free(&b);
		if (rc == 0)
			out->k = obj.k;
		return rc;
	}
	{
		int64_t len = (int64_t)obj.u.l->n;
		int64_t st = v[0], sp = v[1];
		int64_t n = slice_adjust(len, &st, &sp, v[2], has_start, has_stop);
		tlist *l = tl_new(r, (size_t)n);
		if (!l)
			return -1;
		for (int64_t i = 0; i < n; i++)
			l->v[l->n++] = obj.u.l->v[(int64_t)(st + (__int128)i * v[2])];
		if (obj.k == L_RANGE) {
			/* Python's range slice: with (i, j, s) = slice.indices(len),
			 * range(start + i*step, start + j*step, step*s), in 128 bits;
			 * a bound that leaves 64 bits is an error like big ints */
			__int128 step = (__int128)obj.u.l->step * v[2];
			__int128 a = obj.u.l->start + (__int128)st * obj.u.l->step;
			__int128 b = obj.u.l->start + (__int128)sp * obj.u.l->step;
			if (step > INT64_MAX || step < INT64_MIN || a > INT64_MAX || a < INT64_MIN ||
			    b > INT64_MAX || b < INT64_MIN)
				return q_error("integer overflow: the result does not fit in 64 bits");
			l->step = (int64_t)step;
			l->start = (int64_t)a;
			l->stop = (int64_t)b;
		}
		*out = tv_list(l, obj.k);
		return 0;
	}
}

/* The sandbox's getitem(obj, key): obj[key] first, then getattr for str keys. */
int tmpl_getitem(trender *r, tv obj, tv key, tv *out)
{
	if (obj.t == V_UNDEF)
		return tv_undef_error(r, obj);
	if (obj.t == V_DICT) {
		int g = td_get(r, obj.u.d, key, out);
		if (g > 0)
			return 0;
		if (g < 0 && key.t != V_STR)  /* unhashable key: TypeError, caught */
			return tv_undef_elem(r, obj, key, out);
	} else if ((obj.t == V_LIST && obj.k != L_GEN && obj.k != L_ITEMS && obj.k != L_KEYS &&
		    obj.k != L_VALUES) || obj.t == V_STR) {
		if (key.t == V_INT || key.t == V_BOOL) {
			int64_t len = obj.t == V_STR ? (int64_t)tmpl_u8len(obj.u.s.p, obj.u.s.n) : (int64_t)obj.u.l->n;
			int64_t i = key.u.i < 0 ? key.u.i + len : key.u.i;
			if (i >= 0 && i < len) {
				if (obj.t == V_LIST) {
					*out = obj.u.l->v[i];
				} else {
					size_t b0 = tmpl_u8off(obj.u.s.p, obj.u.s.n, (size_t)i);
					uint32_t cp;
					*out = tv_strv(obj.u.s.p + b0, tmpl_u8dec(obj.u.s.p + b0, obj.u.s.n - b0, &cp));
					out->k = obj.k;
				}
				return 0;
			}
		}
	}
	if (key.t == V_STR)
		return tmpl_getattr(r, obj, key.u.s, out);
	return tv_undef_elem(r, obj, key, out);
}

/* ---- calls ------------------------------------------------------------ */

static int run_for(trender *r, const tnode *n, tv iterable, int depth0);

/* Calls a macro (or a call block's caller) with bound arguments. */
static int call_macro(trender *r, const tmacro *m, tv *args, int nargs, const tstr *kwn, tv *kwv, int nkw, tv *out)
{
	const tnode *def = m->def;
	const tnlist *params = &def->l2;
	int flags = def->op;
	tscope *s = scope_new(r, m->closure);
	if (!s)
		return -1;
	tdict *kwargs = td_new(r);
	tv caller = tv_undef_hint("No caller defined");
	if (!kwargs)
		return -1;
	for (int i = 0; i < nkw; i++) {
		int j;
		for (j = 0; j < params->n; j++)
			if (params->v[j]->s.n == kwn[i].n && !memcmp(params->v[j]->s.p, kwn[i].p, kwn[i].n))
				break;
		if (j < params->n && j >= nargs)
			continue;  /* binds parameter j (a parameter filled by position
				    * leaves its keyword to kwargs, as jinja2's Macro does) */
		if (kwn[i].n == 6 && !memcmp(kwn[i].p, "caller", 6) && (flags & M_USES_CALLER)) {
			caller = kwv[i];
			continue;
		}
		if (!(flags & M_USES_KWARGS)) {
			if (kwn[i].n == 6 && !memcmp(kwn[i].p, "caller", 6))
				return q_error("macro '%.*s' was invoked with two values for the special caller argument. "
					       "This is most likely a bug.", (int)m->name.n, m->name.p);
			return q_error("macro '%.*s' takes no keyword argument '%.*s'", (int)m->name.n, m->name.p,
				       (int)kwn[i].n, kwn[i].p);
		}
		if (td_set(r, kwargs, tv_strv(kwn[i].p, kwn[i].n), kwv[i]) < 0)
			return -1;
	}
	if (nargs > params->n && !(flags & M_USES_VARARGS))
		return q_error("macro '%.*s' takes not more than %d argument(s)", (int)m->name.n, m->name.p, params->n);
	tscope *saved = r->scope;
	r->scope = s;
	int rc = 0;
	for (int j = 0; j < params->n && rc == 0; j++) {
		const tnode *p = params->v[j];
		tv v;
		int found = 0;
		if (j < nargs) {
			v = args[j];
			found = 1;
		} else {
			for (int i = 0; i < nkw; i++)
				if (p->s.n == kwn[i].n && !memcmp(p->s.p, kwn[i].p, kwn[i].n)) {
					v = kwv[i];
					found = 1;
				}
		}
		if (!found) {
			if (p->a) {
				rc = eval(r, p->a, &v);
			} else {
				char *msg = ta_alloc(&r->a, p->s.n + 40);
				if (!msg)
					rc = -1;
				else {
					snprintf(msg, p->s.n + 40, "parameter '%.*s' was not provided", (int)p->s.n, p->s.p);
					v = tv_undef_hint(msg);
				}
			}
		}
		if (rc == 0)
			rc = scope_set(r, p->s, v);
	}
	if (rc == 0 && (flags & M_USES_VARARGS)) {
		tlist *va = tl_new(r, 0);
		rc = va ? 0 : -1;
		for (int i = params->n; rc == 0 && i < nargs; i++)
			rc = tl_push(r, va, args[i]);
		if (rc == 0)
			rc = scope_set(r, (tstr){"varargs", 7}, tv_list(va, L_TUPLE));
	}
	if (rc == 0 && (flags & M_USES_KWARGS)) {
		tv kd = {.t = V_DICT};
		kd.u.d = kwargs;
		rc = scope_set(r, (tstr){"kwargs", 6}, kd);
	}
	if (rc == 0 && (flags & M_USES_CALLER))
		rc = scope_set(r, (tstr){"caller", 6}, caller);
	if (rc == 0) {
		int line = r->line, ctl = r->ctl;
		r->ctl = 0;
		rc = capture(r, &def->l1, out);
		r->ctl = ctl;
		if (rc == 0)
			r->line = line;
	}
	r->scope = saved;
	return rc;
}

/* Calls fn (global, method, macro, loop) with evaluated arguments. */
int tmpl_call(trender *r, tv fn, tv *args, int nargs, const tstr *kwn, tv *kwv, int nkw, tv *out)
{
	targs a = {args, nargs, kwn, kwv, nkw};
	int rc;
	if (tmpl_step(r) < 0)
		return -1;
	switch (fn.t) {
	case V_UNDEF:
		return tv_undef_error(r, fn);
	case V_FUNC:
		return tmpl_func_call(r, (int)fn.u.i, &a, out);
	case V_METHOD:
		return tmpl_method_call(r, fn.u.bm, &a, out);
	case V_MACRO:
	case V_LOOP:
		if (++r->calls > r->lim.max_calls) {
			r->calls--;
			return q_error("maximum recursion depth exceeded (%d nested calls)", r->lim.max_calls);
		}
		if (fn.t == V_MACRO) {
			rc = call_macro(r, fn.u.m, args, nargs, kwn, kwv, nkw, out);
		} else if (!fn.u.lp->node) {
			rc = q_error("The loop must have the 'recursive' marker to be called recursively.");
		} else if (nargs != 1 || nkw) {
			rc = q_error("loop() takes exactly one argument");
		} else {
			q_buf b = Q_BUF_INIT, *saved = r->out;
			tscope *ss = r->scope;
			int line = r->line;
			r->out = &b;
			r->scope = fn.u.lp->scope;
			rc = run_for(r, fn.u.lp->node, args[0], fn.u.lp->depth0 + 1);
			r->out = saved;
			r->scope = ss;
			if (rc == 0) {
				r->line = line;
				rc = tv_str_from_buf(r, &b, out);
			}
			q_buf_free(&b);
		}
		r->calls--;
		return rc;
	default:
		return q_error("'%s' object is not callable", tv_typename(fn));
	}
}

/* Evaluates call / filter / test arguments into arrays from the arena. */
static int eval_args(trender *r, const tnode *n, tv **pos, int *npos, tstr **kwn, tv **kwv, int *nkw)
{
	tlist *pl = tl_new(r, (size_t)n->l1.n);
	if (!pl)
		return -1;
	for (int i = 0; i < n->l1.n; i++) {
		tv v;
		if (eval(r, n->l1.v[i], &v) < 0 || tl_push(r, pl, v) < 0)
			return -1;
	}
	if (n->b) {
		tv dyn;
		tlist *items;
		if (eval(r, n->b, &dyn) < 0 || tv_iter(r, dyn, &items) < 0)
			return -1;
		for (size_t i = 0; i < items->n; i++)
			if (tl_push(r, pl, items->v[i]) < 0)
				return -1;
	}
	int nk = n->l2.n;
	tv dk = {.t = V_NONE};
	if (n->c) {
		if (eval(r, n->c, &dk) < 0)
			return -1;
		if (dk.t != V_DICT)
			return q_error("argument after ** must be a mapping, not %s", tv_typename(dk));
		nk += (int)dk.u.d->n;
	}
	*kwn = ta_alloc(&r->a, (size_t)(nk + 1) * sizeof **kwn);
	*kwv = ta_alloc(&r->a, (size_t)(nk + 1) * sizeof **kwv);
	if (!*kwn || !*kwv)
		return -1;
	int k = 0;
	for (int i = 0; i < n->l2.n; i++) {
		(*kwn)[k] = n->l2.v[i]->s;
		if (eval(r, n->l2.v[i]->a, &(*kwv)[k]) < 0)
			return -1;
		k++;
	}
	if (n->c) {
		for (size_t i = 0; i < dk.u.d->n; i++) {
			if (dk.u.d->k[i].t != V_STR)
				return q_error("keywords must be strings");
			(*kwn)[k] = dk.u.d->k[i].u.s;
			(*kwv)[k++] = dk.u.d->v[i];
		}
	}
	for (int i = 0; i < k; i++)
		for (int j = 0; j < i; j++)
			if ((*kwn)[i].n == (*kwn)[j].n && !memcmp((*kwn)[i].p, (*kwn)[j].p, (*kwn)[i].n))
				return q_error("got multiple values for keyword argument '%.*s'", (int)(*kwn)[i].n, (*kwn)[i].p);
	*pos = pl->v;
	*npos = (int)pl->n;
	*nkw = k;
	return 0;
}

/* A filter node; operand overrides n->a when n->a is NULL (filter blocks). */
static int eval_filter(trender *r, const tnode *n, tv operand, tv *out)
{
	tv v = operand;
	if (n->a) {
		if (n->a->kind == E_FILTER && !n->a->a) {
			if (eval_filter(r, n->a, operand, &v) < 0)
				return -1;
		} else if (eval(r, n->a, &v) < 0) {
			return -1;
		}
	}
	targs a;
	if (eval_args(r, n, &a.pos, &a.npos, (tstr **)&a.kwn, &a.kwv, &a.nkw) < 0)
		return -1;
	return tmpl_filter_call(r, n->op, v, &a, out);
}

/* ---- expressions ------------------------------------------------------ */

/* Evaluates expression node n into *out (values live in the render arena). */
static int eval_inner(trender *r, const tnode *n, tv *out)
{
	tv a, b;
	int x;
	switch (n->kind) {
	case E_CONST:
		*out = n->v;
		return 0;
	case E_NAME:
		if (!lookup(r, n->s, out))
			*out = tv_undef_name(n->s);
		return 0;
	case E_GETATTR:
		if (eval(r, n->a, &a) < 0)
			return -1;
		return tmpl_getattr(r, a, n->s, out);
	case E_GETITEM:
		if (eval(r, n->a, &a) < 0)
			return -1;
		if (n->b->kind == E_SLICE)
			return do_slice(r, a, n->b, out);
		if (eval(r, n->b, &b) < 0)
			return -1;
		return tmpl_getitem(r, a, b, out);
	case E_SLICE:
		*out = tv_undef_hint("slice in a tuple subscript");
		return 0;
	case E_CALL: {
		tv *pos, *kwv;
		tstr *kwn;
		int npos, nkw;
		if (eval(r, n->a, &a) < 0 || eval_args(r, n, &pos, &npos, &kwn, &kwv, &nkw) < 0)
			return -1;
		return tmpl_call(r, a, pos, npos, kwn, kwv, nkw, out);
	}
	case E_FILTER:
		return eval_filter(r, n, tv_none(), out);
	case E_TEST: {
		targs ta;
		if (eval(r, n->a, &a) < 0 || eval_args(r, n, &ta.pos, &ta.npos, (tstr **)&ta.kwn, &ta.kwv, &ta.nkw) < 0)
			return -1;
		if (tmpl_test_call(r, n->op, a, &ta, &x) < 0)
			return -1;
		*out = tv_bool(x);
		return 0;
	}
	case E_LIST:
	case E_TUPLE: {
		tlist *l = tl_new(r, (size_t)n->l1.n);
		if (!l)
			return -1;
		for (int i = 0; i < n->l1.n; i++)
			if (eval(r, n->l1.v[i], &l->v[l->n++]) < 0)
				return -1;
		*out = tv_list(l, n->kind == E_LIST ? L_LIST : L_TUPLE);
		return 0;
	}
	case E_DICT: {
		tdict *d = td_new(r);
		if (!d)
			return -1;
		for (int i = 0; i < n->l1.n; i++)
			if (eval(r, n->l1.v[i], &a) < 0 || eval(r, n->l2.v[i], &b) < 0 || td_set(r, d, a, b) < 0)
				return -1;
		out->t = V_DICT;
		out->k = 0;
		out->u.d = d;
		return 0;
	}
	case E_BIN:
		if (eval(r, n->a, &a) < 0 || eval(r, n->b, &b) < 0)
			return -1;
		if (n->op == TK_POW && n->a->cnst && !n->b->cnst &&
		    ((a.t == V_INT && a.u.i < 0) || (a.t == V_FLOAT && signbit(a.u.f)))) {
			/* jinja2 writes the folded constant as "-3 ** (...)", which
			 * Python reads as -(3 ** (...)) */
			tv pos = a.t == V_INT ? tv_int(-a.u.i) : tv_float(-a.u.f), res;
			if (a.t == V_INT && a.u.i == INT64_MIN)
				return overflow();
			if (tmpl_binop(r, TK_POW, pos, b, &res) < 0)
				return -1;
			if (res.t == V_FLOAT)
				*out = tv_float(-res.u.f);
			else if (res.t == V_INT || res.t == V_BOOL)
				*out = tv_int(-res.u.i);
			else
				*out = res;
			return 0;
		}
		return tmpl_binop(r, n->op, a, b, out);
	case E_NEG:
	case E_POS:
		if (eval(r, n->a, &a) < 0)
			return -1;
		if (a.t == V_UNDEF)
			return tv_undef_error(r, a);
		if (a.t == V_FLOAT)
			*out = tv_float(n->kind == E_NEG ? -a.u.f : a.u.f);
		else if (a.t == V_INT || a.t == V_BOOL) {
			if (n->kind == E_NEG && a.u.i == INT64_MIN)
				return overflow();
			*out = tv_int(n->kind == E_NEG ? -a.u.i : a.u.i);
		} else
			return q_error("bad operand type for unary %c: '%s'", n->kind == E_NEG ? '-' : '+', tv_typename(a));
		return 0;
	case E_NOT:
		if (eval(r, n->a, &a) < 0)
			return -1;
		*out = tv_bool(!tv_truth(a));
		return 0;
	case E_AND:
	case E_OR:
		if (eval(r, n->a, &a) < 0)
			return -1;
		if (tv_truth(a) == (n->kind == E_OR)) {
			*out = a;
			return 0;
		}
		return eval(r, n->b, out);
	case E_COND:
		if (eval(r, n->a, &a) < 0)
			return -1;
		if (tv_truth(a))
			return eval(r, n->b, out);
		if (n->c)
			return eval(r, n->c, out);
		{
			char *msg = ta_alloc(&r->a, 120);
			if (!msg)
				return -1;
			snprintf(msg, 120, "the inline if-expression on line %d evaluated to false and no else section was defined.", n->line);
			*out = tv_undef_hint(msg);
		}
		return 0;
	case E_COMPARE:
		if (eval(r, n->a, &a) < 0)
			return -1;
		for (int i = 0; i < n->l1.n; i++) {
			if (eval(r, n->l1.v[i]->a, &b) < 0)
				return -1;
			if ((x = compare(r, n->l1.v[i]->op, a, b)) < 0)
				return -1;
			if (!x) {
				*out = tv_bool(0);
				return 0;
			}
			a = b;
		}
		*out = tv_bool(1);
		return 0;
	case E_CONCAT: {
		q_buf buf = Q_BUF_INIT;
		int rc = 0;
		for (int i = 0; i < n->l1.n && rc == 0; i++) {
			rc = eval(r, n->l1.v[i], &a);
			if (rc == 0)
				rc = tv_str(r, &buf, a);
			if (rc == 0 && buf.len > r->lim.max_output)
				rc = q_error("text larger than %zu bytes", r->lim.max_output);
		}
		if (rc == 0)
			rc = tv_str_from_buf(r, &buf, out);
		q_buf_free(&buf);
		return rc;
	}
	default:
		return q_error("internal error: cannot evaluate node kind %d", n->kind);
	}
}

/* jinja2's has_safe_repr(): what its optimizer agrees to fold into a constant. */
static int safe_repr(tv v, int depth)
{
	if (depth > 100)
		return 0;
	switch (v.t) {
	case V_NONE: case V_BOOL: case V_INT: case V_FLOAT: case V_STR:
		return 1;
	case V_LIST:
		if (v.k == L_RANGE)
			return 1;
		if (v.k != L_LIST && v.k != L_TUPLE)
			return 0;
		for (size_t i = 0; i < v.u.l->n; i++)
			if (!safe_repr(v.u.l->v[i], depth + 1))
				return 0;
		return 1;
	case V_DICT:
		for (size_t i = 0; i < v.u.d->n; i++)
			if (!safe_repr(v.u.d->k[i], depth + 1) || !safe_repr(v.u.d->v[i], depth + 1))
				return 0;
		return 1;
	default:
		return 0;
	}
}

static int eval(trender *r, const tnode *n, tv *out)
{
	if (tmpl_step(r) < 0)
		return -1;
	if (++r->depth > MAX_EVAL_DEPTH) {
		r->depth--;
		return q_error("expression nesting too deep");
	}
	int rc;
	if (r->fold && !n->cnst) {
		/* not constant after all (the branch a condition took): the fold
		 * fails and the caller evaluates at run time */
		r->depth--;
		return -1;
	}
	if (n->cnst && !r->fold) {
		/* a constant expression: jinja2 computes it at compile time (where
		 * a bad slice is undefined, not an error) and keeps the result if
		 * it is printed or has a safe repr; otherwise it runs as usual */
		r->fold = 1;
		rc = eval_inner(r, n, out);
		r->fold = 0;
		if (rc < 0 || !(n == r->out_root || safe_repr(*out, 0)))
			rc = eval_inner(r, n, out);
	} else {
		rc = eval_inner(r, n, out);
	}
	r->depth--;
	return rc;
}

/* ---- statements ------------------------------------------------------- */

/* Runs the for loop n over iterable at recursion depth depth0, in r->scope. */
static int run_for(trender *r, const tnode *n, tv iterable, int depth0)
{
	tlist *items;
	if (iterable.t == V_UNDEF) {
		items = tl_new(r, 0);
		if (!items)
			return -1;
	} else if (tv_iter(r, iterable, &items) < 0) {
		return -1;
	}
	tscope *outer = r->scope;
	int rc = 0;
	if (n->c) {  /* for x in y if cond: filter first, like jinja2 */
		tlist *kept = tl_new(r, 0);
		if (!kept)
			return -1;
		for (size_t i = 0; i < items->n && rc == 0; i++) {
			tv t;
			if (!(r->scope = scope_new(r, outer)) || assign(r, n->a, items->v[i]) < 0 || eval(r, n->c, &t) < 0)
				rc = -1;
			else if (tv_truth(t))
				rc = tl_push(r, kept, items->v[i]);
		}
		r->scope = outer;
		if (rc < 0)
			return -1;
		items = kept;
	}
	if (!items->n) {
		if (!n->l2.n)
			return 0;
		if (!(r->scope = scope_new(r, outer)))
			return -1;
		rc = exec_body(r, &n->l2);
		r->scope = outer;
		return rc;
	}
	tloop *lp = ta_alloc(&r->a, sizeof *lp);
	if (!lp)
		return -1;
	lp->items = items;
	lp->depth0 = depth0;
	lp->node = n->op ? n : NULL;
	lp->scope = outer;
	lp->changed.t = V_UNDEF;
	tv loopv = {.t = V_LOOP};
	loopv.u.lp = lp;
	tscope *it = NULL;
	for (size_t i = 0; i < items->n; i++) {
		lp->i0 = (int64_t)i;
		r->line = n->line;
		if (tmpl_step(r) < 0) {
			rc = -1;
			break;
		}
		if (it && !it->captured) {
			/* nothing kept a reference: reuse the scope, emptied */
			it->vars->n = 0;
			it->vars->idx = NULL;
			it->vars->icap = 0;
		} else {
			it = scope_new(r, outer);
		}
		if (!(r->scope = it) || assign(r, n->a, items->v[i]) < 0 ||
		    scope_set(r, (tstr){"loop", 4}, loopv) < 0) {
			rc = -1;
			break;
		}
		if ((rc = exec_body(r, &n->l1)) < 0)
			break;
		if (r->ctl == 1) {
			r->ctl = 0;
			break;
		}
		r->ctl = 0;
	}
	r->scope = outer;
	return rc;
}

/* Runs one statement node, writing to r->out; sets r->line for errors. */
static int exec_node(trender *r, const tnode *n)
{
	tv v;
	if (tmpl_step(r) < 0)
		return -1;
	switch (n->kind) {
	case N_DATA:
		return emit(r, n->s.p, n->s.n);
	case N_OUTPUT:
		r->line = n->line;
		r->out_root = n->a;
		if (eval(r, n->a, &v) < 0)
			return -1;
		return emit_value(r, v);
	case N_IF:
		r->line = n->line;
		if (eval(r, n->a, &v) < 0)
			return -1;
		return exec_body(r, tv_truth(v) ? &n->l1 : &n->l2);
	case N_FOR:
		r->line = n->line;
		if (eval(r, n->b, &v) < 0)
			return -1;
		return run_for(r, n, v, 0);
	case N_SET:
		if (n->a->kind == E_NSREF) {
			/* jinja2 checks the namespace before the statement's own line
			 * marker, so a failure there names the previous line */
			tv ns;
			if (!lookup(r, n->a->s, &ns) || ns.t != V_NS)
				return q_error("cannot assign attribute on non-namespace object");
		}
		r->line = n->line;
		if (eval(r, n->b, &v) < 0)
			return -1;
		return assign(r, n->a, v);
	case N_SETBLOCK:
		r->line = n->line;
		if (capture(r, &n->l1, &v) < 0)
			return -1;
		r->line = n->line;
		if (n->c && eval_filter(r, n->c, v, &v) < 0)
			return -1;
		return assign(r, n->a, v);
	case N_FILTERBLOCK:
		r->line = n->line;
		if (capture(r, &n->l1, &v) < 0)
			return -1;
		r->line = n->line;
		if (eval_filter(r, n->c, v, &v) < 0)
			return -1;
		return emit_value(r, v);
	case N_MACRO: {
		tmacro *m = ta_alloc(&r->a, sizeof *m);
		if (!m)
			return -1;
		m->def = n;
		m->closure = r->scope;
		r->scope->captured = 1;
		m->name = n->s;
		v.t = V_MACRO;
		v.u.m = m;
		return scope_set(r, n->s, v);
	}
	case N_CALLBLOCK: {
		r->line = n->line;
		tmacro *m = ta_alloc(&r->a, sizeof *m);
		if (!m)
			return -1;
		m->def = n;
		m->closure = r->scope;
		r->scope->captured = 1;
		m->name = (tstr){"caller", 6};
		tv callerv = {.t = V_MACRO}, fn;
		callerv.u.m = m;
		const tnode *call = n->a;
		tv *pos, *kwv;
		tstr *kwn;
		int npos, nkw;
		if (eval(r, call->a, &fn) < 0 || eval_args(r, call, &pos, &npos, &kwn, &kwv, &nkw) < 0)
			return -1;
		/* eval_args leaves room for one more keyword: caller= */
		kwn[nkw] = (tstr){"caller", 6};
		kwv[nkw] = callerv;
		if (tmpl_call(r, fn, pos, npos, kwn, kwv, nkw + 1, &v) < 0)
			return -1;
		return emit_value(r, v);
	}
	case N_WITH: {
		tscope *outer = r->scope, *s = scope_new(r, outer);
		if (!s)
			return -1;
		r->line = n->line;
		for (int i = 0; i < n->l2.n; i++) {
			/* values see the outer scope, like jinja2 */
			r->scope = outer;
			if (eval(r, n->l3.v[i], &v) < 0)
				return -1;
			r->scope = s;
			if (assign(r, n->l2.v[i], v) < 0) {
				r->scope = outer;
				return -1;
			}
		}
		r->scope = s;
		int rc = exec_body(r, &n->l1);
		r->scope = outer;
		return rc;
	}
	case N_SCOPE: {
		tscope *outer = r->scope;
		if (!(r->scope = scope_new(r, outer)))
			return -1;
		int rc = exec_body(r, &n->l1);
		r->scope = outer;
		return rc;
	}
	case N_BREAK:
		r->ctl = 1;
		return 0;
	case N_CONTINUE:
		r->ctl = 2;
		return 0;
	default:
		return q_error("internal error: cannot run node kind %d", n->kind);
	}
}

static int exec_body(trender *r, const tnlist *body)
{
	for (int i = 0; i < body->n; i++) {
		if (exec_node(r, body->v[i]) < 0)
			return -1;
		if (r->ctl)
			return 0;
	}
	return 0;
}

/* Renders the whole template; -1 + q_error("template line N: ...") on failure. */
int tmpl_run(trender *r)
{
	r->line = 1;
	r->scope = scope_new(r, NULL);
	if (!r->scope)
		return q_error("template line 1: %s", q_errmsg());
	int rc = exec_body(r, &r->t->body);
	if (rc < 0) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", q_errmsg());
		size_t n = strlen(msg);
		q_error("template line %d: %s%s", r->line, msg, n && msg[n - 1] == ':' ? " " : "");
	}
	return rc;
}
