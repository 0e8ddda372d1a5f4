/*
 * unorm.c - NFC: canonical decomposition, canonical ordering, canonical
 * composition (UAX #15), with Hangul syllables done algorithmically.
 *
 * Invariant: text whose code points are all below U+0300 is already NFC (no
 * combining marks, and every decomposable character there recomposes to
 * itself), so it is copied through without decoding: the common case costs a
 * byte scan.  Invalid UTF-8 bytes travel as "opaque" units (bit 31 set) that
 * have combining class 0 and compose with nothing.
 */
#include "unorm.h"

#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "utf8.h"
#include "unorm_tab.h"

#define OPAQUE 0x80000000u
enum { SBASE = 0xAC00, LBASE = 0x1100, VBASE = 0x1161, TBASE = 0x11A7,
       LCOUNT = 19, VCOUNT = 21, TCOUNT = 28, NCOUNT = VCOUNT * TCOUNT, SCOUNT = LCOUNT * NCOUNT };

static int ccc_of(uint32_t cp)
{
	size_t lo = 0, hi = sizeof unorm_ccc / sizeof *unorm_ccc;
	if (cp < 0x300 || (cp & OPAQUE))
		return 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (unorm_ccc[mid].cp < cp)
			lo = mid + 1;
		else if (unorm_ccc[mid].cp > cp)
			hi = mid;
		else
			return unorm_ccc[mid].ccc;
	}
	return 0;
}

/* Full canonical decomposition of cp into out (>= 18 slots); returns count. */
static size_t decompose(uint32_t cp, uint32_t *out)
{
	if (cp >= SBASE && cp < SBASE + SCOUNT) {
		uint32_t s = cp - SBASE;
		out[0] = LBASE + s / NCOUNT;
		out[1] = VBASE + (s % NCOUNT) / TCOUNT;
		if (s % TCOUNT) {
			out[2] = TBASE + s % TCOUNT;
			return 3;
		}
		return 2;
	}
	size_t lo = 0, hi = (cp & OPAQUE) || cp < 0xC0 ? 0 : sizeof unorm_decomp / sizeof *unorm_decomp;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (unorm_decomp[mid].cp < cp) {
			lo = mid + 1;
		} else if (unorm_decomp[mid].cp > cp) {
			hi = mid;
		} else {
			for (size_t i = 0; i < unorm_decomp[mid].len; i++)
				out[i] = unorm_decomp_cp[unorm_decomp[mid].off + i];
			return unorm_decomp[mid].len;
		}
	}
	out[0] = cp;
	return 1;
}

/* The primary composite of (a, b), or 0. */
static uint32_t compose(uint32_t a, uint32_t b)
{
	if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
		return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
	if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE && b < TBASE + TCOUNT)
		return a + (b - TBASE);
	size_t lo = 0, hi = sizeof unorm_comp / sizeof *unorm_comp;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (unorm_comp[mid].a < a || (unorm_comp[mid].a == a && unorm_comp[mid].b < b))
			lo = mid + 1;
		else if (unorm_comp[mid].a == a && unorm_comp[mid].b == b)
			return unorm_comp[mid].c;
		else
			hi = mid;
	}
	return 0;
}

int q_unorm_nfc(const char *s, size_t n, q_buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n && u[i] < 0xCC)
		i++;
	if (i == n)
		return q_buf_add(out, s, n);

	/* A code point of L bytes decomposes into at most 4 code points (the
	 * longest canonical decomposition; Hangul gives 3 from 3 bytes), so 4
	 * units per input byte always suffice. */
	if (n > SIZE_MAX / (4 * sizeof(uint32_t)) - 4)
		return q_error("text too long to normalize");
	uint32_t *cp = malloc((n * 4 + 4) * sizeof *cp);
	if (!cp)
		return q_error("out of memory normalizing %zu bytes", n);
	size_t m = 0;
	for (i = 0; i < n;) {
		uint32_t c;
		size_t l = q_utf8_seq(u + i, n - i, &c);
		if (!l) {
			cp[m++] = OPAQUE | u[i++];
			continue;
		}
		i += l;
		m += decompose(c, cp + m);
	}
	/* canonical ordering: stable insertion sort of each run of non-starters */
	for (size_t k = 1; k < m; k++) {
		int ck = ccc_of(cp[k]);
		if (!ck)
			continue;
		size_t j = k;
		uint32_t x = cp[k];
		while (j > 0 && ccc_of(cp[j - 1]) > ck) {
			cp[j] = cp[j - 1];
			j--;
		}
		cp[j] = x;
	}
	/* canonical composition: c combines with the last starter unless a
	 * character between them has class 0 or a class >= c's */
	size_t w = 0, starter = SIZE_MAX;
	int last_cc = -1; /* class of the last character kept after the starter */
	for (size_t k = 0; k < m; k++) {
		uint32_t c = cp[k];
		int cc = ccc_of(c);
		if (starter != SIZE_MAX && !(c & OPAQUE) && (last_cc == -1 || last_cc < cc)) {
			uint32_t comp = compose(cp[starter], c);
			if (comp) {
				cp[starter] = comp;
				continue;
			}
		}
		if (cc == 0) {
			starter = (c & OPAQUE) ? SIZE_MAX : w;
			last_cc = -1;
		} else {
			last_cc = cc;
		}
		cp[w++] = c;
	}
	int r = q_buf_grow(out, w * 4);
	for (size_t k = 0; r == 0 && k < w; k++) {
		if (cp[k] & OPAQUE)
			out->p[out->len++] = (char)(cp[k] & 0xFF);
		else
			out->len += q_utf8_put(cp[k], out->p + out->len);
	}
	if (r == 0)
		out->p[out->len] = '\0';
	free(cp);
	return r;
}
