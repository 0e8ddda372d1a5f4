/*
 * cpu.h - private to libqk: the CPU backend's activation formats, the
 * per-ISA kernel table, the thread pool.
 *
 * Invariants:
 * - Every kernel of every ISA computes each output element with the same
 *   sequence of operations whatever the row range or thread it runs on and
 *   whatever else is in the batch, so results depend on neither the thread
 *   count nor the batch composition.  Kernels differ from the
 *   reference only in the order of float additions (and, for exp, in the
 *   approximation), never in the integer parts of a dot product.
 * - The activation quantizers are deterministic IEEE arithmetic and give
 *   the same bytes on every ISA (checked by t4001).
 * - A table built by qk_isa_table() is complete: the ISAs start from the
 *   reference table and replace what they implement.
 */
#ifndef QK_CPU_H
#define QK_CPU_H

#include "../qk.h"

#include <stdint.h>

#if defined(__GNUC__)
#define QK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define QK_PRINTF(a, b)
#endif

/* Record the message for qk_errmsg(); returns -1. */
int qk_seterr(const char *fmt, ...) QK_PRINTF(1, 2);
/* be's context if be was made with ops, else NULL. */
void *qk_backend_ctx(const qk_backend *be, const qk_backend_ops *ops);

/* ------------------------------------------------------ activation formats
 * What a weight type's dot product wants the F32 activations turned into:
 *   QK_ACT_F32   the floats as they are
 *   QK_ACT_F16   x rounded to IEEE half like ggml does for F16 weights,
 *                stored as the (exact) floats of those halves
 *   QK_ACT_BF16  bfloat16 (BF16 weights), like ggml
 *   QK_ACT_Q8    32-blocks: qs int8[k], then d float[k/32] (an exact half
 *                value), s float[k/32] (half(d * sum), ggml's Q8_1.s) and
 *                sum int32[k/32]; the numbers of ggml's Q8_0/Q8_1 blocks
 *   QK_ACT_Q8K   256-blocks: qs int8[k], then d float[k/256], bsums
 *                int16[k/16]; ggml's Q8_K
 * One row per token, rows stride bytes apart (a multiple of 64).
 */
enum { QK_ACT_F32, QK_ACT_F16, QK_ACT_BF16, QK_ACT_Q8, QK_ACT_Q8K, QK_ACT_KINDS };

typedef struct qk_act {
	int kind;
	int64_t n, k;          /* rows (tokens), elements per row */
	const uint8_t *p;      /* row t at p + t * stride */
	size_t stride;
	size_t off_d, off_s, off_i; /* Q8: d, s, sum; Q8K: d, bsums (off_s) */
} qk_act;

/* The activation format each weight type multiplies with. */
int qk_act_kind(qk_type w);
/* Fill a's layout for n rows of k (kind from qk_act_kind) and return the
 * bytes needed; a->p is left for the caller to set. */
size_t qk_act_layout(qk_act *a, int kind, int64_t n, int64_t k);

/* ------------------------------------------------------------ kernel table */

/* One matmul job: rows [r0, r1) of w against all n rows of x, which all
 * stand for the same llama.cpp batch size nb (cpu_matmul splits an op into
 * runs of equal nb); y[t * ldy + r] for token t and weight row r. */
typedef struct qk_gemm {
	const uint8_t *w;
	size_t w_stride;
	int64_t k;
	int64_t m;             /* rows of the whole weight */
	int nb;                /* llama.cpp batch size all x rows stand for (qk_matmul), >= 1 */
	int in4;               /* 1: the rows are among the first nb - nb % 4 of it (its GEMMs' four-token groups) */
	qk_act x;
	float *y;
	size_t ldy;            /* floats */
} qk_gemm;

typedef void (*qk_gemm_fn)(const qk_gemm *g, int64_t r0, int64_t r1);
/* Convert one row of k floats into row (of layout a) number t. */
typedef void (*qk_quant_fn)(const float *x, const qk_act *a, uint8_t *row);

