/*
 * serve.c - the engine thread and its jobs (see serve.h).
 *
 * Invariants:
 * - A job is in exactly one of: s->wait (sorted by priority, then arrival;
 *   not yet in the engine), s->active (its choices added to the engine),
 *   or neither (finished, or cancelled while waiting).
 * - refs counts the sides holding a job: the reader (until q_job_release)
 *   and the server (until the job leaves wait/active).  Whoever drops the
 *   last one frees it, outside the job's lock.
 * - live = choices added to the engine and not yet ended; the engine's
 *   callbacks run on the engine thread, take only the job's lock, and
 *   never call back into the server.
 */
#include "serve.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "err.h"

typedef struct choice_ud {
	q_job *j;
	int k;                 /* choice index */
	int id;                /* engine request id, -1 until added */
	float *lg;             /* raw logits of the last sampled row (logprobs) */
	int have_lg;
} choice_ud;

struct q_job {
	q_job *next;
	q_serve *s;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	q_api_req *req;
	q_api_choice *ch;      /* [n_ch] */
	choice_ud *ud;         /* [n_ch] */
	int n_ch, live, ended, changed;
	int refs, released, cancel;
	double t_submit, t_start;
	int n_prompt_tokens, n_vocab;
	double t_last, t_prompt; /* over choices: last token, prompt read */
};

struct q_serve {
	q_engine *e;
	q_metrics *m;
	int max_queue, max_seqs;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	q_job *wait, *active;
	int n_wait, inflight, stop;
	q_metrics_gauges g;    /* published by the engine thread */
};

static void job_free(q_job *j)
{
	for (int k = 0; k < j->n_ch; k++) {
		q_buf_free(&j->ch[k].text);
		free(j->ch[k].lp);
		free(j->ud[k].lg);
	}
	free(j->ch);
	free(j->ud);
	if (j->req) {
		q_api_req_free(j->req);
		free(j->req);
	}
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	free(j);
}

/* Drop one reference (the caller holds no lock of the job). */
static void job_unref(q_job *j)
{
	pthread_mutex_lock(&j->mu);
	int left = --j->refs;
	pthread_mutex_unlock(&j->mu);
	if (left == 0)
		job_free(j);
}

/* ---------------------------------------------------- engine callbacks */

static int on_text(void *ud, const char *s, size_t n)
{
	choice_ud *c = ud;
	q_job *j = c->j;
	pthread_mutex_lock(&j->mu);
	int rc = q_buf_add(&j->ch[c->k].text, s, n);
	j->changed = 1;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	return rc < 0;
}

static int on_logits(void *ud, int pos, const float *logits, int n_vocab)
{
	(void)pos;
	choice_ud *c = ud;
	memcpy(c->lg, logits, (size_t)n_vocab * sizeof *logits);
	c->have_lg = 1;
	return 0;
}

static int on_token(void *ud, int32_t id)
{
	choice_ud *c = ud;
	q_job *j = c->j;
	int rc = 0;
	pthread_mutex_lock(&j->mu);
	q_api_choice *ch = &j->ch[c->k];
	ch->n_gen++;
	if (j->req->logprobs && c->have_lg) {
		if (ch->n_lp == ch->cap_lp) {
			int cap = ch->cap_lp ? 2 * ch->cap_lp : 64;
			q_api_lp *p = realloc(ch->lp, (size_t)cap * sizeof *p);
			if (!p)
				rc = 1;
			else
				ch->lp = p, ch->cap_lp = cap;
		}
		if (!rc)
			q_api_logprobs(c->lg, j->n_vocab, id, j->req->top_logprobs, &ch->lp[ch->n_lp++]);
		c->have_lg = 0;
	}
	pthread_mutex_unlock(&j->mu);
	return rc;
}

static void on_done(void *ud, const q_result *r)
{
	choice_ud *c = ud;
	q_job *j = c->j;
	q_metrics *m = j->s->m;
	pthread_mutex_lock(&j->mu);
	q_api_choice *ch = &j->ch[c->k];
	ch->reason = r->reason;
	ch->n_gen = r->n_gen;
	if (r->t_last > j->t_last)
		j->t_last = r->t_last;
	if (r->t_prompt > j->t_prompt)
		j->t_prompt = r->t_prompt;
	j->live--;
	j->ended++;
	j->changed = 1;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	if (m) {
		q_metrics_tokens(m, 0, r->n_gen);
		if (r->n_gen > 0) {
			q_metrics_observe(m, Q_H_TTFT, r->t_first - j->t_submit);
			q_metrics_observe(m, Q_H_E2E, r->t_last - j->t_submit);
			if (r->n_gen > 1)
				q_metrics_observe(m, Q_H_TPOT, (r->t_last - r->t_first) / (r->n_gen - 1));
		}
	}
}

