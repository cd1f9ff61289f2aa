/** Host-side helpers of the spec-tests: a command under a terminal of its own, and the probe as a host daemon. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, inject } from 'vitest';
import { asUser, type Identity, scratchDir } from './tsrun.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A word for sh -c, quoted. */
export const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Runs an argv under a terminal of its own (script(1)); its output (\r removed) and status. stdin
 * stays open until it exits: script turns its end of file into a byte for the pty.
 */
export async function inTerminal(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; setup?: string } = {}) {
  const line = `${opts.setup ? `${opts.setup}; ` : ''}${argv.map(shellQuote).join(' ')}`;
  const child = spawn('script', ['-qec', line, '/dev/null'], { cwd: opts.cwd, env: opts.env });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.stdin.end();
  return { code, out: out.replaceAll('\r', '') };
}

/**
 * The probe run on the host as the identity (its seccomp-agent or fd-receiver), listening on
 * socket; waits until it exits (at most 10 s) and expects status 0.
 */
export async function hostProbe(as: Identity, args: string[], socket: string) {
  const argv = [inject('probe'), ...args];
  const child = as === 'root' ? spawn(argv[0] as string, argv.slice(1)) : spawn('setpriv', [...asUser(), ...argv]);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(20);
  expect(existsSync(socket), stderr).toBe(true);
  return {
    async done(): Promise<void> {
      const status = await Promise.race([exited, sleep(10_000).then(() => 'timeout')]);
      child.kill('SIGKILL');
      expect(status, stderr).toBe(0);
    },
  };
}

/** The probe's fd-receiver on a socket, as the identity; result() is what it wrote, once it is done. */
export async function fdReceiver(as: Identity) {
  const dir = scratchDir(as);
  const socket = join(dir, 'fd.sock');
  const out = join(dir, 'out');
  const probe = await hostProbe(as, ['fd-receiver', socket, out], socket);
  return {
    socket,
    async result(): Promise<string> {
      await probe.done();
      return readFileSync(out, 'utf8');
    },
  };
}
