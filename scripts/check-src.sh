#!/usr/bin/env bash
# Mechanical checks of our C sources (STYLE.md): banned functions, raw heap
# allocation outside src/base/, SQL built by formatting. Exit 1 on a hit.
set -uo pipefail
cd "$(dirname "$0")/.."
files=$(find src tests bench fuzz -name '*.c' -o -name '*.h' | grep -v '\.gen\.c$' | sort)
status=0
banned='(^|[^.>_[:alnum:]])(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol)\('
if grep -nE "$banned" $files; then
  echo "check-src: banned function (use snprintf, jl_buf_t, jl_str_to_i64 …)"; status=1
fi
raw='(^|[^.>_[:alnum:]])(malloc|calloc|realloc|free|strdup|strndup)\('
if grep -nE "$raw" $(echo "$files" | grep -v '^src/base/alloc\.c$'); then
  echo "check-src: raw heap allocation outside src/base/alloc.c (use jl_malloc/jl_free or an arena)"; status=1
fi
# SQL must be parameterised: no printf-style formatting of SQL text.
if grep -nE 'printf\([^;]*"[[:space:]]*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA)\b' $files; then
  echo "check-src: SQL built with printf (bind parameters instead)"; status=1
fi
[ $status -eq 0 ] && echo "check-src: ok ($(echo "$files" | wc -l) files)"
exit $status
