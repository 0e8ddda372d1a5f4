#!/bin/sh
# t1101-tok-llama3: the Llama 3 tokenizer.json tokenizer (q_tok_from_hf) on
# the whole tokenizer corpus, against HF `tokenizers` ids (t/data/tok/README).
# This tokenizer.json's post-processor is plain ByteLevel: HF adds no BOS, so
# neither does "default" mode here.
. "${0%/*}/lib.sh"
. "$TOP/t/data/tok/corpus.sh"

corpus_check llama3 "$SHARED/tokenizers/llama3/tokenizer.json"
done_testing
