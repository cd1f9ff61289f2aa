/*
 * Test helper (never shipped): libseccomp's view of a profile, for the differential test.
 *   libseccomp-export resolve ARCH   names on stdin, one per line → "name number" (-1 if unknown
 *                            on ARCH, or known on this machine only as a pseudo number, which
 *                            libseccomp does not always translate: sys_debug_setcontext on ppc64le)
 *   libseccomp-export export NATIVE ARCH[,ARCH...]   a profile on stdin → libseccomp's BPF program
 *                            on stdout, as built on a machine whose architecture is NATIVE
 * Profile lines: "default ACTION" then "rule ACTION SYSCALL NCOND [ARG OP DATUM_A DATUM_B]...",
 * with ACTION the kernel's SECCOMP_RET_* value and OP libseccomp's enum scmp_compare. SYSCALL is
 * a name, resolved and added the way runc does it: libseccomp's native (or pseudo) number, which it
 * translates for each architecture of the filter; names it does not know are skipped.
 * A rule whose action is the default's is skipped, as runc skips it. Where libseccomp refuses a
 * rule with EEXIST (it conflicts with an earlier rule for the syscall; runc then fails) the exit
 * status is 3. The native architecture stays
 * in the filter and a call from an architecture it does not cover is killed: libseccomp's defaults,
 * which runc keeps, and so does tsrun.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const char *what, int rc)
{
	fprintf(stderr, "libseccomp-export: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != (strcmp(argv[1], "export") == 0 ? 4 : 3))
		return die("usage: resolve ARCH | export NATIVE ARCHES", EINVAL);
	if (strcmp(argv[1], "resolve") == 0) {
		uint32_t arch = seccomp_arch_resolve_name(argv[2]);
		if (arch == 0)
			return die(argv[2], EINVAL);
		char name[128];
		while (scanf("%127s", name) == 1)
			printf("%s %d\n", name, seccomp_syscall_resolve_name(name) < 0 ? -1 : seccomp_syscall_resolve_name_arch(arch, name));
		return 0;
	}
	unsigned long def;
	if (scanf(" default %lx", &def) != 1)
		return die("expected a default line", EINVAL);
	scmp_filter_ctx ctx = seccomp_init((uint32_t)def);
	if (ctx == NULL)
		return die("seccomp_init", ENOMEM);
	uint32_t native = seccomp_arch_resolve_name(argv[2]);
	int rc = native == 0 ? -EINVAL : 0;
	/* Another machine's native architecture replaces this one's (libseccomp cannot mix byte orders). */
	if (rc == 0 && native != seccomp_arch_native()) {
		rc = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE);
		if (rc == 0)
			rc = seccomp_arch_add(ctx, native);
	}
	for (char *name = strtok(argv[3], ","); rc == 0 && name != NULL; name = strtok(NULL, ",")) {
		uint32_t arch = seccomp_arch_resolve_name(name);
		rc = arch == 0 ? -EINVAL : seccomp_arch_exist(ctx, arch) == 0 ? 0 : seccomp_arch_add(ctx, arch);
	}
	if (rc != 0)
		return die("seccomp_arch_add", rc);
	unsigned long action;
	char syscall[128];
	unsigned int ncond;
	while (scanf(" rule %lx %127s %u", &action, syscall, &ncond) == 3) {
		struct scmp_arg_cmp cmp[6];
		if (ncond > 6)
			return die("too many conditions", EINVAL);
		for (unsigned int i = 0; i < ncond; i++) {
			unsigned int arg, op;
			unsigned long long a, b;
			if (scanf("%u %u %llx %llx", &arg, &op, &a, &b) != 4)
				return die("bad condition", EINVAL);
			cmp[i] = (struct scmp_arg_cmp){ arg, (enum scmp_compare)op, a, b };
		}
		if (action == def)
			continue;
		int nr = seccomp_syscall_resolve_name(syscall);
		rc = nr == __NR_SCMP_ERROR ? 0 : seccomp_rule_add_array(ctx, (uint32_t)action, nr, ncond, cmp);
		if (rc == -EEXIST) {
			die(syscall, rc);
			return 3;
		}
		if (rc != 0)
			return die(syscall, rc);
	}
	rc = seccomp_export_bpf(ctx, 1);
	return rc != 0 ? die("seccomp_export_bpf", rc) : 0;
}
