/*
 * quant.c - reference (de)quantization: every weight type to floats, and
 * floats to the activation formats the dot products use.
 *
 * Invariants:
 * - Dequantization is exact IEEE float arithmetic in the same order as the
 *   gguf package's numpy code (and ggml's dequantize_row_*): products and
 *   sums are never fused (t4000 compares bit for bit).
 * - Activation quantization reproduces ggml's x86 code (the path llama.cpp
 *   takes on this hardware): Q8_0/Q8_1 scale d = amax/127 stored as half,
 *   multiplier 127/amax, round to nearest even; Q8_1's s = half(d * sum);
 *   Q8_K as quantize_row_q8_K_ref.  t4001 checks the bytes against
 *   llama.cpp's own from_float.
 */
#include "cpu.h"

#include <math.h>

#ifdef __clang__
#pragma clang fp contract(off)
#endif

/* Round to nearest, ties to even, for |v| < 2^22: adding 1.5 * 2^23 leaves
 * the integer in the low mantissa bits (ggml's nearest_int). */
static inline int round_even(float v)
{
	float t = v + 12582912.f;
	return (int)(qk_bits_f32(t) & 0x007fffff) - 0x00400000;
}

/* ------------------------------------------------------------ dequantize */

static void dq_f32(const void *src, float *y, int64_t k)
{
	memcpy(y, src, (size_t)k * sizeof *y);
}

static void dq_f16(const void *src, float *y, int64_t k)
{
	const uint8_t *p = src;
	for (int64_t i = 0; i < k; i++) {
		uint16_t h;
		memcpy(&h, p + 2 * i, 2);
		y[i] = qk_fp16_to_fp32(h);
	}
}

static void dq_bf16(const void *src, float *y, int64_t k)
{
	const uint8_t *p = src;
	for (int64_t i = 0; i < k; i++) {
		uint16_t h;
		memcpy(&h, p + 2 * i, 2);
		y[i] = qk_bf16_to_fp32(h);
	}
}

static void dq_q4_0(const void *src, float *y, int64_t k)
{
	const qk_block_q4_0 *b = src;
	for (int64_t i = 0; i < k / QK_32; i++, b++, y += QK_32) {
		float d = qk_fp16_to_fp32(b->d);
		for (int j = 0; j < QK_32 / 2; j++) {
			y[j] = d * (float)((b->qs[j] & 15) - 8);
			y[j + 16] = d * (float)((b->qs[j] >> 4) - 8);
		}
	}
}

static void dq_q4_1(const void *src, float *y, int64_t k)
{
	const qk_block_q4_1 *b = src;
	for (int64_t i = 0; i < k / QK_32; i++, b++, y += QK_32) {
		float d = qk_fp16_to_fp32(b->d), m = qk_fp16_to_fp32(b->m);
		for (int j = 0; j < QK_32 / 2; j++) {
			y[j] = d * (float)(b->qs[j] & 15) + m;
			y[j + 16] = d * (float)(b->qs[j] >> 4) + m;
		}
	}
}

static void dq_q8_0(const void *src, float *y, int64_t k)
{
	const qk_block_q8_0 *b = src;
	for (int64_t i = 0; i < k / QK_32; i++, b++, y += QK_32) {
		float d = qk_fp16_to_fp32(b->d);
		for (int j = 0; j < QK_32; j++)
			y[j] = d * (float)b->qs[j];
	}
}

static void dq_q8_1(const void *src, float *y, int64_t k)
{
	const qk_block_q8_1 *b = src;
	for (int64_t i = 0; i < k / QK_32; i++, b++, y += QK_32) {
		float d = qk_fp16_to_fp32(b->d);
		for (int j = 0; j < QK_32; j++)
			y[j] = d * (float)b->qs[j];
	}
}

