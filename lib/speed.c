/*
 * speed.c - pp and tg runs on the engine (see speed.h).
 */
#include "speed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "err.h"

static void on_done(void *ud, const q_result *r)
{
	*(q_result *)ud = *r;
}

/* splitmix64: the random prompt ids. */
static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int q_speed_run(const q_model *m, const q_tok *tok, qk_backend *be, int n_prompt, int n_gen, uint64_t seed,
		double *tok_per_s)
{
	int n_vocab = q_tok_n_vocab(tok);
	int pp = n_prompt > 0, n_in = pp ? n_prompt : 1, n_out = pp ? 0 : n_gen + 1;
	if ((!pp && n_gen < 1) || n_in > (1 << 20) || n_gen > (1 << 20))
		return q_error("speed: nothing to measure (prompt %d, generation %d tokens)", n_prompt, n_gen);
	int32_t *ids = malloc((size_t)n_in * sizeof *ids);
	const int32_t *eog;
	int n_ban = q_tok_eog_ids(tok, &eog);
	q_logit_bias *ban = malloc((size_t)(n_ban + 1) * sizeof *ban);
	if (!ids || !ban) {
		free(ids);
		free(ban);
		return q_error("out of memory");
	}
	for (int i = 0; i < n_ban; i++)
		ban[i] = (q_logit_bias){eog[i], -INFINITY};
	for (int i = 0; i < n_in; i++) {
		int32_t id;
		do
			id = (int32_t)(next(&seed) % (uint64_t)n_vocab);
		while (q_tok_is_eog(tok, id));
		ids[i] = id;
	}
	q_engine_config c = Q_ENGINE_CONFIG_INIT;
	c.max_seqs = 1;
	c.n_ctx = n_in + n_out;
	c.batch_tokens = n_in < 512 ? n_in : 512;
	c.block_size = 16;
	q_engine *e = q_engine_new(m, tok, be, &c);
	q_result res = {0};
	int rc = -1;
	if (e) {
		q_req r = {.prompt = ids, .n_prompt = n_in, .n_predict = n_out, .on_done = on_done, .ud = &res};
		q_sample_defaults(&r.sample);
		r.sample.temp = 0;
		r.sample.bias = ban;
		r.sample.n_bias = n_ban;
		if (q_engine_add(e, &r) >= 0 && q_engine_run(e) == 0) {
			if (res.reason == Q_DONE_ERROR) {
				q_error("%s", res.error ? res.error : "generation failed");
			} else {
				double t = pp ? res.t_prompt - res.t_add : res.t_last - res.t_first;
				int n = pp ? n_prompt : res.n_gen - 1;
				*tok_per_s = t > 0 ? n / t : 0;
				rc = 0;
			}
		}
	}
	q_engine_free(e);
	free(ids);
	free(ban);
	return rc;
}
