/*
 * gemm_x86.h - the x86 matmul kernels, written once and compiled twice:
 * by gemm_avx2.c (AVX2 + FMA + F16C) and by gemm_avx512.c (adds AVX-512
 * VNNI / BF16), which define QK_SFX and the integer dot macros below.
 *
 * Shape of every kernel: for each weight row r in [r0, r1), the tokens in
 * tiles of up to NT = 4 (NTF = 2 for float weights); a tile unpacks each
 * weight block once and feeds it to one accumulator per token, so a weight
 * row is read once per tile (decode: once) and the unpack cost is shared
 * by the tile's tokens.  The 32-block kernels (Q4_0, Q4_1, Q8_0) tile R32
 * rows by NTX tokens instead (see there).  Also here: the vectorized Q8
 * activation quantizer (bit-identical to the reference).
 *
 * Invariants:
 * - Integer parts are exact: per 32 (or 16) elements the products are
 *   summed in int16 pairs that cannot saturate (|u8| <= 63 or 128 against
 *   |s8| <= 127) and int32 lanes, exactly like the reference.
 * - Q4_0 / Q4_1 / Q8_0: the F32 accumulation is ggml's vec_dot order (one
 *   8-lane FMA chain over the blocks in order, then hsum8), so outputs are
 *   bit-identical to llama.cpp's one-token matmuls (t3100: the tiny Q8_0,
 *   Q4_0, Q4_1 models match llama.cpp exactly).  The other types reorder
 *   the F32 accumulation across blocks (8 or 16 lanes, then hsum).
 * - A token's accumulators see the same operations whatever the tile size
 *   or row range, so results depend neither on the thread count nor on
 *   the other tokens of the batch (see cpu.h).
 * Requires: QK_SFX(name), DOT_US8(acc, u8, s8) adding the u8*s8 products
 * of 32 bytes into 8 int32 lanes of acc, MADD16(acc, a16, b16) adding
 * pairwise int16 products to acc; NTX and R32, the token and row tiles of
 * the 32-block kernels; VF (float vector of VW lanes) with
 * VF_ZERO, VF_FMA, VF_ADD, VF_MUL, VF_HSUM (the halving tree),
 * VF_HSUM_F16DOT (ggml_vec_dot_f16's reduction), VF_LD_F32/F16/BF16 (load
 * VW values as floats); optionally BF16_TILE, a tile for BF16 weights of its own.
 */
#include "cpu.h"

#include <immintrin.h>
#include <math.h>

#define NT 4

#define ROW(g, r) ((g)->w + (size_t)(r) * (g)->w_stride)
#define XROW(g, t) ((g)->x.p + (size_t)(t) * (g)->x.stride)
#define OUT(g, t, r) ((g)->y[(size_t)(t) * (g)->ldy + (size_t)(r)])
#define INLINE static inline __attribute__((always_inline))
/* Small constant loops over tokens / chains / sub-blocks must be unrolled
 * so that accumulator arrays live in registers (GCC -O2 would not). */
#define UNROLL _Pragma("GCC unroll 16")

INLINE float h2f(uint16_t h)
{
	return _cvtsh_ss(h);
}

/* Sum of the 8 lanes: halves, then pairs, then the last two. */
INLINE float hsum8(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* ggml's AVX reduction of an F32/F16 dot (GGML_F32x8_REDUCE's last step):
 * the halves added, then two _mm_hadd_ps (adjacent lanes). */
INLINE float hsum8_hadd(__m256 v)
{
	__m128 t = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	t = _mm_hadd_ps(t, t);
	return _mm_cvtss_f32(_mm_hadd_ps(t, t));
}

INLINE int32_t hsum8i(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
	return _mm_cvtsi128_si32(s);
}

/* 16 packed bytes -> 32 nibbles: low nibbles in the low 16 bytes (elements
 * 0..15 of a 32-block), high nibbles in the high 16. */
INLINE __m256i nibbles32(const uint8_t *p)
{
	__m128i q = _mm_loadu_si128((const __m128i *)p);
	__m256i v = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
	return _mm256_and_si256(v, _mm256_set1_epi8(15));
}

/* The token pointers of one tile. */
typedef struct tile {
	const int8_t *q[NT];
	const float *d[NT], *s[NT];
	const int16_t *bs[NT];
	const int32_t *i[NT];
} tile;

INLINE void tile_init(const qk_gemm *g, int64_t t0, int nt, tile *tl)
{
	UNROLL
	for (int t = 0; t < nt; t++) {
		const uint8_t *xr = XROW(g, t0 + t);
		tl->q[t] = (const int8_t *)xr;
		tl->d[t] = (const float *)(xr + g->x.off_d);
		tl->s[t] = (const float *)(xr + g->x.off_s);
		tl->bs[t] = (const int16_t *)(xr + g->x.off_s);
		tl->i[t] = (const int32_t *)(xr + g->x.off_i);
	}
}

/* --------------------------------------------------------- 32-blocks */

