#!/bin/sh
# t1105-tok-stories260k: the SentencePiece (SPM, byte fallback) vocabulary of
# stories260K.gguf, read with q_tok_from_gguf, on the whole tokenizer corpus
# against llama.cpp's ids.  Decoding drops the one space SPM adds in front of
# the text, as llama_detokenize does, so raw ids decode to the input exactly.
. "${0%/*}/lib.sh"
. "$TOP/t/data/tok/corpus.sh"

corpus_check stories260k "$STORIES"
done_testing
