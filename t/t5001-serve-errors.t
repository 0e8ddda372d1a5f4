#!/bin/sh
# qserve under bad input: every case gets one status and an OpenAI-shaped
# error body {"error": {"message", "type", "param", "code"}}, the daemon
# neither crashes nor wedges, and a normal request succeeds after each
# group.  Also: keys (401), the queue limit (429 + Retry-After), the rate
# limit, a client that hangs up mid-stream (its KV blocks freed at once), a
# slow-drip connection (closed by the idle timeout), and SIGTERM draining
# a request in flight before exiting 0.
. "${0%/*}/lib.sh"

M=$STORIES
CHAT='{"messages":[{"role":"user","content":"hi"}],"max_tokens":4}'

# err_is STATUS TYPE PARAM DESC: $code and the error body's type and param.
err_is() {
	_got="$code $(jq -r '.error.type + " " + (.error.param // "-")' "$TRASH/out" 2>/dev/null)"
	is "$_got" "$1 $2 $3" "$4"
	jq -e '.error.message | length > 0' "$TRASH/out" >/dev/null 2>&1
	ok_ $? "$4: has a message"
}

still_works() { # DESC
	http POST /v1/completions '{"prompt":"Once upon a time","max_tokens":8,"temperature":0}'
	is "$code $(jq -r '.usage.completion_tokens' "$TRASH/out")" "200 8" "$1: a normal request still succeeds"
}

