#!/usr/bin/env node
// Generates src/seccomp/tables/<arch>.json (syscall name → number) from the kernel uapi headers
// of Debian's linux-libc-dev. Run it again when the headers are newer; the output is committed.
//   node scripts/gen-syscall-tables.mjs [include dir]   (default /usr/include/x86_64-linux-gnu)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');
const include = process.argv[2] ?? '/usr/include/x86_64-linux-gnu';
const X32_SYSCALL_BIT = 0x40000000;

const sources = {
  x86_64: 'asm/unistd_64.h',
  x86: 'asm/unistd_32.h',
  x32: 'asm/unistd_x32.h',
};

for (const [arch, header] of Object.entries(sources)) {
  const table = {};
  for (const line of readFileSync(join(include, header), 'utf8').split('\n')) {
    const m = /^#define __NR_(\w+)\s+(?:\(__X32_SYSCALL_BIT \+ )?(\d+)\)?\s*$/.exec(line);
    if (!m) continue;
    table[m[1]] = Number(m[2]) + (line.includes('__X32_SYSCALL_BIT') ? X32_SYSCALL_BIT : 0);
  }
  const out = join(top, 'src', 'seccomp', 'tables', `${arch}.json`);
  writeFileSync(out, `${JSON.stringify(table, null, 0)}\n`);
  console.log(`${arch}: ${Object.keys(table).length} syscalls from ${header} → ${out}`);
}
