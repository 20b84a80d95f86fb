/*
 * loadgen — an open-loop HTTP/1.1 load generator for latency at a fixed
 * offered rate.
 *
 * wrk is closed-loop: each connection waits for its answer before sending
 * again, so when the server stalls, wrk stops sending and the stall never
 * shows in its percentiles (coordinated omission), and at saturation it
 * measures queueing on the client's own CPU. Here request i is due at
 * t0 + i/rate whatever happened before; its latency runs from that due
 * time to the last byte of its answer. When every connection is busy, due
 * requests wait and that wait counts.
 *
 * usage: loadgen HOST PORT RATE SECONDS CONNS PATHFILE [METHOD BODYFILE CONTENT-TYPE]
 *   PATHFILE holds one request path per line (used round robin).
 * Prints achieved rate, latency percentiles (µs) and non-2xx count; exit 1
 * if any request failed at the transport level.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"

typedef struct conn {
	int fd;
	int busy;
	int64_t due_ns; /* due time of the request in flight */
	char in[65536];
	size_t inn;
} conn_t;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = len >= 0 ? jl_malloc(JL_MEM_MISC, (size_t)len + 1) : NULL;
	if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
		jl_free(JL_MEM_MISC, b);
		b = NULL;
	}
	fclose(f);
	if (b)
		b[len] = 0;
	*n = (size_t)len;
	return b;
}

