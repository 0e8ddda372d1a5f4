/*
 * gemm_avx512.c - the AVX-512 kernel table: the x86 matmul kernels of
 * gemm_x86.h with VNNI integer dots (vpdpbusd for u8 x s8, vpdpwssd for the
 * scaled int16 sums of the K-quants), 16-lane float vectors, and BF16
 * weights through vdpbf16ps.  Compiled with -mavx512f/bw/vl/dq/vnni/bf16;
 * only reached after cpuid said so (ref.c).  Invariants: see gemm_x86.h.
 */
#include <immintrin.h>
#include <stdint.h>

#define QK_SFX(name) name##_avx512
#define DOT_US8(acc, u, s) ((acc) = _mm256_dpbusd_epi32((acc), (u), (s)))
#define NTX 2
#define R32 4
#define MADD16(acc, a, b) ((acc) = _mm256_dpwssd_epi32((acc), (a), (b)))

#define VF __m512
#define VW 16
#define VF_ZERO _mm512_setzero_ps()
#define VF_FMA _mm512_fmadd_ps
#define VF_ADD _mm512_add_ps
#define VF_MUL _mm512_mul_ps
#define VF_HSUM hsum16
#define VF_HSUM_F16DOT hsum16 /* _mm512_reduce_add_ps: the same halving tree */
#define VF_LD_F32(p) _mm512_loadu_ps((const void *)(p))
#define VF_LD_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define VF_LD_BF16(p) \
	_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p))), 16))
#define BF16_TILE bf16_tile_dp

static inline __attribute__((always_inline)) float hsum16(__m512 v)
{
	__m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
	__m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
	q = _mm_add_ps(q, _mm_movehl_ps(q, q));
	q = _mm_add_ss(q, _mm_movehdup_ps(q));
	return _mm_cvtss_f32(q);
}

/* BF16 weights x BF16 activations with vdpbf16ps (32 products into 16
 * lanes per instruction), in llama.cpp's AVX512_BF16 orders:
 * - a batch (nb >= 2) of a weight with a multiple of 4 rows and k a
 *   multiple of 32 goes through its tinyBLAS<32, __m512, __m512bh>: per
 *   (row, token) one chain over k in steps of 32, then the halving tree;
 * - otherwise ggml_vec_dot_bf16: two chains over steps of 64 (elements
 *   [i, i+32) and [i+32, i+64)), each reduced by the halving tree and added
 *   to a double in that order, the elements after the last whole step
 *   added one by one in double.
 * Products of two bf16 are exact in F32 (the instruction treats denormal
 * inputs as zero, below anything the bounds see). */
#include "cpu.h"
static inline void bf16_tile_dp(const qk_gemm *g, int64_t r, int64_t t0, const int nt);
static int64_t wide_q4_1(const qk_gemm *g, int64_t r0, int64_t r1);
static int64_t wide_q8_0(const qk_gemm *g, int64_t r0, int64_t r1);
#define WIDE32_Q4_1 wide_q4_1
#define WIDE32_Q8_0 wide_q8_0
#include "gemm_x86.h"
#include "gemm_r16.h"

/* Batches of the 32-block kernels in tiles of WR rows by 8 tokens, with
 * the very operations of q4_1_tile / S8_TILE (ggml's vec_dot order): one
 * 512-bit vector carries two (row, token) chains, tokens 2j and 2j+1 in
 * lanes 0-7 and 8-15, each lane seeing the same IEEE operations as its
 * 8-lane chain, and each half reduced by hsum8 at the end.  Shared by a
 * tile: a weight block unpacked once into both halves, a token pair's
 * activation block loaded once, the 8 tokens' d_x (and Q4_1's s_x)
 * gathered once, so Q4_1's scalar m_w * s_x chains run 8 tokens to a
 * vector.  The integer dots are exact: Q8_0 / Q4_0 take (x + 128) as u8
 * against the s8 weights and subtract 128 * (sum of the weights) per lane
 * (vpdpbusd does not saturate), the same int32 as |w| x sign(x, w). */
#define WR 4
#define WT 8

/* Token pair j of a tile: x of token 2j in the low half, 2j + 1 in the
 * high; d_x likewise, from the 8 gathered ones. */
INLINE __m512i pair_x(const uint8_t *x, size_t stride, int j, int64_t b)
{
	const uint8_t *p = x + (size_t)(2 * j) * stride + QK_32 * b;
	return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p)),
				  _mm256_loadu_si256((const __m256i *)(p + stride)), 1);
}

INLINE __m512 pair_d(__m256 d8, int j)
{
	return _mm512_permutexvar_ps(_mm512_set_epi32(2 * j + 1, 2 * j + 1, 2 * j + 1, 2 * j + 1, 2 * j + 1,
						       2 * j + 1, 2 * j + 1, 2 * j + 1, 2 * j, 2 * j, 2 * j, 2 * j,
						       2 * j, 2 * j, 2 * j, 2 * j),
				     _mm512_castps256_ps512(d8));
}

