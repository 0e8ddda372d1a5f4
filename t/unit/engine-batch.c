/*
 * engine-batch - batched equals alone: every prompt run together with the
 * others gives exactly the tokens it gives alone.
 *
 *   engine-batch MODEL PROMPTS N BUDGET [KV_BLOCKS]
 *
 * PROMPTS has one prompt text per line, "\n" standing for a newline
 * (tokenized as qgen does: BOS as the model says, special tokens parsed).  Each prompt is generated alone
 * (an engine of one sequence, the whole prompt in one step), then all of
 * them in one engine of as many sequences with BUDGET tokens per step (so
 * prefill chunks and decode tokens mix) and, when KV_BLOCKS is given, a
 * pool of only that many blocks (so sequences get preempted and
 * recompute).  Prompts at even lines are greedy, odd lines sample with
 * temp 0.9 and seed = line number (per-sequence samplers must be as
 * reproducible in a batch as alone).  Every request generates N tokens
 * (stop strings none; EOG ends one early, the same way in both runs).
 *
 * Prints one line per prompt ("ok i: n tokens" or the first difference)
 * and the engine's counters; exits 1 on any difference, or when the batch
 * run had no mixed step (or no preemption when KV_BLOCKS is given).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "engine.h"
#include "err.h"
#include "gguf.h"
#include "model.h"
#include "qk.h"
#include "tok.h"

#include "engine-open.h"

#define MAX_PROMPTS 16

typedef struct out {
	q_ids ids;
	enum q_done reason;
} out;

static int on_token(void *ud, int32_t id)
{
	out *o = ud;
	return q_ids_push(&o->ids, id) < 0;
}

static void on_done(void *ud, const q_result *r)
{
	out *o = ud;
	o->reason = r->reason;
}

static void add(q_engine *e, const q_ids *prompt, int i, int n, out *o)
{
	q_req r = {.prompt = prompt->v, .n_prompt = (int)prompt->n, .n_predict = n, .on_token = on_token,
		   .on_done = on_done, .ud = o};
	alternate_sampling(&r.sample, i);
	if (q_engine_add(e, &r) < 0)
		die("add");
}

int main(int argc, char **argv)
{
	prog = "engine-batch";
	if (argc < 5) {
		fprintf(stderr, "usage: engine-batch MODEL PROMPTS N BUDGET [KV_BLOCKS]\n");
		return 2;
	}
	int n = atoi(argv[3]), budget = atoi(argv[4]);
	long kv_blocks = argc > 5 ? atol(argv[5]) : 0;
	q_gguf *g;
	q_tok *tok;
	qk_backend *be;
	q_model *m;
	open_model(argv[1], &g, &tok, &be, &m);
	q_buf text = Q_BUF_INIT;
	if (q_buf_read_file(&text, argv[2]) < 0)
		die(argv[2]);
	q_ids prompts[MAX_PROMPTS];
	int np = 0;
	char *cur = text.p, *s;
	size_t len;
	while (np < MAX_PROMPTS && (s = next_line(&cur, &len))) {
		prompts[np] = (q_ids)Q_IDS_INIT;
		if (q_tok_encode(tok, s, len, Q_TOK_ADD_SPECIAL | Q_TOK_PARSE_SPECIAL, &prompts[np]) < 0)
			die("encode");
		np++;
	}
	out alone[MAX_PROMPTS], together[MAX_PROMPTS];
	memset(alone, 0, sizeof alone);
	memset(together, 0, sizeof together);

	q_engine_config c = Q_ENGINE_CONFIG_INIT;
	c.max_seqs = 1;
	c.n_ctx = 1024;
	for (int i = 0; i < np; i++) {
		q_engine *e = q_engine_new(m, tok, be, &c);
		if (!e)
			die("engine");
		add(e, &prompts[i], i, n, &alone[i]);
		if (q_engine_run(e) < 0)
			die("run alone");
		q_engine_free(e);
	}

	c.max_seqs = np;
	c.batch_tokens = budget;
	c.kv_blocks = kv_blocks;
	q_engine *e = q_engine_new(m, tok, be, &c);
	if (!e)
		die("engine");
	for (int i = 0; i < np; i++)
		add(e, &prompts[i], i, n, &together[i]);
	if (q_engine_run(e) < 0)
		die("run together");
	const q_engine_stats *st = q_engine_get_stats(e);

	int bad = 0;
	for (int i = 0; i < np; i++) {
		const q_ids *a = &alone[i].ids, *b = &together[i].ids;
		size_t k = 0;
		while (k < a->n && k < b->n && a->v[k] == b->v[k])
			k++;
		if (k == a->n && k == b->n && alone[i].reason == together[i].reason) {
			printf("ok %d: %zu prompt tokens, %zu generated\n", i, prompts[i].n, a->n);
		} else {
			bad = 1;
			printf("DIFF %d: alone %zu tokens (reason %d), together %zu (reason %d), first difference at %zu\n",
			       i, a->n, alone[i].reason, b->n, together[i].reason, k);
		}
	}
	printf("steps %lld mixed %lld decode %lld prefill %lld preemptions %lld\n", (long long)st->steps,
	       (long long)st->mixed_steps, (long long)st->decode_tokens, (long long)st->prefill_tokens,
	       (long long)st->preemptions);
	if (st->mixed_steps == 0) {
		printf("no step mixed prefill and decode tokens\n");
		bad = 1;
	}
	if (kv_blocks && st->preemptions == 0) {
		printf("the small pool caused no preemption\n");
		bad = 1;
	}
	for (int i = 0; i < np; i++) {
		q_ids_free(&prompts[i]);
		q_ids_free(&alone[i].ids);
		q_ids_free(&together[i].ids);
	}
	q_engine_free(e);
	q_buf_free(&text);
	close_model(g, tok, be, m);
	return bad;
}
