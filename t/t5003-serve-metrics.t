#!/bin/sh
# /metrics parses with prometheus_client's text parser (the real one, from
# PyPI) and its counters match the requests sent: 3 good and 2 bad chat
# requests, 2 completions, 1 unknown path; the token counters equal the
# usage the responses reported; each histogram counted every request that
# generated tokens.  The prefix-cache counter starts at 0 and counts the
# full 8-token blocks the chat requests share with earlier ones (the chat
# template's system prompt); a second server with --no-prefix-cache gives
# the same greedy answers and counts none.
. "${0%/*}/lib.sh"

if ! python3 -c 'import prometheus_client' 2>/dev/null; then
	skip "python3 cannot import prometheus_client (pip install prometheus-client)"
	done_testing
fi
if [ ! -f "$MODEL_SMOL" ]; then
	skip "no $MODEL_SMOL (make model)"
	done_testing
fi
serve_start -m "$MODEL_SMOL" -t 2 --quiet || done_testing

# hits PROMETHEUS_TEXT_FILE: the value of q_prefix_cache_hit_tokens_total
hits() { sed -n 's/^q_prefix_cache_hit_tokens_total //p' "$1"; }
curl -s "$URL/metrics" >"$TRASH/metrics0"
is "$(hits "$TRASH/metrics0")" 0 "q_prefix_cache_hit_tokens_total starts at 0"

prompt=0 gen=0
for i in 1 2 3; do
	http POST /v1/chat/completions "{\"messages\":[{\"role\":\"user\",\"content\":\"Count to $i.\"}],\"max_tokens\":$((4 * i)),\"temperature\":0}"
	prompt=$((prompt + $(jq .usage.prompt_tokens "$TRASH/out")))
	gen=$((gen + $(jq .usage.completion_tokens "$TRASH/out")))
	jq -r '.choices[0].message.content' "$TRASH/out" >"$TRASH/chat$i"
	printf '{"messages":[{"role":"user","content":"Count to %s."}]}' "$i" >"$TRASH/req$i"
	qtok -m "$MODEL_SMOL" --chat <"$TRASH/req$i" >"$TRASH/ids$i" || echo "qtok failed" >"$TRASH/ids$i"
done
# what the cache spares, one request after the other: each request's
# longest prefix shared with an earlier one, in whole blocks (qserve: 8
# tokens), and
# never its last token (the completions below are too short for a block)
cat >"$TRASH/hits.py" <<'EOF'
import sys
p = [open(f).read().split() for f in sys.argv[1:]]
def lcp(a, b):
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return k
total = 0
for i in range(len(p)):
    best = max([min(lcp(p[i], p[j]), len(p[j]) // 8 * 8) for j in range(i)], default=0)
    total += min(best, (len(p[i]) - 1) // 8 * 8) // 8 * 8
print(total)
EOF
want_hits=$(python3 "$TRASH/hits.py" "$TRASH/ids1" "$TRASH/ids2" "$TRASH/ids3")
for i in 1 2; do
	http POST /v1/chat/completions '{"messages":"not a list"}'
done
for i in 1 2; do
	http POST /v1/completions "{\"prompt\":\"Number $i is\",\"max_tokens\":5,\"temperature\":0}"
	prompt=$((prompt + $(jq .usage.prompt_tokens "$TRASH/out")))
	gen=$((gen + $(jq .usage.completion_tokens "$TRASH/out")))
done
http GET /no/such/path
sleep 0.3 # requests are counted when MHD reports them complete, just after the reply
curl -s "$URL/metrics" >"$TRASH/metrics"

cat >"$TRASH/check.py" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
def val(name, sample=None, **labels):
    for s in fams[name].samples:
        if (sample is None or s.name == sample) and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None
print("families", len(fams))
print("chat200", int(val("q_requests", "q_requests_total", endpoint="/v1/chat/completions", status="200") or 0))
print("chat400", int(val("q_requests", "q_requests_total", endpoint="/v1/chat/completions", status="400") or 0))
print("compl200", int(val("q_requests", "q_requests_total", endpoint="/v1/completions", status="200") or 0))
print("other404", int(val("q_requests", "q_requests_total", endpoint="other", status="404") or 0))
print("prompt", int(val("q_prompt_tokens", "q_prompt_tokens_total")))
print("gen", int(val("q_generation_tokens", "q_generation_tokens_total")))
for h in ("q_time_to_first_token_seconds", "q_e2e_request_latency_seconds", "q_request_queue_time_seconds"):
    print(h, int(val(h, h + "_count")), fams[h].type)
print("kv", int(val("q_kv_blocks_used")), int(val("q_kv_blocks_total")) > 0)
print("prefix", int(val("q_prefix_cache_hit_tokens", "q_prefix_cache_hit_tokens_total")),
      fams["q_prefix_cache_hit_tokens"].type)
EOF
run python3 "$TRASH/check.py" "$TRASH/metrics"
expect_status 0 "prometheus_client parses /metrics"
sed 's/^/# /' "$TRASH/out"
g() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$TRASH/out"; }
is "$(g chat200) $(g chat400) $(g compl200) $(g other404)" "3 2 2 1" "q_requests_total by endpoint and status: 3 200 and 2 400 chat, 2 completions, 1 404"
is "$(g prompt) $(g gen)" "$prompt $gen" "token counters equal the responses' usage ($prompt prompt, $gen generated)"
is "$(g q_time_to_first_token_seconds)" "5 histogram" "TTFT histogram counted the 5 generating requests"
is "$(g q_e2e_request_latency_seconds)" "5 histogram" "E2E histogram counted them"
is "$(g q_request_queue_time_seconds)" "5 histogram" "queue-time histogram counted them"
is "$(g kv)" "0 True" "no KV block in use when idle; the pool's size is reported"
is "$(g prefix)" "$want_hits counter" "q_prefix_cache_hit_tokens_total: the shared prefix blocks ($want_hits tokens)"
like "$TRASH/metrics" "^q_prefix_cache_hit_tokens_total [1-9][0-9]*$" \
	"q_prefix_cache_hit_tokens_total rose: the chat requests share the system prompt"
serve_stop

serve_start -m "$MODEL_SMOL" -t 2 --quiet --no-prefix-cache || done_testing
same=0
for i in 1 2 3; do
	http POST /v1/chat/completions "{\"messages\":[{\"role\":\"user\",\"content\":\"Count to $i.\"}],\"max_tokens\":$((4 * i)),\"temperature\":0}"
	jq -r '.choices[0].message.content' "$TRASH/out" >"$TRASH/nochat$i"
	cmp -s "$TRASH/nochat$i" "$TRASH/chat$i" && same=$((same + 1))
done
is "$same" 3 "--no-prefix-cache: the same 3 greedy chat answers"
curl -s "$URL/metrics" >"$TRASH/metrics1"
is "$(hits "$TRASH/metrics1")" 0 "--no-prefix-cache: q_prefix_cache_hit_tokens_total stays 0"
serve_stop
done_testing
