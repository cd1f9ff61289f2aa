/* Wire format shared with src/plan/encode.ts and src/linux/shim.ts. Little-endian. */
#ifndef TSRUN_SHIM_PROTOCOL_H
#define TSRUN_SHIM_PROTOCOL_H
#include <stdint.h>

#define PLAN_MAGIC 0x4c505354u /* "TSPL" */
#define PLAN_VERSION 9u
#define CONSOLE_KEEP_OWNER 0xffffffffu /* OP_CONSOLE: leave the pty's owner as the kernel made it */

/*
 * Plan: header, then nsteps steps; each step is a step_header and len payload bytes.
 * Payload fields, in the order listed per op: u32, u64, str (u32 length, bytes, NUL),
 * strv (u32 count, then that many str), u32v (u32 count, then that many u32),
 * bytes (u32 length, then the bytes).
 */
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
	OP_UNSHARE = 1,        /* u64 flags */
	OP_EXIT = 2,           /* u32 status */
	OP_CLONE = 3,          /* u64 flags, u32 parent_mode (enum parent_mode), str root, strv tree targets, u32v their create modes */
	OP_SETNS = 4,          /* str path, u32 nstype */
	OP_NEXT_PLAN = 5,      /* (none): read the next plan from the sync socket and run it instead of the rest */
	OP_SYNC = 6,           /* (none): report REPORT_SYNC, then wait like OP_WAIT_PARENT */
	OP_SET_IDS = 7,        /* u32 uid, u32 gid, u32 set_groups, u32v groups */
	OP_ROOTFS = 8,         /* str path: the directory later steps resolve paths in */
	OP_MOUNT = 9,          /* str source, str target, str fstype, u64 flags, str data, u32 create */
	OP_MKNOD = 10,         /* str path, u32 mode, u64 dev, u32 uid, u32 gid, u32 enum existing */
	OP_SYMLINK = 11,       /* str target, str linkpath, u32 enum existing */
	OP_PIVOT = 12,         /* u32 enum pivot_mode */
	OP_SETHOSTNAME = 13,   /* str name */
	OP_SETDOMAINNAME = 14, /* str name */
	OP_WRITE_FILE = 15,    /* str base (in the root), str path below it (crossing no mount), str content, u64 base's statfs magic */
	OP_SETRLIMIT = 16,     /* u32 resource, u64 soft, u64 hard */
	OP_CAPS = 17,          /* u32 last_cap, u64 effective, permitted, inheritable, ambient */
	OP_NO_NEW_PRIVS = 18,  /* (none) */
	OP_UMASK = 19,         /* u32 mask */
	OP_CHDIR = 20,         /* str path, u32 enum chdir_mode */
	OP_HOOK = 21,          /* str path, strv argv, strv envp, u32 timeout seconds (0: none), str stdin, str cwd ("": the shim's) */
	OP_OPEN_FIFO = 22,     /* str path */
	OP_READY = 23,         /* (none): report REPORT_READY; the sync socket is closed after it */
	OP_WAIT_START = 24,    /* (none): open the FIFO for writing (blocks until start), write one byte */
	OP_FIND_EXEC = 25,     /* str file, str PATH value */
	OP_EXEC = 26,          /* strv argv, strv envp */
	OP_CLOSE_FDS = 27,     /* u32 first fd to mark close-on-exec */
	OP_MASK = 28,          /* str path, str null device path: a dir gets a read-only tmpfs, anything else the device */
	OP_PERSONALITY = 29,   /* u32 persona */
	OP_IOPRIO = 30,        /* u32 ioprio value */
	OP_READONLY = 31,      /* str path: bind it onto itself read-only (absent: nothing to do) */
	OP_SETATTR = 33,       /* str path, u64 attr_set, u64 attr_clr, u32 recursive: mount_setattr on the mount at path */
	OP_SCHED = 36,         /* u32 policy, u32 nice (signed), u32 priority, u64 flags, u64 runtime, u64 deadline, u64 period */
	OP_IDMAP_TREE = 37,    /* str source, u32 recursive, u32v uid map triples, u32v gid map triples: an idmapped detached copy, attached by CLONE's parent */
	OP_SECCOMP = 39,       /* u32 flags, bytes program (struct sock_filter[]), str message: load the filter; with
	                          SECCOMP_FILTER_FLAG_NEW_LISTENER, send message and the listener fd (SCM_RIGHTS) over
	                          the socket OP_CONNECT opened, then close both */
	OP_CONNECT = 40,       /* u32 enum socket_slot, str path: connect a unix stream socket to path */
	OP_CONSOLE_RELAY = 44, /* (none): a socketpair in the console slot: CLONE's relay parent receives the pty
	                          master on its end and connects it to the shim's stdin and stdout */
	OP_SESSION_KEYRING = 46, /* str name: join a new session keyring of that name */
	OP_CONSOLE = 45,       /* u32 rows, u32 cols (0: leave), str console path ("" for none), u32 owner uid
	                          (CONSOLE_KEEP_OWNER: leave): make a pty in the container (its /dev/ptmx), send the
	                          master over the console slot, bind the peer onto the console path, give the peer
	                          to the owner (its group kept; EINVAL or EPERM, an id not mapped, leave it as it
	                          is), make the peer the controlling terminal and stdio */
	OP_SETNS_FD = 42,      /* u32 fd (a pidfd, or a namespace fd), u32 nstype flags: setns(fd, flags) */
	OP_DUMPABLE = 43,      /* u32 value: prctl(PR_SET_DUMPABLE, value) */
	OP_BPF_DEVICE = 41,    /* str cgroup dir, bytes program (struct bpf_insn[]): load it as a cgroup device
	                          program and attach it to the cgroup (BPF_F_ALLOW_MULTI) */
	OP_BOUNDING = 32,      /* u32 last_cap, u64 bounding set to keep (needs CAP_SETPCAP: before dropping root) */
	OP_MKDIR = 47,         /* str path: make the directory and those above it in the root, like a mount target */
	OP_OPEN_SOURCE = 49,   /* str host path, u32 recursive: a detached copy of it (open_tree, with the rights of the
	                          shim before any namespace is joined), the next bind source a MOUNT_SOURCE_INDEX mount
	                          attaches by index */
	OP_DETACH = 48,        /* str absolute path (not in the root): umount2 MNT_DETACH; where the kernel refuses
	                          (a mount locked by a user namespace), cover it with an empty read-only tmpfs */
};

