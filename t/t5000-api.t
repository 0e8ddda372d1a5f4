#!/bin/sh
# lib/api without a server: OpenAI and Ollama request bodies parsed (every
# field's type and range, defaults, prompts as token ids equal to qtok's,
# context limits, model names) and responses written (whole and streamed)
# against golden files.  t/unit/api-test prints what was parsed as
# key=value lines, or the error as status/type/param/code/message/json.
. "${0%/*}/lib.sh"

A=t/unit/api-test
QWEN=$SHARED/tokenizers/qwen3
D=t/data/api
HI='"messages":[{"role":"user","content":"hi"}]'

# req KIND TOK BODY [ARGS...]: parse BODY; output in $TRASH/out, status in $rc.
req() {
	_k=$1 _t=$2 _b=$3
	shift 3
	run_in "$_b" $A parse "$_k" "$_t" "$@"
}

# field KEY: the value of KEY= in the last output.
field() { sed -n "s/^$1=//p" "$TRASH/out"; }

# bad KIND TOK BODY PARAM DESC [ARGS...]: a 400 invalid_request_error whose
# param is PARAM and whose message names it.
bad() {
	_k=$1 _t=$2 _b=$3 _p=$4 _d=$5
	shift 5
	req "$_k" "$_t" "$_b" "$@"
	if [ "$rc" -eq 1 ] && [ "$(field status)" = 400 ] && [ "$(field type)" = invalid_request_error ] &&
		[ "$(field param)" = "$_p" ] && grep -q "^message=.*'$_p'" "$TRASH/out"; then
		ok_ 0 "$_d"
	else
		ok_ 1 "$_d"
		diag "exit $rc, want 1 with param=$_p:" "$(head -c 400 "$TRASH/out")"
	fi
}

