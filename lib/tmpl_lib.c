/*
 * tmpl_lib.c - jinja2's built-in filters, tests and globals, plus the
 * methods of str, dict, list and the loop object, as the sandbox allows them.
 *
 * Invariants:
 * - Each builtin binds its arguments like the Python function it mirrors
 *   (same parameter names and defaults; too many / unknown arguments are
 *   errors) and fails where the Python code would raise.
 * - Filters that return generators in jinja2 (map, select, reject,
 *   selectattr, rejectattr, unique, batch, slice, items, reverse) return
 *   L_GEN lists: iterable, but an error when printed, measured or indexed.
 * - Sorting is stable and uses only "<", like Python's sorted().
 * - The only mutable state: loop.changed()'s last value, cycler and joiner
 *   positions, namespace attributes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "tmpl_int.h"
#include "tmpl_str.h"

#define V_MISSING 0xFF
#define MAX_RANGE 100000

/* ---- names ------------------------------------------------------------ */

enum {
	FI_ABS, FI_ATTR, FI_BATCH, FI_CAPITALIZE, FI_CENTER, FI_COUNT, FI_DEFAULT, FI_DICTSORT,
	FI_ESCAPE, FI_FIRST, FI_FLOAT, FI_FORCEESCAPE, FI_FORMAT, FI_INDENT, FI_INT, FI_ITEMS,
	FI_JOIN, FI_LAST, FI_LENGTH, FI_LIST, FI_LOWER, FI_MAP, FI_MAX, FI_MIN, FI_REJECT,
	FI_REJECTATTR, FI_REPLACE, FI_REVERSE, FI_ROUND, FI_SAFE, FI_SELECT, FI_SELECTATTR,
	FI_SLICE, FI_SORT, FI_STRING, FI_SUM, FI_TITLE, FI_TOJSON, FI_TRIM, FI_TRUNCATE,
	FI_UNIQUE, FI_UPPER, FI_WORDCOUNT,
};

static const struct { const char *name; int id; } filters[] = {
	{"abs", FI_ABS}, {"attr", FI_ATTR}, {"batch", FI_BATCH}, {"capitalize", FI_CAPITALIZE},
	{"center", FI_CENTER}, {"count", FI_COUNT}, {"d", FI_DEFAULT}, {"default", FI_DEFAULT},
	{"dictsort", FI_DICTSORT}, {"e", FI_ESCAPE}, {"escape", FI_ESCAPE}, {"first", FI_FIRST},
	{"float", FI_FLOAT}, {"forceescape", FI_FORCEESCAPE}, {"format", FI_FORMAT},
	{"indent", FI_INDENT}, {"int", FI_INT}, {"items", FI_ITEMS}, {"join", FI_JOIN},
	{"last", FI_LAST}, {"length", FI_LENGTH}, {"list", FI_LIST}, {"lower", FI_LOWER},
	{"map", FI_MAP}, {"max", FI_MAX}, {"min", FI_MIN}, {"reject", FI_REJECT},
	{"rejectattr", FI_REJECTATTR}, {"replace", FI_REPLACE}, {"reverse", FI_REVERSE},
	{"round", FI_ROUND}, {"safe", FI_SAFE}, {"select", FI_SELECT}, {"selectattr", FI_SELECTATTR},
	{"slice", FI_SLICE}, {"sort", FI_SORT}, {"string", FI_STRING}, {"sum", FI_SUM},
	{"title", FI_TITLE}, {"tojson", FI_TOJSON}, {"trim", FI_TRIM}, {"truncate", FI_TRUNCATE},
	{"unique", FI_UNIQUE}, {"upper", FI_UPPER}, {"wordcount", FI_WORDCOUNT},
};

enum {
	TE_ODD, TE_EVEN, TE_DIVISIBLEBY, TE_DEFINED, TE_UNDEFINED, TE_NONE, TE_BOOLEAN, TE_FALSE,
	TE_TRUE, TE_INTEGER, TE_FLOAT, TE_LOWER, TE_UPPER, TE_STRING, TE_MAPPING, TE_NUMBER,
	TE_SEQUENCE, TE_ITERABLE, TE_CALLABLE, TE_SAMEAS, TE_ESCAPED, TE_IN, TE_EQ, TE_NE,
	TE_GT, TE_GE, TE_LT, TE_LE, TE_FILTER, TE_TEST,
};

static const struct { const char *name; int id; } tests[] = {
	{"odd", TE_ODD}, {"even", TE_EVEN}, {"divisibleby", TE_DIVISIBLEBY}, {"defined", TE_DEFINED},
	{"undefined", TE_UNDEFINED}, {"none", TE_NONE}, {"boolean", TE_BOOLEAN}, {"false", TE_FALSE},
	{"true", TE_TRUE}, {"integer", TE_INTEGER}, {"float", TE_FLOAT}, {"lower", TE_LOWER},
	{"upper", TE_UPPER}, {"string", TE_STRING}, {"mapping", TE_MAPPING}, {"number", TE_NUMBER},
	{"sequence", TE_SEQUENCE}, {"iterable", TE_ITERABLE}, {"callable", TE_CALLABLE},
	{"sameas", TE_SAMEAS}, {"escaped", TE_ESCAPED}, {"in", TE_IN}, {"eq", TE_EQ},
	{"equalto", TE_EQ}, {"ne", TE_NE}, {"gt", TE_GT}, {"greaterthan", TE_GT}, {"ge", TE_GE},
	{"lt", TE_LT}, {"lessthan", TE_LT}, {"le", TE_LE}, {"filter", TE_FILTER}, {"test", TE_TEST},
};

enum { FN_RANGE, FN_DICT, FN_NAMESPACE, FN_RAISE, FN_STRFTIME, FN_CYCLER, FN_JOINER, FN_LIPSUM };

static const char *const funcs[] = {"range", "dict", "namespace", "raise_exception", "strftime_now",
				    "cycler", "joiner", "lipsum"};

enum {
	/* str */
	M_CAPITALIZE, M_CENTER, M_COUNT, M_ENDSWITH, M_FIND, M_FORMAT, M_INDEX, M_ISALNUM,
	M_ISALPHA, M_ISDECIMAL, M_ISDIGIT, M_ISLOWER, M_ISNUMERIC, M_ISSPACE, M_ISTITLE,
	M_ISUPPER, M_JOIN, M_LJUST, M_LOWER, M_LSTRIP, M_PARTITION, M_REPLACE, M_RFIND,
	M_RINDEX, M_RJUST, M_RPARTITION, M_RSPLIT, M_RSTRIP, M_SPLIT, M_SPLITLINES,
	M_STARTSWITH, M_STRIP, M_SWAPCASE, M_TITLE, M_UPPER, M_ZFILL,
	M_STR_END,
	/* dict */
	M_D_ITEMS = M_STR_END, M_D_KEYS, M_D_VALUES, M_D_GET, M_D_COPY,
	/* list / tuple */
	M_L_INDEX, M_L_COUNT, M_L_COPY,
	/* loop */
	M_LOOP_CYCLE, M_LOOP_CHANGED,
	/* objects made by globals */
	M_CYCLER, M_CYCLER_NEXT, M_CYCLER_RESET, M_JOINER,
};

static const char *const str_methods[] = {
	"capitalize", "center", "count", "endswith", "find", "format", "index", "isalnum",
	"isalpha", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle",
	"isupper", "join", "ljust", "lower", "lstrip", "partition", "replace", "rfind",
	"rindex", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines",
	"startswith", "strip", "swapcase", "title", "upper", "zfill",
};

static int name_is(tstr s, const char *lit)
{
	return s.n && s.p[0] == lit[0] && s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* Name tables: filter / test / global function ids, -1 if unknown. */
int tmpl_filter_id(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
		if (name_is((tstr){name, n}, filters[i].name))
			return filters[i].id;
	return -1;
}

int tmpl_filter_needs_context(int id)
{
	return id == FI_MAP || id == FI_SELECT || id == FI_REJECT || id == FI_SELECTATTR || id == FI_REJECTATTR;
}

int tmpl_test_id(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
		if (name_is((tstr){name, n}, tests[i].name))
			return tests[i].id;
	return -1;
}

int tmpl_func_id(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
		if (name_is((tstr){name, n}, funcs[i]))
			return (int)i;
	return -1;
}

/* ---- argument binding -------------------------------------------------- */

/*
 * Binds a's positional and keyword arguments to the np parameters names[]
 * (the first nreq required) into slots[]; absent ones get t = V_MISSING.
 * Extra positional arguments are an error unless rest != NULL, which then
 * receives their index.
 */
static int bind(const targs *a, const char *fn, const char *const *names, int np, int nreq, tv *slots, int *rest)
{
	for (int i = 0; i < np; i++)
		slots[i].t = V_MISSING;
	int npos = a->npos;
	if (npos > np) {
		if (!rest)
			return q_error("%s() takes at most %d argument%s (%d given)", fn, np, np == 1 ? "" : "s", npos);
		npos = np;
	}
	if (rest)
		*rest = npos;
	for (int i = 0; i < npos; i++)
		slots[i] = a->pos[i];
	for (int k = 0; k < a->nkw; k++) {
		int j;
		for (j = 0; j < np; j++)
			if (name_is(a->kwn[k], names[j]))
				break;
		if (j == np)
			return q_error("%s() got an unexpected keyword argument '%.*s'", fn, (int)a->kwn[k].n, a->kwn[k].p);
		if (slots[j].t != V_MISSING)
			return q_error("%s() got multiple values for argument '%s'", fn, names[j]);
		slots[j] = a->kwv[k];
	}
	for (int i = 0; i < nreq; i++)
		if (slots[i].t == V_MISSING)
			return q_error("%s() missing required argument '%s'", fn, names[i]);
	return 0;
}

static int missing(tv v) { return v.t == V_MISSING; }

static int no_args(const targs *a, const char *fn)
{
	if (a->npos || a->nkw)
		return q_error("%s() takes no arguments", fn);
	return 0;
}

/* Python int for an index / count argument (bool counts). */
static int as_int(tv v, int64_t *out)
{
	*out = 0;
	if (v.t == V_INT || v.t == V_BOOL) {
		*out = v.u.i;
		return 0;
	}
	if (v.t == V_UNDEF)
		return tv_undef_error(NULL, v);
	return q_error("'%s' object cannot be interpreted as an integer", tv_typename(v));
}

static int as_str(tv v, tstr *out, const char *what)
{
	out->p = "";
	out->n = 0;
	if (v.t == V_STR) {
		*out = v.u.s;
		return 0;
	}
	if (v.t == V_UNDEF)
		return tv_undef_error(NULL, v);
	return q_error("%s must be str, not %s", what, tv_typename(v));
}

/* soft_str(): str(v) for non-strings (Markup stays Markup). */
static int soft_str(trender *r, tv v, tv *out)
{
	if (v.t == V_STR) {
		*out = v;
		return 0;
	}
	return tv_to_text(r, v, out);
}

static tv gen(tlist *l) { return tv_list(l, L_GEN); }

/* len(v) as Python computes it; -1 + q_error if v has no len(). */
static int py_len(trender *r, tv v, int64_t *n)
{
	(void)r;
	switch (v.t) {
	case V_UNDEF: *n = 0; return 0;
	case V_STR: *n = (int64_t)tmpl_u8len(v.u.s.p, v.u.s.n); return 0;
	case V_LIST:
		if (v.k == L_GEN)
			break;
		*n = (int64_t)v.u.l->n;
		return 0;
	case V_DICT: *n = (int64_t)v.u.d->n; return 0;
	case V_LOOP: *n = (int64_t)v.u.lp->items->n; return 0;
	default: break;
	}
	return q_error("object of type '%s' has no len()", tv_typename(v));
}

/* ---- attribute getters (make_attrgetter) ------------------------------- */

/* item[part][part]... for "a.b.0"; dflt replaces undefined results. */
static int attr_get(trender *r, tv item, tv attribute, tv dflt, tv *out)
{
	if (attribute.t == V_NONE || missing(attribute)) {
		*out = item;
		return 0;
	}
	if (attribute.t != V_STR) {
		if (tmpl_getitem(r, item, attribute, &item) < 0)
			return -1;
		if (!missing(dflt) && dflt.t != V_NONE && item.t == V_UNDEF)
			item = dflt;
		*out = item;
		return 0;
	}
	tstr s = attribute.u.s;
	size_t i = 0;
	for (;;) {
		size_t j = i;
		while (j < s.n && s.p[j] != '.')
			j++;
		tstr part = {s.p + i, j - i};
		int digits = part.n > 0;
		for (size_t k = 0; k < part.n; k++)
			digits &= part.p[k] >= '0' && part.p[k] <= '9';
		tv key = tv_strv(part.p, part.n);
		if (digits && part.n < 18)
			key = tv_int(strtoll(part.p, NULL, 10));
		if (tmpl_getitem(r, item, key, &item) < 0)
			return -1;
		if (!missing(dflt) && dflt.t != V_NONE && item.t == V_UNDEF)
			item = dflt;
		if (j >= s.n)
			break;
		i = j + 1;
	}
	*out = item;
	return 0;
}

/* ignore_case(): lower() strings, leave the rest. */
static int ignore_case(trender *r, tv v, tv *out)
{
	if (v.t == V_STR)
		return tstr_case(r, v.u.s, CASE_LOWER, out);
	*out = v;
	return 0;
}

/* ---- sorting ----------------------------------------------------------- */

/* Stable merge sort of items by keys using only "<" (desc: reversed order,
 * equal keys keep their order, like sorted(..., reverse=True)). */
static int msort(trender *r, tv *items, tv *keys, size_t n, int desc)
{
	if (n < 2)
		return 0;
	tv *ti = ta_alloc(&r->a, n * sizeof *ti), *tk = ta_alloc(&r->a, n * sizeof *tk);
	if (!ti || !tk)
		return -1;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi) {
				int before = desc ? tv_less(r, keys[i], keys[j]) : tv_less(r, keys[j], keys[i]);
				if (before < 0)
					return -1;
				if (before) {
					ti[k] = items[j];
					tk[k++] = keys[j++];
				} else {
					ti[k] = items[i];
					tk[k++] = keys[i++];
				}
			}
			while (i < mid) {
				ti[k] = items[i];
				tk[k++] = keys[i++];
			}
			while (j < hi) {
				ti[k] = items[j];
				tk[k++] = keys[j++];
			}
		}
		memcpy(items, ti, n * sizeof *ti);
		memcpy(keys, tk, n * sizeof *tk);
	}
	return 0;
}

