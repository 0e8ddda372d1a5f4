/*
 * kv.c - paged KV pool and its prefix index (see kv.h).
 *
 * Invariants:
 * - Every block is free (on free[0..n_free), once, ref 0, not indexed),
 *   held (ref >= 1, in exactly ref live sequences' tables, at most once in
 *   each) or cached (ref 0, indexed, on the LRU list, once).  So
 *   n_free + n_lru + (blocks with ref > 0) == n_blocks.
 * - table[seq][0..n_held) are seq's blocks; entries at or past n_held are
 *   -1.  host_table is the truth and the backend copy is refreshed by
 *   q_kv_table when dirty.
 * - Index: slot[0..mask] (a power of two, at least twice n_blocks, so it
 *   never fills) holds block ids or -1, linear probing from hkey[b] & mask
 *   with no gap between a block's home slot and its slot (deletion shifts
 *   back).  An indexed block b holds the tokens tok[b] and links to its
 *   parent par[b] (-1 for position 0) as it was at generation pgen[b]; the
 *   link is live while gen[par[b]] == pgen[b] (a block's gen is bumped
 *   whenever it leaves the index), and a child whose parent left is never
 *   matched again (it ages out of the LRU like any cached block).
 * - LRU: lru_prev/lru_next link the cached blocks from lru_head (least
 *   recently released: evicted first) to lru_tail.
 * - The region is allocated once; k[l] and v[l] are borrowed views of it.
 */
#include "kv.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct q_kv {
	q_kv_config c;
	qk_backend *be;
	qk_tensor region;      /* [2 * n_layer * n_blocks * block_size][width] */
	qk_tensor *k, *v;      /* per layer views */
	qk_tensor table;       /* I32 [max_seqs][max_blocks] on the backend */
	int32_t *host_table;   /* [max_seqs * max_blocks] */
	int dirty;
	int32_t *free;         /* stack of free block ids */
	int64_t n_free;
	int32_t *n_held;       /* per sequence: blocks held */
	uint8_t *live;         /* per sequence: slot in use */
	/* per block */
	int32_t *ref;          /* tables holding it */
	uint32_t *gen;         /* bumped when it leaves the index */
	uint8_t *indexed;
	uint64_t *hkey;        /* indexed: hash of the tokens from position 0 to its end */
	int32_t *par;          /* indexed: the block before it (-1: it starts at 0) */
	uint32_t *pgen;        /* indexed: gen[par] when it was published */
	int32_t *tok;          /* indexed: its tokens, [n_blocks][block_size] */
	int32_t *lru_prev, *lru_next; /* cached blocks, -1 ends */
	int32_t lru_head, lru_tail;
	int64_t n_lru, n_evicted;
	/* the index */
	int32_t *slot;         /* [mask + 1] */
	uint64_t mask;
	unsigned char hash_key[crypto_shorthash_KEYBYTES]; /* random per pool (a pool shared
				  between processes must keep it in its header) */
	unsigned char *hbuf;   /* 8 + 4 * block_size bytes: what one block hashes */
};

