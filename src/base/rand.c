/*
 * rand — getrandom(2) based. A per-thread buffer amortises the syscall:
 * request ids are made on every request.
 */
#include "base/rand.h"

#include <string.h>
#include <sys/random.h>

#include "base/err.h"

static _Thread_local unsigned char pool[256];
static _Thread_local size_t pool_left;

void jl_rand_bytes(void *buf, size_t n)
{
	unsigned char *o = buf;
	while (n) {
		if (!pool_left) {
			size_t got = 0;
			while (got < sizeof pool) {
				ssize_t k = getrandom(pool + got, sizeof pool - got, 0);
				if (k < 0)
					jl_fatal("getrandom failed");
				got += (size_t)k;
			}
			pool_left = sizeof pool;
		}
		size_t k = n < pool_left ? n : pool_left;
		memcpy(o, pool + sizeof pool - pool_left, k);
		/* Burn what was handed out so a later fork or dump cannot replay it. */
		memset(pool + sizeof pool - pool_left, 0, k);
		pool_left -= k;
		o += k;
		n -= k;
	}
}

static const char hex[] = "0123456789abcdef";

void jl_uuid_v7(int64_t now_us, char out[37])
{
	unsigned char b[16];
	uint64_t ms = (uint64_t)(now_us / 1000);
	jl_rand_bytes(b + 6, 10);
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (b[6] & 0x0F));
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3F));
	int k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[b[i] >> 4];
		out[k++] = hex[b[i] & 15];
	}
	out[k] = 0;
}

void jl_request_id(char out[17])
{
	unsigned char b[8];
	jl_rand_bytes(b, sizeof b);
	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[16] = 0;
}
