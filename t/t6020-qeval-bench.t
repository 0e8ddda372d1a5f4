#!/bin/sh
# qeval bench: measurements against a scripted server with known delays
# (t/data/qeval/fake-server.py: first token after 60 ms, then 7 more 15 ms
# apart, so TTFT 60, ITL 15, TPOT 15, E2EL 165 ms), failures counted by
# kind, goodput against SLOs, percentiles against numpy's (70 cases),
# the JSON keys, a dead endpoint, and a real run against qserve.
. "${0%/*}/lib.sh"

# within GOT LO HI
within() { awk -v g="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(g + 0 >= lo && g + 0 <= hi) }'; }

run t/unit/bench-pct <t/data/qeval/pct-cases.txt
test_cmp t/data/qeval/pct-golden.txt "$TRASH/out" "percentiles equal numpy's on 70 cases (to 9 digits)"

run qeval bench --url http://127.0.0.1:9 --num-prompts 2
expect_status 1 "nothing listening: exit 1"
one_line_error "$TRASH/err" qeval "nothing listening: one clear line"
like "$TRASH/err" "127.0.0.1:9.*onnect" "nothing listening: the line names the address"
run qeval bench --num-prompts 2
expect_status 2 "no --url: usage error"
run qeval bench --url http://127.0.0.1:9 --goodput ttft
expect_status 2 "bad --goodput: usage error"

if ! command -v python3 >/dev/null; then
	skip "no python3 for the scripted server"
	done_testing
fi
fake_start --ttft-ms 60 --itl-ms 15 --tokens 8 || { skip "scripted server did not start"; done_testing; }
run qeval bench --url "$FURL" --num-prompts 40 --max-concurrency 4 --output-len 8 --json "$TRASH/b.json" \
	--goodput ttft:100,e2el:400
expect_status 0 "bench against the scripted server: exit 0"
sed 's/^/# /' "$TRASH/out"
J=$TRASH/b.json
is "$(jq -r '"\(.completed) \(.failed) \(.total_output_tokens)"' "$J")" "40 0 320" "40 completed, 0 failed, 320 output tokens (its usage)"
within "$(jq .median_ttft_ms "$J")" 60 68
ok_ $? "median TTFT $(jq .median_ttft_ms "$J") ms: 60 ms scripted (+8 ms allowed)"
within "$(jq .median_itl_ms "$J")" 13.5 17
ok_ $? "median ITL $(jq .median_itl_ms "$J") ms: 15 scripted"
within "$(jq .median_tpot_ms "$J")" 14 17
ok_ $? "median TPOT $(jq .median_tpot_ms "$J") ms: 15 scripted"
within "$(jq .median_e2el_ms "$J")" 165 180
ok_ $? "median E2EL $(jq .median_e2el_ms "$J") ms: 60 + 7 x 15 = 165 scripted"
jq -e '.request_goodput == .request_throughput and .request_throughput > 0' "$J" >/dev/null
ok_ $? "goodput with SLOs every request meets (TTFT 100, E2EL 400 ms) = request throughput"
for k in mean_ttft_ms p99_ttft_ms p90_tpot_ms p99_itl_ms mean_e2el_ms output_throughput request_throughput; do
	jq -e "has(\"$k\")" "$J" >/dev/null || { ok_ 1 "--json has $k"; continue; }
done
ok_ 0 "--json has vLLM's keys (mean_ttft_ms, p99_ttft_ms, p90_tpot_ms, p99_itl_ms, ...)"

run qeval bench --url "$FURL" --num-prompts 20 --max-concurrency 4 --output-len 8 --json "$TRASH/g.json" \
	--goodput ttft:30
is "$(jq .request_goodput "$TRASH/g.json")" 0 "goodput with a TTFT SLO of 30 ms (below the scripted 60): 0"

# a timeout is a failure of its own kind
run qeval bench --url "$FURL" --num-prompts 3 --timeout 0.02 --json "$TRASH/t.json"
is "$(jq -r '"\(.completed) \(.failures.timeout)"' "$TRASH/t.json")" "0 3" "--timeout 0.02 (the first token comes at 60 ms): 3 timeouts"

# --plot draws with gnuplot
if command -v gnuplot >/dev/null; then
	run qeval bench --url "$FURL" --num-prompts 8 --max-concurrency 4 --plot "$TRASH/p.svg"
	expect_status 0 "--plot: exit 0"
	grep -q '<svg' "$TRASH/p.svg" && grep -q 'TTFT' "$TRASH/p.svg"
	ok_ $? "--plot: an SVG with the TTFT curve"
else
	skip "gnuplot is not installed (Debian gnuplot-nox): --plot not checked"
	skip "gnuplot is not installed"
fi

# datasets: JSONL prompts and messages, ShareGPT conversations, a bad line
printf '{"prompt":"one"}\n{"messages":[{"role":"user","content":"two"}]}\n\n{"prompt":"three"}\n' >"$TRASH/d.jsonl"
run qeval bench --url "$FURL" --dataset "$TRASH/d.jsonl" --num-prompts 6 --json "$TRASH/d.json"
is "$(jq .completed "$TRASH/d.json")" 6 "--dataset JSONL: its 3 prompts, cycled to 6 requests"
printf '[{"conversations":[{"from":"human","value":"hi"},{"from":"gpt","value":"yo"}]},{"conversations":[]}]' \
	>"$TRASH/sg.json"
run qeval bench --url "$FURL" --dataset "$TRASH/sg.json" --num-prompts 2 --json "$TRASH/d.json"
is "$(jq .completed "$TRASH/d.json")" 2 "--dataset ShareGPT: the first human turn"
printf '{"prompt":"one"}\n[1,2]\n' >"$TRASH/bad.jsonl"
run qeval bench --url "$FURL" --dataset "$TRASH/bad.jsonl" --num-prompts 2
expect_status 1 "--dataset with a bad line: exit 1"
like "$TRASH/err" "bad.jsonl:2: " "--dataset with a bad line: names the file and line"

# a Poisson rate: 20 requests at 40/s take about half a second to send
run qeval bench --url "$FURL" --num-prompts 20 --request-rate 40 --seed 7 --output-len 8 --json "$TRASH/r.json"
within "$(jq .duration "$TRASH/r.json")" 0.25 2
ok_ $? "--request-rate 40: 20 requests over $(jq .duration "$TRASH/r.json") s (arrivals spread, not at once)"
kill $FPID

fake_start --ttft-ms 5 --itl-ms 1 --tokens 4 --fail-every 5 --malformed-every 7 || { skip "scripted server did not start"; done_testing; }
run qeval bench --url "$FURL" --num-prompts 35 --max-concurrency 5 --output-len 4 --json "$TRASH/f.json"
expect_status 0 "failures do not stop the run: exit 0"
is "$(jq -r '"\(.completed) \(.failed) \(.failures.http_5xx) \(.failures.malformed)"' "$TRASH/f.json")" "24 11 7 4" \
	"35 requests: 7 scripted 500s and 4 malformed streams counted by kind, 24 completed"
kill $FPID

if [ -f "$MODEL_SMOL" ]; then
	serve_start -m "$MODEL_SMOL" -t 2 --parallel 8 --quiet || done_testing
	for ep in completions chat; do
		run qeval bench --url "$URL" --endpoint $ep --num-prompts 8 --input-len 16 --output-len 12 \
			--max-concurrency 8 --json "$TRASH/q.json"
		is "$(jq -r '"\(.completed) \(.failed) \(.total_output_tokens)"' "$TRASH/q.json")" "8 0 96" \
			"qserve, $ep: 8 completed, 96 output tokens (12 each: ignore_eos)"
	done
	# Ollama has no ignore_eos: an answer may end before num_predict
	run qeval bench --url "$URL" --endpoint ollama --num-prompts 8 --input-len 16 --output-len 12 \
		--max-concurrency 8 --json "$TRASH/q.json"
	jq -e '.completed == 8 and .failed == 0 and .total_output_tokens > 0 and .total_output_tokens <= 96' \
		"$TRASH/q.json" >/dev/null
	ok_ $? "qserve, ollama: 8 completed, at most 12 tokens each (eval_count)"
	serve_stop
else
	for i in 1 2 3; do skip "no $MODEL_SMOL (make model)"; done
fi
done_testing
