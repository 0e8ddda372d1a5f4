/*
 * ops_avx512.c - the AVX-512 row ops: ops_x86.h over 16-lane vectors.
 * Compiled with -mavx512f/bw/vl/dq/vnni/bf16, called only after cpuid
 * said so.  Invariants: see ops_x86.h.
 */
#include <immintrin.h>

#define QK_SFX(name) name##_avx512
#define VF __m512
#define VW 16
#define VF_ZERO _mm512_setzero_ps()
#define VF_SET1 _mm512_set1_ps
#define VF_LD _mm512_loadu_ps
#define VF_ST _mm512_storeu_ps
#define VF_ADD _mm512_add_ps
#define VF_SUB _mm512_sub_ps
#define VF_MUL _mm512_mul_ps
#define VF_DIV _mm512_div_ps
#define VF_MAX _mm512_max_ps
#define VF_MIN _mm512_min_ps
#define VF_FMA _mm512_fmadd_ps
#define VF_FMS _mm512_fmsub_ps
#define VF_ROUND(v) _mm512_roundscale_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VF_POW2I(n) \
	_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23))
#define VF_SWAP_PAIRS(v) _mm512_permute_ps((v), 0xb1)
#define VF_DUP_PAIRS(p)                                                                              \
	_mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7),   \
			      _mm512_castps256_ps512(_mm256_loadu_ps(p)))
#define VF_BLEND_ODD(a, b) _mm512_mask_blend_ps((__mmask16)0xaaaa, (a), (b))
#define VF_SIGN_EVEN(v) \
	_mm512_xor_ps((v), _mm512_castsi512_ps(_mm512_set1_epi64((long long)0x0000000080000000ull)))
#define VF_LD_H(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define VF_ROUND_H(v) _mm512_cvtph_ps(_mm512_cvtps_ph((v), _MM_FROUND_TO_NEAREST_INT))
#define VD __m512d
#define VD_ZERO _mm512_setzero_pd()
#define VF_SUMSQ_D(acc, v) VF_SUM_D(acc, _mm512_mul_ps((v), (v)))
#define VF_SUM_D(acc, v)                                                                      \
	((acc) = _mm512_add_pd(_mm512_add_pd((acc), _mm512_cvtps_pd(_mm512_castps512_ps256(v))), \
			       _mm512_cvtps_pd(_mm512_extractf32x8_ps((v), 1))))

static inline double VD_HSUM(__m512d v)
{
	__m256d h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
	__m128d s = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
	return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

static inline float VF_HSUM(__m512 v)
{
	__m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* ggml_vec_dot_f16's reduction (its AVX-512 build): _mm512_reduce_add_ps,
 * the same halving tree as VF_HSUM. */
#define VF_HSUM_F16DOT VF_HSUM
#define F16DOT_LAST 1

/* VF_HSUM_F16DOT of 16 vectors at once: VF_HSUM_F16DOT(v[m]) lands in lane
 * F16DOT_T_LANE(m) of the result, by the same additions (same operands,
 * same order) done on regrouped data: the 256-bit halves of pairs, then
 * the 128-bit quarters of pairs of those, then elements (0+2, 1+3) and
 * (0+1) within each quarter. */
#define F16DOT_T_LANE(m) (4 * ((m) % 4) + (m) / 4)
static inline __m512 VF_HSUM_F16DOT_T(const __m512 v[16])
{
	__m512 w[8], x[4], y[2];
#pragma GCC unroll 8
	for (int p = 0; p < 8; p++)
		w[p] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], 0x44),
				     _mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], 0xee));
#pragma GCC unroll 8
	for (int m = 0; m < 4; m++)
		x[m] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * m], w[2 * m + 1], 0x88),
				     _mm512_shuffle_f32x4(w[2 * m], w[2 * m + 1], 0xdd));
#pragma GCC unroll 8
	for (int m = 0; m < 2; m++)
		y[m] = _mm512_add_ps(_mm512_shuffle_ps(x[2 * m], x[2 * m + 1], 0x44),
				     _mm512_shuffle_ps(x[2 * m], x[2 * m + 1], 0xee));
	return _mm512_add_ps(_mm512_shuffle_ps(y[0], y[1], 0x88), _mm512_shuffle_ps(y[0], y[1], 0xdd));
}
/* v_slots_g's V accumulators per pass for one head: VACC_DC vectors of each of 4 slots */
#define VACC_DC 4

static inline float VF_HMAX(__m512 v)
{
	__m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
	__m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
	s = _mm_max_ps(s, _mm_movehl_ps(s, s));
	s = _mm_max_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

#include "ops_x86.h"

void qk_ops_fill_avx512(qk_isa *t)
{
	fill_ops_avx512(t);
}
