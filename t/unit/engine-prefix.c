/*
 * engine-prefix - prefix caching changes no bit: prompts that share
 * prefixes give the same tokens and the same logits with the engine's
 * prefix cache as without it.
 *
 *   engine-prefix MODEL TEXTS N BUDGET SMALL_BLOCKS
 *
 * TEXTS has two lines of text, S and T ("\n" standing for a newline).  S is
 * tokenized as qgen does (BOS as the model says) and must give at least 70
 * tokens, T without BOS (at least 15).  The prompts are cut from them so
 * that, with 16-token blocks, they share 1, 2, 3 and 4 full blocks, one is
 * exactly 3 blocks long, two repeat earlier ones exactly, one is one block
 * plus one token (only its last token left to compute), one shares
 * nothing, and one (a repeat) asks for all logits (it must compute every
 * position).  Even prompts are greedy, odd ones sample with temp 0.9 and
 * seed = their index; each generates N tokens (fewer at EOG).
 *
 * Runs, each in a fresh engine of as many sequences as prompts, BUDGET
 * tokens per step (prefill chunks and decode tokens mix):
 *   nocache     no_prefix_cache = 1, every prompt added at once: the
 *               reference (its token ids and the logits of every position
 *               the engine passed on are kept);
 *   sequential  the cache on, one prompt at a time, each run to the end
 *               before the next is added: each must take exactly the
 *               blocks earlier prompts published (its n_cached is checked
 *               against the longest full-block prefix it shares with an
 *               earlier prompt, at most (n_prompt - 1) / 16 blocks, none
 *               for all_logits);
 *   together    the cache on, every prompt at once;
 *   small       the cache on, every prompt at once in a pool of
 *               SMALL_BLOCKS blocks: cached blocks are evicted and
 *               sequences preempted (and they recompute, reusing blocks).
 * Every run's token ids, finish reasons and logits (memcmp, row by row,
 * same positions) must equal the reference's; except the logits of the
 * all_logits prompt in the small pool, whose chunks may shrink to a lone
 * row (lib/model.c computes a sequence's only output row in a batch as a
 * batch of 1, unlike the same row among others; nothing to do with the
 * prefix cache, which that request does not read).  Prints one line per prompt
 * and run ("same RUN i: ..." or "DIFF RUN i: ...") and per run its counters
 * ("RUN: hits H preemptions P evicted E"); exits 1 on any difference, when
 * a cached run hit nothing, or when the small pool neither evicted nor
 * preempted.
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

#define BS 16
#define NP 12

/* Prompt i: S[0..s_len) then T[t_off..t_off + t_len); all: all_logits. */
static const struct {
	int s_len, t_off, t_len, all;
} spec[NP] = {
	{40, 0, 0, 0},  /* 0: 2 full blocks and 8 tokens */
	{20, 0, 10, 0}, /* 1: shares 1 block with 0 */
	{37, 10, 5, 0}, /* 2: shares 2 blocks */
	{50, 0, 7, 0},  /* 3: shares 2, publishes a 3rd */
	{48, 0, 0, 0},  /* 4: exactly 3 blocks: takes 2, computes the 3rd */
	{40, 0, 0, 0},  /* 5: = 0 */
	{48, 0, 0, 0},  /* 6: = 4 */
	{40, 0, 0, 1},  /* 7: = 0, all logits: computes everything */
	{70, 0, 3, 0},  /* 8: shares 3 blocks, publishes a 4th */
	{66, 0, 0, 0},  /* 9: shares 4 blocks */
	{0, 0, 15, 0},  /* 10: shares nothing */
	{16, 3, 1, 0},  /* 11: 1 block + 1 token: computes the last token only */
};

typedef struct out {
	q_ids ids;
	enum q_done reason;
	int n_cached;
	/* the reference keeps its logits rows; other runs compare with it */
	float *rows;
	int *pos;
	int n_rows, cap, n_vocab;
	const struct out *ref;
	int bad_row;           /* first row that differed, -1: none */
} out;

static int on_token(void *ud, int32_t id)
{
	out *o = ud;
	return q_ids_push(&o->ids, id) < 0;
}

