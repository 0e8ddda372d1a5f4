#!/bin/sh
# t1103-tok-qwen3-gguf: the Qwen3 vocabulary converted to a vocab-only GGUF by
# llama.cpp's convert_hf_to_gguf.py (t/data/tok/make-vocab-ggufs.sh), read
# with q_tok_from_gguf, on the whole tokenizer corpus against llama.cpp's ids.
# Where llama.cpp and HF differ on this vocabulary (no NFC; "</s>" made a
# control token; <|fim_*|> are CONTROL here) see t/data/tok/README.
. "${0%/*}/lib.sh"
. "$TOP/t/data/tok/corpus.sh"

gunzip -c t/data/tok/qwen3-vocab.gguf.gz >"$TRASH/qwen3-vocab.gguf"
ok_ $? "gunzip qwen3-vocab.gguf.gz"
corpus_check qwen3-vocab "$TRASH/qwen3-vocab.gguf"
done_testing
