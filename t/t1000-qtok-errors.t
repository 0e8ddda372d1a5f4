#!/bin/sh
# qtok: every error a user can cause is one line on stderr and exit 1 or 2.
. "${0%/*}/lib.sh"

QWEN=$SHARED/tokenizers/qwen3

run qtok -m "$TRASH/nope.gguf" </dev/null
expect_status 1 "missing model file: exit 1"
one_line_error "$TRASH/err" qtok "missing model file: one error line"
like "$TRASH/err" "nope.gguf: No such file" "missing model file: names the file and why"

cp "$STORIES" "$TRASH/locked.gguf" && chmod 000 "$TRASH/locked.gguf"
if [ "$(id -u)" = 0 ]; then
	skip "running as root: file permissions do not stop reading, cannot test an unreadable model"
else
	run qtok -m "$TRASH/locked.gguf" </dev/null
	expect_status 1 "unreadable model: exit 1"
	like "$TRASH/err" "locked.gguf: Permission denied" "unreadable model: says why"
fi

mkdir "$TRASH/emptydir"
run qtok -m "$TRASH/emptydir" </dev/null
expect_status 1 "directory without tokenizer.json: exit 1"
like "$TRASH/err" "holds no tokenizer.json" "directory without tokenizer.json: says so"

printf 'this is not a model\n' >"$TRASH/text.gguf"
run qtok -m "$TRASH/text.gguf" </dev/null
expect_status 1 "not a GGUF: exit 1"
one_line_error "$TRASH/err" qtok "not a GGUF: one error line"
like "$TRASH/err" "text.gguf: .*magic" "not a GGUF: bad magic reported"

head -c 5000 "$STORIES" >"$TRASH/trunc.gguf"
run qtok -m "$TRASH/trunc.gguf" </dev/null
expect_status 1 "truncated GGUF: exit 1"
one_line_error "$TRASH/err" qtok "truncated GGUF: one error line"
like "$TRASH/err" "trunc.gguf: .* at offset [0-9]+" "truncated GGUF: says where"

# A valid GGUF v3 with no tensors and no metadata: no tokenizer in it.
printf 'GGUF\003\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' >"$TRASH/bare.gguf"
run qtok -m "$TRASH/bare.gguf" </dev/null
expect_status 1 "GGUF without a tokenizer: exit 1"
one_line_error "$TRASH/err" qtok "GGUF without a tokenizer: one error line"
like "$TRASH/err" "bare.gguf: .*tokenizer" "GGUF without a tokenizer: says so"

# No model anywhere: a copy of qtok away from the tree finds no default model.
mkdir -p "$TRASH/bin" && cp bin/qtok "$TRASH/bin/qtok"
if [ -e /usr/local/share/q/models/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
	skip "the default model is installed under /usr/local, cannot test its absence"
else
	run "$TRASH/bin/qtok" </dev/null
	expect_status 1 "no model at all: exit 1"
	like "$TRASH/err" "^qtok: error: no model given .*make model" "no model at all: tells how to get one"
fi

printf 'ok \377\376 bad' >"$TRASH/bad-utf8"
run qtok -m "$STORIES" <"$TRASH/bad-utf8"
expect_status 1 "invalid UTF-8 on stdin: rejected, exit 1"
like "$TRASH/err" "^qtok: error: stdin: invalid UTF-8 at byte 3$" "invalid UTF-8: byte offset reported"
printf 'fine\nbad \300\257 line\n' >"$TRASH/bad-utf8-l"
run qtok -l -m "$STORIES" <"$TRASH/bad-utf8-l"
expect_status 1 "invalid UTF-8 with -l: exit 1"
like "$TRASH/err" "^qtok: error: line 2: invalid UTF-8 at byte 4$" "invalid UTF-8 with -l: line and byte"

run_in "1 2 512" qtok -d -m "$STORIES"
expect_status 1 "-d with an id out of range: exit 1"
like "$TRASH/err" "^qtok: error: stdin: token id 512 out of range \(vocabulary has 512\)$" "-d out of range: says the limit"
run_in "1 -3" qtok -d -m "$STORIES"
expect_status 1 "-d with a negative id: exit 1"
run_in "1 two 3" qtok -d -m "$STORIES"
expect_status 1 "-d with a word: exit 1"
like "$TRASH/err" "not a token id: 'two'" "-d with a word: names it"
run_in "12abc" qtok -d -m "$STORIES"
expect_status 1 "-d with trailing junk: exit 1"

run_in '{"messages": [' qtok --chat -m "$QWEN"
expect_status 1 "--chat with malformed JSON: exit 1"
one_line_error "$TRASH/err" qtok "--chat malformed JSON: one error line"
like "$TRASH/err" "^qtok: error: --chat: stdin: invalid JSON near byte" "--chat malformed JSON: says so"
run_in '{"messages": "hi"}' qtok --chat -m "$QWEN"
expect_status 1 "--chat with messages not an array: exit 1"
like "$TRASH/err" '"messages" must be an array' "--chat messages type: says so"
run_in '[1,2]' qtok --chat -m "$QWEN"
expect_status 1 "--chat with a JSON array: exit 1"
run_in '{"messages":[{"role":"user","content":"hi"}]}' qtok --chat -m "$STORIES"
expect_status 1 "--chat on a model without a chat template: exit 1"
like "$TRASH/err" "no chat template" "--chat without a template: says so"
printf '{%% if true %%}unterminated' >"$TRASH/bad.jinja"
run_in '{"messages":[]}' qtok --chat --chat-template "$TRASH/bad.jinja" -m "$QWEN"
expect_status 1 "--chat with a broken template: exit 1"
like "$TRASH/err" "^qtok: error: chat template: template line 1" "broken template: names the line"
printf 'a\n{{ raise_exception("no system role here") }}' >"$TRASH/raise.jinja"
run_in '{"messages":[]}' qtok --chat --chat-template "$TRASH/raise.jinja" -m "$QWEN"
expect_status 1 "--chat with raise_exception: exit 1"
like "$TRASH/err" "no system role here" "raise_exception: message kept"

run qtok --frobnicate </dev/null
expect_status 2 "unknown long option: exit 2"
one_line_error "$TRASH/err" qtok "unknown long option: one error line"
run qtok -x </dev/null
expect_status 2 "unknown short option: exit 2"
run qtok -m </dev/null
expect_status 2 "-m without a value: exit 2"
run qtok --render -m "$QWEN" </dev/null
expect_status 2 "--render without --chat: exit 2"
run qtok -m "$QWEN" extra </dev/null
expect_status 2 "stray argument: exit 2"
run qtok --version
expect_status 0 "--version: exit 0"
like "$TRASH/out" "^qtok \(q\) [0-9]" "--version prints the version"
run qtok -h
expect_status 0 "-h: exit 0"
like "$TRASH/out" "^usage: qtok" "-h prints usage on stdout"

done_testing
