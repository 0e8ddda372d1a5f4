/*
 * ops_x86.h - the x86 row ops (rmsnorm, silu*mul, softmax, add, rope,
 * argmax), written once over a float vector of VW lanes and compiled by
 * ops_avx2.c (8 lanes) and ops_avx512.c (16 lanes), which define the V*
 * macros below and QK_SFX.
 *
 * Invariants:
 * - Where the reference is plain IEEE arithmetic (add, rope's rotation
 *   with its two fused multiply-adds, rmsnorm's scaling, argmax) the
 *   vector code does the same operations, so it is bit-identical to the
 *   reference; sums of squares and of exponentials are accumulated in
 *   double like the reference, only in a different order.
 * - exp is a polynomial: for silu and the attention llama.cpp's own (gexp,
 *   the sequence of its AVX2 or AVX-512 build), for the softmax op ours
 *   (vexp, about 2 ulp); either differs from the libm reference by a few
 *   ulp (t4003 bounds this).  silu and the attention, whose summation
 *   orders follow llama.cpp's too (attn_heads), match llama.cpp's
 *   build for the same ISA bit for bit (t3100, t3102 on AVX2).
 * - attn_group runs the query heads of a GQA group together (each K and
 *   V vector loaded once for all of them) with, per head, exactly the
 *   operations attn_head runs it with alone: the same bytes (t4004).
 * - Tails shorter than a vector go through the same vector code on a
 *   zero-padded copy, so there is one code path per op.
 * Requires: QK_SFX(name); VF, VW; VF_ZERO, VF_SET1, VF_LD, VF_ST, VF_ADD,
 * VF_SUB, VF_MUL, VF_DIV, VF_MAX, VF_MIN, VF_FMA, VF_FMS (a b - c), VF_HSUM, VF_HMAX;
 * VF_ROUND (to nearest), VF_POW2I(n) (2^n for integral n in a float
 * vector, n in [-126, 127]); VF_SUMSQ_D(acc, v) / VF_SUM_D(acc, v) adding
 * the float squares / values of v to a double accumulator type VD, with
 * VD_ZERO and VD_HSUM; VF_SWAP_PAIRS(v) (lanes 2i and 2i+1 swapped),
 * VF_DUP_PAIRS(p) (load VW/2 floats, each twice), VF_SIGN_EVEN(v) (even
 * lanes negated), VF_BLEND_ODD(a, b) (even lanes of a, odd lanes of b),
 * VF_LD_H(p) (VW halves as floats), VF_ROUND_H(v) (rounded to half and
 * back), VF_HSUM_F16DOT and F16DOT_LAST (ggml_vec_dot_f16's lane
 * reduction: halving down to F16DOT_LAST lanes, then adjacent pairs).
 */
#include "cpu.h"

#include <math.h>
#include <string.h>

#define OINLINE static inline __attribute__((always_inline))

/* e^x, x first clamped to [-87.3, 88.7]: x = n ln2 + r with |r| <= ln2/2
 * (ln2 in two parts), e^r by its degree-7 Taylor polynomial (truncation
 * below 1e-8 relative), times 2^n built in the exponent bits (in two
 * halves so that n = 128 works). */
OINLINE VF vexp(VF x)
{
	VF xc = VF_MIN(VF_MAX(x, VF_SET1(-87.3f)), VF_SET1(88.7f));
	VF n = VF_ROUND(VF_MUL(xc, VF_SET1(1.44269504088896341f)));
	VF r = VF_FMA(n, VF_SET1(-0.693359375f), xc);
	r = VF_FMA(n, VF_SET1(2.12194440e-4f), r);
	VF p = VF_SET1(1.0f / 5040);
	p = VF_FMA(p, r, VF_SET1(1.0f / 720));
	p = VF_FMA(p, r, VF_SET1(1.0f / 120));
	p = VF_FMA(p, r, VF_SET1(1.0f / 24));
	p = VF_FMA(p, r, VF_SET1(1.0f / 6));
	p = VF_FMA(p, r, VF_SET1(0.5f));
	p = VF_FMA(p, r, VF_SET1(1.0f));
	p = VF_FMA(p, r, VF_SET1(1.0f));
	VF h = VF_ROUND(VF_MUL(n, VF_SET1(0.5f)));
	return VF_MUL(VF_MUL(p, VF_POW2I(h)), VF_POW2I(VF_SUB(n, h)));
}

#if VW == 16
/* e^x in llama.cpp's order (ggml's AVX-512 ggml_v_expf; the constants and
 * the operation sequence must be its own for bit-identical silu and
 * softmax, the code is ours): n = round(x / ln2) by the 1.5 * 2^23 shift,
 * b = x - n ln2 (ln2 in two parts), e^b by a degree-5 minimax polynomial
 * evaluated as (c5 b + c4) u + (c3 b + c2)) u + (c1 b + 1) with u = b^2,
 * scaled by 2^n with vscalefps; |n| > 192 gives +inf or 0. */
