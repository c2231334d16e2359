// Thin wrapper over node:util parseArgs (built in, so no CLI-parser dependency): every
// command gets the same error format and --help handling.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describeError, HandoffError } from '../lib/errors.js';

/** A command line handoff cannot run: printed with the command's help, exit code 2. */
export class UsageError extends HandoffError {
  constructor(message: string) {
    super('HANDOFF_ERR_USAGE', 'client', message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<T extends Options>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Run a command body, turning UsageError into exit code 2 with the command's help. */
export async function command(help: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`handoff: ${describeError(err)}\n\n${help}`);
      return 2;
    }
    throw err;
  }
}
