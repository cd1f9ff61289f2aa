/*
 * The spec-tests' container program: reports what it sees inside a container as JSON, or does
 * one small thing the tests ask for.
 *   probe                    report ids, caps, limits, namespaces, mounts, fds, env, …
 *   probe stat PATH...       type, mode, device numbers and owner of each path
 *   probe exit N             exit with status N
 *   probe sleep N            sleep N seconds (a long-running container)
 *   probe write PATH TEXT    write TEXT to PATH (exit 1 with the errno name on failure)
 *   probe cat PATH           print the file
 *   probe wait-signal        print the first of TERM/INT/USR1 it gets, then exit 0
 *   probe personality N      call personality(N) (N may be 0x…): print the result, or the errno name
 *   probe syscall NR         make system call NR with zero arguments: print the result, or the errno name
 *   probe mount-proc DIR     in new user, mount and pid namespaces, mount a fresh procfs on DIR: print "ok" or
 *                            the errno name (the kernel allows it only while a whole procfs is in the namespace)
 *   probe fork N             start N children that sleep: print how many forks succeeded
 *   probe alloc MIB          allocate and touch MIB mebibytes, then print "allocated"
 *   probe fork-after S N     sleep S seconds, then like fork N
 *   probe count PATH         count up forever, writing the count to PATH every millisecond
 *   probe diff               the differential test's report (spec-tests/differential): ids, groups, env, cwd,
 *                            caps, status fields, rlimits, mountinfo, /dev nodes, cgroup view, sysctls, and the
 *                            errno of a set of harmless syscalls (the seccomp verdicts), 0 when one succeeds,
 *                            1000 + the signal when one made in a child killed it
 *   probe tty                report the terminal: isatty, name, size, session, controlling terminal, /dev/console
 *   probe snoop S            for S seconds, watch every other process that appears: try to read where its
 *                            /proc/PID/exe points, to open that for writing, and to ptrace it; print how
 *                            many processes it saw and what reached a process that was still tsrun's shim
 *   probe hold-exe PID TEXT  open /proc/PID/exe for reading and print "held"; once PID runs another
 *                            program, open the held file for writing through /proc/self/fd and write
 *                            TEXT: print "written", or the errno name (CVE-2019-5736's way in)
 *   probe remount-rw PATH    try to make the mount at PATH writable: print "ok" or the errno name
 *   probe swap A B           (on the host) exchange the names A and B (renameat2) as fast as it can, forever
 *   probe fd-receiver SOCKET OUT
 *                            (on the host) take one fd over SOCKET (SCM_RIGHTS); write to OUT the pid a
 *                            pidfd refers to, or else everything read from the fd (a pty master) until EOF
 *   probe seccomp-agent SOCKET OUT VALUE
 *                            (on the host) a seccomp agent: listen on SOCKET, take one container
 *                            process state and its listener fd, write the state to OUT, then
 *                            answer every notified syscall with VALUE until the filter is gone
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *errname(int err)
{
	switch (err) {
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EROFS: return "EROFS";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ETXTBSY: return "ETXTBSY";
	case EXDEV: return "EXDEV";
	case ENOSYS: return "ENOSYS";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case EBADF: return "EBADF";
	default: return "EOTHER";
	}
}

static void jstr(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void key(const char *k, int first)
{
	if (!first)
		putchar(',');
	jstr(k);
	putchar(':');
}

static char *slurp(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* The whole file (slurp stops after one read: a page of a /proc file). */
static char *slurp_full(const char *path)
{
	static char buf[1 << 18];
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return buf;
}

/* The value of "Name:\t..." in /proc/self/status. */
static void status_field(const char *name, char *out, size_t len)
{
	char *s = slurp("/proc/self/status"), *line;
	out[0] = '\0';
	size_t n = strlen(name);
	for (line = s ? strtok(s, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			snprintf(out, len, "%s", line + n + 1 + strspn(line + n + 1, " \t"));
			return;
		}
	}
}

/* The report's "env" field. */
static void report_env(void)
{
	key("env", 0);
	putchar('[');
	for (char **v = environ; *v; v++) {
		if (v != environ)
			putchar(',');
		jstr(*v);
	}
	putchar(']');
}

/* The report's "ns", "uid_map" and "gid_map" fields. */
static void report_ns_and_maps(void)
{
	key("ns", 0);
	putchar('{');
	static const char *ns[] = { "cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts" };
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		char path[64], link[128] = "";
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		key(ns[i], i == 0);
		jstr(link);
	}
	putchar('}');
	key("uid_map", 0);
	jstr(slurp("/proc/self/uid_map"));
	key("gid_map", 0);
	jstr(slurp("/proc/self/gid_map"));
}

