/*
 * engine.c - the batch scheduler (see engine.h).
 *
 * Invariants:
 * - A request is either queued (e->queue, FIFO, no KV slot) or running
 *   (e->run[0..n_run), in admission order = age, each with its own KV
 *   sequence slot).  Finished requests are released at the end of the step
 *   that finished them.
 * - For a running request, tok[0..n_tok) are all its tokens (prompt, then
 *   generated ones that were not EOG); positions [0, n_past) are in the KV
 *   cache; n_past < n_tok while it runs (the last token is always still to
 *   be fed).  Preemption only resets n_past to 0.
 * - During a step, want is the number of tokens a request feeds in this
 *   batch (rows [row0, row0 + want)); only requests with want == 0 may be
 *   preempted, so the batch never refers to freed blocks.
 * - Logits of a position are passed on at most once (n_logits counts the
 *   positions already passed on), even when a preempted request recomputes.
 * - Prefix cache: the first n_share blocks of a request's prompt may be
 *   shared (full blocks whose every position is shareable, see
 *   shareable()); the first n_pub <= n_share blocks of its table are in the
 *   pool's prefix index: taken from it (attach: only while it holds no
 *   block, so n_past becomes n_pub * block_size) or published after the
 *   step that computed their last position.  Blocks at n_pub and after are
 *   its own, and it writes only positions >= n_past, past every published
 *   block: no shared block is ever written.  Preemption resets n_pub too.
 */
#include "engine.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "err.h"
#include "stop.h"

typedef struct rq {
	struct rq *next;       /* queue link */
	int id;
	q_req r;               /* callbacks and limits; r.prompt / r.stop not kept */
	int32_t *tok;          /* [cap] */
	int n_tok, cap, n_past, n_logits;
	int n_share, n_pub;    /* prompt blocks shareable, blocks of its table indexed */
	int seq;               /* KV sequence slot, -1 while queued */
	q_sampler *smp;
	q_stop stop;
	q_detok detok;
	q_buf piece, text;     /* detokenized bytes, text to pass on */
	int want, row0;        /* this step's share of the batch */
	enum q_done done;      /* nonzero once finished */
	q_result res;
	char err[256];
} rq;

struct q_engine {
	const q_model *m;
	const q_tok *tok;
	q_engine_config c;
	q_kv *kv;
	q_fwd *fwd;
	int n_vocab;           /* ids the tokenizer knows and the sampler draws from */
	rq *queue, *queue_tail;
	rq **run;              /* [max_seqs] */
	int n_run;
	int32_t *btok, *bpos, *bseq; /* [batch_tokens] */
	uint8_t *bout;
	int32_t *bnb, *bnbi;   /* [batch_tokens] */
	int next_id;
	q_engine_stats st;
};

