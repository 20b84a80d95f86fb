/*
 * text — Unicode text folding for search: the form in which string search
 * values are indexed and compared. Case-folded (Unicode full case
 * folding), accents removed (decompose, drop combining marks), and
 * compatibility forms unified (NFKC: full-width "ＡＢＣ１" → "ABC1", the
 * ideographic space → space), dashes and spaces lumped to ASCII, default
 * ignorables dropped, runs of whitespace collapsed and trimmed. So "Zoë",
 * "ZOE" and "ｚｏｅ" all fold to "zoe", and "王 小明" to "王 小明".
 * (utf8proc does the Unicode work; it allocates nothing here.)
 */
#ifndef JL_BASE_TEXT_H
#define JL_BASE_TEXT_H

#include "base/arena.h"
#include "base/err.h"
#include "base/str.h"

/* Folds valid UTF-8 `in` into an arena copy. JL_EINVAL for invalid UTF-8, JL_ENOMEM. */
jl_rc jl_text_fold(jl_arena_t *a, jl_str_t in, jl_str_t *out) JL_MUST_USE;

#endif
