/*
 * sample.c - the sampling chain (see sample.h).
 *
 * Invariants:
 * - hist[] is a ring of the last n_hist accepted tokens (n_hist <= cap) and
 *   count[id] is how often id occurs in it; accepting a token updates both
 *   in O(1).
 * - cand[0..n_cand) is the candidate list of the sampling in progress;
 *   after top-k / sorting it is ordered best first (higher logit, then
 *   lower id), which makes every step deterministic.
 * - Nothing is allocated after q_sampler_new.
 */
#include "sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

typedef struct cand {
	float logit;
	int32_t id;
} cand;

struct q_sampler {
	q_sample_params p;
	q_logit_bias *bias;
	int n_vocab;
	q_sample_mask_fn mask;
	void *mask_ud;
	int32_t *hist;         /* ring of accepted tokens */
	int cap, n_hist, head; /* head: where the next one goes */
	int32_t *count;        /* [n_vocab] occurrences in the ring */
	uint32_t *mark;        /* [n_vocab] epoch a penalty was applied in */
	uint32_t epoch;
	cand *cand;            /* [n_vocab] */
	int n_cand;
	uint64_t s[4];         /* xoshiro256** state */
};

void q_sample_defaults(q_sample_params *p)
{
	memset(p, 0, sizeof *p);
	p->temp = 0.8f;
	p->top_k = 40;
	p->top_p = 0.95f;
	p->min_p = 0.05f;
	p->repeat_penalty = 1.0f;
	p->penalty_last_n = 64;
}

