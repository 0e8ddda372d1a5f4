/*
 * tok_gguf.c - build a q_tok from GGUF metadata (tokenizer.ggml.*), with the
 * defaults of llama.cpp's llama_vocab::impl::load (ids, flags, pre-tokenizer
 * regexes by name).  SPM vocabularies then behave as llama.cpp's; BPE ones
 * as HF tokenizers would with the model's tokenizer.json and the token
 * types the GGUF declares (see tok.c), which adds to llama.cpp: NFC for the
 * Qwen2 pre-tokenizer, ignore_merges for smaug-bpe (a Llama 3 tokenizer),
 * and no promotion of NORMAL tokens with special-looking text.
 *
 * Keys read:
 *   tokenizer.ggml.model         "llama" (SPM) or "gpt2" (byte-level BPE)
 *   tokenizer.ggml.pre           BPE pre-tokenizer name (table below)
 *   tokenizer.ggml.tokens        [string] the vocabulary (an empty string
 *                                becomes "[EMPTY_<i>]", as llama.cpp does)
 *   tokenizer.ggml.scores        [float32 | int32], optional, >= n tokens
 *   tokenizer.ggml.token_type    [int32], optional, >= n tokens
 *                                (1 normal 2 unknown 3 control 4 user-defined
 *                                 5 unused 6 byte)
 *   tokenizer.ggml.merges        [string "a b"], BPE only, required
 *   tokenizer.ggml.{bos,eos,eot,eom}_token_id, fim_{pad,rep,sep}_token_id
 *   tokenizer.ggml.add_bos_token / add_eos_token / add_space_prefix
 *   tokenizer.chat_template
 *
 * Invariant: everything is copied out of the q_gguf; the caller may free it
 * right after q_tok_from_gguf returns.
 */
#include "tok_impl.h"
#include "err.h"
#include "gguf.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define R_CONTRACT "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define R_LLAMA3 R_CONTRACT "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define R_QWEN2 R_CONTRACT "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* llama.cpp's pre-tokenizers that we implement: names -> regexes applied in
 * order (each splits the pieces of the previous one, Isolated), whether
 * whole-word tokens skip the merges, whether BOS is added by default, and
 * whether the model's tokenizer.json normalizes to NFC. */
static const struct pre_def {
	const char *names; /* space-separated */
	const char *re[4];
	int ignore_merges, add_bos, nfc;
} pre_defs[] = {
	{ "default", { "[\\p{P}\\$\\+<=>\\^~\\|]+", R_GPT2, "\\p{N}+", "[0-9][0-9][0-9]" }, 0, 0, 0 },
	{ "llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2", { R_LLAMA3 }, 1, 1, 0 },
	{ "smaug-bpe", { R_LLAMA3 }, 1, 0, 0 },
	{ "dbrx", { R_LLAMA3 }, 0, 0, 0 },
	{ "gpt-2 phi-2 jina-es jina-de gigachat jina-v2-es jina-v2-de mellum mpt olmo jais exaone4",
	  { R_GPT2 }, 0, 0, 0 },
	{ "qwen2 deepseek-r1-qwen", { R_QWEN2 }, 0, 0, 1 },
	{ "megrez stablelm2 hunyuan", { R_QWEN2 }, 0, 0, 0 },
	{ "smollm starcoder refact command-r codeshell exaone minerva-7b", { "\\p{N}", R_GPT2 }, 0, 0, 0 },
};

static const struct pre_def *find_pre(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof pre_defs / sizeof *pre_defs; i++) {
		const char *p = pre_defs[i].names;
		while (*p) {
			size_t l = strcspn(p, " ");
			if (l == n && !memcmp(p, name, n))
				return &pre_defs[i];
			p += l;
			p += *p == ' ';
		}
	}
	return NULL;
}

/* The array value at key with string / numeric elements, checked to hold at
 * least min elements; NULL (+ q_error when present but wrong). */
