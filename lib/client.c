/*
 * client.c - see client.h.
 */
#include "client.h"

#include <string.h>

#include "err.h"

int q_client_url(q_buf *out, const char *base, const char *path)
{
	size_t n = strlen(base);
	if (q_buf_add(out, base, n && base[n - 1] == '/' ? n - 1 : n) < 0 || q_buf_adds(out, path) < 0)
		return -1;
	return 0;
}

struct curl_slist *q_client_headers(const char *api_key)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json"), *t;
	if (!h || !api_key)
		return h;
	q_buf a = Q_BUF_INIT;
	if (q_buf_printf(&a, "Authorization: Bearer %s", api_key) < 0 || !(t = curl_slist_append(h, a.p))) {
		curl_slist_free_all(h);
		h = NULL;
	}
	q_buf_free(&a);
	return h;
}

size_t q_client_to_buf(char *p, size_t size, size_t nmemb, void *buf)
{
	return q_buf_add(buf, p, size * nmemb) < 0 ? 0 : size * nmemb;
}
