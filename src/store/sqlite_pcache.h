/*
 * sqlite_pcache — internal to the SQLite backend: SQLite's own page cache,
 * without a full hash walk at every commit.
 *
 * A B-tree page split gives a page a temporary number far above the file
 * (the 1 GiB "pending byte" page) while it renumbers the siblings. The
 * default cache (pcache1) remembers that number as its largest key, and the
 * truncate that ends every transaction then walks every hash bucket — one
 * per cached page, 24,000 with the writer's 96 MiB cache — although no page
 * above the file is left. Under HTTP creates that walk grew to 17 % of the
 * server's CPU as the cache warmed. This wrapper delegates everything to
 * pcache1 and only skips a truncate when it knows no page at or above the
 * limit can be cached: it tracks the largest number ever fetched and the few
 * renumberings above it (a conservative bound: evictions it does not see
 * only make it call pcache1 when it need not).
 */
#ifndef JL_STORE_SQLITE_PCACHE_H
#define JL_STORE_SQLITE_PCACHE_H

#include <stdbool.h>

/*
 * Installs the wrapper once per process; it must run before SQLite is first
 * initialised (before any open). false when SQLite was already in use: the
 * default cache stays, correct but slower.
 */
bool jl__sqpcache_install(void);

#endif
