/*
 * repack.c - the "x8" weight layout of the x86 kernels for Q4_0, Q4_1 and
 * Q8_0, and the matching activation layout (QK_ACT_Q8X).
 *
 * A row is cut into groups of 8 blocks (256 elements); a group keeps the
 * same bytes as its 8 GGUF blocks, reordered so that one vector op covers
 * two blocks and the 8 per-block scales load as one vector:
 *
 *   Q4_1x8 (160 B): d[8], m[8] (halves, in block order P), qs[8][16] (block
 *                   order 0..7: a 32-byte load is the nibbles of 2 blocks)
 *   Q4_0x8 (144 B): d[8] (order P), qs[8][16]
 *   Q8_0x8 (272 B): d[8] (order P), then per block pair (2p, 2p+1) 64 B:
 *                   w[2p][0..15] w[2p+1][0..15] w[2p][16..31] w[2p+1][16..31]
 *
 * P = 0,2,4,6,1,3,5,7 is the order in which two rounds of pairwise
 * horizontal adds leave the 8 block sums (see gemm_x86.h).  Blocks after
 * the last full group stay in GGUF layout, so a packed row has exactly the
 * size of a GGUF row.
 *
 * QK_ACT_Q8X rows are QK_ACT_Q8 rows with, inside each full group, the qs
 * of pair (2p, 2p+1) ordered like Q8_0x8's and d, s, sum in order P.
 *
 * Invariant: unpack(repack(row)) == row, byte for byte (t4000 checks via
 * qk_tensor_get), and dequantizing a packed row gives the same floats as
 * the GGUF row.
 */
#include "cpu.h"

static const int P[8] = {0, 2, 4, 6, 1, 3, 5, 7};

int qk_packs_x8(qk_type t)
{
	return t == QK_Q4_0 || t == QK_Q4_1 || t == QK_Q8_0;
}

/* Move one group between layouts, piece by piece: each piece has an offset
 * in the GGUF group and one in the x8 group.  to_x8: src is GGUF. */
static void group(qk_type t, const uint8_t *src, uint8_t *dst, int to_x8)
{
	size_t bb = qk_type_block_bytes(t);
#define MOVE(goff, xoff, n) memcpy(dst + (to_x8 ? (xoff) : (goff)), src + (to_x8 ? (goff) : (xoff)), (n))
	for (int i = 0; i < 8; i++) {
		size_t blk = (size_t)P[i] * bb;
		MOVE(blk, 2 * (size_t)i, 2);                              /* d */
		if (t == QK_Q4_1)
			MOVE(blk + 2, 16 + 2 * (size_t)i, 2);             /* m */
	}
	for (size_t b = 0; b < 8; b++) {
		size_t blk = b * bb;
		if (t == QK_Q4_1) {
			MOVE(blk + 4, 32 + 16 * b, 16);
		} else if (t == QK_Q4_0) {
			MOVE(blk + 2, 16 + 16 * b, 16);
		} else {  /* Q8_0: pair (2p, 2p+1) = lo16 lo16 hi16 hi16 */
			size_t pair = 16 + 64 * (b / 2) + 16 * (b & 1);
			MOVE(blk + 2, pair, 16);
			MOVE(blk + 18, pair + 32, 16);
		}
	}
#undef MOVE
}

void qk_repack_x8(qk_type t, const uint8_t *src, uint8_t *dst, int64_t k)
{
	size_t bb = qk_type_block_bytes(t), gb = 8 * bb;
	int64_t ng = k / QK_K, nb = k / QK_32;
	for (int64_t g = 0; g < ng; g++)
		group(t, src + g * gb, dst + g * gb, 1);
	memcpy(dst + ng * gb, src + ng * gb, (size_t)(nb - 8 * ng) * bb);
}

void qk_unpack_x8(qk_type t, const uint8_t *src, uint8_t *dst, int64_t k)
{
	size_t bb = qk_type_block_bytes(t), gb = 8 * bb;
	int64_t ng = k / QK_K, nb = k / QK_32;
	for (int64_t g = 0; g < ng; g++)
		group(t, src + g * gb, dst + g * gb, 0);
	memcpy(dst + ng * gb, src + ng * gb, (size_t)(nb - 8 * ng) * bb);
}

/* Dequantize a packed row: unpack one group at a time into a GGUF buffer. */
void qk_dequant_x8(qk_type t, const void *src, float *y, int64_t k)
{
	size_t bb = qk_type_block_bytes(t), gb = 8 * bb;
	uint8_t buf[8 * sizeof(qk_block_q8_0)];
	const uint8_t *p = src;
	const qk_isa *ref = qk_isa_table(QK_ISA_REF);
	int64_t ng = k / QK_K;
	for (int64_t g = 0; g < ng; g++, y += QK_K) {
		group(t, p + g * gb, buf, 0);
		ref->dequant[t](buf, y, QK_K);
	}
	if (k > ng * QK_K)
		ref->dequant[t](p + ng * gb, y, k - ng * QK_K);
}

void qk_quant_q8x_ref(const float *x, const qk_act *a, uint8_t *row)
{
	qk_quant_q8_ref(x, a, row);
	int64_t ng = a->k / QK_K;
	float *d = (float *)(row + a->off_d), *s = (float *)(row + a->off_s);
	int32_t *sum = (int32_t *)(row + a->off_i);
	for (int64_t g = 0; g < ng; g++) {
		int8_t q[QK_K];
		float dd[8], ss[8];
		int32_t ii[8];
		memcpy(q, row + g * QK_K, QK_K);
		for (int b = 0; b < 8; b++) {
			uint8_t *pair = row + g * QK_K + 64 * (b / 2) + 16 * (b & 1);
			memcpy(pair, q + 32 * b, 16);
			memcpy(pair + 32, q + 32 * b + 16, 16);
		}
		for (int i = 0; i < 8; i++) {
			dd[i] = d[8 * g + P[i]];
			ss[i] = s[8 * g + P[i]];
			ii[i] = sum[8 * g + P[i]];
		}
		memcpy(d + 8 * g, dd, sizeof dd);
		memcpy(s + 8 * g, ss, sizeof ss);
		memcpy(sum + 8 * g, ii, sizeof ii);
	}
}
