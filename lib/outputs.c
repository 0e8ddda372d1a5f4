/*
 * outputs.c - answers read from OpenAI batch-output or bare-body JSONL (see
 * outputs.h).  Every line is parsed and validated before it is stored; the
 * file's name and the line number go into every error.
 */
#include "outputs.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"

int q_jsonl_each(const char *path, int (*fn)(void *ud, char *line, size_t len, long lineno), void *ud)
{
	int std = strcmp(path, "-") == 0;
	FILE *f = std ? stdin : fopen(path, "r");
	if (!f)
		return q_error("%s:", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int rc = 0;
	errno = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		size_t len = (size_t)n;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		if (strspn(line, " \t") == len)
			continue;
		if (fn(ud, line, len, lineno) < 0) {
			rc = -1;
			break;
		}
		errno = 0;
	}
	if (rc == 0 && ferror(f))
		rc = q_error("%s:", std ? "stdin" : path);
	free(line);
	if (!std)
		fclose(f);
	return rc;
}

static const void *rec_at(const void *recs, size_t size, size_t i)
{
	return (const char *)recs + i * size;
}

static const char *rec_id(const void *recs, size_t size, size_t off, size_t i)
{
	const char *id;
	memcpy(&id, (const char *)rec_at(recs, size, i) + off, sizeof id);
	return id;
}

static struct {
	const void *recs;
	size_t size, off;
} sort_ctx; /* qsort has no user pointer in C11; callers are single-threaded */

static int by_id(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(rec_id(sort_ctx.recs, sort_ctx.size, sort_ctx.off, i),
		       rec_id(sort_ctx.recs, sort_ctx.size, sort_ctx.off, j));
	return c ? c : (i > j) - (i < j);
}

int q_ids_index(const char *name, const void *recs, size_t n, size_t size, size_t id_off, size_t line_off,
		size_t **idx)
{
	size_t *x = malloc((n ? n : 1) * sizeof *x);
	if (!x)
		return q_error("out of memory");
	for (size_t i = 0; i < n; i++)
		x[i] = i;
	sort_ctx.recs = recs, sort_ctx.size = size, sort_ctx.off = id_off;
	qsort(x, n, sizeof *x, by_id);
	for (size_t i = 1; i < n; i++) {
		const char *a = rec_id(recs, size, id_off, x[i - 1]);
		if (strcmp(a, rec_id(recs, size, id_off, x[i])) == 0) {
			long l1, l2;
			memcpy(&l1, (const char *)rec_at(recs, size, x[i - 1]) + line_off, sizeof l1);
			memcpy(&l2, (const char *)rec_at(recs, size, x[i]) + line_off, sizeof l2);
			q_error("%s:%ld: duplicate custom_id '%s' (first on line %ld)", name, l2, a, l1);
			free(x);
			return -1;
		}
	}
	*idx = x;
	return 0;
}

long q_ids_lookup(const void *recs, size_t size, size_t id_off, const size_t *idx, size_t n, const char *id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(rec_id(recs, size, id_off, idx[mid]), id);
		if (c == 0)
			return (long)idx[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The answer text of a response body, or NULL (why in *why). */
static const char *body_text(const cJSON *body, const char **why)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(body, "choices");
	if (cJSON_IsArray(choices)) {
		const cJSON *c0 = cJSON_GetArrayItem(choices, 0);
		if (!cJSON_IsObject(c0)) {
			*why = "no choices in the response body";
			return NULL;
		}
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c0, "message");
		const cJSON *t = msg ? cJSON_GetObjectItemCaseSensitive(msg, "content")
				     : cJSON_GetObjectItemCaseSensitive(c0, "text");
		if (cJSON_IsString(t))
			return t->valuestring;
		*why = msg ? "the first choice's message has no text content" : "the first choice has no text";
		return NULL;
	}
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(body, "message"); /* Ollama /api/chat */
	const cJSON *t = cJSON_IsObject(msg) ? cJSON_GetObjectItemCaseSensitive(msg, "content")
					     : cJSON_GetObjectItemCaseSensitive(body, "response"); /* /api/generate */
	if (cJSON_IsString(t))
		return t->valuestring;
	*why = "no choices in the response body";
	return NULL;
}

