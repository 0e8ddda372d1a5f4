/*
 * tmpl.c - public API of the chat-template interpreter (see tmpl.h):
 * parse once, render many times (from any number of threads), and a JSON
 * reader that keeps number literals so that 1 and 1.0 stay int and float.
 *
 * Invariants:
 * - A q_tmpl owns one arena holding the normalised source, strings and the
 *   tree; it is never written after q_tmpl_parse() returns.
 * - Each render owns its own arena and state (trender on the stack); on
 *   failure the caller's buffer is put back to its length before the call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tmpl_int.h"

#define DEF_OUTPUT ((size_t)64 << 20)
#define DEF_MEMORY ((size_t)256 << 20)
#define DEF_STEPS ((uint64_t)20000000)
#define DEF_CALLS 200
#define MAX_SOURCE (16 << 20)  /* real chat templates are a few KiB */

/* Keeps the error message on one line: control characters (a newline in a
 * raise_exception() message, say) become spaces. */
static void one_line_error(void)
{
	char msg[1024];
	snprintf(msg, sizeof msg, "%s", q_errmsg());
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	/* q_error() would append strerror() to a message ending in ':' */
	size_t n = strlen(msg);
	q_error("%s%s", msg, n && msg[n - 1] == ':' ? " " : "");
}

/* Parses src into a template; NULL + q_error("template line N: ..."). */
q_tmpl *q_tmpl_parse(const char *src, size_t len)
{
	if (len > MAX_SOURCE) {
		q_error("template line 1: template larger than %d MiB", MAX_SOURCE >> 20);
		return NULL;
	}
	q_tmpl *t = calloc(1, sizeof *t);
	if (!t) {
		q_error("out of memory");
		return NULL;
	}
	t->arena.limit = DEF_MEMORY;
	ttok *toks = NULL;
	size_t ntoks = 0;
	if (tmpl_lex(src ? src : "", src ? len : 0, &t->arena, &toks, &ntoks) < 0 ||
	    tmpl_parse_tokens(t, toks, ntoks) < 0) {
		if (strncmp(q_errmsg(), "template line ", 14) != 0) {  /* out of memory */
			char msg[512];
			snprintf(msg, sizeof msg, "%s", q_errmsg());
			q_error("template line 1: %s", msg);
		}
		one_line_error();
		free(toks);
		q_tmpl_free(t);
		return NULL;
	}
	free(toks);
	return t;
}

void q_tmpl_free(q_tmpl *t)
{
	if (!t)
		return;
	ta_free(&t->arena);
	free(t);
}

int q_tmpl_render(const q_tmpl *t, const cJSON *vars, q_buf *out)
{
	return q_tmpl_render_limits(t, vars, out, NULL);
}

/* Renders t with vars appended to out under the given limits. */
int q_tmpl_render_limits(const q_tmpl *t, const cJSON *vars, q_buf *out, const q_tmpl_limits *lim)
{
	trender r;
	memset(&r, 0, sizeof r);
	if (lim)
		r.lim = *lim;
	if (!r.lim.max_output)
		r.lim.max_output = DEF_OUTPUT;
	if (!r.lim.max_memory)
		r.lim.max_memory = DEF_MEMORY;
	if (!r.lim.max_steps)
		r.lim.max_steps = DEF_STEPS;
	if (r.lim.max_calls <= 0)
		r.lim.max_calls = DEF_CALLS;
	r.a.limit = r.lim.max_memory;
	r.t = t;
	size_t base = out->len;
	q_buf b = Q_BUF_INIT;
	r.out = &b;
	int rc = 0;
	if (vars && !cJSON_IsObject(vars)) {
		rc = q_error("template variables: not a JSON object");
	} else {
		tv v = {.t = V_DICT};
		if (vars) {
			rc = tv_from_cjson(&r, vars, &v);
		} else if (!(v.u.d = td_new(&r))) {
			rc = -1;
		}
		if (rc < 0) {
			char msg[512];
			snprintf(msg, sizeof msg, "%s", q_errmsg());
			q_error("template variables: %s", msg);
		} else {
			r.vars = v.u.d;
			rc = tmpl_run(&r);
		}
	}
	if (rc == 0 && q_buf_add(out, b.p ? b.p : "", b.len) < 0)
		rc = -1;
	if (rc < 0) {
		one_line_error();
		if (out->p) {
			out->len = base;
			out->p[base] = 0;
		}
	}
	q_buf_free(&b);
	ta_free(&r.a);
	return rc;
}

/* ---- JSON with number literals ---------------------------------------- */

typedef struct numspan {
	const char *p;
	size_t n;
} numspan;

/* Collects the number literals of valid JSON text in document order. */
static int scan_numbers(const char *s, size_t n, numspan **out, size_t *count)
{
	numspan *v = NULL;
	size_t k = 0, cap = 0;
	for (size_t i = 0; i < n;) {
		char c = s[i];
		if (c == '"') {
			i++;
			while (i < n && s[i] != '"')
				i += s[i] == '\\' ? 2 : 1;
			i++;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t j = i;
			while (j < n && strchr("0123456789+-.eE", s[j]) && s[j])
				j++;
			if (k == cap) {
				cap = cap ? cap * 2 : 16;
				numspan *nv = realloc(v, cap * sizeof *nv);
				if (!nv) {
					free(v);
					return q_error("out of memory");
				}
				v = nv;
			}
			v[k].p = s + i;
			v[k++].n = j - i;
			i = j;
		} else {
			i++;
		}
	}
	*out = v;
	*count = k;
	return 0;
}

/* Gives each number node of j (document order) its literal text. */
static int annotate(cJSON *j, const numspan *v, size_t count, size_t *k)
{
	for (; j; j = j->next) {
		if (cJSON_IsNumber(j)) {
			if (*k >= count)
				return q_error("JSON number literals do not match");
			char *lit = malloc(v[*k].n + 1);
			if (!lit)
				return q_error("out of memory");
			memcpy(lit, v[*k].p, v[*k].n);
			lit[v[*k].n] = 0;
			free(j->valuestring);
			j->valuestring = lit;
			(*k)++;
		}
		if (j->child && annotate(j->child, v, count, k) < 0)
			return -1;
	}
	return 0;
}

/* JSON text to cJSON with number literals kept (see tmpl.h). */
cJSON *q_tmpl_json_parse(const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!j) {
		size_t at = end && end >= text ? (size_t)(end - text) : 0;
		q_error("invalid JSON near byte %zu", at);
		return NULL;
	}
	size_t used = (size_t)(end - text);
	for (size_t i = used; i < len; i++) {
		char c = text[i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && !(c == 0 && i + 1 == len)) {
			cJSON_Delete(j);
			q_error("invalid JSON: extra data at byte %zu", i);
			return NULL;
		}
	}
	numspan *v = NULL;
	size_t count = 0, k = 0;
	int rc = scan_numbers(text, used, &v, &count);
	if (rc == 0)
		rc = annotate(j, v, count, &k);
	if (rc == 0 && k != count)
		rc = q_error("JSON number literals do not match");
	free(v);
	if (rc < 0) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}
