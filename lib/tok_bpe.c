/*
 * tok_bpe.c - byte-level BPE: pre-tokenizer splits (PCRE2) and merges.
 *
 * Invariants:
 * - Patterns are compiled once (PCRE2_UTF | PCRE2_UCP, JIT) and only read;
 *   every match runs with the caller's match data and PCRE2_NO_UTF_CHECK,
 *   so the subject must be valid UTF-8: tok_bpe_text guarantees it by
 *   splitting invalid bytes out first, each one a piece of its own that
 *   becomes its byte token (bytes are bytes; llama.cpp would instead turn
 *   each invalid byte into U+FFFD and HF cannot take such input at all).
 * - "\s" / "\S" in a pattern are rewritten to the Unicode White_Space set
 *   (what HF's Oniguruma and llama.cpp use; PCRE2's own \s also takes
 *   U+180E).  "\p{L}" / "\p{N}" are widened to the Unicode version of the
 *   oracle (HF's Unicode 16.0; PCRE2 10.42 knows 14.0), see
 *   tok_uni.py.
 * - A word is merged as ids: each byte starts as the token of its GPT-2
 *   byte-level character; the lowest-ranked adjacent pair (leftmost on a
 *   tie) merges until no pair has a rank; this is the order of both HF and
 *   llama.cpp.  Short words use an array scan, long ones a binary heap.
 * - A byte whose character is not a token is dropped before merging (or
 *   is the unk token when tokenizer.json names one), as HF's BPE does.
 * - Long texts keep a per-call cache of short words (direct-mapped, keyed
 *   by the piece's bytes): a word always gives the same ids, so a hit only
 *   skips work.
 * - Virtual entries (id >= n_vocab, GGUF only) are never emitted: like
 *   llama.cpp, a final symbol that is not a token becomes the tokens of the
 *   single bytes of its stored string that exist, and nothing else.
 */
#include "tok_impl.h"
#include "err.h"
#include "tok_uni.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#define WS_SET "\\x{9}-\\x{D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
#define SMALL_WORD 64
#define WC_SLOTS 4096 /* word cache: direct-mapped */
#define WC_KEY 22
#define WC_IDS 6

/*
 * Compile pattern[0..len) for splitting (literal: match the text as is).
 * Returns the code (JIT-compiled when the platform allows) or NULL + q_error.
 */
pcre2_code *tok_regex(const char *pattern, size_t len, int literal)
{
	q_buf b = Q_BUF_INIT;
	int inclass = 0, rc = 0;
	if (literal) {
		rc = q_buf_add(&b, pattern, len);
	} else {
		for (size_t i = 0; i < len && rc == 0; i++) {
			char ch = pattern[i];
			if (ch == '\\' && i + 1 < len) {
				char e = pattern[i + 1];
				i++;
				if (e == 'p' && i + 3 < len && pattern[i + 1] == '{' &&
				    (pattern[i + 2] == 'L' || pattern[i + 2] == 'N') && pattern[i + 3] == '}') {
					const char *extra = pattern[i + 2] == 'L' ? TOK_UNI_L : TOK_UNI_N;
					rc = q_buf_adds(&b, inclass ? "" : "[");
					rc |= q_buf_add(&b, pattern + i - 1, 5);
					rc |= q_buf_adds(&b, extra);
					rc |= q_buf_adds(&b, inclass ? "" : "]");
					i += 3;
				} else if (e == 's')
					rc = q_buf_adds(&b, inclass ? WS_SET : "[" WS_SET "]");
				else if (e == 'S' && !inclass)
					rc = q_buf_adds(&b, "[^" WS_SET "]");
				else
					rc = q_buf_add(&b, pattern + i - 1, 2);
				continue;
			}
			if (ch == '[' && !inclass) {
				inclass = 1;
				rc = q_buf_addc(&b, ch);
				/* a ']' or '^]' right after '[' is literal */
				if (rc == 0 && i + 1 < len && pattern[i + 1] == '^') {
					rc = q_buf_addc(&b, '^');
					i++;
				}
				if (rc == 0 && i + 1 < len && pattern[i + 1] == ']') {
					rc = q_buf_addc(&b, ']');
					i++;
				}
				continue;
			}
			if (ch == ']' && inclass)
				inclass = 0;
			rc = q_buf_addc(&b, ch);
		}
	}
	if (rc < 0) {
		q_buf_free(&b);
		return NULL;
	}
	int err;
	PCRE2_SIZE eoff;
	uint32_t opt = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)(b.p ? b.p : ""), b.len, opt, &err, &eoff, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		q_error("pre-tokenizer regex '%.*s': %s at offset %zu", (int)(len > 200 ? 200 : len),
			pattern, (const char *)msg, (size_t)eoff);
		q_buf_free(&b);
		return NULL;
	}
	q_buf_free(&b);
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if it fails */
	return re;
}

