/*
 * http.c - qserve's routes on libmicrohttpd (see http.h).
 *
 * Invariants:
 * - Each request has one conn (MHD's con_cls), freed in completed(): the
 *   one place that logs the request, counts it in the metrics and
 *   releases its job, if any.  MHD calls completed() once for every
 *   request whose handler ran, after the last call of its reader.
 * - A body is collected whole before a route runs; one larger than
 *   max_body is answered 413 as soon as that is known (its
 *   Content-Length, or the byte that crosses the limit).
 * - Handlers block only in thread-per-connection mode (the only mode
 *   started): waiting for a job polls the socket for a hang-up every
 *   250 ms.
 */
#include "http.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <sodium.h>

#include "config.h"
#include "clock.h"
#include "err.h"
#include "utf8.h"

struct q_http {
	struct MHD_Daemon *d;
	q_http_config c;
	q_http_app *app;
	int64_t started;
};

typedef struct conn {
	q_http *h;
	q_buf body;
	int too_big, status, fd;
	const char *endpoint;
	double t0;
	char method[8], path[96], remote[64];
	/* a job and, when streamed, what was sent of it */
	q_job *job;
	q_api_meta meta;
	size_t *sent;          /* [n] text bytes sent per choice */
	int *sent_lp;          /* [n] logprobs sent per choice */
	unsigned char *flags;  /* [n] 1: first event sent, 2: end sent */
	int end_sent, prompt_tokens, completion_tokens;
	q_buf out;
	size_t off;
} conn;

#define F_FIRST 1
#define F_END 2

/* ------------------------------------------------------------ replies */

static enum MHD_Result reply(conn *c, struct MHD_Connection *mc, int status, const char *type, const char *body,
			     size_t n, int retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	if (retry_after > 0) {
		char s[16];
		snprintf(s, sizeof s, "%d", retry_after);
		MHD_add_response_header(r, "Retry-After", s);
	}
	c->status = status;
	enum MHD_Result rc = MHD_queue_response(mc, (unsigned)status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result reply_json(conn *c, struct MHD_Connection *mc, int status, const q_buf *b)
{
	return reply(c, mc, status, "application/json", b->p ? b->p : "", b->len, 0);
}

static enum MHD_Result reply_err(conn *c, struct MHD_Connection *mc, const q_api_err *e, int retry_after)
{
	q_buf b = Q_BUF_INIT;
	q_api_format_error(e, &b);
	enum MHD_Result rc = reply(c, mc, e->status, "application/json", b.p ? b.p : "", b.len, retry_after);
	q_buf_free(&b);
	return rc;
}

__attribute__((format(printf, 7, 8))) static enum MHD_Result fail(conn *c, struct MHD_Connection *mc, int status,
								  const char *type, const char *param, const char *code,
								  const char *fmt, ...)
{
	q_api_err e = {.status = status, .type = type, .param = param, .code = code};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e.message, sizeof e.message, fmt, ap);
	va_end(ap);
	return reply_err(c, mc, &e, status == 429 || status == 503 ? 1 : 0);
}

static enum MHD_Result reply_cjson(conn *c, struct MHD_Connection *mc, int status, cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (!s)
		return fail(c, mc, 500, "server_error", NULL, NULL, "out of memory");
	enum MHD_Result rc = reply(c, mc, status, "application/json", s, strlen(s), 0);
	free(s);
	return rc;
}

/* Has the peer hung up? */
static int client_gone(int fd)
{
	if (fd < 0)
		return 0;
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static void iso_time(int64_t t, char *s, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(s, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ------------------------------------------------------- simple routes */

static enum MHD_Result r_health(conn *c, struct MHD_Connection *mc)
{
	if (!c->h->app->ready)
		return fail(c, mc, 503, "unavailable_error", NULL, NULL, "the model is loading");
	const char ok[] = "{\"status\":\"ok\"}";
	return reply(c, mc, 200, "application/json", ok, sizeof ok - 1, 0);
}

static enum MHD_Result r_metrics(conn *c, struct MHD_Connection *mc)
{
	q_metrics_gauges g = {0};
	if (c->h->app->serve)
		q_serve_gauges(c->h->app->serve, &g);
	q_buf b = Q_BUF_INIT;
	if (q_metrics_render(c->h->app->metrics, &g, &b) < 0) {
		q_buf_free(&b);
		return fail(c, mc, 500, "server_error", NULL, NULL, "out of memory");
	}
	enum MHD_Result rc = reply(c, mc, 200, "text/plain; version=0.0.4; charset=utf-8", b.p ? b.p : "", b.len, 0);
	q_buf_free(&b);
	return rc;
}

static enum MHD_Result r_root(conn *c, struct MHD_Connection *mc)
{
	const char s[] = "q is running\n";
	return reply(c, mc, 200, "text/plain; charset=utf-8", s, sizeof s - 1, 0);
}

static enum MHD_Result r_version(conn *c, struct MHD_Connection *mc)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "version", Q_VERSION);
	return reply_cjson(c, mc, 200, o);
}

static enum MHD_Result r_models(conn *c, struct MHD_Connection *mc)
{
	q_http_app *a = c->h->app;
	cJSON *o = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(o, "data"), *m = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "object", "list");
	cJSON_AddStringToObject(m, "id", a->api.model_name);
	cJSON_AddStringToObject(m, "object", "model");
	cJSON_AddNumberToObject(m, "created", (double)c->h->started);
	cJSON_AddStringToObject(m, "owned_by", "q");
	cJSON_AddNumberToObject(m, "max_model_len", a->api.n_ctx);
	cJSON_AddItemToArray(data, m);
	return reply_cjson(c, mc, 200, o);
}

/* Ollama's "details" of the served model. */
static cJSON *details(const q_http_app *a)
{
	cJSON *d = cJSON_CreateObject(), *fam = cJSON_CreateArray();
	const char *arch = q_model_arch_name(a->model);
	cJSON_AddStringToObject(d, "parent_model", "");
	cJSON_AddStringToObject(d, "format", "gguf");
	cJSON_AddStringToObject(d, "family", arch);
	cJSON_AddItemToArray(fam, cJSON_CreateString(arch));
	cJSON_AddItemToObject(d, "families", fam);
	cJSON_AddStringToObject(d, "parameter_size", "");
	cJSON_AddStringToObject(d, "quantization_level", "");
	return d;
}

static enum MHD_Result r_tags(conn *c, struct MHD_Connection *mc)
{
	q_http_app *a = c->h->app;
	char t[32];
	iso_time(c->h->started, t, sizeof t);
	cJSON *o = cJSON_CreateObject(), *ms = cJSON_AddArrayToObject(o, "models"), *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "name", a->api.model_name);
	cJSON_AddStringToObject(m, "model", a->api.model_name);
	cJSON_AddStringToObject(m, "modified_at", t);
	cJSON_AddNumberToObject(m, "size", (double)a->model_bytes);
	cJSON_AddStringToObject(m, "digest", "");
	cJSON_AddItemToObject(m, "details", details(a));
	cJSON_AddItemToArray(ms, m);
	return reply_cjson(c, mc, 200, o);
}

