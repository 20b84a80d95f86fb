/*
 * log — JSON lines.
 */
#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "base/json.h"
#include "base/time.h"

void jl_log_init(jl_log_t *lg, int fd, jl_log_level min)
{
	lg->fd = fd;
	lg->min = min;
}

const char *jl_log_level_name(jl_log_level lv)
{
	switch (lv) {
	case JL_LOG_DEBUG: return "debug";
	case JL_LOG_INFO: return "info";
	case JL_LOG_WARN: return "warn";
	default: return "error";
	}
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += k;
		n -= (size_t)k;
	}
}

void jl_log_line(jl_log_t *lg, jl_str_t json)
{
	char line[2048];
	/* One write per line when it fits, so concurrent lines never interleave. */
	if (json.n < sizeof line) {
		memcpy(line, json.p, json.n);
		line[json.n] = '\n';
		write_all(lg->fd, line, json.n + 1);
	} else {
		write_all(lg->fd, json.p, json.n);
		write_all(lg->fd, "\n", 1);
	}
}

void jl_log_msg(jl_log_t *lg, jl_log_level lv, const char *fmt, ...)
{
	if (lv < lg->min)
		return;
	char msg[1024], ts[32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	jl_time_fmt_instant(jl_now_us(), ts);
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 8192);
	jl_jw_t w;
	jl_jw_init(&w, &b, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "ts");
	jl_jw_strc(&w, ts);
	jl_jw_keyc(&w, "level");
	jl_jw_strc(&w, jl_log_level_name(lv));
	jl_jw_keyc(&w, "msg");
	jl_jw_strc(&w, msg);
	jl_jw_obj_end(&w);
	if (!jl_buf_status(&b))
		jl_log_line(lg, jl_buf_str(&b));
	jl_buf_dispose(&b);
}
