/*
 * sqlite_ckpt — the checkpointer thread (see sqlite_ckpt.h).
 */
#include "store/sqlite_ckpt.h"

#include <pthread.h>
#include <stdatomic.h>

#include "base/alloc.h"

struct jl__ckpt {
	sqlite3 *db;          /* the checkpointer's own connection */
	sqlite3 *wdb;         /* the writer's, whose hook we own */
	int pages;
	/* the hook's state: only the writer thread touches these */
	int seen;             /* WAL frames after the previous commit */
	int due;              /* wake the checkpointer once the WAL holds this many frames */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool wanted, stop;
	atomic_bool ready;    /* the thread has copied all but a few frames: the writer may finish */
	bool sync;            /* flush the database file after each round (flush_db) */
};

/* What the writer finishes itself: a checkpoint this small costs it less than a commit. */
#define CKPT_TAIL 256

/*
 * The writer's WAL hook, after each commit (on the writer thread).
 *
 * SQLite restarts the WAL at the start of a write transaction only when
 * every frame has been copied; a checkpointer running beside a busy writer
 * is always a few commits behind, so the WAL would grow without end. So the
 * work is split: the thread copies the bulk while the writer goes on, and
 * once it is within CKPT_TAIL frames the writer copies the rest itself,
 * right after a commit, as SQLite's own automatic checkpoint would.
 */
static int on_wal(void *arg, sqlite3 *db, const char *name, int frames)
{
	jl__ckpt_t *c = arg;
	if (frames < c->seen) /* the WAL restarted */
		c->due = c->pages;
	c->seen = frames;
	if (atomic_exchange(&c->ready, false)) {
		int log = 0, done = 0;
		(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		return SQLITE_OK;
	}
	if (frames < c->due)
		return SQLITE_OK;
	/* Once per `pages` new frames: readers that keep old frames alive can stop a checkpoint short. */
	c->due = frames + c->pages;
	pthread_mutex_lock(&c->mu);
	if (!c->wanted) {
		c->wanted = true;
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return SQLITE_OK;
}

/*
 * Writes the pages a round copied to disk, on this thread. SQLite syncs the
 * database file only in the checkpoint that copies the last frame, which is
 * the writer's (on_wal): without this, that fsync had the whole WAL's worth
 * of copied pages to write back (8,000 frames: 27-37 ms, throttled by the
 * block layer's writeback limits) while every queued group waited. Only a
 * flush: durability still rests on SQLite's own syncs, which stay.
 */
static void flush_db(jl__ckpt_t *c)
{
	sqlite3_file *f = NULL;
	if (c->sync && sqlite3_file_control(c->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK && f &&
	    f->pMethods)
		(void)f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

static void *ckpt_main(void *arg)
{
	jl__ckpt_t *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->wanted && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		c->wanted = false;
		pthread_mutex_unlock(&c->mu);
		/*
		 * PASSIVE: copies what no reader still needs, never waits for a lock.
		 * Repeated while the writer appends faster than the tail; a few rounds
		 * at most, as each copies only the pages written since the last.
		 * SQLITE_BUSY (another checkpoint running) is not an error: the next
		 * commit past the threshold wakes us again.
		 */
		for (int round = 0; round < 8; round++) {
			int log = 0, done = 0;
			int e = sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
			if (e != SQLITE_OK)
				break;
			flush_db(c);
			if (log - done <= CKPT_TAIL) {
				atomic_store(&c->ready, true);
				break;
			}
			if (done == 0)
				break; /* readers hold every frame: nothing to gain by spinning */
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

jl_rc jl__ckpt_start(sqlite3 *wdb, const char *path, int pages, bool sync, jl__ckpt_t **out)
{
	*out = NULL;
	jl__ckpt_t *c = jl_calloc(JL_MEM_STORE, 1, sizeof *c);
	if (!c)
		return JL_ENOMEM;
	c->wdb = wdb;
	c->pages = pages;
	c->sync = sync;
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF", NULL, NULL, NULL) !=
		    SQLITE_OK) {
		sqlite3_close(c->db);
		jl_free(JL_MEM_STORE, c);
		return JL_EIO;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->th, NULL, ckpt_main, c) != 0) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		sqlite3_close(c->db);
		jl_free(JL_MEM_STORE, c);
		return JL_ENOMEM;
	}
	/* Replaces the automatic checkpoint, which is itself a WAL hook. */
	sqlite3_wal_hook(wdb, on_wal, c);
	*out = c;
	return JL_OK;
}

void jl__ckpt_stop(jl__ckpt_t *c)
{
	if (!c)
		return;
	sqlite3_wal_hook(c->wdb, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->th, NULL);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	sqlite3_close(c->db);
	jl_free(JL_MEM_STORE, c);
}
