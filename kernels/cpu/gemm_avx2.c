/*
 * gemm_avx2.c - the AVX2 kernel table: the x86 matmul kernels of
 * gemm_x86.h with the AVX2 integer dot (maddubs + madd) and 8-lane float
 * vectors.  Compiled with -mavx2 -mfma -mf16c; only reached after cpuid
 * said so (ref.c).  Invariants: see gemm_x86.h.
 */
#include <immintrin.h>

#define QK_SFX(name) name##_avx2
#define DOT_US8(acc, u, s) \
	((acc) = _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))))
#define NTX 2
#define R32 2
#define MADD16(acc, a, b) ((acc) = _mm256_add_epi32((acc), _mm256_madd_epi16((a), (b))))

#define VF __m256
#define VW 8
#define VF_ZERO _mm256_setzero_ps()
#define VF_FMA _mm256_fmadd_ps
#define VF_ADD _mm256_add_ps
#define VF_MUL _mm256_mul_ps
#define VF_HSUM hsum8
#define VF_HSUM_F16DOT hsum8_hadd
#define VF_LD_F32(p) _mm256_loadu_ps((const float *)(p))
#define VF_LD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define VF_LD_BF16(p) \
	_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p))), 16))

#include "gemm_x86.h"
#include "gemm_r16.h"

void qk_isa_fill_avx2(qk_isa *t)
{
	t->name = "avx2";
	fill_gemm_avx2(t);
	qk_ops_fill_avx2(t);
}

/* The fast order: Q4_1 and Q8_0 of a multiple of 16 rows in the r16
 * layout (other tensors go through the reference's fast-order loops). */
void qk_isa_fill_fast_avx2(qk_isa *t)
{
	fill_r16_avx2(t);
}
