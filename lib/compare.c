/*
 * compare.c - pairing, blinded sheets and keys, ratings, the sign test (see
 * compare.h).  Sides: one random byte per item, its low bit set = B first.
 */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "err.h"

int q_pairs_make(const q_outputs *a, const q_outputs *b, q_pairs *out)
{
	*out = (q_pairs){0};
	out->v = malloc((a->n ? a->n : 1) * sizeof *out->v);
	if (!out->v)
		return q_error("out of memory");
	for (size_t i = 0; i < a->n; i++) {
		const q_output *x = &a->v[i], *y = q_outputs_find(b, x->id);
		if (!y)
			out->only_a++;
		else if (!x->text || !y->text)
			out->failed++;
		else
			out->v[out->n++] = (q_pair){x, y};
	}
	for (size_t i = 0; i < b->n; i++)
		out->only_b += !q_outputs_find(a, b->v[i].id);
	return 0;
}

void q_pairs_free(q_pairs *p)
{
	free(p->v);
	*p = (q_pairs){0};
}

/* Print o as one line to f; -1 + q_error on memory. */
static int put_line(FILE *f, cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (!s)
		return q_error("out of memory");
	fputs(s, f);
	fputc('\n', f);
	free(s);
	return 0;
}

int q_sheet_write(const q_pairs *p, const char *sheet, const char *key, const uint64_t *seed)
{
	if (strcmp(sheet, key) == 0)
		return q_error("%s: the sheet and the key must be different files", sheet);
	if (sodium_init() < 0)
		return q_error("cannot initialize libsodium");
	unsigned char *side = malloc(p->n ? p->n : 1);
	if (!side)
		return q_error("out of memory");
	if (seed) {
		unsigned char s[randombytes_SEEDBYTES] = {0};
		for (int i = 0; i < 8; i++)
			s[i] = (unsigned char)(*seed >> (8 * i));
		randombytes_buf_deterministic(side, p->n, s);
	} else {
		randombytes_buf(side, p->n);
	}
	FILE *fs = fopen(sheet, "w"), *fk = fs ? fopen(key, "w") : NULL;
	int rc = 0;
	if (!fs || !fk) {
		rc = q_error("%s:", fs ? key : sheet);
		goto out;
	}
	for (size_t i = 0; i < p->n && rc == 0; i++) {
		int bfirst = side[i] & 1;
		const q_output *first = bfirst ? p->v[i].b : p->v[i].a, *second = bfirst ? p->v[i].a : p->v[i].b;
		cJSON *s = cJSON_CreateObject(), *k = cJSON_CreateObject();
		if (s && k) {
			cJSON_AddNumberToObject(s, "item", (double)(i + 1));
			cJSON_AddStringToObject(s, "first", first->text);
			cJSON_AddStringToObject(s, "second", second->text);
			cJSON_AddStringToObject(s, "rating", "");
			cJSON_AddNumberToObject(k, "item", (double)(i + 1));
			cJSON_AddStringToObject(k, "custom_id", p->v[i].a->id);
			cJSON_AddStringToObject(k, "first", bfirst ? "B" : "A");
		}
		rc = put_line(fs, s) | put_line(fk, k);
	}
	if (rc == 0 && (ferror(fs) || ferror(fk)))
		rc = q_error("%s:", ferror(fs) ? sheet : key);
out:
	if (fk && fclose(fk) != 0 && rc == 0)
		rc = q_error("%s:", key);
	if (fs && fclose(fs) != 0 && rc == 0)
		rc = q_error("%s:", sheet);
	free(side);
	return rc;
}

/* Item number K of line o (an integer in [1, max]), or 0 + q_error. */
static size_t item_of(const cJSON *o, const char *name, long lineno, size_t max)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "item");
	if (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble != floor(it->valuedouble) ||
	    it->valuedouble > (double)max) {
		q_error("%s:%ld: no item number%s", name, lineno, max < (size_t)-1 ? " in the key" : " (1, 2, ...)");
		return 0;
	}
	return (size_t)it->valuedouble;
}

struct key {
	const char *name;
	unsigned char *bfirst; /* per item: 1 = B shown first, 2 + that once seen */
	long *line;            /* line each item was seen on */
	size_t n, cap;
};

static int grow(struct key *k, size_t need)
{
	if (need <= k->cap)
		return 0;
	size_t cap = k->cap ? k->cap : 64;
	while (cap < need)
		cap *= 2;
	unsigned char *b = realloc(k->bfirst, cap);
	if (b)
		k->bfirst = b;
	long *l = b ? realloc(k->line, cap * sizeof *l) : NULL;
	if (!l)
		return q_error("out of memory");
	k->line = l;
	memset(k->bfirst + k->cap, 0, cap - k->cap);
	memset(k->line + k->cap, 0, (cap - k->cap) * sizeof *l);
	k->cap = cap;
	return 0;
}

