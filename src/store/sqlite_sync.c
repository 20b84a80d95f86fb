/*
 * sqlite_sync — acknowledgements after the WAL fsync (see sqlite_sync.h).
 */
#include "store/sqlite_sync.h"

#include <pthread.h>
#include <stdatomic.h>

#include "base/alloc.h"
#include "store/sqlite_vfs.h"

/*
 * Groups committed but not yet taken by the syncer. Each fsync covers every
 * group queued before it started. Two, measured: with room for 64 the
 * writer commits whatever arrived, groups shrink from 7.8 to 4.0 calls and
 * every commit writes its own copy of the hot index pages (HTTP creates,
 * quiet machine, 3 × 15 s: 3,768 req/s against 3,807 with the fsync inline);
 * with 2 the writer waits once two groups are pending, calls gather
 * meanwhile (4.4 per group) and creates ran 4,018-4,600 (median of 3 rounds)
 * against 3,355-3,811 inline. One was in between (4,075-4,600).
 */
#define QMAX 2

struct jl__sqsync {
	jl__sqsync_done_fn done;
	void *arg;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* work queued, or stop */
	pthread_cond_t room;    /* the queue has room */
	void *q[QMAX];
	sqlite3_file *wal;      /* the writer's WAL file; the same for every batch while the store is open */
	size_t n;
	bool stop;
	atomic_bool failed;
};

/* Takes the queue: every batch in it was committed before the fsync that follows. */
static size_t take(jl__sqsync_t *y, void **out, sqlite3_file **wal)
{
	size_t n = y->n;
	for (size_t i = 0; i < n; i++)
		out[i] = y->q[i];
	*wal = y->wal;
	y->n = 0;
	pthread_cond_broadcast(&y->room);
	return n;
}

static void *sync_main(void *arg)
{
	jl__sqsync_t *y = arg;
	void *batch[QMAX];
	sqlite3_file *wal;
	pthread_mutex_lock(&y->mu);
	for (;;) {
		while (!y->n && !y->stop)
			pthread_cond_wait(&y->cv, &y->mu);
		if (!y->n)
			break; /* stopping, and everything is acknowledged */
		size_t n = take(y, batch, &wal);
		pthread_mutex_unlock(&y->mu);
		jl_rc rc = JL_OK;
		/* After one failure nothing is known to be durable: never report success again. */
		if (atomic_load(&y->failed) || jl__sqvfs_sync(wal) != SQLITE_OK) {
			atomic_store(&y->failed, true);
			rc = JL_EIO;
		}
		for (size_t i = 0; i < n; i++)
			y->done(y->arg, batch[i], rc);
		pthread_mutex_lock(&y->mu);
	}
	pthread_mutex_unlock(&y->mu);
	return NULL;
}

jl_rc jl__sqsync_start(jl__sqsync_done_fn done, void *arg, jl__sqsync_t **out)
{
	*out = NULL;
	jl__sqsync_t *y = jl_calloc(JL_MEM_STORE, 1, sizeof *y);
	if (!y)
		return JL_ENOMEM;
	y->done = done;
	y->arg = arg;
	pthread_mutex_init(&y->mu, NULL);
	pthread_cond_init(&y->cv, NULL);
	pthread_cond_init(&y->room, NULL);
	if (pthread_create(&y->th, NULL, sync_main, y) != 0) {
		pthread_mutex_destroy(&y->mu);
		pthread_cond_destroy(&y->cv);
		pthread_cond_destroy(&y->room);
		jl_free(JL_MEM_STORE, y);
		return JL_ENOMEM;
	}
	*out = y;
	return JL_OK;
}

void jl__sqsync_push(jl__sqsync_t *y, sqlite3_file *wal, void *batch)
{
	pthread_mutex_lock(&y->mu);
	while (y->n == QMAX)
		pthread_cond_wait(&y->room, &y->mu);
	y->wal = wal;
	y->q[y->n++] = batch;
	pthread_cond_signal(&y->cv);
	pthread_mutex_unlock(&y->mu);
}

bool jl__sqsync_failed(const jl__sqsync_t *y)
{
	return atomic_load(&y->failed);
}

void jl__sqsync_stop(jl__sqsync_t *y)
{
	if (!y)
		return;
	pthread_mutex_lock(&y->mu);
	y->stop = true;
	pthread_cond_signal(&y->cv);
	pthread_mutex_unlock(&y->mu);
	pthread_join(y->th, NULL);
	pthread_mutex_destroy(&y->mu);
	pthread_cond_destroy(&y->cv);
	pthread_cond_destroy(&y->room);
	jl_free(JL_MEM_STORE, y);
}
