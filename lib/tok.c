/*
 * tok.c - the public tokenizer API (tok.h): accessors, the special-token
 * partition that runs before the model, decoding, incremental
 * detokenization, and the hash tables the builders fill.
 *
 * Invariants (see tok_impl.h for the struct):
 * - A q_tok is read-only once built; q_tok_encode keeps all scratch in a
 *   tok_ctx on its own stack/heap, so concurrent calls are safe.
 * - Encoding never fails on input: any byte string gives ids (invalid UTF-8
 *   is encoded as the bytes it is); only allocation failure returns -1.
 * - Which oracle a q_tok follows:
 *   SPM (GGUF "llama")  llama.cpp: its tokenizer_st_partition (every
 *       CONTROL / USER_DEFINED / UNKNOWN token, longest first, split out of
 *       the remaining text, all occurrences; raw mode still splits
 *       USER_DEFINED ones), its text-based promotion of EOG-looking tokens
 *       to CONTROL, and llm_tokenizer_spm (tok_spm.c).
 *   BPE (tokenizer.json, and GGUF "gpt2")  HF tokenizers: leftmost-longest
 *       over the added tokens (for a GGUF: CONTROL / USER_DEFINED / UNKNOWN
 *       tokens, special = CONTROL or UNKNOWN, as the file declares them),
 *       honouring single_word / lstrip / rstrip / normalized; raw mode leaves
 *       special tokens as text, like encode_special_tokens = True; then the
 *       normalizer, pre-tokenizer and merges (tok_bpe.c).  A GGUF records no
 *       normalizer: tok_gguf.c infers NFC from tokenizer.ggml.pre (Qwen2's
 *       tokenizer.json has one, llama.cpp skips it).  This is the project's
 *       oracle for BPE GGUFs (t/data/tok/README), llama.cpp a cross-check.
 */
#include "tok_impl.h"
#include "err.h"
#include "tok_uni.h"
#include "unorm.h"
#include "utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------ */

char *tok_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p) {
		q_error("out of memory");
		return NULL;
	}
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* A 64-bit hash of n bytes (multiply-xorshift over 8-byte words). */
uint64_t tok_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, s, 8);
		h = (h ^ v) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)s[i] << (8 * i);
	h = (h ^ v) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 32;
	return h;
}

uint32_t tok_byte_cp(unsigned b)
{
	if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
		return b;
	if (b <= 0x20)
		return 256 + b;
	if (b >= 0x7F && b <= 0xA0)
		return 256 + 33 + (b - 0x7F);
	return 256 + 67; /* 0xAD */
}

int tok_cp_byte(uint32_t cp)
{
	if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
		return (int)cp;
	if (cp >= 256 && cp <= 256 + 32)
		return (int)(cp - 256);
	if (cp >= 256 + 33 && cp <= 256 + 66)
		return (int)(0x7F + cp - 256 - 33);
	if (cp == 256 + 67)
		return 0xAD;
	return -1;
}

int tok_is_ws(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
	       c == 0x205F || c == 0x3000;
}

/* ---- building: entries, string maps, merges ----------------------------- */

q_tok *tok_new(void)
{
	q_tok *t = calloc(1, sizeof *t);
	if (!t) {
		q_error("out of memory");
		return NULL;
	}
	t->bos = t->eos = t->eot = t->eom = t->bpe_unk = -1;
	for (int i = 0; i < 256; i++)
		t->byte_id[i] = -1;
	return t;
}

/* Append n bytes to a growable char pool; returns the offset or -1. */
static int64_t pool_add(char **pool, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (n > UINT32_MAX || *len > UINT32_MAX - n)
		return q_error("tokenizer strings exceed 4 GiB");
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 1 << 16;
		while (c < *len + n)
			c *= 2;
		char *p = realloc(*pool, c);
		if (!p)
			return q_error("out of memory (%zu bytes)", c);
		*pool = p;
		*cap = c;
	}
	if (n)
		memcpy(*pool + *len, s, n);
	int64_t off = (int64_t)*len;
	*len += n;
	return off;
}

int64_t tok_pool_add(q_tok *t, const char *s, size_t n)
{
	return pool_add(&t->pool, &t->pool_len, &t->pool_cap, s, n);
}

/* New entry with stored string s[0..n); NORMAL attribute, score 0.
 * Returns its id, or -1 + q_error. */
int tok_ent_add(q_tok *t, const char *s, size_t n)
{
	if (t->n_ent == INT32_MAX - 1)
		return q_error("too many tokens");
	if (t->n_ent == t->cap_ent) {
		int32_t c = t->cap_ent ? t->cap_ent : 1024;
		while (c <= t->n_ent)
			c = c > INT32_MAX / 2 ? INT32_MAX - 1 : c * 2;
		tok_ent *e = realloc(t->ent, (size_t)c * sizeof *e);
		if (!e)
			return q_error("out of memory");
		t->ent = e;
		t->cap_ent = c;
	}
	int64_t off = pool_add(&t->pool, &t->pool_len, &t->pool_cap, s, n);
	if (off < 0)
		return -1;
	tok_ent *e = &t->ent[t->n_ent];
	memset(e, 0, sizeof *e);
	e->off = (uint32_t)off;
	e->len = (uint32_t)n;
	e->attr = TA_NORMAL;
	return t->n_ent++;
}

static int smap_alloc(tok_smap *m, size_t n)
{
	uint64_t cap = 1024;
	while (cap < 2 * (uint64_t)n + 16)
		cap *= 2;
	free(m->slot);
	m->slot = calloc(cap, sizeof *m->slot);
	if (!m->slot)
		return q_error("out of memory");
	m->mask = cap - 1;
	return 0;
}

