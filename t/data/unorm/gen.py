#!/usr/bin/env python3
"""Cases for NFC: lines of JSON [input, expected NFC by Python's unicodedata].

    python3 t/data/unorm/gen.py > t/data/unorm/nfc.jsonl

Every code point that has a canonical decomposition or a non-zero combining
class, alone and after a base letter; Hangul jamo and syllables; and random
mixes of bases, marks (in every order) and jamo.
"""
import json, random, unicodedata as U

random.seed(7)
interesting = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and
               (U.combining(chr(c)) or (U.decomposition(chr(c)) and not U.decomposition(chr(c)).startswith("<")))]
marks = [c for c in interesting if U.combining(chr(c))]
bases = [ord(x) for x in "aeiouAEIOUnNcCsSzZyYwWkKgG"] + [0x3B1, 0x3B7, 0x3C9, 0x415, 0x418, 0x5D0, 0x627, 0x915]
jamo = list(range(0x1100, 0x1113)) + list(range(0x1161, 0x1176)) + list(range(0x11A8, 0x11C3))
cases = []
for c in interesting:
    cases.append(chr(c))
    cases.append("a" + chr(c) + "b")
for c in range(0xAC00, 0xD7A4, 97):
    cases.append(chr(c) + chr(random.choice(jamo)))
for _ in range(3000):
    s = ""
    for _ in range(random.randint(1, 6)):
        r = random.random()
        if r < 0.4:
            s += chr(random.choice(bases))
        elif r < 0.8:
            s += chr(random.choice(marks))
        elif r < 0.9:
            s += chr(random.choice(jamo))
        else:
            s += chr(random.choice(interesting))
    cases.append(s)
for s in cases:
    print(json.dumps([s, U.normalize("NFC", s)], ensure_ascii=False))
