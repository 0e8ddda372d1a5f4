#!/bin/sh
# Rope scaling as lib/model binds it, against llama.cpp
# (t/data/qgen/gen-rope.py): a Llama 3.1-style rope_freqs.weight and
# llama.rope.scaling.type linear, 200 positions, F32 weights and KV:
# teacher-forced logits within 1e-4 relative (max_i |ours_i - llama_i| /
# max(1, max_i |llama_i|)) at every position.  The control shows the check
# can fail: the two scalings differ from each other by far more.
. "${0%/*}/lib.sh"

D=t/data/qgen/rope

# within R LIMIT: R <= LIMIT.
within() { awk -v r="$1" -v l="$2" 'BEGIN { exit !(r + 0 <= l + 0) }'; }

for n in llama3 linear; do
	run t/unit/engine-logits "$D/$n.gguf" "$D/tokens.txt" "$D/$n.logits" f32
	expect_status 0 "$n: teacher forcing runs"
	read -r _ rel _ _ _ agree _ <"$TRASH/out"
	diag "$n: max relative difference $rel, argmax $agree"
	within "$rel" 1e-4
	ok_ $? "$n rope scaling: logits within 1e-4 of llama.cpp's at 200 positions"
done
run t/unit/engine-logits "$D/llama3.gguf" "$D/tokens.txt" "$D/linear.logits" f32
read -r _ rel _ <"$TRASH/out"
within "$rel" 1e-2
ok_ $((1 - $?)) "control: the llama3-scaled model is more than 1e-2 away from the linear golden ($rel)"
done_testing
