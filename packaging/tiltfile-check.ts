// Runs e2e/tools/tiltfile-check (go.starlark.net with Tilt's built-ins recorded) over a checkout's Tiltfile: what
// Tilt would build and deploy, without Tilt. packaging/tiltfile.test.ts holds the record to the repository;
// e2e/suites/foundation/kind-manifests.e2e.ts sends the manifests it deploys to an apiserver.
import { execFileSync, spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinnedVersion } from './image-contents.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** One Tilt built-in the Tiltfile called, with its arguments by Tilt's parameter names (a Blob as { blob: text }). */
export interface TiltCall {
  fn: string;
  args: Record<string, unknown>;
}

export interface TiltfileTools {
  checker: string;
  /** The kubectl whose kustomize the checker runs: the pinned Kubernetes release's. */
  kubectl: string;
}

/** The checker and kubectl, built on first use (unit tests run before `make tools`); a no-op once built. */
export function tiltfileTools(): TiltfileTools {
  execFileSync('bash', [join(repoRoot, 'e2e', 'tools', 'build.sh'), 'tiltfile-check', 'kubernetes'], { stdio: 'ignore' });
  const cache = process.env.KVCLOUD_CACHE ?? join(homedir(), '.cache', 'kvcloud');
  return {
    checker: join(cache, 'bin', `tiltfile-check-${pinnedVersion('STARLARK_VERSION')}`, 'tiltfile-check'),
    kubectl: join(cache, 'bin', `kubernetes-${pinnedVersion('KUBERNETES_VERSION')}`, 'kubectl'),
  };
}

/** The calls of the Tiltfile in `dir` (the repository's by default), or the evaluation's error. */
export function evaluateTiltfile(tools: TiltfileTools, dir = repoRoot): TiltCall[] {
  // Only PATH and HOME: a developer's environment variables would change what os.getenv answers.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  const run = spawnSync(tools.checker, ['-kustomize', `${tools.kubectl} kustomize`, join(dir, 'Tiltfile')], { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`tiltfile-check failed: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { calls: TiltCall[] }).calls;
}

/** The manifests the Tiltfile deploys (its k8s_yaml calls), as YAML streams. */
export function deployedManifests(calls: TiltCall[]): string[] {
  return calls.filter((c) => c.fn === 'k8s_yaml').map((c) => (c.args.yaml as { blob?: string }).blob ?? '');
}
