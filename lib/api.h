/*
 * api.h - the HTTP APIs' JSON, both ways: OpenAI (/v1/chat/completions,
 * /v1/completions) and Ollama (/api/generate, /api/chat) request bodies
 * parsed into one request shape the server runs, and the results written
 * back as those APIs' responses (whole, or streamed as SSE / NDJSON).
 * No I/O, no threads: pure functions over cJSON, the tokenizer and buffers.
 *
 * Request rules (as OpenAI / Ollama document them; what they leave open
 * follows vLLM and llama-server):
 * - Unknown fields are ignored.  A known field of the wrong type or out of
 *   range is a 400 whose message and param name it ("'temperature' must
 *   be a number", param "temperature").
 * - Prompts end as token ids: chat messages rendered with the model's chat
 *   template (or the server's --chat-template) and tokenized with special
 *   tokens parsed and no BOS added unless the template leaves it out and the
 *   model adds one (as llama-server does); completions' prompt as a string,
 *   an array of strings, an array of ids or an array of arrays of ids (BOS
 *   as the model says for text; ids taken as given).
 * - Choices: every prompt x n (n in [1, 16]); choice k is prompt k / n.
 * - Ollama's num_predict (-1, -2: no limit) is cut to what the context
 *   leaves instead of refused; options.num_ctx, format, keep_alive are
 *   ignored, as are OpenAI's suffix, tool_choice and response_format.
 * - Chat messages: content a string or text parts (joined with "\n", as
 *   vLLM does); role "developer" is rendered as "system".
 * - A prompt longer than the context, or prompt + max_tokens beyond it when
 *   max_tokens is given, is a 400 that gives both token counts.
 *
 * Ownership: a q_api_req owns everything it points to; q_api_req_free.
 */
#ifndef Q_API_H
#define Q_API_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "engine.h"
#include "sample.h"
#include "tok.h"

enum q_api_kind {
	Q_API_CHAT = 1,        /* POST /v1/chat/completions */
	Q_API_COMPLETIONS,     /* POST /v1/completions */
	Q_API_OLLAMA_GENERATE, /* POST /api/generate */
	Q_API_OLLAMA_CHAT,     /* POST /api/chat */
};

/* An error for the client: HTTP status and OpenAI's error object
 * {"error": {"message", "type", "param", "code"}} (param / code may be NULL). */
typedef struct q_api_err {
	int status;            /* 400, 404, ... */
	const char *type;      /* "invalid_request_error", "not_found_error", ... */
	const char *param;     /* the offending field, or NULL */
	const char *code;      /* e.g. "context_length_exceeded", or NULL */
	char message[512];
} q_api_err;

/* What the server tells the parser. */
typedef struct q_api_ctx {
	const q_tok *tok;
	const char *chat_template; /* --chat-template source, or NULL: the model's */
	const char *model_name;    /* the served model's name (requests may name it or leave it out) */
	int n_ctx;                 /* positions per sequence */
} q_api_ctx;

typedef struct q_api_req {
	enum q_api_kind kind;
	q_ids *prompts;        /* [n_prompts] token ids */
	int n_prompts;
	int n;                 /* choices per prompt, 1..16 */
	int max_tokens;        /* -1: not given (run to the end of the context) */
	q_sample_params sample; /* defaults: temp 1, top_p 1, top_k off, min_p 0,
				   penalties off (OpenAI's); Ollama's: temp 0.8,
				   top_k 40, top_p 0.9, repeat_penalty 1.1 over 64;
				   seed: given, else random (seed_given 0:
				   the caller varies it per choice, e.g.
				   seed + k) */
	int seed_given;
	q_logit_bias *bias;    /* sample.bias points here */
	char **stop;           /* [n_stop] non-empty strings */
	int n_stop;
	int logprobs;          /* chat: logprobs true; completions: logprobs >= 0 given */
	int top_logprobs;      /* chat: top_logprobs 0..20; completions: logprobs 0..5 */
	int echo;              /* completions: echo the prompt text before the completion */
	int stream;            /* OpenAI default false, Ollama default true */
	int include_usage;     /* stream_options.include_usage */
	int priority;          /* lower runs first; default 0 */
	char *model;           /* as requested (NULL: not given) */
	char *user;
} q_api_req;

