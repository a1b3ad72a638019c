/**
 * The small parsers of the energy exporter: procfs files, cgroup paths (kubelet systemd and
 * cgroupfs naming, Docker, Podman, CRI-O, v1/hybrid files), wattflow's command lines, RAPL
 * counters with wrap-around, and the estimator's coefficients.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCgroupPath, parseProcCgroup } from '../../src/energy/cgroup.js';
import { CCF_COEFFICIENTS, resolveCoefficients } from '../../src/energy/coefficients.js';
import { splitByStages, usageRatio } from '../../src/energy/attribution.js';
import { EstimatorSource } from '../../src/energy/node-source.js';
import { parseCpuInfo, parseMemTotalBytes, parsePidStat, parseProcStat } from '../../src/energy/procfs.js';
import { counterDelta, parseCounter } from '../../src/energy/rapl.js';
import { wattflowRoleOf } from '../../src/energy/wattflow-procs.js';

const ID = 'a'.repeat(64);
const UID = '0c2b8e3a-1f4d-4b8e-9a55-2d3e4f5a6b7c';

test('/proc/<pid>/stat: a comm with spaces and parentheses, utime+stime and starttime', () => {
  const text = '4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 1 0 0 0 150 50 0 0 20 0 3 0 98765 1000 200 18446744073709551615\n';
  assert.deepEqual(parsePidStat(text), { comm: 'we (ird) name', cpuTicks: 200, startTime: 98765 });
  assert.throws(() => parsePidStat('4242 no comm here'), /comm/);
  assert.throws(() => parsePidStat('4242 (x) S 1 2'), /utime/);
});

test('/proc/stat: the aggregate line, active = total − idle − iowait, CPUs counted', () => {
  const t = parseProcStat('cpu  100 5 50 800 20 3 2 1 7 0\ncpu0 50 2 25 400 10 1 1 0 3 0\ncpu1 50 3 25 400 10 2 1 1 4 0\nintr 1\n');
  assert.equal(t.cpus, 2);
  assert.equal(t.total, 100 + 5 + 50 + 800 + 20 + 3 + 2 + 1); // guest time is already inside user
  assert.equal(t.idle, 800);
  assert.equal(t.iowait, 20);
  assert.throws(() => parseProcStat('intr 1\n'), /cpu/);
  assert.throws(() => parseProcStat('cpu  a b c d\n'), /cpu/);
  assert.equal(usageRatio({ total: 0, active: 0 }, { total: 200, active: 50 }), 0.25);
  assert.equal(usageRatio({ total: 10, active: 5 }, { total: 10, active: 5 }), 0);
});

test('/proc/meminfo and /proc/cpuinfo', () => {
  assert.equal(parseMemTotalBytes('MemTotal:       2048 kB\nMemFree: 1 kB\n'), 2048 * 1024);
  assert.throws(() => parseMemTotalBytes('MemFree: 1 kB\n'));
  const info = parseCpuInfo('processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\ncore id\t: 3\n\nprocessor\t: 1\nmodel name\t: AMD EPYC\n');
  assert.deepEqual(info[0], { processor: '0', vendor_id: 'AuthenticAMD', model_name: 'AMD EPYC', physical_id: '0', core_id: '3' });
  assert.equal(info[1]!.physical_id, '');
});

test('cgroup paths: kubelet systemd naming per QoS class and runtime', () => {
  const u = UID.replace(/-/g, '_');
  assert.deepEqual(parseCgroupPath(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u}.slice/cri-containerd-${ID}.scope`), {
    containerId: ID,
    runtime: 'containerd',
    podUid: UID,
    qos: 'burstable',
  });
  assert.deepEqual(parseCgroupPath(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${u}.slice/crio-${ID}.scope`), {
    containerId: ID,
    runtime: 'cri-o',
    podUid: UID,
    qos: 'besteffort',
  });
  assert.deepEqual(parseCgroupPath(`/kubepods.slice/kubepods-pod${u}.slice/docker-${ID}.scope`), { containerId: ID, runtime: 'docker', podUid: UID, qos: 'guaranteed' });
  // seen from another cgroup namespace
  assert.equal(parseCgroupPath(`/../../kubepods-burstable-pod${u}.slice/cri-containerd-${ID}.scope`)?.podUid, UID);
  // CRI-O's conmon is not the container
  assert.equal(parseCgroupPath(`/kubepods.slice/kubepods-pod${u}.slice/crio-conmon-${ID}.scope`), undefined);
});

test('cgroup paths: cgroupfs driver, Docker, Podman, and host processes', () => {
  assert.deepEqual(parseCgroupPath(`/kubepods/burstable/pod${UID}/${ID}`), { containerId: ID, runtime: 'unknown', podUid: UID, qos: 'burstable' });
  assert.deepEqual(parseCgroupPath(`/kubepods/pod${UID}/${ID}`), { containerId: ID, runtime: 'unknown', podUid: UID, qos: 'guaranteed' });
  assert.deepEqual(parseCgroupPath(`/docker/${ID}`), { containerId: ID, runtime: 'docker' });
  assert.deepEqual(parseCgroupPath(`/system.slice/docker-${ID}.scope`), { containerId: ID, runtime: 'docker' });
  assert.deepEqual(parseCgroupPath(`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`), { containerId: ID, runtime: 'podman' });
  assert.deepEqual(parseCgroupPath(`/libpod_parent/libpod-${ID}`), { containerId: ID, runtime: 'podman' });
  assert.equal(parseCgroupPath('/system.slice/ssh.service'), undefined);
  assert.equal(parseCgroupPath('/'), undefined);
  assert.equal(parseCgroupPath(`/not-docker/${ID}`), undefined);
});

test('/proc/<pid>/cgroup: the v2 line first, else (hybrid, v1) the controller lines', () => {
  assert.equal(parseProcCgroup(`0::/kubepods/besteffort/pod${UID}/${ID}\n`)?.qos, 'besteffort');
  const hybrid = `12:memory:/docker/${ID}\n11:cpu,cpuacct:/docker/${ID}\n0::/\n`;
  assert.deepEqual(parseProcCgroup(hybrid), { containerId: ID, runtime: 'docker' });
  assert.equal(parseProcCgroup('4:memory:/process_api/94e1778e\n0::/\n'), undefined);
  assert.equal(parseProcCgroup('garbage without colons\n'), undefined);
});

test("wattflow's processes by their command line", () => {
  const roles = new Set(['up', 'processor', 'energy-exporter']);
  assert.equal(wattflowRoleOf(['node', '/opt/wattflow/dist/cli.js', 'processor', '--port', '0'], roles), 'processor');
  assert.equal(wattflowRoleOf(['node', '--import', 'tsx', 'src/cli.ts', 'up'], roles), 'up');
  assert.equal(wattflowRoleOf(['/usr/local/bin/wattflow', 'energy-exporter'], roles), 'energy-exporter');
  assert.equal(wattflowRoleOf(['node', 'other/cli.js', 'up'], roles), undefined);
  assert.equal(wattflowRoleOf(['node', 'dist/cli.js', 'deploy'], roles), undefined);
  assert.equal(wattflowRoleOf([], roles), undefined);
});

test('RAPL counters: wrap-around at max_energy_range_uj, never a negative delta', () => {
  assert.equal(counterDelta(100, 250, 1000), 150);
  assert.equal(counterDelta(900, 50, 1000), 150); // wrapped: (1000 − 900) + 50
  assert.equal(counterDelta(900, 50, 0), 0); // went back with no known range: a reset, skipped
  assert.equal(parseCounter('262143328850\n'), 262143328850);
  assert.throws(() => parseCounter('12ab'));
  assert.throws(() => parseCounter(''));
});

test('estimator coefficients: CCF per platform, overrides, custom needs its values', () => {
  assert.deepEqual(resolveCoefficients('aws'), { minWattsPerVcpu: 0.74, maxWattsPerVcpu: 3.5, memoryWattsPerGb: 0.392 });
  assert.equal(resolveCoefficients('gcp').maxWattsPerVcpu, 4.26);
  assert.equal(resolveCoefficients('azure').minWattsPerVcpu, 0.78);
  assert.equal(resolveCoefficients('aws', { maxWattsPerVcpu: 5 }).maxWattsPerVcpu, 5);
  assert.equal(resolveCoefficients('aws', { maxWattsPerVcpu: undefined }).maxWattsPerVcpu, 3.5);
  assert.throws(() => resolveCoefficients('custom'), /minWattsPerVcpu/);
  assert.throws(() => resolveCoefficients('custom', { minWattsPerVcpu: 1 }), /maxWattsPerVcpu/);
  assert.deepEqual(resolveCoefficients('custom', { minWattsPerVcpu: 1, maxWattsPerVcpu: 2 }), { minWattsPerVcpu: 1, maxWattsPerVcpu: 2, memoryWattsPerGb: 0.392 });
  assert.throws(() => resolveCoefficients('aws', { minWattsPerVcpu: 9 }), /below/);
  // W = vCPUs × (Pmin + u × (Pmax − Pmin)) + GB × W/GB, integrated over the interval
  const est = new EstimatorSource(CCF_COEFFICIENTS.aws, 2, 10);
  assert.deepEqual(est.watts(0.5), [2 * (0.74 + 0.5 * 2.76), 3.92]);
  const [cpu, mem] = est.sample(0.5, 10);
  assert.ok(Math.abs(cpu!.deltaJ - 42.4) < 1e-9 && Math.abs(mem!.deltaJ - 39.2) < 1e-9);
  assert.equal(est.sample(1, 0)[0]!.deltaJ, 0);
});

test('a process running several stages: its energy split by their CPU time, the rest to itself', () => {
  const { stages, rest } = splitByStages(10, 2, new Map([['processor', 1], ['inference', 0.5]]));
  assert.equal(stages.get('processor'), 5);
  assert.equal(stages.get('inference'), 2.5);
  assert.equal(rest, 2.5);
  // measurement noise: stages adding up to more than the process are scaled to it
  const noisy = splitByStages(10, 1, new Map([['a', 1], ['b', 1]]));
  assert.equal(noisy.stages.get('a'), 5);
  assert.equal(noisy.rest, 0);
});
