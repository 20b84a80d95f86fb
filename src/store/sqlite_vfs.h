/*
 * sqlite_vfs — internal to the SQLite backend: a VFS that gathers the
 * writer's WAL appends into one write per commit.
 *
 * SQLite writes each WAL frame as two pwrite calls (its 24-byte header,
 * then the page), so a group commit that dirties 200 index pages made 400
 * system calls, each taking the inode lock and walking the page cache
 * (a quarter of the writer's time under HTTP creates). This VFS wraps the
 * default one; for WAL files only, contiguous appends collect in a buffer
 * that goes to the kernel in one pwrite when SQLite syncs, reads, truncates
 * or asks the size, before any write elsewhere in the file, and when the
 * buffer is full. Nothing changes for durability: a commit is acknowledged
 * only after its sync (inline, or deferred to the syncer below), and xSync
 * writes the buffer first; readers on other connections see frames only
 * after the commit updated the WAL index, which happens after the write.
 */
#ifndef JL_STORE_SQLITE_VFS_H
#define JL_STORE_SQLITE_VFS_H

#include <sqlite3.h>

/* The VFS's name, for sqlite3_open_v2; registered (not as the default) on first call. NULL if that failed. */
const char *jl__sqvfs_name(void);

/*
 * Deferred commit sync (docs/internals/store.md, "Acknowledged after the
 * fsync"). The writer arms its thread before COMMIT: the next WAL sync on
 * this thread writes the commit's bytes but leaves out the fsync, once (a
 * checkpoint that runs later in the same COMMIT syncs for real). After
 * COMMIT, jl__sqvfs_deferred disarms and returns the WAL file whose fsync was
 * left (NULL if none: nothing was written, or the file could not be synced
 * apart and synced inline). jl__sqvfs_sync then fsyncs it from any thread,
 * while the file is open; every byte written to it before the call is
 * durable when it returns SQLITE_OK. The first sync of each WAL file is
 * never deferred: it is the one that also syncs the directory entry.
 */
void jl__sqvfs_defer_sync(void);
sqlite3_file *jl__sqvfs_deferred(void);
int jl__sqvfs_sync(sqlite3_file *wal);
/* Tests only: called before each deferred fsync, which fails if it returns non-zero. NULL: none. */
void jl__sqvfs_set_sync_hook(int (*hook)(void));

#endif
