#!/bin/sh
# Tiny random-weight qwen2 / qwen3 / llama GGUFs in every weight type, greedy
# through qgen against llama.cpp (t/data/engine/gen-tiny.py, tiny/ISA/
# greedy.txt): an 8-token prompt decoded in one batch, then 32 one-token
# steps, so both of llama.cpp's kernel families (batched and one-token) are
# followed; F16 KV cache as llama.cpp's default.  The continuation must be
# identical up to the first step whose llama.cpp top-2 gap is below 0.02.
# (Compared logit by logit with llama.cpp's own tools, the 32 decode steps
# are bit-identical for every model; the prompt step differs by ~1e-6 where
# the oracle, run with logits_all, puts all 8 prompt rows through its
# last-layer kernels as a batch while qgen computes only the last row, as
# llama.cpp does without logits_all.)
# Hard checks on AVX2 and AVX-512 (the goldens' ISAs, checked); on other
# ISAs TODO checks, as t3100 explains.
. "${0%/*}/lib.sh"

D=t/data/engine/tiny
ISA=$(t/unit/qk-test info | cut -d' ' -f1)
G=$D/$ISA/greedy.txt
TAB=$(printf '\t')

# todo_ok STATUS DESC REASON: a TAP check marked TODO (reported, not fatal).
todo_ok() {
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_n - $2 # TODO $3"; else echo "not ok $_n - $2 # TODO $3"; fi
}

if [ ! -f "$G" ]; then
	skip "no llama.cpp greedy goldens for $ISA in $G (python3 t/data/engine/gen-tiny.py on such a CPU)"
	done_testing
fi
while IFS=$TAB read -r name prompt gen gaps; do
	k=$(echo "$gaps" | awk '{ for (i = 1; i <= NF; i++) if ($i + 0 < 0.02) { print i - 1; exit } print NF }')
	printf '%s' "$prompt" >"$TRASH/prompt"
	run qgen -m "$D/$name.gguf" -t 1 --ids --temp 0 -n 32 <"$TRASH/prompt"
	expect_status 0 "$name: qgen --ids runs"
	if [ "$k" -eq 0 ]; then
		skip "$name: llama.cpp's first step is a near-tie"
		continue
	fi
	want=$(echo "$gen" | cut -d' ' -f"1-$k" | sed 's/ 2$//')
	got=$(cut -d' ' -f"1-$k" "$TRASH/out")
	if [ "$ISA" = avx2 ] || [ "$ISA" = avx512 ]; then
		is "$got" "$want" "$name: greedy ids identical to llama.cpp's ($k steps before any gap < 0.02)"
	else
		[ "$got" = "$want" ]
		todo_ok $? "$name: greedy ids identical to llama.cpp's ($k steps before any gap < 0.02)" \
			"our $ISA kernels have not been checked against llama.cpp's $ISA order since they changed"
	fi
done <"$G"
done_testing
