/*
 * chat.c - chat requests to prompt text (see chat.h).
 *
 * Invariant: the request is only read; the variables object is a deep copy
 * that lives for one render.
 */
#include "chat.h"

#include <string.h>

#include "err.h"
#include "tmpl.h"

/* Check the request's fields and build the template variables in *vars. */
static int build_vars(const q_tok *tok, const cJSON *req, cJSON **vars)
{
	*vars = NULL;
	if (!cJSON_IsObject(req))
		return q_error("the request must be a JSON object with \"messages\"");
	const cJSON *messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
	if (!cJSON_IsArray(messages))
		return q_error("\"messages\" must be an array");
	const cJSON *agp = cJSON_GetObjectItemCaseSensitive(req, "add_generation_prompt");
	if (agp && !cJSON_IsBool(agp))
		return q_error("\"add_generation_prompt\" must be true or false");
	const cJSON *kw = cJSON_GetObjectItemCaseSensitive(req, "chat_template_kwargs");
	if (kw && !cJSON_IsObject(kw) && !cJSON_IsNull(kw))
		return q_error("\"chat_template_kwargs\" must be an object");
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(req, "tools");
	if (tools && !cJSON_IsArray(tools) && !cJSON_IsNull(tools))
		return q_error("\"tools\" must be an array");
	cJSON *v = cJSON_CreateObject();
	int ok = v && cJSON_AddItemToObject(v, "messages", cJSON_Duplicate(messages, 1));
	if (ok && cJSON_IsArray(tools))
		ok = cJSON_AddItemToObject(v, "tools", cJSON_Duplicate(tools, 1));
	ok = ok && cJSON_AddBoolToObject(v, "add_generation_prompt", agp ? cJSON_IsTrue(agp) : 1) &&
	     cJSON_AddStringToObject(v, "bos_token", q_tok_bos_text(tok)) &&
	     cJSON_AddStringToObject(v, "eos_token", q_tok_eos_text(tok));
	for (const cJSON *k = cJSON_IsObject(kw) ? kw->child : NULL; ok && k; k = k->next) {
		cJSON_DeleteItemFromObjectCaseSensitive(v, k->string);
		ok = cJSON_AddItemToObject(v, k->string, cJSON_Duplicate(k, 1));
	}
	if (!ok) {
		cJSON_Delete(v);
		return q_error("out of memory");
	}
	*vars = v;
	return 0;
}

int q_chat_render(const q_tok *tok, const char *src, const cJSON *req, q_buf *out)
{
	if (!src)
		src = q_tok_chat_template(tok);
	if (!src)
		return q_error("the model has no chat template");
	cJSON *vars;
	if (build_vars(tok, req, &vars) < 0)
		return -1;
	int rc = 0;
	q_tmpl *tm = q_tmpl_parse(src, strlen(src));
	if (!tm || q_tmpl_render(tm, vars, out) < 0)
		rc = q_error("chat template: %s", q_errmsg());
	q_tmpl_free(tm);
	cJSON_Delete(vars);
	return rc;
}

cJSON *q_chat_request(const char *system, const char *user)
{
	cJSON *req = cJSON_CreateObject(), *msgs = cJSON_AddArrayToObject(req, "messages");
	const char *role[2] = {"system", "user"}, *content[2] = {system, user};
	int ok = msgs != NULL;
	for (int i = 0; ok && i < 2; i++) {
		if (!content[i])
			continue;
		cJSON *m = cJSON_CreateObject();
		ok = m && cJSON_AddItemToArray(msgs, m) && cJSON_AddStringToObject(m, "role", role[i]) &&
		     cJSON_AddStringToObject(m, "content", content[i]);
	}
	if (!ok) {
		cJSON_Delete(req);
		return q_error("out of memory"), NULL;
	}
	return req;
}
