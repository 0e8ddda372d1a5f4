#!/usr/bin/env python3
"""Write the tokenizer test corpus: t/data/tok/corpus.jsonl.

    python3 t/data/tok/make-corpus.py > t/data/tok/corpus.jsonl

One JSON string per line (ensure_ascii=False), no NUL characters, every
string valid Unicode (so valid UTF-8 once written).  Deterministic: all
randomness comes from one random.Random with a fixed seed, and all the prose
below was written for this file.  Sections, in order, are listed in SECTIONS
at the bottom; the README beside this file gives the line ranges.
"""
import base64
import itertools
import json
import random
import sys
import unicodedata

R = random.Random(20250602)


def empty():
    return [""]


# --- English prose -------------------------------------------------------

SUBJECTS = ["The old lighthouse keeper", "A small grey cat", "My neighbour", "The committee",
            "Every engineer on the team", "She", "He", "They", "The quiet student",
            "Our new intern", "The river", "A tired traveller", "The compiler",
            "Nobody in the village", "The baker on Elm Street", "Two children",
            "The orchestra", "A curious robot", "The weather report", "Grandma"]
VERBS = ["painted", "forgot", "carried", "discovered", "repaired", "counted", "described",
         "ignored", "borrowed", "measured", "rewrote", "followed", "wanted", "explained",
         "cooked", "sold", "tested", "folded", "watched", "announced"]
OBJECTS = ["the blue bicycle", "a letter to the mayor", "three loaves of bread",
           "the broken clock", "every single page", "an umbrella", "the evening news",
           "a very long list of numbers", "the map of the harbour", "her brother's guitar",
           "the last train home", "a jar of honey", "the kernel patch", "seven paper boats",
           "the recipe", "an unexpected error message", "the garden fence", "two tickets"]
TAILS = ["before breakfast", "in the rain", "without saying a word", "for the third time",
         "because it seemed important", "while everyone else slept", "at exactly noon",
         "near the station", "with great care", "and then laughed", "after the meeting",
         "on a Tuesday", "just in case", "as quickly as possible", "under the bridge"]
OPENERS = ["However,", "Yesterday", "In the end,", "Surprisingly,", "Of course,",
           "Meanwhile,", "Later that week,", "To be honest,", "Once upon a time,", "Still,"]
QUESTIONS = ["Why would anyone do that?", "Did you see what happened?", "Is it still raining?",
             "What time does the shop open?", "Who left the door open?",
             "Can we try again tomorrow?", "Where did you put the keys?",
             "How many tokens is this sentence?"]

PARAGRAPHS = [
    "The morning was cold and bright. Mara pulled on her boots, filled a flask with tea, "
    "and walked down to the harbour where the fishing boats were already coming in. "
    "Gulls circled above the nets, shouting at one another.",
    "Tokenizers split text into pieces that a model can count. Some pieces are whole words; "
    "others are fragments like \"ing\" or \"tion\". A good tokenizer keeps common words "
    "intact and still handles anything it has never seen before.",
    "It wasn't the first time the printer had jammed, and it wouldn't be the last. "
    "Tom sighed, opened the side panel, and pulled out a crumpled sheet that read: "
    "\"QUARTERLY REPORT - DRAFT 7 (do not circulate)\".",
    "Dear Ms. Alvarez,\n\nThank you for your letter of 14 March. We have reviewed your "
    "request and are happy to confirm that the refund (order #A-20931) was issued today.\n\n"
    "Kind regards,\nCustomer Support",
    "Step 1: preheat the oven to 180 degrees.\nStep 2: mix the flour, sugar and butter.\n"
    "Step 3: bake for 25-30 minutes, or until golden.\nStep 4: let it cool (this is the hard part).",
    "\"Are you sure?\" she asked.\n\"Completely,\" he said, though he wasn't.\n"
    "\"Then let's go.\"",
    "In 1969, people watched grainy pictures on small television sets; today a phone in "
    "a pocket holds more computing power than the whole mission did. Progress is strange "
    "that way: enormous, and almost invisible.",
    "Notes from the meeting:\n- budget approved\n- launch moved to Q3\n- ask Priya about "
    "the licence\n- next meeting: Thursday 10:30",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG. the quick brown fox jumps over the lazy dog. "
    "The Quick Brown Fox Jumps Over The Lazy Dog.",
    "Pack my box with five dozen liquor jugs! How vexingly quick daft zebras jump; "
    "sphinx of black quartz, judge my vow.",
    "I'd've helped if I'd known. You'll see - they're going to say it's fine, "
    "we've been here before, and I'm not convinced.",
    "Water boils at 100 °C at sea level, but only at about 70 °C near the top of a very "
    "high mountain, which is why pasta takes longer to cook up there.",
    "Q: What is 2 + 2?\nA: 4.\nQ: And 2 * 3?\nA: 6, obviously.",
    "Once upon a time, there was a little fox who lived at the edge of a forest. "
    "Every night he counted the stars, and every night he lost count at forty-two.",
    "    Indented paragraph with four spaces.\n\tAnd one with a tab.\n        And eight spaces.",
]


