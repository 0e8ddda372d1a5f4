#!/usr/bin/env python3
# Golden verdicts for qeval's JSON Schema subset, from the real validator.
#   python3 t/data/qeval/gen-schema-golden.py t/data/qeval
# writes schema-refs.jsonl (check "schema" refs), schema-results.jsonl (bare
# completion bodies whose text is the instance) and schema-verdicts.txt (the
# "ok N - ID" / "not ok N - ID" lines `qeval score --tap` must print), all
# decided by jsonschema.Draft202012Validator (jsonschema 4.26.0).
import json
import os
import sys

from jsonschema import Draft202012Validator

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "email": {"type": "string", "pattern": "^[^@ ]+@[^@ ]+\\.[a-z]+$"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 3},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}

TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {"value": {"type": "number"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            "required": ["value"],
        }
    },
    "$ref": "#/$defs/node",
}

OLDREF = {
    "definitions": {"color": {"enum": ["red", "green", "blue"]}},
    "type": "object",
    "properties": {"fg": {"$ref": "#/definitions/color"}, "bg": {"$ref": "#/definitions/color"}},
    "additionalProperties": {"type": "integer"},
}

SHAPE = {
    "oneOf": [
        {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number", "exclusiveMinimum": 0}},
         "required": ["kind", "r"]},
        {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "number", "exclusiveMinimum": 0}},
         "required": ["kind", "side"]},
    ]
}