/* ---- filters ---------------------------------------------------------- */

/* Each f_NAME is jinja2's do_NAME filter (filters.py), same parameters. */
static int f_default(const targs *a, tv v, tv *out)
{
	static const char *const nm[] = {"default_value", "boolean"};
	tv s[2];
	if (bind(a, "do_default", nm, 2, 0, s, NULL) < 0)
		return -1;
	tv dflt = missing(s[0]) ? tv_strv("", 0) : s[0];
	int boolean = !missing(s[1]) && tv_truth(s[1]);
	*out = (v.t == V_UNDEF || (boolean && !tv_truth(v))) ? dflt : v;
	return 0;
}

static int f_join(trender *r, const targs *a, tv v, tv *out)
{
	static const char *const nm[] = {"d", "attribute"};
	tv s[2];
	tlist *items;
	if (bind(a, "do_join", nm, 2, 0, s, NULL) < 0 || tv_iter(r, v, &items) < 0)
		return -1;
	tv d = tv_strv("", 0);
	if (!missing(s[0]) && soft_str(r, s[0], &d) < 0)
		return -1;
	q_buf b = Q_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < items->n && rc == 0; i++) {
		tv x = items->v[i];
		if (!missing(s[1]) && s[1].t != V_NONE)
			rc = attr_get(r, x, s[1], (tv){.t = V_MISSING}, &x);
		if (rc == 0 && i)
			rc = q_buf_add(&b, d.u.s.p, d.u.s.n);
		if (rc == 0)
			rc = tv_str(r, &b, x);
		if (rc == 0 && b.len > r->lim.max_output)
			rc = q_error("string too large");
	}
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&b);
	return rc;
}

static int f_tojson(trender *r, const targs *a, tv v, tv *out)
{
	static const char *const nm[] = {"ensure_ascii", "indent", "separators", "sort_keys"};
	tv s[4];
	if (bind(a, "tojson", nm, 4, 0, s, NULL) < 0)
		return -1;
	tjson_opt o = {.item_sep = {", ", 2}, .key_sep = {": ", 2}};
	o.ensure_ascii = !missing(s[0]) && tv_truth(s[0]);
	o.sort_keys = !missing(s[3]) && tv_truth(s[3]);
	char *spaces = NULL;
	if (!missing(s[1]) && s[1].t != V_NONE) {
		if (s[1].t == V_STR) {
			o.indent = s[1].u.s.p;
			o.indent_n = s[1].u.s.n;
		} else if (s[1].t == V_INT || s[1].t == V_BOOL) {
			int64_t k = s[1].u.i < 0 ? 0 : s[1].u.i;
			if (k > 1000)
				return q_error("tojson indent too large");
			if (!(spaces = ta_alloc(&r->a, (size_t)k + 1)))
				return -1;
			memset(spaces, ' ', (size_t)k);
			o.indent = spaces;
			o.indent_n = (size_t)k;
		} else {
			return q_error("can't multiply sequence by non-int of type '%s'", tv_typename(s[1]));
		}
		o.item_sep = (tstr){",", 1};
	}
	if (!missing(s[2]) && s[2].t != V_NONE) {
		tlist *sep;
		if (tv_iter(r, s[2], &sep) < 0)
			return -1;
		if (sep->n != 2)
			return q_error("separators must be a pair of strings");
		if (as_str(sep->v[0], &o.item_sep, "separator") < 0 || as_str(sep->v[1], &o.key_sep, "separator") < 0)
			return -1;
	}
	q_buf b = Q_BUF_INIT;
	int rc = tv_json(r, &b, v, &o);
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&b);
	return rc;
}

static int f_indent(trender *r, const targs *a, tv v, tv *out)
{
	static const char *const nm[] = {"width", "first", "blank"};
	tv s[3];
	if (bind(a, "do_indent", nm, 3, 0, s, NULL) < 0)
		return -1;
	if (v.t != V_STR)
		return v.t == V_UNDEF ? tv_undef_error(r, v)
				      : q_error("unsupported operand type(s) for +=: '%s' and 'str'", tv_typename(v));
	tstr ind = {"    ", 4};
	char *sp = NULL;
	if (!missing(s[0])) {
		if (s[0].t == V_STR) {
			ind = s[0].u.s;
		} else {
			int64_t w;
			if (as_int(s[0], &w) < 0)
				return -1;
			if (w < 0)
				w = 0;
			if (w > 10000)
				return q_error("indent width too large");
			if (!(sp = ta_alloc(&r->a, (size_t)w + 1)))
				return -1;
			memset(sp, ' ', (size_t)w);
			ind = (tstr){sp, (size_t)w};
		}
	}
	int first = !missing(s[1]) && tv_truth(s[1]), blank = !missing(s[2]) && tv_truth(s[2]);
	/* s += "\n"; lines = s.splitlines() */
	char *withnl = ta_alloc(&r->a, v.u.s.n + 2);
	if (!withnl)
		return -1;
	memcpy(withnl, v.u.s.p, v.u.s.n);
	withnl[v.u.s.n] = '\n';
	tv lines;
	if (tstr_splitlines(r, (tstr){withnl, v.u.s.n + 1}, 0, &lines) < 0)
		return -1;
	q_buf b = Q_BUF_INIT;
	int rc = 0;
	tlist *L = lines.u.l;
	if (first)
		rc = q_buf_add(&b, ind.p, ind.n);
	for (size_t i = 0; i < L->n && rc == 0; i++) {
		tstr line = L->v[i].u.s;
		if (i) {
			rc = q_buf_addc(&b, '\n');
			if (rc == 0 && (blank || line.n))
				rc = q_buf_add(&b, ind.p, ind.n);
		}
		if (rc == 0)
			rc = q_buf_add(&b, line.p, line.n);
		if (rc == 0 && b.len > r->lim.max_output)
			rc = q_error("string too large");
	}
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&b);
	if (rc == 0)
		out->k = v.k;
	return rc;
}

static int f_title(trender *r, tv v, tv *out)
{
	/* "".join(item[0].upper() + item[1:].lower() for item in re.split(r"([-\s({\[<]+)", s) if item) */
	tstr s = v.u.s;
	q_buf b = Q_BUF_INIT;
	int rc = 0;
	size_t i = 0;
	while (i < s.n && rc == 0) {
		uint32_t cp;
		size_t cl = tmpl_u8dec(s.p + i, s.n - i, &cp);
		int sep = cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || tstr_isspace_cp(cp);
		size_t j = i + cl;
		while (j < s.n) {
			uint32_t c2;
			size_t l2 = tmpl_u8dec(s.p + j, s.n - j, &c2);
			int sep2 = c2 == '-' || c2 == '(' || c2 == '{' || c2 == '[' || c2 == '<' || tstr_isspace_cp(c2);
			if (sep2 != sep)
				break;
			j += l2;
		}
		tv up, lo;
		rc = tstr_case(r, (tstr){s.p + i, cl}, CASE_UPPER, &up);
		if (rc == 0)
			rc = tstr_case(r, (tstr){s.p + i + cl, j - i - cl}, CASE_LOWER, &lo);
		if (rc == 0)
			rc = q_buf_add(&b, up.u.s.p, up.u.s.n);
		if (rc == 0)
			rc = q_buf_add(&b, lo.u.s.p, lo.u.s.n);
		i = j;
	}
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&b);
	return rc;
}

/* Python float(str): strip whitespace, optional sign, digits with single
 * underscores, inf/nan words.  0 and *out on success, -1 if not a float. */
