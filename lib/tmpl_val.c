/*
 * tmpl_val.c - the template's values and what Python does with them:
 * str(), repr(), json.dumps(), ==, <, truthiness, hashing for dicts, and the
 * conversion of the JSON variables into values.
 *
 * Invariants:
 * - Output of str()/repr()/json.dumps() is byte-identical to CPython 3's for
 *   the types we model: floats use the shortest repr that round-trips
 *   (1.0, 0.1, 1e+16, 1e-05), strings are quoted and escaped like
 *   unicode_repr (isprintable from the generated Unicode table), dicts keep
 *   insertion order.
 * - Containers can only be nested as deep as MAX_NEST when compared,
 *   printed or serialised (a namespace can contain itself); deeper is an
 *   error, never a stack overflow.
 * - JSON numbers: an int when the literal has no '.', 'e' or 'E' (the text
 *   is kept by q_tmpl_json_parse), or, for numbers without their text, when
 *   integral and within +-2^53; otherwise a float.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tmpl_int.h"
#include "utf8.h"

#define MAX_NEST 500
#define CHUNK (64 * 1024)

/* Text built from shared references (a list holding one long string a
 * million times) can dwarf the arena: stop at the output limit. */
static int too_big(trender *r, const q_buf *b)
{
	if (r && b->len > r->lim.max_output)
		return q_error("text larger than %zu bytes", r->lim.max_output);
	return 0;
}

/* ---- arena ------------------------------------------------------------ */

struct tchunk {
	tchunk *next;
	size_t cap, used;
	size_t last;  /* offset of the last allocation, for ta_grow in place */
	max_align_t data[];
};

