/* Wire format shared with src/plan/encode.ts and src/linux/shim.ts. Little-endian. */
#ifndef TSRUN_SHIM_PROTOCOL_H
#define TSRUN_SHIM_PROTOCOL_H
#include <stdint.h>

#define PLAN_MAGIC 0x4c505354u /* "TSPL" */
#define PLAN_VERSION 1u

/* Plan: header, then nsteps steps; each step is a step_header and len payload bytes. */
struct plan_header {
	uint32_t magic;
	uint32_t version;
	uint32_t nsteps;
	uint32_t size; /* bytes after this header */
};

struct step_header {
	uint16_t op;
	uint16_t reserved;
	uint32_t len;
};

enum shim_op {
	OP_UNSHARE = 1, /* payload: u64 clone flags */
	OP_EXIT = 2,    /* payload: u32 exit status */
};

/* Report: sent by the shim after each step; detail_len bytes of text follow. */
struct report {
	uint32_t kind;
	uint32_t step;
	int32_t err; /* errno of a failed step, 0 otherwise */
	uint32_t detail_len;
};

enum report_kind {
	REPORT_STEP_OK = 1,
	REPORT_STEP_FAILED = 2,
	REPORT_PLAN_INVALID = 3,
};

#endif
