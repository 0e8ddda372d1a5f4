/*
 * cpu.c - the CPU backend: host tensors, and each op split across the
 * thread pool by output rows (matmul) or token rows (everything else),
 * running the kernels of the ISA picked at qk_cpu_new.
 *
 * Invariants:
 * - Tensors the backend allocates are 64-byte aligned host memory it owns;
 *   loaded (borrowed) tensors point at the caller's bytes and are never
 *   written or freed.  Weights of a type the ISA multiplies in the r16
 *   layout (isa->r16) with a multiple of 16 rows are always stored packed
 *   (QK_PACKED), whether allocated or loaded; tensor_set/get convert,
 *   matmul and embed read either layout.
 * - The scratch buffer holds the quantized activations of the matmul in
 *   flight only; it grows and is never shrunk.  One thread drives the
 *   backend at a time (the pool's workers only run inside an op).
 * - Each op hands the pool chunks of rows (matmul), tokens (row ops) or
 *   (token, head) pairs (attention); every output element is computed by
 *   exactly one thread with the same instruction sequence, whatever the
 *   thread count or schedule (t4002 checks 1, 2 and 3 threads give
 *   identical bytes).
 */
#include "cpu.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ROT 4096

typedef struct cpu {
	int isa_id;
	const qk_isa *isa;
	qk_pool *pool;
	uint8_t *scratch;      /* quantized matmul activations */
	size_t scratch_cap;
	uint8_t *scratch2;     /* attention: per-thread rows and scores */
	size_t scratch2_cap;
} cpu;

static const qk_backend_ops cpu_ops;

static void cpu_free(void *ctx)
{
	cpu *c = ctx;
	if (!c)
		return;
	qk_pool_free(c->pool);
	free(c->scratch);
	free(c->scratch2);
	free(c);
}

/* Round n up to a multiple of 64 (aligned_alloc wants it). */
static size_t up64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/* Whether t is kept in the ISA's r16 layout. */
static int packs(const cpu *c, const qk_tensor *t)
{
	return c->isa->r16[t->type] && t->rows % 16 == 0;
}

/* Tensors the ISA multiplies in its r16 layout are stored packed (all
 * zeros is a valid packed tensor). */
static int cpu_tensor_alloc(void *ctx, qk_tensor *t)
{
	cpu *c = ctx;
	size_t n = up64((size_t)t->rows * t->stride);
	t->data = aligned_alloc(64, n);
	if (!t->data)
		return qk_seterr("out of memory allocating %zu bytes", n);
	memset(t->data, 0, n);
	t->flags = packs(c, t) ? QK_PACKED : 0;
	return 0;
}

static int cpu_tensor_set(void *ctx, qk_tensor *t, const void *host);

/* Borrow the caller's bytes, or for a type the ISA packs, keep a packed
 * copy (the one place weights are copied on the CPU). */
static int cpu_tensor_load(void *ctx, qk_tensor *t, const void *host)
{
	cpu *c = ctx;
	if (!packs(c, t)) {
		t->data = (void *)host;
		t->flags = QK_BORROWED;
		return 0;
	}
	if (cpu_tensor_alloc(ctx, t) < 0)
		return -1;
	return cpu_tensor_set(ctx, t, host);
}

static void cpu_tensor_free(void *ctx, qk_tensor *t)
{
	(void)ctx;
	if (!(t->flags & QK_BORROWED))
		free(t->data);
}

static int cpu_tensor_set(void *ctx, qk_tensor *t, const void *host)
{
	(void)ctx;
	size_t rb = qk_row_bytes(t->type, t->cols);
	const uint8_t *src = host;
	uint8_t *dst = t->data;
	if (t->flags & QK_PACKED) {
		for (int64_t r = 0; r < t->rows; r += 16)
			qk_repack_r16(t->type, src + (size_t)r * rb, rb, dst + (size_t)r * t->stride, t->cols);
		return 0;
	}
	for (int64_t r = 0; r < t->rows; r++)
		memcpy(dst + (size_t)r * t->stride, src + (size_t)r * rb, rb);
	return 0;
}

static int cpu_tensor_get(void *ctx, const qk_tensor *t, void *host)
{
	(void)ctx;
	size_t rb = qk_row_bytes(t->type, t->cols);
	for (int64_t r = 0; r < t->rows; r++) {
		uint8_t *dst = (uint8_t *)host + (size_t)r * rb;
		const uint8_t *src = (const uint8_t *)t->data + (size_t)r * t->stride;
		if (t->flags & QK_PACKED)
			qk_unpack_r16(t->type, src - (size_t)(r % 16) * t->stride, (int)(r % 16), dst, t->cols);
		else
			memcpy(dst, src, rb);
	}
	return 0;
}

