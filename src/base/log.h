/*
 * log — one JSON object per line, written with a single write(2) so lines
 * from concurrent threads never interleave. Personal data must never reach
 * a log: callers pass paths with query values removed (see rest/), and
 * message text is ours, not the client's.
 */
#ifndef JL_BASE_LOG_H
#define JL_BASE_LOG_H

#include "base/err.h"
#include "base/str.h"

typedef enum jl_log_level { JL_LOG_DEBUG, JL_LOG_INFO, JL_LOG_WARN, JL_LOG_ERROR } jl_log_level;

typedef struct jl_log {
	int fd;            /* where lines go (stderr by default) */
	jl_log_level min;  /* lines below this level are dropped */
} jl_log_t;

void jl_log_init(jl_log_t *lg, int fd, jl_log_level min);
/* {"ts":…,"level":…,"msg":…} */
void jl_log_msg(jl_log_t *lg, jl_log_level lv, const char *fmt, ...) JL_PRINTF(3, 4);
/* Writes a finished line (a JSON object without the newline). */
void jl_log_line(jl_log_t *lg, jl_str_t json);
const char *jl_log_level_name(jl_log_level lv);

#endif
