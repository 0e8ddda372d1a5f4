/*
 * qtok - text to token ids and back, and chat templates, for any model q reads.
 *
 *   qtok [-m MODEL] [-l] [--raw] [--json]     text on stdin -> ids on stdout
 *   qtok [-m MODEL] -d [-l]                   ids on stdin -> text on stdout
 *   qtok [-m MODEL] --chat [--render]         chat request JSON -> prompt ids / text
 *
 * Input text must be valid UTF-8: invalid input is rejected (exit 1) with the
 * byte offset, never silently replaced.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cli.h"
#include "chat.h"
#include "source.h"
#include "tmpl.h"
#include "tok.h"
#include "utf8.h"

static const char usage[] =
	"usage: qtok [-m MODEL] [-l] [--raw] [--json]   tokenize stdin\n"
	"       qtok [-m MODEL] -d [-l]                 decode ids on stdin\n"
	"       qtok [-m MODEL] --chat [--render] [--chat-template FILE]\n"
	"                                               apply the chat template to a request on stdin\n"
	"  -m MODEL   GGUF file, Hugging Face (tokenizer) directory or tokenizer.json\n"
	"             (default: $Q_MODEL, else the embedded default model)\n"
	"  -l         one text (or id list) per input line\n"
	"  --raw      no BOS/EOS; special-token text is plain text\n"
	"  --json     write [{\"id\":..,\"piece\":\"..\"}] instead of ids\n"
	"  -h, --help, --version\n";

static struct {
	const char *model, *chat_template;
	int lines, decode, raw, json, chat, render;
} opt;

static const q_tok *tok;

/* Write one text's ids (or JSON pieces) and a newline. */
static void emit_ids(const q_ids *ids, q_buf *out)
{
	q_buf_reset(out);
	if (!opt.json) {
		for (size_t i = 0; i < ids->n; i++)
			q_buf_printf(out, i ? " %d" : "%d", ids->v[i]);
		q_buf_addc(out, '\n');
		cli_write(out->p, out->len);
		return;
	}
	cJSON *arr = cJSON_CreateArray();
	q_buf piece = Q_BUF_INIT;
	for (size_t i = 0; arr && i < ids->n; i++) {
		q_buf_reset(&piece);
		if (q_tok_decode_piece(tok, ids->v[i], i == 0, &piece) < 0)
			cli_die_lib(NULL);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", ids->v[i]);
		if (q_utf8_check(piece.p ? piece.p : "", piece.len) == piece.len) {
			cJSON_AddStringToObject(o, "piece", piece.p ? piece.p : "");
		} else {
			/* part of a multi-byte character: give the bytes themselves */
			cJSON *b = cJSON_AddArrayToObject(o, "bytes");
			for (size_t k = 0; k < piece.len; k++)
				cJSON_AddItemToArray(b, cJSON_CreateNumber((unsigned char)piece.p[k]));
			cJSON_AddStringToObject(o, "piece", "");
		}
		cJSON_AddItemToArray(arr, o);
	}
	char *s = arr ? cJSON_PrintUnformatted(arr) : NULL;
	if (!s)
		cli_fail(1, "out of memory");
	cli_write(s, strlen(s));
	cli_write("\n", 1);
	free(s);
	cJSON_Delete(arr);
	q_buf_free(&piece);
}

/* Tokenize one text; where names it in errors ("stdin", "line 3"). */
static void encode_text(const char *s, size_t n, const char *where, unsigned flags, q_buf *out)
{
	size_t bad = q_utf8_check(s, n);
	if (bad != n)
		cli_fail(1, "%s: invalid UTF-8 at byte %zu", where, bad);
	q_ids ids = Q_IDS_INIT;
	if (q_tok_encode(tok, s, n, flags, &ids) < 0)
		cli_die_lib(where);
	emit_ids(&ids, out);
	q_ids_free(&ids);
}

static void decode_text(const char *s, size_t n, const char *where, q_buf *out)
{
	q_ids ids = Q_IDS_INIT;
	if (q_tok_parse_ids(tok, s, n, &ids) < 0)
		cli_die_lib(where);
	q_buf_reset(out);
	if (q_tok_decode(tok, ids.v, ids.n, out) < 0)
		cli_die_lib(where);
	if (opt.lines)
		q_buf_addc(out, '\n');
	cli_write(out->p, out->len);
	q_ids_free(&ids);
}