/* The 32-block kernels add in ggml's vec_dot order (q4_0 / q4_1 / q8_0
 * against q8_0 / q8_1 activations, AVX2 and AVX-512 builds alike), so each
 * output is bit-identical to llama.cpp's: one F32 chain of 8 lanes per
 * (row, token); per block, in block order, the 8 int32 lanes of the exact
 * integer dot become floats and are FMAed with the scale product
 * d_w * d_x; Q4_1's m_w * s_x terms go to a scalar chain, block by block;
 * at the end hsum8(chain) (+ the scalar chain).  The x8 layout's grouped
 * sums are not that order, so it is unused.
 * Speed comes from independent chains: a tile is R32 rows (2) by up to
 * NTX tokens, each weight block unpacked once per tile and each
 * activation block loaded once; decode (one token) still has two chains
 * in flight.  BODY32(b) does block b for the whole tile. */


#define TILE32_BEGIN(TYPE)                                                                      \
	const TYPE *w[R32];                                                                     \
	UNROLL                                                                                 \
	for (int i = 0; i < nr; i++)                                                            \
		w[i] = (const TYPE *)ROW(g, r + i);                                             \
	tile tl;                                                                                \
	tile_init(g, t0, nt, &tl);                                                              \
	__m256 acc[R32][NTX];                                                                   \
	UNROLL                                                                                 \
	for (int i = 0; i < nr; i++)                                                            \
		UNROLL                                                                         \
		for (int t = 0; t < nt; t++)                                                    \
			acc[i][t] = _mm256_setzero_ps()

/* The signed 8-bit weight tiles, Q4_0 and Q8_0: per block, weights w as s8
 * (LOAD_S8 of block B), |w| x (x with w's sign) as u8 x s8, scaled by
 * d_w * d_x and added in block order (llama.cpp's vec_dot order).  rp:
 * the order of llama.cpp's repacked kernels instead (Q4_0 of a multiple of
 * 8 rows is repacked to q4_0_8x8 on AVX2 and AVX-512, and multiplied so
 * for one token and for a batch alike): per (row, token) one scalar chain
 * over the blocks, acc = fma((float)I_b, d_w * d_x, acc) with I_b the
 * block's whole integer dot. */
#define S8_TILE(NAME, BLOCK, LOAD_S8)                                                              \
	INLINE void NAME(const qk_gemm *g, int64_t r, const int nr, int64_t t0, const int nt,   \
			 const int rp)                                                             \
	{                                                                                          \
		TILE32_BEGIN(BLOCK);                                                               \
		float accs[R32][NTX];                                                              \
		UNROLL                                                                             \
		for (int i = 0; i < nr; i++)                                                       \
			UNROLL                                                                     \
			for (int t = 0; t < nt; t++)                                               \
				accs[i][t] = 0;                                                    \
		for (int64_t b = 0; b < g->k / QK_32; b++) {                                       \
			__m256i wq[R32], aw[R32];                                                  \
			float dws[R32];                                                            \
			UNROLL                                                                     \
			for (int i = 0; i < nr; i++) {                                             \
				wq[i] = LOAD_S8(w[i][b]);                                          \
				aw[i] = _mm256_sign_epi8(wq[i], wq[i]);                            \
				dws[i] = h2f(w[i][b].d);                                           \
			}                                                                          \
			UNROLL                                                                     \
			for (int t = 0; t < nt; t++) {                                             \
				__m256i x = _mm256_loadu_si256((const __m256i *)(tl.q[t] + QK_32 * b)); \
				const float dxs = tl.d[t][b];                                      \
				UNROLL                                                             \
				for (int i = 0; i < nr; i++) {                                     \
					__m256i p = _mm256_setzero_si256();                        \
					DOT_US8(p, aw[i], _mm256_sign_epi8(x, wq[i]));             \
					if (rp)                                                    \
						accs[i][t] = fmaf((float)hsum8i(p), dws[i] * dxs, accs[i][t]); \
					else                                                       \
						acc[i][t] = _mm256_fmadd_ps(_mm256_set1_ps(dws[i] * dxs), \
									    _mm256_cvtepi32_ps(p), acc[i][t]); \
				}                                                                  \
			}                                                                          \
		}                                                                                  \
		UNROLL                                                                             \
		for (int i = 0; i < nr; i++)                                                       \
			UNROLL                                                                     \
			for (int t = 0; t < nt; t++)                                               \
				OUT(g, t0 + t, r + i) = rp ? accs[i][t] : hsum8(acc[i][t]);        \
	}

/* Q4_0: nibble - 8. */
#define LOAD_Q4_0(B) _mm256_sub_epi8(nibbles32((B).qs), _mm256_set1_epi8(8))
S8_TILE(q4_0_tile, qk_block_q4_0, LOAD_Q4_0)
#define Q4_0_TILE(g, r, nr, t0, nt) q4_0_tile(g, r, nr, t0, nt, (g)->m % 8 == 0)

