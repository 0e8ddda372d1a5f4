/*
 * metrics.h - qserve's counters and histograms, written in the Prometheus
 * text exposition format (version 0.0.4).
 *
 * Thread-safe: every function takes the registry's mutex.  Names:
 *   q_requests_total{endpoint, status}            counter
 *   q_prompt_tokens_total, q_generation_tokens_total counters
 *   q_requests_running, q_requests_waiting         gauges (sequences in the
 *                                                  engine / jobs queued)
 *   q_kv_blocks_used, q_kv_blocks_total            gauges
 *   q_prefix_cache_hit_tokens_total                counter (the engine's
 *                                                  prefix_hit_tokens)
 *   q_time_to_first_token_seconds                  histogram
 *   q_time_per_output_token_seconds                histogram
 *   q_e2e_request_latency_seconds                  histogram
 *   q_request_queue_time_seconds                   histogram
 */
#ifndef Q_METRICS_H
#define Q_METRICS_H

#include <stdint.h>

#include "buf.h"

typedef struct q_metrics q_metrics;

enum q_hist { Q_H_TTFT, Q_H_TPOT, Q_H_E2E, Q_H_QUEUE, Q_H_N };

/* What the engine thread publishes (q_serve_gauges): gauges, and the
 * engine's own counters. */
typedef struct q_metrics_gauges {
	int running, waiting;
	int64_t kv_used, kv_total;
	int64_t prefix_hit_tokens; /* a counter: prompt tokens the prefix cache spared */
} q_metrics_gauges;

q_metrics *q_metrics_new(void);
void q_metrics_free(q_metrics *m);
/* One answered request: endpoint is a route ("/v1/chat/completions") or
 * "other"; status the HTTP status sent. */
void q_metrics_request(q_metrics *m, const char *endpoint, int status);
void q_metrics_tokens(q_metrics *m, int64_t prompt, int64_t gen);
void q_metrics_observe(q_metrics *m, enum q_hist h, double seconds);
/* Append the exposition text to out.  -1 + q_error on allocation failure. */
int q_metrics_render(q_metrics *m, const q_metrics_gauges *g, q_buf *out);

#endif
