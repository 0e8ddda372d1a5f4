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

#endif