static int parse_py_float(tstr s, double *out)
{
	size_t b = 0, e = s.n;
	while (b < e && tstr_isspace_cp((unsigned char)s.p[b]))
		b++;
	while (e > b && tstr_isspace_cp((unsigned char)s.p[e - 1]))
		e--;
	if (b == e || e - b > 300)
		return -1;
	char tmp[320];
	size_t k = 0;
	for (size_t i = b; i < e; i++) {
		char c = s.p[i];
		if (c == '_') {
			if (i == b || i + 1 >= e || !(s.p[i - 1] >= '0' && s.p[i - 1] <= '9') ||
			    !(s.p[i + 1] >= '0' && s.p[i + 1] <= '9'))
				return -1;
			continue;
		}
		if ((unsigned char)c >= 0x80)
			return -1;
		tmp[k++] = c;
	}
	tmp[k] = 0;
	const char *p = tmp + (tmp[0] == '+' || tmp[0] == '-');
	if (!strcasecmp(p, "inf") || !strcasecmp(p, "infinity") || !strcasecmp(p, "nan")) {
		double x = (p[0] | 0x20) == 'n' ? NAN : INFINITY;
		*out = tmp[0] == '-' ? -x : x;
		return 0;
	}
	for (const char *q = p; *q; q++)
		if (!strchr("0123456789.eE+-", *q))
			return -1;
	if ((p[0] < '0' || p[0] > '9') && p[0] != '.')
		return -1;
	char *end;
	double x = strtod(tmp, &end);
	if (*end)
		return -1;
	*out = x;
	return 0;
}

