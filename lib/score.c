/*
 * score.c - refs, the checks of score.h, and the tally qeval score prints.
 *
 * The json and schema checks first run a strict RFC 8259 syntax check
 * (cJSON alone accepts "01", "1." and raw control characters in strings),
 * then parse with cJSON.
 */
#include "score.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "tmpl_int.h"
#include "unorm.h"
#include "utf8.h"

static const char *const check_names[] = {"exact", "iexact", "contains", "regex", "choice", "json", "schema"};

const char *q_check_name(enum q_check c)
{
	return check_names[c];
}

/* ---- normalization ---- */

int q_score_norm(const char *s, size_t n, q_buf *out)
{
	q_buf nfc = Q_BUF_INIT;
	if (q_unorm_nfc(s, n, &nfc) < 0)
		return -1;
	const unsigned char *p = (const unsigned char *)(nfc.p ? nfc.p : "");
	size_t len = nfc.len, i = 0, start = out->len;
	int space = 0, rc = 0;
	while (i < len && rc == 0) {
		uint32_t cp, low[3];
		size_t k = q_utf8_seq(p + i, len - i, &cp);
		if (k == 0) { /* not UTF-8: the byte as it is */
			if (space && out->len > start)
				rc |= q_buf_addc(out, ' ');
			space = 0;
			rc |= q_buf_addc(out, (char)p[i++]);
			continue;
		}
		i += k;
		if (tmpl_uc_space(cp)) {
			space = 1;
			continue;
		}
		if (space && out->len > start)
			rc |= q_buf_addc(out, ' ');
		space = 0;
		int m = tmpl_uc_lower(cp, low);
		for (int j = 0; j < m; j++) {
			char u[4];
			rc |= q_buf_add(out, u, q_utf8_put(low[j], u));
		}
	}
	q_buf_free(&nfc);
	return rc ? -1 : 0;
}

/* ---- strict JSON syntax (RFC 8259) ---- */

struct js {
	const unsigned char *s;
	size_t n, i;
	int depth;
};

static void js_ws(struct js *j)
{
	while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
		j->i++;
}

static int js_digits(struct js *j)
{
	size_t at = j->i;
	while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
		j->i++;
	return j->i > at ? 0 : -1;
}

static int js_value(struct js *j);

static int js_string(struct js *j)
{
	j->i++; /* the opening quote */
	while (j->i < j->n) {
		unsigned char c = j->s[j->i];
		if (c == '"') {
			j->i++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (++j->i >= j->n)
				return -1;
			c = j->s[j->i];
			if (c == 'u') {
				for (int k = 1; k <= 4; k++)
					if (j->i + k >= j->n || !strchr("0123456789abcdefABCDEF", j->s[j->i + k]) ||
					    !j->s[j->i + k])
						return -1;
				j->i += 5;
			} else if (c && strchr("\"\\/bfnrt", c)) {
				j->i++;
			} else {
				return -1;
			}
		} else if (c >= 0x80) {
			uint32_t cp;
			size_t k = q_utf8_seq(j->s + j->i, j->n - j->i, &cp);
			if (!k)
				return -1;
			j->i += k;
		} else {
			j->i++;
		}
	}
	return -1;
}

static int js_container(struct js *j, char close)
{
	if (++j->depth > 1000) /* cJSON's nesting limit */
		return -1;
	j->i++;
	js_ws(j);
	if (j->i < j->n && j->s[j->i] == (unsigned char)close) {
		j->i++;
		j->depth--;
		return 0;
	}
	for (;;) {
		js_ws(j);
		if (close == '}') {
			if (j->i >= j->n || j->s[j->i] != '"' || js_string(j) < 0)
				return -1;
			js_ws(j);
			if (j->i >= j->n || j->s[j->i] != ':')
				return -1;
			j->i++;
		}
		if (js_value(j) < 0)
			return -1;
		js_ws(j);
		if (j->i < j->n && j->s[j->i] == ',') {
			j->i++;
			continue;
		}
		if (j->i < j->n && j->s[j->i] == (unsigned char)close) {
			j->i++;
			j->depth--;
			return 0;
		}
		return -1;
	}
}

static int js_value(struct js *j)
{
	js_ws(j);
	if (j->i >= j->n)
		return -1;
	unsigned char c = j->s[j->i];
	if (c == '{' || c == '[')
		return js_container(j, c == '{' ? '}' : ']');
	if (c == '"')
		return js_string(j);
	static const char *const lits[] = {"true", "false", "null"};
	for (int k = 0; k < 3; k++) {
		size_t m = strlen(lits[k]);
		if (j->n - j->i >= m && memcmp(j->s + j->i, lits[k], m) == 0) {
			j->i += m;
			return 0;
		}
	}
	if (c == '-')
		j->i++;
	if (j->i < j->n && j->s[j->i] == '0')
		j->i++;
	else if (js_digits(j) < 0)
		return -1;
	if (j->i < j->n && j->s[j->i] == '.') {
		j->i++;
		if (js_digits(j) < 0)
			return -1;
	}
	if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
		j->i++;
		if (j->i < j->n && (j->s[j->i] == '+' || j->s[j->i] == '-'))
			j->i++;
		if (js_digits(j) < 0)
			return -1;
	}
	return 0;
}

