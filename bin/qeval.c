/*
 * qeval - evaluate a model's answers.
 *
 *   qeval score --ref REFS [--tap] [--min-accuracy X] [RESULTS]
 *   qeval compare A B --sheet FILE [--key FILE] [--seed S]
 *   qeval compare --ratings FILE [--key FILE]
 *   qeval speed -m M [-p 512] [-n 128] [-r 5] [-t N] [--json]
 *   qeval ppl -m M [--ctx N] [--chunks K] [-t N] < text
 *   qeval bench --url URL [options]
 *
 * This file parses arguments and prints; lib/outputs (reading answers),
 * lib/score (checks), lib/schema (JSON Schema), lib/compare (pairing,
 * sheets, sign test), lib/speed, lib/ppl and lib/evalbench do the work.
 */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "compare.h"
#include "evalbench.h"
#include "judge.h"
#include "outputs.h"
#include "ppl.h"
#include "score.h"
#include "source.h"
#include "speed.h"

static const char usage[] =
	"usage: qeval SUBCOMMAND [options]\n"
	"  score --ref REFS [--tap] [--min-accuracy X] [RESULTS]\n"
	"                        check answers (RESULTS, default stdin: OpenAI batch output or\n"
	"                        response bodies with a custom_id) against references\n"
	"      --ref FILE        JSONL references {\"custom_id\",\"check\",\"answer\"}\n"
	"      --tap             print TAP (exit 1 when an item fails) instead of a summary\n"
	"      --min-accuracy X  exit 1 when the accuracy is below X (0..1)\n"
	"  compare A B --sheet FILE [--key FILE] [--seed S]\n"
	"                        pair two result files by custom_id into a blinded rating sheet;\n"
	"                        the key (which side is A) goes to --key (default FILE.key)\n"
	"  compare --ratings FILE [--key FILE]\n"
	"                        tally a filled-in sheet: A vs B wins, ties, sign test p-value\n"
	"  compare A B --judge URL --judge-model M [--api-key K] [--input BATCH-INPUT.jsonl]\n"
	"                        an LLM judge rates every pair in both orders (position bias cancels)\n"
	"  speed [-m MODEL] [-p N] [-n N] [-r R] [-t N] [--json]\n"
	"                        llama-bench's pp (one prompt of -p tokens, default 512) and tg (-n\n"
	"                        one-token steps, default 128) tok/s, mean +/- sd over -r runs (5)\n"
	"  ppl [-m MODEL] [--ctx N] [--chunks K] [-t N] < TEXT\n"
	"                        perplexity as llama-perplexity computes it (chunks of --ctx tokens,\n"
	"                        default 512, the second half of each scored)\n"
	"  bench --url URL [--model NAME] [--endpoint chat|completions|ollama]\n"
	"        [--dataset random|FILE.jsonl|sharegpt.json] [--num-prompts N] [--input-len L]\n"
	"        [--output-len L] [--request-rate R|inf] [--burstiness B] [--max-concurrency C]\n"
	"        [--warmup W] [--goodput ttft:MS,tpot:MS,e2el:MS] [--api-key K] [--seed S]\n"
	"        [--timeout S] [--json FILE] [--plot FILE.svg]\n"
	"                        load a server with streaming requests; TTFT, TPOT, ITL, E2EL\n"
	"                        (vLLM's bench serve definitions), throughput, goodput\n"
	"  -h, --help, --version\n";

/* ---- score ---- */

/* s on one TAP line, line breaks as spaces; in a test description (esc)
 * '#' and '\\' are escaped so TAP does not read a directive. */
static void tap_text(const char *s, int esc)
{
	for (; *s; s++) {
		if (esc && (*s == '#' || *s == '\\'))
			putchar('\\');
		putchar(*s == '\n' || *s == '\r' ? ' ' : *s);
	}
}

static void print_accuracy(const char *prefix, size_t k, size_t n)
{
	if (n == 0) {
		printf("%saccuracy n/a (0/0)\n", prefix);
		return;
	}
	double lo, hi;
	q_wilson(k, n, &lo, &hi);
	printf("%saccuracy %.4f (%zu/%zu), 95%% CI [%.4f, %.4f]\n", prefix, (double)k / (double)n, k, n, lo, hi);
}

