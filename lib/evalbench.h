/*
 * evalbench.h - a load generator for OpenAI- and Ollama-compatible
 * endpoints (qeval bench): many concurrent streaming requests from one
 * thread (libcurl's multi interface), arrivals as a Poisson process (gamma
 * when burstiness != 1), and vLLM's `bench serve` metrics:
 *
 *   TTFT  time from sending a request to receiving its first token;
 *   ITL   time between two consecutive chunks that carry tokens;
 *   TPOT  per request, (E2EL - TTFT) / (output tokens - 1), for requests
 *         with more than one output token;
 *   E2EL  time from sending a request to receiving its last byte.
 *
 * Output tokens are the usage the server reports in its last chunk
 * (stream_options.include_usage; Ollama's eval_count), else the number of
 * chunks that carried text; input tokens likewise its prompt_tokens
 * (prompt_eval_count), else the random dataset's words.  Throughputs divide by the wall time from the
 * first request sent to the last one finished (warm-up requests excluded).
 * Goodput: requests per second that met every SLO given.
 */
#ifndef Q_EVALBENCH_H
#define Q_EVALBENCH_H

#include <stdint.h>
#include <stdio.h>

#include "buf.h"

enum q_bench_endpoint { Q_BENCH_CHAT, Q_BENCH_COMPLETIONS, Q_BENCH_OLLAMA };

/* Failure kinds, counted apart. */
enum q_bench_fail { Q_FAIL_CONNECT, Q_FAIL_HTTP4XX, Q_FAIL_HTTP5XX, Q_FAIL_TIMEOUT, Q_FAIL_MALFORMED, Q_FAIL_OTHER,
		    Q_FAIL_N };

typedef struct q_bench_opts {
	const char *url;        /* the server's root, e.g. http://127.0.0.1:8080 */
	const char *model;      /* NULL: "default" */
	enum q_bench_endpoint endpoint;
	const char *dataset;    /* "random", a .jsonl (one {"prompt"} or {"messages"} per line) or a ShareGPT .json */
	int num_prompts;        /* requests measured (default 100) */
	int input_len, output_len; /* random dataset: words per prompt; max_tokens for every request */
	double request_rate;    /* requests a second; <= 0 or inf: all at once */
	double burstiness;      /* gamma shape (1: Poisson) */
	int max_concurrency;    /* <= 0: no limit */
	int warmup;             /* requests sent first, one at a time, not measured */
	double slo_ttft_ms, slo_tpot_ms, slo_e2el_ms; /* goodput SLOs; 0: none */
	const char *api_key;    /* NULL: no Authorization header */
	uint64_t seed;
	double timeout_s;       /* per request (default 600) */
	FILE *progress;         /* a live line, or NULL */
} q_bench_opts;

typedef struct q_bench_stat {
	double mean, median, p90, p99, std;
} q_bench_stat;

typedef struct q_bench_result {
	int completed, failed, fail[Q_FAIL_N];
	double duration;        /* seconds */
	int64_t total_input, total_output;
	double request_throughput, output_throughput, total_token_throughput, goodput;
	q_bench_stat ttft, tpot, itl, e2el; /* milliseconds */
	double *t_tokens;       /* [n_t_tokens] seconds from the start of each output chunk (for plots) */
	int64_t n_t_tokens;
	double *ttft_ms, *e2el_ms; /* [completed] per request, sorted (for plots) */
} q_bench_result;

/* Run the benchmark.  -1 + q_error only when it cannot run at all (bad
 * options, an unreadable dataset, no server answering the first request);
 * failures of single requests are counted in the result. */
int q_bench_run(const q_bench_opts *o, q_bench_result *r);
void q_bench_result_free(q_bench_result *r);
/* The result as one JSON object, keys as vLLM names them (completed,
 * failed, request_throughput, output_throughput, mean_ttft_ms,
 * median_ttft_ms, p90_ttft_ms, p99_ttft_ms, ... for ttft, tpot, itl,
 * e2el, goodput, failures{connect, http_4xx, http_5xx, timeout,
 * malformed, other}, duration, total_input_tokens, total_output_tokens). */
int q_bench_json(const q_bench_result *r, q_buf *out);
/* The percentile p (0..100) of v[0..n) with linear interpolation between
 * closest ranks (numpy's default); sorts v.  0 when n == 0. */
double q_bench_percentile(double *v, int64_t n, double p);

#endif
