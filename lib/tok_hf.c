/*
 * tok_hf.c - build a q_tok from a Hugging Face tokenizer.json (+ the
 * tokenizer_config.json beside it), with HF tokenizers' semantics.
 *
 * Supported (anything else is refused with a message naming it):
 *   model           BPE over the GPT-2 byte-level alphabet: vocab, merges
 *                   ("a b" strings or [a, b] pairs), ignore_merges; no
 *                   continuing_subword_prefix / end_of_word_suffix /
 *                   byte_fallback
 *   normalizer      null, NFC, Sequence of those
 *   pre_tokenizer   Split (Regex or String pattern, any behaviour, invert),
 *                   ByteLevel (add_prefix_space, use_regex), Digits,
 *                   Sequence of those
 *   post_processor  null, ByteLevel, TemplateProcessing (single), Roberta /
 *                   BertProcessing, Sequence of those: the ids they put
 *                   before and after the text with Q_TOK_ADD_SPECIAL
 *   added_tokens    content, id, special, single_word, lstrip, rstrip,
 *                   normalized
 *   tokenizer_config.json: bos_token / eos_token (string or {"content"}),
 *                   chat_template (string, or [{name, template}] -> "default")
 *
 * Invariant: nothing from the parsed JSON is kept; the q_tok owns copies.
 */
#include "tok_impl.h"
#include "err.h"
#include "unorm.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Rust regex's Unicode \w, what HF's single_word tests around a match
 * (\p{L} brings in the letters of Unicode 16, see tok_uni.py) */
#define WORD_RE "[\\p{Alphabetic}\\p{L}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]"
#define R_BYTELEVEL "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jbool(const cJSON *o, const char *key, int dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

/* ---- normalizer, pre-tokenizer, post-processor ------------------------- */

/* normalizer: null, NFC or a Sequence of them (sets t->nfc); -1 + q_error. */
static int parse_normalizer(q_tok *t, const cJSON *n)
{
	if (!n || cJSON_IsNull(n))
		return 0;
	const char *type = jstr(n, "type");
	if (type && !strcmp(type, "NFC")) {
		t->nfc = 1;
		return 0;
	}
	if (type && !strcmp(type, "Sequence")) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(n, "normalizers"))
			if (parse_normalizer(t, e) < 0)
				return -1;
		return 0;
	}
	return q_error("unsupported normalizer '%s'", type ? type : "?");
}

/* Append a pre-tokenizer step (re NULL: only the prefix space). */
static int add_step(q_tok *t, const char *re, size_t len, int literal, int behavior, int invert, int prefix)
{
	if (t->n_pre == TOK_MAX_PRE)
		return q_error("more than %d pre-tokenizer steps", TOK_MAX_PRE);
	tok_pre *p = &t->pre[t->n_pre];
	p->behavior = behavior;
	p->invert = invert;
	p->prefix_space = prefix;
	if (re && !(p->re = tok_regex(re, len, literal)))
		return -1;
	t->n_pre++;
	return 0;
}

/* pre_tokenizer -> t->pre[] in order; *bytelevel set when a ByteLevel step
 * is seen, which must be the last one (steps after it would see the
 * byte-level alphabet, which we do not model).  -1 + q_error on anything
 * unsupported. */
static int parse_pre(q_tok *t, const cJSON *p, int *bytelevel)
{
	if (!p || cJSON_IsNull(p))
		return 0;
	const char *type = jstr(p, "type");
	if (!type)
		return q_error("pre_tokenizer without a type");
	if (*bytelevel)
		return q_error("a pre_tokenizer step after ByteLevel is not supported");
	if (!strcmp(type, "Sequence")) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "pretokenizers"))
			if (parse_pre(t, e, bytelevel) < 0)
				return -1;
		return 0;
	}
	if (!strcmp(type, "ByteLevel")) {
		*bytelevel = 1;
		int prefix = jbool(p, "add_prefix_space", 1);
		if (jbool(p, "use_regex", 1))
			return add_step(t, R_BYTELEVEL, strlen(R_BYTELEVEL), 0, SPLIT_ISOLATED, 0, prefix);
		return prefix ? add_step(t, NULL, 0, 0, SPLIT_ISOLATED, 0, 1) : 0;
	}
	if (!strcmp(type, "Digits")) {
		const char *re = jbool(p, "individual_digits", 0) ? "\\p{N}" : "\\p{N}+";
		return add_step(t, re, strlen(re), 0, SPLIT_ISOLATED, 0, 0);
	}
	if (!strcmp(type, "Split")) {
		const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "pattern");
		const char *re = jstr(pat, "Regex"), *lit = jstr(pat, "String");
		const char *bh = jstr(p, "behavior");
		static const char *const names[] = { "Removed", "Isolated", "MergedWithPrevious",
						     "MergedWithNext", "Contiguous" };
		int behavior = -1;
		for (int i = 0; bh && i < 5; i++)
			if (!strcmp(bh, names[i]))
				behavior = i;
		if ((!re && !lit) || behavior < 0)
			return q_error("Split pre-tokenizer without a pattern or a known behavior");
		const char *s = re ? re : lit;
		return add_step(t, s, strlen(s), !re, behavior, jbool(p, "invert", 0), 0);
	}
	return q_error("unsupported pre_tokenizer '%s'", type);
}

