#!/usr/bin/env bash
# The first program of every container. The pod runner starts it in the pod's network namespace and in mount and
# UTS namespaces of the container's own (`unshare --mount --uts --propagation private`); it makes the pod's
# volumes appear at their mountPaths, names the host after the pod, and execs the container's program with
# exactly the container's environment. Every mount is private to the container, so the disk never changes: a
# mountPath whose directories do not exist is made inside a copy-on-write overlay of its nearest existing parent
# (tmpfs upper layer), not on disk. Where an overlay would hide mounts below the directory, or overlayfs cannot
# stack any deeper (both happen to a pod inside a simulated VM, whose own container mounts and overlays there), a
# tmpfs holding bind mounts of the directory's entries covers it instead, making only its top level private. When
# that parent is / itself, a tmpfs holding bind mounts of /'s entries becomes the container's root (chroot), since
# nothing mounted over / changes what / is for a running process.
# An image run from its own root (image mode, images.ts) gets a copy-on-write overlay of the unpacked image as its
# root instead, with /proc, /dev and /sys, and its program starts there as the image's user.
# A mount with mountPropagation HostToContainer (rslave) or Bidirectional (rshared) needs the namespace still joined
# to the host's (`--propagation unchanged`): before anything else, each such source is cloned (a peer of the host's
# mount, or its slave) into a staging tmpfs, then every other mount of the namespace is made private, so the clones
# are the only mounts that hear from the host or speak to it, and they are moved to their mountPaths in turn.
#
#   container-entry.sh <spec dir>   with, NUL-separated: argv, env (NAME=value), mounts (source, target, ro|rw,
#                                   private|rslave|rshared quadruples), root (image mode: the unpacked image, uid,
#                                   gid; else empty); and as plain text: workdir (may be empty), hostname
set -Eeuo pipefail
spec=$1
fail() {
  echo "container setup: $*" >&2
  exit 128
}
# 128, like a runtime that could not start the container (the kubelet's StartError).
trap 'fail "line $LINENO: $BASH_COMMAND failed"' ERR

declare -A private=() # directories whose whole subtree is private: creating entries there never reaches the disk
declare -A shallow=() # directories whose own entries are private, but whose subdirectories are the real ones
copies=0
root= # the copy of / the container is chrooted into; empty while the real / will do

# A fresh tmpfs at $spec/copy-<n> (in the run directory), left in $scratch.
new_scratch() {
  scratch="$spec/copy-$copies"
  copies=$((copies + 1))
  mkdir "$scratch"
  mount -t tmpfs -o "mode=$(stat -c %a "$1")" kvcloud-copy "$scratch"
}

