/*
 * tok_spm.c - SentencePiece-style tokenization as llama.cpp's
 * llm_tokenizer_spm does it (the oracle for tokenizer.ggml.model = llama).
 *
 * Invariants:
 * - The text arrives with spaces already turned into U+2581 (and the leading
 *   one added by the caller when add_space_prefix says so).
 * - Symbols are split as llama.cpp splits them: by the length its lead byte
 *   announces (high nibble 0xC/0xD -> 2, 0xE -> 3, 0xF -> 4, else 1), cut
 *   at the end of the text, with no validation, so invalid UTF-8 groups
 *   exactly as it does there.
 * - Adjacent symbols whose concatenation is a token are merge candidates;
 *   the highest score merges first, the leftmost on a tie.  Symbols always
 *   cover contiguous text, so a candidate is its text span.
 * - A final symbol that is a token is emitted; any other is emitted byte by
 *   byte as <0xNN> tokens (or the token of that single byte), skipping a
 *   byte that has neither (llama.cpp would throw there).  A merged symbol
 *   is always a token, so llama.cpp's rev_merge re-segmentation never
 *   applies and is not needed.
 */
#include "tok_impl.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

typedef struct bigram {
	float score;
	int32_t left, right;
	uint32_t size;
} bigram;

_Static_assert(sizeof(bigram) <= TOK_HEAP_MAX_ENTRY, "heap entry");

static int before(const void *xv, const void *yv)
{
	const bigram *x = xv, *y = yv;
	return x->score > y->score || (x->score == y->score && x->left < y->left);
}

/* Queue the pair (l, r) when their text together is a token.
 * Symbol i covers s[start[i] .. start[i] + len[i]). */
static int try_pair(tok_ctx *c, size_t *hn, const char *s, int32_t l, int32_t r)
{
	if (l < 0 || r < 0)
		return 0;
	const int32_t *start = c->sym, *len = c->rank;
	uint32_t size = (uint32_t)(len[l] + len[r]);
	int32_t id = tok_find(c->t, s + start[l], size);
	if (id < 0 || id >= c->t->n_vocab)
		return 0;
	bigram e = { c->t->ent[id].score, l, r, size };
	return tok_heap_push(c, hn, &e, sizeof e, before);
}

static int emit_symbol(tok_ctx *c, const char *p, size_t n)
{
	const q_tok *t = c->t;
	int32_t id = tok_find(t, p, n);
	if (id >= 0 && id < t->n_vocab)
		return q_ids_push(c->out, id);
	for (size_t j = 0; j < n; j++) {
		id = t->byte_id[(unsigned char)p[j]];
		if (id >= 0 && q_ids_push(c->out, id) < 0)
			return -1;
	}
	return 0;
}

/* Tokenize one escaped fragment s[0..n), appending ids to c->out. */
int tok_spm_text(tok_ctx *c, const char *s, size_t n)
{
	static const unsigned char lead_len[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
	if (n == 0)
		return 0;
	if (tok_ctx_reserve(c, n) < 0)
		return -1;
	int32_t *start = c->sym, *len = c->rank, *pv = c->prev, *nx = c->next;
	int32_t ns = 0;
	for (size_t off = 0; off < n;) {
		size_t l = lead_len[(unsigned char)s[off] >> 4];
		if (l > n - off)
			l = n - off;
		start[ns] = (int32_t)off;
		len[ns] = (int32_t)l;
		pv[ns] = ns - 1;
		off += l;
		nx[ns] = off == n ? -1 : ns + 1;
		ns++;
	}
	size_t hn = 0;
	for (int32_t i = 1; i < ns; i++)
		if (try_pair(c, &hn, s, i - 1, i) < 0)
			return -1;
	while (hn) {
		bigram b;
		tok_heap_pop(c, &hn, &b, sizeof b, before);
		int32_t l = b.left, r = b.right;
		if (len[l] == 0 || len[r] == 0 || (uint32_t)(len[l] + len[r]) != b.size)
			continue;
		len[l] += len[r];
		len[r] = 0;
		nx[l] = nx[r];
		if (nx[r] >= 0)
			pv[nx[r]] = l;
		if (try_pair(c, &hn, s, pv[l], l) < 0 || try_pair(c, &hn, s, l, nx[l]) < 0)
			return -1;
	}
	for (int32_t i = 0; i != -1; i = nx[i])
		if (emit_symbol(c, s + start[i], (size_t)len[i]) < 0)
			return -1;
	return 0;
}
