#!/bin/sh
# SmolLM2-135M-Instruct Q4_1 against llama.cpp (t/data/engine/gen-smollm2.py,
# F16 KV cache as llama.cpp's default), with the goldens llama.cpp made on
# the ISA our kernels run (it adds in another order on each):
# - greedy 128-token continuations of 28 prompts (plain and chat-templated)
#   identical to llama.cpp's, except after a step where its top-2 gap is
#   below 0.02;
# - teacher-forced top-1 agreement >= 99% over >= 2,000 positions, the max
#   |logit difference| reported;
# - qgen --chat end to end (lib/chat's template rendering, tokenizer,
#   streaming) gives llama.cpp's answer on the single-message chat prompts
#   whose golden continuation has no near-tie.
# This model amplifies last-bit differences (Q8 re-quantization of
# activations with logits spanning +-38: llama.cpp itself, changing only
# its KV cache type, keeps 8 of 28 continuations and 97.7% top-1,
# smollm2/avx512/calibration.txt), so the targets hold only where our
# kernels add in exactly llama.cpp's order.  That is checked for AVX2 and
# AVX-512 (the hard checks; both bit-identical); on any other ISA the
# targets are TODO checks and the hard checks hold us to llama.cpp's own
# F16-vs-F32 KV agreement: >= 8 prompts identical up to their first
# near-tie, >= 97% top-1.
. "${0%/*}/lib.sh"

ISA=$(t/unit/qk-test info | cut -d' ' -f1)
D=t/data/engine/smollm2/$ISA
TAB=$(printf '\t')

# todo_ok STATUS DESC REASON: a TAP check marked TODO (reported, not fatal).
todo_ok() {
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_n - $2 # TODO $3"; else echo "not ok $_n - $2 # TODO $3"; fi
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

if [ ! -f "$MODEL_SMOL" ]; then
	skip "no $MODEL_SMOL (make model)"
	done_testing
fi
if [ ! -f "$D/greedy.txt" ] || [ ! -f "$D/tf-full.f32.gz" ]; then
	skip "no llama.cpp goldens for $ISA in $D (python3 t/data/engine/gen-smollm2.py on such a CPU)"
	done_testing
fi
WHY="our $ISA kernels do not yet add in llama.cpp's $ISA order everywhere"
# target STATUS DESC: a hard check where the exact order is in place, TODO elsewhere
target() {
	if [ "$ISA" = avx2 ] || [ "$ISA" = avx512 ]; then ok_ "$1" "$2"; else todo_ok "$1" "$2" "$WHY"; fi
}

run t/unit/engine-greedy "$MODEL_SMOL" "$D/greedy.txt"
cp "$TRASH/out" "$TRASH/greedy"
sed 's/^/# /' "$TRASH/greedy"
read -r _ np _ same _ full <<EOF
$(tail -n 1 "$TRASH/greedy")
EOF
is "$np" 28 "greedy: 28 prompts, 128 tokens each (fewer when llama.cpp ended the turn)"
target "$rc" "greedy: every continuation identical to llama.cpp's up to its first gap < 0.02 ($same of 28)"
ge "$same" 8
ok_ $? "greedy: at least 8 of 28 identical up to the first near-tie ($same; llama.cpp F32 vs F16 KV: 8)"

# the last sequences of tf-seqs.txt (the three long texts, then chat
# prompts with their continuations) up to 2,500 positions
run t/unit/engine-tf "$MODEL_SMOL" "$D" 2500
expect_status 0 "teacher forcing runs"
read -r _ pos _ top1 _ pct _ dtop _ dfull _ rows _ nseq <"$TRASH/out"
diag "teacher-forced: $top1 of $pos positions in $nseq sequences agree on top-1 ($pct%)" \
	"max |logit difference|: $dtop over llama.cpp's top-8 logits, $dfull over $rows full rows"
ge "$pos" 2000
ok_ $? "teacher forcing: at least 2,000 positions ($pos)"
ge "$pct" 99
target $? "teacher forcing: top-1 agreement >= 99% ($pct%)"
ge "$pct" 97
ok_ $? "teacher forcing: top-1 agreement >= 97% ($pct%; llama.cpp F32 vs F16 KV: 97.7%)"

# the fast kernel order (QK_ORDER=fast, qgen/qserve --fast-kernels) adds in
# its own order, not llama.cpp's: reported, and held to the bound above
# (llama.cpp's own agreement between its F32 and F16 caches)
run env QK_ORDER=fast t/unit/engine-tf "$MODEL_SMOL" "$D" 2500
expect_status 0 "fast order: teacher forcing runs"
read -r _ fpos _ ftop1 _ fpct _ fdtop _ fdfull _ frows _ _ <"$TRASH/out"
diag "fast order, teacher-forced: $ftop1 of $fpos positions agree with llama.cpp on top-1 ($fpct%)" \
	"max |logit difference|: $fdtop over llama.cpp's top-8 logits, $fdfull over $frows full rows"
ge "$fpct" 97
ok_ $? "fast order: teacher-forced top-1 agreement >= 97% ($fpct%; llama.cpp F32 vs F16 KV: 97.7%)"

# qgen --chat: single-user-message chat prompts reproduced in full above
n_chat=0
while IFS=$TAB read -r n prompt gen gaps; do
	grep -q "^ok $n: .* full$" "$TRASH/greedy" || continue
	msg=$(grep "^{\"n\": $n," "$D/prompts.jsonl" |
		sed -n 's/.*"messages": \[{"role": "user", "content": "\([^"\\]*\)"}\].*/\1/p')
	[ -n "$msg" ] || continue
	printf '%s' "$gen" | sed 's/ 2$//' >"$TRASH/gold.ids"
	run qtok -m "$MODEL_SMOL" -d <"$TRASH/gold.ids"
	cp "$TRASH/out" "$TRASH/gold.txt"
	run qgen -m "$MODEL_SMOL" -t 1 --chat -p "$msg" --temp 0 -n 128
	expect_status 0 "qgen --chat '$msg': exit 0"
	test_cmp "$TRASH/gold.txt" "$TRASH/out" "qgen --chat '$msg': llama.cpp's greedy answer"
	n_chat=$((n_chat + 1))
done <"$D/greedy.txt"
[ $n_chat -gt 0 ] || skip "no single-message chat prompt reproduced in full"
done_testing