/* Returns n zeroed bytes owned by the arena; NULL + q_error past the limit. */
void *ta_alloc(tarena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	tchunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK ? n : CHUNK;
		if (a->limit && a->total + cap > a->limit) {
			q_error("template needs more than %zu MiB of memory", a->limit >> 20);
			return NULL;
		}
		c = malloc(sizeof *c + cap);
		if (!c) {
			q_error("out of memory");
			return NULL;
		}
		a->total += cap;
		c->cap = cap;
		c->used = 0;
		c->last = 0;
		if (a->head && a->head->cap - a->head->used > cap - n) {
			/* keep the roomier chunk in front */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = (char *)c->data + c->used;
	c->last = c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

/* Resizes block p from old to n bytes, in place when it was the last
 * allocation of the front chunk; returns the block (moved or not). */
void *ta_grow(tarena *a, void *p, size_t old, size_t n)
{
	tchunk *c = a->head;
	size_t o16 = (old + 15) & ~(size_t)15, n16 = (n + 15) & ~(size_t)15;
	if (p && c && (char *)p == (char *)c->data + c->last && c->last + n16 <= c->cap) {
		memset((char *)p + o16, 0, n16 > o16 ? n16 - o16 : 0);
		c->used = c->last + n16;
		return p;
	}
	void *q = ta_alloc(a, n);
	if (q && p && old)
		memcpy(q, p, old < n ? old : n);
	return q;
}

char *ta_strdup(tarena *a, const char *s, size_t n)
{
	char *p = ta_alloc(a, n + 1);
	if (p && n)
		memcpy(p, s, n);
	return p;
}

void ta_free(tarena *a)
{
	tchunk *c = a->head;
	while (c) {
		tchunk *nx = c->next;
		free(c);
		c = nx;
	}
	a->head = NULL;
	a->total = 0;
}

/* ---- UTF-8 ------------------------------------------------------------ */

size_t tmpl_u8dec(const char *s, size_t n, uint32_t *cp)
{
	unsigned char c = (unsigned char)s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t l = q_utf8_seq((const unsigned char *)s, n, cp);
	if (!l) {
		*cp = c;
		return 1;
	}
	return l;
}

size_t tmpl_u8len(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xC0) != 0x80;
	return k;
}

size_t tmpl_u8off(const char *s, size_t n, size_t i)
{
	size_t off = 0;
	while (i > 0 && off < n) {
		off++;
		while (off < n && ((unsigned char)s[off] & 0xC0) == 0x80)
			off++;
		i--;
	}
	return off;
}

/* ---- constructors ----------------------------------------------------- */

tv tv_none(void) { tv v = {.t = V_NONE}; return v; }
tv tv_bool(int b) { tv v = {.t = V_BOOL}; v.u.i = b != 0; return v; }
tv tv_int(int64_t i) { tv v = {.t = V_INT}; v.u.i = i; return v; }
tv tv_float(double f) { tv v = {.t = V_FLOAT}; v.u.f = f; return v; }

tv tv_strv(const char *p, size_t n)
{
	tv v = {.t = V_STR};
	v.u.s.p = p;
	v.u.s.n = n;
	return v;
}

int tv_str_copy(trender *r, const char *p, size_t n, tv *out)
{
	char *c = ta_strdup(&r->a, p, n);
	if (!c)
		return -1;
	*out = tv_strv(c, n);
	return 0;
}

int tv_str_from_buf(trender *r, q_buf *b, tv *out)
{
	int rc = tv_str_copy(r, b->p ? b->p : "", b->len, out);
	q_buf_reset(b);
	return rc;
}

tv tv_undef_name(tstr name)
{
	tv v = {.t = V_UNDEF, .k = U_NAME};
	v.u.s = name;
	return v;
}

tv tv_undef_attr(tv obj, tstr attr)
{
	tv v = {.t = V_UNDEF, .k = U_ATTR, .o = obj.t};
	if (obj.t == V_LIST)
		v.o = (uint8_t)(100 + obj.k);  /* which kind of sequence */
	v.u.s = attr;
	return v;
}

tv tv_undef_hint(const char *msg)
{
	tv v = {.t = V_UNDEF, .k = U_HINT};
	v.u.s.p = msg;
	v.u.s.n = strlen(msg);
	return v;
}

static const char *typename_of(int t, int k)
{
	switch (t) {
	case V_UNDEF: return "Undefined";
	case V_NONE: return "NoneType";
	case V_BOOL: return "bool";
	case V_INT: return "int";
	case V_FLOAT: return "float";
	case V_STR: return k ? "Markup" : "str";
	case V_LIST:
		switch (k) {
		case L_TUPLE: return "tuple";
		case L_GEN: return "generator";
		case L_RANGE: return "range";
		case L_ITEMS: return "dict_items";
		case L_KEYS: return "dict_keys";
		case L_VALUES: return "dict_values";
		default: return "list";
		}
	case V_DICT: return "dict";
	case V_NS: return "Namespace";
	case V_LOOP: return "LoopContext";
	case V_MACRO: return "Macro";
	case V_FUNC: return "function";
	default: return "builtin_function_or_method";
	}
}

const char *tv_typename(tv v) { return typename_of(v.t, v.k); }

/* jinja2's object_type_repr(): "None", "dict object", "jinja2.utils.Namespace object"... */
static void obj_type_repr(int t, int k, char *buf, size_t cap)
{
	if (t == V_NONE)
		snprintf(buf, cap, "None");
	else if (t == V_NS)
		snprintf(buf, cap, "jinja2.utils.Namespace object");
	else if (t == V_LOOP)
		snprintf(buf, cap, "jinja2.runtime.LoopContext object");
	else if (t == V_MACRO)
		snprintf(buf, cap, "jinja2.runtime.Macro object");
	else if (t == V_STR && k)
		snprintf(buf, cap, "markupsafe.Markup object");
	else
		snprintf(buf, cap, "%s object", typename_of(t, k));
}

int tv_undef_elem(trender *r, tv obj, tv key, tv *out)
{
	char ty[64];
	obj_type_repr(obj.t, obj.k, ty, sizeof ty);
	q_buf b = Q_BUF_INIT;
	int rc = q_buf_printf(&b, "%s has no element ", ty);
	if (rc == 0)
		rc = tv_repr(r, &b, key);
	if (rc == 0) {
		tv s;
		rc = tv_str_from_buf(r, &b, &s);
		if (rc == 0) {
			*out = tv_undef_hint("");
			out->u.s = s.u.s;
		}
	}
	q_buf_free(&b);
	return rc;
}

/* Records the UndefinedError (or SecurityError) this undefined carries. */
int tv_undef_error(trender *r, tv u)
{
	q_buf b = Q_BUF_INIT;
	int rc = 0;
	if (u.k == U_HINT || u.k == U_SECURITY) {
		rc = q_buf_add(&b, u.u.s.p, u.u.s.n);
	} else if (u.k == U_NAME) {
		rc = tv_repr(r, &b, tv_strv(u.u.s.p, u.u.s.n));
		if (rc == 0)
			rc = q_buf_adds(&b, " is undefined");
	} else {
		char ty[64];
		int t = u.o, k = 0;
		if (t >= 100) {
			k = t - 100;
			t = V_LIST;
		}
		obj_type_repr(t, k, ty, sizeof ty);
		rc = tv_repr(r, &b, tv_strv(ty, strlen(ty)));
		if (rc == 0)
			rc = q_buf_adds(&b, " has no attribute ");
		if (rc == 0)
			rc = tv_repr(r, &b, tv_strv(u.u.s.p, u.u.s.n));
	}
	if (rc == 0)
		q_error("%s", b.p ? b.p : "");
	q_buf_free(&b);
	return -1;
}

/* ---- lists and dicts -------------------------------------------------- */

tlist *tl_new(trender *r, size_t cap)
{
	tlist *l = ta_alloc(&r->a, sizeof *l);
	if (!l)
		return NULL;
	if (cap) {
		if (cap > ((size_t)1 << 40) / sizeof(tv)) {
			q_error("list too large");
			return NULL;
		}
		if (!(l->v = ta_alloc(&r->a, cap * sizeof(tv))))
			return NULL;
		l->cap = cap;
	}
	return l;
}

int tl_push(trender *r, tlist *l, tv v)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 4;
		tv *nv = ta_grow(&r->a, l->v, l->cap * sizeof(tv), nc * sizeof(tv));
		if (!nv)
			return -1;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = v;
	return 0;
}

