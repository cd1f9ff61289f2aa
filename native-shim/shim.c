/*
 * tsrun native shim: executes a plan compiled by tsrun's TypeScript side.
 * It holds no policy: every step, value and order comes from the plan.
 * Usage: tsrun-shim SYNC_FD
 *   SYNC_FD is a unix stream socket: the shim reads a u32 length and the plan from it,
 *   then writes one report per step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol.h"

#define PLAN_MAX (1u << 20)

static int sync_fd = -1;

/* Moves exactly len bytes to (writing) or from fd, across short transfers and EINTR. */
static int transfer_all(int fd, void *buf, size_t len, int writing)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void report(uint32_t kind, uint32_t step, int err, const char *detail)
{
	struct report r = { kind, step, err, (uint32_t)strlen(detail) };
	if (transfer_all(sync_fd, &r, sizeof(r), 1) < 0 || transfer_all(sync_fd, (char *)detail, r.detail_len, 1) < 0)
		_exit(125);
}

static _Noreturn void plan_invalid(uint32_t step, const char *why)
{
	report(REPORT_PLAN_INVALID, step, EINVAL, why);
	_exit(126);
}

static uint64_t payload_u64(const unsigned char *p, uint32_t len, uint32_t step)
{
	uint64_t v;
	if (len != sizeof(v))
		plan_invalid(step, "payload is not a u64");
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t payload_u32(const unsigned char *p, uint32_t len, uint32_t step)
{
	uint32_t v;
	if (len != sizeof(v))
		plan_invalid(step, "payload is not a u32");
	memcpy(&v, p, sizeof(v));
	return v;
}

/* Runs one step; returns 0 or an errno, with *detail naming what failed. */
static int run_step(uint32_t step, uint16_t op, const unsigned char *payload, uint32_t len, const char **detail)
{
	switch (op) {
	case OP_UNSHARE:
		*detail = "unshare";
		return unshare((int)payload_u64(payload, len, step)) < 0 ? errno : 0;
	case OP_EXIT:
		_exit((int)payload_u32(payload, len, step));
	default:
		plan_invalid(step, "unknown op");
	}
}

int main(int argc, char **argv)
{
	struct plan_header h;
	uint32_t size;
	unsigned char *plan;

	if (argc != 2)
		return 127;
	sync_fd = atoi(argv[1]);

	if (transfer_all(sync_fd, &size, sizeof(size), 0) < 0 || size < sizeof(h) || size > PLAN_MAX)
		return 127;
	plan = malloc(size);
	if (plan == NULL || transfer_all(sync_fd, plan, size, 0) < 0)
		return 127;
	memcpy(&h, plan, sizeof(h));
	if (h.magic != PLAN_MAGIC || h.version != PLAN_VERSION || h.size != size - sizeof(h))
		plan_invalid(0, "bad plan header or version");

	size_t off = sizeof(h);
	for (uint32_t i = 0; i < h.nsteps; i++) {
		struct step_header s;
		const char *detail = "";
		if (size - off < sizeof(s))
			plan_invalid(i, "truncated step header");
		memcpy(&s, plan + off, sizeof(s));
		off += sizeof(s);
		if (size - off < s.len)
			plan_invalid(i, "truncated step payload");
		int err = run_step(i, s.op, plan + off, s.len, &detail);
		off += s.len;
		if (err != 0) {
			report(REPORT_STEP_FAILED, i, err, detail);
			return 1;
		}
		report(REPORT_STEP_OK, i, 0, "");
	}
	return 0;
}