static void dq_q4_k(const void *src, float *y, int64_t k)
{
	const qk_block_q4_k *b = src;
	for (int64_t i = 0; i < k / QK_K; i++, b++) {
		float d = qk_fp16_to_fp32(b->d), dmin = qk_fp16_to_fp32(b->dmin);
		for (int j = 0; j < 4; j++) {
			int sc0, m0, sc1, m1;
			k_scale_min(b->scales, 2 * j, &sc0, &m0);
			k_scale_min(b->scales, 2 * j + 1, &sc1, &m1);
			float d0 = d * (float)sc0, mm0 = dmin * (float)m0;
			float d1 = d * (float)sc1, mm1 = dmin * (float)m1;
			const uint8_t *q = b->qs + 32 * j;
			for (int l = 0; l < 32; l++) {
				*y++ = d0 * (float)(q[l] & 15) - mm0;
			}
			for (int l = 0; l < 32; l++)
				*y++ = d1 * (float)(q[l] >> 4) - mm1;
		}
	}
}

static void dq_q5_k(const void *src, float *y, int64_t k)
{
	const qk_block_q5_k *b = src;
	for (int64_t i = 0; i < k / QK_K; i++, b++) {
		float d = qk_fp16_to_fp32(b->d), dmin = qk_fp16_to_fp32(b->dmin);
		for (int j = 0; j < 4; j++) {
			int sc0, m0, sc1, m1;
			k_scale_min(b->scales, 2 * j, &sc0, &m0);
			k_scale_min(b->scales, 2 * j + 1, &sc1, &m1);
			float d0 = d * (float)sc0, mm0 = dmin * (float)m0;
			float d1 = d * (float)sc1, mm1 = dmin * (float)m1;
			const uint8_t *q = b->qs + 32 * j;
			for (int l = 0; l < 32; l++) {
				int v = (q[l] & 15) | ((b->qh[l] >> (2 * j)) & 1) << 4;
				*y++ = d0 * (float)v - mm0;
			}
			for (int l = 0; l < 32; l++) {
				int v = (q[l] >> 4) | ((b->qh[l] >> (2 * j + 1)) & 1) << 4;
				*y++ = d1 * (float)v - mm1;
			}
		}
	}
}

/* The 6-bit value of element e (0..255) of a Q6_K block, minus 32.  In each
 * half of 128: ql holds 64 bytes (low nibbles: elements 0..63, high: 64..127)
 * and qh 32 bytes (2 bits for each of l, l+32, l+64, l+96). */
static inline int q6_value(const qk_block_q6_k *b, int e)
{
	int h = e / 128, r = e % 128, g = r / 32, l = r % 32;
	const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
	int lo = g & 1 ? ql[l + 32] : ql[l];
	lo = g & 2 ? lo >> 4 : lo & 15;
	return (lo | ((qh[l] >> (2 * g)) & 3) << 4) - 32;
}

static void dq_q6_k(const void *src, float *y, int64_t k)
{
	const qk_block_q6_k *b = src;
	for (int64_t i = 0; i < k / QK_K; i++, b++) {
		float d = qk_fp16_to_fp32(b->d);
		for (int e = 0; e < QK_K; e++)
			*y++ = d * (float)b->scales[e / 16] * (float)q6_value(b, e);
	}
}

static void dq_q8_k(const void *src, float *y, int64_t k)
{
	const uint8_t *p = src;
	for (int64_t i = 0; i < k / QK_K; i++, p += sizeof(qk_block_q8_k)) {
		qk_block_q8_k b;
		memcpy(&b, p, sizeof b);
		for (int j = 0; j < QK_K; j++)
			*y++ = b.d * (float)b.qs[j];
	}
}

/* ----------------------------------------------------- activation blocks */

/* One 32-block the way ggml's x86 quantize_row_q8_0/q8_1 does it: qs, the
 * half bits of d, the exact value of that half, the integer sum, and the
 * half bits of d * sum (Q8_1's s). */