static int cmd_score(int argc, char **argv)
{
	enum { O_REF = 256, O_TAP, O_MIN };
	static const struct option lo[] = {
		{"ref", required_argument, 0, O_REF}, {"tap", no_argument, 0, O_TAP},
		{"min-accuracy", required_argument, 0, O_MIN}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	const char *ref = NULL, *results = "-";
	int tap = 0, c;
	double min_acc = -1;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case O_REF: ref = optarg; break;
		case O_TAP: tap = 1; break;
		case O_MIN:
			min_acc = cli_float("--min-accuracy", optarg);
			if (min_acc < 0 || min_acc > 1)
				cli_fail(2, "--min-accuracy '%s': want a number in [0, 1]", optarg);
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: cli_bad_option(c, optopt, argv[optind - 1]);
		}
	}
	if (!ref)
		cli_fail(2, "score needs --ref FILE (see qeval -h)");
	if (optind < argc)
		results = argv[optind++];
	if (optind < argc)
		cli_fail(2, "unexpected argument '%s' (score reads one results file; see qeval -h)", argv[optind]);
	if (tap && min_acc >= 0)
		cli_fail(2, "--min-accuracy does not go with --tap (TAP fails on any failed item)");

	q_refs refs;
	q_outputs outs;
	q_score sc;
	if (q_refs_load(ref, &refs) < 0 || q_outputs_load(results, &outs) < 0)
		cli_die_lib(NULL);
	if (q_score_run(&refs, &outs, &sc) < 0)
		cli_die_lib(NULL);
	if (tap) {
		if (sc.n == 0)
			printf("1..0 # SKIP no items\n");
		else
			printf("1..%zu\n", sc.n);
	} else {
		printf("%zu item%s, %zu passed, %zu failed\n", sc.n, sc.n == 1 ? "" : "s", sc.passed, sc.n - sc.passed);
		print_accuracy("", sc.passed, sc.n);
	}
	for (size_t i = 0; i < sc.n; i++) {
		const q_score_item *it = &sc.v[i];
		if (tap) {
			printf("%sok %zu - ", it->pass ? "" : "not ", i + 1);
			tap_text(it->id, 1);
			putchar('\n');
			if (!it->pass) {
				printf("#   check: %s\n", it->check ? it->check : "(none)");
				if (it->why)
					printf("#   why: "), tap_text(it->why, 0), putchar('\n');
				if (it->expected)
					printf("#   expected: %s\n", it->expected);
				if (it->got)
					printf("#   got: %s\n", it->got);
			}
			continue;
		}
		if (it->pass)
			continue;
		printf("FAIL %s%s%s:", it->id, it->check ? " " : "", it->check ? it->check : "");
		const char *sep = " ";
		if (it->why)
			printf("%s%s", sep, it->why), sep = "; ";
		if (it->expected)
			printf("%sexpected %s", sep, it->expected), sep = "; ";
		if (it->got)
			printf("%sgot %s", sep, it->got);
		putchar('\n');
	}
	if (tap && sc.n)
		print_accuracy("# ", sc.passed, sc.n);
	if (fflush(stdout) != 0 || ferror(stdout))
		cli_fail(1, "write to stdout failed");
	size_t n = sc.n, passed = sc.passed;
	q_score_free(&sc);
	q_outputs_free(&outs);
	q_refs_free(&refs);
	if (tap)
		return passed == n ? 0 : 1;
	if (min_acc >= 0 && n == 0)
		cli_fail(1, "no items to score (--min-accuracy %g)", min_acc);
	if (min_acc >= 0 && (double)passed / (double)n < min_acc)
		cli_fail(1, "accuracy %.4f is below --min-accuracy %g", (double)passed / (double)n, min_acc);
	return 0;
}

/* ---- compare ---- */

