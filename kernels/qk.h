/*
 * qk.h - the kernel library interface (libqk): one backend contract that the
 * CPU implementation (kernels/cpu/) fills today and a CUDA one can fill later.
 *
 * Design
 *
 * 1. Tensors are descriptors, memory is the backend's.  A qk_tensor says what
 *    is stored (type, rows x cols, row stride) and where (data); data is
 *    memory that the backend allocated or accepted: host memory for the CPU
 *    backend, device memory for a GPU one.  Callers never dereference data of
 *    a tensor they did not wrap themselves; they move bytes with
 *    qk_tensor_set/qk_tensor_get.  Views (a range of rows, a block-aligned
 *    range of columns) are plain descriptors with an offset data pointer,
 *    which is valid for device pointers too.
 *
 * 2. Every op works on a whole batch of token rows: y[n_tok][m] =
 *    x[n_tok][k] . W[m][k]^T with W of any weight type, norms / rope / silu /
 *    softmax over [n_tok][dim], attention over a batch whose tokens belong to
 *    many sequences (each with its position and block table).  There is no
 *    single-token entry point: decoding is a batch of one.  This is what lets
 *    a GPU backend launch one kernel per op and the CPU backend split an op
 *    across its thread pool once.
 *
 * 3. Weights arrive in their GGUF block layout (the structs below, identical
 *    to ggml's, sizes checked by static_assert).  qk_tensor_load hands them
 *    to the backend once: the CPU uses a mapped file or shared-memory
 *    segment in place, except for the types whose fastest kernels want the
 *    blocks regrouped (the x8 layout of Q4_0/Q4_1/Q8_0 on AVX2/AVX-512,
 *    same size, flag QK_PACKED), which it copies and repacks once; a device
 *    backend uploads.  Activations are quantized inside the backend to
 *    whatever its fast path wants (the CPU: 8-bit blocks like llama.cpp's
 *    Q8_0/Q8_1/Q8_K, F16 or BF16), so callers only ever pass F32.
 *
 * 4. The backend is a table of functions (qk_backend_ops) plus a private
 *    context.  The public qk_* wrappers below check every shape and type once,
 *    for all backends, then call the table: a backend may assume its inputs
 *    are consistent.  Backends are not reentrant: one thread drives a backend
 *    at a time (the CPU backend parallelises each op internally).
 *
 * 5. Errors: a function that fails returns -1 (or NULL) after recording one
 *    line with qk_errmsg() readable on the same thread.  Nothing here prints,
 *    exits or aborts on bad input.  libqk does not depend on lib/ (data flows
 *    down: lib/ calls kernels/, never the reverse).
 *
 * Numerics follow llama.cpp's CPU backend: the same activation quantization
 * (bit-exact with ggml's x86 quantize_row_q8_0/q8_1/q8_K), integer dot
 * products inside each block, F32 accumulation across blocks; only the order
 * of the float additions differs between our reference and SIMD paths.
 * Where a SIMD path follows the order of llama.cpp's build for the same ISA
 * (the Q4_0/Q4_1/Q8_0 dots, silu, rope, the F16-cache attention) its
 * results are bit-identical to llama.cpp's.
 */
#ifndef QK_H
#define QK_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Tensor element types.  The values are ggml's type ids, so a GGUF tensor
 * type converts by a cast after qk_type_valid(). */
typedef enum qk_type {
	QK_F32 = 0,
	QK_F16 = 1,
	QK_Q4_0 = 2,
	QK_Q4_1 = 3,
	QK_Q8_0 = 8,
	QK_Q8_1 = 9,
	QK_Q4_K = 12,
	QK_Q5_K = 13,
	QK_Q6_K = 14,
	QK_Q8_K = 15,
	QK_I32 = 26,
	QK_BF16 = 30,
} qk_type;

#define QK_TYPE_MAX 31 /* one past the largest id, for tables indexed by type */

/* Block layouts (ggml's).  A row of k elements is k / qk_type_block(t)
 * blocks; scales are IEEE half (uint16_t bits) unless said otherwise. */
#define QK_32 32  /* elements per block of the 32-blocks (Q4_0 .. Q8_1) */
#define QK_K 256  /* elements per super-block of the K-quants */
#define QK_K_SCALES 12

typedef struct qk_block_q4_0 { /* x[i] = d * (nibble(i) - 8) */
	uint16_t d;
	uint8_t qs[QK_32 / 2];  /* element j in the low nibble of qs[j], j+16 in the high */
} qk_block_q4_0;

