#!/bin/sh
# Activation quantization (Q8_0, Q8_1, Q8_K, F16, BF16) byte for byte against
# llama.cpp's own from_float, and Q8_0 against gguf.quants.quantize (equal
# except on exact .5 ties, where ggml's x86 code rounds to even).
. "${0%/*}/lib.sh"

run t/unit/qk-test act t/data/qk/act.bin
expect_status 0 "activation quantizers == llama.cpp from_float; every ISA == reference"
cat "$TRASH/out"
like "$TRASH/out" '^# q8_0 vs gguf.quants.quantize: [0-9]+ equal, 40 ties rounded to even, 0 bad' \
	"gguf Q8_0 differs exactly on the 40 crafted ties"

# QK_ISA pins the kernel set; a bad value is an error, not a fallback
QK_ISA=ref run t/unit/qk-test info
expect_status 0 "QK_ISA=ref accepted"
like "$TRASH/out" '^ref [0-9]+$' "QK_ISA=ref picks the reference kernels"
QK_ISA=avx9000 run t/unit/qk-test info
expect_status 1 "QK_ISA=avx9000 fails"
like "$TRASH/err" "unknown ISA 'avx9000'" "and says why"
if QK_ISA=avx512 t/unit/qk-test info >/dev/null 2>&1; then
	QK_ISA= run t/unit/qk-test info
	like "$TRASH/out" '^avx512 ' "without QK_ISA the best ISA (avx512) is picked"
else
	skip "this CPU cannot run the avx512 kernels"
fi
done_testing