typedef struct qk_isa {
	const char *name;
	qk_gemm_fn gemm[QK_TYPE_MAX];        /* by weight type */
	qk_quant_fn quant[QK_ACT_KINDS];     /* by activation kind (F32: NULL) */
	/* Weight types this ISA keeps in the r16 layout (repack.c) when a
	 * tensor has a multiple of 16 rows, and their kernels (same
	 * activations as gemm[]; rows r0, r1 multiples of 16), computing
	 * the very operations of gemm[] on GGUF rows.  Only the fast order's
	 * tables have any (Q4_1, Q8_0). */
	int r16[QK_TYPE_MAX];
	qk_gemm_fn gemm_r16[QK_TYPE_MAX];
	void (*dequant[QK_TYPE_MAX])(const void *src, float *dst, int64_t k);
	/* Row ops over d elements. */
	void (*rmsnorm)(float *y, const float *x, const float *g, int64_t d, float eps);
	void (*silu_mul)(float *y, const float *g, const float *u, int64_t d);
	void (*softmax)(float *y, const float *x, int64_t d, float scale);
	void (*add)(float *y, const float *a, const float *b, int64_t d);
	/* Rotate n_pairs pairs (x[i0[j]], x[i1[j]]) by cos/sin c[j], s[j]: the
	 * pair index layout is encoded by neox (pairs (i, i+n/2)) or not
	 * (pairs (2i, 2i+1)); x is one head. */
	void (*rope)(float *x, const float *c, const float *s, int n_rot, int neox);
	int64_t (*argmax)(const float *x, int64_t d);
	/* y[i] = qk_fp32_to_fp16(x[i]): round to nearest even, NaN to its
	 * sign's quiet NaN (the KV cache's F16 rows). */
	void (*to_f16)(uint16_t *y, const float *x, int64_t d);
	/* One query head over n cached positions: out[hd] = sum_j p_j v_j,
	 * p = softmax(scale * q.k_j); position j's k and v start at
	 * k + rows[j] * stride and v + rows[j] * stride.  mode: QK_ATT_F16
	 * for an F16 cache (q was already rounded to half), QK_ATT_BATCH when
	 * the token stands for a batch (llama.cpp's attention adds in another
	 * order then, which the x86 ISAs mirror).  scores: n rounded up to
	 * 64, plus 64 * hd floats. */
	void (*attn_head)(float *out, const float *q, const uint8_t *k, const uint8_t *v, size_t stride,
			  const int64_t *rows, int64_t n, int hd, int mode, float scale, float *scores);
	/* The g query heads of one GQA group, which share k and v: head h's
	 * q at q + h hd, not rounded (with QK_ATT_F16 the function rounds
	 * it to half itself), its result at out + h hd, bit for bit what
	 * attn_head gives it for the rounded q; each K and V row is read (and
	 * converted) once for all g heads where the ISA can.  scores: g times
	 * (n rounded up to 64, plus 65 * hd) floats. */
	void (*attn_group)(float *out, const float *q, int g, const uint8_t *k, const uint8_t *v, size_t stride,
			   const int64_t *rows, int64_t n, int hd, int mode, float scale, float *scores);
} qk_isa;

enum { QK_ATT_F16 = 1, QK_ATT_BATCH = 2 }; /* attn_head's mode bits */

enum { QK_ISA_REF, QK_ISA_AVX2, QK_ISA_AVX512, QK_ISA_COUNT };

/* The table for one ISA (NULL if this CPU or build cannot run it), in
 * llama.cpp's orders (QK_ORDER_GGML) or with the fast order for Q4_1 and
 * Q8_0 (QK_ORDER_FAST: per (row, token) acc = fma((float)I_b, d_w * d_x,
 * acc), then for Q4_1 acc = fma(m_w, s_x, acc), block after block, I_b the
 * block's whole integer dot; the same bytes on every ISA and for any
 * batch, repacked to r16 on x86). */