typedef struct qk_block_q4_1 { /* x[i] = d * nibble(i) + m */
	uint16_t d, m;
	uint8_t qs[QK_32 / 2];
} qk_block_q4_1;

typedef struct qk_block_q8_0 { /* x[i] = d * qs[i] */
	uint16_t d;
	int8_t qs[QK_32];
} qk_block_q8_0;

typedef struct qk_block_q8_1 { /* x[i] = d * qs[i]; s = d * sum(qs) */
	uint16_t d, s;
	int8_t qs[QK_32];
} qk_block_q8_1;

/* K-quants: a super-block of 256 = 8 sub-blocks of 32 (Q4_K, Q5_K) with
 * 6-bit scale and min packed in scales[12]; x = d*sc*q - dmin*m.
 * qs[32*j + l] holds element 64*j + l (low nibble) and 64*j + 32 + l (high). */
typedef struct qk_block_q4_k {
	uint16_t d, dmin;
	uint8_t scales[QK_K_SCALES];
	uint8_t qs[QK_K / 2];
} qk_block_q4_k;

/* As Q4_K plus a fifth bit: element 64*j + l has bit 2j of qh[l],
 * element 64*j + 32 + l bit 2j+1. */
typedef struct qk_block_q5_k {
	uint16_t d, dmin;
	uint8_t scales[QK_K_SCALES];
	uint8_t qh[QK_K / 8];
	uint8_t qs[QK_K / 2];
} qk_block_q5_k;

/* 16 sub-blocks of 16 with int8 scales: x = d * scales[i/16] * (q - 32),
 * q = 4 bits from ql and 2 from qh (see qk_dequantize_row for the order). */
typedef struct qk_block_q6_k {
	uint8_t ql[QK_K / 2];
	uint8_t qh[QK_K / 4];
	int8_t scales[QK_K / 16];
	uint16_t d;
} qk_block_q6_k;

/* Activations for the K-quant dot products: float scale, int8 values, and
 * the sum of each group of 16 values. */
typedef struct qk_block_q8_k {
	float d;
	int8_t qs[QK_K];
	int16_t bsums[QK_K / 16];
} qk_block_q8_k;

static_assert(sizeof(qk_block_q4_0) == 18, "q4_0 block");
static_assert(sizeof(qk_block_q4_1) == 20, "q4_1 block");
static_assert(sizeof(qk_block_q8_0) == 34, "q8_0 block");
static_assert(sizeof(qk_block_q8_1) == 36, "q8_1 block");
static_assert(sizeof(qk_block_q4_k) == 144, "q4_K block");
static_assert(sizeof(qk_block_q5_k) == 176, "q5_K block");
static_assert(sizeof(qk_block_q6_k) == 210, "q6_K block");
static_assert(sizeof(qk_block_q8_k) == 292, "q8_K block");

/* 1 if t is one of the types above. */
int qk_type_valid(int t);
/* "f32", "q4_K", ... ; "?" for an invalid type. */
const char *qk_type_name(qk_type t);
/* Parse a name as written by qk_type_name (case-insensitive); -1 if unknown. */
int qk_type_parse(const char *name);
/* Elements per block (1 for F32/F16/BF16/I32) and bytes per block. */
int64_t qk_type_block(qk_type t);
size_t qk_type_block_bytes(qk_type t);
/* Bytes of a row of cols elements; 0 (and qk_errmsg) when cols is not a
 * multiple of the block size or the size overflows. */
size_t qk_row_bytes(qk_type t, int64_t cols);
/* 1 if t can be the weight of qk_matmul / the table of qk_embed. */
int qk_type_is_weight(qk_type t);

/* IEEE half and bfloat16 conversions, exact (to-half rounds to nearest even
 * like F16C; to-bf16 rounds to nearest even and keeps NaNs quiet like ggml). */
static inline float qk_f32_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t qk_bits_f32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float qk_fp16_to_fp32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t em = h & 0x7fff;
	if (em >= 0x7c00)      /* inf, NaN */
		return qk_f32_bits(sign | 0x7f800000 | (em & 0x3ff) << 13);
	if (em >= 0x0400)      /* normal: rebias the exponent by 127 - 15 */
		return qk_f32_bits(sign | ((em << 13) + 0x38000000));
	float f = (float)em * 0x1p-24f; /* subnormal, exact */
	return qk_f32_bits(sign | qk_bits_f32(f));
}

