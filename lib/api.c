/*
 * api.c - OpenAI / Ollama request bodies in, responses out (see api.h).
 *
 * Invariants:
 * - q_api_parse either fills *req completely (0) or leaves it zeroed with
 *   *err set (-1); q_api_req_free is safe on both.
 * - Every err->type / param / code is a string literal (the error outlives
 *   the parsed body).
 * - Responses are written by hand, not through cJSON: strings go through
 *   put_str (JSON escapes; a byte that is not valid UTF-8 becomes U+FFFD, so
 *   the output is always valid JSON in valid UTF-8), numbers through
 *   put_float (finite, shortest text that reads back as the same float).
 * - Field order in every object is fixed: tests compare exact bytes.
 */
#include "api.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "chat.h"
#include "err.h"
#include "tmpl.h"
#include "utf8.h"

#define MAX_N 16       /* choices per prompt */
#define MAX_STOP 16    /* stop strings */
#define LP_FLOOR -9999.0f /* what -inf logprobs are written as (OpenAI's) */

int q_api_fail(q_api_err *err, int status, const char *type, const char *param, const char *code, const char *fmt,
	       ...)
{
	va_list ap;
	err->status = status;
	err->type = type;
	err->param = param;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return -1;
}

/* A bad request naming param. */
#define BAD(err, param, ...) q_api_fail(err, 400, "invalid_request_error", param, NULL, __VA_ARGS__)
/* Our failure (out of memory): q_errmsg says what. */
static int internal(q_api_err *err)
{
	return q_api_fail(err, 500, "server_error", NULL, NULL, "%s", q_errmsg());
}

/* ---- reading fields ---------------------------------------------------- */

/* o[key], or NULL when absent or JSON null (null means "not given"). */
static const cJSON *item(const cJSON *o, const char *key)
{
	const cJSON *j = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
	return cJSON_IsNull(j) ? NULL : j;
}

static int get_bool(q_api_err *err, const cJSON *o, const char *key, const char *param, int *out)
{
	const cJSON *j = item(o, key);
	if (!j)
		return 0;
	if (!cJSON_IsBool(j))
		return BAD(err, param, "'%s' must be a boolean", param);
	*out = cJSON_IsTrue(j);
	return 0;
}

static int get_str(q_api_err *err, const cJSON *o, const char *key, const char *param, const char **out)
{
	const cJSON *j = item(o, key);
	if (!j)
		return 0;
	if (!cJSON_IsString(j))
		return BAD(err, param, "'%s' must be a string", param);
	*out = j->valuestring;
	return 0;
}

/* A number in [lo, hi] (lo excluded when lo_open). */
static int get_num(q_api_err *err, const cJSON *o, const char *key, const char *param, double lo, double hi,
		   int lo_open, float *out)
{
	const cJSON *j = item(o, key);
	if (!j)
		return 0;
	if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
		return BAD(err, param, "'%s' must be a number", param);
	double v = j->valuedouble;
	if (v > hi || (lo_open ? v <= lo : v < lo))
		return BAD(err, param, "'%s' must be in %c%g, %g], got %g", param, lo_open ? '(' : '[', lo, hi, v);
	*out = (float)v;
	return 0;
}

/* An integer in [lo, hi].  The literal text q_tmpl_json_parse kept is read
 * exactly (seeds need all 64 bits); 1e3 and 2.0 count as integers. */
static int get_int(q_api_err *err, const cJSON *o, const char *key, const char *param, long long lo, long long hi,
		   long long *out)
{
	const cJSON *j = item(o, key);
	if (!j)
		return 0;
	double d = j->valuedouble;
	if (!cJSON_IsNumber(j) || !isfinite(d) || d != floor(d))
		return BAD(err, param, "'%s' must be an integer", param);
	long long v;
	const char *s = j->valuestring;
	char *end;
	errno = 0;
	long long exact = s && !strpbrk(s, ".eE") ? strtoll(s, &end, 10) : 0;
	if (s && !strpbrk(s, ".eE") && !*end && errno != ERANGE)
		v = exact;
	else if (d >= -9.2e18 && d <= 9.2e18)
		v = (long long)d;
	else
		return BAD(err, param, "'%s' is out of range (a 64-bit integer), got %g", param, d);
	if (v < lo || v > hi) {
		if (hi == LLONG_MAX)
			return BAD(err, param, "'%s' must be at least %lld, got %.0f", param, lo, d);
		return BAD(err, param, "'%s' must be in [%lld, %lld], got %.0f", param, lo, hi, d);
	}
	*out = v;
	return 0;
}

