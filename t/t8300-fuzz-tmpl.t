#!/bin/sh
# t8300-fuzz-tmpl: replay the committed libFuzzer corpus of the chat-template
# interpreter (t/data/fuzz/tmpl/) through t/fuzz/tmpl-replay.  The target
# parses each input, renders it with fixed variables under tight limits and
# traps on any broken expectation (error message shape, line range, output
# buffer restored); the sanitizer build turns memory errors, UB and leaks
# into a non-zero exit, so exit 0 means every input ran clean.
. "${0%/*}/lib.sh"

CORPUS=t/data/fuzz/tmpl
[ -x t/fuzz/tmpl-replay ] || { skip "t/fuzz/tmpl-replay not built"; done_testing; }
n=$(find $CORPUS -type f | wc -l)
run t/fuzz/tmpl-replay $CORPUS
expect_status 0 "replay of $n corpus inputs exits 0"
is "$(tail -n 1 "$TRASH/err")" "replay: $n inputs" "every corpus file was run"
# the corpus is not trivial: it holds the three real chat templates
for f in smollm2 qwen3 llama3; do
	cmp -s t/data/tmpl/templates/$f.jinja $CORPUS/seed-$f
	ok_ $? "corpus holds the $f template"
done

done_testing
