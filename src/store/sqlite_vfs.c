/*
 * sqlite_vfs — WAL appends gathered into one write per commit (see sqlite_vfs.h).
 */
#include "store/sqlite_vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/alloc.h"

#define VFS_NAME "jl-wal"
#define BUF_MAX ((size_t)8 << 20) /* a bigger commit streams through in 8 MiB writes */

/* A WAL file: our header, then the default VFS's file object (real). */
typedef struct wfile {
	sqlite3_file base;    /* pMethods = &wal_methods */
	sqlite3_file *real;
	unsigned char *buf;   /* bytes for [off, off + n) not yet written */
	size_t n, cap;
	sqlite3_int64 off;
	int sync_fd;          /* our own descriptor of the same file, for jl__sqvfs_sync; -1 if none */
	bool synced;          /* one real xSync done (it also makes a new file's directory entry durable) */
} wfile_t;

/* The writer thread's deferred sync (jl__sqvfs_defer_sync): armed, then the file whose fsync was left. */
static _Thread_local bool t_armed;
static _Thread_local sqlite3_file *t_deferred;

static sqlite3_vfs *g_base;
static sqlite3_vfs g_vfs;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_ok;

#define REAL(f) (((wfile_t *)(f))->real)
#define RM(f) (REAL(f)->pMethods)

/*
 * The default VFS masks a single write to 17 bits (os_unix.c seekAndWriteFd: a
 * larger amount is silently cut and then reported as SQLITE_FULL), so the
 * buffer goes out in pieces below 128 KiB: still one call per 30 frames.
 */
#define WRITE_MAX ((size_t)120 << 10)

static int flush(wfile_t *w)
{
	int rc = SQLITE_OK;
	for (size_t at = 0; at < w->n && rc == SQLITE_OK; at += WRITE_MAX) {
		size_t k = w->n - at < WRITE_MAX ? w->n - at : WRITE_MAX;
		rc = w->real->pMethods->xWrite(w->real, w->buf + at, (int)k, w->off + (sqlite3_int64)at);
	}
	w->n = 0;
	return rc;
}

static int w_close(sqlite3_file *f)
{
	wfile_t *w = (wfile_t *)f;
	int rc = flush(w);
	int rc2 = w->real->pMethods->xClose(w->real);
	if (w->sync_fd >= 0)
		close(w->sync_fd);
	w->sync_fd = -1;
	jl_free(JL_MEM_STORE, w->buf);
	w->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int w_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	int rc = flush((wfile_t *)f);
	return rc != SQLITE_OK ? rc : RM(f)->xRead(REAL(f), p, n, off);
}

/* Grows the buffer to hold `need` bytes (at most BUF_MAX); false when it cannot. */
static bool reserve(wfile_t *w, size_t need)
{
	if (need <= w->cap)
		return true;
	if (need > BUF_MAX)
		return false;
	size_t cap = w->cap ? w->cap : 256 << 10;
	while (cap < need)
		cap *= 2;
	unsigned char *b = jl_realloc(JL_MEM_STORE, w->buf, cap);
	if (!b)
		return false;
	w->buf = b;
	w->cap = cap;
	return true;
}

static int w_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	wfile_t *w = (wfile_t *)f;
	size_t len = (size_t)n;
	/* an overwrite inside the buffer (SQLite rewrites a frame the same transaction wrote before) */
	if (w->n && off >= w->off && off + n <= w->off + (sqlite3_int64)w->n) {
		memcpy(w->buf + (off - w->off), p, len);
		return SQLITE_OK;
	}
	if (w->n && off == w->off + (sqlite3_int64)w->n && reserve(w, w->n + len)) {
		memcpy(w->buf + w->n, p, len);
		w->n += len;
		return SQLITE_OK;
	}
	int rc = flush(w);
	if (rc != SQLITE_OK)
		return rc;
	if (len > WRITE_MAX || !reserve(w, len))
		return RM(f)->xWrite(REAL(f), p, n, off);
	memcpy(w->buf, p, len);
	w->n = len;
	w->off = off;
	return SQLITE_OK;
}

