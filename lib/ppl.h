/*
 * ppl.h - perplexity as llama.cpp's llama-perplexity defines it.
 *
 * The text's tokens (BOS first when the model adds one) are cut into
 * n_chunk = n_tokens / n_ctx whole chunks; each chunk is evaluated on its
 * own from an empty cache, its first token replaced by BOS when the model
 * adds one; only the second half is scored: for positions j in
 * [n_ctx / 2, n_ctx - 1), nll += -log softmax(logits_j)[token_{j+1}]
 * (the log-softmax in double over float logits: max, sum of expf(l - max)).
 * After each chunk the running PPL = exp(nll / count); at the end
 * PPL = exp(mean) and its error sqrt((mean(nll^2) - mean^2) / (count - 1))
 * x PPL.  Several chunks run together as sequences of one engine.
 */
#ifndef Q_PPL_H
#define Q_PPL_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "tok.h"

typedef struct q_ppl_result {
	int n_chunk;           /* chunks scored */
	int64_t count;         /* positions scored */
	double ppl, ppl_err;   /* PPL and its +/- */
} q_ppl_result;

/* Score tokens[0..n) with chunks of n_ctx (>= 4) tokens, at most
 * max_chunks of them (<= 0: all), n_seq chunks at a time.  on_chunk (may be
 * NULL) is called after each chunk, in order, with its index from 1 and
 * the running PPL.  -1 + q_error: fewer than 2 n_ctx tokens, a model
 * failure. */
int q_ppl_run(const q_model *m, const q_tok *tok, qk_backend *be, const int32_t *tokens, size_t n, int n_ctx,
	      int max_chunks, int n_seq, void (*on_chunk)(void *ud, int chunk, double ppl), void *ud,
	      q_ppl_result *res);

#endif
