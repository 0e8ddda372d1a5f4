#!/bin/sh
# t1104-tok-llama3-gguf: the Llama 3 vocabulary converted to a vocab-only GGUF
# by llama.cpp's convert_hf_to_gguf.py (t/data/tok/make-vocab-ggufs.sh; the
# converter names its pre-tokenizer "smaug-bpe"), read with q_tok_from_gguf,
# on the whole tokenizer corpus against llama.cpp's ids (t/data/tok/README).
. "${0%/*}/lib.sh"
. "$TOP/t/data/tok/corpus.sh"

gunzip -c t/data/tok/llama3-vocab.gguf.gz >"$TRASH/llama3-vocab.gguf"
ok_ $? "gunzip llama3-vocab.gguf.gz"
corpus_check llama3-vocab "$TRASH/llama3-vocab.gguf"
done_testing
