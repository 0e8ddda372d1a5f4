/*
 * utf8.h - UTF-8 helpers shared by the tokenizers, templates and tools.
 * Valid means RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF.
 */
#ifndef Q_UTF8_H
#define Q_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid sequence starting at s (at most n bytes available),
 * or 0 if the bytes there are not a complete valid sequence. */
size_t q_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);
/* Offset of the first invalid byte, or n if all of s[0..n) is valid. */
size_t q_utf8_check(const char *s, size_t n);
/* Write cp as UTF-8 into out (>= 4 bytes); returns the length (1..4). */
size_t q_utf8_put(uint32_t cp, char *out);
/* Expected length of a sequence from its lead byte (1..4), 0 if not a lead. */
size_t q_utf8_lead_len(unsigned char c);

#endif
