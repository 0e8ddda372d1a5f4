/*
 * schema.h - the common subset of JSON Schema (draft 2020-12 semantics) that
 * qeval checks model output against, and the PCRE2 helpers it shares with
 * the regex check.
 *
 * Keywords: type (a name or a list; "integer" is any number with no
 * fractional part), enum, const, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, multipleOf, minLength, maxLength (in code points),
 * pattern (PCRE2, unanchored), properties, required, additionalProperties
 * (boolean or schema), patternProperties, minProperties, maxProperties,
 * items (a schema; a list is the old tuple form, like prefixItems),
 * prefixItems, minItems, maxItems, uniqueItems, contains, allOf, anyOf,
 * oneOf, not, if/then/else, $ref to a local JSON pointer ("#",
 * "#/$defs/X", "#/definitions/X", ...), and the boolean schemas true and
 * false.  $ref is applied together with its sibling keywords.  Any other
 * keyword is ignored.
 *
 * Invariant: q_schema_validate is only given schemas that q_schema_check
 * accepted, so it never meets a keyword of the wrong type.
 */
#ifndef Q_SCHEMA_H
#define Q_SCHEMA_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"

struct pcre2_real_code_8;
typedef struct pcre2_real_code_8 q_regex;

/* Compile pattern with PCRE2 in UTF mode (invalid UTF-8 in subjects never
 * matches rather than failing).  NULL + q_error "bad pattern 'P': why at
 * offset N". */
q_regex *q_regex_compile(const char *pattern);
/* 1 when re matches anywhere in s[0..n), 0 when not, -1 + q_error. */
int q_regex_search(const q_regex *re, const char *s, size_t n);
void q_regex_free(q_regex *re);

/* Is schema one this validator understands?  Every known keyword has the
 * right type, every pattern compiles and every $ref resolves.
 * -1 + q_error "schema at PATH: why" (PATH like #/properties/a). */
int q_schema_check(const cJSON *schema);

/* Validate instance against schema (which passed q_schema_check).  Returns 1
 * when valid, 0 when not (why, when non-NULL, gets the first reason, e.g.
 * "$.items[2].age: -1 is less than the minimum 0"), -1 + q_error when it
 * cannot tell (a $ref loop, out of memory). */
int q_schema_validate(const cJSON *schema, const cJSON *instance, q_buf *why);

#endif
