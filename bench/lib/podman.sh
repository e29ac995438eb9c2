# shellcheck shell=bash
# A private Podman for the benchmarks; sourced by bench/daemon and bench/pull.
#
# Podman has no daemon: every `podman` command is its own process and reads its
# configuration from containers.conf, storage.conf and registries.conf. Everything here
# is private to one benchmark run and lives in its temp dir:
#   - CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF point at files
#     written here (the host's /etc/containers is never read for these, never written);
#   - the global flags --root, --runroot, --tmpdir, --network-config-dir, plus
#     --cgroup-manager cgroupfs, --events-backend file and --runtime runc, are passed on
#     every command (podman hands them on to conmon's exit command);
#   - containers get --cgroup-parent /bench-podman-PID (conmon then lives in its
#     `conmon` sub-cgroup);
#   - the default network is a netavark bridge defined by a file in the private network
#     config dir: bridge `bpd<PID>` on a /24 that no host route uses (never podman0 /
#     10.88.0.0/16), marked internal and without DNS, so netavark writes no firewall
#     rules and starts no aardvark-dns (like dockerd's --iptables=false here).
# This machine's quirks, applied to every container (see docs/benchmarks.md):
#   --ulimit nofile=1024:1024 --ulimit nproc=1024:1024  (the hard RLIMIT_NOFILE here is
#     20000 and podman's default nofile/nproc limits fail against it)
#   --runtime runc  (crun 1.8 refuses this cgroup v1 + v2 hybrid host)
# Host paths podman uses regardless of the flags (removed afterwards when the run made
# them): /run/containers/networks (netavark's run dir), /dev/shm/libpod_lock (shm lock
# table; when one already exists another podman uses it, so file locks in the temp dir are
# used instead), /var/lib/containers/cache (c/image's blob-info cache), and the
# /run/netns/netns-* files of running containers.
#
# Use:
#   podman_init                      before anything can fail (records the host's state)
#   podman_setup DIR STORE [REGISTRY]
#                                    writes the config, sets the arrays
#                                    pod=(podman <private global flags>) and
#                                    prun=(<per-container options>); REGISTRY is a
#                                    host:port to allow over plain HTTP
#   podman_stop                      removes all containers and images (before killing
#                                    leftover processes and unmounting)
#   podman_cleanup                   bridge, netns files, cgroups, host paths it made
#   podman_leftovers                 prints what is still there, one item a line

pm_on=0 pm_dir="" pm_cg="bench-podman-$$" pm_bridge="" pm_subnet="" pm_lock=shm
pm_bridge=bpd$$
pm_bridge=${pm_bridge:0:15}
pm_host_paths=(/run/containers /var/lib/containers /run/libpod /dev/shm/libpod_lock /etc/cni/net.d /var/lib/cni)
declare -A pm_host_had=()
pm_netns_before=""
pod=() prun=()

podman_init() {
    local p
    for p in "${pm_host_paths[@]}"; do [[ -e $p ]] && pm_host_had[$p]=1; done
    pm_netns_before=$(ls /run/netns 2>/dev/null | sort)
    return 0
}

