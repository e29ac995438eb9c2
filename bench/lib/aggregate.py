#!/usr/bin/env python3
"""Combine the results of one `bench/all` run into bench/results/all.json and the
summary section of docs/benchmarks.md.

Reads what the bench scripts wrote during this run (bench/run's hyperfine JSON,
bench/pull's JSON, bench/results/daemon.json and network.json) plus the status file
bench/all keeps (which script ran, how long, exit code, command). Every metric is a
"lower is better" quantity (time, memory), so the ratio other / berth > 1 means berth
is faster or smaller. Quick mode reads bench/out/quick-daemon.json and
quick-network.json (the paths come from the status file) and bench/all passes
bench/out/ paths for its outputs. Usage (from bench/all, in the repository root):

    aggregate.py json STATUS_JSON OUT_JSON
    aggregate.py summary ALL_JSON DOC_MD [CHART_PNG]
"""
import json
import os
import platform
import re
import subprocess
import sys
import time

ENGINES = ['berth', 'docker', 'podman', 'runc', 'crun']
LABEL = {'berth': 'berth', 'docker': 'Docker', 'podman': 'Podman', 'runc': 'runc', 'crun': 'crun'}


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:  # noqa: BLE001 - a missing tool only loses a version string
        return ''


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def pct(xs, q):
    t = sorted(xs)
    if not t:
        return None
    return t[max(0, -(-len(t) * q // 100) - 1)]


def median(xs):
    t = sorted(xs)
    n = len(t)
    if not n:
        return None
    return t[(n - 1) // 2] if n % 2 else (t[n // 2 - 1] + t[n // 2]) / 2


def machine():
    cg = 'v2' if sh('stat -fc %T /sys/fs/cgroup') == 'cgroup2fs' else (
        'v1 (hybrid)' if os.path.exists('/sys/fs/cgroup/unified/cgroup.controllers') else 'v1')
    os_name = ''
    try:
        for line in open('/etc/os-release'):
            if line.startswith('PRETTY_NAME='):
                os_name = line.split('=', 1)[1].strip().strip('"')
    except OSError:
        pass
    mem_kb = 0
    for line in open('/proc/meminfo'):
        if line.startswith('MemTotal:'):
            mem_kb = int(line.split()[1])
    return {
        'cpus': os.cpu_count(),
        'cpu_model': sh("sed -n 's/^model name\\s*: //p' /proc/cpuinfo | head -1"),
        'memory_gib': round(mem_kb / 1048576, 1),
        'kernel': platform.release(),
        'os': os_name,
        'cgroup': cg,
        'virtualization': sh('systemd-detect-virt 2>/dev/null') or None,
        'loadavg_at_aggregation': open('/proc/loadavg').read().split()[:3],
    }


def versions(bin_dir):
    v = {
        'berthd': sh(f'{bin_dir}/berthd --version'),
        'berth': sh(f'{bin_dir}/berth --version'),
        'berth-runtime': sh(f'{bin_dir}/berth-runtime --version | head -1'),
        'dockerd': sh('dockerd --version'),
        'docker CLI': sh('docker --version'),
        'containerd': sh('containerd --version'),
        'runc': sh('runc --version | head -1'),
        'crun': sh('crun --version | head -1'),
        'podman': sh('podman --version'),
        'conmon': sh('conmon --version | head -1'),
        'netavark': sh('/usr/lib/podman/netavark --version'),
        'docker-registry': sh('docker-registry --version 2>&1 | head -1'),
        'skopeo': sh('skopeo --version'),
        'hyperfine': sh('hyperfine --version'),
    }
    return {k: x for k, x in v.items() if x}


class Metrics:
    def __init__(self):
        self.items = []

    def add(self, mid, section, title, unit, what, values, target=None, met=None, chart=True, note='',
            headline=False, scale=1.0, no_ratio=False):
        """values: engine -> dict(median, p90, runs, command) or {'not_measured': reason}."""
        vals = {}
        for eng, v in values.items():
            if v is None:
                continue
            if 'not_measured' in v:
                vals[eng] = {'not_measured': v['not_measured']}
                continue
            d = {'median': v['median'] * scale if v.get('median') is not None else None,
                 'p90': v['p90'] * scale if v.get('p90') is not None else None}
            for k in ('runs', 'command', 'client', 'extra'):
                if v.get(k) is not None:
                    d[k] = v[k]
            vals[eng] = d
        b = vals.get('berth', {}).get('median')
        for eng, d in vals.items():
            if eng != 'berth' and d.get('median') is not None and b and not no_ratio:
                d['ratio_to_berth'] = d['median'] / b
        self.items.append({'id': mid, 'section': section, 'title': title, 'unit': unit, 'what': what,
                           'values': vals, 'target': target, 'met': met, 'in_chart': chart,
                           'headline': headline, 'note': note})


def st(stats, argv=None, runs=None, **kw):
    if not stats:
        return None
    d = {'median': stats.get('median'), 'p90': stats.get('p90'), 'runs': runs or stats.get('runs')}
    if argv:
        d['command'] = ' '.join(argv) if isinstance(argv, list) else argv
    d.update(kw)
    return d


def missing(reason):
    return {'not_measured': reason}


def build_json(status_path, out_path):
    status = load(status_path)
    repo = status['repo']
    M = Metrics()
    scripts = {s['name']: s for s in status['scripts']}

    def failed(name):
        s = scripts.get(name)
        if s is None:
            return f'bench/{name} was not run'
        if s.get('exit') != 0:
            return f"bench/{name} failed (exit {s.get('exit')}; log {s.get('log')})"
        return None

    # --- bench/run: OCI runtime ---------------------------------------------------------------
    why = failed('run')
    for variant, title in (('default', 'runtime: `run` of /bin/true, default bundle'),
                           ('nonet', 'runtime: `run` of /bin/true, no network namespace')):
        path = (status.get('outputs', {}).get('run') or {}).get(variant)
        h = load(os.path.join(repo, path)) if path and not why else None
        vals = {}
        if h:
            for r in h['results']:
                name = r['command']
                ms = [t * 1000 for t in r['times']]
                vals[name] = {'median': r['median'] * 1000, 'p90': pct(ms, 90), 'runs': len(ms),
                              'command': f"hyperfine -N … '{name}' (see bench/out/{os.path.basename(path)})"}
            for eng in ('runc', 'crun'):
                if eng not in vals:
                    vals[eng] = missing('crun 1.8 refuses this cgroup v1 + v2 hybrid host (see bench/run)'
                                        if eng == 'crun' else 'not measured by bench/run')
            if 'berth' not in vals:
                vals['berth'] = missing('berth-runtime did not build')
        else:
            vals = {'berth': missing(why or 'no bench/run output')}
        b = vals.get('berth', {}).get('median')
        r = vals.get('runc', {}).get('median')
        target, met = None, None
        if variant == 'default':
            target = '≤ 6 ms and ≥ 4x faster than runc'
            met = (b is not None and r is not None and b <= 6 and r / b >= 4) if b and r else None
        M.add(f'runtime_{variant}', 'run', title, 'ms',
              'hyperfine, `RUNTIME --root R run --bundle B ID` (create, start, wait, delete) of /bin/true in a busybox rootfs',
              vals, target, met, headline=(variant == 'default'))

    # --- bench/daemon ---------------------------------------------------------------------------
    why = failed('daemon')
    d_path = (status.get('outputs', {}).get('daemon') or {}).get('json') or 'bench/results/daemon.json'
    d = None if why else load(os.path.join(repo, d_path))
    if d is None and not why:
        why = f'{d_path} missing'
    pm_note = (d or {}).get('podman', {}).get('note') or 'podman not installed'
    pm_ok = bool((d or {}).get('podman', {}).get('measured'))

    def dv(section_dict, name):
        v = (section_dict or {}).get(name)
        return st(v['stats'], v.get('argv'), client=name) if v else None

    def podman_or(x):
        return x if pm_ok else missing(pm_note)

    if d:
        rr = d['run_rm']
        M.add('run_rm', 'daemon', '`run --rm busybox true`, default network, own CLI', 'ms',
              'wall time of the whole CLI command, spawn to exit (berthd and dockerd: a private bridge each, no firewall '
              'rules; podman: a private internal netavark bridge)',
              {'berth': dv(rr, 'berth CLI -> berthd'),
               'docker': dv(rr, 'docker CLI -> dockerd, default network (bridge)'),
               'podman': podman_or(dv(rr, 'podman CLI, default network (private bridge)'))},
              '≤ 10 ms', None, headline=True)
        M.items[-1]['met'] = (M.items[-1]['values']['berth']['median'] <= 10)
        M.add('run_rm_none', 'daemon', '`run --rm --network none busybox true`, own CLI', 'ms',
              'wall time of the whole CLI command, spawn to exit',
              {'berth': dv(rr, 'berth CLI -> berthd, --network none'),
               'docker': dv(rr, 'docker CLI -> dockerd, --network none'),
               'podman': podman_or(dv(rr, 'podman CLI, --network none'))}, headline=True)
        dcb = dv(rr, 'docker CLI -> berthd')
        M.add('run_rm_docker_cli', 'daemon', '`docker run --rm busybox true`: stock docker CLI against berthd vs dockerd', 'ms',
              'wall time of the whole docker CLI command; "berth" here is docker CLI -> berthd',
              {'berth': dcb, 'docker': dv(rr, 'docker CLI -> dockerd, default network (bridge)')},
              '≤ 40 ms (docker CLI -> berthd)', dcb['median'] <= 40 if dcb else None, headline=True)
        bv = d['bulk']['variants']

        def bulk(name, key, stat):
            v = bv.get(name)
            if not v:
                return None
            s = v[key][stat]
            return {'median': s['median'], 'p90': s['p90'], 'runs': s['runs'], 'command': ' '.join(v['argv']),
                    'client': name}
        # full mode: 50 sequential and 10 clients x 10; quick mode has fewer (the keys stay)
        sn = d['bulk'].get('seq_n', 50)
        cc, ck = d['bulk'].get('clients', 10), d['bulk'].get('per_client', 10)
        seq_target = 0.5 * sn / 50
        seq = {'berth': bulk('berth CLI -> berthd', 'seq50', 'run_stats'),
               'docker': bulk('docker CLI -> dockerd, --network none', 'seq50', 'run_stats'),
               'podman': podman_or(bulk('podman CLI, --network none', 'seq50', 'run_stats'))}
        M.add('seq50', 'daemon', f'{sn} sequential `run -d busybox sleep 1000`', 's',
              f'total wall time of {sn} CLI commands one after another (docker, podman: --network none)',
              seq, f'≤ {seq_target:g} s' + ('' if sn == 50 else ' (0.5 s for 50, scaled)'),
              seq['berth']['median'] <= seq_target if seq['berth'] else None, headline=True)
        conc = {'berth': bulk('berth CLI -> berthd', 'conc10x10', 'wall_stats'),
                'docker': bulk('docker CLI -> dockerd, --network none', 'conc10x10', 'wall_stats'),
                'podman': podman_or(bulk('podman CLI, --network none', 'conc10x10', 'wall_stats'))}
        M.add('conc10x10', 'daemon', f'{cc} concurrent clients × {ck} `run -d` ({cc * ck} containers)', 's',
              f'wall time until all {cc * ck} `run -d` returned (containers/s = {cc * ck} / this)', conc, headline=True)
        mem = d['memory']
        levels = list(mem['berth']['levels'].keys())
        lvl = '50' if '50' in levels else levels[-1]

        def memv(eng, key, sub=None):
            if eng not in mem:
                return missing(pm_note) if eng == 'podman' else None
            x = mem[eng]['levels'][lvl]
            val = x[key][sub] if sub else x[key]
            return {'median': val, 'p90': None, 'runs': 1}
        pss = {e: memv(e, 'shims', 'pss_per_shim_kb') for e in ('berth', 'docker', 'podman')}
        M.add('shim_pss', 'daemon', f'PSS per shim with {lvl} idle containers (berth-shim / containerd-shim-runc-v2 / conmon)',
              'KB', '`Pss` of /proc/PID/smaps_rollup summed over the per-container processes / their count; one reading',
              pss, '≤ 300 KB', pss['berth']['median'] <= 300 if pss.get('berth') else None, headline=True)
        fp = {e: memv(e, 'footprint_per_container_kb') for e in ('berth', 'docker', 'podman')}
        M.add('footprint', 'daemon', f'engine footprint per idle container, {lvl} containers', 'KB',
              'daemon RSS growth + shim PSS + memory charged to the containers\' cgroup parent, / N; one reading', fp,
              headline=True)
        idle = d['idle_daemon']
        M.add('idle_daemon', 'daemon', 'idle daemon RSS, no containers', 'MB',
              'VmRSS of berthd / dockerd + containerd; Podman has no daemon',
              {'berth': {'median': idle['berth']['rss_kb'] / 1024, 'p90': None, 'runs': 1},
               'docker': {'median': idle['docker']['rss_kb'] / 1024, 'p90': None, 'runs': 1},
               'podman': missing('no daemon: nothing runs between commands (0 MB)') if pm_ok else missing(pm_note)},
              '≤ 15 MB', idle['berth']['rss_kb'] / 1024 <= 15, headline=True)
        ps = d['ps']
        cols = list(ps.keys())
        for c in cols:
            n = c.split()[0]
            vals = {'berth': dv(ps[c], 'berth CLI -> berthd'), 'docker': dv(ps[c], 'docker CLI -> dockerd'),
                    'podman': podman_or(dv(ps[c], 'podman CLI'))}
            is1000 = n == '1000'
            M.add(f'ps_{n}', 'daemon', f'`ps -a` with {c} containers', 'ms', 'wall time of the whole CLI command', vals,
                  '≤ 10 ms' if is1000 else None,
                  (vals['berth']['median'] <= 10) if is1000 and vals['berth'] else None,
                  headline=is1000 or (n == '100' and not any(k.startswith('1000') for k in cols)))
        if not any(k.startswith('1000') for k in cols):
            M.add('ps_1000', 'daemon', '`ps -a` with 1000 containers', 'ms', '',
                  {'berth': missing('quick mode stops at 100 containers; full mode only')}, '≤ 10 ms', None,
                  chart=False, headline=True)
        M.add('inspect_100', 'daemon', '`inspect ID` with 100 running', 'ms', 'wall time of the whole CLI command',
              {'berth': dv(d['inspect_100'], 'berth CLI -> berthd'), 'docker': dv(d['inspect_100'], 'docker CLI -> dockerd'),
               'podman': podman_or(dv(d['inspect_100'], 'podman CLI'))})
        M.add('stats_one_100', 'daemon', '`stats --no-stream ID` with 100 running', 'ms',
              'wall time of the whole CLI command; the daemons wait ≈1 s for a second CPU sample by design, '
              'podman does not wait (CPU % since start), so Podman\'s figure is not comparable',
              {'berth': dv(d['stats_one_100'], 'berth CLI -> berthd'), 'docker': dv(d['stats_one_100'], 'docker CLI -> dockerd'),
               'podman': podman_or(dv(d['stats_one_100'], 'podman CLI'))}, chart=False,
              note='sampling interval dominates; Podman does not sample twice')
    else:
        for mid, title in (('run_rm', '`run --rm busybox true`'), ('seq50', '50 sequential `run -d`'),
                           ('shim_pss', 'PSS per shim'), ('ps_1000', '`ps -a` with 1000 containers')):
            M.add(mid, 'daemon', title, '', '', {'berth': missing(why)}, headline=True)

    # --- bench/pull -------------------------------------------------------------------------------
    why = failed('pull')
    path = (status.get('outputs', {}).get('pull') or {}).get('json')
    p = None if why or not path else load(os.path.join(repo, path))
    if p:
        pl = p['pull']
        img = p['image']

        def pv(eng):
            x = pl.get(eng)
            if not x or 'stats' not in x:
                return missing((x or {}).get('not_measured') or 'not measured')
            cmd = x.get('command') or {'berth': 'berth-pull --root ROOT --insecure HOST REF',
                                       'docker': 'docker -H SOCK pull -q REF'}.get(eng)
            return {'median': x['stats']['median'], 'p90': x['stats']['p90'], 'runs': x['stats']['runs'], 'command': cmd}
        vals = {e: pv(e) for e in ('berth', 'docker', 'podman')}
        b = vals['berth'].get('median')
        dr = pl.get('ratio_docker_over_berth_median')
        M.add('pull', 'pull', f"pull of the Debian+python3 image ({img['layers']} layers, "
              f"{img['compressed_bytes'] / 1e6:.0f} MB gzip) from a local registry into an empty store", 's',
              'wall time of the whole pull command, store emptied and `sync` before each', vals,
              '≤ 1.5 s and Docker / berth ≥ 3.5x', (b <= 1.5 and dr >= 3.5) if b and dr else None, headline=True,
              note=f"berth unpack throughput {pl.get('berth_unpack_mb_per_s', 0):.0f} MB/s (uncompressed)")
        rf = p.get('rootfs_50_layers') or {}
        if rf.get('create'):
            M.add('rootfs50', 'pull', 'container rootfs from a 50-layer image (prepare + mount)', 'ms',
                  'in-process, berth only', {'berth': {'median': rf['create']['median_ms'], 'p90': rf['create']['p90_ms'],
                                                      'runs': rf.get('runs')}},
                  '≤ 2 ms', rf['create']['median_ms'] <= 2, chart=False)
    else:
        M.add('pull', 'pull', 'image pull from a local registry', 's', '', {'berth': missing(why or 'no bench/pull output')},
              headline=True)

    # --- bench/network ------------------------------------------------------------------------------
    why = failed('network')
    n_path = (status.get('outputs', {}).get('network') or {}).get('json') or 'bench/results/network.json'
    n = None if why else load(os.path.join(repo, n_path))
    if n:
        cl = n['run_rm']['clients']
        bb, dd = cl.get('berth CLI -> berthd'), cl.get('docker CLI -> dockerd')

        def nv(c, var):
            v = c['variants'].get(var) if c else None
            return st(v['stats'], v.get('argv')) if v else None
        vals = {'berth': nv(bb, 'bridge + -p'), 'docker': nv(dd, 'bridge + -p'),
                'podman': missing('not in bench/network: podman\'s -p (netavark) writes DNAT rules into the host '
                                  'firewall, which the harness leaves untouched')}
        M.add('run_rm_p', 'network', '`run --rm -p PORT:80 busybox true` (bridge + published port)', 'ms',
              'wall time of the whole CLI command', vals, headline=True)
        M.add('bridge_adds', 'network', 'what the bridge adds to `run --rm` (vs --network none)', 'ms',
              'difference of medians', {'berth': {'median': bb['bridge_adds_ms'], 'p90': None},
                                        'docker': {'median': dd['bridge_adds_ms'], 'p90': None}},
              '≤ 3 ms', bb['bridge_adds_ms'] <= 3, chart=False, headline=True, no_ratio=True)
        M.add('p_adds', 'network', 'what `-p 8080:80` adds on top of the bridge', 'ms', 'difference of medians',
              {'berth': {'median': bb['p_adds_ms'], 'p90': None}, 'docker': {'median': dd['p_adds_ms'], 'p90': None}},
              '≤ 1 ms', bb['p_adds_ms'] <= 1, chart=False, headline=True, no_ratio=True)
        pv100 = n['ports']['variants']

        def portv(name):
            v = pv100.get(name)
            return st(v['run_stats'], v.get('argv'), extra={'extra_processes': v.get('extra_processes')}) if v else None
        M.add('ports100', 'network', '`run -d` with 100 published ports', 'ms', 'wall time of the whole CLI command',
              {'berth': portv('berth CLI -> berthd, 100 ports'), 'docker': portv('docker CLI -> dockerd, 100 ports')},
              '0 extra processes', (pv100.get('berth CLI -> berthd, 100 ports') or {}).get('extra_processes') == 0)
    else:
        M.add('run_rm_p', 'network', '`run --rm -p`', 'ms', '', {'berth': missing(why or 'no bench/network output')},
              headline=True)

    # --- not measured ---------------------------------------------------------------------------------
    M.add('build', 'build', 'Dockerfile build, cold / fully cached', 's', '',
          {'berth': missing('not measured: berth has no build yet (no /build endpoint in crates/api)'),
           'docker': missing('not measured: no berth figure to compare with yet'),
           'podman': missing('not measured: no berth figure to compare with yet')}, chart=False, headline=True)

    short = {
        'runtime_default': 'OCI runtime\nrun /bin/true',
        'run_rm': 'run --rm\ndefault net',
        'run_rm_none': 'run --rm\nnet none',
        'run_rm_docker_cli': 'docker CLI\nrun --rm',
        'seq50': f'{sn} × run -d\nsequential' if d else '50 × run -d\nsequential',
        'conc10x10': f'{cc} × {ck} run -d\nconcurrent' if d else '10 × 10 run -d\nconcurrent',
        'shim_pss': 'PSS per\nshim',
        'footprint': 'footprint per\ncontainer',
        'idle_daemon': 'idle daemon\nRSS',
        'ps_100': 'ps -a\n100',
        'ps_1000': 'ps -a\n1000',
        'inspect_100': 'inspect\n(100 running)',
        'pull': 'image pull\n113 MB',
        'run_rm_p': 'run --rm -p\n(bridge)',
        'ports100': 'run -d\n100 ports',
    }
    for it in M.items:
        it['short'] = short.get(it['id'], it['title'])
        if it['id'] not in short:  # the chart keeps to one bar group per headline-ish metric
            it['in_chart'] = False
    for it in M.items:
        it['short'] = short.get(it['id'], it['title'])
    out = {
        'schema': 1,
        'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        'mode': status['mode'],
        'wall_seconds': status.get('wall_seconds'),
        'git': status.get('git'),
        'machine': machine(),
        'versions': versions(status['bin']),
        'command': status['command'],
        'scripts': status['scripts'],
        'podman': {'measured': pm_ok, 'note': pm_note,
                   'caveats': ['--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 on every container (hard RLIMIT_NOFILE here is 20000)',
                               '--runtime runc (crun 1.8 refuses this cgroup v1 + v2 hybrid host)',
                               'rm -f -t 0 (podman otherwise waits the 10 s stop timeout)',
                               'no daemon: every command is a process; conmon is the per-container process',
                               'stats --no-stream does not wait for a second sample'],
                   'global_flags': (d or {}).get('podman', {}).get('global_flags'),
                   'run_options': (d or {}).get('podman', {}).get('run_options')},
        'ratio': 'other engine median / berth median; every metric is lower-is-better, so > 1 means berth is faster or smaller',
        'metrics': M.items,
    }
    with open(out_path + '.tmp', 'w') as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    os.replace(out_path + '.tmp', out_path)


def fmt(x, unit):
    if x is None:
        return '–'
    if unit == 's':
        return f'{x:.3f} s' if x < 10 else f'{x:.1f} s'
    if unit == 'ms':
        return f'{x:.2f} ms' if x < 10 else f'{x:.1f} ms'
    if unit == 'KB':
        return f'{x:.0f} KB'
    if unit == 'MB':
        return f'{x:.1f} MB'
    return f'{x:.3g} {unit}'


def cell(v, unit):
    if v is None:
        return '–'
    if 'not_measured' in v:
        return f"n/a ({v['not_measured']})"
    s = fmt(v['median'], unit)
    if v.get('p90') is not None and (v.get('runs') or 0) >= 5:
        s += f" (p90 {fmt(v['p90'], unit).split()[0]})"
    return s


def ratio(v):
    if not v or v.get('ratio_to_berth') is None:
        return '–'
    r = v['ratio_to_berth']
    return f'{r:.1f}x' if r >= 1.95 else f'{r:.2f}x'


def summary(all_path, doc_path, chart_path=None):
    a = load(all_path)
    # links relative to the report (docs/benchmarks.md: ../bench/results/all.json, benchmarks.png)
    here = os.path.dirname(os.path.abspath(doc_path))
    all_link = os.path.relpath(os.path.abspath(all_path), here)
    chart_link = os.path.relpath(os.path.abspath(chart_path or os.path.join(os.path.dirname(doc_path), 'benchmarks.png')), here)
    L = []
    p = L.append
    p('<!-- bench:summary:start (generated by bench/all; edits here are overwritten) -->')
    p('## Summary')
    p('')
    m = a['machine']
    quick = a['mode'] == 'quick'
    p(f"`bench/all{' --quick' if quick else ''}` on {a['date'].replace('T', ' ').replace('Z', ' UTC')} "
      f"(git {a.get('git') or '?'}), {a['wall_seconds']} s in all"
      + (' — **quick mode: few repetitions, figures are indicative only** (the rounds are stated in each '
         'section; the latest full run is in docs/benchmarks.md)' if quick else '') + '. '
      f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB RAM, kernel {m['kernel']}, {m['os']}, "
      f"cgroup {m['cgroup']}. Versions: " + '; '.join(f'{k} `{v}`' for k, v in a['versions'].items()
                                                  if k in ('berthd', 'dockerd', 'containerd', 'runc', 'podman', 'conmon')) + '.')
    p('')
    failed = [s for s in a['scripts'] if s.get('exit') != 0]
    if failed:
        p('**Scripts that failed in this run** (their metrics are marked n/a): ' +
          ', '.join(f"`bench/{s['name']}` (exit {s.get('exit')})" for s in failed) + '.')
        p('')
    p('Medians (p90 in brackets where the metric has repetitions); the ratio is **other engine / berth** (every '
      'metric is lower-is-better: > 1 means berth is faster or smaller). "Docker" is docker CLI → a private dockerd 20.10 '
      '(containerd, runc); "Podman" is podman 4.3 with runc, fully private (see its caveats in the daemon section). '
      'For the runtime rows the columns are runc and crun. Full tables, methods and commands are in the sections below; '
      f'everything is in [`{all_path}`]({all_link}).')
    p('')
    p(f'![ratios other engine / berth]({chart_link})')
    p('')
    p('| metric | berth | Docker | Podman | Docker / berth | Podman / berth | target (berth) | verdict |')
    p('|---|---:|---:|---:|---:|---:|---|---|')
    for it in a['metrics']:
        if not it['headline']:
            continue
        v = it['values']
        u = it['unit']
        if it['section'] == 'run':
            other1, other2 = v.get('runc'), v.get('crun')
            c1 = ('runc ' + cell(other1, u)) if other1 and 'not_measured' not in other1 else cell(other1, u)
            c2 = ('crun ' + cell(other2, u)) if other2 and 'not_measured' not in other2 else cell(other2, u)
            row = [cell(v.get('berth'), u), c1, c2, ratio(other1), ratio(other2)]
        else:
            row = [cell(v.get('berth'), u), cell(v.get('docker'), u), cell(v.get('podman'), u),
                   ratio(v.get('docker')), ratio(v.get('podman'))]
        verdict = '–' if it['met'] is None else ('**met**' if it['met'] else '**missed**')
        title = it['title'] + (f" — {it['note']}" if it.get('note') else '')
        p(f"| {title} | " + ' | '.join(row) + f" | {it['target'] or '–'} | {verdict} |")
    p('')
    missed = [it for it in a['metrics'] if it['met'] is False]
    if missed:
        p('Targets berth misses in this run: ' + '; '.join(
            f"{it['title']} ({cell(it['values']['berth'], it['unit'])}, target {it['target']})" for it in missed) + '.')
    else:
        p('berth meets every target measured in this run.')
    p('')
    if not a['podman']['measured']:
        p(f"**Podman was not measured**: {a['podman']['note']}.")
        p('')
    p('Podman caveats on this machine: ' + '; '.join(a['podman']['caveats']) + '. Podman\'s pull is measured in '
      '`bench/pull`; it is not in `bench/network` (published ports) or `bench/run` (OCI runtime level).')
    p('<!-- bench:summary:end -->')
    section = '\n'.join(L)
    doc = open(doc_path).read() if os.path.exists(doc_path) else '# Benchmarks\n'
    pat = re.compile(r'^<!-- bench:summary:start.*?^<!-- bench:summary:end -->\n?', re.S | re.M)
    if pat.search(doc):
        doc = pat.sub(lambda _: section + '\n', doc, count=1)
    else:
        # after the intro: before the first generated section
        i = doc.find('<!-- bench:')
        doc = (doc[:i] + section + '\n\n' + doc[i:]) if i >= 0 else (doc.rstrip('\n') + '\n\n' + section + '\n')
    with open(doc_path + '.tmp', 'w') as f:
        f.write(doc)
    os.replace(doc_path + '.tmp', doc_path)
    print(section)


if __name__ == '__main__':
    if sys.argv[1] == 'json':
        build_json(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == 'summary':
        summary(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        sys.exit('usage: aggregate.py json STATUS OUT | summary ALL DOC [CHART]')
