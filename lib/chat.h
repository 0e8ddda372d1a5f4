/*
 * chat.h - applying a model's chat template to a chat request.
 *
 * One place that turns a request body shaped like OpenAI's chat/completions
 * (messages, optional tools, add_generation_prompt (default true),
 * chat_template_kwargs) into the prompt text, building the template's
 * variables the way transformers does: messages, tools,
 * add_generation_prompt, bos_token, eos_token, then every
 * chat_template_kwargs entry overriding a variable of the same name.
 */
#ifndef Q_CHAT_H
#define Q_CHAT_H

#include <cjson/cJSON.h>

#include "buf.h"
#include "tok.h"

/* Render template source src (NULL: the tokenizer's own chat template)
 * over request req, appending the prompt text to out.  -1 + q_error: a
 * malformed request ("\"messages\" must be an array", ...), no template
 * ("the model has no chat template"), or a template error ("chat
 * template: template line N: ..."). */
int q_chat_render(const q_tok *tok, const char *src, const cJSON *req, q_buf *out);

/* The request of a plain conversation: an optional system message, then one
 * user message.  NULL + q_error on allocation failure; cJSON_Delete it. */
cJSON *q_chat_request(const char *system, const char *user);

#endif