/* Validate c and allocate everything; the region is zeroed by the backend. */
q_kv *q_kv_new(qk_backend *be, const q_kv_config *c)
{
	if (c->n_layer <= 0 || c->n_kv_head <= 0 || c->head_dim <= 0 || c->block_size <= 0 ||
	    c->n_blocks <= 0 || c->max_seqs <= 0 || c->max_blocks <= 0)
		return q_error("kv pool: invalid configuration"), NULL;
	if (c->type != QK_F16 && c->type != QK_F32)
		return q_error("kv pool: cache type %s (want f16 or f32)", qk_type_name(c->type)), NULL;
	if (c->n_blocks > INT32_MAX / c->block_size || (int64_t)c->max_seqs * c->max_blocks > INT32_MAX)
		return q_error("kv pool: %lld blocks of %d is too many", (long long)c->n_blocks, c->block_size), NULL;
	int64_t width = (int64_t)c->n_kv_head * c->head_dim;
	int64_t rows_layer = c->n_blocks * c->block_size;
	size_t elt = c->type == QK_F16 ? 2 : 4;
	if ((uint64_t)rows_layer * 2 * (uint64_t)c->n_layer > ((uint64_t)1 << 40) / (uint64_t)(width * elt))
		return q_error("kv pool: %lld blocks of %d tokens do not fit in memory", (long long)c->n_blocks,
			       c->block_size), NULL;
	if (sodium_init() < 0)
		return q_error("kv pool: cannot initialize libsodium"), NULL;
	q_kv *kv = calloc(1, sizeof *kv);
	if (!kv)
		return q_error("out of memory"), NULL;
	kv->c = *c;
	kv->be = be;
	size_t nt = (size_t)c->max_seqs * (size_t)c->max_blocks, nb = (size_t)c->n_blocks;
	uint64_t n_slot = 2;
	while (n_slot < 2 * (uint64_t)nb)
		n_slot *= 2;
	kv->mask = n_slot - 1;
	kv->k = calloc((size_t)c->n_layer, sizeof *kv->k);
	kv->v = calloc((size_t)c->n_layer, sizeof *kv->v);
	kv->host_table = malloc(nt * sizeof *kv->host_table);
	kv->free = malloc(nb * sizeof *kv->free);
	kv->n_held = calloc((size_t)c->max_seqs, sizeof *kv->n_held);
	kv->live = calloc((size_t)c->max_seqs, 1);
	kv->ref = calloc(nb, sizeof *kv->ref);
	kv->gen = calloc(nb, sizeof *kv->gen);
	kv->indexed = calloc(nb, 1);
	kv->hkey = calloc(nb, sizeof *kv->hkey);
	kv->par = malloc(nb * sizeof *kv->par);
	kv->pgen = calloc(nb, sizeof *kv->pgen);
	kv->tok = malloc(nb * (size_t)c->block_size * sizeof *kv->tok);
	kv->lru_prev = malloc(nb * sizeof *kv->lru_prev);
	kv->lru_next = malloc(nb * sizeof *kv->lru_next);
	kv->slot = malloc((size_t)n_slot * sizeof *kv->slot);
	kv->hbuf = malloc(8 + 4 * (size_t)c->block_size);
	if (!kv->k || !kv->v || !kv->host_table || !kv->free || !kv->n_held || !kv->live || !kv->ref ||
	    !kv->gen || !kv->indexed || !kv->hkey || !kv->par || !kv->pgen || !kv->tok || !kv->lru_prev ||
	    !kv->lru_next || !kv->slot || !kv->hbuf) {
		q_kv_free(kv);
		return q_error("out of memory"), NULL;
	}
	if (qk_tensor_alloc(be, &kv->region, c->type, rows_layer * 2 * c->n_layer, width) < 0 ||
	    qk_tensor_alloc(be, &kv->table, QK_I32, c->max_seqs, c->max_blocks) < 0) {
		q_error("kv pool: %s", qk_errmsg());
		q_kv_free(kv);
		return NULL;
	}
	for (int l = 0; l < c->n_layer; l++) {
		kv->k[l] = qk_tensor_rows(&kv->region, (int64_t)2 * l * rows_layer, rows_layer);
		kv->v[l] = qk_tensor_rows(&kv->region, (int64_t)(2 * l + 1) * rows_layer, rows_layer);
	}
	for (size_t i = 0; i < nt; i++)
		kv->host_table[i] = -1;
	/* pop order 0, 1, 2, ...: the stack holds the ids in reverse */
	for (int64_t b = 0; b < c->n_blocks; b++)
		kv->free[b] = (int32_t)(c->n_blocks - 1 - b);
	kv->n_free = c->n_blocks;
	for (uint64_t i = 0; i < n_slot; i++)
		kv->slot[i] = -1;
	kv->lru_head = kv->lru_tail = -1;
	/* keyed, so that prompts cannot be chosen to pile up in one probe run */
	crypto_shorthash_keygen(kv->hash_key);
	kv->dirty = 1;
	return kv;
}