/* Offset of the first byte that breaks s[0..n) as one JSON text, or n. */
static size_t json_strict(const char *s, size_t n)
{
	struct js j = {(const unsigned char *)s, n, 0, 0};
	if (js_value(&j) < 0)
		return j.i < n ? j.i : n ? n - 1 : 0;
	js_ws(&j);
	return j.i;
}

/* The JSON inside text: all of it, or the body of one ```json fence. */
static void json_slice(const char *text, const char **s, size_t *n)
{
	const char *b = text, *e = text + strlen(text);
	while (b < e && strchr(" \t\r\n", *b))
		b++;
	while (e > b && strchr(" \t\r\n", e[-1]))
		e--;
	*s = b, *n = (size_t)(e - b);
	if (e - b < 7 || memcmp(b, "```", 3) != 0 || memcmp(e - 3, "```", 3) != 0)
		return;
	const char *nl = memchr(b, '\n', (size_t)(e - b));
	if (!nl)
		return;
	const char *info = b + 3, *ie = nl;
	while (info < ie && (*info == ' ' || *info == '\t'))
		info++;
	while (ie > info && strchr(" \t\r", ie[-1]))
		ie--;
	if (!(ie == info || (ie - info == 4 && strncasecmp(info, "json", 4) == 0)))
		return;
	const char *close = e - 3;
	if (close <= nl || close[-1] != '\n')
		return;
	*s = nl + 1, *n = (size_t)(close - 1 - (nl + 1));
}

/* ---- checks ---- */

static int norm_eq(const char *a, const char *b, int *eq)
{
	q_buf x = Q_BUF_INIT, y = Q_BUF_INIT;
	int rc = q_score_norm(a, strlen(a), &x) < 0 || q_score_norm(b, strlen(b), &y) < 0 ? -1 : 0;
	*eq = x.len == y.len && (x.len == 0 || memcmp(x.p, y.p, x.len) == 0);
	q_buf_free(&x), q_buf_free(&y);
	return rc;
}

int q_check_text(const q_ref *r, const char *text, q_buf *why)
{
	int eq = 0;
	switch (r->check) {
	case Q_CHECK_EXACT:
		return strcmp(text, r->answer->valuestring) == 0;
	case Q_CHECK_IEXACT:
		return norm_eq(text, r->answer->valuestring, &eq) < 0 ? -1 : eq;
	case Q_CHECK_CONTAINS:
		return strstr(text, r->answer->valuestring) != NULL;
	case Q_CHECK_REGEX:
		return q_regex_search(r->re, text, strlen(text));
	case Q_CHECK_CHOICE:
		for (const cJSON *e = r->answer->child; e && !eq; e = e->next)
			if (norm_eq(text, e->valuestring, &eq) < 0)
				return -1;
		return eq;
	case Q_CHECK_JSON:
	case Q_CHECK_SCHEMA: {
		const char *s;
		size_t n;
		json_slice(text, &s, &n);
		size_t bad = json_strict(s, n);
		cJSON *j = bad == n && n ? cJSON_ParseWithLength(s, n) : NULL;
		if (!j) {
			q_buf_reset(why);
			if (q_buf_printf(why, "not valid JSON (at byte %zu of it)", bad) < 0)
				return -1;
			return 0;
		}
		int rc = r->check == Q_CHECK_SCHEMA ? q_schema_validate(r->answer, j, why)
			 : !r->answer || cJSON_Compare(r->answer, j, 1);
		cJSON_Delete(j);
		return rc;
	}
	}
	return q_error("unknown check");
}

/* ---- refs ---- */

struct load {
	q_refs *r;
	const char *name;
};

