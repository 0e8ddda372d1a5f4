/*
 * tok.h - tokenizers: SentencePiece-style (SPM) and byte-level BPE.
 *
 * A q_tok is immutable after it is built and may be shared by threads; all
 * scratch state lives in the caller's arguments.  It is built either from
 * GGUF metadata (tokenizer.ggml.*) or from a Hugging Face tokenizer.json
 * (+ tokenizer_config.json beside it, for BOS/EOS and the chat template).
 *
 * Ids are int32 in [0, q_tok_n_vocab()).
 */
#ifndef Q_TOK_H
#define Q_TOK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "gguf.h"

typedef struct q_tok q_tok;

enum q_tok_kind { Q_TOK_SPM = 1, Q_TOK_BPE = 2 };

/* Build from GGUF metadata.  NULL + q_error ("no tokenizer in FILE", an
 * unknown tokenizer.ggml.model / .pre, inconsistent arrays, ...). */
q_tok *q_tok_from_gguf(const q_gguf *g);
/* Build from a tokenizer.json path or a directory holding tokenizer.json
 * (and optionally tokenizer_config.json). */
q_tok *q_tok_from_hf(const char *path);
void q_tok_free(q_tok *t);

enum q_tok_kind q_tok_kind(const q_tok *t);
int32_t q_tok_n_vocab(const q_tok *t);
int32_t q_tok_bos(const q_tok *t);       /* -1 if none */
int32_t q_tok_eos(const q_tok *t);       /* -1 if none */
int32_t q_tok_eot(const q_tok *t);       /* end of turn (<|im_end|>, <|eot_id|>), -1 if none */
int q_tok_is_eog(const q_tok *t, int32_t id); /* ends generation: eos, eot, and the like */
int q_tok_eog_ids(const q_tok *t, const int32_t **ids); /* all of those: their count, *ids the tokenizer's */
int q_tok_is_special(const q_tok *t, int32_t id); /* control / added special token */
/* Text forms the chat template sees as bos_token / eos_token ("" if none). */
const char *q_tok_bos_text(const q_tok *t);
const char *q_tok_eos_text(const q_tok *t);
/* The chat template that came with the tokenizer, or NULL. */
const char *q_tok_chat_template(const q_tok *t);

/* Flags for q_tok_encode. */
enum {
	Q_TOK_ADD_SPECIAL = 1,   /* add BOS/EOS as the tokenizer's config says */
	Q_TOK_PARSE_SPECIAL = 2, /* match added/special token text as whole tokens */
};

/* Append the ids of text[0..len) to out.  Text that is not valid UTF-8 is
 * encoded as the bytes it is (byte fallback / byte-level), never rejected
 * here; callers decide their own policy.  -1 + q_error only on allocation
 * failure. */
int q_tok_encode(const q_tok *t, const char *text, size_t len, unsigned flags, q_ids *out);

/* Append the bytes token id stands for to out (as in the decoded text: the
 * byte-level or <0xNN> mapping undone, SPM's U+2581 turned into a space).
 * `first` is nonzero for the first token of a text, where SPM drops the
 * leading space that encoding added.  Special tokens give their text.
 * -1 + q_error when id is out of range. */
int q_tok_decode_piece(const q_tok *t, int32_t id, int first, q_buf *out);
/* Decode a whole id sequence; special tokens give their text. */
int q_tok_decode(const q_tok *t, const int32_t *ids, size_t n, q_buf *out);
/* Parse token ids written as decimal numbers separated by spaces, tabs,
 * newlines or commas in s[0..n) and append them to out.  -1 + q_error
 * ("not a token id: 'x'", "token id N out of range (vocabulary has V)"). */
int q_tok_parse_ids(const q_tok *t, const char *s, size_t n, q_ids *out);
/* The vocabulary entry as stored (e.g. "Ġthe", "▁the", "<0x0A>"). */
q_str q_tok_vocab_str(const q_tok *t, int32_t id);

/*
 * Incremental detokenizer: feed ids one at a time; it writes to out only
 * complete UTF-8 sequences, holding back a partial one until a later token
 * completes it.  q_detok_flush() emits what is still held (invalid bytes as
 * U+FFFD) at the end of the stream.
 */
typedef struct q_detok {
	const q_tok *t;
	int n_seen;            /* ids fed so far */
	unsigned char held[8]; /* bytes of an incomplete UTF-8 sequence */
	int n_held;
} q_detok;
void q_detok_init(q_detok *d, const q_tok *t);
int q_detok_feed(q_detok *d, int32_t id, q_buf *out);
int q_detok_flush(q_detok *d, q_buf *out);

#endif