static inline int ent_is(const q_tok *t, int32_t id, int decoded, const char *s, size_t n)
{
	const tok_ent *e = &t->ent[id];
	if (decoded)
		return e->dlen == n && memcmp(t->dpool + e->doff, s, n) == 0;
	return e->len == n && memcmp(t->pool + e->off, s, n) == 0;
}

/* Insert entry id into m keyed by its stored (decoded=0) or decoded string;
 * an equal key already there is replaced (the later id wins, as in
 * llama.cpp's token_to_id).  The table must have room (sized by smap_alloc). */
int tok_smap_insert(q_tok *t, tok_smap *m, int32_t id, int decoded)
{
	const tok_ent *e = &t->ent[id];
	const char *s = decoded ? t->dpool + e->doff : t->pool + e->off;
	size_t n = decoded ? e->dlen : e->len;
	uint64_t h = tok_hash(s, n);
	uint64_t tag = h & 0xFFFFFFFF00000000ull;
	for (uint64_t i = h & m->mask;; i = (i + 1) & m->mask) {
		uint64_t v = m->slot[i];
		if (!v) {
			m->slot[i] = tag | (uint64_t)(id + 1);
			return 0;
		}
		if ((v & 0xFFFFFFFF00000000ull) == tag &&
		    ent_is(t, (int32_t)(v & 0xFFFFFFFF) - 1, decoded, s, n)) {
			m->slot[i] = tag | (uint64_t)(id + 1);
			return 0;
		}
	}
}

static int32_t smap_find(const q_tok *t, const tok_smap *m, int decoded, const char *s, size_t n)
{
	if (!m->slot)
		return -1;
	uint64_t h = tok_hash(s, n);
	uint64_t tag = h & 0xFFFFFFFF00000000ull;
	for (uint64_t i = h & m->mask;; i = (i + 1) & m->mask) {
		uint64_t v = m->slot[i];
		if (!v)
			return -1;
		if ((v & 0xFFFFFFFF00000000ull) == tag) {
			int32_t id = (int32_t)(v & 0xFFFFFFFF) - 1;
			if (ent_is(t, id, decoded, s, n))
				return id;
		}
	}
}

int32_t tok_find(const q_tok *t, const char *s, size_t n)
{
	return smap_find(t, &t->str_map, 0, s, n);
}

int32_t tok_find_raw(const q_tok *t, const char *s, size_t n)
{
	return smap_find(t, &t->raw_map, 1, s, n);
}

/* Build str_map over all current entries, with room for n_extra more
 * (virtual entries the merges may add). */
int tok_index(q_tok *t, size_t n_extra)
{
	if (smap_alloc(&t->str_map, (size_t)t->n_ent + n_extra) < 0)
		return -1;
	for (int32_t i = 0; i < t->n_ent; i++)
		tok_smap_insert(t, &t->str_map, i, 0);
	return 0;
}

int tok_merges_alloc(q_tok *t, size_t n)
{
	uint64_t cap = 1024;
	while (cap < 2 * (uint64_t)n + 16)
		cap *= 2;
	t->merges = malloc(cap * sizeof *t->merges);
	if (!t->merges)
		return q_error("out of memory");
	for (uint64_t i = 0; i < cap; i++)
		t->merges[i].key = UINT64_MAX;
	t->merge_mask = cap - 1;
	return 0;
}

static inline uint64_t merge_slot(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return key;
}

/* Record merge (a, b) -> id with rank; a pair seen before keeps its first
 * (lowest) rank, as both oracles do. */
int tok_merge_put(q_tok *t, int32_t a, int32_t b, int32_t rank, int32_t id)
{
	uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
	for (uint64_t i = merge_slot(key) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
		tok_merge *m = &t->merges[i];
		if (m->key == key)
			return 0;
		if (m->key == UINT64_MAX) {
			m->key = key;
			m->rank = rank;
			m->id = id;
			return 0;
		}
	}
}

const tok_merge *tok_merge_get(const q_tok *t, int32_t a, int32_t b)
{
	if (a < 0 || b < 0 || !t->merges)
		return NULL;
	uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
	for (uint64_t i = merge_slot(key) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
		const tok_merge *m = &t->merges[i];
		if (m->key == key)
			return m;
		if (m->key == UINT64_MAX)
			return NULL;
	}
}

/* The bytes a byte-level string stands for (GPT-2 table undone), appended
 * to *pool.  Returns 1 if every character was in the table, 0 if not (then
 * nothing is appended), -1 on allocation failure. */
