#!/bin/sh
# qeval ppl against llama.cpp's llama-perplexity (t/data/qeval/ppl-golden.txt,
# made by gen-ppl-golden.sh) on the same text, model and context, with its
# flash attention off (the attention q computes) and at its default (auto):
# the same number of chunks, the final PPL within 1% and the +/- within 5%;
# with flash attention off also every running value within 1% (the printed
# values are identical for SmolLM2; see the diag lines).  With flash
# attention on, the running values of the first chunks (scored over 64 or
# 128 positions) differ by up to 1.2%.
. "${0%/*}/lib.sh"

TAB=$(printf '\t')
# within A B TOL: |A - B| <= TOL x B
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t * b) }'; }

while IFS=$TAB read -r model ctx fa chunks ppl err running; do
	case $model in
	stories260K.gguf) M=$STORIES ;;
	*) M=$TOP/share/models/$model ;;
	esac
	if [ ! -f "$M" ]; then
		skip "no $M (make model)"
		continue
	fi
	run qeval ppl -m "$M" --ctx "$ctx" -t 2 <t/data/qeval/ppl-text.txt
	expect_status 0 "$model ctx $ctx fa $fa: exit 0"
	got=$(sed -n 's/^PPL = \([0-9.]*\) +\/- \([0-9.]*\)$/\1 \2/p' "$TRASH/out")
	diag "$model ctx $ctx fa $fa: PPL $got, llama-perplexity $ppl +/- $err"
	within "${got% *}" "$ppl" 0.01
	ok_ $? "$model ctx $ctx fa $fa: PPL ${got% *} within 1% of llama-perplexity's $ppl"
	within "${got#* }" "$err" 0.05
	ok_ $? "$model ctx $ctx fa $fa: +/- ${got#* } within 5% of $err"
	ours=$(head -n 1 "$TRASH/out" | tr ',' '\n' | sed -n 's/^\[[0-9]*\]//p' | tr '\n' ' ')
	is "$(echo "$ours" | wc -w)" "$chunks" "$model ctx $ctx fa $fa: $chunks chunks"
	[ "$fa" = off ] || continue
	bad=0
	set -- $running
	for v in $ours; do
		within "$v" "$1" 0.01 || bad=$((bad + 1))
		shift
	done
	is "$bad" 0 "$model ctx $ctx fa $fa: every running value within 1%"
done <t/data/qeval/ppl-golden.txt

printf 'too short' >"$TRASH/short"
run qeval ppl -m "$STORIES" --ctx 64 <"$TRASH/short"
expect_status 1 "a text shorter than 2 x ctx: exit 1"
one_line_error "$TRASH/err" qeval "a text shorter than 2 x ctx: one error line"
run qeval ppl -m "$STORIES" --ctx 2 <t/data/qeval/ppl-text.txt
expect_status 2 "--ctx 2: usage error"
done_testing
