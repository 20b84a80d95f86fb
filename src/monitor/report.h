/*
 * report — the annual report of a region (issue 6): one self-contained HTML
 * page (inline CSS, script and data, so it opens offline and prints to PDF)
 * with the indicator table against targets, a written summary of the targets
 * met and missed in Chinese and English, a table by sub-region, and county
 * maps and trends drawn by the console's report script (web/assets).
 *
 * Written from cubes the caller computed: cubes[ncubes - 1] is the report
 * year, the others earlier years for the trends (oldest first; any may be
 * NULL). Output goes to out; JL_ENOMEM when the buffer fails.
 */
#ifndef JL_MONITOR_REPORT_H
#define JL_MONITOR_REPORT_H

#include "base/str.h"
#include "monitor/engine.h"

jl_rc jl_report_html(const jl_cube_t *const *cubes, size_t ncubes, uint32_t node, jl_buf_t *out) JL_MUST_USE;

#endif
