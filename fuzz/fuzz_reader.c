/*
 * libFuzzer target: the bulk-import readers (ingest/reader.c) — NDJSON
 * lines, gzip-compressed NDJSON and whole-file JSON — on arbitrary bytes,
 * from the start and resumed at an arbitrary offset. Every item must lie
 * inside the input and positions must never go backwards; bad input ends
 * in a clean error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/arena.h"
#include "ingest/reader.h"

static char path[3][64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const char *const suffix[3] = {".ndjson", ".ndjson.gz", ".json"};
	for (int i = 0; i < 3; i++)
		snprintf(path[i], sizeof path[i], "/tmp/jl-fuzz-reader-%d%s", (int)getpid(), suffix[i]);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int which = data[0] % 3;
	int64_t start = data[1] & 1 ? (int64_t)(data[1] >> 1) : 0; /* resume somewhere in the first 127 bytes */
	FILE *f = fopen(path[which], "wb");
	if (!f)
		return 0;
	fwrite(data + 2, 1, size - 2, f);
	fclose(f);
	const jl_import_format_t *fmt = jl_import_format_for(path[which]);
	if (!fmt)
		abort();
	jl_arena_t *a = jl_arena_new(4096, 16u << 20);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_import_reader_t *r;
	if (fmt->open(path[which], start, 0, &r, &d) == JL_OK) {
		int64_t last = start;
		for (int k = 0; k < 100000; k++) {
			jl_import_item_t it;
			jl_diag_init(&d, a);
			jl_rc rc = fmt->next(r, &it, &d);
			if (rc == JL_ENOTFOUND || rc == JL_EIO)
				break;
			/* an item larger than the input (uncompressed formats), or a position going back */
			if (rc == JL_OK && ((which != 1 && it.text.n > size) || it.end < last))
				abort();
			if (rc != JL_OK && rc != JL_ETOOBIG)
				break;
			last = it.end;
		}
		fmt->close(r);
	}
	jl_arena_free(a);
	unlink(path[which]);
	return 0;
}