/* The report's "oom_score_adj" and "rlimits" fields; limits as strings where JSON numbers would lose digits. */
static void report_oom_and_rlimits(int as_strings)
{
	const char *q = as_strings ? "\"" : "";
	key("oom_score_adj", 0);
	char *oom = slurp("/proc/self/oom_score_adj");
	jstr(oom ? strtok(oom, "\n") : "");
	key("rlimits", 0);
	putchar('{');
	for (int r = 0; r < RLIM_NLIMITS; r++) {
		struct rlimit rl;
		getrlimit(r, &rl);
		printf("%s\"%d\":[%s%llu%s,%s%llu%s]", r ? "," : "", r, q, (unsigned long long)rl.rlim_cur, q, q, (unsigned long long)rl.rlim_max, q);
	}
	putchar('}');
}

static void report(void)
{
	char buf[4096];
	struct utsname u;
	gid_t groups[256];
	int first = 1;

	putchar('{');
	key("uid", 1);
	printf("%d", (int)getuid());
	key("gid", 0);
	printf("%d", (int)getgid());
	key("euid", 0);
	printf("%d", (int)geteuid());
	key("groups", 0);
	int ng = getgroups(256, groups);
	putchar('[');
	for (int i = 0; i < ng; i++)
		printf("%s%d", i ? "," : "", (int)groups[i]);
	putchar(']');
	key("pid", 0);
	printf("%d", (int)getpid());
	key("ppid", 0);
	printf("%d", (int)getppid());
	uname(&u);
	key("hostname", 0);
	jstr(u.nodename);
	key("domainname", 0);
	jstr(u.domainname);
	key("cwd", 0);
	jstr(getcwd(buf, sizeof(buf)) ? buf : "");
	key("no_new_privs", 0);
	printf("%d", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	static const char *fields[] = { "Umask", "Seccomp", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		status_field(fields[i], buf, sizeof(buf));
		key(fields[i], 0);
		jstr(buf);
	}
	key("sched_policy", 0);
	printf("%ld", syscall(SYS_sched_getscheduler, 0)); /* musl's wrapper is a stub */
	key("nice", 0);
	printf("%d", getpriority(PRIO_PROCESS, 0));
	key("personality", 0);
	printf("%d", personality(0xffffffff));
	key("ioprio", 0);
	printf("%ld", syscall(SYS_ioprio_get, 1, 0));
	report_oom_and_rlimits(0);
	report_ns_and_maps();
	key("mountinfo", 0);
	jstr(slurp_full("/proc/self/mountinfo"));
	key("fds", 0);
	putchar('[');
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		printf("%s%s", first ? "" : ",", e->d_name);
		first = 0;
	}
	if (d)
		closedir(d);
	putchar(']');
	report_env();
	puts("}");
}

static void stat_paths(int n, char **paths)
{
	putchar('{');
	for (int i = 0; i < n; i++) {
		struct stat st;
		key(paths[i], i == 0);
		if (lstat(paths[i], &st) < 0) {
			jstr(errname(errno));
			continue;
		}
		const char *type = S_ISCHR(st.st_mode) ? "char" : S_ISBLK(st.st_mode) ? "block" : S_ISDIR(st.st_mode) ? "dir"
			: S_ISLNK(st.st_mode) ? "link" : S_ISFIFO(st.st_mode) ? "fifo" : "file";
		printf("{\"type\":\"%s\",\"mode\":%u,\"major\":%u,\"minor\":%u,\"uid\":%u,\"gid\":%u}", type, st.st_mode & 07777,
		       major(st.st_rdev), minor(st.st_rdev), st.st_uid, st.st_gid);
	}
	puts("}");
}

static volatile sig_atomic_t got;
static void on_signal(int sig)
{
	got = sig;
}

/* Receives the container process state (until the runtime closes) and the fd sent with it. */
static int receive_state(int conn, char *buf, size_t size, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	size_t got = 0;
	*fd = -1;
	for (;;) {
		struct iovec iov = { buf + got, size - 1 - got };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
		ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
		got += (size_t)n;
	}
	buf[got] = '\0';
	return 0;
}

