/*
 * ppl.c - llama-perplexity's perplexity on the engine (see ppl.h).
 *
 * Invariants: chunk c is engine request c % n_seq of its group; the logits
 * callback of a chunk scores its positions as they arrive into that
 * chunk's own nll sums, and the sums are added to the totals in chunk
 * order once the group is done, so the result does not depend on how the
 * engine interleaves the chunks.
 */
#include "ppl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "err.h"

typedef struct chunk {
	int first;             /* first scored position */
	const int32_t *tok;    /* the chunk's n_ctx tokens (the original first one) */
	int n_ctx;
	double nll, nll2;
	int64_t count;
	int failed;
} chunk;

static int on_logits(void *ud, int pos, const float *lg, int n_vocab)
{
	chunk *c = ud;
	if (pos < c->first || pos >= c->n_ctx - 1)
		return 0;
	float max = lg[0];
	for (int i = 1; i < n_vocab; i++)
		max = lg[i] > max ? lg[i] : max;
	double sum = 0;
	for (int i = 0; i < n_vocab; i++)
		sum += expf(lg[i] - max);
	double lp = lg[c->tok[pos + 1]] - max - log(sum);
	c->nll -= lp;
	c->nll2 += lp * lp;
	c->count++;
	return 0;
}

static void on_done(void *ud, const q_result *r)
{
	chunk *c = ud;
	c->failed = r->reason == Q_DONE_ERROR;
}

/* Does the tokenizer put BOS in front of a text? */
static int adds_bos(const q_tok *tok, int32_t bos)
{
	q_ids ids = Q_IDS_INIT;
	int r = bos >= 0 && q_tok_encode(tok, "a", 1, Q_TOK_ADD_SPECIAL, &ids) == 0 && ids.n && ids.v[0] == bos;
	q_ids_free(&ids);
	return r;
}

int q_ppl_run(const q_model *m, const q_tok *tok, qk_backend *be, const int32_t *tokens, size_t n, int n_ctx,
	      int max_chunks, int n_seq, void (*on_chunk)(void *ud, int chunk, double ppl), void *ud,
	      q_ppl_result *res)
{
	memset(res, 0, sizeof *res);
	if (n_ctx < 4)
		return q_error("context of %d tokens: too small for perplexity", n_ctx);
	if (n < 2 * (size_t)n_ctx)
		return q_error("the text has %zu tokens; perplexity with a context of %d needs at least %d", n, n_ctx,
			       2 * n_ctx);
	int n_chunk = (int)(n / (size_t)n_ctx);
	if (max_chunks > 0 && max_chunks < n_chunk)
		n_chunk = max_chunks;
	if (n_seq < 1)
		n_seq = 1;
	if (n_seq > n_chunk)
		n_seq = n_chunk;
	int32_t bos = q_tok_bos(tok);
	int add_bos = adds_bos(tok, bos);
	q_engine_config c = Q_ENGINE_CONFIG_INIT;
	c.max_seqs = n_seq;
	c.n_ctx = n_ctx;
	c.batch_tokens = n_ctx * n_seq < 2048 ? n_ctx * n_seq : 2048;
	c.max_logits = c.batch_tokens;
	c.kv_type = QK_F16;
	q_engine *e = q_engine_new(m, tok, be, &c);
	int32_t *buf = malloc((size_t)n_seq * (size_t)n_ctx * sizeof *buf);
	chunk *ch = calloc((size_t)n_seq, sizeof *ch);
	if (!e || !buf || !ch) {
		if (e)
			q_error("out of memory");
		q_engine_free(e);
		free(buf);
		free(ch);
		return -1;
	}
	double nll = 0, nll2 = 0;
	int64_t count = 0;
	int rc = 0;
	for (int g = 0; g < n_chunk && rc == 0; g += n_seq) {
		int k = n_chunk - g < n_seq ? n_chunk - g : n_seq;
		for (int s = 0; s < k && rc == 0; s++) {
			const int32_t *t = tokens + (size_t)(g + s) * (size_t)n_ctx;
			int32_t *p = buf + (size_t)s * (size_t)n_ctx;
			memcpy(p, t, (size_t)n_ctx * sizeof *p);
			if (add_bos)
				p[0] = bos;
			ch[s] = (chunk){.first = n_ctx / 2, .tok = t, .n_ctx = n_ctx};
			q_req r = {.prompt = p, .n_prompt = n_ctx, .n_predict = 0, .all_logits = 1,
				   .on_logits = on_logits, .on_done = on_done, .ud = &ch[s]};
			q_sample_defaults(&r.sample);
			r.sample.temp = 0;
			if (q_engine_add(e, &r) < 0)
				rc = -1;
		}
		if (rc == 0 && q_engine_run(e) < 0)
			rc = -1;
		for (int s = 0; s < k && rc == 0; s++) {
			if (ch[s].failed) {
				rc = q_error("chunk %d: the model failed", g + s + 1);
				break;
			}
			nll += ch[s].nll;
			nll2 += ch[s].nll2;
			count += ch[s].count;
			res->n_chunk++;
			if (on_chunk)
				on_chunk(ud, g + s + 1, exp(nll / (double)count));
		}
	}
	q_engine_free(e);
	free(buf);
	free(ch);
	if (rc < 0)
		return -1;
	double mean = nll / (double)count, var = nll2 / (double)count - mean * mean;
	res->count = count;
	res->ppl = exp(mean);
	res->ppl_err = var > 0 && count > 1 ? sqrt(var / (double)(count - 1)) * res->ppl : 0;
	return 0;
}
