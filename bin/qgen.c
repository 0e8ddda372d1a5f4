/*
 * qgen - generate a continuation of a prompt with a model.
 *
 *   qgen [-m MODEL] [-p PROMPT] [-n N] [sampling options] [--stop S]...
 *        [--chat [--system S]] [--ids] [-t N] [--ctx N] [--truncate]
 *
 * The prompt comes from -p or all of stdin; only the continuation goes to
 * stdout, flushed after every token; one stats line goes to stderr.  This
 * file only parses arguments and wires lib/ together (lib/engine does the
 * work).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "chat.h"
#include "cli.h"
#include "engine.h"
#include "gguf.h"
#include "model.h"
#include "source.h"
#include "tok.h"
#include "utf8.h"

static const char usage[] =
	"usage: qgen [-m MODEL] [-p PROMPT] [-n N] [options]    prompt from -p or stdin\n"
	"  -m MODEL              GGUF model (default: $Q_MODEL, else the embedded default model)\n"
	"  -p PROMPT             the prompt (default: all of stdin)\n"
	"  -n N                  generate at most N tokens (default: until end of text or a full context)\n"
	"  --temp T              temperature, 0 = greedy (default 0.8)\n"
	"  --top-k K             keep the K most likely tokens, 0 = off (default 40)\n"
	"  --top-p P             nucleus sampling, P in (0,1], 1 = off (default 0.95)\n"
	"  --min-p P             drop tokens below P x the best one, 0 = off (default 0.05)\n"
	"  --seed S              random seed (default: random)\n"
	"  --repeat-penalty R    penalize repeated tokens, 1 = off (default 1)\n"
	"  --presence-penalty P  subtract P from seen tokens' logits (default 0)\n"
	"  --frequency-penalty P subtract P x count from seen tokens' logits (default 0)\n"
	"  --repeat-last-n N     tokens the penalties look back at (default 64)\n"
	"  --stop S              stop before the text S (repeatable)\n"
	"  --chat                the prompt is a user message: apply the model's chat template\n"
	"  --system S            with --chat: a system message first\n"
	"  --ids                 read and write token ids instead of text\n"
	"  -t N                  threads (default: all cores)\n"
	"  --ctx N               context size in tokens (default: the model's, at most 4096)\n"
	"  --truncate            keep the end of a prompt longer than the context\n"
	"  --fast-kernels        Q4_1 and Q8_0 matmuls in q's fast order (QK_ORDER=fast): faster, output\n"
	"                        no longer bit-identical to llama.cpp's\n"
	"  -h, --help, --version\n";

static struct {
	const char *model, *prompt, *system;
	long n_predict, threads, ctx;
	int chat, ids, truncate, have_seed;
	const char **stop;
	int n_stop;
	q_sample_params sp;
} opt = {.n_predict = -1};

#define MAX_PREDICT (1L << 24)

static int on_text(void *ud, const char *s, size_t n)
{
	(void)ud;
	cli_write(s, n);
	if (fflush(stdout) != 0)
		cli_fail(1, "write to stdout failed");
	return 0;
}

static int on_token(void *ud, int32_t id)
{
	const q_tok *tok = ud;
	static int first = 1;
	if (q_tok_is_eog(tok, id))
		return 0;
	if (printf(first ? "%d" : " %d", id) < 0 || fflush(stdout) != 0)
		cli_fail(1, "write to stdout failed");
	first = 0;
	return 0;
}

static q_result result;

static void on_done(void *ud, const q_result *r)
{
	(void)ud;
	result = *r;
}


/* The prompt's token ids: ids as given, text tokenized, or the chat
 * template rendered over it and tokenized. */
static void prompt_ids(const q_tok *tok, q_ids *ids)
{
	q_buf in = Q_BUF_INIT;
	if (opt.prompt ? q_buf_adds(&in, opt.prompt) < 0 : q_buf_read_fd(&in, 0) < 0)
		cli_die_lib("stdin");
	const char *s = in.p ? in.p : "";
	if (opt.ids) {
		if (q_tok_parse_ids(tok, s, in.len, ids) < 0)
			cli_die_lib("prompt");
		q_buf_free(&in);
		return;
	}
	size_t bad = q_utf8_check(s, in.len);
	if (bad != in.len)
		cli_fail(1, "prompt: invalid UTF-8 at byte %zu", bad);
	if (memchr(s, '\0', in.len))
		cli_fail(1, "prompt: contains a NUL byte");
	unsigned flags = Q_TOK_ADD_SPECIAL | Q_TOK_PARSE_SPECIAL;
	q_buf text = Q_BUF_INIT;
	if (opt.chat) {
		cJSON *req = q_chat_request(opt.system, s);
		if (!req || q_chat_render(tok, NULL, req, &text) < 0)
			cli_die_lib("--chat");
		cJSON_Delete(req);
		s = text.p ? text.p : "";
		flags = Q_TOK_PARSE_SPECIAL; /* the template writes BOS itself */
	}
	if (q_tok_encode(tok, s, strlen(s), flags, ids) < 0)
		cli_die_lib("prompt");
	q_buf_free(&text);
	q_buf_free(&in);
}

