import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runtimeConfig } from './image.js';
import { IMAGE_COMPONENTS, NONROOT, PROTO_CACHE, TOOLS_EXPORT_DIRS } from './image-contents.js';

const read = (path: string): string => readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8');

/** The Dockerfile's stages by name, each as its instruction lines. */
function stages(dockerfile: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of dockerfile.split('\n').map((l) => l.trim())) {
    const from = /^FROM\s+\S+\s+AS\s+(\S+)$/i.exec(line);
    if (from?.[1]) result.set(from[1], (current = [line]));
    else if (current && line !== '' && !line.startsWith('#')) current.push(line);
  }
  return result;
}

describe('the Dockerfile users build the images with', () => {
  const dockerfile = read('../Dockerfile');
  const byName = stages(dockerfile);

  it('has a target per component that starts the entrypoint make image gives it', () => {
    for (const component of IMAGE_COMPONENTS) {
      const stage = byName.get(component.name);
      expect(stage?.[0], component.name).to.match(/^FROM runtime AS /);
      const entrypoint = stage?.find((l) => l.startsWith('ENTRYPOINT '))?.slice('ENTRYPOINT '.length) ?? '[]';
      expect(JSON.parse(entrypoint), component.name).to.deep.equal(runtimeConfig(component.main).Entrypoint);
      // The V8 flags make image puts in the image's environment, and only those.
      const nodeOptions = stage?.filter((l) => l.startsWith('ENV NODE_OPTIONS=')).map((l) => JSON.parse(l.slice('ENV NODE_OPTIONS='.length)) as string);
      expect(nodeOptions, component.name).to.deep.equal(component.nodeOptions === undefined ? [] : [component.nodeOptions]);
      // Each image copies the tools layer it has and no other.
      const copied = Object.entries(TOOLS_EXPORT_DIRS).filter(([, dir]) => stage?.some((l) => l.startsWith(`COPY --from=build /rootfs/${dir}/ /`)));
      expect(copied.map(([layer]) => layer), component.name).to.deep.equal(component.tools ? [component.tools] : []);
    }
  });

  it('runs as the nonroot user with the environment of the offline image', () => {
    const runtime = byName.get('runtime') ?? [];
    expect(runtime).to.include(`USER ${String(NONROOT)}:${String(NONROOT)}`);
    expect(runtime).to.include('WORKDIR /app');
    expect(runtime).to.include(`ENV NODE_ENV=production KVCLOUD_CACHE=${PROTO_CACHE}`);
    expect(runtime[0]).to.match(/^FROM gcr\.io\/distroless\/nodejs\$\{NODE_MAJOR\}-debian\d+:nonroot AS runtime$/);
  });

  it('installs the Debian packages of every program a tools layer takes from this machine', () => {
    // iproute2 for ss, util-linux, mount and e2fsprogs for the node tools: the build stage exports what it has.
    const install = byName.get('build')?.find((l) => l.includes('apt-get install')) ?? '';
    for (const pkg of ['iproute2', 'util-linux', 'mount', 'e2fsprogs']) expect(install.split(/\s+/), pkg).to.include(pkg);
    // crictl comes from the tools cache the build stage copies in, built by the tools script.
    expect(byName.get('tool-files')?.find((l) => l.startsWith('RUN '))).to.match(/build\.sh .*\bcri-tools\b/);
  });

  it('builds on the Node LTS line hack/node.sh pins', () => {
    const pinned = /^NODE_VERSION=(\d+)\./m.exec(read('../hack/node.sh'))?.[1];
    expect(/^ARG NODE_MAJOR=(\d+)$/m.exec(dockerfile)?.[1]).to.equal(pinned);
  });
});
