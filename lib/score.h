/*
 * score.h - reference answers and the checks qeval score runs on a model's
 * answers (lib/outputs.h).
 *
 * A ref file is JSONL, one {"custom_id": ID, "check": KIND, "answer": A}
 * per line.  Kinds (text = the answer text of the result):
 *   exact     text == A, byte for byte
 *   iexact    norm(text) == norm(A), norm = NFC, Unicode lowercase (as
 *             Python's str.lower), runs of white space (str.isspace) made
 *             one space, trimmed: Python's " ".join(nfc(s).lower().split())
 *   contains  A occurs in text (case-sensitive)
 *   regex     the PCRE2 pattern A (UTF mode) matches somewhere in text
 *   choice    A is a list of strings; norm(text) equals norm of one of them
 *   json      text is one valid JSON value (RFC 8259, strict); with "answer"
 *             present, equal to A (objects in any order, numbers by value)
 *   schema    text is valid JSON that validates against the JSON Schema A
 *             (the subset in schema.h)
 * For json and schema the text may be wrapped in one Markdown code fence
 * (```json or ``` ... ```) with nothing before or after it but white space.
 *
 * Invariant: refs have unique ids; every ref's answer has the type its kind
 * needs, regexes are compiled and schemas passed q_schema_check.
 */
#ifndef Q_SCORE_H
#define Q_SCORE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "outputs.h"
#include "schema.h"

enum q_check { Q_CHECK_EXACT, Q_CHECK_IEXACT, Q_CHECK_CONTAINS, Q_CHECK_REGEX, Q_CHECK_CHOICE,
	       Q_CHECK_JSON, Q_CHECK_SCHEMA };

typedef struct q_ref {
	char *id;
	enum q_check check;
	cJSON *answer; /* NULL only for json without an answer */
	q_regex *re;   /* regex only */
	long line;
} q_ref;

typedef struct q_refs {
	q_ref *v;
	size_t n, cap;
	size_t *by_id;
} q_refs;

#define Q_REFS_INIT {0, 0, 0, 0}

/* Read a ref file; -1 + q_error "PATH:LINE: why" (bad JSON, missing field,
 * unknown check, answer of the wrong type, bad regex or schema, duplicate). */
int q_refs_load(const char *path, q_refs *out);
void q_refs_free(q_refs *r);
const char *q_check_name(enum q_check c);

/* norm() of s[0..n) appended to out (see above); -1 + q_error on memory. */
int q_score_norm(const char *s, size_t n, q_buf *out);

/* Run ref's check on text: 1 pass, 0 fail (the reason, if there is more to
 * say than the answer and the text, in why), -1 + q_error. */
int q_check_text(const q_ref *ref, const char *text, q_buf *why);

/* One scored item.  Display strings are clipped to Q_SCORE_CLIP characters. */
#define Q_SCORE_CLIP 80
typedef struct q_score_item {
	const char *id;    /* the ref's or the result's */
	const char *check; /* check name, NULL: the result has no ref */
	int pass;
	char *why;         /* "no result", "no ref", "status 500: ...", a schema reason, or NULL */
	char *expected;    /* "\"Paris\"", "/re/", "one of [...]", or NULL */
	char *got;         /* the text, JSON-quoted and clipped, or NULL */
} q_score_item;

typedef struct q_score {
	q_score_item *v;
	size_t n, passed;
} q_score;

/* Score every ref against outs: items in ref order, then the results that
 * have no ref in file order; a missing side fails.  -1 + q_error. */
int q_score_run(const q_refs *refs, const q_outputs *outs, q_score *out);
void q_score_free(q_score *s);

/* The 95% Wilson score interval for k successes in n trials (n > 0). */
void q_wilson(size_t k, size_t n, double *lo, double *hi);

/* Append s as a JSON string literal, cut after max code points (then
 * '...' follows the closing quote).  -1 + q_error on memory. */
int q_quote_clip(q_buf *out, const char *s, size_t max);

#endif