def prose():
    out = list(PARAGRAPHS)
    for _ in range(170):
        s = f"{R.choice(SUBJECTS)} {R.choice(VERBS)} {R.choice(OBJECTS)} {R.choice(TAILS)}."
        k = R.randrange(6)
        if k == 0:
            s = f"{R.choice(OPENERS)} {s[0].lower()}{s[1:]}"
        elif k == 1:
            s = s + " " + R.choice(QUESTIONS)
        elif k == 2:
            s = s.upper()
        elif k == 3:
            s = s.lower()
        elif k == 4:
            s = f"\"{s}\" ({R.choice(TAILS)})"
        out.append(s)
    for _ in range(40):
        n = R.randrange(2, 6)
        sents = [f"{R.choice(SUBJECTS)} {R.choice(VERBS)} {R.choice(OBJECTS)} {R.choice(TAILS)}."
                 for _ in range(n)]
        sep = R.choice([" ", "  ", "\n", "\n\n", " \n", "\r\n"])
        out.append(sep.join(sents))
    return out


# --- source code ---------------------------------------------------------

CODE = [
    "#include <stdio.h>\n\nint main(void)\n{\n\tprintf(\"hello, world\\n\");\n\treturn 0;\n}\n",
    "static int add(int a, int b) { return a + b; }",
    "for (size_t i = 0; i < n; i++) {\n    if (v[i] < 0)\n        v[i] = -v[i];\n}",
    "struct node {\n\tstruct node *next;\t/* NULL at the end */\n\tint32_t key;\n};",
    "#define MAX(a, b) ((a) > (b) ? (a) : (b))\n#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))",
    "if (!p) {\n\t\treturn -1;\n\t} else if (p->len >= 0x7fffffff) {\n\t\terrno = ERANGE;\n\t}",
    "uint64_t h = 1469598103934665603ULL;\nwhile (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ULL;",
    "x += y; x -= y; x *= 2; x /= 3; x %= 7; x <<= 1; x >>= 2; x &= 0xff; x |= 1; x ^= x;",
    "a == b && c != d || e <= f && g >= h; p->q; ++i; --j; i++; j--; ~k; !l;",
    "// single-line comment\n/* block\n * comment\n */\nvoid f(void);",
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n        self.items.append(x)\n",
    "import os, sys\nfrom pathlib import Path\n\nif __name__ == \"__main__\":\n    sys.exit(main(sys.argv[1:]))",
    "squares = [x * x for x in range(10) if x % 2 == 0]\nprint(f\"{len(squares)=} {squares!r}\")",
    "with open('data.txt', encoding='utf-8') as fh:\n\tfor line in fh:\n\t\tprint(line.rstrip('\\n'))",
    "try:\n    value = int(text)\nexcept ValueError as e:\n    raise SystemExit(f'bad number: {e}') from None",
    "lambda x, *args, **kwargs: (x, args, kwargs)",
    "@dataclass(frozen=True)\nclass Point:\n    x: float = 0.0\n    y: float = 0.0",
    "async def fetch(session, url):\n    async with session.get(url) as r:\n        return await r.json()",
    "{\"name\": \"q\", \"version\": \"0.1.0\", \"tags\": [\"llm\", \"c\"], \"stable\": false, \"score\": 9.5}",
    "{\n  \"model\": \"smollm2\",\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"Hi!\"}\n  ],\n  \"temperature\": 0.7\n}",
    "[1, 2, 3, null, true, {\"a\": {\"b\": {\"c\": []}}}]",
    "{\"escaped\": \"line\\nbreak \\\"quote\\\" \\\\ backslash \\u00e9\"}",
    "{\"id\":\"req-0001\",\"custom_id\":\"task-17\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\"}",
    "#!/bin/sh\nset -eu\nfor f in *.txt; do\n\techo \"$f\"\ndone\n",
    "ls -la /tmp | grep -v '^total' | awk '{print $5, $9}' | sort -n | tail -3",
    "export PATH=\"$HOME/bin:$PATH\"\n[ -d \"$dir\" ] || mkdir -p \"$dir\"",
    "case \"$1\" in\n  start) run ;;\n  stop)  halt ;;\n  *)     echo \"usage: $0 start|stop\" >&2; exit 2 ;;\nesac",
    "curl -sS -H 'Content-Type: application/json' -d '{\"prompt\":\"hi\"}' http://localhost:8080/v1/completions",
    "make -j8 && ./configure --prefix=/usr/local && sudo make install 2>&1 | tee build.log",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE 'A%' ORDER BY id DESC LIMIT 10;",
    "<div class=\"box\"><p>Hello &amp; welcome</p><br/></div>",
    "fn main() {\n    let v: Vec<i32> = (1..=5).collect();\n    println!(\"{:?}\", v);\n}",
    "const f = async (x) => { return x ?? 0; }; // arrow\nlet s = `template ${f}`;",
    "\t\tmixed\t indentation  \t with tabs\tand spaces\t\t",
    "        deeply\n                nested\n                        code\n                                here",
    "key: value\nlist:\n  - one\n  - two\nnested:\n  inner: {a: 1, b: [x, y]}",
    "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@\n-int x = 1;\n+int x = 2;\n int y;",
    "$ echo $((1 + 2 * 3))\n7\n$ printf '%05.2f\\n' 3.14159\n03.14",
    "0x00 0xFF 0xdeadBEEF 0b1010 0o777 1e-9 6.02e23 -0.0 +1 1_000_000 .5 5.",
]


