/*
 * tok_impl.h - internals shared by the tokenizer files: tok.c (public API,
 * special-token partition, decoding), tok_bpe.c (pre-tokenizer + byte-level
 * BPE), tok_spm.c (SentencePiece-style merges), tok_gguf.c and tok_hf.c
 * (builders).  Unicode NFC comes from lib/unorm.h.  Not a public header.
 *
 * Invariants of a built q_tok (it is never written after q_tok_from_* returns):
 * - ent[0 .. n_vocab) are the tokens.  ent[n_vocab .. n_ent) are "virtual"
 *   entries (GGUF BPE only): strings that a merge of the file produces but
 *   that are not tokens; encoding never emits them (see tok_bpe.c).
 * - ent[i].off/len is the string as stored (e.g. "Ġthe", "▁the", "<0x0A>")
 *   in pool; ent[i].doff/dlen the bytes it decodes to, in dpool.
 * - str_map finds an entry by stored string, raw_map (BPE) a token by the
 *   bytes it decodes to; merges maps a pair of entry ids to (rank, merged id).
 * - Every id stored anywhere (bos, eog, pre_ids, added[].id, ...) is a
 *   valid token id or -1.
 * - Compiled regexes are JIT-compiled and only read; each q_tok_encode call
 *   brings its own match data, so one q_tok serves many threads.
 */
#ifndef Q_TOK_IMPL_H
#define Q_TOK_IMPL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "tok.h"

/* Token attributes (GGUF token_type mapped to bits, as llama.cpp does). */
enum {
	TA_NORMAL = 1,
	TA_UNKNOWN = 2,
	TA_CONTROL = 4,
	TA_USER = 8,      /* user-defined */
	TA_UNUSED = 16,
	TA_BYTE = 32,
	TA_SPECIAL = 64,  /* q_tok_is_special(): GGUF control, HF added special */
	TA_ADDED = 128,   /* HF: an added token */
};

typedef struct tok_ent {
	uint32_t off, len;   /* stored string in pool */
	uint32_t doff, dlen; /* decoded bytes in dpool */
	float score;         /* SPM merge score */
	uint8_t attr;        /* HF: TA_NORMAL means "in the model's vocab" */
} tok_ent;

/* Open-addressing string set: slot = (hash high 32 bits << 32) | (id + 1); 0 empty. */
typedef struct tok_smap {
	uint64_t *slot;
	uint64_t mask;
} tok_smap;

typedef struct tok_merge {
	uint64_t key; /* (uint64)left << 32 | right; UINT64_MAX empty */
	int32_t rank, id;
} tok_merge;

/* A string matched as a whole token before the model runs. */
typedef struct tok_added {
	int32_t id;
	uint32_t off, len; /* content in pool */
	uint8_t special, lstrip, rstrip, single_word, normalized;
} tok_added;

/* One pre-tokenizer split step (HF Split / ByteLevel / Digits; llama.cpp regexes). */
enum { SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS };
typedef struct tok_pre {
	pcre2_code *re;   /* NULL: no split, only the prefix space */
	int behavior;
	int invert;
	int prefix_space; /* HF ByteLevel add_prefix_space */
} tok_pre;

#define TOK_MAX_PRE 8

struct q_tok {
	enum q_tok_kind kind;
	int hf;                 /* HF semantics (tokenizer.json) rather than llama.cpp (GGUF) */
	int32_t n_vocab, n_ent;
	tok_ent *ent;           /* n_ent entries, room for cap_ent */
	int32_t cap_ent;
	char *pool;             /* stored strings */
	size_t pool_len, pool_cap;
	char *dpool;            /* decoded bytes */
	size_t dpool_len, dpool_cap;
	tok_smap str_map, raw_map;
	tok_merge *merges;
	uint64_t merge_mask;
	int32_t byte_id[256];   /* BPE: entry of byte b's char; SPM: <0xNN> token; -1 none */
	tok_added *added;       /* SPM: longest first; BPE: file / id order */
	size_t n_added;
	uint32_t *added_idx;    /* BPE: indexes into added, by first byte then longest first */
	uint32_t added_start[257];
	int any_normalized;     /* HF: some added token has normalized=true */
	pcre2_code *word_re;    /* HF single_word: a word character */
	tok_pre pre[TOK_MAX_PRE];
	int n_pre;
	int nfc;                /* BPE: NFC normalizer (tokenizer.json, or inferred for a GGUF) */
	int ignore_merges;
	int32_t bpe_unk;        /* BPE: token for a byte with none (HF unk_token), or -1: dropped */
	int fuse_unk;           /* HF: consecutive unknown characters give one unk */
	int add_space_prefix;   /* SPM */
	int32_t pre_ids[4], post_ids[4]; /* added with Q_TOK_ADD_SPECIAL */
	int n_pre_ids, n_post_ids;
	int32_t bos, eos, eot, eom;
	int32_t *eog;
	int n_eog;
	char *bos_text, *eos_text, *chat_template;
};

