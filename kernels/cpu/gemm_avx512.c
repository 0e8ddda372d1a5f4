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
#include "gemm_x86.h"

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
