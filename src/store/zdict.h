/*
 * zdict — the built-in zstd dictionary for resource bodies (data/zdict-fhir-v1.bin,
 * trained by tools/gen_zdict.mjs on the official R4 examples and on a
 * generated region that the benchmarks do not use). Small JSON documents
 * compress poorly alone; with the dictionary a generated ~760-byte body
 * stores in ~115 bytes instead of ~410, and compresses 4× faster.
 *
 * The store writes bodies compressed with it as ver.enc = 2 (ENC_ZDICT).
 * Its zstd dictionary id travels in every frame, so a later dictionary gets
 * a new id and this one stays readable.
 */
#ifndef JL_STORE_ZDICT_H
#define JL_STORE_ZDICT_H

#include <stddef.h>
#include <stdint.h>

/* The dictionary's bytes (static, read-only), or NULL if the embedded blob is damaged. */
const void *jl__zdict(size_t *n, uint32_t *id);

#endif
