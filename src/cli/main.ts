// `handoff <command> [options]`: dispatch to one file per command in this folder. Each
// command module exports `run(argv): Promise<number>` (the process exit code).

export interface CommandModule {
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Readonly<Record<string, string>> = {
  start: 'run the master in the foreground (no -f: the built-in demo)',
  reload: 'reload the running service; exit 0 once the new config is in force',
  apply: 'push a config document (file or stdin) to the running service and apply it',
  status: 'generations, workers, listeners, connections, reloads',
  stop: 'graceful stop (drain), or immediate with --now',
  'reopen-logs': 'reopen the access log files after a rotation (as SIGUSR1 to the master)',
  check: 'validate a config file; errors as file:line:col',
  doctor: 'find stale or duplicate listeners on this host',
  storm: 'reload-under-load verifier (see handoff storm --help)',
  echo: 'a small demo/test backend (HTTP, WebSocket, or --tcp echo)',
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, text]) => `  ${name.padEnd(width)}  ${text}`);
  return `usage: handoff <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'handoff <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage());
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    const { version } = await import('../lib/version.js');
    console.log(version());
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, command)) {
    console.error(`handoff: unknown command '${command}'\n\n${usage()}`);
    return 2;
  }
  const mod = (await import(`./${command}.js`)) as CommandModule;
  return mod.run(rest);
}