/* The request body as a JSON object, or a 400 already queued (*rc). */
static cJSON *body_object(conn *c, struct MHD_Connection *mc, enum MHD_Result *rc)
{
	cJSON *o = cJSON_ParseWithLength(c->body.p ? c->body.p : "", c->body.len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		*rc = fail(c, mc, 400, "invalid_request_error", NULL, NULL, "the request body is not a JSON object");
		return NULL;
	}
	return o;
}

static enum MHD_Result r_show(conn *c, struct MHD_Connection *mc)
{
	q_http_app *a = c->h->app;
	enum MHD_Result rc;
	cJSON *req = body_object(c, mc, &rc);
	if (!req)
		return rc;
	cJSON_Delete(req);
	const q_hparams *hp = q_model_hparams(a->model);
	const char *arch = q_model_arch_name(a->model);
	const char *tmpl = a->api.chat_template ? a->api.chat_template : q_tok_chat_template(a->api.tok);
	char key[96], t[32];
	iso_time(c->h->started, t, sizeof t);
	cJSON *o = cJSON_CreateObject(), *info = cJSON_CreateObject(), *caps = cJSON_CreateArray();
	cJSON_AddStringToObject(o, "license", "");
	cJSON_AddStringToObject(o, "modelfile", "");
	cJSON_AddStringToObject(o, "parameters", "");
	cJSON_AddStringToObject(o, "template", tmpl ? tmpl : "");
	cJSON_AddStringToObject(o, "modified_at", t);
	cJSON_AddItemToObject(o, "details", details(a));
	cJSON_AddStringToObject(info, "general.architecture", arch);
	snprintf(key, sizeof key, "%s.context_length", arch);
	cJSON_AddNumberToObject(info, key, hp->n_ctx_train);
	snprintf(key, sizeof key, "%s.embedding_length", arch);
	cJSON_AddNumberToObject(info, key, hp->n_embd);
	snprintf(key, sizeof key, "%s.block_count", arch);
	cJSON_AddNumberToObject(info, key, hp->n_layer);
	cJSON_AddItemToObject(o, "model_info", info);
	cJSON_AddItemToArray(caps, cJSON_CreateString("completion"));
	cJSON_AddItemToObject(o, "capabilities", caps);
	return reply_cjson(c, mc, 200, o);
}