void q_kv_free(q_kv *kv)
{
	if (!kv)
		return;
	qk_tensor_free(kv->be, &kv->region);
	qk_tensor_free(kv->be, &kv->table);
	free(kv->k);
	free(kv->v);
	free(kv->host_table);
	free(kv->free);
	free(kv->n_held);
	free(kv->live);
	free(kv->ref);
	free(kv->gen);
	free(kv->indexed);
	free(kv->hkey);
	free(kv->par);
	free(kv->pgen);
	free(kv->tok);
	free(kv->lru_prev);
	free(kv->lru_next);
	free(kv->slot);
	free(kv->hbuf);
	free(kv);
}

int q_kv_seq_new(q_kv *kv)
{
	for (int s = 0; s < kv->c.max_seqs; s++)
		if (!kv->live[s]) {
			kv->live[s] = 1;
			kv->n_held[s] = 0;
			return s;
		}
	return q_error("kv pool: all %d sequence slots are in use", kv->c.max_seqs);
}

/* ------------------------------------------------------------ LRU, index */

static void lru_unlink(q_kv *kv, int32_t b)
{
	int32_t p = kv->lru_prev[b], n = kv->lru_next[b];
	if (p >= 0)
		kv->lru_next[p] = n;
	else
		kv->lru_head = n;
	if (n >= 0)
		kv->lru_prev[n] = p;
	else
		kv->lru_tail = p;
	kv->n_lru--;
}

/* Append b as the most recently released cached block. */
static void lru_push(q_kv *kv, int32_t b)
{
	kv->lru_prev[b] = kv->lru_tail;
	kv->lru_next[b] = -1;
	if (kv->lru_tail >= 0)
		kv->lru_next[kv->lru_tail] = b;
	else
		kv->lru_head = b;
	kv->lru_tail = b;
	kv->n_lru++;
}

/* The key of a block holding tok[0..block_size) after the prefix whose key
 * is parent_key (0 for position 0). */
static uint64_t block_hash(q_kv *kv, uint64_t parent_key, const int32_t *tok)
{
	size_t n = 4 * (size_t)kv->c.block_size;
	unsigned char out[crypto_shorthash_BYTES];
	memcpy(kv->hbuf, &parent_key, 8);
	memcpy(kv->hbuf + 8, tok, n);
	crypto_shorthash(out, kv->hbuf, 8 + n, kv->hash_key);
	uint64_t h;
	memcpy(&h, out, 8);
	return h;
}

/* The indexed block with key h, parent block parent (as it is now) and
 * tokens tok, or -1. */
static int32_t index_find(const q_kv *kv, uint64_t h, int32_t parent, const int32_t *tok)
{
	size_t n = (size_t)kv->c.block_size * sizeof *tok;
	for (uint64_t i = h & kv->mask;; i = (i + 1) & kv->mask) {
		int32_t b = kv->slot[i];
		if (b < 0)
			return -1;
		if (kv->hkey[b] == h && kv->par[b] == parent && (parent < 0 || kv->pgen[b] == kv->gen[parent]) &&
		    !memcmp(kv->tok + (size_t)b * (size_t)kv->c.block_size, tok, n))
			return b;
	}
}

static void index_insert(q_kv *kv, int32_t b)
{
	uint64_t i = kv->hkey[b] & kv->mask;
	while (kv->slot[i] >= 0)
		i = (i + 1) & kv->mask;
	kv->slot[i] = b;
	kv->indexed[b] = 1;
}

/* Take b out of the index (backward-shift deletion: later entries of its
 * probe run move up so that no run has a gap) and end its generation, so
 * that links to it from its children die. */
static void index_remove(q_kv *kv, int32_t b)
{
	uint64_t i = kv->hkey[b] & kv->mask;
	while (kv->slot[i] != b)
		i = (i + 1) & kv->mask;
	for (uint64_t j = i;;) {
		j = (j + 1) & kv->mask;
		int32_t o = kv->slot[j];
		if (o < 0)
			break;
		uint64_t home = kv->hkey[o] & kv->mask;
		/* o may move to i unless its home lies cyclically in (i, j] */
		if (((j - home) & kv->mask) >= ((j - i) & kv->mask)) {
			kv->slot[i] = o;
			i = j;
		}
	}
	kv->slot[i] = -1;
	kv->indexed[b] = 0;
	kv->gen[b]++;
}