/* Python int(str, base); -1 if not an int literal (or beyond 64 bits). */
static int parse_py_int(tstr s, int64_t base, int64_t *out)
{
	size_t b = 0, e = s.n;
	while (b < e && tstr_isspace_cp((unsigned char)s.p[b]))
		b++;
	while (e > b && tstr_isspace_cp((unsigned char)s.p[e - 1]))
		e--;
	int neg = 0;
	if (b < e && (s.p[b] == '+' || s.p[b] == '-'))
		neg = s.p[b++] == '-';
	if (b + 1 < e && s.p[b] == '0') {
		char c = (char)(s.p[b + 1] | 0x20);
		int pb = c == 'x' ? 16 : c == 'o' ? 8 : c == 'b' ? 2 : 0;
		if (pb && (base == pb || base == 0)) {
			base = pb;
			b += 2;
			if (b < e && s.p[b] == '_')
				b++;
		}
	}
	if (base == 0)
		base = 10;
	if (base < 2 || base > 36 || b >= e)
		return -1;
	uint64_t v = 0;
	for (size_t i = b; i < e; i++) {
		char c = s.p[i];
		if (c == '_' && i > b && i + 1 < e && s.p[i + 1] != '_')
			continue;
		int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? (c | 0x20) - 'a' + 10 : 99;
		if (d >= base)
			return -1;
		if (v > (UINT64_C(0x7fffffffffffffff) - (uint64_t)d) / (uint64_t)base)
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int f_int(trender *r, const targs *a, tv v, tv *out)
{
	static const char *const nm[] = {"default", "base"};
	tv s[2];
	if (bind(a, "do_int", nm, 2, 0, s, NULL) < 0)
		return -1;
	tv dflt = missing(s[0]) ? tv_int(0) : s[0];
	int64_t base = 10;
	if (!missing(s[1]) && as_int(s[1], &base) < 0)
		return -1;
	switch (v.t) {
	case V_UNDEF: return tv_undef_error(r, v);
	case V_INT:
	case V_BOOL: *out = tv_int(v.u.i); return 0;
	case V_FLOAT:
		if (isnan(v.u.f)) {
			*out = dflt;
			return 0;
		}
		if (!isfinite(v.u.f))
			return q_error("cannot convert float infinity to integer");
		if (fabs(v.u.f) >= 9.2e18)
			return q_error("integer overflow: the result does not fit in 64 bits");
		*out = tv_int((int64_t)v.u.f);
		return 0;
	case V_STR: {
		int64_t i;
		double f;
		if (parse_py_int(v.u.s, base, &i) == 0) {
			*out = tv_int(i);
		} else if (parse_py_float(v.u.s, &f) == 0 && isfinite(f) && fabs(f) < 9.2e18) {
			*out = tv_int((int64_t)f);
		} else {
			*out = dflt;
		}
		return 0;
	}
	default:
		*out = dflt;
		return 0;
	}
}

static int f_float(trender *r, const targs *a, tv v, tv *out)
{
	static const char *const nm[] = {"default"};
	tv s[1];
	if (bind(a, "do_float", nm, 1, 0, s, NULL) < 0)
		return -1;
	tv dflt = missing(s[0]) ? tv_float(0.0) : s[0];
	double f;
	switch (v.t) {
	case V_UNDEF: return tv_undef_error(r, v);
	case V_INT:
	case V_BOOL: *out = tv_float((double)v.u.i); return 0;
	case V_FLOAT: *out = v; return 0;
	case V_STR: *out = parse_py_float(v.u.s, &f) == 0 ? tv_float(f) : dflt; return 0;
	default: *out = dflt; return 0;
	}
}

/* Python round(x, ndigits) for floats: correctly rounded, half to even. */
static double round_float(double x, int64_t nd)
{
	if (!isfinite(x))
		return x;
	if (nd > 300)
		return x;
	if (nd < -308)
		return 0.0 * x;
	char buf[400];
	if (nd >= 0) {
		snprintf(buf, sizeof buf, "%.*f", (int)nd, x);
		return strtod(buf, NULL);
	}
	double p = pow(10.0, (double)-nd), y = x / p, z = rint(y);
	if (fabs(y - z) == 0.5)
		z = 2.0 * rint(y / 2.0);
	return z * p;
}

static int f_round(trender *r, const targs *a, tv v, tv *out)
{
	static const char *const nm[] = {"precision", "method"};
	tv s[2];
	if (bind(a, "do_round", nm, 2, 0, s, NULL) < 0)
		return -1;
	int64_t prec = 0;
	if (!missing(s[0]) && as_int(s[0], &prec) < 0)
		return -1;
	tstr method = {"common", 6};
	if (!missing(s[1]) && as_str(s[1], &method, "method") < 0)
		return -1;
	if (!name_is(method, "common") && !name_is(method, "ceil") && !name_is(method, "floor"))
		return q_error("method must be common, ceil or floor");
	if (v.t == V_UNDEF)
		return tv_undef_error(r, v);
	if (v.t != V_INT && v.t != V_BOOL && v.t != V_FLOAT)
		return q_error("type %s doesn't define __round__ method", tv_typename(v));
	if (name_is(method, "common")) {
		if (v.t == V_FLOAT) {
			*out = tv_float(round_float(v.u.f, prec));
			return 0;
		}
		int64_t x = v.u.i;
		if (prec < 0) {
			if (prec < -18) {
				*out = tv_int(0);
				return 0;
			}
			int64_t p = 1;
			for (int64_t i = 0; i < -prec; i++)
				p *= 10;
			int64_t q = x / p, rem = x % p;
			if (rem < 0) {
				rem += p;
				q--;
			}
			if (rem * 2 > p || (rem * 2 == p && (q & 1)))
				q++;
			if (__builtin_mul_overflow(q, p, &x))
				return q_error("integer overflow: the result does not fit in 64 bits");
		}
		*out = tv_int(x);
		return 0;
	}
	/* func(value * (10 ** precision)) / (10 ** precision) */
	tv p10, prod, fl, res;
	if (tmpl_step(r) < 0)
		return -1;
	double pw = pow(10.0, (double)prec);
	if (prec >= 0 && prec < 19) {
		int64_t ip = 1;
		for (int64_t i = 0; i < prec; i++)
			ip *= 10;
		p10 = tv_int(ip);
	} else {
		p10 = tv_float(pw);
	}
	double xv = v.t == V_FLOAT ? v.u.f : (double)v.u.i;
	if (v.t != V_FLOAT && p10.t == V_INT) {
		int64_t m;
		if (__builtin_mul_overflow(v.u.i, p10.u.i, &m))
			return q_error("integer overflow: the result does not fit in 64 bits");
		prod = tv_int(m);
	} else {
		prod = tv_float(xv * (p10.t == V_INT ? (double)p10.u.i : p10.u.f));
	}
	if (prod.t == V_FLOAT) {
		double c = name_is(method, "ceil") ? ceil(prod.u.f) : floor(prod.u.f);
		if (isnan(c))
			return q_error("cannot convert float NaN to integer");
		if (!isfinite(c))
			return q_error("cannot convert float infinity to integer");
		fl = tv_float(c == 0.0 ? 0.0 : c);  /* math.floor() gives an int: no -0 */
	} else {
		fl = prod;
	}
	double den = p10.t == V_INT ? (double)p10.u.i : p10.u.f;
	res = tv_float((fl.t == V_FLOAT ? fl.u.f : (double)fl.u.i) / den);
	*out = res;
	return 0;
}

static int f_truncate(trender *r, const targs *a, tv v, tv *out)
{
	static const char *const nm[] = {"length", "killwords", "end", "leeway"};
	tv s[4];
	if (bind(a, "do_truncate", nm, 4, 0, s, NULL) < 0)
		return -1;
	int64_t length = 255, leeway = 5;
	if (!missing(s[0]) && as_int(s[0], &length) < 0)
		return -1;
	if (!missing(s[3]) && s[3].t != V_NONE && as_int(s[3], &leeway) < 0)
		return -1;
	tstr end = {"...", 3};
	if (!missing(s[2]) && as_str(s[2], &end, "end") < 0)
		return -1;
	int64_t endlen = (int64_t)tmpl_u8len(end.p, end.n), len = 0;
	if (length < endlen)
		return q_error("expected length >= %lld, got %lld", (long long)endlen, (long long)length);
	if (leeway < 0)
		return q_error("expected leeway >= 0, got %lld", (long long)leeway);
	if (py_len(r, v, &len) < 0)
		return -1;
	if (len <= length + leeway) {
		*out = v;
		return 0;
	}
	if (v.t != V_STR)
		return q_error("can only concatenate %s (not \"str\") to %s", tv_typename(v), tv_typename(v));
	if (v.k && !(s[2].t == V_STR && s[2].k)) {  /* Markup + str escapes the str */
		tv e;
		if (tmpl_markup_escape(r, tv_strv(end.p, end.n), &e) < 0)
			return -1;
		end = e.u.s;
	}
	size_t cut = tmpl_u8off(v.u.s.p, v.u.s.n, (size_t)(length - endlen));
	tstr head = {v.u.s.p, cut};
	if (!(!missing(s[1]) && tv_truth(s[1]))) {
		/* s[:n].rsplit(" ", 1)[0] */
		for (size_t k = cut; k-- > 0;)
			if (head.p[k] == ' ') {
				head.n = k;
				break;
			}
	}
	char *p = ta_alloc(&r->a, head.n + end.n + 1);
	if (!p)
		return -1;
	memcpy(p, head.p, head.n);
	memcpy(p + head.n, end.p, end.n);
	*out = tv_strv(p, head.n + end.n);
	out->k = v.k;
	return 0;
}

static int f_wordcount(trender *r, tv v, tv *out)
{
	tv s;
	if (soft_str(r, v, &s) < 0)
		return -1;
	size_t n;
	uint32_t *c = tstr_cps(r, s.u.s, &n);
	if (!c)
		return -1;
	int64_t words = 0;
	int in = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t x = c[i];
		int w = x == '_' || tmpl_uc_alpha(x) || tmpl_uc_decimal(x) || tmpl_uc_digit(x) || tmpl_uc_numeric(x);
		if (w && !in)
			words++;
		in = w;
	}
	*out = tv_int(words);
	return 0;
}

static int f_sort(trender *r, const targs *a, tv v, tv *out)
{
	static const char *const nm[] = {"reverse", "case_sensitive", "attribute"};
	tv s[3];
	tlist *items;
	if (bind(a, "do_sort", nm, 3, 0, s, NULL) < 0 || tv_iter(r, v, &items) < 0)
		return -1;
	int rev = !missing(s[0]) && tv_truth(s[0]), cs = !missing(s[1]) && tv_truth(s[1]);
	tv attr = missing(s[2]) ? tv_none() : s[2];
	size_t n = items->n;
	tlist *res = tl_new(r, n);
	tv *keys = ta_alloc(&r->a, (n + 1) * sizeof *keys);
	if (!res || !keys)
		return -1;
	/* make_multi_attrgetter: the key is a list of the comma-separated attributes */
	tlist *parts = tl_new(r, 0);
	if (!parts)
		return -1;
	if (attr.t == V_STR) {
		tv sp;
		tstr comma = {",", 1};
		if (tstr_split(r, attr.u.s, &comma, -1, 0, &sp) < 0)
			return -1;
		parts = sp.u.l;
	} else if (tl_push(r, parts, attr) < 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		tlist *k = tl_new(r, parts->n);
		if (!k)
			return -1;
		for (size_t j = 0; j < parts->n; j++) {
			tv x;
			if (attr_get(r, items->v[i], parts->v[j], (tv){.t = V_MISSING}, &x) < 0)
				return -1;
			if (!cs && ignore_case(r, x, &x) < 0)
				return -1;
			k->v[k->n++] = x;
		}
		keys[i] = tv_list(k, L_LIST);
		res->v[res->n++] = items->v[i];
	}
	if (msort(r, res->v, keys, n, rev) < 0)
		return -1;
	*out = tv_list(res, L_LIST);
	return 0;
}

static int f_dictsort(trender *r, const targs *a, tv v, tv *out)
{
	static const char *const nm[] = {"case_sensitive", "by", "reverse"};
	tv s[3];
	if (bind(a, "do_dictsort", nm, 3, 0, s, NULL) < 0)
		return -1;
	int cs = !missing(s[0]) && tv_truth(s[0]), rev = !missing(s[2]) && tv_truth(s[2]);
	int pos = 0;
	if (!missing(s[1])) {
		if (s[1].t == V_STR && name_is(s[1].u.s, "value"))
			pos = 1;
		else if (!(s[1].t == V_STR && name_is(s[1].u.s, "key")))
			return q_error("You can only sort by either \"key\" or \"value\"");
	}
	if (v.t != V_DICT)
		return v.t == V_UNDEF ? tv_undef_error(r, v) : q_error("'%s' object has no attribute 'items'", tv_typename(v));
	size_t n = v.u.d->n;
	tlist *res = tl_new(r, n);
	tv *keys = ta_alloc(&r->a, (n + 1) * sizeof *keys);
	if (!res || !keys)
		return -1;
	for (size_t i = 0; i < n; i++) {
		tlist *pair = tl_new(r, 2);
		if (!pair)
			return -1;
		pair->v[0] = v.u.d->k[i];
		pair->v[1] = v.u.d->v[i];
		pair->n = 2;
		res->v[res->n++] = tv_list(pair, L_TUPLE);
		keys[i] = pair->v[pos];
		if (!cs && ignore_case(r, keys[i], &keys[i]) < 0)
			return -1;
	}
	if (msort(r, res->v, keys, n, rev) < 0)
		return -1;
	*out = tv_list(res, L_LIST);
	return 0;
}

static int f_unique(trender *r, const targs *a, tv v, tv *out)
{
	static const char *const nm[] = {"case_sensitive", "attribute"};
	tv s[2];
	tlist *items;
	if (bind(a, "do_unique", nm, 2, 0, s, NULL) < 0 || tv_iter(r, v, &items) < 0)
		return -1;
	int cs = !missing(s[0]) && tv_truth(s[0]);
	tdict *seen = td_new(r);
	tlist *res = tl_new(r, 0);
	if (!seen || !res)
		return -1;
	for (size_t i = 0; i < items->n; i++) {
		tv k, dummy;
		if (attr_get(r, items->v[i], missing(s[1]) ? tv_none() : s[1], (tv){.t = V_MISSING}, &k) < 0)
			return -1;
		if (!cs && ignore_case(r, k, &k) < 0)
			return -1;
		int g = td_get(r, seen, k, &dummy);
		if (g < 0)
			return -1;
		if (!g && (td_set(r, seen, k, tv_none()) < 0 || tl_push(r, res, items->v[i]) < 0))
			return -1;
	}
	*out = gen(res);
	return 0;
}

static int f_minmax(trender *r, const targs *a, tv v, int ismax, tv *out)
{
	static const char *const nm[] = {"case_sensitive", "attribute"};
	tv s[2];
	tlist *items;
	if (bind(a, ismax ? "do_max" : "do_min", nm, 2, 0, s, NULL) < 0 || tv_iter(r, v, &items) < 0)
		return -1;
	if (!items->n) {
		*out = tv_undef_hint("No aggregated item, sequence was empty.");
		return 0;
	}
	int cs = !missing(s[0]) && tv_truth(s[0]);
	tv best = items->v[0], bestk;
	for (size_t i = 0; i < items->n; i++) {
		tv k;
		if (attr_get(r, items->v[i], missing(s[1]) ? tv_none() : s[1], (tv){.t = V_MISSING}, &k) < 0)
			return -1;
		if (!cs && ignore_case(r, k, &k) < 0)
			return -1;
		if (i == 0) {
			bestk = k;
			continue;
		}
		int better = ismax ? tv_less(r, bestk, k) : tv_less(r, k, bestk);
		if (better < 0)
			return -1;
		if (better) {
			best = items->v[i];
			bestk = k;
		}
	}
	*out = best;
	return 0;
}

static int f_sum(trender *r, const targs *a, tv v, tv *out)
{
	static const char *const nm[] = {"attribute", "start"};
	tv s[2];
	tlist *items;
	if (bind(a, "do_sum", nm, 2, 0, s, NULL) < 0 || tv_iter(r, v, &items) < 0)
		return -1;
	tv acc = missing(s[1]) ? tv_int(0) : s[1];
	if (acc.t == V_STR)
		return q_error("sum() can't sum strings [use ''.join(seq) instead]");
	for (size_t i = 0; i < items->n; i++) {
		tv x;
		if (attr_get(r, items->v[i], missing(s[0]) ? tv_none() : s[0], (tv){.t = V_MISSING}, &x) < 0)
			return -1;
		tv res;
		if (tmpl_binop(r, TK_ADD, acc, x, &res) < 0)
			return -1;
		acc = res;
	}
	*out = acc;
	return 0;
}

/* select / reject / selectattr / rejectattr */
static int f_select(trender *r, const targs *a, tv v, int want, int lookup_attr, tv *out)
{
	tlist *res = tl_new(r, 0);
	if (!res)
		return -1;
	*out = gen(res);
	if (!tv_truth(v))
		return 0;
	int off = 0;
	tv attr = tv_none();
	if (lookup_attr) {
		if (a->npos < 1)
			return q_error("Missing parameter for attribute name");
		attr = a->pos[0];
		off = 1;
	}
	int test = -1;
	if (a->npos > off) {
		tstr tn;
		if (as_str(a->pos[off], &tn, "test name") < 0)
			return -1;
		test = tmpl_test_id(tn.p, tn.n);
		if (test < 0)
			return q_error("No test named '%.*s'.", (int)tn.n, tn.p);
	}
	targs ta = {NULL, 0, a->kwn, a->kwv, a->nkw};
	if (a->npos > off + 1) {
		ta.pos = a->pos + off + 1;
		ta.npos = a->npos - off - 1;
	}
	tlist *items;
	if (tv_iter(r, v, &items) < 0)
		return -1;
	for (size_t i = 0; i < items->n; i++) {
		tv x = items->v[i];
		int ok;
		if (lookup_attr && attr_get(r, x, attr, (tv){.t = V_MISSING}, &x) < 0)
			return -1;
		if (test >= 0) {
			if (tmpl_test_call(r, test, x, &ta, &ok) < 0)
				return -1;
		} else {
			ok = tv_truth(x);
		}
		if (ok == want && tl_push(r, res, items->v[i]) < 0)
			return -1;
	}
	return 0;
}

static int f_map(trender *r, const targs *a, tv v, tv *out)
{
	tlist *res = tl_new(r, 0);
	if (!res)
		return -1;
	*out = gen(res);
	if (!tv_truth(v))
		return 0;
	tlist *items;
	if (tv_iter(r, v, &items) < 0)
		return -1;
	int has_attr = -1, has_dflt = -1;
	for (int k = 0; k < a->nkw; k++) {
		if (name_is(a->kwn[k], "attribute"))
			has_attr = k;
		else if (name_is(a->kwn[k], "default"))
			has_dflt = k;
	}
	if (!a->npos && has_attr >= 0) {
		for (int k = 0; k < a->nkw; k++)
			if (k != has_attr && k != has_dflt)
				return q_error("Unexpected keyword argument '%.*s'", (int)a->kwn[k].n, a->kwn[k].p);
		tv dflt = has_dflt >= 0 ? a->kwv[has_dflt] : tv_none();
		for (size_t i = 0; i < items->n; i++) {
			tv x;
			if (attr_get(r, items->v[i], a->kwv[has_attr], dflt, &x) < 0 || tl_push(r, res, x) < 0)
				return -1;
		}
		return 0;
	}
	if (!a->npos)
		return q_error("map requires a filter argument");
	tstr fname;
	if (as_str(a->pos[0], &fname, "filter name") < 0)
		return -1;
	int fid = tmpl_filter_id(fname.p, fname.n);
	if (fid < 0)
		return q_error("No filter named '%.*s'.", (int)fname.n, fname.p);
	targs fa = {a->pos + 1, a->npos - 1, a->kwn, a->kwv, a->nkw};
	for (size_t i = 0; i < items->n; i++) {
		tv x;
		if (tmpl_filter_call(r, fid, items->v[i], &fa, &x) < 0 || tl_push(r, res, x) < 0)
			return -1;
	}
	return 0;
}

static int f_batch_slice(trender *r, const targs *a, tv v, int is_slice, tv *out)
{
	static const char *const nmb[] = {"linecount", "fill_with"}, *const nms[] = {"slices", "fill_with"};
	tv s[2];
	tlist *items;
	if (bind(a, is_slice ? "do_slice" : "do_batch", is_slice ? nms : nmb, 2, 1, s, NULL) < 0 ||
	    tv_iter(r, v, &items) < 0)
		return -1;
	int64_t k;
	if (as_int(s[0], &k) < 0)
		return -1;
	int fill = !missing(s[1]) && s[1].t != V_NONE;
	tlist *res = tl_new(r, 0);
	if (!res)
		return -1;
	*out = gen(res);
	size_t n = items->n;
	if (!is_slice) {
		tlist *cur = NULL;
		for (size_t i = 0; i < n; i++) {
			if (!cur || (int64_t)cur->n == k) {
				if (cur && tl_push(r, res, tv_list(cur, L_LIST)) < 0)
					return -1;
				if (!(cur = tl_new(r, 0)))
					return -1;
			}
			if (tl_push(r, cur, items->v[i]) < 0)
				return -1;
		}
		if (cur) {
			while (fill && (int64_t)cur->n < k)
				if (tl_push(r, cur, s[1]) < 0)
					return -1;
			if (tl_push(r, res, tv_list(cur, L_LIST)) < 0)
				return -1;
		}
		return 0;
	}
	if (k <= 0)
		return q_error(k == 0 ? "integer division or modulo by zero" : "slice count must be positive");
	if (k > MAX_RANGE)
		return q_error("too many slices");
	int64_t per = (int64_t)n / k, extra = (int64_t)n % k, offset = 0;
	for (int64_t sn = 0; sn < k; sn++) {
		int64_t start = offset + sn * per;
		if (sn < extra)
			offset++;
		int64_t end = offset + (sn + 1) * per;
		tlist *part = tl_new(r, 0);
		if (!part)
			return -1;
		for (int64_t i = start; i < end; i++)
			if (tl_push(r, part, items->v[i]) < 0)
				return -1;
		if (fill && sn >= extra && tl_push(r, part, s[1]) < 0)
			return -1;
		if (tl_push(r, res, tv_list(part, L_LIST)) < 0)
			return -1;
	}
	return 0;
}

/* Applies filter id to v with arguments a; the result goes to *out. */
int tmpl_filter_call(trender *r, int id, tv v, const targs *a, tv *out)
{
	tv s[4];
	tlist *items;
	int64_t n = 0;
	if (tmpl_step(r) < 0)
		return -1;
	switch (id) {
	case FI_DEFAULT: return f_default(a, v, out);
	case FI_JOIN: return f_join(r, a, v, out);
	case FI_TOJSON: return f_tojson(r, a, v, out);
	case FI_INDENT: return f_indent(r, a, v, out);
	case FI_INT: return f_int(r, a, v, out);
	case FI_FLOAT: return f_float(r, a, v, out);
	case FI_ROUND: return f_round(r, a, v, out);
	case FI_TRUNCATE: return f_truncate(r, a, v, out);
	case FI_SORT: return f_sort(r, a, v, out);
	case FI_DICTSORT: return f_dictsort(r, a, v, out);
	case FI_UNIQUE: return f_unique(r, a, v, out);
	case FI_MIN: return f_minmax(r, a, v, 0, out);
	case FI_MAX: return f_minmax(r, a, v, 1, out);
	case FI_SUM: return f_sum(r, a, v, out);
	case FI_SELECT: return f_select(r, a, v, 1, 0, out);
	case FI_REJECT: return f_select(r, a, v, 0, 0, out);
	case FI_SELECTATTR: return f_select(r, a, v, 1, 1, out);
	case FI_REJECTATTR: return f_select(r, a, v, 0, 1, out);
	case FI_MAP: return f_map(r, a, v, out);
	case FI_BATCH: return f_batch_slice(r, a, v, 0, out);
	case FI_SLICE: return f_batch_slice(r, a, v, 1, out);
	case FI_FORMAT: {
		tv fmt;
		if (soft_str(r, v, &fmt) < 0)
			return -1;
		if (a->npos && a->nkw)
			return q_error("can't handle positional and keyword arguments at the same time");
		if (a->nkw) {
			tdict *d = td_new(r);
			if (!d)
				return -1;
			for (int k = 0; k < a->nkw; k++)
				if (td_set(r, d, tv_strv(a->kwn[k].p, a->kwn[k].n), a->kwv[k]) < 0)
					return -1;
			tv dv = {.t = V_DICT};
			dv.u.d = d;
			return tmpl_str_format(r, fmt, dv, out);
		}
		tlist *t = tl_new(r, (size_t)a->npos);
		if (!t)
			return -1;
		for (int k = 0; k < a->npos; k++)
			t->v[t->n++] = a->pos[k];
		return tmpl_str_format(r, fmt, tv_list(t, L_TUPLE), out);
	}
	default:
		break;
	}
	/* the rest take at most a couple of simple arguments */
	switch (id) {
	case FI_ABS:
		if (no_args(a, "abs") < 0)
			return -1;
		if (v.t == V_FLOAT)
			*out = tv_float(fabs(v.u.f));
		else if (v.t == V_INT || v.t == V_BOOL) {
			if (v.u.i == INT64_MIN)
				return q_error("integer overflow: the result does not fit in 64 bits");
			*out = tv_int(v.u.i < 0 ? -v.u.i : v.u.i);
		} else
			return q_error("bad operand type for abs(): '%s'", tv_typename(v));
		return 0;
	case FI_ATTR: {
		static const char *const nm[] = {"name"};
		if (bind(a, "do_attr", nm, 1, 1, s, NULL) < 0)
			return -1;
		tstr name;
		if (as_str(s[0], &name, "attribute name") < 0)
			return -1;
		if (v.t == V_UNDEF)
			return tv_undef_error(r, v);
		if (v.t == V_NS) {
			if (td_gets(v.u.d, name.p, name.n, out))
				return 0;
		} else if (v.t != V_DICT || !name_is(name, "_")) {
			int f = tmpl_builtin_attr(r, v, name, out);
			if (f)
				return f < 0 ? -1 : 0;
		}
		*out = tv_undef_attr(v, name);
		return 0;
	}
	case FI_CAPITALIZE:
	case FI_LOWER:
	case FI_UPPER:
	case FI_TITLE: {
		tv t;
		if (no_args(a, "str method") < 0 || soft_str(r, v, &t) < 0)
			return -1;
		int rc = id == FI_TITLE ? f_title(r, t, out)
			 : tstr_case(r, t.u.s, id == FI_UPPER ? CASE_UPPER : id == FI_LOWER ? CASE_LOWER : CASE_CAPITALIZE, out);
		out->k = t.k;
		return rc;
	}
	case FI_CENTER: {
		static const char *const nm[] = {"width"};
		int64_t w = 80;
		tv t;
		if (bind(a, "do_center", nm, 1, 0, s, NULL) < 0 || (!missing(s[0]) && as_int(s[0], &w) < 0) ||
		    soft_str(r, v, &t) < 0 || tstr_justify(r, t.u.s, w, ' ', 0, out) < 0)
			return -1;
		out->k = t.k;
		return 0;
	}
	case FI_COUNT:
	case FI_LENGTH:
		if (no_args(a, "len") < 0 || py_len(r, v, &n) < 0)
			return -1;
		*out = tv_int(n);
		return 0;
	case FI_ESCAPE:
	case FI_FORCEESCAPE:
		if (no_args(a, "escape") < 0)
			return -1;
		if (id == FI_FORCEESCAPE && v.t == V_STR)
			v.k = 0;
		return tmpl_markup_escape(r, v, out);
	case FI_FIRST:
	case FI_LAST:
		if (no_args(a, id == FI_FIRST ? "do_first" : "do_last") < 0)
			return -1;
		if (id == FI_LAST && v.t == V_LIST && v.k == L_GEN)
			return q_error("'generator' object is not reversible");
		if (v.t == V_LIST && v.k == L_GEN) {  /* next(iter(gen)) takes one item */
			tlist *g = v.u.l;
			*out = g->pos < g->n ? g->v[g->pos++] : tv_undef_hint("No first item, sequence was empty.");
			return 0;
		}
		if (tv_iter(r, v, &items) < 0)
			return -1;
		if (!items->n)
			*out = tv_undef_hint(id == FI_FIRST ? "No first item, sequence was empty." : "No last item, sequence was empty.");
		else
			*out = items->v[id == FI_FIRST ? 0 : items->n - 1];
		return 0;
	case FI_ITEMS: {
		if (no_args(a, "do_items") < 0)
			return -1;
		tlist *l = tl_new(r, 0);
		if (!l)
			return -1;
		*out = gen(l);
		if (v.t == V_UNDEF)
			return 0;
		if (v.t != V_DICT)
			return q_error("Can only get item pairs from a mapping.");
		for (size_t i = 0; i < v.u.d->n; i++) {
			tlist *pair = tl_new(r, 2);
			if (!pair)
				return -1;
			pair->v[0] = v.u.d->k[i];
			pair->v[1] = v.u.d->v[i];
			pair->n = 2;
			if (tl_push(r, l, tv_list(pair, L_TUPLE)) < 0)
				return -1;
		}
		return 0;
	}
	case FI_LIST: {
		if (no_args(a, "list") < 0 || tv_iter(r, v, &items) < 0)
			return -1;
		tlist *l = tl_new(r, items->n);
		if (!l)
			return -1;
		for (size_t i = 0; i < items->n; i++)
			l->v[l->n++] = items->v[i];
		*out = tv_list(l, L_LIST);
		return 0;
	}
	case FI_REPLACE: {
		static const char *const nm[] = {"old", "new", "count"};
		tv t, o, nw;
		int64_t count = -1;
		if (bind(a, "do_replace", nm, 3, 2, s, NULL) < 0)
			return -1;
		if (!missing(s[2]) && s[2].t != V_NONE && as_int(s[2], &count) < 0)
			return -1;
		if (tv_to_text(r, v, &t) < 0 || tv_to_text(r, s[0], &o) < 0 || tv_to_text(r, s[1], &nw) < 0)
			return -1;
		return tstr_replace(r, t.u.s, o.u.s, nw.u.s, count, out);
	}
	case FI_REVERSE: {
		if (no_args(a, "do_reverse") < 0)
			return -1;
		if (v.t == V_STR) {
			tlist *chars;
			if (tv_iter(r, v, &chars) < 0)
				return -1;
			char *p = ta_alloc(&r->a, v.u.s.n + 1);
			if (!p)
				return -1;
			size_t o = 0;
			for (size_t i = chars->n; i-- > 0;) {
				memcpy(p + o, chars->v[i].u.s.p, chars->v[i].u.s.n);
				o += chars->v[i].u.s.n;
			}
			*out = tv_strv(p, o);
			out->k = v.k;
			return 0;
		}
		if (tv_iter(r, v, &items) < 0)
			return q_error("argument must be iterable");
		tlist *l = tl_new(r, items->n);
		if (!l)
			return -1;
		for (size_t i = items->n; i-- > 0;)
			l->v[l->n++] = items->v[i];
		/* reversed() gives an iterator; list(value).reverse() a list */
		*out = tv_list(l, v.t == V_LIST && v.k == L_GEN ? L_LIST : L_GEN);
		return 0;
	}
	case FI_SAFE:
		if (no_args(a, "do_mark_safe") < 0 || tv_to_text(r, v, out) < 0)
			return -1;
		out->k = 1;
		return 0;
	case FI_STRING:
		return no_args(a, "soft_str") < 0 ? -1 : soft_str(r, v, out);
	case FI_TRIM: {
		static const char *const nm[] = {"chars"};
		tv t;
		tstr chars;
		if (bind(a, "do_trim", nm, 1, 0, s, NULL) < 0 || soft_str(r, v, &t) < 0)
			return -1;
		int have = !missing(s[0]) && s[0].t != V_NONE;
		if (have && as_str(s[0], &chars, "strip arg") < 0)
			return -1;
		if (tstr_strip(r, t.u.s, have ? &chars : NULL, 3, out) < 0)
			return -1;
		out->k = t.k;
		return 0;
	}
	case FI_WORDCOUNT:
		return no_args(a, "do_wordcount") < 0 ? -1 : f_wordcount(r, v, out);
	default:
		return q_error("internal error: filter %d", id);
	}
}

/* ---- tests ------------------------------------------------------------ */

/* Runs test id (tests.py) on v; *res gets the boolean. */
int tmpl_test_call(trender *r, int id, tv v, const targs *a, int *res)
{
	tv s[1];
	int x;
	if (tmpl_step(r) < 0)
		return -1;
	switch (id) {
	case TE_ODD:
	case TE_EVEN:
	case TE_DIVISIBLEBY: {
		static const char *const nm[] = {"num"};
		tv m = tv_int(2), rem;
		if (id == TE_DIVISIBLEBY) {
			if (bind(a, "test_divisibleby", nm, 1, 1, s, NULL) < 0)
				return -1;
			m = s[0];
		} else if (no_args(a, id == TE_ODD ? "test_odd" : "test_even") < 0) {
			return -1;
		}
		if (tmpl_binop(r, TK_MOD, v, m, &rem) < 0)
			return -1;
		x = tv_eq(r, rem, tv_int(id == TE_ODD ? 1 : 0));
		if (x < 0)
			return -1;
		*res = x;
		return 0;
	}
	case TE_SAMEAS:
	case TE_IN:
	case TE_EQ:
	case TE_NE:
	case TE_GT:
	case TE_GE:
	case TE_LT:
	case TE_LE: {
		static const char *const nm[] = {"other"};
		if (bind(a, "test", nm, 1, 1, s, NULL) < 0)
			return -1;
		tv o = s[0];
		switch (id) {
		case TE_SAMEAS:
			if (v.t != o.t)
				x = 0;
			else if (v.t == V_NONE || v.t == V_UNDEF)
				x = v.t == V_NONE;
			else if (v.t == V_BOOL)
				x = v.u.i == o.u.i;
			else if (v.t == V_INT)
				x = v.u.i == o.u.i && v.u.i >= -5 && v.u.i <= 256;
			else if (v.t == V_STR || v.t == V_FLOAT)
				x = 0;
			else
				x = v.u.d == o.u.d;
			break;
		case TE_IN: x = tmpl_contains(r, v, o); break;
		case TE_EQ: x = tv_eq(r, v, o); break;
		case TE_NE: x = tv_eq(r, v, o); x = x < 0 ? -1 : !x; break;
		case TE_LT: x = tv_less(r, v, o); break;
		case TE_GT: x = tv_less(r, o, v); break;
		case TE_LE: x = tv_less(r, v, o); if (x == 0) x = tv_eq(r, v, o); break;
		default: x = tv_less(r, o, v); if (x == 0) x = tv_eq(r, v, o); break;
		}
		if (x < 0)
			return -1;
		*res = x;
		return 0;
	}
	default:
		break;
	}
	if (no_args(a, "test") < 0)
		return -1;
	switch (id) {
	case TE_DEFINED: *res = v.t != V_UNDEF; return 0;
	case TE_UNDEFINED: *res = v.t == V_UNDEF; return 0;
	case TE_NONE: *res = v.t == V_NONE; return 0;
	case TE_BOOLEAN: *res = v.t == V_BOOL; return 0;
	case TE_FALSE: *res = v.t == V_BOOL && !v.u.i; return 0;
	case TE_TRUE: *res = v.t == V_BOOL && v.u.i; return 0;
	case TE_INTEGER: *res = v.t == V_INT; return 0;
	case TE_FLOAT: *res = v.t == V_FLOAT; return 0;
	case TE_STRING: *res = v.t == V_STR; return 0;
	case TE_MAPPING: *res = v.t == V_DICT; return 0;
	case TE_NUMBER: *res = v.t == V_INT || v.t == V_BOOL || v.t == V_FLOAT; return 0;
	case TE_ESCAPED: *res = v.t == V_STR && v.k; return 0;
	case TE_SEQUENCE:
		*res = v.t == V_UNDEF || v.t == V_STR || v.t == V_DICT ||
		       (v.t == V_LIST && (v.k == L_LIST || v.k == L_TUPLE || v.k == L_RANGE));
		return 0;
	case TE_ITERABLE:
		*res = v.t == V_UNDEF || v.t == V_STR || v.t == V_DICT || v.t == V_LIST || v.t == V_LOOP;
		return 0;
	case TE_CALLABLE:
		*res = v.t == V_UNDEF || v.t == V_FUNC || v.t == V_METHOD || v.t == V_MACRO || v.t == V_LOOP;
		if (v.t == V_METHOD && v.u.bm->id == M_CYCLER)
			*res = 0;
		return 0;
	case TE_LOWER:
	case TE_UPPER: {
		tv t;
		if (tv_to_text(r, v, &t) < 0 || (x = tstr_is_case(r, t.u.s, id == TE_LOWER ? CASE_LOWER : CASE_UPPER)) < 0)
			return -1;
		*res = x;
		return 0;
	}
	case TE_FILTER:
		*res = v.t == V_STR && tmpl_filter_id(v.u.s.p, v.u.s.n) >= 0;
		return 0;
	case TE_TEST:
		*res = v.t == V_STR && tmpl_test_id(v.u.s.p, v.u.s.n) >= 0;
		return 0;
	default:
		return q_error("internal error: test %d", id);
	}
}

/* ---- globals ---------------------------------------------------------- */

/* dict(*args, **kwargs) / namespace(...): a new dict. */
static int make_dict(trender *r, const targs *a, const char *fn, tdict **out)
{
	tdict *d = td_new(r);
	if (!d)
		return -1;
	if (a->npos > 1)
		return q_error("%s expected at most 1 argument, got %d", fn, a->npos);
	if (a->npos == 1) {
		tv src = a->pos[0];
		if (src.t == V_DICT || src.t == V_NS) {
			for (size_t i = 0; i < src.u.d->n; i++)
				if (td_set(r, d, src.u.d->k[i], src.u.d->v[i]) < 0)
					return -1;
		} else {
			tlist *items;
			if (tv_iter(r, src, &items) < 0)
				return -1;
			for (size_t i = 0; i < items->n; i++) {
				tlist *pair;
				if (tv_iter(r, items->v[i], &pair) < 0)
					return q_error("cannot convert dictionary update sequence element #%zu to a sequence", i);
				if (pair->n != 2)
					return q_error("dictionary update sequence element #%zu has length %zu; 2 is required", i, pair->n);
				if (td_set(r, d, pair->v[0], pair->v[1]) < 0)
					return -1;
			}
		}
	}
	for (int k = 0; k < a->nkw; k++)
		if (td_set(r, d, tv_strv(a->kwn[k].p, a->kwn[k].n), a->kwv[k]) < 0)
			return -1;
	*out = d;
	return 0;
}

/* The sandbox's safe_range(): at most MAX_RANGE items. */
static int fn_range(trender *r, const targs *a, tv *out)
{
	if (a->nkw)
		return q_error("range() takes no keyword arguments");
	if (a->npos < 1 || a->npos > 3)
		return q_error("range expected at most 3 arguments, got %d", a->npos);
	int64_t v[3] = {0, 0, 1};
	for (int i = 0; i < a->npos; i++)
		if (as_int(a->pos[i], &v[a->npos == 1 ? 1 : i]) < 0)
			return -1;
	if (v[2] == 0)
		return q_error("range() arg 3 must not be zero");
	int64_t start = v[0], stop = v[1], step = v[2];
	__int128 cnt = 0;
	if (step > 0 && stop > start)
		cnt = ((__int128)stop - start - 1) / step + 1;
	else if (step < 0 && stop < start)
		cnt = ((__int128)start - stop - 1) / -(__int128)step + 1;
	if (cnt > MAX_RANGE)
		return q_error("Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).", MAX_RANGE);
	size_t n = (size_t)cnt;
	tlist *l = tl_new(r, n);
	if (!l)
		return -1;
	for (size_t i = 0; i < n; i++)  /* each value is in range; the product may not be */
		l->v[l->n++] = tv_int((int64_t)((__int128)start + (__int128)i * step));
	l->start = start;
	l->stop = stop;
	l->step = step;
	*out = tv_list(l, L_RANGE);
	return 0;
}

/* transformers' strftime_now(fmt): datetime.now().strftime(fmt). */
static int fn_strftime(trender *r, const targs *a, tv *out)
{
	static const char *const nm[] = {"format"};
	tv s[1];
	tstr fmt;
	if (bind(a, "strftime_now", nm, 1, 1, s, NULL) < 0 || as_str(s[0], &fmt, "format") < 0)
		return -1;
	if (fmt.n > 4096)
		return q_error("strftime format too long");
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	/* Python handles %f itself; the rest goes to the C library */
	q_buf f = Q_BUF_INIT, b = Q_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < fmt.n && rc == 0; i++) {
		if (fmt.p[i] == '%' && i + 1 < fmt.n && fmt.p[i + 1] == 'f') {
			rc = q_buf_printf(&f, "%06ld", ts.tv_nsec / 1000);
			i++;
		} else if (fmt.p[i] == '%' && i + 1 < fmt.n) {
			rc = q_buf_add(&f, fmt.p + i, 2);
			i++;
		} else if (fmt.p[i] == '\0') {
			rc = q_error("embedded null character");
		} else {
			rc = q_buf_addc(&f, fmt.p[i]);
		}
	}
	if (rc == 0 && f.len) {
		size_t cap = 256 + f.len * 8;
		rc = q_buf_grow(&b, cap);
		if (rc == 0) {
			size_t k = strftime(b.p, cap, f.p, &tm);
			b.len = k;
			b.p[k] = 0;
		}
	}
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&f);
	q_buf_free(&b);
	return rc;
}

