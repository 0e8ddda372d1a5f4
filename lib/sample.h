/*
 * sample.h - per-sequence token sampling.
 *
 * The chain, in llama.cpp's order: the mask hook, logit bias, repetition /
 * presence / frequency penalties over the last penalty_last_n tokens, then
 * greedy (temp == 0: the first largest logit) or top-k, top-p, min-p (on
 * the untempered distribution), temperature, and a draw from the softmax
 * with the sampler's own PRNG (xoshiro256**, seeded by splitmix64(seed)):
 * the same seed and logits give the same tokens on every machine.
 *
 * A q_sampler owns all its scratch (sized for n_vocab at q_sampler_new);
 * sampling and accepting tokens allocate nothing.
 */
#ifndef Q_SAMPLE_H
#define Q_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct q_logit_bias {
	int32_t id;
	float bias;            /* added to the logit; -INFINITY bans the token */
} q_logit_bias;

typedef struct q_sample_params {
	float temp;            /* 0: greedy */
	int top_k;             /* <= 0: off */
	float top_p;           /* (0, 1]; 1: off */
	float min_p;           /* [0, 1]; 0: off */
	float repeat_penalty;  /* > 0; 1: off */
	float presence_penalty, frequency_penalty; /* 0: off */
	int penalty_last_n;    /* tokens the penalties look back at (0: off); -1: 4096 */
	uint64_t seed;
	const q_logit_bias *bias; /* n_bias entries, copied by q_sampler_new */
	int n_bias;
} q_sample_params;

/* llama.cpp's defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05,
 * penalties off over the last 64 tokens, seed 0. */
void q_sample_defaults(q_sample_params *p);
/* -1 + q_error naming the first bad value (negative temperature, top-p
 * outside (0, 1], min-p outside [0, 1], penalty not positive, a biased id
 * outside [0, n_vocab), ...). */
int q_sample_check(const q_sample_params *p, int n_vocab);

/* Called first on every sampling with the row of logits, to set the
 * logits of disallowed tokens to -INFINITY (constrained decoding). */
typedef void (*q_sample_mask_fn)(void *ud, float *logits, int n_vocab);

typedef struct q_sampler q_sampler;

/* NULL + q_error (bad parameters, out of memory). */
q_sampler *q_sampler_new(const q_sample_params *p, int n_vocab);
void q_sampler_free(q_sampler *s);
void q_sampler_set_mask(q_sampler *s, q_sample_mask_fn fn, void *ud);
/* Record a token (prompt or generated) in the penalty history. */
void q_sampler_accept(q_sampler *s, int32_t id);
/* Pick the next token from logits[0..n_vocab), which it modifies.  Does not
 * accept it.  -1 + q_error when every token is masked or banned. */
int32_t q_sampler_sample(q_sampler *s, float *logits);

#endif
