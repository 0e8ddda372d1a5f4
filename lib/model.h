/*
 * model.h - transformer architectures bound from a GGUF file, and the one
 * forward pass over a batch of tokens from many sequences.
 *
 * A q_model is immutable after q_model_new: hyper-parameters plus weight
 * tensors used in place from the GGUF mapping (qk_tensor_load borrows them
 * on the CPU), so it may be shared by every q_fwd.  Architectures: llama
 * (stories260K, SmolLM2, Llama 3), qwen2 (Q/K/V biases, NeoX rope), qwen3
 * (per-head Q/K RMSNorm, NeoX rope).
 *
 * A q_fwd holds the scratch tensors of forward passes over at most max_tok
 * tokens, allocated once: running a batch allocates nothing.  A batch is a
 * list of tokens, each with its sequence (a q_kv slot) and position; the
 * tokens of one sequence in a batch are consecutive positions whose
 * earlier positions are already in the cache.  Prefill chunks and decode
 * tokens of different sequences mix freely.  Logits are computed only for
 * the rows whose out flag is set.
 */
#ifndef Q_MODEL_H
#define Q_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "kv.h"
#include "qk.h"

typedef struct q_model q_model;

enum q_arch { Q_ARCH_LLAMA = 1, Q_ARCH_QWEN2, Q_ARCH_QWEN3 };

typedef struct q_hparams {
	enum q_arch arch;
	int n_vocab;           /* rows of token_embd */
	int n_embd;            /* d: the residual stream width */
	int n_layer;
	int n_ff;              /* hidden width of the SwiGLU FFN */
	int n_head, n_kv_head, head_dim;
	int n_ctx_train;       /* context the model was trained with */
	float rms_eps;
	qk_rope rope;          /* n_head is set per use (Q or K) */
} q_hparams;

/* Bind g's hyper-parameters and tensors for running on be.  NULL + q_error
 * naming what is wrong: an unsupported architecture or tensor type, a
 * missing tensor, a tensor whose shape disagrees with the hyper-parameters.
 * g must outlive the model (weights are read in place). */
q_model *q_model_new(const q_gguf *g, qk_backend *be);
void q_model_free(q_model *m);
const q_hparams *q_model_hparams(const q_model *m);
const char *q_model_arch_name(const q_model *m);

/* A batch: n tokens, token i being tok[i] at position pos[i] of sequence
 * seq[i]; out[i] != 0 asks for its logits; nb[i] (nb may be NULL: all 1)
 * is the size of the llama.cpp batch the token stands for and nb_index[i]
 * its index in it, which pick the kernels' order of additions (qk_matmul;
 * q_engine: a prompt token the llama.cpp ubatch that would decode it, a
 * generated token a batch of 1).  The arrays are the caller's. */
typedef struct q_batch {
	int n;
	const int32_t *tok, *pos, *seq, *nb, *nb_index;
	const uint8_t *out;
} q_batch;

typedef struct q_fwd q_fwd;

/* Scratch for batches of up to max_tok tokens over the cache kv (which must
 * match the model's layers, KV heads and head size), with room for one row
 * of logits per sequence slot of kv (at most max_tok).  NULL + q_error. */
q_fwd *q_fwd_new(const q_model *m, q_kv *kv, int max_tok);
void q_fwd_free(q_fwd *f);
/* Make room for n rows of logits per batch (1..max_tok), e.g. max_tok for
 * teacher forcing.  Allocates; call it before running, not per token. */
int q_fwd_set_max_out(q_fwd *f, int n);
int q_fwd_max_out(const q_fwd *f);
/* Run the model over b: store every token's K and V in the cache and
 * compute the logits of the rows with out set.  The positions must be
 * reserved in kv.  0, or -1 + q_error (nothing to undo: a failed batch
 * leaves only cache rows of its own positions written). */
int q_fwd_run(q_fwd *f, const q_batch *b);
/* The logits of the k-th output row of the last run (k counts the rows
 * with out set, in batch order): n_vocab floats, valid until the next run.
 * The caller may modify them (samplers work in place). */
float *q_fwd_logits(q_fwd *f, int k);

#endif