/* Q4_1: u8 nibbles x s8 directly; the min term m * s per block in F32. */
INLINE void q4_1_tile(const qk_gemm *g, int64_t r, const int nr, int64_t t0, const int nt)
{
	TILE32_BEGIN(qk_block_q4_1);
	float accm[R32][NTX];
	UNROLL
	for (int i = 0; i < nr; i++)
		UNROLL
		for (int t = 0; t < nt; t++)
			accm[i][t] = 0;
	for (int64_t b = 0; b < g->k / QK_32; b++) {
		__m256i wq[R32];
		__m256 dw[R32];
		float mw[R32];
		UNROLL
		for (int i = 0; i < nr; i++) {
			wq[i] = nibbles32(w[i][b].qs);
			dw[i] = _mm256_set1_ps(h2f(w[i][b].d));
			mw[i] = h2f(w[i][b].m);
		}
		UNROLL
		for (int t = 0; t < nt; t++) {
			__m256i x = _mm256_loadu_si256((const __m256i *)(tl.q[t] + QK_32 * b));
			__m256 dx = _mm256_broadcast_ss(tl.d[t] + b);
			float sx = tl.s[t][b];
			UNROLL
			for (int i = 0; i < nr; i++) {
				__m256i p = _mm256_setzero_si256();
				DOT_US8(p, wq[i], x);
				acc[i][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw[i], dx), _mm256_cvtepi32_ps(p), acc[i][t]);
				accm[i][t] += mw[i] * sx;
			}
		}
	}
	UNROLL
	for (int i = 0; i < nr; i++)
		UNROLL
		for (int t = 0; t < nt; t++)
			OUT(g, t0 + t, r + i) = hsum8(acc[i][t]) + accm[i][t];
}

/* Q8_0: the bytes themselves (llama.cpp does not repack it on x86). */
#define LOAD_Q8_0(B) _mm256_loadu_si256((const __m256i *)(B).qs)
S8_TILE(q8_0_tile, qk_block_q8_0, LOAD_Q8_0)
#define Q8_0_TILE(g, r, nr, t0, nt) q8_0_tile(g, r, nr, t0, nt, 0)

/* ---------------------------------------------------------- K-quants */

/* The 8 six-bit scales (sc[0..7]) and mins (sc[8..15]) of a Q4_K/Q5_K
 * super-block from its 12 packed bytes. */
INLINE void k_scales(const uint8_t *p, uint8_t sc[16])
{
	uint32_t a, b, c, o[4];
	memcpy(&a, p, 4);
	memcpy(&b, p + 4, 4);
	memcpy(&c, p + 8, 4);
	o[0] = a & 0x3f3f3f3f;
	o[1] = (c & 0x0f0f0f0f) | ((a >> 2) & 0x30303030);
	o[2] = b & 0x3f3f3f3f;
	o[3] = ((c >> 4) & 0x0f0f0f0f) | ((b >> 2) & 0x30303030);
	memcpy(sc, o, 16);
}

INLINE int32_t hsum4i(__m128i v)
{
	v = _mm_add_epi32(v, _mm_unpackhi_epi64(v, v));
	return _mm_cvtsi128_si32(_mm_add_epi32(v, _mm_shuffle_epi32(v, 1)));
}

/* Shuffle masks: int16 element j of a 128-bit lane, in every position. */
static const uint8_t pick16[8][32] __attribute__((aligned(32))) = {
#define P(j) {2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, \
	      2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1, 2*j, 2*j+1}
	P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7),
#undef P
};

INLINE __m256i pick(__m256i v, int j)
{
	return _mm256_shuffle_epi8(v, _mm256_load_si256((const __m256i *)pick16[j]));
}

/* int16 element 2j in the low 128 bits and 2j+1 in the high, everywhere. */
static const uint8_t pair16[4][32] __attribute__((aligned(32))) = {
#define P(j) {4*j, 4*j+1, 4*j, 4*j+1, 4*j, 4*j+1, 4*j, 4*j+1, 4*j, 4*j+1, 4*j, 4*j+1, 4*j, 4*j+1, 4*j, 4*j+1, \
	      4*j+2, 4*j+3, 4*j+2, 4*j+3, 4*j+2, 4*j+3, 4*j+2, 4*j+3, 4*j+2, 4*j+3, 4*j+2, 4*j+3, 4*j+2, 4*j+3, 4*j+2, 4*j+3}
	P(0), P(1), P(2), P(3),
#undef P
};

