#!/usr/bin/env bash
# Installs what the project's tasks need on a fresh Debian machine: the BPF C
# toolchain (testdata, conformance checks against llvm-objdump, bpftool and
# libbpf), qemu and busybox for the kernel matrix, valgrind for the bench's
# instruction counts, and nox.
# Safe to run again: it installs only what is missing.
set -euo pipefail

APT_PACKAGES=(
  clang clang-16 clang-19 llvm libbpf-dev bpftool linux-libc-dev iproute2
  qemu-system-x86 busybox-static zstd xz-utils kmod cpio valgrind
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

python3 -m pip --version >/dev/null
python3 -c 'import nox' 2>/dev/null || python3 -m pip install -q 'nox>=2024.4'
echo "setup: done"
