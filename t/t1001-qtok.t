#!/bin/sh
# qtok: the contract of DESIGN.md, end to end, against HF golden files.
. "${0%/*}/lib.sh"

QWEN=$SHARED/tokenizers/qwen3
LLAMA=$SHARED/tokenizers/llama3
G=t/data/qtok

# --chat: render and ids equal transformers' apply_chat_template (gen-golden.py).
n=$(wc -l <$G/requests.jsonl)
for name in qwen3 llama3; do
	dir=$SHARED/tokenizers/$name
	i=0
	while [ $i -lt "$n" ]; do
		sed -n "$((i + 1))p" $G/requests.jsonl >"$TRASH/req"
		run qtok --chat --render -m "$dir" <"$TRASH/req"
		expect_status 0 "$name request $i: --chat --render exits 0"
		test_cmp $G/$name.$i.render "$TRASH/out" "$name request $i: rendered prompt equals jinja2's"
		run qtok --chat -m "$dir" <"$TRASH/req"
		expect_status 0 "$name request $i: --chat exits 0"
		test_cmp $G/$name.$i.ids "$TRASH/out" "$name request $i: prompt ids equal HF tokenizers'"
		i=$((i + 1))
	done
done

# Pipelines: text -> ids -> text is the identity (raw and default modes).
printf 'Hello world!\n  Two  spaces, tabs\tand émoji 👍🏽.\n' >"$TRASH/text"
for m in "$STORIES" "$QWEN" "$LLAMA"; do
	b=$(basename "$m")
	qtok --raw -m "$m" <"$TRASH/text" >"$TRASH/ids" && qtok -d -m "$m" <"$TRASH/ids" >"$TRASH/back"
	ok_ $? "$b: --raw then -d exits 0"
	test_cmp "$TRASH/text" "$TRASH/back" "$b: decode(encode(x)) == x"
done

# SPM adds BOS by default, not with --raw; this llama3 tokenizer.json's
# post-processor (ByteLevel) adds none, as HF tokenizers says.
run_in "hi" qtok -m "$STORIES"
is "$(cut -d' ' -f1 "$TRASH/out")" "1" "stories260K: BOS added by default"
run_in "hi" qtok --raw -m "$STORIES"
ok_ $([ "$(cut -d' ' -f1 "$TRASH/out")" != 1 ]; echo $?) "stories260K --raw: no BOS"
run_in "hi" qtok -m "$LLAMA"
is "$(cat "$TRASH/out")" "6151" "llama3 tokenizer.json: no BOS, as its post-processor says"
run_in "<|im_start|>hi" qtok -m "$QWEN"
is "$(cat "$TRASH/out")" "151644 6023" "qwen3: special-token text is one token"
run_in "<|im_start|>" qtok --raw -m "$QWEN"
ok_ $([ "$(wc -w <"$TRASH/out")" -gt 1 ]; echo $?) "qwen3 --raw: special-token text is plain text"

# -l: one output line per input line.
printf 'one\ntwo\n\nthree' | qtok -l --raw -m "$QWEN" >"$TRASH/out"
is "$(wc -l <"$TRASH/out")" "4" "-l: one line of ids per input line"
qtok -l -d -m "$QWEN" <"$TRASH/out" >"$TRASH/back"
is "$(cat "$TRASH/back")" "$(printf 'one\ntwo\n\nthree')" "-l -d: each line decodes back"

# --json: ids with their pieces.
run_in "Hello world" qtok --raw --json -m "$QWEN"
is "$(cat "$TRASH/out")" '[{"id":9707,"piece":"Hello"},{"id":1879,"piece":" world"}]' "--json: id and piece"
run_in "🍂" qtok --raw --json -m "$STORIES"
like "$TRASH/out" '"bytes":\[240\]' "--json: a partial UTF-8 piece gives its bytes"

# Q_MODEL is the default for -m.
run_in "hi" env Q_MODEL="$LLAMA" qtok
is "$(cat "$TRASH/out")" "6151" "Q_MODEL names the model"

done_testing
