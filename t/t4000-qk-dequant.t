#!/bin/sh
# Dequantization of every weight type against the gguf package's numpy
# dequantize (t/data/qk/gen.py), bit for bit, also through each ISA's embed.
. "${0%/*}/lib.sh"

run t/unit/qk-test dequant t/data/qk/dq-*.bin
expect_status 0 "dequantize f32 f16 bf16 q8_0 q4_0 q4_1 q4_K q5_K q6_K == gguf.quants.dequantize"
cat "$TRASH/out"
is "$(grep -c ': 0 differ' "$TRASH/out")" 9 "all 9 types checked, none differ"
done_testing
