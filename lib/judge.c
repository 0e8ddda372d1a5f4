/*
 * judge.c - the LLM judge of qeval compare (see judge.h).
 */
#include "judge.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "buf.h"
#include "client.h"
#include "err.h"
#include "outputs.h"

static const char RULES[] =
	"You compare two answers to the same request and decide which one is better: more correct, more "
	"helpful, clearer. Reply with exactly one word: 1 if Answer 1 is better, 2 if Answer 2 is better, tie if "
	"they are equally good.";

/* The judge's verdict on (first, second): 1, 2, 0 (tie), -1 unusable,
 * -2 the request failed (*connect: nothing answered). */
static int ask(const q_judge_opts *o, CURL *h, const char *question, const char *first, const char *second,
	       int *connect)
{
	q_buf user = Q_BUF_INIT, url = Q_BUF_INIT, resp = Q_BUF_INIT;
	if (question)
		q_buf_printf(&user, "Request:\n%s\n\n", question);
	q_buf_printf(&user, "Answer 1:\n%s\n\nAnswer 2:\n%s\n\nWhich answer is better? Reply 1, 2 or tie.", first,
		     second);
	cJSON *b = cJSON_CreateObject(), *ms = cJSON_AddArrayToObject(b, "messages");
	cJSON *sys = cJSON_CreateObject(), *u = cJSON_CreateObject();
	cJSON_AddStringToObject(sys, "role", "system");
	cJSON_AddStringToObject(sys, "content", RULES);
	cJSON_AddStringToObject(u, "role", "user");
	cJSON_AddStringToObject(u, "content", user.p ? user.p : "");
	cJSON_AddItemToArray(ms, sys);
	cJSON_AddItemToArray(ms, u);
	cJSON_AddStringToObject(b, "model", o->model ? o->model : "default");
	cJSON_AddNumberToObject(b, "temperature", 0);
	cJSON_AddNumberToObject(b, "max_tokens", 8);
	char *body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	q_client_url(&url, o->url, "/v1/chat/completions");
	struct curl_slist *hdr = q_client_headers(o->api_key);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url.p);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, q_client_to_buf);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)((o->timeout_s > 0 ? o->timeout_s : 120) * 1000));
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	CURLcode cc = curl_easy_perform(h);
	long st = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	int v = -2;
	*connect = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST;
	if (cc == CURLE_OK && st == 200) {
		cJSON *j = cJSON_ParseWithLength(resp.p ? resp.p : "", resp.len);
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0),
							 "message"),
			"content");
		v = -1;
		if (cJSON_IsString(c)) { /* the first word that is a verdict */
			for (const char *s = c->valuestring; *s; s++) {
				if (isalnum((unsigned char)*s) && (s == c->valuestring || !isalnum((unsigned char)s[-1]))) {
					size_t n = 0;
					while (isalnum((unsigned char)s[n]))
						n++;
					if (n == 1 && (*s == '1' || *s == '2')) {
						v = *s - '0';
						break;
					}
					if (n == 3 && !strncasecmp(s, "tie", 3)) {
						v = 0;
						break;
					}
				}
			}
		}
		cJSON_Delete(j);
	}
	curl_slist_free_all(hdr);
	free(body);
	q_buf_free(&user);
	q_buf_free(&url);
	q_buf_free(&resp);
	return v;
}

int q_judge_run(const q_judge_opts *o, const q_pairs *p, const char *(*question)(void *ud, const char *id),
		void *ud, q_judge_tally *out)
{
	memset(out, 0, sizeof *out);
	if (!o->url || strncmp(o->url, "http", 4) != 0)
		return q_error("--judge %s: want an http:// or https:// URL", o->url ? o->url : "(none)");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return q_error("cannot initialize libcurl");
	CURL *h = curl_easy_init();
	if (!h)
		return q_error("out of memory");
	for (size_t i = 0; i < p->n; i++) {
		const q_pair *pr = &p->v[i];
		const char *q = question ? question(ud, pr->a->id) : NULL;
		int conn = 0;
		int v1 = ask(o, h, q, pr->a->text, pr->b->text, &conn); /* A shown first */
		if (i == 0 && conn) {
			curl_easy_cleanup(h);
			return q_error("--judge %s: nothing answers there", o->url);
		}
		int v2 = ask(o, h, q, pr->b->text, pr->a->text, &conn); /* B shown first */
		int verdict[2] = {v1, v2};
		for (int k = 0; k < 2; k++) {
			out->failed += verdict[k] == -2;
			out->unusable += verdict[k] == -1;
			out->t.first += verdict[k] == 1;
			out->t.second += verdict[k] == 2;
		}
		/* A wins: first in order 1 and second in order 2 */
		if (v1 == 1 && v2 == 2)
			out->t.a++;
		else if (v1 == 2 && v2 == 1)
			out->t.b++;
		else
			out->t.tie++;
	}
	curl_easy_cleanup(h);
	return 0;
}

struct qload {
	q_questions *q;
	const char *path;
};

/* One batch-input line: keep its custom_id and question. */
static int add_question(void *ud, char *l, size_t len, long line)
{
	struct qload *ql = ud;
	q_questions *q = ql->q;
	cJSON *o = cJSON_ParseWithLength(l, len);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "custom_id");
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(o, "body");
	if (!body)
		body = o;
	if (!cJSON_IsObject(o) || !cJSON_IsString(id)) {
		cJSON_Delete(o);
		return q_error("%s:%ld: want a JSON object with a string \"custom_id\"", ql->path, line);
	}
	const char *text = NULL;
	const cJSON *m, *pr = cJSON_GetObjectItemCaseSensitive(body, "prompt");
	if (cJSON_IsString(pr))
		text = pr->valuestring;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(body, "messages"))
	{
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (cJSON_IsString(r) && !strcmp(r->valuestring, "user") && cJSON_IsString(c))
			text = c->valuestring;
	}
	int rc = 0;
	if (text) {
		char **ni = realloc(q->id, (q->n + 1) * sizeof *ni);
		if (ni)
			q->id = ni;
		char **nt = realloc(q->text, (q->n + 1) * sizeof *nt);
		if (nt)
			q->text = nt;
		if (!ni || !nt || !(q->id[q->n] = strdup(id->valuestring)) || !(q->text[q->n] = strdup(text)))
			rc = q_error("out of memory");
		else
			q->n++;
	}
	cJSON_Delete(o);
	return rc;
}

int q_questions_load(const char *path, q_questions *q)
{
	memset(q, 0, sizeof *q);
	struct qload ql = {q, path};
	if (q_jsonl_each(path, add_question, &ql) < 0) {
		q_questions_free(q);
		return -1;
	}
	return 0;
}

void q_questions_free(q_questions *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->id[i]);
		free(q->text[i]);
	}
	free(q->id);
	free(q->text);
	memset(q, 0, sizeof *q);
}

const char *q_questions_find(void *ud, const char *id)
{
	const q_questions *q = ud;
	for (size_t i = 0; i < q->n; i++)
		if (!strcmp(q->id[i], id))
			return q->text[i];
	return NULL;
}
