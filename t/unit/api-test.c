/*
 * api-test - drive lib/api without a model or a server (t/t5000-api.t).
 *
 *   api-test parse KIND TOKENIZER [--ctx N] [--model NAME] [--template FILE] [BODY]
 *       parse the request body in file BODY (default stdin) as KIND (chat,
 *       completions, generate, ollama-chat) and print what was parsed, one
 *       key=value a line in a fixed order; exit 0.  A rejected request
 *       prints status, type, param, code, message and the error body
 *       (json=...); exit 1.  --ctx defaults to 2048, --model to "q".
 *   api-test format KIND TOKENIZER SPEC
 *       SPEC is a JSON file {"body", "meta": {"id", "created", "model"},
 *       "choices": [{"text", "reason", "n_gen", "lp"}], "stats": {...},
 *       "events": [{"i", "first", "text", "lp", "reason"}]}; an lp is
 *       [[id, logprob, [[top id, logprob], ...]], ...].  Prints the whole
 *       response and a newline, then each event and the stream's end as
 *       they would go on the wire.
 *   api-test logprobs N_TOP ID LOGIT...
 *       q_api_logprobs over the logits ("-inf" allowed): id=, logprob=,
 *       then one "top=id logprob" line per alternative.
 *
 * TOKENIZER: a .gguf file or a tokenizer directory.  Exit 2: usage or
 * setup errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "buf.h"
#include "err.h"
#include "gguf.h"
#include "tok.h"

static void die(const char *what)
{
	fprintf(stderr, "api-test: %s: %s\n", what, q_errmsg());
	exit(2);
}

static void usage(void)
{
	fputs("usage: api-test parse|format KIND TOKENIZER ... | logprobs N_TOP ID LOGIT...\n", stderr);
	exit(2);
}

static enum q_api_kind parse_kind(const char *s)
{
	static const char *const names[] = {"chat", "completions", "generate", "ollama-chat"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum q_api_kind)(Q_API_CHAT + i);
	usage();
	return Q_API_CHAT;
}

static q_gguf *gguf;

static q_tok *load_tok(const char *path)
{
	size_t n = strlen(path);
	q_tok *t;
	if (n > 5 && strcmp(path + n - 5, ".gguf") == 0) {
		if (!(gguf = q_gguf_open(path)))
			die(path);
		t = q_tok_from_gguf(gguf);
	} else {
		t = q_tok_from_hf(path);
	}
	if (!t)
		die(path);
	return t;
}

static const char *str_or_null(const char *s)
{
	return s ? s : "(null)";
}

static void print_req(const q_api_req *r)
{
	static const char *const kinds[] = {"", "chat", "completions", "generate", "ollama-chat"};
	const q_sample_params *p = &r->sample;
	printf("kind=%s\nn_prompts=%d\n", kinds[r->kind], r->n_prompts);
	for (int i = 0; i < r->n_prompts; i++) {
		printf("prompt%d=", i);
		for (size_t j = 0; j < r->prompts[i].n; j++)
			printf(j ? " %d" : "%d", r->prompts[i].v[j]);
		printf("\n");
	}
	printf("n=%d\nmax_tokens=%d\n", r->n, r->max_tokens);
	printf("temp=%g\ntop_k=%d\ntop_p=%g\nmin_p=%g\n", (double)p->temp, p->top_k, (double)p->top_p,
	       (double)p->min_p);
	printf("repeat_penalty=%g\npresence_penalty=%g\nfrequency_penalty=%g\npenalty_last_n=%d\n",
	       (double)p->repeat_penalty, (double)p->presence_penalty, (double)p->frequency_penalty,
	       p->penalty_last_n);
	printf("seed_given=%d\nseed=%llu\n", r->seed_given, (unsigned long long)p->seed);
	printf("bias=");
	for (int i = 0; i < p->n_bias; i++)
		printf(i ? ",%d:%g" : "%d:%g", p->bias[i].id, (double)p->bias[i].bias);
	printf("\nbias_is_req=%d\n", p->bias == r->bias);
	printf("n_stop=%d\n", r->n_stop);
	for (int i = 0; i < r->n_stop; i++)
		printf("stop%d=%s\n", i, r->stop[i]);
	printf("logprobs=%d\ntop_logprobs=%d\necho=%d\nstream=%d\ninclude_usage=%d\npriority=%d\n", r->logprobs,
	       r->top_logprobs, r->echo, r->stream, r->include_usage, r->priority);
	printf("model=%s\nuser=%s\n", str_or_null(r->model), str_or_null(r->user));
}

static int cmd_parse(int argc, char **argv)
{
	if (argc < 4)
		usage();
	enum q_api_kind kind = parse_kind(argv[2]);
	q_tok *tok = load_tok(argv[3]);
	q_api_ctx ctx = {.tok = tok, .model_name = "q", .n_ctx = 2048};
	const char *body_path = "-";
	q_buf tmpl = Q_BUF_INIT, body = Q_BUF_INIT;
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--ctx") == 0 && i + 1 < argc)
			ctx.n_ctx = atoi(argv[++i]);
		else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
			ctx.model_name = argv[++i];
		else if (strcmp(argv[i], "--template") == 0 && i + 1 < argc) {
			if (q_buf_read_file(&tmpl, argv[++i]) < 0)
				die(argv[i]);
			ctx.chat_template = tmpl.p ? tmpl.p : "";
		} else if (argv[i][0] == '-' && argv[i][1])
			usage();
		else
			body_path = argv[i];
	}
	if (q_buf_read_file(&body, body_path) < 0)
		die(body_path);
	q_api_req req;
	q_api_err err;
	int rc = q_api_parse(kind, body.p ? body.p : "", body.len, &ctx, &req, &err);
	if (rc == 0) {
		print_req(&req);
	} else {
		q_buf js = Q_BUF_INIT;
		if (q_api_format_error(&err, &js) < 0)
			die("format_error");
		printf("status=%d\ntype=%s\nparam=%s\ncode=%s\nmessage=%s\njson=%s\n", err.status, str_or_null(err.type),
		       str_or_null(err.param), str_or_null(err.code), err.message, js.p);
		q_buf_free(&js);
		if (req.prompts || req.n_prompts || req.stop || req.bias || req.model || req.user) {
			printf("req not cleared after an error\n");
			rc = 3;
		}
	}
	q_api_req_free(&req);
	q_buf_free(&body);
	q_buf_free(&tmpl);
	q_tok_free(tok);
	q_gguf_free(gguf);
	return rc == 0 ? 0 : rc == 3 ? 3 : 1;
}

static enum q_done parse_reason(const cJSON *j)
{
	static const char *const names[] = {"eog", "stop", "length", "ctx", "cancel", "error"};
	for (int i = 0; cJSON_IsString(j) && i < 6; i++)
		if (strcmp(j->valuestring, names[i]) == 0)
			return (enum q_done)(Q_DONE_EOG + i);
	return (enum q_done)0;
}

/* [[id, logprob, [[id, lp], ...]], ...] into a new array; *n gets its size. */
static q_api_lp *parse_lp(const cJSON *a, int *n)
{
	*n = cJSON_GetArraySize(a);
	q_api_lp *lp = calloc((size_t)*n + 1, sizeof *lp);
	if (!lp)
		exit(2);
	int i = 0;
	for (const cJSON *e = a ? a->child : NULL; e; e = e->next, i++) {
		lp[i].id = cJSON_GetArrayItem(e, 0)->valueint;
		const cJSON *v = cJSON_GetArrayItem(e, 1);
		lp[i].logprob = cJSON_IsString(v) ? -INFINITY : (float)v->valuedouble; /* "-inf" */
		const cJSON *top = cJSON_GetArrayItem(e, 2);
		for (const cJSON *t = top ? top->child : NULL; t && lp[i].n_top < Q_API_MAX_TOP; t = t->next) {
			lp[i].top_id[lp[i].n_top] = cJSON_GetArrayItem(t, 0)->valueint;
			lp[i].top_lp[lp[i].n_top++] = (float)cJSON_GetArrayItem(t, 1)->valuedouble;
		}
	}
	return lp;
}