def code():
    out = list(CODE)
    # The same snippets re-indented: tabs <-> 4 spaces <-> 2 spaces.
    for s in CODE[:20]:
        if "\t" in s:
            out.append(s.replace("\t", "    "))
        elif "    " in s:
            out.append(s.replace("    ", "\t"))
            out.append(s.replace("    ", "  "))
    return out


# --- numbers -------------------------------------------------------------

def numbers():
    out = [str(i) for i in range(0, 1001)]
    out += [str(R.randrange(1001, 100001)) for _ in range(150)]
    out += ["100000", "99999", "10000", "65535", "65536", "1000000", "2147483647", "-2147483648",
            "4294967296", "9007199254740993", "18446744073709551615", "123456789012345678901234567890",
            "3141592653589793238462643383279", "000", "007", "0000001", "-1", "+42", "-0"]
    out += ["%d.%0*d" % (R.randrange(0, 10000), R.randrange(1, 6), R.randrange(0, 99999) % 100000)
            for _ in range(30)]
    out += ["0.5", "3.14159", "2.718281828", "-273.15", "1.0", "0.001", "1e10", "6.022e+23",
            "1.5E-7", "NaN", "inf", "-Infinity"]
    out += ["1,000", "1,000,000", "12,345,678.90", "999,999", "1.000.000,50", "1 000 000",
            "$1,299.99", "€ 49,95", "£5", "¥10000", "₹1,00,000", "50%", "12.5 %", "3/4", "½ cup",
            "x²", "10⁻³", "①②③", "Ⅻ", "٣٤٥", "४२", "๔๒"]
    out += ["+1 (555) 010-4477", "555-0123", "+44 20 7946 0958", "+49 30 901820", "(03) 9555 0101",
            "+81-3-5555-0199", "tel: 0800 123 456", "+33 1 23 45 67 89", "1-800-555-0199",
            "+86 10 5555 0188"]
    out += ["2024-01-31", "1999-12-31T23:59:59Z", "2025-06-02 14:05:00.123456+02:00", "31/12/2023",
            "12/31/2023", "1.1.1970", "29 Feb 2024", "March 3rd, 2021", "Mon, 02 Jun 2025 08:00:00 GMT",
            "20250602", "1717312345", "Q3 2026", "FY2024/25", "12:00", "23:59:59", "7:30 a.m.",
            "v1.2.3", "3.11.7", "10.0.0.1", "192.168.1.254:8080", "::1", "fe80::1ff:fe23:4567:890a"]
    return out


# --- whitespace ----------------------------------------------------------

WS = [" ", "\t", "\r", "\n"]