/* Append the id of a Roberta/Bert processor's ["token", id] pair to
 * ids[*n] (at most 4); HF uses the id as given. */
static int push_pair_id(q_tok *t, const cJSON *pair, int32_t *ids, int *n)
{
	const cJSON *v = cJSON_GetArrayItem(pair, 1);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= t->n_vocab)
		return q_error("post_processor: cls/sep without a valid id");
	int32_t id = (int32_t)v->valuedouble;
	if (*n == 4)
		return q_error("post_processor adds too many tokens");
	ids[(*n)++] = id;
	return 0;
}

/* post_processor -> the ids put before (pre_ids) and after (post_ids) a
 * single sequence; -1 + q_error. */
static int parse_post(q_tok *t, const cJSON *p)
{
	if (!p || cJSON_IsNull(p))
		return 0;
	const char *type = jstr(p, "type");
	if (!type)
		return q_error("post_processor without a type");
	if (!strcmp(type, "ByteLevel"))
		return 0;
	if (!strcmp(type, "Sequence")) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "processors"))
			if (parse_post(t, e) < 0)
				return -1;
		return 0;
	}
	if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing")) {
		if (push_pair_id(t, cJSON_GetObjectItemCaseSensitive(p, "cls"), t->pre_ids, &t->n_pre_ids) < 0 ||
		    push_pair_id(t, cJSON_GetObjectItemCaseSensitive(p, "sep"), t->post_ids, &t->n_post_ids) < 0)
			return -1;
		return 0;
	}
	if (!strcmp(type, "TemplateProcessing")) {
		const cJSON *single = cJSON_GetObjectItemCaseSensitive(p, "single");
		const cJSON *specials = cJSON_GetObjectItemCaseSensitive(p, "special_tokens");
		int after = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, single) {
			if (cJSON_GetObjectItemCaseSensitive(it, "Sequence")) {
				after = 1;
				continue;
			}
			const char *name = jstr(cJSON_GetObjectItemCaseSensitive(it, "SpecialToken"), "id");
			const cJSON *sp = name ? cJSON_GetObjectItemCaseSensitive(specials, name) : NULL;
			const cJSON *ids = cJSON_GetObjectItemCaseSensitive(sp, "ids"), *idv;
			if (!cJSON_IsArray(ids))
				return q_error("TemplateProcessing token '%s' has no ids", name ? name : "?");
			cJSON_ArrayForEach(idv, ids) {
				int32_t *dst = after ? t->post_ids : t->pre_ids;
				int *n = after ? &t->n_post_ids : &t->n_pre_ids;
				if (!cJSON_IsNumber(idv) || idv->valuedouble < 0 || idv->valuedouble >= t->n_vocab)
					return q_error("TemplateProcessing id out of range");
				if (*n == 4)
					return q_error("post_processor adds too many tokens");
				dst[(*n)++] = (int32_t)idv->valuedouble;
			}
		}
		return 0;
	}
	return q_error("unsupported post_processor '%s'", type);
}

/* ---- vocabulary -------------------------------------------------------- */

/* Ids of vocab and added_tokens: sets *n to 1 + the largest, which must be
 * below twice the number of entries (+1024). */
