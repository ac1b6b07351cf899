// Where the guest's files live. Inside a virt-launcher pod, the directories the KubeVirt simulator mounts as
// emptyDirs (/etc/kubernetes, /var/lib/kubelet, /run/kubeadm, /var/lib/etcd, /run/containerd, and /run/cluster-api
// when mounted) are the guest's own and are written in place; every other path (/etc/kubeadm.yml,
// /usr/local/bin/...) is redirected below /var/lib/kubelet/guest-rootfs, because the pod shares the host's
// filesystem outside its mounts. /dev and udev's /run/udev are the VM's own in place: the guest lays private overlays
// over them at boot (guest-devices.ts), and its hot-plugged disks appear there, where a node plugin's hostPath of /dev
// must find them. Run directly (tests), GUEST_ROOT holds the whole guest filesystem.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { promisify } from 'node:util';

export const GUEST_DIRS = ['/etc/kubernetes', '/var/lib/kubelet', '/run/kubeadm', '/var/lib/etcd', '/run/cluster-api', '/var/run/kvcloud', '/run/containerd'];
const POD_REDIRECT = '/var/lib/kubelet/guest-rootfs';
/** The VM's device directories, private to the guest's mount namespace once guest-devices.ts has laid its overlays. */
const DEVICE_DIRS = ['/dev', '/run/udev'];

// The pod runner mounts at canonical paths, where /var/run is /run.
const canonicalPath = (p: string) => p.replace(/^\/var\/run(?=\/|$)/, '/run');
const within = (child: string, parent: string) => child === parent || child.startsWith(parent === '/' ? '/' : `${parent}/`);

export class GuestFS {
  private constructor(
    /** Prefix for every path (tests), or undefined inside a pod. */
    private readonly root: string | undefined,
    /** Inside a pod: the container's mount points, deepest first. */
    private readonly mountPoints: string[],
  ) {}

  /** Everything below `root`: for a guest run as a plain process. */
  static rooted(root: string): GuestFS {
    return new GuestFS(root, []);
  }

  /** Inside a virt-launcher pod, with the container's mounts from /proc/self/mountinfo. */
  static inPod(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): GuestFS {
    const points = mountinfo.split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith('/'));
    return new GuestFS(undefined, [...new Set(points)].sort((a, b) => b.length - a.length));
  }

  /** The host path of a guest path. */
  resolve(path: string): string {
    const p = normalize(path.startsWith('/') ? path : `/${path}`);
    if (this.root !== undefined) return join(this.root, p);
    const canonical = canonicalPath(p);
    if (this.onGuestMount(canonical) || DEVICE_DIRS.some((d) => within(canonical, d))) return canonical;
    const redirected = join(POD_REDIRECT, p);
    // Never the host's own directories: without the emptyDir there is nowhere safe to put the file.
    if (!this.onGuestMount(redirected)) throw new Error(`guest path ${p}: ${POD_REDIRECT} is not a mount of this pod`);
    return redirected;
  }

  /** True when the mount holding `path` is one of the guest directories (or below one). */
  private onGuestMount(path: string): boolean {
    const mount = this.mountPoints.find((m) => within(path, m));
    return mount !== undefined && GUEST_DIRS.some((d) => within(mount, canonicalPath(d)));
  }

  /**
   * Makes the guest directory `path` a shared mount, as the kubelet makes its own directory, so a container's
   * Bidirectional mount of it reaches the VM and the other pods. The VM's mount namespace is the launcher pod's, private
   * from the machine's, so nothing reaches the node; run directly, nothing is mounted.
   */
  async shareMounts(path: string): Promise<void> {
    if (this.root !== undefined) return;
    await promisify(execFile)('mount', ['--make-rshared', this.resolve(path)]);
  }

  exists(path: string): boolean {
    return existsSync(this.resolve(path));
  }

  read(path: string): Promise<string> {
    return readFile(this.resolve(path), 'utf8');
  }

  async write(path: string, content: string | Buffer, opts: { mode?: number; append?: boolean } = {}): Promise<void> {
    const target = this.resolve(path);
    await mkdir(dirname(target), { recursive: true });
    if (opts.append) await appendFile(target, content);
    else await writeFile(target, content);
    if (opts.mode !== undefined) await chmod(target, opts.mode);
  }
}