enum { QK_ORDER_GGML, QK_ORDER_FAST, QK_ORDERS };
const qk_isa *qk_isa_table(int isa);
const qk_isa *qk_isa_table_order(int isa, int order);
/* The best ISA this CPU runs. */
int qk_isa_best(void);
/* "ref" / "avx2" / "avx512" -> QK_ISA_*, -1 if unknown. */
int qk_isa_parse(const char *name);

/* Fillers, each overwriting the entries its ISA implements. */
void qk_isa_fill_ref(qk_isa *t);
void qk_isa_fill_quant_ref(qk_isa *t);  /* dequant[] and quant[] (quant.c) */
void qk_isa_fill_avx2(qk_isa *t);
void qk_isa_fill_avx512(qk_isa *t);
void qk_isa_fill_fast_ref(qk_isa *t);  /* the fast order's changes, over the ggml table */
void qk_isa_fill_fast_avx2(qk_isa *t);
void qk_isa_fill_fast_avx512(qk_isa *t);
void qk_ops_fill_avx2(qk_isa *t);    /* the row ops (ops_avx2.c) */
void qk_ops_fill_avx512(qk_isa *t);

/* The r16 layout (repack.c): which types have one; 16 GGUF rows of k
 * elements (src_stride apart) into one group; GGUF row i (0..15) of a
 * group back, or dequantized. */
int qk_packs_r16(qk_type t);
void qk_repack_r16(qk_type t, const uint8_t *src, size_t src_stride, uint8_t *dst, int64_t k);
void qk_unpack_r16(qk_type t, const uint8_t *src, int i, uint8_t *dst, int64_t k);
void qk_dequant_r16(qk_type t, const uint8_t *src, int i, float *dst, int64_t k);

/* Reference pieces that other ISAs reuse. */
void qk_quant_q8_ref(const float *x, const qk_act *a, uint8_t *row);
void qk_quant_q8k_ref(const float *x, const qk_act *a, uint8_t *row);
void qk_attn_head_ref(float *out, const float *q, const uint8_t *k, const uint8_t *v, size_t stride,
		      const int64_t *rows, int64_t n, int hd, int mode, float scale, float *scores);
void qk_attn_group_ref(float *out, const float *q, int g, const uint8_t *k, const uint8_t *v, size_t stride,
		       const int64_t *rows, int64_t n, int hd, int mode, float scale, float *scores);
/* Cos/sin of every rotated pair for one position (n_rot/2 of each). */
void qk_rope_cache(const qk_rope *p, int32_t pos, float *c, float *s);

/* ------------------------------------------------------------ thread pool */

/* A fixed set of n-1 worker threads plus the caller.  qk_pool_run splits
 * items [0, n) into chunks of `chunk` (the last may be shorter) and calls
 * fn(arg, ith, i0, i1) once per chunk on whichever thread takes it (ith:
 * that thread's index in [0, size), for per-thread scratch); it returns
 * when every chunk is done.  A job of one chunk runs on the caller alone.
 * Workers spin briefly, then sleep on a futex; no thread is created after
 * qk_pool_new. */
typedef struct qk_pool qk_pool;
typedef void (*qk_pool_fn)(void *arg, int ith, int64_t i0, int64_t i1);
qk_pool *qk_pool_new(int n_threads);
void qk_pool_run(qk_pool *p, qk_pool_fn fn, void *arg, int64_t items, int64_t chunk);
int qk_pool_size(const qk_pool *p);
void qk_pool_free(qk_pool *p);

/* Scale and min of sub-block j (0..7) from the 12 packed bytes: 6 bits each,
 * j < 4 in the low bits of bytes j and j+4, j >= 4 split between the low or
 * high nibble of byte j+4 and the top 2 bits of bytes j-4 and j. */
static inline void k_scale_min(const uint8_t *q, int j, int *sc, int *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
		*m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
	}
}

#endif
