/*
 * tsrun native shim: executes a plan compiled by tsrun's TypeScript side, step by step.
 * It holds no policy: every step, value and order comes from the plan; paths it creates or
 * mounts on are resolved inside the root it was given, never following links out of it.
 * Usage: tsrun-shim SYNC_FD
 *   SYNC_FD is a unix stream socket: the shim reads a u32 length and the plan from it, then
 *   writes one report per step, and reads one byte at each wait point.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/bpf.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <termios.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol.h"

#define PLAN_MAX (16u << 20)
#define MAX_LIST 4096

static int sync_fd = -1;
static int root_fd = -1;
static int fifo_fd = -1;
static int sockets[SOCKET_SLOTS] = { -1, -1, -1 };
static int relay_console = -1; /* CLONE's relay parent's end of OP_CONSOLE_RELAY's pair */
static char exec_path[4096];
static pid_t relay_child;
/* Detached idmapped mounts made on the host side, attached in the container by index. */
static int trees[64];
static uint32_t ntrees;
/* Bind sources opened on the host side, named by index in the container's mount steps. */
static int sources[256];
static uint32_t nsources;

/*
 * Ends the shim whatever a seccomp filter allows. musl's _exit retries a refused exit forever (a
 * spinning process); here a refused exit ends in a fault instead, whose signal the kernel delivers
 * even when it is blocked or ignored.
 */
static _Noreturn void leave(int code)
{
	syscall(SYS_exit_group, code);
	syscall(SYS_exit, code);
	/* The shim sets no SIGILL handler, and a blocked or ignored one is reset: the fault ends it. */
	__builtin_trap();
}

/* A step's failure: errno (0 when detail says it all) and what was being done. */
struct failure {
	int err;
	char detail[512];
};

static int fail(struct failure *f, int err, const char *fmt, const char *arg)
{
	f->err = err;
	/* A path longer than the detail is cut: the message stays one line. */
	if (snprintf(f->detail, sizeof(f->detail), fmt, arg) >= (int)sizeof(f->detail))
		f->detail[sizeof(f->detail) - 1] = '\0';
	return -1;
}

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

static void report(uint32_t kind, uint32_t step, int32_t value, const char *detail)
{
	struct report r = { kind, step, value, (uint32_t)strlen(detail) };
	if (sync_fd < 0)
		return;
	if (transfer_all(sync_fd, &r, sizeof(r), 1) < 0 || transfer_all(sync_fd, (char *)detail, r.detail_len, 1) < 0)
		leave(125);
}

/* ---- payload decoding ---- */

struct cursor {
	const unsigned char *p;
	uint32_t left;
	uint32_t step;
};

static _Noreturn void plan_invalid(uint32_t step, const char *why)
{
	report(REPORT_PLAN_INVALID, step, EINVAL, why);
	leave(126);
}

static const void *take(struct cursor *c, uint32_t n)
{
	const void *at = c->p;
	if (c->left < n)
		plan_invalid(c->step, "truncated payload");
	c->p += n;
	c->left -= n;
	return at;
}

static uint32_t get_u32(struct cursor *c)
{
	uint32_t v;
	memcpy(&v, take(c, sizeof(v)), sizeof(v));
	return v;
}

static uint64_t get_u64(struct cursor *c)
{
	uint64_t v;
	memcpy(&v, take(c, sizeof(v)), sizeof(v));
	return v;
}

static const char *get_str(struct cursor *c)
{
	uint32_t n = get_u32(c);
	const char *s = take(c, n + 1);
	if (s[n] != '\0' || strlen(s) != n)
		plan_invalid(c->step, "bad string");
	return s;
}