static int bytelevel_decode(const char *s, size_t n, char **pool, size_t *len, size_t *cap)
{
	size_t start = *len;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = q_utf8_seq((const unsigned char *)s + i, n - i, &cp);
		int b = l ? tok_cp_byte(cp) : -1;
		if (b < 0) {
			*len = start;
			return 0;
		}
		char c = (char)b;
		if (pool_add(pool, len, cap, &c, 1) < 0)
			return -1;
		i += l;
	}
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte a "<0xNN>" string names, or -1. */
static int byte_token_value(const char *s, size_t n)
{
	if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
		return -1;
	int hi = hexval(s[3]), lo = hexval(s[4]);
	return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/*
 * Fill every entry's decoded bytes (what q_tok_decode_piece gives):
 *   control / unknown / user-defined / HF-added: the text as stored, except
 *     that HF runs added tokens through its ByteLevel decoder too, which
 *     changes them only when all their characters are in the byte table;
 *   SPM normal: U+2581 -> space; byte tokens <0xNN>: that byte;
 *   BPE normal: the GPT-2 byte table undone (text kept when a character is
 *     not in the table);
 *   unused / undefined (GGUF): nothing, as llama.cpp's token_to_piece.
 * Then builds raw_map for BPE (decoded bytes -> token) over the tokens
 * whose stored string is entirely byte-level.
 */
int tok_decoded_build(q_tok *t)
{
	int32_t n = t->n_vocab;
	char *raw_ok = calloc((size_t)n + 1, 1);
	if (!raw_ok)
		return q_error("out of memory");
	for (int32_t i = 0; i < t->n_ent; i++) {
		tok_ent *e = &t->ent[i];
		const char *s = t->pool + e->off;
		size_t start = t->dpool_len;
		int r = 0;
		if (i >= n) {
			/* virtual: never decoded */
		} else if (t->hf) {
			r = bytelevel_decode(s, e->len, &t->dpool, &t->dpool_len, &t->dpool_cap);
			if (r == 0 && pool_add(&t->dpool, &t->dpool_len, &t->dpool_cap, s, e->len) < 0)
				r = -1;
			if (r == 1 && (e->attr & TA_NORMAL))
				raw_ok[i] = 1;
		} else if (e->attr & (TA_CONTROL | TA_UNKNOWN | TA_USER)) {
			if (pool_add(&t->dpool, &t->dpool_len, &t->dpool_cap, s, e->len) < 0)
				r = -1;
			if (t->kind == Q_TOK_BPE) {
				size_t save = t->dpool_len;
				int ok = bytelevel_decode(s, e->len, &t->dpool, &t->dpool_len, &t->dpool_cap);
				if (ok < 0)
					r = -1;
				/* raw_map key = bytes of the byte-level reading; only kept when
				 * it equals the stored text (plain ASCII specials) */
				if (ok == 1 && t->dpool_len - save == e->len &&
				    memcmp(t->dpool + save, s, e->len) == 0)
					raw_ok[i] = 1;
				t->dpool_len = save;
			}
		} else if (e->attr & TA_NORMAL) {
			if (t->kind == Q_TOK_SPM) {
				for (size_t j = 0; j < e->len && r >= 0;) {
					if (e->len - j >= 3 && memcmp(s + j, "\xE2\x96\x81", 3) == 0) {
						r = pool_add(&t->dpool, &t->dpool_len, &t->dpool_cap, " ", 1) < 0 ? -1 : 0;
						j += 3;
					} else {
						r = pool_add(&t->dpool, &t->dpool_len, &t->dpool_cap, s + j, 1) < 0 ? -1 : 0;
						j++;
					}
				}
			} else {
				r = bytelevel_decode(s, e->len, &t->dpool, &t->dpool_len, &t->dpool_cap);
				if (r == 1)
					raw_ok[i] = 1;
				else if (r == 0 && pool_add(&t->dpool, &t->dpool_len, &t->dpool_cap, s, e->len) < 0)
					r = -1;
			}
		} else if (e->attr & TA_BYTE) {
			int b = byte_token_value(s, e->len);
			char c = (char)b;
			if (b >= 0)
				r = pool_add(&t->dpool, &t->dpool_len, &t->dpool_cap, &c, 1) < 0 ? -1 : 0;
			else
				r = pool_add(&t->dpool, &t->dpool_len, &t->dpool_cap, s, e->len) < 0 ? -1 : 0;
		}
		if (r < 0) {
			free(raw_ok);
			return -1;
		}
		e->doff = (uint32_t)start;
		e->dlen = (uint32_t)(t->dpool_len - start);
	}
	if (t->kind == Q_TOK_BPE) {
		if (smap_alloc(&t->raw_map, (size_t)n) < 0) {
			free(raw_ok);
			return -1;
		}
		for (int32_t i = 0; i < n; i++)
			if (raw_ok[i])
				tok_smap_insert(t, &t->raw_map, i, 1);
	}
	free(raw_ok);
	return 0;
}

/* ---- end-of-generation tokens, found by text as llama.cpp does ---------- */

static const char *const eot_texts[] = {
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
	"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
	"<end_of_utterance>", NULL,
};
static const char *const fim_pad_texts[] = { "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL };
static const char *const fim_rep_texts[] = { "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL };
static const char *const fim_sep_texts[] = { "<|file_sep|>", NULL };
static const char *const eog_texts[] = {
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
	"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
	"<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
	"<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", "[e~[", NULL,
};

/* The token whose text is s; for tokenizer.json only added tokens count (a
 * normal piece such as "</s>" in Qwen3's vocabulary ends nothing there). */
static int32_t find_text(const q_tok *t, const char *s)
{
	int32_t id = tok_find(t, s, strlen(s));
	if (id < 0 || id >= t->n_vocab || (t->hf && !(t->ent[id].attr & TA_ADDED)))
		return -1;
	return id;
}

static int32_t find_first(const q_tok *t, const char *const *texts)
{
	for (int i = 0; texts[i]; i++) {
		int32_t id = find_text(t, texts[i]);
		if (id >= 0)
			return id;
	}
	return -1;
}

static int eog_add(q_tok *t, int32_t id)
{
	if (id < 0)
		return 0;
	for (int i = 0; i < t->n_eog; i++)
		if (t->eog[i] == id)
			return 0;
	int32_t *p = realloc(t->eog, (size_t)(t->n_eog + 1) * sizeof *p);
	if (!p)
		return q_error("out of memory");
	t->eog = p;
	t->eog[t->n_eog++] = id;
	return 0;
}

/* llama.cpp makes a token it recognises by its text a control token, so
 * that it is matched as special text: kept for SPM GGUFs, whose oracle is
 * llama.cpp; a BPE vocabulary keeps the types it declares (HF's view). */
static void make_control(q_tok *t, int32_t id)
{
	if (id >= 0 && !t->hf && t->kind == Q_TOK_SPM)
		t->ent[id].attr |= TA_CONTROL | TA_SPECIAL;
}

/*
 * Finish eot / eom / the end-of-generation set the way llama.cpp's
 * llama_vocab::impl::load does: eot and eom (when not given by metadata)
 * and the fill-in-the-middle pad / repo / separator tokens are found by
 * text (and, for SPM, made control as llama.cpp does); eog = those fim
 * tokens + every token whose text is in eog_texts + eos + eot + eom.  Where llama.cpp picks "any" of several candidate texts
 * (it walks a hash map), the order of eot_texts decides here.  fim[3] are
 * ids from metadata (pad, repo, sep) or -1.
 */
int tok_specials_finish(q_tok *t, const int32_t fim_in[3])
{
	int32_t fim[3] = { fim_in ? fim_in[0] : -1, fim_in ? fim_in[1] : -1, fim_in ? fim_in[2] : -1 };
	if (t->eot < 0)
		make_control(t, t->eot = find_first(t, eot_texts));
	if (t->eom < 0) {
		static const char *const eom_texts[] = { "<|eom_id|>", NULL };
		make_control(t, t->eom = find_first(t, eom_texts));
	}
	const char *const *fim_texts[3] = { fim_pad_texts, fim_rep_texts, fim_sep_texts };
	for (int k = 0; k < 3; k++) {
		if (fim[k] < 0)
			make_control(t, fim[k] = find_first(t, fim_texts[k]));
		if (eog_add(t, fim[k]) < 0)
			return -1;
	}
	int32_t end_id = -1;
	int has_return = 0, has_call = 0, has_flush = 0;
	for (int i = 0; eog_texts[i]; i++) {
		int32_t id = find_text(t, eog_texts[i]);
		if (id < 0)
			continue;
		make_control(t, id);
		if (eog_add(t, id) < 0)
			return -1;
		if (!strcmp(eog_texts[i], "<|end|>"))
			end_id = id;
		has_return |= !strcmp(eog_texts[i], "<|return|>");
		has_call |= !strcmp(eog_texts[i], "<|call|>") || !strcmp(eog_texts[i], "<|calls|>");
		has_flush |= !strcmp(eog_texts[i], "<|flush|>");
	}
	if (eog_add(t, t->eos) < 0 || eog_add(t, t->eot) < 0 || eog_add(t, t->eom) < 0)
		return -1;
	/* o200k_harmony / solar-open: "<|end|>" is not an end of generation there */
	if (end_id >= 0 && end_id != t->eos && ((has_return && has_call) || (has_call && has_flush)))
		for (int i = 0; i < t->n_eog; i++)
			if (t->eog[i] == end_id) {
				t->eog[i] = t->eog[--t->n_eog];
				break;
			}
	return 0;
}

static int cmp_idx(const void *x, const void *y, void *arg)
{
	const q_tok *t = arg;
	const tok_added *a = &t->added[*(const uint32_t *)x], *b = &t->added[*(const uint32_t *)y];
	unsigned char ca = (unsigned char)t->pool[a->off], cb = (unsigned char)t->pool[b->off];
	if (ca != cb)
		return ca < cb ? -1 : 1;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
}

/* Index the added tokens (all non-empty) for leftmost-longest matching:
 * added_idx sorted by first byte, then longest first, then list order;
 * added_start[b] .. added_start[b + 1] are those starting with byte b. */
int tok_added_index(q_tok *t)
{
	free(t->added_idx);
	t->added_idx = malloc((t->n_added + 1) * sizeof *t->added_idx);
	if (!t->added_idx)
		return q_error("out of memory");
	for (size_t i = 0; i < t->n_added; i++)
		t->added_idx[i] = (uint32_t)i;
	qsort_r(t->added_idx, t->n_added, sizeof *t->added_idx, cmp_idx, t);
	size_t k = 0;
	for (unsigned c = 0; c < 256; c++) {
		t->added_start[c] = (uint32_t)k;
		while (k < t->n_added && (unsigned char)t->pool[t->added[t->added_idx[k]].off] == c)
			k++;
	}
	t->added_start[256] = (uint32_t)k;
	return 0;
}

/* ---- accessors ---------------------------------------------------------- */

void q_tok_free(q_tok *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n_pre; i++)
		pcre2_code_free(t->pre[i].re);
	pcre2_code_free(t->word_re);
	free(t->ent);
	free(t->pool);
	free(t->dpool);
	free(t->str_map.slot);
	free(t->raw_map.slot);
	free(t->merges);
	free(t->added);
	free(t->added_idx);
	free(t->eog);
	free(t->bos_text);
	free(t->eos_text);
	free(t->chat_template);
	free(t);
}

enum q_tok_kind q_tok_kind(const q_tok *t) { return t->kind; }
int32_t q_tok_n_vocab(const q_tok *t) { return t->n_vocab; }
int32_t q_tok_bos(const q_tok *t) { return t->bos; }
int32_t q_tok_eos(const q_tok *t) { return t->eos; }
int32_t q_tok_eot(const q_tok *t) { return t->eot; }
const char *q_tok_bos_text(const q_tok *t) { return t->bos_text ? t->bos_text : ""; }
const char *q_tok_eos_text(const q_tok *t) { return t->eos_text ? t->eos_text : ""; }
const char *q_tok_chat_template(const q_tok *t) { return t->chat_template; }

int q_tok_is_eog(const q_tok *t, int32_t id)
{
	for (int i = 0; i < t->n_eog; i++)
		if (t->eog[i] == id)
			return 1;
	return 0;
}

int q_tok_eog_ids(const q_tok *t, const int32_t **ids)
{
	*ids = t->eog;
	return t->n_eog;
}

int q_tok_is_special(const q_tok *t, int32_t id)
{
	return id >= 0 && id < t->n_vocab && (t->ent[id].attr & TA_SPECIAL);
}

q_str q_tok_vocab_str(const q_tok *t, int32_t id)
{
	q_str s = { NULL, 0 };
	if (id >= 0 && id < t->n_vocab) {
		s.p = t->pool + t->ent[id].off;
		s.len = t->ent[id].len;
	}
	return s;
}

/* ---- encoding ----------------------------------------------------------- */

typedef struct frag {
	size_t off, len;
	int32_t id; /* >= 0: a token; -1: text */
} frag;

typedef struct frags {
	frag *v;
	size_t n, cap;
} frags;

static int frags_push(frags *f, size_t off, size_t len, int32_t id)
{
	if (f->n == f->cap) {
		size_t c = f->cap ? f->cap * 2 : 16;
		frag *v = realloc(f->v, c * sizeof *v);
		if (!v)
			return q_error("out of memory");
		f->v = v;
		f->cap = c;
	}
	f->v[f->n++] = (frag){ off, len, id };
	return 0;
}

/*
 * llama.cpp's partition (SPM): for each special token, longest first, split every
 * occurrence out of every text fragment, left to right.  Without
 * parse_special only user-defined tokens are split out.  Fills *out
 * (caller frees out->v).
 */
static int part_llamacpp(const q_tok *t, const char *s, size_t n, int parse_special, frags *out)
{
	frags a = { 0 }, b = { 0 };
	if (n && frags_push(&a, 0, n, -1) < 0)
		return -1;
	for (size_t k = 0; k < t->n_added; k++) {
		const tok_added *ad = &t->added[k];
		if (!parse_special && (t->ent[ad->id].attr & (TA_CONTROL | TA_UNKNOWN)))
			continue;
		const char *p = t->pool + ad->off;
		if (!ad->len || !memmem(s, n, p, ad->len))
			continue;
		b.n = 0;
		for (size_t i = 0; i < a.n; i++) {
			frag f = a.v[i];
			if (f.id >= 0) {
				if (frags_push(&b, f.off, f.len, f.id) < 0)
					goto fail;
				continue;
			}
			size_t pos = f.off, end = f.off + f.len;
			const char *m;
			while (pos < end && (m = memmem(s + pos, end - pos, p, ad->len))) {
				size_t at = (size_t)(m - s);
				if (at > pos && frags_push(&b, pos, at - pos, -1) < 0)
					goto fail;
				if (frags_push(&b, at, ad->len, ad->id) < 0)
					goto fail;
				pos = at + ad->len;
			}
			if (pos < end && frags_push(&b, pos, end - pos, -1) < 0)
				goto fail;
		}
		frags tmp = a;
		a = b;
		b = tmp;
	}
	free(b.v);
	*out = a;
	return 0;
fail:
	free(a.v);
	free(b.v);
	return -1;
}

/* Start of the code point ending just before s[end] (end > 0), which is
 * stored in *cp; a byte that ends no valid sequence counts as itself. */
static size_t prev_cp(const char *s, size_t end, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = end - 1;
	while (i > 0 && end - i < 4 && (u[i] & 0xC0) == 0x80)
		i--;
	if (q_utf8_seq(u + i, end - i, cp) == end - i)
		return i;
	*cp = u[end - 1];
	return end - 1;
}

/* Is the character at s[i] (or just before s[i] when before) a word character? */
static int word_char(const q_tok *t, const char *s, size_t n, size_t i, int before)
{
	size_t at = i;
	if (before) {
		uint32_t cp;
		at = prev_cp(s, i, &cp);
	}
	if (!t->word_re || at >= n)
		return 0;
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	if (!md)
		return 0;
	int rc = pcre2_match(t->word_re, (PCRE2_SPTR)s, n, at, PCRE2_ANCHORED, md, NULL);
	pcre2_match_data_free(md);
	return rc > 0;
}

/*
 * HF's AddedVocabulary::find_matches (BPE) over s[0..n) with the added tokens
 * whose normalized flag equals `normalized`: the leftmost match, longest
 * there, then continue after it.  Appends the text and token fragments,
 * covering s, to out (caller frees out->v).  Without parse_special, special
 * tokens are matched (and so consumed) but left as text, as with
 * encode_special_tokens = True.
 */
static int part_hf(const q_tok *t, const char *s, size_t n, int normalized, int parse_special, frags *out)
{
	size_t start_off = 0, i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		const tok_added *hit = NULL;
		for (uint32_t k = t->added_start[c]; k < t->added_start[c + 1]; k++) {
			const tok_added *ad = &t->added[t->added_idx[k]];
			if (ad->normalized != normalized || ad->len > n - i)
				continue;
			if (!memcmp(s + i, t->pool + ad->off, ad->len)) {
				hit = ad;
				break;
			}
		}
		if (!hit) {
			i++;
			continue;
		}
		size_t ms = i, me = i + hit->len;
		i = me;
		if (!parse_special && hit->special)
			continue;
		if (hit->single_word) {
			int start_space = ms == 0 || !word_char(t, s, n, ms, 1);
			int stop_space = me == n || !word_char(t, s, n, me, 0);
			if (!start_space || !stop_space)
				continue;
		}
		if (hit->lstrip) {
			size_t ns = ms;
			while (ns > 0) {
				uint32_t cp;
				size_t p = prev_cp(s, ns, &cp);
				if (!tok_is_ws(cp))
					break;
				ns = p;
			}
			ms = ns > start_off ? ns : start_off;
		}
		if (hit->rstrip) {
			while (me < n) {
				uint32_t cp;
				size_t l = q_utf8_seq((const unsigned char *)s + me, n - me, &cp);
				if (!l || !tok_is_ws(cp))
					break;
				me += l;
			}
			i = me;
		}
		if (ms > start_off && frags_push(out, start_off, ms - start_off, -1) < 0)
			return -1;
		if (frags_push(out, ms, me - ms, hit->id) < 0)
			return -1;
		start_off = me;
	}
	if (start_off < n && frags_push(out, start_off, n - start_off, -1) < 0)
		return -1;
	return 0;
}

static int bpe_fragment(tok_ctx *c, const char *s, size_t n, unsigned flags);

static void ctx_free(tok_ctx *c)
{
	pcre2_match_data_free(c->md);
	pcre2_match_context_free(c->mctx);
	pcre2_jit_stack_free(c->jstack);
	free(c->sym);
	free(c->prev);
	free(c->next);
	free(c->rank);
	free(c->mid);
	free(c->heap);
	free(c->wcache);
	for (int i = 0; i < TOK_MAX_PRE; i++)
		q_buf_free(&c->pfx[i]);
}

static int encode_spm_frag(tok_ctx *c, const char *s, size_t n, int prefix, q_buf *esc)
{
	q_buf_reset(esc);
	if (prefix && q_buf_add(esc, "\xE2\x96\x81", 3) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		while (j < n && s[j] != ' ')
			j++;
		if (j > i && q_buf_add(esc, s + i, j - i) < 0)
			return -1;
		if (j < n && q_buf_add(esc, "\xE2\x96\x81", 3) < 0)
			return -1;
		i = j;
	}
	return tok_spm_text(c, esc->p, esc->len);
}

/*
 * Encode text[0..len) (see tok.h).  Pipeline: BOS-like prefix ids (with
 * Q_TOK_ADD_SPECIAL), special-token partition, each text fragment through
 * the model (SPM: leading "▁" after the start or a special token when
 * add_space_prefix, spaces -> "▁", merges by score; BPE: normalizer,
 * pre-tokenizer regexes, merges by rank), then suffix ids.
 */
int q_tok_encode(const q_tok *t, const char *text, size_t len, unsigned flags, q_ids *out)
{
	tok_ctx c;
	memset(&c, 0, sizeof c);
	c.t = t;
	c.out = out;
	frags f = { 0 };
	q_buf esc = Q_BUF_INIT;
	int rc = -1;
	int parse_special = (flags & Q_TOK_PARSE_SPECIAL) != 0;

	if (t->kind == Q_TOK_BPE && !(c.md = pcre2_match_data_create(1, NULL))) {
		q_error("out of memory");
		goto done;
	}
	if (t->kind == Q_TOK_BPE && len >= 16384 && tok_ctx_cache(&c) < 0)
		goto done;
	if (flags & Q_TOK_ADD_SPECIAL)
		for (int i = 0; i < t->n_pre_ids; i++)
			if (q_ids_push(out, t->pre_ids[i]) < 0)
				goto done;
	if (t->kind == Q_TOK_SPM) {
		if (part_llamacpp(t, text, len, parse_special, &f) < 0)
			goto done;
	} else if (len && part_hf(t, text, len, 0, parse_special, &f) < 0) {
		goto done;
	}
	int prev_special = 1;
	for (size_t i = 0; i < f.n; i++) {
		const frag *g = &f.v[i];
		if (g->id >= 0) {
			if (q_ids_push(out, g->id) < 0)
				goto done;
			prev_special = 1;
			continue;
		}
		int r;
		if (t->kind == Q_TOK_SPM)
			r = encode_spm_frag(&c, text + g->off, g->len, t->add_space_prefix && prev_special, &esc);
		else
			r = bpe_fragment(&c, text + g->off, g->len, flags);
		if (r < 0)
			goto done;
		prev_special = 0;
	}
	if (flags & Q_TOK_ADD_SPECIAL)
		for (int i = 0; i < t->n_post_ids; i++)
			if (q_ids_push(out, t->post_ids[i]) < 0)
				goto done;
	rc = 0;
done:
	free(f.v);
	q_buf_free(&esc);
	ctx_free(&c);
	return rc;
}

/* Is cp unknown to HF's normalizer (Unicode 9.0) though it matters to NFC? */
static int nfc_new(uint32_t cp)
{
	size_t lo = 0, hi = sizeof tok_uni_nfc_new / sizeof *tok_uni_nfc_new;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cp < tok_uni_nfc_new[mid][0])
			hi = mid;
		else if (cp > tok_uni_nfc_new[mid][1])
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* NFC of s[a..b) as HF computes it: a character its Unicode 9.0 tables do
 * not know is an inert starter, so the text is normalized in pieces
 * around each such character, which is copied as is. */
static int nfc_hf(const char *s, size_t a, size_t b, q_buf *out)
{
	size_t seg = a;
	for (size_t i = a; i < b;) {
		uint32_t cp;
		size_t l = q_utf8_seq((const unsigned char *)s + i, b - i, &cp);
		if (cp >= 0x7FD && nfc_new(cp)) {
			if (q_unorm_nfc(s + seg, i - seg, out) < 0 || q_buf_add(out, s + i, l) < 0)
				return -1;
			seg = i + l;
		}
		i += l;
	}
	return q_unorm_nfc(s + seg, b - seg, out);
}

/*
 * HF's NFC of valid UTF-8 s[0..n) into out, touching only what can change:
 * a boundary before an ASCII character is always safe (it is a starter,
 * never decomposes and never composes with what precedes it), so each
 * run of non-ASCII bytes that holds a code point >= U+0300 (lead byte
 * >= 0xCC) is normalized together with the ASCII character before it, and
 * the rest is copied.  Returns 1 when out holds the result, 0 when s is
 * unchanged (out untouched), -1 on allocation failure.
 */
static int nfc_runs(const char *s, size_t n, q_buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t done = 0, i = 0;
	int any = 0;
	while (i < n) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		size_t a = i, high = 0;
		while (i < n && u[i] >= 0x80)
			high |= u[i++] >= 0xCC;
		if (!high)
			continue;
		if (a > 0)
			a--; /* the ASCII starter a mark may compose with */
		if (q_buf_add(out, s + done, a - done) < 0 || nfc_hf(s, a, i, out) < 0)
			return -1;
		done = i;
		any = 1;
	}
	if (!any)
		return 0;
	return q_buf_add(out, s + done, n - done) < 0 ? -1 : 1;
}