static inline uint16_t qk_fp32_to_fp16(float f)
{
	uint32_t x = qk_bits_f32(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
	uint32_t ax = x & 0x7fffffff;
	if (ax > 0x7f800000)   /* NaN stays a quiet NaN */
		return sign | 0x7e00;
	if (ax >= 0x477ff000)  /* >= 65520 rounds to infinity */
		return sign | 0x7c00;
	if (ax < 0x38800000) { /* below 2^-14: subnormal half; 0.5 has ulp 2^-24 */
		float t = qk_f32_bits(ax) + 0.5f;
		return sign | (uint16_t)(qk_bits_f32(t) - 0x3f000000);
	}
	ax += 0xc8000fffu + ((ax >> 13) & 1); /* exponent -112, round to even */
	return sign | (uint16_t)(ax >> 13);
}

static inline float qk_bf16_to_fp32(uint16_t h) { return qk_f32_bits((uint32_t)h << 16); }

static inline uint16_t qk_fp32_to_bf16(float f)
{
	uint32_t x = qk_bits_f32(f);
	if ((x & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((x >> 16) | 64);
	return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

/* Reference conversions between a row of blocks and floats (portable C, the
 * same code the CPU backend's reference path uses).  dequantize supports all
 * weight types plus Q8_0/Q8_1/Q8_K; quantize supports F32, F16, BF16 and the
 * activation formats Q8_0, Q8_1, Q8_K with llama.cpp's x86 rounding (see
 * kernels/cpu/quant.c).  k must be a multiple of the block size (checked:
 * -1 + qk_errmsg). */
int qk_dequantize_row(qk_type t, const void *src, float *dst, int64_t k);
int qk_quantize_row(qk_type t, const float *src, void *dst, int64_t k);

/* The last error recorded on this thread ("" if none). */
const char *qk_errmsg(void);

/* ---------------------------------------------------------------- tensors */

/* A 2-d tensor: rows x cols, cols contiguous (cols a multiple of the block
 * size), rows stride bytes apart.  Shapes are written [rows][cols]. */
typedef struct qk_tensor {
	qk_type type;
	int64_t rows, cols;
	size_t stride;         /* bytes from row r to row r+1, >= qk_row_bytes */
	void *data;            /* backend memory (host for CPU, device for GPU) */
	unsigned flags;        /* QK_BORROWED, QK_PACKED */
} qk_tensor;

#define QK_BORROWED 1u  /* data is the caller's: never written or freed */
#define QK_PACKED 2u    /* rows are in a backend-specific layout of the same
			 * size (the CPU's x8 layout for Q4_0/Q4_1/Q8_0); only
			 * whole-row views; tensor_set/get convert */

typedef struct qk_backend qk_backend;

/* Allocate rows x cols of type t (zeroed); qk_tensor_free releases it. */
int qk_tensor_alloc(qk_backend *be, qk_tensor *t, qk_type type, int64_t rows, int64_t cols);
/* Make host bytes (rows x cols of type, densely packed GGUF rows)
 * available to the backend as a read-only tensor: the CPU borrows them in
 * place (they must outlive t; flag QK_BORROWED) or keeps a repacked copy
 * (QK_PACKED); a device backend copies them. */
int qk_tensor_load(qk_backend *be, qk_tensor *t, qk_type type, int64_t rows, int64_t cols,
		   const void *host);
void qk_tensor_free(qk_backend *be, qk_tensor *t);
/* Copy densely packed host rows (GGUF layout) into / out of t (all of it),
 * converting from / to a packed layout. */
int qk_tensor_set(qk_backend *be, qk_tensor *t, const void *host, size_t nbytes);
int qk_tensor_get(qk_backend *be, const qk_tensor *t, void *host, size_t nbytes);
/* Views sharing t's memory: rows [r0, r0+n); columns [c0, c0+n) with c0 and
 * n multiples of the block size.  Never freed. */
qk_tensor qk_tensor_rows(const qk_tensor *t, int64_t r0, int64_t n);
qk_tensor qk_tensor_cols(const qk_tensor *t, int64_t c0, int64_t n);

/* -------------------------------------------------------------------- ops
 * All tensors F32 unless stated.  "in place" means y may be the same tensor
 * (same data and stride) as x; partial overlap is not allowed. */

/* Batch sizes.  llama.cpp picks its kernels, and so its order of float
 * additions, by the number of tokens in an op: a prompt decoded in one go
 * goes through its batched kernels (tinyBLAS, tiled and repacked GEMMs), a
 * decode step through its one-token ones, and its repacked GEMMs take the
 * tokens of a batch four at a time, the last nb % 4 one by one.  nb (I32
 * [2][n], or NULL: every token a batch of 1) gives, per token, the size
 * of the llama.cpp batch the token stands for (row 0; 1 for a decode step,
 * values below 1 count as 1) and its index in that batch (row 1), and the
 * CPU kernels follow the order
 * llama.cpp's build for the same ISA uses for that size.  A token's result
 * depends only on its own inputs and its nb, never on the other tokens of
 * the op, so results do not depend on how a caller batches tokens. */

/* y[n][m] = x[n][k] . w[m][k]^T, w of any qk_type_is_weight type; nb as
 * above. */
int qk_matmul(qk_backend *be, qk_tensor *y, const qk_tensor *x, const qk_tensor *w, const qk_tensor *nb);
/* y[i] = x . w[i]^T for n <= QK_MATMUL_MAX weights of the same width, as
 * n qk_matmul calls give, in one op: the input is prepared once (quantized
 * once per activation kind) and the weights' rows shared out together. */
#define QK_MATMUL_MAX 4
int qk_matmul_n(qk_backend *be, int n, qk_tensor *const *y, const qk_tensor *x, const qk_tensor *const *w,
		const qk_tensor *nb);

/* y[n][d] = x / sqrt(mean(x^2) + eps) * g, g [1][d]; in place allowed. */
int qk_rmsnorm(qk_backend *be, qk_tensor *y, const qk_tensor *x, const qk_tensor *g, float eps);

/* Rotary position embedding, in place on x [n][n_head * head_dim] with the
 * position of each token in pos [1][n] (I32).  The first n_rot dims of each
 * head rotate: pairs (2i, 2i+1) normally, (i, i + n_rot/2) for NeoX (Qwen,
 * Gemma); angle pos * base^(-2i/n_rot) / scale_i where scale_i is 1/freq_scale
 * (linear scaling) or Llama 3's smooth per-frequency factor. */
typedef struct qk_rope {
	int n_head, head_dim, n_rot;
	int neox;
	float freq_base;           /* 10000, 500000, ... */
	float freq_scale;          /* linear scaling: 1 / factor; 1 for none */
	int llama3;                /* Llama 3 "rope_type": "llama3" scaling */
	float l3_factor, l3_low_freq_factor, l3_high_freq_factor;
	int l3_orig_ctx;           /* original_max_position_embeddings */
} qk_rope;
int qk_rope_apply(qk_backend *be, qk_tensor *x, const qk_tensor *pos, const qk_rope *p);

/* y[n][d] = silu(g) * u; in place allowed (y may be g or u). */
int qk_silu_mul(qk_backend *be, qk_tensor *y, const qk_tensor *g, const qk_tensor *u);

/* y[n][d] = softmax(x * scale) row by row; in place allowed. */
int qk_softmax(qk_backend *be, qk_tensor *y, const qk_tensor *x, float scale);

/* y[n][d] = a + b; in place allowed (y may be a or b). */
int qk_add(qk_backend *be, qk_tensor *y, const qk_tensor *a, const qk_tensor *b);

/* y[n][d] = table[ids[i]] dequantized; ids [1][n] I32, table [vocab][d] of a
 * weight type.  An id outside [0, vocab) fails. */
int qk_embed(qk_backend *be, qk_tensor *y, const qk_tensor *table, const qk_tensor *ids);

/* out[i] = index of the largest x[i][j] (the first one on ties; NaN never
 * wins), written to host memory out[n]. */
int qk_argmax(qk_backend *be, const qk_tensor *x, int32_t *out);

/* Paged KV cache.  A layer's cache is two tensors kc, vc of [n_blocks *
 * block_size][n_kv_head * head_dim], F32 or F16; a sequence's position p
 * lives in cache row bt[p / block_size] * block_size + p % block_size,
 * bt being the sequence's row of the block table (I32 [n_seq][max_blocks]).
 *
 * qk_kv_store writes k[i], v[i] (F32 [n][n_kv_head * head_dim]) into cache
 * rows slots[i] (I32 [1][n]), converting to the cache type. */
int qk_kv_store(qk_backend *be, qk_tensor *kc, qk_tensor *vc, const qk_tensor *k, const qk_tensor *v,
		const qk_tensor *slots);

typedef struct qk_attn {
	int n_head, n_kv_head, head_dim;  /* n_head a multiple of n_kv_head (GQA) */
	int block_size;                   /* cache rows per block */
	float scale;                      /* on q.k, usually 1/sqrt(head_dim) */
} qk_attn;

/* Causal attention for a batch of tokens from many sequences: token i is
 * at position pos[i] of sequence seq[i] (both I32 [1][n]) and attends to
 * positions 0..pos[i] of that sequence through its block table (so store
 * the batch's own k/v first).  Query head h reads KV head
 * h / (n_head / n_kv_head).  out, q: F32 [n][n_head * head_dim].
 * scores = scale * q.k in F32 (q rounded to half first when the cache is
 * F16, as ggml does), softmax with the sum in double, out = sum p_j v_j in
 * F32.  Block table entries, sequences and positions are checked.
 * nb: the batch sizes (see qk_matmul); with an F16 cache a token of nb >= 2
 * follows llama.cpp's batched K.q and V.softmax matmuls, one of nb 1 its
 * one-token ones. */
int qk_attention(qk_backend *be, qk_tensor *out, const qk_tensor *q, const qk_tensor *kc,
		 const qk_tensor *vc, const qk_tensor *pos, const qk_tensor *seq,
		 const qk_tensor *block_table, const qk_tensor *nb, const qk_attn *p);

/* ---------------------------------------------------------------- backend */

/* What a backend implements.  The wrappers above validate everything first;
 * each function returns 0 or -1 after recording the error. */
typedef struct qk_backend_ops {
	const char *name;
	void (*free)(void *ctx);
	int (*tensor_alloc)(void *ctx, qk_tensor *t);    /* t has type, shape, stride */
	int (*tensor_load)(void *ctx, qk_tensor *t, const void *host);
	void (*tensor_free)(void *ctx, qk_tensor *t);
	int (*tensor_set)(void *ctx, qk_tensor *t, const void *host);
	int (*tensor_get)(void *ctx, const qk_tensor *t, void *host);
	int (*matmul)(void *ctx, int n, qk_tensor *const *y, const qk_tensor *x, const qk_tensor *const *w,
		      const qk_tensor *nb);
	int (*rmsnorm)(void *ctx, qk_tensor *y, const qk_tensor *x, const qk_tensor *g, float eps);
	int (*rope)(void *ctx, qk_tensor *x, const qk_tensor *pos, const qk_rope *p);
	int (*silu_mul)(void *ctx, qk_tensor *y, const qk_tensor *g, const qk_tensor *u);
	int (*softmax)(void *ctx, qk_tensor *y, const qk_tensor *x, float scale);
	int (*add)(void *ctx, qk_tensor *y, const qk_tensor *a, const qk_tensor *b);
	int (*embed)(void *ctx, qk_tensor *y, const qk_tensor *table, const qk_tensor *ids);
	int (*argmax)(void *ctx, const qk_tensor *x, int32_t *out);
	int (*kv_store)(void *ctx, qk_tensor *kc, qk_tensor *vc, const qk_tensor *k, const qk_tensor *v,
			const qk_tensor *slots);
	int (*attention)(void *ctx, qk_tensor *out, const qk_tensor *q, const qk_tensor *kc,
			 const qk_tensor *vc, const qk_tensor *pos, const qk_tensor *seq,
			 const qk_tensor *block_table, const qk_tensor *nb, const qk_attn *p);
} qk_backend_ops;

/* Wrap a backend implementation; takes ownership of ctx (ops->free). */
qk_backend *qk_backend_new(const qk_backend_ops *ops, void *ctx);
void qk_backend_free(qk_backend *be);
const char *qk_backend_name(const qk_backend *be);

/* The CPU backend.  n_threads <= 0 means one per online CPU.  isa is "ref",
 * "avx2" or "avx512"; NULL means $QK_ISA if set, else the best the CPU
 * supports (cpuid).  Asking for an ISA the CPU lacks fails. */
qk_backend *qk_cpu_new(int n_threads, const char *isa);
/* The ISA the CPU backend picked ("ref", "avx2", "avx512") and its thread
 * count; NULL / 0 if be is not a CPU backend. */
const char *qk_cpu_isa(const qk_backend *be);
int qk_cpu_threads(const qk_backend *be);

#endif