/* A NULL-terminated array of strings; the array lives until exec (the shim never frees). */
static char **get_strv(struct cursor *c)
{
	uint32_t n = get_u32(c);
	if (n > MAX_LIST)
		plan_invalid(c->step, "list too long");
	char **v = calloc(n + 1, sizeof(char *));
	if (v == NULL)
		plan_invalid(c->step, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		v[i] = (char *)get_str(c);
	return v;
}

/* ---- paths inside the root ---- */

static int open_in_root(const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

/*
 * Opens path (relative to the root) as O_PATH, creating missing directories along it and, with
 * CREATE_FILE, the last component as an empty file. Every component is resolved in the root; a
 * dangling link on the way is followed there too, and what it names is created (hops counts them).
 */
static int resolve_target_hops(const char *path, uint32_t create, struct failure *f, int hops)
{
	char prefix[4096];
	size_t len = strlen(path);
	if (len >= sizeof(prefix))
		return fail(f, ENAMETOOLONG, "%s", path);
	if (hops > 40)
		return fail(f, ELOOP, "%s", path);
	int fd = open_in_root(path, O_PATH);
	if (fd >= 0 || errno != ENOENT || create == CREATE_NONE)
		return fd >= 0 ? fd : fail(f, errno, "open %s", path);

	int parent = open_in_root("/", O_PATH | O_DIRECTORY);
	for (size_t i = 0; parent >= 0 && i < len;) {
		while (path[i] == '/')
			i++;
		size_t end = i;
		while (end < len && path[end] != '/')
			end++;
		if (end == i)
			break;
		memcpy(prefix, path, end);
		prefix[end] = '\0';
		int last = end == len || strspn(path + end, "/") == len - end;
		int next = open_in_root(prefix, O_PATH);
		if (next < 0 && errno == ENOENT) {
			char name[256];
			if (end - i >= sizeof(name)) {
				close(parent);
				return fail(f, ENAMETOOLONG, "%s", path);
			}
			memcpy(name, path + i, end - i);
			name[end - i] = '\0';
			int made;
			if (last && create == CREATE_FILE) {
				made = openat(parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
				if (made >= 0)
					close(made);
			} else {
				made = mkdirat(parent, name, 0755);
			}
			/* EEXIST, or ELOOP from O_NOFOLLOW: the name is taken, perhaps by a dangling link. */
			if (made < 0 && errno != EEXIST && errno != ELOOP) {
				int err = errno;
				close(parent);
				return fail(f, err, "create %s", prefix);
			}
			char link[4096], redirected[4096];
			ssize_t n = made < 0 ? readlinkat(parent, name, link, sizeof(link) - 1) : -1;
			if (n > 0) {
				/* A dangling link: go on from where its text points, relative to its directory. */
				link[n] = '\0';
				int dir_len = link[0] == '/' ? 0 : (int)i;
				close(parent);
				if (snprintf(redirected, sizeof(redirected), "%.*s%s%s", dir_len, path, link, path + end) >= (int)sizeof(redirected))
					return fail(f, ENAMETOOLONG, "%s", path);
				return resolve_target_hops(redirected, create, f, hops + 1);
			}
			next = open_in_root(prefix, O_PATH);
		}
		close(parent);
		if (next < 0)
			return fail(f, errno, "create %s", prefix);
		parent = next;
		i = end;
	}
	return parent >= 0 ? parent : fail(f, errno, "open %s", "/");
}

static int resolve_target(const char *path, uint32_t create, struct failure *f)
{
	return resolve_target_hops(path, create, f, 0);
}

/* Opens the parent directory of path (in the root, created as needed); *name gets the last component. */
static int resolve_parent(const char *path, char *dir, size_t dirlen, const char **name, struct failure *f)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= dirlen)
		return fail(f, ENAMETOOLONG, "%s", path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	*name = slash ? slash + 1 : path;
	return resolve_target(n ? dir : "/", CREATE_DIR, f);
}

static void fd_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* ---- steps ---- */

/* The mount flags a remount inside a user namespace must keep, as they are on fd's mount. */
static unsigned long locked_flags(int fd)
{
	struct statvfs sv;
	if (fstatvfs(fd, &sv) < 0)
		return 0;
	return sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME | ST_RELATIME | ST_RDONLY);
}

static int do_mount(struct cursor *c, struct failure *f)
{
	const char *source = get_str(c), *target = get_str(c), *fstype = get_str(c);
	uint64_t flags = get_u64(c);
	const char *data = get_str(c);
	uint32_t create = get_u32(c);
	char proc[64];
	if (create & ORDINARY_DIR) {
		struct stat st;
		int at = open_in_root(target, O_PATH | O_NOFOLLOW);
		int rc = at < 0 ? -1 : fstat(at, &st), err = errno;
		if (at >= 0)
			close(at);
		if (rc == 0 && !S_ISDIR(st.st_mode))
			return fail(f, S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR, "%s must be mounted on an ordinary directory", target);
		if (rc < 0 && err != ENOENT)
			return fail(f, err, "open %s", target);
	}
	int fd = resolve_target(target, create & CREATE_MASK, f);
	if (fd < 0)
		return -1;
	if (create & MOUNT_SOURCE_INDEX) {
		uint32_t i = (uint32_t)strtoul(source, NULL, 10);
		if (i >= nsources)
			plan_invalid(c->step, "a bind source index that was never opened");
		int rc = (int)syscall(SYS_move_mount, sources[i], "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
		int err = errno;
		close(fd);
		return rc < 0 ? fail(f, err, "attach the bind mount on %s", target) : 0;
	}
	fd_path(proc, sizeof(proc), fd);
	if (create & KEEP_LOCKED_FLAGS)
		flags |= locked_flags(fd) & ~(uint64_t)ST_RDONLY;
	int rc = mount(*source ? source : NULL, proc, *fstype ? fstype : NULL, (unsigned long)flags, *data ? data : NULL);
	int err = errno;
	close(fd);
	return rc < 0 ? fail(f, err, "mount on %s", target) : 0;
}

static int do_mknod(struct cursor *c, struct failure *f)
{
	const char *path = get_str(c), *name;
	uint32_t mode = get_u32(c);
	uint64_t dev = get_u64(c);
	uint32_t uid = get_u32(c), gid = get_u32(c), existing = get_u32(c);
	char dir[4096];
	int parent = resolve_parent(path, dir, sizeof(dir), &name, f);
	if (parent < 0)
		return -1;
	int rc = mknodat(parent, name, mode, (dev_t)dev);
	if (rc < 0 && errno == EEXIST && existing == EXISTING_KEEP) {
		close(parent); /* already there: counts as made, left as it is */
		return 0;
	}
	if (rc == 0) /* the mode exactly as given, whatever the umask */
		rc = fchmodat(parent, name, mode & 07777, 0);
	if (rc == 0)
		rc = fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW);
	int err = errno;
	close(parent);
	return rc < 0 ? fail(f, err, "mknod %s", path) : 0;
}

static int do_symlink(struct cursor *c, struct failure *f)
{
	const char *target = get_str(c), *path = get_str(c), *name;
	uint32_t existing = get_u32(c);
	char dir[4096];
	int parent = resolve_parent(path, dir, sizeof(dir), &name, f);
	if (parent < 0)
		return -1;
	int rc = symlinkat(target, parent, name);
	if (rc < 0 && errno == EEXIST && existing == EXISTING_REPLACE && unlinkat(parent, name, 0) == 0)
		rc = symlinkat(target, parent, name);
	else if (rc < 0 && errno == EEXIST && existing == EXISTING_KEEP)
		rc = 0;
	int err = errno;
	close(parent);
	return rc < 0 ? fail(f, err, "symlink %s", path) : 0;
}

static int do_mask(struct cursor *c, struct failure *f)
{
	const char *path = get_str(c), *null_dev = get_str(c);
	struct stat st;
	char proc[64];
	/* What masks a file must be the null device itself, not something put in its place. */
	if (stat(null_dev, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return fail(f, EINVAL, "mask %s: the null device is not /dev/null (1:3)", path);
	int fd = open_in_root(path, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : fail(f, errno, "open %s", path);
	fd_path(proc, sizeof(proc), fd);
	int rc = fstat(fd, &st);
	if (rc == 0 && S_ISDIR(st.st_mode))
		rc = mount("tmpfs", proc, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0k");
	else if (rc == 0)
		rc = mount(null_dev, proc, NULL, MS_BIND, NULL);
	int err = errno;
	close(fd);
	return rc < 0 ? fail(f, err, "mask %s", path) : 0;
}

/* struct sched_attr of sched_setattr(2), which libc does not declare. */
struct sched_attr_v1 {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

static int do_sched(struct cursor *c, struct failure *f)
{
	struct sched_attr_v1 a = { .size = sizeof(a) };
	a.policy = get_u32(c);
	a.nice = (int32_t)get_u32(c);
	a.priority = get_u32(c);
	a.flags = get_u64(c);
	a.runtime = get_u64(c);
	a.deadline = get_u64(c);
	a.period = get_u64(c);
	return syscall(SYS_sched_setattr, 0, &a, 0) < 0 ? fail(f, errno, "sched_setattr%s", "") : 0;
}

static int write_map(pid_t pid, const char *file, const uint32_t *triples, uint32_t n, struct failure *f)
{
	char path[64], text[4096];
	size_t len = 0;
	for (uint32_t i = 0; i + 2 < n && len < sizeof(text) - 40; i += 3)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%u %u %u\n", triples[i], triples[i + 1], triples[i + 2]);
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(f, errno, "open %s", path);
	int rc = transfer_all(fd, text, len, 1);
	int err = errno;
	close(fd);
	return rc < 0 ? fail(f, err, "write %s", path) : 0;
}

/*
 * An idmapped copy of source: a throwaway child makes a user namespace with the given maps; its
 * namespace idmaps a detached clone of source (open_tree), kept open for ATTACH_TREE.
 */
static int do_idmap_tree(struct cursor *c, struct failure *f)
{
	const char *source = get_str(c);
	uint32_t recursive = get_u32(c), nu = get_u32(c);
	uint32_t uids[3 * 64], gids[3 * 64];
	if (nu > 3 * 64)
		plan_invalid(c->step, "too many uid maps");
	for (uint32_t i = 0; i < nu; i++)
		uids[i] = get_u32(c);
	uint32_t ng = get_u32(c);
	if (ng > 3 * 64)
		plan_invalid(c->step, "too many gid maps");
	for (uint32_t i = 0; i < ng; i++)
		gids[i] = get_u32(c);
	if (ntrees >= sizeof(trees) / sizeof(trees[0]))
		plan_invalid(c->step, "too many idmapped mounts");

	int ready[2], unshared[2];
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(unshared, O_CLOEXEC) < 0)
		return fail(f, errno, "pipe%s", "");
	pid_t child = fork();
	if (child < 0)
		return fail(f, errno, "fork%s", "");
	if (child == 0) {
		char b = 0;
		close(ready[1]);
		close(unshared[0]);
		if (unshare(CLONE_NEWUSER) < 0)
			leave(1);
		(void)write(unshared[1], &b, 1);
		(void)read(ready[0], &b, 1); /* wait until the parent is done with the namespace */
		leave(0);
	}
	close(ready[0]);
	close(unshared[1]);
	int rc = -1, userns = -1, tree = -1;
	char path[64], b;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)child);
	if (read(unshared[0], &b, 1) != 1)
		fail(f, EPERM, "create a user namespace for the idmapped mount of %s", source);
	else if (write_map(child, "uid_map", uids, nu, f) == 0 && write_map(child, "gid_map", gids, ng, f) == 0) {
		userns = open(path, O_RDONLY | O_CLOEXEC);
		tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
		if (userns < 0 || tree < 0) {
			fail(f, errno, "open_tree %s", source);
		} else {
			struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
			if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
				fail(f, errno, "idmap %s", source);
			else
				rc = 0;
		}
	}
	close(ready[1]);
	close(unshared[0]);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	if (userns >= 0)
		close(userns);
	if (rc < 0) {
		if (tree >= 0)
			close(tree);
		return -1;
	}
	trees[ntrees++] = tree;
	return 0;
}

static int do_connect(uint32_t slot, const char *path, struct failure *f)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (slot >= SOCKET_SLOTS)
		return fail(f, EINVAL, "socket slot for %s", path);
	if (strlen(path) >= sizeof(addr.sun_path))
		return fail(f, ENAMETOOLONG, "connect to %s", path);
	strcpy(addr.sun_path, path);
	sockets[slot] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sockets[slot] < 0 || connect(sockets[slot], (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return fail(f, errno, "connect to %s", path);
	return 0;
}

static void close_socket(uint32_t slot)
{
	if (sockets[slot] >= 0)
		close(sockets[slot]);
	sockets[slot] = -1;
}

/* Sends message with fd attached (SCM_RIGHTS) in one sendmsg. */
static int send_fd(int sock, const char *message, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control = { 0 };
	struct iovec iov = { (void *)message, strlen(message) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	ssize_t n;
	while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -1;
	/* The rest of a long message, if the first call took only part of it (fds went with the first). */
	return n == (ssize_t)iov.iov_len ? 0 : transfer_all(sock, (char *)message + n, iov.iov_len - (size_t)n, 1);
}

static int do_seccomp(struct cursor *c, struct failure *f)
{
	uint32_t flags = get_u32(c), len = get_u32(c);
	if (len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > 0xffff)
		plan_invalid(c->step, "bad filter length");
	struct sock_fprog prog = { (unsigned short)(len / sizeof(struct sock_filter)), (struct sock_filter *)take(c, len) };
	const char *message = get_str(c);
	int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (listener < 0)
		return fail(f, errno, "load the seccomp filter%s", "");
	if (!(flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
		return 0;
	int rc = sockets[SOCKET_AGENT] < 0 ? (errno = EBADF, -1) : send_fd(sockets[SOCKET_AGENT], message, listener), err = errno;
	close(listener);
	close_socket(SOCKET_AGENT);
	return rc < 0 ? fail(f, err, "send the seccomp listener to the agent%s", "") : 0;
}

static int bpf_load_device_program(const void *insns, uint32_t count, char *log, uint32_t log_size)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.expected_attach_type = BPF_CGROUP_DEVICE;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = count;
	attr.license = (uintptr_t) "Apache-2.0";
	attr.log_buf = (uintptr_t)log;
	attr.log_size = log_size;
	attr.log_level = log ? 1 : 0;
	return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

static int do_bpf_device(struct cursor *c, struct failure *f)
{
	const char *dir = get_str(c);
	uint32_t len = get_u32(c);
	if (len == 0 || len % sizeof(struct bpf_insn) != 0)
		plan_invalid(c->step, "bad program length");
	const void *insns = take(c, len);
	int prog = bpf_load_device_program(insns, len / sizeof(struct bpf_insn), NULL, 0);
	if (prog < 0) {
		/* Load again with the verifier's log, to say why. */
		static char log[4096];
		int err = errno;
		bpf_load_device_program(insns, len / sizeof(struct bpf_insn), log, sizeof(log));
		char *nl = strchr(log, '\n');
		if (nl)
			*nl = '\0';
		return fail(f, err, "load the device filter (%s)", log);
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		close(prog);
		return fail(f, errno, "open the cgroup %s", dir);
	}
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)fd;
	attr.attach_bpf_fd = (uint32_t)prog;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)), err = errno;
	close(fd);
	close(prog);
	return rc < 0 ? fail(f, err, "attach the device filter to %s", dir) : 0;
}

static int do_setattr(struct cursor *c, struct failure *f)
{
	const char *path = get_str(c);
	struct mount_attr attr = { .attr_set = get_u64(c), .attr_clr = get_u64(c) };
	uint32_t recursive = get_u32(c);
	int fd = open_in_root(path, O_PATH);
	if (fd < 0)
		return fail(f, errno, "open %s", path);
	int rc = (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr));
	int err = errno;
	close(fd);
	return rc < 0 ? fail(f, err, "mount_setattr %s", path) : 0;
}

static int do_readonly(struct cursor *c, struct failure *f)
{
	const char *path = get_str(c);
	char proc[64];
	int fd = open_in_root(path, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : fail(f, errno, "open %s", path);
	fd_path(proc, sizeof(proc), fd);
	int rc = mount(proc, proc, NULL, MS_BIND | MS_REC, NULL);
	close(fd);
	if (rc < 0)
		return fail(f, errno, "bind %s", path);
	/* Reopen: the fd from before the bind names the covered directory, not the new mount. */
	fd = open_in_root(path, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return fail(f, errno, "reopen %s", path);
	fd_path(proc, sizeof(proc), fd);
	rc = mount(NULL, proc, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(fd), NULL);
	int err = errno;
	close(fd);
	return rc < 0 ? fail(f, err, "remount %s read-only", path) : 0;
}

/*
 * Writes a file below base: base must be on a filesystem with the given statfs magic, and the
 * path below it may cross no mount, so nothing bound over the file (or a directory on the way)
 * can take the write somewhere else.
 */
static int do_write_file(struct cursor *c, struct failure *f)
{
	const char *base = get_str(c), *below = get_str(c), *content = get_str(c);
	uint64_t magic = get_u64(c);
	struct statfs sfs;
	int dir = open_in_root(base, O_PATH | O_DIRECTORY);
	if (dir < 0)
		return fail(f, errno, "open %s", base);
	if (fstatfs(dir, &sfs) < 0 || (uint64_t)sfs.f_type != magic) {
		close(dir);
		return fail(f, EXDEV, "%s is not on the expected filesystem", base);
	}
	struct open_how how = {
		.flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS,
	};
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", base, below);
	int fd = (int)syscall(SYS_openat2, dir, below, &how, sizeof(how));
	int err = errno;
	close(dir);
	if (fd < 0)
		return fail(f, err, err == EXDEV ? "open %s: a mount is in the way" : "open %s", path);
	int rc = transfer_all(fd, (char *)content, strlen(content), 1);
	err = errno;
	close(fd);
	return rc < 0 ? fail(f, err, "write %s", path) : 0;
}

static int do_bounding(struct cursor *c, struct failure *f)
{
	uint32_t last = get_u32(c);
	uint64_t bounding = get_u64(c);
	for (uint32_t cap = 0; cap <= last && cap < 64; cap++) {
		if (!(bounding & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return fail(f, errno, "drop a capability from the bounding set%s", "");
	}
	return 0;
}

static int do_caps(struct cursor *c, struct failure *f)
{
	uint32_t last = get_u32(c);
	uint64_t effective = get_u64(c), permitted = get_u64(c);
	uint64_t inheritable = get_u64(c), ambient = get_u64(c);
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)effective, (uint32_t)permitted, (uint32_t)inheritable },
		{ (uint32_t)(effective >> 32), (uint32_t)(permitted >> 32), (uint32_t)(inheritable >> 32) },
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		return fail(f, errno, "capset%s", "");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return fail(f, errno, "clear ambient capabilities%s", "");
	for (uint32_t cap = 0; cap <= last && cap < 64; cap++) {
		if ((ambient & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return fail(f, errno, "raise ambient capability%s", "");
	}
	return 0;
}

static int do_set_ids(struct cursor *c, struct failure *f)
{
	uint32_t uid = get_u32(c), gid = get_u32(c), set_groups = get_u32(c), n = get_u32(c);
	gid_t groups[256];
	if (n > 256)
		plan_invalid(c->step, "too many groups");
	for (uint32_t i = 0; i < n; i++)
		groups[i] = get_u32(c);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fail(f, errno, "keep capabilities%s", "");
	if (set_groups && setgroups(n, groups) < 0)
		return fail(f, errno, "setgroups%s", "");
	if (setresgid(gid, gid, gid) < 0)
		return fail(f, errno, "setresgid%s", "");
	if (setresuid(uid, uid, uid) < 0)
		return fail(f, errno, "setresuid%s", "");
	return 0;
}

static int do_pivot(uint32_t mode, struct failure *f)
{
	if (fchdir(root_fd) < 0)
		return fail(f, errno, "chdir to the root%s", "");
	if (mode == PIVOT_CHROOT) {
		if (chroot(".") < 0)
			return fail(f, errno, "chroot%s", "");
	} else if (mode == PIVOT_MOVE) {
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			return fail(f, errno, "move the root onto /%s", "");
		if (chroot(".") < 0)
			return fail(f, errno, "chroot%s", "");
	} else {
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			return fail(f, errno, "pivot_root%s", "");
		if (umount2(".", MNT_DETACH) < 0)
			return fail(f, errno, "detach the old root%s", "");
	}
	if (chdir("/") < 0)
		return fail(f, errno, "chdir /%s", "");
	return 0;
}

static int wait_byte(struct failure *f)
{
	char b;
	if (transfer_all(sync_fd, &b, 1, 0) < 0)
		leave(1); /* tsrun went away: nothing more to do */
	return b == 0 ? 0 : fail(f, ECANCELED, "tsrun cancelled the create%s", "");
}

static int do_hook(struct cursor *c, struct failure *f)
{
	const char *path = get_str(c);
	char **argv = get_strv(c), **envp = get_strv(c);
	uint32_t timeout = get_u32(c);
	const char *input = get_str(c), *cwd = get_str(c);
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return fail(f, errno, "hook %s: pipe", path);
	pid_t pid = fork();
	if (pid < 0)
		return fail(f, errno, "hook %s: fork", path);
	if (pid == 0) {
		dup2(in[0], 0);
		if (*cwd && chdir(cwd) < 0)
			leave(126);
		execve(path, argv[0] ? argv : (char *[]){ (char *)path, NULL }, envp);
		leave(127);
	}
	close(in[0]);
	signal(SIGPIPE, SIG_IGN);
	transfer_all(in[1], (char *)input, strlen(input), 1);
	close(in[1]);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = { pidfd, POLLIN, 0 };
	int ready = pidfd < 0 ? 1 : poll(&p, 1, timeout ? (int)timeout * 1000 : -1);
	if (ready == 0)
		kill(pid, SIGKILL);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
	if (ready == 0)
		return fail(f, 0, "hook %s timed out", path);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	f->err = 0;
	snprintf(f->detail, sizeof(f->detail), "hook %s %s %d", path, WIFEXITED(status) ? "exited with status" : "killed by signal",
		 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return -1;
}

/*
 * The process's terminal: a pty of the container's devpts (its /dev/ptmx), the peer opened from
 * the master itself (TIOCGPTPEER: no path to race), the master sent to whoever holds the console
 * slot, the peer bound onto the console path (resolved in the root) and made the controlling
 * terminal and stdio of a new session.
 */
static int do_console(struct cursor *c, struct failure *f)
{
	uint32_t rows = get_u32(c), cols = get_u32(c);
	const char *console = get_str(c);
	uint32_t owner = get_u32(c);
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), unlock = 0;
	if (master < 0)
		return fail(f, errno, "open /dev/ptmx%s", "");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return fail(f, errno, "unlock the pty%s", "");
	int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0)
		return fail(f, errno, "open the pty's peer%s", "");
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	if (rows && cols && ioctl(peer, TIOCSWINSZ, &ws) < 0)
		return fail(f, errno, "set the console size%s", "");
	/* EINVAL: the uid or the pty's group is not mapped; EPERM: its owner is not. Then it stays as it is. */
	if (owner != CONSOLE_KEEP_OWNER && fchown(peer, (uid_t)owner, (gid_t)-1) < 0 && errno != EINVAL && errno != EPERM) {
		int err = errno;
		char uid[16];
		snprintf(uid, sizeof(uid), "%u", owner);
		return fail(f, err, "give the pty to uid %s", uid);
	}
	if (sockets[SOCKET_CONSOLE] < 0 || send_fd(sockets[SOCKET_CONSOLE], "/dev/ptmx", master) < 0)
		return fail(f, sockets[SOCKET_CONSOLE] < 0 ? EBADF : errno, "send the pty master to the console socket%s", "");
	close(master);
	close_socket(SOCKET_CONSOLE);
	if (console[0]) {
		/*
		 * The pty goes on the console itself, never through a link the image put there nor onto a
		 * directory: the fd checked (opened without following the last component) is the one bound on.
		 */
		int target = open_in_root(console, O_PATH | O_NOFOLLOW);
		if (target < 0 && errno == ENOENT) {
			target = resolve_target(console, CREATE_FILE, f);
			if (target < 0)
				return -1;
			close(target);
			target = open_in_root(console, O_PATH | O_NOFOLLOW);
		}
		struct stat st;
		if (target < 0)
			return fail(f, errno, "open %s", console);
		int rc = fstat(target, &st);
		if (rc < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
			int err = rc < 0 ? errno : S_ISLNK(st.st_mode) ? ELOOP : EINVAL;
			close(target);
			return fail(f, err, "%s is a symbolic link or not a file: the pty is not bound onto it", console);
		}
		char from[64], to[64];
		fd_path(from, sizeof(from), peer);
		fd_path(to, sizeof(to), target);
		rc = mount(from, to, NULL, MS_BIND, NULL);
		int err = errno;
		close(target);
		if (rc < 0)
			return fail(f, err, "bind the pty onto %s", console);
	}
	if (setsid() < 0 || ioctl(peer, TIOCSCTTY, 0) < 0)
		return fail(f, errno, "make the pty the controlling terminal%s", "");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(peer, fd) < 0)
			return fail(f, errno, "make the pty stdio%s", "");
	if (peer > 2)
		close(peer);
	return 0;
}

/* Receives one fd sent with SCM_RIGHTS; -1 when the peer closed first. */
static int recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	char byte[64];
	struct iovec iov = { byte, sizeof(byte) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	ssize_t n;
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	struct cmsghdr *cmsg = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	int fd = -1;
	if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

static void copy_some(int from, int to, int *open_from)
{
	char buf[4096];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0) {
		*open_from = 0;
		return;
	}
	transfer_all(to, buf, (size_t)n, 1);
}

/*
 * The relay parent of a process with a terminal and no console socket: the caller's terminal
 * (stdin, set raw) and stdout are connected to the pty master the child sends, its window size
 * follows the caller's, signals are forwarded; exits as the child did.
 */
static _Noreturn void relay_terminal(pid_t child, const int *sigs, size_t nsigs)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < nsigs; i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	struct termios saved;
	int raw = isatty(0) && tcgetattr(0, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(0, TCSANOW, &t);
	}
	int master = -1, master_open = 1, stdin_open = 1, status = -1;
	while (status == -1 || (master >= 0 && master_open)) {
		struct pollfd p[3] = {
			{ status == -1 ? sfd : -1, POLLIN, 0 },
			{ master >= 0 ? (master_open ? master : -1) : relay_console, POLLIN, 0 },
			{ master >= 0 && stdin_open ? 0 : -1, POLLIN, 0 },
		};
		/* Once the child is gone, only what the pty still holds is copied out. */
		if (poll(p, 3, status == -1 ? -1 : 100) <= 0) {
			if (status != -1)
				break;
			continue;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					int st;
					pid_t pid;
					while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
						if (pid == child)
							status = st;
				} else {
					struct winsize ws;
					if (si.ssi_signo == SIGWINCH && master >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0)
						ioctl(master, TIOCSWINSZ, &ws);
					kill(child, (int)si.ssi_signo);
				}
			}
		}
		if (master < 0 && p[1].revents) {
			master = recv_fd(relay_console);
			/* The caller's terminal size, when it has one (else process.consoleSize stays). */
			struct winsize ws;
			if (master >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
				ioctl(master, TIOCSWINSZ, &ws);
			if (master < 0)
				master_open = 0, master = -2;
		} else if (master >= 0 && p[1].revents) {
			copy_some(master, 1, &master_open);
		}
		if (p[2].revents)
			copy_some(0, master, &stdin_open);
	}
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	if (status == -1)
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
	leave(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static int find_exec(const char *file, const char *path, struct failure *f)
{
	if (strchr(file, '/')) {
		snprintf(exec_path, sizeof(exec_path), "%s", file);
		return access(file, X_OK) == 0 ? 0 : fail(f, errno, "exec %s", file);
	}
	for (const char *dir = path; *dir;) {
		size_t n = strcspn(dir, ":");
		snprintf(exec_path, sizeof(exec_path), "%.*s/%s", (int)n, n ? dir : ".", file);
		if (access(exec_path, X_OK) == 0)
			return 0;
		dir += n + (dir[n] == ':');
	}
	return fail(f, ENOENT, "executable \"%s\" not found in $PATH", file);
}

static void forward(int sig)
{
	kill(relay_child, sig);
}

/* The parent side of PARENT_RELAY: forwards signals, reaps everything, exits as the child did. */
static _Noreturn void relay_terminal(pid_t child, const int *sigs, size_t nsigs);

static _Noreturn void relay(pid_t child)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
	relay_child = child;
	close(sync_fd);
	sync_fd = -1;
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (relay_console >= 0)
		relay_terminal(child, sigs, sizeof(sigs) / sizeof(sigs[0]));
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], forward);
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			leave(125);
		if (pid == child)
			leave(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}

/*
 * The parent's part of an idmapped mount: from inside the child's fresh mount namespace, attach
 * each IDMAP_TREE copy at its target under root (before the child binds its root recursively).
 */
static int attach_trees(pid_t child, const char *root, char **targets, struct cursor *c, struct failure *f)
{
	char path[64];
	uint32_t n = get_u32(c);
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)child);
	int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWNS) < 0)
		return fail(f, errno, "enter the container's mount namespace%s", "");
	close(ns);
	/* Nothing attached here may propagate back to the host: the copy of / becomes a slave first
	 * (the child sets the configured propagation itself afterwards). */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return fail(f, errno, "make the container's / a slave%s", "");
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return fail(f, errno, "open root %s", root);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t create = get_u32(c);
		if (i >= ntrees || targets[i] == NULL)
			plan_invalid(c->step, "an idmapped mount without its target");
		int fd = resolve_target(targets[i], create, f);
		if (fd < 0)
			return -1;
		int rc = (int)syscall(SYS_move_mount, trees[i], "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
		int err = errno;
		close(fd);
		if (rc < 0)
			return fail(f, err, "attach the idmapped mount on %s", targets[i]);
	}
	return 0;
}

