/*
 * zdict — embeds data/zdict-fhir-v1.bin with the assembler's .incbin (path
 * relative to the repository root, where make runs the compiler);
 * zdict.gen.h changes whenever the dictionary does, so this object is
 * rebuilt with it.
 */
#include "store/zdict.h"

#include "store/zdict.gen.h"

__asm__(".section .rodata\n"
	".balign 16\n"
	".globl jl__zdict_blob\n"
	"jl__zdict_blob:\n"
	".incbin \"data/zdict-fhir-v1.bin\"\n"
	".globl jl__zdict_blob_end\n"
	"jl__zdict_blob_end:\n"
	".byte 0\n"
	".previous\n");
extern const unsigned char jl__zdict_blob[];
extern const unsigned char jl__zdict_blob_end[];

const void *jl__zdict(size_t *n, uint32_t *id)
{
	size_t size = (size_t)(jl__zdict_blob_end - jl__zdict_blob);
	/* A zstd dictionary starts with its magic number and carries its id right after. */
	if (size != JL_ZDICT_SIZE || size < 8 || jl__zdict_blob[0] != 0x37 || jl__zdict_blob[1] != 0xA4 ||
	    jl__zdict_blob[2] != 0x30 || jl__zdict_blob[3] != 0xEC)
		return NULL;
	uint32_t got = (uint32_t)jl__zdict_blob[4] | (uint32_t)jl__zdict_blob[5] << 8 |
		       (uint32_t)jl__zdict_blob[6] << 16 | (uint32_t)jl__zdict_blob[7] << 24;
	if (got != JL_ZDICT_ID)
		return NULL;
	*n = size;
	*id = got;
	return jl__zdict_blob;
}