OINLINE __m512 gexp(__m512 x)
{
	const __m512 shift = _mm512_set1_ps(0x1.8p23f);
	const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), shift), shift);
	const __m512 hi = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x);
	const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f), hi);
	const __m512 u = _mm512_mul_ps(b, b);
	const __m512 p54 = _mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f));
	const __m512 p32 = _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f));
	const __m512 p10 = _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f));
	const __m512 poly = _mm512_fmadd_ps(_mm512_fmadd_ps(p54, u, p32), u, p10);
	const __m512 res = _mm512_scalef_ps(poly, n);
	const __mmask16 big = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192), _CMP_GT_OQ);
	if (!big)
		return res;
	const __mmask16 neg = _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ);
	const __m512 edge = _mm512_mask_blend_ps(neg, _mm512_set1_ps(INFINITY), _mm512_setzero_ps());
	return _mm512_mask_blend_ps(big, res, edge);
}
#else
/* e^x in llama.cpp's order (ggml's AVX2 ggml_v_expf; as above, its
 * constants and operation sequence, our code): z = x / ln2 + 1.5 * 2^23,
 * n = z - 1.5 * 2^23, b = x - n ln2 (two parts), the same polynomial as
 * (c5 b + c4) u + (c3 b + c2)) u + c1 b, and 2^n built from the bits of z
 * (k = 2^n): k + k * poly; when |n| > 126 the scale is split in two
 * (s1 * (s2 + s2 * poly)), and |n| > 192 gives s1 * s1 (+inf or 0). */
OINLINE __m256 gexp(__m256 x)
{
	const __m256 r = _mm256_set1_ps(0x1.8p23f);
	const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
	const __m256 n = _mm256_sub_ps(z, r);
	const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
					  _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
	const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
	const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
	const __m256 an = _mm256_andnot_ps(_mm256_set1_ps(-0.f), n);
	const __m256 c = _mm256_cmp_ps(an, _mm256_set1_ps(126), _CMP_GT_OQ);
	const __m256 u = _mm256_mul_ps(b, b);
	const __m256 p54 = _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f));
	const __m256 p32 = _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f));
	const __m256 j = _mm256_fmadd_ps(_mm256_fmadd_ps(p54, u, p32), u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
	if (!_mm256_movemask_ps(c))
		return _mm256_fmadd_ps(j, k, k);
	const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
					   _mm256_set1_epi32((int)0x82000000u));
	const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
	const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
	const __m256 d = _mm256_cmp_ps(an, _mm256_set1_ps(192), _CMP_GT_OQ);
	const __m256 split = _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1);
	const __m256 mid = _mm256_blendv_ps(_mm256_fmadd_ps(k, j, k), split, c);
	return _mm256_blendv_ps(mid, _mm256_mul_ps(s1, s1), d);
}
#endif
#define SILU_EXP gexp

/* Scratch for the zero-padded tail of a row. */
#define TAIL_BUF float tail_[4][VW] __attribute__((aligned(64)))

static void QK_SFX(add)(float *y, const float *a, const float *b, int64_t d)
{
	int64_t i = 0;
	for (; i + VW <= d; i += VW)
		VF_ST(y + i, VF_ADD(VF_LD(a + i), VF_LD(b + i)));
	for (; i < d; i++)
		y[i] = a[i] + b[i];
}

static void QK_SFX(silu_mul)(float *y, const float *g, const float *u, int64_t d)
{
	TAIL_BUF;
	const VF one = VF_SET1(1.0f);
	for (int64_t i = 0; i < d; i += VW) {
		int64_t n = d - i < VW ? d - i : VW;
		const float *gp = g + i, *up = u + i;
		float *yp = y + i;
		if (n < VW) {
			memset(tail_, 0, sizeof tail_);
			memcpy(tail_[0], gp, (size_t)n * 4);
			memcpy(tail_[1], up, (size_t)n * 4);
			gp = tail_[0], up = tail_[1], yp = tail_[2];
		}
		VF gv = VF_LD(gp);
		VF s = VF_DIV(gv, VF_ADD(one, SILU_EXP(VF_SUB(VF_ZERO, gv))));
		VF_ST(yp, VF_MUL(s, VF_LD(up)));
		if (n < VW)
			memcpy(y + i, tail_[2], (size_t)n * 4);
		/* ggml's tail: x / (1 + expf(-x)) * g with libm expf */
		for (int64_t k = 0; n < VW && k < n; k++)
			y[i + k] = tail_[0][k] / (1.0f + expf(-tail_[0][k])) * tail_[1][k];
	}
}

static void QK_SFX(rmsnorm)(float *y, const float *x, const float *g, int64_t d, float eps)
{
	TAIL_BUF;
	VD acc = VD_ZERO;
	int64_t i = 0;
	for (; i + VW <= d; i += VW) {
		VF v = VF_LD(x + i);
		VF_SUMSQ_D(acc, v);
	}
	double sum = VD_HSUM(acc);
	for (int64_t j = i; j < d; j++)
		sum += (double)(x[j] * x[j]);
	float mean = (float)(sum / (double)d);
	VF scale = VF_SET1(1.0f / sqrtf(mean + eps));
	for (i = 0; i < d; i += VW) {
		int64_t n = d - i < VW ? d - i : VW;
		const float *xp = x + i, *gp = g + i;
		float *yp = y + i;
		if (n < VW) {
			memset(tail_, 0, sizeof tail_);
			memcpy(tail_[0], xp, (size_t)n * 4);
			memcpy(tail_[1], gp, (size_t)n * 4);
			xp = tail_[0], gp = tail_[1], yp = tail_[2];
		}
		VF_ST(yp, VF_MUL(VF_MUL(VF_LD(xp), scale), VF_LD(gp)));
		if (n < VW)
			memcpy(y + i, tail_[2], (size_t)n * 4);
	}
}