/* ------------------------------------------------------- engine thread */

/* Add every choice of j to the engine (server lock held). */
static void start_job(q_serve *s, q_job *j)
{
	const q_api_req *rq = j->req;
	int n_ctx = q_engine_conf(s->e)->n_ctx;
	j->t_start = q_clock();
	if (s->m) {
		q_metrics_observe(s->m, Q_H_QUEUE, j->t_start - j->t_submit);
		q_metrics_tokens(s->m, j->n_prompt_tokens, 0);
	}
	for (int k = 0; k < j->n_ch; k++) {
		const q_ids *p = &rq->prompts[k / rq->n];
		int n_predict = rq->max_tokens >= 0 ? rq->max_tokens : n_ctx - (int)p->n;
		q_req er = {.prompt = p->v, .n_prompt = (int)p->n, .n_predict = n_predict < 0 ? 0 : n_predict,
			    .sample = rq->sample, .stop = (const char *const *)rq->stop, .n_stop = rq->n_stop,
			    .on_text = on_text, .on_token = on_token, .on_done = on_done, .ud = &j->ud[k]};
		er.sample.seed = rq->sample.seed + (uint64_t)k;
		if (rq->logprobs)
			er.on_logits = on_logits;
		pthread_mutex_lock(&j->mu);
		j->live++;
		pthread_mutex_unlock(&j->mu);
		int id = q_engine_add(s->e, &er);
		j->ud[k].id = id;
		if (id < 0) {
			q_result r = {.id = -1, .reason = Q_DONE_ERROR, .error = q_errmsg(), .n_prompt = (int)p->n};
			on_done(&j->ud[k], &r);
		}
	}
}

/* Leave the wait queue or the active list; the server's reference goes. */
static void unlink_job(q_job **list, q_job *j)
{
	for (q_job **pp = list; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			j->next = NULL;
			return;
		}
}

static void publish(q_serve *s)
{
	s->g.running = q_engine_pending(s->e);
	s->g.waiting = s->n_wait;
	s->g.kv_used = q_engine_kv_used(s->e, &s->g.kv_total);
	s->g.prefix_hit_tokens = q_engine_get_stats(s->e)->prefix_hit_tokens;
}