static enum MHD_Result r_tokenize(conn *c, struct MHD_Connection *mc)
{
	enum MHD_Result rc;
	cJSON *req = body_object(c, mc, &rc);
	if (!req)
		return rc;
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(req, "content");
	const cJSON *special = cJSON_GetObjectItemCaseSensitive(req, "add_special");
	if (!cJSON_IsString(content)) {
		cJSON_Delete(req);
		return fail(c, mc, 400, "invalid_request_error", "content", NULL, "'content' must be a string");
	}
	if (special && !cJSON_IsBool(special)) {
		cJSON_Delete(req);
		return fail(c, mc, 400, "invalid_request_error", "add_special", NULL, "'add_special' must be a boolean");
	}
	q_ids ids = Q_IDS_INIT;
	unsigned flags = Q_TOK_PARSE_SPECIAL | (cJSON_IsTrue(special) ? Q_TOK_ADD_SPECIAL : 0);
	const char *s = content->valuestring;
	if (q_tok_encode(c->h->app->api.tok, s, strlen(s), flags, &ids) < 0) {
		cJSON_Delete(req);
		q_ids_free(&ids);
		return fail(c, mc, 400, "invalid_request_error", "content", NULL, "%s", q_errmsg());
	}
	cJSON_Delete(req);
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "tokens");
	for (size_t i = 0; i < ids.n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(ids.v[i]));
	q_ids_free(&ids);
	return reply_cjson(c, mc, 200, o);
}

static enum MHD_Result r_detokenize(conn *c, struct MHD_Connection *mc)
{
	enum MHD_Result rc;
	cJSON *req = body_object(c, mc, &rc);
	if (!req)
		return rc;
	const q_tok *tok = c->h->app->api.tok;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "tokens"), *x;
	q_ids ids = Q_IDS_INIT;
	int bad = !cJSON_IsArray(t);
	cJSON_ArrayForEach(x, t)
	{
		if (!cJSON_IsNumber(x) || x->valuedouble != (double)(int32_t)x->valuedouble || x->valuedouble < 0 ||
		    x->valuedouble >= q_tok_n_vocab(tok)) {
			bad = 1;
			break;
		}
		q_ids_push(&ids, (int32_t)x->valuedouble);
	}
	cJSON_Delete(req);
	if (bad) {
		q_ids_free(&ids);
		return fail(c, mc, 400, "invalid_request_error", "tokens", NULL,
			    "'tokens' must be an array of token ids in [0, %d)", q_tok_n_vocab(tok));
	}
	q_buf text = Q_BUF_INIT;
	q_tok_decode(tok, ids.v, ids.n, &text);
	q_ids_free(&ids);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "content", text.p ? text.p : "");
	q_buf_free(&text);
	return reply_cjson(c, mc, 200, o);
}

/* -------------------------------------------------------- generation */

/* Format what the job has that was not sent yet (job locked by caller). */
static void collect(conn *c)
{
	int n;
	q_api_choice *ch = q_job_choices(c->job, &n);
	const q_api_req *req = q_job_req(c->job);
	const q_tok *tok = c->h->app->api.tok;
	int all_ended = 1;
	for (int k = 0; k < n; k++) {
		size_t nt = ch[k].text.len - c->sent[k];
		int nl = ch[k].n_lp - c->sent_lp[k];
		if (nt || nl) {
			q_api_format_delta(req, &c->meta, k, !(c->flags[k] & F_FIRST), ch[k].text.p + c->sent[k], nt,
					   ch[k].lp + c->sent_lp[k], nl, 0, tok, &c->out);
			c->flags[k] |= F_FIRST;
			c->sent[k] += nt;
			c->sent_lp[k] += nl;
		}
		if (ch[k].reason && !(c->flags[k] & F_END)) {
			q_api_format_delta(req, &c->meta, k, !(c->flags[k] & F_FIRST), "", 0, NULL, 0, ch[k].reason, tok,
					   &c->out);
			c->flags[k] |= F_FIRST | F_END;
		}
		all_ended &= (c->flags[k] & F_END) != 0;
	}
	if (all_ended && q_job_finished(c->job)) {
		q_api_stats st;
		q_job_stats(c->job, &st);
		q_api_format_end(req, &c->meta, ch, n, &st, &c->out);
		c->prompt_tokens = st.prompt_tokens;
		c->completion_tokens = st.completion_tokens;
		c->end_sent = 1;
	}
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	conn *c = cls;
	while (c->off == c->out.len) {
		q_buf_reset(&c->out);
		c->off = 0;
		if (c->end_sent)
			return MHD_CONTENT_READER_END_OF_STREAM;
		q_job_lock(c->job);
		collect(c);
		q_job_unlock(c->job);
		if (c->out.len)
			break;
		if (client_gone(c->fd))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		q_job_wait(c->job, 250);
	}
	size_t n = c->out.len - c->off < max ? c->out.len - c->off : max;
	memcpy(buf, c->out.p + c->off, n);
	c->off += n;
	return (ssize_t)n;
}

