/*
 * gemm_r16.h - Q4_1 and Q8_0 weights in the r16 layout (repack.c) against QK_ACT_Q8
 * activations, written once for AVX-512 (one 16-lane vector per 16 rows)
 * and AVX2 (two 8-lane halves); included by gemm_avx512.c / gemm_avx2.c
 * after gemm_x86.h.
 *
 * The fast order's kernels (cpu.h, QK_ORDER_FAST).  Per (row, token) the
 * operations are those of gemm_q4_1_fast_ref / gemm_q8_0_fast_ref, lane by lane: the block's integer dot I_b (exact, whatever the instruction
 * order), then acc = fma((float)I_b, d_w * d_x, acc) and
 * acc = fma(m_w, s_x, acc), block after block.  So every ISA, tile size,
 * row range and batch gives the reference's bytes (t4002), one token or
 * many.
 *
 * A tile is 16 rows by up to R16T tokens: the weight block of the 16
 * rows is loaded and unpacked once (4 vectors of 64 bytes -> 8 of
 * nibbles), then per token 8 integer dots against 4 activation bytes
 * broadcast to every lane, one conversion and the two FMAs.
 */

#include <string.h>

/* Four activation bytes as one int32, to broadcast to every row's lane. */
INLINE int32_t ld4(const int8_t *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

#ifdef __AVX512F__
#define R16T 8
typedef __m512 v16f;
typedef __m512i v16i;

INLINE v16f v16_zero(void)
{
	return _mm512_setzero_ps();
}

INLINE v16f v16_ld_f16(const uint8_t *p)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

INLINE v16f v16_bcast(float f)
{
	return _mm512_set1_ps(f);
}

/* acc = fma(a, b * c, acc) and then acc = fma(m, s, acc), lane-wise */
INLINE v16f v16_step(v16f acc, v16f a, v16f b, v16f c, v16f m, v16f s)
{
	return _mm512_fmadd_ps(m, s, _mm512_fmadd_ps(a, _mm512_mul_ps(b, c), acc));
}

INLINE void v16_store(float *p, v16f v)
{
	_mm512_storeu_ps(p, v);
}

/* The 16 rows' block: low nibbles of piece k in q[k], high in q[k + 4]. */
INLINE void r16_q4_1_unpack(const uint8_t *qs, v16i q[8])
{
	const __m512i lo = _mm512_set1_epi8(15);
	UNROLL
	for (int k = 0; k < 4; k++) {
		__m512i v = _mm512_loadu_si512((const void *)(qs + 64 * k));
		q[k] = _mm512_and_si512(v, lo);
		q[k + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo);
	}
}

INLINE __m512i bcast4(const int8_t *p)
{
	return _mm512_set1_epi32(ld4(p));
}

/* I_b of the 16 rows against one token's 32 activation bytes, as floats. */
INLINE v16f r16_q4_1_dot(const v16i q[8], const int8_t *x)
{
	__m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[0], bcast4(x));
	__m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[4], bcast4(x + 16));
	UNROLL
	for (int k = 1; k < 4; k++) {
		s0 = _mm512_dpbusd_epi32(s0, q[k], bcast4(x + 4 * k));
		s1 = _mm512_dpbusd_epi32(s1, q[k + 4], bcast4(x + 16 + 4 * k));
	}
	return _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1));
}

/* Q8_0: the 8 pieces as stored (w + 128 as u8); the 128 * sum(x) the
 * offset adds comes off the integer dot. */
INLINE void r16_q8_0_load(const uint8_t *qs, v16i q[16])
{
	UNROLL
	for (int k = 0; k < 8; k++)
		q[k] = _mm512_loadu_si512((const void *)(qs + 64 * k));
}

INLINE v16f r16_q8_0_dot(const v16i q[16], const int8_t *x, int32_t sum_x)
{
	__m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[0], bcast4(x));
	__m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[1], bcast4(x + 4));
	UNROLL
	for (int k = 2; k < 8; k += 2) {
		s0 = _mm512_dpbusd_epi32(s0, q[k], bcast4(x + 4 * k));
		s1 = _mm512_dpbusd_epi32(s1, q[k + 1], bcast4(x + 4 * k + 4));
	}
	return _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_add_epi32(s0, s1), _mm512_set1_epi32(128 * sum_x)));
}

/* acc = fma(a, b * c, acc), lane-wise */
INLINE v16f v16_step0(v16f acc, v16f a, v16f b, v16f c)
{
	return _mm512_fmadd_ps(a, _mm512_mul_ps(b, c), acc);
}

