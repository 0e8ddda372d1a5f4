/*
 * ops_x86.h - the x86 row ops (rmsnorm, silu*mul, softmax, add, rope,
 * argmax), written once over a float vector of VW lanes and compiled by
 * ops_avx2.c (8 lanes) and ops_avx512.c (16 lanes), which define the V*
 * macros below and QK_SFX.
 *
 * Invariants:
 * - Where the reference is plain IEEE arithmetic (add, rope's rotation,
 *   rmsnorm's scaling, argmax) the vector code does the same operations
 *   without fusing, so it is bit-identical to the reference; sums of
 *   squares and of exponentials are accumulated in double like the
 *   reference, only in a different order.
 * - exp is a polynomial (vexp below, about 2 ulp), so silu and softmax
 *   differ from the libm reference by a few ulp (t4003 bounds this).  The
 *   AVX-512 build uses llama.cpp's own exp (gexp) for silu and for the
 *   attention over an F16 cache, whose summation order it also follows
 *   (attn_head_f16), so those match llama.cpp bit for bit.
 * - Tails shorter than a vector go through the same vector code on a
 *   zero-padded copy, so there is one code path per op.
 * Requires: QK_SFX(name); VF, VW; VF_ZERO, VF_SET1, VF_LD, VF_ST, VF_ADD,
 * VF_SUB, VF_MUL, VF_DIV, VF_MAX, VF_MIN, VF_FMA, VF_HSUM, VF_HMAX;
 * VF_ROUND (to nearest), VF_POW2I(n) (2^n for integral n in a float
 * vector, n in [-126, 127]); VF_SUMSQ_D(acc, v) / VF_SUM_D(acc, v) adding
 * the float squares / values of v to a double accumulator type VD, with
 * VD_ZERO and VD_HSUM; VF_SWAP_PAIRS(v) (lanes 2i and 2i+1 swapped),
 * VF_DUP_PAIRS(p) (load VW/2 floats, each twice), VF_SIGN_EVEN(v) (even
 * lanes negated), VF_LD_H(p) (VW halves as floats).
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
#define SILU_EXP gexp
#else
#define SILU_EXP vexp
#endif

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
#if VW == 16
		/* ggml's tail: x / (1 + expf(-x)) * g with libm expf */
		for (int64_t k = 0; n < VW && k < n; k++)
			y[i + k] = tail_[0][k] / (1.0f + expf(-tail_[0][k])) * tail_[1][k];
#endif
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

/* NeoX pairs (i, i + n/2) are two contiguous runs; normal pairs (2i,
 * 2i+1) are adjacent lanes: y = x * [c c] + swap(x) * [-s s]. */