/* Fill in defaults, check limits, build the pool and the forward scratch. */
q_engine *q_engine_new(const q_model *m, const q_tok *tok, qk_backend *be, const q_engine_config *cfg)
{
	const q_hparams *hp = q_model_hparams(m);
	q_engine_config c = *cfg;
	if (!c.max_seqs)
		c.max_seqs = 8;
	if (!c.n_ctx)
		c.n_ctx = hp->n_ctx_train > 0 && hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
	if (!c.batch_tokens)
		c.batch_tokens = 512;
	if (!c.max_logits)
		c.max_logits = c.max_seqs < c.batch_tokens ? c.max_seqs : c.batch_tokens;
	if (!c.block_size)
		c.block_size = 16;
	if (c.max_seqs < 1 || c.max_seqs > 4096 || c.n_ctx < 1 || c.n_ctx > 1 << 22 || c.batch_tokens < 1 ||
	    c.batch_tokens > 1 << 16 || c.max_logits < 1 || c.max_logits > c.batch_tokens || c.block_size < 1 ||
	    c.block_size > 4096)
		return q_error("engine: invalid configuration (%d sequences, context %d, batch %d, logits %d, block %d)",
			       c.max_seqs, c.n_ctx, c.batch_tokens, c.max_logits, c.block_size), NULL;
	int max_blocks = (c.n_ctx + c.block_size - 1) / c.block_size;
	if (!c.kv_blocks)
		c.kv_blocks = (int64_t)c.max_seqs * max_blocks;
	if (q_tok_n_vocab(tok) > hp->n_vocab)
		return q_error("the tokenizer has %d tokens, the model only %d", q_tok_n_vocab(tok), hp->n_vocab), NULL;
	q_engine *e = calloc(1, sizeof *e);
	if (!e)
		return q_error("out of memory"), NULL;
	e->m = m;
	e->tok = tok;
	e->c = c;
	e->n_vocab = q_tok_n_vocab(tok);
	q_kv_config kc = {.n_layer = hp->n_layer, .n_kv_head = hp->n_kv_head, .head_dim = hp->head_dim,
			  .block_size = c.block_size, .n_blocks = c.kv_blocks, .max_seqs = c.max_seqs,
			  .max_blocks = max_blocks, .type = c.kv_type};
	size_t bt = (size_t)c.batch_tokens;
	e->run = calloc((size_t)c.max_seqs, sizeof *e->run);
	e->btok = malloc(bt * sizeof *e->btok);
	e->bpos = malloc(bt * sizeof *e->bpos);
	e->bseq = malloc(bt * sizeof *e->bseq);
	e->bout = malloc(bt);
	e->bnb = malloc(bt * sizeof *e->bnb);
	e->bnbi = malloc(bt * sizeof *e->bnbi);
	if (!e->run || !e->btok || !e->bpos || !e->bseq || !e->bout || !e->bnb || !e->bnbi) {
		q_engine_free(e);
		return q_error("out of memory"), NULL;
	}
	if (!(e->kv = q_kv_new(be, &kc)) || !(e->fwd = q_fwd_new(m, e->kv, c.batch_tokens)) ||
	    (q_fwd_max_out(e->fwd) != c.max_logits && q_fwd_set_max_out(e->fwd, c.max_logits) < 0)) {
		q_engine_free(e);
		return NULL;
	}
	return e;
}

static void rq_free(rq *r)
{
	if (!r)
		return;
	free(r->tok);
	q_sampler_free(r->smp);
	q_stop_free(&r->stop);
	q_buf_free(&r->piece);
	q_buf_free(&r->text);
	free(r);
}

void q_engine_free(q_engine *e)
{
	if (!e)
		return;
	for (int i = 0; i < e->n_run; i++)
		rq_free(e->run[i]);
	for (rq *r = e->queue, *n; r; r = n) {
		n = r->next;
		rq_free(r);
	}
	q_fwd_free(e->fwd);
	q_kv_free(e->kv);
	free(e->run);
	free(e->btok);
	free(e->bpos);
	free(e->bseq);
	free(e->bout);
	free(e->bnb);
	free(e->bnbi);
	free(e);
}

const q_model *q_engine_model(const q_engine *e)
{
	return e->m;
}

const q_engine_config *q_engine_conf(const q_engine *e)
{
	return &e->c;
}

/* The llama.cpp batch a token at position p of a request with n_prompt
 * prompt tokens stands for (q_batch.nb): llama.cpp decodes a prompt in
 * ubatches of LLAMA_UBATCH tokens (the oracle's n_ubatch), then one token
 * per step; so the kernels add in its order whatever our own batching. */
#define LLAMA_UBATCH 512
static int llama_batch_size(int n_prompt, int p)
{
	if (p >= n_prompt)
		return 1;
	int u0 = p / LLAMA_UBATCH * LLAMA_UBATCH;
	return n_prompt - u0 < LLAMA_UBATCH ? n_prompt - u0 : LLAMA_UBATCH;
}

/* Can the K/V of prompt position p be shared with a prompt of another
 * length?  The kernels compute a token by its llama.cpp batch size nb and
 * its index in that batch (q_batch.nb, above; qk.h); the CPU kernels tell
 * apart nb 1, 2..7 and 8 and more, and whether the token lies in the
 * batch's four-token groups (index < nb - nb % 4).  A prompt position with
 * nb >= SHARE_NB inside the groups therefore computes the same in every
 * prompt that starts with the same tokens, whatever its length; only blocks
 * of such positions are published and reused (with 16-token blocks: every
 * full prompt block).  t3005 (t/unit/engine-prefix) checks it bit for bit
 * against an engine without the cache; a kernel that told more batch sizes
 * apart would need SHARE_NB raised. */
