#!/usr/bin/env node
// Generates src/seccomp/tables/<arch>.json (syscall name → number) from the kernel uapi headers
// Debian ships: linux-libc-dev for the x86 family, linux-libc-dev-<arch>-cross for the others
// (apt-get install linux-libc-dev-{arm64,armhf,riscv64,s390x,ppc64el}-cross). The C preprocessor
// expands each architecture's asm/unistd.h as that architecture's compiler would (the macros it
// tests are set by hand), and the __NR_* values are evaluated here. The output is committed; run
// this again when the headers are newer.   node scripts/gen-syscall-tables.mjs
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');

// arch → [include directory, preprocessor flags that select the architecture's header]
const sources = {
  x86_64: ['/usr/include/x86_64-linux-gnu', ['-D__x86_64__', '-U__ILP32__']],
  x86: ['/usr/include/x86_64-linux-gnu', ['-U__x86_64__', '-D__i386__']],
  x32: ['/usr/include/x86_64-linux-gnu', ['-D__x86_64__', '-D__ILP32__']],
  aarch64: ['/usr/aarch64-linux-gnu/include', ['-U__x86_64__']],
  arm: ['/usr/arm-linux-gnueabihf/include', ['-U__x86_64__', '-D__ARM_EABI__']],
  riscv64: ['/usr/riscv64-linux-gnu/include', ['-U__x86_64__']],
  s390x: ['/usr/s390x-linux-gnu/include', ['-U__x86_64__', '-D__s390x__']],
  ppc64le: ['/usr/powerpc64le-linux-gnu/include', ['-U__x86_64__', '-D__powerpc64__']],
};

// Macros of the same shape that are not syscalls.
const NOT_SYSCALLS = new Set(['syscalls', 'arch_specific_syscall', 'SYSCALL_BASE', 'OABI_SYSCALL_BASE', 'BASE']);

function macros(include, flags) {
  const out = execFileSync('cc', ['-E', '-dM', '-nostdinc', '-I', join(include), ...flags, '-x', 'c', '-'], {
    input: '#include <asm/unistd.h>\n',
    encoding: 'utf8',
  });
  const defs = new Map();
  for (const line of out.split('\n')) {
    const m = /^#define (\w+) (.+)$/.exec(line);
    if (m) defs.set(m[1], m[2].trim());
  }
  return defs;
}

/** The integer a macro expands to: identifiers substituted, then only numbers, + and () left. */
function evaluate(defs, name, seen = new Set()) {
  if (seen.has(name)) throw new Error(`${name}: recursive definition`);
  const body = defs.get(name);
  if (body === undefined) throw new Error(`${name}: not defined`);
  const expr = body.replace(/\b[A-Za-z_]\w*\b/g, (id) => String(evaluate(defs, id, new Set([...seen, name]))));
  if (!/^[\s0-9a-fA-FxX+()]*$/.test(expr)) throw new Error(`${name}: cannot evaluate ${body}`);
  return Function(`"use strict"; return (${expr});`)();
}

for (const [arch, [include, flags]] of Object.entries(sources)) {
  const defs = macros(include, flags);
  const table = {};
  for (const name of defs.keys()) {
    // __NR_<name>, and ARM's private calls __ARM_NR_<name> (cacheflush, set_tls …), named as libseccomp names them.
    const m = /^__(?:ARM_)?NR_(\w+)$/.exec(name);
    if (!m || NOT_SYSCALLS.has(m[1])) continue;
    table[m[1]] = evaluate(defs, name);
  }
  const sorted = Object.fromEntries(Object.entries(table).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])));
  const out = join(top, 'src', 'seccomp', 'tables', `${arch}.json`);
  writeFileSync(out, `${JSON.stringify(sorted, null, 0)}\n`);
  console.log(`${arch}: ${Object.keys(sorted).length} syscalls from ${include}/asm/unistd.h → ${out}`);
}