static int do_clone(struct cursor *c, struct failure *f)
{
	uint64_t flags = get_u64(c);
	uint32_t mode = get_u32(c);
	const char *root = get_str(c);
	char **targets = get_strv(c);
	pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		return fail(f, errno, "clone%s", "");
	if (pid == 0) {
		/* The child's: its console end, not the parent's; the pidfd socket is the parent's. */
		if (relay_console >= 0)
			close(relay_console);
		relay_console = -1;
		close_socket(SOCKET_PIDFD);
		return 0;
	}
	/* A pidfd of the child for whoever asked (containerd); the other sockets are the child's to use. */
	if (sockets[SOCKET_PIDFD] >= 0) {
		int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfd < 0 || send_fd(sockets[SOCKET_PIDFD], "pidfd", pidfd) < 0) {
			int err = errno;
			kill(pid, SIGKILL);
			report(REPORT_STEP_FAILED, c->step, err, "send a pidfd of the container process to the pidfd socket");
			leave(1);
		}
		close(pidfd);
	}
	for (uint32_t slot = 0; slot < SOCKET_SLOTS; slot++)
		close_socket(slot);
	if (targets[0] != NULL && attach_trees(pid, root, targets, c, f) < 0) {
		kill(pid, SIGKILL);
		report(REPORT_STEP_FAILED, c->step, f->err, f->detail);
		leave(1);
	}
	report(REPORT_PID, c->step, pid, "");
	if (mode == PARENT_RELAY)
		relay(pid);
	leave(0);
}

