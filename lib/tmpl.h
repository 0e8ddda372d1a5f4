/*
 * tmpl.h - chat templates: a Jinja2-subset interpreter.
 *
 * Renders the templates that ship with models exactly as Hugging Face
 * transformers renders them with jinja2 (sandboxed environment, trim_blocks,
 * lstrip_blocks, loopcontrols extension, tojson without ASCII escaping,
 * raise_exception(), strftime_now()).  A construct outside the supported
 * subset is an error naming the template line, never a silently wrong prompt.
 *
 * A q_tmpl is immutable after q_tmpl_parse() and may be rendered from several
 * threads at once.
 */
#ifndef Q_TMPL_H
#define Q_TMPL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"

typedef struct q_tmpl q_tmpl;

/* Parse template source (at most 16 MiB).  NULL + q_error("template line N:
 * ...") on a syntax error or an unsupported statement / filter / test. */
q_tmpl *q_tmpl_parse(const char *src, size_t len);
void q_tmpl_free(q_tmpl *t);

/* Render with the top-level variables in vars (a JSON object: messages, tools,
 * add_generation_prompt, bos_token, eos_token, and any chat_template_kwargs
 * merged in).  Appends to out.  -1 + q_error("template line N: ...") on a
 * runtime error, including raise_exception("...") whose message is kept. */
int q_tmpl_render(const q_tmpl *t, const cJSON *vars, q_buf *out);

/* Resource limits of one render; a 0 field means the default. */
typedef struct q_tmpl_limits {
	size_t max_output;   /* bytes of output (default 64 MiB) */
	size_t max_memory;   /* bytes of working memory (default 256 MiB) */
	uint64_t max_steps;  /* evaluation steps (default 20 million) */
	int max_calls;       /* nested macro / recursive loop calls (default 200) */
} q_tmpl_limits;

/* q_tmpl_render() with explicit limits (lim may be NULL). */
int q_tmpl_render_limits(const q_tmpl *t, const cJSON *vars, q_buf *out,
			 const q_tmpl_limits *lim);

/* Parses JSON text like cJSON_ParseWithLength() but keeps each number's
 * literal text in its valuestring (cJSON_Delete frees it), so that the
 * renderer can tell 1 from 1.0 as Python's json module does.  Without that
 * text a number is an int when it is integral and within +-2^53.
 * NULL + q_error on invalid JSON. */
cJSON *q_tmpl_json_parse(const char *text, size_t len);

#endif