static const q_gguf_val *get_arr(const q_gguf *g, const char *key, int want_str, uint64_t min, int *bad)
{
	const q_gguf_val *v = q_gguf_get(g, key);
	*bad = 0;
	if (!v)
		return NULL;
	int ok = v->type == Q_GGUF_ARRAY;
	if (ok && want_str)
		ok = v->arr.elem_type == Q_GGUF_STRING;
	else if (ok)
		ok = v->arr.elem_type == Q_GGUF_FLOAT32 || v->arr.elem_type == Q_GGUF_INT32;
	if (!ok) {
		*bad = 1;
		q_error("%s: not an array of %s", key, want_str ? "strings" : "numbers");
		return NULL;
	}
	if (v->arr.n < min) {
		*bad = 1;
		q_error("%s: %llu elements, fewer than the %llu tokens", key,
			(unsigned long long)v->arr.n, (unsigned long long)min);
		return NULL;
	}
	return v;
}

/* Optional token id at key: replaces *id when present and < n (llama.cpp
 * keeps the default for an out-of-range value). */
static void get_id(const q_gguf *g, const char *key, int32_t n, int32_t *id)
{
	const q_gguf_val *v = q_gguf_get(g, key);
	if (!v)
		return;
	uint64_t u;
	if (v->type == Q_GGUF_INT8 || v->type == Q_GGUF_INT16 || v->type == Q_GGUF_INT32 || v->type == Q_GGUF_INT64) {
		if (v->i < 0)
			return;
		u = (uint64_t)v->i;
	} else if (v->type == Q_GGUF_UINT8 || v->type == Q_GGUF_UINT16 || v->type == Q_GGUF_UINT32 ||
		   v->type == Q_GGUF_UINT64) {
		u = v->u;
	} else {
		return;
	}
	if (u < (uint64_t)n)
		*id = (int32_t)u;
}

static void get_flag(const q_gguf *g, const char *key, int *flag)
{
	const q_gguf_val *v = q_gguf_get(g, key);
	if (v && v->type == Q_GGUF_BOOL)
		*flag = v->u != 0;
}