static int on_logits(void *ud, int pos, const float *l, int n_vocab)
{
	out *o = ud;
	size_t row = (size_t)n_vocab * sizeof *l;
	int k = o->n_rows++;
	if (o->ref) {
		const out *r = o->ref;
		if (o->bad_row < 0 && (k >= r->n_rows || r->pos[k] != pos ||
					       memcmp(r->rows + (size_t)k * (size_t)n_vocab, l, row)))
			o->bad_row = k;
		return 0;
	}
	if (k >= o->cap) {
		int cap = o->cap ? 2 * o->cap : 64;
		float *rows = realloc(o->rows, (size_t)cap * row);
		int *p = rows ? realloc(o->pos, (size_t)cap * sizeof *p) : NULL;
		if (rows)
			o->rows = rows;
		if (!p)
			return 1;
		o->pos = p;
		o->cap = cap;
	}
	o->n_vocab = n_vocab;
	o->pos[k] = pos;
	memcpy(o->rows + (size_t)k * (size_t)n_vocab, l, row);
	return 0;
}

static void on_done(void *ud, const q_result *r)
{
	out *o = ud;
	o->reason = r->reason;
	o->n_cached = r->n_cached;
}

static void add(q_engine *e, const q_ids *prompt, int i, int n, out *o)
{
	q_req r = {.prompt = prompt->v, .n_prompt = (int)prompt->n, .n_predict = n, .all_logits = spec[i].all,
		   .on_token = on_token, .on_logits = on_logits, .on_done = on_done, .ud = o};
	alternate_sampling(&r.sample, i);
	if (q_engine_add(e, &r) < 0)
		die("add");
}

static size_t lcp(const q_ids *a, const q_ids *b)
{
	size_t k = 0;
	while (k < a->n && k < b->n && a->v[k] == b->v[k])
		k++;
	return k;
}

/* What prompt i takes from the cache when every earlier prompt ran to the
 * end before it and published all its full blocks. */
static int want_cached(const q_ids *p, int i)
{
	if (spec[i].all)
		return 0;
	size_t best = 0;
	for (int j = 0; j < i; j++) {
		size_t k = lcp(&p[i], &p[j]), full = p[j].n / BS * BS;
		k = k < full ? k : full;
		best = k > best ? k : best;
	}
	size_t cap = (p[i].n - 1) / BS * BS;
	return (int)((best < cap ? best : cap) / BS * BS);
}

enum { NOCACHE, SEQUENTIAL, TOGETHER, SMALL, N_RUNS };
static const char *run_name[N_RUNS] = {"nocache", "sequential", "together", "small"};

