// Command-line flags as a map, so a user's extraArgs replace a generated flag of the same name instead of
// adding a second one the binary would resolve unpredictably; rendered sorted so the pod template is stable.

export type Flags = Map<string, string>;

/** "--name=value", "--name value" is not accepted: Kamaji's extraArgs are written "--name=value" or "--name". */
function parseFlag(arg: string): [string, string | undefined] {
  const body = arg.replace(/^--?/, '');
  const eq = body.indexOf('=');
  return eq < 0 ? [body, undefined] : [body.slice(0, eq), body.slice(eq + 1)];
}

export function withExtraArgs(flags: Flags, extraArgs: readonly string[] | undefined): Flags {
  const out = new Map(flags);
  for (const arg of extraArgs ?? []) {
    const [name, value] = parseFlag(arg);
    out.set(name, value ?? '\0');
  }
  return out;
}

export function renderFlags(flags: Flags): string[] {
  return [...flags.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === '\0' ? `--${name}` : `--${name}=${value}`));
}