tv tv_list(tlist *l, int kind)
{
	tv v = {.t = V_LIST, .k = (uint8_t)kind};
	v.u.l = l;
	return v;
}

tdict *td_new(trender *r)
{
	return ta_alloc(&r->a, sizeof(tdict));
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

/* Hash consistent with tv_eq (1 == 1.0 == True); -1 + q_error if unhashable. */
static int hash_of(tv v, uint64_t *h, int depth)
{
	if (depth > MAX_NEST)
		return q_error("values nested too deeply");
	switch (v.t) {
	case V_NONE: *h = 0x9e3779b97f4a7c15u; return 0;
	case V_UNDEF: *h = 0x1234567; return 0;
	case V_BOOL:
	case V_INT: *h = mix((uint64_t)v.u.i); return 0;
	case V_FLOAT:
		if (v.u.f == floor(v.u.f) && fabs(v.u.f) < 9.2e18) {
			*h = mix((uint64_t)(int64_t)v.u.f);
		} else {
			uint64_t bits;
			memcpy(&bits, &v.u.f, 8);
			*h = mix(bits);
		}
		return 0;
	case V_STR: {
		uint64_t x = 1469598103934665603u;
		for (size_t i = 0; i < v.u.s.n; i++)
			x = (x ^ (unsigned char)v.u.s.p[i]) * 1099511628211u;
		*h = x;
		return 0;
	}
	case V_LIST:
		if (v.k == L_TUPLE) {
			uint64_t x = 0x345678;
			for (size_t i = 0; i < v.u.l->n; i++) {
				uint64_t e;
				if (hash_of(v.u.l->v[i], &e, depth + 1) < 0)
					return -1;
				x = mix(x ^ e) + i;
			}
			*h = x;
			return 0;
		}
		if (v.k == L_GEN || v.k == L_RANGE) {
			*h = mix((uint64_t)(uintptr_t)v.u.l);
			return 0;
		}
		break;
	case V_DICT:
		break;
	default:
		*h = mix((uint64_t)(uintptr_t)v.u.d);
		return 0;
	}
	return q_error("unhashable type: '%s'", tv_typename(v));
}

static int td_reindex(trender *r, tdict *d, size_t icap)
{
	uint32_t *idx = ta_alloc(&r->a, icap * sizeof *idx);
	if (!idx)
		return -1;
	for (size_t i = 0; i < d->n; i++) {
		uint64_t h = 0;
		if (hash_of(d->k[i], &h, 0) < 0)
			return -1;
		size_t s = h & (icap - 1);
		while (idx[s])
			s = (s + 1) & (icap - 1);
		idx[s] = (uint32_t)(i + 1);
	}
	d->idx = idx;
	d->icap = icap;
	return 0;
}

/* Index of key k in d, or -1 if absent; -2 on error. */
static long td_find(trender *r, const tdict *d, tv k)
{
	if (!d->idx && k.t == V_STR) {
		/* the common case: a name or a string key in a small dict */
		for (size_t i = 0; i < d->n; i++) {
			const tv *e = &d->k[i];
			if (e->t == V_STR && e->u.s.n == k.u.s.n && memcmp(e->u.s.p, k.u.s.p, k.u.s.n) == 0)
				return (long)i;
		}
		return -1;
	}
	if (!d->idx) {
		for (size_t i = 0; i < d->n; i++) {
			int e = tv_eq(r, d->k[i], k);
			if (e < 0)
				return -2;
			if (e)
				return (long)i;
		}
		return -1;
	}
	uint64_t h = 0;
	if (hash_of(k, &h, 0) < 0)
		return -2;
	for (size_t s = h & (d->icap - 1);; s = (s + 1) & (d->icap - 1)) {
		uint32_t e = d->idx[s];
		if (!e)
			return -1;
		int eq = tv_eq(r, d->k[e - 1], k);
		if (eq < 0)
			return -2;
		if (eq)
			return (long)e - 1;
	}
}

/* Sets d[k] = v (an existing key keeps its place, like a Python dict). */
int td_set(trender *r, tdict *d, tv k, tv v)
{
	uint64_t h = 0;
	if (hash_of(k, &h, 0) < 0)
		return -1;
	long i = td_find(r, d, k);
	if (i == -2)
		return -1;
	if (i >= 0) {
		d->v[i] = v;
		return 0;
	}
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 4;
		tv *nk = ta_grow(&r->a, d->k, d->cap * sizeof(tv), nc * sizeof(tv));
		if (!nk)
			return -1;
		d->k = nk;
		tv *nv = ta_grow(&r->a, d->v, d->cap * sizeof(tv), nc * sizeof(tv));
		if (!nv)
			return -1;
		d->v = nv;
		d->cap = nc;
	}
	d->k[d->n] = k;
	d->v[d->n] = v;
	d->n++;
	if (d->n > 8 && (!d->idx || d->n * 2 > d->icap))
		return td_reindex(r, d, d->icap ? d->icap * 2 : 32);
	if (d->idx) {
		size_t s = h & (d->icap - 1);
		while (d->idx[s])
			s = (s + 1) & (d->icap - 1);
		d->idx[s] = (uint32_t)d->n;
	}
	return 0;
}