static void q8_block(const float *x, int8_t *qs, uint16_t *dh, float *df, int32_t *sum, uint16_t *sh)
{
	float amax = 0;
	for (int j = 0; j < QK_32; j++) {
		float a = fabsf(x[j]);
		amax = a > amax ? a : amax;
	}
	float d = amax / 127.f;
	float id = amax != 0 ? 127.f / amax : 0.f;
	int s = 0;
	for (int j = 0; j < QK_32; j++) {
		int q = round_even(x[j] * id);
		qs[j] = (int8_t)q;
		s += q;
	}
	*dh = qk_fp32_to_fp16(d);
	*df = qk_fp16_to_fp32(*dh);
	*sum = s;
	*sh = qk_fp32_to_fp16(d * (float)s);
}

/* One 256-block as ggml's quantize_row_q8_K_ref. */
static void q8k_block(const float *x, int8_t *qs, float *d, int16_t *bsums)
{
	float amax = 0, max = 0;
	for (int j = 0; j < QK_K; j++) {
		float a = fabsf(x[j]);
		if (a > amax) {
			amax = a;
			max = x[j];
		}
	}
	if (amax == 0) {
		*d = 0;
		memset(qs, 0, QK_K);
		memset(bsums, 0, QK_K / 16 * sizeof *bsums);
		return;
	}
	float iscale = -127.f / max;
	for (int j = 0; j < QK_K; j++) {
		int v = round_even(iscale * x[j]);
		qs[j] = (int8_t)(v < 127 ? v : 127);
	}
	for (int g = 0; g < QK_K / 16; g++) {
		int s = 0;
		for (int j = 0; j < 16; j++)
			s += qs[16 * g + j];
		bsums[g] = (int16_t)s;
	}
	*d = 1 / iscale;
}

int qk_act_kind(qk_type w)
{
	switch (w) {
	case QK_F16: return QK_ACT_F16;
	case QK_BF16: return QK_ACT_BF16;
	case QK_Q4_0: case QK_Q4_1: case QK_Q8_0: return QK_ACT_Q8;
	case QK_Q4_K: case QK_Q5_K: case QK_Q6_K: return QK_ACT_Q8K;
	default: return QK_ACT_F32;
	}
}

size_t qk_act_layout(qk_act *a, int kind, int64_t n, int64_t k)
{
	size_t row = 0;
	memset(a, 0, sizeof *a);
	a->kind = kind;
	a->n = n;
	a->k = k;
	switch (kind) {
	case QK_ACT_F32: case QK_ACT_F16: row = (size_t)k * 4; break;
	case QK_ACT_BF16: row = (size_t)k * 2; break;
	case QK_ACT_Q8:
		a->off_d = (size_t)k;
		a->off_s = a->off_d + (size_t)k / QK_32 * 4;
		a->off_i = a->off_s + (size_t)k / QK_32 * 4;
		row = a->off_i + (size_t)k / QK_32 * 4;
		break;
	case QK_ACT_Q8K:
		a->off_d = (size_t)k;
		a->off_s = a->off_d + (size_t)k / QK_K * 4;
		row = a->off_s + (size_t)k / 16 * 2;
		break;
	}
	a->stride = (row + 63) & ~(size_t)63;
	return a->stride * (size_t)n;
}

void qk_quant_q8_ref(const float *x, const qk_act *a, uint8_t *row)
{
	float *d = (float *)(row + a->off_d), *s = (float *)(row + a->off_s);
	int32_t *sum = (int32_t *)(row + a->off_i);
	for (int64_t b = 0; b < a->k / QK_32; b++) {
		uint16_t dh, sh;
		q8_block(x + QK_32 * b, (int8_t *)row + QK_32 * b, &dh, &d[b], &sum[b], &sh);
		s[b] = qk_fp16_to_fp32(sh);
	}
}

void qk_quant_q8k_ref(const float *x, const qk_act *a, uint8_t *row)
{
	float *d = (float *)(row + a->off_d);
	int16_t *bs = (int16_t *)(row + a->off_s);
	for (int64_t b = 0; b < a->k / QK_K; b++)
		q8k_block(x + QK_K * b, (int8_t *)row + QK_K * b, &d[b], bs + 16 * b);
}