static void *engine_main(void *arg)
{
	q_serve *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		/* cancellations, and jobs that ended */
		for (q_job *j = s->active, *next; j; j = next) {
			next = j->next;
			if (j->cancel == 1) {
				j->cancel = 2;
				for (int k = 0; k < j->n_ch; k++)
					if (j->ud[k].id >= 0 && !j->ch[k].reason)
						q_engine_cancel(s->e, j->ud[k].id);
			}
			pthread_mutex_lock(&j->mu);
			int over = j->live == 0;
			pthread_mutex_unlock(&j->mu);
			if (over) {
				unlink_job(&s->active, j);
				job_unref(j);
			}
		}
		/* admission, in priority order, while the engine has free slots */
		while (s->wait && q_engine_pending(s->e) < s->max_seqs) {
			q_job *j = s->wait;
			s->wait = j->next;
			s->n_wait--;
			j->next = s->active;
			s->active = j;
			start_job(s, j);
		}
		publish(s);
		if (s->stop && !s->active && !s->wait)
			break;
		if (q_engine_pending(s->e) == 0) {
			if (s->stop)
				break;
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		pthread_mutex_unlock(&s->mu);
		int rc = q_engine_step(s->e);
		pthread_mutex_lock(&s->mu);
		(void)rc; /* a failing step ends its requests with Q_DONE_ERROR */
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

q_serve *q_serve_new(q_engine *e, q_metrics *m, int max_queue)
{
	q_serve *s = calloc(1, sizeof *s);
	if (!s)
		return q_error("out of memory"), NULL;
	s->e = e;
	s->m = m;
	s->max_queue = max_queue;
	s->max_seqs = q_engine_conf(e)->max_seqs;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_lock(&s->mu);
	publish(s);
	pthread_mutex_unlock(&s->mu);
	if (pthread_create(&s->th, NULL, engine_main, s) != 0) {
		free(s);
		return q_error("cannot start the engine thread"), NULL;
	}
	return s;
}

void q_serve_free(q_serve *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	for (q_job *j = s->active; j; j = j->next)
		if (!j->cancel)
			j->cancel = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

q_job *q_serve_submit(q_serve *s, q_api_req *req, int *full)
{
	*full = 0;
	int n_ch = req->n_prompts * req->n;
	q_job *j = calloc(1, sizeof *j);
	if (!j)
		return q_error("out of memory"), NULL;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	j->s = s;
	j->n_ch = n_ch;
	j->refs = 2;
	j->n_vocab = q_model_hparams(q_engine_model(s->e))->n_vocab;
	j->ch = calloc((size_t)n_ch, sizeof *j->ch);
	j->ud = calloc((size_t)n_ch, sizeof *j->ud);
	int ok = j->ch && j->ud;
	for (int k = 0; ok && k < n_ch; k++) {
		j->ud[k] = (choice_ud){.j = j, .k = k, .id = -1};
		ok = !req->logprobs || (j->ud[k].lg = malloc((size_t)j->n_vocab * sizeof(float)));
	}
	if (!ok) {
		if (!j->ch || !j->ud)
			j->n_ch = 0;
		job_free(j);
		return q_error("out of memory"), NULL;
	}
	for (int i = 0; i < req->n_prompts; i++)
		j->n_prompt_tokens += (int)req->prompts[i].n;
	j->t_submit = q_clock();

	pthread_mutex_lock(&s->mu);
	if (s->max_queue > 0 && s->n_wait >= s->max_queue) {
		pthread_mutex_unlock(&s->mu);
		job_free(j); /* j->req is not set: req stays the caller's */
		*full = 1;
		return NULL;
	}
	j->req = req;
	q_job **pp = &s->wait; /* after every job of the same or a lower priority value */
	while (*pp && (*pp)->req->priority <= req->priority)
		pp = &(*pp)->next;
	j->next = *pp;
	*pp = j;
	s->n_wait++;
	s->inflight++;
	s->g.waiting = s->n_wait;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return j;
}

int q_job_wait(q_job *j, int timeout_ms)
{
	pthread_mutex_lock(&j->mu);
	if (!j->changed && j->ended < j->n_ch) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&j->cv, &j->mu, &ts);
	}
	j->changed = 0;
	int done = j->ended == j->n_ch;
	pthread_mutex_unlock(&j->mu);
	return done;
}

void q_job_lock(q_job *j)
{
	pthread_mutex_lock(&j->mu);
}

void q_job_unlock(q_job *j)
{
	pthread_mutex_unlock(&j->mu);
}

const q_api_req *q_job_req(const q_job *j)
{
	return j->req;
}

q_api_choice *q_job_choices(q_job *j, int *n)
{
	*n = j->n_ch;
	return j->ch;
}

int q_job_finished(const q_job *j)
{
	return j->ended == j->n_ch;
}

void q_job_stats(const q_job *j, q_api_stats *st)
{
	memset(st, 0, sizeof *st);
	st->prompt_tokens = j->n_prompt_tokens;
	for (int k = 0; k < j->n_ch; k++)
		st->completion_tokens += j->ch[k].n_gen;
	double end = j->t_last > 0 ? j->t_last : j->t_prompt > 0 ? j->t_prompt : q_clock();
	st->total_ns = (int64_t)((end - j->t_submit) * 1e9);
	double t0 = j->t_start > 0 ? j->t_start : j->t_submit;
	st->load_ns = (int64_t)((t0 - j->t_submit) * 1e9);
	if (j->t_prompt > 0)
		st->prompt_ns = (int64_t)((j->t_prompt - t0) * 1e9);
	if (j->t_last > 0 && j->t_prompt > 0)
		st->eval_ns = (int64_t)((j->t_last - j->t_prompt) * 1e9);
}

void q_job_release(q_job *j)
{
	q_serve *s = j->s;
	int drop_server_ref = 0;
	pthread_mutex_lock(&s->mu);
	s->inflight--;
	/* still waiting: it never reaches the engine */
	for (q_job *w = s->wait; w; w = w->next)
		if (w == j) {
			unlink_job(&s->wait, j);
			s->n_wait--;
			drop_server_ref = 1;
			break;
		}
	if (!drop_server_ref && !j->cancel) {
		pthread_mutex_lock(&j->mu);
		int running = j->ended < j->n_ch;
		pthread_mutex_unlock(&j->mu);
		if (running) {
			j->cancel = 1;
			pthread_cond_broadcast(&s->cv);
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (drop_server_ref)
		job_unref(j);
	job_unref(j);
}

void q_serve_gauges(q_serve *s, q_metrics_gauges *g)
{
	pthread_mutex_lock(&s->mu);
	*g = s->g;
	pthread_mutex_unlock(&s->mu);
}

int q_serve_inflight(q_serve *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->inflight;
	pthread_mutex_unlock(&s->mu);
	return n;
}