int td_get(trender *r, const tdict *d, tv k, tv *out)
{
	uint64_t h = 0;
	if (k.t != V_STR && hash_of(k, &h, 0) < 0)  /* unhashable key: TypeError */
		return -1;
	long i = td_find(r, d, k);
	if (i == -2)
		return -1;
	if (i < 0)
		return 0;
	*out = d->v[i];
	return 1;
}

int td_gets(const tdict *d, const char *k, size_t n, tv *out)
{
	for (size_t i = 0; i < d->n; i++) {
		tv key = d->k[i];
		if (key.t == V_STR && key.u.s.n == n && memcmp(key.u.s.p, k, n) == 0) {
			*out = d->v[i];
			return 1;
		}
	}
	return 0;
}

/* ---- truth, equality, order ------------------------------------------- */

int tv_truth(tv v)
{
	switch (v.t) {
	case V_UNDEF:
	case V_NONE: return 0;
	case V_BOOL:
	case V_INT: return v.u.i != 0;
	case V_FLOAT: return v.u.f != 0.0;
	case V_STR: return v.u.s.n != 0;
	case V_LIST: return v.k == L_GEN ? 1 : v.u.l->n != 0;
	case V_DICT: return v.u.d->n != 0;
	default: return 1;
	}
}

static int isnum(tv v) { return v.t == V_BOOL || v.t == V_INT || v.t == V_FLOAT; }

/* Exact comparison of numbers: -1, 0, 1, or 2 if unordered (NaN). */
static int numcmp(tv a, tv b)
{
	if (a.t != V_FLOAT && b.t != V_FLOAT)
		return a.u.i < b.u.i ? -1 : a.u.i > b.u.i;
	long double x = a.t == V_FLOAT ? (long double)a.u.f : (long double)a.u.i;
	long double y = b.t == V_FLOAT ? (long double)b.u.f : (long double)b.u.i;
	if (x != x || y != y)
		return 2;
	return x < y ? -1 : x > y;
}

static int eq_depth(trender *r, tv a, tv b, int depth)
{
	if (depth > MAX_NEST)
		return q_error("values nested too deeply to compare");
	if (isnum(a) && isnum(b))
		return numcmp(a, b) == 0;
	if (a.t != b.t)
		return 0;
	switch (a.t) {
	case V_UNDEF:
	case V_NONE: return 1;
	case V_STR: return a.u.s.n == b.u.s.n && memcmp(a.u.s.p, b.u.s.p, a.u.s.n) == 0;
	case V_LIST: {
		int seq_a = a.k == L_LIST || a.k == L_TUPLE || a.k == L_RANGE;
		if (a.u.l == b.u.l)
			return 1;
		if (a.k != b.k || !seq_a)
			return 0;
		if (a.u.l->n != b.u.l->n)
			return 0;
		for (size_t i = 0; i < a.u.l->n; i++) {
			int e = eq_depth(r, a.u.l->v[i], b.u.l->v[i], depth + 1);
			if (e <= 0)
				return e;
		}
		return 1;
	}
	case V_DICT: {
		if (a.u.d->n != b.u.d->n)
			return 0;
		for (size_t i = 0; i < a.u.d->n; i++) {
			tv bv;
			int f = td_get(r, b.u.d, a.u.d->k[i], &bv);
			if (f <= 0)
				return f;
			int e = eq_depth(r, a.u.d->v[i], bv, depth + 1);
			if (e <= 0)
				return e;
		}
		return 1;
	}
	case V_FUNC: return a.u.i == b.u.i;
	case V_METHOD: return a.u.bm == b.u.bm;
	default: return a.u.d == b.u.d;
	}
}

int tv_eq(trender *r, tv a, tv b) { return eq_depth(r, a, b, 0); }