static void QK_SFX(softmax)(float *y, const float *x, int64_t d, float scale)
{
	TAIL_BUF;
	VF sc = VF_SET1(scale);
	VF mv = VF_SET1(-INFINITY);
	int64_t i = 0;
	for (; i + VW <= d; i += VW)
		mv = VF_MAX(mv, VF_MUL(VF_LD(x + i), sc));
	float max = VF_HMAX(mv);
	for (int64_t j = i; j < d; j++)
		max = x[j] * scale > max ? x[j] * scale : max;
	VF m = VF_SET1(max);
	VD acc = VD_ZERO;
	double sum = 0;
	for (i = 0; i < d; i += VW) {
		int64_t n = d - i < VW ? d - i : VW;
		VF e;
		if (n == VW) {
			e = vexp(VF_SUB(VF_MUL(VF_LD(x + i), sc), m));
			VF_ST(y + i, e);
			VF_SUM_D(acc, e);
		} else {
			memset(tail_, 0, sizeof tail_);
			memcpy(tail_[0], x + i, (size_t)n * 4);
			e = vexp(VF_SUB(VF_MUL(VF_LD(tail_[0]), sc), m));
			VF_ST(tail_[1], e);
			for (int j = 0; j < n; j++) {
				y[i + j] = tail_[1][j];
				sum += (double)tail_[1][j];
			}
		}
	}
	sum += VD_HSUM(acc);
	VF inv = VF_SET1((float)(1.0 / sum));
	for (i = 0; i + VW <= d; i += VW)
		VF_ST(y + i, VF_MUL(VF_LD(y + i), inv));
	for (; i < d; i++)
		y[i] *= (float)(1.0 / sum);
}

/* The reference's rotation, y0 = fma(x0, c, -(x1 s)) and y1 = fma(x0, s,
 * x1 c), lane for lane.  NeoX pairs (i, i + n/2) are two contiguous runs;
 * normal pairs (2i, 2i+1) are adjacent lanes: with w = swap(x) and
 * ns = [-s, s], even lanes are fma(x, c, w * ns), odd lanes
 * fma(w, ns, x * c). */
static void QK_SFX(rope)(float *x, const float *c, const float *s, int n_rot, int neox)
{
	int half = n_rot / 2, i = 0;
	if (neox) {
		for (; i + VW <= half; i += VW) {
			VF x0 = VF_LD(x + i), x1 = VF_LD(x + i + half);
			VF cv = VF_LD(c + i), sv = VF_LD(s + i);
			VF_ST(x + i, VF_FMS(x0, cv, VF_MUL(x1, sv)));
			VF_ST(x + i + half, VF_FMA(x0, sv, VF_MUL(x1, cv)));
		}
	} else {
		for (; 2 * i + VW <= n_rot; i += VW / 2) {
			VF v = VF_LD(x + 2 * i), w = VF_SWAP_PAIRS(v);
			VF cv = VF_DUP_PAIRS(c + i), sv = VF_DUP_PAIRS(s + i);
			VF ns = VF_SIGN_EVEN(sv);  /* [-s, s] */
			VF even = VF_FMA(v, cv, VF_MUL(w, ns)), odd = VF_FMA(w, ns, VF_MUL(v, cv));
			VF_ST(x + 2 * i, VF_BLEND_ODD(even, odd));
		}
	}
	for (; i < half; i++) {
		int i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
		float x0 = x[i0], x1 = x[i1];
		x[i0] = fmaf(x0, c[i], -(x1 * s[i]));
		x[i1] = fmaf(x0, s[i], x1 * c[i]);
	}
}

/* The largest value (NaNs skipped: max(v, acc) keeps acc when v is NaN),
 * then the first index holding it; 0 when everything is NaN. */
static int64_t QK_SFX(argmax)(const float *x, int64_t d)
{
	VF mv = VF_SET1(-INFINITY);
	int64_t i = 0;
	for (; i + VW <= d; i += VW)
		mv = VF_MAX(VF_LD(x + i), mv);
	float max = VF_HMAX(mv);
	for (; i < d; i++)
		max = x[i] > max ? x[i] : max;
	for (i = 0; i < d; i++)
		if (x[i] == max)
			return i;
	return 0;
}

/* VW floats to halves as qk_fp32_to_fp16: the conversion instruction
 * rounds to nearest even like it; NaNs become their sign's quiet NaN. */
OINLINE void QK_SFX(to_f16_v)(uint16_t *y, VF x)
{
#if VW == 16
	__m256i h = _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m256i q = _mm512_cvtepi32_epi16(_mm512_or_si512(
		_mm512_and_si512(_mm512_srli_epi32(_mm512_castps_si512(x), 16), _mm512_set1_epi32(0x8000)),
		_mm512_set1_epi32(0x7e00)));
	h = _mm256_mask_blend_epi16(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), h, q);
	_mm256_storeu_si256((__m256i *)y, h);