static int w_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = flush((wfile_t *)f);
	return rc != SQLITE_OK ? rc : RM(f)->xTruncate(REAL(f), size);
}

static int w_sync(sqlite3_file *f, int flags)
{
	wfile_t *w = (wfile_t *)f;
	int rc = flush(w);
	if (rc != SQLITE_OK)
		return rc;
	/* Armed: the bytes are written, the fsync is the syncer's (one-shot, so a checkpoint later in the same
	 * COMMIT syncs for real before it copies frames into the database). */
	if (t_armed && w->synced && w->sync_fd >= 0) {
		t_armed = false;
		t_deferred = f;
		return SQLITE_OK;
	}
	rc = RM(f)->xSync(REAL(f), flags);
	if (rc == SQLITE_OK)
		w->synced = true;
	return rc;
}

static int w_size(sqlite3_file *f, sqlite3_int64 *size)
{
	int rc = flush((wfile_t *)f);
	return rc != SQLITE_OK ? rc : RM(f)->xFileSize(REAL(f), size);
}

/* The rest is the default VFS's own behaviour. */
static int w_lock(sqlite3_file *f, int l) { return RM(f)->xLock(REAL(f), l); }
static int w_unlock(sqlite3_file *f, int l) { return RM(f)->xUnlock(REAL(f), l); }
static int w_reserved(sqlite3_file *f, int *out) { return RM(f)->xCheckReservedLock(REAL(f), out); }
static int w_sector(sqlite3_file *f) { return RM(f)->xSectorSize(REAL(f)); }
static int w_chars(sqlite3_file *f) { return RM(f)->xDeviceCharacteristics(REAL(f)); }

static int w_control(sqlite3_file *f, int op, void *arg)
{
	int rc = flush((wfile_t *)f); /* e.g. SQLITE_FCNTL_SIZE_HINT, SQLITE_FCNTL_SYNC: the bytes come first */
	return rc != SQLITE_OK ? rc : RM(f)->xFileControl(REAL(f), op, arg);
}

static int w_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **out)
{
	return RM(f)->xShmMap(REAL(f), pg, sz, extend, out);
}
static int w_shm_lock(sqlite3_file *f, int off, int n, int flags) { return RM(f)->xShmLock(REAL(f), off, n, flags); }
static void w_shm_barrier(sqlite3_file *f) { RM(f)->xShmBarrier(REAL(f)); }
static int w_shm_unmap(sqlite3_file *f, int del) { return RM(f)->xShmUnmap(REAL(f), del); }

static int w_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	int rc = flush((wfile_t *)f);
	return rc != SQLITE_OK ? rc : RM(f)->xFetch(REAL(f), off, n, out);
}
static int w_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) { return RM(f)->xUnfetch(REAL(f), off, p); }

static const sqlite3_io_methods wal_methods = {
	.iVersion = 3,
	.xClose = w_close,
	.xRead = w_read,
	.xWrite = w_write,
	.xTruncate = w_truncate,
	.xSync = w_sync,
	.xFileSize = w_size,
	.xLock = w_lock,
	.xUnlock = w_unlock,
	.xCheckReservedLock = w_reserved,
	.xFileControl = w_control,
	.xSectorSize = w_sector,
	.xDeviceCharacteristics = w_chars,
	.xShmMap = w_shm_map,
	.xShmLock = w_shm_lock,
	.xShmBarrier = w_shm_barrier,
	.xShmUnmap = w_shm_unmap,
	.xFetch = w_fetch,
	.xUnfetch = w_unfetch,
};

/* Offset of the real file object after our header, aligned for any type. */
#define REAL_OFF ((sizeof(wfile_t) + 15) & ~(size_t)15)