static int less_depth(trender *r, tv a, tv b, int depth)
{
	if (depth > MAX_NEST)
		return q_error("values nested too deeply to compare");
	if (a.t == V_UNDEF)
		return tv_undef_error(r, a);
	if (b.t == V_UNDEF)
		return tv_undef_error(r, b);
	if (isnum(a) && isnum(b))
		return numcmp(a, b) == -1;
	if (a.t == V_STR && b.t == V_STR) {
		size_t n = a.u.s.n < b.u.s.n ? a.u.s.n : b.u.s.n;
		int c = memcmp(a.u.s.p, b.u.s.p, n);
		return c < 0 || (c == 0 && a.u.s.n < b.u.s.n);
	}
	if (a.t == V_LIST && b.t == V_LIST && a.k == b.k && (a.k == L_LIST || a.k == L_TUPLE)) {
		size_t n = a.u.l->n < b.u.l->n ? a.u.l->n : b.u.l->n;
		for (size_t i = 0; i < n; i++) {
			int e = eq_depth(r, a.u.l->v[i], b.u.l->v[i], depth + 1);
			if (e < 0)
				return -1;
			if (!e)
				return less_depth(r, a.u.l->v[i], b.u.l->v[i], depth + 1);
		}
		return a.u.l->n < b.u.l->n;
	}
	return q_error("'<' not supported between instances of '%s' and '%s'",
		       tv_typename(a), tv_typename(b));
}

int tv_less(trender *r, tv a, tv b) { return less_depth(r, a, b, 0); }

/* ---- str() and repr() ------------------------------------------------- */

/* Python's float.__repr__: shortest digits that round-trip, fixed notation
 * for exponents -4 <= e < 16, else d.ddde+XX. */
void tv_float_repr(double f, char *buf)
{
	if (isnan(f)) {
		strcpy(buf, "nan");
		return;
	}
	if (isinf(f)) {
		strcpy(buf, f < 0 ? "-inf" : "inf");
		return;
	}
	char tmp[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	char digits[24];
	int nd = 0, neg = 0;
	const char *p = tmp;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	int e = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	int decpt = e + 1;
	char *o = buf;
	if (neg)
		*o++ = '-';
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			*o++ = '0';
			*o++ = '.';
			for (int i = 0; i < -decpt; i++)
				*o++ = '0';
			memcpy(o, digits, (size_t)nd);
			o += nd;
		} else if (decpt >= nd) {
			memcpy(o, digits, (size_t)nd);
			o += nd;
			for (int i = nd; i < decpt; i++)
				*o++ = '0';
			*o++ = '.';
			*o++ = '0';
		} else {
			memcpy(o, digits, (size_t)decpt);
			o += decpt;
			*o++ = '.';
			memcpy(o, digits + decpt, (size_t)(nd - decpt));
			o += nd - decpt;
		}
		*o = 0;
		return;
	}
	*o++ = digits[0];
	if (nd > 1) {
		*o++ = '.';
		memcpy(o, digits + 1, (size_t)(nd - 1));
		o += nd - 1;
	}
	sprintf(o, "e%c%02d", decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
}

/* repr() of a str: quotes and escapes as CPython's unicode_repr. */
static int repr_str(q_buf *b, const char *s, size_t n)
{
	int sq = 0, dq = 0;
	for (size_t i = 0; i < n; i++) {
		sq |= s[i] == '\'';
		dq |= s[i] == '"';
	}
	char quote = sq && !dq ? '"' : '\'';
	if (q_buf_addc(b, quote) < 0)
		return -1;
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t l = tmpl_u8dec(s + i, n - i, &cp);
		int rc;
		if (cp == (uint32_t)quote || cp == '\\') {
			char e[2] = {'\\', (char)cp};
			rc = q_buf_add(b, e, 2);
		} else if (cp == '\t') {
			rc = q_buf_adds(b, "\\t");
		} else if (cp == '\n') {
			rc = q_buf_adds(b, "\\n");
		} else if (cp == '\r') {
			rc = q_buf_adds(b, "\\r");
		} else if (cp < 0x20 || cp == 0x7f) {
			rc = q_buf_printf(b, "\\x%02x", (unsigned)cp);
		} else if (cp < 0x80 || tmpl_uc_printable(cp)) {
			rc = q_buf_add(b, s + i, l);
		} else if (cp < 0x100) {
			rc = q_buf_printf(b, "\\x%02x", (unsigned)cp);
		} else if (cp < 0x10000) {
			rc = q_buf_printf(b, "\\u%04x", (unsigned)cp);
		} else {
			rc = q_buf_printf(b, "\\U%08x", (unsigned)cp);
		}
		if (rc < 0)
			return -1;
		i += l;
	}
	return q_buf_addc(b, quote);
}

static int repr_depth(trender *r, q_buf *b, tv v, int depth);

static int repr_items(trender *r, q_buf *b, const tlist *l, int depth)
{
	for (size_t i = 0; i < l->n; i++) {
		if (i && q_buf_adds(b, ", ") < 0)
			return -1;
		if (repr_depth(r, b, l->v[i], depth + 1) < 0 || too_big(r, b) < 0)
			return -1;
	}
	return 0;
}