/* --chat: render the template over the request on stdin, then print or tokenize. */
static void chat(const q_buf *in, q_buf *out)
{
	size_t bad = q_utf8_check(in->p ? in->p : "", in->len);
	if (bad != in->len)
		cli_fail(1, "--chat: stdin: invalid UTF-8 at byte %zu", bad);
	/* number literals kept, so that a template prints 1.0 as Python would */
	cJSON *req = q_tmpl_json_parse(in->p ? in->p : "", in->len);
	if (!req)
		cli_die_lib("--chat: stdin");
	q_buf src = Q_BUF_INIT, text = Q_BUF_INIT;
	if (opt.chat_template && q_buf_read_file(&src, opt.chat_template) < 0)
		cli_die_lib("--chat-template");
	if (!opt.chat_template && !q_tok_chat_template(tok))
		cli_fail(1, "the model has no chat template (give one with --chat-template FILE)");
	if (q_chat_render(tok, opt.chat_template ? src.p : NULL, req, &text) < 0)
		cli_die_lib(NULL);
	if (opt.render)
		cli_write(text.p, text.len);
	else
		encode_text(text.p ? text.p : "", text.len, "rendered prompt", Q_TOK_PARSE_SPECIAL, out);
	q_buf_free(&text);
	q_buf_free(&src);
	cJSON_Delete(req);
}

int main(int argc, char **argv)
{
	enum { O_RAW = 256, O_JSON, O_CHAT, O_RENDER, O_TEMPLATE, O_VERSION };
	static const struct option lo[] = {
		{"model", required_argument, 0, 'm'}, {"lines", no_argument, 0, 'l'},
		{"decode", no_argument, 0, 'd'}, {"raw", no_argument, 0, O_RAW},
		{"json", no_argument, 0, O_JSON}, {"chat", no_argument, 0, O_CHAT},
		{"render", no_argument, 0, O_RENDER}, {"chat-template", required_argument, 0, O_TEMPLATE},
		{"help", no_argument, 0, 'h'}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0},
	};
	cli_name = "qtok";
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":m:ldh", lo, NULL)) != -1) {
		switch (c) {
		case 'm': opt.model = optarg; break;
		case 'l': opt.lines = 1; break;
		case 'd': opt.decode = 1; break;
		case O_RAW: opt.raw = 1; break;
		case O_JSON: opt.json = 1; break;
		case O_CHAT: opt.chat = 1; break;
		case O_RENDER: opt.render = 1; break;
		case O_TEMPLATE: opt.chat_template = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		case O_VERSION: cli_version(); break;
		default: cli_bad_option(c, optopt, argv[optind - 1]);
		}
	}
	if (optind < argc)
		cli_fail(2, "unexpected argument '%s' (text comes on stdin; see qtok -h)", argv[optind]);
	if (opt.render && !opt.chat)
		cli_fail(2, "--render needs --chat");
	if (opt.chat_template && !opt.chat)
		cli_fail(2, "--chat-template needs --chat");
	if (opt.chat && (opt.decode || opt.lines || opt.raw))
		cli_fail(2, "--chat cannot be combined with -d, -l or --raw");
	if (opt.decode && (opt.raw || opt.json))
		cli_fail(2, "-d cannot be combined with --raw or --json");

	q_tok *t = q_source_open_tok(opt.model);
	if (!t)
		cli_die_lib(NULL);
	tok = t;

	q_buf in = Q_BUF_INIT, out = Q_BUF_INIT;
	if (q_buf_read_fd(&in, 0) < 0)
		cli_die_lib("stdin");
	unsigned flags = opt.raw ? 0 : Q_TOK_ADD_SPECIAL | Q_TOK_PARSE_SPECIAL;
	if (opt.chat) {
		chat(&in, &out);
	} else if (opt.lines) {
		size_t i = 0, lineno = 0;
		while (i < in.len) {
			char *nl = memchr(in.p + i, '\n', in.len - i);
			size_t e = nl ? (size_t)(nl - in.p) : in.len;
			char where[48];
			snprintf(where, sizeof where, "line %zu", ++lineno);
			if (opt.decode)
				decode_text(in.p + i, e - i, where, &out);
			else
				encode_text(in.p + i, e - i, where, flags, &out);
			i = e + 1;
		}
	} else if (opt.decode) {
		decode_text(in.p ? in.p : "", in.len, "stdin", &out);
	} else {
		encode_text(in.p ? in.p : "", in.len, "stdin", flags, &out);
	}
	if (fflush(stdout) != 0)
		cli_fail(1, "write to stdout failed");
	q_buf_free(&in);
	q_buf_free(&out);
	q_tok_free(t);
	return 0;
}
