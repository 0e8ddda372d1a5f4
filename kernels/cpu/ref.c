/*
 * ref.c - the plain-C reference of every CPU kernel, and the per-ISA kernel
 * tables (built once, picked by cpuid).
 *
 * Invariants:
 * - These loops define the arithmetic every SIMD path must reproduce: each
 *   dot product sums exact integer products inside a block and adds
 *   (weight scale * activation scale) * integer sum across blocks in F32,
 *   in block order.  SIMD paths may only reorder the float additions.
 * - Each output element is computed by one straight loop, independent of
 *   the row range the caller asks for (thread-count independence).
 * - No FP contraction: a*b+c is two roundings here (see the pragma).
 */
#include "cpu.h"

#include <math.h>
#include <pthread.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#ifdef __clang__
#pragma clang fp contract(off)
#endif

/* ----------------------------------------------------------------- gemm */

#define ROW(g, r) ((g)->w + (size_t)(r) * (g)->w_stride)
#define XROW(g, t) ((g)->x.p + (size_t)(t) * (g)->x.stride)
#define OUT(g, t, r) ((g)->y[(size_t)(t) * (g)->ldy + (size_t)(r)])

static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t h;
	memcpy(&h, p, 2);
	return h;
}

static void gemm_f32_ref(const qk_gemm *g, int64_t r0, int64_t r1)
{
	for (int64_t r = r0; r < r1; r++)
		for (int64_t t = 0; t < g->x.n; t++) {
			const float *w = (const float *)ROW(g, r), *x = (const float *)XROW(g, t);
			float sum = 0;
			for (int64_t i = 0; i < g->k; i++)
				sum += w[i] * x[i];
			OUT(g, t, r) = sum;
		}
}

static void gemm_f16_ref(const qk_gemm *g, int64_t r0, int64_t r1)
{
	for (int64_t r = r0; r < r1; r++)
		for (int64_t t = 0; t < g->x.n; t++) {
			const uint8_t *w = ROW(g, r);
			const float *x = (const float *)XROW(g, t);
			float sum = 0;
			for (int64_t i = 0; i < g->k; i++)
				sum += qk_fp16_to_fp32(ld16(w + 2 * i)) * x[i];
			OUT(g, t, r) = sum;
		}
}

static void gemm_bf16_ref(const qk_gemm *g, int64_t r0, int64_t r1)
{
	for (int64_t r = r0; r < r1; r++)
		for (int64_t t = 0; t < g->x.n; t++) {
			const uint8_t *w = ROW(g, r), *x = XROW(g, t);
			float sum = 0;
			for (int64_t i = 0; i < g->k; i++)
				sum += qk_bf16_to_fp32(ld16(w + 2 * i)) * qk_bf16_to_fp32(ld16(x + 2 * i));
			OUT(g, t, r) = sum;
		}
}

/* The 32-block types against QK_ACT_Q8 rows. */
/* Q8_0 and Q4_1 in llama.cpp's vec_dot order, or (fast) in the fast order
 * (cpu.h, QK_ORDER_FAST): one chain per (row, token) over the blocks, each
 * block's whole integer dot scaled by one FMA (then Q4_1's min term). */
static void q8_0_ref(const qk_gemm *g, int64_t r0, int64_t r1, int fast)
{
	int64_t nb = g->k / QK_32;
	for (int64_t r = r0; r < r1; r++)
		for (int64_t t = 0; t < g->x.n; t++) {
			const qk_block_q8_0 *w = (const qk_block_q8_0 *)ROW(g, r);
			const uint8_t *xr = XROW(g, t);
			const int8_t *xq = (const int8_t *)xr;
			const float *xd = (const float *)(xr + g->x.off_d);
			float sum = 0;
			for (int64_t b = 0; b < nb; b++) {
				int32_t si = 0;
				for (int j = 0; j < QK_32; j++)
					si += w[b].qs[j] * xq[QK_32 * b + j];
				if (fast)
					sum = fmaf((float)si, qk_fp16_to_fp32(w[b].d) * xd[b], sum);
				else
					sum += (float)si * (qk_fp16_to_fp32(w[b].d) * xd[b]);
			}
			OUT(g, t, r) = sum;
		}
}

