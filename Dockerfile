# syntax=docker/dockerfile:1
# kvcloud's component images, one target per component, all from one build:
#   docker build --target controlplane-manager -t ghcr.io/kvcloud/controlplane-manager:dev .
# Targets: infrastructure-manager, controlplane-manager, ccm, csi-driver, autoscaler, streaming-operator (the last
# one is what a build without --target makes). They share every layer but the CSI driver's node tools and the
# streaming operator's tools, and differ in their entrypoint only; manifests give them args. `make image` assembles the same file layout offline as an OCI
# layout (packaging/image.ts), and packaging/image.test.ts checks that this file names the same entrypoints.

# The Node LTS line; the runtime base is distroless's build of it on Debian 13, the build stages are Debian 13 too,
# so the CSI node tools and `ss` copied from the build stage link against the runtime's glibc.
ARG NODE_MAJOR=26

# The files the CSI driver reads at run time (csi.proto, the kubelet's registration api.proto, the VolumeSnapshot
# CRDs) and the streaming operator's crictl, from their Go modules by the project's own tools scripts at the versions
# e2e/tools/versions.env pins. The snapshot CRDs come with the csi-snapshotter build, whose binaries this throwaway
# stage also compiles.
FROM golang:1.26-trixie AS tool-files
WORKDIR /src
COPY e2e/tools/ e2e/tools/
RUN KVCLOUD_CACHE=/cache bash e2e/tools/build.sh csi-spec csi-registration csi-snapshotter cri-tools

# Compiles the programs to JavaScript (packaging/compiled-js.ts, esbuild) and selects what ships: the component
# directories, the production packages of the lockfile, and the node plugin's and the streaming operator's tools with
# their libraries.
FROM node:${NODE_MAJOR}-trixie AS build
RUN apt-get update && apt-get install -y --no-install-recommends e2fsprogs util-linux mount iproute2 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
COPY --from=tool-files /cache/bin/ /cache/bin/
RUN KVCLOUD_CACHE=/cache node_modules/.bin/tsx packaging/image.ts --export-rootfs /rootfs

# What every image is: Node at /nodejs/bin/node, the nonroot user 65532, nothing to write on the root filesystem.
FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian13:nonroot AS runtime
COPY --from=build /rootfs/app/ /
ENV NODE_ENV=production KVCLOUD_CACHE=/usr/share/kvcloud
WORKDIR /app
USER 65532:65532

FROM runtime AS infrastructure-manager
ENTRYPOINT ["/nodejs/bin/node", "/app/providers/infrastructure/main.js"]

# V8's flags for a small heap, as make image sets them (packaging/image-contents.ts says why).
FROM runtime AS controlplane-manager
ENV NODE_OPTIONS="--max-semi-space-size=1"
ENTRYPOINT ["/nodejs/bin/node", "/app/providers/controlplane/main.js"]

FROM runtime AS ccm
ENTRYPOINT ["/nodejs/bin/node", "/app/ccm/main.js"]

# The node plugin formats, mounts and grows filesystems with util-linux and e2fsprogs.
FROM runtime AS csi-driver
COPY --from=build /rootfs/node-tools/ /
ENTRYPOINT ["/nodejs/bin/node", "/app/csi/main.js"]

FROM runtime AS autoscaler
ENTRYPOINT ["/nodejs/bin/node", "/app/providers/autoscaler/main.js"]

# Operators run crictl in the pod (kubectl exec); the operator names each session's caller with ss.
FROM runtime AS streaming-operator
COPY --from=build /rootfs/streaming-tools/ /
ENTRYPOINT ["/nodejs/bin/node", "/app/streaming/operator/main.js"]