# True when something is mounted below directory $1, which an overlay of it would hide.
has_submounts() {
  awk -v d="$1/" 'index($5, d) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# Fills the scratch tmpfs with bind mounts of directory $1's entries (symlinks copied).
bind_entries() {
  local src=$1 entry
  mount --make-unbindable "$scratch" # the scratch tmpfs may itself be below $src: keep it out of the rbinds
  while IFS= read -r -d '' entry; do
    if [[ -L $src/$entry ]]; then
      ln -s "$(readlink "$src/$entry")" "$scratch/$entry"
    elif [[ -d $src/$entry ]]; then
      mkdir "$scratch/$entry" && mount --rbind "$src/$entry" "$scratch/$entry"
    else
      : >"$scratch/$entry" && mount --bind "$src/$entry" "$scratch/$entry"
    fi
  done < <(find "$src/" -mindepth 1 -maxdepth 1 -printf '%P\0')
  mount --make-private "$scratch"
}

# Makes directory $1 (a path inside the container's root) private to this container.
copy_directory() {
  local dir=$1
  new_scratch "$root$dir"
  if [[ $dir != / ]]; then
    if ! has_submounts "$root$dir"; then
      mkdir "$scratch/upper" "$scratch/work"
      if mount -t overlay kvcloud-copy -o "lowerdir=$root$dir,upperdir=$scratch/upper,workdir=$scratch/work" "$root$dir" 2>"$spec/overlay.err"; then
        private[$dir]=1
        return
      fi
      # overlayfs refuses to stack deeper than two (dmesg: "maximum fs stacking depth exceeded").
      grep -q 'wrong fs type' "$spec/overlay.err" || fail "overlay of $dir: $(<"$spec/overlay.err")"
      new_scratch "$root$dir"
    fi
    bind_entries "$root$dir"
    mount --rbind "$scratch" "$root$dir"
    shallow[$dir]=1
    return
  fi
  # An overlay of / would lose the mounts below it (/proc, /dev...): bind each entry of / instead.
  bind_entries ""
  root=$scratch
  # only the top level of the copy is private; its entries are the real directories
}

# True when entries made in directory $1 stay private.
is_private() {
  local dir=$1
  [[ $dir == / ]] && [[ -n $root ]] && return 0
  [[ -n ${shallow[$dir]:-} ]] && return 0
  while :; do
    [[ -n ${private[$dir]:-} ]] && return 0
    [[ $dir == / ]] && return 1
    dir=$(dirname "$dir")
  done
}

# Makes the absolute, symlink-free path $1 exist as a directory (or, with $2 = file, a file) without writing to disk.
make_mount_point() {
  local target=$1 kind=$2 base=$1 missing=() path
  [[ -e $root$target ]] && return 0
  while [[ ! -e $root$base ]]; do
    missing=("$base" "${missing[@]}")
    base=$(dirname "$base")
  done
  [[ -d $root$base ]] || fail "cannot create $target: $base is not a directory"
  is_private "$base" || copy_directory "$base"
  for path in "${missing[@]}"; do
    if [[ $path == "$target" && $kind == file ]]; then : >"$root$path"; else mkdir "$root$path" && private[$path]=1; fi
  done
}

# The mount point holding path $1 (the one mounted last there) and, after a tab, its propagation fields.
mount_holding() {
  awk -v path="$1" '
    function unescape(s) { gsub(/\\040/, " ", s); gsub(/\\011/, "\t", s); gsub(/\\012/, "\n", s); gsub(/\\134/, "\\", s); return s }
    {
      point = unescape($5); fields = ""
      for (i = 7; $i != "-"; i++) fields = fields " " $i
      if ((point == "/" || point == path || index(path, point "/") == 1) && length(point) >= length(best)) { best = point; found = fields }
    }
    END { printf "%s\t%s\n", best, found }' /proc/self/mountinfo
}

under() { [[ $1 == "$2" || $2 == / || $1 == "$2/"* ]]; }

kept=() # the mounts holding the propagating sources, left joined to the host's until the clones are made
kept_under() {
  local k
  for k in "${kept[@]}"; do under "$1" "$k" && return 0; done
  return 1
}

# An empty directory, or for a file source an empty file, at $2 to mount source $1 on.
mount_point_like() { if [[ -d $1 ]]; then mkdir "$2"; else : >"$2"; fi; }

# Clones each propagating mount's source into $spec/propagated/<index>, joined to the host's mount as its
# propagation asks, and leaves every other mount of this namespace private. Runs first, while nothing is mounted.
stage_propagated() {
  local i source holder fields point stage='' candidate
  for ((i = 0; i < ${#mounts[@]}; i += 4)); do
    [[ ${mounts[i + 3]} != private ]] || continue
    source=$(realpath -e "${mounts[i]}")
    IFS=$'\t' read -r holder fields < <(mount_holding "$source")
    # As a runtime checks it (the kubelet makes its own directory a shared mount for this).
    if [[ ${mounts[i + 3]} == rshared && $fields != *shared:* ]]; then fail "path $source is mounted on $holder but it is not a shared mount"; fi
    if [[ ${mounts[i + 3]} == rslave && $fields != *shared:* && $fields != *master:* ]]; then fail "path $source is mounted on $holder but it is not a shared or slave mount"; fi
    kept+=("$holder")
  done
  # A mount hidden under another one is out of reach (and so is whatever it would propagate): only visible ones change.
  while IFS= read -r point; do
    kept_under "$point" || mount --make-private "$point" 2>/dev/null || ! mountpoint -q "$point" || fail "cannot make $point private"
  done < <(awk '{ print $5 }' /proc/self/mountinfo | sed 's/\\040/ /g' | sort -u)
  # A place to clone into whose mount is now private (so the clones reach nothing) and that hides none of the
  # sources nor the spec directory while a tmpfs covers it for a moment.
  for candidate in /sys /tmp /mnt; do
    [[ -d $candidate ]] || continue
    IFS=$'\t' read -r holder fields < <(mount_holding "$candidate")
    kept_under "$holder" && continue
    under "$spec" "$candidate" && continue
    for ((i = 0; i < ${#mounts[@]}; i += 4)); do [[ ${mounts[i + 3]} == private ]] || ! under "$(realpath -e "${mounts[i]}")" "$candidate" || continue 2; done
    stage=$candidate
    break
  done
  [[ -n $stage ]] || fail "no private place to stage the propagated mounts: /sys, /tmp and /mnt are all on mounts shared with the host"
  mount -t tmpfs -o mode=0700 kvcloud-stage "$stage"
  for ((i = 0; i < ${#mounts[@]}; i += 4)); do
    [[ ${mounts[i + 3]} != private ]] || continue
    mount_point_like "${mounts[i]}" "$stage/$i"
    mount --rbind "${mounts[i]}" "$stage/$i"
    if [[ ${mounts[i + 3]} == rslave ]]; then mount --make-rslave "$stage/$i"; fi
  done
  # The clones keep their ties; the originals lose theirs, so nothing else mounted here reaches the host.
  for holder in "${kept[@]}"; do mount --make-rprivate "$holder"; done
  mkdir "$spec/propagated"
  mount -t tmpfs -o mode=0700 kvcloud-propagated "$spec/propagated"
  mount --make-unbindable "$spec/propagated" # kept out of the copies of / that bind_entries makes
  for ((i = 0; i < ${#mounts[@]}; i += 4)); do
    [[ ${mounts[i + 3]} != private ]] || continue
    mount_point_like "${mounts[i]}" "$spec/propagated/$i"
    mount --move "$stage/$i" "$spec/propagated/$i"
  done
  umount "$stage"
}

# The image's files stay shared and unchanged: the container writes to a tmpfs upper layer of its own.
image_root() {
  new_scratch "$1"
  mkdir "$scratch/upper" "$scratch/work" "$scratch/root"
  mount -t overlay kvcloud-image -o "lowerdir=$1,upperdir=$scratch/upper,workdir=$scratch/work" "$scratch/root"
  root=$scratch/root
  private[/]=1
  local fs
  for fs in proc dev sys; do mkdir -p "$root/$fs" && mount --rbind "/$fs" "$root/$fs"; done
}

# Path $1 of the container, absolute and symlink-free; in an image's root its links are the image's.
container_path() {
  if [[ -z ${image[0]:-} ]]; then
    realpath -m "$1"
    return
  fi
  local path
  path=$(realpath -m "$root$1")
  [[ $path == "$root" ]] && path=$root/
  [[ $path == "$root/"* ]] || fail "$1 resolves to $path, outside the image's root"
  echo "/${path#"$root/"}"
}

mapfile -d '' mounts <"$spec/mounts"
mapfile -d '' image <"$spec/root"
propagating=''
for ((i = 0; i < ${#mounts[@]}; i += 4)); do [[ ${mounts[i + 3]} == private ]] || propagating=1; done
[[ -z $propagating ]] || stage_propagated
[[ -z ${image[0]:-} ]] || image_root "${image[0]}"
workdir=$(<"$spec/workdir")
[[ -z $workdir ]] || workdir=$(container_path "$workdir")
# First every mount point, then every bind: an overlay made for a later mount point would hide earlier binds.
for ((i = 0; i < ${#mounts[@]}; i += 4)); do
  target=$(container_path "${mounts[i + 1]}")
  if [[ -d ${mounts[i]} ]]; then make_mount_point "$target" dir; else make_mount_point "$target" file; fi
done
[[ -z $workdir ]] || make_mount_point "$workdir" dir
for ((i = 0; i < ${#mounts[@]}; i += 4)); do
  target=$(container_path "${mounts[i + 1]}")
  # A mount point below an earlier mount (a Secret at /etc/kubernetes/pki below one at /etc/kubernetes) was hidden by
  # that bind: it is made again in an overlay of the volume's directory, so the volume (read-only, or the pod's or
  # host's files) stays unchanged.
  if [[ ! -e $root$target ]]; then
    base=$target
    while [[ ! -e $root$base ]]; do base=$(dirname "$base"); done
    copy_directory "$base"
    if [[ -d ${mounts[i]} ]]; then make_mount_point "$target" dir; else make_mount_point "$target" file; fi
  fi
  target=$root$target
  if [[ ${mounts[i + 3]} == private ]]; then mount --bind "${mounts[i]}" "$target"; else mount --move "$spec/propagated/$i" "$target"; fi
  if [[ ${mounts[i + 2]} == ro ]]; then mount -o remount,bind,ro "$target"; fi
done

echo -n "$(<"$spec/hostname")" >/proc/sys/kernel/hostname
run=()
if [[ -n ${image[0]:-} ]]; then
  run=("$(command -v unshare)" "--root=$root" "--wd=${workdir:-/}" "--setuid=${image[1]}" "--setgid=${image[2]}" --)
elif [[ -n $root ]]; then
  run=("$(command -v chroot)" "$root" "$(command -v env)" "--chdir=${workdir:-/}" --)
else
  cd "${workdir:-/}"
fi

mapfile -d '' argv <"$spec/argv"
mapfile -d '' env <"$spec/env"
trap - ERR
while IFS= read -r name; do unset "$name" 2>/dev/null || true; done < <(compgen -e)
for assignment in "${env[@]}"; do export "$assignment"; done
# Set up: what enters the container's namespaces now (a postStart hook) finds its mounts in place, and its root once
# the process's root is no longer / ("root": unshare or chroot below switches it after this exec).
echo -n "${run[0]:+root}" >"$spec/set-up"
exec "${run[@]}" "${argv[@]}"