# --- every field of the wrong type is named --------------------------------
for fv in 'temperature:"hot"' 'top_p:"1"' 'top_k:0.5' 'min_p:[]' 'n:"2"' 'stop:1' 'stop:["a",1]' \
	'seed:"42"' 'seed:1.5' 'presence_penalty:true' 'frequency_penalty:{}' 'repetition_penalty:"1"' \
	'logit_bias:[1]' 'logprobs:1' 'top_logprobs:"3"' 'stream:"yes"' 'user:7' 'priority:"high"' \
	'max_tokens:"5"' 'max_completion_tokens:2.5' 'model:3' 'tools:{}' 'chat_template_kwargs:[]' \
	'add_generation_prompt:"no"'; do
	f=${fv%%:*} v=${fv#*:}
	bad chat "$QWEN" "{$HI,\"$f\":$v}" "$f" "chat: $f=$v is a 400 naming '$f'"
done
bad chat "$QWEN" "{$HI,\"stream\":true,\"stream_options\":1}" stream_options "chat: stream_options=1 is a 400"
bad chat "$QWEN" "{$HI,\"stream\":true,\"stream_options\":{\"include_usage\":1}}" stream_options.include_usage \
	"chat: stream_options.include_usage=1 is a 400 naming it"
bad chat "$QWEN" '{"messages":"hi"}' messages "chat: messages as a string is a 400"
for fv in 'prompt:true' 'prompt:{}' 'prompt:[1,"a"]' 'prompt:[[1],"a"]' 'prompt:[1.5]' 'echo:1' 'logprobs:true' \
	'temperature:"1"' 'stop:{}' 'max_tokens:[]'; do
	f=${fv%%:*} v=${fv#*:}
	[ "$f" = prompt ] && body="{\"prompt\":$v}" || body="{\"prompt\":\"hi\",\"$f\":$v}"
	bad completions "$STORIES" "$body" "$f" "completions: $f=$v is a 400 naming '$f'"
done
for fv in 'temperature:"x"' 'num_predict:"x"' 'top_k:1.5' 'seed:"1"' 'stop:1' 'repeat_last_n:true' \
	'repeat_penalty:"1"' 'min_p:[]'; do
	f=${fv%%:*} v=${fv#*:}
	bad generate "$QWEN" "{\"prompt\":\"hi\",\"options\":{\"$f\":$v}}" "options.$f" "generate: options.$f=$v is a 400"
done
bad generate "$QWEN" '{"prompt":"hi","options":[]}' options "generate: options=[] is a 400"
bad generate "$QWEN" '{"prompt":1}' prompt "generate: prompt=1 is a 400"
bad generate "$QWEN" '{"prompt":"hi","system":1}' system "generate: system=1 is a 400"
bad generate "$QWEN" '{"prompt":"hi","raw":"no"}' raw "generate: raw=\"no\" is a 400"
bad ollama-chat "$QWEN" '{"messages":[],"stream":1}' stream "ollama chat: stream=1 is a 400"

# --- ranges ---------------------------------------------------------------------
for fv in 'temperature:2.5' 'temperature:-0.1' 'top_p:0' 'top_p:1.01' 'min_p:1.5' 'min_p:-1' 'n:0' 'n:17' \
	'top_k:-2' 'presence_penalty:-2.5' 'frequency_penalty:3' 'repetition_penalty:0' 'max_tokens:-1' \
	'max_tokens:0' 'max_completion_tokens:0' 'seed:1e30' 'seed:18446744073709551616'; do
	f=${fv%%:*} v=${fv#*:}
	bad chat "$QWEN" "{$HI,\"$f\":$v}" "$f" "chat: $f=$v is out of range"
done
bad chat "$QWEN" "{$HI,\"logprobs\":true,\"top_logprobs\":21}" top_logprobs "chat: top_logprobs=21 is out of range"
bad chat "$QWEN" "{$HI,\"top_logprobs\":2}" top_logprobs "chat: top_logprobs without logprobs is a 400"
bad completions "$STORIES" '{"prompt":"hi","logprobs":6}' logprobs "completions: logprobs=6 is out of range"
bad completions "$STORIES" '{"prompt":"hi","max_tokens":-5}' max_tokens "completions: max_tokens=-5 is out of range"
bad generate "$QWEN" '{"prompt":"hi","options":{"num_predict":-3}}' options.num_predict "generate: num_predict=-3 is a 400"
bad generate "$QWEN" '{"prompt":"hi","options":{"top_p":0}}' options.top_p "generate: top_p=0 is a 400"
bad chat "$QWEN" "{$HI,\"stream_options\":{\"include_usage\":true}}" stream_options \
	"chat: stream_options without stream is a 400"
req chat "$QWEN" "{$HI,\"n\":17}"
is "$(field message)" "'n' must be in [1, 16], got 17" "n=17: the message gives the range"
req chat "$QWEN" "{$HI,\"temperature\":3}"
is "$(field message)" "'temperature' must be in [0, 2], got 3" "temperature=3: the message gives the range"
req chat "$QWEN" "{$HI,\"top_p\":0}"
is "$(field message)" "'top_p' must be in (0, 1], got 0" "top_p=0: the message gives the open range"
req chat "$QWEN" "{$HI,\"n\":16,\"top_k\":-1,\"temperature\":2,\"top_p\":1,\"min_p\":1}"
expect_status 0 "the ends of the ranges are accepted"
is "$(field n) $(field top_k) $(field temp)" "16 0 2" "n=16, top_k=-1 is off, temperature=2"

# stop: a string or up to 16 strings; empty strings dropped.
req chat "$QWEN" "{$HI,\"stop\":\"END\"}"
is "$(field n_stop) $(field stop0)" "1 END" "stop as a string"
req chat "$QWEN" "{$HI,\"stop\":[\"a\",\"\",\"b c\"]}"
is "$(field n_stop)|$(field stop0)|$(field stop1)" "2|a|b c" "stop as an array; the empty string is dropped"
req completions "$STORIES" '{"prompt":"hi","stop":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16"]}'
is "$rc $(field n_stop) $(field stop15)" "0 16 16" "16 stop strings are accepted"
bad completions "$STORIES" '{"prompt":"hi","stop":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]}' \
	stop "17 stop strings are a 400"
req generate "$QWEN" '{"prompt":"hi","options":{"stop":["<|im_end|>","x"]}}'
is "$(field n_stop)|$(field stop0)|$(field stop1)" "2|<|im_end|>|x" "Ollama options.stop"

# logit_bias: ids checked against the vocabulary, values in [-100, 100].
req chat "$QWEN" "{$HI,\"logit_bias\":{\"9707\":-100,\"0\":2.5}}"
is "$(field bias) $(field bias_is_req)" "9707:-100,0:2.5 1" "logit_bias parsed; sample.bias points at req->bias"
req chat "$QWEN" "{$HI,\"logit_bias\":{\"151669\":1}}"
is "$rc|$(field param)|$(field message)" \
	"1|logit_bias|'logit_bias' token id 151669 is outside the vocabulary of 151669 tokens" \
	"logit_bias: an id past the vocabulary is a 400"
bad chat "$QWEN" "{$HI,\"logit_bias\":{\"abc\":1}}" logit_bias "logit_bias: a key that is not an id is a 400"
bad chat "$QWEN" "{$HI,\"logit_bias\":{\"-1\":1}}" logit_bias "logit_bias: a negative id is a 400"
bad chat "$QWEN" "{$HI,\"logit_bias\":{\"5\":101}}" logit_bias "logit_bias: 101 is a 400"
bad chat "$QWEN" "{$HI,\"logit_bias\":{\"5\":\"1\"}}" logit_bias "logit_bias: a string value is a 400"

# --- bodies that are not requests --------------------------------------------
req chat "$QWEN" '{"messages":'
is "$rc $(field status) $(field param)" "1 400 (null)" "invalid JSON is a 400"
like "$TRASH/out" '^message=the request body is not valid JSON' "invalid JSON: the message says so"
req chat "$QWEN" '[1,2]'
is "$rc $(field status) $(field message)" "1 400 the request body must be a JSON object" "a JSON array is a 400"
req chat "$QWEN" '{"messages":[{"role":"user","content":"hi"}]} x'
is "$rc $(field status)" "1 400" "trailing garbage is a 400"
req completions "$STORIES" "$(printf '{"prompt":"\377"}')"
is "$rc $(field status)" "1 400" "a body that is not UTF-8 is a 400"
like "$TRASH/out" '^message=the request body is not valid UTF-8' "invalid UTF-8: the message says so"
bad chat "$QWEN" '{}' messages "chat: no messages is a 400"
bad chat "$QWEN" '{"messages":[]}' messages "chat: empty messages is a 400"
req chat "$QWEN" '{"messages":[{"role":"wizard","content":"hi"}]}'
is "$rc $(field param)" "1 messages" "chat: an unknown role is a 400"
like "$TRASH/out" "^message=messages\[0\].role 'wizard' must be one of" "unknown role: the message names it"
req chat "$QWEN" '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}'
is "$rc $(field param)" "1 messages" "chat: an image part is a 400"
like "$TRASH/out" 'not supported' "image part: the message says it is not supported"
req chat "$QWEN" '{"messages":[{"role":"user"}]}'
is "$rc $(field message)" "1 messages[0].content is missing" "chat: a user message without content is a 400"
bad completions "$STORIES" '{}' prompt "completions: no prompt is a 400"
bad completions "$STORIES" '{"prompt":""}' prompt "completions: an empty prompt is a 400"
bad completions "$STORIES" '{"prompt":[]}' prompt "completions: an empty prompt array is a 400"
bad completions "$STORIES" '{"prompt":[[]]}' prompt "completions: an empty id array is a 400"
bad completions "$STORIES" '{"prompt":["a",""]}' prompt "completions: an empty string among prompts is a 400"
req completions "$STORIES" '{"prompt":[1,512]}'
is "$rc $(field message)" "1 'prompt' token id 512 is outside the vocabulary of 512 tokens" \
	"completions: an id past the vocabulary is a 400"
bad generate "$QWEN" '{"model":"x"}' prompt "generate: no prompt is a 400"
bad generate "$QWEN" '{"prompt":""}' prompt "generate: an empty prompt is a 400"
bad ollama-chat "$QWEN" '{"model":"x"}' messages "ollama chat: no messages is a 400"

# The template's own errors are 400s with its message.
req chat "$QWEN" '{"messages":[{"role":"assistant","content":"a"},{"role":"tool","content":"t"}],"tools":[]}'
expect_status 0 "a tool message after an assistant renders"
printf '%s' '{% if messages[0].role != "user" %}{{ raise_exception("first must be user") }}{% endif %}x' >"$TRASH/strict.jinja"
req chat "$QWEN" '{"messages":[{"role":"system","content":"s"}]}' --template "$TRASH/strict.jinja"
is "$rc $(field status) $(field param)" "1 400 messages" "raise_exception in the template is a 400"
like "$TRASH/out" '^message=chat template: .*first must be user' "raise_exception: its message is kept"

# --- model names ------------------------------------------------------------------
for k in chat completions; do
	[ $k = chat ] && t=$QWEN b="{$HI,\"model\":\"gpt-4o\"}" || t=$STORIES b='{"prompt":"hi","model":"gpt-4o"}'
	req $k "$t" "$b" --model qwen3
	is "$rc|$(field status)|$(field type)|$(field code)|$(field param)" "1|404|not_found_error|model_not_found|model" \
		"$k: another model's name is a 404 model_not_found"
	like "$TRASH/out" "^message=The model 'gpt-4o' does not exist" "$k: the 404 names the model"
done
req chat "$QWEN" "{$HI,\"model\":\"qwen3\"}" --model qwen3
is "$rc $(field model)" "0 qwen3" "chat: the served model's name is accepted and kept"
req chat "$QWEN" "{$HI}" --model qwen3
is "$rc $(field model)" "0 (null)" "chat: no model is accepted"
req generate "$QWEN" '{"model":"llama3:8b","prompt":"hi"}' --model qwen3
is "$rc $(field model)" "0 llama3:8b" "generate: any model name is accepted"
req ollama-chat "$QWEN" "{\"model\":\"other\",$HI}" --model qwen3
expect_status 0 "ollama chat: any model name is accepted"

# --- defaults -----------------------------------------------------------------------
openai_defaults='n=1
max_tokens=-1
temp=1
top_k=0
top_p=1
min_p=0
repeat_penalty=1
presence_penalty=0
frequency_penalty=0
penalty_last_n=-1
seed_given=0'
ollama_defaults='n=1
max_tokens=-1
temp=0.8
top_k=40
top_p=0.9
min_p=0
repeat_penalty=1.1
presence_penalty=0
frequency_penalty=0
penalty_last_n=64
seed_given=0'
tail_fields='logprobs top_logprobs echo stream include_usage priority user'
defaults() { sed -n '/^n=/,/^seed_given=/p' "$TRASH/out"; }
tails() { for f in $tail_fields; do printf '%s ' "$(field $f)"; done; }
req chat "$QWEN" "{$HI}"
is "$(defaults)" "$openai_defaults" "chat: OpenAI's sampling defaults"
is "$(tails)" "0 0 0 0 0 0 (null) " "chat: no logprobs, echo, stream; priority 0"
req completions "$STORIES" '{"prompt":"hi"}'
is "$(defaults)" "$openai_defaults" "completions: OpenAI's sampling defaults"
req generate "$QWEN" '{"prompt":"hi"}'
is "$(defaults)" "$ollama_defaults" "generate: Ollama's sampling defaults"
is "$(tails)" "0 0 0 1 0 0 (null) " "generate: streams by default"
req ollama-chat "$QWEN" "{$HI}"
is "$(defaults)" "$ollama_defaults" "ollama chat: Ollama's sampling defaults"
is "$(field stream)" "1" "ollama chat: streams by default"
req ollama-chat "$QWEN" "{$HI,\"stream\":false}"
is "$(field stream)" "0" "ollama chat: stream false"

# Every field read.
req chat "$QWEN" "{$HI,\"n\":3,\"max_tokens\":7,\"temperature\":0,\"top_k\":5,\"top_p\":0.5,\"min_p\":0.25,
\"repetition_penalty\":1.5,\"presence_penalty\":-1,\"frequency_penalty\":0.5,\"seed\":42,\"logprobs\":true,
\"top_logprobs\":4,\"stream\":true,\"stream_options\":{\"include_usage\":true},\"user\":\"u1\",\"priority\":-3,
\"unknown_field\":{\"x\":1}}"
is "$(sed -n '/^n=/,$p' "$TRASH/out" | tr '\n' ' ')" "n=3 max_tokens=7 temp=0 top_k=5 top_p=0.5 min_p=0.25 \
repeat_penalty=1.5 presence_penalty=-1 frequency_penalty=0.5 penalty_last_n=-1 seed_given=1 seed=42 bias= \
bias_is_req=1 n_stop=0 logprobs=1 top_logprobs=4 echo=0 stream=1 include_usage=1 priority=-3 model=(null) user=u1 " \
	"chat: every field read, unknown fields ignored"
req chat "$QWEN" "{$HI,\"max_tokens\":7,\"max_completion_tokens\":9}"
is "$(field max_tokens)" "9" "chat: max_completion_tokens wins over max_tokens"
req completions "$STORIES" '{"prompt":"hi","echo":true,"logprobs":0,"max_tokens":0,"suffix":"x"}'
is "$rc $(field echo) $(field logprobs) $(field top_logprobs) $(field max_tokens)" "0 1 1 0 0" \
	"completions: echo, logprobs 0, max_tokens 0; suffix ignored"
req generate "$QWEN" '{"prompt":"hi","stream":false,"format":"json","keep_alive":"5m","options":{"temperature":0.1,
"num_predict":12,"top_p":0.5,"top_k":3,"min_p":0.1,"repeat_penalty":1.3,"repeat_last_n":32,"presence_penalty":0.5,
"frequency_penalty":0.25,"seed":7,"num_ctx":99999}}'
is "$(sed -n '/^n=/,/^seed=/p' "$TRASH/out" | tr '\n' ' ')" "n=1 max_tokens=12 temp=0.1 top_k=3 top_p=0.5 \
min_p=0.1 repeat_penalty=1.3 presence_penalty=0.5 frequency_penalty=0.25 penalty_last_n=32 seed_given=1 seed=7 " \
	"generate: every option read; format, keep_alive, num_ctx ignored"
is "$(field stream)" "0" "generate: stream false"

# Seeds: given exactly (all 64 bits, negative as two's complement), else random.
req chat "$QWEN" "{$HI,\"seed\":9223372036854775807}"
is "$(field seed_given) $(field seed)" "1 9223372036854775807" "seed 2^63-1 exactly"
req chat "$QWEN" "{$HI,\"seed\":-1}"
is "$(field seed)" "18446744073709551615" "seed -1 is 2^64-1"
req chat "$QWEN" "{$HI}"
s1=$(field seed)
req chat "$QWEN" "{$HI}"
ok_ $([ "$(field seed_given)" = 0 ] && [ "$s1" != "$(field seed)" ]; echo $?) "no seed: seed_given 0, a new random seed each time"
req generate "$QWEN" '{"prompt":"hi","options":{"seed":-1}}'
is "$(field seed_given)" "0" "Ollama seed -1 is random"

# num_predict: -1 and -2 are unlimited, more than fits is cut to the context.
for v in -1 -2; do
	req generate "$STORIES" "{\"prompt\":\"hi\",\"options\":{\"num_predict\":$v}}"
	is "$(field max_tokens)" "-1" "num_predict $v: no limit"
done
req generate "$STORIES" '{"prompt":"Once upon","options":{"num_predict":100000}}' --ctx 512
is "$rc $(field prompt0) $(field max_tokens)" "0 1 403 407 509" "num_predict beyond the context is cut to fit"

# --- prompts --------------------------------------------------------------------
# Chat prompts are qtok --chat's ids: the template over the messages, special
# tokens parsed, no BOS added (the Qwen3 tokenizer adds none).
i=0
for body in "{$HI}" \
	'{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"},{"role":"assistant","content":"4"},{"role":"user","content":"And 3+3?"}]}' \
	'{"messages":[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"22C"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}' \
	"{$HI,\"chat_template_kwargs\":{\"enable_thinking\":false}}" \
	"{$HI,\"add_generation_prompt\":false}" \
	'{"messages":[{"role":"user","content":"1.0 and 1 and \u00e9 <|im_end|>"}]}'; do
	printf '%s' "$body" | sed 's/"content":null/"content":""/' | qtok -m "$QWEN" --chat >"$TRASH/want"
	req chat "$QWEN" "$body"
	is "$rc $(field prompt0)" "0 $(cat "$TRASH/want")" "chat prompt $i: ids equal qtok --chat's"
	i=$((i + 1))
done
req chat "$QWEN" '{"messages":[{"role":"user","content":"hi"},{"role":"assistant"},{"role":"user","content":"?"}]}'
expect_status 0 "chat: an assistant message without content renders (as \"\")"
# Content parts are joined with newlines; developer is system.
req chat "$QWEN" '{"messages":[{"role":"developer","content":"sys"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}'
printf '%s' '{"messages":[{"role":"system","content":"sys"},{"role":"user","content":"a\nb"}]}' | qtok -m "$QWEN" --chat >"$TRASH/want"
is "$(field prompt0)" "$(cat "$TRASH/want")" "chat: text parts joined by newlines, developer as system"
# Ollama chat renders the same way.
printf '%s' "{$HI}" | qtok -m "$QWEN" --chat >"$TRASH/want"
req ollama-chat "$QWEN" "{\"model\":\"m\",$HI,\"options\":{}}"
is "$(field prompt0)" "$(cat "$TRASH/want")" "ollama chat: ids equal qtok --chat's"
# /api/generate: [system?, user] through the template, or the text as is.
printf '%s' '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi there"}]}' |
	qtok -m "$QWEN" --chat >"$TRASH/want"
req generate "$QWEN" '{"prompt":"Hi there","system":"Be brief."}'
is "$(field prompt0)" "$(cat "$TRASH/want")" "generate: system + prompt through the chat template"
req generate "$QWEN" '{"prompt":"<|im_start|>Hi there","raw":true}'
is "$(field prompt0)" "151644 13048 1052" "generate raw: the prompt as is, special tokens parsed"
req generate "$STORIES" '{"prompt":"Once upon","system":"ignored"}'
is "$(field prompt0)" "1 403 407" "generate without a chat template: the prompt as is, with BOS"

# A model without a chat template: chat is a 400 unless the server gives one.
for k in chat ollama-chat; do
	req $k "$STORIES" "{$HI}"
	is "$rc|$(field status)|$(field message)" "1|400|this model has no chat template: use the completions API, or start the server with --chat-template FILE" \
		"$k without a chat template is a 400 saying so"
done
printf '%s' '{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}' >"$TRASH/t.jinja"
req chat "$STORIES" "{$HI}" --template "$TRASH/t.jinja"
printf '[user] hi' | qtok -m "$STORIES" >"$TRASH/want"
is "$rc $(field prompt0)" "0 $(cat "$TRASH/want")" \
	"--chat-template: rendered, and BOS added since the template leaves it out and the model adds one"
printf '%s' '<s>{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}' >"$TRASH/t.jinja"
req chat "$STORIES" "{$HI}" --template "$TRASH/t.jinja"
is "$rc $(field prompt0)" "0 $(cat "$TRASH/want")" "a template that writes BOS gets no second one"

# Completions prompt forms; choices = prompts x n.
printf 'Once upon a time' | qtok -m "$STORIES" >"$TRASH/want"
req completions "$STORIES" '{"prompt":"Once upon a time"}'
is "$(field n_prompts) $(field prompt0)" "1 $(cat "$TRASH/want")" "completions: a string, with BOS as qtok"
req completions "$STORIES" '{"prompt":["Once upon a time","hi"],"n":2}'
is "$(field n_prompts)|$(field prompt0)|$(field n)" "2|$(cat "$TRASH/want")|2" "completions: an array of strings"
req completions "$STORIES" '{"prompt":[5,6,7]}'
is "$(field n_prompts)|$(field prompt0)" "1|5 6 7" "completions: ids as given (no BOS)"
req completions "$STORIES" '{"prompt":[[5,6],[7]]}'
is "$(field n_prompts)|$(field prompt0)|$(field prompt1)" "2|5 6|7" "completions: an array of id arrays"

# --- the context ----------------------------------------------------------------
req completions "$STORIES" '{"prompt":"Once upon a time"}' --ctx 5
is "$rc $(field prompt0)" "0 1 403 407 261 378" "a prompt that fills the context exactly is accepted"
req completions "$STORIES" '{"prompt":"Once upon a time"}' --ctx 4
is "$rc|$(field status)|$(field code)|$(field param)" "1|400|context_length_exceeded|prompt" \
	"completions: a prompt longer than the context is a 400 context_length_exceeded"
is "$(field message)" "This model's maximum context length is 4 tokens, however you requested 5 tokens (5 in your prompt; 0 for the completion). Please reduce your prompt; or completion length." \
	"completions: the message gives both counts"
req completions "$STORIES" '{"prompt":"Once upon a time","max_tokens":4}' --ctx 8
is "$rc $(field code)" "1 context_length_exceeded" "completions: prompt + max_tokens beyond the context is a 400"
like "$TRASH/out" 'requested 9 tokens \(5 in your prompt; 4 for the completion\)' "completions: both counts"
req completions "$STORIES" '{"prompt":"Once upon a time","max_tokens":3}' --ctx 8
is "$rc $(field max_tokens)" "0 3" "prompt + max_tokens that fit are accepted"
req chat "$QWEN" "{$HI,\"max_tokens\":100000}"
is "$rc|$(field code)|$(field param)|$(field message)" "1|context_length_exceeded|messages|This model's maximum context length is 2048 tokens. However, you requested 100009 tokens (9 in the messages, 100000 in the completion). Please reduce the length of the messages or completion." \
	"chat: max_tokens beyond the context is a context_length_exceeded 400 with both counts"
req chat "$QWEN" "{$HI,\"max_tokens\":1e15}"
like "$TRASH/out" '^message=.*requested 1000000000000009 tokens \(9 in the messages, 1000000000000000 in the completion\)' \
	"chat: an absurd max_tokens is counted, not wrapped"
req chat "$QWEN" "{$HI}" --ctx 8
like "$TRASH/out" '^message=.*length is 8 tokens. However, you requested 9 tokens \(9 in the messages, 0 in the completion\)' \
	"chat: messages longer than the context"
req completions "$STORIES" '{"prompt":["hi","Once upon a time"]}' --ctx 4
like "$TRASH/out" 'requested 5 tokens \(5 in your prompt' "completions: the prompt that does not fit is the one counted"
req generate "$STORIES" '{"prompt":"Once upon a time"}' --ctx 4
is "$rc $(field code)" "1 context_length_exceeded" "generate: a prompt longer than the context is a 400"

# --- responses ------------------------------------------------------------------
# Golden outputs: api-test format KIND TOKENIZER t/data/api/NAME.json > NAME.out
# (each checked by hand against OpenAI's / Ollama's documented shapes).
for g in chat-logprobs:chat:$QWEN completions-echo:completions:$STORIES ollama-generate:generate:$QWEN \
	ollama-chat:ollama-chat:$QWEN; do
	name=${g%%:*} rest=${g#*:}
	run $A format "${rest%%:*}" "${rest#*:}" $D/$name.json
	expect_status 0 "format $name exits 0"
	test_cmp $D/$name.out "$TRASH/out" "format $name: response and stream equal the golden file"
done

# Errors: {"error":{message,type,param,code}} with JSON escapes.
req chat "$QWEN" "{$HI,\"model\":\"a\\\"b\"}" --model q
is "$(field json)" '{"error":{"message":"The model '"'"'a\"b'"'"' does not exist (this server serves '"'"'q'"'"')","type":"not_found_error","param":"model","code":"model_not_found"}}' \
	"an error body is OpenAI's error object, quotes escaped"

# --- q_api_logprobs ---------------------------------------------------------------
run $A logprobs 3 1 0 0 0 0
is "$(cat "$TRASH/out")" "id=1
logprob=-1.386294
n_top=3
top=0 -1.386294
top=1 -1.386294
top=2 -1.386294" "logprobs: uniform over 4, ties to the lower ids"
run $A logprobs 2 0 1000 1000 -inf
is "$(cat "$TRASH/out")" "id=0
logprob=-0.693147
n_top=2
top=0 -0.693147
top=1 -0.693147" "logprobs: large logits stay finite (logsumexp), -inf ignored"
run $A logprobs 25 2 -1 3 -inf 2
is "$(cat "$TRASH/out")" "id=2
logprob=-inf
n_top=4
top=1 -0.326563
top=3 -1.326563
top=0 -4.326562
top=2 -inf" "logprobs: best first, n_top capped at the vocabulary, a -inf token"
run $A logprobs 0 0 1 2
is "$(sed -n 3p "$TRASH/out")" "n_top=0" "logprobs: n_top 0 gives no alternatives"

done_testing