static enum MHD_Result r_generate(conn *c, struct MHD_Connection *mc, enum q_api_kind kind)
{
	q_http_app *a = c->h->app;
	if (!a->ready)
		return fail(c, mc, 503, "unavailable_error", NULL, NULL, "the model is loading");
	q_api_req *req = calloc(1, sizeof *req);
	if (!req)
		return fail(c, mc, 500, "server_error", NULL, NULL, "out of memory");
	q_api_err err;
	if (q_api_parse(kind, c->body.p ? c->body.p : "", c->body.len, &a->api, req, &err) < 0) {
		free(req);
		return reply_err(c, mc, &err, 0);
	}
	int full;
	c->job = q_serve_submit(a->serve, req, &full);
	if (!c->job) {
		q_api_req_free(req);
		free(req);
		if (full)
			return fail(c, mc, 429, "rate_limit_error", NULL, "queue_full",
				    "the server is busy (its queue is full); retry later");
		return fail(c, mc, 500, "server_error", NULL, NULL, "%s", q_errmsg());
	}
	unsigned char rnd[12];
	randombytes_buf(rnd, sizeof rnd);
	const char *prefix = kind == Q_API_CHAT ? "chatcmpl-" : kind == Q_API_COMPLETIONS ? "cmpl-" : "";
	int off = snprintf(c->meta.id, sizeof c->meta.id, "%s", prefix);
	for (size_t i = 0; i < sizeof rnd; i++)
		off += snprintf(c->meta.id + off, sizeof c->meta.id - (size_t)off, "%02x", rnd[i]);
	c->meta.created = (int64_t)time(NULL);
	c->meta.model = a->api.model_name;
	int n = req->n_prompts * req->n;
	c->sent = calloc((size_t)n, sizeof *c->sent);
	c->sent_lp = calloc((size_t)n, sizeof *c->sent_lp);
	c->flags = calloc((size_t)n, 1);
	if (!c->sent || !c->sent_lp || !c->flags)
		return fail(c, mc, 500, "server_error", NULL, NULL, "out of memory");
	int ollama = kind == Q_API_OLLAMA_GENERATE || kind == Q_API_OLLAMA_CHAT;
	if (req->stream) {
		struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_reader, c, NULL);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "Content-Type", ollama ? "application/x-ndjson" : "text/event-stream");
		MHD_add_response_header(r, "Cache-Control", "no-cache");
		c->status = 200;
		enum MHD_Result rc = MHD_queue_response(mc, MHD_HTTP_OK, r);
		MHD_destroy_response(r);
		return rc;
	}
	while (!q_job_wait(c->job, 250))
		if (client_gone(c->fd))
			return MHD_NO; /* completed() releases the job, which cancels it */
	q_job_lock(c->job);
	int nch;
	q_api_choice *ch = q_job_choices(c->job, &nch);
	q_api_stats st;
	q_job_stats(c->job, &st);
	int errors = 0;
	for (int k = 0; k < nch; k++)
		errors += ch[k].reason == Q_DONE_ERROR;
	q_buf b = Q_BUF_INIT;
	if (errors < nch)
		q_api_format_response(req, &c->meta, ch, nch, &st, a->api.tok, &b);
	q_job_unlock(c->job);
	c->prompt_tokens = st.prompt_tokens;
	c->completion_tokens = st.completion_tokens;
	if (errors == nch) {
		q_buf_free(&b);
		return fail(c, mc, 500, "server_error", NULL, NULL, "generation failed");
	}
	enum MHD_Result rc = reply_json(c, mc, 200, &b);
	q_buf_free(&b);
	return rc;
}

