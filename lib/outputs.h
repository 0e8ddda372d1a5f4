/*
 * outputs.h - a model's answers read back from a JSONL file, keyed by
 * custom_id: what qeval scores and compares.
 *
 * Each non-blank line is one JSON object, either an OpenAI batch-output line
 *   {"custom_id": ID, "response": {"status_code": 200, "body": BODY}, "error": null}
 * or a bare response body carrying its own "custom_id" (what `qgen --jsonl`
 * and a hand-written file give).  The answer text of BODY is the first
 * choice's message.content (chat completion) or text (completion); Ollama's
 * message.content and response are accepted too.  A line with a status_code
 * other than 200, a non-null "error" and no response, or no text in its body
 * is a failed item: it keeps its id and says why.
 *
 * Invariant: every item has a unique, non-empty id; exactly one of text and
 * error is non-NULL; line is the 1-based line it came from.
 */
#ifndef Q_OUTPUTS_H
#define Q_OUTPUTS_H

#include <stddef.h>

typedef struct q_output {
	char *id;
	char *text;  /* the answer, or NULL */
	char *error; /* why there is no answer, or NULL */
	long line;
} q_output;

typedef struct q_outputs {
	q_output *v;
	size_t n, cap;
	size_t *by_id; /* indices into v sorted by id (for q_outputs_find) */
} q_outputs;

#define Q_OUTPUTS_INIT {0, 0, 0, 0}

/* Read path ("-" = stdin) into out (empty).  -1 + q_error "PATH:LINE: why"
 * on an unreadable file, a malformed line or a duplicate custom_id. */
int q_outputs_load(const char *path, q_outputs *out);
/* The item with this id, or NULL. */
const q_output *q_outputs_find(const q_outputs *o, const char *id);
void q_outputs_free(q_outputs *o);

/* Shared by the JSONL readers of qeval: call fn(ud, line, len, lineno) for
 * every line of path ("-" = stdin) that is not blank, with the line's '\n'
 * removed (line[len] is the NUL).  Stops at the first fn that returns -1 and returns -1; -1 +
 * q_error "PATH: why" when the file cannot be read. */
int q_jsonl_each(const char *path, int (*fn)(void *ud, char *line, size_t len, long lineno), void *ud);

/* Sort the ids of n records (id at byte offset off of each size-byte
 * record) into idx (free() it); -1 + q_error "NAME:LINE: duplicate
 * custom_id 'X' (first on line L)" (line: a long at line_off) when two ids
 * are equal. */
int q_ids_index(const char *name, const void *recs, size_t n, size_t size, size_t id_off, size_t line_off,
		size_t **idx);
/* Binary search in such an index; the record index or -1. */
long q_ids_lookup(const void *recs, size_t size, size_t id_off, const size_t *idx, size_t n, const char *id);

#endif
