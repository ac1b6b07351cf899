// `kvcloud`: the local cloud from the command line (run as root; `make demo`, `make dev-up` and friends call it).
//
//   kvcloud demo [--clusters N] | demo down | demo status [--json]
//   kvcloud local up | local down | local status [--json]
//
// args.ts holds the grammar and the help texts, host.ts the caller's side (the background supervisor and the verbs),
// serve.ts the part inside the cluster's network namespace.
import { fileURLToPath } from 'node:url';
import { helpText, parseCommand, UsageError, type Command } from './args.js';
import { demo, down, nextSteps, runHost, status, up } from './host.js';
import { serve } from './serve.js';
import { defaultStateDir, layout, readJSON, type HostState } from './state.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, notRunning: 3 } as const;

async function execute(cmd: Command): Promise<number> {
  switch (cmd.kind) {
    case 'help':
      console.log(helpText(cmd.topic));
      return EXIT.ok;
    case 'up': {
      const dir = cmd.stateDir ?? defaultStateDir(cmd.profile);
      if (cmd.profile === 'demo') return demo(cmd.clusters, dir, process.stdout);
      const { code, state } = await up('local', 0, dir, process.stdout);
      if (code !== 0 || !state) return code;
      console.log(`\nThe local cloud is up. From this shell:`);
      for (const line of nextSteps(state, 'local')) console.log(line);
      console.log(`Stop it with \`make dev-down\` (kvcloud local down).\nkvcloud local: ready`);
      return EXIT.ok;
    }
    case 'down':
      return down(cmd.profile, cmd.stateDir ?? defaultStateDir(cmd.profile));
    case 'status': {
      const dir = cmd.stateDir ?? defaultStateDir(cmd.profile);
      const s = status(dir);
      if (cmd.json) console.log(JSON.stringify(s, null, 2));
      else if (!s.running) console.log('not running');
      else {
        console.log(`${s.phase ?? '?'} (pid ${String(s.pid)}, state in ${dir})${s.error ? `: ${s.error}` : ''}`);
        const state = (readJSON(layout(dir).state) as HostState | undefined);
        if (state) for (const line of nextSteps(state, cmd.profile)) console.log(line);
      }
      return s.running ? EXIT.ok : EXIT.notRunning;
    }
    case 'host':
      return runHost(cmd.profile, cmd.clusters, cmd.stateDir);
    case 'serve':
      return serve(cmd.profile, cmd.clusters, cmd.stateDir);
  }
}

export async function main(argv: string[]): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseCommand(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`kvcloud: ${err.message}\n\n${helpText(err.topic)}`);
    return EXIT.usage;
  }
  try {
    return await execute(cmd);
  } catch (err) {
    console.error(`kvcloud: ${(err as Error).message}`);
    return EXIT.failure;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Exit at once: a client or timer left open by a stopped cluster must not keep a finished command waiting.
  process.exit(await main(process.argv.slice(2)));
}