#else /* AVX2: lanes 0-7 and 8-15 in two halves */
#define R16T 4
typedef struct {
	__m256 lo, hi;
} v16f;
typedef struct {
	__m256i lo, hi;
} v16i;

INLINE v16f v16_zero(void)
{
	return (v16f){_mm256_setzero_ps(), _mm256_setzero_ps()};
}

INLINE v16f v16_ld_f16(const uint8_t *p)
{
	return (v16f){_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)),
		      _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 16)))};
}

INLINE v16f v16_bcast(float f)
{
	__m256 v = _mm256_set1_ps(f);
	return (v16f){v, v};
}

INLINE v16f v16_step(v16f acc, v16f a, v16f b, v16f c, v16f m, v16f s)
{
	acc.lo = _mm256_fmadd_ps(m.lo, s.lo, _mm256_fmadd_ps(a.lo, _mm256_mul_ps(b.lo, c.lo), acc.lo));
	acc.hi = _mm256_fmadd_ps(m.hi, s.hi, _mm256_fmadd_ps(a.hi, _mm256_mul_ps(b.hi, c.hi), acc.hi));
	return acc;
}

INLINE void v16_store(float *p, v16f v)
{
	_mm256_storeu_ps(p, v.lo);
	_mm256_storeu_ps(p + 8, v.hi);
}

INLINE void r16_q4_1_unpack(const uint8_t *qs, v16i q[8])
{
	const __m256i lo = _mm256_set1_epi8(15);
	UNROLL
	for (int k = 0; k < 4; k++) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(qs + 64 * k));
		__m256i b = _mm256_loadu_si256((const __m256i *)(qs + 64 * k + 32));
		q[k] = (v16i){_mm256_and_si256(a, lo), _mm256_and_si256(b, lo)};
		q[k + 4] = (v16i){_mm256_and_si256(_mm256_srli_epi16(a, 4), lo),
				  _mm256_and_si256(_mm256_srli_epi16(b, 4), lo)};
	}
}

/* The 8 u8 x s8 pair sums of one block fit int16 (8 * 2 * 15 * 127 <
 * 32767), so they add up in 16 bits before one widening madd. */
INLINE v16f r16_q4_1_dot(const v16i q[8], const int8_t *x)
{
	__m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
	UNROLL
	for (int k = 0; k < 8; k++) {
		__m256i xv = _mm256_set1_epi32(ld4(x + (k < 4 ? 4 * k : 16 + 4 * (k - 4))));
		lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(q[k].lo, xv));
		hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(q[k].hi, xv));
	}
	const __m256i one = _mm256_set1_epi16(1);
	return (v16f){_mm256_cvtepi32_ps(_mm256_madd_epi16(lo, one)), _mm256_cvtepi32_ps(_mm256_madd_epi16(hi, one))};
}
/* Q8_0: the pieces back as s8 weights (q[k]) and their magnitudes
 * (q[8 + k]); |w| x (x with w's sign) as u8 x s8, each pair sum within
 * int16 (2 * 128 * 127), widened by madd piece by piece. */
INLINE void r16_q8_0_load(const uint8_t *qs, v16i q[16])
{
	const __m256i flip = _mm256_set1_epi8((char)0x80);
	UNROLL
	for (int k = 0; k < 8; k++) {
		__m256i a = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(qs + 64 * k)), flip);
		__m256i b = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(qs + 64 * k + 32)), flip);
		q[k] = (v16i){a, b};
		q[8 + k] = (v16i){_mm256_abs_epi8(a), _mm256_abs_epi8(b)};
	}
}

INLINE v16f r16_q8_0_dot(const v16i q[16], const int8_t *x, int32_t sum_x)
{
	const __m256i one = _mm256_set1_epi16(1);
	__m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
	(void)sum_x;
	UNROLL
	for (int k = 0; k < 8; k++) {
		__m256i xv = _mm256_set1_epi32(ld4(x + 4 * k));
		lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_maddubs_epi16(q[8 + k].lo, _mm256_sign_epi8(xv, q[k].lo)), one));
		hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[8 + k].hi, _mm256_sign_epi8(xv, q[k].hi)), one));
	}
	return (v16f){_mm256_cvtepi32_ps(lo), _mm256_cvtepi32_ps(hi)};
}