static void gemm_q4_0_ref(const qk_gemm *g, int64_t r0, int64_t r1)
{
	int64_t nb = g->k / QK_32;
	for (int64_t r = r0; r < r1; r++)
		for (int64_t t = 0; t < g->x.n; t++) {
			const qk_block_q4_0 *w = (const qk_block_q4_0 *)ROW(g, r);
			const uint8_t *xr = XROW(g, t);
			const int8_t *xq = (const int8_t *)xr;
			const float *xd = (const float *)(xr + g->x.off_d);
			float sum = 0;
			for (int64_t b = 0; b < nb; b++) {
				int32_t si = 0;
				for (int j = 0; j < 16; j++)
					si += ((w[b].qs[j] & 15) - 8) * xq[QK_32 * b + j] +
					      ((w[b].qs[j] >> 4) - 8) * xq[QK_32 * b + j + 16];
				sum += (float)si * (qk_fp16_to_fp32(w[b].d) * xd[b]);
			}
			OUT(g, t, r) = sum;
		}
}

static void q4_1_ref(const qk_gemm *g, int64_t r0, int64_t r1, int fast)
{
	int64_t nb = g->k / QK_32;
	for (int64_t r = r0; r < r1; r++)
		for (int64_t t = 0; t < g->x.n; t++) {
			const qk_block_q4_1 *w = (const qk_block_q4_1 *)ROW(g, r);
			const uint8_t *xr = XROW(g, t);
			const int8_t *xq = (const int8_t *)xr;
			const float *xd = (const float *)(xr + g->x.off_d);
			const float *xs = (const float *)(xr + g->x.off_s);
			float sum = 0;
			for (int64_t b = 0; b < nb; b++) {
				int32_t si = 0;
				for (int j = 0; j < 16; j++)
					si += (w[b].qs[j] & 15) * xq[QK_32 * b + j] +
					      (w[b].qs[j] >> 4) * xq[QK_32 * b + j + 16];
				if (fast) {
					sum = fmaf((float)si, qk_fp16_to_fp32(w[b].d) * xd[b], sum);
					sum = fmaf(qk_fp16_to_fp32(w[b].m), xs[b], sum);
				} else {
					sum += (qk_fp16_to_fp32(w[b].d) * xd[b]) * (float)si +
					       qk_fp16_to_fp32(w[b].m) * xs[b];
				}
			}
			OUT(g, t, r) = sum;
		}
}

static void gemm_q8_0_ref(const qk_gemm *g, int64_t r0, int64_t r1)
{
	q8_0_ref(g, r0, r1, 0);
}

static void gemm_q4_1_ref(const qk_gemm *g, int64_t r0, int64_t r1)
{
	q4_1_ref(g, r0, r1, 0);
}

static void gemm_q8_0_fast_ref(const qk_gemm *g, int64_t r0, int64_t r1)
{
	q8_0_ref(g, r0, r1, 1);
}

static void gemm_q4_1_fast_ref(const qk_gemm *g, int64_t r0, int64_t r1)
{
	q4_1_ref(g, r0, r1, 1);
}

void qk_isa_fill_fast_ref(qk_isa *t)
{
	t->gemm[QK_Q4_1] = gemm_q4_1_fast_ref;
	t->gemm[QK_Q8_0] = gemm_q8_0_fast_ref;
}

/* K-quants against QK_ACT_Q8K rows. */
static void gemm_q4_k_ref(const qk_gemm *g, int64_t r0, int64_t r1)
{
	int64_t nb = g->k / QK_K;
	for (int64_t r = r0; r < r1; r++)
		for (int64_t t = 0; t < g->x.n; t++) {
			const qk_block_q4_k *w = (const qk_block_q4_k *)ROW(g, r);
			const uint8_t *xr = XROW(g, t);
			const int8_t *xq = (const int8_t *)xr;
			const float *xd = (const float *)(xr + g->x.off_d);
			const int16_t *bs = (const int16_t *)(xr + g->x.off_s);
			float sum = 0;
			for (int64_t b = 0; b < nb; b++) {
				int32_t sd = 0, sm = 0;
				const int8_t *q8 = xq + QK_K * b;
				for (int j = 0; j < 8; j++) {
					int sc, m, si = 0;
					k_scale_min(w[b].scales, j, &sc, &m);
					const uint8_t *q = w[b].qs + 32 * (j / 2);
					for (int l = 0; l < 32; l++)
						si += (j & 1 ? q[l] >> 4 : q[l] & 15) * q8[32 * j + l];
					sd += sc * si;
					sm += m * (bs[16 * b + 2 * j] + bs[16 * b + 2 * j + 1]);
				}
				sum += (qk_fp16_to_fp32(w[b].d) * xd[b]) * (float)sd;
				sum -= (qk_fp16_to_fp32(w[b].dmin) * xd[b]) * (float)sm;
			}
			OUT(g, t, r) = sum;
		}
}