#define SHARE_NB 8
static int shareable(int n_prompt, int p)
{
	int nb = llama_batch_size(n_prompt, p);
	return p < n_prompt && nb >= SHARE_NB && p % LLAMA_UBATCH < nb - nb % 4;
}

/* The leading full blocks of a prompt of n tokens that may be shared. */
static int share_blocks(const q_engine *e, int n)
{
	int bs = e->c.block_size, k = 0;
	if (e->c.no_prefix_cache)
		return 0;
	for (; (k + 1) * bs <= n; k++)
		for (int p = k * bs; p < (k + 1) * bs; p++)
			if (!shareable(n, p))
				return k;
	return k;
}

/* Validate and copy a request; everything it needs while running is
 * allocated here. */
int q_engine_add(q_engine *e, const q_req *req)
{
	if (req->n_prompt < 1 || !req->prompt)
		return q_error("empty prompt");
	if (req->n_prompt > e->c.n_ctx)
		return q_error("prompt of %d tokens does not fit the context of %d", req->n_prompt, e->c.n_ctx);
	if (req->n_predict < 0)
		return q_error("negative number of tokens to generate (%d)", req->n_predict);
	for (int i = 0; i < req->n_prompt; i++)
		if (req->prompt[i] < 0 || req->prompt[i] >= e->n_vocab)
			return q_error("prompt token %d: id %d outside the vocabulary of %d", i, req->prompt[i],
				       e->n_vocab);
	rq *r = calloc(1, sizeof *r);
	if (!r)
		return q_error("out of memory");
	r->r = *req;
	r->r.prompt = NULL;
	r->r.stop = NULL;
	r->seq = -1;
	int64_t cap = (int64_t)req->n_prompt + req->n_predict;
	r->cap = (int)(cap < e->c.n_ctx ? cap : e->c.n_ctx);
	r->tok = malloc((size_t)r->cap * sizeof *r->tok);
	if (!r->tok) {
		rq_free(r);
		return q_error("out of memory");
	}
	if (!(r->smp = q_sampler_new(&req->sample, e->n_vocab)) ||
	    q_stop_init(&r->stop, req->stop, req->n_stop) < 0 || q_buf_grow(&r->piece, 256) < 0 ||
	    q_buf_grow(&r->text, 512) < 0) {
		rq_free(r);
		return -1;
	}
	if (req->mask)
		q_sampler_set_mask(r->smp, req->mask, req->mask_ud);
	memcpy(r->tok, req->prompt, (size_t)req->n_prompt * sizeof *r->tok);
	r->n_tok = req->n_prompt;
	r->n_share = share_blocks(e, req->n_prompt);
	for (int i = 0; i < req->n_prompt; i++)
		q_sampler_accept(r->smp, req->prompt[i]);
	q_detok_init(&r->detok, e->tok);
	r->detok.n_seen = 1; /* a continuation: keep the first piece's leading space */
	r->id = e->next_id++;
	r->res.id = r->id;
	r->res.n_prompt = req->n_prompt;
	r->res.t_add = q_clock();
	if (e->queue_tail)
		e->queue_tail->next = r;
	else
		e->queue = r;
	e->queue_tail = r;
	return r->id;
}

/* End r: pass on what is held back (unless stopped by a stop string, an
 * error or a cancel), then report.  Released at the end of the step. */