/* Parse body[0..len) for kind.  0, or -1 with *err filled (a 400 for bad
 * JSON, wrong types and ranges, a prompt too long for the context; 404
 * "model_not_found" when a model other than ctx->model_name is named, for
 * OpenAI kinds; Ollama accepts any name as vLLM accepts no other). */
int q_api_parse(enum q_api_kind kind, const char *body, size_t len, const q_api_ctx *ctx, q_api_req *req,
		q_api_err *err);
void q_api_req_free(q_api_req *req);

/* One sampled token's log-probabilities (log-softmax of the model's raw
 * logits, before any sampling transform), with the top alternatives. */
#define Q_API_MAX_TOP 20
typedef struct q_api_lp {
	int32_t id;
	float logprob;
	int n_top;
	int32_t top_id[Q_API_MAX_TOP];
	float top_lp[Q_API_MAX_TOP];
} q_api_lp;

/* Fill lp for token id from a row of raw logits (n_vocab floats), with the
 * n_top best tokens (best first, ties by lower id). */
void q_api_logprobs(const float *logits, int n_vocab, int32_t id, int n_top, q_api_lp *lp);

/* Identity of one response. */
typedef struct q_api_meta {
	char id[64];           /* "chatcmpl-<hex>", "cmpl-<hex>" (the caller makes it) */
	int64_t created;       /* unix seconds */
	const char *model;     /* name to report */
} q_api_meta;

/* One choice as the server collected it. */
typedef struct q_api_choice {
	q_buf text;            /* the generated text (stop strings removed) */
	q_api_lp *lp;          /* [n_lp] when logprobs were asked */
	int n_lp, cap_lp;
	enum q_done reason;    /* why it ended (0 while running) */
	int n_gen;             /* tokens generated */
} q_api_choice;

/* Counts and times for usage / Ollama's final object (nanoseconds). */
typedef struct q_api_stats {
	int prompt_tokens;     /* summed over prompts (each counted once, not per n) */
	int completion_tokens; /* summed over choices */
	int64_t total_ns, load_ns, prompt_ns, eval_ns;
} q_api_stats;

/* finish_reason / done_reason of a q_done: "stop" (EOG, stop string),
 * "length" (max tokens, context full), "cancelled", "error". */
const char *q_api_finish_reason(enum q_done reason);

/* The whole (non-streamed) response body for req: choices[n_choices] (in
 * choice order), usage.  Appends to out; -1 + q_error on allocation failure. */
int q_api_format_response(const q_api_req *req, const q_api_meta *meta, const q_api_choice *ch, int n_choices,
			  const q_api_stats *st, const q_tok *tok, q_buf *out);

/* One streamed event of choice i: a piece of text (n may be 0) with the
 * logprobs of the tokens it came from (n_lp may be 0), and, when reason is
 * nonzero, the choice's end (finish_reason).  OpenAI: "data: {...}\n\n"
 * (chat: the first event of a choice carries delta.role "assistant"; the
 * caller says so with first; completions with echo: the first event starts
 * with the prompt's text, and text_offset counts from the event's start);
 * with include_usage every chunk has
 * "usage": null.  Ollama: "{...}\n" with done false (an ending Ollama
 * event writes nothing: q_api_format_end carries done_reason). */
int q_api_format_delta(const q_api_req *req, const q_api_meta *meta, int i, int first, const char *text, size_t n,
		       const q_api_lp *lp, int n_lp, enum q_done reason, const q_tok *tok, q_buf *out);

/* The end of a stream.  OpenAI: the usage chunk (choices [], usage) when
 * include_usage, then "data: [DONE]\n\n".  Ollama: the final object (done
 * true, done_reason of choice 0, total_duration, load_duration,
 * prompt_eval_count, prompt_eval_duration, eval_count, eval_duration;
 * /api/generate adds "response": "", /api/chat "message" with empty
 * content; no "context"). */
int q_api_format_end(const q_api_req *req, const q_api_meta *meta, const q_api_choice *ch, int n_choices,
		     const q_api_stats *st, q_buf *out);

/* {"error": {"message", "type", "param", "code"}} */
int q_api_format_error(const q_api_err *e, q_buf *out);

/* Set *err (status, type, param, code, printf message); returns -1. */
int q_api_fail(q_api_err *err, int status, const char *type, const char *param, const char *code, const char *fmt,
	       ...) __attribute__((format(printf, 6, 7)));

#endif
