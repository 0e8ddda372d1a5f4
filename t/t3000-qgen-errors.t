#!/bin/sh
# qgen: every error a user can cause is one line on stderr and exit 1
# (runtime) or 2 (usage); models whose tensors disagree with their
# hyper-parameters are refused naming the tensor (models from
# t/data/qgen/gen-bad-models.py).
. "${0%/*}/lib.sh"

M=t/data/qgen/models

# bad_use DESC WANT_STATUS REGEX ARGS...: qgen ARGS fails with one error line matching REGEX.
bad_use() {
	_d=$1 _s=$2 _re=$3
	shift 3
	run qgen -m "$STORIES" -t 1 "$@" </dev/null
	expect_status "$_s" "$_d: exit $_s"
	if [ "$rc" -eq "$_s" ] && [ "$(wc -l <"$TRASH/err")" -eq 1 ] && grep -Eq -- "^qgen: error: $_re" "$TRASH/err"; then
		ok_ 0 "$_d: one line saying why"
	else
		ok_ 1 "$_d: one line saying why"
		diag "stderr: $(head -c 300 "$TRASH/err")" "want: /^qgen: error: $_re/"
	fi
}

bad_use "negative -n" 2 "-n '-1': want an integer in \[0, 16777216\]" -p hi -n -1
bad_use "absurd -n" 2 "-n '99999999999'" -p hi -n 99999999999
bad_use "-n not a number" 2 "-n '12x'" -p hi -n 12x
bad_use "negative temperature" 2 "temperature -0.5 must be a number >= 0" -p hi --temp -0.5
bad_use "temperature nan" 2 "--temp 'nan': not a number" -p hi --temp nan
bad_use "top-p 0" 2 "top-p 0 must be in \(0, 1\]" -p hi --top-p 0
bad_use "top-p above 1" 2 "top-p 1.5 must be in \(0, 1\]" -p hi --top-p 1.5
bad_use "min-p above 1" 2 "min-p 2 must be in \[0, 1\]" -p hi --min-p 2
bad_use "repeat penalty 0" 2 "repeat penalty 0 must be > 0" -p hi --repeat-penalty 0
bad_use "negative top-k" 2 "--top-k '-3'" -p hi --top-k -3
bad_use "unknown long option" 2 "unknown option '--bogus'" -p hi --bogus
bad_use "unknown short option" 2 "unknown option '-x'" -p hi -x
bad_use "option without its value" 2 "option '--temp' needs a value" -p hi --temp
bad_use "stray argument" 2 "unexpected argument 'hello'" hello
bad_use "--system without --chat" 2 "--system needs --chat" -p hi --system brief
bad_use "--chat with --ids" 2 "--chat cannot be combined with --ids" -p 1 --chat --ids
bad_use "--stop with --ids" 2 "--stop cannot be combined with --ids" -p 1 --ids --stop x
bad_use "empty stop string" 2 "--stop: empty stop string" -p hi --stop ''
bad_use "zero threads" 2 "-t '0'" -p hi -t 0

# Prompt longer than the context: an error, or --truncate keeps the end.
LONG="Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
bad_use "prompt longer than the context" 1 "prompt of [0-9]+ tokens is longer than the context of 8 \(use --truncate" -p "$LONG" --ctx 8
run qgen -m "$STORIES" -t 1 -p "$LONG" --ctx 8 -n 4 --temp 0 --truncate
expect_status 0 "--truncate: runs"
like "$TRASH/err" "^qgen: prompt: 4 tokens, .* generation: 4 tokens," "--truncate: kept 4 prompt tokens (BOS + the last 3) for 4 new ones"
run qgen -m "$STORIES" -t 1 -p "$LONG" --ctx 32 -n 100 --temp 0
expect_status 0 "-n beyond the context: stops when the context is full"
like "$TRASH/err" "^qgen: prompt: 32 tokens, .* generation: 1 tokens," "a prompt filling the context leaves room for one token"

run qgen -m "$STORIES" -t 1 --ids -p "1 403 512"
expect_status 1 "--ids with an id out of range: exit 1"
one_line_error "$TRASH/err" qgen "--ids out of range: one error line"
like "$TRASH/err" "token id 512 out of range \(vocabulary has 512\)" "--ids out of range: says the limit"
run qgen -m "$STORIES" -t 1 --ids -p "1 four"
expect_status 1 "--ids with a word: exit 1"
like "$TRASH/err" "^qgen: error: prompt: not a token id: 'four'$" "--ids with a word: names it"

printf 'bad \377 byte' >"$TRASH/bad-utf8"
run qgen -m "$STORIES" -t 1 <"$TRASH/bad-utf8"
expect_status 1 "invalid UTF-8 prompt: exit 1"
like "$TRASH/err" "^qgen: error: prompt: invalid UTF-8 at byte 4$" "invalid UTF-8 prompt: byte offset"

if [ -f "$MODEL_SMOL" ]; then
	run qgen -m "$MODEL_SMOL" -t 1 -p ""
	expect_status 1 "empty prompt (no BOS in SmolLM2): exit 1"
	like "$TRASH/err" "^qgen: error: empty prompt$" "empty prompt: says so"
else
	skip "no $MODEL_SMOL (make model)"
	skip "no $MODEL_SMOL (make model)"
fi

run qgen -m "$TRASH/nope.gguf" -p hi
expect_status 1 "missing model file: exit 1"
like "$TRASH/err" "^qgen: error: .*nope.gguf: No such file" "missing model file: names it"
run qgen -m "$SHARED/tokenizers/qwen3" -p hi
expect_status 1 "a tokenizer directory is not a model: exit 1"
like "$TRASH/err" "needs a GGUF file" "a tokenizer directory: says a GGUF is needed"

# Models that disagree with themselves: each refused naming what is wrong.
bad_model() { # FILE REGEX DESC
	run qgen -m "$M/$1" -t 1 -p "Once upon a time" -n 4
	expect_status 1 "$3: exit 1"
	if [ "$(wc -l <"$TRASH/err")" -eq 1 ] && grep -Eq -- "^qgen: error: $M/$1: $2" "$TRASH/err"; then
		ok_ 0 "$3: one line naming it"
	else
		ok_ 1 "$3: one line naming it"
		diag "stderr: $(head -c 300 "$TRASH/err")"
	fi
}
run qgen -m "$M/good.gguf" -t 1 -p "Once upon a time" -n 4 --temp 0
expect_status 0 "the valid tiny model runs"
like "$TRASH/err" "generation: 4 tokens" "the valid tiny model generates 4 tokens"
bad_model bad-shape.gguf "tensor blk.0.attn_k.weight has shape \[32, 32\], expected \[32, 16\] \(head_count_kv 1 x head size 16" "K projection wider than the KV heads"
bad_model bad-missing.gguf "tensor blk.0.ffn_up.weight is missing$" "missing tensor"
bad_model bad-arch.gguf "architecture 'mamba' is not supported \(llama, qwen2, qwen3\)$" "unsupported architecture"
bad_model bad-type.gguf "tensor blk.0.attn_q.weight: type IQ4_NL is not supported$" "unsupported tensor type"
bad_model bad-norm.gguf "tensor blk.0.attn_norm.weight: type F16 is not supported \(norms and biases must be F32\)$" "F16 norm"
bad_model bad-embd.gguf "tensor token_embd.weight has shape \[32, 512\], expected \[48, 512\] \(embedding_length 48\)$" "embedding_length disagreeing with the tensors"

done_testing
