// Command image builds Cairn's container image without pulling a base
// image: one layer holding static cairn and cairnctl binaries, the build
// machine's CA bundle and /etc/passwd and /etc/group with a non-root user
// (uid 65532), and no shell. `make image` runs it.
//
// Invariants:
//   - The same commit gives the same image digest: the binaries are built
//     with -trimpath and -ldflags that hold only the commit (version,
//     revision, commit time) and no build ID, every file in the
//     layer has the commit time as its modification time, root (or the
//     image user) as owner and a fixed order, and the config's created
//     time is the commit time.
//   - The image carries the OCI labels version, revision, source and
//     created; `cairn version` inside it answers with the same revision.
//   - It is written as a docker-archive tarball (docker load, podman load,
//     kind load, ctr import) and, when asked, as an OCI image layout.
package main
