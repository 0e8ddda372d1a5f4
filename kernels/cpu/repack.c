/*
 * repack.c - the "r16" weight layout of the x86 kernels (Q4_1, Q8_0): 16
 * rows interleaved block by block, so that one 64-byte vector holds four
 * bytes of the same block of each of 16 rows, a 32-bit lane per row.  A
 * vpdpbusd over it against four activation bytes broadcast to every lane
 * adds 4 products to each row's integer sum: 8 of them (Q4_1: 4 vectors,
 * low and high nibbles) give 16 rows' whole block dot at once, and the
 * block's scales of the 16 rows load as one vector (gemm_r16.h).
 *
 * One group (16 rows) is, block after block:
 *   Q4_1 (320 B = 16 blocks): d[16], m[16] (halves, row order), then 4
 *        pieces of 64 B: piece p lane l = qs[4p .. 4p+3] of row l
 *   Q8_0 (544 B = 16 blocks): d[16], then 8 pieces of 64 B: piece p lane
 *        l = qs[4p .. 4p+3] of row l, each byte XOR 0x80 (w + 128 as u8)
 * so a group has exactly the bytes of its 16 GGUF rows.  Only tensors of
 * a multiple of 16 rows are packed; group g starts at row 16 g.
 *
 * Invariant: unpack(repack(rows)) == rows, byte for byte (t4000 checks via
 * qk_tensor_get), and dequantizing a row of a group gives the floats of
 * the GGUF row.
 */
#include "cpu.h"

#include <string.h>

int qk_packs_r16(qk_type t)
{
	return t == QK_Q4_1 || t == QK_Q8_0;
}

/* Move row l's block between its GGUF bytes (blk) and the r16 group block
 * (r16).  to_r16: GGUF -> r16. */
static void move_block(qk_type t, uint8_t *blk, uint8_t *r16, int l, int to_r16)
{
	int q41 = t == QK_Q4_1, nq = q41 ? 16 : 32, hdr = q41 ? 4 : 2;
	uint8_t flip = q41 ? 0 : 0x80;
	uint8_t *d = r16 + 2 * l, *m = r16 + 32 + 2 * l, *qs = r16 + (q41 ? 64 : 32) + 4 * l;
	if (to_r16) {
		memcpy(d, blk, 2);
		if (q41)
			memcpy(m, blk + 2, 2);
		for (int j = 0; j < nq; j++)
			qs[64 * (j / 4) + j % 4] = blk[hdr + j] ^ flip;
	} else {
		memcpy(blk, d, 2);
		if (q41)
			memcpy(blk + 2, m, 2);
		for (int j = 0; j < nq; j++)
			blk[hdr + j] = qs[64 * (j / 4) + j % 4] ^ flip;
	}
}

void qk_repack_r16(qk_type t, const uint8_t *src, size_t src_stride, uint8_t *dst, int64_t k)
{
	size_t bb = qk_type_block_bytes(t);
	for (int64_t b = 0; b < k / QK_32; b++)
		for (int l = 0; l < 16; l++)
			move_block(t, (uint8_t *)src + (size_t)l * src_stride + b * bb, dst + 16 * b * bb, l, 1);
}

/* Only row i's bytes are read: one row costs one row, not a group. */
void qk_unpack_r16(qk_type t, const uint8_t *src, int i, uint8_t *dst, int64_t k)
{
	size_t bb = qk_type_block_bytes(t);
	for (int64_t b = 0; b < k / QK_32; b++)
		move_block(t, dst + b * bb, (uint8_t *)src + 16 * b * bb, i, 0);
}

void qk_dequant_r16(qk_type t, const uint8_t *src, int i, float *y, int64_t k)
{
	size_t bb = qk_type_block_bytes(t);
	uint8_t row[sizeof(qk_block_q8_0)];
	const qk_isa *ref = qk_isa_table(QK_ISA_REF);
	for (int64_t b = 0; b < k / QK_32; b++, y += QK_32) {
		qk_unpack_r16(t, src + 16 * b * bb, i, row, QK_32);
		ref->dequant[t](row, y, QK_32);
	}
}
