/*
 * assets — the web console's static files (page, stylesheet, the ECharts
 * bundles, county geometry), built by tools/build_console.mjs into one pack
 * and embedded in the binary with .incbin, so the program serves its console
 * with nothing next to it and nothing fetched at run time.
 *
 * Each asset is kept twice, as is and gzip-compressed (level 9 at build
 * time), with a content hash as its ETag. Lookups read the pack's text index
 * in place: no state, safe from any thread.
 */
#ifndef JL_WEB_ASSETS_H
#define JL_WEB_ASSETS_H

#include <stdbool.h>

#include "base/err.h"
#include "base/str.h"

typedef struct jl_asset {
	jl_str_t path;          /* "/", "/console/console.js", "/console/geo/532900.json" */
	jl_str_t content_type;
	jl_str_t etag;          /* quoted, as sent in the header */
	jl_str_t body;          /* the file */
	jl_str_t gzip;          /* the same, gzip-compressed */
} jl_asset_t;

/* The asset at path (borrowed, static storage). JL_ENOTFOUND when there is none. */
jl_rc jl_web_asset_find(jl_str_t path, jl_asset_t *out) JL_MUST_USE;

/* True when the build embedded the console (false in builds without node, e.g. fuzzing). */
bool jl_web_assets_built(void);

#endif