CASES = [
    # type, including lists of types and integer vs number
    ({"type": "integer"}, 3), ({"type": "integer"}, 3.0), ({"type": "integer"}, 3.5), ({"type": "number"}, 3.5),
    ({"type": "integer"}, "3"), ({"type": "string"}, "x"), ({"type": "boolean"}, False), ({"type": "boolean"}, 0),
    ({"type": "null"}, None), ({"type": ["string", "null"]}, None), ({"type": ["string", "null"]}, 1),
    ({"type": "array"}, []), ({"type": "object"}, []), ({"type": "object"}, {}),
    # numbers
    ({"minimum": 1}, 1), ({"minimum": 1}, 0.999), ({"maximum": 1}, 1), ({"maximum": 1}, 2),
    ({"exclusiveMinimum": 1}, 1), ({"exclusiveMinimum": 1}, 1.5), ({"exclusiveMaximum": 1}, 1),
    ({"exclusiveMaximum": 1}, 0), ({"multipleOf": 3}, 9), ({"multipleOf": 3}, 10), ({"multipleOf": 0.5}, 2.5),
    ({"multipleOf": 0.5}, 2.25), ({"multipleOf": 0.1}, 0.3), ({"minimum": 5}, "not a number"),
    # strings (lengths in code points)
    ({"minLength": 2}, "ab"), ({"minLength": 2}, "a"), ({"maxLength": 2}, "\u00e9\u00e9"), ({"maxLength": 2}, "abc"),
    ({"minLength": 2, "maxLength": 2}, "\U0001F600\U0001F600"), ({"maxLength": 1}, "\U0001F600\U0001F600"),
    ({"pattern": "b+"}, "abbbc"), ({"pattern": "^b+$"}, "abbbc"), ({"pattern": "^\\d{3}-\\d{4}$"}, "555-1234"),
    ({"pattern": "^[a-z]+\\.[a-z]+$"}, "abc.de"), ({"pattern": "^[a-z]+\\.[a-z]+$"}, "abc-de"),
    # enum and const
    ({"enum": ["a", 1, None]}, "a"), ({"enum": ["a", 1, None]}, 1.0), ({"enum": ["a", 1, None]}, "b"),
    ({"enum": [{"x": [1, 2]}]}, {"x": [1, 2]}), ({"enum": [{"x": [1, 2]}]}, {"x": [2, 1]}),
    ({"const": {"a": 1, "b": [True]}}, {"b": [True], "a": 1}), ({"const": False}, 0), ({"const": 0}, False),
    # arrays
    ({"items": {"type": "integer"}}, [1, 2, 3]), ({"items": {"type": "integer"}}, [1, "2", 3]),
    ({"minItems": 2}, [1]), ({"minItems": 2}, [1, 2]), ({"maxItems": 2}, [1, 2, 3]),
    ({"uniqueItems": True}, [1, 2, 1]), ({"uniqueItems": True}, [1, "1", [1], {"a": 1}]),
    ({"uniqueItems": True}, [{"a": 1, "b": 2}, {"b": 2, "a": 1}]), ({"uniqueItems": False}, [1, 1]),
    ({"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False}, ["a", 1]),
    ({"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False}, ["a", 1, 2]),
    ({"prefixItems": [{"type": "string"}, {"type": "integer"}]}, [1, 1]),
    ({"contains": {"type": "string"}}, [1, "x"]), ({"contains": {"type": "string"}}, [1, 2]),
    # objects
    ({"required": ["a", "b"]}, {"a": 1}), ({"required": ["a", "b"]}, {"a": 1, "b": None}),
    ({"properties": {"a": {"type": "string"}}, "additionalProperties": False}, {"a": "x", "b": 1}),
    ({"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}}, {"a": "x", "b": 1}),
    ({"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}}, {"a": "x", "b": "y"}),
    ({"patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False}, {"x-a": 1}),
    ({"patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False}, {"x-a": "1"}),
    ({"patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False}, {"y": 1}),
    ({"minProperties": 1}, {}), ({"maxProperties": 1}, {"a": 1, "b": 2}),
    ({"properties": {"odd key": {"type": "integer"}}}, {"odd key": "x"}),
    # combinators
    ({"anyOf": [{"type": "string"}, {"minimum": 10}]}, 12), ({"anyOf": [{"type": "string"}, {"minimum": 10}]}, 5),
    ({"allOf": [{"minimum": 1}, {"maximum": 3}]}, 2), ({"allOf": [{"minimum": 1}, {"maximum": 3}]}, 4),
    ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, 1), ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, 3),
    ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, 1.5), ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, 2.5),
    ({"not": {"type": "string"}}, 1), ({"not": {"type": "string"}}, "1"),
    ({"if": {"properties": {"a": {"const": 1}}}, "then": {"required": ["b"]}, "else": {"required": ["c"]}}, {"a": 1, "b": 0}),
    ({"if": {"properties": {"a": {"const": 1}}}, "then": {"required": ["b"]}, "else": {"required": ["c"]}}, {"a": 2, "b": 0}),
    # boolean schemas, unknown keywords
    (True, {"anything": [1]}), (False, 1), ({"properties": {"a": False}}, {"a": 1}), ({"properties": {"a": False}}, {"b": 1}),
    ({"format": "email", "title": "ignored", "x-whatever": 1}, "not an email"),
    # nested documents and $ref
    (PERSON, {"name": "Ada", "age": 36}),
    (PERSON, {"name": "Ada", "age": 36, "email": "ada@example.org", "tags": ["a", "b"], "address": {"city": "London", "zip": "12345"}}),
    (PERSON, {"name": "", "age": 36}), (PERSON, {"name": "Ada", "age": -1}), (PERSON, {"name": "Ada", "age": 36.5}),
    (PERSON, {"name": "Ada"}), (PERSON, {"name": "Ada", "age": 36, "email": "ada at example"}),
    (PERSON, {"name": "Ada", "age": 36, "tags": ["a", "a"]}), (PERSON, {"name": "Ada", "age": 36, "tags": ["a", "b", "c", "d"]}),
    (PERSON, {"name": "Ada", "age": 36, "address": {"zip": "12345"}}),
    (PERSON, {"name": "Ada", "age": 36, "address": {"city": "London", "zip": "1234"}}),
    (PERSON, {"name": "Ada", "age": 36, "address": {"city": "London", "country": "UK"}}),
    (PERSON, {"name": "Ada", "age": 36, "nickname": "A"}),
    (TREE, {"value": 1, "children": [{"value": 2}, {"value": 3, "children": [{"value": 4}]}]}),
    (TREE, {"value": 1, "children": [{"value": 2}, {"value": 3, "children": [{"value": "four"}]}]}),
    (TREE, {"value": 1, "children": [{"children": []}]}),
    (OLDREF, {"fg": "red", "bg": "blue", "weight": 3}), (OLDREF, {"fg": "red", "bg": "pink"}),
    (OLDREF, {"fg": "red", "weight": 3.5}),
    (SHAPE, {"kind": "circle", "r": 1}), (SHAPE, {"kind": "square", "side": 2}), (SHAPE, {"kind": "circle", "r": 0}),
    (SHAPE, {"kind": "triangle", "r": 1}), ({"$ref": "#/$defs/pos", "$defs": {"pos": {"exclusiveMinimum": 0}}, "maximum": 10}, 11),
]


def main():
    out = sys.argv[1]
    with open(os.path.join(out, "schema-refs.jsonl"), "w") as refs, \
         open(os.path.join(out, "schema-results.jsonl"), "w") as res, \
         open(os.path.join(out, "schema-verdicts.txt"), "w") as ver:
        for i, (schema, inst) in enumerate(CASES, 1):
            Draft202012Validator.check_schema(schema)
            cid = "s%03d" % i
            ok = Draft202012Validator(schema).is_valid(inst)
            refs.write(json.dumps({"custom_id": cid, "check": "schema", "answer": schema}, ensure_ascii=False) + "\n")
            text = json.dumps(inst, ensure_ascii=False)
            res.write(json.dumps({"custom_id": cid, "choices": [{"text": text}]}, ensure_ascii=False) + "\n")
            ver.write("%sok %d - %s\n" % ("" if ok else "not ", i, cid))


main()