static int get_int32(q_api_err *err, const cJSON *o, const char *key, const char *param, int lo, int hi, int *out)
{
	long long v = *out;
	if (get_int(err, o, key, param, lo, hi, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

/* ---- the request ------------------------------------------------------- */

void q_api_req_free(q_api_req *req)
{
	for (int i = 0; i < req->n_prompts; i++)
		q_ids_free(&req->prompts[i]);
	free(req->prompts);
	free(req->bias);
	for (int i = 0; i < req->n_stop; i++)
		free(req->stop[i]);
	free(req->stop);
	free(req->model);
	free(req->user);
	memset(req, 0, sizeof *req);
}

static int is_openai(enum q_api_kind k)
{
	return k == Q_API_CHAT || k == Q_API_COMPLETIONS;
}

static int is_chat(enum q_api_kind k)
{
	return k == Q_API_CHAT || k == Q_API_OLLAMA_CHAT;
}

static char *dup_str(const char *s, q_api_err *err)
{
	char *d = strdup(s);
	if (!d)
		internal(err);
	return d;
}

/* stop: a string or an array of strings; empty strings are dropped. */
static int parse_stop(q_api_err *err, const cJSON *o, const char *param, q_api_req *req)
{
	const cJSON *j = item(o, "stop");
	if (!j)
		return 0;
	int n = cJSON_IsString(j) ? 1 : cJSON_IsArray(j) ? cJSON_GetArraySize(j) : -1;
	if (n < 0)
		return BAD(err, param, "'%s' must be a string or an array of strings", param);
	if (n > MAX_STOP)
		return BAD(err, param, "'%s' has %d strings, at most %d are allowed", param, n, MAX_STOP);
	if (n == 0)
		return 0;
	if (!(req->stop = calloc((size_t)n, sizeof *req->stop)))
		return internal(err);
	for (const cJSON *s = cJSON_IsString(j) ? j : j->child; s; s = cJSON_IsString(j) ? NULL : s->next) {
		if (!cJSON_IsString(s))
			return BAD(err, param, "'%s' must be a string or an array of strings", param);
		if (!*s->valuestring)
			continue;
		if (!(req->stop[req->n_stop] = dup_str(s->valuestring, err)))
			return -1;
		req->n_stop++;
	}
	return 0;
}

/* logit_bias: {"token id": bias in [-100, 100]}; ignore_eos: true bans
 * the end-of-generation tokens. */
static int parse_bias(q_api_err *err, const cJSON *o, const q_api_ctx *ctx, q_api_req *req)
{
	const cJSON *j = item(o, "logit_bias");
	int ignore_eos = 0;
	if (get_bool(err, o, "ignore_eos", "ignore_eos", &ignore_eos) < 0)
		return -1;
	if (j && !cJSON_IsObject(j))
		return BAD(err, "logit_bias", "'logit_bias' must be an object of token ids to numbers");
	int32_t n_vocab = q_tok_n_vocab(ctx->tok);
	const int32_t *eog;
	int n_eog = ignore_eos ? q_tok_eog_ids(ctx->tok, &eog) : 0;
	int n = j ? cJSON_GetArraySize(j) : 0;
	if (n + n_eog == 0)
		return 0;
	if (!(req->bias = calloc((size_t)(n + n_eog), sizeof *req->bias)))
		return internal(err);
	/* ignore_eos (vLLM's and llama-server's extension): end-of-generation
	 * tokens banned, so exactly max_tokens are generated */
	for (int i = 0; i < n_eog; i++)
		req->bias[req->sample.n_bias++] = (q_logit_bias){eog[i], -INFINITY};
	req->sample.bias = req->bias;
	if (!j)
		return 0;
	for (const cJSON *b = j->child; b; b = b->next) {
		char *end;
		errno = 0;
		long id = strtol(b->string, &end, 10);
		if (!*b->string || *end || errno == ERANGE || (b->string[0] < '0' || b->string[0] > '9'))
			return BAD(err, "logit_bias", "'logit_bias' key '%.100s' is not a token id", b->string);
		if (id >= n_vocab)
			return BAD(err, "logit_bias", "'logit_bias' token id %ld is outside the vocabulary of %d tokens",
				   id, n_vocab);
		if (!cJSON_IsNumber(b) || !isfinite(b->valuedouble))
			return BAD(err, "logit_bias", "'logit_bias' value of token %ld must be a number", id);
		if (b->valuedouble < -100 || b->valuedouble > 100)
			return BAD(err, "logit_bias", "'logit_bias' value of token %ld must be in [-100, 100], got %g", id,
				   b->valuedouble);
		req->bias[req->sample.n_bias].id = (int32_t)id;
		req->bias[req->sample.n_bias].bias = (float)b->valuedouble;
		req->sample.n_bias++;
	}
	req->sample.bias = req->bias;
	return 0;
}

/* A random seed for a request that gave none. */
static uint64_t random_seed(void)
{
	uint64_t s;
	if (getrandom(&s, sizeof s, 0) == (ssize_t)sizeof s)
		return s;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&ts;
}

/* The sampling fields OpenAI's two kinds share (and vLLM's extensions). */
static int parse_openai_sampling(q_api_err *err, const cJSON *o, const q_api_ctx *ctx, q_api_req *req,
				 long long *max_tokens)
{
	q_sample_params *p = &req->sample;
	long long v;
	if (get_num(err, o, "temperature", "temperature", 0, 2, 0, &p->temp) < 0 ||
	    get_num(err, o, "top_p", "top_p", 0, 1, 1, &p->top_p) < 0 ||
	    get_num(err, o, "min_p", "min_p", 0, 1, 0, &p->min_p) < 0 ||
	    get_num(err, o, "presence_penalty", "presence_penalty", -2, 2, 0, &p->presence_penalty) < 0 ||
	    get_num(err, o, "frequency_penalty", "frequency_penalty", -2, 2, 0, &p->frequency_penalty) < 0 ||
	    get_int32(err, o, "top_k", "top_k", -1, INT_MAX, &p->top_k) < 0 ||
	    get_int32(err, o, "n", "n", 1, MAX_N, &req->n) < 0 ||
	    get_int32(err, o, "priority", "priority", INT_MIN, INT_MAX, &req->priority) < 0 ||
	    get_bool(err, o, "stream", "stream", &req->stream) < 0)
		return -1;
	p->top_k = p->top_k < 0 ? 0 : p->top_k;
	const cJSON *rp = item(o, "repetition_penalty");
	if (rp && (!cJSON_IsNumber(rp) || !isfinite(rp->valuedouble)))
		return BAD(err, "repetition_penalty", "'repetition_penalty' must be a number");
	if (rp && !(rp->valuedouble > 0))
		return BAD(err, "repetition_penalty", "'repetition_penalty' must be > 0, got %g", rp->valuedouble);
	if (rp)
		p->repeat_penalty = (float)rp->valuedouble;
	v = 0;
	if (item(o, "seed")) {
		if (get_int(err, o, "seed", "seed", LLONG_MIN, LLONG_MAX, &v) < 0)
			return -1;
		p->seed = (uint64_t)v;
		req->seed_given = 1;
	}
	/* chat: max_completion_tokens replaces max_tokens (either may be given) */
	const char *mt = req->kind == Q_API_CHAT && item(o, "max_completion_tokens") ? "max_completion_tokens"
										      : "max_tokens";
	if (item(o, mt) && get_int(err, o, mt, mt, req->kind == Q_API_CHAT ? 1 : 0, LLONG_MAX, max_tokens) < 0)
		return -1;
	const cJSON *so = item(o, "stream_options");
	if (so && !cJSON_IsObject(so))
		return BAD(err, "stream_options", "'stream_options' must be an object");
	if (so && !req->stream)
		return BAD(err, "stream_options", "'stream_options' is only allowed when 'stream' is true");
	if (get_bool(err, so, "include_usage", "stream_options.include_usage", &req->include_usage) < 0)
		return -1;
	const char *user = NULL;
	if (get_str(err, o, "user", "user", &user) < 0 || parse_stop(err, o, "stop", req) < 0 ||
	    parse_bias(err, o, ctx, req) < 0)
		return -1;
	if (user && !(req->user = dup_str(user, err)))
		return -1;
	if (req->kind == Q_API_CHAT) {
		if (get_bool(err, o, "logprobs", "logprobs", &req->logprobs) < 0 ||
		    get_int32(err, o, "top_logprobs", "top_logprobs", 0, Q_API_MAX_TOP, &req->top_logprobs) < 0)
			return -1;
		if (item(o, "top_logprobs") && !req->logprobs)
			return BAD(err, "top_logprobs", "'top_logprobs' needs 'logprobs' to be true");
	} else {
		if (item(o, "logprobs")) {
			if (get_int32(err, o, "logprobs", "logprobs", 0, 5, &req->top_logprobs) < 0)
				return -1;
			req->logprobs = 1;
		}
		if (get_bool(err, o, "echo", "echo", &req->echo) < 0)
			return -1;
	}
	return 0;
}

/* Ollama's "options" object. */
#define OPT(k) k, "options." k
static int parse_ollama_options(q_api_err *err, const cJSON *o, q_api_req *req, long long *max_tokens)
{
	q_sample_params *p = &req->sample;
	const cJSON *opts = item(o, "options");
	if (!opts)
		return 0;
	if (!cJSON_IsObject(opts))
		return BAD(err, "options", "'options' must be an object");
	long long np = -1, seed = -1;
	if (get_num(err, opts, OPT("temperature"), 0, 1e9, 0, &p->temp) < 0 ||
	    get_num(err, opts, OPT("top_p"), 0, 1, 1, &p->top_p) < 0 ||
	    get_num(err, opts, OPT("min_p"), 0, 1, 0, &p->min_p) < 0 ||
	    get_num(err, opts, OPT("repeat_penalty"), 0, 1e9, 1, &p->repeat_penalty) < 0 ||
	    get_num(err, opts, OPT("presence_penalty"), -1e9, 1e9, 0, &p->presence_penalty) < 0 ||
	    get_num(err, opts, OPT("frequency_penalty"), -1e9, 1e9, 0, &p->frequency_penalty) < 0 ||
	    get_int32(err, opts, OPT("top_k"), INT_MIN, INT_MAX, &p->top_k) < 0 ||
	    get_int32(err, opts, OPT("repeat_last_n"), -1, 1 << 20, &p->penalty_last_n) < 0 ||
	    get_int(err, opts, OPT("num_predict"), -2, LLONG_MAX, &np) < 0 ||
	    get_int(err, opts, OPT("seed"), LLONG_MIN, LLONG_MAX, &seed) < 0 ||
	    parse_stop(err, opts, "options.stop", req) < 0)
		return -1;
	p->top_k = p->top_k < 0 ? 0 : p->top_k;
	*max_tokens = np < 0 ? -1 : np;
	if (item(opts, "seed") && seed != -1) { /* Ollama: -1 is random */
		p->seed = (uint64_t)seed;
		req->seed_given = 1;
	}
	return 0;
}

/* Join the text parts of a content array with "\n" (as vLLM does). */
static int join_parts(q_api_err *err, const cJSON *content, int i, q_buf *out)
{
	int n = 0;
	for (const cJSON *p = content->child; p; p = p->next) {
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
		const cJSON *text = cJSON_GetObjectItemCaseSensitive(p, "text");
		if (!cJSON_IsObject(p) || !cJSON_IsString(type))
			return BAD(err, "messages", "messages[%d].content: each part must be an object with a \"type\"", i);
		if (strcmp(type->valuestring, "text") != 0)
			return BAD(err, "messages", "messages[%d].content: parts of type \"%.40s\" are not supported (only \"text\")",
				   i, type->valuestring);
		if (!cJSON_IsString(text))
			return BAD(err, "messages", "messages[%d].content: a text part needs \"text\" as a string", i);
		if ((n++ && q_buf_addc(out, '\n') < 0) || q_buf_adds(out, text->valuestring) < 0)
			return internal(err);
	}
	return 0;
}

/* Check messages and copy them with content made a string (text parts
 * joined; an assistant's null or missing content "", as vLLM does, since
 * templates test it with `in`; "developer" is "system"); everything else in
 * a message (tool_calls, tool_call_id, name, ...) passes through to the
 * template. */
static int copy_messages(q_api_err *err, const cJSON *msgs, cJSON *to)
{
	static const char *const roles[] = {"system", "user", "assistant", "tool", "developer"};
	int i = 0;
	for (const cJSON *m = msgs->child; m; m = m->next, i++) {
		if (!cJSON_IsObject(m))
			return BAD(err, "messages", "messages[%d] must be an object", i);
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		if (!cJSON_IsString(role))
			return BAD(err, "messages", "messages[%d].role must be a string", i);
		size_t r = 0;
		while (r < sizeof roles / sizeof *roles && strcmp(role->valuestring, roles[r]) != 0)
			r++;
		if (r == sizeof roles / sizeof *roles)
			return BAD(err, "messages",
				   "messages[%d].role '%.40s' must be one of system, user, assistant, tool, developer",
				   i, role->valuestring);
		const cJSON *content = item(m, "content");
		if (content && !cJSON_IsString(content) && !cJSON_IsArray(content))
			return BAD(err, "messages", "messages[%d].content must be a string or an array of parts", i);
		if (!content && strcmp(roles[r], "assistant") != 0)
			return BAD(err, "messages", "messages[%d].content is missing", i);
		cJSON *c = cJSON_Duplicate(m, 1);
		if (!c || !cJSON_AddItemToArray(to, c)) {
			cJSON_Delete(c);
			return q_api_fail(err, 500, "server_error", NULL, NULL, "out of memory");
		}
		int ok = 1;
		if (!content) {
			cJSON_DeleteItemFromObjectCaseSensitive(c, "content");
			ok = cJSON_AddStringToObject(c, "content", "") != NULL;
		}
		if (r == 4)
			ok = cJSON_ReplaceItemInObjectCaseSensitive(c, "role", cJSON_CreateString("system"));
		if (cJSON_IsArray(content)) {
			q_buf text = Q_BUF_INIT;
			if (join_parts(err, content, i, &text) < 0) {
				q_buf_free(&text);
				return -1;
			}
			ok = ok && cJSON_ReplaceItemInObjectCaseSensitive(c, "content",
									  cJSON_CreateString(text.p ? text.p : ""));
			q_buf_free(&text);
		}
		if (!ok)
			return q_api_fail(err, 500, "server_error", NULL, NULL, "out of memory");
	}
	return 0;
}

/* Add one prompt slot; returns it. */
static q_ids *new_prompt(q_api_err *err, q_api_req *req)
{
	q_ids *p = realloc(req->prompts, (size_t)(req->n_prompts + 1) * sizeof *p);
	if (!p) {
		q_api_fail(err, 500, "server_error", NULL, NULL, "out of memory");
		return NULL;
	}
	req->prompts = p;
	p[req->n_prompts] = (q_ids)Q_IDS_INIT;
	return &p[req->n_prompts++];
}

/* Tokenize a rendered chat: special tokens parsed, no BOS added unless the
 * text does not start with it and the tokenizer adds one (llama-server). */
static int encode_chat(q_api_err *err, const q_api_ctx *ctx, const char *text, q_ids *out)
{
	int32_t bos = q_tok_bos(ctx->tok);
	q_ids probe = Q_IDS_INIT;
	if (q_tok_encode(ctx->tok, "", 0, Q_TOK_ADD_SPECIAL, &probe) < 0 ||
	    q_tok_encode(ctx->tok, text, strlen(text), Q_TOK_PARSE_SPECIAL, out) < 0) {
		q_ids_free(&probe);
		return internal(err);
	}
	int adds_bos = bos >= 0 && probe.n > 0 && probe.v[0] == bos;
	q_ids_free(&probe);
	if (adds_bos && (out->n == 0 || out->v[0] != bos)) {
		if (q_ids_push(out, bos) < 0)
			return internal(err);
		memmove(out->v + 1, out->v, (out->n - 1) * sizeof *out->v);
		out->v[0] = bos;
	}
	return 0;
}

/* Render chat request r (messages, tools, ...) and tokenize it as prompt 0. */
static int chat_prompt(q_api_err *err, const q_api_ctx *ctx, const cJSON *r, q_api_req *req)
{
	const char *src = ctx->chat_template ? ctx->chat_template : q_tok_chat_template(ctx->tok);
	if (!src)
		return BAD(err, NULL, "this model has no chat template: use the completions API, or start the "
				      "server with --chat-template FILE");
	q_buf text = Q_BUF_INIT;
	q_ids *ids = new_prompt(err, req);
	int rc = ids ? 0 : -1;
	if (rc == 0 && q_chat_render(ctx->tok, src, r, &text) < 0)
		rc = BAD(err, "messages", "%s", q_errmsg());
	if (rc == 0)
		rc = encode_chat(err, ctx, text.p ? text.p : "", ids);
	q_buf_free(&text);
	return rc;
}

/* The request chat.h renders: copied messages plus the template fields. */
static int chat_request(q_api_err *err, const cJSON *o, const char *system, const char *user, cJSON **out)
{
	cJSON *r = cJSON_CreateObject();
	cJSON *msgs = r ? cJSON_AddArrayToObject(r, "messages") : NULL;
	*out = r;
	if (!msgs)
		return q_api_fail(err, 500, "server_error", NULL, NULL, "out of memory");
	if (user) { /* Ollama /api/generate: [system?, user] */
		cJSON *c = q_chat_request(system, user);
		cJSON *m = c ? cJSON_DetachItemFromObjectCaseSensitive(c, "messages") : NULL;
		cJSON_Delete(c);
		if (!m || !cJSON_ReplaceItemInObjectCaseSensitive(r, "messages", m)) {
			cJSON_Delete(m);
			return q_api_fail(err, 500, "server_error", NULL, NULL, "out of memory");
		}
		return 0;
	}
	const cJSON *m = item(o, "messages");
	if (!m)
		return BAD(err, "messages", "'messages' is required");
	if (!cJSON_IsArray(m))
		return BAD(err, "messages", "'messages' must be an array");
	if (!m->child)
		return BAD(err, "messages", "'messages' must not be empty");
	if (copy_messages(err, m, msgs) < 0)
		return -1;
	const cJSON *tools = item(o, "tools"), *kw = item(o, "chat_template_kwargs");
	const cJSON *agp = item(o, "add_generation_prompt");
	if (tools && !cJSON_IsArray(tools))
		return BAD(err, "tools", "'tools' must be an array");
	if (kw && !cJSON_IsObject(kw))
		return BAD(err, "chat_template_kwargs", "'chat_template_kwargs' must be an object");
	if (agp && !cJSON_IsBool(agp))
		return BAD(err, "add_generation_prompt", "'add_generation_prompt' must be a boolean");
	const cJSON *copy[] = {tools, kw, agp};
	const char *name[] = {"tools", "chat_template_kwargs", "add_generation_prompt"};
	for (int i = 0; i < 3; i++)
		if (copy[i] && !cJSON_AddItemToObject(r, name[i], cJSON_Duplicate(copy[i], 1)))
			return q_api_fail(err, 500, "server_error", NULL, NULL, "out of memory");
	return 0;
}

/* A text prompt (BOS and special tokens as qgen -p does). */
static int text_prompt(q_api_err *err, const q_api_ctx *ctx, const char *param, const char *s, unsigned flags,
		       q_api_req *req)
{
	if (!*s)
		return BAD(err, param, "'%s' must not be empty", param);
	q_ids *ids = new_prompt(err, req);
	if (!ids)
		return -1;
	if (q_tok_encode(ctx->tok, s, strlen(s), flags, ids) < 0)
		return internal(err);
	if (ids->n == 0)
		return BAD(err, param, "'%s' gives no tokens", param);
	return 0;
}

/* An array of token ids as prompt. */
static int ids_prompt(q_api_err *err, const q_api_ctx *ctx, const cJSON *a, q_api_req *req)
{
	if (!a->child)
		return BAD(err, "prompt", "'prompt' must not be empty");
	q_ids *ids = new_prompt(err, req);
	if (!ids)
		return -1;
	int32_t n_vocab = q_tok_n_vocab(ctx->tok);
	for (const cJSON *t = a->child; t; t = t->next) {
		double d = t->valuedouble;
		if (!cJSON_IsNumber(t) || d != floor(d))
			return BAD(err, "prompt", "'prompt' must be a string, an array of strings, an array of token "
						  "ids or an array of arrays of token ids");
		if (d < 0 || d >= n_vocab)
			return BAD(err, "prompt", "'prompt' token id %.0f is outside the vocabulary of %d tokens", d,
				   n_vocab);
		if (q_ids_push(ids, (int32_t)d) < 0)
			return internal(err);
	}
	return 0;
}

static int completions_prompt(q_api_err *err, const q_api_ctx *ctx, const cJSON *o, q_api_req *req)
{
	static const char what[] = "'prompt' must be a string, an array of strings, an array of token ids or an "
				   "array of arrays of token ids";
	const unsigned flags = Q_TOK_ADD_SPECIAL | Q_TOK_PARSE_SPECIAL;
	const cJSON *p = item(o, "prompt");
	if (!p)
		return BAD(err, "prompt", "'prompt' is required");
	if (cJSON_IsString(p))
		return text_prompt(err, ctx, "prompt", p->valuestring, flags, req);
	if (!cJSON_IsArray(p))
		return BAD(err, "prompt", "%s", what);
	if (!p->child)
		return BAD(err, "prompt", "'prompt' must not be empty");
	if (cJSON_IsNumber(p->child))
		return ids_prompt(err, ctx, p, req);
	int type = p->child->type & 0xff;
	for (const cJSON *e = p->child; e; e = e->next) {
		if ((e->type & 0xff) != type || !(cJSON_IsString(e) || cJSON_IsArray(e)))
			return BAD(err, "prompt", "%s", what);
		int rc = cJSON_IsString(e) ? text_prompt(err, ctx, "prompt", e->valuestring, flags, req)
					   : ids_prompt(err, ctx, e, req);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Ollama /api/generate: raw, or no template: the prompt as is; else the
 * template over [system?, user: prompt]. */
static int generate_prompt(q_api_err *err, const q_api_ctx *ctx, const cJSON *o, q_api_req *req)
{
	const char *prompt = NULL, *system = NULL;
	int raw = 0;
	if (get_str(err, o, "prompt", "prompt", &prompt) < 0 || get_str(err, o, "system", "system", &system) < 0 ||
	    get_bool(err, o, "raw", "raw", &raw) < 0)
		return -1;
	if (!prompt)
		return BAD(err, "prompt", "'prompt' is required");
	if (!*prompt)
		return BAD(err, "prompt", "'prompt' must not be empty");
	if (raw || !(ctx->chat_template || q_tok_chat_template(ctx->tok)))
		return text_prompt(err, ctx, "prompt", prompt, Q_TOK_ADD_SPECIAL | Q_TOK_PARSE_SPECIAL, req);
	cJSON *r;
	int rc = chat_request(err, o, system, prompt, &r);
	if (rc == 0)
		rc = chat_prompt(err, ctx, r, req);
	cJSON_Delete(r);
	return rc;
}

/* Every prompt fits the context, with max_tokens when given.  Ollama's
 * num_predict is cut to what fits instead of refused. */
static int check_context(q_api_err *err, const q_api_ctx *ctx, long long max_tokens, q_api_req *req)
{
	long long n_ctx = ctx->n_ctx, want = max_tokens < 0 ? 0 : max_tokens;
	int ollama = !is_openai(req->kind);
	for (int i = 0; i < req->n_prompts; i++) {
		long long np = (long long)req->prompts[i].n;
		if (np <= n_ctx && (ollama || np + want <= n_ctx))
			continue;
		if (req->kind == Q_API_COMPLETIONS)
			return q_api_fail(err, 400, "invalid_request_error", "prompt", "context_length_exceeded",
					  "This model's maximum context length is %lld tokens, however you requested "
					  "%lld tokens (%lld in your prompt; %lld for the completion). Please reduce "
					  "your prompt; or completion length.",
					  n_ctx, np + want, np, want);
		return q_api_fail(err, 400, "invalid_request_error", is_chat(req->kind) ? "messages" : "prompt",
				  "context_length_exceeded",
				  "This model's maximum context length is %lld tokens. However, you requested %lld "
				  "tokens (%lld in the messages, %lld in the completion). Please reduce the length of "
				  "the messages or completion.",
				  n_ctx, np + want, np, want);
	}
	if (ollama && max_tokens >= 0 && req->n_prompts && max_tokens > n_ctx - (long long)req->prompts[0].n)
		max_tokens = n_ctx - (long long)req->prompts[0].n;
	req->max_tokens = (int)(max_tokens < 0 ? -1 : max_tokens);
	return 0;
}

static int parse(enum q_api_kind kind, const cJSON *o, const q_api_ctx *ctx, q_api_req *req, q_api_err *err)
{
	if (!cJSON_IsObject(o))
		return BAD(err, NULL, "the request body must be a JSON object");
	const char *model = NULL;
	if (get_str(err, o, "model", "model", &model) < 0)
		return -1;
	if (model && is_openai(kind) && ctx->model_name && strcmp(model, ctx->model_name) != 0)
		return q_api_fail(err, 404, "not_found_error", "model", "model_not_found",
				  "The model '%.200s' does not exist (this server serves '%.200s')", model,
				  ctx->model_name);
	if (model && !(req->model = dup_str(model, err)))
		return -1;

	q_sample_params *p = &req->sample;
	q_sample_defaults(p);
	req->n = 1;
	long long max_tokens = -1;
	if (is_openai(kind)) {
		p->temp = 1.0f;
		p->top_k = 0;
		p->top_p = 1.0f;
		p->min_p = 0.0f;
		p->penalty_last_n = -1; /* OpenAI's penalties see the whole text */
		if (parse_openai_sampling(err, o, ctx, req, &max_tokens) < 0)
			return -1;
	} else {
		p->temp = 0.8f;
		p->top_k = 40;
		p->top_p = 0.9f;
		p->min_p = 0.0f;
		p->repeat_penalty = 1.1f;
		p->penalty_last_n = 64;
		req->stream = 1;
		if (get_bool(err, o, "stream", "stream", &req->stream) < 0 ||
		    parse_ollama_options(err, o, req, &max_tokens) < 0)
			return -1;
	}
	if (!req->seed_given)
		p->seed = random_seed();
	if (q_sample_check(p, q_tok_n_vocab(ctx->tok)) < 0) /* what the ranges above let through */
		return BAD(err, NULL, "%s", q_errmsg());

	int rc;
	if (kind == Q_API_COMPLETIONS) {
		rc = completions_prompt(err, ctx, o, req);
	} else if (kind == Q_API_OLLAMA_GENERATE) {
		rc = generate_prompt(err, ctx, o, req);
	} else {
		cJSON *r;
		rc = chat_request(err, o, NULL, NULL, &r);
		if (rc == 0)
			rc = chat_prompt(err, ctx, r, req);
		cJSON_Delete(r);
	}
	if (rc < 0)
		return -1;
	return check_context(err, ctx, max_tokens, req);
}

int q_api_parse(enum q_api_kind kind, const char *body, size_t len, const q_api_ctx *ctx, q_api_req *req,
		q_api_err *err)
{
	memset(req, 0, sizeof *req);
	memset(err, 0, sizeof *err);
	req->kind = kind;
	size_t bad = q_utf8_check(body, len);
	if (bad != len)
		return BAD(err, NULL, "the request body is not valid UTF-8 (byte %zu)", bad);
	cJSON *o = q_tmpl_json_parse(body, len);
	if (!o)
		return BAD(err, NULL, "the request body is not valid JSON: %s", q_errmsg());
	int rc = parse(kind, o, ctx, req, err);
	cJSON_Delete(o);
	if (rc < 0)
		q_api_req_free(req);
	return rc;
}

/* ---- log-probabilities ------------------------------------------------- */

void q_api_logprobs(const float *logits, int n_vocab, int32_t id, int n_top, q_api_lp *lp)
{
	double max = -INFINITY;
	for (int i = 0; i < n_vocab; i++)
		if (logits[i] > max)
			max = logits[i];
	double sum = 0;
	for (int i = 0; i < n_vocab; i++)
		sum += exp((double)logits[i] - max);
	double lse = max + log(sum);
	n_top = n_top < 0 ? 0 : n_top > Q_API_MAX_TOP ? Q_API_MAX_TOP : n_top;
	n_top = n_top > n_vocab ? n_vocab : n_top;
	/* the n_top best so far, best first; a later id must be strictly
	 * better to pass an earlier one, so ties go to the lower id */
	int k = 0;
	for (int i = 0; i < n_vocab && n_top; i++) {
		float v = logits[i];
		if (k == n_top && !(v > logits[lp->top_id[k - 1]]))
			continue;
		int j = k < n_top ? k++ : k - 1;
		while (j > 0 && v > logits[lp->top_id[j - 1]]) {
			lp->top_id[j] = lp->top_id[j - 1];
			j--;
		}
		lp->top_id[j] = i;
	}
	lp->id = id;
	lp->n_top = k;
	lp->logprob = id >= 0 && id < n_vocab ? (float)((double)logits[id] - lse) : -INFINITY;
	for (int j = 0; j < k; j++)
		lp->top_lp[j] = (float)((double)logits[lp->top_id[j]] - lse);
}

/* ---- writing JSON ------------------------------------------------------ */

/* s[0..n) as a JSON string (invalid UTF-8 as U+FFFD). */
static int put_str(q_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (q_buf_grow(b, n + 2) < 0)
		return -1;
	int rc = q_buf_addc(b, '"');
	for (size_t i = 0; i < n && rc == 0;) {
		unsigned char c = (unsigned char)s[i];
		size_t run = i;
		while (run < n && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\' &&
		       (unsigned char)s[run] < 0x80)
			run++;
		if (run > i) {
			rc = q_buf_add(b, s + i, run - i);
			i = run;
			continue;
		}
		if (c >= 0x80) {
			uint32_t cp;
			size_t l = q_utf8_seq((const unsigned char *)s + i, n - i, &cp);
			rc = l ? q_buf_add(b, s + i, l) : q_buf_adds(b, "\xef\xbf\xbd");
			i += l ? l : 1;
			continue;
		}
		char e[7] = {'\\', 0};
		switch (c) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		default: memcpy(e + 1, "u00", 3); e[4] = hex[c >> 4]; e[5] = hex[c & 15];
		}
		rc = q_buf_adds(b, e);
		i++;
	}
	return rc < 0 || q_buf_addc(b, '"') < 0 ? -1 : 0;
}

static int put_cstr(q_buf *b, const char *s)
{
	return s ? put_str(b, s, strlen(s)) : q_buf_adds(b, "null");
}

/* A log-probability: finite (-inf as -9999.0), the shortest digits that
 * read back as the same float. */
static int put_float(q_buf *b, float v)
{
	if (!(v > LP_FLOOR))
		v = LP_FLOOR;
	if (v >= 0)
		v = 0; /* rounding, and -0 */
	char s[32];
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(s, sizeof s, "%.*g", prec, (double)v);
		if (strtof(s, NULL) == v)
			break;
	}
	if (!strpbrk(s, ".e"))
		strcat(s, ".0");
	return q_buf_adds(b, s);
}

/* The text of a token in logprobs: its bytes when they are valid UTF-8,
 * else "bytes:\xNN..." (as vLLM writes a piece of a character). */
static int token_text(const q_tok *tok, int32_t id, q_buf *piece, q_buf *out)
{
	q_buf_reset(piece);
	q_buf_reset(out);
	if (q_tok_decode_piece(tok, id, 0, piece) < 0)
		return -1;
	if (q_utf8_check(piece->p ? piece->p : "", piece->len) == piece->len)
		return q_buf_add(out, piece->p ? piece->p : "", piece->len);
	int rc = q_buf_adds(out, "bytes:");
	for (size_t i = 0; i < piece->len && rc == 0; i++)
		rc = q_buf_printf(out, "\\x%02x", (unsigned char)piece->p[i]);
	return rc;
}

/* Characters in s[0..n) as Python counts them (lead bytes). */
static size_t n_chars(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* {"token","logprob","bytes"} of one token (chat). */
static int put_chat_token(const q_tok *tok, int32_t id, float logprob, q_buf *piece, q_buf *text, q_buf *b)
{
	if (token_text(tok, id, piece, text) < 0)
		return -1;
	int rc = q_buf_adds(b, "{\"token\":");
	rc |= put_str(b, text->p ? text->p : "", text->len);
	rc |= q_buf_adds(b, ",\"logprob\":");
	rc |= put_float(b, logprob);
	rc |= q_buf_adds(b, ",\"bytes\":[");
	for (size_t i = 0; i < piece->len; i++)
		rc |= q_buf_printf(b, i ? ",%u" : "%u", (unsigned char)piece->p[i]);
	return rc | q_buf_addc(b, ']') ? -1 : 0;
}

/* Chat: {"content":[...]}.  Completions: {"tokens","token_logprobs",
 * "top_logprobs","text_offset"}, offsets counted from offset0. */
static int put_logprobs(const q_api_req *req, const q_api_lp *lp, int n_lp, size_t offset0, const q_tok *tok,
			q_buf *b)
{
	q_buf piece = Q_BUF_INIT, text = Q_BUF_INIT;
	int rc = 0;
	if (req->kind == Q_API_CHAT) {
		rc |= q_buf_adds(b, "{\"content\":[");
		for (int i = 0; i < n_lp && rc == 0; i++) {
			rc |= q_buf_adds(b, i ? "," : "");
			rc |= put_chat_token(tok, lp[i].id, lp[i].logprob, &piece, &text, b);
			rc |= q_buf_adds(b, ",\"top_logprobs\":[");
			int n_top = lp[i].n_top < req->top_logprobs ? lp[i].n_top : req->top_logprobs;
			for (int j = 0; j < n_top && rc == 0; j++) {
				rc |= q_buf_adds(b, j ? "," : "");
				rc |= put_chat_token(tok, lp[i].top_id[j], lp[i].top_lp[j], &piece, &text, b);
				rc |= q_buf_addc(b, '}');
			}
			rc |= q_buf_adds(b, "]}");
		}
		rc |= q_buf_adds(b, "]}");
		goto done;
	}
	rc |= q_buf_adds(b, "{\"tokens\":[");
	for (int i = 0; i < n_lp && rc == 0; i++) {
		rc |= q_buf_adds(b, i ? "," : "");
		rc |= token_text(tok, lp[i].id, &piece, &text);
		rc |= put_str(b, text.p ? text.p : "", text.len);
	}
	rc |= q_buf_adds(b, "],\"token_logprobs\":[");
	for (int i = 0; i < n_lp && rc == 0; i++) {
		rc |= q_buf_adds(b, i ? "," : "");
		rc |= put_float(b, lp[i].logprob);
	}
	/* each entry: the best top_logprobs tokens, then the chosen one if it
	 * is not among them (as OpenAI and vLLM); a text seen twice once */
	rc |= q_buf_adds(b, "],\"top_logprobs\":[");
	for (int i = 0; i < n_lp && rc == 0; i++) {
		int n_top = lp[i].n_top < req->top_logprobs ? lp[i].n_top : req->top_logprobs, chosen = 0;
		size_t seen_off[Q_API_MAX_TOP + 1], seen_len[Q_API_MAX_TOP + 1];
		int n_seen = 0;
		q_buf keys = Q_BUF_INIT;
		rc |= q_buf_adds(b, i ? ",{" : "{");
		for (int j = 0; j <= n_top && rc == 0; j++) {
			if (j == n_top && chosen)
				break;
			int32_t id = j < n_top ? lp[i].top_id[j] : lp[i].id;
			float v = j < n_top ? lp[i].top_lp[j] : lp[i].logprob;
			chosen |= id == lp[i].id;
			rc |= token_text(tok, id, &piece, &text);
			int dup = 0;
			for (int s = 0; s < n_seen && !dup; s++)
				dup = seen_len[s] == text.len && !memcmp(keys.p + seen_off[s], text.p, text.len);
			if (dup || rc)
				continue;
			seen_off[n_seen] = keys.len;
			seen_len[n_seen++] = text.len;
			rc |= q_buf_add(&keys, text.p ? text.p : "", text.len);
			rc |= q_buf_adds(b, n_seen > 1 ? "," : "");
			rc |= put_str(b, text.p ? text.p : "", text.len);
			rc |= q_buf_addc(b, ':');
			rc |= put_float(b, v);
		}
		q_buf_free(&keys);
		rc |= q_buf_addc(b, '}');
	}
	rc |= q_buf_adds(b, "],\"text_offset\":[");
	size_t off = offset0;
	for (int i = 0; i < n_lp && rc == 0; i++) {
		rc |= q_buf_printf(b, i ? ",%zu" : "%zu", off);
		rc |= token_text(tok, lp[i].id, &piece, &text);
		off += n_chars(piece.p ? piece.p : "", piece.len);
	}
	rc |= q_buf_adds(b, "]}");
done:
	q_buf_free(&piece);
	q_buf_free(&text);
	return rc ? -1 : 0;
}

const char *q_api_finish_reason(enum q_done reason)
{
	switch (reason) {
	case Q_DONE_EOG:
	case Q_DONE_STOP: return "stop";
	case Q_DONE_LENGTH:
	case Q_DONE_CTX: return "length";
	case Q_DONE_CANCEL: return "cancelled";
	case Q_DONE_ERROR: return "error";
	}
	return NULL;
}

/* "id", "object", "created", "model" of an OpenAI object. */
static int put_head(const q_api_meta *m, const char *object, q_buf *b)
{
	int rc = q_buf_adds(b, "{\"id\":");
	rc |= put_cstr(b, m->id);
	rc |= q_buf_printf(b, ",\"object\":\"%s\",\"created\":%lld,\"model\":", object, (long long)m->created);
	rc |= put_cstr(b, m->model);
	return rc;
}

/* "model", "created_at" of an Ollama object (Go's RFC 3339 in UTC). */
static int put_ollama_head(const q_api_meta *m, q_buf *b)
{
	struct tm tm;
	time_t t = (time_t)m->created;
	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof tm);
	int rc = q_buf_adds(b, "{\"model\":");
	rc |= put_cstr(b, m->model);
	rc |= q_buf_printf(b, ",\"created_at\":\"%04d-%02d-%02dT%02d:%02d:%02d.000000Z\"", tm.tm_year + 1900,
			   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return rc;
}

static int put_usage(const q_api_stats *st, q_buf *b)
{
	return q_buf_printf(b, "\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d}",
			    st->prompt_tokens, st->completion_tokens, st->prompt_tokens + st->completion_tokens);
}

static int put_reason(enum q_done reason, q_buf *b)
{
	const char *r = q_api_finish_reason(reason);
	return r ? q_buf_printf(b, "\"%s\"", r) : q_buf_adds(b, "null");
}

/* The text of prompt k for echo: its ids decoded, less a BOS in front. */
static int put_echo(const q_api_req *req, int k, const q_tok *tok, q_buf *text)
{
	const q_ids *p = &req->prompts[k];
	size_t skip = p->n && p->v[0] == q_tok_bos(tok);
	return q_tok_decode(tok, p->v + skip, p->n - skip, text);
}

/* Ollama's final fields after "done": done_reason and the times. */
static int put_ollama_done(enum q_done reason, const q_api_stats *st, q_buf *b)
{
	int rc = q_buf_adds(b, ",\"done\":true,\"done_reason\":");
	rc |= put_reason(reason ? reason : Q_DONE_EOG, b);
	rc |= q_buf_printf(b,
			   ",\"total_duration\":%lld,\"load_duration\":%lld,\"prompt_eval_count\":%d,"
			   "\"prompt_eval_duration\":%lld,\"eval_count\":%d,\"eval_duration\":%lld}",
			   (long long)st->total_ns, (long long)st->load_ns, st->prompt_tokens, (long long)st->prompt_ns,
			   st->completion_tokens, (long long)st->eval_ns);
	return rc;
}

int q_api_format_response(const q_api_req *req, const q_api_meta *meta, const q_api_choice *ch, int n_choices,
			  const q_api_stats *st, const q_tok *tok, q_buf *out)
{
	int rc = 0;
	if (!is_openai(req->kind)) {
		const q_api_choice *c = n_choices > 0 ? &ch[0] : NULL;
		const char *text = c && c->text.p ? c->text.p : "";
		size_t len = c ? c->text.len : 0;
		rc |= put_ollama_head(meta, out);
		if (req->kind == Q_API_OLLAMA_CHAT) {
			rc |= q_buf_adds(out, ",\"message\":{\"role\":\"assistant\",\"content\":");
			rc |= put_str(out, text, len);
			rc |= q_buf_addc(out, '}');
		} else {
			rc |= q_buf_adds(out, ",\"response\":");
			rc |= put_str(out, text, len);
		}
		rc |= put_ollama_done(c ? c->reason : 0, st, out);
		return rc ? -1 : 0;
	}
	int chat = req->kind == Q_API_CHAT;
	q_buf echo = Q_BUF_INIT;
	rc |= put_head(meta, chat ? "chat.completion" : "text_completion", out);
	rc |= q_buf_adds(out, ",\"choices\":[");
	for (int i = 0; i < n_choices && rc == 0; i++) {
		const q_api_choice *c = &ch[i];
		const char *text = c->text.p ? c->text.p : "";
		rc |= q_buf_printf(out, i ? ",{\"index\":%d," : "{\"index\":%d,", i);
		q_buf_reset(&echo);
		if (!chat && req->echo && req->n > 0 && i / req->n < req->n_prompts)
			rc |= put_echo(req, i / req->n, tok, &echo);
		size_t off0 = n_chars(echo.p ? echo.p : "", echo.len);
		if (chat) {
			rc |= q_buf_adds(out, "\"message\":{\"role\":\"assistant\",\"content\":");
			rc |= put_str(out, text, c->text.len);
			rc |= q_buf_adds(out, "},");
		} else {
			rc |= q_buf_adds(out, "\"text\":");
			rc |= q_buf_add(&echo, text, c->text.len);
			rc |= put_str(out, echo.p ? echo.p : "", echo.len);
			rc |= q_buf_addc(out, ',');
		}
		rc |= q_buf_adds(out, "\"logprobs\":");
		if (req->logprobs)
			rc |= put_logprobs(req, c->lp, c->n_lp, off0, tok, out);
		else
			rc |= q_buf_adds(out, "null");
		rc |= q_buf_adds(out, ",\"finish_reason\":");
		rc |= put_reason(c->reason, out);
		rc |= q_buf_addc(out, '}');
	}
	rc |= q_buf_adds(out, "],");
	rc |= put_usage(st, out);
	rc |= q_buf_addc(out, '}');
	q_buf_free(&echo);
	return rc ? -1 : 0;
}

int q_api_format_delta(const q_api_req *req, const q_api_meta *meta, int i, int first, const char *text, size_t n,
		       const q_api_lp *lp, int n_lp, enum q_done reason, const q_tok *tok, q_buf *out)
{
	int rc = 0;
	if (!text)
		text = "";
	if (!is_openai(req->kind)) {
		if (n == 0)
			return 0;
		rc |= put_ollama_head(meta, out);
		if (req->kind == Q_API_OLLAMA_CHAT) {
			rc |= q_buf_adds(out, ",\"message\":{\"role\":\"assistant\",\"content\":");
			rc |= put_str(out, text, n);
			rc |= q_buf_addc(out, '}');
		} else {
			rc |= q_buf_adds(out, ",\"response\":");
			rc |= put_str(out, text, n);
		}
		rc |= q_buf_adds(out, ",\"done\":false}\n");
		return rc ? -1 : 0;
	}
	int chat = req->kind == Q_API_CHAT;
	q_buf echo = Q_BUF_INIT;
	size_t off0 = 0;
	rc |= q_buf_adds(out, "data: ");
	rc |= put_head(meta, chat ? "chat.completion.chunk" : "text_completion", out);
	rc |= q_buf_printf(out, ",\"choices\":[{\"index\":%d,", i);
	if (chat) {
		rc |= q_buf_adds(out, "\"delta\":{");
		if (first)
			rc |= q_buf_adds(out, "\"role\":\"assistant\",\"content\":");
		else if (n)
			rc |= q_buf_adds(out, "\"content\":");
		if (first || n)
			rc |= put_str(out, text, n);
		rc |= q_buf_adds(out, "},");
	} else {
		if (first && req->echo && req->n > 0 && i / req->n < req->n_prompts)
			rc |= put_echo(req, i / req->n, tok, &echo);
		off0 = n_chars(echo.p ? echo.p : "", echo.len);
		rc |= q_buf_add(&echo, text, n);
		rc |= q_buf_adds(out, "\"text\":");
		rc |= put_str(out, echo.p ? echo.p : "", echo.len);
		rc |= q_buf_addc(out, ',');
	}
	rc |= q_buf_adds(out, "\"logprobs\":");
	if (req->logprobs && n_lp > 0)
		rc |= put_logprobs(req, lp, n_lp, off0, tok, out);
	else
		rc |= q_buf_adds(out, "null");
	rc |= q_buf_adds(out, ",\"finish_reason\":");
	rc |= put_reason(reason, out);
	rc |= q_buf_adds(out, "}]");
	if (req->include_usage)
		rc |= q_buf_adds(out, ",\"usage\":null");
	rc |= q_buf_adds(out, "}\n\n");
	q_buf_free(&echo);
	return rc ? -1 : 0;
}

int q_api_format_end(const q_api_req *req, const q_api_meta *meta, const q_api_choice *ch, int n_choices,
		     const q_api_stats *st, q_buf *out)
{
	int rc = 0;
	if (!is_openai(req->kind)) {
		rc |= put_ollama_head(meta, out);
		if (req->kind == Q_API_OLLAMA_CHAT)
			rc |= q_buf_adds(out, ",\"message\":{\"role\":\"assistant\",\"content\":\"\"}");
		else
			rc |= q_buf_adds(out, ",\"response\":\"\"");
		rc |= put_ollama_done(n_choices > 0 ? ch[0].reason : 0, st, out);
		rc |= q_buf_addc(out, '\n');
		return rc ? -1 : 0;
	}
	if (req->include_usage) {
		rc |= q_buf_adds(out, "data: ");
		rc |= put_head(meta, req->kind == Q_API_CHAT ? "chat.completion.chunk" : "text_completion", out);
		rc |= q_buf_adds(out, ",\"choices\":[],");
		rc |= put_usage(st, out);
		rc |= q_buf_adds(out, "}\n\n");
	}
	rc |= q_buf_adds(out, "data: [DONE]\n\n");
	return rc ? -1 : 0;
}

int q_api_format_error(const q_api_err *e, q_buf *out)
{
	int rc = q_buf_adds(out, "{\"error\":{\"message\":");
	rc |= put_cstr(out, e->message);
	rc |= q_buf_adds(out, ",\"type\":");
	rc |= put_cstr(out, e->type ? e->type : "invalid_request_error");
	rc |= q_buf_adds(out, ",\"param\":");
	rc |= put_cstr(out, e->param);
	rc |= q_buf_adds(out, ",\"code\":");
	rc |= put_cstr(out, e->code);
	rc |= q_buf_adds(out, "}}");
	return rc ? -1 : 0;
}