static int max_id(const cJSON *vocab, const cJSON *added, int32_t *n)
{
	double mx = -1;
	const cJSON *e;
	cJSON_ArrayForEach(e, vocab) {
		if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= INT32_MAX / 2 ||
		    e->valuedouble != (double)(int32_t)e->valuedouble)
			return q_error("vocab entry '%.64s' has a bad id", e->string ? e->string : "");
		if (e->valuedouble > mx)
			mx = e->valuedouble;
	}
	cJSON_ArrayForEach(e, added) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
		if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= INT32_MAX / 2 ||
		    !jstr(e, "content"))
			return q_error("an added token has no valid id or content");
		if (id->valuedouble > mx)
			mx = id->valuedouble;
	}
	if (mx < 0)
		return q_error("empty vocabulary");
	/* ids are dense in real files; a sparse one must not make us allocate
	 * for ids that do not exist */
	double have = (double)cJSON_GetArraySize(vocab) + (double)cJSON_GetArraySize(added);
	if (mx >= 2 * have + 1024)
		return q_error("id %.0f for %.0f tokens", mx, have);
	*n = (int32_t)mx + 1;
	return 0;
}

/* Entries 0 .. n-1 from vocab (holes: empty, no attribute); str_map gets
 * room for n_more strings (added tokens spelled unlike their vocab entry). */
static int load_vocab(q_tok *t, const cJSON *vocab, int32_t n, size_t n_more)
{
	const char **str = calloc((size_t)n, sizeof *str);
	if (!str)
		return q_error("out of memory");
	const cJSON *e;
	cJSON_ArrayForEach(e, vocab)
		str[(int32_t)e->valuedouble] = e->string;
	for (int32_t i = 0; i < n; i++) {
		if (tok_ent_add(t, str[i] ? str[i] : "", str[i] ? strlen(str[i]) : 0) < 0) {
			free(str);
			return -1;
		}
		t->ent[i].attr = str[i] ? TA_NORMAL : 0;
	}
	free(str);
	t->n_vocab = n;
	return tok_index(t, n_more);
}

/* merges (rank = position) -> t->merges; every part and result must be a
 * vocab token, as HF requires.  -1 + q_error. */
static int load_merges(q_tok *t, const cJSON *merges)
{
	q_buf cat = Q_BUF_INIT;
	int32_t rank = 0;
	const cJSON *e;
	if (tok_merges_alloc(t, (size_t)cJSON_GetArraySize(merges)) < 0)
		return -1;
	cJSON_ArrayForEach(e, merges) {
		const char *a, *b;
		size_t la, lb;
		if (cJSON_IsString(e)) {
			a = e->valuestring;
			const char *sp = strchr(a + (a[0] != '\0'), ' ');
			if (!sp)
				goto bad;
			la = (size_t)(sp - a);
			b = sp + 1;
			lb = strlen(b);
		} else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 &&
			   cJSON_IsString(cJSON_GetArrayItem(e, 0)) && cJSON_IsString(cJSON_GetArrayItem(e, 1))) {
			a = cJSON_GetArrayItem(e, 0)->valuestring;
			b = cJSON_GetArrayItem(e, 1)->valuestring;
			la = strlen(a);
			lb = strlen(b);
		} else {
			goto bad;
		}
		int32_t ia = tok_find(t, a, la), ib = tok_find(t, b, lb);
		q_buf_reset(&cat);
		if (q_buf_add(&cat, a, la) < 0 || q_buf_add(&cat, b, lb) < 0) {
			q_buf_free(&cat);
			return -1;
		}
		int32_t im = tok_find(t, cat.p, cat.len);
		if (ia < 0 || ib < 0 || im < 0) {
			q_error("merge %d ('%.40s' + '%.40s') uses a token not in the vocabulary",
				(int)rank + 1, a, b);
			q_buf_free(&cat);
			return -1;
		}
		tok_merge_put(t, ia, ib, rank++, im);
	}
	q_buf_free(&cat);
	return 0;
bad:
	q_buf_free(&cat);
	return q_error("merge %d is not \"a b\" or [a, b]", (int)rank + 1);
}

/* Copy s[0..n) (NFC'd first when norm) into the pool: offset or -1. */
static int64_t pool_copy(q_tok *t, const char *s, size_t n, int norm, uint32_t *len)
{
	q_buf b = Q_BUF_INIT;
	if (norm) {
		if (q_unorm_nfc(s, n, &b) < 0)
			return -1;
		s = b.p;
		n = b.len;
	}
	int64_t off = tok_pool_add(t, s, n);
	q_buf_free(&b);
	*len = (uint32_t)n;
	return off;
}

