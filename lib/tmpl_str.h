/*
 * tmpl_str.h - Python str methods for the template interpreter (tmpl_str.c).
 * Indices are code points; every result is valid UTF-8 in the render arena.
 */
#ifndef Q_TMPL_STR_H
#define Q_TMPL_STR_H

#include "tmpl_int.h"

enum { CASE_UPPER, CASE_LOWER, CASE_TITLE, CASE_CAPITALIZE, CASE_SWAP };
enum { CLS_ALPHA, CLS_DIGIT, CLS_DECIMAL, CLS_NUMERIC, CLS_ALNUM, CLS_SPACE };

uint32_t *tstr_cps(trender *r, tstr s, size_t *n);
int tstr_isspace_cp(uint32_t cp);
int tstr_case(trender *r, tstr s, int mode, tv *out);
int tstr_is_case(trender *r, tstr s, int mode);      /* 1, 0, -1 */
int tstr_is_class(trender *r, tstr s, int cls);      /* 1, 0, -1 */
int tstr_strip(trender *r, tstr s, const tstr *chars, int which, tv *out);
int tstr_split(trender *r, tstr s, const tstr *sep, int64_t maxsplit, int right, tv *out);
int tstr_splitlines(trender *r, tstr s, int keepends, tv *out);
int tstr_replace(trender *r, tstr s, tstr old, tstr nw, int64_t count, tv *out);
/* Byte range of s[start:end] with Python's index adjustment; 0, or -1 if
 * start > end (an empty range that str.find/count treat specially). */
int tstr_bounds(tstr s, int64_t start, int64_t end, int has_end, size_t *b0, size_t *b1);
int64_t tstr_find(tstr s, tstr sub, int64_t start, int64_t end, int has_end, int rev);
int64_t tstr_count(tstr s, tstr sub, int64_t start, int64_t end, int has_end);
int tstr_justify(trender *r, tstr s, int64_t width, uint32_t fill, int align, tv *out);
int tstr_format(trender *r, tstr fmt, const targs *a, int esc, tv *out);  /* esc: Markup.format */
int tmpl_str_format(trender *r, tv fmt, tv args, tv *out);
int tmpl_markup_escape(trender *r, tv v, tv *out);

#endif