static int cmp_added_len(const void *a, const void *b)
{
	const tok_added *x = a, *y = b;
	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Entry id for stored string s, adding a virtual entry when it is absent. */
static int32_t find_or_virtual(q_tok *t, const char *s, size_t n)
{
	int32_t id = tok_find(t, s, n);
	if (id >= 0)
		return id;
	id = tok_ent_add(t, s, n);
	if (id < 0)
		return -1;
	t->ent[id].attr = 0;
	tok_smap_insert(t, &t->str_map, id, 0);
	return id;
}

/* tokenizer.ggml.merges "a b" (split at the first space after the first
 * byte, rank = position, the first rank of a pair wins) -> t->merges; a
 * part or result that is not a token gets a virtual entry. */
static int load_merges(q_tok *t, const q_gguf_val *mv)
{
	q_gguf_iter it;
	q_gguf_val e;
	q_buf cat = Q_BUF_INIT;
	int32_t rank = 0;
	if (tok_merges_alloc(t, mv->arr.n) < 0)
		return -1;
	q_gguf_iter_init(&it, mv);
	while (q_gguf_iter_next(&it, &e)) {
		const char *s = e.s.p;
		size_t n = e.s.len;
		const char *sp = n > 1 ? memchr(s + 1, ' ', n - 1) : NULL;
		rank++;
		if (!sp)
			continue; /* llama.cpp records ("", ""), which never matches */
		size_t la = (size_t)(sp - s), lb = n - la - 1;
		int32_t a = find_or_virtual(t, s, la);
		int32_t b = a < 0 ? -1 : find_or_virtual(t, sp + 1, lb);
		q_buf_reset(&cat);
		if (b < 0 || q_buf_add(&cat, s, la) < 0 || q_buf_add(&cat, sp + 1, lb) < 0) {
			q_buf_free(&cat);
			return -1;
		}
		int32_t m = find_or_virtual(t, cat.p, cat.len);
		if (m < 0) {
			q_buf_free(&cat);
			return -1;
		}
		tok_merge_put(t, a, b, rank - 1, m);
	}
	q_buf_free(&cat);
	return 0;
}

/* Compile the pre-tokenizer d into t->pre[]; -1 + q_error. */
static int set_pre(q_tok *t, const struct pre_def *d)
{
	for (int i = 0; i < 4 && d->re[i]; i++) {
		t->pre[i].re = tok_regex(d->re[i], strlen(d->re[i]), 0);
		if (!t->pre[i].re)
			return -1;
		t->pre[i].behavior = SPLIT_ISOLATED;
		t->n_pre = i + 1;
	}
	t->ignore_merges = d->ignore_merges;
	t->nfc = d->nfc;
	return 0;
}

/*
 * Build the tokenizer described by g's metadata.  Returns a new q_tok
 * (free with q_tok_free) or NULL + q_error.
 */
q_tok *q_tok_from_gguf(const q_gguf *g)
{
	q_str model, pre = { NULL, 0 }, tmpl;
	const struct pre_def *pd = NULL;
	int bad;
	q_tok *t = NULL;

	if (!q_gguf_get(g, "tokenizer.ggml.model")) {
		q_error("no tokenizer in the GGUF metadata (tokenizer.ggml.model missing)");
		return NULL;
	}
	if (q_gguf_get_str(g, "tokenizer.ggml.model", &model) < 0)
		return NULL;
	if (q_gguf_get(g, "tokenizer.ggml.pre") && q_gguf_get_str(g, "tokenizer.ggml.pre", &pre) < 0)
		return NULL;
	if (!(t = tok_new()))
		return NULL;
	if (model.len == 5 && !memcmp(model.p, "llama", 5)) {
		t->kind = Q_TOK_SPM;
	} else if (model.len == 4 && !memcmp(model.p, "gpt2", 4)) {
		t->kind = Q_TOK_BPE;
		pd = pre.p ? find_pre(pre.p, pre.len) : &pre_defs[0];
		if (!pd) {
			q_error("unknown tokenizer.ggml.pre '%.*s'", (int)(pre.len > 64 ? 64 : pre.len), pre.p);
			goto fail;
		}
	} else {
		q_error("unknown tokenizer.ggml.model '%.*s' (want llama or gpt2)",
			(int)(model.len > 64 ? 64 : model.len), model.p);
		goto fail;
	}

	const q_gguf_val *tv = get_arr(g, "tokenizer.ggml.tokens", 1, 1, &bad);
	if (!tv) {
		if (!bad)
			q_error("no tokenizer.ggml.tokens in the GGUF metadata");
		goto fail;
	}
	if (tv->arr.n >= INT32_MAX / 2) {
		q_error("tokenizer.ggml.tokens: %llu tokens is too many", (unsigned long long)tv->arr.n);
		goto fail;
	}
	int32_t n = (int32_t)tv->arr.n;
	const q_gguf_val *sv = get_arr(g, "tokenizer.ggml.scores", 0, (uint64_t)n, &bad);
	if (bad)
		goto fail;
	const q_gguf_val *yv = get_arr(g, "tokenizer.ggml.token_type", 0, (uint64_t)n, &bad);
	if (bad)
		goto fail;
	if (yv && yv->arr.elem_type != Q_GGUF_INT32) {
		q_error("tokenizer.ggml.token_type: not an array of int32");
		goto fail;
	}
	const q_gguf_val *mv = NULL;
	if (t->kind == Q_TOK_BPE) {
		mv = get_arr(g, "tokenizer.ggml.merges", 1, 0, &bad);
		if (!mv) {
			if (!bad)
				q_error("no tokenizer.ggml.merges in the GGUF metadata");
			goto fail;
		}
	}

	q_gguf_iter it, its, ity;
	q_gguf_val e, es, ey;
	q_gguf_iter_init(&it, tv);
	if (sv)
		q_gguf_iter_init(&its, sv);
	if (yv)
		q_gguf_iter_init(&ity, yv);
	for (int32_t i = 0; i < n; i++) {
		q_gguf_iter_next(&it, &e);
		char empty[32];
		const char *s = e.s.p;
		size_t l = e.s.len;
		if (!l) {
			l = (size_t)snprintf(empty, sizeof empty, "[EMPTY_%d]", (int)i);
			s = empty;
		}
		if (tok_ent_add(t, s, l) < 0)
			goto fail;
		if (sv && q_gguf_iter_next(&its, &es))
			t->ent[i].score = es.type == Q_GGUF_FLOAT32 ? (float)es.f : (float)es.i;
		if (yv && q_gguf_iter_next(&ity, &ey)) {
			static const uint8_t attr_of[7] = { 0, TA_NORMAL, TA_UNKNOWN, TA_CONTROL, TA_USER, TA_UNUSED, TA_BYTE };
			t->ent[i].attr = ey.i >= 0 && ey.i <= 6 ? attr_of[ey.i] : 0;
		}
	}
	t->n_vocab = n;
	if (tok_index(t, mv ? mv->arr.n * 3 + 256 : 0) < 0)
		goto fail;

	/* byte tokens */
	for (int b = 0; b < 256; b++) {
		char buf[8];
		if (t->kind == Q_TOK_SPM) {
			snprintf(buf, sizeof buf, "<0x%02X>", b);
			int32_t id = tok_find(t, buf, 6);
			if (id < 0) {
				buf[0] = (char)b;
				id = tok_find(t, buf, 1);
			}
			t->byte_id[b] = id;
		} else {
			size_t l = q_utf8_put(tok_byte_cp((unsigned)b), buf);
			int32_t id = tok_find(t, buf, l);
			t->byte_id[b] = id < n ? id : -1;
		}
	}
	if (mv && load_merges(t, mv) < 0)
		goto fail;
	if (pd && set_pre(t, pd) < 0)
		goto fail;

	/* special ids, flags: llama.cpp's defaults, then the metadata */
	int add_bos, add_eos = 0;
	if (t->kind == Q_TOK_SPM) {
		t->bos = 1 < n ? 1 : -1;
		t->eos = 2 < n ? 2 : -1;
		add_bos = 1;
		t->add_space_prefix = 1;
	} else {
		t->bos = t->eos = 11 < n ? 11 : -1;
		add_bos = pd->add_bos;
	}
	int32_t fim[3] = { -1, -1, -1 };
	get_id(g, "tokenizer.ggml.bos_token_id", n, &t->bos);
	get_id(g, "tokenizer.ggml.eos_token_id", n, &t->eos);
	get_id(g, "tokenizer.ggml.eot_token_id", n, &t->eot);
	get_id(g, "tokenizer.ggml.eom_token_id", n, &t->eom);
	get_id(g, "tokenizer.ggml.fim_pad_token_id", n, &fim[0]);
	get_id(g, "tokenizer.ggml.fim_rep_token_id", n, &fim[1]);
	get_id(g, "tokenizer.ggml.fim_sep_token_id", n, &fim[2]);
	get_flag(g, "tokenizer.ggml.add_bos_token", &add_bos);
	get_flag(g, "tokenizer.ggml.add_eos_token", &add_eos);
	get_flag(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix);
	if (add_bos && t->bos >= 0)
		t->pre_ids[t->n_pre_ids++] = t->bos;
	if (add_eos && t->eos >= 0)
		t->post_ids[t->n_post_ids++] = t->eos;

	if (tok_specials_finish(t, fim) < 0)
		goto fail;
	/* tokens matched as whole strings: control, user-defined, unknown; for
	 * SPM longest first (llama.cpp's order), for BPE indexed for HF's
	 * leftmost-longest matching, special = control or unknown */
	size_t na = 0;
	for (int32_t i = 0; i < n; i++)
		na += (t->ent[i].attr & (TA_CONTROL | TA_USER | TA_UNKNOWN)) != 0;
	if (na) {
		t->added = calloc(na, sizeof *t->added);
		if (!t->added) {
			q_error("out of memory");
			goto fail;
		}
		for (int32_t i = 0; i < n; i++) {
			tok_ent *en = &t->ent[i];
			if (en->attr & TA_CONTROL)
				en->attr |= TA_SPECIAL;
			if (en->attr & (TA_CONTROL | TA_USER | TA_UNKNOWN))
				t->added[t->n_added++] = (tok_added){ .id = i, .off = en->off, .len = en->len,
								      .special = (en->attr & (TA_CONTROL | TA_UNKNOWN)) != 0 };
		}
		if (t->kind == Q_TOK_SPM)
			qsort(t->added, t->n_added, sizeof *t->added, cmp_added_len);
		else if (tok_added_index(t) < 0)
			goto fail;
	}
	if (tok_decoded_build(t) < 0)
		goto fail;

	if (t->bos >= 0 && !(t->bos_text = tok_strndup(t->pool + t->ent[t->bos].off, t->ent[t->bos].len)))
		goto fail;
	if (t->eos >= 0 && !(t->eos_text = tok_strndup(t->pool + t->ent[t->eos].off, t->ent[t->eos].len)))
		goto fail;
	if (q_gguf_get(g, "tokenizer.chat_template")) {
		if (q_gguf_get_str(g, "tokenizer.chat_template", &tmpl) < 0)
			goto fail;
		if (!(t->chat_template = tok_strndup(tmpl.p, tmpl.len)))
			goto fail;
	}
	return t;
fail:
	q_tok_free(t);
	return NULL;
}
