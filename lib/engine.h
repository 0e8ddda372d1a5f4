/*
 * engine.h - the batch scheduler: many requests (sequences) run together
 * over one model and one paged KV pool.
 *
 * Each q_engine_step assembles ONE batch from all running sequences: first
 * one decode token for every sequence that is generating, then prefill
 * chunks of the sequences still reading their prompt, oldest first, up to
 * the per-step token budget (chunked prefill).  It runs the model once,
 * samples the next token of every sequence whose chunk reached its end,
 * and streams the results through the request's callbacks: detokenized
 * text (never broken UTF-8, stop strings held back and removed), token
 * ids, and optionally logits.
 *
 * KV blocks are taken as sequences grow.  When the pool runs dry, the
 * oldest sequences win: a sequence may preempt newer ones that are not in
 * the current batch (their blocks are freed and they later recompute their
 * tokens), so the oldest always progresses; a sequence that cannot fit in
 * the whole pool fails alone.
 *
 * Prefix caching (on unless no_prefix_cache): once the K/V of a full block
 * of prompt tokens are computed, the block is published in the pool's
 * prefix index (kv.h), and a sequence whose prompt starts with published
 * blocks takes them over instead of computing them (again after a
 * preemption too), always computing at least its last prompt token.  The
 * logits are bit for bit those of a full computation (only blocks whose
 * tokens the kernels compute the same way whatever the prompt's length are
 * shared; see engine.c).  Requests with all_logits compute every position
 * (and still publish).  Blocks of finished sequences stay cached until the
 * pool needs them.
 *
 * Everything per step is preallocated at q_engine_new (batch arrays) and
 * q_engine_add (a request's token buffer, sampler, stop matcher): the
 * per-token loop allocates nothing.  Not thread-safe: one thread drives an
 * engine.
 */
#ifndef Q_ENGINE_H
#define Q_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "sample.h"
#include "tok.h"

typedef struct q_engine q_engine;

typedef struct q_engine_config {
	int max_seqs;          /* sequences running at once (default 8) */
	int n_ctx;             /* positions per sequence (default min(n_ctx_train, 4096)) */
	int batch_tokens;      /* tokens per step (default 512) */
	int max_logits;        /* rows of logits per step (default max_seqs; raise
				  it for requests with all_logits) */
	int block_size;        /* tokens per KV block (default 16) */
	int64_t kv_blocks;     /* pool size (default: max_seqs full contexts) */
	qk_type kv_type;       /* QK_F16 (default) or QK_F32 */
	int no_prefix_cache;   /* 1: neither reuse nor publish prompt blocks */
} q_engine_config;

/* All zero: every default above (prefix caching on). */
#define Q_ENGINE_CONFIG_INIT {0, 0, 0, 0, 0, 0, QK_F16, 0}

enum q_done {
	Q_DONE_EOG = 1,        /* end-of-generation token (not passed on as text) */
	Q_DONE_STOP,           /* a stop string (not passed on) */
	Q_DONE_LENGTH,         /* n_predict tokens generated */
	Q_DONE_CTX,            /* the context is full */
	Q_DONE_CANCEL,         /* a callback returned nonzero */
	Q_DONE_ERROR,          /* see result.error */
};

/* Passed to the done callback; times are seconds on a monotonic clock. */
typedef struct q_result {
	int id;
	enum q_done reason;
	const char *error;     /* Q_DONE_ERROR: the message */
	int n_prompt, n_gen;   /* prompt tokens, generated tokens (EOG included) */
	double t_add;          /* added */
	double t_prompt;       /* the whole prompt was read (its logits computed) */
	double t_first, t_last; /* first and last token sampled */
	int n_preempt;         /* times its cache was dropped and recomputed */
	int n_cached;          /* prompt tokens taken from the prefix cache, not computed
				  (summed over recomputations after preemption) */
} q_result;

typedef struct q_req {
	const int32_t *prompt; /* copied by q_engine_add */
	int n_prompt;          /* >= 1 */
	int n_predict;         /* tokens to generate at most (0: read the prompt only) */
	q_sample_params sample;
	const char *const *stop; /* n_stop strings, copied */
	int n_stop;
	int all_logits;        /* logits callback for every prompt position too */
	/* Callbacks (any may be NULL); ud is theirs.  Returning nonzero from
	 * text/token/logits cancels the request. */
	int (*on_text)(void *ud, const char *s, size_t n);
	int (*on_token)(void *ud, int32_t id);
	/* logits for the token after position pos (n_vocab floats of the model) */
	int (*on_logits)(void *ud, int pos, const float *logits, int n_vocab);
	void (*on_done)(void *ud, const q_result *r);
	void *ud;
	q_sample_mask_fn mask; /* optional logit mask (constrained decoding) */
	void *mask_ud;
} q_req;

/* An engine over model m (its tokenizer tok) on backend be.  NULL +
 * q_error.  m, tok and be must outlive it. */
q_engine *q_engine_new(const q_model *m, const q_tok *tok, qk_backend *be, const q_engine_config *c);
void q_engine_free(q_engine *e);
/* The model it runs. */
const q_model *q_engine_model(const q_engine *e);
/* The configuration with its defaults filled in. */
const q_engine_config *q_engine_conf(const q_engine *e);

/* Queue a request; it starts when a sequence slot is free.  Its id (>= 0),
 * or -1 + q_error for an invalid request (empty prompt, prompt longer than
 * the context, token id outside the vocabulary, bad sampling values). */
int q_engine_add(q_engine *e, const q_req *r);
/* One batch.  Returns the number of requests not finished yet (0: idle), or
 * -1 + q_error when the model fails (the requests of that batch end with
 * Q_DONE_ERROR). */
int q_engine_step(q_engine *e);
/* End request id (queued or running) with Q_DONE_CANCEL now: its on_done
 * is called and its KV blocks go back to the pool.  Call between steps,
 * never from a callback.  0, or -1 + q_error when no such request is
 * queued or running. */
int q_engine_cancel(q_engine *e, int id);
/* Requests queued or running. */
int q_engine_pending(const q_engine *e);
/* KV blocks in use (held by sequences: cached blocks that no sequence
 * holds count as free); *total gets the pool's size. */
int64_t q_engine_kv_used(const q_engine *e, int64_t *total);
/* Step until every request is finished.  0, or -1 + q_error. */
int q_engine_run(q_engine *e);

/* Counters since q_engine_new. */
typedef struct q_engine_stats {
	int64_t steps;         /* batches run */
	int64_t mixed_steps;   /* batches holding both decode and prefill tokens */
	int64_t decode_tokens; /* sampled tokens fed back (one per generating sequence and step) */
	int64_t prefill_tokens; /* prompt tokens fed, and tokens recomputed after preemption */
	int64_t preemptions;   /* sequences whose cache was dropped for older ones */
	int64_t prefix_hit_tokens; /* prompt tokens not computed thanks to the prefix cache */
	int64_t prefix_evicted; /* cached blocks evicted to make room */
} q_engine_stats;
const q_engine_stats *q_engine_get_stats(const q_engine *e);

#endif
