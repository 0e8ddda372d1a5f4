#!/usr/bin/env python3
"""Write the template test cases (t/data/tmpl/cases/*.json).

    python3 t/data/tmpl/make-cases.py && python3 t/data/tmpl/gen-golden.py

Each case is {"template": NAME, "vars": {...}} (NAME.jinja under templates/)
or {"source": TEMPLATE, "vars": {...}}; "unsupported" marks what q refuses on
purpose.  The cases are plain data: edit them here, then regenerate the
golden files with gen-golden.py.
"""
import json
import os

D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
os.makedirs(D, exist_ok=True)


def case(name, **spec):
    with open(os.path.join(D, name + ".json"), "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False, indent=1)
        f.write("\n")

U = lambda c: {"role": "user", "content": c}
S = lambda c: {"role": "system", "content": c}
A = lambda c, **kw: dict({"role": "assistant", "content": c}, **kw)
T = lambda c, **kw: dict({"role": "tool", "content": c}, **kw)

weird = "Line one\nline \"two\" with 'quotes' and \\backslash\\\ttab\n\nUnicode: héllo wörld — 日本語 😀 ∑x² Ωμέγα\n{{ not a tag }} {% nor this %} <|im_start|>fake"
spaces = "   \n  padded content with spaces  \n\n  "
conv_basic = [U("Hello!")]
conv_sys = [S("You are a terse assistant."), U("What is 2+2?")]
conv_multi = [S("Be helpful."), U("Hi"), A("Hello! How can I help?"), U("Tell me a joke."), A("Why did the chicken cross the road?"), U("Why?")]
conv_long = [U("q%d: %s" % (i, "x" * (i % 5))) if i % 2 == 0 else A("a%d" % i) for i in range(14)]
conv_asst_last = [U("Say hi"), A("hi")]
conv_empty = [S(""), U(""), A("")]
conv_weird = [S(weird), U(weird), A(weird), U("ok")]

common = {
    "basic": conv_basic, "system": conv_sys, "multi": conv_multi, "long": conv_long,
    "assistant-last": conv_asst_last, "empty-content": conv_empty, "weird-text": conv_weird,
    "spaces": [U(spaces), A(spaces)],
}
for tmpl in ("smollm2", "qwen3", "llama3"):
    for k, msgs in common.items():
        v = {"messages": msgs, "add_generation_prompt": True, "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
        if tmpl == "qwen3":
            v = {"messages": msgs, "add_generation_prompt": True, "eos_token": "<|im_end|>"}
        elif tmpl == "smollm2":
            v = {"messages": msgs, "add_generation_prompt": True, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>"}
        case("%s-%s" % (tmpl, k), template=tmpl, vars=v)
        if k in ("basic", "multi", "assistant-last"):
            v2 = dict(v, add_generation_prompt=False)
            case("%s-%s-nogen" % (tmpl, k), template=tmpl, vars=v2)

# smollm2 specifics
case("smollm2-no-genprompt-var", template="smollm2", vars={"messages": conv_sys})
case("smollm2-system-later", template="smollm2", vars={"messages": [U("a"), S("late system"), U("b")], "add_generation_prompt": True})
case("smollm2-err-list-content", template="smollm2", vars={"messages": [U([{"type": "text", "text": "hi"}])], "add_generation_prompt": True})
case("smollm2-err-null-content", template="smollm2", vars={"messages": [S("s"), {"role": "user", "content": None}]})
case("smollm2-err-missing-content", template="smollm2", vars={"messages": [{"role": "user"}]})
case("smollm2-no-messages", template="smollm2", vars={"messages": [], "add_generation_prompt": True})

# llama3 specifics
case("llama3-err-no-bos", template="llama3", vars={"messages": conv_sys})
case("llama3-list-content", template="llama3", vars={"bos_token": "<s>", "messages": [U([{"type": "text", "text": "it's \"quoted\""}, {"type": "image", "url": None, "n": 1.0, "ok": True}])]})
case("llama3-number-content", template="llama3", vars={"bos_token": "<s>", "messages": [U(42), A(3.5), U(None), A(True), U(1e100), U(-0.0)]})
case("llama3-unicode-spaces", template="llama3", vars={"bos_token": "<s>", "messages": [U("\u00a0\u2003 nbsp and em space \u3000"), A("\n\t\r\n x \x0b\x0c")]})
case("llama3-custom-roles", template="llama3", vars={"bos_token": "<s>", "messages": [{"role": "ipython", "content": "{\"r\": 1}"}, {"role": "narrator", "content": "..."}]})

# qwen3 specifics
weather = {"type": "function", "function": {"name": "get_weather", "description": "Get the weather for a city — in °C.", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name, e.g. \"Zürich\""}, "days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 1}, "units": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}
search = {"type": "function", "function": {"name": "search", "description": "Search the web.", "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "top_k": {"type": "number", "default": 3.0}, "filters": {"type": "object", "properties": {"lang": {"type": "string"}, "safe": {"type": "boolean"}}}}, "required": ["q"]}}}
calc = {"type": "function", "function": {"name": "calc", "parameters": {"type": "object", "properties": {"expr": {"type": "string"}}}}}
tc = lambda name, args, wrap=True: ({"type": "function", "function": {"name": name, "arguments": args}} if wrap else {"name": name, "arguments": args})
Q = lambda msgs, **kw: dict({"messages": msgs, "add_generation_prompt": True}, **kw)

case("qwen3-tools-one", template="qwen3", vars=Q([U("Weather in Paris?")], tools=[weather]))
case("qwen3-tools-system", template="qwen3", vars=Q([S("You are a weather bot."), U("Weather in Zürich for 3 days?")], tools=[weather, search]))
case("qwen3-tools-three-nosys", template="qwen3", vars=Q([U("hi")], tools=[weather, search, calc]))
case("qwen3-toolcall-object", template="qwen3", vars=Q([U("Weather in Paris?"), A("", tool_calls=[tc("get_weather", {"city": "Paris", "days": 2, "units": "c"})])], tools=[weather], add_generation_prompt=False))
case("qwen3-toolcall-string", template="qwen3", vars=Q([U("Weather in Paris?"), A("Let me check.", tool_calls=[tc("get_weather", "{\"city\": \"Paris\", \"days\": 2}")])], tools=[weather], add_generation_prompt=False))
case("qwen3-toolcall-floats", template="qwen3", vars=Q([U("search"), A("", tool_calls=[tc("search", {"q": "naïve \"bayes\"\n", "top_k": 5.0, "score": 0.1, "big": 1e21, "small": 1.5e-7, "neg": -2, "ok": True, "none": None, "list": [1, 2.5, "x", [], {}], "nested": {"a": {"b": [True, False]}}})])], tools=[search]))
case("qwen3-toolcall-nowrap", template="qwen3", vars=Q([U("calc 1+1"), A("", tool_calls=[tc("calc", {"expr": "1+1"}, wrap=False)])], tools=[calc]))
case("qwen3-toolcall-multi", template="qwen3", vars=Q([U("Paris and Rome?"), A("", tool_calls=[tc("get_weather", {"city": "Paris"}), tc("get_weather", {"city": "Rome"})]), T("{\"temp\": 21}"), T("{\"temp\": 25}"), A("Paris 21°C, Rome 25°C.")], tools=[weather]))
case("qwen3-toolcall-content-and-calls", template="qwen3", vars=Q([U("x"), A("I'll call two tools.", tool_calls=[tc("calc", {"expr": "2*3"}), tc("search", "{\"q\":\"x\"}")]), T("6"), T("results"), U("thanks")], tools=[calc, search]))
case("qwen3-multistep", template="qwen3", vars=Q([S("sys"), U("What's 2*3 then search it"), A("", tool_calls=[tc("calc", {"expr": "2*3"})]), T("6"), A("", tool_calls=[tc("search", {"q": "6"})]), T("six results"), A("Done: 6.")], tools=[calc, search], add_generation_prompt=False))
case("qwen3-multistep-genprompt", template="qwen3", vars=Q([U("What's 2*3?"), A("", tool_calls=[tc("calc", {"expr": "2*3"})]), T("6")], tools=[calc]))
case("qwen3-reasoning-content", template="qwen3", vars=Q([U("Think about 2+2"), A("4", reasoning_content="2+2 is 4.\nEasy.")], add_generation_prompt=False))
case("qwen3-reasoning-in-content", template="qwen3", vars=Q([U("Q1"), A("<think>\nfirst thoughts\n</think>\n\nAnswer one"), U("Q2"), A("<think>second\nthoughts</think>Answer two")], add_generation_prompt=False))
case("qwen3-reasoning-history", template="qwen3", vars=Q([U("Q1"), A("A1", reasoning_content="R1"), U("Q2"), A("A2", reasoning_content="R2"), U("Q3")]))
case("qwen3-reasoning-null", template="qwen3", vars=Q([U("Q"), A("plain <think>x</think> y", reasoning_content=None)], add_generation_prompt=False))
case("qwen3-reasoning-after-tools", template="qwen3", vars=Q([U("Q"), A("calling", reasoning_content="need a tool", tool_calls=[tc("calc", {"expr": "1"})]), T("1"), A("It is 1.", reasoning_content="tool said 1")], tools=[calc], add_generation_prompt=False))
for et, tag in ((True, "true"), (False, "false")):
    case("qwen3-thinking-%s" % tag, template="qwen3", vars=Q([U("Hello")], enable_thinking=et))
    case("qwen3-thinking-%s-nogen" % tag, template="qwen3", vars=Q([U("Hello"), A("Hi")], enable_thinking=et, add_generation_prompt=False))
case("qwen3-thinking-false-tools", template="qwen3", vars=Q([S("sys"), U("Weather?")], tools=[weather], enable_thinking=False))
case("qwen3-thinking-string", template="qwen3", vars=Q([U("Hello")], enable_thinking="no"))
case("qwen3-user-tool-response", template="qwen3", vars=Q([U("<tool_response>\nfake\n</tool_response>"), A("ok")], add_generation_prompt=False))
case("qwen3-system-middle", template="qwen3", vars=Q([U("a"), S("mid system"), U("b")]))
case("qwen3-tool-first", template="qwen3", vars=Q([T("orphan tool output"), U("hi")]))
case("qwen3-err-no-messages", template="qwen3", vars=Q([]))
case("qwen3-err-no-messages-tools", template="qwen3", vars=Q([], tools=[calc]))
case("qwen3-err-null-content", template="qwen3", vars=Q([U("q"), A(None)]))
case("qwen3-err-list-content", template="qwen3", vars=Q([U([{"type": "text", "text": "hi"}])]))
case("qwen3-tools-empty-list", template="qwen3", vars=Q([S("sys"), U("hi")], tools=[]))
case("qwen3-unicode-tool-args", template="qwen3", vars=Q([U("翻訳"), A("", tool_calls=[tc("translate", {"text": "こんにちは 😀", "to": "en", "quote": "\"'", "ctrl": "a\u0001b\u001fc\u007f"})]), T("hello")], tools=[{"type": "function", "function": {"name": "translate", "description": "翻訳します", "parameters": {}}}]))

# ---- subset-coverage templates ----
users = [{"name": "ann", "age": 31, "admin": True, "email": "a@x", "tags": ["t1", "t2"]},
         {"name": "bob", "age": 25, "admin": False, "tags": ["t3"]},
         {"name": "Cy", "age": 40, "admin": True, "email": None, "tags": ["t4"]}]
case("sub-literals", template="sub-literals", vars={"ints": [1, -2, 0], "floats": [1.0, 0.5, -0.0, 1e21, 1.5e-7, 3.14159], "mixed": {"a": 1, "b": 1.0, "c": "1", "d": None, "e": True}, "text": "it's", "obj": {"list": [10, 20, 30], "dict": {"x": "X"}}})
case("sub-arith", template="sub-arith", vars={})
case("sub-loops", template="sub-loops", vars={"items": ["a", "b", "c"], "d": {"z": 1, "a": 2, "m": 3}, "tree": [{"name": "root", "children": [{"name": "c1", "children": [{"name": "g1"}]}, {"name": "c2", "children": []}]}, {"name": "other"}]})
case("sub-macros", template="sub-macros", vars={})
case("sub-filters", template="sub-filters", vars={"users": users, "data": {"s": "x\"y", "n": 1, "f": 1.0, "l": [1, 2.5, None, True], "d": {"z": 0, "a": [{}]}, "u": "é"}, "ns_obj": {"v": 1}})
case("sub-tests", template="sub-tests", vars={"ns_obj": {"v": 1}})
case("sub-strings", template="sub-strings", vars={"d": {"k1": 1, "k2": 2}, "text": "<think>\n reasoning \n</think>\n\n  answer text\n"})
case("sub-dicts", template="sub-dicts", vars={"d": {"a": 1, "b": [2], "n": None}, "weird": {"items": "I am a key", "keys": "K", "get": 1}, "deep": {"a": {"b": {"c": "C"}, "list": [{"x": 0}, {"x": "X1"}]}}, "order": {"z": 1, "y": 2, "x": 3, "1": 4}, "uk": {"ключ": "значение", "😀": [1]}})
case("sub-undefined", template="sub-undefined", vars={"d": {}})
case("sub-blocks", template="sub-blocks", vars={"who": "World"})
case("sub-whitespace", template="sub-whitespace", vars={})
case("sub-ws-only-newline", source="\n", vars={})
case("sub-ws-empty", source="", vars={})
case("sub-ws-crlf-end", source="{% if true %}\r\nyes\r\n{% endif %}\r\n\r\n", vars={})
case("sub-ws-tag-at-start", source="   {% if true %}x{% endif %}", vars={})
case("sub-ws-lone-braces", source="{ { } } {a} %} #} }} {", vars={})

# ---- errors: jinja2 rejects these; q must too, naming the same line ----
E = lambda name, src, **v: case("err-" + name, source=src, vars=v)
E("undefined-attr", "line1\n{{\n  x.y\n}}")
E("raise", "{% if true %}\n  {% if messages|length < 2 %}\n    {{ raise_exception('Need at least 2 messages, got ' ~ messages|length) }}\n  {% endif %}\n{% endif %}", messages=[1])
E("raise-in-macro", "{% macro check(m) %}\n{% if m.role not in ['user', 'assistant'] %}\n{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}\n{% endif %}\n{% endmacro %}\n{% for m in messages %}{{ check(m) }}{% endfor %}", messages=[{"role": "user"}, {"role": "bot"}])
E("type-add", "ok\n{{ 1 + 'a' }}")
E("type-concat-list", "{% set x = [1] +\n none %}")
E("security-append", "{{ [1].append(2) }}")
E("none-attr", "{{ none.foo.bar }}")
E("not-iterable", "a\n\n{% for x in 5 %}{{ x }}{% endfor %}")
E("zero-div", "{{ 1 // 0 }}")
E("zero-div-float", "{{ 1.5 / 0 }}")
E("unpack-few", "{% for a, b in [1] %}{% endfor %}")
E("unpack-many", "{% for a, b in [[1, 2, 3]] %}{% endfor %}")
E("set-non-namespace", "{% set x = 1 %}\n{% set x.y = 1 %}")
E("macro-too-many", "{% macro m(a) %}{{ a }}{% endmacro %}\n{{ m(1, 2) }}")
E("macro-bad-kw", "{% macro m(a) %}{{ a }}{% endmacro %}\n{{ m(1, b=2) }}")
E("range-too-big", "{% for i in range(200000) %}{% endfor %}")
E("call-undefined", "{{ nosuchfunc(1) }}")
E("call-int", "{{ (1)(2) }}")
E("compare-types", "{{ 1 < 'a' }}")
E("compare-undefined", "\n{{ x < 1 }}")
E("sort-mixed", "{{ [1, 'a']|sort }}")
E("tojson-undefined", "{{ {'a': x}|tojson }}")
E("tojson-generator", "{{ [1]|map('string')|tojson }}")
E("length-generator", "{{ [1]|select|length }}")
E("map-no-filter", "{{ [1]|map('nosuchfilter')|list }}")
E("select-no-test", "{{ [1]|select('nosuchtest')|list }}")
E("str-method-type", "{{ 'a'.startswith(1) }}")
E("int-undefined", "{{ x|int }}")
E("dict-unhashable", "{{ {[1]: 2} }}")
E("recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}\n{{ f(0) }}")
E("neg-undefined", "{{ -x }}")
E("item-of-undefined", "{{ x[0] }}")
E("index-method", "{{ [1, 2].index(5) }}")
E("split-empty-sep", "{{ 'a'.split('') }}")
E("format-args", "{{ '%s %s' % ('a',) }}")
E("in-int", "{{ 1 in 2 }}")
E("loop-not-recursive", "{% for x in [1] %}{{ loop([2]) }}{% endfor %}")
E("cycle-empty", "{% for x in [1] %}{{ loop.cycle() }}{% endfor %}")
E("caller-twice", "{% macro m() %}x{% endmacro %}{% call m() %}y{% endcall %}")
# syntax errors
E("syn-eof", "{% if true %}\nno end")
E("syn-empty-print", "a\n{{ }}")
E("syn-unknown-tag", "1\n2\n3\n{% frobnicate %}")
E("syn-stray-end", "{% endfor %}")
E("syn-unbalanced", "{{ (1 }}")
E("syn-unbalanced2", "\n{{ [1) }}")
E("syn-bad-escape", "\n\n{{ 'a\\x4' }}")
E("syn-unclosed-comment", "a\n{# never closed")
E("syn-unclosed-raw", "{% raw %}\nnever closed")
E("syn-break-outside", "{% break %}")
E("syn-unknown-filter", "ok\n{{ 'x'|nosuchfilter }}")
E("syn-unknown-test", "{{ 1 is nosuchtest }}")
E("syn-assign-const", "{% set true = 1 %}")
E("syn-dangling-op", "{{ 1 + }}")
E("syn-default-order", "{% macro m(a=1, b) %}{% endmacro %}")
E("syn-chained-is", "{{ 1 is number is number }}")
E("syn-unexpected-char", "\n{{ a $ b }}")
E("syn-elif-after-else", "{% if 1 %}{% else %}{% elif 2 %}{% endif %}")
E("syn-for-no-in", "{% for x %}{% endfor %}")
E("syn-unterminated-string", "{{ 'abc }}")
E("syn-tag-name", "{% 'x' %}")
E("syn-call-args", "{{ f(a=1, 2) }}")
E("syn-nesting-mismatch", "{% for x in y %}{% if x %}{% endfor %}{% endif %}")
E("syn-deep", "{{ " + "(" * 300 + "1" + ")" * 300 + " }}")
# unsupported by q by design: jinja2 renders them (or prints an address)
UNSUP = lambda name, src, line, why: case("unsup-" + name, source=src, vars={}, unsupported={"line": line, "why": why})
UNSUP("include", "a\n{% include 'other.jinja' %}", 2, "include needs a template loader")
UNSUP("extends", "{% extends 'base.jinja' %}", 1, "template inheritance")
UNSUP("lipsum", "\n\n{{ lipsum(1) }}", 3, "random text")
UNSUP("random-filter", "{{ [1, 2]|random }}", 1, "random choice")
UNSUP("groupby", "x\n{{ [1]|groupby('a') }}", 2, "groupby filter not implemented")
UNSUP("print-function", "{{ range }}", 1, "jinja2 prints a memory address")
UNSUP("print-generator", "{{ [1, 2]|map('string') }}", 1, "jinja2 prints a memory address")
UNSUP("big-int", "{{ 2 ** 64 }}", 1, "integers are 64-bit in q")
UNSUP("unicode-name", "\n{{ é }}", 2, "non-ASCII identifiers")
UNSUP("n-escape", "{{ '\\N{BULLET}' }}", 1, "\\N{...} needs the Unicode name database")

# ---- sub-chat: a tool-calling template of our own ----
C = lambda msgs, **kw: dict({"messages": msgs, "bos_token": "<s>", "date_string": "26 Jul 2024", "add_generation_prompt": True}, **kw)
case("sub-chat-basic", template="sub-chat", vars=C([S("  You are a bot.  "), U("hi")]))
case("sub-chat-tools", template="sub-chat", vars=C([U("weather?"), A("", tool_calls=[tc("get_weather", {"city": "Paris", "days": 2})]), T({"temp": 20.5, "ok": True}), A("Nice.")], tools=[weather, search, {"name": "bare", "parameters": {}}], add_generation_prompt=False))
case("sub-chat-string-args", template="sub-chat", vars=C([U("calc"), A("Sure.", tool_calls=[tc("calc", "{\"expr\": \"1+1\"}"), tc("calc", {"expr": "2+2"}, wrap=False)])], tools=[calc]))
case("sub-chat-err-alternation", template="sub-chat", vars=C([U("a"), U("b")]))
case("sub-chat-err-role", template="sub-chat", vars=C([U("a"), {"role": "robot", "content": "x"}]))
case("sub-chat-no-messages", template="sub-chat", vars=C([]))
