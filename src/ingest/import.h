/*
 * import — bulk import of files into the store: the engine behind
 * `jianlian import` (cli/import.c) and `POST /fhir/$import` (rest/import.c).
 *
 * Files are read in the order given (a directory stands for its NDJSON
 * files, sorted by name), each item goes through ingest (validation,
 * indexing, batched pipelined writes), and every bad item is reported —
 * file, line, reason, FHIRPath expression — to an error file while the
 * good ones commit.
 *
 * Resumable: with each batch, in the same transaction, the import records
 * for every input file it touched how far that file has been committed
 * (store setting "import:<identity>": content offset, line, counts, size of
 * the error file). A file's identity is its size and a hash of its first
 * and last 64 KiB, so a renamed or copied file is still the same input and
 * a changed one is a new input. Run again after a crash (kill -9, power
 * loss), the same import skips exactly what was committed, truncates the
 * error file to the committed point and goes on: the store ends with the
 * same content as an uninterrupted run. A file whose import completed is
 * skipped on later runs unless `restart` is set.
 *
 * Resource content never reaches the error file (it holds personal data):
 * quoted values in messages are replaced by "…".
 *
 * Not thread-safe: one thread runs an import; `cancel` may be set from any.
 */
#ifndef JL_INGEST_IMPORT_H
#define JL_INGEST_IMPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "ingest/ingest.h"
#include "ingest/reader.h"

typedef struct jl_import jl_import_t;

/* Where the import is, for a progress display; called from the importing thread. */
typedef struct jl_import_progress {
	int64_t bytes_done, bytes_total; /* input bytes on disk (compressed for .gz) read by this run / to read */
	int64_t read, written, rejected; /* items of this run; written: committed */
	int64_t elapsed_ns;
	const char *file;                /* the file being read (NULL at the end) */
	bool indexing;                   /* everything is read: the store completes the search index */
	bool final;                      /* the last call, after everything committed */
} jl_import_progress_t;
typedef void (*jl_import_progress_fn)(void *arg, const jl_import_progress_t *p);

/*
 * A Bundle item (a ".json" file: a Bundle or one resource). Everything
 * queued before it has committed when the hook runs. The hook writes the
 * item either with jl_ingest_add on g (it then commits with the batch and
 * the import's position), or in a transaction of its own that also writes
 * the setting (mark_key, mark_value) — the file's position after the item
 * — so that a resumed import skips exactly what committed. JL_EINVAL /
 * JL_EINVALID reject the item (issues in d; it must then have written
 * nothing); other codes stop the import.
 */
typedef jl_rc (*jl_import_bundle_fn)(void *arg, jl_ingest_t *g, jl_str_t json, jl_str_t mark_key,
				     jl_str_t mark_value, jl_diag_t *d);

typedef enum jl_import_errfmt {
	JL_IMPORT_ERR_LINES = 0, /* {"file","line","reason","expression","code"} per bad item */
	JL_IMPORT_ERR_OUTCOME,   /* one OperationOutcome per bad item (bulk data $import) */
} jl_import_errfmt;

typedef struct jl_import_cfg {
	jl_store_t *store;
	const jl_search_defs_t *defs;    /* NULL: no search indexing */
	uint32_t batch;                  /* resources per transaction (0 = 5000) */
	bool restart;                    /* ignore what earlier runs recorded: import everything again */
	const char *errors_path;         /* error file (NULL: bad items are counted only) */
	uint8_t errors_format;           /* jl_import_errfmt */
	jl_import_progress_fn progress;  /* NULL: none; else called about 5 times a second and at the end */
	void *progress_arg;
	const atomic_bool *cancel;       /* NULL, or set to stop after the batch being read (JL_EBUSY) */
	jl_import_bundle_fn bundle;      /* NULL: Bundle items are rejected as unsupported */
	void *bundle_arg;
} jl_import_cfg_t;

/* One input file, as the import saw it. */
typedef struct jl_import_file {
	const char *path;                /* as given (or directory/name) */
	const char *format;              /* reader format name */
	int64_t size;                    /* bytes on disk */
	int64_t lines;                   /* lines consumed so far (all runs) */
	int64_t read, written, rejected; /* items: all runs together */
	int64_t resumed_line;            /* > 0: this run started after that line (an earlier run committed it) */
	bool skipped;                    /* complete before this run: nothing read */
	bool duplicate;                  /* same content as an earlier file of this import: not read */
	bool done;                       /* read to the end and committed */
	const char *error;               /* the file could not be read to its end (NULL: fine) */
} jl_import_file_t;

typedef struct jl_import_stats {
	int64_t read, written, rejected; /* this run */
	int64_t files, files_failed;
	int64_t errors_bytes;            /* size of the error file at the end */
	int64_t elapsed_ns;
	int64_t retried;                 /* batches written twice because a resource existed (ESTALE) */
} jl_import_stats_t;

jl_rc jl_import_new(const jl_import_cfg_t *cfg, jl_import_t **out) JL_MUST_USE;
/*
 * Adds an input: a file in a known format, or a directory (its *.ndjson,
 * *.ndjson.gz, *.jsonl and *.jsonl.gz files, sorted by name; not
 * recursive). JL_ENOTFOUND (no such path), JL_EUNSUPPORTED (a file of no
 * known format), JL_EIO; described in d, nothing added.
 */
jl_rc jl_import_add_path(jl_import_t *im, const char *path, jl_diag_t *d) JL_MUST_USE;
/*
 * Adds one file under a label: the name the error file and the progress
 * records show instead of the path (e.g. the URL a client gave, so that a
 * server's directory layout is not revealed). JL_EUNSUPPORTED, JL_ENOMEM.
 */
jl_rc jl_import_add_file(jl_import_t *im, const char *path, const char *label, jl_diag_t *d) JL_MUST_USE;
/*
 * Runs the import to the end. JL_OK when every file was read to its end
 * and everything accepted committed (rejected items are not failures: see
 * the stats); JL_EIO, JL_EBUSY (cancelled or the store is closing) … when
 * it stopped, with what committed before kept and recorded (d says why).
 */
jl_rc jl_import_run(jl_import_t *im, jl_diag_t *d) JL_MUST_USE;
const jl_import_stats_t *jl_import_stats(const jl_import_t *im);
/* The inputs, in import order (i < jl_import_nfiles); valid until jl_import_free. */
size_t jl_import_nfiles(const jl_import_t *im);
const jl_import_file_t *jl_import_file(const jl_import_t *im, size_t i);
void jl_import_free(jl_import_t *im);

#endif
