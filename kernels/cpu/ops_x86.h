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
 *   differ from the libm reference by a few ulp (t4003 bounds this).
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
		VF s = VF_DIV(gv, VF_ADD(one, vexp(VF_SUB(VF_ZERO, gv))));
		VF_ST(yp, VF_MUL(s, VF_LD(up)));
		if (n < VW)
			memcpy(y + i, tail_[2], (size_t)n * 4);
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

/* Attention for one query head (see cpu.h): q.k with two FMA chains per
 * row, exp over all scores, then out += p_j * v_j row by row.  Heads whose
 * size is not a multiple of 2 * VW take the reference. */
static void QK_SFX(attn_head)(float *out, const float *q, const uint8_t *k, const uint8_t *v, size_t stride,
			      const int64_t *rows, int64_t n, int hd, int f16, float scale, float *scores)
{
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
