#!/usr/bin/env bash
# Build a minimal Debian root filesystem and `docker import` it as a base image, for machines
# whose Docker engine can pull nothing from a registry (it needs deb.debian.org over http, or
# $DEBIAN_MIRROR). Run as root; `./dev image` calls it when the image is missing.
#   docker/rootfs.sh [IMAGE] [SUITE]     default: lapack-ai/debian:bookworm bookworm
# Variant minbase (dpkg, apt, coreutils: what debian:*-slim holds), without docs, man pages
# and translations. The dpkg excludes stay in the image (/etc/dpkg/dpkg.cfg.d/), so the
# packages a Dockerfile installs on top are trimmed the same way.
set -euo pipefail
IMAGE=${1:-lapack-ai/debian:bookworm}
SUITE=${2:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

SOURCES=("deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY $SUITE-security main")
EXCLUDES=(path-exclude=/usr/share/doc/* path-include=/usr/share/doc/*/copyright
          path-exclude=/usr/share/man/* path-exclude=/usr/share/info/*
          path-exclude=/usr/share/locale/* path-include=/usr/share/locale/locale.alias
          path-exclude=/usr/share/lintian/*)
APT_OPTS=('APT::Install-Recommends "false"' 'Acquire::Languages "none"')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if command -v mmdebstrap >/dev/null; then
  args=(--variant=minbase --format=tar --quiet)
  for e in "${EXCLUDES[@]}"; do args+=(--dpkgopt="$e"); done
  for o in "${APT_OPTS[@]}"; do args+=(--aptopt="$o"); done
  # Merged /usr set up as debootstrap does; otherwise apt pulls in usrmerge and with it perl (+50 MB).
  hooks=/usr/share/mmdebstrap/hooks/merged-usr
  [ -d "$hooks" ] && args+=(--hook-dir="$hooks")
  # Debian's keys by name: on an Ubuntu host apt's trusted keys are Ubuntu's (debian-archive-keyring).
  [ -f "$KEYRING" ] && args+=(--keyring="$KEYRING")
  # mmdebstrap empties /var/lib/apt/lists and /var/cache/apt itself.
  # (its hooks talk even under --quiet: the log is shown only when it fails)
  mmdebstrap "${args[@]}" "$SUITE" "$work/rootfs.tar" "${SOURCES[@]}" 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
elif command -v debootstrap >/dev/null; then
  # debootstrap cannot exclude paths while it installs: write the same settings, then delete.
  root=$work/root
  keyring=(); [ -f "$KEYRING" ] && keyring=(--keyring="$KEYRING")
  debootstrap --variant=minbase "${keyring[@]}" "$SUITE" "$root" "$MIRROR" >/dev/null
  printf '%s\n' "${SOURCES[@]}" >"$root/etc/apt/sources.list"
  printf '%s\n' "${EXCLUDES[@]}" >"$root/etc/dpkg/dpkg.cfg.d/99-slim"
  printf '%s;\n' "${APT_OPTS[@]}" >"$root/etc/apt/apt.conf.d/99-slim"
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$root"/usr/share/{man,info,lintian}/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
    "$root"/var/cache/apt/archives/*.deb
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  tar -C "$root" --numeric-owner -cf "$work/rootfs.tar" .
else
  echo "rootfs.sh: needs mmdebstrap (or debootstrap): apt-get install mmdebstrap" >&2
  exit 1
fi

docker import --change 'CMD ["bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --message "Debian $SUITE minbase, built by docker/rootfs.sh" "$work/rootfs.tar" "$IMAGE" >/dev/null
echo "rootfs.sh: imported $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
