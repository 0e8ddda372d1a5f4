/*
 * evalbench.c - the load generator behind `qeval bench` (see evalbench.h).
 *
 * Invariants:
 * - One thread: requests are easy handles on one curl multi handle; a
 *   request starts when its arrival time has come and fewer than
 *   max_concurrency are in flight; curl_multi_poll sleeps until the next
 *   arrival or socket event.
 * - A request's stream is split into lines as bytes arrive (a line may
 *   span callbacks); each line is parsed on its own: SSE "data: {...}" /
 *   "data: [DONE]" for OpenAI, one JSON object per line for Ollama.  A
 *   chunk that carries text stamps the time (TTFT, ITL).
 * - Every request ends in exactly one of: completed (HTTP 200, a well-formed
 *   stream that ended properly) or one failure kind.
 */
#include "evalbench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "client.h"
#include "clock.h"
#include "err.h"
#include "outputs.h"

/* ------------------------------------------------------------- random */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) /* (0, 1) */
{
	return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(uint64_t *s)
{
	return sqrt(-2 * log(rng_unit(s))) * cos(2 * M_PI * rng_unit(s));
}

/* Gamma(shape k, scale 1) by Marsaglia and Tsang (k < 1 boosted). */
static double rng_gamma(uint64_t *s, double k)
{
	if (k < 1)
		return rng_gamma(s, k + 1) * pow(rng_unit(s), 1 / k);
	double d = k - 1.0 / 3, c = 1 / sqrt(9 * d);
	for (;;) {
		double x = rng_normal(s), v = 1 + c * x;
		if (v <= 0)
			continue;
		v = v * v * v;
		double u = rng_unit(s);
		if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
			return d * v;
	}
}

/* ------------------------------------------------------------ prompts */

static const char *const WORDS[] = {
	"time", "year", "people", "way", "day", "man", "thing", "woman", "life", "child", "world", "school",
	"state", "family", "student", "group", "country", "problem", "hand", "part", "place", "case", "week",
	"company", "system", "program", "question", "work", "government", "number", "night", "point", "home",
	"water", "room", "mother", "area", "money", "story", "fact", "month", "lot", "right", "study", "book",
	"eye", "job", "word", "business", "issue", "side", "kind", "head", "house", "service", "friend",
	"father", "power", "hour", "game", "line", "end", "member", "law", "car", "city", "community", "name",
	"president", "team", "minute", "idea", "kid", "body", "information", "back", "parent", "face", "others",
	"level", "office", "door", "health", "person", "art", "war", "history", "party", "result", "change",
	"morning", "reason", "research", "girl", "guy", "moment", "air", "teacher", "force", "education",
};
#define N_WORDS (sizeof WORDS / sizeof WORDS[0])

/* A prompt: text (chat: the user message; completions / Ollama: the prompt). */
typedef struct prompts {
	char **text;
	int n;
} prompts;

static void prompts_free(prompts *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->text[i]);
	free(p->text);
	p->text = NULL;
	p->n = 0;
}

static int prompts_add(prompts *p, const char *s)
{
	char **t = realloc(p->text, (size_t)(p->n + 1) * sizeof *t);
	if (!t)
		return q_error("out of memory");
	p->text = t;
	if (!(p->text[p->n] = strdup(s)))
		return q_error("out of memory");
	p->n++;
	return 0;
}

static int prompts_random(prompts *p, int n, int len, uint64_t *seed)
{
	q_buf b = Q_BUF_INIT;
	for (int i = 0; i < n; i++) {
		q_buf_reset(&b);
		for (int w = 0; w < len; w++)
			q_buf_printf(&b, w ? " %s" : "%s", WORDS[rng_next(seed) % N_WORDS]);
		if (prompts_add(p, b.p ? b.p : "") < 0) {
			q_buf_free(&b);
			return -1;
		}
	}
	q_buf_free(&b);
	return 0;
}