def whitespace():
    out = []
    for n in range(1, 5):
        for t in itertools.product(WS, repeat=n):
            out.append("".join(t))
    for n in range(1, 5):
        for t in itertools.product(WS, repeat=n):
            out.append("Hello" + "".join(t) + "world")
    for n in range(1, 3):
        for t in itertools.product(WS, repeat=n):
            w = "".join(t)
            out += [w + "word", "word" + w, w + "word" + w, "a" + w + "1" + w + "!"]
    out += [" " * k for k in (5, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100)]
    out += ["\t" * k for k in (5, 8, 13)]
    out += ["\n" * k for k in (5, 10, 20)]
    out += ["\r\n" * k for k in (2, 3, 7)]
    out += [" \t" * 6, "\t \n \r" * 4, "x" + " " * 40 + "y", "end of line   \nnext line\t\t\n",
            "\u00a0non-breaking\u00a0spaces\u00a0", "thin\u2009space and\u2002en\u2003em",
            "ideographic\u3000space", "line\u2028separator\u2029paragraph", "next\u0085line",
            "vertical\u000btab and\u000cform feed", "zero\u200bwidth\u200cjoiners\u200d",
            "\ufeffBOM at start", "soft\u00adhyphen", "ctrl\x01\x02\x1f\x7fchars", "bell\x07",
            "\x1b[31mred\x1b[0m"]
    return out


# --- scripts -------------------------------------------------------------

CJK = [
    "今天天气很好，我们去公园散步吧。",
    "这个程序可以把文字切分成词元，然后交给模型处理。",
    "他说：“明天见！”然后就走了。",
    "北京、上海、广州和深圳都是大城市。",
    "我有3只猫和12条金鱼。",
    "學習中文很有趣，但是寫字很難。",
    "人工智能正在改变世界",
    "東京は日本の首都です。",
    "きょうはいいてんきですね。",
    "コンピューターでプログラムを書きます。",
    "私はラーメンが大好きで、毎週食べています。",
    "カタカナとひらがなと漢字が混ざっている文章。",
    "ﾊﾝｶｸｶﾀｶﾅもあります。",
    "「こんにちは」と彼女は言った。",
    "２０２５年６月２日（月）",
    "안녕하세요, 만나서 반갑습니다.",
    "오늘 저녁에 뭐 먹을까요?",
    "한국어는 한글로 씁니다. 한글은 아름답습니다.",
    "서울특별시 종로구",
    "ㄱㄴㄷㄹ ㅏㅑㅓㅕ",
    "中文English混合123テスト한국어",
    "𠮷野家で𩸽を食べた",
    "龘靐齉齾",
    "一二三四五六七八九十百千万亿",
    "《红楼梦》是一部小说。",
    "你好" * 40,
    "ありがとうございます" * 15,
]

EMOJI = [
    "😀", "😀😃😄😁", "I ❤️ tokenizers", "👍", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿",
    "👨\u200d👩\u200d👧\u200d👦", "👩\u200d💻", "🧑🏽\u200d🚀", "👨🏿\u200d🦰", "🏳️\u200d🌈", "🏴\u200d☠️",
    "🇯🇵", "🇺🇸🇬🇧🇫🇷🇩🇪", "🇺🇳 🇪🇺", "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F",
    "1️⃣", "#️⃣", "*️⃣", "0️⃣1️⃣2️⃣", "keycap 9\u20e3 without FE0F",
    "☺", "☺️", "✌🏽", "❤", "♥️", "©️ ®️ ™️", "🎉🎉🎉 party 🎉", "🚀 launch at T-10 🚀",
    "emoji👍glued", "🐍 python 🦀 rust 🐹 go", "😂😂😂😂😂😂😂😂", "🤷\u200d♂️", "🫠🫡🫶", "\U0001FAE8",
    "🧑\u200d🤝\u200d🧑", "👁️\u200d🗨️",
]

LATIN_NFC = ["café", "naïve résumé", "Ångström", "Crème brûlée à la française", "Tiếng Việt có dấu",
             "Ça va? Où êtes-vous?", "Łódź, Kraków, Gdańsk", "Straße, Größe, Maß", "ñandú año",
             "São Paulo, Brasília"]


