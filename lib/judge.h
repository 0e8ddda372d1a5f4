/*
 * judge.h - qeval compare --judge: an LLM judge (any OpenAI-compatible
 * chat endpoint) rates each pair of answers twice, once with A shown first
 * and once with B first, so that a judge's preference for a position
 * cancels: a side wins only when both orders pick it; disagreeing or tied
 * verdicts count as a tie.
 *
 * The judge gets a system message with the rules and a user message with
 * the question (when known) and the two answers labelled "Answer 1" and
 * "Answer 2"; it must reply with one of "1", "2" or "tie" (the first such
 * word in its reply counts; anything else is an unusable verdict, counted
 * apart).  Requests are greedy (temperature 0), max_tokens 8.
 */
#ifndef Q_JUDGE_H
#define Q_JUDGE_H

#include <stddef.h>

#include "compare.h"

typedef struct q_judge_opts {
	const char *url;       /* the server's root, e.g. http://127.0.0.1:8080 */
	const char *model;     /* judge model name (sent as "model") */
	const char *api_key;   /* NULL: none */
	double timeout_s;      /* per request (default 120) */
} q_judge_opts;

typedef struct q_judge_tally {
	q_tally t;             /* a, b, tie; first/second: verdicts naming the position shown first / second */
	size_t unusable;       /* verdicts that were neither 1, 2 nor tie (then the pair is a tie) */
	size_t failed;         /* requests that failed (then the pair is a tie) */
} q_judge_tally;

/* Ask the judge about every pair.  question(ud, custom_id) may return the
 * question text of an item (or NULL).  -1 + q_error when the judge cannot
 * be reached at all (the first request fails to connect). */
int q_judge_run(const q_judge_opts *o, const q_pairs *p, const char *(*question)(void *ud, const char *id),
		void *ud, q_judge_tally *out);

/* The questions of a batch-input file (JSONL: {"custom_id", "body":
 * {"messages": [...]}} or {"custom_id", "body": {"prompt"}}, or the same
 * without "body"): the last user message, or the prompt.  Lines without
 * one are skipped. */
typedef struct q_questions {
	char **id, **text;
	size_t n;
} q_questions;

/* -1 + q_error "PATH:LINE: why" (unreadable, not JSON, no custom_id). */
int q_questions_load(const char *path, q_questions *q);
void q_questions_free(q_questions *q);
/* The question of id, or NULL (a question(ud, id) for q_judge_run). */
const char *q_questions_find(void *q, const char *id);

#endif
