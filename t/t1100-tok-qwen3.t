#!/bin/sh
# t1100-tok-qwen3: the Qwen3 tokenizer.json tokenizer (q_tok_from_hf) on the
# whole tokenizer corpus, against HF `tokenizers` ids (t/data/tok/README).
# qwen3 has an NFC normalizer, so NFD lines decode to their NFC form: those
# are listed in t/data/tok/qwen3.raw.decode-diff.jsonl.
. "${0%/*}/lib.sh"
. "$TOP/t/data/tok/corpus.sh"

corpus_check qwen3 "$SHARED/tokenizers/qwen3/tokenizer.json"
done_testing