enum chdir_mode {
	CHDIR_NOW = 0,
	CHDIR_TRY = 1,     /* EACCES or EPERM leaves it to a later CHDIR_PENDING (after the ids switch) */
	CHDIR_PENDING = 2, /* only when a CHDIR_TRY left it */
};

/* The sockets a plan may connect (OP_CONNECT), and what goes over each. */
enum socket_slot {
	SOCKET_AGENT = 0,   /* the seccomp agent: OP_SECCOMP's listener */
	SOCKET_CONSOLE = 1, /* the console socket: OP_CONSOLE's pty master */
	SOCKET_PIDFD = 2,   /* the pidfd socket: CLONE's parent sends a pidfd of the child */
	SOCKET_SLOTS = 3,
};

enum parent_mode {
	PARENT_EXIT = 0,  /* report the child's pid and exit */
	PARENT_RELAY = 1, /* report, then forward signals to the child and exit with its status */
};

enum pivot_mode {
	PIVOT_ROOT = 0,   /* pivot_root(2) and detach the old root */
	PIVOT_MOVE = 1,   /* move the root onto / and chroot (for a root on ramfs) */
	PIVOT_CHROOT = 2, /* chroot only (no mount namespace of its own) */
};

/* What a node or link step does when something already has its name. */
enum existing {
	EXISTING_FAIL = 0,
	EXISTING_KEEP = 1,    /* leave it: it counts as made */
	EXISTING_REPLACE = 2, /* unlink it (not a directory), then make the new one */
};

enum create_mode {
	CREATE_NONE = 0,
	CREATE_DIR = 1,
	CREATE_FILE = 2,
	CREATE_MASK = 0xff,
	/* With MS_REMOUNT: keep the target's nosuid/nodev/noexec/atime flags (a user namespace may not clear them). */
	KEEP_LOCKED_FLAGS = 0x100,
	/* The source is the decimal index of an OP_OPEN_SOURCE copy, attached at the target (move_mount). */
	MOUNT_SOURCE_INDEX = 0x200,
	/* The target's last component must be a directory, never a link (nor anything else) already there. */
	ORDINARY_DIR = 0x400,
};

/* Report: sent by the shim after each step; detail_len bytes of text follow. */
struct report {
	uint32_t kind;
	uint32_t step;
	int32_t value; /* errno of a failed step (0: see detail), pid for REPORT_PID */
	uint32_t detail_len;
};

enum report_kind {
	REPORT_STEP_OK = 1,
	REPORT_STEP_FAILED = 2,
	REPORT_PLAN_INVALID = 3,
	REPORT_PID = 4,
	REPORT_SYNC = 5,
	REPORT_READY = 6,
};

#endif