/* F16 activations are kept as the floats of the half values (exact), so
 * the dot products convert only the weights. */
static void quant_f16_ref(const float *x, const qk_act *a, uint8_t *row)
{
	float *h = (float *)row;
	for (int64_t i = 0; i < a->k; i++)
		h[i] = qk_fp16_to_fp32(qk_fp32_to_fp16(x[i]));
}

static void quant_bf16_ref(const float *x, const qk_act *a, uint8_t *row)
{
	uint16_t *h = (uint16_t *)row;
	for (int64_t i = 0; i < a->k; i++)
		h[i] = qk_fp32_to_bf16(x[i]);
}

/* ---------------------------------------------------------- public rows */

static void (*const dequant_ref[QK_TYPE_MAX])(const void *, float *, int64_t) = {
	[QK_F32] = dq_f32, [QK_F16] = dq_f16, [QK_BF16] = dq_bf16,
	[QK_Q4_0] = dq_q4_0, [QK_Q4_1] = dq_q4_1, [QK_Q8_0] = dq_q8_0, [QK_Q8_1] = dq_q8_1,
	[QK_Q4_K] = dq_q4_k, [QK_Q5_K] = dq_q5_k, [QK_Q6_K] = dq_q6_k, [QK_Q8_K] = dq_q8_k,
};

int qk_dequantize_row(qk_type t, const void *src, float *dst, int64_t k)
{
	if (!qk_type_valid(t) || !dequant_ref[t])
		return qk_seterr("dequantize: unsupported type %s", qk_type_name(t));
	if (qk_row_bytes(t, k) == 0)
		return -1;
	dequant_ref[t](src, dst, k);
	return 0;
}

int qk_quantize_row(qk_type t, const float *x, void *dst, int64_t k)
{
	if (qk_row_bytes(t, k) == 0)
		return -1;
	uint8_t *p = dst;
	switch (t) {
	case QK_F32:
		memcpy(p, x, (size_t)k * 4);
		return 0;
	case QK_F16: case QK_BF16:
		for (int64_t i = 0; i < k; i++) {
			uint16_t h = t == QK_F16 ? qk_fp32_to_fp16(x[i]) : qk_fp32_to_bf16(x[i]);
			memcpy(p + 2 * i, &h, 2);
		}
		return 0;
	case QK_Q8_0: case QK_Q8_1:
		for (int64_t b = 0; b < k / QK_32; b++) {
			int8_t qs[QK_32];
			uint16_t dh, sh;
			float df;
			int32_t sum;
			q8_block(x + QK_32 * b, qs, &dh, &df, &sum, &sh);
			if (t == QK_Q8_0) {
				qk_block_q8_0 o = {.d = dh};
				memcpy(o.qs, qs, QK_32);
				memcpy(p + b * sizeof o, &o, sizeof o);
			} else {
				qk_block_q8_1 o = {.d = dh, .s = sh};
				memcpy(o.qs, qs, QK_32);
				memcpy(p + b * sizeof o, &o, sizeof o);
			}
		}
		return 0;
	case QK_Q8_K:
		for (int64_t b = 0; b < k / QK_K; b++) {
			qk_block_q8_k o;
			q8k_block(x + QK_K * b, o.qs, &o.d, o.bsums);
			memcpy(p + b * sizeof o, &o, sizeof o);
		}
		return 0;
	default:
		return qk_seterr("quantize: %s is not an activation type", qk_type_name(t));
	}
}

void qk_isa_fill_quant_ref(qk_isa *t)
{
	for (int i = 0; i < QK_TYPE_MAX; i++)
		t->dequant[i] = dequant_ref[i];
	t->quant[QK_ACT_F32] = NULL;
	t->quant[QK_ACT_F16] = quant_f16_ref;
	t->quant[QK_ACT_BF16] = quant_bf16_ref;
	t->quant[QK_ACT_Q8] = qk_quant_q8_ref;
	t->quant[QK_ACT_Q8K] = qk_quant_q8k_ref;
}