#else
	__m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m256i s = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(x), 16),
						      _mm256_set1_epi32(0x8000)),
				    _mm256_set1_epi32(0x7e00));
	__m128i q = _mm_packus_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
	__m256i n = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
	__m128i nm = _mm_packs_epi32(_mm256_castsi256_si128(n), _mm256_extracti128_si256(n, 1));
	_mm_storeu_si128((__m128i *)y, _mm_blendv_epi8(h, q, nm));
#endif
}

static void QK_SFX(to_f16)(uint16_t *y, const float *x, int64_t d)
{
	int64_t i = 0;
	for (; i + VW <= d; i += VW)
		QK_SFX(to_f16_v)(y + i, VF_LD(x + i));
	if (i < d) {
		float t[VW] = {0};
		uint16_t u[VW];
		memcpy(t, x + i, (size_t)(d - i) * 4);
		QK_SFX(to_f16_v)(u, VF_LD(t));
		memcpy(y + i, u, (size_t)(d - i) * 2);
	}
}

#define LD_KV(p) (f16 ? VF_LD_H(p) : VF_LD((const float *)(p)))

/* q . k for one position outside qk_block_g (see attn_heads): batched
 * with an F16 cache one chain of VW lanes reduced by VF_HSUM, else four
 * chains over the whole steps of 4 VW folded (0+2) + (1+3) and reduced by
 * VF_HSUM_F16DOT, the rest added in double (F16) or float (F32). */
OINLINE float QK_SFX(qk_row)(const float *q, const uint8_t *kr, int hd, int f16, int batched)
{
	const size_t es = f16 ? 2 : 4;
	const int dp = hd & ~(4 * VW - 1);
	if (batched && f16) {
		VF a = VF_ZERO;
		for (int d = 0; d < hd; d += VW)
			a = VF_FMA(LD_KV(kr + es * d), VF_LD(q + d), a);
		return VF_HSUM(a);
	}
	float red = 0;
	if (dp) {
		VF a[4] = {VF_ZERO, VF_ZERO, VF_ZERO, VF_ZERO};
		for (int d = 0; d < dp; d += 4 * VW)
			for (int c = 0; c < 4; c++)
				a[c] = VF_FMA(LD_KV(kr + es * (d + VW * c)), VF_LD(q + d + VW * c), a[c]);
		red = VF_HSUM_F16DOT(VF_ADD(VF_ADD(a[0], a[2]), VF_ADD(a[1], a[3])));
	}
	if (f16) {
		double sum = red;
		for (int d = dp; d < hd; d++)
			sum += (double)(qk_fp16_to_fp32((uint16_t)(kr[2 * d] | kr[2 * d + 1] << 8)) * q[d]);
		return (float)sum;
	}
	const float *kf = (const float *)kr;
	int d = dp;
	for (; d + 4 <= hd; d++)
		red += kf[d] * q[d];
	for (; d < hd; d++)
		red = fmaf(kf[d], q[d], red);
	return red;
}

/* scores[0 .. n) (scaled q.k, the largest of them max) to probabilities in
 * place: e_j = gexp(s_j - max) VW at a time, positions past n zeroed (the
 * scores array holds n rounded up to VW), each VW summed by VF_HSUM into
 * a double; p_j = e_j * (float)(1 / sum), rounded to half for F16. */
OINLINE void QK_SFX(att_probs)(float *scores, int64_t n, float max, int f16)
{
	double sum = 0;
	for (int64_t j = 0; j < n; j += VW) {
		VF e = gexp(VF_SUB(VF_LD(scores + j), VF_SET1(max)));
		if (n - j < VW) { /* masked positions */
			float t[VW] __attribute__((aligned(64)));
			VF_ST(t, e);
			for (int64_t i = n - j; i < VW; i++)
				t[i] = 0;
			e = VF_LD(t);
		}
		VF_ST(scores + j, e);
		sum += (double)VF_HSUM(e);
	}
	const VF inv = VF_SET1((float)(1.0 / sum));
	for (int64_t j = 0; j < n; j += VW) {
		VF pj = VF_MUL(VF_LD(scores + j), inv);
		VF_ST(scores + j, f16 ? VF_ROUND_H(pj) : pj);
	}
}

_Static_assert(F16DOT_LAST == 1 || F16DOT_LAST == 4, "att_fold knows these two trees");

/* out[hd] from the VW rows of hd at part (the V slots' sums): batched the
 * halving tree down to one row, alone VF_HSUM_F16DOT's tree (halving to
 * F16DOT_LAST rows, then adjacent pairs); unrolled, in registers. */
OINLINE void QK_SFX(att_fold)(float *out, const float *part, int hd, int batched)
{
	for (int d = 0; d < hd; d += VW) {
		VF b[VW];
#pragma GCC unroll 16
		for (int l = 0; l < VW; l++)
			b[l] = VF_LD(part + (size_t)l * (size_t)hd + d);
#define HALVE(w)                                                  \
	do {                                                      \
		_Pragma("GCC unroll 16")                            \
		for (int l = 0; l < (w) / 2; l++)                 \
			b[l] = VF_ADD(b[l], b[l + (w) / 2]);      \
	} while (0)
#if VW == 16
		HALVE(16);
#endif
		HALVE(8);
		if (batched || F16DOT_LAST < 4) {
			HALVE(4);
			HALVE(2);
		} else { /* adjacent pairs, as _mm_hadd_ps */
			b[0] = VF_ADD(VF_ADD(b[0], b[1]), VF_ADD(b[2], b[3]));
		}
#undef HALVE
		VF_ST(out + d, b[0]);
	}
}