/*
 * BPE text fragment s[0..n) (between added tokens): invalid UTF-8 bytes are
 * split out first (each one a piece of its own, since HF cannot see them);
 * each valid run is NFC normalized when the tokenizer says so, then the
 * normalized added tokens are split out and the rest goes to the
 * pre-tokenizer and the merges.
 */
static int bpe_fragment(tok_ctx *c, const char *s, size_t n, unsigned flags)
{
	const q_tok *t = c->t;
	size_t i = 0;
	while (i < n) {
		size_t ok = i + q_utf8_check(s + i, n - i);
		if (ok > i) {
			const char *p = s + i;
			size_t m = ok - i;
			q_buf norm = Q_BUF_INIT;
			int nr = t->nfc ? nfc_runs(p, m, &norm) : 0;
			if (nr < 0) {
				q_buf_free(&norm);
				return -1;
			}
			if (nr) {
				p = norm.p;
				m = norm.len;
			}
			int r = 0;
			if (t->any_normalized) {
				frags f = { 0 };
				r = part_hf(t, p, m, 1, (flags & Q_TOK_PARSE_SPECIAL) != 0, &f);
				for (size_t k = 0; r == 0 && k < f.n; k++) {
					if (f.v[k].id >= 0)
						r = q_ids_push(c->out, f.v[k].id);
					else
						r = tok_bpe_text(c, p + f.v[k].off, f.v[k].len);
				}
				free(f.v);
			} else {
				r = tok_bpe_text(c, p, m);
			}
			q_buf_free(&norm);
			if (r < 0)
				return -1;
		}
		if (ok < n && tok_bpe_word(c, s + ok, 1) < 0)
			return -1;
		i = ok + 1;
	}
	return 0;
}

