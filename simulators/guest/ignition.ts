// Ignition (spec 2.x as CABPK's Container Linux Config output, and 3.x) as the simulated guest runs it: the
// storage files (data: URLs, optional gzip), the passwd users, and the enabled systemd units whose ExecStart is
// a script Ignition wrote: CABPK's kubeadm.service runs /etc/kubeadm.sh, which holds the kubeadm command.
import { gunzipSync } from 'node:zlib';
import type { CloudConfig, GuestFile, GuestUser } from './cloud-config.js';

interface IgnitionFile {
  path?: string;
  contents?: { source?: string; compression?: string };
  append?: boolean | { source?: string; compression?: string }[];
  mode?: number;
}

interface IgnitionUnit {
  name?: string;
  enabled?: boolean;
  contents?: string;
}

interface IgnitionConfig {
  ignition?: { version?: string };
  storage?: { files?: IgnitionFile[] };
  systemd?: { units?: IgnitionUnit[] };
  passwd?: { users?: { name?: string; sshAuthorizedKeys?: string[] }[] };
}

export function isIgnition(userdata: string): boolean {
  if (!userdata.trimStart().startsWith('{')) return false;
  try {
    return typeof (JSON.parse(userdata) as IgnitionConfig).ignition?.version === 'string';
  } catch {
    return false;
  }
}

/** Decodes an RFC 2397 data URL; Ignition's files carry their contents this way. */
export function decodeDataURL(source: string, compression?: string): Buffer {
  const m = /^data:([^,]*),(.*)$/s.exec(source);
  if (!m) throw new Error(`ignition source "${source.slice(0, 40)}" is not a data: URL; the simulated guest fetches nothing`);
  const [, meta = '', data = ''] = m;
  const raw = meta.split(';').includes('base64') ? Buffer.from(data, 'base64') : Buffer.from(decodeURIComponent(data), 'utf8');
  if (!compression) return raw;
  if (compression === 'gzip') return gunzipSync(raw);
  throw new Error(`ignition compression "${compression}" is not supported`);
}

/** Lines of a shell script that do something: no shebang, comments, blank lines or `set` options. */
function scriptCommands(script: string): string[] {
  return script
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !/^set\s+[-+]/.test(l));
}

function execStarts(unit: string): string[] {
  return unit
    .split('\n')
    .map((l) => /^\s*ExecStart\s*=\s*(.+)$/.exec(l)?.[1]?.trim())
    .filter((v): v is string => Boolean(v))
    .map((v) => v.replace(/^[-@:+!]+/, ''));
}

/** Parses an Ignition config into the same shape as cloud-config: files, commands in unit order, users. */
export function parseIgnition(text: string): CloudConfig {
  const config = JSON.parse(text) as IgnitionConfig;
  const version = config.ignition?.version ?? '';
  if (!/^[23]\./.test(version)) throw new Error(`ignition version "${version}" is not supported (2.x and 3.x are)`);
  const files = (config.storage?.files ?? []).map((f): GuestFile => {
    if (!f.path) throw new Error('ignition file without a path');
    // 2.x marks appending with append: true on the file; 3.x lists the appended fragments.
    const fragments = Array.isArray(f.append) ? f.append : [];
    const content = f.contents?.source !== undefined ? decodeDataURL(f.contents.source, f.contents.compression) : Buffer.alloc(0);
    const appended = fragments.map((a) => decodeDataURL(a.source ?? 'data:,', a.compression));
    return { path: f.path, content: Buffer.concat([content, ...appended]), mode: f.mode ?? 0o644, append: f.append === true || fragments.length > 0 };
  });
  const byPath = new Map(files.map((f) => [f.path, f]));
  const commands: string[] = [];
  for (const unit of config.systemd?.units ?? []) {
    if (unit.enabled !== true || !unit.contents) continue;
    for (const exec of execStarts(unit.contents)) {
      const [program = ''] = exec.split(/\s+/);
      const script = byPath.get(program);
      commands.push(...(script ? scriptCommands(script.content.toString('utf8')) : [exec]));
    }
  }
  const users = (config.passwd?.users ?? []).flatMap((u): GuestUser[] => (u.name ? [{ name: u.name, sshAuthorizedKeys: u.sshAuthorizedKeys ?? [] }] : []));
  return { files, commands, users };
}
