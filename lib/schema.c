/*
 * schema.c - the JSON Schema subset of schema.h, and PCRE2 search.
 *
 * q_schema_check walks every place a schema can hold a schema (properties,
 * items, $defs, ...) once, at load time; q_schema_validate can then trust
 * keyword types.  Validation stops at the first failure and reports it with
 * the instance path ($, $.a, $.a[3], $["odd key"]).  Recursion is bounded:
 * cJSON caps nesting at 1000 levels, and validation gives up (-1) after
 * MAX_DEPTH schemas applied inside one another, which a $ref loop reaches.
 */
#include "schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "err.h"
#include "utf8.h"

#define MAX_DEPTH 2304 /* room for instance depth (<= 1000) x 2 plus 256 $ref hops */

q_regex *q_regex_compile(const char *pattern)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_UCP, &code, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof msg);
		q_error("bad pattern '%s': %s at offset %zu", pattern, (const char *)msg, (size_t)off);
	}
	return re;
}

int q_regex_search(const q_regex *re, const char *s, size_t n)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	if (!md)
		return q_error("out of memory");
	int rc = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	PCRE2_UCHAR msg[256];
	pcre2_get_error_message(rc, msg, sizeof msg);
	return q_error("regex match: %s", (const char *)msg);
}

void q_regex_free(q_regex *re)
{
	pcre2_code_free(re);
}

static const cJSON *kw(const cJSON *s, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(s, name);
}

/* The value a local JSON pointer ("#", "#/a/b~1c/0") names in root, or NULL. */
static const cJSON *resolve(const cJSON *root, const char *ref)
{
	if (ref[0] != '#')
		return NULL;
	const char *p = ref + 1;
	const cJSON *cur = root;
	while (*p == '/') {
		char tok[512];
		size_t n = 0;
		for (p++; *p && *p != '/'; p++) {
			char ch = *p;
			if (ch == '~') {
				if (p[1] != '0' && p[1] != '1')
					return NULL;
				ch = *++p == '0' ? '~' : '/';
			}
			if (n + 1 >= sizeof tok)
				return NULL;
			tok[n++] = ch;
		}
		tok[n] = '\0';
		if (cJSON_IsObject(cur)) {
			cur = kw(cur, tok);
		} else if (cJSON_IsArray(cur) && n && strspn(tok, "0123456789") == n && n < 9) {
			cur = cJSON_GetArrayItem(cur, atoi(tok));
		} else {
			return NULL;
		}
		if (!cur)
			return NULL;
	}
	return *p ? NULL : cur;
}

/* ---- q_schema_check ---- */

static const char *const type_names[] = {"null", "boolean", "object", "array", "number", "integer", "string"};

static int type_name_ok(const cJSON *t)
{
	if (!cJSON_IsString(t))
		return 0;
	for (size_t i = 0; i < sizeof type_names / sizeof *type_names; i++)
		if (strcmp(t->valuestring, type_names[i]) == 0)
			return 1;
	return 0;
}

struct chk {
	const cJSON *root;
	q_buf path; /* "#/properties/a" */
	int depth;
};

static int chk_schema(struct chk *c, const cJSON *s);

static int chk_fail(struct chk *c, const char *what)
{
	return q_error("schema at %s: %s", c->path.len ? c->path.p : "#", what);
}

/* Check the schema s found under the keyword path suffix "/name[/sub]". */
static int chk_at(struct chk *c, const char *name, const char *sub, const cJSON *s)
{
	size_t len = c->path.len;
	if (c->path.len == 0 && q_buf_addc(&c->path, '#') < 0)
		return -1;
	if (q_buf_printf(&c->path, "/%s", name) < 0 || (sub && q_buf_printf(&c->path, "/%s", sub) < 0))
		return -1;
	int rc = chk_schema(c, s);
	c->path.len = len;
	if (c->path.p)
		c->path.p[len] = '\0';
	return rc;
}