INLINE v16f v16_step0(v16f acc, v16f a, v16f b, v16f c)
{
	acc.lo = _mm256_fmadd_ps(a.lo, _mm256_mul_ps(b.lo, c.lo), acc.lo);
	acc.hi = _mm256_fmadd_ps(a.hi, _mm256_mul_ps(b.hi, c.hi), acc.hi);
	return acc;
}
#endif

/* One tile: the 16 rows from r (group grp) by nt tokens from t0; q41: Q4_1
 * (320-byte group blocks, the min term), else Q8_0 (544 bytes). */
INLINE void r16_tile(const qk_gemm *g, const uint8_t *grp, const uint8_t *pf, int64_t r, int64_t t0, const int nt,
		     const int q41)
{
	const int64_t nb = g->k / QK_32;
	const size_t bs = q41 ? 320 : 544; /* a group block */
	const int8_t *xq[R16T];
	const float *xd[R16T], *xs[R16T];
	const int32_t *xi[R16T];
	v16f acc[R16T];
	UNROLL
	for (int t = 0; t < nt; t++) {
		const uint8_t *xr = XROW(g, t0 + t);
		xq[t] = (const int8_t *)xr;
		xd[t] = (const float *)(xr + g->x.off_d);
		xs[t] = (const float *)(xr + g->x.off_s);
		xi[t] = (const int32_t *)(xr + g->x.off_i);
		acc[t] = v16_zero();
	}
	for (int64_t b = 0; b < nb; b++) {
		v16i q[16];
		const uint8_t *p = grp + bs * b;
		if (pf) /* the next group's block: weights stream from memory */
			for (size_t o = 0; o < bs; o += 64)
				_mm_prefetch((const char *)(pf + bs * b + o), _MM_HINT_T0);
		if (q41) {
			v16f dw = v16_ld_f16(p), mw = v16_ld_f16(p + 32);
			r16_q4_1_unpack(p + 64, q);
			UNROLL
			for (int t = 0; t < nt; t++)
				acc[t] = v16_step(acc[t], r16_q4_1_dot(q, xq[t] + QK_32 * b), dw, v16_bcast(xd[t][b]),
						  mw, v16_bcast(xs[t][b]));
		} else {
			v16f dw = v16_ld_f16(p);
			r16_q8_0_load(p + 32, q);
			UNROLL
			for (int t = 0; t < nt; t++)
				acc[t] = v16_step0(acc[t], r16_q8_0_dot(q, xq[t] + QK_32 * b, xi[t][b]), dw,
						   v16_bcast(xd[t][b]));
		}
	}
	UNROLL
	for (int t = 0; t < nt; t++)
		v16_store(&OUT(g, t0 + t, r), acc[t]);
}

/* A tile of the group; the first token tile prefetches the next group. */
#define R16_TILE(NT, Q41) r16_tile(g, grp, t ? NULL : pf, r, t, NT, Q41)
#define R16_GEMM(NAME, Q41)                                                      \
	static void QK_SFX(NAME)(const qk_gemm *g, int64_t r0, int64_t r1)       \
	{                                                                        \
		for (int64_t r = r0; r < r1; r += 16) {                          \
			const uint8_t *grp = ROW(g, r);                          \
			const uint8_t *pf = r + 16 < r1 ? ROW(g, r + 16) : NULL; \
			int64_t t = 0;                                           \
			for (; t + R16T <= g->x.n; t += R16T)                    \
				R16_TILE(R16T, Q41);                             \
			switch (g->x.n - t) {                                    \
			R16_TAILS(Q41)                                           \
			case 3: R16_TILE(3, Q41); break;                         \
			case 2: R16_TILE(2, Q41); break;                         \
			case 1: R16_TILE(1, Q41); break;                         \
			default: break;                                          \
			}                                                        \
		}                                                                \
	}
#if R16T > 4
#define R16_TAILS(Q41)                    \
	case 7: R16_TILE(7, Q41); break;  \
	case 6: R16_TILE(6, Q41); break;  \
	case 5: R16_TILE(5, Q41); break;  \
	case 4: R16_TILE(4, Q41); break;
#else
#define R16_TAILS(Q41)
#endif
R16_GEMM(gemm_r16_q4_1, 1)
R16_GEMM(gemm_r16_q8_0, 0)

static void QK_SFX(fill_r16)(qk_isa *t)
{
	t->r16[QK_Q4_1] = 1;
	t->gemm_r16[QK_Q4_1] = QK_SFX(gemm_r16_q4_1);
	t->r16[QK_Q8_0] = 1;
	t->gemm_r16[QK_Q8_0] = QK_SFX(gemm_r16_q8_0);
}