/* ------------------------------------------------- a GQA group of heads */

/* attn_heads runs up to ATT_NH query heads of a group together (on AVX2
 * some of their chains spill, still faster than two passes over K and V
 * for 3 heads); v_slots_g keeps ATT_DC(nh) vectors of d of each of 4
 * slots per head in registers, a power of two up to VACC_DC within
 * VACC_REGS accumulators. */
#define ATT_NH 4
#define VACC_REGS (VW == 16 ? 24 : 4 * VACC_DC)
#define ATT_DC(nh) (4 * (nh) * VACC_DC <= VACC_REGS ? VACC_DC : 4 * (nh) * (VACC_DC / 2) <= VACC_REGS ? VACC_DC / 2 : 1)
/* K rows are prefetched this many positions ahead of their dot products */
#define ATT_PF (2 * VW)

/* Prefetch the lines of bytes at r. */
OINLINE void QK_SFX(att_prefetch_row)(const uint8_t *r, size_t bytes)
{
	for (uintptr_t a = (uintptr_t)r & ~(uintptr_t)63; a < (uintptr_t)(r + bytes); a += 64)
		_mm_prefetch((const char *)a, _MM_HINT_T0);
}

OINLINE void QK_SFX(att_prefetch_row_t1)(const uint8_t *r, size_t bytes)
{
	for (uintptr_t a = (uintptr_t)r & ~(uintptr_t)63; a < (uintptr_t)(r + bytes); a += 64)
		_mm_prefetch((const char *)a, _MM_HINT_T1);
}

/* Prefetch positions [j0, min(j1, n)) of a cache head (bytes at base +
 * rows[j] stride): the rows of a sequence lie in blocks spread over the
 * cache, and a batch's caches over all layers are far beyond L3, so the
 * hardware prefetchers alone leave the kernel waiting on memory. */
OINLINE void QK_SFX(att_prefetch)(const uint8_t *base, size_t stride, const int64_t *rows, int64_t j0, int64_t j1,
				  int64_t n, size_t bytes)
{
	for (int64_t j = j0; j < (j1 < n ? j1 : n); j++)
		QK_SFX(att_prefetch_row)(base + (size_t)rows[j] * stride, bytes);
}

/* Scores of the VW positions j0 .. j0 + VW - 1 of a decode token for nh
 * heads (q + h hd) at once (rows past n repeat the last row): per head
 * each q . k_j as four chains folded (0+2) + (1+3), the VW folded vectors
 * reduced together by VF_HSUM_F16DOT_T (the additions of VF_HSUM_F16DOT,
 * one result per lane), times scale; each K vector is loaded once and
 * multiplied into every head's chains.  hd a multiple of 4 VW.  qv: when
 * hd is 4 VW, the heads' q in registers (qv[4 h + c] = q + h hd + c VW),
 * else NULL.  s[h]: head h's VW scores.  Prefetches the K rows ATT_PF
 * positions on. */
OINLINE void QK_SFX(qk_block_g)(VF *s, const float *q, const VF *qv, int nh, const uint8_t *k, size_t stride,
				const int64_t *rows, int64_t j0, int64_t n, int hd, int f16, VF scale)
{
	const size_t es = f16 ? 2 : 4;
	VF t[ATT_NH][VW];
#pragma GCC unroll 16
	for (int m = 0; m < VW; m++) {
		int64_t j = j0 + F16DOT_T_LANE(m);
		const uint8_t *kr = k + (size_t)rows[j < n ? j : n - 1] * stride;
		if (j0 + m + ATT_PF < n)
			QK_SFX(att_prefetch_row)(k + (size_t)rows[j0 + m + ATT_PF] * stride, (size_t)hd * es);
		VF a[ATT_NH][4];
#pragma GCC unroll 4
		for (int h = 0; h < nh; h++)
#pragma GCC unroll 4
			for (int c = 0; c < 4; c++)
				a[h][c] = VF_ZERO;
		for (int d = 0; d < (qv ? 4 * VW : hd); d += 4 * VW)
#pragma GCC unroll 4
			for (int c = 0; c < 4; c++) {
				VF kv = LD_KV(kr + es * (d + VW * c));
#pragma GCC unroll 4
				for (int h = 0; h < nh; h++)
					a[h][c] = VF_FMA(kv, qv ? qv[4 * h + c] : VF_LD(q + (size_t)h * hd + d + VW * c),
							 a[h][c]);
			}
#pragma GCC unroll 4
		for (int h = 0; h < nh; h++)
			t[h][m] = VF_ADD(VF_ADD(a[h][0], a[h][2]), VF_ADD(a[h][1], a[h][3]));
	}
#pragma GCC unroll 4
	for (int h = 0; h < nh; h++)
		s[h] = VF_MUL(VF_HSUM_F16DOT_T(t[h]), scale);
}

/* The scores of a decode token for nh heads (hd a multiple of 4 VW), VW
 * positions at a time by qk_block_g, into sc + h pstep; max[h]: head h's
 * largest.  qv as for qk_block_g. */