/* ---- decoding ----------------------------------------------------------- */

int q_tok_decode_piece(const q_tok *t, int32_t id, int first, q_buf *out)
{
	if (id < 0 || id >= t->n_vocab)
		return q_error("token id %d out of range [0, %d)", (int)id, (int)t->n_vocab);
	const tok_ent *e = &t->ent[id];
	const char *p = t->dpool + e->doff;
	size_t n = e->dlen;
	if (first && t->kind == Q_TOK_SPM && t->add_space_prefix && n && p[0] == ' ') {
		p++;
		n--;
	}
	return q_buf_add(out, p, n);
}

int q_tok_decode(const q_tok *t, const int32_t *ids, size_t n, q_buf *out)
{
	for (size_t i = 0; i < n; i++)
		if (q_tok_decode_piece(t, ids[i], i == 0, out) < 0)
			return -1;
	return 0;
}

/* ---- incremental detokenizer -------------------------------------------- */

/* Length of the longest prefix of s[0..n) that a valid UTF-8 sequence
 * could start with (0 if s[0] cannot start one): the "maximal subpart". */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n)
{
	size_t need = q_utf8_lead_len(s[0]);
	if (need < 2)
		return 0;
	unsigned char lo = 0x80, hi = 0xBF;
	if (s[0] == 0xE0)
		lo = 0xA0;
	else if (s[0] == 0xED)
		hi = 0x9F;
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F;
	size_t i = 1;
	if (i < n && i < need && s[i] >= lo && s[i] <= hi) {
		i++;
		while (i < n && i < need && (s[i] & 0xC0) == 0x80)
			i++;
	}
	return i;
}