/* The first user text of a chat-shaped JSON value: {"messages": [...]} or
 * ShareGPT's {"conversations": [{"from": "human", "value"}]}. */
static const char *first_user(const cJSON *o)
{
	const cJSON *m, *msgs = cJSON_GetObjectItemCaseSensitive(o, "messages");
	cJSON_ArrayForEach(m, msgs)
	{
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (cJSON_IsString(r) && !strcmp(r->valuestring, "user") && cJSON_IsString(c))
			return c->valuestring;
	}
	const cJSON *conv = cJSON_GetObjectItemCaseSensitive(o, "conversations");
	cJSON_ArrayForEach(m, conv)
	{
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(m, "from");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "value");
		if (cJSON_IsString(f) && !strcmp(f->valuestring, "human") && cJSON_IsString(v))
			return v->valuestring;
	}
	return NULL;
}

struct pload {
	prompts *p;
	const char *path;
};

/* One JSONL line: {"prompt"} or a chat-shaped object. */
static int add_prompt(void *ud, char *l, size_t len, long line)
{
	struct pload *pl = ud;
	cJSON *o = cJSON_ParseWithLength(l, len);
	const cJSON *pr = cJSON_GetObjectItemCaseSensitive(o, "prompt");
	const char *u = cJSON_IsString(pr) ? pr->valuestring : o ? first_user(o) : NULL;
	int rc = u ? prompts_add(pl->p, u)
		   : q_error("%s:%ld: want a JSON object with \"prompt\" or \"messages\"", pl->path, line);
	cJSON_Delete(o);
	return rc;
}

static int prompts_file(prompts *p, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return q_error("%s:", path);
	int c;
	while ((c = getc(f)) == ' ' || c == '\n' || c == '\t' || c == '\r')
		;
	fclose(f);
	int rc = 0;
	if (c == '[') { /* ShareGPT: one JSON array */
		q_buf b = Q_BUF_INIT;
		if (q_buf_read_file(&b, path) < 0)
			return -1;
		cJSON *a = cJSON_ParseWithLength(b.p, b.len), *o;
		if (!cJSON_IsArray(a))
			rc = q_error("%s: not a JSON array", path);
		cJSON_ArrayForEach(o, a)
		{
			const char *u = first_user(o);
			if (u && *u && (rc = prompts_add(p, u)) < 0)
				break;
		}
		cJSON_Delete(a);
		q_buf_free(&b);
	} else { /* JSONL */
		rc = q_jsonl_each(path, add_prompt, &(struct pload){p, path});
	}
	if (rc < 0)
		prompts_free(p);
	else if (p->n == 0)
		rc = q_error("%s: no prompts", path);
	return rc;
}

/* ----------------------------------------------------------- requests */

typedef struct req {
	CURL *h;
	struct curl_slist *hdr;
	char *body;
	q_buf line;            /* the incomplete line */
	double t_send, t_first, t_last, t_end;
	double *chunks;        /* [n_chunks] times of chunks carrying text */
	int n_chunks, cap_chunks;
	int usage_tokens;      /* -1: none reported */
	int usage_prompt;      /* prompt tokens reported, -1: none */
	int done_seen, malformed, measured;
	long status;
	enum q_bench_fail fail;
	int failed;
} req;

typedef struct run {
	const q_bench_opts *o;
	enum q_bench_endpoint ep;
} run;

static int stamp(req *r)
{
	double t = q_clock();
	if (r->n_chunks == r->cap_chunks) {
		int cap = r->cap_chunks ? 2 * r->cap_chunks : 64;
		double *c = realloc(r->chunks, (size_t)cap * sizeof *c);
		if (!c)
			return -1;
		r->chunks = c;
		r->cap_chunks = cap;
	}
	r->chunks[r->n_chunks++] = t;
	if (!r->t_first)
		r->t_first = t;
	r->t_last = t;
	return 0;
}

