// The Tiltfile, evaluated without Tilt: e2e/tools/tiltfile-check runs it in Tilt's Starlark dialect with every Tilt
// built-in it calls recorded (kustomize runs for real, through the pinned kubectl), and these tests hold the record to
// the repository: each component deployed from a kustomize base that builds, each image built from a target of the
// Dockerfile, the live update syncing the tree the compile resource writes. Tilt itself and the kind cluster are not
// here: the README says what only runs on kind.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { COMPILE_OPTIONS } from './compiled-js.js';
import { IMAGE_COMPONENTS } from './image-contents.js';
import { deployedManifests, evaluateTiltfile, tiltfileTools, type TiltCall as Call, type TiltfileTools } from './tiltfile-check.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

interface KubeObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { template?: { spec?: { containers?: { image: string }[] } } };
}

interface Stage {
  name: string;
  from: string;
  entrypoint?: string[];
  workdir?: string;
}

/**
 * A checkout to evaluate: the repository's top-level entries linked into a scratch directory, with the Tiltfile as
 * `edit` leaves it and tilt-settings.yaml only when given, so a developer's own settings never reach the tests.
 */
function checkout(opts: { edit?: (tiltfile: string) => string; settings?: string; without?: string[] } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvcloud-tiltfile-'));
  const skip = new Set(['Tiltfile', 'tilt-settings.yaml', 'tilt-settings.json', '.tiltbuild', '.git', ...(opts.without ?? [])]);
  for (const entry of readdirSync(repoRoot)) if (!skip.has(entry)) symlinkSync(join(repoRoot, entry), join(dir, entry));
  const tiltfile = readFileSync(join(repoRoot, 'Tiltfile'), 'utf8');
  writeFileSync(join(dir, 'Tiltfile'), opts.edit ? opts.edit(tiltfile) : tiltfile);
  if (opts.settings !== undefined) writeFileSync(join(dir, 'tilt-settings.yaml'), opts.settings);
  return dir;
}

/** The stages of a Dockerfile, with the FROM, ENTRYPOINT and WORKDIR each sets. */
function stages(dockerfile: string): Map<string, Stage> {
  const out = new Map<string, Stage>();
  let current: Stage | undefined;
  for (const line of dockerfile.split('\n')) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = { from: from[1] ?? '', name: from[2] ?? '' };
      if (current.name) out.set(current.name, current);
    } else if (current && /^ENTRYPOINT\s/i.test(line)) {
      current.entrypoint = JSON.parse(line.replace(/^ENTRYPOINT\s+/i, '')) as string[];
    } else if (current && /^WORKDIR\s/i.test(line)) {
      current.workdir = line.replace(/^WORKDIR\s+/i, '').trim();
    }
  }
  return out;
}

const callsOf = (calls: Call[], fn: string) => calls.filter((c) => c.fn === fn);
const str = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(str) : []);
const selector = (o: KubeObject) => [o.metadata.name, o.kind, ...(o.metadata.namespace ? [o.metadata.namespace] : [])].join(':');
const repository = (image: string) => image.replace(/:[^:/]+$/, '');

/** An esbuild command line's flags as build options: `--log-level=warning` is { logLevel: 'warning' }, `--sourcemap` { sourcemap: true }. */
function esbuildFlags(cmd: string): Record<string, string | boolean> {
  const flags = cmd.split(/\s+/).filter((word) => word.startsWith('--'));
  return Object.fromEntries(
    flags.map((flag) => {
      const [name = '', value] = flag.slice(2).split('=', 2);
      return [name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()), value ?? true];
    }),
  );
}

