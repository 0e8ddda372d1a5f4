#!/bin/sh
# Greedy output through qserve equals `qgen --temp 0` for the same model and
# prompt (completions and chat, streamed and not, OpenAI and Ollama), and
# 16 concurrent greedy requests give exactly the text each gives alone; the
# same with --fast-kernels (against qgen --fast-kernels).
. "${0%/*}/lib.sh"

if [ ! -f "$MODEL_SMOL" ]; then
	skip "no $MODEL_SMOL (make model)"
	done_testing
fi
serve_start -m "$MODEL_SMOL" -t 2 --parallel 16 --quiet || done_testing

# completion TEXT N: greedy /v1/completions text of TEXT into $TRASH/got
completion() {
	jq -n --arg p "$1" --argjson n "$2" '{prompt: $p, max_tokens: $n, temperature: 0}' >"$TRASH/req"
	curl -s -H 'Content-Type: application/json' --data-binary @"$TRASH/req" "$URL/v1/completions" |
		jq -j '.choices[0].text' >"$TRASH/got"
}

P="The three primary colors are"
run qgen -m "$MODEL_SMOL" -t 1 -p "$P" --temp 0 -n 48
cp "$TRASH/out" "$TRASH/qgen"
completion "$P" 48
test_cmp "$TRASH/qgen" "$TRASH/got" "/v1/completions greedy = qgen --temp 0 (48 tokens)"

jq -n --arg p "$P" '{prompt: $p, max_tokens: 48, temperature: 0, stream: true}' >"$TRASH/req"
curl -s -N -H 'Content-Type: application/json' --data-binary @"$TRASH/req" "$URL/v1/completions" |
	sed -n 's/^data: //p' | grep -v '^\[DONE\]$' | jq -j '.choices[0].text // ""' >"$TRASH/got"
test_cmp "$TRASH/qgen" "$TRASH/got" "/v1/completions streamed: the same text"

Q="What is the capital of France? Answer in one sentence."
run qgen -m "$MODEL_SMOL" -t 1 --chat -p "$Q" --temp 0 -n 64
cp "$TRASH/out" "$TRASH/qgen"
jq -n --arg q "$Q" '{messages: [{role: "user", content: $q}], max_tokens: 64, temperature: 0}' >"$TRASH/req"
curl -s -H 'Content-Type: application/json' --data-binary @"$TRASH/req" "$URL/v1/chat/completions" >"$TRASH/resp"
jq -j '.choices[0].message.content' "$TRASH/resp" >"$TRASH/got"
test_cmp "$TRASH/qgen" "$TRASH/got" "/v1/chat/completions greedy = qgen --chat --temp 0"
is "$(jq -r .choices[0].finish_reason "$TRASH/resp")" stop "chat: finish_reason stop at the end of the turn"
jq '. + {ignore_eos: true}' "$TRASH/req" >"$TRASH/req2"
curl -s -H 'Content-Type: application/json' --data-binary @"$TRASH/req2" "$URL/v1/chat/completions" >"$TRASH/resp"
is "$(jq -r '[.usage.completion_tokens, .choices[0].finish_reason] | join(" ")' "$TRASH/resp")" "64 length" \
	"ignore_eos: the turn's end is banned, max_tokens (64) are generated"
jq -j '.choices[0].message.content' "$TRASH/resp" | head -c "$(wc -c <"$TRASH/qgen")" >"$TRASH/got"
test_cmp "$TRASH/qgen" "$TRASH/got" "ignore_eos: the same text up to where the turn ended"

jq -n --arg q "$Q" '{model: "x", messages: [{role: "user", content: $q}], stream: false,
	options: {temperature: 0, num_predict: 64}}' >"$TRASH/req"
curl -s -H 'Content-Type: application/json' --data-binary @"$TRASH/req" "$URL/api/chat" >"$TRASH/resp"
jq -j '.message.content' "$TRASH/resp" >"$TRASH/got"
test_cmp "$TRASH/qgen" "$TRASH/got" "/api/chat greedy = qgen --chat --temp 0 (Ollama options)"
is "$(jq -r '[.done, .done_reason, (.eval_count > 0), (.prompt_eval_count > 0)] | join(" ")' "$TRASH/resp")" \
	"true stop true true" "/api/chat: done, done_reason, eval_count, prompt_eval_count"

