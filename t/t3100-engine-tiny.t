#!/bin/sh
# Tiny random-weight qwen2 / qwen3 / llama GGUFs in every weight type
# (t/data/engine/gen-tiny.py, llama.cpp as the oracle): teacher-forced
# logits at every position against llama.cpp's, with an F32 KV cache (the
# plain math) and with llama.cpp's default F16 one.
#
# relative difference of a position = max_i |ours_i - llama_i| / max(1, max_i |llama_i|)
#
# The issue asks for 1e-3 everywhere, and top-1 changes only at near-ties.
# llama.cpp adds in another order on each ISA, so the goldens are those it
# made on the ISA our kernels run (tiny/<isa>/; the models are shared).
# Activation re-quantization turns last-bit differences into ~1e-2, so the
# 1e-3 targets hold where our kernels follow llama.cpp's order exactly;
# those are hard checks, the rest TODO checks (reported, not fatal):
# - AVX2 (the avx2 goldens) and AVX-512 (the avx512 goldens, an AVX-512
#   VNNI/BF16 CPU): every model with either cache, bit-identical to
#   llama.cpp's build for that ISA (its tinyBLAS, repacked Q4_0/Q4_K and
#   tiled K-quant GEMMs followed for the batch, kernels/cpu/gemm_x86.h,
#   gemm_avx512.c, ops_x86.h) except the F32 and F16 weights with an F32
#   cache on AVX-512 (its attention over an F32 cache adds in another order
#   there: within 5e-4 relative).
# - Any other ISA: TODO checks.
# Every model and cache type must still be within 5e-2.
. "${0%/*}/lib.sh"

D=t/data/engine/tiny
ISA=$(t/unit/qk-test info | cut -d' ' -f1)
G=$D/$ISA
diag "kernels: $ISA"

# todo_ok STATUS DESC REASON: a TAP check marked TODO (reported, not fatal).
todo_ok() {
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_n - $2 # TODO $3"; else echo "not ok $_n - $2 # TODO $3"; fi
}

# within R LIMIT: R <= LIMIT (R as printed, %.3e).
within() { awk -v r="$1" -v l="$2" 'BEGIN { exit !(r + 0 <= l + 0) }'; }

[ -f "$D/models.txt" ] || { skip "no $D/models.txt"; done_testing; }
[ -d "$G" ] || { skip "no llama.cpp goldens for $ISA in $G (python3 t/data/engine/gen-tiny.py on such a CPU)"; done_testing; }
grep -v '^#' "$D/models.txt" | while read -r name arch wt rest; do
	for kv in f32 f16; do
		gold=$G/$name.logits
		[ $kv = f16 ] && gold=$G/$name.kvf16.logits
		run t/unit/engine-logits "$D/$name.gguf" "$D/tokens.txt" "$gold" $kv
		expect_status 0 "$name, $kv KV: runs"
		read -r _ rel _ pos _ agree _ gap <"$TRASH/out"
		diag "$name $kv KV: max relative difference $rel at position $pos, argmax $agree, largest gap at a disagreement $gap"
		within "$rel" 1e-3
		st=$?
		within "$gap" 0.02
		st_gap=$?
		case "$ISA" in
		avx2 | avx512)
			ok_ $st "$name, $kv KV: every position within 1e-3 relative"
			ok_ $st_gap "$name, $kv KV: top-1 differs only where llama.cpp's top-2 gap < 0.02" ;;
		*)
			why="our $ISA kernels have not been checked against llama.cpp's $ISA order since they changed"
			todo_ok $st "$name, $kv KV: every position within 1e-3 relative" "$why"
			todo_ok $st_gap "$name, $kv KV: top-1 differs only where llama.cpp's top-2 gap < 0.02" "$why" ;;
		esac
		within "$rel" 5e-2
		ok_ $? "$name, $kv KV: every position within 5e-2 relative"
	done
done > "$TRASH/tap"
cat "$TRASH/tap"
_n=$(grep -c '^\(not \)\?ok ' "$TRASH/tap")
_failed=$(grep '^not ok ' "$TRASH/tap" | grep -vc '# TODO')
done_testing