/* ---- scratch ------------------------------------------------------------ */

int tok_ctx_reserve(tok_ctx *c, size_t n)
{
	if (n + 1 <= c->cap)
		return 0;
	if (n > SIZE_MAX / 8 / sizeof(int32_t))
		return q_error("text too long");
	size_t cap = c->cap ? c->cap : 256;
	while (cap < n + 1)
		cap *= 2;
	int32_t **arrs[] = { &c->sym, &c->prev, &c->next, &c->rank, &c->mid };
	for (size_t k = 0; k < sizeof arrs / sizeof *arrs; k++) {
		int32_t *p = realloc(*arrs[k], cap * sizeof *p);
		if (!p)
			return q_error("out of memory");
		*arrs[k] = p;
	}
	c->cap = cap;
	return 0;
}

/* ---- merging ------------------------------------------------------------ */

/* Push token id (>= 0); a virtual entry becomes the tokens of its single
 * bytes, as llama.cpp does for a symbol that is not a token. */
static int emit(tok_ctx *c, int32_t id)
{
	const q_tok *t = c->t;
	if (id < t->n_vocab)
		return q_ids_push(c->out, id);
	const tok_ent *e = &t->ent[id];
	for (uint32_t i = 0; i < e->len; i++) {
		int32_t b = tok_find(t, t->pool + e->off + i, 1);
		if (b >= 0 && b < t->n_vocab && q_ids_push(c->out, b) < 0)
			return -1;
	}
	return 0;
}

static void pair_rank(const q_tok *t, int32_t a, int32_t b, int32_t *rank, int32_t *mid)
{
	const tok_merge *m = tok_merge_get(t, a, b);
	*rank = m ? m->rank : INT32_MAX;
	*mid = m ? m->id : -1;
}

/* Merge ids sym[0..n) in place by scanning (n small); returns the new count. */
static size_t merge_small(tok_ctx *c, size_t n)
{
	const q_tok *t = c->t;
	int32_t *s = c->sym, *r = c->rank, *m = c->mid;
	if (n == 0)
		return 0;
	for (size_t i = 0; i + 1 < n; i++)
		pair_rank(t, s[i], s[i + 1], &r[i], &m[i]);
	while (n > 1) {
		size_t best = 0;
		for (size_t i = 1; i + 1 < n; i++)
			if (r[i] < r[best])
				best = i;
		if (r[best] == INT32_MAX)
			break;
		s[best] = m[best];
		memmove(s + best + 1, s + best + 2, (n - best - 2) * sizeof *s);
		if (best + 2 < n - 1) {
			memmove(r + best + 1, r + best + 2, (n - best - 3) * sizeof *r);
			memmove(m + best + 1, m + best + 2, (n - best - 3) * sizeof *m);
		}
		n--;
		if (best > 0)
			pair_rank(t, s[best - 1], s[best], &r[best - 1], &m[best - 1]);
		if (best + 1 < n)
			pair_rank(t, s[best], s[best + 1], &r[best], &m[best]);
	}
	return n;
}

