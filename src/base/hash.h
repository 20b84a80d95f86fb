/*
 * hash — 64-bit hashing for index keys and hash tables. Search index rows
 * are keyed by the hash of (resource type, parameter, value …), so the
 * function must be stable across versions and platforms: changing it means
 * `jianlian reindex`. Not cryptographic; collisions at 64 bits are
 * negligible for index keys (2^-64 per pair).
 */
#ifndef JL_BASE_HASH_H
#define JL_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

/* Hash of n bytes, continuing from h (start with JL_HASH_SEED). */
uint64_t jl_hash_bytes(uint64_t h, const void *p, size_t n);
#define JL_HASH_SEED 0x9E3779B97F4A7C15ULL

/* Hash of several strings, each length-delimited (so ("ab","c") != ("a","bc")). */
uint64_t jl_hash_strs(const jl_str_t *s, size_t n);
/* Convenience for up to four parts (NULL-terminated use: pass n). */
uint64_t jl_hash4(jl_str_t a, jl_str_t b, jl_str_t c, jl_str_t d);

#endif