/* A block for a table: a free one, else the least recently released cached
 * one, evicted.  The caller checked that one exists. */
static int32_t take_block(q_kv *kv)
{
	int32_t b;
	if (kv->n_free > 0) {
		b = kv->free[--kv->n_free];
	} else {
		b = kv->lru_head;
		lru_unlink(kv, b);
		index_remove(kv, b);
		kv->n_evicted++;
	}
	kv->ref[b] = 1;
	return b;
}

/* One more reference to the indexed block b (a cached one leaves the LRU). */
static void hold_block(q_kv *kv, int32_t b)
{
	if (kv->ref[b]++ == 0)
		lru_unlink(kv, b);
}

/* Drop one reference to b: with none left it becomes cached or free. */
static void put_block(q_kv *kv, int32_t b)
{
	if (--kv->ref[b] > 0)
		return;
	if (kv->indexed[b])
		lru_push(kv, b);
	else
		kv->free[kv->n_free++] = b;
}

/* ------------------------------------------------------------- sequences */

/* Release seq's blocks, last first: the free list pops them back in table
 * order, and the LRU evicts a prefix's tail before its head. */
void q_kv_seq_clear(q_kv *kv, int seq)
{
	if (seq < 0 || seq >= kv->c.max_seqs || !kv->live[seq])
		return;
	int32_t *row = kv->host_table + (size_t)seq * (size_t)kv->c.max_blocks;
	for (int32_t i = kv->n_held[seq]; i-- > 0;) {
		put_block(kv, row[i]);
		row[i] = -1;
	}
	kv->n_held[seq] = 0;
	kv->dirty = 1;
}

void q_kv_seq_free(q_kv *kv, int seq)
{
	if (seq < 0 || seq >= kv->c.max_seqs || !kv->live[seq])
		return;
	q_kv_seq_clear(kv, seq);
	kv->live[seq] = 0;
}

int64_t q_kv_seq_need(const q_kv *kv, int seq, int64_t n_pos)
{
	int64_t want = (n_pos + kv->c.block_size - 1) / kv->c.block_size;
	return want > kv->n_held[seq] ? want - kv->n_held[seq] : 0;
}

/* Take free (or evict cached) blocks until seq covers n_pos positions. */
int q_kv_seq_reserve(q_kv *kv, int seq, int64_t n_pos)
{
	if (seq < 0 || seq >= kv->c.max_seqs || !kv->live[seq])
		return q_error("kv pool: sequence %d is not live", seq);
	if (n_pos > q_kv_max_pos(kv))
		return q_error("kv pool: %lld positions exceed the context of %lld", (long long)n_pos,
			       (long long)q_kv_max_pos(kv));
	int64_t need = q_kv_seq_need(kv, seq, n_pos);
	if (need == 0)
		return 0;
	if (need > q_kv_n_free(kv)) {
		q_error("kv pool: full (%lld blocks wanted, %lld free)", (long long)need, (long long)q_kv_n_free(kv));
		return Q_KV_FULL;
	}
	int32_t *row = kv->host_table + (size_t)seq * (size_t)kv->c.max_blocks;
	while (need-- > 0)
		row[kv->n_held[seq]++] = take_block(kv);
	kv->dirty = 1;
	return 0;
}