/* Fit the prompt into ctx: error, or with --truncate keep a leading BOS and
 * the last tokens, leaving room for -n tokens when it can. */
static void fit_prompt(const q_tok *tok, q_ids *ids, long ctx, long n_predict)
{
	if (ids->n == 0)
		cli_fail(1, "empty prompt");
	if ((long)ids->n <= ctx)
		return;
	if (!opt.truncate)
		cli_fail(1, "prompt of %zu tokens is longer than the context of %ld (use --truncate or a larger --ctx)",
			 ids->n, ctx);
	size_t keep = (size_t)(n_predict >= 0 && n_predict < ctx ? ctx - n_predict : ctx / 2);
	keep = keep ? keep : 1;
	int bos = ids->v[0] == q_tok_bos(tok) && keep > 1;
	size_t tail = keep - (size_t)bos;
	memmove(ids->v + bos, ids->v + ids->n - tail, tail * sizeof *ids->v);
	ids->n = keep;
}

int main(int argc, char **argv)
{
	enum { O_TEMP = 256, O_TOPK, O_TOPP, O_MINP, O_SEED, O_REP, O_PRES, O_FREQ, O_LASTN, O_STOP, O_CHAT,
	       O_SYSTEM, O_IDS, O_CTX, O_TRUNC, O_FAST, O_VERSION };
	static const struct option lo[] = {
		{"model", required_argument, 0, 'm'}, {"prompt", required_argument, 0, 'p'},
		{"n-predict", required_argument, 0, 'n'}, {"threads", required_argument, 0, 't'},
		{"temp", required_argument, 0, O_TEMP}, {"top-k", required_argument, 0, O_TOPK},
		{"top-p", required_argument, 0, O_TOPP}, {"min-p", required_argument, 0, O_MINP},
		{"seed", required_argument, 0, O_SEED}, {"repeat-penalty", required_argument, 0, O_REP},
		{"presence-penalty", required_argument, 0, O_PRES},
		{"frequency-penalty", required_argument, 0, O_FREQ},
		{"repeat-last-n", required_argument, 0, O_LASTN}, {"stop", required_argument, 0, O_STOP},
		{"chat", no_argument, 0, O_CHAT}, {"system", required_argument, 0, O_SYSTEM},
		{"ids", no_argument, 0, O_IDS}, {"ctx", required_argument, 0, O_CTX},
		{"truncate", no_argument, 0, O_TRUNC}, {"fast-kernels", no_argument, 0, O_FAST},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0},
	};
	cli_name = "qgen";
	opterr = 0;
	q_sample_defaults(&opt.sp);
	opt.stop = calloc((size_t)argc, sizeof *opt.stop);
	if (!opt.stop)
		cli_fail(1, "out of memory");
	int c;
	while ((c = getopt_long(argc, argv, ":m:p:n:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'm': opt.model = optarg; break;
		case 'p': opt.prompt = optarg; break;
		case 'n': opt.n_predict = cli_long("-n", optarg, 0, MAX_PREDICT); break;
		case 't': opt.threads = cli_long("-t", optarg, 1, 1024); break;
		case O_TEMP: opt.sp.temp = cli_float("--temp", optarg); break;
		case O_TOPK: opt.sp.top_k = (int)cli_long("--top-k", optarg, 0, INT_MAX); break;
		case O_TOPP: opt.sp.top_p = cli_float("--top-p", optarg); break;
		case O_MINP: opt.sp.min_p = cli_float("--min-p", optarg); break;
		case O_SEED: opt.sp.seed = (uint64_t)cli_long("--seed", optarg, 0, LONG_MAX); opt.have_seed = 1; break;
		case O_REP: opt.sp.repeat_penalty = cli_float("--repeat-penalty", optarg); break;
		case O_PRES: opt.sp.presence_penalty = cli_float("--presence-penalty", optarg); break;
		case O_FREQ: opt.sp.frequency_penalty = cli_float("--frequency-penalty", optarg); break;
		case O_LASTN: opt.sp.penalty_last_n = (int)cli_long("--repeat-last-n", optarg, 0, 1 << 20); break;
		case O_STOP:
			if (!*optarg)
				cli_fail(2, "--stop: empty stop string");
			opt.stop[opt.n_stop++] = optarg;
			break;
		case O_CHAT: opt.chat = 1; break;
		case O_SYSTEM: opt.system = optarg; break;
		case O_IDS: opt.ids = 1; break;
		case O_CTX: opt.ctx = cli_long("--ctx", optarg, 1, 1 << 20); break;
		case O_TRUNC: opt.truncate = 1; break;
		case O_FAST: setenv("QK_ORDER", "fast", 1); break;
		case 'h': fputs(usage, stdout); return 0;
		case O_VERSION: cli_version(); break;
		default: cli_bad_option(c, optopt, argv[optind - 1]);
		}
	}
	if (optind < argc)
		cli_fail(2, "unexpected argument '%s' (the prompt goes in -p or on stdin; see qgen -h)", argv[optind]);
	if (opt.system && !opt.chat)
		cli_fail(2, "--system needs --chat");
	if (opt.chat && opt.ids)
		cli_fail(2, "--chat cannot be combined with --ids");
	if (opt.ids && opt.n_stop)
		cli_fail(2, "--stop cannot be combined with --ids");
	if (q_sample_check(&opt.sp, INT32_MAX) < 0)
		cli_fail(2, "%s", q_errmsg());
	if (!opt.have_seed) {
		if (sodium_init() < 0)
			cli_fail(1, "cannot initialize libsodium");
		randombytes_buf(&opt.sp.seed, sizeof opt.sp.seed);
	}

	q_loaded ld;
	if (q_load(opt.model, (int)opt.threads, &ld) < 0)
		cli_die_lib(NULL);
	q_tok *tok = ld.tok;
	qk_backend *be = ld.be;
	q_model *m = ld.m;

	const q_hparams *hp = q_model_hparams(m);
	long ctx = opt.ctx ? opt.ctx : hp->n_ctx_train > 0 && hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
	q_ids ids = Q_IDS_INIT;
	prompt_ids(tok, &ids);
	fit_prompt(tok, &ids, ctx, opt.n_predict);
	long n_predict = opt.n_predict >= 0 ? opt.n_predict : ctx;
	long need = (long)ids.n + n_predict < ctx ? (long)ids.n + n_predict : ctx;
	q_engine_config ec = Q_ENGINE_CONFIG_INIT;
	ec.max_seqs = 1;
	ec.n_ctx = (int)ctx;
	ec.batch_tokens = ids.n < 512 ? (int)ids.n : 512;
	ec.block_size = 16;
	ec.kv_blocks = (need + ec.block_size - 1) / ec.block_size;
	q_engine *e = q_engine_new(m, tok, be, &ec);
	if (!e)
		cli_die_lib(NULL);
	q_req rq = {.prompt = ids.v, .n_prompt = (int)ids.n, .n_predict = (int)n_predict, .sample = opt.sp,
		    .stop = opt.stop, .n_stop = opt.n_stop, .on_done = on_done, .ud = tok};
	if (opt.ids)
		rq.on_token = on_token;
	else
		rq.on_text = on_text;
	if (q_engine_add(e, &rq) < 0)
		cli_die_lib(NULL);
	if (q_engine_run(e) < 0 || result.reason == Q_DONE_ERROR)
		cli_fail(1, "%s", result.error ? result.error : q_errmsg());
	if (opt.ids && printf("\n") < 0)
		cli_fail(1, "write to stdout failed");
	if (fflush(stdout) != 0)
		cli_fail(1, "write to stdout failed");

	if (!opt.ids && isatty(1) && isatty(2))
		fputc('\n', stderr); /* both on a terminal: the stats line on its own line */
	const q_result *r = &result;
	double tp = r->t_prompt - r->t_add, tg = r->t_last - r->t_first;
	fprintf(stderr, "qgen: prompt: %d tokens, %.2f tok/s, generation: %d tokens, %.2f tok/s, ttft: %.2f ms\n",
		r->n_prompt, tp > 0 ? r->n_prompt / tp : 0.0, r->n_gen, r->n_gen > 1 && tg > 0 ? (r->n_gen - 1) / tg : 0.0,
		r->n_gen ? (r->t_first - r->t_add) * 1e3 : 0.0);
	q_engine_free(e);
	q_ids_free(&ids);
	q_unload(&ld);
	free(opt.stop);
	return 0;
}