static int add_ref(void *ud, char *line, size_t len, long lineno)
{
	q_refs *r = ((struct load *)ud)->r;
	const char *name = ((struct load *)ud)->name;
	cJSON *j = cJSON_ParseWithLengthOpts(line, len + 1, NULL, 1);
	q_ref ref = {0};
	ref.line = lineno;
	if (!cJSON_IsObject(j)) {
		q_error("%s:%ld: not a JSON object", name, lineno);
		goto fail;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "custom_id");
	const cJSON *check = cJSON_GetObjectItemCaseSensitive(j, "check");
	cJSON *ans = cJSON_GetObjectItemCaseSensitive(j, "answer");
	if (!cJSON_IsString(id) || !*id->valuestring) {
		q_error("%s:%ld: no custom_id (a non-empty string)", name, lineno);
		goto fail;
	}
	if (!cJSON_IsString(check)) {
		q_error("%s:%ld: no check (a string)", name, lineno);
		goto fail;
	}
	size_t k = 0;
	while (k < sizeof check_names / sizeof *check_names && strcmp(check_names[k], check->valuestring) != 0)
		k++;
	if (k == sizeof check_names / sizeof *check_names) {
		q_error("%s:%ld: unknown check '%.64s' (want exact, iexact, contains, regex, choice, json or schema)",
			name, lineno, check->valuestring);
		goto fail;
	}
	ref.check = (enum q_check)k;
	switch (ref.check) {
	case Q_CHECK_EXACT:
	case Q_CHECK_IEXACT:
	case Q_CHECK_CONTAINS:
	case Q_CHECK_REGEX:
		if (!cJSON_IsString(ans)) {
			q_error("%s:%ld: check %s needs an answer string", name, lineno, check_names[k]);
			goto fail;
		}
		if (ref.check == Q_CHECK_REGEX && !(ref.re = q_regex_compile(ans->valuestring))) {
			q_error("%s:%ld: %s", name, lineno, q_errmsg());
			goto fail;
		}
		break;
	case Q_CHECK_CHOICE: {
		int ok = cJSON_IsArray(ans) && cJSON_GetArraySize(ans) > 0;
		for (const cJSON *e = ok ? ans->child : NULL; e; e = e->next)
			ok &= cJSON_IsString(e);
		if (!ok) {
			q_error("%s:%ld: check choice needs an answer that is a non-empty list of strings", name, lineno);
			goto fail;
		}
		break;
	}
	case Q_CHECK_JSON:
		break;
	case Q_CHECK_SCHEMA:
		if (!ans) {
			q_error("%s:%ld: check schema needs an answer (a JSON Schema)", name, lineno);
			goto fail;
		}
		if (q_schema_check(ans) < 0) {
			q_error("%s:%ld: %s", name, lineno, q_errmsg());
			goto fail;
		}
		break;
	}
	ref.id = strdup(id->valuestring);
	ref.answer = ans ? cJSON_DetachItemViaPointer(j, ans) : NULL;
	if (!ref.id) {
		q_error("out of memory");
		goto fail;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		q_ref *v = realloc(r->v, cap * sizeof *v);
		if (!v) {
			q_error("out of memory");
			goto fail;
		}
		r->v = v, r->cap = cap;
	}
	r->v[r->n++] = ref;
	cJSON_Delete(j);
	return 0;
fail:
	free(ref.id);
	cJSON_Delete(ref.answer);
	q_regex_free(ref.re);
	cJSON_Delete(j);
	return -1;
}

int q_refs_load(const char *path, q_refs *out)
{
	*out = (q_refs)Q_REFS_INIT;
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	struct load ld = {out, name};
	if (q_jsonl_each(path, add_ref, &ld) < 0 ||
	    q_ids_index(name, out->v, out->n, sizeof *out->v, offsetof(q_ref, id), offsetof(q_ref, line),
			&out->by_id) < 0) {
		q_refs_free(out);
		return -1;
	}
	return 0;
}

void q_refs_free(q_refs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].id);
		cJSON_Delete(r->v[i].answer);
		q_regex_free(r->v[i].re);
	}
	free(r->v);
	free(r->by_id);
	*r = (q_refs)Q_REFS_INIT;
}

/* ---- display ---- */

/* Bytes of s that hold its first max code points; *cut when s is longer. */
static size_t clip_len(const char *s, size_t max, int *cut)
{
	size_t i = 0, n = 0;
	while (s[i] && n < max) {
		uint32_t cp;
		size_t k = q_utf8_seq((const unsigned char *)s + i, strlen(s + i), &cp);
		i += k ? k : 1;
		n++;
	}
	*cut = s[i] != '\0';
	return i;
}

int q_quote_clip(q_buf *out, const char *s, size_t max)
{
	int cut, rc = q_buf_addc(out, '"');
	size_t n = clip_len(s, max, &cut);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t k;
		if (c == '"' || c == '\\')
			rc |= q_buf_printf(out, "\\%c", c);
		else if (c == '\n')
			rc |= q_buf_adds(out, "\\n");
		else if (c == '\t')
			rc |= q_buf_adds(out, "\\t");
		else if (c == '\r')
			rc |= q_buf_adds(out, "\\r");
		else if (c < 0x20 || c == 0x7f)
			rc |= q_buf_printf(out, "\\u%04x", c);
		else if (c < 0x80)
			rc |= q_buf_addc(out, (char)c);
		else if ((k = q_utf8_seq((const unsigned char *)s + i, n - i, &cp)) != 0) {
			rc |= q_buf_add(out, s + i, k);
			i += k - 1;
		} else {
			rc |= q_buf_printf(out, "\\x%02x", c);
		}
	}
	rc |= q_buf_addc(out, '"');
	if (cut)
		rc |= q_buf_adds(out, "...");
	return rc ? -1 : 0;
}