OINLINE void QK_SFX(qk_blocks_g)(float *sc, size_t pstep, float *max, const float *q, const VF *qv, int nh,
				 const uint8_t *k, size_t stride, const int64_t *rows, int64_t n, int hd, int f16,
				 float scale)
{
	const VF scv = VF_SET1(scale);
	VF mv[ATT_NH], s[ATT_NH];
	QK_SFX(att_prefetch)(k, stride, rows, 0, ATT_PF, n, (size_t)hd * (f16 ? 2 : 4));
#pragma GCC unroll 4
	for (int h = 0; h < nh; h++)
		mv[h] = VF_SET1(-INFINITY);
	int64_t j = 0;
	for (; j + VW <= n; j += VW) {
		QK_SFX(qk_block_g)(s, q, qv, nh, k, stride, rows, j, n, hd, f16, scv);
#pragma GCC unroll 4
		for (int h = 0; h < nh; h++) {
			VF_ST(sc + h * pstep + j, s[h]);
			mv[h] = VF_MAX(s[h], mv[h]);
		}
	}
#pragma GCC unroll 4
	for (int h = 0; h < nh; h++)
		max[h] = VF_HMAX(mv[h]);
	if (j < n) {
		/* scores past n in the last block are overwritten later */
		QK_SFX(qk_block_g)(s, q, qv, nh, k, stride, rows, j, n, hd, f16, scv);
#pragma GCC unroll 4
		for (int h = 0; h < nh; h++) {
			float *sh = sc + h * pstep;
			VF_ST(sh + j, s[h]);
			for (int64_t i = j; i < n; i++)
				max[h] = sh[i] > max[h] ? sh[i] : max[h];
		}
	}
}

/* Four accumulator slots of the transposed-V matmul for nh heads at
 * once, s0 + c ds for c < 4: slot s takes positions s, s + S, s + 2 S, ...
 * in order, each d's chain starting from 0 and adding fma(v_j[d], p_j,
 * acc); done DC vectors of d at a time in registers.  Head h's
 * probabilities at p + h pstep, its slots at out + h ostep: fold, (slot 0
 * + slot 2) + (slot 1 + slot 3), else slot c at + c hd.  Each V vector is
 * loaded once and multiplied into every head's chains.  Prefetches the
 * rows pfd positions after its own (those of the next call). */
OINLINE void QK_SFX(v_slots_g)(float *out, size_t ostep, const uint8_t *v, size_t stride, const int64_t *rows,
			       const float *p, size_t pstep, int nh, int64_t n, int hd, int f16, int64_t s0,
			       int64_t ds, int64_t S, int fold, int DC, int64_t pfd)
{
	const size_t es = f16 ? 2 : 4;
	for (int d0 = 0; d0 < hd; d0 += DC * VW) {
		VF a[ATT_NH][4][VACC_DC];
#pragma GCC unroll 4
		for (int h = 0; h < nh; h++)
#pragma GCC unroll 4
			for (int c = 0; c < 4; c++)
#pragma GCC unroll 16
				for (int e = 0; e < DC; e++)
					a[h][c][e] = VF_ZERO;
#define V_STEP(c, j)                                                                                \
	do {                                                                                        \
		const uint8_t *vr_ = v + (size_t)rows[j] * stride + es * (size_t)d0;                \
		VF x_[VACC_DC];                                                                     \
		if ((j) + pfd < n)                                                                  \
			QK_SFX(att_prefetch_row)(v + (size_t)rows[(j) + pfd] * stride + es * (size_t)d0, \
						 es * (size_t)(DC * VW));                           \
		_Pragma("GCC unroll 16")                                                              \
		for (int e = 0; e < DC; e++)                                                        \
			x_[e] = LD_KV(vr_ + es * (size_t)(VW * e));                                 \
		_Pragma("GCC unroll 4")                                                               \
		for (int h = 0; h < nh; h++) {                                                      \
			VF pj_ = VF_SET1(p[(size_t)h * pstep + (size_t)(j)]);                        \
			_Pragma("GCC unroll 16")                                                      \
			for (int e = 0; e < DC; e++)                                                \
				a[h][c][e] = VF_FMA(x_[e], pj_, a[h][c][e]);                        \
		}                                                                                   \
	} while (0)
		int64_t j = s0;
		for (; j + 3 * ds < n; j += S)
#pragma GCC unroll 16
			for (int c = 0; c < 4; c++)
				V_STEP(c, j + c * ds);
#pragma GCC unroll 16
		for (int c = 0; c < 3; c++)
			if (j + c * ds < n)
				V_STEP(c, j + c * ds);
#undef V_STEP
#pragma GCC unroll 4
		for (int h = 0; h < nh; h++)
#pragma GCC unroll 16
			for (int e = 0; e < DC; e++) {
				float *o = out + (size_t)h * ostep + d0 + VW * e;
				if (fold)
					VF_ST(o, VF_ADD(VF_ADD(a[h][0][e], a[h][2][e]), VF_ADD(a[h][1][e], a[h][3][e])));
				else
#pragma GCC unroll 16
					for (int c = 0; c < 4; c++)
						VF_ST(o + (size_t)c * (size_t)hd, a[h][c][e]);
			}
	}
}