/* ------------------------------------------------------------ routing */

enum { AUTH_OPEN, AUTH_KEY, AUTH_METRICS };

typedef struct route {
	const char *method, *path;
	int auth, kind;        /* kind: a q_api_kind, or 0 */
	enum MHD_Result (*fn)(conn *c, struct MHD_Connection *mc);
} route;

static const route ROUTES[] = {
	{"POST", "/v1/chat/completions", AUTH_KEY, Q_API_CHAT, NULL},
	{"POST", "/v1/completions", AUTH_KEY, Q_API_COMPLETIONS, NULL},
	{"POST", "/api/generate", AUTH_KEY, Q_API_OLLAMA_GENERATE, NULL},
	{"POST", "/api/chat", AUTH_KEY, Q_API_OLLAMA_CHAT, NULL},
	{"GET", "/v1/models", AUTH_KEY, 0, r_models},
	{"GET", "/api/tags", AUTH_KEY, 0, r_tags},
	{"POST", "/api/show", AUTH_KEY, 0, r_show},
	{"GET", "/api/version", AUTH_OPEN, 0, r_version},
	{"POST", "/tokenize", AUTH_KEY, 0, r_tokenize},
	{"POST", "/detokenize", AUTH_KEY, 0, r_detokenize},
	{"GET", "/health", AUTH_METRICS, 0, r_health},
	{"GET", "/metrics", AUTH_METRICS, 0, r_metrics},
	{"GET", "/", AUTH_OPEN, 0, r_root},
	{"HEAD", "/", AUTH_OPEN, 0, r_root},
};
#define N_ROUTES (sizeof ROUTES / sizeof ROUTES[0])

