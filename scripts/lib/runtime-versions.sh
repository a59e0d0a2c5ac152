# The judge's runtime, in one place: the Node.js LTS the image runs and the unit tests also run
# on, the npm release that ships with it, and the Debian release under it. The Dockerfile's
# NODE_IMAGE default names the same versions (test/image checks they agree).
NODE_VERSION=24.22.3
NPM_VERSION=11.21.2
DEBIAN_SUITE=bookworm
NODE_IMAGE="node:$NODE_VERSION-$DEBIAN_SUITE-slim"