/* added_tokens -> t->added (file order, empty ones skipped) with their
 * flags; an added token's text replaces its vocab entry's string (HF's
 * id_to_token prefers it); normalized ones are matched in NFC form when the
 * normalizer is NFC.  Ends by indexing them for matching. */
static int load_added(q_tok *t, const cJSON *added)
{
	int n = cJSON_GetArraySize(added);
	if (n <= 0)
		return 0;
	t->added = calloc((size_t)n, sizeof *t->added);
	if (!t->added)
		return q_error("out of memory");
	const cJSON *e;
	cJSON_ArrayForEach(e, added) {
		const char *content = jstr(e, "content");
		int32_t id = (int32_t)cJSON_GetObjectItemCaseSensitive(e, "id")->valuedouble;
		size_t len = strlen(content);
		if (!len)
			continue;
		tok_ent *en = &t->ent[id];
		if (en->len != len || memcmp(t->pool + en->off, content, len) != 0) {
			uint32_t l;
			int64_t off = pool_copy(t, content, len, 0, &l);
			if (off < 0)
				return -1;
			en = &t->ent[id];
			en->off = (uint32_t)off;
			en->len = l;
			tok_smap_insert(t, &t->str_map, id, 0);
		}
		tok_added *a = &t->added[t->n_added];
		a->id = id;
		a->special = (uint8_t)jbool(e, "special", 0);
		a->single_word = (uint8_t)jbool(e, "single_word", 0);
		a->lstrip = (uint8_t)jbool(e, "lstrip", 0);
		a->rstrip = (uint8_t)jbool(e, "rstrip", 0);
		a->normalized = (uint8_t)jbool(e, "normalized", !a->special);
		a->off = en->off;
		a->len = en->len;
		if (a->normalized && t->nfc) {
			int64_t off = pool_copy(t, content, len, 1, &a->len);
			if (off < 0)
				return -1;
			a->off = (uint32_t)off;
		}
		if (!a->len)
			continue;
		t->any_normalized |= a->normalized;
		en = &t->ent[id];
		en->attr |= TA_ADDED | (a->special ? TA_SPECIAL : 0);
		if (a->single_word && !t->word_re && !(t->word_re = tok_regex(WORD_RE, strlen(WORD_RE), 0)))
			return -1;
		t->n_added++;
	}
	return tok_added_index(t);
}

/* ---- tokenizer_config.json ---------------------------------------------- */

/* cfg[key] as a string or {"content": ...}: copies it to *text (owned by
 * t) and sets *id to its token (-1 if none).  Absent: nothing. */
static int special_text(q_tok *t, const cJSON *cfg, const char *key, int32_t *id, char **text)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
	const char *s = cJSON_IsString(v) ? v->valuestring : jstr(v, "content");
	if (!s)
		return 0;
	if (!(*text = tok_strndup(s, strlen(s))))
		return -1;
	int32_t i = tok_find(t, s, strlen(s));
	*id = i >= 0 && i < t->n_vocab ? i : -1;
	return 0;
}

/* tokenizer_config.json at path, when it exists: bos/eos and the chat
 * template.  -1 + q_error when present but unreadable or not an object. */
static int load_config(q_tok *t, const char *path)
{
	q_buf b = Q_BUF_INIT;
	struct stat st;
	if (stat(path, &st) < 0)
		return 0; /* optional */
	if (q_buf_read_file(&b, path) < 0)
		return -1;
	cJSON *cfg = cJSON_ParseWithLength(b.p, b.len);
	q_buf_free(&b);
	if (!cfg || !cJSON_IsObject(cfg)) {
		cJSON_Delete(cfg);
		return q_error("%s: not a JSON object", path);
	}
	int rc = -1;
	if (special_text(t, cfg, "bos_token", &t->bos, &t->bos_text) < 0 ||
	    special_text(t, cfg, "eos_token", &t->eos, &t->eos_text) < 0)
		goto out;
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(cfg, "chat_template");
	const char *tmpl = cJSON_IsString(ct) ? ct->valuestring : NULL;
	const cJSON *e;
	if (cJSON_IsArray(ct))
		cJSON_ArrayForEach(e, ct) {
			const char *name = jstr(e, "name");
			if (name && !strcmp(name, "default"))
				tmpl = jstr(e, "template");
		}
	if (tmpl && !(t->chat_template = tok_strndup(tmpl, strlen(tmpl))))
		goto out;
	rc = 0;
out:
	cJSON_Delete(cfg);
	return rc;
}

