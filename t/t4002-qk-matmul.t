#!/bin/sh
# Matmul for all 9 weight types: every ISA against llama.cpp's vec_dot and a
# float64 dot (t/data/qk/mm-*.bin), SIMD against the reference on odd shapes,
# identical results with 1, 2 and 3 threads, and each token of a batch (7
# and 37 tokens: the AVX-512 eight-token tiles and a remainder)
# computed alone equal to its row of the batch (batch invariance); the same
# in the fast order.
. "${0%/*}/lib.sh"

# how many kernel sets this CPU runs: ref, avx2, avx512
n_isa=1
QK_ISA=avx2 t/unit/qk-test info >/dev/null 2>&1 && n_isa=2
QK_ISA=avx512 t/unit/qk-test info >/dev/null 2>&1 && n_isa=3

run t/unit/qk-test mm t/data/qk/mm-*.bin
expect_status 0 "matmul (ref, avx2, avx512) vs llama.cpp vec_dot and float64, 9 types"
cat "$TRASH/out"
is "$(grep -c ' vs llama.cpp ' "$TRASH/out")" "$((9 * n_isa))" "one llama.cpp comparison per type and ISA"

run t/unit/qk-test simd
expect_status 0 "every SIMD matmul within bounds of the reference on odd m, n, k"
cat "$TRASH/out"

run t/unit/qk-test threads
expect_status 0 "matmul identical with 1, 2, 3 threads and token by token, every ISA"
cat "$TRASH/out"

# The fast order (QK_ORDER=fast, cpu.h): Q4_1 of a multiple of 16 rows in
# the r16 layout, every ISA giving the reference's very bytes (qk-test
# fails on any Q4_1 element that differs), the weights read back intact.
run env QK_ORDER=fast t/unit/qk-test simd
expect_status 0 "fast order: every SIMD matmul within bounds, Q4_1 identical to the reference"
cat "$TRASH/out"
like "$TRASH/out" '^# q4_1 .*(avx2 vs ref 0\.000|ref vs float64 [0-9.]+ \(max)' "fast order: Q4_1 reported identical to the reference"

run env QK_ORDER=fast t/unit/qk-test threads
expect_status 0 "fast order: identical with 1, 2, 3 threads and token by token, every ISA"
cat "$TRASH/out"

# qk_matmul_n: Q/K/V and gate/up share one quantized input and one pass
for order in ggml fast; do
	run env QK_ORDER=$order t/unit/qk-test multi
	expect_status 0 "$order order: qk_matmul_n of 1-4 weights identical to each qk_matmul; bad calls refused"
	cat "$TRASH/out"
	is "$(grep -c 'identical to qk_matmul: yes' "$TRASH/out")" "$n_isa" "$order order: every ISA compared"
	is "$(grep -c '^# refused: ' "$TRASH/out")" 4 "$order order: 4 bad calls refused"
done

run env QK_ORDER=bogus t/unit/qk-test threads
expect_status 1 "an unknown QK_ORDER is an error"
done_testing