/* The d_x and s_x of the 8 tokens from t0, block by block: ds[16 b + t]
 * and ds[16 b + 8 + t]. */
INLINE void wide_ds(const qk_gemm *g, int64_t t0, float *ds)
{
	for (int t = 0; t < WT; t++) {
		const uint8_t *xr = XROW(g, t0 + t);
		const float *d = (const float *)(xr + g->x.off_d), *s = (const float *)(xr + g->x.off_s);
		for (int64_t b = 0; b < g->k / QK_32; b++) {
			ds[16 * b + t] = d[b];
			ds[16 * b + 8 + t] = s[b];
		}
	}
}

INLINE void wide_out(const qk_gemm *g, int64_t r, const int nr, int64_t t0, __m512 acc[WR][WT / 2],
		     __m256 *accm)
{
	UNROLL
	for (int i = 0; i < nr; i++) {
		float m[WT] = {0};
		if (accm)
			_mm256_storeu_ps(m, accm[i]);
		UNROLL
		for (int j = 0; j < WT / 2; j++) {
			OUT(g, t0 + 2 * j, r + i) = hsum8(_mm512_castps512_ps256(acc[i][j])) + m[2 * j];
			OUT(g, t0 + 2 * j + 1, r + i) = hsum8(_mm512_extractf32x8_ps(acc[i][j], 1)) + m[2 * j + 1];
		}
	}
}

INLINE void q4_1_wide(const qk_gemm *g, int64_t r, const int nr, int64_t t0, const float *ds)
{
	const qk_block_q4_1 *w[WR];
	const uint8_t *x = XROW(g, t0);
	const size_t st = g->x.stride;
	__m512 acc[WR][WT / 2];
	__m256 accm[WR];
	UNROLL
	for (int i = 0; i < nr; i++) {
		w[i] = (const qk_block_q4_1 *)ROW(g, r + i);
		accm[i] = _mm256_setzero_ps();
		UNROLL
		for (int j = 0; j < WT / 2; j++)
			acc[i][j] = _mm512_setzero_ps();
	}
	for (int64_t b = 0; b < g->k / QK_32; b++) {
		__m256 dx = _mm256_loadu_ps(ds + 16 * b), sx = _mm256_loadu_ps(ds + 16 * b + 8);
		__m512i xq[WT / 2];
		__m512 dxp[WT / 2];
		UNROLL
		for (int j = 0; j < WT / 2; j++) {
			xq[j] = pair_x(x, st, j, b);
			dxp[j] = pair_d(dx, j);
		}
		UNROLL
		for (int i = 0; i < nr; i++) {
			__m512i q = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)w[i][b].qs));
			q = _mm512_and_si512(_mm512_mask_srli_epi16(q, 0xFF00FF00u, q, 4), _mm512_set1_epi8(15));
			__m512 dw = _mm512_set1_ps(h2f(w[i][b].d));
			accm[i] = _mm256_add_ps(accm[i], _mm256_mul_ps(_mm256_set1_ps(h2f(w[i][b].m)), sx));
			UNROLL
			for (int j = 0; j < WT / 2; j++) {
				__m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, xq[j]);
				acc[i][j] = _mm512_fmadd_ps(_mm512_mul_ps(dw, dxp[j]), _mm512_cvtepi32_ps(p), acc[i][j]);
			}
		}
	}
	wide_out(g, r, nr, t0, acc, accm);
}

/* Q8_0 (and Q4_0 outside its repacked order): s8 weights. */
#define S8_WIDE(NAME, BLOCK, LOAD_S8)                                                               \
	INLINE void NAME(const qk_gemm *g, int64_t r, const int nr, int64_t t0, const float *ds)   \
	{                                                                                          \
		const BLOCK *w[WR];                                                                \
		const uint8_t *x = XROW(g, t0);                                                    \
		const size_t st = g->x.stride;                                                     \
		const __m512i bias = _mm512_set1_epi8((char)0x80);                                 \
		__m512 acc[WR][WT / 2];                                                            \
		UNROLL                                                                             \
		for (int i = 0; i < nr; i++) {                                                     \
			w[i] = (const BLOCK *)ROW(g, r + i);                                       \
			UNROLL                                                                     \
			for (int j = 0; j < WT / 2; j++)                                           \
				acc[i][j] = _mm512_setzero_ps();                                   \
		}                                                                                  \
		for (int64_t b = 0; b < g->k / QK_32; b++) {                                       \
			__m256 dx = _mm256_loadu_ps(ds + 16 * b);                                  \
			__m512i xu[WT / 2];                                                        \
			__m512 dxp[WT / 2];                                                        \
			UNROLL                                                                     \
			for (int j = 0; j < WT / 2; j++) {                                         \
				xu[j] = _mm512_xor_si512(pair_x(x, st, j, b), bias);               \
				dxp[j] = pair_d(dx, j);                                            \
			}                                                                          \
			UNROLL                                                                     \
			for (int i = 0; i < nr; i++) {                                             \
				__m512i q = LOAD_S8(w[i][b]);                                      \
				__m512i c = _mm512_sub_epi32(_mm512_setzero_si512(),               \
							     _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, q)); \
				__m512 dw = _mm512_set1_ps(h2f(w[i][b].d));                        \
				UNROLL                                                             \
				for (int j = 0; j < WT / 2; j++) {                                 \
					__m512i p = _mm512_dpbusd_epi32(c, xu[j], q);              \
					acc[i][j] = _mm512_fmadd_ps(_mm512_mul_ps(dw, dxp[j]),     \
								    _mm512_cvtepi32_ps(p), acc[i][j]); \
				}                                                                  \
			}                                                                          \
		}                                                                                  \
		wide_out(g, r, nr, t0, acc, NULL);                                                 \
	}