static int chk_schema_list(struct chk *c, const char *name, const cJSON *v, int nonempty)
{
	if (!cJSON_IsArray(v) || (nonempty && !cJSON_GetArraySize(v))) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s must be a%s list of schemas", name, nonempty ? " non-empty" : "");
		return chk_fail(c, msg);
	}
	int i = 0;
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		char sub[24];
		snprintf(sub, sizeof sub, "%d", i);
		if (chk_at(c, name, sub, e) < 0)
			return -1;
	}
	return 0;
}

static int chk_schema_map(struct chk *c, const char *name, const cJSON *v, int patterns)
{
	if (!cJSON_IsObject(v)) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s must be an object of schemas", name);
		return chk_fail(c, msg);
	}
	for (const cJSON *e = v->child; e; e = e->next) {
		if (patterns) {
			q_regex *re = q_regex_compile(e->string);
			if (!re)
				return chk_fail(c, q_errmsg());
			q_regex_free(re);
		}
		if (chk_at(c, name, e->string, e) < 0)
			return -1;
	}
	return 0;
}

static int chk_schema(struct chk *c, const cJSON *s)
{
	static const char *const nums[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};
	static const char *const counts[] = {"minLength", "maxLength", "minItems", "maxItems",
					     "minProperties", "maxProperties"};
	static const char *const single[] = {"additionalProperties", "contains", "not", "if", "then", "else"};
	static const char *const lists[] = {"prefixItems", "allOf", "anyOf", "oneOf"};
	char msg[256];
	const cJSON *v;
	if (cJSON_IsBool(s))
		return 0;
	if (!cJSON_IsObject(s))
		return chk_fail(c, "a schema must be an object or a boolean");
	if (++c->depth > 500) {
		c->depth--;
		return chk_fail(c, "nested too deeply");
	}
	int rc = -1;
	for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
		if ((v = kw(s, nums[i])) && !cJSON_IsNumber(v)) {
			snprintf(msg, sizeof msg, "%s must be a number", nums[i]);
			goto fail;
		}
	if ((v = kw(s, "multipleOf")) && !(cJSON_IsNumber(v) && v->valuedouble > 0)) {
		snprintf(msg, sizeof msg, "multipleOf must be a number > 0");
		goto fail;
	}
	for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
		if ((v = kw(s, counts[i])) &&
		    !(cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble == floor(v->valuedouble))) {
			snprintf(msg, sizeof msg, "%s must be an integer >= 0", counts[i]);
			goto fail;
		}
	if ((v = kw(s, "uniqueItems")) && !cJSON_IsBool(v)) {
		snprintf(msg, sizeof msg, "uniqueItems must be true or false");
		goto fail;
	}
	if ((v = kw(s, "type"))) {
		int ok = type_name_ok(v);
		if (cJSON_IsArray(v)) {
			ok = 1;
			for (const cJSON *e = v->child; e; e = e->next)
				ok &= type_name_ok(e);
		}
		if (!ok) {
			snprintf(msg, sizeof msg, "type must be one of null, boolean, object, array, number, integer, string or a list of them");
			goto fail;
		}
	}
	if ((v = kw(s, "enum")) && !cJSON_IsArray(v)) {
		snprintf(msg, sizeof msg, "enum must be a list");
		goto fail;
	}
	if ((v = kw(s, "required"))) {
		int ok = cJSON_IsArray(v);
		for (const cJSON *e = ok ? v->child : NULL; e; e = e->next)
			ok &= cJSON_IsString(e);
		if (!ok) {
			snprintf(msg, sizeof msg, "required must be a list of strings");
			goto fail;
		}
	}
	if ((v = kw(s, "pattern"))) {
		if (!cJSON_IsString(v)) {
			snprintf(msg, sizeof msg, "pattern must be a string");
			goto fail;
		}
		q_regex *re = q_regex_compile(v->valuestring);
		if (!re) {
			chk_fail(c, q_errmsg());
			goto out;
		}
		q_regex_free(re);
	}
	if ((v = kw(s, "$ref"))) {
		const cJSON *t = cJSON_IsString(v) ? resolve(c->root, v->valuestring) : NULL;
		if (!t || !(cJSON_IsObject(t) || cJSON_IsBool(t))) {
			snprintf(msg, sizeof msg, "$ref %.100s does not name a schema in this document (want \"#/$defs/NAME\")",
				 cJSON_IsString(v) ? v->valuestring : "(not a string)");
			goto fail;
		}
	}
	for (size_t i = 0; i < sizeof single / sizeof *single; i++)
		if ((v = kw(s, single[i])) && chk_at(c, single[i], NULL, v) < 0)
			goto out;
	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
		if ((v = kw(s, lists[i])) && chk_schema_list(c, lists[i], v, i > 0) < 0)
			goto out;
	if ((v = kw(s, "items")) &&
	    (cJSON_IsArray(v) ? chk_schema_list(c, "items", v, 0) : chk_at(c, "items", NULL, v)) < 0)
		goto out;
	if (((v = kw(s, "properties")) && chk_schema_map(c, "properties", v, 0) < 0) ||
	    ((v = kw(s, "patternProperties")) && chk_schema_map(c, "patternProperties", v, 1) < 0) ||
	    ((v = kw(s, "$defs")) && chk_schema_map(c, "$defs", v, 0) < 0) ||
	    ((v = kw(s, "definitions")) && chk_schema_map(c, "definitions", v, 0) < 0))
		goto out;
	rc = 0;
	goto out;
fail:
	chk_fail(c, msg);
out:
	c->depth--;
	return rc;
}

