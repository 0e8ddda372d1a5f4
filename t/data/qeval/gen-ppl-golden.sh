#!/bin/sh
# gen-ppl-golden.sh - llama.cpp's llama-perplexity (from the llama-cpp-python
# 0.3.36 sdist, built by t/bench/build-llamacpp) on t/data/qeval/ppl-text.txt,
# the golden for `qeval ppl` (t/t6010-qeval-ppl.t: within 1%).  Run from the
# top of the tree (after `make model`):
#
#   sh t/data/qeval/gen-ppl-golden.sh > t/data/qeval/ppl-golden.txt
#
# One line per (model, context): model file name <TAB> ctx <TAB> chunks
# <TAB> PPL <TAB> its +/- <TAB> the running PPL after each chunk (space
# separated), as llama-perplexity printed them.  One thread, its defaults
# otherwise (batch 2048, F16 KV cache).
set -eu
BIN=$(t/bench/build-llamacpp)
SHARED=${Q_SHARED:-../shared}
run() { # MODEL CTX
	out=$("$BIN/llama-perplexity" -m "$1" -f t/data/qeval/ppl-text.txt -c "$2" -t 1 2>&1)
	final=$(printf '%s\n' "$out" | sed -n 's/.*Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\).*/\1\t\2/p')
	running=$(printf '%s\n' "$out" | grep -o '\[[0-9]*\][0-9.]*' | sed 's/^\[[0-9]*\]//' | tr '\n' ' ' | sed 's/ $//')
	chunks=$(printf '%s\n' "$running" | wc -w)
	printf '%s\t%s\t%s\t%s\t%s\n' "$(basename "$1")" "$2" "$chunks" "$final" "$running"
}
run share/models/SmolLM2-135M-Instruct.Q4_1.gguf 128
run share/models/SmolLM2-135M-Instruct.Q4_1.gguf 256
run "$SHARED/models/stories260K.gguf" 256
run "$SHARED/models/stories260K.gguf" 128
