/*
 * source.h - where a model comes from: the -m argument of every tool.
 *
 * A model argument names a GGUF file, a Hugging Face directory (tokenizer.json
 * beside config.json / *.safetensors, or a tokenizer-only directory), or a
 * tokenizer.json file.  Without one, $Q_MODEL is used, and without that the
 * embedded default model installed with the tools.
 */
#ifndef Q_SOURCE_H
#define Q_SOURCE_H

#include "buf.h"
#include "model.h"
#include "tok.h"

enum q_source_kind { Q_SOURCE_GGUF = 1, Q_SOURCE_HF_DIR, Q_SOURCE_HF_JSON };

/* File name of the embedded default model. */
#define Q_DEFAULT_MODEL "SmolLM2-135M-Instruct.Q4_1.gguf"

/* Resolve arg (may be NULL) to a path in *path and its kind.  -1 + q_error
 * when nothing is given and no default model is installed, or when the path
 * does not exist or is of no known kind. */
int q_source_resolve(const char *arg, q_buf *path, enum q_source_kind *kind);

/* Open just the tokenizer (with its chat template) of the model at arg.
 * NULL + q_error. */
q_tok *q_source_open_tok(const char *arg);

/* A model opened for running: its file, GGUF, tokenizer, CPU backend and
 * bound weights. */
typedef struct q_loaded {
	q_buf path;
	q_gguf *g;
	q_tok *tok;
	qk_backend *be;
	q_model *m;
} q_loaded;

/* Resolve arg (as q_source_resolve) and open it on a CPU backend with
 * threads threads (0: all cores).  -1 + q_error naming the file (a GGUF
 * is needed: Hugging Face directories are not runnable yet); l is then
 * empty. */
int q_load(const char *arg, int threads, q_loaded *l);
void q_unload(q_loaded *l);

#endif