/* Scratch of one q_tok_encode call. */
typedef struct tok_ctx {
	const q_tok *t;
	q_ids *out;
	pcre2_match_data *md;
	pcre2_match_context *mctx; /* with a large JIT stack, made on demand */
	pcre2_jit_stack *jstack;
	int32_t *sym, *prev, *next, *rank, *mid; /* BPE/SPM symbol scratch */
	size_t cap;
	void *heap;             /* priority queue storage (BPE or SPM entries, never both) */
	size_t heap_cap;        /* in bytes */
	q_buf pfx[TOK_MAX_PRE]; /* prefix-space copies, one per pre-tokenizer level */
	void *wcache;           /* BPE: recent short words -> ids (long texts only) */
} tok_ctx;

/* tok.c: building helpers */
uint64_t tok_hash(const void *p, size_t n);
q_tok *tok_new(void);
int tok_ent_add(q_tok *t, const char *s, size_t n);          /* new entry, returns its id or -1 */
int64_t tok_pool_add(q_tok *t, const char *s, size_t n);     /* copy into pool: offset or -1 */
int tok_index(q_tok *t, size_t n_extra);                    /* build str_map (room for n_extra more) */
int tok_smap_insert(q_tok *t, tok_smap *m, int32_t id, int decoded);
int32_t tok_find(const q_tok *t, const char *s, size_t n);   /* by stored string, -1 if absent */
int32_t tok_find_raw(const q_tok *t, const char *s, size_t n); /* by decoded bytes (raw_map) */
int tok_merges_alloc(q_tok *t, size_t n);
int tok_merge_put(q_tok *t, int32_t a, int32_t b, int32_t rank, int32_t id); /* first rank wins */
const tok_merge *tok_merge_get(const q_tok *t, int32_t a, int32_t b);
int tok_decoded_build(q_tok *t);                            /* fill doff/dlen of every entry */
int tok_specials_finish(q_tok *t, const int32_t fim[3]);     /* eot/eom/eog by text, as llama.cpp */
int tok_added_index(q_tok *t);                               /* added_idx / added_start (BPE) */
char *tok_strndup(const char *s, size_t n);
/* GPT-2 byte-to-unicode table: the code point byte b is written as. */
uint32_t tok_byte_cp(unsigned b);
/* Inverse: the byte code point cp stands for, or -1. */
int tok_cp_byte(uint32_t cp);
/* White_Space property (Rust/Oniguruma \s, llama.cpp's whitespace set). */
int tok_is_ws(uint32_t cp);

/* tok.c: the priority queue of the merge loops (see tok_heap_push) */
#define TOK_HEAP_MAX_ENTRY 32
typedef int (*tok_less)(const void *a, const void *b);
int tok_heap_push(tok_ctx *c, size_t *n, const void *e, size_t size, tok_less less);
void tok_heap_pop(tok_ctx *c, size_t *n, void *top, size_t size, tok_less less);

/* tok_bpe.c */
pcre2_code *tok_regex(const char *pattern, size_t len, int literal);
int tok_bpe_text(tok_ctx *c, const char *s, size_t n);  /* pre-tokenize and merge (normalized text) */
int tok_bpe_word(tok_ctx *c, const char *s, size_t n);  /* one pre-tokenized piece */
int tok_ctx_reserve(tok_ctx *c, size_t n);
int tok_ctx_cache(tok_ctx *c);                          /* enable the word cache */

/* tok_spm.c: one text fragment, with spaces already escaped to U+2581. */
int tok_spm_text(tok_ctx *c, const char *s, size_t n);

#endif