/* Listens on path and accepts one connection. */
static int accept_one(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (sock < 0 || bind(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(sock, 1) < 0)
		return -1;
	return accept4(sock, NULL, NULL, SOCK_CLOEXEC);
}

static int fd_receiver(const char *path, const char *out)
{
	static char message[256];
	int conn = accept_one(path), fd;
	if (conn < 0 || receive_state(conn, message, sizeof(message), &fd) < 0 || fd < 0) {
		perror("fd-receiver: receive");
		return 1;
	}
	FILE *f = fopen(out, "w");
	char info[64], *fdinfo;
	snprintf(info, sizeof(info), "/proc/self/fdinfo/%d", fd);
	fdinfo = slurp(info);
	char *pid = fdinfo ? strstr(fdinfo, "Pid:") : NULL;
	if (pid) {
		fprintf(f, "%ld\n", strtol(pid + 4, NULL, 10));
	} else {
		char buf[4096];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			fwrite(buf, 1, (size_t)n, f);
	}
	return fclose(f) == 0 ? 0 : 1;
}

/* One /dev directory's entries: type, mode, device numbers, owner, link target. */
static void dev_entries(const char *dir, int *first)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[512], link[256] = "";
		struct stat st;
		if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0')))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(path, link, sizeof(link) - 1);
			link[n > 0 ? n : 0] = '\0';
		}
		const char *type = S_ISCHR(st.st_mode) ? "c" : S_ISBLK(st.st_mode) ? "b" : S_ISDIR(st.st_mode) ? "d"
			: S_ISLNK(st.st_mode) ? "l" : S_ISFIFO(st.st_mode) ? "p" : S_ISSOCK(st.st_mode) ? "s" : "f";
		key(path, *first);
		*first = 0;
		printf("\"%s %o %u:%u %u:%u ", type, st.st_mode & 07777, major(st.st_rdev), minor(st.st_rdev), st.st_uid, st.st_gid);
		for (const char *c = link; *c; c++)
			if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20)
				putchar(*c);
		putchar('"');
	}
	if (d)
		closedir(d);
}

