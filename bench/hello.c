/*
 * hello — the HTTP ceiling: a plain libmicrohttpd server set up as
 * src/rest/server.c sets up ours (internal polling thread + epoll with a
 * thread pool, the same flags and connection limits, the two-step access
 * handler) that answers every request with a fixed ~1 KB FHIR JSON body.
 * scripts/bench.sh measures it with the same wrk settings right next to the
 * read-by-id run, so the ratio says how much of the achievable rate the FHIR
 * server keeps. Any method is accepted; a request body is read and dropped.
 *
 *   build/bench/hello PORT [THREADS]    (PORT 0 picks a free port)
 *
 * THREADS defaults to 4 per core and at least 8; scripts/bench.sh passes the
 * number of MHD worker threads the running server has, so the two pools
 * match even when the server's default changes.
 *
 * Prints "hello: listening on 127.0.0.1:PORT" once ready; stops on SIGTERM
 * or SIGINT.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ~1 KB: a vital-signs Observation, as the read benchmark returns. */
/* clang-format off */
static const char BODY[] =
	"{\"resourceType\":\"Observation\",\"id\":\"0190c3a1-5c2e-7b4d-9a61-3f0e8d2b7c45\",\"meta\":{\"versionId\":\"1\","
	"\"lastUpdated\":\"2026-11-22T08:15:00.000Z\",\"profile\":[\"http://hl7.org/fhir/StructureDefinition/"
	"vitalsigns\"]},\"status\":\"final\",\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/"
	"CodeSystem/observation-category\",\"code\":\"vital-signs\",\"display\":\"Vital Signs\"}],\"text\":\"Vital "
	"Signs\"}],\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8867-4\",\"display\":\"Heart "
	"rate\"}],\"text\":\"Heart rate\"},\"subject\":{\"reference\":\"Patient/"
	"0190c39f-2a7b-7e11-8c3d-5b9a0f6e1d27\",\"display\":\"Duan Lihua\"},\"encounter\":{\"reference\":"
	"\"Encounter/0190c3a0-11d4-7a2e-b5f8-6c0d9e3a4b12\"},\"effectiveDateTime\":\"2026-11-22T08:14:30+08:00\","
	"\"issued\":\"2026-11-22T08:15:00.000+08:00\",\"performer\":[{\"reference\":\"Practitioner/"
	"0190c390-77aa-7c31-a2e4-9d8f1b0c6e53\"}],\"valueQuantity\":{\"value\":72,\"unit\":\"beats/minute\","
	"\"system\":\"http://unitsofmeasure.org\",\"code\":\"/min\"},\"interpretation\":[{\"coding\":[{\"system\":"
	"\"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation\",\"code\":\"N\",\"display\":"
	"\"Normal\"}]}],\"device\":{\"display\":\"Bedside monitor, ward 3\"},\"note\":[{\"text\":\"Resting, seated, "
	"5 minutes after arrival.\"}]}";
/* clang-format on */

typedef struct req {
	int seen;
} req_t;

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				 const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	static req_t first_call_marker;
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	/* Two steps, as our server: queueing on the first call makes MHD 0.9.75 close the connection. */
	if (*con_cls == NULL) {
		*con_cls = &first_call_marker;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* read and dropped */
		return MHD_YES;
	}
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(sizeof BODY - 1, (void *)BODY, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/fhir+json; charset=utf-8");
	enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: hello PORT [THREADS]\n");
		return 2;
	}
	char *end;
	long port = strtol(argv[1], &end, 10);
	if (*end || port < 0 || port > 65535) {
		fprintf(stderr, "hello: bad port %s\n", argv[1]);
		return 2;
	}
	/* Without THREADS: 4 per core, at least 8 (the server's first default). */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = ncpu > 0 ? (unsigned)ncpu * 4 : 8;
	if (threads < 8)
		threads = 8;
	if (argc > 2) {
		long t = strtol(argv[2], &end, 10);
		if (*end || t < 1 || t > 1024) {
			fprintf(stderr, "hello: bad thread count %s\n", argv[2]);
			return 2;
		}
		threads = (unsigned)t;
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* MHD's threads inherit the mask */

	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO;
	struct MHD_Daemon *d = MHD_start_daemon(
	    flags, (uint16_t)port, NULL, NULL, access_cb, NULL, MHD_OPTION_SOCK_ADDR, &sa,
	    MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "hello: cannot listen on port %ld\n", port);
		return 1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("hello: listening on 127.0.0.1:%u (%u threads, %zu-byte body)\n",
	       info ? info->port : (unsigned)port, threads, sizeof BODY - 1);
	fflush(stdout);
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
