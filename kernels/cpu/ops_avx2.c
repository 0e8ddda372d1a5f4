/*
 * ops_avx2.c - the AVX2 row ops: ops_x86.h over 8-lane vectors.
 * Compiled with -mavx2 -mfma -mf16c, called only after cpuid said so.
 * Invariants: see ops_x86.h.
 */
#include <immintrin.h>

#define QK_SFX(name) name##_avx2
#define VF __m256
#define VW 8
#define VF_ZERO _mm256_setzero_ps()
#define VF_SET1 _mm256_set1_ps
#define VF_LD _mm256_loadu_ps
#define VF_ST _mm256_storeu_ps
#define VF_ADD _mm256_add_ps
#define VF_SUB _mm256_sub_ps
#define VF_MUL _mm256_mul_ps
#define VF_DIV _mm256_div_ps
#define VF_MAX _mm256_max_ps
#define VF_MIN _mm256_min_ps
#define VF_FMA _mm256_fmadd_ps
#define VF_FMS _mm256_fmsub_ps
#define VF_ROUND(v) _mm256_round_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VF_POW2I(n) \
	_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
#define VF_SWAP_PAIRS(v) _mm256_permute_ps((v), 0xb1)
#define VF_DUP_PAIRS(p) \
	_mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(p)), _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3))
#define VF_BLEND_ODD(a, b) _mm256_blend_ps((a), (b), 0xaa)
#define VF_SIGN_EVEN(v) _mm256_xor_ps((v), _mm256_setr_ps(-0.f, 0, -0.f, 0, -0.f, 0, -0.f, 0))
#define VF_LD_H(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define VF_ROUND_H(v) _mm256_cvtph_ps(_mm256_cvtps_ph((v), _MM_FROUND_TO_NEAREST_INT))
#define VD __m256d
#define VD_ZERO _mm256_setzero_pd()
#define VF_SUMSQ_D(acc, v) VF_SUM_D(acc, _mm256_mul_ps((v), (v)))
#define VF_SUM_D(acc, v)                                                                   \
	((acc) = _mm256_add_pd(_mm256_add_pd((acc), _mm256_cvtps_pd(_mm256_castps256_ps128(v))), \
			       _mm256_cvtps_pd(_mm256_extractf128_ps((v), 1))))

static inline double VD_HSUM(__m256d v)
{
	__m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
	return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

static inline float VF_HSUM(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* ggml_vec_dot_f16's reduction of an 8-lane sum (its AVX build): the
 * halves added, then two _mm_hadd_ps (adjacent lanes). */
static inline float VF_HSUM_F16DOT(__m256 v)
{
	__m128 t = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	t = _mm_hadd_ps(t, t);
	return _mm_cvtss_f32(_mm_hadd_ps(t, t));
}
#define F16DOT_LAST 4 /* VF_HSUM_F16DOT halves down to 4 lanes, then adds adjacent pairs */

/* VF_HSUM_F16DOT of 8 vectors at once: VF_HSUM_F16DOT(v[m]) lands in lane
 * F16DOT_T_LANE(m) of the result, by the same additions (same operands,
 * same order) done on regrouped data: the 128-bit halves of pairs, then
 * two rounds of _mm256_hadd_ps. */
#define F16DOT_T_LANE(m) (4 * ((m) % 2) + (m) / 2)
static inline __m256 VF_HSUM_F16DOT_T(const __m256 v[8])
{
	__m256 w[4];
#pragma GCC unroll 8
	for (int p = 0; p < 4; p++)
		w[p] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * p], v[2 * p + 1], 0x20),
				     _mm256_permute2f128_ps(v[2 * p], v[2 * p + 1], 0x31));
	return _mm256_hadd_ps(_mm256_hadd_ps(w[0], w[1]), _mm256_hadd_ps(w[2], w[3]));
}
/* v_slots_g's V accumulators per pass for one head: VACC_DC vectors of each of 4 slots */
#define VACC_DC 2

static inline float VF_HMAX(__m256 v)
{
	__m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_max_ps(s, _mm_movehl_ps(s, s));
	s = _mm_max_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

#include "ops_x86.h"

void qk_ops_fill_avx2(qk_isa *t)
{
	fill_ops_avx2(t);
}