static int dial(const char *host, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, host, &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Returns the length of a complete response at the start of c->in, or 0. Sets *status. */
static size_t complete(conn_t *c, int *status)
{
	c->in[c->inn < sizeof c->in ? c->inn : sizeof c->in - 1] = 0;
	char *end = strstr(c->in, "\r\n\r\n");
	if (!end)
		return 0;
	size_t hl = (size_t)(end - c->in) + 4;
	long cl = 0;
	char *p = strcasestr(c->in, "\r\ncontent-length:");
	if (p && p < end)
		cl = strtol(p + 17, NULL, 10);
	if (c->inn < hl + (size_t)cl)
		return 0;
	*status = (int)strtol(c->in + 9, NULL, 10);
	return hl + (size_t)cl;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr, "usage: loadgen HOST PORT RATE SECONDS CONNS PATHFILE [METHOD BODYFILE CONTENT-TYPE]\n");
		return 2;
	}
	const char *host = argv[1];
	int port = (int)strtol(argv[2], NULL, 10);
	double rate = atof(argv[3]), secs = atof(argv[4]);
	int nconn = (int)strtol(argv[5], NULL, 10);
	size_t pn = 0, bn = 0;
	char *paths = slurp(argv[6], &pn);
	const char *method = argc > 7 ? argv[7] : "GET";
	char *body = argc > 8 ? slurp(argv[8], &bn) : NULL;
	const char *ctype = argc > 9 ? argv[9] : "application/fhir+json";
	if (!paths || rate <= 0 || secs <= 0 || nconn < 1 || nconn > 1024) {
		fprintf(stderr, "loadgen: bad arguments\n");
		return 2;
	}
	/* One path per line; lines are cut in place. */
	size_t np = 0;
	for (size_t i = 0; i < pn; i++)
		np += paths[i] == '\n';
	char **pl = jl_calloc(JL_MEM_MISC, np + 1, sizeof *pl);
	np = 0;
	for (char *s = paths; s && *s;) {
		char *nl = strchr(s, '\n');
		if (nl)
			*nl = 0;
		if (*s)
			pl[np++] = s;
		s = nl ? nl + 1 : NULL;
	}
	if (!np) {
		fprintf(stderr, "loadgen: no paths in %s\n", argv[6]);
		return 2;
	}
	conn_t *cs = jl_calloc(JL_MEM_MISC, (size_t)nconn, sizeof *cs);
	int ep = epoll_create1(0);
	for (int i = 0; i < nconn; i++) {
		cs[i].fd = dial(host, port);
		if (cs[i].fd < 0) {
			fprintf(stderr, "loadgen: cannot connect to %s:%d\n", host, port);
			return 1;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	size_t total = (size_t)(rate * secs);
	int64_t *lat = jl_malloc(JL_MEM_MISC, (total ? total : 1) * sizeof *lat);
	size_t sent = 0, done = 0, non2xx = 0, errors = 0;
	int64_t interval = (int64_t)(1e9 / rate), t0 = now_ns() + 1000000;
	char req[4096];
	while (done + errors < total) {
		int64_t now = now_ns();
		/* Send every request that is due, on free connections. */
		for (int i = 0; i < nconn && sent < total; i++) {
			int64_t due = t0 + (int64_t)sent * interval;
			if (due > now)
				break;
			if (cs[i].busy || cs[i].fd < 0)
				continue;
			const char *path = pl[sent % np];
			int k = snprintf(req, sizeof req,
					 "%s %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: application/fhir+json\r\n%s%s%s"
					 "Content-Length: %zu\r\n\r\n",
					 method, path, host, port, body ? "Content-Type: " : "", body ? ctype : "",
					 body ? "\r\nPrefer: return=minimal\r\n" : "", body ? bn : (size_t)0);
			if (write(cs[i].fd, req, (size_t)k) != k || (body && write(cs[i].fd, body, bn) != (ssize_t)bn)) {
				errors++;
				sent++;
				continue;
			}
			cs[i].busy = 1;
			cs[i].due_ns = due;
			sent++;
			i = -1; /* rescan from the first connection for the next due request */
		}
		/* Sleep until the next request is due or an answer arrives — never spin: on a
		 * 2-core machine a spinning generator would take a core from the server. When a
		 * request is overdue because every connection is busy, only an answer helps. */
		int free_conn = 0;
		for (int i = 0; i < nconn; i++)
			free_conn |= !cs[i].busy && cs[i].fd >= 0;
		now = now_ns();
		int64_t next_due = sent < total ? t0 + (int64_t)sent * interval : now + 1000000;
		int64_t wait = next_due - now;
		if (wait < 0 || !free_conn)
			wait = free_conn ? 0 : 100000000;
		struct timespec ts = {.tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000};
		struct epoll_event evs[64];
		int n = epoll_pwait2(ep, evs, 64, &ts, NULL);
		for (int e = 0; e < n; e++) {
			conn_t *c = &cs[evs[e].data.u32];
			ssize_t r = read(c->fd, c->in + c->inn, sizeof c->in - c->inn - 1);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				errors++;
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->inn += (size_t)r;
			int status;
			size_t len = complete(c, &status);
			if (!len)
				continue;
			lat[done++] = now_ns() - c->due_ns;
			if (status < 200 || status > 299)
				non2xx++;
			memmove(c->in, c->in + len, c->inn - len);
			c->inn -= len;
			c->busy = 0;
		}
		if (sent == total && done + errors < total && now_ns() - (t0 + (int64_t)total * interval) > 10000000000LL)
			break; /* 10 s after the last due time: give up on the stragglers */
	}
	double elapsed = (double)(now_ns() - t0) / 1e9;
	qsort(lat, done, sizeof *lat, cmp64);
#define PCT(p) (done ? (double)lat[(size_t)((double)(done - 1) * (p))] / 1000.0 : 0.0)
	printf("offered %.0f req/s for %.1f s over %d connections: %zu answered (%.0f req/s), %zu non-2xx, %zu failed\n",
	       rate, secs, nconn, done, (double)done / elapsed, non2xx, errors);
	printf("latency us: p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n", PCT(0.50), PCT(0.90), PCT(0.99),
	       PCT(0.999), done ? (double)lat[done - 1] / 1000.0 : 0.0);
	printf("loadgen-result: answered_rps=%.0f p50_us=%.0f p99_us=%.0f non2xx=%zu failed=%zu\n",
	       (double)done / elapsed, PCT(0.50), PCT(0.99), non2xx, errors);
	return errors ? 1 : 0;
}
