/*
 * engine-open.h - what the engine test drivers (t/unit/engine-*.c) share:
 * one error exit (status 2: the driver itself failed, not the comparison),
 * opening a GGUF model with its tokenizer on the CPU backend, and reading
 * a prompts file line by line.
 * Each driver sets `prog` to its name before anything can fail.
 */
#ifndef Q_ENGINE_OPEN_H
#define Q_ENGINE_OPEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gguf.h"
#include "model.h"
#include "qk.h"
#include "sample.h"
#include "tok.h"

static const char *prog = "engine-test";

__attribute__((noreturn)) static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, q_errmsg());
	exit(2);
}

/* Open path as a model on a CPU backend with all cores; exit 2 on failure. */
static void open_model(const char *path, q_gguf **g, q_tok **tok, qk_backend **be, q_model **m)
{
	*g = q_gguf_open(path);
	if (!*g)
		die(path);
	*tok = q_tok_from_gguf(*g);
	*be = qk_cpu_new(0, NULL);
	*m = *tok && *be ? q_model_new(*g, *be) : NULL;
	if (!*m)
		die("model");
}

/* The drivers' sampling by prompt index: even greedy, odd temp 0.9 with
 * seed i (per-sequence samplers must be as reproducible in a batch as
 * alone). */
static inline void alternate_sampling(q_sample_params *s, int i)
{
	q_sample_defaults(s);
	if (i % 2 == 0) {
		s->temp = 0;
	} else {
		s->temp = 0.9f;
		s->seed = (uint64_t)i;
	}
}

/* The next line of a prompts file from *s (NULL when none is left), its
 * "\n" escapes turned into newlines in place; *len gets its length. */
static inline char *next_line(char **s, size_t *len)
{
	char *p = *s;
	if (!p || !*p)
		return NULL;
	char *nl = strchr(p, '\n');
	size_t n = nl ? (size_t)(nl - p) : strlen(p), k = 0;
	for (size_t j = 0; j < n; j++, k++)
		p[k] = p[j] == '\\' && j + 1 < n && p[j + 1] == 'n' ? (j++, '\n') : p[j];
	*s = nl ? nl + 1 : NULL;
	*len = k;
	return p;
}

static void close_model(q_gguf *g, q_tok *tok, qk_backend *be, q_model *m)
{
	q_model_free(m);
	qk_backend_free(be);
	q_tok_free(tok);
	q_gguf_free(g);
}

#endif
