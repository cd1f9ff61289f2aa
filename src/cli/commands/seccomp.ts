import { loadBundle } from '../../container/bundle.js';
import { compileSeccomp } from '../../seccomp/compile.js';
import { disassemble } from '../../seccomp/disasm.js';
import { UserError } from '../errors.js';

/** `tsrun seccomp compile`: the BPF program a bundle's linux.seccomp compiles to, readable. */
export function printSeccomp(bundleDir: string): void {
  const { config } = loadBundle(bundleDir);
  const seccomp = config.linux?.seccomp;
  if (!seccomp) throw new UserError(`${bundleDir}/config.json has no linux.seccomp`);
  const { program, flags } = compileSeccomp(seccomp);
  process.stdout.write(`; ${program.length / 8} instructions, flags ${flags}\n${disassemble(program)}\n`);
}
