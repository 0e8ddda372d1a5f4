/*
 * source.c - resolve a model argument and open what the tools need from it.
 *
 * Search order for the default model: $Q_MODEL, then share/models/ next to the
 * running executable's directory (a build tree: bin/../share/models), then
 * share/q/models/ of the install prefix next to the executable
 * (bin/../share/q/models), then Q_PREFIX/share/q/models.
 */
#include "source.h"

#include "config.h"
#include "err.h"
#include "gguf.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Is the file at path a GGUF (by its magic)? */
static int is_gguf(const char *path)
{
	char m[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, m, 4);
	close(fd);
	return n == 4 && !memcmp(m, "GGUF", 4);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* Classify an existing path; -1 + q_error if it is of no known kind. */
static int classify(const char *p, enum q_source_kind *kind)
{
	struct stat st;
	if (stat(p, &st) < 0)
		return q_error("%s:", p);
	if (S_ISDIR(st.st_mode)) {
		q_buf j = Q_BUF_INIT;
		int ok = q_buf_printf(&j, "%s/tokenizer.json", p) == 0 && access(j.p, R_OK) == 0;
		q_buf_free(&j);
		if (!ok)
			return q_error("%s: directory holds no tokenizer.json", p);
		*kind = Q_SOURCE_HF_DIR;
		return 0;
	}
	if (access(p, R_OK) < 0)
		return q_error("%s:", p);
	if (is_gguf(p)) {
		*kind = Q_SOURCE_GGUF;
		return 0;
	}
	if (ends_with(p, ".json")) {
		*kind = Q_SOURCE_HF_JSON;
		return 0;
	}
	if (ends_with(p, ".gguf"))
		*kind = Q_SOURCE_GGUF; /* let the reader say what is wrong with it */
	else
		return q_error("%s: not a model (neither a GGUF file nor a Hugging Face directory)", p);
	return 0;
}

/* Try the default model locations; 0 and *path set if one exists. */
static int find_default(q_buf *path)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			static const char *const rel[] = {"/../share/models/", "/../share/q/models/"};
			for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
				q_buf_reset(path);
				if (q_buf_printf(path, "%s%s%s", exe, rel[i], Q_DEFAULT_MODEL) < 0)
					return -1;
				if (access(path->p, R_OK) == 0)
					return 0;
			}
		}
	}
	q_buf_reset(path);
	if (q_buf_printf(path, "%s/share/q/models/%s", Q_PREFIX, Q_DEFAULT_MODEL) < 0)
		return -1;
	if (access(path->p, R_OK) == 0)
		return 0;
	return q_error("no model given (-m or Q_MODEL) and the default model %s is not installed "
		       "(run `make model`)", Q_DEFAULT_MODEL);
}

int q_source_resolve(const char *arg, q_buf *path, enum q_source_kind *kind)
{
	q_buf_reset(path);
	if (!arg || !*arg)
		arg = getenv("Q_MODEL");
	if (arg && *arg) {
		if (q_buf_adds(path, arg) < 0)
			return -1;
	} else if (find_default(path) < 0) {
		return -1;
	}
	return classify(path->p, kind);
}

q_tok *q_source_open_tok(const char *arg)
{
	q_buf path = Q_BUF_INIT;
	enum q_source_kind kind;
	q_tok *t = NULL;
	if (q_source_resolve(arg, &path, &kind) < 0)
		goto out;
	if (kind == Q_SOURCE_GGUF) {
		q_gguf *g = q_gguf_open(path.p);
		if (g) {
			t = q_tok_from_gguf(g);
			q_gguf_free(g);
			if (!t)
				q_error_context(path.p);
		}
	} else {
		t = q_tok_from_hf(path.p);
	}
out:
	q_buf_free(&path);
	return t;
}

int q_load(const char *arg, int threads, q_loaded *l)
{
	memset(l, 0, sizeof *l);
	enum q_source_kind kind;
	if (q_source_resolve(arg, &l->path, &kind) < 0)
		return -1;
	if (kind != Q_SOURCE_GGUF) {
		q_error("%s: running a model needs a GGUF file (Hugging Face directories are not supported yet)",
			l->path.p);
		q_unload(l);
		return -1;
	}
	if (!(l->g = q_gguf_open(l->path.p)))
		goto fail;
	if (!(l->tok = q_tok_from_gguf(l->g))) {
		q_error_context(l->path.p);
		goto fail;
	}
	if (!(l->be = qk_cpu_new(threads, NULL))) {
		q_error("%s", qk_errmsg());
		goto fail;
	}
	if (!(l->m = q_model_new(l->g, l->be))) {
		q_error_context(l->path.p);
		goto fail;
	}
	return 0;
fail:
	q_unload(l);
	return -1;
}

void q_unload(q_loaded *l)
{
	q_model_free(l->m);
	qk_backend_free(l->be);
	q_tok_free(l->tok);
	q_gguf_free(l->g);
	q_buf_free(&l->path);
	memset(l, 0, sizeof *l);
}