/* Emit the complete sequences of s[0..n) to out, invalid parts as U+FFFD
 * (one per maximal subpart, as Python's errors="replace"); a valid but
 * incomplete tail is left unconsumed when hold is set.  Returns bytes
 * consumed or -1. */
static long utf8_emit(const unsigned char *s, size_t n, int hold, q_buf *out)
{
	size_t i = 0;
	while (i < n) {
		size_t run = i;
		while (run < n && s[run] < 0x80)
			run++;
		if (run > i && q_buf_add(out, s + i, run - i) < 0)
			return -1;
		i = run;
		if (i >= n)
			break;
		size_t l = q_utf8_seq(s + i, n - i, NULL);
		if (l) {
			if (q_buf_add(out, s + i, l) < 0)
				return -1;
			i += l;
			continue;
		}
		size_t sub = utf8_valid_prefix(s + i, n - i);
		if (hold && sub && i + sub == n && sub < q_utf8_lead_len(s[i]))
			break; /* might still be completed */
		if (q_buf_add(out, "\xEF\xBF\xBD", 3) < 0)
			return -1;
		i += sub ? sub : 1;
	}
	return (long)i;
}

void q_detok_init(q_detok *d, const q_tok *t)
{
	memset(d, 0, sizeof *d);
	d->t = t;
}

