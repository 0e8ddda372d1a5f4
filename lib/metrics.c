/*
 * metrics.c - Prometheus counters and histograms for qserve (see metrics.h).
 *
 * Invariants: the request counters are a fixed table of (endpoint, status)
 * pairs, found by linear search (a server answers a handful of distinct
 * pairs); histogram buckets are cumulative only when written (each
 * observation lands in one bucket), as the format wants "le" counts.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define MAX_PAIRS 256
#define N_BUCKETS 16

typedef struct pair {
	char endpoint[48];
	int status;
	int64_t n;
} pair;

typedef struct hist {
	const char *name, *help;
	const double *le;      /* [N_BUCKETS] upper bounds */
	int64_t count[N_BUCKETS + 1]; /* the last one: above every bound */
	double sum;
	int64_t n;
} hist;

struct q_metrics {
	pthread_mutex_t mu;
	pair pairs[MAX_PAIRS];
	int n_pairs;
	int64_t prompt_tokens, gen_tokens;
	hist h[Q_H_N];
};

/* Latencies from 5 ms to 120 s; per-token times from 1 ms to 5 s. */
static const double LE_LAT[N_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 90, 120};
static const double LE_TOK[N_BUCKETS] = {0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075,
					 0.1, 0.25, 0.5, 1, 5};

q_metrics *q_metrics_new(void)
{
	q_metrics *m = calloc(1, sizeof *m);
	if (!m)
		return q_error("out of memory"), NULL;
	pthread_mutex_init(&m->mu, NULL);
	m->h[Q_H_TTFT] = (hist){.name = "q_time_to_first_token_seconds",
				.help = "Time from receiving a request to its first generated token.", .le = LE_LAT};
	m->h[Q_H_TPOT] = (hist){.name = "q_time_per_output_token_seconds",
				.help = "Mean time per generated token after the first, per request.", .le = LE_TOK};
	m->h[Q_H_E2E] = (hist){.name = "q_e2e_request_latency_seconds",
			       .help = "Time from receiving a request to its last token.", .le = LE_LAT};
	m->h[Q_H_QUEUE] = (hist){.name = "q_request_queue_time_seconds",
				 .help = "Time a request waited before the engine took it.", .le = LE_LAT};
	return m;
}

void q_metrics_free(q_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->mu);
	free(m);
}

void q_metrics_request(q_metrics *m, const char *endpoint, int status)
{
	pthread_mutex_lock(&m->mu);
	int i = 0;
	while (i < m->n_pairs && !(m->pairs[i].status == status && !strcmp(m->pairs[i].endpoint, endpoint)))
		i++;
	if (i == m->n_pairs && m->n_pairs < MAX_PAIRS) {
		pair *p = &m->pairs[m->n_pairs++];
		size_t n = strlen(endpoint);
		n = n < sizeof p->endpoint - 1 ? n : sizeof p->endpoint - 1;
		memcpy(p->endpoint, endpoint, n);
		p->endpoint[n] = 0;
		p->status = status;
	}
	if (i < m->n_pairs)
		m->pairs[i].n++;
	pthread_mutex_unlock(&m->mu);
}

void q_metrics_tokens(q_metrics *m, int64_t prompt, int64_t gen)
{
	pthread_mutex_lock(&m->mu);
	m->prompt_tokens += prompt;
	m->gen_tokens += gen;
	pthread_mutex_unlock(&m->mu);
}

void q_metrics_observe(q_metrics *m, enum q_hist h, double seconds)
{
	if (seconds < 0)
		seconds = 0;
	pthread_mutex_lock(&m->mu);
	hist *x = &m->h[h];
	int b = 0;
	while (b < N_BUCKETS && seconds > x->le[b])
		b++;
	x->count[b]++;
	x->sum += seconds;
	x->n++;
	pthread_mutex_unlock(&m->mu);
}

int q_metrics_render(q_metrics *m, const q_metrics_gauges *g, q_buf *out)
{
	int rc = 0;
	pthread_mutex_lock(&m->mu);
	rc |= q_buf_adds(out, "# HELP q_requests_total HTTP requests answered, by endpoint and status.\n"
			      "# TYPE q_requests_total counter\n");
	for (int i = 0; i < m->n_pairs; i++)
		rc |= q_buf_printf(out, "q_requests_total{endpoint=\"%s\",status=\"%d\"} %lld\n", m->pairs[i].endpoint,
				   m->pairs[i].status, (long long)m->pairs[i].n);
	rc |= q_buf_printf(out,
			   "# HELP q_prompt_tokens_total Prompt tokens read.\n# TYPE q_prompt_tokens_total counter\n"
			   "q_prompt_tokens_total %lld\n"
			   "# HELP q_generation_tokens_total Tokens generated.\n"
			   "# TYPE q_generation_tokens_total counter\nq_generation_tokens_total %lld\n"
			   "# HELP q_requests_running Sequences in the engine.\n# TYPE q_requests_running gauge\n"
			   "q_requests_running %d\n"
			   "# HELP q_requests_waiting Requests queued for the engine.\n"
			   "# TYPE q_requests_waiting gauge\nq_requests_waiting %d\n"
			   "# HELP q_kv_blocks_used KV cache blocks in use.\n# TYPE q_kv_blocks_used gauge\n"
			   "q_kv_blocks_used %lld\n"
			   "# HELP q_kv_blocks_total KV cache blocks in the pool.\n# TYPE q_kv_blocks_total gauge\n"
			   "q_kv_blocks_total %lld\n"
			   "# HELP q_prefix_cache_hit_tokens_total Prompt tokens whose KV came from the prefix cache "
			   "instead of being computed.\n"
			   "# TYPE q_prefix_cache_hit_tokens_total counter\nq_prefix_cache_hit_tokens_total %lld\n",
			   (long long)m->prompt_tokens, (long long)m->gen_tokens, g->running, g->waiting,
			   (long long)g->kv_used, (long long)g->kv_total, (long long)g->prefix_hit_tokens);
	for (int h = 0; h < Q_H_N; h++) {
		const hist *x = &m->h[h];
		rc |= q_buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", x->name, x->help, x->name);
		int64_t cum = 0;
		for (int b = 0; b < N_BUCKETS; b++) {
			cum += x->count[b];
			rc |= q_buf_printf(out, "%s_bucket{le=\"%g\"} %lld\n", x->name, x->le[b], (long long)cum);
		}
		rc |= q_buf_printf(out, "%s_bucket{le=\"+Inf\"} %lld\n%s_sum %.9g\n%s_count %lld\n", x->name,
				   (long long)x->n, x->name, x->sum, x->name, (long long)x->n);
	}
	pthread_mutex_unlock(&m->mu);
	return rc ? -1 : 0;
}