INLINE float hsum4(__m128 s)
{
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* The 64 quants of sub-blocks 2j, 2j+1 of a Q4_K/Q5_K super-block from
 * their 32 bytes of qs (lo: 2j, hi: 2j+1), plus for Q5_K (five) the fifth
 * bits from *qh, which is shifted on for the next j. */
INLINE void k45_unpack(const uint8_t *qs, const int five, __m256i *qh, __m256i *lo, __m256i *hi)
{
	const __m256i m4 = _mm256_set1_epi8(15);
	__m256i v = _mm256_loadu_si256((const __m256i *)qs);
	*lo = _mm256_and_si256(v, m4);
	*hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
	if (five) {
		const __m256i b4 = _mm256_set1_epi8(16);
		*lo = _mm256_or_si256(*lo, _mm256_and_si256(_mm256_slli_epi16(*qh, 4), b4));
		*hi = _mm256_or_si256(*hi, _mm256_and_si256(_mm256_slli_epi16(*qh, 3), b4));
		*qh = _mm256_srli_epi16(*qh, 2);
	}
}

/* Q4_K and Q5_K (five: the fifth bit from qh).  Per sub-block j the 32
 * products go to int16 pairs, times the scale into int32 lanes (two
 * accumulators, even and odd j: integer, so the order is free); the min
 * term sum_j m_j * (bsums[2j] + bsums[2j+1]) in four lanes. */
INLINE void qk45_tile(const qk_gemm *g, int64_t r, int64_t t0, const int nt, const int five)
{
	tile tl;
	tile_init(g, t0, nt, &tl);
	__m256 acc[NT];
	__m128 accm[NT];
	float summs[NT];
	UNROLL
	for (int t = 0; t < nt; t++) {
		acc[t] = _mm256_setzero_ps();
		accm[t] = _mm_setzero_ps();
		summs[t] = 0;
	}
	const size_t bb = five ? sizeof(qk_block_q5_k) : sizeof(qk_block_q4_k);
	for (int64_t b = 0; b < g->k / QK_K; b++) {
		const uint8_t *blk = ROW(g, r) + (size_t)b * bb;
		const uint8_t *qs = five ? ((const qk_block_q5_k *)blk)->qs : ((const qk_block_q4_k *)blk)->qs;
		uint16_t dh, mh;
		memcpy(&dh, blk, 2);
		memcpy(&mh, blk + 2, 2);
		uint8_t sc[16];
		k_scales(blk + 4, sc);
		__m256i sm16 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)sc));
		__m256i scales = _mm256_permute2x128_si256(sm16, sm16, 0x00);
		__m128i mins = _mm256_extracti128_si256(sm16, 1);
		__m256i qh = five ? _mm256_loadu_si256((const __m256i *)((const qk_block_q5_k *)blk)->qh)
				  : _mm256_setzero_si256();
		__m256i is0[NT], is1[NT];
		UNROLL
		for (int t = 0; t < nt; t++)
			is0[t] = is1[t] = _mm256_setzero_si256();
		UNROLL
		for (int j = 0; j < 4; j++) {
			__m256i lo, hi;
			k45_unpack(qs + 32 * j, five, &qh, &lo, &hi);
			__m256i s0 = pick(scales, 2 * j), s1 = pick(scales, 2 * j + 1);
			UNROLL
			for (int t = 0; t < nt; t++) {
				const int8_t *x = tl.q[t] + QK_K * b + 64 * j;
				__m256i p0 = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)x));
				__m256i p1 = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(x + 32)));
				MADD16(is0[t], p0, s0);
				MADD16(is1[t], p1, s1);
			}
		}
		__m256 d = _mm256_set1_ps(h2f(dh));
		__m128 dmin = _mm_set1_ps(h2f(mh));
		UNROLL
		for (int t = 0; t < nt; t++) {
			__m256i bs = _mm256_loadu_si256((const __m256i *)(tl.bs[t] + 16 * b));
			__m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
			__m128i pm = _mm_madd_epi16(pairs, mins);
			__m256 dx = _mm256_broadcast_ss(tl.d[t] + b);
			acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(is0[t], is1[t])),
						 _mm256_mul_ps(d, dx), acc[t]);
			if (five) {
				/* ggml's q5_K: the exact integer sum of the min
				 * products, times -(d_x * dmin_w), into a scalar
				 * chain (fused: its C is built with GCC's default
				 * -ffp-contract=fast; not yet told apart by a test) */
				float nd = -(tl.d[t][b] * h2f(mh));
				summs[t] = fmaf(nd, (float)hsum4i(pm), summs[t]);
			} else {
				accm[t] = _mm_fmadd_ps(_mm_cvtepi32_ps(pm), _mm_mul_ps(dmin, _mm256_castps256_ps128(dx)),
						       accm[t]);
			}
		}
	}
	UNROLL
	for (int t = 0; t < nt; t++)
		OUT(g, t0 + t, r) = five ? hsum8(acc[t]) + summs[t] : hsum8(acc[t]) - hsum4(accm[t]);
}

/* Q6_K: unsigned 6-bit q (0..63) times x, scaled per 16; the -32 offset
 * as -32 * sum_j sc_j * bsums[j].  Two integer accumulators per token.
 * tiled: llama.cpp's tiled GEMM order (see the K-quants' batched orders
 * below): per super-block r = d_w I1 with I1 the exact integer sum,
 * acc = fma(r, d_x, acc); else our 8-lane chain. */