podman_setup() { # DIR STORE [REGISTRY]
    pm_dir=$1
    local store=$2 registry=${3:-} n
    mkdir -p "$pm_dir/run" "$pm_dir/tmp" "$pm_dir/networks"
    [[ -n ${pm_host_had[/dev/shm/libpod_lock]:-} ]] && pm_lock=file
    # a /24 for the default network that no host route and no bridge of this run uses
    pm_subnet=""
    for n in 172.31.247 172.31.245 172.31.243 10.254.247; do
        ip -4 route show | grep -q "^$n\." && continue
        ip -4 addr show | grep -q "inet $n\." && continue
        pm_subnet=$n
        break
    done
    [[ -n $pm_subnet ]] || { echo "podman_setup: no free /24 for podman's bridge" >&2; return 1; }
    cat >"$pm_dir/containers.conf" <<EOF
# private to one benchmark run (bench/lib/podman.sh)
[containers]
log_driver = "k8s-file"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$pm_dir/events.log"
runtime = "runc"
tmp_dir = "$pm_dir/tmp"
lock_type = "$pm_lock"
[network]
network_backend = "netavark"
network_config_dir = "$pm_dir/networks"
default_network = "benchpod"
default_subnet = "$pm_subnet.0/24"
default_subnet_pools = []
EOF
    cat >"$pm_dir/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$pm_dir/run"
graphroot = "$store"
EOF
    {
        echo 'unqualified-search-registries = []'
        echo 'short-name-mode = "permissive"'
        if [[ -n $registry ]]; then
            printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$registry"
        fi
    } >"$pm_dir/registries.conf"
    cat >"$pm_dir/networks/benchpod.json" <<EOF
{
  "name": "benchpod",
  "id": "$(printf 'benchpod-%s' "$pm_bridge" | sha256sum | cut -c1-64)",
  "driver": "bridge",
  "network_interface": "$pm_bridge",
  "created": "2026-01-01T00:00:00Z",
  "subnets": [{ "subnet": "$pm_subnet.0/24", "gateway": "$pm_subnet.1" }],
  "ipv6_enabled": false,
  "internal": true,
  "dns_enabled": false,
  "ipam_options": { "driver": "host-local" }
}
EOF
    export CONTAINERS_CONF=$pm_dir/containers.conf CONTAINERS_STORAGE_CONF=$pm_dir/storage.conf
    export CONTAINERS_REGISTRIES_CONF=$pm_dir/registries.conf
    unset CONTAINER_HOST CONTAINER_CONNECTION
    # registry credentials: a private (empty) auth file; podman also insists that
    # $DOCKER_CONFIG/config.json exists when DOCKER_CONFIG is set (the scripts point it
    # at a private dir for the docker CLI)
    echo '{}' >"$pm_dir/auth.json"
    export REGISTRY_AUTH_FILE=$pm_dir/auth.json
    if [[ -n ${DOCKER_CONFIG:-} && ! -e $DOCKER_CONFIG/config.json ]]; then
        mkdir -p "$DOCKER_CONFIG" && echo '{}' >"$DOCKER_CONFIG/config.json"
    fi
    pod=(podman --root "$store" --runroot "$pm_dir/run" --tmpdir "$pm_dir/tmp" --cgroup-manager cgroupfs
        --events-backend file --runtime runc --network-config-dir "$pm_dir/networks")
    prun=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroup-parent "/$pm_cg")
    pm_on=1
}

podman_stop() {
    ((pm_on)) || return 0
    timeout 300 "${pod[@]}" rm -f -t 0 -a >/dev/null 2>&1
    timeout 120 "${pod[@]}" rmi -a -f >/dev/null 2>&1
    return 0
}

pm_cgroup_dirs() {
    local h
    for h in /sys/fs/cgroup /sys/fs/cgroup/*; do [[ -d $h/$pm_cg ]] && echo "$h/$pm_cg"; done
    return 0
}

pm_new_netns() {
    comm -13 <(printf '%s\n' "$pm_netns_before") <(ls /run/netns 2>/dev/null | sort) | grep '^netns-' || true
}

podman_cleanup() {
    local cg p i n
    for cg in $(pm_cgroup_dirs); do
        for p in $(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u); do
            kill -KILL "$p" 2>/dev/null
        done
    done
    for cg in $(pm_cgroup_dirs); do
        for ((i = 0; i < 20; i++)); do
            find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
            [[ -d $cg ]] || break
            sleep 0.1
        done
    done
    ip link show "$pm_bridge" >/dev/null 2>&1 && ip link del "$pm_bridge" 2>/dev/null
    for n in $(pm_new_netns); do
        umount "/run/netns/$n" 2>/dev/null || umount -l "/run/netns/$n" 2>/dev/null
        rm -f "/run/netns/$n"
    done
    if ! pgrep -x podman >/dev/null && ! pgrep -x conmon >/dev/null; then
        for p in "${pm_host_paths[@]}"; do
            [[ -z ${pm_host_had[$p]:-} && -e $p ]] && rm -rf --one-file-system "$p"
        done
    fi
    return 0
}

podman_leftovers() {
    local cg n
    for cg in $(pm_cgroup_dirs); do echo "cgroup $cg"; done
    ip link show "$pm_bridge" >/dev/null 2>&1 && echo "bridge $pm_bridge"
    for n in $(pm_new_netns); do echo "netns /run/netns/$n"; done
    return 0
}
