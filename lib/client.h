/*
 * client.h - what qeval's HTTP clients (lib/evalbench, lib/judge) share on
 * top of libcurl: the request URL, the JSON + API-key headers, and a write
 * callback that collects a response body.
 */
#ifndef Q_CLIENT_H
#define Q_CLIENT_H

#include <stddef.h>

#include <curl/curl.h>

#include "buf.h"

/* base (a trailing '/' dropped) then path, into out.  -1 + q_error. */
int q_client_url(q_buf *out, const char *base, const char *path);
/* "Content-Type: application/json" and, when api_key is not NULL,
 * "Authorization: Bearer KEY"; curl_slist_free_all it.  NULL on memory. */
struct curl_slist *q_client_headers(const char *api_key);
/* CURLOPT_WRITEFUNCTION appending to the q_buf given as CURLOPT_WRITEDATA. */
size_t q_client_to_buf(char *p, size_t size, size_t nmemb, void *buf);

#endif
