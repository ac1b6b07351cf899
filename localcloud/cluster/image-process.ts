// A kvcloud program that a suite starts as a plain process instead of a pod (the CCM beside a tenant, the CSI
// controller csi-sanity drives). In image mode ($KVCLOUD_IMAGE_LAYOUT set) it runs the way a pod of its image would:
// the image's entrypoint and environment in a copy-on-write view of the root the pod runner unpacks
// (image-rootfs.ts, through container-entry.sh), so a file the image lacks fails there as well. Otherwise it runs
// compiled from the work tree. Either way it stays in this machine's network namespace.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compiledMain } from '../../packaging/compiled-js.js';
import { IMAGE_COMPONENTS } from '../../packaging/image-contents.js';
import { imageReference } from '../../packaging/image.js';
import { cacheDir } from '../binaries.js';
import { ManagedProcess } from '../process.js';
import { startContainerProcess } from './container-process.js';
import { configHome, IMAGE_LAYOUT_ENV } from './image-rootfs.js';
import { containerArgv, resolveImage } from './images.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface ProgramSpec {
  /** For logs and process listings; also names the container spec directory under `runDir`. */
  name: string;
  /** One of packaging/image-contents.ts's components: its image in image mode, its main otherwise. */
  component: string;
  args: string[];
  logFile: string;
  /** Over the image's environment (or, from the work tree, over this process's). */
  env?: Record<string, string>;
  /**
   * Files and directories of this machine the program reads or writes (its kubeconfig, its socket's directory): an
   * image's root has none of them, so each is bound at the same path. Ignored from the work tree.
   */
  paths?: string[];
  /** Where the container spec directory goes (image mode). */
  runDir: string;
}

/** Whether kvcloud's programs run from their images in this run. */
export function imageMode(): boolean {
  return (process.env[IMAGE_LAYOUT_ENV] ?? '') !== '';
}

function component(name: string): { main: string } {
  const found = IMAGE_COMPONENTS.find((c) => c.name === name);
  if (!found) throw new Error(`no kvcloud image "${name}"; the images are ${IMAGE_COMPONENTS.map((c) => c.name).join(', ')}`);
  return found;
}

/** Programs started by this process: each run gets a spec directory of its own, as container-entry.sh expects. */
let started = 0;

export async function startProgram(spec: ProgramSpec): Promise<ManagedProcess> {
  const { main } = component(spec.component);
  if (!imageMode()) {
    // The work tree has no /usr/share/kvcloud: the CSI driver reads its proto files from the cache `make tools` fills.
    const env = { KVCLOUD_CACHE: cacheDir(), ...spec.env };
    return ManagedProcess.start({ name: spec.name, command: process.execPath, args: [compiledMain(main), ...spec.args], cwd: REPO, env, logFile: spec.logFile });
  }
  const image = await resolveImage(imageReference(spec.component));
  if (!image.sandbox) throw new Error(`${image.reference} did not resolve to an unpacked image with $${IMAGE_LAYOUT_ENV} set`);
  const { rootfs, workingDir } = image.sandbox;
  return startContainerProcess({
    name: spec.name,
    specDir: join(spec.runDir, `program-${spec.name}-${String(++started)}`),
    logFile: spec.logFile,
    argv: containerArgv(image, undefined, spec.args),
    env: new Map(Object.entries({ ...image.env, HOME: configHome(rootfs, 0), ...spec.env })),
    mounts: (spec.paths ?? []).map((path) => ({ source: path, target: path, readOnly: false })),
    workingDir,
    // As root, not the image's user: the files it is handed (kubeconfigs, mode 0600) are this machine's root's, as a
    // pod's Secret volume would be made readable to the pod's user.
    root: { rootfs, uid: 0, gid: 0 },
    hostname: spec.name,
    netnsPath: undefined,
    stdin: false,
  });
}
