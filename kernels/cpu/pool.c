/*
 * pool.c - the CPU backend's thread pool: n-1 persistent workers plus the
 * calling thread share each job's items, taken in fixed-size chunks from an
 * atomic counter, so a worker the OS has not scheduled yet (a busy machine)
 * delays nobody: the threads that run take its chunks.
 *
 * Invariants:
 * - gen counts jobs.  A worker that sees gen advance joins the job by
 *   incrementing active, then checks closed: if the caller already closed
 *   the job it leaves without touching it.  The caller closes the job when
 *   no chunk is left and returns only when active is 0, so fn/arg are never
 *   used after qk_pool_run returns (seq_cst on active and closed: either the
 *   caller sees the worker's increment or the worker sees closed).
 * - Every item is processed exactly once (the chunk counter), by whichever
 *   thread took its chunk; chunk boundaries depend only on n and chunk, and
 *   the kernels compute each element the same way on any thread, so
 *   results do not depend on the schedule.
 * - Sleeping uses futexes on gen (workers) and active (the caller); the
 *   sleeping/waiting counters are seq_cst so a wake is never lost.  Threads
 *   spin for a while first: ops come back to back.
 */
#include "cpu.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPIN 20000

struct qk_pool {
	int n;
	pthread_t *th;
	qk_pool_fn fn;
	void *arg;
	int64_t items, chunk;
	_Atomic int64_t next;       /* first item not yet taken */
	_Atomic uint32_t gen;       /* futex word: job number */
	_Atomic uint32_t active;    /* futex word: workers inside the job */
	_Atomic int closed;         /* no more joining the current job */
	_Atomic int sleeping;       /* workers in futex_wait on gen */
	_Atomic int waiting;        /* the caller in futex_wait on active */
	_Atomic int stop;
};

static void futex_wait(_Atomic uint32_t *w, uint32_t val)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Take chunks until none is left. */
static void work(qk_pool *p, int ith)
{
	for (;;) {
		int64_t i0 = atomic_fetch_add(&p->next, p->chunk);
		if (i0 >= p->items)
			return;
		int64_t i1 = i0 + p->chunk < p->items ? i0 + p->chunk : p->items;
		p->fn(p->arg, ith, i0, i1);
	}
}

typedef struct worker {
	qk_pool *p;
	int ith;
} worker;

static void *worker_main(void *v)
{
	worker w = *(worker *)v;
	qk_pool *p = w.p;
	free(v);
	uint32_t seen = 0;
	for (;;) {
		uint32_t g;
		int spins = 0;
		while ((g = atomic_load(&p->gen)) == seen) {
			if (++spins < SPIN) {
				relax();
				continue;
			}
			atomic_fetch_add(&p->sleeping, 1);
			futex_wait(&p->gen, seen);
			atomic_fetch_sub(&p->sleeping, 1);
		}
		seen = g;
		if (atomic_load(&p->stop))
			return NULL;
		atomic_fetch_add(&p->active, 1);
		if (!atomic_load(&p->closed) && atomic_load(&p->gen) == g)
			work(p, w.ith);
		if (atomic_fetch_sub(&p->active, 1) == 1 && atomic_load(&p->waiting))
			futex_wake(&p->active);
	}
}

qk_pool *qk_pool_new(int n)
{
	if (n < 1 || n > 1024)
		return qk_seterr("thread pool: %d threads", n), NULL;
	qk_pool *p = calloc(1, sizeof *p);
	if (!p)
		return qk_seterr("out of memory"), NULL;
	p->n = n;
	p->th = calloc((size_t)n, sizeof *p->th);
	if (!p->th) {
		free(p);
		return qk_seterr("out of memory"), NULL;
	}
	for (int i = 1; i < n; i++) {
		worker *w = malloc(sizeof *w);
		int err = ENOMEM;
		if (w) {
			*w = (worker){p, i};
			err = pthread_create(&p->th[i], NULL, worker_main, w);
		}
		if (err) {
			free(w);
			p->n = i;  /* stop and join the ones that started */
			qk_pool_free(p);
			return qk_seterr("thread pool: pthread_create: %s", strerror(err)), NULL;
		}
	}
	return p;
}

int qk_pool_size(const qk_pool *p)
{
	return p->n;
}

void qk_pool_run(qk_pool *p, qk_pool_fn fn, void *arg, int64_t items, int64_t chunk)
{
	if (items <= 0)
		return;
	if (chunk < 1)
		chunk = 1;
	if (p->n == 1 || items <= chunk) {
		for (int64_t i0 = 0; i0 < items; i0 += chunk)
			fn(arg, 0, i0, i0 + chunk < items ? i0 + chunk : items);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	p->items = items;
	p->chunk = chunk;
	atomic_store(&p->next, 0);
	atomic_store(&p->closed, 0);
	atomic_fetch_add(&p->gen, 1);
	if (atomic_load(&p->sleeping))
		futex_wake(&p->gen);
	work(p, 0);
	atomic_store(&p->closed, 1);
	uint32_t left;
	int spins = 0;
	while ((left = atomic_load(&p->active)) != 0) {
		if (++spins < SPIN) {
			relax();
			continue;
		}
		atomic_store(&p->waiting, 1);
		if ((left = atomic_load(&p->active)) != 0)
			futex_wait(&p->active, left);
		atomic_store(&p->waiting, 0);
	}
}

void qk_pool_free(qk_pool *p)
{
	if (!p)
		return;
	if (p->n > 1) {
		atomic_store(&p->stop, 1);
		atomic_fetch_add(&p->gen, 1);
		futex_wake(&p->gen);
		for (int i = 1; i < p->n; i++)
			pthread_join(p->th[i], NULL);
	}
	free(p->th);
	free(p);
}