static int cmd_compare(int argc, char **argv)
{
	enum { O_SHEET = 256, O_KEY, O_RATINGS, O_SEED, O_JUDGE, O_JUDGE_MODEL, O_API_KEY, O_INPUT };
	static const struct option lo[] = {
		{"sheet", required_argument, 0, O_SHEET}, {"key", required_argument, 0, O_KEY},
		{"ratings", required_argument, 0, O_RATINGS}, {"seed", required_argument, 0, O_SEED},
		{"judge", required_argument, 0, O_JUDGE}, {"judge-model", required_argument, 0, O_JUDGE_MODEL},
		{"api-key", required_argument, 0, O_API_KEY}, {"input", required_argument, 0, O_INPUT},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	const char *sheet = NULL, *key = NULL, *ratings = NULL, *input = NULL;
	q_judge_opts jo = {0};
	uint64_t seed = 0;
	int have_seed = 0, c;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case O_SHEET: sheet = optarg; break;
		case O_KEY: key = optarg; break;
		case O_RATINGS: ratings = optarg; break;
		case O_SEED: seed = (uint64_t)cli_long("--seed", optarg, 0, LONG_MAX); have_seed = 1; break;
		case O_JUDGE: jo.url = optarg; break;
		case O_JUDGE_MODEL: jo.model = optarg; break;
		case O_API_KEY: jo.api_key = optarg; break;
		case O_INPUT: input = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: cli_bad_option(c, optopt, argv[optind - 1]);
		}
	}
	int npos = argc - optind;
	if (jo.url || jo.model) {
		if (!jo.url || !jo.model)
			cli_fail(2, "--judge URL and --judge-model NAME go together");
		if (sheet || ratings)
			cli_fail(2, "--judge rates the pairs itself: no --sheet or --ratings with it");
		if (npos != 2)
			cli_fail(2, "compare --judge needs two result files A and B (see qeval -h)");
		q_outputs a, b;
		q_pairs pairs;
		q_questions qs = {0};
		if (q_outputs_load(argv[optind], &a) < 0 || q_outputs_load(argv[optind + 1], &b) < 0 ||
		    q_pairs_make(&a, &b, &pairs) < 0 || (input && q_questions_load(input, &qs) < 0))
			cli_die_lib(NULL);
		if (pairs.n == 0)
			cli_fail(1, "%s and %s have no custom_id with an answer in both", argv[optind], argv[optind + 1]);
		q_judge_tally jt;
		if (q_judge_run(&jo, &pairs, input ? q_questions_find : NULL, &qs, &jt) < 0)
			cli_die_lib(NULL);
		double p = q_sign_test(jt.t.a, jt.t.b);
		printf("A wins %zu, B wins %zu, ties %zu (%zu items, each judged in both orders); sign test p = ", jt.t.a,
		       jt.t.b, jt.t.tie, jt.t.a + jt.t.b + jt.t.tie);
		printf(p >= 1e-4 ? "%.4f\n" : "%.2e\n", p);
		printf("the judge chose the answer shown first %zu times, the second %zu times; %zu unusable verdicts, "
		       "%zu failed requests\n", jt.t.first, jt.t.second, jt.unusable, jt.failed);
		q_questions_free(&qs);
		q_pairs_free(&pairs);
		q_outputs_free(&a);
		q_outputs_free(&b);
		return 0;
	}
	if (sheet && ratings)
		cli_fail(2, "--sheet and --ratings do not go together (write a sheet, then tally it)");
	if (!sheet && !ratings)
		cli_fail(2, "compare needs --sheet FILE (write a rating sheet) or --ratings FILE (tally one); see qeval -h");
	q_buf defkey = Q_BUF_INIT;
	if (!key && q_buf_printf(&defkey, "%s.key", sheet ? sheet : ratings) < 0)
		cli_die_lib(NULL);
	if (!key)
		key = defkey.p;

	if (ratings) {
		if (npos)
			cli_fail(2, "unexpected argument '%s' (--ratings reads the sheet and its key only)", argv[optind]);
		if (have_seed)
			cli_fail(2, "--seed only goes with --sheet");
		q_tally t;
		if (q_ratings_read(ratings, key, &t) < 0)
			cli_die_lib(NULL);
		double p = q_sign_test(t.a, t.b);
		printf("A wins %zu, B wins %zu, ties %zu (%zu items); sign test p = ", t.a, t.b, t.tie, t.a + t.b + t.tie);
		printf(p >= 1e-4 ? "%.4f\n" : "%.2e\n", p);
		printf("the rater chose the first side %zu times, the second %zu times\n", t.first, t.second);
	} else {
		if (npos != 2)
			cli_fail(2, "compare --sheet needs two result files A and B (see qeval -h)");
		q_outputs a, b;
		q_pairs pairs;
		if (q_outputs_load(argv[optind], &a) < 0 || q_outputs_load(argv[optind + 1], &b) < 0 ||
		    q_pairs_make(&a, &b, &pairs) < 0)
			cli_die_lib(NULL);
		if (pairs.n == 0)
			cli_fail(1, "%s and %s have no custom_id with an answer in both", argv[optind], argv[optind + 1]);
		if (q_sheet_write(&pairs, sheet, key, have_seed ? &seed : NULL) < 0)
			cli_die_lib(NULL);
		printf("%zu pairs to rate in %s, key in %s; left out: %zu only in A, %zu only in B, %zu with a failed answer\n",
		       pairs.n, sheet, key, pairs.only_a, pairs.only_b, pairs.failed);
		q_pairs_free(&pairs);
		q_outputs_free(&a);
		q_outputs_free(&b);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		cli_fail(1, "write to stdout failed");
	q_buf_free(&defkey);
	return 0;
}

