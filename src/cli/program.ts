import { Command, Option } from 'commander';
import type { ExecFlags } from './commands/exec.js';
import type { CreateFlags, RunFlags } from './commands/lifecycle.js';
import { Context, type GlobalOptions } from './context.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const integer = (value: string) => {
  if (!/^\d+$/.test(value)) throw new Error(`"${value}" is not a non-negative integer`);
  return Number(value);
};

type Action = (ctx: Context, args: string[], opts: Record<string, unknown>) => Promise<void> | void;

/** Runs a subcommand's action with the globals resolved (commander binds `this` to the subcommand). */
function act(action: Action) {
  return async function (this: Command) {
    const ctx = new Context(this.optsWithGlobals<GlobalOptions>());
    const args = this.args;
    await action(ctx, args, this.opts());
  };
}

/** A subcommand whose work is not in this build: its input is checked in full, then it says so. */
const later =
  (why: string): Action =>
  async (ctx, args, opts) =>
    (await import('./commands/pending.js')).pending(ctx, args, opts, why);

/** The runc-compatible command line. Subcommands load their code only when they run. */
export function buildProgram(version: string): Command {
  const program = new Command('tsrun')
    .description('tsrun: an OCI container runtime (runtime-spec 1.3)')
    .version(version, '-v, --version', 'print the version')
    .option('--root <dir>', 'state directory (default /run/tsrun, or $XDG_RUNTIME_DIR/tsrun when rootless)')
    .option('--log <file>', 'append log lines to this file')
    .addOption(new Option('--log-format <format>', 'log line format').choices(['text', 'json']).default('text'))
    .option('--debug', 'log debug messages', false)
    .option('--systemd-cgroup', 'treat cgroupsPath as slice:prefix:name', false)
    .addOption(new Option('--rootless <mode>', 'rootless mode').choices(['auto', 'true', 'false']).default('auto'))
    .option('--criu <path>', 'accepted for runc compatibility; tsrun does not use CRIU')
    .enablePositionalOptions()
    .showHelpAfterError(false)
    .allowExcessArguments(false);

  const bundle = () => new Option('-b, --bundle <dir>', 'path to the bundle directory').default('.');
  const createFlags = (cmd: Command) =>
    cmd
      .addOption(bundle())
      .option('--console-socket <path>', 'unix socket that receives the pty master of a terminal container')
      .option('--pidfd-socket <path>', 'unix socket that receives a pidfd of the container init')
      .option('--pid-file <path>', 'write the init pid to this file')
      .option('--no-pivot', 'do not use pivot_root (for a ramfs root)')
      .option('--no-new-keyring', 'do not create a new session keyring')
      .option('--preserve-fds <n>', 'pass N extra file descriptors (from 3) to the container', integer, 0);

  createFlags(program.command('create').argument('<container-id>').description('create a container')).action(
    act(async (ctx, [id], opts) => (await import('./commands/lifecycle.js')).create(ctx, id as string, opts as unknown as CreateFlags)),
  );

  program
    .command('start')
    .argument('<container-id>')
    .description('start the user process of a created container')
    .action(act(async (ctx, [id]) => (await import('./commands/lifecycle.js')).start(ctx, id as string)));

  createFlags(program.command('run').argument('<container-id>').description('create and start a container'))
    .option('-d, --detach', 'detach from the container process')
    .option('--keep', 'keep the container state after it exits')
    .option('--no-subreaper', 'accepted for runc compatibility (the shim always reaps the container process)')
    .action(
      act(async (ctx, [id], opts) => {
        process.exitCode = await (await import('./commands/lifecycle.js')).run(ctx, id as string, opts as unknown as RunFlags);
      }),
    );

  program
    .command('state')
    .argument('<container-id>')
    .description('print the state of a container as JSON')
    .action(act(async (ctx, [id]) => (await import('./commands/state.js')).state(ctx, id as string)));

  program
    .command('kill')
    .argument('<container-id>')
    .argument('[signal]', 'signal name or number', 'SIGTERM')
    .option('-a, --all', 'send the signal to every process of the container')
    .description('send a signal to the container init')
    .action(
      act(async (ctx, [id, signal], opts) =>
        (await import('./commands/lifecycle.js')).kill(ctx, id as string, signal ?? 'SIGTERM', opts.all === true),
      ),
    );

  program
    .command('delete')
    .argument('<container-id>')
    .option('-f, --force', 'kill a running container and delete it')
    .description('delete a container and its resources')
    .action(
      act(async (ctx, [id], opts) => (await import('./commands/lifecycle.js')).deleteContainer(ctx, id as string, opts.force === true)),
    );

  program
    .command('exec')
    .argument('<container-id>')
    .argument('[command...]')
    .option('--console-socket <path>', 'unix socket that receives the pty master')
    .option('--pidfd-socket <path>', 'unix socket that receives a pidfd of the process')
    .option('--cwd <dir>', 'working directory in the container')
    .option('-e, --env <var>', 'set an environment variable', collect)
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-u, --user <uid[:gid]>', 'user to run as')
    .option('-g, --additional-gids <gid>', 'additional group', collect)
    .option('-p, --process <file>', 'process.json describing the process')
    .option('-d, --detach', 'detach from the process')
    .option('--pid-file <path>', 'write the process pid to this file')
    .option('--process-label <label>', 'SELinux label of the process')
    .option('--apparmor <profile>', 'AppArmor profile of the process')
    .option('--no-new-privs', 'set no_new_privs')
    .option('-c, --cap <cap>', 'add a capability', collect)
    .option('--preserve-fds <n>', 'pass N extra file descriptors to the process', integer, 0)
    .option('--cgroup <path>', 'sub-cgroup to join', collect)
    .option('--ignore-paused', 'allow exec into a paused container')
    .description('run a process in a running container')
    .passThroughOptions()
    .action(
      act(async (ctx, [id, ...command], opts) => {
        const { exec } = await import('./commands/exec.js');
        process.exitCode = await exec(ctx, id as string, command, opts as unknown as ExecFlags);
      }),
    );

  program
    .command('ps')
    .argument('<container-id>')
    .argument('[ps-args...]')
    .passThroughOptions()
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .description('list the processes of a container')
    .action(
      act(async (ctx, [id, ...psArgs], opts) =>
        (await import('./commands/cgroups.js')).ps(ctx, id as string, psArgs, opts.format as 'table' | 'json'),
      ),
    );

  program
    .command('list')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'print only ids')
    .description('list containers')
    .action(
      act(async (ctx, _args, opts) => (await import('./commands/list.js')).list(ctx, opts.format as 'table' | 'json', opts.quiet === true)),
    );

  program
    .command('pause')
    .argument('<container-id>')
    .description('freeze a container')
    .action(act(async (ctx, [id]) => (await import('./commands/cgroups.js')).pause(ctx, id as string)));
  program
    .command('resume')
    .argument('<container-id>')
    .description('thaw a container')
    .action(act(async (ctx, [id]) => (await import('./commands/cgroups.js')).resume(ctx, id as string)));

  const update = program
    .command('update')
    .argument('<container-id>')
    .option('-r, --resources <file>', 'LinuxResources JSON from a file, or - for stdin')
    .description('update the resource limits of a container');
  for (const flag of [
    'blkio-weight',
    'cpu-period',
    'cpu-quota',
    'cpu-burst',
    'cpu-share',
    'cpu-rt-period',
    'cpu-rt-runtime',
    'cpuset-cpus',
    'cpuset-mems',
    'cpu-idle',
    'kernel-memory',
    'kernel-memory-tcp',
    'memory',
    'memory-reservation',
    'memory-swap',
    'pids-limit',
    'l3-cache-schema',
    'mem-bw-schema',
  ]) {
    update.option(`--${flag} <value>`);
  }
  update.action(
    act(async (ctx, [id], opts) => (await import('./commands/cgroups.js')).update(ctx, id as string, opts as Record<string, string>)),
  );

  program
    .command('events')
    .argument('<container-id>')
    .option('--interval <duration>', 'stats interval', '5s')
    .option('--stats', 'print stats once and exit')
    .description('print container events and stats')
    .action(
      act(async (ctx, [id], opts) =>
        (await import('./commands/cgroups.js')).events(ctx, id as string, opts as { stats?: boolean; interval: string }),
      ),
    );

  program
    .command('features')
    .description('print the runtime-spec features document of this tsrun')
    .action(act(async () => (await import('./commands/features.js')).printFeatures()));

  program
    .command('spec')
    .addOption(bundle())
    .option('--rootless', 'a config for an unprivileged user (user namespace, no host-root mounts)')
    .description('write a default config.json')
    .action(
      act(async (_ctx, _args, opts) => (await import('./commands/spec.js')).writeSpec(opts.bundle as string, opts.rootless === true)),
    );

  const criu = 'tsrun has no CRIU integration';
  const checkpoint = program.command('checkpoint').argument('<container-id>').description('checkpoint a container (CRIU)');
  for (const flag of ['image-path', 'work-path', 'parent-path', 'page-server', 'status-fd', 'manage-cgroups-mode', 'empty-ns']) {
    checkpoint.option(`--${flag} <value>`);
  }
  for (const flag of [
    'leave-running',
    'tcp-established',
    'ext-unix-sk',
    'shell-job',
    'lazy-pages',
    'file-locks',
    'pre-dump',
    'auto-dedup',
  ]) {
    checkpoint.option(`--${flag}`);
  }
  checkpoint.action(act(later(criu)));

  const restore = program.command('restore').argument('<container-id>').description('restore a container (CRIU)').addOption(bundle());
  for (const flag of [
    'console-socket',
    'image-path',
    'work-path',
    'manage-cgroups-mode',
    'pid-file',
    'empty-ns',
    'lsm-profile',
    'lsm-mount-context',
  ]) {
    restore.option(`--${flag} <value>`);
  }
  for (const flag of [
    'tcp-established',
    'ext-unix-sk',
    'shell-job',
    'file-locks',
    'detach',
    'no-subreaper',
    'no-pivot',
    'auto-dedup',
    'lazy-pages',
  ]) {
    restore.option(`--${flag}`);
  }
  restore.action(act(later(criu)));

  program
    .command('seccomp')
    .description('seccomp tools')
    .command('compile')
    .addOption(bundle())
    .description("print the BPF program the bundle's linux.seccomp compiles to")
    .action(act(async (_ctx, _args, opts) => (await import('./commands/seccomp.js')).printSeccomp(opts.bundle as string)));

  program
    .command('doctor')
    .option('--json', 'print the report as JSON')
    .description('check this host for what tsrun needs, and say how to fix what is missing')
    .action(act(async (ctx, _args, opts) => (await import('./commands/doctor.js')).doctor(ctx, opts.json === true)));

  return program;
}

/** Every long flag name of the program and its subcommands, for Go-style single-dash flags. */
export function longFlagNames(program: Command): Set<string> {
  const names = new Set<string>();
  for (const cmd of [program, ...program.commands]) {
    for (const opt of cmd.options) {
      if (opt.long) names.add(opt.long.replace(/^--(no-)?/, ''));
      if (opt.long) names.add(opt.long.slice(2));
    }
  }
  return names;
}