/* Make *buf (capacity *cap) at least n bytes; the old contents go. */
static int grow(uint8_t **buf, size_t *cap, size_t n)
{
	if (n <= *cap)
		return 0;
	n = up64(n);
	uint8_t *p = aligned_alloc(64, n);
	if (!p)
		return qk_seterr("out of memory allocating %zu bytes", n);
	free(*buf);
	*buf = p;
	*cap = n;
	return 0;
}

static int scratch(cpu *c, size_t n)
{
	return grow(&c->scratch, &c->scratch_cap, n);
}

static int scratch2(cpu *c, size_t n)
{
	return grow(&c->scratch2, &c->scratch2_cap, n);
}

/* ----------------------------------------------------------------- matmul */

/* One matmul op: up to QK_MATMUL_MAX weights against the same input,
 * quantized once per activation kind; each weight's rows in chunks, the
 * chunks of all the weights one pool job. */
typedef struct mm_job {
	const qk_isa *isa;
	qk_gemm g[QK_MATMUL_MAX];
	qk_gemm_fn fn[QK_MATMUL_MAX];
	int64_t chunk[QK_MATMUL_MAX], first[QK_MATMUL_MAX + 1]; /* rows per chunk; first chunk of each */
	const qk_tensor *x;    /* for the quantize pass */
	const qk_act *xa;
} mm_job;

static void quant_job(void *arg, int ith, int64_t t0, int64_t t1)
{
	mm_job *j = arg;
	(void)ith;
	for (int64_t t = t0; t < t1; t++)
		j->isa->quant[j->xa->kind]((const float *)((const char *)j->x->data + (size_t)t * j->x->stride), j->xa,
					   (uint8_t *)j->xa->p + (size_t)t * j->xa->stride);
}

static void gemm_job(void *arg, int ith, int64_t i0, int64_t i1)
{
	mm_job *j = arg;
	(void)ith;
	for (int64_t i = i0; i < i1; i++) {
		int w = 0;
		while (i >= j->first[w + 1])
			w++;
		int64_t r0 = (i - j->first[w]) * j->chunk[w], r1 = r0 + j->chunk[w];
		j->fn[w](&j->g[w], r0, r1 < j->g[w].m ? r1 : j->g[w].m);
	}
}

/* Rows per chunk: at least 16, about 8 chunks per thread. */
static int64_t row_chunk(int64_t m, int nth)
{
	int64_t c = m / (8 * (int64_t)nth);
	return c < 16 ? 16 : (c + 15) / 16 * 16;
}

/* n weights of one activation kind. */
static int matmul_kind(cpu *c, qk_tensor *const *y, const qk_tensor *x, const qk_tensor *const *w, int n,
		       const qk_tensor *nb)
{
	mm_job j = {.isa = c->isa, .x = x};
	int kind = qk_act_kind(w[0]->type), nth = qk_pool_size(c->pool), packed_all = 1;
	qk_act xa;
	size_t need = qk_act_layout(&xa, kind, x->rows, x->cols);
	if (kind == QK_ACT_F32) {
		xa.p = x->data;
		xa.stride = x->stride;
	} else {
		if (scratch(c, need) < 0)
			return -1;
		xa.p = c->scratch;
		j.xa = &xa;
		qk_pool_run(c->pool, quant_job, &j, x->rows, 4);
	}
	for (int i = 0; i < n; i++) {
		int packed = (w[i]->flags & QK_PACKED) != 0;
		packed_all &= packed;
		j.fn[i] = packed ? c->isa->gemm_r16[w[i]->type] : c->isa->gemm[w[i]->type];
		if (!j.fn[i])
			return qk_seterr("matmul: no %s kernel for this tensor layout", qk_type_name(w[i]->type));
		j.g[i] = (qk_gemm){.w = w[i]->data, .w_stride = w[i]->stride, .k = w[i]->cols, .m = w[i]->rows,
				   .y = y[i]->data, .ldy = y[i]->stride / sizeof(float)};
		j.chunk[i] = row_chunk(w[i]->rows, nth);
		j.first[i + 1] = j.first[i] + (w[i]->rows + j.chunk[i] - 1) / j.chunk[i];
	}
	/* one pass over the rows per run of tokens with the same batch size;
	 * the r16 kernels' order does not depend on it: one pass for all */
	if (packed_all)
		nb = NULL;
	const int32_t *nbv = nb ? nb->data : NULL, *ibv = nb ? (const int32_t *)((const char *)nb->data + nb->stride) : NULL;
#define NB_(t) (nbv && nbv[t] > 1 ? nbv[t] : 1)
#define IN4_(t) (NB_(t) > 3 && ibv[t] < NB_(t) - NB_(t) % 4)
	for (int64_t t0 = 0, t1; t0 < x->rows; t0 = t1) {
		int v = NB_(t0), in4 = IN4_(t0);
		for (t1 = t0 + 1; t1 < x->rows && NB_(t1) == v && IN4_(t1) == in4; t1++)
			;
		for (int i = 0; i < n; i++) {
			j.g[i].nb = v;
			j.g[i].in4 = in4;
			j.g[i].x = xa;
			j.g[i].x.n = t1 - t0;
			j.g[i].x.p = xa.p + (size_t)t0 * xa.stride;
			j.g[i].y = (float *)y[i]->data + (size_t)t0 * j.g[i].ldy;
		}
		qk_pool_run(c->pool, gemm_job, &j, j.first[n], 1);
	}
#undef NB_
#undef IN4_
	return 0;
}

