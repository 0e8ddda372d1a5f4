#!/bin/sh
# lib/tmpl through t/unit/tmpl-render: usage and input errors, the JSON number
# rule (an int is a literal without '.', 'e', 'E', as in Python's json), and
# the resource limits (steps, output, memory, nested calls, nesting depth),
# each an exit status 1 with one error line, never a crash or a hang.
. "${0%/*}/lib.sh"

R=t/unit/tmpl-render
[ -x "$R" ] || { skip "t/unit/tmpl-render not built"; done_testing; }
T=$TRASH
printf '{}' >"$T/empty.json"

# usage
run "$R"
expect_status 2 "no arguments: usage error"
run "$R" --max-steps x "$T/a" "$T/b"
expect_status 2 "bad option value: usage error"
run "$R" --frobnicate 1 "$T/a" "$T/b"
expect_status 2 "unknown option: usage error"

# inputs
run "$R" "$T/missing.jinja" "$T/empty.json"
expect_status 1 "missing template file"
one_line_error "$T/err" tmpl-render "missing template file: one error line"
printf 'x' >"$T/x.jinja"
printf '{"a": [1,}' >"$T/bad.json"
run "$R" "$T/x.jinja" "$T/bad.json"
expect_status 1 "invalid JSON variables"
like "$T/err" '^tmpl-render: error: invalid JSON' "invalid JSON: says so"
printf '{"a": 1} x' >"$T/extra.json"
run "$R" "$T/x.jinja" "$T/extra.json"
expect_status 1 "JSON with extra data after the object"
printf '[1, 2]' >"$T/list.json"
run "$R" "$T/x.jinja" "$T/list.json"
expect_status 1 "variables that are not an object"
like "$T/err" '^tmpl-render: error: template variables: not a JSON object$' "not an object: says so"
printf '{"n": 123456789012345678901}' >"$T/big.json"
run "$R" "$T/x.jinja" "$T/big.json"
expect_status 1 "integer beyond 64 bits in the variables"
like "$T/err" 'template variables: integer 123456789012345678901 in the variables is beyond 64 bits' "big int: says so"
printf '{"s": "\377"}' >"$T/badutf.json"
run "$R" "$T/x.jinja" "$T/badutf.json"
expect_status 1 "invalid UTF-8 in a variable"
printf 'line 1\nline 2 \377\n' >"$T/badutf.jinja"
run "$R" "$T/badutf.jinja" "$T/empty.json"
expect_status 1 "invalid UTF-8 in the template"
like "$T/err" '^tmpl-render: error: template line 2: invalid UTF-8$' "invalid UTF-8: names line 2"

# numbers: expected output made by python3 (json.loads + jinja2, see t0300)
cat >"$T/num.json" <<'J'
{"v": {"a": 1, "b": 1.0, "c": 1e2, "d": -0, "e": -0.0, "f": 1.5e300, "g": 9007199254740993, "h": 0.1, "i": 1E400, "j": 12.50}}
J
printf '%s' '{% for k, x in v|dictsort %}{{ k }}={{ x }}:{{ x is integer }}:{{ x|tojson }} {% endfor %}' >"$T/num.jinja"
run "$R" "$T/num.jinja" "$T/num.json"
expect_status 0 "numbers render"
is "$(cat "$T/out")" 'a=1:True:1 b=1.0:False:1.0 c=100.0:False:100.0 d=0:True:0 e=-0.0:False:-0.0 f=1.5e+300:False:1.5e+300 g=9007199254740993:True:9007199254740993 h=0.1:False:0.1 i=inf:False:Infinity j=12.5:False:12.5 ' \
	"JSON ints stay ints and floats stay floats, as in Python"

# limits
printf '%s' '{% set r = range(10000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}' >"$T/steps.jinja"
run "$R" --max-steps 100000 "$T/steps.jinja" "$T/empty.json"
expect_status 1 "step limit stops 10^8 loop iterations"
like "$T/err" '^tmpl-render: error: template line 1: evaluation step limit \(100000\) exceeded$' "step limit: says so"