/** The compile resource: its command, the directory it writes and the source directories it compiles. */
function compileResource(calls: Call[]): { cmd: string; outdir: string; sources: string[] } {
  const compile = callsOf(calls, 'local_resource').find((c) => c.args.name === 'compile');
  expect(compile, 'a local_resource named compile').to.not.equal(undefined);
  const cmd = str(compile?.args.cmd);
  expect(str(compile?.args.serve_cmd)).to.equal(`${cmd} --watch=forever`);
  // Starlark cannot import compiled-js.ts: its options are held equal here. Where the tree goes and how loud esbuild
  // is may differ; the outbase is the repository root in both, so the tree mirrors the repository.
  const { outdir: _outdir, logLevel: _logLevel, outbase, ...options } = esbuildFlags(cmd);
  expect(outbase, 'compile --outbase').to.equal('.');
  expect(options, "esbuild options: the Tiltfile's compile flags (actual) against packaging/compiled-js.ts COMPILE_OPTIONS (expected)").to.deep.equal(COMPILE_OPTIONS);
  const outdir = /--outdir=(\S+)/.exec(cmd)?.[1] ?? '';
  const sources = /find -L ([\w/ -]+?) -name/.exec(cmd)?.[1]?.split(' ') ?? [];
  expect(outdir, 'compile --outdir').to.not.equal('');
  expect(sources, 'compile sources').to.not.be.empty;
  return { cmd, outdir, sources };
}

/**
 * What Tilt would do with the recorded calls, held to the checkout in `dir`: every assertion here is one a typo or a
 * missing file in the Tiltfile, the Dockerfile or config/ breaks.
 */