def scripts():
    out = list(CJK) + list(EMOJI)
    # Combining marks: NFD forms of precomposed text, and stacks.
    for s in LATIN_NFC:
        out.append(unicodedata.normalize("NFD", s))
        out.append(s)
    out.append("e\u0301e\u0300e\u0302e\u0308")
    out.append("a\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307")
    marks = [chr(c) for c in range(0x300, 0x370)]
    for _ in range(12):
        word = "".join(ch + "".join(R.choice(marks) for _ in range(R.randrange(1, 7)))
                       for ch in R.choice(["zalgo", "hello", "tokens", "HE COMES", "q"]))
        out.append(word)
    out += ["\u0301leading mark", "n\u0303", "\u1e9b\u0323", "ﬁ ﬂ ﬀ", "Ⅸ ㎏ ㍿", "ＡＢＣ ａｂｃ １２３"]
    out += [
        "مرحبا بالعالم", "اللغة العربية جميلة.", "عدد 123 و ٤٥٦ في جملة", "السلام عليكم ورحمة الله",
        "بِسْمِ اللَّهِ", "שלום עולם", "עברית נכתבת מימין לשמאל.", "מספר 42 בתוך משפט",
        "English then عربي then English", "Mixed עברית and 2025 numbers",
        "\u202eRLO override\u202c", "\u200fRLM and \u200eLRM",
        "नमस्ते दुनिया", "हिन्दी में 123 अंक और ४५६", "क्षत्रिय ज्ञान", "संस्कृतम्",
        "สวัสดีครับ", "ภาษาไทยไม่มีช่องว่างระหว่างคำ", "๑๒๓ กับ 456", "กรุงเทพมหานคร",
        "தமிழ் மொழி", "বাংলা ভাষা", "ქართული ენა", "Հայերեն", "ខ្មែរ", "ᠮᠣᠩᠭᠣᠯ",
        "Привет, мир! Ёжик в тумане.", "Ελληνικά: αβγδε ΑΒΓΔΕ", "Українська мова, ґанок",
        "Ⲁⲗⲫⲁ", "ᚠᚢᚦᚨᚱᚲ", "𐌰𐌱𐌲 gothic", "𝐁𝐨𝐥𝐝 𝑖𝑡𝑎𝑙𝑖𝑐 𝔉𝔯𝔞𝔨𝔱𝔲𝔯", "∑∫√∞≠≤≥ ∀x∈ℝ: x²≥0",
        "─│┌┐└┘├┤┬┴┼ ═║╔╗", "♠♣♥♦ ★☆ ✓✗ →←↑↓ ⇒⇔", "\ue000\uf8ff private use",
        "\U0001e030\U0001e031 new cyrillic modifiers", "\U00011f00\U00011f04 kawi",
    ]
    # Mixed scripts, glued.
    out += ["Hello世界", "helloМир", "abcαβγ123", "東京Tokyo東京", "テストtest테스트",
            "Price: ¥1,200 (税込)", "e-mail: ユーザー@example.jp", "Москва2025",
            "αβγ-δεζ_ηθ", "日本語の文にEnglishが混ざる", "العربية+English+中文",
            "𝟙𝟚𝟛 math digits", "ℌ𝔢𝔩𝔩𝔬", "Ｈｅｌｌｏ　Ｗｏｒｌｄ"]
    return out


# --- special-token text --------------------------------------------------

SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|begin_of_text|>", "<|end_of_text|>",
            "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<think>", "</think>",
            "<tool_call>", "</tool_call>", "<s>", "</s>", "<unk>", "<|fim_prefix|>",
            "<|reserved_special_token_5|>", "<repo_name>", "<file_sep>", "<jupyter_code>",
            "<|vision_start|>", "<tool_response>"]


def specials():
    out = []
    for s in SPECIALS:
        out += [s, "Hello" + s, s + "world", " " + s + " ", "a" + s + s + "b"]
    out += [
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>",
        "<think>\nLet me think step by step.\n</think>\n\nThe answer is 4.",
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
        "<s>[INST] Hello [/INST] Hi!</s>", "<s><s></s></s>", "<unk><unk>",
        "<|im_", "<|im_start", "<|im_start|", "im_start|>", "|>", "<|", "<|>", "<||>",
        "<<|im_start|>>", "<|im_start|><|im_end|>", "<|IM_START|>", "<| im_start |>",
        "<|endoftext|", "<|endoftext|>>", "<|endoftext|><|endoftext|><|endoftext|>",
        "<thinking>", "<think >", "</think", "<think>think</think>", "<tool_call", "<|eot_id",
        "text<|endoftext|>more text<|im_end|>", "  <|im_start|>  indented  <|im_end|>  ",
        "\n<|im_end|>\n", "<|begin_of_text|>", "<|begin_of_text|><|begin_of_text|>",
        "< s >", "<S>", "</s >", "<|reserved_special_token_250|>", "<|reserved_special_token_999|>",
    ]
    return out