int main(int argc, char **argv)
{
	prog = "engine-prefix";
	if (argc < 6) {
		fprintf(stderr, "usage: engine-prefix MODEL TEXTS N BUDGET SMALL_BLOCKS\n");
		return 2;
	}
	int n = atoi(argv[3]), budget = atoi(argv[4]);
	long small = atol(argv[5]);
	q_gguf *g;
	q_tok *tok;
	qk_backend *be;
	q_model *m;
	open_model(argv[1], &g, &tok, &be, &m);
	q_buf text = Q_BUF_INIT;
	if (q_buf_read_file(&text, argv[2]) < 0)
		die(argv[2]);
	q_ids st[2] = {Q_IDS_INIT, Q_IDS_INIT};
	int nt = 0;
	char *cur = text.p, *s;
	size_t len;
	while (nt < 2 && (s = next_line(&cur, &len))) {
		if (q_tok_encode(tok, s, len, nt == 0 ? Q_TOK_ADD_SPECIAL | Q_TOK_PARSE_SPECIAL : 0, &st[nt]) < 0)
			die("encode");
		nt++;
	}
	if (nt < 2 || st[0].n < 70 || st[1].n < 15) {
		fprintf(stderr, "engine-prefix: %s: want S of 70 tokens and T of 15 (got %zu and %zu)\n", argv[2],
			st[0].n, nt < 2 ? (size_t)0 : st[1].n);
		return 2;
	}
	q_ids p[NP];
	for (int i = 0; i < NP; i++) {
		p[i] = (q_ids)Q_IDS_INIT;
		for (int k = 0; k < spec[i].s_len; k++)
			if (q_ids_push(&p[i], st[0].v[k]) < 0)
				die("prompt");
		for (int k = 0; k < spec[i].t_len; k++)
			if (q_ids_push(&p[i], st[1].v[spec[i].t_off + k]) < 0)
				die("prompt");
	}

	static out o[N_RUNS][NP];
	memset(o, 0, sizeof o);
	int bad = 0;
	for (int run = 0; run < N_RUNS; run++) {
		q_engine_config c = Q_ENGINE_CONFIG_INIT;
		c.max_seqs = NP;
		c.n_ctx = 128;
		c.batch_tokens = budget;
		c.max_logits = budget;
		c.block_size = BS;
		c.no_prefix_cache = run == NOCACHE;
		c.kv_blocks = run == SMALL ? small : 0;
		q_engine *e = q_engine_new(m, tok, be, &c);
		if (!e)
			die("engine");
		for (int i = 0; i < NP; i++) {
			o[run][i].bad_row = -1;
			o[run][i].ref = run == NOCACHE ? NULL : &o[NOCACHE][i];
			add(e, &p[i], i, n, &o[run][i]);
			if (run == SEQUENTIAL && q_engine_run(e) < 0)
				die("run");
		}
		if (q_engine_run(e) < 0)
			die("run");
		const q_engine_stats *s = q_engine_get_stats(e);
		for (int i = 0; i < NP; i++) {
			const out *a = &o[NOCACHE][i], *b = &o[run][i];
			size_t k = lcp(&a->ids, &b->ids);
			int want = run == SEQUENTIAL ? want_cached(p, i) : -1;
			/* the exception: rows of an all_logits request that a short pool
			 * splits one per step are computed as batches of 1 (lib/model.c:
			 * a lone output row), with or without the cache */
			int rows_ok = b->bad_row < 0 || (run == SMALL && spec[i].all);
			if (k == a->ids.n && k == b->ids.n && a->reason == b->reason && rows_ok &&
			    b->n_rows == a->n_rows && (want < 0 || b->n_cached == want)) {
				printf("same %s %d: %zu prompt tokens, %zu generated, %d logits rows, %d cached\n",
				       run_name[run], i, p[i].n, b->ids.n, b->n_rows, b->n_cached);
			} else {
				bad = 1;
				printf("DIFF %s %d: %zu tokens (reason %d) vs %zu (reason %d), first difference at %zu; "
				       "logits rows %d vs %d, first different row %d; cached %d (want %d)\n",
				       run_name[run], i, a->ids.n, a->reason, b->ids.n, b->reason, k, a->n_rows,
				       b->n_rows, b->bad_row, b->n_cached, want);
			}
		}
		printf("%s: hits %lld preemptions %lld evicted %lld steps %lld\n", run_name[run],
		       (long long)s->prefix_hit_tokens, (long long)s->preemptions, (long long)s->prefix_evicted,
		       (long long)s->steps);
		if (run == NOCACHE && s->prefix_hit_tokens != 0) {
			printf("nocache: the disabled cache hit\n");
			bad = 1;
		}
		if (run != NOCACHE && s->prefix_hit_tokens == 0) {
			printf("%s: no prefix cache hit\n", run_name[run]);
			bad = 1;
		}
		if (run == SEQUENTIAL) {
			int64_t sum = 0;
			for (int i = 0; i < NP; i++)
				sum += want_cached(p, i);
			if (s->prefix_hit_tokens != sum) {
				printf("sequential: %lld tokens hit, want %lld\n", (long long)s->prefix_hit_tokens,
				       (long long)sum);
				bad = 1;
			}
		}
		if (run == SMALL && (s->preemptions == 0 || s->prefix_evicted == 0)) {
			printf("small: the pool of %ld blocks did not both evict and preempt\n", small);
			bad = 1;
		}
		q_engine_free(e);
	}
	for (int run = 0; run < N_RUNS; run++)
		for (int i = 0; i < NP; i++) {
			q_ids_free(&o[run][i].ids);
			free(o[run][i].rows);
			free(o[run][i].pos);
		}
	for (int i = 0; i < NP; i++)
		q_ids_free(&p[i]);
	q_ids_free(&st[0]);
	q_ids_free(&st[1]);
	q_buf_free(&text);
	close_model(g, tok, be, m);
	return bad;
}