static const char *chunk_text(const cJSON *o, enum q_bench_endpoint ep)
{
	const cJSON *t = NULL;
	if (ep == Q_BENCH_OLLAMA) {
		t = cJSON_GetObjectItemCaseSensitive(o, "response");
		if (!t)
			t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "message"), "content");
	} else {
		const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "choices"), 0);
		t = ep == Q_BENCH_CHAT ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "delta"), "content")
				       : cJSON_GetObjectItemCaseSensitive(c, "text");
	}
	return cJSON_IsString(t) ? t->valuestring : NULL;
}

/* One complete line of the stream. */
static void on_line(req *r, enum q_bench_endpoint ep, char *l, size_t n)
{
	while (n && (l[n - 1] == '\r'))
		l[--n] = 0;
	if (!n)
		return;
	const char *js = l;
	if (ep != Q_BENCH_OLLAMA) {
		if (strncmp(l, "data:", 5) != 0)
			return; /* SSE comments, event names */
		js = l + 5;
		while (*js == ' ')
			js++;
		if (!strcmp(js, "[DONE]")) {
			r->done_seen = 1;
			return;
		}
	}
	cJSON *o = cJSON_Parse(js);
	if (!cJSON_IsObject(o)) {
		r->malformed = 1;
		cJSON_Delete(o);
		return;
	}
	const char *t = chunk_text(o, ep);
	if (t && *t)
		stamp(r);
	if (ep == Q_BENCH_OLLAMA) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "done");
		const cJSON *ec = cJSON_GetObjectItemCaseSensitive(o, "eval_count");
		const cJSON *pc = cJSON_GetObjectItemCaseSensitive(o, "prompt_eval_count");
		if (cJSON_IsTrue(d)) {
			r->done_seen = 1;
			if (cJSON_IsNumber(ec))
				r->usage_tokens = ec->valueint;
			if (cJSON_IsNumber(pc))
				r->usage_prompt = pc->valueint;
		}
	} else {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "usage");
		const cJSON *ct = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens");
		const cJSON *pt = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
		if (cJSON_IsNumber(ct))
			r->usage_tokens = ct->valueint;
		if (cJSON_IsNumber(pt))
			r->usage_prompt = pt->valueint;
	}
	cJSON_Delete(o);
}

typedef struct wctx {
	req *r;
	enum q_bench_endpoint ep;
} wctx;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	wctx *w = ud;
	req *r = w->r;
	size_t n = size * nmemb;
	long st = 0;
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &st);
	if (st != 200) /* an error body: keep nothing */
		return n;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			on_line(r, w->ep, r->line.p ? r->line.p : (char[]){0}, r->line.len);
			q_buf_reset(&r->line);
		} else if (q_buf_addc(&r->line, p[i]) < 0) {
			return 0;
		}
	}
	return n;
}

static char *body_for(const q_bench_opts *o, const char *prompt)
{
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "model", o->model ? o->model : "default");
	if (o->endpoint == Q_BENCH_COMPLETIONS || o->endpoint == Q_BENCH_OLLAMA)
		cJSON_AddStringToObject(b, "prompt", prompt);
	else {
		cJSON *ms = cJSON_AddArrayToObject(b, "messages"), *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "user");
		cJSON_AddStringToObject(m, "content", prompt);
		cJSON_AddItemToArray(ms, m);
	}
	cJSON_AddBoolToObject(b, "stream", 1);
	if (o->endpoint == Q_BENCH_OLLAMA) {
		cJSON *opt = cJSON_AddObjectToObject(b, "options");
		if (o->output_len > 0)
			cJSON_AddNumberToObject(opt, "num_predict", o->output_len);
	} else {
		cJSON_AddItemToObject(b, "stream_options", cJSON_CreateObject());
		cJSON_AddBoolToObject(cJSON_GetObjectItemCaseSensitive(b, "stream_options"), "include_usage", 1);
		if (o->output_len > 0) {
			cJSON_AddNumberToObject(b, "max_tokens", o->output_len);
			cJSON_AddBoolToObject(b, "ignore_eos", 1);
		}
	}
	char *s = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	return s;
}

