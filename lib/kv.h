/*
 * kv.h - the paged KV cache: one pool of fixed-size blocks shared by every
 * sequence, and each sequence's block table.
 *
 * Layout.  The pool is ONE backend memory region of 2 * n_layer * n_blocks *
 * block_size rows of width = n_kv_head * head_dim elements (F16 or F32):
 * layer l's K rows start at row (2l) * n_blocks * block_size, its V rows at
 * (2l + 1) * n_blocks * block_size.  Token position p of a sequence lives in
 * cache row table[p / block_size] * block_size + p % block_size of every
 * layer's K and V.  Everything is addressed by block ids and row offsets,
 * never by pointers, so the region can later be a shared-memory segment.
 *
 * Ownership.  Sequences are slots 0..max_seqs-1 (the row of the block
 * table the attention kernel reads).  Every block has a reference count:
 * the number of sequence tables holding it.  A block is in exactly one of
 * three states:
 *   free      refcount 0, not in the prefix index, on the free list;
 *   held      refcount >= 1: in that many sequences' tables;
 *   cached    refcount 0, in the prefix index, on the LRU list of
 *             evictable blocks (its K/V kept for a later prompt).
 * Taking a block pops the free list, and when that is empty evicts the
 * least recently released cached block (dropping it from the index), so
 * cached blocks count as free everywhere (q_kv_n_free, q_kv_seq_reserve).
 *
 * Prefix index.  A FULL block of prompt tokens whose K/V are written may
 * be published (q_kv_seq_publish): it is indexed by a keyed hash of all
 * tokens from position 0 to its end, chained as hash(parent block's key,
 * this block's tokens).  The entry also keeps the block's tokens and its
 * parent (block id and that block's generation, bumped each time a block
 * leaves the index), so a hit is verified exactly, token by token and link
 * by link back to position 0: a hash collision can cost a probe, never
 * give wrong K/V.  q_kv_seq_attach gives a new sequence the longest run of
 * indexed blocks its tokens start with (refcount++).  Indexed and shared
 * blocks are read-only: a sequence writes only rows of blocks it holds
 * alone and that are not indexed (only full blocks are ever shared, and a
 * sequence only writes past what it has computed).
 *
 * Nothing here allocates after q_kv_new: the index is an open-addressing
 * table sized for every block at once.  Blocks, tables, the index and the
 * LRU are all block ids and indices, never pointers (the pool region is
 * meant to move into shared memory; the index may stay in process memory).
 */
#ifndef Q_KV_H
#define Q_KV_H

#include <stdint.h>

#include "qk.h"

typedef struct q_kv q_kv;

typedef struct q_kv_config {
	int n_layer, n_kv_head, head_dim;
	int block_size;        /* token rows per block (e.g. 16) */
	int64_t n_blocks;      /* blocks in the pool */
	int max_seqs;          /* sequence slots (rows of the block table) */
	int max_blocks;        /* blocks one sequence may hold (its context / block_size) */
	qk_type type;          /* QK_F16 (llama.cpp's default) or QK_F32 */
} q_kv_config;

/* What q_kv_seq_reserve returns when the pool has too few free blocks (a
 * q_error is recorded too): the scheduler can wait or preempt. */
#define Q_KV_FULL (-2)

/* Allocate the pool on be (zeroed) and the block table.  NULL + q_error. */
q_kv *q_kv_new(qk_backend *be, const q_kv_config *c);
void q_kv_free(q_kv *kv);

/* A free sequence slot, now owning no blocks; -1 + q_error when all
 * max_seqs slots are in use. */
int q_kv_seq_new(q_kv *kv);
/* Give seq's blocks back and free the slot. */
void q_kv_seq_free(q_kv *kv, int seq);
/* Drop seq's blocks but keep the slot (its length becomes 0).  Each block
 * loses a reference; one left with none becomes cached if it is indexed
 * (the sequence's last block first in eviction order), else free. */
void q_kv_seq_clear(q_kv *kv, int seq);
/* Make positions [0, n_pos) of seq addressable, taking free blocks (or
 * evicting cached ones).  0; Q_KV_FULL when the pool is short (nothing
 * taken); -1 + q_error when n_pos exceeds what one sequence may hold. */
int q_kv_seq_reserve(q_kv *kv, int seq, int64_t n_pos);
/* Positions seq can hold without taking more blocks. */
int64_t q_kv_seq_capacity(const q_kv *kv, int seq);
/* Blocks needed to grow seq to n_pos positions (0 when it already can). */
int64_t q_kv_seq_need(const q_kv *kv, int seq, int64_t n_pos);
/* The cache row of position pos of seq (reserved before). */
int32_t q_kv_slot(const q_kv *kv, int seq, int64_t pos);

/* Prefix cache.  Give seq, which must hold no block, the indexed blocks
 * that its first max_blocks full blocks of tokens (tok[0 .. max_blocks *
 * block_size)) match exactly, stopping at the first miss; each gains a
 * reference (a cached one leaves the LRU).  The number of blocks attached:
 * positions [0, that * block_size) of seq are then computed. */
int q_kv_seq_attach(q_kv *kv, int seq, const int32_t *tok, int max_blocks);
/* Publish block blk of seq (positions [blk * block_size, (blk + 1) *
 * block_size), whose K/V must be written) as holding the tokens tok[0 ..
 * block_size); its blocks before it must be indexed already.  When an
 * equal block is indexed already (same tokens, same parent), seq's table
 * takes that one instead and its own block goes back to the free list:
 * the K/V are the same, and the pool keeps one copy.  0, or -1 + q_error
 * when the blocks before blk are not indexed (nothing changed). */
int q_kv_seq_publish(q_kv *kv, int seq, int blk, const int32_t *tok);
/* Cached blocks evicted (taken for a table) since q_kv_new. */
int64_t q_kv_n_evicted(const q_kv *kv);

/* The configuration the pool was made with. */
const q_kv_config *q_kv_conf(const q_kv *kv);
/* Blocks a reservation may take: free ones plus cached ones. */
int64_t q_kv_n_free(const q_kv *kv);
int64_t q_kv_n_blocks(const q_kv *kv);
int q_kv_block_size(const q_kv *kv);
int q_kv_max_seqs(const q_kv *kv);
/* Positions one sequence may hold (max_blocks * block_size). */
int64_t q_kv_max_pos(const q_kv *kv);
/* Bytes of the pool region. */
size_t q_kv_bytes(const q_kv *kv);

/* Layer l's K and V caches: views [n_blocks * block_size][width] into the
 * region, as qk_kv_store / qk_attention want them. */
qk_tensor *q_kv_k(q_kv *kv, int layer);
qk_tensor *q_kv_v(q_kv *kv, int layer);
/* The block table (I32 [max_seqs][max_blocks]) after copying any change
 * made since the last call to the backend.  NULL + q_error. */
const qk_tensor *q_kv_table(q_kv *kv);

#endif