/* ---- speed ---- */

static void stats(const double *v, int n, double *mean, double *sd)
{
	double s = 0, q = 0;
	for (int i = 0; i < n; i++)
		s += v[i];
	*mean = s / n;
	for (int i = 0; i < n; i++)
		q += (v[i] - *mean) * (v[i] - *mean);
	*sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

static int cmd_speed(int argc, char **argv)
{
	enum { O_JSON = 256 };
	static const struct option lo[] = {
		{"model", required_argument, 0, 'm'}, {"threads", required_argument, 0, 't'},
		{"json", no_argument, 0, O_JSON}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	const char *model = NULL;
	long np = 512, ng = 128, reps = 5, threads = 0;
	int json = 0, c;
	while ((c = getopt_long(argc, argv, ":m:p:n:r:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'p': np = cli_long("-p", optarg, 0, 1 << 16); break;
		case 'n': ng = cli_long("-n", optarg, 0, 1 << 16); break;
		case 'r': reps = cli_long("-r", optarg, 1, 1000); break;
		case 't': threads = cli_long("-t", optarg, 1, 1024); break;
		case O_JSON: json = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: cli_bad_option(c, optopt, argv[optind - 1]);
		}
	}
	if (optind < argc)
		cli_fail(2, "unexpected argument '%s' (see qeval -h)", argv[optind]);
	if (!np && !ng)
		cli_fail(2, "nothing to measure: -p 0 and -n 0");
	q_loaded ld;
	if (q_load(model, (int)threads, &ld) < 0)
		cli_die_lib(NULL);
	const char *base = strrchr(ld.path.p, '/');
	base = base ? base + 1 : ld.path.p;
	double *v = malloc((size_t)reps * sizeof *v);
	if (!v)
		cli_fail(1, "out of memory");
	if (json)
		printf("[");
	else
		printf("| model | threads | test | t/s |\n| --- | ---: | ---: | ---: |\n");
	for (int pass = 0; pass < 2; pass++) {
		long n = pass == 0 ? np : ng;
		if (!n)
			continue;
		for (long r = 0; r < reps; r++)
			if (q_speed_run(ld.m, ld.tok, ld.be, pass == 0 ? (int)n : 0, pass == 0 ? 0 : (int)n,
					(uint64_t)r + 1, &v[r]) < 0)
				cli_die_lib(NULL);
		double mean, sd;
		stats(v, (int)reps, &mean, &sd);
		int threads_used = qk_cpu_threads(ld.be);
		if (json) {
			printf("%s\n  {\"model\": \"%s\", \"threads\": %d, \"test\": \"%s%ld\", \"n_prompt\": %ld, "
			       "\"n_gen\": %ld, \"avg_ts\": %.6f, \"stddev_ts\": %.6f, \"samples_ts\": [",
			       pass == 1 && np ? "," : "", base, threads_used, pass ? "tg" : "pp", n, pass ? 0 : n,
			       pass ? n : 0, mean, sd);
			for (long r = 0; r < reps; r++)
				printf(r ? ", %.6f" : "%.6f", v[r]);
			printf("]}");
		} else {
			printf("| %s | %d | %s%ld | %.2f ± %.2f |\n", base, threads_used, pass ? "tg" : "pp", n, mean, sd);
		}
		fflush(stdout);
	}
	if (json)
		printf("\n]\n");
	free(v);
	q_unload(&ld);
	if (fflush(stdout) != 0 || ferror(stdout))
		cli_fail(1, "write to stdout failed");
	return 0;
}

/* ---- ppl ---- */

static void on_chunk(void *ud, int chunk, double ppl)
{
	(void)ud;
	printf("[%d]%.4f,", chunk, ppl);
	fflush(stdout);
}

static int cmd_ppl(int argc, char **argv)
{
	enum { O_CTX = 256, O_CHUNKS };
	static const struct option lo[] = {
		{"model", required_argument, 0, 'm'}, {"threads", required_argument, 0, 't'},
		{"ctx", required_argument, 0, O_CTX}, {"chunks", required_argument, 0, O_CHUNKS},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	const char *model = NULL;
	long ctx = 512, chunks = 0, threads = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":m:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 't': threads = cli_long("-t", optarg, 1, 1024); break;
		case O_CTX: ctx = cli_long("--ctx", optarg, 4, 1 << 20); break;
		case O_CHUNKS: chunks = cli_long("--chunks", optarg, 1, INT_MAX); break;
		case 'h': fputs(usage, stdout); return 0;
		default: cli_bad_option(c, optopt, argv[optind - 1]);
		}
	}
	if (optind < argc)
		cli_fail(2, "unexpected argument '%s' (the text comes on stdin; see qeval -h)", argv[optind]);
	q_buf text = Q_BUF_INIT;
	if (q_buf_read_fd(&text, 0) < 0)
		cli_die_lib("stdin");
	q_loaded ld;
	if (q_load(model, (int)threads, &ld) < 0)
		cli_die_lib(NULL);
	q_ids ids = Q_IDS_INIT;
	if (q_tok_encode(ld.tok, text.p ? text.p : "", text.len, Q_TOK_ADD_SPECIAL | Q_TOK_PARSE_SPECIAL, &ids) < 0)
		cli_die_lib("stdin");
	/* as many chunks at once as fill llama-perplexity's batch of 2048 */
	int n_seq = ctx < 2048 ? (int)(2048 / ctx) : 1;
	q_ppl_result r;
	if (q_ppl_run(ld.m, ld.tok, ld.be, ids.v, ids.n, (int)ctx, (int)chunks, n_seq, on_chunk, NULL, &r) < 0)
		cli_die_lib(NULL);
	printf("\nPPL = %.4f +/- %.5f\n", r.ppl, r.ppl_err);
	fprintf(stderr, "qeval: %zu tokens, %d chunks of %ld, %lld positions scored\n", ids.n, r.n_chunk, ctx,
		(long long)r.count);
	q_ids_free(&ids);
	q_buf_free(&text);
	q_unload(&ld);
	if (fflush(stdout) != 0 || ferror(stdout))
		cli_fail(1, "write to stdout failed");
	return 0;
}

/* ---- bench ---- */

/* --goodput ttft:MS,tpot:MS,e2el:MS */
static void parse_goodput(const char *s, q_bench_opts *o)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", s);
	for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
		char *colon = strchr(tok, ':');
		if (!colon)
			cli_fail(2, "--goodput '%s': want NAME:MS pairs (ttft, tpot, e2el)", s);
		*colon = 0;
		float ms = cli_float("--goodput", colon + 1);
		if (!(ms > 0))
			cli_fail(2, "--goodput %s: the limit must be > 0 ms", tok);
		if (!strcmp(tok, "ttft"))
			o->slo_ttft_ms = ms;
		else if (!strcmp(tok, "tpot"))
			o->slo_tpot_ms = ms;
		else if (!strcmp(tok, "e2el"))
			o->slo_e2el_ms = ms;
		else
			cli_fail(2, "--goodput: unknown metric '%s' (ttft, tpot, e2el)", tok);
	}
}

