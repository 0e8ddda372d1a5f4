#!/bin/sh
# stories260K against llama.cpp (t/data/engine/gen-stories260k.py): greedy
# continuations of 5 prompts (96 tokens each, F16 KV as llama.cpp's default)
# identical, except after a step where llama.cpp's top-2 gap is below 0.02;
# and the logits llama.cpp computed along each continuation, teacher-forced:
# within 1e-5 relative with an F32 KV cache (max_i |ours_i - llama_i| /
# max(1, max_i |llama_i|)), and with the F16 cache within 5e-3 (llama.cpp
# rounds softmax(QK) to half inside its matmul, our attention does not;
# its own F16-vs-F32 difference is 2.4e-2, calibration.txt).
. "${0%/*}/lib.sh"

# llama.cpp adds in another order on each ISA: the goldens of the one our
# kernels run (t/data/engine/README)
ISA=$(t/unit/qk-test info | cut -d' ' -f1)
D=t/data/engine/stories260k/$ISA
if [ ! -f "$D/greedy.txt" ]; then
	skip "no llama.cpp goldens for $ISA in $D (python3 t/data/engine/gen-stories260k.py on such a CPU)"
	done_testing
fi
TAB=$(printf '\t')

# within R LIMIT: R <= LIMIT.
within() { awk -v r="$1" -v l="$2" 'BEGIN { exit !(r + 0 <= l + 0) }'; }

while IFS=$TAB read -r n prompt gen gaps; do
	# compare up to (not including) the first step whose gap is below 0.02
	k=$(echo "$gaps" | awk '{ for (i = 1; i <= NF; i++) if ($i + 0 < 0.02) { print i - 1; exit } print NF }')
	want=$(echo "$gen" | cut -d' ' -f"1-$k" | sed 's/ 2$//')
	printf '%s' "$prompt" >"$TRASH/prompt"
	run qgen -m "$STORIES" -t 1 --ids --temp 0 -n 96 <"$TRASH/prompt"
	expect_status 0 "prompt $n: qgen --ids runs"
	got=$(cut -d' ' -f"1-$k" "$TRASH/out")
	is "$got" "$want" "prompt $n: greedy ids identical to llama.cpp's ($k steps before any gap < 0.02)"

	# teacher forcing: the prompt and the continuation but its last id
	echo "$prompt $gen" | awk '{ for (i = 1; i < NF; i++) printf "%s ", $i; print "" }' >"$TRASH/seq"
	run t/unit/engine-logits "$STORIES" "$TRASH/seq" "$D/$n.kvf32.logits" f32
	expect_status 0 "prompt $n, F32 KV: teacher forcing runs"
	read -r _ rel _ _ _ agree _ <"$TRASH/out"
	diag "prompt $n F32 KV: max relative difference $rel, argmax $agree"
	within "$rel" 1e-5
	ok_ $? "prompt $n, F32 KV: logits within 1e-5 relative at every position"
	run t/unit/engine-logits "$STORIES" "$TRASH/seq" "$D/$n.logits" f16
	read -r _ rel _ _ _ agree _ <"$TRASH/out"
	diag "prompt $n F16 KV: max relative difference $rel, argmax $agree"
	within "$rel" 5e-3
	ok_ $? "prompt $n, F16 KV: logits within 5e-3 relative at every position"
	case $agree in
	*/*) [ "${agree%/*}" = "${agree#*/}" ] ;;
	*) false ;;
	esac
	ok_ $? "prompt $n, F16 KV: the same top-1 at every position"
done <"$D/greedy.txt"
done_testing
