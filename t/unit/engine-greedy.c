/*
 * engine-greedy - greedy continuations against golden ones, all prompts run
 * together in one engine (batched equals alone is t3003's proof, so this is
 * the same as running each alone, only faster).
 *
 *   engine-greedy MODEL GREEDY [GAP]
 *
 * GREEDY has one line per prompt, tab-separated: n, the prompt ids, the
 * golden continuation ids (an end-of-generation id last if one was chosen),
 * and the golden top-1/top-2 logit gap of every step.  A continuation must
 * be identical up to the first step whose golden gap is below GAP (default
 * 0.02; from that step on a near-tie may go either way), so each prompt
 * gets greedy tokens up to and including that step (all of the golden
 * continuation when it has no near-tie).
 *
 * Prints per prompt "ok n: k/m" (k steps checked of m, "full" when all m
 * were checked and identical) or "DIFF n: step s: ours X, golden Y (gap G)", then a
 * summary "prompts P identical-before-gap Q fully-identical F"; exits 1 if
 * any prompt differs before its cut-off, 2 on errors.
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

#define MAX_PROMPTS 64

typedef struct golden {
	int n;
	q_ids prompt, gen, ours;
	double *gap;
} golden;

static int on_token(void *ud, int32_t id)
{
	return q_ids_push(&((golden *)ud)->ours, id) < 0;
}

int main(int argc, char **argv)
{
	prog = "engine-greedy";
	if (argc < 3) {
		fprintf(stderr, "usage: engine-greedy MODEL GREEDY [GAP]\n");
		return 2;
	}
	double min_gap = argc > 3 ? atof(argv[3]) : 0.02;
	q_gguf *g;
	q_tok *tok;
	qk_backend *be;
	q_model *m;
	open_model(argv[1], &g, &tok, &be, &m);
	q_buf text = Q_BUF_INIT;
	if (q_buf_read_file(&text, argv[2]) < 0)
		die(argv[2]);
	static golden gd[MAX_PROMPTS];
	int np = 0, max_len = 0;
	for (char *s = text.p, *nl; s && *s && np < MAX_PROMPTS; s = nl ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		char *f[4];
		f[0] = s;
		for (int i = 1; i < 4; i++) {
			f[i] = strchr(f[i - 1], '\t');
			if (!f[i] || (nl && f[i] > nl)) {
				fprintf(stderr, "engine-greedy: %s: line %d: want 4 tab-separated fields\n", argv[2], np + 1);
				return 2;
			}
			f[i]++;
		}
		golden *x = &gd[np];
		x->n = atoi(f[0]);
		if (q_tok_parse_ids(tok, f[1], (size_t)(f[2] - f[1]), &x->prompt) < 0 ||
		    q_tok_parse_ids(tok, f[2], (size_t)(f[3] - f[2]), &x->gen) < 0)
			die(argv[2]);
		size_t glen = nl ? (size_t)(nl - f[3]) : strlen(f[3]);
		x->gap = calloc(x->gen.n + 1, sizeof *x->gap);
		char *gs = strndup(f[3], glen), *p = gs, *e;
		for (size_t i = 0; i < x->gen.n; i++, p = e)
			x->gap[i] = strtod(p, &e);
		free(gs);
		int len = (int)(x->prompt.n + x->gen.n);
		max_len = len > max_len ? len : max_len;
		np++;
	}
	q_engine_config c = Q_ENGINE_CONFIG_INIT;
	c.max_seqs = np;
	c.n_ctx = max_len;
	q_engine *e = q_engine_new(m, tok, be, &c);
	if (!e)
		die("engine");
	for (int i = 0; i < np; i++) {
		size_t cut = 0;
		while (cut < gd[i].gen.n && gd[i].gap[cut] >= min_gap)
			cut++;
		int n_predict = (int)(cut < gd[i].gen.n ? cut + 1 : gd[i].gen.n);
		q_req r = {.prompt = gd[i].prompt.v, .n_prompt = (int)gd[i].prompt.n, .n_predict = n_predict,
			   .on_token = on_token, .ud = &gd[i]};
		q_sample_defaults(&r.sample);
		r.sample.temp = 0;
		if (q_engine_add(e, &r) < 0)
			die("add");
	}
	if (q_engine_run(e) < 0)
		die("run");
	int bad = 0, n_ok = 0, n_full = 0;
	for (int i = 0; i < np; i++) {
		golden *x = &gd[i];
		size_t cut = 0;
		while (cut < x->gen.n && x->gap[cut] >= min_gap)
			cut++;
		size_t k = 0;
		while (k < x->gen.n && k < x->ours.n && x->gen.v[k] == x->ours.v[k])
			k++;
		int full = k == x->gen.n && x->ours.n == x->gen.n;
		n_full += full;
		if (k >= cut) {
			n_ok++;
			printf("ok %d: %zu/%zu%s\n", x->n, cut, x->gen.n, full ? " full" : "");
		} else {
			bad = 1;
			printf("DIFF %d: step %zu: ours %d, golden %d (gap %.6f)\n", x->n, k,
			       k < x->ours.n ? x->ours.v[k] : -1, x->gen.v[k], x->gap[k]);
		}
	}
	printf("prompts %d identical-before-gap %d fully-identical %d\n", np, n_ok, n_full);
	for (int i = 0; i < np; i++) {
		q_ids_free(&gd[i].prompt);
		q_ids_free(&gd[i].gen);
		q_ids_free(&gd[i].ours);
		free(gd[i].gap);
	}
	q_engine_free(e);
	q_buf_free(&text);
	close_model(g, tok, be, m);
	return bad;
}