jq -n --arg q "$Q" '{model: "x", messages: [{role: "user", content: $q}], options: {temperature: 0, num_predict: 64}}' \
	>"$TRASH/req"
curl -s -N -H 'Content-Type: application/json' --data-binary @"$TRASH/req" "$URL/api/chat" >"$TRASH/nd"
jq -j '.message.content' "$TRASH/nd" >"$TRASH/got"
test_cmp "$TRASH/qgen" "$TRASH/got" "/api/chat streamed (NDJSON by default): the same text"
is "$(tail -n 1 "$TRASH/nd" | jq -r .done) $(grep -c '"done":false' "$TRASH/nd")" "true $(($(wc -l <"$TRASH/nd") - 1))" \
	"/api/chat stream: every object done false but the last"

# concurrent16 LABEL: 16 different prompts, alone one after the other, then
# all at once; each must give exactly its text alone.
concurrent16() {
	i=0
	while [ $i -lt 16 ]; do
		sed -n "$((i % 8 + 1))p" t/data/qgen/batch-prompts.txt | sed 's/\\n/\n/g' >"$TRASH/p$i"
		[ $i -ge 8 ] && printf ' and' >>"$TRASH/p$i"
		jq -n --rawfile p "$TRASH/p$i" '{prompt: $p, max_tokens: 32, temperature: 0}' >"$TRASH/req$i"
		curl -s -H 'Content-Type: application/json' --data-binary @"$TRASH/req$i" "$URL/v1/completions" |
			jq -j '.choices[0].text' >"$TRASH/alone$i"
		i=$((i + 1))
	done
	i=0
	PIDS=
	while [ $i -lt 16 ]; do
		curl -s -H 'Content-Type: application/json' --data-binary @"$TRASH/req$i" "$URL/v1/completions" \
			>"$TRASH/together$i.json" &
		PIDS="$PIDS $!"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	wait $PIDS
	same=0
	i=0
	while [ $i -lt 16 ]; do
		jq -j '.choices[0].text' "$TRASH/together$i.json" >"$TRASH/together$i"
		if [ -s "$TRASH/alone$i" ] && cmp -s "$TRASH/alone$i" "$TRASH/together$i"; then
			same=$((same + 1))
		else
			diag "prompt $i differs: alone '$(head -c 80 "$TRASH/alone$i")' together '$(head -c 80 "$TRASH/together$i")'"
		fi
		i=$((i + 1))
	done
	is "$same" 16 "$1: 16 concurrent greedy requests: each gives exactly its text alone"
}

concurrent16 qserve
n_run=$(curl -s "$URL/metrics" | awk '$1 == "q_generation_tokens_total" { print $2 }')
ok_ $([ "${n_run:-0}" -ge $((32 * 32)) ] && echo 0 || echo 1) "metrics counted the generated tokens ($n_run >= 1024)"
serve_stop
is "$rc" 0 "qserve exits 0 on SIGTERM"

# the fast kernel order: qserve --fast-kernels = qgen --fast-kernels, and
# batching changes nothing there either
serve_start -m "$MODEL_SMOL" -t 2 --parallel 16 --quiet --fast-kernels || done_testing
run qgen -m "$MODEL_SMOL" -t 1 --chat -p "$Q" --temp 0 -n 64 --fast-kernels
cp "$TRASH/out" "$TRASH/qgen"
jq -n --arg q "$Q" '{messages: [{role: "user", content: $q}], max_tokens: 64, temperature: 0}' >"$TRASH/req"
curl -s -H 'Content-Type: application/json' --data-binary @"$TRASH/req" "$URL/v1/chat/completions" |
	jq -j '.choices[0].message.content' >"$TRASH/got"
test_cmp "$TRASH/qgen" "$TRASH/got" "--fast-kernels: /v1/chat/completions greedy = qgen --fast-kernels --chat --temp 0"
concurrent16 "--fast-kernels"
serve_stop
is "$rc" 0 "qserve --fast-kernels exits 0 on SIGTERM"
done_testing
