/*
 * engine-steps - time the engine's steps: B sequences of a P-token prompt
 * each generate N tokens (end of generation banned) together, and the
 * steps that fed only decode tokens are timed apart from those that fed
 * prompt tokens.
 *
 *   engine-steps MODEL B P N
 *
 * Prints the median and the sum of each kind of step, and the decode
 * tok/s of a full batch (B / median decode-only step) and of the whole run
 * (generated tokens / wall time).  For profiling (perf record) and for
 * comparing a batch with one sequence (all cores); not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "clock.h"
#include "engine.h"
#include "engine-open.h"

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	prog = "engine-steps";
	if (argc < 5) {
		fprintf(stderr, "usage: engine-steps MODEL B P N\n");
		return 2;
	}
	int nb = atoi(argv[2]), np = atoi(argv[3]), n = atoi(argv[4]);
	if (nb < 1 || np < 1 || n < 1) {
		fprintf(stderr, "engine-steps: B, P and N must be positive\n");
		return 2;
	}
	q_gguf *g;
	q_tok *tok;
	qk_backend *be;
	q_model *m;
	open_model(argv[1], &g, &tok, &be, &m);

	const int32_t *eog;
	int n_eog = q_tok_eog_ids(tok, &eog);
	q_logit_bias *ban = calloc((size_t)n_eog + 1, sizeof *ban);
	int32_t *prompt = malloc((size_t)np * sizeof *prompt);
	if (!ban || !prompt)
		die("out of memory");
	for (int i = 0; i < n_eog; i++)
		ban[i] = (q_logit_bias){.id = eog[i], .bias = -INFINITY};

	q_engine_config c = Q_ENGINE_CONFIG_INIT;
	c.max_seqs = nb;
	c.n_ctx = np + n + 1;
	q_engine *e = q_engine_new(m, tok, be, &c);
	if (!e)
		die("engine");
	for (int s = 0; s < nb; s++) {
		/* distinct prompts: ids spread over the vocabulary, by sequence */
		for (int i = 0; i < np; i++)
			prompt[i] = (int32_t)((1000 + 7919 * (i + 1) + 104729 * s) % 30000);
		q_req r = {.prompt = prompt, .n_prompt = np, .n_predict = n};
		q_sample_defaults(&r.sample);
		r.sample.temp = 0;
		r.sample.bias = ban;
		r.sample.n_bias = n_eog;
		if (q_engine_add(e, &r) < 0)
			die("add");
	}
	const q_engine_stats *st = q_engine_get_stats(e);
	int cap = 4 * (np + n) + 16, nd = 0, npf = 0;
	double *td = malloc((size_t)cap * sizeof *td), *tp = malloc((size_t)cap * sizeof *tp);
	if (!td || !tp)
		die("out of memory");
	double sum_d = 0, sum_p = 0, t0 = q_clock();
	for (;;) {
		int64_t pf = st->prefill_tokens, dec = st->decode_tokens;
		double t = q_clock();
		int left = q_engine_step(e);
		t = q_clock() - t;
		if (left < 0)
			die("step");
		if (st->prefill_tokens > pf) {
			sum_p += t;
			if (npf < cap)
				tp[npf++] = t;
		} else if (st->decode_tokens - dec == nb) {
			sum_d += t;
			if (nd < cap)
				td[nd++] = t;
		}
		if (left == 0)
			break;
	}
	double wall = q_clock() - t0;
	double md = median(td, nd);
	printf("batch %d, prompt %d, generate %d, threads %d\n", nb, np, n, qk_cpu_threads(be));
	printf("prefill steps %d: median %.2f ms, sum %.1f ms\n", npf, 1e3 * median(tp, npf), 1e3 * sum_p);
	printf("full decode steps %d: median %.2f ms, sum %.1f ms\n", nd, 1e3 * md, 1e3 * sum_d);
	printf("decode tok/s at a full batch %.1f; generated tok/s over the run %.1f\n", md > 0 ? nb / md : 0,
	       (double)nb * n / wall);
	free(td);
	free(tp);
	free(prompt);
	free(ban);
	q_engine_free(e);
	close_model(g, tok, be, m);
	return 0;
}
