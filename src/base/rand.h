/*
 * rand — unpredictable bytes from the kernel, and the identifiers built on
 * them: UUIDv7 logical ids (time-ordered, so new rows land at the right end
 * of the B-tree) and request ids. Thread-safe.
 */
#ifndef JL_BASE_RAND_H
#define JL_BASE_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf with n random bytes (getrandom); aborts only if the kernel refuses. */
void jl_rand_bytes(void *buf, size_t n);
/* Writes a lowercase UUIDv7 (36 chars + NUL) for the given time in µs. */
void jl_uuid_v7(int64_t now_us, char out[37]);
/* A 16-hex-char request id + NUL. */
void jl_request_id(char out[17]);

#endif
