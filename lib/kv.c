/*
 * kv.c - paged KV pool (see kv.h).
 *
 * Invariants:
 * - free[0..n_free) lists the free block ids, each exactly once; every other
 *   block is held by exactly one live sequence, at table[seq][0..n_held).
 * - Table entries at or past a sequence's n_held are -1; host_table is the
 *   truth and the backend copy is refreshed by q_kv_table when dirty.
 * - The region is allocated once; k[l] and v[l] are borrowed views of it.
 */
#include "kv.h"

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
	q_kv *kv = calloc(1, sizeof *kv);
	if (!kv)
		return q_error("out of memory"), NULL;
	kv->c = *c;
	kv->be = be;
	size_t nt = (size_t)c->max_seqs * (size_t)c->max_blocks;
	kv->k = calloc((size_t)c->n_layer, sizeof *kv->k);
	kv->v = calloc((size_t)c->n_layer, sizeof *kv->v);
	kv->host_table = malloc(nt * sizeof *kv->host_table);
	kv->free = malloc((size_t)c->n_blocks * sizeof *kv->free);
	kv->n_held = calloc((size_t)c->max_seqs, sizeof *kv->n_held);
	kv->live = calloc((size_t)c->max_seqs, 1);
	if (!kv->k || !kv->v || !kv->host_table || !kv->free || !kv->n_held || !kv->live) {
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

/* Push seq's blocks back on the free list (last taken first). */
void q_kv_seq_clear(q_kv *kv, int seq)
{
	if (seq < 0 || seq >= kv->c.max_seqs || !kv->live[seq])
		return;
	int32_t *row = kv->host_table + (size_t)seq * (size_t)kv->c.max_blocks;
	for (int32_t i = kv->n_held[seq]; i-- > 0;) {
		kv->free[kv->n_free++] = row[i];
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

/* Take blocks off the free list until seq covers n_pos positions. */
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
	if (need > kv->n_free) {
		q_error("kv pool: full (%lld blocks wanted, %lld free)", (long long)need, (long long)kv->n_free);
		return Q_KV_FULL;
	}
	int32_t *row = kv->host_table + (size_t)seq * (size_t)kv->c.max_blocks;
	while (need-- > 0)
		row[kv->n_held[seq]++] = kv->free[--kv->n_free];
	kv->dirty = 1;
	return 0;
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
	return kv->n_free;
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