INLINE void q6_k_tile(const qk_gemm *g, int64_t r, int64_t t0, const int nt, const int tiled)
{
	const qk_block_q6_k *w = (const qk_block_q6_k *)ROW(g, r);
	tile tl;
	tile_init(g, t0, nt, &tl);
	__m256 acc[NT];
	float accs[NT];
	UNROLL
	for (int t = 0; t < nt; t++) {
		acc[t] = _mm256_setzero_ps();
		accs[t] = 0;
	}
	const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30);
	for (int64_t b = 0; b < g->k / QK_K; b++) {
		__m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[b].scales));
		__m256i is0[NT], is1[NT];
		UNROLL
		for (int t = 0; t < nt; t++) {
			__m256i bs = _mm256_loadu_si256((const __m256i *)(tl.bs[t] + 16 * b));
			is0[t] = _mm256_sub_epi32(_mm256_setzero_si256(),
						  _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16), 5));
			is1[t] = _mm256_setzero_si256();
		}
		UNROLL
		for (int h = 0; h < 2; h++) {
			const uint8_t *ql = w[b].ql + 64 * h, *qhp = w[b].qh + 32 * h;
			__m256i q0 = _mm256_loadu_si256((const __m256i *)ql);
			__m256i q1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
			__m256i hv = _mm256_loadu_si256((const __m256i *)qhp);
			__m256i v[4];
			v[0] = _mm256_or_si256(_mm256_and_si256(q0, m4), _mm256_and_si256(_mm256_slli_epi16(hv, 4), m30));
			v[1] = _mm256_or_si256(_mm256_and_si256(q1, m4), _mm256_and_si256(_mm256_slli_epi16(hv, 2), m30));
			v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q0, 4), m4), _mm256_and_si256(hv, m30));
			v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q1, 4), m4),
					       _mm256_and_si256(_mm256_srli_epi16(hv, 2), m30));
			/* scales 8h + 2gq (low 128 bits) and 8h + 2gq + 1 (high) */
			__m256i sh = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11)
				       : _mm256_permute2x128_si256(sc16, sc16, 0x00);
			UNROLL
			for (int gq = 0; gq < 4; gq++) {
				__m256i s = _mm256_shuffle_epi8(sh, _mm256_load_si256((const __m256i *)pair16[gq]));
				UNROLL
				for (int t = 0; t < nt; t++) {
					const int8_t *x = tl.q[t] + QK_K * b + 128 * h + 32 * gq;
					__m256i p = _mm256_maddubs_epi16(v[gq], _mm256_loadu_si256((const __m256i *)x));
					if (gq & 1)
						MADD16(is1[t], p, s);
					else
						MADD16(is0[t], p, s);
				}
			}
		}
		const float dw = h2f(w[b].d);
		__m256 d = _mm256_set1_ps(dw);
		UNROLL
		for (int t = 0; t < nt; t++)
			if (tiled)
				accs[t] = fmaf(dw * (float)hsum8i(_mm256_add_epi32(is0[t], is1[t])), tl.d[t][b], accs[t]);
			else
				acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(is0[t], is1[t])),
							 _mm256_mul_ps(d, _mm256_broadcast_ss(tl.d[t] + b)), acc[t]);
	}
	UNROLL
	for (int t = 0; t < nt; t++)
		OUT(g, t0 + t, r) = tiled ? accs[t] : hsum8(acc[t]);
}

/* ------------------------------------- K-quants in llama.cpp's batched orders
 *
 * llama.cpp multiplies K-quant weights of a batch in other orders than its
 * vec_dot (the qk45_tile / q6_k_tile above): per (row, token) and
 * super-block b it takes exact integer sums, I1 = sum_j sc_j (q_j . x_j)
 * and for Q4_K/Q5_K I2 = sum_j m_j bsum_j over the sub-blocks j, and adds
 * them up in float as
 * - KQ_TILED, its tiled GEMM (Q5_K, Q6_K and unpacked Q4_K, batches of 8 or
 *   more): r = d_w I1, r = fma(-dmin_w, I2, r), acc = fma(r, d_x, acc);
 * - KQ_REPACK1, its repacked q4_K_8x8 GEMV (Q4_K of a multiple of 8 rows,
 *   a token outside the batch's four-token groups): acc = fma(I1, d_w d_x,
 *   acc), accm = fma(I2, dmin_w d_x, accm), result acc - accm;
 * - KQ_REPACK4, its repacked GEMM (the four-token groups): the same per
 *   pair of sub-blocks (64 elements) instead of per super-block. */
enum { KQ_TILED, KQ_REPACK1, KQ_REPACK4 };

/* I1 of the 64 elements of sub-blocks 2h, 2h+1 (exact, int32 lanes summed). */
INLINE int32_t kq_pair_dot(__m256i lo, __m256i hi, const int8_t *x, __m256i s0, __m256i s1)
{
	__m256i p0 = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)x));
	__m256i p1 = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(x + 32)));
	return hsum8i(_mm256_add_epi32(_mm256_madd_epi16(p0, s0), _mm256_madd_epi16(p1, s1)));
}