#define LOAD_Q8_0W(B) _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(B).qs))
S8_WIDE(q8_0_wide, qk_block_q8_0, LOAD_Q8_0W)

/* The driver: runs of WRUN rows, in each for every tile of WT tokens its
 * d_x / s_x block by block (on the stack; k up to WK_MAX, beyond that
 * gemm_x86.h's tiles do it all), then row groups of WR (then single rows);
 * the tokens after the last whole tile are left to gemm_x86.h's tiles. */
#define WRUN 16
#define WK_MAX 32768
#define WIDE_GEMM(NAME, TILE)                                                                      \
	static int64_t NAME(const qk_gemm *g, int64_t r0, int64_t r1)                              \
	{                                                                                          \
		if (g->x.n < WT || g->k > WK_MAX)                                                  \
			return 0;                                                                  \
		float ds[WK_MAX / QK_32 * 16];                                                     \
		int64_t nt = g->x.n - g->x.n % WT;                                                 \
		for (int64_t rr = r0; rr < r1; rr += WRUN) {                                       \
			int64_t re = rr + WRUN < r1 ? rr + WRUN : r1;                              \
			for (int64_t t = 0; t < nt; t += WT) {                                     \
				wide_ds(g, t, ds);                                                 \
				int64_t r = rr;                                                    \
				for (; r + WR <= re; r += WR)                                      \
					TILE(g, r, WR, t, ds);                                     \
				for (; r < re; r++)                                                \
					TILE(g, r, 1, t, ds);                                      \
			}                                                                          \
		}                                                                                  \
		return nt;                                                                         \
	}

WIDE_GEMM(wide_q4_1, q4_1_wide)
WIDE_GEMM(wide_q8_0, q8_0_wide)

#define LD_BH(p) ((__m512bh)_mm512_loadu_si512((const void *)(p)))

static inline void bf16_tile_dp(const qk_gemm *g, int64_t r, int64_t t0, const int nt)
{
	const uint8_t *w = ROW(g, r), *x[NTF];
	__m512 acc[NTF][2];
	UNROLL
	for (int t = 0; t < nt; t++) {
		x[t] = XROW(g, t0 + t);
		acc[t][0] = acc[t][1] = _mm512_setzero_ps();
	}
	if (g->nb >= 2 && g->m % 4 == 0 && g->k % 32 == 0) {
		for (int64_t i = 0; i < g->k; i += 32) {
			__m512bh wv = LD_BH(w + 2 * i);
			UNROLL
			for (int t = 0; t < nt; t++)
				acc[t][0] = _mm512_dpbf16_ps(acc[t][0], wv, LD_BH(x[t] + 2 * i));
		}
		UNROLL
		for (int t = 0; t < nt; t++)
			OUT(g, t0 + t, r) = hsum16(acc[t][0]);
		return;
	}
	int64_t i = 0;
	for (; i + 64 <= g->k; i += 64)
		UNROLL
		for (int c = 0; c < 2; c++) {
			__m512bh wv = LD_BH(w + 2 * (i + 32 * c));
			UNROLL
			for (int t = 0; t < nt; t++)
				acc[t][c] = _mm512_dpbf16_ps(acc[t][c], wv, LD_BH(x[t] + 2 * (i + 32 * c)));
		}
	UNROLL
	for (int t = 0; t < nt; t++) {
		double s = hsum16(acc[t][0]);
		s += hsum16(acc[t][1]);
		for (int64_t j = i; j < g->k; j++)
			s += (double)(sc_bf16(w, j) * sc_bf16(x[t], j));
		OUT(g, t0 + t, r) = (float)s;
	}
}

void qk_isa_fill_avx512(qk_isa *t)
{
	t->name = "avx512";
	fill_gemm_avx512(t);
	qk_ops_fill_avx512(t);
}

/* The fast order: Q4_1 and Q8_0 of a multiple of 16 rows in the r16
 * layout (other tensors go through the reference's fast-order loops). */
void qk_isa_fill_fast_avx512(qk_isa *t)
{
	fill_r16_avx512(t);
}
