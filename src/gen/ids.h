/*
 * ids — the national identifier check rules the generator must satisfy
 * (../shared/standards/identifiers.md): the citizen ID (GB 11643-1999,
 * ISO 7064 MOD 11-2), the unified social credit code (GB 32100-2015, MOD 31)
 * and the organisation code embedded in it (GB 11714-1997, MOD 11).
 * Pure functions, thread-safe.
 */
#ifndef JL_GEN_IDS_H
#define JL_GEN_IDS_H

#include <stdbool.h>

/* Check character of the first 17 digits of a citizen ID ('0'-'9' or 'X'); 0 if not 17 digits. */
char jl_cnid_check(const char *id17);
/* Whether an 18-character citizen ID is well-formed with a correct check character. */
bool jl_cnid_valid(const char *id18);

/* Check character of the 8-character body of an organisation code; 0 if bad characters. */
char jl_orgcode_check(const char *body8);
/* Check character (position 18) of the first 17 characters of a USCC; 0 if bad characters. */
char jl_uscc_check(const char *code17);
/* Whether an 18-character USCC has a correct position-18 character and a correct embedded org code. */
bool jl_uscc_valid(const char *code18);

#endif