int q_sample_check(const q_sample_params *p, int n_vocab)
{
	if (!(p->temp >= 0) || isinf(p->temp))
		return q_error("temperature %g must be a number >= 0", (double)p->temp);
	if (!(p->top_p > 0 && p->top_p <= 1))
		return q_error("top-p %g must be in (0, 1]", (double)p->top_p);
	if (!(p->min_p >= 0 && p->min_p <= 1))
		return q_error("min-p %g must be in [0, 1]", (double)p->min_p);
	if (!(p->repeat_penalty > 0) || isinf(p->repeat_penalty))
		return q_error("repeat penalty %g must be > 0", (double)p->repeat_penalty);
	if (!isfinite(p->presence_penalty) || !isfinite(p->frequency_penalty))
		return q_error("presence and frequency penalties must be finite numbers");
	if (p->penalty_last_n < -1)
		return q_error("penalty window %d must be >= -1", p->penalty_last_n);
	for (int i = 0; i < p->n_bias; i++) {
		if (p->bias[i].id < 0 || p->bias[i].id >= n_vocab)
			return q_error("logit bias for token %d outside the vocabulary of %d", p->bias[i].id, n_vocab);
		if (isnan(p->bias[i].bias) || p->bias[i].bias == INFINITY)
			return q_error("logit bias for token %d is not a number or -inf", p->bias[i].id);
	}
	return 0;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro(uint64_t *s)
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* Allocate the scratch for n_vocab and copy the parameters (bias list too). */
q_sampler *q_sampler_new(const q_sample_params *p, int n_vocab)
{
	if (n_vocab <= 0)
		return q_error("sampler: vocabulary of %d", n_vocab), NULL;
	if (q_sample_check(p, n_vocab) < 0)
		return NULL;
	q_sampler *s = calloc(1, sizeof *s);
	if (!s)
		return q_error("out of memory"), NULL;
	s->p = *p;
	s->n_vocab = n_vocab;
	s->cap = p->penalty_last_n < 0 ? 4096 : p->penalty_last_n;
	s->count = calloc((size_t)n_vocab, sizeof *s->count);
	s->mark = calloc((size_t)n_vocab, sizeof *s->mark);
	s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
	s->hist = malloc((size_t)(s->cap ? s->cap : 1) * sizeof *s->hist);
	s->bias = malloc((size_t)(p->n_bias ? p->n_bias : 1) * sizeof *s->bias);
	if (!s->count || !s->mark || !s->cand || !s->hist || !s->bias) {
		q_sampler_free(s);
		return q_error("out of memory"), NULL;
	}
	if (p->n_bias)
		memcpy(s->bias, p->bias, (size_t)p->n_bias * sizeof *s->bias);
	s->p.bias = s->bias;
	uint64_t x = p->seed;
	for (int i = 0; i < 4; i++)
		s->s[i] = splitmix64(&x);
	return s;
}

void q_sampler_free(q_sampler *s)
{
	if (!s)
		return;
	free(s->count);
	free(s->mark);
	free(s->cand);
	free(s->hist);
	free(s->bias);
	free(s);
}

void q_sampler_set_mask(q_sampler *s, q_sample_mask_fn fn, void *ud)
{
	s->mask = fn;
	s->mask_ud = ud;
}

void q_sampler_accept(q_sampler *s, int32_t id)
{
	if (s->cap == 0 || id < 0 || id >= s->n_vocab)
		return;
	if (s->n_hist == s->cap)
		s->count[s->hist[s->head]]--;
	else
		s->n_hist++;
	s->hist[s->head] = id;
	s->count[id]++;
	s->head = (s->head + 1) % s->cap;
}

/* llama.cpp's penalties, once per distinct token of the history. */
static void penalize(q_sampler *s, float *logits)
{
	const q_sample_params *p = &s->p;
	if (p->repeat_penalty == 1 && p->presence_penalty == 0 && p->frequency_penalty == 0)
		return;
	s->epoch++;
	for (int i = 0; i < s->n_hist; i++) {
		int32_t id = s->hist[i];
		if (s->mark[id] == s->epoch)
			continue;
		s->mark[id] = s->epoch;
		float *l = &logits[id];
		*l = *l <= 0 ? *l * p->repeat_penalty : *l / p->repeat_penalty;
		*l -= (float)s->count[id] * p->frequency_penalty + p->presence_penalty;
	}
}

/* a ranks before b: higher logit, then lower id. */
static int better(const cand *a, const cand *b)
{
	return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

/* Sift c[i] down a heap of n where the root is the WORST (min-heap by better). */
static void sift(cand *c, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, w = i;
		if (l < n && better(&c[w], &c[l]))
			w = l;
		if (l + 1 < n && better(&c[w], &c[l + 1]))
			w = l + 1;
		if (w == i)
			return;
		cand t = c[i];
		c[i] = c[w];
		c[w] = t;
		i = w;
	}
}

/* Keep the best k of cand[0..n_cand), ordered best first (heap select +
 * heap sort, in place). */
static void keep_best(q_sampler *s, int k)
{
	cand *c = s->cand;
	int n = s->n_cand;
	if (k > n)
		k = n;
	for (int i = k / 2 - 1; i >= 0; i--)
		sift(c, k, i);
	for (int i = k; i < n; i++)
		if (better(&c[i], &c[0])) {
			c[0] = c[i];
			sift(c, k, 0);
		}
	for (int m = k - 1; m > 0; m--) {
		cand t = c[0];
		c[0] = c[m];
		c[m] = t;
		sift(c, m, 0);
	}
	s->n_cand = k;
}

/* Run the chain of sample.h on logits. */
/* The first id of the largest logit above -inf (NaNs never win), or -1.
 * The maximum in 16 independent lanes first (the compiler vectorizes it:
 * a decode step of a full batch does this once per sequence over the whole
 * vocabulary, on one thread), then the first id holding it. */
static int32_t greedy(const float *logits, int32_t V)
{
	enum { L = 16 };
	float m[L];
	for (int l = 0; l < L; l++)
		m[l] = -INFINITY;
	int32_t i = 0;
	for (; i + L <= V; i += L)
		for (int l = 0; l < L; l++)
			m[l] = logits[i + l] > m[l] ? logits[i + l] : m[l];
	float max = -INFINITY;
	for (int l = 0; l < L; l++)
		max = m[l] > max ? m[l] : max;
	for (; i < V; i++)
		max = logits[i] > max ? logits[i] : max;
	if (!(max > -INFINITY))
		return -1;
	for (i = 0; logits[i] != max; i++)
		;
	return i;
}

int32_t q_sampler_sample(q_sampler *s, float *logits)
{
	const q_sample_params *p = &s->p;
	int V = s->n_vocab;
	if (s->mask)
		s->mask(s->mask_ud, logits, V);
	for (int i = 0; i < p->n_bias; i++)
		logits[p->bias[i].id] += p->bias[i].bias;
	penalize(s, logits);
	if (p->temp == 0) {
		int32_t best = greedy(logits, V);
		if (best < 0)
			return q_error("sampling: every token is masked");
		return best;
	}
	s->n_cand = 0;
	for (int32_t i = 0; i < V; i++)
		if (logits[i] > -INFINITY)
			s->cand[s->n_cand++] = (cand){logits[i], i};
	if (s->n_cand == 0)
		return q_error("sampling: every token is masked");
	int sorted = 0;
	if (p->top_k > 0 && p->top_k < s->n_cand) {
		keep_best(s, p->top_k);
		sorted = 1;
	}
	if (p->top_p < 1) {
		if (!sorted)
			keep_best(s, s->n_cand);
		sorted = 1;
		double max = s->cand[0].logit, sum = 0, cum = 0;
		for (int i = 0; i < s->n_cand; i++)
			sum += exp((double)s->cand[i].logit - max);
		for (int i = 0; i < s->n_cand; i++) {
			cum += exp((double)s->cand[i].logit - max) / sum;
			if (cum >= p->top_p) {
				s->n_cand = i + 1;
				break;
			}
		}
	}
	if (p->min_p > 0) {
		float max = s->cand[0].logit;
		if (!sorted)
			for (int i = 1; i < s->n_cand; i++)
				max = s->cand[i].logit > max ? s->cand[i].logit : max;
		float min_logit = max + logf(p->min_p);
		int k = 0;
		for (int i = 0; i < s->n_cand; i++)
			if (s->cand[i].logit >= min_logit)
				s->cand[k++] = s->cand[i];
		s->n_cand = k;
	}
	double max = -INFINITY, sum = 0;
	for (int i = 0; i < s->n_cand; i++) {
		s->cand[i].logit /= p->temp;
		max = s->cand[i].logit > max ? s->cand[i].logit : max;
	}
	if (max == INFINITY) /* an infinite logit takes all the probability */
		for (int i = 0; i < s->n_cand; i++)
			if (s->cand[i].logit == INFINITY)
				return s->cand[i].id;
	for (int i = 0; i < s->n_cand; i++)
		sum += exp((double)s->cand[i].logit - max);
	double r = (double)(xoshiro(s->s) >> 11) * 0x1p-53 * sum, acc = 0;
	for (int i = 0; i < s->n_cand; i++) {
		acc += exp((double)s->cand[i].logit - max);
		if (r < acc)
			return s->cand[i].id;
	}
	return s->cand[s->n_cand - 1].id;
}
