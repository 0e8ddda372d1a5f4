#!/bin/sh
# gen-ppl-golden.sh - llama.cpp's llama-perplexity (from the llama-cpp-python
# 0.3.36 sdist, built by t/bench/build-llamacpp) on t/data/qeval/ppl-text.txt,
# the golden for `qeval ppl` (t/t6010-qeval-ppl.t: within 1%).  Run from the
# top of the tree (after `make model`):
#
#   sh t/data/qeval/gen-ppl-golden.sh > t/data/qeval/ppl-golden.txt
#
# One line per (model, context, flash attention): model file name <TAB>
# ctx <TAB> fa <TAB> chunks <TAB> PPL <TAB> its +/- <TAB> the running PPL
# after each chunk (space separated), as llama-perplexity printed them.
# fa "off" is the attention q computes (softmax(K.q) then V, as every
# engine golden), "auto" llama-perplexity's default (flash attention on the
# CPU: an online softmax that rounds elsewhere).  One thread, a batch of one
# chunk (-b = -c: its default batch of 2048 puts several chunks in one
# ubatch and one KV cache, where each chunk's attention also runs over the
# other chunks' masked cells and so adds in another order; qeval runs each
# chunk as a sequence of its own), F16 KV cache.
set -eu
BIN=$(t/bench/build-llamacpp)
SHARED=${Q_SHARED:-../shared}
run() { # MODEL CTX FA
	out=$("$BIN/llama-perplexity" -m "$1" -f t/data/qeval/ppl-text.txt -c "$2" -b "$2" -fa "$3" -t 1 2>&1)
	final=$(printf '%s\n' "$out" | sed -n 's/.*Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\).*/\1\t\2/p')
	running=$(printf '%s\n' "$out" | grep -o '\[[0-9]*\][0-9.]*' | sed 's/^\[[0-9]*\]//' | tr '\n' ' ' | sed 's/ $//')
	chunks=$(printf '%s\n' "$running" | wc -w)
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(basename "$1")" "$2" "$3" "$chunks" "$final" "$running"
}
for fa in off auto; do
	run share/models/SmolLM2-135M-Instruct.Q4_1.gguf 128 $fa
	run share/models/SmolLM2-135M-Instruct.Q4_1.gguf 256 $fa
	run "$SHARED/models/stories260K.gguf" 256 $fa
	run "$SHARED/models/stories260K.gguf" 128 $fa
done
