/*
 * reader — input files of a bulk import, one item at a time. A format is a
 * small table of functions (open, next, close) chosen by the file name's
 * suffix; the NDJSON formats (plain, .gz through zlib) yield one resource
 * per line. A format that yields whole Bundles (a transaction Bundle per
 * file, with urn:uuid references) plugs in the same way: add its entry to
 * the table in reader.c and return items of kind JL_IMPORT_BUNDLE, which
 * import.c hands to its bundle hook.
 *
 * Positions are counted in the file's content bytes (decompressed for
 * .gz) and lines, so an import can resume right after the last committed
 * item: open() takes the position to start from.
 *
 * A reader is used by one thread at a time.
 */
#ifndef JL_INGEST_READER_H
#define JL_INGEST_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/str.h"

typedef enum jl_import_kind {
	JL_IMPORT_RESOURCE = 1, /* one resource's JSON */
	JL_IMPORT_BUNDLE = 2,   /* a whole Bundle (its entries are written together) */
} jl_import_kind;

typedef struct jl_import_item {
	uint8_t kind;       /* jl_import_kind */
	jl_str_t text;      /* valid until the next call on the reader */
	int64_t line;       /* 1-based line where the item starts */
	int64_t end;        /* content offset just after the item (and its line end) */
	int64_t end_line;   /* lines consumed through the item */
} jl_import_item_t;

typedef struct jl_import_reader jl_import_reader_t;

typedef struct jl_import_format {
	const char *name;          /* "ndjson", "ndjson.gz" … */
	const char *suffix;        /* file names ending so are read in this format */
	/*
	 * Opens path and positions it at content offset `offset`, where `line`
	 * lines have been consumed (0, 0: the start). JL_ENOTFOUND, JL_EIO
	 * (described in d).
	 */
	jl_rc (*open)(const char *path, int64_t offset, int64_t line, jl_import_reader_t **out, jl_diag_t *d);
	/*
	 * The next item. JL_OK with *it set; JL_ENOTFOUND at the end of the
	 * input; JL_ETOOBIG for an item over the cap (described in d, it->line
	 * and it->end set: it is skipped and reading may go on); JL_EIO when the
	 * file cannot be read further (described in d).
	 */
	jl_rc (*next)(jl_import_reader_t *r, jl_import_item_t *it, jl_diag_t *d);
	/* Bytes of the file on disk consumed so far (compressed bytes for .gz): for progress. */
	int64_t (*consumed)(const jl_import_reader_t *r);
	void (*close)(jl_import_reader_t *r);
} jl_import_format_t;

/* Largest item (one NDJSON line with its newline): the server's request body cap. */
#ifndef JL_IMPORT_ITEM_MAX
#define JL_IMPORT_ITEM_MAX ((size_t)64 << 20)
#endif

/* The format for a file name, or NULL when no format claims it. */
const jl_import_format_t *jl_import_format_for(const char *path);
/* Whether a directory entry with this name is imported when its directory is given. */
bool jl_import_wanted(const char *name);

#endif