function checkCalls(dir: string, calls: Call[]): { deployed: string[]; tenantTargets: string[]; compile: ReturnType<typeof compileResource> } {
  const compile = compileResource(calls);
  const repoStages = stages(readFileSync(join(dir, 'Dockerfile'), 'utf8'));
  const ignored = strings(callsOf(calls, 'watch_settings')[0]?.args.ignore);
  for (const source of compile.sources) {
    expect(existsSync(join(dir, source)), `compiled source directory ${source}`).to.equal(true);
    // Watched, a source edit would rebuild every image instead of live-updating the pods.
    expect(ignored, 'watch_settings ignore').to.include(source);
  }

  const builds = callsOf(calls, 'docker_build');
  const resources = callsOf(calls, 'k8s_resource');
  const kustomized = callsOf(calls, 'kustomize').map((c) => str(c.args.paths));
  expect(kustomized.length, 'one kustomize base per deployed manifest').to.equal(deployedManifests(calls).length);
  for (const base of kustomized) {
    expect(base, 'kustomize base').to.match(/^config\//);
    expect(existsSync(join(dir, base, 'kustomization.yaml')), `${base}/kustomization.yaml`).to.equal(true);
  }

  const deployed: string[] = [];
  for (const text of deployedManifests(calls)) {
    expect(text, 'a variable left unsubstituted').to.not.include('${');
    const objects = parseAllDocuments(text).map((d) => d.toJS() as KubeObject).filter(Boolean);
    const [workload, ...others] = objects.filter((o) => o.kind === 'Deployment');
    expect(workload, 'a Deployment in each deployed base').to.not.equal(undefined);
    expect(others, 'one Deployment per base').to.be.empty;
    if (!workload) continue;

    const resource = resources.find((r) => r.args.workload === workload.metadata.name);
    expect(resource, `k8s_resource for ${workload.metadata.name}`).to.not.equal(undefined);
    const name = str(resource?.args.new_name);
    expect(strings(resource?.args.labels), `${name} labels`).to.deep.equal([name]);
    expect(strings(resource?.args.resource_deps), `${name} resource_deps`).to.include('compile');
    // Every other object of the base joins its component's resource, none lands in Tilt's "uncategorized".
    expect(strings(resource?.args.objects).sort(), `${name} objects`).to.deep.equal(objects.filter((o) => o !== workload).map(selector).sort());

    const image = workload.spec?.template?.spec?.containers?.[0]?.image ?? '';
    const build = builds.find((b) => b.args.ref === repository(image));
    expect(build, `a docker_build for ${image}`).to.not.equal(undefined);
    const target = repository(image).split('/').pop() ?? '';
    const repoStage = repoStages.get(target);
    expect(repoStage?.entrypoint, `Dockerfile target ${target} with an ENTRYPOINT`).to.not.equal(undefined);
    expect(build?.args.context).to.equal('.');
    const contents = str(build?.args.dockerfile_contents);
    expect(contents.startsWith(readFileSync(join(dir, 'Dockerfile'), 'utf8')), `${target}: the repository's Dockerfile, then the dev stage`).to.equal(true);
    const dev = stages(contents).get(str(build?.args.target));
    expect(dev, `${target}: docker_build target ${str(build?.args.target)} is a stage`).to.not.equal(undefined);
    expect(dev?.from, `${target}: the dev stage builds on the component's target`).to.equal(target);
    const [node, program] = repoStage?.entrypoint ?? [];
    // The dev stage runs the same program, from the directory the live update writes, under Node's watch mode.
    expect(dev?.entrypoint).to.deep.equal([node, '--watch', program?.replace(/^\/app\//, `${dev?.workdir ?? ''}/`)]);
    expect(build?.args.live_update, `${target} live_update`).to.deep.equal([{ sync: { local_path: compile.outdir, remote_path: dev?.workdir } }]);
    const main = program?.replace(/^\/app\//, '') ?? '';
    expect(compile.sources.some((s) => main.startsWith(`${s}/`)), `${main} is compiled by the compile resource`).to.equal(true);
    deployed.push(target);
  }
  expect(builds.length, 'a docker_build per deployed component').to.equal(deployed.length);

  const tenant = callsOf(calls, 'local_resource').find((c) => c.args.name === 'tenant-images');
  const tenantTargets = [...str(tenant?.args.cmd).matchAll(/--target (\S+)/g)].map((m) => m[1] ?? '');
  for (const t of tenantTargets) expect(repoStages.has(t), `tenant image target ${t}`).to.equal(true);
  return { deployed: [...deployed].sort(), tenantTargets, compile };
}

describe('Tiltfile, evaluated by go.starlark.net with the Tilt built-ins it calls recorded', function () {
  this.timeout(600_000); // a cold tools cache builds the checker and kubectl first
  let bins: TiltfileTools;
  const dirs: string[] = [];
  const scratch = (opts?: Parameters<typeof checkout>[0]) => {
    const dir = checkout(opts);
    dirs.push(dir);
    return dir;
  };
  const streamingOnly = 'enable_components: [streaming]\n';

  before(function () {
    bins = tiltfileTools();
  });
  after(function () {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('deploys every component from its kustomize base and builds its image from the Dockerfile, live-updating what the compile resource writes', function () {
    const dir = scratch();
    const calls = evaluateTiltfile(bins, dir);
    const { deployed, tenantTargets, compile } = checkCalls(dir, calls);
    expect(deployed).to.deep.equal(['autoscaler', 'controlplane-manager', 'infrastructure-manager', 'streaming-operator']);
    // Tilt builds every image of the Dockerfile: the deployed ones itself, the tenants' for the cluster templates.
    expect([...deployed, ...tenantTargets].sort()).to.deep.equal(IMAGE_COMPONENTS.map((c) => c.name).sort());
    expect(callsOf(calls, 'allow_k8s_contexts')[0]?.args.contexts).to.deep.equal(['kind-kvcloud']);

    // The compile command itself, run here as Tilt would: the tree it writes holds each deployed program.
    execFileSync('sh', ['-c', compile.cmd], { cwd: dir, stdio: 'pipe' });
    for (const build of callsOf(calls, 'docker_build')) {
      const entrypoint = stages(str(build.args.dockerfile_contents)).get(str(build.args.target))?.entrypoint ?? [];
      const workdir = stages(str(build.args.dockerfile_contents)).get(str(build.args.target))?.workdir ?? '';
      const program = (entrypoint[2] ?? '').slice(workdir.length + 1);
      expect(existsSync(join(dir, compile.outdir, program)), `${compile.outdir}/${program}`).to.equal(true);
    }
  });

  it('takes tilt-settings.yaml: the components to run and the values of the bases variables', function () {
    const dir = scratch({ settings: 'enable_components: [infrastructure]\nkustomize_substitutions:\n  KVCLOUD_INFRA_LOG_LEVEL: debug\ntrigger_mode: manual\n' });
    const calls = evaluateTiltfile(bins, dir);
    expect(checkCalls(dir, calls).deployed).to.deep.equal(['infrastructure-manager']);
    expect(deployedManifests(calls)[0]).to.include('--log-level=debug');
    expect(callsOf(calls, 'trigger_mode')[0]?.args.trigger_mode).to.equal('TRIGGER_MODE_MANUAL');
  });

  it('reads tilt-settings.example.yaml as the defaults it says it holds', function () {
    const example = readFileSync(join(repoRoot, 'tilt-settings.example.yaml'), 'utf8');
    expect(evaluateTiltfile(bins, scratch({ settings: example }))).to.deep.equal(evaluateTiltfile(bins, scratch()));
  });

  // Each case breaks the checkout one way; the evaluation or the checks must refuse it.
  const broken: { name: string; opts: Parameters<typeof checkout>[0]; error: RegExp }[] = [
    { name: 'an unknown setting', opts: { settings: 'enable_component: [streaming]\n' }, error: /unknown setting enable_component/ },
    { name: 'a component that does not exist', opts: { settings: 'enable_components: [streamin]\n' }, error: /enable_components names streamin/ },
    { name: 'a kustomize base that is not there', opts: { settings: streamingOnly, edit: (t) => t.replace('"config/streaming"', '"config/streamin"') }, error: /kustomize\("config\/streamin"\)/ },
    { name: 'no Dockerfile', opts: { settings: streamingOnly, without: ['Dockerfile'] }, error: /read_file: .*Dockerfile/ },
    { name: 'a misspelt keyword of a Tilt built-in', opts: { settings: streamingOnly, edit: (t) => t.replace('live_update =', 'live_updates =') }, error: /unexpected keyword argument "live_updates"/ },
    { name: 'a Tilt built-in that does not exist', opts: { settings: streamingOnly, edit: (t) => t.replace('k8s_yaml(', 'k8s_yml(') }, error: /undefined: k8s_yml/ },
    { name: 'an extension', opts: { settings: streamingOnly, edit: (t) => `load("ext://restart_process", "docker_build_with_restart")\n${t}` }, error: /must evaluate offline/ },
    { name: 'a Dockerfile target that does not exist', opts: { settings: streamingOnly, edit: (t) => t.replace('"target": "streaming-operator"', '"target": "streaming-operater"') }, error: /docker_build for ghcr.io\/kvcloud\/streaming-operator/ },
    { name: 'a program the image does not run', opts: { settings: streamingOnly, edit: (t) => t.replace('"streaming/operator/main.js"', '"streaming/main.js"') }, error: /expected \[.*--watch/ },
    { name: 'an esbuild option compiled-js.ts does not use', opts: { settings: streamingOnly, edit: (t) => t.replace('"--sourcemap",', '"--sourcemap",\n    "--minify",') }, error: /esbuild options/ },
    { name: 'an esbuild option changed on one side', opts: { settings: streamingOnly, edit: (t) => t.replace('"--target=es2024"', '"--target=es2022"') }, error: /esbuild options/ },
    { name: 'a sync from somewhere the compile resource does not write', opts: { settings: streamingOnly, edit: (t) => t.replace('sync(COMPILED_DIR,', 'sync(".tiltbuild/jss",') }, error: /streaming-operator live_update/ },
  ];
  for (const c of broken) {
    it(`fails on ${c.name}`, function () {
      const dir = scratch(c.opts);
      expect(() => checkCalls(dir, evaluateTiltfile(bins, dir))).to.throw(c.error);
    });
  }
});