/* Runs of weights with the same activation kind share a quantized input. */
static int cpu_matmul(void *ctx, int n, qk_tensor *const *y, const qk_tensor *x, const qk_tensor *const *w,
		      const qk_tensor *nb)
{
	for (int i0 = 0, i1; i0 < n; i0 = i1) {
		for (i1 = i0 + 1; i1 < n && qk_act_kind(w[i1]->type) == qk_act_kind(w[i0]->type); i1++)
			;
		if (matmul_kind(ctx, y + i0, x, w + i0, i1 - i0, nb) < 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- row ops */

typedef struct row_job {
	const qk_isa *isa;
	int op;
	qk_tensor *y;
	const qk_tensor *a, *b, *c;
	float f;
	const qk_rope *rope;
	int32_t *out;          /* argmax: the results */
	const int32_t *slots;  /* kv store: the cache rows */
} row_job;

enum { OP_RMSNORM, OP_SILU_MUL, OP_SOFTMAX, OP_ADD, OP_ROPE, OP_EMBED, OP_ARGMAX, OP_KV_STORE };

#define FROW(t, r) ((float *)((char *)(t)->data + (size_t)(r) * (t)->stride))

static void row_job_run(void *arg, int ith, int64_t t0, int64_t t1)
{
	row_job *j = arg;
	const qk_isa *isa = j->isa;
	(void)ith;
	for (int64_t t = t0; t < t1; t++) {
		switch (j->op) {
		case OP_RMSNORM:
			isa->rmsnorm(FROW(j->y, t), FROW(j->a, t), j->b->data, j->a->cols, j->f);
			break;
		case OP_SILU_MUL:
			isa->silu_mul(FROW(j->y, t), FROW(j->a, t), FROW(j->b, t), j->a->cols);
			break;
		case OP_SOFTMAX:
			isa->softmax(FROW(j->y, t), FROW(j->a, t), j->a->cols, j->f);
			break;
		case OP_ADD:
			isa->add(FROW(j->y, t), FROW(j->a, t), FROW(j->b, t), j->a->cols);
			break;
		case OP_ROPE: {
			float cs[MAX_ROT / 2], sn[MAX_ROT / 2];
			const qk_rope *p = j->rope;
			qk_rope_cache(p, ((const int32_t *)j->b->data)[t], cs, sn);
			float *x = FROW(j->a, t);
			for (int h = 0; h < p->n_head; h++)
				isa->rope(x + (size_t)h * p->head_dim, cs, sn, p->n_rot, p->neox);
			break;
		}
		case OP_EMBED: {
			int32_t id = ((const int32_t *)j->b->data)[t];
			const uint8_t *row = (const uint8_t *)j->a->data + (size_t)id * j->a->stride;
			if (j->a->flags & QK_PACKED)
				qk_dequant_r16(j->a->type, row - (size_t)(id % 16) * j->a->stride, id % 16,
					       FROW(j->y, t), j->a->cols);
			else
				isa->dequant[j->a->type](row, FROW(j->y, t), j->a->cols);
			break;
		}
		case OP_ARGMAX:
			j->out[t] = (int32_t)isa->argmax(FROW(j->a, t), j->a->cols);
			break;
		case OP_KV_STORE: /* a: k, b: v, y: the K cache, c: the V cache */
			for (int kv = 0; kv < 2; kv++) {
				const float *src = FROW(kv ? j->b : j->a, t);
				const qk_tensor *c = kv ? j->c : j->y;
				uint8_t *dst = (uint8_t *)c->data + (size_t)j->slots[t] * c->stride;
				if (c->type == QK_F32)
					memcpy(dst, src, (size_t)j->a->cols * 4);
				else
					isa->to_f16((uint16_t *)dst, src, j->a->cols);
			}
			break;
		}
	}
}

/* One token row per chunk: a decode step (one row) runs on the caller. */
static int run_rows(cpu *c, row_job *j)
{
	j->isa = c->isa;
	int64_t n = j->op == OP_ROPE || j->op == OP_ARGMAX || j->op == OP_KV_STORE ? j->a->rows : j->y->rows;
	qk_pool_run(c->pool, row_job_run, j, n, 1);
	return 0;
}

static int cpu_rmsnorm(void *ctx, qk_tensor *y, const qk_tensor *x, const qk_tensor *g, float eps)
{
	row_job j = {.op = OP_RMSNORM, .y = y, .a = x, .b = g, .f = eps};
	return run_rows(ctx, &j);
}

static int cpu_silu_mul(void *ctx, qk_tensor *y, const qk_tensor *g, const qk_tensor *u)
{
	row_job j = {.op = OP_SILU_MUL, .y = y, .a = g, .b = u};
	return run_rows(ctx, &j);
}

static int cpu_softmax(void *ctx, qk_tensor *y, const qk_tensor *x, float scale)
{
	row_job j = {.op = OP_SOFTMAX, .y = y, .a = x, .f = scale};
	return run_rows(ctx, &j);
}

static int cpu_add(void *ctx, qk_tensor *y, const qk_tensor *a, const qk_tensor *b)
{
	row_job j = {.op = OP_ADD, .y = y, .a = a, .b = b};
	return run_rows(ctx, &j);
}

static int cpu_rope(void *ctx, qk_tensor *x, const qk_tensor *pos, const qk_rope *p)
{
	if (p->n_rot > MAX_ROT)
		return qk_seterr("rope: %d rotated dims (at most %d)", p->n_rot, MAX_ROT);
	row_job j = {.op = OP_ROPE, .a = x, .b = pos, .rope = p};
	return run_rows(ctx, &j);
}

static int cpu_embed(void *ctx, qk_tensor *y, const qk_tensor *table, const qk_tensor *ids)
{
	const int32_t *id = ids->data;
	for (int64_t i = 0; i < ids->cols; i++)
		if (id[i] < 0 || id[i] >= table->rows)
			return qk_seterr("embed: token id %d outside [0, %lld)", (int)id[i],
					 (long long)table->rows);
	row_job j = {.op = OP_EMBED, .y = y, .a = table, .b = ids};
	return run_rows(ctx, &j);
}

static int cpu_argmax(void *ctx, const qk_tensor *x, int32_t *out)
{
	row_job j = {.op = OP_ARGMAX, .a = x, .out = out};
	return run_rows(ctx, &j);
}

/* ------------------------------------------------------------- attention */

static int cpu_kv_store(void *ctx, qk_tensor *kc, qk_tensor *vc, const qk_tensor *k, const qk_tensor *v,
			const qk_tensor *slots)
{
	const int32_t *sl = slots->data;
	for (int64_t i = 0; i < k->rows; i++)
		if (sl[i] < 0 || sl[i] >= kc->rows)
			return qk_seterr("kv store: slot %d outside the cache's %lld rows", (int)sl[i],
					 (long long)kc->rows);
	row_job j = {.op = OP_KV_STORE, .y = kc, .c = vc, .a = k, .b = v, .slots = sl};
	return run_rows(ctx, &j);
}

typedef struct attn_job {
	const qk_isa *isa;
	float *out;
	size_t out_stride;
	const qk_tensor *q, *kc, *vc;
	const int32_t *pos, *seq, *bt, *nb; /* nb may be NULL */
	int64_t bt_cols, n;
	const qk_attn *p;
	uint8_t *scratch;      /* per thread: rows, then attn_group's scores */
	size_t per_thread;
	int64_t maxn;          /* the most positions a token attends to */
} attn_job;

/* Work items are (token, KV head) pairs (a token's pairs one chunk when
 * there are many tokens, else one pair per chunk): attn_group runs
 * the GQA group's n_head / n_kv_head query heads together, reading each
 * K and V row once for all of them (and rounds q for an F16 cache); the
 * results are the bytes of the heads one by one.  Each thread's scratch
 * starts with the token whose cache rows it last listed (-1 at the start
 * of the op), so the list is built once per token and thread. */
static void attn_job_run(void *arg, int ith, int64_t i0, int64_t i1)
{
	attn_job *j = arg;
	const qk_attn *p = j->p;
	uint8_t *sc = j->scratch + (size_t)ith * j->per_thread;
	int64_t *cur = (int64_t *)sc, *rows = (int64_t *)(sc + 64);
	float *scores = (float *)(sc + 64 + (size_t)j->maxn * 8);
	int group = p->n_head / p->n_kv_head;
	int f16 = j->kc->type == QK_F16;
	size_t es = f16 ? 2 : 4;
	for (int64_t it = i0; it < i1; it++) {
		int64_t t = it / p->n_kv_head;
		int kvh = (int)(it % p->n_kv_head), h = kvh * group;
		int64_t n = (int64_t)j->pos[t] + 1;
		if (t != *cur) {
			const int32_t *bt = j->bt + (size_t)j->seq[t] * (size_t)j->bt_cols;
			for (int64_t q = 0, b = 0; q < n; b++) {
				int64_t r = (int64_t)bt[b] * p->block_size;
				for (int i = 0; i < p->block_size && q < n; i++)
					rows[q++] = r + i;
			}
			*cur = t;
			/* the token's K and V rows, all its KV heads, towards L2 */
			size_t rb = (size_t)p->n_kv_head * p->head_dim * es;
			for (int64_t i = 0; i < n; i++) {
				size_t at = (size_t)rows[i] * j->kc->stride; /* the same in vc */
				for (size_t o = 0; o < rb; o += 64) {
					__builtin_prefetch((const uint8_t *)j->kc->data + at + o, 0, 2);
					__builtin_prefetch((const uint8_t *)j->vc->data + at + o, 0, 2);
				}
			}
		}
		const float *q = (const float *)((const char *)j->q->data + (size_t)t * j->q->stride) +
				 (size_t)h * p->head_dim;
		/* QK_ATT_BATCH: llama.cpp's batched order for a token of a
		 * batch, its one-token order for a decode step */
		int mode = (f16 ? QK_ATT_F16 : 0) | (j->nb && j->nb[t] > 1 ? QK_ATT_BATCH : 0);
		size_t off = (size_t)kvh * p->head_dim * es;
		j->isa->attn_group(j->out + (size_t)t * j->out_stride + (size_t)h * p->head_dim, q, group,
				   (const uint8_t *)j->kc->data + off, (const uint8_t *)j->vc->data + off,
				   j->kc->stride, rows, n, p->head_dim, mode, p->scale, scores);
	}
}

static int cpu_attention(void *ctx, qk_tensor *out, const qk_tensor *q, const qk_tensor *kc,
			 const qk_tensor *vc, const qk_tensor *pos, const qk_tensor *seq,
			 const qk_tensor *block_table, const qk_tensor *nb, const qk_attn *p)
{
	cpu *c = ctx;
	const int32_t *ps = pos->data, *sq = seq->data, *bt = block_table->data;
	int64_t nblk = kc->rows / p->block_size, maxn = 0;
	if (kc->stride != vc->stride)
		return qk_seterr("attention: k and v caches have different strides");
	for (int64_t i = 0; i < q->rows; i++) {
		if (sq[i] < 0 || sq[i] >= block_table->rows)
			return qk_seterr("attention: token %lld: sequence %d outside the block table's %lld rows",
					 (long long)i, (int)sq[i], (long long)block_table->rows);
		if (ps[i] < 0 || ps[i] / p->block_size >= block_table->cols)
			return qk_seterr("attention: token %lld: position %d beyond %lld blocks of %d",
					 (long long)i, (int)ps[i], (long long)block_table->cols, p->block_size);
		const int32_t *row = bt + (size_t)sq[i] * (size_t)block_table->cols;
		for (int64_t b = 0; b <= ps[i] / p->block_size; b++)
			if (row[b] < 0 || row[b] >= nblk)
				return qk_seterr("attention: sequence %d: block %d outside the cache's %lld blocks",
						 (int)sq[i], (int)row[b], (long long)nblk);
		maxn = ps[i] + 1 > maxn ? ps[i] + 1 : maxn;
	}
	int nth = qk_pool_size(c->pool);
	/* rows, then attn_group's scores for a group of query heads; sized
	 * for the longest sequence the block table can hold, so that the
	 * buffer is allocated once, not again each time a context grows */
	size_t group = (size_t)(p->n_head / p->n_kv_head);
	size_t cap = (size_t)block_table->cols * (size_t)p->block_size;
	if (cap < (size_t)maxn)
		cap = (size_t)maxn;
	size_t per = up64(64 + cap * 8 + group * ((cap + 64) * 4 + (size_t)65 * p->head_dim * 4));
	if (scratch2(c, per * (size_t)nth) < 0)
		return -1;
	for (int i = 0; i < nth; i++)
		*(int64_t *)(c->scratch2 + (size_t)i * per) = -1;
	attn_job j = {.isa = c->isa, .out = out->data, .out_stride = out->stride / 4, .q = q, .kc = kc, .vc = vc,
		      .pos = ps, .seq = sq, .bt = bt, .nb = nb ? nb->data : NULL, .bt_cols = block_table->cols, .n = q->rows, .p = p,
		      .scratch = c->scratch2, .per_thread = per, .maxn = maxn};
	/* a chunk per token when there are many (its rows prefetched once
	 * for all its groups), one item per group for a few: a lone decode
	 * token's 3 groups on 2 threads beat its 9 heads one by one (measured) */
	qk_pool_run(c->pool, attn_job_run, &j, q->rows * p->n_kv_head, q->rows >= 4 * nth ? p->n_kv_head : 1);
	return 0;
}

static const qk_backend_ops cpu_ops = {
	.name = "cpu",
	.free = cpu_free,
	.tensor_alloc = cpu_tensor_alloc,
	.tensor_load = cpu_tensor_load,
	.tensor_free = cpu_tensor_free,
	.tensor_set = cpu_tensor_set,
	.tensor_get = cpu_tensor_get,
	.matmul = cpu_matmul,
	.rmsnorm = cpu_rmsnorm,
	.rope = cpu_rope,
	.silu_mul = cpu_silu_mul,
	.softmax = cpu_softmax,
	.add = cpu_add,
	.embed = cpu_embed,
	.argmax = cpu_argmax,
	.kv_store = cpu_kv_store,
	.attention = cpu_attention,
};

qk_backend *qk_cpu_new(int n_threads, const char *isa)
{
	if (!isa)
		isa = getenv("QK_ISA");
	int id = qk_isa_best();
	if (isa && *isa) {
		id = qk_isa_parse(isa);
		if (id < 0)
			return qk_seterr("unknown ISA '%s' (ref, avx2, avx512)", isa), NULL;
		if (!qk_isa_table(id))
			return qk_seterr("this CPU cannot run the %s kernels", isa), NULL;
	}
	/* QK_ORDER: the kernels' order of float additions (cpu.h) */
	const char *ord = getenv("QK_ORDER");
	int order = QK_ORDER_GGML;
	if (ord && *ord) {
		if (!strcmp(ord, "fast"))
			order = QK_ORDER_FAST;
		else if (strcmp(ord, "ggml"))
			return qk_seterr("unknown kernel order QK_ORDER=%s (ggml, fast)", ord), NULL;
	}
	if (n_threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		n_threads = n > 0 && n < 1024 ? (int)n : 1;
	}
	cpu *c = calloc(1, sizeof *c);
	if (!c)
		return qk_seterr("out of memory"), NULL;
	c->isa_id = id;
	c->isa = qk_isa_table_order(id, order);
	c->pool = qk_pool_new(n_threads);
	if (!c->pool) {
		free(c);
		return NULL;
	}
	return qk_backend_new(&cpu_ops, c);
}

const char *qk_cpu_isa(const qk_backend *be)
{
	cpu *c = qk_backend_ctx(be, &cpu_ops);
	return c ? c->isa->name : NULL;
}

int qk_cpu_threads(const qk_backend *be)
{
	cpu *c = qk_backend_ctx(be, &cpu_ops);
	return c ? qk_pool_size(c->pool) : 0;
}