static void print_stat(const char *name, const q_bench_stat *s)
{
	printf("%-6s mean %9.2f  median %9.2f  p90 %9.2f  p99 %9.2f  (ms)\n", name, s->mean, s->median, s->p90, s->p99);
}

/* Latency CDFs and tokens per second over time, drawn by gnuplot. */
static void plot(const char *path, const q_bench_result *r)
{
	char dir[] = "/tmp/qeval-plot-XXXXXX";
	if (!mkdtemp(dir))
		cli_fail(1, "--plot: cannot make a temporary directory");
	char f1[64], f2[64], cmd[512];
	snprintf(f1, sizeof f1, "%s/lat", dir);
	snprintf(f2, sizeof f2, "%s/tps", dir);
	FILE *a = fopen(f1, "w"), *b = fopen(f2, "w");
	if (!a || !b)
		cli_fail(1, "--plot: cannot write in %s", dir);
	for (int i = 0; i < r->completed; i++) /* both sorted: the CDFs */
		fprintf(a, "%g %g %g\n", r->ttft_ms[i], r->e2el_ms[i], (i + 1.0) / r->completed);
	long secs = (long)ceil(r->duration) + 1;
	long *per = calloc((size_t)secs, sizeof *per);
	for (int64_t i = 0; per && i < r->n_t_tokens; i++)
		if (r->t_tokens[i] >= 0 && (long)r->t_tokens[i] < secs)
			per[(long)r->t_tokens[i]]++;
	for (long i = 0; per && i < secs; i++)
		fprintf(b, "%ld %ld\n", i, per[i]);
	fclose(a);
	fclose(b);
	free(per);
	snprintf(cmd, sizeof cmd,
		 "gnuplot -e \"set terminal svg size 900,400; set output '%s'; set multiplot layout 1,2;"
		 " set xlabel 'ms'; set ylabel 'fraction'; plot '%s' u 1:3 w l t 'TTFT', '%s' u 2:3 w l t 'E2EL';"
		 " set xlabel 's'; set ylabel 'chunks/s'; plot '%s' u 1:2 w steps t 'output'\" 2>/dev/null",
		 path, f1, f1, f2);
	int rc = system(cmd);
	unlink(f1);
	unlink(f2);
	rmdir(dir);
	if (rc != 0)
		fprintf(stderr, "qeval: --plot: gnuplot failed or is not installed; no %s\n", path);
}