/* A bound method value (V_MISSING if out of memory). */
static tv method(trender *r, tv self, int id)
{
	tmethod *m = ta_alloc(&r->a, sizeof *m);
	tv v = {.t = V_METHOD};
	if (!m) {
		v.t = V_MISSING;
		return v;
	}
	m->self = self;
	m->id = id;
	v.u.bm = m;
	return v;
}

/* Calls global function id (range, dict, namespace, raise_exception, ...). */
int tmpl_func_call(trender *r, int id, const targs *a, tv *out)
{
	tdict *d = NULL;
	switch (id) {
	case FN_RANGE:
		return fn_range(r, a, out);
	case FN_DICT:
	case FN_NAMESPACE:
		if (make_dict(r, a, id == FN_DICT ? "dict" : "namespace", &d) < 0)
			return -1;
		out->t = id == FN_DICT ? V_DICT : V_NS;
		out->k = 0;
		out->u.d = d;
		return 0;
	case FN_RAISE: {
		tv msg;
		if (a->npos < 1)
			return q_error("raise_exception() missing 1 required positional argument: 'message'");
		if (tv_to_text(r, a->pos[0], &msg) < 0)
			return -1;
		/* (a trailing space keeps q_error() from appending strerror()) */
		int colon = msg.u.s.n && msg.u.s.p[msg.u.s.n - 1] == ':';
		return q_error("%.*s%s", (int)msg.u.s.n, msg.u.s.p, colon ? " " : "");
	}
	case FN_STRFTIME:
		return fn_strftime(r, a, out);
	case FN_CYCLER: {
		if (a->nkw)
			return q_error("cycler() takes no keyword arguments");
		if (!a->npos)
			return q_error("at least one item has to be provided");
		tlist *l = tl_new(r, (size_t)a->npos);
		if (!l)
			return -1;
		for (int i = 0; i < a->npos; i++)
			l->v[l->n++] = a->pos[i];
		*out = method(r, tv_list(l, L_TUPLE), M_CYCLER);
		return out->t == V_MISSING ? -1 : 0;
	}
	case FN_JOINER: {
		static const char *const nm[] = {"sep"};
		tv s[1];
		if (bind(a, "joiner", nm, 1, 0, s, NULL) < 0)
			return -1;
		*out = method(r, missing(s[0]) ? tv_strv(", ", 2) : s[0], M_JOINER);
		return out->t == V_MISSING ? -1 : 0;
	}
	default:
		return q_error("unsupported: %s() (its output is random in jinja2)", funcs[id]);
	}
}