/* Lines of a file, -1 when it cannot be read. */
static int count_lines(const char *path)
{
	char *s = slurp(path);
	int n = 0;
	if (!s)
		return -1;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The errno of one call (0 when it succeeded). */
#define VERDICT(name, call)                          \
	do {                                         \
		errno = 0;                           \
		long rc_ = (call);                   \
		key(name, first);                    \
		first = 0;                           \
		printf("%d", rc_ < 0 ? errno : 0);   \
	} while (0)

/*
 * The errno of syscall nr(arg) made in a child: unshare would change this process's namespaces, and
 * a filter may kill the caller (a number of an architecture it does not cover): then 1000 + the signal.
 */
static long syscall_in_child(long nr, long arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(syscall(nr, arg) < 0 ? errno : 0);
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	errno = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 1000 + WTERMSIG(status) : 255;
	return errno ? -1 : 0;
}

static void diff_report(void)
{
	char buf[4096];
	static const char *sysctls[] = { "kernel/shmmax", "kernel/shmall", "kernel/shmmni", "kernel/msgmax", "kernel/msgmnb",
		"kernel/msgmni", "kernel/sem", "fs/mqueue/msg_max", "fs/mqueue/queues_max", "kernel/hostname", "kernel/domainname",
		"net/ipv4/ip_unprivileged_port_start", "net/ipv4/ping_group_range", "net/core/somaxconn", "net/ipv4/ip_forward" };
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[256];
	int first = 1;

	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	printf("{\"uids\":[%u,%u,%u],\"gids\":[%u,%u,%u],\"groups\":[", ru, eu, su, rg, eg, sg);
	int ng = getgroups(256, groups);
	for (int i = 0; i < ng; i++)
		printf("%s%u", i ? "," : "", groups[i]);
	printf("],\"pid\":%d,\"cwd\":", (int)getpid());
	jstr(getcwd(buf, sizeof(buf)) ? buf : "");
	key("umask", 0);
	mode_t m = umask(0);
	umask(m);
	printf("\"%04o\"", (unsigned)m);
	key("no_new_privs", 0);
	printf("%d", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	static const char *fields[] = { "Seccomp", "Seccomp_filters", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs" };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		status_field(fields[i], buf, sizeof(buf));
		key(fields[i], 0);
		jstr(buf);
	}
	struct utsname u;
	uname(&u);
	key("hostname", 0);
	jstr(u.nodename);
	key("domainname", 0);
	jstr(u.domainname);
	report_oom_and_rlimits(1);
	report_ns_and_maps();
	key("setgroups", 0);
	jstr(slurp("/proc/self/setgroups"));
	key("cgroup", 0);
	jstr(slurp_full("/proc/self/cgroup"));
	key("mountinfo", 0);
	jstr(slurp_full("/proc/self/mountinfo"));
	/* What is at /sys/fs/cgroup: per entry, its subdirectories and the processes in it. */
	key("cgroupfs", 0);
	putchar('{');
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *e;
	first = 1;
	while (d && (e = readdir(d))) {
		char path[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", e->d_name);
		struct stat st;
		if (lstat(path, &st) < 0)
			continue;
		key(e->d_name, first);
		first = 0;
		if (!S_ISDIR(st.st_mode)) {
			printf("%s", S_ISLNK(st.st_mode) ? "\"link\"" : "\"file\"");
			continue;
		}
		int subdirs = 0;
		DIR *sub = opendir(path);
		struct dirent *s;
		while (sub && (s = readdir(sub)))
			subdirs += s->d_type == DT_DIR && s->d_name[0] != '.';
		if (sub)
			closedir(sub);
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/cgroup.procs", e->d_name);
		printf("[%d,%d]", subdirs, count_lines(path));
	}
	if (d)
		closedir(d);
	putchar('}');
	key("dev", 0);
	putchar('{');
	first = 1;
	dev_entries("/dev", &first);
	dev_entries("/dev/pts", &first);
	dev_entries("/dev/mqueue", &first);
	dev_entries("/dev/shm", &first);
	putchar('}');
	key("sysctl", 0);
	putchar('{');
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		char path[128];
		snprintf(path, sizeof(path), "/proc/sys/%s", sysctls[i]);
		char *v = slurp(path);
		key(sysctls[i], i == 0);
		jstr(v ? strtok(v, "\n") ? v : "" : errname(errno));
	}
	putchar('}');
	report_env();
	key("syscalls", 0);
	putchar('{');
	first = 1;
	struct utsname un;
	VERDICT("getppid", syscall(SYS_getppid));
	VERDICT("uname", syscall(SYS_uname, &un));
	VERDICT("mkdirat", syscall(SYS_mkdirat, AT_FDCWD, "/nonexistent-dir/x", 0755));
	VERDICT("mknodat", syscall(SYS_mknodat, AT_FDCWD, "/nonexistent-dir/x", S_IFCHR | 0600, makedev(1, 3)));
	VERDICT("chroot", syscall(SYS_chroot, "/nonexistent-dir"));
	VERDICT("mount", syscall(SYS_mount, NULL, "/nonexistent-dir", NULL, MS_REMOUNT, NULL));
	VERDICT("umount2", syscall(SYS_umount2, "/nonexistent-dir", 0));
	VERDICT("sethostname", syscall(SYS_sethostname, NULL, 100));
	VERDICT("reboot", syscall(SYS_reboot, 0, 0, 0, NULL));
	VERDICT("acct", syscall(SYS_acct, "/nonexistent-dir"));
	VERDICT("keyctl", syscall(SYS_keyctl, 0x7fff, 0, 0, 0, 0));
	VERDICT("add_key", syscall(SYS_add_key, NULL, NULL, NULL, 0, 0));
	VERDICT("ptrace", syscall(SYS_ptrace, PTRACE_PEEKDATA, 0, 0, 0));
	VERDICT("personality", syscall(SYS_personality, 0xffffffff));
	VERDICT("setns", syscall(SYS_setns, -1, 0));
	VERDICT("bpf", syscall(SYS_bpf, -1, NULL, 0));
	VERDICT("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	VERDICT("syslog", syscall(SYS_syslog, 10, NULL, 0));
	VERDICT("io_uring_setup", syscall(SYS_io_uring_setup, 0, NULL));
	VERDICT("clone3", syscall(SYS_clone3, NULL, 0));
	VERDICT("socket_inet", ({ long fd_ = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); if (fd_ >= 0) close((int)fd_); fd_; }));
	VERDICT("unshare_none", syscall(SYS_unshare, 0));
	VERDICT("unshare_user", syscall_in_child(SYS_unshare, 0x10000000));
	VERDICT("unshare_mnt", syscall_in_child(SYS_unshare, 0x00020000));
	VERDICT("x32_getpid", syscall_in_child(0x40000000 + 39, 0));
	VERDICT("nr_500", syscall(500));
	VERDICT("nr_1000", syscall(1000));
	putchar('}');
	puts("}");
}

static void tty_report(void)
{
	struct winsize ws = { 0 };
	struct stat in, console;
	const char *name = ttyname(0);
	ioctl(0, TIOCGWINSZ, &ws);
	int same = name && stat(name, &in) == 0 && stat("/dev/console", &console) == 0 && in.st_rdev == console.st_rdev;
	int ctty = open("/dev/tty", O_RDWR | O_CLOEXEC);
	printf("{\"isatty\":%d,\"name\":", isatty(0));
	jstr(name ? name : "");
	printf(",\"rows\":%d,\"cols\":%d,\"leader\":%d,\"ctty\":%d,\"console\":%d}\n", ws.ws_row, ws.ws_col,
	       getsid(0) == getpid(), ctty >= 0, same);
}

static int seccomp_agent(const char *path, const char *out, long value)
{
	int conn = accept_one(path), listener;
	static char state[1 << 16];
	if (conn < 0 || receive_state(conn, state, sizeof(state), &listener) < 0 || listener < 0) {
		perror("seccomp-agent: receive");
		return 1;
	}
	FILE *f = fopen(out, "w");
	if (!f || fputs(state, f) < 0 || fclose(f) != 0) {
		perror("seccomp-agent: write the state");
		return 1;
	}
	for (;;) {
		struct pollfd p = { listener, POLLIN, 0 };
		if (poll(&p, 1, -1) < 0 || (p.revents & POLLHUP))
			return 0;
		struct seccomp_notif req;
		memset(&req, 0, sizeof(req));
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
			continue; /* the caller went away before we took it */
		struct seccomp_notif_resp resp = { .id = req.id, .val = value, .error = 0, .flags = 0 };
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
}

/* Whether ptrace could take hold of pid while it still was the shim. */
static int seized_before_exec(pid_t pid)
{
	int status;
	if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACEEXEC) < 0)
		return 0;
	ptrace(PTRACE_INTERRUPT, pid, 0, 0);
	/*
	 * An exec stop first: the attach waited for the exec's point of no return (the image and the
	 * credentials were the program's already). Any other stop: the exe says what was running.
	 */
	int shim = 0;
	if (waitpid(pid, &status, __WALL) == pid && WIFSTOPPED(status) && status >> 8 != (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
		char path[64], exe[256];
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		ssize_t n = readlink(path, exe, sizeof(exe) - 1);
		shim = n > 0 && (exe[n] = '\0', strstr(exe, "tsrun-shim") != NULL);
	}
	ptrace(PTRACE_DETACH, pid, 0, 0);
	return shim;
}

/*
 * An attacker in the container against processes tsrun adds (exec): while a process is still the
 * shim (not yet the program), it must be out of reach. Each pid is tried until it has exec'd.
 */
static void snoop(int seconds)
{
	static char done[1 << 22];
	int seen = 0, exe_read = 0, exe_written = 0, attached = 0;
	pid_t self = getpid();
	for (time_t end = time(NULL) + seconds; time(NULL) < end;) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			pid_t pid = (pid_t)atoi(e->d_name);
			if (pid <= 1 || pid == self || pid >= (pid_t)sizeof(done) || done[pid])
				continue;
			char path[64], exe[256];
			snprintf(path, sizeof(path), "/proc/%d/exe", pid);
			ssize_t n = readlink(path, exe, sizeof(exe) - 1);
			int shim = n > 0 && (exe[n] = '\0', strstr(exe, "tsrun-shim") != NULL);
			if (n > 0 && !shim) {
				done[pid] = 1; /* it runs its program now: fair game, and nothing to learn */
				seen++;
				continue;
			}
			exe_read += shim;
			int fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				exe_written++;
				close(fd);
			}
			attached += seized_before_exec(pid);
		}
		if (d)
			closedir(d);
	}
	printf("{\"seen\":%d,\"exe_read\":%d,\"exe_written\":%d,\"attached\":%d}\n", seen, exe_read, exe_written, attached);
}