static int cmd_bench(int argc, char **argv)
{
	enum { O_URL = 256, O_MODEL, O_ENDPOINT, O_DATASET, O_NUM, O_IN, O_OUT, O_RATE, O_BURST, O_CONC, O_WARM,
	       O_GOOD, O_KEY, O_SEED, O_TIMEOUT, O_JSON, O_PLOT };
	static const struct option lo[] = {
		{"url", required_argument, 0, O_URL}, {"model", required_argument, 0, O_MODEL},
		{"endpoint", required_argument, 0, O_ENDPOINT}, {"dataset", required_argument, 0, O_DATASET},
		{"num-prompts", required_argument, 0, O_NUM}, {"input-len", required_argument, 0, O_IN},
		{"output-len", required_argument, 0, O_OUT}, {"request-rate", required_argument, 0, O_RATE},
		{"burstiness", required_argument, 0, O_BURST}, {"max-concurrency", required_argument, 0, O_CONC},
		{"warmup", required_argument, 0, O_WARM}, {"goodput", required_argument, 0, O_GOOD},
		{"api-key", required_argument, 0, O_KEY}, {"seed", required_argument, 0, O_SEED},
		{"timeout", required_argument, 0, O_TIMEOUT}, {"json", required_argument, 0, O_JSON},
		{"plot", required_argument, 0, O_PLOT}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	q_bench_opts o = {.num_prompts = 100, .input_len = 32, .output_len = 64, .burstiness = 1, .seed = 0};
	const char *json = NULL, *plot_path = NULL;
	int c;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case O_URL: o.url = optarg; break;
		case O_MODEL: o.model = optarg; break;
		case O_ENDPOINT:
			if (!strcmp(optarg, "chat"))
				o.endpoint = Q_BENCH_CHAT;
			else if (!strcmp(optarg, "completions"))
				o.endpoint = Q_BENCH_COMPLETIONS;
			else if (!strcmp(optarg, "ollama"))
				o.endpoint = Q_BENCH_OLLAMA;
			else
				cli_fail(2, "--endpoint '%s': want chat, completions or ollama", optarg);
			break;
		case O_DATASET: o.dataset = optarg; break;
		case O_NUM: o.num_prompts = (int)cli_long("--num-prompts", optarg, 1, 10000000); break;
		case O_IN: o.input_len = (int)cli_long("--input-len", optarg, 1, 1 << 20); break;
		case O_OUT: o.output_len = (int)cli_long("--output-len", optarg, 1, 1 << 20); break;
		case O_RATE:
			o.request_rate = !strcmp(optarg, "inf") ? 0 : cli_float("--request-rate", optarg);
			if (strcmp(optarg, "inf") && !(o.request_rate > 0))
				cli_fail(2, "--request-rate '%s': want a number > 0 or inf", optarg);
			break;
		case O_BURST:
			o.burstiness = cli_float("--burstiness", optarg);
			if (!(o.burstiness > 0))
				cli_fail(2, "--burstiness '%s': want a number > 0", optarg);
			break;
		case O_CONC: o.max_concurrency = (int)cli_long("--max-concurrency", optarg, 1, 1 << 20); break;
		case O_WARM: o.warmup = (int)cli_long("--warmup", optarg, 0, 1 << 20); break;
		case O_GOOD: parse_goodput(optarg, &o); break;
		case O_KEY: o.api_key = optarg; break;
		case O_SEED: o.seed = (uint64_t)cli_long("--seed", optarg, 0, LONG_MAX); break;
		case O_TIMEOUT: o.timeout_s = cli_float("--timeout", optarg); break;
		case O_JSON: json = optarg; break;
		case O_PLOT: plot_path = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: cli_bad_option(c, optopt, argv[optind - 1]);
		}
	}
	if (optind < argc)
		cli_fail(2, "unexpected argument '%s' (see qeval -h)", argv[optind]);
	if (!o.url)
		cli_fail(2, "bench needs --url (the server's root, e.g. http://127.0.0.1:8080)");
	if (isatty(2))
		o.progress = stderr;
	q_bench_result r;
	if (q_bench_run(&o, &r) < 0)
		cli_die_lib(NULL);
	static const char *const KIND[Q_FAIL_N] = {"connect", "http_4xx", "http_5xx", "timeout", "malformed", "other"};
	printf("completed %d  failed %d", r.completed, r.failed);
	for (int i = 0; i < Q_FAIL_N; i++)
		if (r.fail[i])
			printf("  %s %d", KIND[i], r.fail[i]);
	printf("\nduration %.2f s  requests %.2f/s (%.1f/min)  output %.2f tok/s  total %.2f tok/s\n", r.duration,
	       r.request_throughput, r.request_throughput * 60, r.output_throughput, r.total_token_throughput);
	printf("input tokens %lld  output tokens %lld", (long long)r.total_input, (long long)r.total_output);
	if (o.slo_ttft_ms || o.slo_tpot_ms || o.slo_e2el_ms)
		printf("  goodput %.2f req/s", r.goodput);
	printf("\n");
	print_stat("TTFT", &r.ttft);
	print_stat("TPOT", &r.tpot);
	print_stat("ITL", &r.itl);
	print_stat("E2EL", &r.e2el);
	if (json) {
		q_buf b = Q_BUF_INIT;
		FILE *f = fopen(json, "w");
		if (!f || q_bench_json(&r, &b) < 0 || fwrite(b.p, 1, b.len, f) != b.len || fputc('\n', f) == EOF ||
		    fclose(f) != 0)
			cli_fail(1, "--json %s: cannot write", json);
		q_buf_free(&b);
	}
	if (plot_path)
		plot(plot_path, &r);
	q_bench_result_free(&r);
	if (fflush(stdout) != 0 || ferror(stdout))
		cli_fail(1, "write to stdout failed");
	return 0;
}

/* ---- dispatch ---- */

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} cmds[] = {
	{"score", cmd_score},
	{"compare", cmd_compare},
	{"speed", cmd_speed},
	{"bench", cmd_bench},
	{"ppl", cmd_ppl},
};

int main(int argc, char **argv)
{
	cli_name = "qeval";
	opterr = 0;
	if (argc < 2)
		cli_fail(2, "no subcommand (speed, bench, ppl, score, compare; see qeval -h)");
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(sub, "--version") == 0)
		cli_version();
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		if (strcmp(sub, cmds[i].name) != 0)
			continue;
		return cmds[i].run(argc - 1, argv + 1);
	}
	cli_fail(2, "unknown subcommand '%s' (see qeval -h)", sub);
}
