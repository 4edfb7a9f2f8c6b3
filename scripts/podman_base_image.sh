#!/usr/bin/env bash
# A local stand-in for docker.io/library/python:3.11-slim-bookworm, for machines that cannot pull images:
# a minimal Debian bookworm (debootstrap) with Debian's own Python 3.11 (the python:3.11 line too),
# python3-venv and the CA certificates, imported into podman under the official image's name.
# /usr/local/bin/python3.11 (and python3, python) link to /usr/bin/python3.11, the paths the official
# image and our Dockerfiles use (UV_PYTHON, the venv's interpreter link).
#
#   scripts/podman_base_image.sh          import it unless the image is already there (real or stand-in)
#   scripts/podman_base_image.sh --force  re-import the stand-in (never replaces a real, pulled image)
#
# Needs root, podman and debootstrap (make deploy-smoke installs them), and a Debian mirror
# (DEBIAN_MIRROR, default http://deb.debian.org/debian).
set -euo pipefail

IMAGE=docker.io/library/python:3.11-slim-bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
LABEL=io.video-analysis.standin
RECIPE=1  # bump when the recipe changes, so existing stand-ins are rebuilt
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/podman/containers.conf}"
log() { echo "[base-image] $*" >&2; }

if podman image exists "$IMAGE"; then
  have="$(podman image inspect --format "{{ index .Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)"
  if [[ -z "$have" || "$have" == "<no value>" ]]; then
    log "$IMAGE is a real image; keeping it"
    exit 0
  fi
  if [[ "$have" == "$RECIPE" && "${1:-}" != "--force" ]]; then
    exit 0
  fi
fi

t0=$(date +%s)
root="$(mktemp -d /var/tmp/python-standin.XXXXXX)"
trap 'rm -rf "$root"' EXIT
log "debootstrap bookworm into $root (from $MIRROR)"
debootstrap --variant=minbase --include=python3.11,python3.11-venv,python3-venv,ca-certificates \
  bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
ln -sf /usr/bin/python3.11 "$root/usr/local/bin/python3.11"
ln -sf python3.11 "$root/usr/local/bin/python3"
ln -sf python3.11 "$root/usr/local/bin/python"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
for need in /usr/local/bin/python3.11 /usr/sbin/useradd /usr/sbin/groupadd /etc/ssl/certs/ca-certificates.crt; do
  [[ -e "$root$need" ]] || { log "the stand-in lacks $need"; exit 1; }
done
chroot "$root" /usr/local/bin/python3.11 -c "import ensurepip, venv, ssl, sqlite3" \
  || { log "the stand-in's python3.11 lacks venv/ensurepip/ssl"; exit 1; }

log "importing as $IMAGE"
tar -C "$root" --numeric-owner -c . | podman import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV LANG=C.UTF-8" \
  --change "LABEL $LABEL=$RECIPE" \
  --change 'CMD ["python3"]' \
  - "$IMAGE" >/dev/null
log "done in $(( $(date +%s) - t0 )) s"