int q_schema_check(const cJSON *schema)
{
	struct chk c = {schema, Q_BUF_INIT, 0};
	int rc = chk_schema(&c, schema);
	q_buf_free(&c.path);
	return rc;
}

/* ---- q_schema_validate ---- */

struct val {
	const cJSON *root;
	q_buf *why;  /* NULL while trying alternatives (anyOf, oneOf, not, if) */
	q_buf path;  /* "$.a[2]" */
	int depth;
};

/* Record why x failed (when asked) and return 0. */
Q_PRINTF(2, 3) static int bad(struct val *c, const char *fmt, ...)
{
	if (!c->why)
		return 0;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	q_buf_reset(c->why);
	if (q_buf_printf(c->why, "%s: %s", c->path.p, msg) < 0)
		return -1;
	return 0;
}

/* x printed compactly, at most 60 bytes (cut on a character boundary). */
static const char *show(const cJSON *x, char *out, size_t cap)
{
	char *p = cJSON_PrintUnformatted(x);
	if (!p)
		return "(value)";
	size_t n = strlen(p), max = cap - 4 < 60 ? cap - 4 : 60;
	if (n > max) {
		n = max;
		while (n && ((unsigned char)p[n] & 0xC0) == 0x80)
			n--;
		memcpy(out, p, n);
		memcpy(out + n, "...", 4);
	} else {
		memcpy(out, p, n + 1);
	}
	free(p);
	return out;
}

static const char *type_of(const cJSON *x)
{
	return cJSON_IsNull(x) ? "null" : cJSON_IsBool(x) ? "boolean" : cJSON_IsObject(x) ? "object"
	       : cJSON_IsArray(x) ? "array" : cJSON_IsString(x) ? "string" : "number";
}

static int type_is(const char *t, const cJSON *x)
{
	if (strcmp(t, "integer") == 0)
		return cJSON_IsNumber(x) && isfinite(x->valuedouble) && x->valuedouble == floor(x->valuedouble);
	return strcmp(t, type_of(x)) == 0;
}

static int validate(struct val *c, const cJSON *s, const cJSON *x);

