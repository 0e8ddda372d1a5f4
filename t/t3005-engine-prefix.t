#!/bin/sh
# Prefix caching changes no bit: 12 prompts sharing 1 to 4 full KV blocks
# of a story (one exactly 3 blocks long, two repeating earlier ones, one a
# block plus one token, one asking for all logits) run through an engine
# without the prefix cache, then with it (one prompt at a time, all at
# once, and all at once in a pool so small that cached blocks are evicted
# and sequences preempted); the token ids, finish reasons and the logits of
# every position passed on are identical (memcmp), greedy and seeded
# sampling alike.  One at a time, each prompt takes exactly the blocks the
# earlier ones published.  See t/unit/engine-prefix.c.
. "${0%/*}/lib.sh"

T=t/data/qgen/prefix-texts.txt

check() { # NAME MODEL N BUDGET SMALL_BLOCKS
	_name=$1
	shift
	run t/unit/engine-prefix "$1" "$T" "$2" "$3" "$4"
	expect_status 0 "$_name: with the prefix cache = without it, every run"
	sed 's/^/# /' "$TRASH/out"
	is "$(grep -c '^same ' "$TRASH/out")" 48 "$_name: 12 prompts x 4 runs compared"
	like "$TRASH/out" "^sequential: hits [1-9][0-9]* " "$_name: prompts took cached blocks one at a time"
	like "$TRASH/out" "^together: hits [1-9][0-9]* " "$_name: and all at once"
	like "$TRASH/out" "^small: hits [1-9][0-9]* preemptions [1-9][0-9]* evicted [1-9][0-9]* " \
		"$_name: the small pool evicted cached blocks and preempted sequences, and still hit"
	like "$TRASH/out" "^same sequential 7: 40 prompt tokens, .* 0 cached$" "$_name: all_logits computes every position"
	like "$TRASH/out" "^same sequential 11: 17 prompt tokens, .* 16 cached$" \
		"$_name: a prompt cached but for its last token computes that token"
	like "$TRASH/out" "^same sequential 5: 40 prompt tokens, .* 32 cached$" \
		"$_name: a repeated prompt takes its full blocks but the one holding its last token"
}

check stories260K "$STORIES" 24 16 8
if [ -f "$MODEL_SMOL" ]; then
	check SmolLM2 "$MODEL_SMOL" 12 16 7
else
	for i in 1 2 3 4 5 6 7 8; do skip "no $MODEL_SMOL (make model)"; done
fi
done_testing