/*
 * Appends the held bytes and the token's bytes to out, then keeps in out
 * only what is valid UTF-8 so far: an incomplete sequence at the end goes
 * back into d->held, an invalid one becomes U+FFFD.  Allocates nothing
 * beyond out's own growth unless the token holds invalid bytes (rare).
 */
int q_detok_feed(q_detok *d, int32_t id, q_buf *out)
{
	size_t start = out->len;
	if (d->n_held && q_buf_add(out, d->held, (size_t)d->n_held) < 0)
		return -1;
	if (q_tok_decode_piece(d->t, id, d->n_seen == 0, out) < 0) {
		out->len = start;
		if (out->p)
			out->p[start] = '\0';
		return -1;
	}
	d->n_seen++;
	d->n_held = 0;
	size_t n = out->len - start, ok = q_utf8_check(out->p ? out->p + start : "", n);
	if (ok == n)
		return 0;
	size_t rest = n - ok;
	unsigned char small[64], *copy = rest <= sizeof small ? small : malloc(rest);
	if (!copy)
		return q_error("out of memory");
	memcpy(copy, out->p + start + ok, rest);
	out->len = start + ok;
	out->p[out->len] = '\0';
	long used = utf8_emit(copy, rest, 1, out);
	if (used >= 0) {
		d->n_held = (int)(rest - (size_t)used); /* < 4: a sequence still incomplete */
		memcpy(d->held, copy + used, (size_t)d->n_held);
	}
	if (copy != small)
		free(copy);
	return used < 0 ? -1 : 0;
}