static int repr_dict(trender *r, q_buf *b, const tdict *d, int depth)
{
	if (q_buf_addc(b, '{') < 0)
		return -1;
	for (size_t i = 0; i < d->n; i++) {
		if ((i && q_buf_adds(b, ", ") < 0) || repr_depth(r, b, d->k[i], depth + 1) < 0 ||
		    q_buf_adds(b, ": ") < 0 || repr_depth(r, b, d->v[i], depth + 1) < 0 || too_big(r, b) < 0)
			return -1;
	}
	return q_buf_addc(b, '}');
}

static int repr_depth(trender *r, q_buf *b, tv v, int depth)
{
	char num[40];
	if (depth > MAX_NEST)
		return q_error("values nested too deeply to print");
	switch (v.t) {
	case V_UNDEF: return q_buf_adds(b, "Undefined");
	case V_NONE: return q_buf_adds(b, "None");
	case V_BOOL: return q_buf_adds(b, v.u.i ? "True" : "False");
	case V_INT: return q_buf_printf(b, "%lld", (long long)v.u.i);
	case V_FLOAT:
		tv_float_repr(v.u.f, num);
		return q_buf_adds(b, num);
	case V_STR:
		if (v.k && q_buf_adds(b, "Markup(") < 0)
			return -1;
		if (repr_str(b, v.u.s.p, v.u.s.n) < 0)
			return -1;
		return v.k ? q_buf_addc(b, ')') : 0;
	case V_LIST:
		switch (v.k) {
		case L_LIST:
			return q_buf_addc(b, '[') < 0 || repr_items(r, b, v.u.l, depth) < 0 ? -1 : q_buf_addc(b, ']');
		case L_TUPLE:
			if (q_buf_addc(b, '(') < 0 || repr_items(r, b, v.u.l, depth) < 0)
				return -1;
			return q_buf_adds(b, v.u.l->n == 1 ? ",)" : ")");
		case L_RANGE:
			if (v.u.l->step == 1)
				return q_buf_printf(b, "range(%lld, %lld)", (long long)v.u.l->start, (long long)v.u.l->stop);
			return q_buf_printf(b, "range(%lld, %lld, %lld)", (long long)v.u.l->start,
					    (long long)v.u.l->stop, (long long)v.u.l->step);
		case L_ITEMS:
		case L_KEYS:
		case L_VALUES:
			if (q_buf_printf(b, "%s([", tv_typename(v)) < 0 || repr_items(r, b, v.u.l, depth) < 0)
				return -1;
			return q_buf_adds(b, "])");
		default:
			return q_error("cannot print a generator (jinja2 prints its address)");
		}
	case V_DICT: return repr_dict(r, b, v.u.d, depth);
	case V_NS:
		if (q_buf_adds(b, "<Namespace ") < 0 || repr_dict(r, b, v.u.d, depth) < 0)
			return -1;
		return q_buf_addc(b, '>');
	case V_LOOP: {
		int64_t len = (int64_t)v.u.lp->items->n;
		return q_buf_printf(b, "<LoopContext %lld/%lld>", (long long)(v.u.lp->i0 + 1), (long long)len);
	}
	case V_MACRO:
		if (q_buf_adds(b, "<Macro ") < 0 || repr_str(b, v.u.m->name.p, v.u.m->name.n) < 0)
			return -1;
		return q_buf_addc(b, '>');
	default:
		return q_error("cannot print a %s (jinja2 prints its address)", tv_typename(v));
	}
}

int tv_repr(trender *r, q_buf *b, tv v) { return repr_depth(r, b, v, 0); }

int tv_str(trender *r, q_buf *b, tv v)
{
	if (v.t == V_STR)
		return q_buf_add(b, v.u.s.p, v.u.s.n);
	if (v.t == V_UNDEF)
		return 0;
	return repr_depth(r, b, v, 0);
}

int tv_to_text(trender *r, tv v, tv *out)
{
	if (v.t == V_STR) {
		*out = v;
		out->k = 0;
		return 0;
	}
	q_buf b = Q_BUF_INIT;
	int rc = tv_str(r, &b, v);
	if (rc == 0)
		rc = tv_str_from_buf(r, &b, out);
	q_buf_free(&b);
	return rc;
}

/* ---- json.dumps ------------------------------------------------------- */

static int json_str(q_buf *b, const char *s, size_t n, int ensure_ascii)
{
	if (q_buf_addc(b, '"') < 0)
		return -1;
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t l = tmpl_u8dec(s + i, n - i, &cp);
		int rc;
		switch (cp) {
		case '"': rc = q_buf_adds(b, "\\\""); break;
		case '\\': rc = q_buf_adds(b, "\\\\"); break;
		case '\n': rc = q_buf_adds(b, "\\n"); break;
		case '\r': rc = q_buf_adds(b, "\\r"); break;
		case '\t': rc = q_buf_adds(b, "\\t"); break;
		case '\b': rc = q_buf_adds(b, "\\b"); break;
		case '\f': rc = q_buf_adds(b, "\\f"); break;
		default:
			if (cp < 0x20 || (ensure_ascii && cp >= 0x7f && cp < 0x10000))
				rc = q_buf_printf(b, "\\u%04x", (unsigned)cp);
			else if (ensure_ascii && cp >= 0x10000)
				rc = q_buf_printf(b, "\\u%04x\\u%04x", (unsigned)(0xD800 + ((cp - 0x10000) >> 10)),
						  (unsigned)(0xDC00 + ((cp - 0x10000) & 0x3FF)));
			else
				rc = q_buf_add(b, s + i, l);
		}
		if (rc < 0)
			return -1;
		i += l;
	}
	return q_buf_addc(b, '"');
}