/* Validate x (the member key or element i of the current instance) against s. */
static int validate_at(struct val *c, const char *key, int i, const cJSON *s, const cJSON *x)
{
	size_t len = c->path.len;
	int rc;
	if (key) {
		size_t n = strlen(key);
		int plain = n && (key[0] < '0' || key[0] > '9') &&
			    strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
		if (plain) {
			rc = q_buf_printf(&c->path, ".%s", key);
		} else {
			cJSON *k = cJSON_CreateString(key);
			char *ks = k ? cJSON_PrintUnformatted(k) : NULL;
			rc = ks ? q_buf_printf(&c->path, "[%s]", ks) : q_error("out of memory");
			free(ks);
			cJSON_Delete(k);
		}
	} else {
		rc = q_buf_printf(&c->path, "[%d]", i);
	}
	if (rc == 0)
		rc = validate(c, s, x);
	c->path.len = len;
	c->path.p[len] = '\0';
	return rc;
}

/* Does x match s?  Asked quietly: no reason is recorded. */
static int matches(struct val *c, const cJSON *s, const cJSON *x)
{
	q_buf *why = c->why;
	c->why = NULL;
	int rc = validate(c, s, x);
	c->why = why;
	return rc;
}

static size_t code_points(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static int v_number(struct val *c, const cJSON *s, const cJSON *x)
{
	double d = x->valuedouble;
	const cJSON *k;
	char a[64];
	show(x, a, sizeof a);
	if ((k = kw(s, "minimum")) && d < k->valuedouble)
		return bad(c, "%s is less than the minimum %g", a, k->valuedouble);
	if ((k = kw(s, "maximum")) && d > k->valuedouble)
		return bad(c, "%s is greater than the maximum %g", a, k->valuedouble);
	if ((k = kw(s, "exclusiveMinimum")) && d <= k->valuedouble)
		return bad(c, "%s is not greater than the exclusive minimum %g", a, k->valuedouble);
	if ((k = kw(s, "exclusiveMaximum")) && d >= k->valuedouble)
		return bad(c, "%s is not less than the exclusive maximum %g", a, k->valuedouble);
	if ((k = kw(s, "multipleOf"))) {
		double q = d / k->valuedouble;
		if (!isfinite(q) || q != floor(q))
			return bad(c, "%s is not a multiple of %g", a, k->valuedouble);
	}
	return 1;
}

static int v_string(struct val *c, const cJSON *s, const cJSON *x)
{
	const cJSON *k;
	size_t n = code_points(x->valuestring);
	char a[64];
	if ((k = kw(s, "minLength")) && (double)n < k->valuedouble)
		return bad(c, "%s has %zu character%s, fewer than minLength %g", show(x, a, sizeof a), n, n == 1 ? "" : "s", k->valuedouble);
	if ((k = kw(s, "maxLength")) && (double)n > k->valuedouble)
		return bad(c, "%s has %zu character%s, more than maxLength %g", show(x, a, sizeof a), n, n == 1 ? "" : "s", k->valuedouble);
	if ((k = kw(s, "pattern"))) {
		q_regex *re = q_regex_compile(k->valuestring);
		if (!re)
			return -1;
		int rc = q_regex_search(re, x->valuestring, strlen(x->valuestring));
		q_regex_free(re);
		if (rc <= 0)
			return rc < 0 ? -1 : bad(c, "%s does not match the pattern %s", show(x, a, sizeof a), k->valuestring);
	}
	return 1;
}

static int v_array(struct val *c, const cJSON *s, const cJSON *x)
{
	const cJSON *k, *prefix = kw(s, "prefixItems"), *items = kw(s, "items");
	int n = cJSON_GetArraySize(x), rc;
	if (cJSON_IsArray(items)) /* the tuple form of drafts 4-7 */
		prefix = items, items = NULL;
	if ((k = kw(s, "minItems")) && n < k->valuedouble)
		return bad(c, "%d item%s, fewer than minItems %g", n, n == 1 ? "" : "s", k->valuedouble);
	if ((k = kw(s, "maxItems")) && n > k->valuedouble)
		return bad(c, "%d item%s, more than maxItems %g", n, n == 1 ? "" : "s", k->valuedouble);
	int i = 0;
	const cJSON *ps = prefix ? prefix->child : NULL;
	for (const cJSON *e = x->child; e; e = e->next, i++) {
		const cJSON *sub = ps ? ps : items;
		if (ps)
			ps = ps->next;
		if (sub && (rc = validate_at(c, NULL, i, sub, e)) != 1)
			return rc;
	}
	if (cJSON_IsTrue(kw(s, "uniqueItems"))) {
		i = 0;
		for (const cJSON *a = x->child; a; a = a->next, i++) {
			int j = i + 1;
			for (const cJSON *b = a->next; b; b = b->next, j++)
				if (cJSON_Compare(a, b, 1))
					return bad(c, "items %d and %d are equal (uniqueItems)", i, j);
		}
	}
	if ((k = kw(s, "contains"))) {
		int found = 0;
		for (const cJSON *e = x->child; e && !found; e = e->next)
			if ((found = matches(c, k, e)) < 0)
				return -1;
		if (!found)
			return bad(c, "no item matches contains");
	}
	return 1;
}

static int v_object(struct val *c, const cJSON *s, const cJSON *x)
{
	const cJSON *k, *props = kw(s, "properties"), *pprops = kw(s, "patternProperties");
	const cJSON *addl = kw(s, "additionalProperties");
	int n = cJSON_GetArraySize(x), rc;
	if ((k = kw(s, "required")))
		for (const cJSON *r = k->child; r; r = r->next)
			if (!kw(x, r->valuestring)) {
				char a[64];
				return bad(c, "missing required property %s", show(r, a, sizeof a));
			}
	if ((k = kw(s, "minProperties")) && n < k->valuedouble)
		return bad(c, "%d propert%s, fewer than minProperties %g", n, n == 1 ? "y" : "ies", k->valuedouble);
	if ((k = kw(s, "maxProperties")) && n > k->valuedouble)
		return bad(c, "%d propert%s, more than maxProperties %g", n, n == 1 ? "y" : "ies", k->valuedouble);
	for (const cJSON *m = x->child; m; m = m->next) {
		int known = 0;
		const cJSON *ps = props ? kw(props, m->string) : NULL;
		if (ps) {
			known = 1;
			if ((rc = validate_at(c, m->string, 0, ps, m)) != 1)
				return rc;
		}
		for (const cJSON *pp = pprops ? pprops->child : NULL; pp; pp = pp->next) {
			q_regex *re = q_regex_compile(pp->string);
			if (!re)
				return -1;
			rc = q_regex_search(re, m->string, strlen(m->string));
			q_regex_free(re);
			if (rc < 0)
				return -1;
			if (rc) {
				known = 1;
				if ((rc = validate_at(c, m->string, 0, pp, m)) != 1)
					return rc;
			}
		}
		if (!known && addl) {
			if (cJSON_IsFalse(addl)) {
				char a[64];
				cJSON *key = cJSON_CreateString(m->string);
				rc = bad(c, "property %s is not allowed (additionalProperties)", key ? show(key, a, sizeof a) : m->string);
				cJSON_Delete(key);
				return rc;
			}
			if ((rc = validate_at(c, m->string, 0, addl, m)) != 1)
				return rc;
		}
	}
	return 1;
}

static int v_combine(struct val *c, const cJSON *s, const cJSON *x)
{
	const cJSON *k;
	int rc;
	if ((k = kw(s, "allOf")))
		for (const cJSON *e = k->child; e; e = e->next)
			if ((rc = validate(c, e, x)) != 1)
				return rc;
	if ((k = kw(s, "anyOf"))) {
		int any = 0;
		for (const cJSON *e = k->child; e && !any; e = e->next)
			if ((any = matches(c, e, x)) < 0)
				return -1;
		if (!any)
			return bad(c, "matches none of the anyOf schemas");
	}
	if ((k = kw(s, "oneOf"))) {
		int hits = 0, first = -1, second = -1, i = 0;
		for (const cJSON *e = k->child; e; e = e->next, i++) {
			if ((rc = matches(c, e, x)) < 0)
				return -1;
			if (rc) {
				if (hits++ == 0)
					first = i;
				else if (second < 0)
					second = i;
			}
		}
		if (hits == 0)
			return bad(c, "matches none of the oneOf schemas");
		if (hits > 1)
			return bad(c, "matches %d of the oneOf schemas (%d and %d), not exactly one", hits, first, second);
	}
	if ((k = kw(s, "not"))) {
		if ((rc = matches(c, k, x)) < 0)
			return -1;
		if (rc)
			return bad(c, "matches the schema under not");
	}
	if ((k = kw(s, "if"))) {
		if ((rc = matches(c, k, x)) < 0)
			return -1;
		const cJSON *branch = kw(s, rc ? "then" : "else");
		if (branch && (rc = validate(c, branch, x)) != 1)
			return rc;
	}
	return 1;
}

static int validate(struct val *c, const cJSON *s, const cJSON *x)
{
	if (cJSON_IsBool(s))
		return cJSON_IsTrue(s) ? 1 : bad(c, "not allowed here (the schema is false)");
	if (++c->depth > MAX_DEPTH) {
		c->depth--;
		return q_error("schema: more than %d nested schemas (a $ref loop?)", MAX_DEPTH);
	}
	const cJSON *k;
	char a[64];
	int rc;
	if ((k = kw(s, "$ref")) && (rc = validate(c, resolve(c->root, k->valuestring), x)) != 1)
		goto out;
	if ((k = kw(s, "type"))) {
		int ok = 0;
		if (cJSON_IsString(k))
			ok = type_is(k->valuestring, x);
		for (const cJSON *t = cJSON_IsArray(k) ? k->child : NULL; t && !ok; t = t->next)
			ok = type_is(t->valuestring, x);
		if (!ok) {
			q_buf want = Q_BUF_INIT;
			if (cJSON_IsString(k))
				rc = q_buf_adds(&want, k->valuestring);
			else
				for (const cJSON *t = k->child; t; t = t->next)
					rc = q_buf_printf(&want, "%s%s", t == k->child ? "" : " or ", t->valuestring);
			rc = bad(c, "expected %s, got %s %s", want.p ? want.p : "no type at all", type_of(x), show(x, a, sizeof a));
			q_buf_free(&want);
			goto out;
		}
	}
	if ((k = kw(s, "enum"))) {
		int ok = 0;
		for (const cJSON *e = k->child; e && !ok; e = e->next)
			ok = cJSON_Compare(e, x, 1);
		if (!ok) {
			char b[64];
			rc = bad(c, "%s is not one of %s", show(x, a, sizeof a), show(k, b, sizeof b));
			goto out;
		}
	}
	if ((k = kw(s, "const")) && !cJSON_Compare(k, x, 1)) {
		char b[64];
		rc = bad(c, "%s is not the constant %s", show(x, a, sizeof a), show(k, b, sizeof b));
		goto out;
	}
	rc = cJSON_IsNumber(x) ? v_number(c, s, x) : cJSON_IsString(x) ? v_string(c, s, x)
	   : cJSON_IsArray(x) ? v_array(c, s, x) : cJSON_IsObject(x) ? v_object(c, s, x) : 1;
	if (rc == 1)
		rc = v_combine(c, s, x);
out:
	c->depth--;
	return rc;
}

int q_schema_validate(const cJSON *schema, const cJSON *instance, q_buf *why)
{
	struct val c = {schema, why, Q_BUF_INIT, 0};
	if (q_buf_addc(&c.path, '$') < 0)
		return -1;
	int rc = validate(&c, schema, instance);
	q_buf_free(&c.path);
	return rc;
}