static int hold_exe(const char *pid, const char *text)
{
	char exe[64], self[64], before[256] = "", now[256] = "";
	snprintf(exe, sizeof(exe), "/proc/%s/exe", pid);
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || readlink(exe, before, sizeof(before) - 1) < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	for (int i = 0; i < 20000 && readlink(exe, now, sizeof(now) - 1) > 0 && !strcmp(now, before); i++)
		usleep(1000);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	int w = open(self, O_WRONLY | O_CLOEXEC);
	if (w < 0 || write(w, text, strlen(text)) < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	printf("written\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (argc < 2) {
		report();
		return 0;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "tty")) {
		tty_report();
	} else if (!strcmp(cmd, "mount-proc") && argc == 3) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) < 0) {
			printf("%s\n", errname(errno));
			return 1;
		}
		pid_t child = fork();
		if (child == 0) {
			int rc = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 ? mount("proc", argv[2], "proc", 0, NULL) : -1;
			printf("%s\n", rc == 0 ? "ok" : errname(errno));
			fflush(stdout);
			_exit(0);
		}
		int status;
		waitpid(child, &status, 0);
	} else if (!strcmp(cmd, "syscall") && argc == 3) {
		long rc = syscall(strtol(argv[2], NULL, 0), 0, 0, 0, 0, 0, 0);
		if (rc < 0)
			printf("%s\n", errname(errno));
		else
			printf("%ld\n", rc);
	} else if (!strcmp(cmd, "diff")) {
		diff_report();
	} else if (!strcmp(cmd, "fd-receiver") && argc == 4) {
		return fd_receiver(argv[2], argv[3]);
	} else if (!strcmp(cmd, "seccomp-agent") && argc == 5) {
		return seccomp_agent(argv[2], argv[3], strtol(argv[4], NULL, 0));
	} else if (!strcmp(cmd, "count") && argc == 3) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		char text[32];
		for (unsigned long n = 0; fd >= 0; n++) {
			int len = snprintf(text, sizeof(text), "%lu\n", n);
			if (pwrite(fd, text, (size_t)len, 0) != len)
				return 1;
			usleep(1000);
		}
		return 1;
	} else if (!strcmp(cmd, "snoop") && argc == 3) {
		snoop(atoi(argv[2]));
	} else if (!strcmp(cmd, "hold-exe") && argc == 4) {
		return hold_exe(argv[2], argv[3]);
	} else if (!strcmp(cmd, "remount-rw") && argc == 3) {
		int rc = mount(NULL, argv[2], NULL, MS_REMOUNT | MS_BIND, NULL);
		printf("%s\n", rc == 0 ? "ok" : errname(errno));
	} else if (!strcmp(cmd, "swap") && argc == 4) {
		while (syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_EXCHANGE) == 0)
			;
		perror("swap");
		return 1;
	} else if (!strcmp(cmd, "stat")) {
		stat_paths(argc - 2, argv + 2);
	} else if (!strcmp(cmd, "exit") && argc == 3) {
		return atoi(argv[2]);
	} else if (!strcmp(cmd, "sleep") && argc == 3) {
		sleep((unsigned)atoi(argv[2]));
	} else if (!strcmp(cmd, "write") && argc == 4) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, argv[3], strlen(argv[3])) < 0) {
			printf("%s\n", errname(errno));
			return 1;
		}
		close(fd);
	} else if (!strcmp(cmd, "cat") && argc == 3) {
		char *s = slurp(argv[2]);
		if (!s) {
			printf("%s\n", errname(errno));
			return 1;
		}
		fputs(s, stdout);
	} else if (!strcmp(cmd, "personality") && argc == 3) {
		long r = syscall(SYS_personality, strtoul(argv[2], NULL, 0));
		if (r < 0)
			printf("%s\n", errname(errno));
		else
			printf("%ld\n", r);
	} else if ((!strcmp(cmd, "fork") && argc == 3) || (!strcmp(cmd, "fork-after") && argc == 4)) {
		if (argc == 4)
			sleep((unsigned)atoi(argv[2]));
		int n = atoi(argv[argc - 1]), ok = 0;
		for (int i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid == 0) {
				sleep(5);
				_exit(0);
			}
			if (pid > 0)
				ok++;
		}
		printf("%d\n", ok);
	} else if (!strcmp(cmd, "alloc") && argc == 3) {
		size_t size = (size_t)atoi(argv[2]) << 20;
		char *p = malloc(size);
		for (size_t i = 0; p && i < size; i += 4096)
			p[i] = 1;
		printf("%s\n", p ? "allocated" : "ENOMEM");
	} else if (!strcmp(cmd, "wait-signal")) {
		signal(SIGTERM, on_signal);
		signal(SIGINT, on_signal);
		signal(SIGUSR1, on_signal);
		printf("waiting\n");
		fflush(stdout);
		while (!got)
			pause();
		printf("got signal %d\n", (int)got);
	} else {
		fprintf(stderr, "probe: unknown command %s\n", cmd);
		return 2;
	}
	return 0;
}