static int json_nl(q_buf *b, const tjson_opt *o, int level)
{
	if (q_buf_addc(b, '\n') < 0)
		return -1;
	for (int i = 0; i < level; i++)
		if (q_buf_add(b, o->indent, o->indent_n) < 0)
			return -1;
	return 0;
}

static int json_depth(trender *r, q_buf *b, tv v, const tjson_opt *o, int depth);

/* A dict key as json.dumps writes it (str, or int/float/bool/None converted). */
static int json_key(trender *r, q_buf *b, tv k, const tjson_opt *o)
{
	char num[40];
	switch (k.t) {
	case V_STR: return json_str(b, k.u.s.p, k.u.s.n, o->ensure_ascii);
	case V_BOOL: return q_buf_adds(b, k.u.i ? "\"true\"" : "\"false\"");
	case V_NONE: return q_buf_adds(b, "\"null\"");
	case V_INT: return q_buf_printf(b, "\"%lld\"", (long long)k.u.i);
	case V_FLOAT:
		if (isnan(k.u.f))
			strcpy(num, "NaN");
		else if (isinf(k.u.f))
			strcpy(num, k.u.f < 0 ? "-Infinity" : "Infinity");
		else
			tv_float_repr(k.u.f, num);
		return q_buf_printf(b, "\"%s\"", num);
	default:
		(void)r;
		return q_error("keys must be str, int, float, bool or None, not %s", tv_typename(k));
	}
}

static int json_depth(trender *r, q_buf *b, tv v, const tjson_opt *o, int depth)
{
	char num[40];
	if (depth > MAX_NEST)
		return q_error("values nested too deeply for tojson");
	switch (v.t) {
	case V_NONE: return q_buf_adds(b, "null");
	case V_BOOL: return q_buf_adds(b, v.u.i ? "true" : "false");
	case V_INT: return q_buf_printf(b, "%lld", (long long)v.u.i);
	case V_FLOAT:
		if (isnan(v.u.f))
			return q_buf_adds(b, "NaN");
		if (isinf(v.u.f))
			return q_buf_adds(b, v.u.f < 0 ? "-Infinity" : "Infinity");
		tv_float_repr(v.u.f, num);
		return q_buf_adds(b, num);
	case V_STR: return json_str(b, v.u.s.p, v.u.s.n, o->ensure_ascii);
	case V_LIST:
		if (v.k != L_LIST && v.k != L_TUPLE)
			break;
		if (!v.u.l->n)
			return q_buf_adds(b, "[]");
		if (q_buf_addc(b, '[') < 0)
			return -1;
		for (size_t i = 0; i < v.u.l->n; i++) {
			if (i && q_buf_add(b, o->item_sep.p, o->item_sep.n) < 0)
				return -1;
			if (o->indent && json_nl(b, o, depth + 1) < 0)
				return -1;
			if (json_depth(r, b, v.u.l->v[i], o, depth + 1) < 0 || too_big(r, b) < 0)
				return -1;
		}
		if (o->indent && json_nl(b, o, depth) < 0)
			return -1;
		return q_buf_addc(b, ']');
	case V_DICT: {
		const tdict *d = v.u.d;
		if (!d->n)
			return q_buf_adds(b, "{}");
		size_t *ord = NULL;
		if (o->sort_keys) {
			/* insertion sort of the entry order by key (Python's sorted()) */
			ord = ta_alloc(&r->a, d->n * sizeof *ord);
			if (!ord)
				return -1;
			for (size_t i = 0; i < d->n; i++) {
				size_t j = i;
				while (j > 0) {
					int lt = tv_less(r, d->k[i], d->k[ord[j - 1]]);
					if (lt < 0)
						return -1;
					if (!lt)
						break;
					ord[j] = ord[j - 1];
					j--;
				}
				ord[j] = i;
			}
		}
		if (q_buf_addc(b, '{') < 0)
			return -1;
		for (size_t i = 0; i < d->n; i++) {
			size_t e = ord ? ord[i] : i;
			if (i && q_buf_add(b, o->item_sep.p, o->item_sep.n) < 0)
				return -1;
			if (o->indent && json_nl(b, o, depth + 1) < 0)
				return -1;
			if (json_key(r, b, d->k[e], o) < 0 || q_buf_add(b, o->key_sep.p, o->key_sep.n) < 0 ||
			    json_depth(r, b, d->v[e], o, depth + 1) < 0 || too_big(r, b) < 0)
				return -1;
		}
		if (o->indent && json_nl(b, o, depth) < 0)
			return -1;
		return q_buf_addc(b, '}');
	}
	default:
		break;
	}
	return q_error("Object of type %s is not JSON serializable", tv_typename(v));
}