static unsigned char *load_plan(void);
static _Noreturn void run_plan(const unsigned char *plan);

/* Runs one step; returns 0, or -1 with f filled in. */
static int run_step(uint16_t op, struct cursor *c, struct failure *f)
{
	switch (op) {
	case OP_UNSHARE:
		return unshare((int)get_u64(c)) < 0 ? fail(f, errno, "unshare%s", "") : 0;
	case OP_EXIT:
		leave((int)get_u32(c));
	case OP_CLONE:
		return do_clone(c, f);
	case OP_SETNS: {
		const char *path = get_str(c);
		int type = (int)get_u32(c);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fail(f, errno, "open namespace %s", path);
		int rc = setns(fd, type), err = errno;
		close(fd);
		return rc < 0 ? fail(f, err, "join namespace %s", path) : 0;
	}
	case OP_NEXT_PLAN:
		run_plan(load_plan());
	case OP_SYNC:
		report(REPORT_SYNC, c->step, 0, "");
		return wait_byte(f);
	case OP_SET_IDS:
		return do_set_ids(c, f);
	case OP_ROOTFS: {
		const char *path = get_str(c);
		if (root_fd >= 0)
			close(root_fd);
		root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		return root_fd < 0 ? fail(f, errno, "open root %s", path) : 0;
	}
	case OP_MOUNT:
		return do_mount(c, f);
	case OP_MKNOD:
		return do_mknod(c, f);
	case OP_SYMLINK:
		return do_symlink(c, f);
	case OP_PIVOT:
		return do_pivot(get_u32(c), f);
	case OP_SETHOSTNAME: {
		const char *name = get_str(c);
		return sethostname(name, strlen(name)) < 0 ? fail(f, errno, "sethostname %s", name) : 0;
	}
	case OP_SETDOMAINNAME: {
		const char *name = get_str(c);
		return setdomainname(name, strlen(name)) < 0 ? fail(f, errno, "setdomainname %s", name) : 0;
	}
	case OP_WRITE_FILE:
		return do_write_file(c, f);
	case OP_SETRLIMIT: {
		uint32_t res = get_u32(c);
		struct rlimit rl = { get_u64(c), get_u64(c) };
		return setrlimit((int)res, &rl) < 0 ? fail(f, errno, "setrlimit%s", "") : 0;
	}
	case OP_CAPS:
		return do_caps(c, f);
	case OP_BOUNDING:
		return do_bounding(c, f);
	case OP_SCHED:
		return do_sched(c, f);
	case OP_SECCOMP:
		return do_seccomp(c, f);
	case OP_IDMAP_TREE:
		return do_idmap_tree(c, f);
	case OP_CONNECT: {
		uint32_t slot = get_u32(c);
		return do_connect(slot, get_str(c), f);
	}
	case OP_CONSOLE_RELAY: {
		int pair[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
			return fail(f, errno, "socketpair%s", "");
		sockets[SOCKET_CONSOLE] = pair[0];
		relay_console = pair[1];
		return 0;
	}
	case OP_CONSOLE:
		return do_console(c, f);
	case OP_SESSION_KEYRING: {
		const char *name = get_str(c);
		return syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, name) < 0 ? fail(f, errno, "join the session keyring %s", name) : 0;
	}
	case OP_BPF_DEVICE:
		return do_bpf_device(c, f);
	case OP_SETNS_FD: {
		int fd = (int)get_u32(c), type = (int)get_u32(c);
		return setns(fd, type) < 0 ? fail(f, errno, "join the namespaces of the container process%s", "") : 0;
	}
	case OP_DUMPABLE:
		return prctl(PR_SET_DUMPABLE, get_u32(c), 0, 0, 0) < 0 ? fail(f, errno, "set dumpable%s", "") : 0;
	case OP_SETATTR:
		return do_setattr(c, f);
	case OP_NO_NEW_PRIVS:
		return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? fail(f, errno, "no_new_privs%s", "") : 0;
	case OP_UMASK:
		umask((mode_t)get_u32(c));
		return 0;
	case OP_CHDIR: {
		static int chdir_pending;
		const char *path = get_str(c);
		uint32_t mode = get_u32(c);
		if (mode == CHDIR_PENDING && !chdir_pending)
			return 0;
		int rc = chdir(path);
		chdir_pending = rc < 0 && mode == CHDIR_TRY && (errno == EACCES || errno == EPERM);
		return rc < 0 && !chdir_pending ? fail(f, errno, "chdir %s", path) : 0;
	}
	case OP_OPEN_SOURCE: {
		const char *path = get_str(c);
		uint32_t recursive = get_u32(c);
		if (nsources >= sizeof(sources) / sizeof(sources[0]))
			plan_invalid(c->step, "too many bind sources");
		int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
		if (fd < 0)
			return fail(f, errno, "open the bind source %s", path);
		sources[nsources++] = fd;
		return 0;
	}
	case OP_DETACH: {
		const char *path = get_str(c);
		if (umount2(path, MNT_DETACH) == 0 || errno == ENOENT) /* ENOENT: gone meanwhile */
			return 0;
		if (errno != EINVAL && errno != EPERM)
			return fail(f, errno, "detach %s", path);
		return mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0 ? fail(f, errno, "cover %s", path) : 0;
	}
	case OP_MKDIR: {
		int fd = resolve_target(get_str(c), CREATE_DIR, f);
		if (fd >= 0)
			close(fd);
		return fd < 0 ? -1 : 0;
	}
	case OP_HOOK:
		return do_hook(c, f);
	case OP_OPEN_FIFO: {
		const char *path = get_str(c);
		fifo_fd = open(path, O_PATH | O_CLOEXEC);
		return fifo_fd < 0 ? fail(f, errno, "open %s", path) : 0;
	}
	case OP_READY:
		report(REPORT_READY, c->step, 0, "");
		close(sync_fd);
		sync_fd = -1;
		return 0;
	case OP_WAIT_START: {
		char proc[64];
		fd_path(proc, sizeof(proc), fifo_fd);
		int fd = open(proc, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			return fail(f, errno, "open the exec FIFO through /proc/self/fd (is /proc mounted in the container?)%s", "");
		close(fd);
		close(fifo_fd);
		return 0;
	}
	case OP_FIND_EXEC: {
		const char *file = get_str(c), *path = get_str(c);
		return find_exec(file, path, f);
	}
	case OP_EXEC: {
		char **argv = get_strv(c), **envp = get_strv(c);
		execve(exec_path, argv, envp);
		return fail(f, errno, "exec %s", exec_path);
	}
	case OP_CLOSE_FDS:
		return syscall(SYS_close_range, get_u32(c), ~0u, CLOSE_RANGE_CLOEXEC) < 0 ? fail(f, errno, "close_range%s", "") : 0;
	case OP_MASK:
		return do_mask(c, f);
	case OP_READONLY:
		return do_readonly(c, f);
	case OP_PERSONALITY:
		return personality(get_u32(c)) < 0 ? fail(f, errno, "personality%s", "") : 0;
	case OP_IOPRIO:
		return syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, get_u32(c)) < 0 ? fail(f, errno, "ioprio_set%s", "") : 0;
	default:
		plan_invalid(c->step, "unknown op");
	}
}