# --- spacing at the ends, long words, contractions, punctuation ---------

def edges():
    out = []
    for w in ["hello", "Hello world", "42", "!", "über", "日本", "😀", "a b c"]:
        out += [" " + w, "  " + w, w + " ", w + "  ", " " + w + " ", "\t" + w + "\n", "\n" + w]
    return out


def long_words():
    rb = bytes(R.randrange(256) for _ in range(600))
    url = ("https://example.com/api/v2/search?" +
           "&".join(f"param{i}={R.randrange(10 ** 6)}" for i in range(40)) + "#fragment-anchor")
    out = [
        "a" * 600, "ab" * 300, "xyz" * 200, "A" * 520, "Z" * 1000, url,
        "https://www.example.org/" + "very-long-path-segment/" * 25 + "index.html",
        base64.b64encode(rb).decode(), base64.urlsafe_b64encode(rb[:400]).decode().rstrip("="),
        rb.hex(), "1234567890" * 55, "9" * 700, "!" * 520, "-" * 600, "=" * 80, "_" * 510,
        "." * 505, "😀" * 200, "中" * 300, "Donaudampfschifffahrtsgesellschaftskapitän" * 12,
        "supercalifragilisticexpialidocious" * 16, "aaaaaaaaaabbbbbbbbbb" * 30,
        "".join(R.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(800)),
        "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                for _ in range(700)),
        "\u200b" * 100, "é" * 300, unicodedata.normalize("NFD", "é" * 300),
        " ".join(["word"] * 300),
    ]
    return out


def contractions():
    base = ["it's", "don't", "they're", "we've", "I'm", "you'll", "she'd", "can't", "won't",
            "y'all", "o'clock", "rock'n'roll", "'tis", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
            "IT'S", "DON'T", "THEY'RE", "WE'VE", "I'M", "YOU'LL", "SHE'D", "It'S", "We'Ve",
            "it’s", "don’t", "''quoted''", "the cat's toy", "James's book", "the '90s", "'hello'",
            "rock 'n' roll", "'S'T'RE'VE'M'LL'D", "x's y't z're", "I'd've", "shouldn't've"]
    return base + [s.upper() for s in base[:10]] + [" " + s for s in base[:10]]


def punctuation():
    runs = ["...", "!!!", "???", "?!?!", "--", "---", "—", "–", "…", "''", "\"\"", "``", "***",
            "###", "$$$", "%%%", "&&&", "|||", "\\\\", "//", "(((", ")))", "[[]]", "{{}}", "<<>>",
            ";;", "::", ",,", "~~~", "^^^", "@@@", "+++", "==>", "<=>", "!=", ":-)", ";-P", "¯\\_(ツ)_/¯",
            "«guillemets»", "„Anführung“", "‘single’ “double”", "¡Hola! ¿Qué tal?", "•·°※", "§¶†‡",
            "!@#$%^&*()_+-=[]{}|;':\",./<>?`~", "Hello, world!", "Wait... what?!", "end.", "(yes)",
            "a,b;c:d.e!f?g", "1.2.3.4", "a--b", "x->y", "x=>y", "C++", "C#", "F#", "Node.js",
            "e.g.", "i.e.,", "U.S.A.", "Mr. & Mrs. Smith", "50/50", "and/or", "#hashtag @mention"]
    return runs


SECTIONS = [("empty", empty), ("prose", prose), ("code", code), ("numbers", numbers),
            ("whitespace", whitespace), ("scripts", scripts), ("specials", specials),
            ("edges", edges), ("long", long_words), ("contractions", contractions),
            ("punctuation", punctuation)]


def main():
    seen = set()
    lines = []
    counts = []
    for name, fn in SECTIONS:
        start = len(lines) + 1
        for s in fn():
            assert "\0" not in s
            s.encode("utf-8")  # raises on lone surrogates
            if s in seen:
                continue
            seen.add(s)
            lines.append(s)
        counts.append((name, start, len(lines)))
    for s in lines:
        sys.stdout.write(json.dumps(s, ensure_ascii=False) + "\n")
    for name, a, b in counts:
        print(f"{name}: lines {a}-{b} ({b - a + 1})", file=sys.stderr)
    print(f"total: {len(lines)}", file=sys.stderr)


if __name__ == "__main__":
    main()
