#!/usr/bin/env bash
# Stop the Docker engine .ci/docker-up.sh started, by the pids it recorded; idempotent.
# An engine docker-up.sh did not start (no pidfile) is left alone.
set -euo pipefail
ours=0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/.ci-work"
export DOCKER_HOST="unix:///var/run/docker.sock"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

say() { echo "docker-down: $*" >&2; }
# alive PID: the process exists and is not a zombie.
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# stop_pidfile FILE NAME SECONDS: SIGTERM the recorded process if it is still NAME, wait,
# then SIGKILL; remove the pidfile.
stop_pidfile() {
    local file="$1" name="$2" grace="$3" pid i
    [ -f "$file" ] || return 0
    pid="$(cat "$file")"
    if [ -n "$pid" ] && alive "$pid" \
        && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$name" ]; then
        $SUDO kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < grace * 10; i++)); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            say "$name (pid $pid) ignored SIGTERM for ${grace} s: SIGKILL"
            $SUDO kill -KILL "$pid" 2>/dev/null || true
        fi
        say "stopped $name (pid $pid)"
    fi
    rm -f "$file"
}

if [ -f "$WORK/dockerd.pid" ]; then
    # Our test containers first, so the engine's shutdown has nothing to wait for.
    ids="$(timeout 10 docker ps -aq --filter label=pytest-kafka-patterns.owner-pid 2>/dev/null \
        || true)"
    if [ -n "$ids" ]; then
        # shellcheck disable=SC2086
        timeout 30 docker rm -f $ids >/dev/null 2>&1 || true
    fi
    stop_pidfile "$WORK/dockerd.pid" dockerd 20
    ours=1
else
    say "no $WORK/dockerd.pid: nothing of ours to stop"
fi
# dockerd normally stops the containerd it started; stop it if it was left behind.
stop_pidfile "$WORK/containerd.pid" containerd 10

# If dockerd died hard, the shims of its containerd keep containers running: kill each
# shim's children (the container's init, and with it the container), then the shim.
if [ "$ours" = 1 ]; then
    for shim in $(pgrep -f -- "-address /var/run/docker/containerd/containerd.sock" || true); do
        case "$(cat "/proc/$shim/comm" 2>/dev/null || true)" in
            containerd-shim*)
                $SUDO pkill -KILL -P "$shim" 2>/dev/null || true
                $SUDO kill -KILL "$shim" 2>/dev/null || true
                say "killed leftover containerd-shim (pid $shim) and its container"
                ;;
        esac
    done
fi