static enum MHD_Result dispatch(conn *c, struct MHD_Connection *mc, const char *url, const char *method)
{
	const route *rt = NULL;
	int path_known = 0;
	for (size_t i = 0; i < N_ROUTES; i++)
		if (!strcmp(url, ROUTES[i].path)) {
			path_known = 1;
			c->endpoint = ROUTES[i].path;
			if (!strcmp(method, ROUTES[i].method))
				rt = &ROUTES[i];
		}
	if (!rt && path_known)
		return fail(c, mc, 405, "invalid_request_error", NULL, NULL, "method %s not allowed on %s", method, url);
	if (!rt)
		return fail(c, mc, 404, "not_found_error", NULL, NULL, "no such endpoint: %s %s", method, url);
	q_http_app *a = c->h->app;
	if (!a->ready && (rt->auth == AUTH_KEY || rt->fn == r_health)) /* before auth: loading is no secret */
		return fail(c, mc, 503, "unavailable_error", NULL, NULL, "the model is loading");
	if (a->auth && (rt->auth == AUTH_KEY || (rt->auth == AUTH_METRICS && c->h->c.protect_metrics))) {
		int slot = q_auth_check(a->auth,
					MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION));
		if (slot == Q_AUTH_DENIED)
			return fail(c, mc, 401, "invalid_request_error", NULL, "invalid_api_key",
				    "missing or incorrect API key (send it as 'Authorization: Bearer KEY')");
		int wait = rt->auth == AUTH_KEY ? q_auth_take(a->auth, slot) : 0;
		if (wait > 0) {
			q_api_err e = {.status = 429, .type = "rate_limit_error", .code = "rate_limit_exceeded"};
			snprintf(e.message, sizeof e.message, "rate limit reached; retry in %d s", wait);
			return reply_err(c, mc, &e, wait);
		}
	}
	if (!strcmp(method, "POST")) {
		const char *ct = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
		if (ct && strncasecmp(ct, "application/json", 16) != 0 && strncasecmp(ct, "text/plain", 10) != 0)
			return fail(c, mc, 415, "invalid_request_error", NULL, NULL,
				    "Content-Type %.64s: the body must be JSON (Content-Type: application/json)", ct);
		size_t bad = q_utf8_check(c->body.p ? c->body.p : "", c->body.len);
		if (bad != c->body.len)
			return fail(c, mc, 400, "invalid_request_error", NULL, NULL,
				    "the request body is not valid UTF-8 (byte %zu)", bad);
	}
	return rt->kind ? r_generate(c, mc, (enum q_api_kind)rt->kind) : rt->fn(c, mc);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
			       const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version;
	q_http *h = cls;
	conn *c = *con_cls;
	if (!c) {
		if (!(c = calloc(1, sizeof *c)))
			return MHD_NO;
		*con_cls = c;
		c->h = h;
		c->t0 = q_clock();
		c->fd = -1;
		c->endpoint = "other";
		snprintf(c->method, sizeof c->method, "%s", method);
		snprintf(c->path, sizeof c->path, "%s", url);
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci)
			c->fd = ci->connect_fd;
		ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci && ci->client_addr) {
			const struct sockaddr *sa = ci->client_addr;
			if (sa->sa_family == AF_INET)
				inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->remote, sizeof c->remote);
			else if (sa->sa_family == AF_INET6)
				inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->remote,
					  sizeof c->remote);
		}
		const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > h->c.max_body) {
			c->too_big = 1;
			return fail(c, mc, 413, "invalid_request_error", NULL, NULL,
				    "request body of %s bytes is over the limit of %zu", cl, h->c.max_body);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (c->too_big || c->body.len + *upload_size > h->c.max_body) {
			if (!c->too_big) {
				c->too_big = 1;
				q_buf_free(&c->body);
				*upload_size = 0;
				return fail(c, mc, 413, "invalid_request_error", NULL, NULL,
					    "request body over the limit of %zu bytes", h->c.max_body);
			}
		} else if (q_buf_add(&c->body, upload, *upload_size) < 0) {
			return MHD_NO;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (c->too_big)
		return MHD_YES; /* answered already */
	return dispatch(c, mc, url, method);
}

static void completed(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode why)
{
	(void)mc;
	q_http *h = cls;
	conn *c = *con_cls;
	if (!c)
		return;
	*con_cls = NULL;
	int status = c->status ? c->status : 499; /* nothing sent: the client went away */
	if (why != MHD_REQUEST_TERMINATED_COMPLETED_OK && c->job && !c->end_sent)
		status = 499;
	if (c->job)
		q_job_release(c->job);
	if (h->app->metrics)
		q_metrics_request(h->app->metrics, c->endpoint, status);
	if (h->c.log) {
		char t[32];
		iso_time((int64_t)time(NULL), t, sizeof t);
		fprintf(stderr,
			"{\"time\":\"%s\",\"remote\":\"%s\",\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,"
			"\"ms\":%.1f,\"prompt_tokens\":%d,\"completion_tokens\":%d}\n",
			t, c->remote, c->method, c->endpoint, status, (q_clock() - c->t0) * 1e3, c->prompt_tokens,
			c->completion_tokens);
	}
	q_buf_free(&c->body);
	q_buf_free(&c->out);
	free(c->sent);
	free(c->sent_lp);
	free(c->flags);
	free(c);
}

q_http *q_http_start(const q_http_config *cfg, q_http_app *app)
{
	q_http *h = calloc(1, sizeof *h);
	if (!h)
		return q_error("out of memory"), NULL;
	h->c = *cfg;
	if (!h->c.host)
		h->c.host = "127.0.0.1";
	if (!h->c.port)
		h->c.port = 8080;
	if (!h->c.max_body)
		h->c.max_body = 4 << 20;
	if (!h->c.timeout_s)
		h->c.timeout_s = 60;
	if (!h->c.max_conns)
		h->c.max_conns = 1024;
	h->app = app;
	h->started = (int64_t)time(NULL);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
			 MHD_USE_POLL;
	if (inet_pton(AF_INET, h->c.host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)h->c.port);
	} else if (inet_pton(AF_INET6, h->c.host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)h->c.port);
		flags |= MHD_USE_IPv6;
	} else {
		q_error("--host %s: not an IPv4 or IPv6 address", h->c.host);
		free(h);
		return NULL;
	}
	h->d = MHD_start_daemon(flags, (uint16_t)h->c.port, NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT, h->c.timeout_s,
				MHD_OPTION_CONNECTION_LIMIT, h->c.max_conns, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)64 << 10, MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_END);
	if (!h->d) {
		int port = h->c.port;
		char host[64];
		snprintf(host, sizeof host, "%s", h->c.host);
		free(h);
		return q_error("cannot listen on %s port %d (in use, or not an address of this machine)", host, port),
		       NULL;
	}
	return h;
}

void q_http_quiesce(q_http *h)
{
	if (h && h->d) {
		MHD_socket fd = MHD_quiesce_daemon(h->d);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
}

void q_http_stop(q_http *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
	free(h);
}