/* ---- methods and attributes ------------------------------------------ */

/* Python attribute lookup for the built-in types we model: str / dict /
 * list methods, loop.* properties, cycler attributes. */
int tmpl_builtin_attr(trender *r, tv obj, tstr name, tv *out)
{
	int id = -1;
	switch (obj.t) {
	case V_STR:
		for (size_t i = 0; i < sizeof str_methods / sizeof str_methods[0]; i++)
			if (name_is(name, str_methods[i]))
				id = (int)i;
		break;
	case V_DICT:
		if (name_is(name, "items"))
			id = M_D_ITEMS;
		else if (name_is(name, "keys"))
			id = M_D_KEYS;
		else if (name_is(name, "values"))
			id = M_D_VALUES;
		else if (name_is(name, "get"))
			id = M_D_GET;
		else if (name_is(name, "copy"))
			id = M_D_COPY;
		break;
	case V_LIST:
		if (obj.k != L_LIST && obj.k != L_TUPLE && obj.k != L_RANGE)
			break;
		if (name_is(name, "index"))
			id = M_L_INDEX;
		else if (name_is(name, "count"))
			id = M_L_COUNT;
		else if (name_is(name, "copy") && obj.k == L_LIST)
			id = M_L_COPY;
		else if (obj.k == L_RANGE && (name_is(name, "start") || name_is(name, "stop") || name_is(name, "step"))) {
			*out = tv_int(name.p[2] == 'a' ? obj.u.l->start : name.p[2] == 'o' ? obj.u.l->stop : obj.u.l->step);
			return 1;
		}
		break;
	case V_LOOP: {
		const tloop *lp = obj.u.lp;
		int64_t len = (int64_t)lp->items->n, i0 = lp->i0;
		if (name_is(name, "index"))
			*out = tv_int(i0 + 1);
		else if (name_is(name, "index0"))
			*out = tv_int(i0);
		else if (name_is(name, "revindex"))
			*out = tv_int(len - i0);
		else if (name_is(name, "revindex0"))
			*out = tv_int(len - i0 - 1);
		else if (name_is(name, "first"))
			*out = tv_bool(i0 == 0);
		else if (name_is(name, "last"))
			*out = tv_bool(i0 == len - 1);
		else if (name_is(name, "length"))
			*out = tv_int(len);
		else if (name_is(name, "depth"))
			*out = tv_int(lp->depth0 + 1);
		else if (name_is(name, "depth0"))
			*out = tv_int(lp->depth0);
		else if (name_is(name, "previtem"))
			*out = i0 > 0 ? lp->items->v[i0 - 1] : tv_undef_hint("there is no previous item");
		else if (name_is(name, "nextitem"))
			*out = i0 + 1 < len ? lp->items->v[i0 + 1] : tv_undef_hint("there is no next item");
		else if (name_is(name, "cycle"))
			id = M_LOOP_CYCLE;
		else if (name_is(name, "changed"))
			id = M_LOOP_CHANGED;
		else
			return 0;
		if (id < 0)
			return 1;
		break;
	}
	case V_METHOD:
		if (obj.u.bm->id == M_CYCLER) {
			const tlist *items = obj.u.bm->self.u.l;
			if (name_is(name, "current")) {
				*out = items->v[obj.u.bm->state % (int64_t)items->n];
				return 1;
			}
			if (name_is(name, "next"))
				id = M_CYCLER_NEXT;
			else if (name_is(name, "reset"))
				id = M_CYCLER_RESET;
		}
		break;
	default:
		break;
	}
	if (id < 0)
		return 0;
	*out = method(r, obj, id);
	return out->t == V_MISSING ? -1 : 1;
}