static void finish(rq *r, enum q_done why, const char *err)
{
	if (r->done)
		return;
	if (why == Q_DONE_EOG || why == Q_DONE_LENGTH || why == Q_DONE_CTX) {
		q_buf_reset(&r->piece);
		q_buf_reset(&r->text);
		if (q_detok_flush(&r->detok, &r->piece) == 0 &&
		    q_stop_feed(&r->stop, r->piece.p ? r->piece.p : "", r->piece.len, &r->text) >= 0) {
			if (q_stop_flush(&r->stop, &r->text) == 0 && r->text.len && r->r.on_text)
				r->r.on_text(r->r.ud, r->text.p, r->text.len);
		}
	}
	r->done = why;
	r->res.reason = why;
	if (err) {
		snprintf(r->err, sizeof r->err, "%s", err);
		r->res.error = r->err;
	}
	if (r->r.on_done)
		r->r.on_done(r->r.ud, &r->res);
}

/* Handle the token r just sampled (or the end of a prompt-only request). */
static void take_token(q_engine *e, rq *r, int32_t id)
{
	double t = q_clock();
	if (r->res.n_gen == 0)
		r->res.t_first = t;
	r->res.t_last = t;
	r->res.n_gen++;
	q_sampler_accept(r->smp, id);
	if (r->r.on_token && r->r.on_token(r->r.ud, id)) {
		finish(r, Q_DONE_CANCEL, NULL);
		return;
	}
	if (q_tok_is_eog(e->tok, id)) {
		finish(r, Q_DONE_EOG, NULL);
		return;
	}
	q_buf_reset(&r->piece);
	q_buf_reset(&r->text);
	int hit = 0;
	if (q_detok_feed(&r->detok, id, &r->piece) < 0 ||
	    (hit = q_stop_feed(&r->stop, r->piece.p ? r->piece.p : "", r->piece.len, &r->text)) < 0) {
		finish(r, Q_DONE_ERROR, q_errmsg());
		return;
	}
	if (r->text.len && r->r.on_text && r->r.on_text(r->r.ud, r->text.p, r->text.len)) {
		finish(r, Q_DONE_CANCEL, NULL);
		return;
	}
	if (hit) {
		finish(r, Q_DONE_STOP, NULL);
		return;
	}
	if (r->res.n_gen >= r->r.n_predict) {
		finish(r, Q_DONE_LENGTH, NULL);
		return;
	}
	if (r->n_tok >= r->cap) {
		finish(r, Q_DONE_CTX, NULL);
		return;
	}
	r->tok[r->n_tok++] = id;
}

/* Is position p of r an output row (logits wanted)? */
static int is_out(const rq *r, int p)
{
	return p == r->n_tok - 1 || (r->r.all_logits && p >= r->n_logits);
}

/* Give the KV blocks of the newest running request newer than index i that
 * is not in this batch (want == 0) and holds blocks back to the pool.
 * 1 if one was preempted. */
static int preempt_newer(q_engine *e, int i)
{
	for (int j = e->n_run - 1; j > i; j--) {
		rq *o = e->run[j];
		if (o->want == 0 && !o->done && q_kv_seq_capacity(e->kv, o->seq) > 0) {
			q_kv_seq_clear(e->kv, o->seq);
			o->n_past = 0;
			o->n_pub = 0;
			o->res.n_preempt++;
			e->st.preemptions++;
			return 1;
		}
	}
	return 0;
}

/* Does any running request other than index i hold KV blocks? */
static int others_hold(const q_engine *e, int i)
{
	for (int j = 0; j < e->n_run; j++)
		if (j != i && q_kv_seq_capacity(e->kv, e->run[j]->seq) > 0)
			return 1;
	return 0;
}

/* Plan up to `want` tokens of run[i] into this step, within the token and
 * logits budgets and the KV pool (preempting newer requests if needed). */