/* ---- the builder -------------------------------------------------------- */

/* Everything tokenizer.json says; NULL + q_error (without the file name). */
static q_tok *build(const cJSON *j)
{
	q_tok *t = tok_new();
	if (!t)
		return NULL;
	t->hf = 1;
	t->kind = Q_TOK_BPE;
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
	const char *mtype = jstr(model, "type");
	const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
	const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
	const cJSON *added = cJSON_GetObjectItemCaseSensitive(j, "added_tokens");
	const char *cs = jstr(model, "continuing_subword_prefix"), *ew = jstr(model, "end_of_word_suffix");
	int bytelevel = 0;
	int32_t n = 0;

	if ((mtype && strcmp(mtype, "BPE")) || !cJSON_IsObject(vocab) || !cJSON_IsArray(merges)) {
		q_error("model is not BPE with vocab and merges (type '%s')", mtype ? mtype : "?");
		goto fail;
	}
	if ((cs && *cs) || (ew && *ew) || jbool(model, "byte_fallback", 0)) {
		q_error("BPE with continuing_subword_prefix, end_of_word_suffix or byte_fallback is not supported");
		goto fail;
	}
	t->ignore_merges = jbool(model, "ignore_merges", 0);
	if (max_id(vocab, added, &n) < 0 || load_vocab(t, vocab, n, (size_t)cJSON_GetArraySize(added)) < 0 || load_merges(t, merges) < 0)
		goto fail;
	if (parse_normalizer(t, cJSON_GetObjectItemCaseSensitive(j, "normalizer")) < 0 ||
	    parse_pre(t, cJSON_GetObjectItemCaseSensitive(j, "pre_tokenizer"), &bytelevel) < 0)
		goto fail;
	if (!bytelevel) {
		q_error("not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer)");
		goto fail;
	}
	if (load_added(t, added) < 0 || parse_post(t, cJSON_GetObjectItemCaseSensitive(j, "post_processor")) < 0)
		goto fail;
	for (int b = 0; b < 256; b++) {
		char buf[4];
		size_t l = q_utf8_put(tok_byte_cp((unsigned)b), buf);
		int32_t id = tok_find(t, buf, l);
		t->byte_id[b] = id >= 0 && (t->ent[id].attr & TA_NORMAL) ? id : -1;
	}
	const char *unk = jstr(model, "unk_token");
	if (unk)
		t->bpe_unk = tok_find(t, unk, strlen(unk));
	t->fuse_unk = jbool(model, "fuse_unk", 0);
	return t;
fail:
	q_tok_free(t);
	return NULL;
}

/*
 * path: a tokenizer.json file or a directory holding one.  The
 * tokenizer_config.json next to it is read when it exists.
 */
q_tok *q_tok_from_hf(const char *path)
{
	struct stat st;
	q_buf jp = Q_BUF_INIT, cp = Q_BUF_INIT, b = Q_BUF_INIT;
	q_tok *t = NULL;
	if (stat(path, &st) < 0) {
		q_error("%s:", path);
		return NULL;
	}
	int rc;
	if (S_ISDIR(st.st_mode)) {
		rc = q_buf_printf(&jp, "%s/tokenizer.json", path) | q_buf_printf(&cp, "%s/tokenizer_config.json", path);
	} else {
		const char *slash = strrchr(path, '/');
		rc = q_buf_adds(&jp, path);
		if (slash)
			rc |= q_buf_printf(&cp, "%.*s/tokenizer_config.json", (int)(slash - path), path);
		else
			rc |= q_buf_adds(&cp, "tokenizer_config.json");
	}
	if (rc < 0 || q_buf_read_file(&b, jp.p) < 0)
		goto out;
	cJSON *j = cJSON_ParseWithLength(b.p, b.len);
	q_buf_free(&b);
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		q_error("%s: not valid JSON", jp.p);
		goto out;
	}
	t = build(j);
	cJSON_Delete(j);
	if (!t) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s", q_errmsg());
		q_error("%s: %s", jp.p, msg);
		goto out;
	}
	if (load_config(t, cp.p) < 0 || tok_specials_finish(t, NULL) < 0 || tok_decoded_build(t) < 0) {
		q_tok_free(t);
		t = NULL;
	}
out:
	q_buf_free(&jp);
	q_buf_free(&cp);
	q_buf_free(&b);
	return t;
}