/* Reads a u32 length and a plan from the sync socket; checks its header. */
static unsigned char *load_plan(void)
{
	struct plan_header h;
	uint32_t size;
	unsigned char *plan;
	if (transfer_all(sync_fd, &size, sizeof(size), 0) < 0 || size < sizeof(h) || size > PLAN_MAX)
		leave(127);
	plan = malloc(size);
	if (plan == NULL || transfer_all(sync_fd, plan, size, 0) < 0)
		leave(127);
	memcpy(&h, plan, sizeof(h));
	if (h.magic != PLAN_MAGIC || h.version != PLAN_VERSION || h.size != size - sizeof(h))
		plan_invalid(0, "bad plan header or version");
	return plan;
}

static _Noreturn void run_plan(const unsigned char *plan)
{
	struct plan_header h;
	memcpy(&h, plan, sizeof(h));
	size_t size = sizeof(h) + h.size, off = sizeof(h);
	for (uint32_t i = 0; i < h.nsteps; i++) {
		struct step_header s;
		struct failure f = { 0, "" };
		if (size - off < sizeof(s))
			plan_invalid(i, "truncated step header");
		memcpy(&s, plan + off, sizeof(s));
		off += sizeof(s);
		if (size - off < s.len)
			plan_invalid(i, "truncated step payload");
		struct cursor c = { plan + off, s.len, i };
		int rc = run_step(s.op, &c, &f);
		off += s.len;
		if (rc < 0) {
			if (sync_fd < 0) {
				/* After READY nobody listens on the socket: say it on the container's stderr. */
				dprintf(2, "tsrun: container init: %s%s%s\n", f.detail, f.err ? ": " : "", f.err ? strerror(f.err) : "");
				leave(127);
			}
			report(REPORT_STEP_FAILED, i, f.err, f.detail);
			leave(1);
		}
		report(REPORT_STEP_OK, i, 0, "");
	}
	leave(0);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 127;
	sync_fd = atoi(argv[1]);
	run_plan(load_plan());
}