static int key_line(void *ud, char *line, size_t len, long lineno)
{
	struct key *k = ud;
	cJSON *o = cJSON_ParseWithLengthOpts(line, len + 1, NULL, 1);
	int rc = -1;
	if (!cJSON_IsObject(o)) {
		q_error("%s:%ld: not a JSON object", k->name, lineno);
		goto out;
	}
	size_t item = item_of(o, k->name, lineno, (size_t)-1);
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "first");
	if (!item)
		goto out;
	if (!cJSON_IsString(f) || (strcmp(f->valuestring, "A") != 0 && strcmp(f->valuestring, "B") != 0)) {
		q_error("%s:%ld: \"first\" must be \"A\" or \"B\"", k->name, lineno);
		goto out;
	}
	if (grow(k, item) < 0)
		goto out;
	if (k->line[item - 1]) {
		q_error("%s:%ld: item %zu twice (first on line %ld)", k->name, lineno, item, k->line[item - 1]);
		goto out;
	}
	k->line[item - 1] = lineno;
	k->bfirst[item - 1] = f->valuestring[0] == 'B';
	k->n = item > k->n ? item : k->n;
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

struct rate {
	const char *name;
	struct key *key;
	long *line; /* line each item was rated on */
	q_tally *t;
};

static int rating_line(void *ud, char *line, size_t len, long lineno)
{
	struct rate *r = ud;
	cJSON *o = cJSON_ParseWithLengthOpts(line, len + 1, NULL, 1);
	int rc = -1;
	if (!cJSON_IsObject(o)) {
		q_error("%s:%ld: not a JSON object", r->name, lineno);
		goto out;
	}
	size_t item = item_of(o, r->name, lineno, r->key->n);
	if (!item)
		goto out;
	if (r->line[item - 1]) {
		q_error("%s:%ld: item %zu rated twice (first on line %ld)", r->name, lineno, item, r->line[item - 1]);
		goto out;
	}
	r->line[item - 1] = lineno;
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "rating");
	const char *v = cJSON_IsString(g) ? g->valuestring : "";
	int bfirst = r->key->bfirst[item - 1];
	if (strcasecmp(v, "tie") == 0) {
		r->t->tie++;
	} else if (strcasecmp(v, "first") == 0) {
		r->t->first++;
		*(bfirst ? &r->t->b : &r->t->a) += 1;
	} else if (strcasecmp(v, "second") == 0) {
		r->t->second++;
		*(bfirst ? &r->t->a : &r->t->b) += 1;
	} else {
		q_error("%s:%ld: item %zu: rating %s%.40s%s (want \"first\", \"second\" or \"tie\")", r->name, lineno, item,
			*v ? "'" : "", *v ? v : "is empty", *v ? "'" : "");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int q_ratings_read(const char *ratings, const char *key, q_tally *t)
{
	struct key k = {key, NULL, NULL, 0, 0};
	*t = (q_tally){0};
	int rc = q_jsonl_each(key, key_line, &k);
	for (size_t i = 0; rc == 0 && i < k.n; i++)
		if (!k.line[i])
			rc = q_error("%s: item %zu is missing (the key has items up to %zu)", key, i + 1, k.n);
	if (rc == 0 && k.n == 0)
		rc = q_error("%s: the key has no items", key);
	struct rate r = {ratings, &k, rc == 0 ? calloc(k.n, sizeof *r.line) : NULL, t};
	if (rc == 0 && !r.line)
		rc = q_error("out of memory");
	if (rc == 0)
		rc = q_jsonl_each(ratings, rating_line, &r);
	for (size_t i = 0; rc == 0 && i < k.n; i++)
		if (!r.line[i])
			rc = q_error("%s: item %zu has no rating", ratings, i + 1);
	free(r.line);
	free(k.bfirst);
	free(k.line);
	return rc;
}

double q_sign_test(size_t a, size_t b)
{
	size_t n = a + b, k = a < b ? a : b;
	if (n == 0)
		return 1;
	double tail = 0, lnn = lgamma((double)n + 1) - (double)n * log(2.0);
	for (size_t i = 0; i <= k; i++)
		tail += exp(lnn - lgamma((double)i + 1) - lgamma((double)(n - i) + 1));
	return 2 * tail < 1 ? 2 * tail : 1;
}