static const char *path_for(enum q_bench_endpoint ep)
{
	return ep == Q_BENCH_CHAT ? "/v1/chat/completions" : ep == Q_BENCH_COMPLETIONS ? "/v1/completions" : "/api/generate";
}

static int req_start(CURLM *multi, const q_bench_opts *o, const char *prompt, req *r, wctx *w, double timeout_s)
{
	memset(r, 0, sizeof *r);
	r->usage_tokens = -1;
	r->usage_prompt = -1;
	w->r = r;
	w->ep = o->endpoint;
	q_buf url = Q_BUF_INIT;
	q_client_url(&url, o->url, path_for(o->endpoint));
	r->body = body_for(o, prompt);
	r->h = curl_easy_init();
	r->hdr = q_client_headers(o->api_key);
	if (!r->h || !r->body || !r->hdr || !url.p) {
		q_buf_free(&url);
		return q_error("out of memory");
	}
	curl_easy_setopt(r->h, CURLOPT_URL, url.p);
	curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hdr);
	curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(r->h, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(r->h, CURLOPT_PRIVATE, w);
	curl_easy_setopt(r->h, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
	curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->h, CURLOPT_TCP_NODELAY, 1L);
	q_buf_free(&url);
	r->t_send = q_clock();
	curl_multi_add_handle(multi, r->h);
	return 0;
}

/* Classify a finished transfer. */
static void req_end(req *r, CURLcode cc)
{
	r->t_end = q_clock();
	if (r->line.len) { /* a last line without its newline */
		on_line(r, Q_BENCH_OLLAMA, r->line.p, r->line.len);
		q_buf_reset(&r->line);
	}
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &r->status);
	r->failed = 1;
	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
		r->fail = Q_FAIL_CONNECT;
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		r->fail = Q_FAIL_TIMEOUT;
	else if (r->status >= 400 && r->status < 500)
		r->fail = Q_FAIL_HTTP4XX;
	else if (r->status >= 500)
		r->fail = Q_FAIL_HTTP5XX;
	else if (cc != CURLE_OK)
		r->fail = Q_FAIL_OTHER;
	else if (r->status != 200 || r->malformed || !r->done_seen || r->n_chunks == 0)
		r->fail = Q_FAIL_MALFORMED;
	else
		r->failed = 0;
}

static void req_free(CURLM *multi, req *r)
{
	if (r->h) {
		curl_multi_remove_handle(multi, r->h);
		curl_easy_cleanup(r->h);
	}
	curl_slist_free_all(r->hdr);
	free(r->body);
	q_buf_free(&r->line);
	free(r->chunks);
	r->h = NULL;
	r->hdr = NULL;
	r->body = NULL;
	r->chunks = NULL;
}

/* ------------------------------------------------------------ numbers */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double q_bench_percentile(double *v, int64_t n, double p)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	double k = (double)(n - 1) * p / 100;
	int64_t lo = (int64_t)floor(k), hi = (int64_t)ceil(k);
	return v[lo] + (v[hi] - v[lo]) * (k - (double)lo);
}

static q_bench_stat stat_of(double *v, int64_t n)
{
	q_bench_stat s = {0};
	if (n <= 0)
		return s;
	double sum = 0, sq = 0;
	for (int64_t i = 0; i < n; i++)
		sum += v[i];
	s.mean = sum / (double)n;
	for (int64_t i = 0; i < n; i++)
		sq += (v[i] - s.mean) * (v[i] - s.mean);
	s.std = sqrt(sq / (double)n);
	s.median = q_bench_percentile(v, n, 50);
	s.p90 = q_bench_percentile(v, n, 90);
	s.p99 = q_bench_percentile(v, n, 99);
	return s;
}

/* Is the server there?  GET its model list (this fails fast when nothing
 * listens); without a model given, take the first one it lists (OpenAI;
 * Ollama's take any name).  The name goes to model[0..n). */