/* Walk the index along tok, block by block from position 0. */
int q_kv_seq_attach(q_kv *kv, int seq, const int32_t *tok, int max_blocks)
{
	if (seq < 0 || seq >= kv->c.max_seqs || !kv->live[seq] || kv->n_held[seq] != 0)
		return 0;
	if (max_blocks > kv->c.max_blocks)
		max_blocks = kv->c.max_blocks;
	int32_t *row = kv->host_table + (size_t)seq * (size_t)kv->c.max_blocks, parent = -1;
	uint64_t key = 0;
	int n = 0;
	for (; n < max_blocks; n++) {
		const int32_t *t = tok + (size_t)n * (size_t)kv->c.block_size;
		uint64_t h = block_hash(kv, key, t);
		int32_t b = index_find(kv, h, parent, t);
		if (b < 0)
			break;
		hold_block(kv, b);
		row[n] = b;
		parent = b;
		key = h;
	}
	if (n) {
		kv->n_held[seq] = n;
		kv->dirty = 1;
	}
	return n;
}

int q_kv_seq_publish(q_kv *kv, int seq, int blk, const int32_t *tok)
{
	if (seq < 0 || seq >= kv->c.max_seqs || !kv->live[seq] || blk < 0 || blk >= kv->n_held[seq])
		return q_error("kv pool: sequence %d holds no block %d", seq, blk);
	int32_t *row = kv->host_table + (size_t)seq * (size_t)kv->c.max_blocks, b = row[blk];
	int32_t parent = blk > 0 ? row[blk - 1] : -1;
	if (parent >= 0 && !kv->indexed[parent])
		return q_error("kv pool: block %d of sequence %d follows one that is not published", blk, seq);
	if (kv->indexed[b])
		return 0;
	uint64_t h = block_hash(kv, parent >= 0 ? kv->hkey[parent] : 0, tok);
	int32_t same = index_find(kv, h, parent, tok);
	if (same >= 0) {
		hold_block(kv, same);
		row[blk] = same;
		put_block(kv, b);
		kv->dirty = 1;
		return 0;
	}
	kv->hkey[b] = h;
	kv->par[b] = parent;
	kv->pgen[b] = parent >= 0 ? kv->gen[parent] : 0;
	memcpy(kv->tok + (size_t)b * (size_t)kv->c.block_size, tok, (size_t)kv->c.block_size * sizeof *tok);
	index_insert(kv, b);
	return 0;
}

int64_t q_kv_n_evicted(const q_kv *kv)
{
	return kv->n_evicted;
}

int64_t q_kv_seq_capacity(const q_kv *kv, int seq)
{
	return (int64_t)kv->n_held[seq] * kv->c.block_size;
}

int32_t q_kv_slot(const q_kv *kv, int seq, int64_t pos)
{
	const int32_t *row = kv->host_table + (size_t)seq * (size_t)kv->c.max_blocks;
	return row[pos / kv->c.block_size] * kv->c.block_size + (int32_t)(pos % kv->c.block_size);
}

const q_kv_config *q_kv_conf(const q_kv *kv)
{
	return &kv->c;
}

int64_t q_kv_n_free(const q_kv *kv)
{
	return kv->n_free + kv->n_lru;
}

int64_t q_kv_n_blocks(const q_kv *kv)
{
	return kv->c.n_blocks;
}

int q_kv_block_size(const q_kv *kv)
{
	return kv->c.block_size;
}

int q_kv_max_seqs(const q_kv *kv)
{
	return kv->c.max_seqs;
}

int64_t q_kv_max_pos(const q_kv *kv)
{
	return (int64_t)kv->c.max_blocks * kv->c.block_size;
}

size_t q_kv_bytes(const q_kv *kv)
{
	return (size_t)kv->region.rows * kv->region.stride;
}

qk_tensor *q_kv_k(q_kv *kv, int layer)
{
	return &kv->k[layer];
}

qk_tensor *q_kv_v(q_kv *kv, int layer)
{
	return &kv->v[layer];
}

const qk_tensor *q_kv_table(q_kv *kv)
{
	if (kv->dirty) {
		size_t n = (size_t)kv->c.max_seqs * (size_t)kv->c.max_blocks * sizeof(int32_t);
		if (qk_tensor_set(kv->be, &kv->table, kv->host_table, n) < 0)
			return q_error("kv pool: %s", qk_errmsg()), NULL;
		kv->dirty = 0;
	}
	return &kv->table;
}
