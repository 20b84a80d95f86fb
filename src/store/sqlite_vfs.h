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
 * buffer is full. Nothing changes for durability: SQLite acknowledges a
 * commit only after xSync, and xSync writes the buffer first; readers on
 * other connections see frames only after the commit updated the WAL
 * index, which happens after the sync.
 */
#ifndef JL_STORE_SQLITE_VFS_H
#define JL_STORE_SQLITE_VFS_H

/* The VFS's name, for sqlite3_open_v2; registered (not as the default) on first call. NULL if that failed. */
const char *jl__sqvfs_name(void);

#endif
