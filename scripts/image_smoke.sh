#!/usr/bin/env bash
# Smoke test of the real image and manifests with podman: tests/test_image_smoke.py, which builds the one
# backend image (backend/Dockerfile, learnflow:<version>) on a Debian root file system from mmdebstrap and
# plays each deployment.yaml with it.
# As root, installs what it needs when it is missing (podman, buildah, mmdebstrap; runc, since crun
# refuses hosts with hybrid cgroups) and gives podman's automatic user namespaces (the runner's
# hostUsers: false) a range of subordinate ids. The test skips, printing why, when podman still cannot
# run containers; it never passes without having run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
  missing=()
  for tool in podman buildah mmdebstrap runc; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
      echo "image smoke: installing ${missing[*]}" >&2
      apt-get update -qq || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
        || echo "image smoke: could not install ${missing[*]}; the test will say what is missing" >&2
    else
      echo "image smoke: ${missing[*]} missing and no apt-get here" >&2
    fi
  fi
  # podman --userns=auto takes its ids from the user "containers" (podman-run(1), --userns=auto).
  for file in /etc/subuid /etc/subgid; do
    grep -q '^containers:' "$file" 2>/dev/null || echo 'containers:2147483647:2147483648' >>"$file"
  done
fi

# Pod, container and volume names are global to podman on this machine: two runs at once (two
# checkouts) take turns instead of tearing down each other's pods.
LEARNFLOW_IMAGE_SMOKE=1 exec flock /run/learnflow-image-smoke.lock \
  .venv/bin/python -m pytest -q -rsx -p no:cacheprovider tests/test_image_smoke.py "$@"
