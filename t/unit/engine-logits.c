/*
 * engine-logits - teacher-forced logits of a token sequence against a
 * golden file.
 *
 *   engine-logits MODEL TOKENS GOLDEN [f16|f32] [CHUNK]
 *
 * TOKENS holds ids separated by white space; GOLDEN is float32
 * little-endian [n_tokens][n_vocab] (row p: the logits after tokens
 * 0..p), no header.  The sequence runs through the engine as one request
 * with all_logits (KV cache f16, the default, or f32), CHUNK tokens per
 * step (default: all in one step).
 *
 * Prints "maxrel R pos P argmax A/N gap G" where R is the largest
 * relative difference over positions, each position's being
 * max_i |ours_i - golden_i| / max(1, max_i |golden_i|); A counts the
 * positions whose argmax agrees; G is the largest golden top-1/top-2 gap
 * among the positions that disagree (0 when none): disagreeing only on
 * near-ties means a small G.  Exit 0 unless the
 * run fails (2); the test decides what is good enough.
 */
#include <math.h>
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

static struct {
	const float *golden;
	int n_vocab, n_pos, n_agree;
	double maxrel, gap;
	int maxpos;
} st;

/* Compare row pos against the golden row. */
static int on_logits(void *ud, int pos, const float *l, int n_vocab)
{
	(void)ud;
	const float *g = st.golden + (size_t)pos * (size_t)n_vocab;
	double gmax = 0, dmax = 0;
	int ao = 0, ag = 0, a2 = -1;
	for (int i = 0; i < n_vocab; i++) {
		gmax = fabs(g[i]) > gmax ? fabs(g[i]) : gmax;
		double d = fabs((double)l[i] - g[i]);
		dmax = d > dmax || isnan(d) ? d : dmax;
		if (l[i] > l[ao])
			ao = i;
		if (g[i] > g[ag])
			ag = i;
	}
	for (int i = 0; i < n_vocab; i++)
		if (i != ag && (a2 < 0 || g[i] > g[a2]))
			a2 = i;
	double rel = dmax / (gmax > 1 ? gmax : 1);
	if (rel > st.maxrel || isnan(rel)) {
		st.maxrel = rel;
		st.maxpos = pos;
	}
	if (ao == ag)
		st.n_agree++;
	else if (g[ag] - g[a2] > st.gap)
		st.gap = g[ag] - g[a2];
	return 0;
}

int main(int argc, char **argv)
{
	prog = "engine-logits";
	if (argc < 4) {
		fprintf(stderr, "usage: engine-logits MODEL TOKENS GOLDEN [f16|f32] [CHUNK]\n");
		return 2;
	}
	q_gguf *g;
	q_tok *tok;
	qk_backend *be;
	q_model *m;
	open_model(argv[1], &g, &tok, &be, &m);
	q_buf text = Q_BUF_INIT, gold = Q_BUF_INIT;
	if (q_buf_read_file(&text, argv[2]) < 0 || q_buf_read_file(&gold, argv[3]) < 0)
		die("read");
	q_ids ids = Q_IDS_INIT;
	for (char *s = text.p, *e;; s = e) {
		long v = strtol(s, &e, 10);
		if (e == s)
			break;
		if (q_ids_push(&ids, (int32_t)v) < 0)
			die("ids");
	}
	st.n_vocab = q_model_hparams(m)->n_vocab;
	st.n_pos = (int)ids.n;
	if (ids.n == 0 || gold.len != ids.n * (size_t)st.n_vocab * sizeof(float)) {
		fprintf(stderr, "engine-logits: %s: %zu bytes, want %zu tokens x %d logits\n", argv[3], gold.len, ids.n,
			st.n_vocab);
		return 2;
	}
	st.golden = (const float *)gold.p;
	int chunk = argc > 5 ? atoi(argv[5]) : (int)ids.n;
	q_engine_config c = Q_ENGINE_CONFIG_INIT;
	c.max_seqs = 1;
	c.n_ctx = (int)ids.n;
	c.batch_tokens = chunk;
	c.max_logits = chunk;
	c.kv_type = argc > 4 && !strcmp(argv[4], "f32") ? QK_F32 : QK_F16;
	q_engine *e = q_engine_new(m, tok, be, &c);
	if (!e)
		die("engine");
	q_req r = {.prompt = ids.v, .n_prompt = (int)ids.n, .n_predict = 0, .all_logits = 1, .on_logits = on_logits};
	q_sample_defaults(&r.sample);
	if (q_engine_add(e, &r) < 0 || q_engine_run(e) < 0)
		die("run");
	printf("maxrel %.3e pos %d argmax %d/%d gap %.4f\n", st.maxrel, st.maxpos, st.n_agree, st.n_pos, st.gap);
	q_engine_free(e);
	q_ids_free(&ids);
	q_buf_free(&text);
	q_buf_free(&gold);
	close_model(g, tok, be, m);
	return 0;
}