static int probe(const q_bench_opts *o, char *model, size_t n)
{
	CURL *h = curl_easy_init();
	if (!h)
		return q_error("out of memory");
	q_buf url = Q_BUF_INIT, body = Q_BUF_INIT;
	q_client_url(&url, o->url, o->endpoint == Q_BENCH_OLLAMA ? "/api/tags" : "/v1/models");
	struct curl_slist *hdr = q_client_headers(o->api_key);
	curl_easy_setopt(h, CURLOPT_URL, url.p);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, q_client_to_buf);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	CURLcode cc = curl_easy_perform(h);
	long st = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	int rc = cc != CURLE_OK ? q_error("%s: %s", url.p, curl_easy_strerror(cc)) : 0;
	snprintf(model, n, "%s", o->model ? o->model : "default");
	if (rc == 0 && !o->model && o->endpoint != Q_BENCH_OLLAMA) {
		cJSON *j = cJSON_ParseWithLength(body.p ? body.p : "", body.len);
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "data"), 0), "id");
		if (cJSON_IsString(id))
			snprintf(model, n, "%s", id->valuestring);
		else
			rc = q_error("%s: status %ld, no model listed (give --model)", url.p, st);
		cJSON_Delete(j);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	q_buf_free(&url);
	q_buf_free(&body);
	return rc;
}

