import { main } from './cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    // A subcommand may have set a non-zero status itself (doctor with errors).
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tsrun: internal error: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
