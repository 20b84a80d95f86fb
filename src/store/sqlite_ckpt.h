/*
 * sqlite_ckpt — internal to the SQLite backend: WAL checkpoints on a thread
 * of their own.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses the
 * threshold, on the writer thread: every group queued behind it waits while
 * thousands of pages are read back from the WAL, written to the database
 * and synced (about 40 % of the writer's page I/O under HTTP creates). A
 * PASSIVE checkpoint from another connection copies the same frames while
 * the writer goes on appending; the writer restarts the WAL at its next
 * transaction once a checkpoint has caught up and no reader needs the old
 * frames, exactly as with the automatic one. Durability does not change:
 * commits are synced in the WAL; the checkpointer syncs the database file.
 */
#ifndef JL_STORE_SQLITE_CKPT_H
#define JL_STORE_SQLITE_CKPT_H

#include <stdbool.h>

#include <sqlite3.h>

#include "base/err.h"

typedef struct jl__ckpt jl__ckpt_t;

/*
 * Turns the writer connection's automatic checkpoint off and starts the
 * checkpointer on `path`: woken by the writer's WAL hook once the WAL holds
 * `pages` frames. `sync` false only for the no-sync benchmark configuration.
 * Call from the thread that owns `wdb`, before it writes.
 */
jl_rc jl__ckpt_start(sqlite3 *wdb, const char *path, int pages, bool sync, jl__ckpt_t **out) JL_MUST_USE;

/* Stops and joins the thread, closes its connection; the writer's own final checkpoint may follow. */
void jl__ckpt_stop(jl__ckpt_t *c);

#endif