/* The error message of an OpenAI error object (or a string), or fallback. */
static const char *error_text(const cJSON *e, const char *fallback)
{
	if (cJSON_IsString(e))
		return e->valuestring;
	const cJSON *inner = cJSON_GetObjectItemCaseSensitive(e, "error");
	if (cJSON_IsObject(inner))
		e = inner;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
	return cJSON_IsString(m) ? m->valuestring : fallback;
}

struct load {
	q_outputs *o;
	const char *name;
};

static int add_line(void *ud, char *line, size_t len, long lineno)
{
	q_outputs *o = ((struct load *)ud)->o;
	const char *name = ((struct load *)ud)->name;
	cJSON *j = cJSON_ParseWithLengthOpts(line, len + 1, NULL, 1);
	int rc = -1;
	if (!j || !cJSON_IsObject(j)) {
		q_error("%s:%ld: not a JSON object", name, lineno);
		goto out;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "custom_id");
	if (!cJSON_IsString(id) || !*id->valuestring) {
		q_error("%s:%ld: no custom_id (a non-empty string)", name, lineno);
		goto out;
	}
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(j, "response");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	const char *text = NULL, *why = NULL;
	char whybuf[512];
	if (resp && !cJSON_IsNull(resp)) {
		if (!cJSON_IsObject(resp)) {
			q_error("%s:%ld: \"response\" is not an object", name, lineno);
			goto out;
		}
		const cJSON *sc = cJSON_GetObjectItemCaseSensitive(resp, "status_code");
		const cJSON *body = cJSON_GetObjectItemCaseSensitive(resp, "body");
		if (!cJSON_IsNumber(sc)) {
			q_error("%s:%ld: response has no status_code", name, lineno);
			goto out;
		}
		if (sc->valuedouble != 200) {
			snprintf(whybuf, sizeof whybuf, "status %g: %s", sc->valuedouble, error_text(body, "failed"));
			why = whybuf;
		} else if (!cJSON_IsObject(body)) {
			q_error("%s:%ld: response has no body object", name, lineno);
			goto out;
		} else {
			text = body_text(body, &why);
		}
	} else if (err && !cJSON_IsNull(err)) {
		snprintf(whybuf, sizeof whybuf, "error: %s", error_text(err, "failed"));
		why = whybuf;
	} else if (cJSON_GetObjectItemCaseSensitive(j, "choices") || cJSON_GetObjectItemCaseSensitive(j, "message") ||
		   cJSON_GetObjectItemCaseSensitive(j, "response")) {
		text = body_text(j, &why);
	} else {
		q_error("%s:%ld: neither a batch-output line (\"response\") nor a response body (\"choices\")", name, lineno);
		goto out;
	}
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 64;
		q_output *v = realloc(o->v, cap * sizeof *v);
		if (!v) {
			q_error("out of memory");
			goto out;
		}
		o->v = v, o->cap = cap;
	}
	q_output *it = &o->v[o->n];
	it->id = strdup(id->valuestring);
	it->text = text ? strdup(text) : NULL;
	it->error = text ? NULL : strdup(why);
	it->line = lineno;
	if (!it->id || !(it->text || it->error)) {
		free(it->id), free(it->text), free(it->error);
		q_error("out of memory");
		goto out;
	}
	o->n++;
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

int q_outputs_load(const char *path, q_outputs *out)
{
	*out = (q_outputs)Q_OUTPUTS_INIT;
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	struct load ld = {out, name};
	if (q_jsonl_each(path, add_line, &ld) < 0 ||
	    q_ids_index(name, out->v, out->n, sizeof *out->v, offsetof(q_output, id), offsetof(q_output, line),
			&out->by_id) < 0) {
		q_outputs_free(out);
		return -1;
	}
	return 0;
}

const q_output *q_outputs_find(const q_outputs *o, const char *id)
{
	long i = q_ids_lookup(o->v, sizeof *o->v, offsetof(q_output, id), o->by_id, o->n, id);
	return i < 0 ? NULL : &o->v[i];
}

void q_outputs_free(q_outputs *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].id), free(o->v[i].text), free(o->v[i].error);
	free(o->v);
	free(o->by_id);
	*o = (q_outputs)Q_OUTPUTS_INIT;
}