int q_detok_flush(q_detok *d, q_buf *out)
{
	if (d->n_held && utf8_emit(d->held, (size_t)d->n_held, 0, out) < 0)
		return -1;
	d->n_held = 0;
	return 0;
}

/*
 * A binary min-heap of fixed-size entries (at most TOK_HEAP_MAX_ENTRY bytes)
 * kept in c->heap, ordered by less(); *n counts the entries.  Both merge
 * loops (BPE by rank, SPM by score) use it.  Push may move c->heap.
 */
int tok_heap_push(tok_ctx *c, size_t *n, const void *e, size_t size, tok_less less)
{
	if ((*n + 1) * size > c->heap_cap) {
		size_t cap = c->heap_cap ? c->heap_cap * 2 : 256 * size;
		void *p = realloc(c->heap, cap);
		if (!p)
			return q_error("out of memory");
		c->heap = p;
		c->heap_cap = cap;
	}
	char *h = c->heap;
	size_t i = (*n)++;
	while (i > 0 && less(e, h + (i - 1) / 2 * size)) {
		memcpy(h + i * size, h + (i - 1) / 2 * size, size);
		i = (i - 1) / 2;
	}
	memcpy(h + i * size, e, size);
	return 0;
}

void tok_heap_pop(tok_ctx *c, size_t *n, void *top, size_t size, tok_less less)
{
	char *h = c->heap, last[TOK_HEAP_MAX_ENTRY];
	memcpy(top, h, size);
	memcpy(last, h + --*n * size, size);
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, best = i;
		const void *bv = last;
		if (l < *n && less(h + l * size, bv)) {
			best = l;
			bv = h + l * size;
		}
		if (l + 1 < *n && less(h + (l + 1) * size, bv))
			best = l + 1;
		if (best == i)
			break;
		memcpy(h + i * size, h + best * size, size);
		i = best;
	}
	if (*n)
		memcpy(h + i * size, last, size);
}

int q_tok_parse_ids(const q_tok *t, const char *s, size_t n, q_ids *out)
{
	static const char sep[] = " \t\r\n,";
	int32_t nv = q_tok_n_vocab(t);
	size_t i = 0;
	while (i < n) {
		while (i < n && s[i] && strchr(sep, s[i]))
			i++;
		if (i >= n)
			break;
		char tmp[32];
		size_t k = 0;
		while (i < n && !(s[i] && strchr(sep, s[i])) && k < sizeof tmp - 1)
			tmp[k++] = s[i++];
		tmp[k] = '\0';
		char *end;
		errno = 0;
		long v = strtol(tmp, &end, 10);
		if (!k || memchr(tmp, 0, k) || *end || errno || (i < n && !(s[i] && strchr(sep, s[i]))))
			return q_error("not a token id: '%s'", tmp);
		if (v < 0 || v >= nv)
			return q_error("token id %ld out of range (vocabulary has %d)", v, nv);
		if (q_ids_push(out, (int32_t)v) < 0)
			return -1;
	}
	return 0;
}