metric() { # NAME: its value in /metrics
	curl -s "$URL/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

serve_start -m "$M" -t 1 --ctx 64 --max-body 4096 --timeout 2 --parallel 2 --quiet || { done_testing; }

http POST /v1/chat/completions '{"messages": [{"role": "user", "content": "hi"}'
err_is 400 invalid_request_error - "malformed JSON"
printf '{"prompt":"\377\376 bad","max_tokens":2}' >"$TRASH/bad"
code=$(curl -s -o "$TRASH/out" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$TRASH/bad" "$URL/v1/completions")
err_is 400 invalid_request_error - "invalid UTF-8"
head -c 5000 /dev/zero | tr '\0' 'a' >"$TRASH/big"
code=$(curl -s -o "$TRASH/out" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$TRASH/big" "$URL/v1/completions")
err_is 413 invalid_request_error - "body over --max-body"
code=$(curl -s -o "$TRASH/out" -w '%{http_code}' -d "$CHAT" "$URL/v1/chat/completions")
err_is 415 invalid_request_error - "form-encoded body (wrong content type)"
http POST /v1/completions '{"prompt":"hi","max_tokens":100000000}'
is "$code $(jq -r .error.code "$TRASH/out")" "400 context_length_exceeded" "absurd max_tokens: 400 context_length_exceeded"
http POST /v1/completions '{"prompt":"hi","max_tokens":-3}'
err_is 400 invalid_request_error max_tokens "negative max_tokens"
LONG=$(awk 'BEGIN { for (i = 0; i < 80; i++) printf "Once upon a time "; }')
http POST /v1/completions "{\"prompt\":\"$LONG\",\"max_tokens\":4}"
is "$code $(jq -r .error.code "$TRASH/out")" "400 context_length_exceeded" "prompt over the context: 400 context_length_exceeded"
like "$TRASH/out" '64' "prompt over the context: the message gives the context (64)"
n_long=$(curl -s -H 'Content-Type: application/json' -d "{\"content\":\"$LONG\",\"add_special\":true}" "$URL/tokenize" | jq '.tokens | length')
like "$TRASH/out" "$n_long" "prompt over the context: the message gives the prompt's $n_long tokens"
http POST /v1/chat/completions '{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}'
err_is 404 not_found_error model "unknown model"
http POST /v1/completions '{"prompt":"hi","n":17}'
err_is 400 invalid_request_error n "n > 16"
http POST /v1/completions '{"prompt":"hi","temperature":"hot"}'
err_is 400 invalid_request_error temperature "temperature of the wrong type"
http POST /v1/completions '{"prompt":"hi","top_p":1.5}'
err_is 400 invalid_request_error top_p "top_p outside (0, 1]"
http POST /v1/chat/completions "$CHAT"
err_is 400 invalid_request_error - "chat without a chat template (stories260K has none)"
like "$TRASH/out" 'chat template' "no chat template: the message says so"
http POST /v1/completions '[1, 2, 3]'
err_is 400 invalid_request_error - "a body that is not an object"
http GET /v1/nothing
err_is 404 not_found_error - "unknown path"
http GET /v1/completions
err_is 405 invalid_request_error - "wrong method"
still_works "after the bad requests"

# a slow-drip client: headers a byte at a time, slower than --timeout 2
( printf 'POST /v1/completions HTTP/1.1\r\nHost: x\r\n'; sleep 4; printf 'Content-Length: 2\r\n\r\n{}' ) |
	timeout 10 curl -s -o /dev/null telnet://127.0.0.1:"$PORT" 2>/dev/null &
DRIP=$!
sleep 0.5
still_works "while a slow-drip connection is open"
wait $DRIP
kill -0 "$SERVE_PID"
ok_ $? "the daemon is alive after the slow-drip connection"

serve_stop
is "$rc" 0 "SIGTERM: exit 0"

# --chat-template gives a model without one a chat template
printf '%s' '{% for m in messages %}{{ m.content }}{% endfor %}' >"$TRASH/tmpl"
serve_start -m "$M" -t 1 --chat-template "$TRASH/tmpl" --quiet || { done_testing; }
http POST /v1/chat/completions '{"messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":12,"temperature":0}'
jq -j '.choices[0].message.content' "$TRASH/out" >"$TRASH/got"
run qgen -m "$M" -t 1 -p "Once upon a time" --temp 0 -n 12
test_cmp "$TRASH/out" "$TRASH/got" "--chat-template: chat answers with the template's rendering as the prompt"
serve_stop
printf '{%% if %%}' >"$TRASH/tmpl"
run timeout 20 qserve -m "$M" --port "$PORT" --chat-template "$TRASH/tmpl"
expect_status 1 "--chat-template with a broken template: exit 1"
one_line_error "$TRASH/err" qserve "--chat-template with a broken template: one error line"
run timeout 20 qserve -m "$M" --port "$PORT" --chat-template "$TRASH/nonexistent"
expect_status 1 "--chat-template FILE missing: exit 1"
run timeout 20 qserve -m "$M" --parallel 0
expect_status 2 "--parallel 0: usage error, exit 2"
run timeout 20 qserve -m "$M" --bogus
expect_status 2 "unknown option: exit 2"
one_line_error "$TRASH/err" qserve "unknown option: one error line"

# keys and the protected metrics
printf '# keys\nsecond-key\n\n' >"$TRASH/keys"
serve_start -m "$M" -t 1 --api-key first-key --api-key-file "$TRASH/keys" --protect-metrics --quiet || { done_testing; }
http POST /v1/completions '{"prompt":"hi","max_tokens":2}'
is "$code $(jq -r .error.code "$TRASH/out")" "401 invalid_api_key" "no key: 401 invalid_api_key"
http POST /v1/completions '{"prompt":"hi","max_tokens":2}' -H 'Authorization: Bearer wrong'
is "$code" 401 "wrong key: 401"
http POST /v1/completions '{"prompt":"hi","max_tokens":2}' -H 'Authorization: Bearer first-key'
is "$code" 200 "--api-key: 200"
http POST /v1/completions '{"prompt":"hi","max_tokens":2}' -H 'Authorization: Bearer second-key'
is "$code" 200 "a key from --api-key-file: 200"
http GET /metrics
is "$code" 401 "--protect-metrics: /metrics needs a key"
http GET /metrics -H 'Authorization: Bearer first-key'
is "$code" 200 "--protect-metrics: /metrics with a key"
serve_stop

# the rate limit: 2 a minute per key
serve_start -m "$M" -t 1 --api-key k --rate-limit 2 --quiet || { done_testing; }
st=
for i in 1 2 3; do
	http POST /v1/completions '{"prompt":"hi","max_tokens":1}' -H 'Authorization: Bearer k'
	st="$st$code "
done
is "$st" "200 200 429 " "--rate-limit 2: the third request in a minute gets 429"
like "$TRASH/headers" '^[Rr]etry-[Aa]fter: [0-9]+' "429: Retry-After"
serve_stop

# the queue limit: 1 running, 1 waiting, the third is refused
serve_start -m "$MODEL_SMOL" -t 1 --parallel 1 --max-queue 1 --quiet || { done_testing; }
for i in 1 2; do
	curl -s -H 'Content-Type: application/json' -d '{"prompt":"Write a long story.","max_tokens":120,"temperature":0}' \
		"$URL/v1/completions" >"$TRASH/q$i" &
	QPIDS="${QPIDS:-} $!"
	_i=0
	while [ "$(metric q_requests_running)" -lt 1 ] 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	sleep 0.2
done
is "$(metric q_requests_waiting)" 1 "--max-queue 1: one request waiting"
http POST /v1/completions '{"prompt":"hi","max_tokens":2}'
is "$code $(jq -r .error.type "$TRASH/out")" "429 rate_limit_error" "--max-queue 1: the next one gets 429"
like "$TRASH/headers" '^[Rr]etry-[Aa]fter: [0-9]+' "queue full: Retry-After"
# shellcheck disable=SC2086
wait $QPIDS
is "$(jq -r .usage.completion_tokens "$TRASH/q1") $(jq -r .usage.completion_tokens "$TRASH/q2")" "120 120" \
	"the running and the waiting request both complete"

# a client that hangs up mid-stream: its sequence is cancelled, blocks freed
curl -s -N --max-time 1 -H 'Content-Type: application/json' \
	-d '{"prompt":"Write a long story.","max_tokens":1000,"stream":true}' "$URL/v1/completions" >"$TRASH/stream" 2>/dev/null
like "$TRASH/stream" '^data: ' "hang-up: the stream had started"
sleep 0.5
is "$(metric q_kv_blocks_used) $(metric q_requests_running)" "0 0" "hang-up: no sequence runs and no KV block is held 0.5 s later"
still_works "after the hang-up"

# SIGTERM while a request runs: it completes, then exit 0
curl -s -H 'Content-Type: application/json' -d '{"prompt":"Write a long story.","max_tokens":64,"temperature":0}' \
	"$URL/v1/completions" >"$TRASH/drain" &
CURL=$!
sleep 0.3
serve_stop
wait $CURL
is "$rc $(jq -r .usage.completion_tokens "$TRASH/drain")" "0 64" "SIGTERM drains: the request in flight completes and qserve exits 0"
done_testing