static int v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out_flags)
{
	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL)) /* the database and other files: the default VFS, unwrapped */
		return g_base->xOpen(g_base, name, f, flags, out_flags);
	wfile_t *w = (wfile_t *)f;
	memset(w, 0, sizeof *w);
	w->sync_fd = -1;
	w->real = (sqlite3_file *)((char *)f + REAL_OFF);
	int rc = g_base->xOpen(g_base, name, w->real, flags, out_flags);
	/* fdatasync on any descriptor of the inode flushes what every descriptor wrote. Without it, syncs stay inline. */
	if (rc == SQLITE_OK && name)
		w->sync_fd = open(name, O_RDONLY | O_CLOEXEC);
	/* SQLite calls xClose only when pMethods is set: leave it NULL if the open failed */
	w->base.pMethods = rc == SQLITE_OK && w->real->pMethods ? &wal_methods : NULL;
	return rc;
}

/* Everything else of the VFS is the default's. */
static int v_delete(sqlite3_vfs *v, const char *n, int sync) { (void)v; return g_base->xDelete(g_base, n, sync); }
static int v_access(sqlite3_vfs *v, const char *n, int fl, int *out)
{
	(void)v;
	return g_base->xAccess(g_base, n, fl, out);
}
static int v_full(sqlite3_vfs *v, const char *n, int sz, char *out)
{
	(void)v;
	return g_base->xFullPathname(g_base, n, sz, out);
}
static void *v_dlopen(sqlite3_vfs *v, const char *n) { (void)v; return g_base->xDlOpen(g_base, n); }
static void v_dlerror(sqlite3_vfs *v, int n, char *out) { (void)v; g_base->xDlError(g_base, n, out); }
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *s))(void)
{
	(void)v;
	return g_base->xDlSym(g_base, h, s);
}
static void v_dlclose(sqlite3_vfs *v, void *h) { (void)v; g_base->xDlClose(g_base, h); }
static int v_random(sqlite3_vfs *v, int n, char *out) { (void)v; return g_base->xRandomness(g_base, n, out); }
static int v_sleep(sqlite3_vfs *v, int us) { (void)v; return g_base->xSleep(g_base, us); }
static int v_time(sqlite3_vfs *v, double *out) { (void)v; return g_base->xCurrentTime(g_base, out); }
static int v_lasterr(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return g_base->xGetLastError ? g_base->xGetLastError(g_base, n, out) : 0;
}
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return g_base->xCurrentTimeInt64(g_base, out);
}

static void register_once(void)
{
	g_base = sqlite3_vfs_find(NULL);
	if (!g_base || g_base->iVersion < 2)
		return;
	size_t sz = REAL_OFF + (size_t)g_base->szOsFile;
	g_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)(sz > (size_t)g_base->szOsFile ? sz : (size_t)g_base->szOsFile),
		.mxPathname = g_base->mxPathname,
		.zName = VFS_NAME,
		.xOpen = v_open,
		.xDelete = v_delete,
		.xAccess = v_access,
		.xFullPathname = v_full,
		.xDlOpen = v_dlopen,
		.xDlError = v_dlerror,
		.xDlSym = v_dlsym,
		.xDlClose = v_dlclose,
		.xRandomness = v_random,
		.xSleep = v_sleep,
		.xCurrentTime = v_time,
		.xGetLastError = v_lasterr,
		.xCurrentTimeInt64 = v_time64,
	};
	g_ok = sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK;
}

void jl__sqvfs_defer_sync(void)
{
	t_armed = true;
	t_deferred = NULL;
}

sqlite3_file *jl__sqvfs_deferred(void)
{
	sqlite3_file *f = t_deferred;
	t_armed = false;
	t_deferred = NULL;
	return f;
}

static int (*_Atomic g_sync_hook)(void);

void jl__sqvfs_set_sync_hook(int (*hook)(void))
{
	g_sync_hook = hook;
}

int jl__sqvfs_sync(sqlite3_file *wal)
{
	wfile_t *w = (wfile_t *)wal;
	int (*hook)(void) = g_sync_hook;
	if (hook && hook() != 0)
		return SQLITE_IOERR_FSYNC;
	int e;
	do
		e = fdatasync(w->sync_fd);
	while (e != 0 && errno == EINTR);
	return e == 0 ? SQLITE_OK : SQLITE_IOERR_FSYNC;
}

const char *jl__sqvfs_name(void)
{
	pthread_once(&g_once, register_once);
	return g_ok ? VFS_NAME : NULL;
}