INLINE void kq45_ll_tile(const qk_gemm *g, int64_t r, int64_t t0, const int nt, const int five, const int how)
{
	tile tl;
	tile_init(g, t0, nt, &tl);
	float acc[NT], accm[NT];
	UNROLL
	for (int t = 0; t < nt; t++)
		acc[t] = accm[t] = 0;
	const size_t bb = five ? sizeof(qk_block_q5_k) : sizeof(qk_block_q4_k);
	for (int64_t b = 0; b < g->k / QK_K; b++) {
		const uint8_t *blk = ROW(g, r) + (size_t)b * bb;
		const uint8_t *qs = five ? ((const qk_block_q5_k *)blk)->qs : ((const qk_block_q4_k *)blk)->qs;
		uint16_t dh, mh;
		memcpy(&dh, blk, 2);
		memcpy(&mh, blk + 2, 2);
		const float dw = h2f(dh), dmin = h2f(mh);
		uint8_t sc[16];
		k_scales(blk + 4, sc);
		__m256i qh = five ? _mm256_loadu_si256((const __m256i *)((const qk_block_q5_k *)blk)->qh)
				  : _mm256_setzero_si256();
		int32_t i1[NT][4], i2[NT][4];
		UNROLL
		for (int j = 0; j < 4; j++) {
			__m256i lo, hi;
			k45_unpack(qs + 32 * j, five, &qh, &lo, &hi);
			__m256i s0 = _mm256_set1_epi16(sc[2 * j]), s1 = _mm256_set1_epi16(sc[2 * j + 1]);
			UNROLL
			for (int t = 0; t < nt; t++) {
				const int16_t *bs = tl.bs[t] + 16 * b + 4 * j;
				i1[t][j] = kq_pair_dot(lo, hi, tl.q[t] + QK_K * b + 64 * j, s0, s1);
				i2[t][j] = sc[8 + 2 * j] * (bs[0] + bs[1]) + sc[8 + 2 * j + 1] * (bs[2] + bs[3]);
			}
		}
		UNROLL
		for (int t = 0; t < nt; t++) {
			const float dx = tl.d[t][b];
			if (how == KQ_REPACK4) {
				for (int j = 0; j < 4; j++) {
					acc[t] = fmaf((float)i1[t][j], dw * dx, acc[t]);
					accm[t] = fmaf((float)i2[t][j], dmin * dx, accm[t]);
				}
				continue;
			}
			int32_t s1 = i1[t][0] + i1[t][1] + i1[t][2] + i1[t][3];
			int32_t s2 = i2[t][0] + i2[t][1] + i2[t][2] + i2[t][3];
			if (how == KQ_REPACK1) {
				acc[t] = fmaf((float)s1, dw * dx, acc[t]);
				accm[t] = fmaf((float)s2, dmin * dx, accm[t]);
			} else {
				float rr = fmaf(-dmin, (float)s2, dw * (float)s1);
				acc[t] = fmaf(rr, dx, acc[t]);
			}
		}
	}
	UNROLL
	for (int t = 0; t < nt; t++)
		OUT(g, t0 + t, r) = how == KQ_TILED ? acc[t] : acc[t] - accm[t];
}

/* The K-quant tile llama.cpp's kernel for this op would add like: Q4_K of a
 * multiple of 8 rows is repacked there (AVX2 and AVX-512); other K-quants
 * of batches of 8 or more take its tiled GEMM; the rest its vec_dot. */
#define Q4K_TILE(g, r, t, nt)                                                                       \
	((g)->m % 8 == 0 ? kq45_ll_tile(g, r, t, nt, 0, (g)->in4 ? KQ_REPACK4 : KQ_REPACK1)          \
	 : (g)->nb >= 8 ? kq45_ll_tile(g, r, t, nt, 0, KQ_TILED) : qk45_tile(g, r, t, nt, 0))
#define Q5K_TILE(g, r, t, nt) \
	((g)->nb >= 8 ? kq45_ll_tile(g, r, t, nt, 1, KQ_TILED) : qk45_tile(g, r, t, nt, 1))
#define Q6K_TILE(g, r, t, nt) q6_k_tile(g, r, t, nt, (g)->nb >= 8)

/* ------------------------------------------------------------- floats */

/* Float weights in llama.cpp's orders; the activations of F16 / BF16
 * weights are their F16 / BF16 roundings, as ggml makes them.
 * - A batch (nb >= 2) of a weight with a multiple of 4 rows and k a
 *   multiple of VW goes through tinyBLAS in llama.cpp: per (row, token) one
 *   chain of VW lanes, fma(w, x, acc) over k in steps of VW, reduced by
 *   VF_HSUM (the halving tree).
 * - Otherwise ggml's vec_dot: four chains of VW lanes over steps of 4 VW
 *   (FUSED: fma; BF16: a multiply then an add), folded (0+2) + (1+3) and
 *   reduced by RED (F32 / F16: VF_HSUM_F16DOT, BF16: VF_HSUM), the
 *   elements after the last whole step added one by one in double.
 *   (ggml's F32 dot adds those in float; k is a multiple of 4 VW in every
 *   model seen so far.)
 * Tiles of NTF tokens (registers); a token's chains are its own. */
