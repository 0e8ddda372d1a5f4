#!/bin/sh
# t8100-fuzz-gguf: replay the committed libFuzzer corpus of the GGUF reader
# (t/data/fuzz/gguf/) through t/fuzz/gguf-replay.  The target traps on any
# broken expectation and the sanitizer build turns memory errors, UB and
# leaks into a non-zero exit, so exit 0 means every input ran clean.
. "${0%/*}/lib.sh"

CORPUS=t/data/fuzz/gguf
n=$(find $CORPUS -type f | wc -l)
run t/fuzz/gguf-replay $CORPUS
expect_status 0 "replay of $n corpus inputs exits 0"
is "$(tail -n 1 "$TRASH/err")" "replay: $n inputs" "every corpus file was run"
# the corpus is not trivial: it holds the golden files' valid GGUFs
for f in types quants edge; do
	cmp -s t/data/gguf/$f.gguf $CORPUS/seed-$f.gguf
	ok_ $? "corpus holds $f.gguf"
done

done_testing