/* str.startswith / endswith (prefix may be a tuple of strings). */
static int m_startend(trender *r, tstr s, const targs *a, int end, tv *out)
{
	static const char *const nm[] = {"prefix", "start", "end"};
	tv sl[3];
	if (bind(a, end ? "endswith" : "startswith", nm, 3, 1, sl, NULL) < 0)
		return -1;
	int64_t st = 0, en = 0;
	int has_end = !missing(sl[2]) && sl[2].t != V_NONE;
	if (!missing(sl[1]) && sl[1].t != V_NONE && as_int(sl[1], &st) < 0)
		return -1;
	if (has_end && as_int(sl[2], &en) < 0)
		return -1;
	size_t b0, b1;
	if (tstr_bounds(s, st, en, has_end, &b0, &b1) < 0) {
		*out = tv_bool(0);
		return 0;
	}
	tlist one = {.n = 1, .v = &sl[0]};
	const tlist *cands = &one;
	if (sl[0].t == V_LIST && sl[0].k == L_TUPLE)
		cands = sl[0].u.l;
	else if (sl[0].t != V_STR)
		return q_error("%s first arg must be str or a tuple of str, not %s", end ? "endswith" : "startswith",
			       tv_typename(sl[0]));
	(void)r;
	for (size_t i = 0; i < cands->n; i++) {
		tstr p;
		if (as_str(cands->v[i], &p, "tuple item") < 0)
			return -1;
		if (p.n <= b1 - b0 && memcmp(end ? s.p + b1 - p.n : s.p + b0, p.p, p.n) == 0) {
			*out = tv_bool(1);
			return 0;
		}
	}
	*out = tv_bool(0);
	return 0;
}

/* Calls str method id on s (mk: s is a Markup, whose methods escape their
 * string arguments). */