static int clip_raw(q_buf *out, const char *s, size_t max)
{
	int cut;
	size_t n = clip_len(s, max, &cut);
	if (q_buf_add(out, s, n) < 0 || (cut && q_buf_adds(out, "...") < 0))
		return -1;
	return 0;
}

static char *expected_of(const q_ref *r)
{
	q_buf b = Q_BUF_INIT;
	char *json = NULL;
	int rc = 0;
	switch (r->check) {
	case Q_CHECK_EXACT:
	case Q_CHECK_IEXACT:
	case Q_CHECK_CONTAINS:
		rc = q_quote_clip(&b, r->answer->valuestring, Q_SCORE_CLIP);
		break;
	case Q_CHECK_REGEX:
		rc = q_buf_addc(&b, '/') | clip_raw(&b, r->answer->valuestring, Q_SCORE_CLIP) | q_buf_addc(&b, '/');
		break;
	case Q_CHECK_CHOICE:
	case Q_CHECK_JSON:
		if (!r->answer)
			return NULL;
		json = cJSON_PrintUnformatted(r->answer);
		rc = !json ? -1
		     : (r->check == Q_CHECK_CHOICE ? q_buf_adds(&b, "one of ") : 0) | clip_raw(&b, json, Q_SCORE_CLIP);
		free(json);
		break;
	case Q_CHECK_SCHEMA:
		return NULL;
	}
	if (rc < 0 || !b.p) {
		q_buf_free(&b);
		return NULL;
	}
	return b.p;
}

static int add_item(q_score *s, const char *id, const q_ref *r, const q_output *o)
{
	q_score_item *it = &s->v[s->n];
	*it = (q_score_item){.id = id, .check = r ? q_check_name(r->check) : NULL};
	q_buf why = Q_BUF_INIT, got = Q_BUF_INIT;
	int rc = 0;
	if (!o) {
		rc = q_buf_adds(&why, "no result");
	} else if (!r) {
		rc = q_buf_adds(&why, "no ref");
	} else if (!o->text) {
		rc = q_buf_adds(&why, o->error);
	} else {
		rc = q_check_text(r, o->text, &why);
		if (rc >= 0) {
			it->pass = rc;
			rc = 0;
		} else { /* could not tell: the item fails and says why */
			q_buf_reset(&why);
			rc = q_buf_adds(&why, q_errmsg());
		}
	}
	if (o && o->text && !it->pass)
		rc |= q_quote_clip(&got, o->text, Q_SCORE_CLIP);
	if (rc < 0) {
		q_buf_free(&why), q_buf_free(&got);
		return q_error("out of memory");
	}
	if (it->pass) {
		q_buf_free(&why);
	} else {
		it->why = why.len ? why.p : (q_buf_free(&why), NULL);
		it->got = got.p;
		it->expected = r ? expected_of(r) : NULL;
	}
	s->passed += (size_t)it->pass;
	s->n++;
	return 0;
}

int q_score_run(const q_refs *refs, const q_outputs *outs, q_score *out)
{
	*out = (q_score){0};
	size_t max = refs->n + outs->n;
	out->v = calloc(max ? max : 1, sizeof *out->v);
	if (!out->v)
		return q_error("out of memory");
	for (size_t i = 0; i < refs->n; i++)
		if (add_item(out, refs->v[i].id, &refs->v[i], q_outputs_find(outs, refs->v[i].id)) < 0)
			goto fail;
	for (size_t i = 0; i < outs->n; i++)
		if (q_ids_lookup(refs->v, sizeof *refs->v, offsetof(q_ref, id), refs->by_id, refs->n, outs->v[i].id) < 0 &&
		    add_item(out, outs->v[i].id, NULL, &outs->v[i]) < 0)
			goto fail;
	return 0;
fail:
	q_score_free(out);
	return -1;
}

void q_score_free(q_score *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].why), free(s->v[i].expected), free(s->v[i].got);
	free(s->v);
	*s = (q_score){0};
}

void q_wilson(size_t k, size_t n, double *lo, double *hi)
{
	const double z = 1.959963984540054; /* the 97.5% point of the standard normal */
	double p = (double)k / (double)n, z2n = z * z / (double)n;
	double centre = (p + z2n / 2) / (1 + z2n);
	double half = z / (1 + z2n) * sqrt(p * (1 - p) / (double)n + z2n / (4 * (double)n));
	*lo = centre - half < 0 ? 0 : centre - half;
	*hi = centre + half > 1 ? 1 : centre + half;
}