int tv_json(trender *r, q_buf *b, tv v, const tjson_opt *o)
{
	return json_depth(r, b, v, o, 0);
}

/* ---- from cJSON ------------------------------------------------------- */

static int number_from_cjson(const cJSON *j, tv *out)
{
	const char *lit = j->valuestring;
	if (lit) {
		if (!strpbrk(lit, ".eE")) {
			char *end;
			errno = 0;
			long long v = strtoll(lit, &end, 10);
			if (errno || *end)
				return q_error("integer %s in the variables is beyond 64 bits", lit);
			*out = tv_int(v);
			return 0;
		}
		*out = tv_float(strtod(lit, NULL));
		return 0;
	}
	double d = j->valuedouble;
	if (d == floor(d) && fabs(d) <= 9007199254740992.0)
		*out = tv_int((int64_t)d);
	else
		*out = tv_float(d);
	return 0;
}

static int from_cjson(trender *r, const cJSON *j, tv *out, int depth)
{
	if (depth > 1000)
		return q_error("variables nested too deeply");
	if (cJSON_IsNull(j)) {
		*out = tv_none();
	} else if (cJSON_IsTrue(j)) {
		*out = tv_bool(1);
	} else if (cJSON_IsFalse(j)) {
		*out = tv_bool(0);
	} else if (cJSON_IsNumber(j)) {
		return number_from_cjson(j, out);
	} else if (cJSON_IsString(j)) {
		const char *s = j->valuestring ? j->valuestring : "";
		size_t n = strlen(s);
		if (q_utf8_check(s, n) != n)
			return q_error("invalid UTF-8 in a string of the variables");
		*out = tv_strv(s, n);  /* the cJSON tree outlives the render */
	} else if (cJSON_IsArray(j)) {
		tlist *l = tl_new(r, 0);
		if (!l)
			return -1;
		for (const cJSON *c = j->child; c; c = c->next) {
			tv e;
			if (from_cjson(r, c, &e, depth + 1) < 0 || tl_push(r, l, e) < 0)
				return -1;
		}
		*out = tv_list(l, L_LIST);
	} else if (cJSON_IsObject(j)) {
		tdict *d = td_new(r);
		if (!d)
			return -1;
		for (const cJSON *c = j->child; c; c = c->next) {
			tv e;
			const char *k = c->string ? c->string : "";
			size_t kn = strlen(k);
			if (q_utf8_check(k, kn) != kn)
				return q_error("invalid UTF-8 in a key of the variables");
			if (from_cjson(r, c, &e, depth + 1) < 0 || td_set(r, d, tv_strv(k, kn), e) < 0)
				return -1;
		}
		out->t = V_DICT;
		out->k = 0;
		out->u.d = d;
	} else {
		return q_error("unsupported JSON value in the variables");
	}
	return 0;
}

int tv_from_cjson(trender *r, const cJSON *j, tv *out)
{
	return from_cjson(r, j, out, 0);
}

/* ---- iteration -------------------------------------------------------- */

int tv_iter(trender *r, tv v, tlist **out)
{
	switch (v.t) {
	case V_UNDEF:
		return (*out = tl_new(r, 0)) ? 0 : -1;
	case V_LIST:
		if (v.k == L_GEN) {
			tlist *g = v.u.l, *rest = tl_new(r, 0);
			if (!rest)
				return -1;
			if (g->pos < g->n) {
				rest->v = g->v + g->pos;
				rest->n = rest->cap = g->n - g->pos;
			}
			g->pos = g->n;
			*out = rest;
			return 0;
		}
		*out = v.u.l;
		return 0;
	case V_DICT: {
		tlist *l = tl_new(r, v.u.d->n);
		if (!l)
			return -1;
		for (size_t i = 0; i < v.u.d->n; i++)
			l->v[l->n++] = v.u.d->k[i];
		*out = l;
		return 0;
	}
	case V_STR: {
		tlist *l = tl_new(r, tmpl_u8len(v.u.s.p, v.u.s.n));
		if (!l)
			return -1;
		size_t i = 0;
		while (i < v.u.s.n) {
			uint32_t cp;
			size_t cl = tmpl_u8dec(v.u.s.p + i, v.u.s.n - i, &cp);
			l->v[l->n++] = tv_strv(v.u.s.p + i, cl);
			i += cl;
		}
		*out = l;
		return 0;
	}
	default:
		return q_error("'%s' object is not iterable", tv_typename(v));
	}
}
