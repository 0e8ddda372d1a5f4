/*
 * serve.h - continuous batching for a server: one engine thread runs the
 * engine; any thread submits jobs (an API request: every prompt x n
 * choices) and reads their output as it grows.
 *
 * A submitted job waits in a queue ordered by (priority, arrival) until the
 * engine has a free sequence slot, then each of its choices joins the
 * running batch at the next step (the engine's chunked prefill keeps a long
 * prompt from stalling the others).  A job that its reader lets go of
 * before it finished (a client that disconnected) is cancelled at the next
 * step boundary and its KV blocks go back to the pool.
 *
 * Threads: q_serve_submit / q_job_* / q_serve_gauges from any thread; the
 * engine is touched only by the engine thread.  Lock order: server, then
 * job.
 */
#ifndef Q_SERVE_H
#define Q_SERVE_H

#include "api.h"
#include "engine.h"
#include "metrics.h"

typedef struct q_serve q_serve;
typedef struct q_job q_job;

/* Start the engine thread over e (max_seqs sequences; e must outlive the
 * server).  max_queue: jobs allowed to wait (0: no limit).  m may be NULL.
 * NULL + q_error. */
q_serve *q_serve_new(q_engine *e, q_metrics *m, int max_queue);
/* Stop the engine thread; running jobs end cancelled.  Jobs must all have
 * been released. */
void q_serve_free(q_serve *s);

/* Queue req (the job takes it over and frees it).  NULL when the queue is
 * full (*full = 1; req is left to the caller) or on allocation failure
 * (*full = 0, q_error). */
q_job *q_serve_submit(q_serve *s, q_api_req *req, int *full);

/* Block until the job changed since the last call (text, a choice ended)
 * or timeout_ms passed.  1 when every choice has ended, else 0. */
int q_job_wait(q_job *j, int timeout_ms);
/* Read the job's state between q_job_lock and q_job_unlock: its request,
 * its choices (text so far, logprobs, reason once ended), its counts. */
void q_job_lock(q_job *j);
void q_job_unlock(q_job *j);
const q_api_req *q_job_req(const q_job *j);
q_api_choice *q_job_choices(q_job *j, int *n);
int q_job_finished(const q_job *j);
void q_job_stats(const q_job *j, q_api_stats *st);
/* The reader is done with the job: cancel what still runs; the job is
 * freed once the engine side has let go too. */
void q_job_release(q_job *j);

/* Sequences running, jobs waiting, KV blocks.  */
void q_serve_gauges(q_serve *s, q_metrics_gauges *g);
/* Jobs submitted and not yet released (for draining on shutdown). */
int q_serve_inflight(q_serve *s);

#endif