/* Attention in llama.cpp's order (its non-flash path, which made the
 * goldens: K.q and V.softmax are matmuls).  A token standing for a batch
 * (batched = 1) takes the order of llama.cpp's batched matmuls, a decode
 * token that of its one-token ones:
 * - q . k_j: with an F16 cache llama.cpp rounds q to half (the caller did)
 *   and, batched, runs tinyBLAS: one chain of VW lanes over the head,
 *   reduced by VF_HSUM (the halving tree: lanes l and l + w/2 added, w
 *   halved).  Alone, and with an F32 cache always (q is not contiguous
 *   there, so it takes ggml's vec_dot), four chains over steps of 4 VW,
 *   folded (0+2) + (1+3), reduced by VF_HSUM_F16DOT; the elements after
 *   the last whole step added in double (F16), or in float (F32, as GCC
 *   compiled ggml_vec_dot_f32's tail: the products of whole fours rounded
 *   and added in order, the last 1..3 by fused multiply-adds).  Alone
 *   with no such elements (hd a multiple of 4 VW), VW positions at a time
 *   (qk_block_g: the same additions, the reductions side by side);
 * - times scale; e_j = ggml's exp (gexp) of s_j - max over VW positions
 *   at a time from position 0, each VW reduced by VF_HSUM and summed in
 *   double (positions past n count as masked: e = 0, which adds nothing,
 *   as llama.cpp's padded cache does); p_j = e_j * (float)(1 / sum),
 *   rounded to half for an F16 cache;
 * - out[d] = sum_j p_j v_j[d] as the transposed-V matmul: slot j % S of S
 *   accumulator chains per d (S = VW batched, 4 VW alone), positions in
 *   order, the slots then folded like the lanes of the dots above
 *   (alone: chains (0+2) + (1+3) first, then VF_HSUM_F16DOT's tree).  The
 *   chains are run four slots at a time in registers (v_slots_g), their
 *   sums (alone: folded) kept in VW rows of hd before the tree.
 * attn_heads runs nh <= ATT_NH query heads sharing one KV head (head h's
 * q, rounded for F16, at q + h hd, its result at out + h hd): the scores
 * of all nh heads in one pass over K and their V products in one pass over
 * V, each K and V vector loaded (and converted) once; every head gets the
 * operations above in their order, so the bytes it gets alone (nh = 1, as
 * attn_head runs it; t4004).  Needs hd a multiple of VW.  sc: nh (n
 * rounded up to 64) floats of scores, then nh VW hd of slots. */
OINLINE void QK_SFX(attn_heads)(float *out, const float *q, int nh, const uint8_t *k, const uint8_t *v,
				size_t stride, const int64_t *rows, int64_t n, int hd, int f16, int batched,
				float scale, float *sc)
{
	const size_t es = f16 ? 2 : 4, hb = (size_t)hd * es;
	const int64_t np = (n + 63) & ~(int64_t)63;
	float *part = sc + (size_t)nh * (size_t)np;
	const size_t pstep = (size_t)np, ostep = (size_t)VW * (size_t)hd;
	float max[ATT_NH];
	/* all V rows towards L2 while K is read: the V pass visits them in
	 * slot order, too little work between rows to hide memory */
	for (int64_t j = 0; j < n; j++)
		QK_SFX(att_prefetch_row_t1)(v + (size_t)rows[j] * stride, hb);
#pragma GCC unroll 4
	for (int h = 0; h < nh; h++)
		max[h] = -INFINITY;
	if (!batched && hd == 4 * VW) {
		VF qv[4 * ATT_NH];
#pragma GCC unroll 16
		for (int i = 0; i < 4 * nh; i++)
			qv[i] = VF_LD(q + VW * i);
		QK_SFX(qk_blocks_g)(sc, pstep, max, q, qv, nh, k, stride, rows, n, hd, f16, scale);
	} else if (!batched && (hd & (4 * VW - 1)) == 0) {
		QK_SFX(qk_blocks_g)(sc, pstep, max, q, NULL, nh, k, stride, rows, n, hd, f16, scale);
	} else {
		/* one position at a time: qk_row's operations (batched F16:
		 * its single chain, written out to share each K vector) */
		QK_SFX(att_prefetch)(k, stride, rows, 0, ATT_PF, n, hb);
		for (int64_t j = 0; j < n; j++) {
			const uint8_t *kr = k + (size_t)rows[j] * stride;
			float s[ATT_NH];
			QK_SFX(att_prefetch)(k, stride, rows, j + ATT_PF, j + ATT_PF + 1, n, hb);
			if (batched && f16) {
				VF a[ATT_NH];
#pragma GCC unroll 4
				for (int h = 0; h < nh; h++)
					a[h] = VF_ZERO;
				for (int d = 0; d < hd; d += VW) {
					VF kv = LD_KV(kr + es * d);
#pragma GCC unroll 4
					for (int h = 0; h < nh; h++)
						a[h] = VF_FMA(kv, VF_LD(q + (size_t)h * hd + d), a[h]);
				}
#pragma GCC unroll 4
				for (int h = 0; h < nh; h++)
					s[h] = VF_HSUM(a[h]);
			} else {
#pragma GCC unroll 4
				for (int h = 0; h < nh; h++)
					s[h] = QK_SFX(qk_row)(q + (size_t)h * hd, kr, hd, f16, batched);
			}
#pragma GCC unroll 4
			for (int h = 0; h < nh; h++) {
				float *sh = sc + h * pstep;
				sh[j] = s[h] * scale;
				max[h] = sh[j] > max[h] ? sh[j] : max[h];
			}
		}
	}
	/* V: slot groups as described above; the rows of the first group
	 * prefetched here, v_slots_g prefetches those of the next */
	const int64_t ng = batched ? VW / 4 : VW, gw = batched ? 4 : 1;
	for (int64_t i = 0; i < n; i += VW)
		QK_SFX(att_prefetch)(v, stride, rows, i, i + gw, n, hb);
	for (int h = 0; h < nh; h++)
		QK_SFX(att_probs)(sc + h * pstep, n, max[h], f16);
	const int dc = (hd / VW) % ATT_DC(nh) ? 1 : ATT_DC(nh);
	for (int64_t g = 0; g < ng; g++) {
		int64_t s0 = gw * g, ds = batched ? 1 : VW, S = batched ? VW : 4 * VW;
		float *o = part + (size_t)s0 * (size_t)hd;
		if (dc == ATT_DC(nh))
			QK_SFX(v_slots_g)(o, ostep, v, stride, rows, sc, pstep, nh, n, hd, f16, s0, ds, S, !batched,
					  ATT_DC(nh), gw);
		else
			QK_SFX(v_slots_g)(o, ostep, v, stride, rows, sc, pstep, nh, n, hd, f16, s0, ds, S, !batched, 1,
					  gw);
	}
	for (int h = 0; h < nh; h++)
		QK_SFX(att_fold)(out + (size_t)h * hd, part + h * ostep, hd, batched);
}

