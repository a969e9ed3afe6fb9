// Package image tests the container image builder (deploy/image, `make
// image`): two builds of one commit give the same digest, the image has
// the promised config (non-root user, entrypoint, OCI labels) and layer
// (binaries, CA bundle, passwd, no shell), and the cairn binary taken out
// of the layer runs and names the commit it was built from.
package image