static void gemm_q5_k_ref(const qk_gemm *g, int64_t r0, int64_t r1)
{
	int64_t nb = g->k / QK_K;
	for (int64_t r = r0; r < r1; r++)
		for (int64_t t = 0; t < g->x.n; t++) {
			const qk_block_q5_k *w = (const qk_block_q5_k *)ROW(g, r);
			const uint8_t *xr = XROW(g, t);
			const int8_t *xq = (const int8_t *)xr;
			const float *xd = (const float *)(xr + g->x.off_d);
			const int16_t *bs = (const int16_t *)(xr + g->x.off_s);
			float sum = 0;
			for (int64_t b = 0; b < nb; b++) {
				int32_t sd = 0, sm = 0;
				const int8_t *q8 = xq + QK_K * b;
				for (int j = 0; j < 8; j++) {
					int sc, m, si = 0;
					k_scale_min(w[b].scales, j, &sc, &m);
					const uint8_t *q = w[b].qs + 32 * (j / 2);
					for (int l = 0; l < 32; l++) {
						int v = (j & 1 ? q[l] >> 4 : q[l] & 15) | ((w[b].qh[l] >> j) & 1) << 4;
						si += v * q8[32 * j + l];
					}
					sd += sc * si;
					sm += m * (bs[16 * b + 2 * j] + bs[16 * b + 2 * j + 1]);
				}
				sum += (qk_fp16_to_fp32(w[b].d) * xd[b]) * (float)sd;
				sum -= (qk_fp16_to_fp32(w[b].dmin) * xd[b]) * (float)sm;
			}
			OUT(g, t, r) = sum;
		}
}

static void gemm_q6_k_ref(const qk_gemm *g, int64_t r0, int64_t r1)
{
	int64_t nb = g->k / QK_K;
	for (int64_t r = r0; r < r1; r++)
		for (int64_t t = 0; t < g->x.n; t++) {
			const qk_block_q6_k *w = (const qk_block_q6_k *)ROW(g, r);
			const uint8_t *xr = XROW(g, t);
			const int8_t *xq = (const int8_t *)xr;
			const float *xd = (const float *)(xr + g->x.off_d);
			float sum = 0;
			for (int64_t b = 0; b < nb; b++) {
				int32_t sd = 0;
				const int8_t *q8 = xq + QK_K * b;
				for (int j = 0; j < 16; j++) {
					int si = 0;
					for (int l = 0; l < 16; l++) {
						int e = 16 * j + l, h = e / 128, rr = e % 128, gg = rr / 32, ll = rr % 32;
						const uint8_t *ql = w[b].ql + 64 * h, *qh = w[b].qh + 32 * h;
						int lo = gg & 1 ? ql[ll + 32] : ql[ll];
						lo = gg & 2 ? lo >> 4 : lo & 15;
						int v = (lo | ((qh[ll] >> (2 * gg)) & 3) << 4) - 32;
						si += v * q8[e];
					}
					sd += w[b].scales[j] * si;
				}
				sum += (qk_fp16_to_fp32(w[b].d) * xd[b]) * (float)sd;
			}
			OUT(g, t, r) = sum;
		}
}

/* ------------------------------------------------------------- row ops */

/* ggml's rms_norm: sum of float squares in double, scale in float. */
static void rmsnorm_ref(float *y, const float *x, const float *g, int64_t d, float eps)
{
	double sum = 0;
	for (int64_t i = 0; i < d; i++)
		sum += (double)(x[i] * x[i]);
	float mean = (float)(sum / (double)d);
	float scale = 1.0f / sqrtf(mean + eps);
	for (int64_t i = 0; i < d; i++)
		y[i] = (x[i] * scale) * g[i];
}

