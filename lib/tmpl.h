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

#include <cjson/cJSON.h>

#include "buf.h"

typedef struct q_tmpl q_tmpl;

/* Parse template source.  NULL + q_error("template line N: ...") on a syntax
 * error or an unsupported statement / filter / test. */
q_tmpl *q_tmpl_parse(const char *src, size_t len);
void q_tmpl_free(q_tmpl *t);

/* Render with the top-level variables in vars (a JSON object: messages, tools,
 * add_generation_prompt, bos_token, eos_token, and any chat_template_kwargs
 * merged in).  Appends to out.  -1 + q_error("template line N: ...") on a
 * runtime error, including raise_exception("...") whose message is kept. */
int q_tmpl_render(const q_tmpl *t, const cJSON *vars, q_buf *out);

#endif
