/*
 * speed.h - llama-bench's two measurements on the engine: prompt
 * processing (pp: n_prompt tokens in one prompt, timed from its submission
 * to its logits) and text generation (tg: n_gen one-token decode steps
 * after a one-token prompt, timed between the first and the last sampled
 * token).  The tokens are random ids drawn from a seeded generator (as
 * llama-bench feeds random tokens); end-of-generation ids are banned so a
 * tg run always takes n_gen steps.  Each run starts from an empty cache.
 */
#ifndef Q_SPEED_H
#define Q_SPEED_H

#include <stdint.h>

#include "model.h"
#include "tok.h"

/* One run: tokens per second.  n_prompt > 0 measures pp, else n_gen > 0
 * measures tg.  -1 + q_error. */
int q_speed_run(const q_model *m, const q_tok *tok, qk_backend *be, int n_prompt, int n_gen, uint64_t seed,
		double *tok_per_s);

#endif
