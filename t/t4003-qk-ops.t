#!/bin/sh
# Row ops: rmsnorm, silu*mul, softmax, add, rope (normal, NeoX, partial,
# linear and Llama 3 scaling), argmax - reference vs float64, SIMD vs reference;
# the KV cache store: F16 rows exactly qk_fp32_to_fp16 of the input on every ISA.
. "${0%/*}/lib.sh"

# how many kernel sets this CPU runs: ref, avx2, avx512
n_isa=1
QK_ISA=avx2 t/unit/qk-test info >/dev/null 2>&1 && n_isa=2
QK_ISA=avx512 t/unit/qk-test info >/dev/null 2>&1 && n_isa=3

run t/unit/qk-test ops
expect_status 0 "row ops of every ISA within bounds"
cat "$TRASH/out"
is "$(grep -c '^# rope avx[0-9]* .*bit-identical' "$TRASH/out")" "$((6 * (n_isa - 1)))" \
	"rope SIMD bit-identical to the reference (6 configurations per ISA)"
is "$(grep -c '^# kv store .*bit-identical' "$TRASH/out")" "$((5 * 2 * n_isa))" \
	"kv store: 5 widths, F16 and F32 caches, every ISA"
done_testing