static void plan(q_engine *e, int i, int want, int *budget, int *outs)
{
	rq *r = e->run[i];
	if (want > *budget)
		want = *budget;
	for (;;) {
		int n_out = 0, w = 0;
		for (; w < want; w++) {
			int o = is_out(r, r->n_past + w);
			if (n_out + o > *outs)
				break;
			n_out += o;
		}
		want = w;
		if (want <= 0)
			return;
		int rc = q_kv_seq_reserve(e->kv, r->seq, (int64_t)r->n_past + want);
		if (rc == 0) {
			r->want = want;
			*budget -= want;
			*outs -= n_out;
			return;
		}
		if (rc != Q_KV_FULL) {
			finish(r, Q_DONE_ERROR, q_errmsg());
			return;
		}
		if (preempt_newer(e, i))
			continue;
		/* q_kv_n_free counts cached blocks: a reservation evicts them */
		int64_t fit = q_kv_seq_capacity(e->kv, r->seq) +
			      q_kv_n_free(e->kv) * q_kv_block_size(e->kv) - r->n_past;
		if (fit > 0 && fit < want) {
			want = (int)fit;
			continue;
		}
		if (!others_hold(e, i)) {
			finish(r, Q_DONE_ERROR, "the KV pool is too small for this sequence");
			return;
		}
		return; /* wait for older requests to give blocks back */
	}
}

/* A request that holds no KV block (new, or preempted) takes the longest
 * run of published blocks its prompt starts with, up to its shareable
 * blocks and always leaving its last token to compute (its logits are
 * sampled).  Requests with all_logits compute every position. */
static void attach(q_engine *e, rq *r)
{
	if (e->c.no_prefix_cache || r->r.all_logits || r->n_past != 0 || q_kv_seq_capacity(e->kv, r->seq) != 0)
		return;
	int bs = e->c.block_size, max = (r->n_tok - 1) / bs;
	if (max > r->n_share)
		max = r->n_share;
	if (max <= 0)
		return;
	int n = q_kv_seq_attach(e->kv, r->seq, r->tok, max);
	r->n_pub = n;
	r->n_past = n * bs;
	r->res.n_cached += n * bs;
	e->st.prefix_hit_tokens += (int64_t)n * bs;
}

/* Publish r's shareable blocks whose K/V are now all written (the step has
 * run), in order, each after the one before it. */
static void publish(q_engine *e, rq *r)
{
	int bs = e->c.block_size;
	while (r->n_pub < r->n_share && (r->n_pub + 1) * bs <= r->n_past) {
		if (q_kv_seq_publish(e->kv, r->seq, r->n_pub, r->tok + (size_t)r->n_pub * (size_t)bs) < 0) {
			r->n_share = r->n_pub; /* cannot happen: the blocks before are indexed */
			return;
		}
		r->n_pub++;
	}
}

/* Move queued requests into free sequence slots. */
static void admit(q_engine *e)
{
	while (e->queue && e->n_run < e->c.max_seqs) {
		rq *r = e->queue;
		int seq = q_kv_seq_new(e->kv);
		if (seq < 0)
			break;
		e->queue = r->next;
		if (!e->queue)
			e->queue_tail = NULL;
		r->next = NULL;
		r->seq = seq;
		e->run[e->n_run++] = r;
	}
}

/* Release finished requests, keeping the run list in age order. */
static void reap(q_engine *e)
{
	int k = 0;
	for (int i = 0; i < e->n_run; i++) {
		rq *r = e->run[i];
		if (r->done) {
			q_kv_seq_free(e->kv, r->seq);
			rq_free(r);
		} else {
			e->run[k++] = r;
		}
	}
	e->n_run = k;
}

static int pending(const q_engine *e)
{
	int n = e->n_run;
	for (const rq *r = e->queue; r; r = r->next)
		n++;
	return n;
}

