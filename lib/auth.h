/*
 * auth.h - API keys and per-key rate limits for qserve.
 *
 * Keys are kept only as BLAKE2b (libsodium generichash) digests and a
 * presented key is compared with every digest by sodium_memcmp, so neither
 * the keys nor the time a comparison takes leak.  The rate limit is a token
 * bucket per key (rpm requests a minute, bursts of rpm); without keys, one
 * bucket is shared by every client.  Thread-safe.
 */
#ifndef Q_AUTH_H
#define Q_AUTH_H

#include <stddef.h>

typedef struct q_auth q_auth;

/* rpm: requests a minute per key (0: no limit).  NULL + q_error. */
q_auth *q_auth_new(double rpm);
void q_auth_free(q_auth *a);
/* Add one key (non-empty, no control characters).  -1 + q_error. */
int q_auth_add_key(q_auth *a, const char *key, size_t n);
/* Add every non-empty line of a file (surrounding blanks dropped; lines
 * starting with '#' skipped).  -1 + q_error (unreadable, no key in it). */
int q_auth_load_file(q_auth *a, const char *path);
int q_auth_n_keys(const q_auth *a);
/* Check an Authorization header value ("Bearer KEY"; NULL when absent).
 * Returns the key's slot (>= 0), Q_AUTH_OPEN (-1) when no keys are set,
 * or Q_AUTH_DENIED (-2). */
#define Q_AUTH_OPEN (-1)
#define Q_AUTH_DENIED (-2)
int q_auth_check(q_auth *a, const char *authorization);
/* Take one request from the bucket of slot (as q_auth_check returned it):
 * 0 when allowed, else the whole seconds to wait (>= 1). */
int q_auth_take(q_auth *a, int slot);

#endif