static int cmd_format(int argc, char **argv)
{
	if (argc != 5)
		usage();
	enum q_api_kind kind = parse_kind(argv[2]);
	q_tok *tok = load_tok(argv[3]);
	q_buf spec_text = Q_BUF_INIT, out = Q_BUF_INIT, body = Q_BUF_INIT;
	if (q_buf_read_file(&spec_text, argv[4]) < 0)
		die(argv[4]);
	cJSON *spec = cJSON_Parse(spec_text.p ? spec_text.p : "");
	if (!spec)
		die("spec: invalid JSON");
	char *b = cJSON_PrintUnformatted(cJSON_GetObjectItem(spec, "body"));
	q_api_ctx ctx = {.tok = tok, .model_name = "q", .n_ctx = 2048};
	q_api_req req;
	q_api_err err;
	if (!b || q_api_parse(kind, b, strlen(b), &ctx, &req, &err) < 0) {
		fprintf(stderr, "api-test: spec body: %s\n", err.message);
		exit(2);
	}
	free(b);
	const cJSON *m = cJSON_GetObjectItem(spec, "meta"), *st = cJSON_GetObjectItem(spec, "stats");
	q_api_meta meta = {.created = (int64_t)cJSON_GetObjectItem(m, "created")->valuedouble,
			   .model = cJSON_GetObjectItem(m, "model")->valuestring};
	snprintf(meta.id, sizeof meta.id, "%s", cJSON_GetObjectItem(m, "id")->valuestring);
	q_api_stats stats = {0};
#define STAT(f) stats.f = cJSON_GetObjectItem(st, #f) ? (__typeof__(stats.f))cJSON_GetObjectItem(st, #f)->valuedouble : 0
	STAT(prompt_tokens); STAT(completion_tokens); STAT(total_ns); STAT(load_ns); STAT(prompt_ns); STAT(eval_ns);
	const cJSON *chs = cJSON_GetObjectItem(spec, "choices");
	int n_ch = cJSON_GetArraySize(chs), i = 0;
	q_api_choice *ch = calloc((size_t)n_ch + 1, sizeof *ch);
	if (!ch)
		exit(2);
	for (const cJSON *c = chs ? chs->child : NULL; c; c = c->next, i++) {
		q_buf_adds(&ch[i].text, cJSON_GetObjectItem(c, "text")->valuestring);
		ch[i].reason = parse_reason(cJSON_GetObjectItem(c, "reason"));
		ch[i].n_gen = cJSON_GetObjectItem(c, "n_gen") ? cJSON_GetObjectItem(c, "n_gen")->valueint : 0;
		ch[i].lp = parse_lp(cJSON_GetObjectItem(c, "lp"), &ch[i].n_lp);
		ch[i].cap_lp = ch[i].n_lp;
	}
	if (q_api_format_response(&req, &meta, ch, n_ch, &stats, tok, &out) < 0 || q_buf_addc(&out, '\n') < 0)
		die("format_response");
	const cJSON *evs = cJSON_GetObjectItem(spec, "events");
	for (const cJSON *e = evs ? evs->child : NULL; e; e = e->next) {
		int n_lp;
		q_api_lp *lp = parse_lp(cJSON_GetObjectItem(e, "lp"), &n_lp);
		const char *text = cJSON_GetObjectItem(e, "text")->valuestring;
		if (q_api_format_delta(&req, &meta, cJSON_GetObjectItem(e, "i")->valueint,
				       cJSON_IsTrue(cJSON_GetObjectItem(e, "first")), text, strlen(text), lp, n_lp,
				       parse_reason(cJSON_GetObjectItem(e, "reason")), tok, &out) < 0)
			die("format_delta");
		free(lp);
	}
	if (q_api_format_end(&req, &meta, ch, n_ch, &stats, &out) < 0)
		die("format_end");
	fwrite(out.p, 1, out.len, stdout);
	for (i = 0; i < n_ch; i++) {
		q_buf_free(&ch[i].text);
		free(ch[i].lp);
	}
	free(ch);
	cJSON_Delete(spec);
	q_api_req_free(&req);
	q_buf_free(&out);
	q_buf_free(&body);
	q_buf_free(&spec_text);
	q_tok_free(tok);
	q_gguf_free(gguf);
	return 0;
}

static int cmd_logprobs(int argc, char **argv)
{
	if (argc < 5)
		usage();
	int n_top = atoi(argv[2]), id = atoi(argv[3]), n = argc - 4;
	float *logits = malloc((size_t)n * sizeof *logits);
	if (!logits)
		exit(2);
	for (int i = 0; i < n; i++)
		logits[i] = strcmp(argv[4 + i], "-inf") == 0 ? -INFINITY : strtof(argv[4 + i], NULL);
	q_api_lp lp;
	memset(&lp, 0xff, sizeof lp);
	q_api_logprobs(logits, n, id, n_top, &lp);
	printf("id=%d\nlogprob=%.6f\nn_top=%d\n", lp.id, (double)lp.logprob, lp.n_top);
	for (int i = 0; i < lp.n_top; i++)
		printf("top=%d %.6f\n", lp.top_id[i], (double)lp.top_lp[i]);
	free(logits);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "parse") == 0)
		return cmd_parse(argc, argv);
	if (strcmp(argv[1], "format") == 0)
		return cmd_format(argc, argv);
	if (strcmp(argv[1], "logprobs") == 0)
		return cmd_logprobs(argc, argv);
	usage();
	return 2;
}
