#!/bin/sh
# NFC normalization (Qwen3's tokenizer.json normalizer) against Python's unicodedata.
. "${0%/*}/lib.sh"

run t/unit/unorm-test t/data/unorm/nfc.jsonl
expect_status 0 "NFC equals unicodedata.normalize on every case (t/data/unorm/gen.py)"
cat "$TRASH/out"
done_testing