typedef struct hent {
	int32_t rank, pos, a, b;
} hent;

_Static_assert(sizeof(hent) <= TOK_HEAP_MAX_ENTRY, "heap entry");

static int hless(const void *xv, const void *yv)
{
	const hent *x = xv, *y = yv;
	return x->rank < y->rank || (x->rank == y->rank && x->pos < y->pos);
}

static int push_pair(tok_ctx *c, size_t *hn, int32_t l, int32_t r)
{
	if (l < 0 || r < 0)
		return 0;
	const tok_merge *m = tok_merge_get(c->t, c->sym[l], c->sym[r]);
	if (!m)
		return 0;
	hent e = { m->rank, l, c->sym[l], c->sym[r] };
	return tok_heap_push(c, hn, &e, sizeof e, hless);
}

/* Merge ids sym[0..n) with a heap over a linked list (long words); compacts
 * the survivors to sym[0..k) and returns k, or -1. */
static long merge_heap(tok_ctx *c, size_t n)
{
	int32_t *s = c->sym, *pv = c->prev, *nx = c->next;
	size_t hn = 0;
	for (size_t i = 0; i < n; i++) {
		pv[i] = (int32_t)i - 1;
		nx[i] = i + 1 < n ? (int32_t)i + 1 : -1;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (push_pair(c, &hn, (int32_t)i, (int32_t)i + 1) < 0)
			return -1;
	while (hn) {
		hent e;
		tok_heap_pop(c, &hn, &e, sizeof e, hless);
		int32_t l = e.pos, r = nx[l];
		if (s[l] != e.a || r < 0 || s[r] != e.b)
			continue; /* stale */
		const tok_merge *m = tok_merge_get(c->t, e.a, e.b);
		s[l] = m->id;
		s[r] = -2; /* dead */
		nx[l] = nx[r];
		if (nx[r] >= 0)
			pv[nx[r]] = l;
		if (push_pair(c, &hn, pv[l], l) < 0 || push_pair(c, &hn, l, nx[l]) < 0)
			return -1;
	}
	size_t k = 0;
	for (int32_t i = 0; i >= 0; i = nx[i])
		s[k++] = s[i];
	return (long)k;
}

/*
 * One pre-tokenized piece s[0..n) (any bytes) -> ids appended to c->out.
 * With ignore_merges (Llama 3) a piece that is itself a token is taken
 * whole, as HF and llama.cpp do.
 */
int tok_bpe_word(tok_ctx *c, const char *s, size_t n)
{
	const q_tok *t = c->t;
	const unsigned char *u = (const unsigned char *)s;
	if (n == 0)
		return 0;
	if (n == 1 && t->byte_id[u[0]] >= 0)
		return emit(c, t->byte_id[u[0]]);
	if (t->ignore_merges && n > 1) {
		int32_t id = tok_find_raw(t, s, n);
		if (id >= 0)
			return q_ids_push(c->out, id);
	}
	if (tok_ctx_reserve(c, n) < 0)
		return -1;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		int32_t id = t->byte_id[u[i]];
		if (id < 0) {
			/* as HF: a character with no token is the unknown token (fused
			 * with a previous one when fuse_unk) or, without one, dropped
			 * before merging */
			if (t->bpe_unk < 0 || (t->fuse_unk && m && c->sym[m - 1] == t->bpe_unk))
				continue;
			id = t->bpe_unk;
		}
		c->sym[m++] = id;
	}
	long k = m <= SMALL_WORD ? (long)merge_small(c, m) : merge_heap(c, m);
	if (k < 0)
		return -1;
	for (long i = 0; i < k; i++)
		if (emit(c, c->sym[i]) < 0)
			return -1;
	return 0;
}

/* ---- word cache --------------------------------------------------------- */

