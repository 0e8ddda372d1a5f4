#!/bin/sh
# qgen end to end on stories260K (and SmolLM2 when present): the greedy
# continuation DESIGN.md quotes, prompt from -p or stdin, --ids in and out,
# stop strings (split across tokens, held back, removed), end of turn,
# seeded sampling, --chat, and the stats line.
. "${0%/*}/lib.sh"

ONCE="Once upon a time"
STORY=", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball."
STATS='^qgen: prompt: [0-9]+ tokens, [0-9.]+ tok/s, generation: [0-9]+ tokens, [0-9.]+ tok/s, ttft: [0-9.]+ ms$'

printf '%s' "$STORY" >"$TRASH/story"
run qgen -m "$STORIES" -t 1 -p "$ONCE" --temp 0 -n 40
expect_status 0 "greedy from -p: exit 0"
test_cmp "$TRASH/story" "$TRASH/out" "greedy from '$ONCE': DESIGN.md's story, 40 tokens"
like "$TRASH/err" "$STATS" "stats line on stderr"
like "$TRASH/err" "^qgen: prompt: 5 tokens, .* generation: 40 tokens," "stats count 5 prompt tokens (BOS + 4) and 40 new"
is "$(wc -l <"$TRASH/err")" 1 "stderr is only the stats line"

run_in "$ONCE" qgen -m "$STORIES" -t 2 --temp 0 -n 40
expect_status 0 "prompt from stdin, 2 threads: exit 0"
test_cmp "$TRASH/story" "$TRASH/out" "prompt from stdin, 2 threads: the same story"

# --ids in and out: qtok | qgen --ids | qtok -d, one step at a time.
run_in "$ONCE" qtok -m "$STORIES"
cp "$TRASH/out" "$TRASH/prompt.ids"
run qgen -m "$STORIES" -t 1 --ids --temp 0 -n 16 <"$TRASH/prompt.ids"
expect_status 0 "--ids: exit 0"
like "$TRASH/out" '^[0-9]+( [0-9]+){15}$' "--ids: 16 ids on one line"
cp "$TRASH/out" "$TRASH/gen.ids"
run qtok -m "$STORIES" -d <"$TRASH/gen.ids"
expect_status 0 "qtok -d of the generated ids: exit 0"
cp "$TRASH/out" "$TRASH/decoded"
run qgen -m "$STORIES" -t 1 -p "$ONCE" --temp 0 -n 16
test_cmp "$TRASH/out" "$TRASH/decoded" "--ids output decodes to the text qgen writes"

# Stop strings: never printed, found across token boundaries, held back
# while they might still complete, flushed when they do not.
run qgen -m "$STORIES" -t 1 -p "$ONCE" --temp 0 -n 40 --stop "little girl"
expect_status 0 "--stop over two tokens: exit 0"
printf ', there was a ' >"$TRASH/expect"
test_cmp "$TRASH/expect" "$TRASH/out" "--stop 'little girl': output ends before it"
like "$TRASH/err" "generation: 8 tokens," "--stop: generation ends at the token completing the stop string"
run qgen -m "$STORIES" -t 1 -p "$ONCE" --temp 0 -n 40 --stop "girl named Li" --stop "park"
printf ', there was a little ' >"$TRASH/expect"
test_cmp "$TRASH/expect" "$TRASH/out" "two stop strings, one ending inside a token: the earliest wins"
run qgen -m "$STORIES" -t 1 -p "$ONCE" --temp 0 -n 40 --stop "ball!"
test_cmp "$TRASH/story" "$TRASH/out" "a stop string that never completes: the held-back 'ball' is flushed"

# Seeded sampling: reproducible, seed-dependent, top-k 1 is greedy.
run qgen -m "$STORIES" -t 1 -p "$ONCE" -n 40 --seed 42
cp "$TRASH/out" "$TRASH/s42"
run qgen -m "$STORIES" -t 2 -p "$ONCE" -n 40 --seed 42
expect_status 0 "sampling with --seed: exit 0"
test_cmp "$TRASH/s42" "$TRASH/out" "the same seed gives the same text"
run qgen -m "$STORIES" -t 1 -p "$ONCE" -n 40 --seed 43 --temp 1.5
cmp -s "$TRASH/s42" "$TRASH/out"
ok_ $((1 - $?)) "another seed (and temperature) gives another text"
run qgen -m "$STORIES" -t 1 -p "$ONCE" -n 40 --seed 7 --temp 1 --top-k 1
test_cmp "$TRASH/story" "$TRASH/out" "--top-k 1 samples the greedy story"
run qgen -m "$STORIES" -t 1 -p "$ONCE" -n 40 --temp 0 --repeat-penalty 1.3
cmp -s "$TRASH/story" "$TRASH/out"
ok_ $((1 - $?)) "--repeat-penalty changes the greedy text"

if [ -f "$MODEL_SMOL" ]; then
	# --chat applies the GGUF's template exactly as qtok --chat does.
	run_in '{"messages":[{"role":"user","content":"Hi!"}]}' qtok -m "$MODEL_SMOL" --chat
	n=$(wc -w <"$TRASH/out")
	run qgen -m "$MODEL_SMOL" -t 1 --chat -p "Hi!" --temp 0 -n 100
	expect_status 0 "--chat: exit 0"
	like "$TRASH/err" "^qgen: prompt: $n tokens," "--chat: the prompt is qtok --chat's $n tokens"
	printf 'Hello! How can I assist you today?' >"$TRASH/expect"
	test_cmp "$TRASH/expect" "$TRASH/out" "--chat 'Hi!': SmolLM2's greedy answer, <|im_end|> not printed"
	like "$TRASH/err" "generation: 10 tokens," "--chat: stops at the end-of-turn token (9 + <|im_end|>)"
	run_in '{"messages":[{"role":"system","content":"Answer in French."},{"role":"user","content":"Hi!"}]}' \
		qtok -m "$MODEL_SMOL" --chat
	n=$(wc -w <"$TRASH/out")
	run qgen -m "$MODEL_SMOL" -t 1 --chat --system "Answer in French." -p "Hi!" --temp 0 -n 4
	expect_status 0 "--chat --system: exit 0"
	like "$TRASH/err" "^qgen: prompt: $n tokens," "--system: a system message first, as qtok --chat renders it"
else
	for i in 1 2 3 4 5 6 7; do skip "no $MODEL_SMOL (make model)"; done
fi

done_testing
