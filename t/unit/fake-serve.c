/*
 * fake-serve - a fast scripted OpenAI streaming server for measuring the
 * client (t/bench/qeval-client): what t/data/qeval/fake-server.py does,
 * in C, so that the server is not the bottleneck.
 *
 *   fake-serve PORT TTFT_MS ITL_MS TOKENS
 *
 * Every POST streams TOKENS chat chunks (the first TTFT_MS after the
 * request arrived, the rest ITL_MS apart), a usage chunk and
 * "data: [DONE]"; GET /v1/models lists "fake-model".  One thread per
 * connection (libmicrohttpd), so delays are plain sleeps.  Runs until
 * killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

static double ttft_ms, itl_ms;
static int n_tokens;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_until(double t)
{
	double d = t - now_ms();
	if (d > 0) {
		struct timespec ts = {(time_t)(d / 1e3), (long)((d - (double)(time_t)(d / 1e3) * 1e3) * 1e6)};
		nanosleep(&ts, NULL);
	}
}

typedef struct st {
	double t0;
	int i;                 /* chunks sent */
} st;

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	st *s = cls;
	int n;
	if (s->i < n_tokens) {
		sleep_until(s->t0 + ttft_ms + s->i * itl_ms);
		n = snprintf(buf, max,
			     "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t%d \"},\"finish_reason\":null}]}\n\n",
			     s->i);
	} else if (s->i == n_tokens) {
		n = snprintf(buf, max,
			     "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":%d}}\n\n"
			     "data: [DONE]\n\n",
			     n_tokens);
	} else {
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	s->i++;
	return n;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)cls, (void)version, (void)upload;
	if (!*con_cls) {
		st *s = calloc(1, sizeof *s);
		s->t0 = now_ms();
		*con_cls = s;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	struct MHD_Response *r;
	enum MHD_Result rc;
	if (!strcmp(method, "GET") && !strcmp(url, "/v1/models")) {
		static const char m[] = "{\"object\":\"list\",\"data\":[{\"id\":\"fake-model\",\"object\":\"model\"}]}";
		r = MHD_create_response_from_buffer(sizeof m - 1, (void *)m, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "Content-Type", "application/json");
		rc = MHD_queue_response(c, 200, r);
	} else {
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, *con_cls, NULL);
		MHD_add_response_header(r, "Content-Type", "text/event-stream");
		rc = MHD_queue_response(c, 200, r);
	}
	MHD_destroy_response(r);
	return rc;
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why)
{
	(void)cls, (void)c, (void)why;
	free(*con_cls);
	*con_cls = NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: fake-serve PORT TTFT_MS ITL_MS TOKENS\n");
		return 2;
	}
	ttft_ms = atof(argv[2]);
	itl_ms = atof(argv[3]);
	n_tokens = atoi(argv[4]);
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
							MHD_USE_POLL,
						(uint16_t)atoi(argv[1]), NULL, NULL, handler, NULL,
						MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_CONNECTION_LIMIT,
						4096u, MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "fake-serve: cannot listen on port %s\n", argv[1]);
		return 1;
	}
	printf("listening %s\n", argv[1]);
	fflush(stdout);
	for (;;)
		pause();
}
