#!/usr/bin/env bash
# `deno task test:arm64 [TEST_PATH...]`: runs tests with the AArch64 build of Deno under user-mode
# emulation (qemu-user-static), to show the agent works on ARM. Default paths: the protocol,
# config and enrichment tests.
#
# Installs what it lacks, each from its ordinary registry: qemu-user-static and the arm64 C
# library (Debian packages, arm64 through multiarch; needs root and apt), and the pinned Deno
# from the npm package @deno/linux-arm64-glibc into .cache/arm64/. Registers qemu-aarch64 with
# the kernel's binfmt_misc (root) so that tests spawning `Deno.execPath()` (the AArch64 deno) run
# too; where that is not possible it says so and those tests fail. Ends with the line
# "arm64: N passed, M failed". Everything runs ~10x slower than natively.
set -euo pipefail
cd "$(dirname "$0")/.."

DENO_VERSION=2.9.6
CACHE=.cache/arm64
DENO_ARM="$CACHE/deno-$DENO_VERSION/deno"
QEMU=qemu-aarch64-static

say() { echo "test:arm64: $*" >&2; }
need_root() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    say "$1 is missing and cannot be installed here (needs root and apt-get): $2"
    exit 1
  fi
}

if ! command -v "$QEMU" >/dev/null; then
  need_root "$QEMU" "apt-get install qemu-user-static"
  say "installing qemu-user-static"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >/dev/null
fi

if [ ! -e /lib/ld-linux-aarch64.so.1 ] || [ ! -e /lib/aarch64-linux-gnu/libgcc_s.so.1 ]; then
  need_root "the arm64 C library" \
    "dpkg --add-architecture arm64 && apt-get update && apt-get install libc6:arm64 libgcc-s1:arm64"
  say "installing libc6:arm64 and libgcc-s1:arm64 (Debian multiarch)"
  dpkg --add-architecture arm64
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libc6:arm64 libgcc-s1:arm64 >/dev/null
fi

if [ ! -x "$DENO_ARM" ]; then
  say "fetching @deno/linux-arm64-glibc@$DENO_VERSION from the npm registry"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@deno/linux-arm64-glibc@$DENO_VERSION" >/dev/null)
  tar -xzf "$tmp"/deno-linux-arm64-glibc-"$DENO_VERSION".tgz -C "$tmp"
  mkdir -p "$(dirname "$DENO_ARM")"
  install -m 0755 "$tmp/package/deno" "$DENO_ARM"
fi

# Tests that spawn Deno.execPath() start the AArch64 deno directly: that needs binfmt_misc.
BINFMT=/proc/sys/fs/binfmt_misc
if [ ! -e "$BINFMT/qemu-aarch64" ]; then
  if [ "$(id -u)" -eq 0 ] && [ -r /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
    [ -e "$BINFMT/register" ] || mount -t binfmt_misc binfmt_misc "$BINFMT" 2>/dev/null || true
    if [ -e "$BINFMT/register" ]; then
      say "registering qemu-aarch64 with binfmt_misc"
      cat /usr/lib/binfmt.d/qemu-aarch64.conf >"$BINFMT/register" || true
    fi
  fi
  if [ ! -e "$BINFMT/qemu-aarch64" ]; then
    say "binfmt_misc has no qemu-aarch64: tests that spawn Deno.execPath() will fail"
  fi
fi

paths=("$@")
if [ ${#paths[@]} -eq 0 ]; then
  paths=(tests/protocol/ tests/config/)
  [ -d tests/enrich ] && paths+=(tests/enrich/)
fi

export DENO_DIR="$CACHE/deno_dir" NO_COLOR=1
target=$("$QEMU" "$DENO_ARM" eval 'console.log(Deno.build.target)')
say "deno $("$QEMU" "$DENO_ARM" eval 'console.log(Deno.version.deno)') on $target (emulated by $QEMU on $(uname -m))"
if [ "$target" != "aarch64-unknown-linux-gnu" ]; then
  say "expected aarch64-unknown-linux-gnu"
  exit 1
fi

# Type checking does not depend on the CPU (`deno task check` does it natively): --no-check.
log="$CACHE/last-run.log"
set +e
"$QEMU" "$DENO_ARM" test --no-check --allow-read --allow-write --allow-net --allow-env \
  --allow-run --allow-sys "${paths[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1 || true)
if [ -z "$summary" ]; then
  echo "arm64: 0 passed, 1 failed"
  exit 1
fi
passed=$(sed -E 's/^[A-Za-z ]+\| ([0-9]+) passed.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")
echo "arm64: $passed passed, $failed failed"
exit "$status"