#define NTF 2
#define FLOAT_TILE(NAME, LDW, LDX, SCW, SCX, ESW, ESX, FUSED, RED)                               \
INLINE void NAME(const qk_gemm *g, int64_t r, int64_t t0, const int nt)                        \
{                                                                                               \
	const uint8_t *w = ROW(g, r), *x[NTF];                                                  \
	VF acc[NTF][4];                                                                         \
	UNROLL                                                                                 \
	for (int t = 0; t < nt; t++) {                                                          \
		x[t] = XROW(g, t0 + t);                                                         \
		acc[t][0] = acc[t][1] = acc[t][2] = acc[t][3] = VF_ZERO;                         \
	}                                                                                       \
	if (g->nb >= 2 && g->m % 4 == 0 && g->k % VW == 0) {                                    \
		for (int64_t i = 0; i < g->k; i += VW) {                                        \
			VF wv = LDW(w + ESW * i);                                               \
			UNROLL                                                                 \
			for (int t = 0; t < nt; t++)                                            \
				acc[t][0] = VF_FMA(wv, LDX(x[t] + ESX * i), acc[t][0]);         \
		}                                                                               \
		UNROLL                                                                         \
		for (int t = 0; t < nt; t++)                                                    \
			OUT(g, t0 + t, r) = VF_HSUM(acc[t][0]);                                 \
		return;                                                                         \
	}                                                                                       \
	int64_t i = 0;                                                                          \
	for (; i + 4 * VW <= g->k; i += 4 * VW)                                                 \
		UNROLL                                                                         \
		for (int c = 0; c < 4; c++) {                                                   \
			VF wv = LDW(w + ESW * (i + c * VW));                                    \
			UNROLL                                                                 \
			for (int t = 0; t < nt; t++) {                                          \
				VF xv = LDX(x[t] + ESX * (i + c * VW));                         \
				acc[t][c] = FUSED ? VF_FMA(wv, xv, acc[t][c])                   \
						  : VF_ADD(VF_MUL(wv, xv), acc[t][c]);         \
			}                                                                      \
		}                                                                               \
	UNROLL                                                                                 \
	for (int t = 0; t < nt; t++) {                                                          \
		VF v = VF_ADD(VF_ADD(acc[t][0], acc[t][2]), VF_ADD(acc[t][1], acc[t][3]));      \
		double s = RED(v);                                                              \
		for (int64_t j = i; j < g->k; j++)                                              \
			s += (double)(SCW(w, j) * SCX(x[t], j));                                \
		OUT(g, t0 + t, r) = (float)s;                                                   \
	}                                                                                       \
}

INLINE float sc_f32(const uint8_t *p, int64_t i) { float f; memcpy(&f, p + 4 * i, 4); return f; }
INLINE float sc_f16(const uint8_t *p, int64_t i) { uint16_t h; memcpy(&h, p + 2 * i, 2); return qk_fp16_to_fp32(h); }
INLINE float sc_bf16(const uint8_t *p, int64_t i) { uint16_t h; memcpy(&h, p + 2 * i, 2); return qk_bf16_to_fp32(h); }

FLOAT_TILE(f32_tile, VF_LD_F32, VF_LD_F32, sc_f32, sc_f32, 4, 4, 1, VF_HSUM_F16DOT)
FLOAT_TILE(f16_tile, VF_LD_F16, VF_LD_F32, sc_f16, sc_f32, 2, 4, 1, VF_HSUM_F16DOT)
#ifndef BF16_TILE
FLOAT_TILE(bf16_tile, VF_LD_BF16, VF_LD_BF16, sc_bf16, sc_bf16, 2, 2, 0, VF_HSUM)
#define BF16_TILE bf16_tile
#endif

/* -------------------------------------------------- activation quantizer */

/* QK_ACT_Q8 rows with the same IEEE operations as qk_quant_q8_ref (max
 * |x|, d = amax/127 and 127/amax in scalar F32, x * id rounded to nearest
 * even), so the bytes are identical (t4001). */
static void QK_SFX(quant_q8)(const float *x, const qk_act *a, uint8_t *row)
{
	float *d = (float *)(row + a->off_d), *s = (float *)(row + a->off_s);
	int32_t *sum = (int32_t *)(row + a->off_i);
	const int64_t nb = a->k / QK_32;
	const __m256 sign = _mm256_set1_ps(-0.0f);
	for (int64_t b = 0; b < nb; b++) {
		__m256 v[4], m;
		UNROLL
		for (int i = 0; i < 4; i++)
			v[i] = _mm256_loadu_ps(x + QK_32 * b + 8 * i);
		m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
				  _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
		__m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
		m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
		m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
		float amax = _mm_cvtss_f32(m4);
		float dd = amax / 127.f, id = amax != 0 ? 127.f / amax : 0.f;
		__m256 idv = _mm256_set1_ps(id);
		__m256i q[4];
		UNROLL
		for (int i = 0; i < 4; i++)
			q[i] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[i], idv),
								  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
		int32_t isum = hsum8i(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
		__m256i p16a = _mm256_packs_epi32(q[0], q[1]), p16b = _mm256_packs_epi32(q[2], q[3]);
		__m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b),
							 _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
		uint16_t dh = qk_fp32_to_fp16(dd);
		_mm256_storeu_si256((__m256i *)(row + QK_32 * b), p8);
		d[b] = qk_fp16_to_fp32(dh);
		s[b] = qk_fp16_to_fp32(qk_fp32_to_fp16(dd * (float)isum));
		sum[b] = isum;
	}
}