int q_bench_run(const q_bench_opts *opts, q_bench_result *res)
{
	memset(res, 0, sizeof *res);
	q_bench_opts oo = *opts;
	const q_bench_opts *o = &oo;
	char model[256];
	if (!o->url || strncmp(o->url, "http", 4) != 0)
		return q_error("--url %s: want an http:// or https:// URL", o->url ? o->url : "(none)");
	int n = o->num_prompts > 0 ? o->num_prompts : 100, warm = o->warmup > 0 ? o->warmup : 0;
	double timeout = o->timeout_s > 0 ? o->timeout_s : 600;
	uint64_t seed = o->seed;
	prompts pr = {0};
	int rc = !o->dataset || !strcmp(o->dataset, "random")
			 ? prompts_random(&pr, n, o->input_len > 0 ? o->input_len : 32, &seed)
			 : prompts_file(&pr, o->dataset);
	if (rc < 0) {
		prompts_free(&pr);
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		prompts_free(&pr);
		return q_error("cannot initialize libcurl");
	}
	if (probe(o, model, sizeof model) < 0) {
		prompts_free(&pr);
		return -1;
	}
	oo.model = model;
	/* arrival offsets (seconds from the start) */
	double *at = calloc((size_t)n, sizeof *at);
	req *rq = calloc((size_t)n + (size_t)warm, sizeof *rq);
	wctx *wc = calloc((size_t)n + (size_t)warm, sizeof *wc);
	CURLM *multi = curl_multi_init();
	if (!at || !rq || !wc || !multi) {
		free(at);
		free(rq);
		free(wc);
		if (multi)
			curl_multi_cleanup(multi);
		prompts_free(&pr);
		return q_error("out of memory");
	}
	double rate = o->request_rate > 0 && isfinite(o->request_rate) ? o->request_rate : 0;
	double shape = o->burstiness > 0 ? o->burstiness : 1, t = 0;
	for (int i = 0; i < n; i++) {
		at[i] = t;
		if (rate > 0)
			t += rng_gamma(&seed, shape) / (rate * shape);
	}
	/* warm-up: one at a time, not measured */
	for (int i = 0; i < warm; i++) {
		req *r = &rq[n + i];
		int still;
		req_start(multi, o, pr.text[i % pr.n], r, &wc[n + i], timeout);
		do {
			curl_multi_perform(multi, &still);
			if (still)
				curl_multi_poll(multi, NULL, 0, 100, NULL);
		} while (still);
		CURLMsg *m;
		int q;
		while ((m = curl_multi_info_read(multi, &q)))
			if (m->msg == CURLMSG_DONE)
				req_end(r, m->data.result);
		req_free(multi, r);
	}
	int next = 0, inflight = 0, finished = 0;
	int limit = o->max_concurrency > 0 ? o->max_concurrency : n;
	double t0 = q_clock(), last_progress = 0;
	while (finished < n) {
		double now = q_clock() - t0;
		while (next < n && inflight < limit && at[next] <= now) {
			if (req_start(multi, o, pr.text[next % pr.n], &rq[next], &wc[next], timeout) < 0)
				break;
			rq[next].measured = 1;
			next++;
			inflight++;
		}
		int still;
		curl_multi_perform(multi, &still);
		CURLMsg *m;
		int q;
		while ((m = curl_multi_info_read(multi, &q))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			wctx *w = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&w);
			req_end(w->r, m->data.result);
			curl_multi_remove_handle(multi, w->r->h);
			curl_easy_cleanup(w->r->h);
			w->r->h = NULL;
			inflight--;
			finished++;
			if (w->r->failed)
				res->failed++;
			else
				res->completed++;
		}
		if (o->progress && (q_clock() - last_progress > 0.2 || finished == n)) {
			last_progress = q_clock();
			fprintf(o->progress, "\rqeval bench: %d/%d done, %d in flight, %d failed, %.1f s ", finished, n,
				inflight, res->failed, last_progress - t0);
			fflush(o->progress);
		}
		if (finished >= n)
			break;
		int wait_ms = 100;
		if (next < n && inflight < limit) {
			double dt = at[next] - (q_clock() - t0);
			wait_ms = dt <= 0 ? 0 : dt * 1000 < 100 ? (int)(dt * 1000) + 1 : 100;
		}
		if (wait_ms > 0)
			curl_multi_poll(multi, NULL, 0, wait_ms, NULL);
	}
	double t_end = t0;
	for (int i = 0; i < n; i++)
		t_end = rq[i].t_end > t_end ? rq[i].t_end : t_end;
	if (o->progress)
		fputc('\n', o->progress);

	/* the numbers */
	res->duration = t_end - t0;
	int64_t n_itl = 0;
	for (int i = 0; i < n; i++)
		if (!rq[i].failed)
			n_itl += rq[i].n_chunks > 1 ? rq[i].n_chunks - 1 : 0;
	double *ttft = calloc((size_t)n + 1, sizeof *ttft), *tpot = calloc((size_t)n + 1, sizeof *tpot);
	double *e2el = calloc((size_t)n + 1, sizeof *e2el), *itl = calloc((size_t)n_itl + 1, sizeof *itl);
	res->t_tokens = calloc((size_t)n_itl + (size_t)n + 1, sizeof *res->t_tokens);
	if (!ttft || !tpot || !e2el || !itl || !res->t_tokens)
		rc = q_error("out of memory");
	int64_t k_itl = 0, k_tpot = 0, k = 0, good = 0;
	for (int i = 0; rc == 0 && i < n; i++) {
		req *r = &rq[i];
		res->fail[r->fail] += r->failed;
		if (r->failed)
			continue;
		int out = r->usage_tokens >= 0 ? r->usage_tokens : r->n_chunks;
		res->total_output += out;
		res->total_input += r->usage_prompt >= 0 ? r->usage_prompt : o->input_len > 0 ? o->input_len : 0;
		ttft[k] = (r->t_first - r->t_send) * 1e3;
		e2el[k] = (r->t_end - r->t_send) * 1e3;
		double tp = out > 1 ? (e2el[k] - ttft[k]) / (out - 1) : -1;
		if (tp >= 0)
			tpot[k_tpot++] = tp;
		for (int c = 1; c < r->n_chunks; c++)
			itl[k_itl++] = (r->chunks[c] - r->chunks[c - 1]) * 1e3;
		for (int c = 0; c < r->n_chunks; c++)
			res->t_tokens[res->n_t_tokens++] = r->chunks[c] - t0;
		good += (!o->slo_ttft_ms || ttft[k] <= o->slo_ttft_ms) &&
			(!o->slo_tpot_ms || (tp >= 0 ? tp : 0) <= o->slo_tpot_ms) &&
			(!o->slo_e2el_ms || e2el[k] <= o->slo_e2el_ms);
		k++;
	}
	if (rc == 0) {
		double d = res->duration > 0 ? res->duration : 1e-9;
		res->request_throughput = res->completed / d;
		res->output_throughput = (double)res->total_output / d;
		res->total_token_throughput = (double)(res->total_input + res->total_output) / d;
		res->goodput = (double)good / d;
		res->ttft = stat_of(ttft, k); /* sorts */
		res->e2el = stat_of(e2el, k);
		res->tpot = stat_of(tpot, k_tpot);
		res->itl = stat_of(itl, k_itl);
		res->ttft_ms = ttft; /* the result keeps them, sorted */
		res->e2el_ms = e2el;
		ttft = e2el = NULL;
	}
	free(ttft);
	free(tpot);
	free(e2el);
	free(itl);
	for (int i = 0; i < n + warm; i++)
		req_free(multi, &rq[i]);
	curl_multi_cleanup(multi);
	free(rq);
	free(wc);
	free(at);
	prompts_free(&pr);
	return rc;
}

