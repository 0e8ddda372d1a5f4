/*
 * qserve - an OpenAI- and Ollama-compatible HTTP server over one model,
 * with continuous batching.
 *
 *   qserve [-m MODEL] [--host H] [--port P] [--parallel N] [--ctx N] ...
 *
 * This file parses arguments, loads the model while /health says 503,
 * and waits for SIGINT/SIGTERM: then it stops accepting, lets requests in
 * flight finish for up to --drain-timeout seconds, and exits 0.  lib/http
 * (routes), lib/serve (the engine thread) and lib/api (the JSON) do the
 * work.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "clock.h"
#include "cli.h"
#include "engine.h"
#include "gguf.h"
#include "http.h"
#include "metrics.h"
#include "model.h"
#include "serve.h"
#include "source.h"
#include "tmpl.h"
#include "tok.h"

static const char usage[] =
	"usage: qserve [-m MODEL] [--host H] [--port P] [options]\n"
	"  -m MODEL               GGUF model (default: $Q_MODEL, else the embedded default model)\n"
	"  --host H               address to listen on (default 127.0.0.1)\n"
	"  --port P               port (default 8080)\n"
	"  --model-name NAME      name the APIs report and accept (default: the file name without .gguf)\n"
	"  --parallel N           sequences decoded together (default 8)\n"
	"  --ctx N                context per sequence in tokens (default: the model's, at most 4096)\n"
	"  --kv-tokens N          KV cache pool in tokens, shared by all sequences\n"
	"                         (default: parallel x ctx, at most 32768 and at least ctx)\n"
	"  --batch N              tokens per engine step (default 512)\n"
	"  --no-prefix-cache      compute every prompt in full (default: reuse the KV blocks\n"
	"                         of prompt prefixes computed before; same output either way)\n"
	"  --fast-kernels         Q4_1 and Q8_0 matmuls in q's fast order (QK_ORDER=fast): faster,\n"
	"                         most of all in batches; output no longer bit-identical to llama.cpp's\n"
	"  --max-queue N          requests allowed to wait; beyond them 429 (default 1024, 0: no limit)\n"
	"  --api-key KEY          require 'Authorization: Bearer KEY' (repeatable)\n"
	"  --api-key-file F       keys, one per line\n"
	"  --rate-limit RPM       requests a minute per key (default: no limit)\n"
	"  --protect-metrics      /health and /metrics need a key too\n"
	"  --chat-template FILE   Jinja chat template to use instead of the model's\n"
	"  --max-body BYTES       largest request body (default 4194304)\n"
	"  --timeout S            idle connection timeout in seconds (default 60)\n"
	"  --drain-timeout S      on SIGTERM/SIGINT, seconds to let requests finish (default 30)\n"
	"  -t N                   threads (default: all cores)\n"
	"  --quiet                no access log on stderr\n"
	"  -h, --help, --version\n";

int main(int argc, char **argv)
{
	enum { O_HOST = 256, O_PORT, O_NAME, O_PAR, O_CTX, O_KV, O_BATCH, O_QUEUE, O_KEY, O_KEYFILE, O_RATE,
	       O_PROTECT, O_TMPL, O_BODY, O_TIMEOUT, O_DRAIN, O_QUIET, O_NOPREFIX, O_FAST, O_VERSION };
	static const struct option lo[] = {
		{"model", required_argument, 0, 'm'}, {"threads", required_argument, 0, 't'},
		{"host", required_argument, 0, O_HOST}, {"port", required_argument, 0, O_PORT},
		{"model-name", required_argument, 0, O_NAME}, {"parallel", required_argument, 0, O_PAR},
		{"ctx", required_argument, 0, O_CTX}, {"kv-tokens", required_argument, 0, O_KV},
		{"batch", required_argument, 0, O_BATCH}, {"max-queue", required_argument, 0, O_QUEUE},
		{"api-key", required_argument, 0, O_KEY}, {"api-key-file", required_argument, 0, O_KEYFILE},
		{"rate-limit", required_argument, 0, O_RATE}, {"protect-metrics", no_argument, 0, O_PROTECT},
		{"chat-template", required_argument, 0, O_TMPL}, {"max-body", required_argument, 0, O_BODY},
		{"timeout", required_argument, 0, O_TIMEOUT}, {"drain-timeout", required_argument, 0, O_DRAIN},
		{"quiet", no_argument, 0, O_QUIET}, {"no-prefix-cache", no_argument, 0, O_NOPREFIX},
		{"fast-kernels", no_argument, 0, O_FAST},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0},
	};
	cli_name = "qserve";
	opterr = 0;
	const char *model = NULL, *name = NULL, *tmpl_path = NULL;
	const char **keys = calloc((size_t)argc, sizeof *keys), **key_files = calloc((size_t)argc, sizeof *keys);
	int n_keys = 0, n_key_files = 0, protect = 0, quiet = 0, no_prefix = 0;
	long threads = 0, parallel = 8, ctx = 0, kv_tokens = 0, batch = 512, max_queue = 1024, rpm = 0,
	     max_body = 4 << 20, timeout = 60, drain = 30;
	q_http_config hc = {.host = "127.0.0.1", .port = 8080};
	if (!keys || !key_files)
		cli_fail(1, "out of memory");
	int c;
	while ((c = getopt_long(argc, argv, ":m:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 't': threads = cli_long("-t", optarg, 1, 1024); break;
		case O_HOST: hc.host = optarg; break;
		case O_PORT: hc.port = (int)cli_long("--port", optarg, 1, 65535); break;
		case O_NAME:
			if (!*optarg)
				cli_fail(2, "--model-name: empty name");
			name = optarg;
			break;
		case O_PAR: parallel = cli_long("--parallel", optarg, 1, 1024); break;
		case O_CTX: ctx = cli_long("--ctx", optarg, 16, 1 << 20); break;
		case O_KV: kv_tokens = cli_long("--kv-tokens", optarg, 16, 1L << 26); break;
		case O_BATCH: batch = cli_long("--batch", optarg, 1, 1 << 16); break;
		case O_QUEUE: max_queue = cli_long("--max-queue", optarg, 0, 1 << 24); break;
		case O_KEY:
			if (!*optarg)
				cli_fail(2, "--api-key: empty key");
			keys[n_keys++] = optarg;
			break;
		case O_KEYFILE: key_files[n_key_files++] = optarg; break;
		case O_RATE: rpm = cli_long("--rate-limit", optarg, 1, 1 << 24); break;
		case O_PROTECT: protect = 1; break;
		case O_TMPL: tmpl_path = optarg; break;
		case O_BODY: max_body = cli_long("--max-body", optarg, 1024, 1L << 30); break;
		case O_TIMEOUT: timeout = cli_long("--timeout", optarg, 1, 86400); break;
		case O_DRAIN: drain = cli_long("--drain-timeout", optarg, 0, 86400); break;
		case O_QUIET: quiet = 1; break;
		case O_NOPREFIX: no_prefix = 1; break;
		case O_FAST: setenv("QK_ORDER", "fast", 1); break;
		case 'h': fputs(usage, stdout); return 0;
		case O_VERSION: cli_version(); break;
		default: cli_bad_option(c, optopt, argv[optind - 1]);
		}
	}
	if (optind < argc)
		cli_fail(2, "unexpected argument '%s' (see qserve -h)", argv[optind]);
	if (protect && !n_keys && !n_key_files)
		cli_fail(2, "--protect-metrics needs --api-key or --api-key-file");

	/* keys and template first: a bad one fails before anything listens */
	q_auth *auth = q_auth_new((double)rpm);
	if (!auth)
		cli_die_lib(NULL);
	for (int i = 0; i < n_keys; i++)
		if (q_auth_add_key(auth, keys[i], strlen(keys[i])) < 0)
			cli_die_lib("--api-key");
	for (int i = 0; i < n_key_files; i++)
		if (q_auth_load_file(auth, key_files[i]) < 0)
			cli_die_lib("--api-key-file");
	q_buf tmpl = Q_BUF_INIT;
	if (tmpl_path) {
		q_tmpl *t = q_buf_read_file(&tmpl, tmpl_path) < 0 ? NULL : q_tmpl_parse(tmpl.p ? tmpl.p : "", tmpl.len);
		if (!t)
			cli_die_lib(tmpl_path);
		q_tmpl_free(t);
	}
	q_buf path = Q_BUF_INIT;
	enum q_source_kind kind;
	if (q_source_resolve(model, &path, &kind) < 0)
		cli_die_lib(NULL);
	q_buf mname = Q_BUF_INIT;
	if (name) {
		q_buf_adds(&mname, name);
	} else {
		const char *base = strrchr(path.p, '/');
		base = base ? base + 1 : path.p;
		size_t n = strlen(base);
		q_buf_add(&mname, base, n > 5 && !strcmp(base + n - 5, ".gguf") ? n - 5 : n);
	}

	/* signals go to the main thread only (sigwait below) */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	q_metrics *metrics = q_metrics_new();
	if (!metrics)
		cli_die_lib(NULL);
	q_http_app app = {.metrics = metrics, .auth = q_auth_n_keys(auth) ? auth : NULL};
	app.api.model_name = mname.p;
	app.api.chat_template = tmpl_path ? (tmpl.p ? tmpl.p : "") : NULL;
	hc.max_body = (size_t)max_body;
	hc.timeout_s = (unsigned)timeout;
	hc.protect_metrics = protect;
	hc.log = !quiet;
	if (rpm && !app.auth)
		app.auth = auth; /* the rate limit applies without keys too (one shared bucket) */
	q_http *http = q_http_start(&hc, &app);
	if (!http)
		cli_die_lib(NULL);

	q_loaded ld;
	if (q_load(path.p, (int)threads, &ld) < 0)
		cli_die_lib(NULL);
	q_tok *tok = ld.tok;
	q_model *m = ld.m;
	const q_hparams *hp = q_model_hparams(m);
	if (!ctx)
		ctx = hp->n_ctx_train > 0 && hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
	if (!kv_tokens) {
		kv_tokens = parallel * ctx < 32768 ? parallel * ctx : 32768;
		kv_tokens = kv_tokens > ctx ? kv_tokens : ctx;
	}
	q_engine_config ec = Q_ENGINE_CONFIG_INIT;
	ec.max_seqs = (int)parallel;
	ec.n_ctx = (int)ctx;
	ec.batch_tokens = (int)batch;
	ec.max_logits = parallel < batch ? (int)parallel : (int)batch;
	ec.block_size = 8;
	ec.kv_blocks = (kv_tokens + ec.block_size - 1) / ec.block_size;
	ec.no_prefix_cache = no_prefix;
	q_engine *e = q_engine_new(m, tok, ld.be, &ec);
	if (!e)
		cli_die_lib(NULL);
	q_serve *serve = q_serve_new(e, metrics, (int)max_queue);
	if (!serve)
		cli_die_lib(NULL);
	struct stat st;
	app.model_bytes = stat(path.p, &st) == 0 ? (int64_t)st.st_size : 0;
	app.api.tok = tok;
	app.api.n_ctx = (int)ctx;
	app.model = m;
	app.serve = serve;
	__atomic_store_n(&app.ready, 1, __ATOMIC_RELEASE);
	fprintf(stderr,
		"qserve: serving %s as '%s' on http://%s:%d (%ld parallel, context %ld, KV pool %ld tokens%s)\n",
		path.p, mname.p, strchr(hc.host, ':') ? "[::]" : hc.host, hc.port, parallel, ctx,
		(long)(ec.kv_blocks * ec.block_size), no_prefix ? ", no prefix cache" : "");

	int sig = 0;
	sigwait(&sigs, &sig);
	fprintf(stderr, "qserve: %s: no new connections; draining for up to %ld s\n", strsignal(sig), drain);
	q_http_quiesce(http);
	double until = q_clock() + (double)drain;
	while (q_serve_inflight(serve) > 0 && q_clock() < until)
		usleep(50000);
	int left = q_serve_inflight(serve);
	if (left)
		fprintf(stderr, "qserve: %d requests still running after the drain timeout: closing them\n", left);
	q_http_stop(http); /* closes connections: their jobs are released */
	q_serve_free(serve);
	q_engine_free(e);
	q_unload(&ld);
	q_metrics_free(metrics);
	q_auth_free(auth);
	q_buf_free(&tmpl);
	q_buf_free(&path);
	q_buf_free(&mname);
	free(keys);
	free(key_files);
	fprintf(stderr, "qserve: stopped\n");
	return 0;
}