printf '%s' '{% for i in range(500) %}xy{% endfor %}' >"$T/out.jinja"
run "$R" --max-output 1000 "$T/out.jinja" "$T/empty.json"
expect_status 0 "output of exactly the limit is fine"
is "$(wc -c <"$T/out")" 1000 "1000 bytes out"
run "$R" --max-output 999 "$T/out.jinja" "$T/empty.json"
expect_status 1 "output over the limit fails"
like "$T/err" 'output larger than 999 bytes' "output limit: says so"
is "$(wc -c <"$T/out")" 0 "nothing is written on failure"

printf '%s' "{% set ns = namespace(s='') %}{% for i in range(100000) %}{% set ns.s = ns.s ~ 'xxxxxxxxxx' %}{% endfor %}{{ ns.s|length }}" >"$T/mem.jinja"
run "$R" --max-memory 2000000 "$T/mem.jinja" "$T/empty.json"
expect_status 1 "memory limit stops a growing string"
like "$T/err" 'template needs more than 1 MiB of memory' "memory limit: says so"
printf '%s' "{{ ('x' * 1000000000)|length }}" >"$T/rep.jinja"
run "$R" "$T/rep.jinja" "$T/empty.json"
expect_status 1 "a 1 GB string repetition is refused"

printf '%s' '{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% else %}bottom{% endif %}{% endmacro %}{{ f(depth) }}' >"$T/rec.jinja"
printf '{"depth": 9}' >"$T/d9.json"
printf '{"depth": 10}' >"$T/d10.json"
run "$R" --max-calls 10 "$T/rec.jinja" "$T/d9.json"
expect_status 0 "10 nested macro calls within a limit of 10"
is "$(cat "$T/out")" bottom "recursion reaches the bottom"
run "$R" --max-calls 10 "$T/rec.jinja" "$T/d10.json"
expect_status 1 "11 nested macro calls over a limit of 10"
like "$T/err" 'template line 1: maximum recursion depth exceeded \(10 nested calls\)' "call limit: says so"
printf '%s' '{% for n in tree recursive %}{{ n.name }}{{ loop(n.kids) }}{% endfor %}' >"$T/loop.jinja"
printf '{"tree": [{"name": "a", "kids": [{"name": "b", "kids": [{"name": "c", "kids": []}]}]}]}' >"$T/tree.json"
run "$R" --max-calls 3 "$T/loop.jinja" "$T/tree.json"
expect_status 0 "recursive loop within the call limit"
is "$(cat "$T/out")" abc "recursive loop output"
run "$R" --max-calls 2 "$T/loop.jinja" "$T/tree.json"
expect_status 1 "recursive loop over the call limit"

awk 'BEGIN { printf "{{ "; for (i = 0; i < 5000; i++) printf "("; printf "1"; for (i = 0; i < 5000; i++) printf ")"; printf " }}" }' >"$T/deep.jinja"
run "$R" "$T/deep.jinja" "$T/empty.json"
expect_status 1 "5000 nested parentheses: an error, not a stack overflow"
like "$T/err" 'template line 1: nesting too deep' "nesting: says so"
awk 'BEGIN { for (i = 0; i < 3000; i++) printf "{%% if true %%}"; for (i = 0; i < 3000; i++) printf "{%% endif %%}" }' >"$T/deepif.jinja"
run "$R" "$T/deepif.jinja" "$T/empty.json"
expect_status 1 "3000 nested if blocks: an error"
awk 'BEGIN { printf "{{ x"; for (i = 0; i < 100000; i++) printf ".a"; printf " }}" }' >"$T/chain.jinja"
run "$R" "$T/chain.jinja" "$T/empty.json"
expect_status 1 "100000 chained attributes: an error, not a stack overflow"
awk 'BEGIN { printf "{{ 1"; for (i = 0; i < 100000; i++) printf " + 1"; printf " }}" }' >"$T/sum.jinja"
run "$R" "$T/sum.jinja" "$T/empty.json"
expect_status 1 "100000 chained additions: an error, not a stack overflow"

done_testing
