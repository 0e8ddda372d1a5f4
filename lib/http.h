/*
 * http.h - qserve's HTTP side on libmicrohttpd: routes, limits, auth,
 * streaming, access log.
 *
 * One thread per connection (keep-alive; MHD's idle timeout closes slow
 * or silent ones), so a handler may block while its job runs; a streamed
 * response is pulled by MHD from the job as it grows, and a client that
 * hangs up (seen as the socket's hang-up while waiting, or as a failed
 * write) releases its job, which cancels it at the next engine step.
 *
 * Routes (methods other than those listed: 405; other paths: 404):
 *   POST /v1/chat/completions  /v1/completions  /api/generate  /api/chat
 *   GET  /v1/models  /api/tags  /api/version  /health  /metrics  /
 *   POST /api/show  /tokenize  /detokenize
 * Errors are OpenAI's shape {"error": {"message", "type", "param", "code"}}.
 */
#ifndef Q_HTTP_H
#define Q_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "auth.h"
#include "metrics.h"
#include "model.h"
#include "serve.h"

typedef struct q_http q_http;

typedef struct q_http_config {
	const char *host;      /* address to listen on (default 127.0.0.1) */
	int port;              /* default 8080 */
	size_t max_body;       /* bytes; larger bodies get 413 (default 4 MiB) */
	unsigned timeout_s;    /* idle connection timeout (default 60) */
	unsigned max_conns;    /* connections at once (default 1024) */
	int protect_metrics;   /* /health and /metrics need a key too */
	int log;               /* access log lines (JSON) on stderr */
} q_http_config;

/* What the routes serve.  Set serve (and the rest) before ready; until
 * ready is nonzero /health answers 503 and model routes 503. */
typedef struct q_http_app {
	q_serve *serve;
	q_metrics *metrics;
	q_auth *auth;
	q_api_ctx api;         /* tokenizer, chat template, model name, context */
	const q_model *model;
	int64_t model_bytes;
	volatile int ready;
} q_http_app;

/* Listen and serve in MHD's threads.  NULL + q_error (bad address, port
 * in use).  app must outlive it. */
q_http *q_http_start(const q_http_config *c, q_http_app *app);
/* Stop accepting new connections (the open ones go on). */
void q_http_quiesce(q_http *h);
/* Close everything and stop. */
void q_http_stop(q_http *h);

#endif
