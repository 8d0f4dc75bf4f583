// The growbert command line. Each command lives in its own file and registers itself here.
// Bad input (GrowbertError, commander's usage errors) prints one line and exits non-zero.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { GrowbertError } from '../io/errors.js';
import { fsCause } from '../io/out-guard.js';
import { registerCommands } from './commands.js';
import { Interrupted } from '../train/trainer.js';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('growbert')
    .description('Progressive BERT pre-training: train small, grow, keep training (TypeScript on libtorch)')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    // Usage errors as one line, like every other bad-input error.
    .configureOutput({
      outputError: (str, write) => write(`growbert: ${str.replace(/^error: /, '').trim()} (see --help)\n`),
    });
  registerCommands(program);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command may set process.exitCode (e.g. 130 after Ctrl-C) without throwing.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version also arrive here, with exit code 0; commander already printed.
      return e.exitCode;
    }
    if (e instanceof Interrupted) {
      console.error(`growbert: ${e.message}`);
      return e.exitCode; // 130, 143 or 129: the signal's
    }
    if (e instanceof GrowbertError) {
      console.error(`growbert: ${e.message}`);
      return 2;
    }
    const err = e as NodeJS.ErrnoException & { dest?: string };
    // A file-system failure: its real cause in words and the path, not a bare errno line.
    if (err.code && err.syscall)
      console.error(
        `growbert: cannot ${err.syscall} ${err.path ?? ''}${err.dest ? ` -> ${err.dest}` : ''}: ${fsCause(err)}`,
      );
    else console.error(`growbert: ${err.message}`);
    if (process.env.GROWBERT_DEBUG) console.error(err.stack);
    return 1;
  }
}