static void silu_mul_ref(float *y, const float *g, const float *u, int64_t d)
{
	for (int64_t i = 0; i < d; i++)
		y[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

static void softmax_ref(float *y, const float *x, int64_t d, float scale)
{
	float max = -INFINITY;
	for (int64_t i = 0; i < d; i++)
		max = x[i] * scale > max ? x[i] * scale : max;
	double sum = 0;
	for (int64_t i = 0; i < d; i++) {
		float e = expf(x[i] * scale - max);
		y[i] = e;
		sum += (double)e;
	}
	float inv = (float)(1.0 / sum);
	for (int64_t i = 0; i < d; i++)
		y[i] *= inv;
}

static void add_ref(float *y, const float *a, const float *b, int64_t d)
{
	for (int64_t i = 0; i < d; i++)
		y[i] = a[i] + b[i];
}

/* The rotation as llama.cpp's compiled C computes it (its compiler fuses
 * x0 * c and x0 * s into the add): y0 = fma(x0, c, -(x1 s)),
 * y1 = fma(x0, s, x1 c). */
static void rope_ref(float *x, const float *c, const float *s, int n_rot, int neox)
{
	int half = n_rot / 2;
	for (int i = 0; i < half; i++) {
		int i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
		float x0 = x[i0], x1 = x[i1];
		x[i0] = fmaf(x0, c[i], -(x1 * s[i]));
		x[i1] = fmaf(x0, s[i], x1 * c[i]);
	}
}

static int64_t argmax_ref(const float *x, int64_t d)
{
	int64_t best = 0;
	for (int64_t i = 1; i < d; i++)
		if (x[i] > x[best] || (x[best] != x[best] && x[i] == x[i]))
			best = i;
	return best;
}

static void to_f16_ref(uint16_t *y, const float *x, int64_t d)
{
	for (int64_t i = 0; i < d; i++)
		y[i] = qk_fp32_to_fp16(x[i]);
}

void qk_attn_head_ref(float *out, const float *q, const uint8_t *k, const uint8_t *v, size_t stride,
			  const int64_t *rows, int64_t n, int hd, int mode, float scale, float *scores)
{
	int f16 = mode & QK_ATT_F16;
	float max = -INFINITY;
	for (int64_t j = 0; j < n; j++) {
		const uint8_t *kr = k + (size_t)rows[j] * stride;
		float s = 0;
		for (int d = 0; d < hd; d++)
			s += q[d] * (f16 ? qk_fp16_to_fp32(ld16(kr + 2 * d)) : ((const float *)kr)[d]);
		scores[j] = s * scale;
		max = scores[j] > max ? scores[j] : max;
	}
	double sum = 0;
	for (int64_t j = 0; j < n; j++) {
		scores[j] = expf(scores[j] - max);
		sum += (double)scores[j];
	}
	float inv = (float)(1.0 / sum);
	for (int d = 0; d < hd; d++)
		out[d] = 0;
	for (int64_t j = 0; j < n; j++) {
		const uint8_t *vr = v + (size_t)rows[j] * stride;
		float pj = scores[j] * inv;
		for (int d = 0; d < hd; d++)
			out[d] += pj * (f16 ? qk_fp16_to_fp32(ld16(vr + 2 * d)) : ((const float *)vr)[d]);
	}
}

/* The group head by head (the reference has nothing to share), q rounded
 * to half first for an F16 cache; the rounded head at scores + n. */
void qk_attn_group_ref(float *out, const float *q, int g, const uint8_t *k, const uint8_t *v, size_t stride,
		       const int64_t *rows, int64_t n, int hd, int mode, float scale, float *scores)
{
	float *qh = scores + n;
	for (int h = 0; h < g; h++) {
		const float *qq = q + (size_t)h * hd;
		if (mode & QK_ATT_F16) {
			for (int d = 0; d < hd; d++)
				qh[d] = qk_fp16_to_fp32(qk_fp32_to_fp16(qq[d]));
			qq = qh;
		}
		qk_attn_head_ref(out + (size_t)h * hd, qq, k, v, stride, rows, n, hd, mode, scale, scores);
	}
}

/* ggml's rope cache: theta = pos * base^(-2i/n_rot), advanced by repeated
 * float multiplication, divided by the frequency factor, times freq_scale. */
void qk_rope_cache(const qk_rope *p, int32_t pos, float *c, float *s)
{
	float theta_scale = powf(p->freq_base, -2.0f / (float)p->n_rot);
	float theta = (float)pos;
	for (int i = 0; i < p->n_rot / 2; i++) {
		float ff = 1;
		if (p->llama3) {
			/* the factor convert_hf_to_gguf.py stores in rope_freqs */
			double freq = 1.0 / pow(p->freq_base, 2.0 * i / p->n_rot);
			double wavelen = 2 * M_PI / freq;
			double lo_wl = p->l3_orig_ctx / (double)p->l3_low_freq_factor;
			double hi_wl = p->l3_orig_ctx / (double)p->l3_high_freq_factor;
			if (wavelen > lo_wl) {
				ff = p->l3_factor;
			} else if (wavelen >= hi_wl) {
				double smooth = (p->l3_orig_ctx / wavelen - p->l3_low_freq_factor) /
						(p->l3_high_freq_factor - p->l3_low_freq_factor);
				ff = (float)(1 / ((1 - smooth) / p->l3_factor + smooth));
			}
		}
		float th = p->freq_scale * (theta / ff);
		c[i] = cosf(th);
		s[i] = sinf(th);
		theta *= theta_scale;
	}
}

/* --------------------------------------------------------------- tables */

void qk_isa_fill_ref(qk_isa *t)
{
	memset(t, 0, sizeof *t);
	t->name = "ref";
	t->gemm[QK_F32] = gemm_f32_ref;
	t->gemm[QK_F16] = gemm_f16_ref;
	t->gemm[QK_BF16] = gemm_bf16_ref;
	t->gemm[QK_Q8_0] = gemm_q8_0_ref;
	t->gemm[QK_Q4_0] = gemm_q4_0_ref;
	t->gemm[QK_Q4_1] = gemm_q4_1_ref;
	t->gemm[QK_Q4_K] = gemm_q4_k_ref;
	t->gemm[QK_Q5_K] = gemm_q5_k_ref;
	t->gemm[QK_Q6_K] = gemm_q6_k_ref;
	qk_isa_fill_quant_ref(t);
	t->rmsnorm = rmsnorm_ref;
	t->silu_mul = silu_mul_ref;
	t->softmax = softmax_ref;
	t->add = add_ref;
	t->rope = rope_ref;
	t->argmax = argmax_ref;
	t->to_f16 = to_f16_ref;
	t->attn_head = qk_attn_head_ref;
	t->attn_group = qk_attn_group_ref;
}

static qk_isa tables[QK_ORDERS][QK_ISA_COUNT];
static int supported[QK_ISA_COUNT];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* What this CPU and OS can run: cpuid feature bits plus XCR0 saying the OS
 * saves the AVX (and AVX-512) register state. */
static void detect(void)
{
	supported[QK_ISA_REF] = 1;
#if defined(__x86_64__)
	unsigned a, b, c, d, b7 = 0, c7 = 0, a71 = 0, x;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return;
	int fma = c >> 12 & 1, osxsave = c >> 27 & 1, avx = c >> 28 & 1, f16c = c >> 29 & 1;
	if (!osxsave || !avx)
		return;
	unsigned xlo, xhi;
	__asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
	if ((xlo & 6) != 6)  /* the OS saves SSE and AVX state */
		return;
	if (__get_cpuid_max(0, NULL) >= 7) {
		__cpuid_count(7, 0, x, b7, c7, d);
		__cpuid_count(7, 1, a71, b, c, d);
	}
	int avx2 = b7 >> 5 & 1;
	supported[QK_ISA_AVX2] = avx2 && fma && f16c;
	int f = b7 >> 16 & 1, dq = b7 >> 17 & 1, bw = b7 >> 30 & 1, vl = b7 >> 31 & 1;
	int vnni = c7 >> 11 & 1, bf16 = a71 >> 5 & 1;
	/* XCR0 bits 5-7: opmask and ZMM state */
	supported[QK_ISA_AVX512] = supported[QK_ISA_AVX2] && (xlo & 0xe0) == 0xe0 && f && dq && bw &&
				   vl && vnni && bf16;
#endif
}

static void build_tables(void)
{
	detect();
	qk_isa *g = tables[QK_ORDER_GGML], *f = tables[QK_ORDER_FAST];
	qk_isa_fill_ref(&g[QK_ISA_REF]);
	g[QK_ISA_AVX2] = g[QK_ISA_REF];
	qk_isa_fill_avx2(&g[QK_ISA_AVX2]);
	g[QK_ISA_AVX512] = g[QK_ISA_AVX2];
	qk_isa_fill_avx512(&g[QK_ISA_AVX512]);
	for (int i = 0; i < QK_ISA_COUNT; i++) {
		f[i] = g[i];
		qk_isa_fill_fast_ref(&f[i]);
	}
	qk_isa_fill_fast_avx2(&f[QK_ISA_AVX2]);
	qk_isa_fill_fast_avx512(&f[QK_ISA_AVX512]);
}

const qk_isa *qk_isa_table_order(int isa, int order)
{
	pthread_once(&tables_once, build_tables);
	if (isa < 0 || isa >= QK_ISA_COUNT || !supported[isa] || order < 0 || order >= QK_ORDERS)
		return NULL;
	return &tables[order][isa];
}

const qk_isa *qk_isa_table(int isa)
{
	return qk_isa_table_order(isa, QK_ORDER_GGML);
}

int qk_isa_best(void)
{
	pthread_once(&tables_once, build_tables);
	for (int i = QK_ISA_COUNT - 1; i > 0; i--)
		if (supported[i])
			return i;
	return QK_ISA_REF;
}

int qk_isa_parse(const char *name)
{
	static const char *names[QK_ISA_COUNT] = {"ref", "avx2", "avx512"};
	for (int i = 0; i < QK_ISA_COUNT; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}