/* ------------------------------------------------------------ drivers */

/* The row/tile loops; the tile size is a constant in each call so the
 * compiler specializes the tile body for 1..4 tokens. */
#define GEMM(NAME, TILE)                                                                        \
static void QK_SFX(NAME)(const qk_gemm *g, int64_t r0, int64_t r1)                             \
{                                                                                               \
	for (int64_t r = r0; r < r1; r++) {                                                     \
		int64_t t = 0;                                                                  \
		for (; t + NT <= g->x.n; t += NT)                                               \
			TILE(g, r, t, NT);                                                      \
		switch (g->x.n - t) {                                                           \
		case 3: TILE(g, r, t, 3); break;                                                \
		case 2: TILE(g, r, t, 2); break;                                                \
		case 1: TILE(g, r, t, 1); break;                                                \
		}                                                                               \
	}                                                                                       \
}

#define GEMMF(NAME, TILE)                                                                       \
static void QK_SFX(NAME)(const qk_gemm *g, int64_t r0, int64_t r1)                             \
{                                                                                               \
	for (int64_t r = r0; r < r1; r++) {                                                     \
		int64_t t = 0;                                                                  \
		for (; t + NTF <= g->x.n; t += NTF)                                             \
			TILE(g, r, t, NTF);                                                     \
		if (t < g->x.n)                                                                 \
			TILE(g, r, t, 1);                                                       \
	}                                                                                       \
}

/* The 32-block kernels: tiles of NR rows by NTX tokens; the tile shape
 * changes only which chains run side by side, never a chain's order. */
#define TILES32(g, r, nr, TILE, t0)                                                             \
	do {                                                                                    \
		int64_t t = (t0);                                                               \
		for (; t + NTX <= (g)->x.n; t += NTX)                                           \
			TILE(g, r, nr, t, NTX);                                                 \
		for (; t < (g)->x.n; t++)                                                       \
			TILE(g, r, nr, t, 1);                                                   \
	} while (0)

#define GEMM32(NAME, TILE, NR, WIDE)                                                            \
static void QK_SFX(NAME)(const qk_gemm *g, int64_t r0, int64_t r1)                             \
{                                                                                               \
	int64_t t0 = WIDE(g, r0, r1), r = r0;                                                   \
	if (g->x.n - t0 > 1)                                                                    \
		for (; r + (NR) <= r1; r += (NR))                                               \
			TILES32(g, r, NR, TILE, t0);                                            \
	for (; r < r1; r++)                                                                     \
		TILES32(g, r, 1, TILE, t0);                                                     \
}

/* WIDE32_Q4_0 / Q4_1 / Q8_0(g, r0, r1): optional wider tiles for batches
 * (gemm_avx512.c); they do the rows [r0, r1) for the first tokens and
 * return how many tokens they did, the tiles above do the rest. */
#define NO_WIDE(g, r0, r1) 0
#ifndef WIDE32_Q4_0
#define WIDE32_Q4_0 NO_WIDE
#endif
#ifndef WIDE32_Q4_1
#define WIDE32_Q4_1 NO_WIDE
#endif
#ifndef WIDE32_Q8_0
#define WIDE32_Q8_0 NO_WIDE
#endif


/* One token (decode) goes one row at a time: several rows side by side
 * are more chains but more weight streams, and measured slower (SmolLM2
 * Q4_1 generation 123 tok/s with 1 row, 111 with 2, 87 with 4, on this
 * Zen 4); Q8_0 always one row (2.5x slower on its 49152 x 576 output
 * matrix with 2 or 4). */
GEMM32(gemm_q4_0, Q4_0_TILE, R32, WIDE32_Q4_0)
GEMM32(gemm_q4_1, q4_1_tile, R32, WIDE32_Q4_1)
GEMM32(gemm_q8_0, Q8_0_TILE, 1, WIDE32_Q8_0)
GEMM(gemm_q4_k, Q4K_TILE)
GEMM(gemm_q5_k, Q5K_TILE)
GEMM(gemm_q6_k, Q6K_TILE)
GEMMF(gemm_f32, f32_tile)
GEMMF(gemm_f16, f16_tile)
GEMMF(gemm_bf16, BF16_TILE)

static void QK_SFX(fill_gemm)(qk_isa *t)
{
	t->gemm[QK_Q4_0] = QK_SFX(gemm_q4_0);
	t->gemm[QK_Q4_1] = QK_SFX(gemm_q4_1);
	t->gemm[QK_Q8_0] = QK_SFX(gemm_q8_0);
	t->gemm[QK_Q4_K] = QK_SFX(gemm_q4_k);
	t->gemm[QK_Q5_K] = QK_SFX(gemm_q5_k);
	t->gemm[QK_Q6_K] = QK_SFX(gemm_q6_k);
	t->gemm[QK_F32] = QK_SFX(gemm_f32);
	t->gemm[QK_F16] = QK_SFX(gemm_f16);
	t->gemm[QK_BF16] = QK_SFX(gemm_bf16);
	t->quant[QK_ACT_Q8] = QK_SFX(quant_q8);
}