static int m_str(trender *r, int id, tstr s, int mk, const targs *a, tv *out)
{
	tv sl[3];
	tstr t1, t2;
	int64_t i1 = 0, i2 = 0;
	int x;
	switch (id) {
	case M_UPPER:
	case M_LOWER:
	case M_TITLE:
	case M_CAPITALIZE:
	case M_SWAPCASE:
		if (no_args(a, str_methods[id]) < 0)
			return -1;
		return tstr_case(r, s, id == M_UPPER ? CASE_UPPER : id == M_LOWER ? CASE_LOWER : id == M_TITLE ? CASE_TITLE
				 : id == M_CAPITALIZE ? CASE_CAPITALIZE : CASE_SWAP, out);
	case M_ISLOWER:
	case M_ISUPPER:
	case M_ISTITLE:
		if (no_args(a, str_methods[id]) < 0 ||
		    (x = tstr_is_case(r, s, id == M_ISLOWER ? CASE_LOWER : id == M_ISUPPER ? CASE_UPPER : CASE_TITLE)) < 0)
			return -1;
		*out = tv_bool(x);
		return 0;
	case M_ISALPHA:
	case M_ISDIGIT:
	case M_ISDECIMAL:
	case M_ISNUMERIC:
	case M_ISALNUM:
	case M_ISSPACE:
		if (no_args(a, str_methods[id]) < 0)
			return -1;
		x = tstr_is_class(r, s, id == M_ISALPHA ? CLS_ALPHA : id == M_ISDIGIT ? CLS_DIGIT : id == M_ISDECIMAL
				  ? CLS_DECIMAL : id == M_ISNUMERIC ? CLS_NUMERIC : id == M_ISALNUM ? CLS_ALNUM : CLS_SPACE);
		if (x < 0)
			return -1;
		*out = tv_bool(x);
		return 0;
	case M_STRIP:
	case M_LSTRIP:
	case M_RSTRIP: {
		static const char *const nm[] = {"chars"};
		if (bind(a, str_methods[id], nm, 1, 0, sl, NULL) < 0)
			return -1;
		int have = !missing(sl[0]) && sl[0].t != V_NONE;
		if (have && as_str(sl[0], &t1, "strip arg") < 0)
			return -1;
		return tstr_strip(r, s, have ? &t1 : NULL, id == M_STRIP ? 3 : id == M_LSTRIP ? 1 : 2, out);
	}
	case M_SPLIT:
	case M_RSPLIT: {
		static const char *const nm[] = {"sep", "maxsplit"};
		if (bind(a, str_methods[id], nm, 2, 0, sl, NULL) < 0)
			return -1;
		int have = !missing(sl[0]) && sl[0].t != V_NONE;
		if (have && as_str(sl[0], &t1, "sep") < 0)
			return -1;
		i1 = -1;
		if (!missing(sl[1]) && as_int(sl[1], &i1) < 0)
			return -1;
		return tstr_split(r, s, have ? &t1 : NULL, i1, id == M_RSPLIT, out);
	}
	case M_SPLITLINES: {
		static const char *const nm[] = {"keepends"};
		if (bind(a, "splitlines", nm, 1, 0, sl, NULL) < 0)
			return -1;
		return tstr_splitlines(r, s, !missing(sl[0]) && tv_truth(sl[0]), out);
	}
	case M_STARTSWITH:
	case M_ENDSWITH:
		return m_startend(r, s, a, id == M_ENDSWITH, out);
	case M_FIND:
	case M_RFIND:
	case M_INDEX:
	case M_RINDEX:
	case M_COUNT: {
		static const char *const nm[] = {"sub", "start", "end"};
		if (bind(a, str_methods[id], nm, 3, 1, sl, NULL) < 0 || as_str(sl[0], &t1, "substring") < 0)
			return -1;
		int has_end = !missing(sl[2]) && sl[2].t != V_NONE;
		if ((!missing(sl[1]) && sl[1].t != V_NONE && as_int(sl[1], &i1) < 0) || (has_end && as_int(sl[2], &i2) < 0))
			return -1;
		if (id == M_COUNT) {
			*out = tv_int(tstr_count(s, t1, i1, i2, has_end));
			return 0;
		}
		int64_t k = tstr_find(s, t1, i1, i2, has_end, id == M_RFIND || id == M_RINDEX);
		if (k < 0 && (id == M_INDEX || id == M_RINDEX))
			return q_error("substring not found");
		*out = tv_int(k);
		return 0;
	}
	case M_REPLACE: {
		static const char *const nm[] = {"old", "new", "count"};
		if (bind(a, "replace", nm, 3, 2, sl, NULL) < 0 || as_str(sl[0], &t1, "replace() argument 1") < 0 ||
		    as_str(sl[1], &t2, "replace() argument 2") < 0)
			return -1;
		i1 = -1;
		if (!missing(sl[2]) && as_int(sl[2], &i1) < 0)
			return -1;
		if (mk && !sl[1].k) {
			tv e;
			if (tmpl_markup_escape(r, sl[1], &e) < 0)
				return -1;
			t2 = e.u.s;
		}
		return tstr_replace(r, s, t1, t2, i1, out);
	}
	case M_JOIN: {
		static const char *const nm[] = {"iterable"};
		tlist *items;
		if (bind(a, "join", nm, 1, 1, sl, NULL) < 0 || tv_iter(r, sl[0], &items) < 0)
			return -1;
		q_buf b = Q_BUF_INIT;
		int rc = 0;
		for (size_t i = 0; i < items->n && rc == 0; i++) {
			tv it = items->v[i];
			if (mk && tmpl_markup_escape(r, it, &it) < 0) {
				rc = -1;
				break;
			}
			if (it.t != V_STR) {
				rc = q_error("sequence item %zu: expected str instance, %s found", i, tv_typename(it));
				break;
			}
			if (i)
				rc = q_buf_add(&b, s.p, s.n);
			if (rc == 0)
				rc = q_buf_add(&b, it.u.s.p, it.u.s.n);
			if (rc == 0 && b.len > r->lim.max_output)
				rc = q_error("string too large");
		}
		if (rc == 0)
			rc = tv_str_from_buf(r, &b, out);
		q_buf_free(&b);
		return rc;
	}
	case M_CENTER:
	case M_LJUST:
	case M_RJUST: {
		static const char *const nm[] = {"width", "fillchar"};
		uint32_t fill = ' ';
		if (bind(a, str_methods[id], nm, 2, 1, sl, NULL) < 0 || as_int(sl[0], &i1) < 0)
			return -1;
		if (!missing(sl[1])) {
			if (as_str(sl[1], &t1, "fill character") < 0)
				return -1;
			if (mk && !sl[1].k) {
				tv e;
				if (tmpl_markup_escape(r, sl[1], &e) < 0)
					return -1;
				t1 = e.u.s;
			}
			if (tmpl_u8len(t1.p, t1.n) != 1)
				return q_error("The fill character must be exactly one character long");
			tmpl_u8dec(t1.p, t1.n, &fill);
		}
		return tstr_justify(r, s, i1, fill, id == M_CENTER ? 0 : id == M_LJUST ? -1 : 1, out);
	}
	case M_ZFILL: {
		static const char *const nm[] = {"width"};
		if (bind(a, "zfill", nm, 1, 1, sl, NULL) < 0 || as_int(sl[0], &i1) < 0)
			return -1;
		int64_t len = (int64_t)tmpl_u8len(s.p, s.n);
		if (i1 <= len) {
			*out = tv_strv(s.p, s.n);
			return 0;
		}
		if (i1 > (int64_t)r->lim.max_output)
			return q_error("string too large");
		char *p = ta_alloc(&r->a, s.n + (size_t)(i1 - len) + 1);
		if (!p)
			return -1;
		size_t sign = s.n && (s.p[0] == '+' || s.p[0] == '-');
		memcpy(p, s.p, sign);
		memset(p + sign, '0', (size_t)(i1 - len));
		memcpy(p + sign + (size_t)(i1 - len), s.p + sign, s.n - sign);
		*out = tv_strv(p, s.n + (size_t)(i1 - len));
		return 0;
	}
	case M_PARTITION:
	case M_RPARTITION: {
		static const char *const nm[] = {"sep"};
		if (bind(a, str_methods[id], nm, 1, 1, sl, NULL) < 0 || as_str(sl[0], &t1, "sep") < 0)
			return -1;
		if (!t1.n)
			return q_error("empty separator");
		int64_t k = tstr_find(s, t1, 0, 0, 0, id == M_RPARTITION);
		tlist *l = tl_new(r, 3);
		if (!l)
			return -1;
		l->n = 3;
		if (k < 0) {
			l->v[0] = tv_strv(id == M_PARTITION ? s.p : "", id == M_PARTITION ? s.n : 0);
			l->v[1] = tv_strv("", 0);
			l->v[2] = tv_strv(id == M_PARTITION ? "" : s.p, id == M_PARTITION ? 0 : s.n);
		} else {
			size_t off = tmpl_u8off(s.p, s.n, (size_t)k);
			l->v[0] = tv_strv(s.p, off);
			l->v[1] = tv_strv(s.p + off, t1.n);
			l->v[2] = tv_strv(s.p + off + t1.n, s.n - off - t1.n);
		}
		*out = tv_list(l, L_TUPLE);
		return 0;
	}
	case M_FORMAT:
		return tstr_format(r, s, a, mk, out);
	default:
		return q_error("internal error: method %d", id);
	}
}

/* Calls a bound method; Markup methods return Markup where markupsafe does. */
int tmpl_method_call(trender *r, const tmethod *m, const targs *a, tv *out)
{
	tv self = m->self, sl[2];
	static const char *const nm_get[] = {"key", "default"}, *const nm_x[] = {"value"};
	if (m->id < M_STR_END) {
		int rc = m_str(r, m->id, self.u.s, self.k, a, out);
		if (rc < 0 || !self.k)
			return rc;
		/* methods markupsafe.Markup overrides return Markup */
		switch (m->id) {
		case M_CAPITALIZE: case M_TITLE: case M_LOWER: case M_UPPER: case M_REPLACE:
		case M_LJUST: case M_RJUST: case M_CENTER: case M_LSTRIP: case M_RSTRIP:
		case M_STRIP: case M_SWAPCASE: case M_ZFILL: case M_JOIN: case M_FORMAT:
			out->k = 1;
			break;
		case M_SPLIT: case M_RSPLIT: case M_SPLITLINES: case M_PARTITION: case M_RPARTITION:
			for (size_t i = 0; i < out->u.l->n; i++)
				out->u.l->v[i].k = 1;
			break;
		default:
			break;
		}
		return 0;
	}
	switch (m->id) {
	case M_D_ITEMS:
	case M_D_KEYS:
	case M_D_VALUES: {
		if (no_args(a, "dict method") < 0)
			return -1;
		const tdict *d = self.u.d;
		tlist *l = tl_new(r, d->n);
		if (!l)
			return -1;
		for (size_t i = 0; i < d->n; i++) {
			if (m->id == M_D_ITEMS) {
				tlist *pair = tl_new(r, 2);
				if (!pair)
					return -1;
				pair->v[0] = d->k[i];
				pair->v[1] = d->v[i];
				pair->n = 2;
				l->v[l->n++] = tv_list(pair, L_TUPLE);
			} else {
				l->v[l->n++] = m->id == M_D_KEYS ? d->k[i] : d->v[i];
			}
		}
		*out = tv_list(l, m->id == M_D_ITEMS ? L_ITEMS : m->id == M_D_KEYS ? L_KEYS : L_VALUES);
		return 0;
	}
	case M_D_GET: {
		if (bind(a, "get", nm_get, 2, 1, sl, NULL) < 0)
			return -1;
		int g = td_get(r, self.u.d, sl[0], out);
		if (g < 0)
			return -1;
		if (!g)
			*out = missing(sl[1]) ? tv_none() : sl[1];
		return 0;
	}
	case M_D_COPY: {
		if (no_args(a, "copy") < 0)
			return -1;
		tdict *d = td_new(r);
		if (!d)
			return -1;
		for (size_t i = 0; i < self.u.d->n; i++)
			if (td_set(r, d, self.u.d->k[i], self.u.d->v[i]) < 0)
				return -1;
		out->t = V_DICT;
		out->k = 0;
		out->u.d = d;
		return 0;
	}
	case M_L_INDEX:
	case M_L_COUNT: {
		if (bind(a, m->id == M_L_INDEX ? "index" : "count", nm_x, 1, 1, sl, NULL) < 0)
			return -1;
		int64_t k = 0;
		for (size_t i = 0; i < self.u.l->n; i++) {
			int e = tv_eq(r, self.u.l->v[i], sl[0]);
			if (e < 0)
				return -1;
			if (e && m->id == M_L_INDEX) {
				*out = tv_int((int64_t)i);
				return 0;
			}
			k += e;
		}
		if (m->id == M_L_INDEX)
			return q_error("%s.index(x): x not in %s", tv_typename(self), tv_typename(self));
		*out = tv_int(k);
		return 0;
	}
	case M_L_COPY: {
		if (no_args(a, "copy") < 0)
			return -1;
		tlist *l = tl_new(r, self.u.l->n);
		if (!l)
			return -1;
		for (size_t i = 0; i < self.u.l->n; i++)
			l->v[l->n++] = self.u.l->v[i];
		*out = tv_list(l, L_LIST);
		return 0;
	}
	case M_LOOP_CYCLE:
		if (a->nkw)
			return q_error("cycle() takes no keyword arguments");
		if (!a->npos)
			return q_error("no items for cycling given");
		*out = a->pos[self.u.lp->i0 % a->npos];
		return 0;
	case M_LOOP_CHANGED: {
		if (a->nkw)
			return q_error("changed() takes no keyword arguments");
		tlist *l = tl_new(r, (size_t)a->npos);
		if (!l)
			return -1;
		for (int i = 0; i < a->npos; i++)
			l->v[l->n++] = a->pos[i];
		tv val = tv_list(l, L_TUPLE);
		tloop *lp = self.u.lp;
		int e = lp->changed.t == V_UNDEF ? 0 : tv_eq(r, lp->changed, val);
		if (e < 0)
			return -1;
		if (!e)
			lp->changed = val;
		*out = tv_bool(!e);
		return 0;
	}
	case M_CYCLER_NEXT: {
		if (no_args(a, "next") < 0)
			return -1;
		tmethod *c = self.u.bm;
		const tlist *items = c->self.u.l;
		*out = items->v[c->state % (int64_t)items->n];
		c->state = (c->state + 1) % (int64_t)items->n;
		return 0;
	}
	case M_CYCLER_RESET:
		if (no_args(a, "reset") < 0)
			return -1;
		self.u.bm->state = 0;
		*out = tv_none();
		return 0;
	case M_JOINER: {
		if (no_args(a, "joiner") < 0)
			return -1;
		tmethod *j = (tmethod *)m;
		if (!j->state) {
			j->state = 1;
			*out = tv_strv("", 0);
		} else {
			*out = j->self;
		}
		return 0;
	}
	default:
		return q_error("'%s' object is not callable", tv_typename(self));
	}
}