/* One step: plan, assemble, run the model, sample, stream (see engine.h). */
int q_engine_step(q_engine *e)
{
	admit(e);
	if (e->n_run == 0)
		return 0;
	int budget = e->c.batch_tokens, outs = e->c.max_logits;
	for (int i = 0; i < e->n_run; i++)
		e->run[i]->want = 0;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < e->n_run; i++) {
			rq *r = e->run[i];
			if (r->done)
				continue;
			attach(e, r);
			int left = r->n_tok - r->n_past;
			if ((pass == 0) == (left == 1))
				plan(e, i, left, &budget, &outs);
		}
	e->st.prefix_evicted = q_kv_n_evicted(e->kv);
	int n = 0, n_dec = 0;
	for (int i = 0; i < e->n_run; i++) {
		rq *r = e->run[i];
		if (r->done || r->want == 0)
			continue;
		r->row0 = n;
		for (int j = 0; j < r->want; j++, n++) {
			int p = r->n_past + j;
			n_dec += p >= r->res.n_prompt && p == r->n_tok - 1;
			e->btok[n] = r->tok[p];
			e->bpos[n] = p;
			e->bseq[n] = r->seq;
			e->bout[n] = (uint8_t)is_out(r, p);
			e->bnb[n] = llama_batch_size(r->res.n_prompt, p);
			e->bnbi[n] = p < r->res.n_prompt ? p % LLAMA_UBATCH : 0;
		}
	}
	if (n > 0) {
		e->st.steps++;
		e->st.mixed_steps += n_dec > 0 && n_dec < n;
		e->st.decode_tokens += n_dec;
		e->st.prefill_tokens += n - n_dec;
		q_batch b = {.n = n, .tok = e->btok, .pos = e->bpos, .seq = e->bseq, .nb = e->bnb, .nb_index = e->bnbi, .out = e->bout};
		if (q_fwd_run(e->fwd, &b) < 0) {
			const char *msg = q_errmsg();
			for (int i = 0; i < e->n_run; i++)
				if (e->run[i]->want)
					finish(e->run[i], Q_DONE_ERROR, msg);
			reap(e);
			return q_error("%s", msg);
		}
		int k = 0;
		for (int i = 0; i < e->n_run; i++) {
			rq *r = e->run[i];
			if (r->want == 0)
				continue;
			for (int j = 0; j < r->want; j++) {
				if (!e->bout[r->row0 + j])
					continue;
				float *lg = q_fwd_logits(e->fwd, k++);
				int p = r->n_past + j;
				if (!r->done && p >= r->n_logits) {
					r->n_logits = p + 1;
					if (r->r.on_logits && r->r.on_logits(r->r.ud, p, lg, q_model_hparams(e->m)->n_vocab))
						finish(r, Q_DONE_CANCEL, NULL);
				}
				if (r->done || p != r->n_tok - 1)
					continue;
				if (r->res.t_prompt == 0)
					r->res.t_prompt = q_clock();
				if (r->r.n_predict == 0) {
					finish(r, Q_DONE_LENGTH, NULL);
					continue;
				}
				int32_t id = q_sampler_sample(r->smp, lg);
				if (id < 0)
					finish(r, Q_DONE_ERROR, q_errmsg());
				else
					take_token(e, r, id);
			}
			r->n_past += r->want;
			publish(e, r);
		}
	} else {
		int finished = 0;
		for (int i = 0; i < e->n_run; i++)
			finished += e->run[i]->done != 0;
		if (!finished) /* cannot happen: the oldest request always gets a token or fails */
			return q_error("engine: no request could make progress");
	}
	reap(e);
	return pending(e);
}

/* Cancel: a queued request leaves the queue, a running one is finished
 * and released (its KV blocks back to the pool) at once. */
int q_engine_cancel(q_engine *e, int id)
{
	for (rq **pp = &e->queue, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
		rq *r = *pp;
		if (r->id != id)
			continue;
		*pp = r->next;
		if (e->queue_tail == r)
			e->queue_tail = prev;
		finish(r, Q_DONE_CANCEL, NULL);
		rq_free(r);
		return 0;
	}
	for (int i = 0; i < e->n_run; i++)
		if (e->run[i]->id == id) {
			finish(e->run[i], Q_DONE_CANCEL, NULL);
			reap(e);
			return 0;
		}
	return q_error("no request %d", id);
}

int q_engine_pending(const q_engine *e)
{
	return pending(e);
}

int64_t q_engine_kv_used(const q_engine *e, int64_t *total)
{
	*total = q_kv_n_blocks(e->kv);
	return *total - q_kv_n_free(e->kv);
}

const q_engine_stats *q_engine_get_stats(const q_engine *e)
{
	return &e->st;
}

int q_engine_run(q_engine *e)
{
	int left;
	while ((left = q_engine_step(e)) > 0)
		;
	return left < 0 ? -1 : 0;
}