typedef struct wc_ent {
	uint64_t h;
	uint8_t klen, nids; /* klen 0: empty */
	char key[WC_KEY];
	int32_t ids[WC_IDS];
} wc_ent;

int tok_ctx_cache(tok_ctx *c)
{
	if (!c->wcache && !(c->wcache = calloc(WC_SLOTS, sizeof(wc_ent))))
		return q_error("out of memory");
	return 0;
}

/* tok_bpe_word through the cache (when enabled) for pieces of 2..WC_KEY bytes. */
static int word(tok_ctx *c, const char *s, size_t n)
{
	if (!c->wcache || n < 2 || n > WC_KEY)
		return tok_bpe_word(c, s, n);
	uint64_t h = tok_hash(s, n);
	wc_ent *e = &((wc_ent *)c->wcache)[h & (WC_SLOTS - 1)];
	if (e->h == h && e->klen == n && !memcmp(e->key, s, n)) {
		for (int i = 0; i < e->nids; i++)
			if (q_ids_push(c->out, e->ids[i]) < 0)
				return -1;
		return 0;
	}
	size_t before = c->out->n;
	if (tok_bpe_word(c, s, n) < 0)
		return -1;
	size_t k = c->out->n - before;
	if (k <= WC_IDS) {
		e->h = h;
		e->klen = (uint8_t)n;
		e->nids = (uint8_t)k;
		memcpy(e->key, s, n);
		memcpy(e->ids, c->out->v + before, k * sizeof *e->ids);
	}
	return 0;
}

/* ---- pre-tokenizer ------------------------------------------------------ */

/* Next match of re in s[0..n) at or after pos: 1 with [*ms, *me), 0 none.
 * A JIT stack overflow is retried once with a large stack; any other
 * matching error (limits) counts as no match, so the rest stays one piece. */
static int next_match(tok_ctx *c, const pcre2_code *re, const char *s, size_t n, size_t pos,
		      size_t *ms, size_t *me)
{
	int rc = pcre2_match(re, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK, c->md, c->mctx);
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !c->mctx) {
		c->mctx = pcre2_match_context_create(NULL);
		c->jstack = pcre2_jit_stack_create(1 << 15, 64 << 20, NULL);
		if (!c->mctx || !c->jstack)
			return q_error("out of memory");
		pcre2_jit_stack_assign(c->mctx, NULL, c->jstack);
		rc = pcre2_match(re, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK, c->md, c->mctx);
	}
	if (rc < 0)
		return 0;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
	*ms = ov[0];
	*me = ov[1];
	return 1;
}

static int pre_level(tok_ctx *c, int k, const char *s, size_t n);

typedef struct seg {
	size_t a, b;
	int delim;
} seg;

/* Apply a non-isolated split behaviour (HF SplitDelimiterBehavior) to the
 * segments of one piece and pass the results on to level k + 1. */
static int split_general(tok_ctx *c, int k, const char *s, seg *v, size_t n)
{
	const tok_pre *p = &c->t->pre[k];
	size_t m = 0;
	int prev = 0;
	switch (p->behavior) {
	case SPLIT_REMOVED:
		for (size_t i = 0; i < n; i++)
			if (!v[i].delim)
				v[m++] = v[i];
		break;
	case SPLIT_CONTIGUOUS:
		for (size_t i = 0; i < n; i++) {
			if (m && v[i].delim == prev)
				v[m - 1].b = v[i].b;
			else
				v[m++] = v[i];
			prev = v[i].delim;
		}
		break;
	case SPLIT_MERGED_PREV:
		for (size_t i = 0; i < n; i++) {
			if (m && v[i].delim && !prev)
				v[m - 1].b = v[i].b;
			else
				v[m++] = v[i];
			prev = v[i].delim;
		}
		break;
	case SPLIT_MERGED_NEXT: {
		size_t top = n; /* fold from the right, results in v[top..n) */
		for (size_t i = n; i-- > 0;) {
			if (top < n && v[i].delim && !prev) {
				v[top].a = v[i].a;
			} else {
				v[--top] = v[i];
			}
			prev = v[i].delim;
		}
		memmove(v, v + top, (n - top) * sizeof *v);
		m = n - top;
		break;
	}
	default:
		m = n;
	}
	for (size_t i = 0; i < m; i++)
		if (pre_level(c, k + 1, s + v[i].a, v[i].b - v[i].a) < 0)
			return -1;
	return 0;
}