static void QK_SFX(rope)(float *x, const float *c, const float *s, int n_rot, int neox)
{
	int half = n_rot / 2, i = 0;
	if (neox) {
		for (; i + VW <= half; i += VW) {
			VF x0 = VF_LD(x + i), x1 = VF_LD(x + i + half);
			VF cv = VF_LD(c + i), sv = VF_LD(s + i);
			VF_ST(x + i, VF_SUB(VF_MUL(x0, cv), VF_MUL(x1, sv)));
			VF_ST(x + i + half, VF_ADD(VF_MUL(x0, sv), VF_MUL(x1, cv)));
		}
	} else {
		for (; 2 * i + VW <= n_rot; i += VW / 2) {
			VF v = VF_LD(x + 2 * i);
			VF cv = VF_DUP_PAIRS(c + i), sv = VF_DUP_PAIRS(s + i);
			VF ns = VF_SIGN_EVEN(sv);  /* [-s, s] */
			VF_ST(x + 2 * i, VF_ADD(VF_MUL(v, cv), VF_MUL(VF_SWAP_PAIRS(v), ns)));
		}
	}
	for (; i < half; i++) {
		int i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
		float x0 = x[i0], x1 = x[i1];
		x[i0] = x0 * c[i] - x1 * s[i];
		x[i1] = x0 * s[i] + x1 * c[i];
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

#if VW == 16
/* Attention over an F16 cache in llama.cpp's order (its non-flash path,
 * AVX-512 build; flash_attn=False made the goldens): q (already rounded
 * to half) . k_j as ggml_vec_dot_f16 for a one-token op (four 16-lane
 * chains over 64-element steps, folded 0+2, 1+3, 0+1, reduced, the
 * elements after the last 64 added in double) or as tinyBLAS for a batch
 * (one chain over 16-element steps, reduced); times scale; e = ggml's exp
 * of s - max per 16 scores, each 16 reduced and summed in double (the
 * positions after n count as masked: e = 0); p = e * (float)(1 / sum)
 * rounded to half; out[d] = sum_j p_j v_j[d] with the V side transposed
 * as ggml does: lane j % S of a 16 (batch) or 64 (one token) slot
 * accumulator chain per d, positions in order, then the slots folded and
 * reduced in the same tree as the q.k dots.  The tree of
 * _mm512_reduce_add_ps is ((l, l+8), then +4, then 0+2 / 1+3, then 0+1).
 * scores: n rounded up to 64 plus 64 * hd floats. */
static void QK_SFX(attn_head_f16)(float *out, const float *q, const uint8_t *k, const uint8_t *v, size_t stride,
				  const int64_t *rows, int64_t n, int hd, int batched, float scale, float *scores)
{
	const int64_t np = (n + 63) & ~(int64_t)63;
	float *acc = scores + np;
	float max = -INFINITY;
	for (int64_t j = 0; j < n; j++) {
		const uint8_t *kr = k + (size_t)rows[j] * stride;
		float s;
		if (batched && hd % 16 == 0) {
			__m512 a = _mm512_setzero_ps();
			for (int d = 0; d < hd; d += 16)
				a = _mm512_fmadd_ps(VF_LD_H(kr + 2 * d), _mm512_loadu_ps(q + d), a);
			s = _mm512_reduce_add_ps(a);
		} else {
			int dp = hd & ~63;
			double sum = 0;
			if (dp) {
				__m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
					       _mm512_setzero_ps()};
				for (int d = 0; d < dp; d += 64)
					for (int c = 0; c < 4; c++)
						a[c] = _mm512_fmadd_ps(VF_LD_H(kr + 2 * (d + 16 * c)),
								       _mm512_loadu_ps(q + d + 16 * c), a[c]);
				a[0] = _mm512_add_ps(a[0], a[2]);
				a[1] = _mm512_add_ps(a[1], a[3]);
				sum = _mm512_reduce_add_ps(_mm512_add_ps(a[0], a[1]));
			}
			for (int d = dp; d < hd; d++)
				sum += (double)(qk_fp16_to_fp32((uint16_t)(kr[2 * d] | kr[2 * d + 1] << 8)) * q[d]);
			s = (float)sum;
		}
		scores[j] = s * scale;
		max = scores[j] > max ? scores[j] : max;
	}
	for (int64_t j = n; j < np; j++)
		scores[j] = -INFINITY;
	double sum = 0;
	for (int64_t j = 0; j < np; j += 16) {
		__m512 e = gexp(_mm512_sub_ps(_mm512_loadu_ps(scores + j), _mm512_set1_ps(max)));
		_mm512_storeu_ps(scores + j, e);
		sum += (double)_mm512_reduce_add_ps(e);
	}
	const __m512 inv = _mm512_set1_ps((float)(1.0 / sum));
	for (int64_t j = 0; j < np; j += 16) {
		__m512 pj = _mm512_mul_ps(_mm512_loadu_ps(scores + j), inv);
		_mm512_storeu_ps(scores + j, _mm512_cvtph_ps(_mm512_cvtps_ph(pj, _MM_FROUND_TO_NEAREST_INT)));
	}
	const int S = batched ? 16 : 64;
	memset(acc, 0, (size_t)S * (size_t)hd * sizeof(float));
	for (int64_t j = 0; j < n; j++) {
		const uint8_t *vr = v + (size_t)rows[j] * stride;
		float *a = acc + (size_t)(j % S) * (size_t)hd;
		__m512 pj = _mm512_set1_ps(scores[j]);
		for (int d = 0; d < hd; d += 16)
			_mm512_storeu_ps(a + d, _mm512_fmadd_ps(VF_LD_H(vr + 2 * d), pj, _mm512_loadu_ps(a + d)));
	}
#define A_(l) _mm512_loadu_ps(acc + (size_t)(l) * (size_t)hd + d)
	for (int d = 0; d < hd; d += 16) {
		__m512 b[16];
		for (int l = 0; l < 16; l++)
			b[l] = S == 64 ? _mm512_add_ps(_mm512_add_ps(A_(l), A_(l + 32)), _mm512_add_ps(A_(l + 16), A_(l + 48)))
				       : A_(l);
		for (int l = 0; l < 8; l++)
			b[l] = _mm512_add_ps(b[l], b[l + 8]);
		for (int l = 0; l < 4; l++)
			b[l] = _mm512_add_ps(b[l], b[l + 4]);
		b[0] = _mm512_add_ps(b[0], b[2]);
		b[1] = _mm512_add_ps(b[1], b[3]);
		_mm512_storeu_ps(out + d, _mm512_add_ps(b[0], b[1]));
	}
#undef A_
}
#endif

/* Attention for one query head (see cpu.h): q.k with two FMA chains per
 * row, exp over all scores, then out += p_j * v_j row by row.  Heads whose
 * size is not a multiple of 2 * VW take the reference. */
static void QK_SFX(attn_head)(float *out, const float *q, const uint8_t *k, const uint8_t *v, size_t stride,
			      const int64_t *rows, int64_t n, int hd, int f16, float scale, float *scores)
{
#if VW == 16
	if (f16 && hd % 16 == 0) {
		QK_SFX(attn_head_f16)(out, q, k, v, stride, rows, n, hd, f16 == 2, scale, scores);
		return;
	}
#endif
	if (hd % (2 * VW)) {
		qk_attn_head_ref(out, q, k, v, stride, rows, n, hd, f16, scale, scores);
		return;
	}
	TAIL_BUF;
	float max = -INFINITY;
	for (int64_t j = 0; j < n; j++) {
		const uint8_t *kr = k + (size_t)rows[j] * stride;
		VF a0 = VF_ZERO, a1 = VF_ZERO;
		for (int d = 0; d < hd; d += 2 * VW) {
			VF k0 = f16 ? VF_LD_H(kr + 2 * d) : VF_LD((const float *)kr + d);
			VF k1 = f16 ? VF_LD_H(kr + 2 * (d + VW)) : VF_LD((const float *)kr + d + VW);
			a0 = VF_FMA(VF_LD(q + d), k0, a0);
			a1 = VF_FMA(VF_LD(q + d + VW), k1, a1);
		}
		scores[j] = VF_HSUM(VF_ADD(a0, a1)) * scale;
		max = scores[j] > max ? scores[j] : max;
	}
	VF m = VF_SET1(max);
	VD acc = VD_ZERO;
	double sum = 0;
	int64_t j = 0;
	for (; j + VW <= n; j += VW) {
		VF e = vexp(VF_SUB(VF_LD(scores + j), m));
		VF_ST(scores + j, e);
		VF_SUM_D(acc, e);
	}
	if (j < n) {
		memset(tail_, 0, sizeof tail_);
		memcpy(tail_[0], scores + j, (size_t)(n - j) * 4);
		VF_ST(tail_[1], vexp(VF_SUB(VF_LD(tail_[0]), m)));
		for (int64_t i = j; i < n; i++) {
			scores[i] = tail_[1][i - j];
			sum += (double)scores[i];
		}
	}
	sum += VD_HSUM(acc);
	float inv = (float)(1.0 / sum);
	for (int d = 0; d < hd; d += VW)
		VF_ST(out + d, VF_ZERO);
	for (j = 0; j < n; j++) {
		const uint8_t *vr = v + (size_t)rows[j] * stride;
		VF pj = VF_SET1(scores[j] * inv);
		for (int d = 0; d < hd; d += VW) {
			VF vv = f16 ? VF_LD_H(vr + 2 * d) : VF_LD((const float *)vr + d);
			VF_ST(out + d, VF_FMA(pj, vv, VF_LD(out + d)));
		}
	}
}

static void QK_SFX(fill_ops)(qk_isa *t)
{
	t->add = QK_SFX(add);
	t->silu_mul = QK_SFX(silu_mul);
	t->rmsnorm = QK_SFX(rmsnorm);
	t->softmax = QK_SFX(softmax);
	t->rope = QK_SFX(rope);
	t->argmax = QK_SFX(argmax);
	t->attn_head = QK_SFX(attn_head);
}
