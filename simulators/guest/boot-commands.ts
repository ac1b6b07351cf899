// What the guest does with the commands cloud-init's runcmd (or CABPK's Ignition kubeadm.sh) would run. It has no
// real shell on a real machine, so it recognises the commands that matter to Cluster API, in order: `kubeadm join`
// and `kubeadm init` with --config, and the bootstrap-success sentinel write. Everything else (package installs,
// hostnamectl, sysctl...) is reported as not run. A chain `a && b` runs b only if a succeeded, as sh would.

export type BootStep =
  | { kind: 'kubeadm'; phase: 'join' | 'init'; config: string; command: string }
  | { kind: 'sentinel'; path: string; content: string; command: string }
  | { kind: 'not-run'; command: string };

/** Splits a shell line on && into a chain; `;` and newlines start new chains. */
export function splitChains(command: string): string[][] {
  return command
    .split(/;|\n/)
    .map((part) => part.split('&&').map((s) => s.trim()).filter(Boolean))
    .filter((chain) => chain.length > 0);
}

const KUBEADM = /^(?:\S*\/)?kubeadm\s+(join|init)(?:\s+(.*))?$/;
const SENTINEL = /^echo\s+(['"]?)([^'">]*)\1\s*>\s*(\S*bootstrap-success\.complete)$/;

function configFlag(args: string): string | undefined {
  return /(?:^|\s)--config(?:=|\s+)(\S+)/.exec(args)?.[1];
}

export function classify(command: string): BootStep {
  const kubeadm = KUBEADM.exec(command);
  if (kubeadm) {
    const phase = kubeadm[1] === 'init' ? 'init' : 'join';
    const config = configFlag(kubeadm[2] ?? '');
    if (!config) throw new Error(`"${command}": the simulated guest runs kubeadm ${phase} only with --config`);
    return { kind: 'kubeadm', phase, config, command };
  }
  const sentinel = SENTINEL.exec(command);
  if (sentinel?.[3]) return { kind: 'sentinel', path: sentinel[3], content: `${(sentinel[2] ?? '').trim()}\n`, command };
  return { kind: 'not-run', command };
}

/** Every command as chains of steps, in order. */
export function planBoot(commands: string[]): BootStep[][] {
  return commands.flatMap(splitChains).map((chain) => chain.map(classify));
}