/* Run pre-tokenizer step k on the piece s[0..n) (valid UTF-8), then the
 * later steps on each resulting piece, then the merges. */
static int pre_level(tok_ctx *c, int k, const char *s, size_t n)
{
	const q_tok *t = c->t;
	if (n == 0)
		return 0;
	if (k == t->n_pre)
		return word(c, s, n);
	const tok_pre *p = &t->pre[k];
	if (p->prefix_space && s[0] != ' ') {
		q_buf *b = &c->pfx[k];
		q_buf_reset(b);
		if (q_buf_addc(b, ' ') < 0 || q_buf_add(b, s, n) < 0)
			return -1;
		s = b->p;
		n = b->len;
	}
	if (!p->re)
		return pre_level(c, k + 1, s, n);
	size_t start = 0, pos = 0, ms, me;
	if (p->behavior == SPLIT_ISOLATED) {
		int r;
		while (pos < n && (r = next_match(c, p->re, s, n, pos, &ms, &me)) != 0) {
			if (r < 0)
				return -1;
			if (me == ms) {
				size_t l = q_utf8_seq((const unsigned char *)s + ms, n - ms, NULL);
				pos = ms + (l ? l : 1);
				continue;
			}
			/* with invert the matches are the pieces and the gaps too:
			 * Isolated keeps both either way */
			if (ms > start && pre_level(c, k + 1, s + start, ms - start) < 0)
				return -1;
			if (pre_level(c, k + 1, s + ms, me - ms) < 0)
				return -1;
			start = pos = me;
		}
		return start < n ? pre_level(c, k + 1, s + start, n - start) : 0;
	}
	seg *v = NULL;
	size_t nv = 0, cap = 0;
	int r, rc = -1;
	while (pos < n && (r = next_match(c, p->re, s, n, pos, &ms, &me)) != 0) {
		if (r < 0)
			goto out;
		if (me == ms) {
			size_t l = q_utf8_seq((const unsigned char *)s + ms, n - ms, NULL);
			pos = ms + (l ? l : 1);
			continue;
		}
		if (nv + 2 > cap) {
			cap = cap ? cap * 2 : 32;
			seg *nvv = realloc(v, cap * sizeof *v);
			if (!nvv) {
				q_error("out of memory");
				goto out;
			}
			v = nvv;
		}
		if (ms > start)
			v[nv++] = (seg){ start, ms, p->invert };
		v[nv++] = (seg){ ms, me, !p->invert };
		start = pos = me;
	}
	if (start < n) {
		seg *nvv = realloc(v, (nv + 1) * sizeof *v);
		if (!nvv) {
			q_error("out of memory");
			goto out;
		}
		v = nvv;
		v[nv++] = (seg){ start, n, p->invert };
	}
	rc = split_general(c, k, s, v, nv);
out:
	free(v);
	return rc;
}

/*
 * Text s[0..n) (any bytes) through the pre-tokenizer and the merges.  Valid
 * UTF-8 runs are pre-tokenized; each invalid byte is a piece of its own.
 */
int tok_bpe_text(tok_ctx *c, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t ok = i + q_utf8_check(s + i, n - i);
		if (ok > i && pre_level(c, 0, s + i, ok - i) < 0)
			return -1;
		if (ok < n && tok_bpe_word(c, s + ok, 1) < 0)
			return -1;
		i = ok + 1;
	}
	return 0;
}