void q_bench_result_free(q_bench_result *r)
{
	free(r->t_tokens);
	free(r->ttft_ms);
	free(r->e2el_ms);
	memset(r, 0, sizeof *r);
}

static void add_stat(cJSON *o, const char *name, const q_bench_stat *s)
{
	char k[64];
	snprintf(k, sizeof k, "mean_%s_ms", name);
	cJSON_AddNumberToObject(o, k, s->mean);
	snprintf(k, sizeof k, "median_%s_ms", name);
	cJSON_AddNumberToObject(o, k, s->median);
	snprintf(k, sizeof k, "std_%s_ms", name);
	cJSON_AddNumberToObject(o, k, s->std);
	snprintf(k, sizeof k, "p90_%s_ms", name);
	cJSON_AddNumberToObject(o, k, s->p90);
	snprintf(k, sizeof k, "p99_%s_ms", name);
	cJSON_AddNumberToObject(o, k, s->p99);
}

int q_bench_json(const q_bench_result *r, q_buf *out)
{
	static const char *const KIND[Q_FAIL_N] = {"connect", "http_4xx", "http_5xx", "timeout", "malformed", "other"};
	cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "completed", r->completed);
	cJSON_AddNumberToObject(o, "failed", r->failed);
	for (int i = 0; i < Q_FAIL_N; i++)
		cJSON_AddNumberToObject(f, KIND[i], r->fail[i]);
	cJSON_AddItemToObject(o, "failures", f);
	cJSON_AddNumberToObject(o, "duration", r->duration);
	cJSON_AddNumberToObject(o, "total_input_tokens", (double)r->total_input);
	cJSON_AddNumberToObject(o, "total_output_tokens", (double)r->total_output);
	cJSON_AddNumberToObject(o, "request_throughput", r->request_throughput);
	cJSON_AddNumberToObject(o, "request_throughput_per_min", r->request_throughput * 60);
	cJSON_AddNumberToObject(o, "output_throughput", r->output_throughput);
	cJSON_AddNumberToObject(o, "total_token_throughput", r->total_token_throughput);
	cJSON_AddNumberToObject(o, "request_goodput", r->goodput);
	add_stat(o, "ttft", &r->ttft);
	add_stat(o, "tpot", &r->tpot);
	add_stat(o, "itl", &r->itl);
	add_stat(o, "e2el", &r->e2el);
	char *s = cJSON_Print(o);
	cJSON_Delete(o);
	if (!s)
		return q_error("out of memory");
	int rc = q_buf_adds(out, s);
	free(s);
	return rc;
}
