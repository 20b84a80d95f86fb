/*
 * sqlite_sync — internal to the SQLite backend: groups acknowledged after
 * their WAL fsync, on a thread of their own.
 *
 * With synchronous=FULL the writer thread waited for the fsync of each
 * group's commit before it could start the next group: a third of its time
 * under HTTP creates, with the cores idle. Now the writer commits a group
 * with the fsync left out (sqlite_vfs.h, jl__sqvfs_defer_sync), hands the
 * group here and goes on with the next one; this thread fsyncs the WAL once
 * for every group queued meanwhile and only then acknowledges them. No
 * caller hears that a write is stored before it is on disk. What changes:
 * other readers may see a group a fraction of a millisecond before it is
 * durable. The WAL is append-only and synced in order, so any write
 * acknowledged after such a read is durable together with what was read.
 */
#ifndef JL_STORE_SQLITE_SYNC_H
#define JL_STORE_SQLITE_SYNC_H

#include <stdbool.h>

#include <sqlite3.h>

#include "base/err.h"

typedef struct jl__sqsync jl__sqsync_t;

/* Called on the syncer thread, in commit order: rc JL_OK once the batch is durable, JL_EIO if the fsync failed. */
typedef void (*jl__sqsync_done_fn)(void *arg, void *batch, jl_rc rc);

jl_rc jl__sqsync_start(jl__sqsync_done_fn done, void *arg, jl__sqsync_t **out) JL_MUST_USE;
/* Queues a committed batch whose WAL bytes are written, not yet synced; waits while the queue is full. */
void jl__sqsync_push(jl__sqsync_t *y, sqlite3_file *wal, void *batch);
/*
 * True once an fsync failed: the file's state on disk is unknown (Linux
 * may have dropped the dirty pages), so the store takes no more writes.
 */
bool jl__sqsync_failed(const jl__sqsync_t *y);
/* Acknowledges every queued batch (after its fsync) and stops the thread; NULL is fine. */
void jl__sqsync_stop(jl__sqsync_t *y);

#endif