/* x rounded to half and back as qk_fp32_to_fp16 / qk_fp16_to_fp32 do
 * (F16C's rounding), NaNs made the quiet NaN of their sign like them. */
OINLINE VF QK_SFX(round_h)(VF x)
{
	const VF qnan = VF_SET1(qk_fp16_to_fp32(0x7e00)), sign = VF_SET1(-0.0f);
#if VW == 16
	__mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
	return _mm512_mask_blend_ps(nan, VF_ROUND_H(x), _mm512_or_ps(_mm512_and_ps(x, sign), qnan));
#else
	__m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
	return _mm256_blendv_ps(VF_ROUND_H(x), _mm256_or_ps(_mm256_and_ps(x, sign), qnan), nan);
#endif
}

/* The g query heads of a GQA group (see cpu.h), ATT_NH at a time by
 * attn_heads, q first rounded to half for an F16 cache; the reference
 * when the head is not a multiple of VW. */
static void QK_SFX(attn_group)(float *out, const float *q, int g, const uint8_t *k, const uint8_t *v, size_t stride,
			       const int64_t *rows, int64_t n, int hd, int mode, float scale, float *scores)
{
	if (hd % VW) {
		qk_attn_group_ref(out, q, g, k, v, stride, rows, n, hd, mode, scale, scores);
		return;
	}
	int f16 = mode & QK_ATT_F16, batched = (mode & QK_ATT_BATCH) != 0;
	if (f16) {
		for (int d = 0; d < g * hd; d += VW)
			VF_ST(scores + d, QK_SFX(round_h)(VF_LD(q + d)));
		q = scores;
	}
	float *sc = scores + (size_t)g * hd;
	for (int h = 0; h < g;) {
		int nh = g - h < ATT_NH ? g - h : ATT_NH;
		float *o = out + (size_t)h * hd;
		const float *qh = q + (size_t)h * hd;
#define HEADS(NH)                                                                                     \
	(f16 ? QK_SFX(attn_heads)(o, qh, NH, k, v, stride, rows, n, hd, 1, batched, scale, sc)        \
	     : QK_SFX(attn_heads)(o, qh, NH, k, v, stride, rows, n, hd, 0, batched, scale, sc))
		switch (nh) {
		case 1: HEADS(1); break;
		case 2: HEADS(2); break;
		case 3: HEADS(3); break;
		default: HEADS(4); break;
		}
#undef HEADS
		h += nh;
	}
}

/* One query head (see cpu.h; q already rounded for an F16 cache):
 * attn_heads for a group of one, the reference when the head is not a
 * multiple of VW. */
static void QK_SFX(attn_head)(float *out, const float *q, const uint8_t *k, const uint8_t *v, size_t stride,
			      const int64_t *rows, int64_t n, int hd, int mode, float scale, float *scores)
{
	int batched = (mode & QK_ATT_BATCH) != 0;
	if (hd % VW)
		qk_attn_head_ref(out, q, k, v, stride, rows, n, hd, mode, scale, scores);
	else if (mode & QK_ATT_F16)
		QK_SFX(attn_heads)(out, q, 1, k, v, stride, rows, n, hd, 1, batched, scale, scores);
	else
		QK_SFX(attn_heads)(out, q, 1, k, v, stride, rows, n, hd, 0, batched, scale, scores);
}

#undef LD_KV

static void QK_SFX(fill_ops)(qk_isa *t)
{
	t->add = QK_SFX(add);
	t->silu_mul = QK_SFX(silu_mul);
	t->rmsnorm = QK_SFX(rmsnorm);
	t->softmax = QK_SFX(softmax);
	t->rope = QK_SFX(rope);
	t->argmax = QK_SFX(argmax);
	t->to_f16 = QK_SFX(to_f16);
	t->attn_head = QK_SFX(attn_head);
	t->attn_group = QK_SFX(attn_group);
}
