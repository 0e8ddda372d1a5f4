#!/bin/sh
# t1102-tok-smollm2: the tokenizer of the embedded default model, built from
# its GGUF metadata (q_tok_from_gguf, pre "smollm"), on the whole tokenizer
# corpus against HF `tokenizers` (rebuilt from the same metadata; llama.cpp
# agrees on every line, see t/data/tok/README).
. "${0%/*}/lib.sh"
. "$TOP/t/data/tok/corpus.sh"

if [ -f "$MODEL_SMOL" ]; then
	corpus_check smollm2 "$MODEL_SMOL"
else
	for c in "default ids" "default count" "raw ids" "raw count" "roundtrip" "roundtrip summary"; do
		skip "smollm2 $c: $MODEL_SMOL absent (make model fetches it)"
	done
fi
done_testing
