#!/bin/sh
# Batched equals alone: 8 prompts of different lengths run together, 16
# tokens per step (prefill chunks and decode tokens in the same batches),
# give exactly the tokens each gives alone; greedy for half of them, seeded
# sampling for the other half.  Then again with a KV pool too small for all
# of them, so that sequences are preempted and recompute their tokens.
# SmolLM2 also with the fast kernel order (QK_ORDER=fast).
. "${0%/*}/lib.sh"

P=t/data/qgen/batch-prompts.txt

check() { # DESC MODEL N BUDGET [KV_BLOCKS]
	_d=$1
	shift
	_m=$1
	shift
	run t/unit/engine-batch "$_m" "$P" "$@"
	expect_status 0 "$_d: every sequence equal to its run alone"
	sed 's/^/# /' "$TRASH/out"
	is "$(grep -c '^ok ' "$TRASH/out")" 8 "$_d: 8 sequences compared"
}

check "stories260K, 64 tokens" "$STORIES" 64 16
like "$TRASH/out" "^steps [0-9]+ mixed [1-9][0-9]* " "stories260K: some steps mixed prefill and decode"
check "stories260K, 9-block pool" "$STORIES" 64 16 9
like "$TRASH/out" "preemptions [1-9][0-9]*$" "stories260K: the small pool preempted sequences"
if [ -f "$MODEL_SMOL" ]; then
	check "SmolLM2, 24 tokens, 8-block pool" "$MODEL_SMOL" 24 16 8
	like "$TRASH/out" "^steps [0-9]+ mixed [1-9][0-9]* " "SmolLM2: some steps mixed prefill and decode"
	like "$TRASH/out" "preemptions [1-9][0-9]*$" "SmolLM2: the small pool preempted sequences"
	# the fast kernel order (QK_ORDER=fast: SmolLM2's Q4_1 weights in r16)
	QK_ORDER=fast
	export QK_ORDER
	check "SmolLM2 fast order, 24 tokens" "$MODEL_SMOL" 24 16
	check "SmolLM2 fast order, 24 tokens, 8-block pool" "$MODEL_SMOL" 24 16 8
	like "$TRASH/out" "preemptions [1-9][0-9]*$" "SmolLM2 fast order: the small pool preempted sequences"
	unset QK_ORDER
else
	for i in 1 2 3 4 5 6 7 8 9; do skip "no $MODEL_SMOL (make model)"; done
fi
done_testing
