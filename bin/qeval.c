/*
 * qeval - evaluate a model's answers.
 *
 *   qeval score --ref REFS [--tap] [--min-accuracy X] [RESULTS]
 *   qeval compare A B --sheet FILE [--key FILE] [--seed S]
 *   qeval compare --ratings FILE [--key FILE]
 *   qeval speed | bench | ppl ...          (not implemented yet)
 *
 * This file parses arguments and prints; lib/outputs (reading answers),
 * lib/score (checks), lib/schema (JSON Schema) and lib/compare (pairing,
 * sheets, sign test) do the work.
 */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "compare.h"
#include "outputs.h"
#include "score.h"

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
	"  speed, bench, ppl     not implemented yet\n"
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
	enum { O_SHEET = 256, O_KEY, O_RATINGS, O_SEED, O_JUDGE, O_JUDGE_MODEL };
	static const struct option lo[] = {
		{"sheet", required_argument, 0, O_SHEET}, {"key", required_argument, 0, O_KEY},
		{"ratings", required_argument, 0, O_RATINGS}, {"seed", required_argument, 0, O_SEED},
		{"judge", required_argument, 0, O_JUDGE}, {"judge-model", required_argument, 0, O_JUDGE_MODEL},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	const char *sheet = NULL, *key = NULL, *ratings = NULL;
	uint64_t seed = 0;
	int have_seed = 0, c;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case O_SHEET: sheet = optarg; break;
		case O_KEY: key = optarg; break;
		case O_RATINGS: ratings = optarg; break;
		case O_SEED: seed = (uint64_t)cli_long("--seed", optarg, 0, LONG_MAX); have_seed = 1; break;
		case O_JUDGE: cli_fail(2, "'--judge' is not implemented yet");
		case O_JUDGE_MODEL: cli_fail(2, "'--judge-model' is not implemented yet");
		case 'h': fputs(usage, stdout); return 0;
		default: cli_bad_option(c, optopt, argv[optind - 1]);
		}
	}
	int npos = argc - optind;
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

/* ---- dispatch ---- */

static const struct {
	const char *name;
	int (*run)(int argc, char **argv); /* NULL: not implemented yet */
} cmds[] = {
	{"score", cmd_score},
	{"compare", cmd_compare},
	/* issue 5, parts 1-3: set these when they land */
	{"speed", NULL},
	{"bench", NULL},
	{"ppl", NULL},
};

int main(int argc, char **argv)
{
	cli_name = "qeval";
	opterr = 0;
	if (argc < 2)
		cli_fail(2, "no subcommand (score, compare; see qeval -h)");
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
		if (!cmds[i].run)
			cli_fail(2, "'%s' is not implemented yet", sub);
		return cmds[i].run(argc - 1, argv + 1);
	}
	cli_fail(2, "unknown subcommand '%s' (see qeval -h)", sub);
}
