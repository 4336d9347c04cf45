#!/bin/sh
# Install the Debian 12 packages that the neural-network runtime and its
# tests need beyond the base toolchain: OpenBLAS (sgemm), clang (libFuzzer
# target of the model loader), and Node.js with npm (TensorFlow.js
# reference and benchmark scripts).  Run as root.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
    libopenblas-dev libjansson-dev libssl-dev clang nodejs npm
