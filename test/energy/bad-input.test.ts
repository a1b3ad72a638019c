/**
 * Bad input: unreadable or malformed sysfs and procfs files are skipped, counted in
 * wattflow_energy_read_errors_total{file_kind} and logged once per kind — the exporter never
 * crashes, its counters never go down, and the good files around the bad ones still count.
 * (The tests run as root in a sandbox, where file modes do not stop reads: an unreadable file is
 * a directory standing where the file should be — EISDIR.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capturingLogger, FakeNode, monitorOn } from './fixtures.js';

const unreadable = (path: string) => {
  rmSync(path, { force: true, recursive: true });
  mkdirSync(path);
};

test('malformed and unreadable procfs/sysfs files: skipped, counted by kind, logged once; sampling goes on', async () => {
  const n = new FakeNode({ cpus: 2 });
  const { logger, lines } = capturingLogger();
  try {
    n.raplZone('intel-rapl:0', 'package-0', 1_000_000_000, 1000);
    n.raplZone('intel-rapl:0:0', 'core', 1_000_000_000, 1000);
    n.raplZone('intel-rapl:1', 'bad name with spaces', 1_000_000_000, 1000); // malformed name: zone skipped
    writeFileSync(join(n.sys, 'class/powercap/intel-rapl:0:0/max_energy_range_uj'), 'lots\n'); // malformed: zone kept, no wrap range
    for (let pid = 10; pid < 15; pid++) n.addProcess(pid, { comm: `p${pid}`, ticks: 0, start: pid, exe: '/bin/p' });
    const h = monitorOn(n, { logger, topProcesses: 100 });
    assert.equal(h.source.kind, 'rapl');
    assert.deepEqual(h.monitor.zoneNames, ['package', 'core']);
    let last = 0;
    const joules = async () => {
      const s = await h.scrape();
      return s.filter((x) => x.name === 'kepler_node_cpu_joules_total' && x.labels.zone === 'package')[0]!.value;
    };
    let uj = 1000;
    const interval = (mutate?: () => void) => {
      uj += 5_000_000;
      n.setEnergy('intel-rapl:0', uj);
      n.setEnergy('intel-rapl:0:0', uj / 2);
      for (let pid = 10; pid < 15; pid++) {
        try {
          n.run(pid, 10);
        } catch {
          // a process whose stat is a directory now
        }
      }
      n.advanceCpu(50, 50);
      mutate?.();
      h.step();
    };
    interval();
    // a malformed /proc/<pid>/stat, an unreadable cgroup of a new process, a garbage energy_uj
    interval(() => {
      writeFileSync(join(n.proc, '11', 'stat'), '11 (p11) S 1 2 3 garbage\n');
      n.addProcess(20, { comm: 'new', ticks: 5, start: 20 });
      unreadable(join(n.proc, '20', 'cgroup'));
      writeFileSync(join(n.sys, 'class/powercap/intel-rapl:0:0/energy_uj'), 'NaN\n');
    });
    let j = await joules();
    assert.ok(j >= last);
    last = j;
    // /proc/stat malformed: the interval is skipped (no attribution, no crash)
    interval(() => writeFileSync(join(n.proc, 'stat'), 'cpu  what is this\n'));
    n.writeStat();
    interval(() => unreadable(join(n.proc, '12', 'stat')));
    interval(() => unreadable(join(n.sys, 'class/powercap/intel-rapl:0/energy_uj')));
    rmSync(join(n.sys, 'class/powercap/intel-rapl:0/energy_uj'), { recursive: true });
    writeFileSync(join(n.sys, 'class/powercap/intel-rapl:0/energy_uj'), `${uj}\n`);
    interval();
    interval(() => writeFileSync(join(n.proc, '13', 'cmdline'), '')); // fine: kernel-thread-like
    j = await joules();
    assert.ok(j >= last, 'package joules never decrease');
    assert.ok(j > 0, 'the good files still count');
    // a process with a malformed stat keeps its series (not called terminated)
    const s = await h.scrape();
    const err = (kind: string) => s.find((x) => x.name === 'wattflow_energy_read_errors_total' && x.labels.file_kind === kind)!.value;
    assert.equal(err('rapl_name'), 1);
    assert.equal(err('rapl_max_energy'), 1);
    assert.ok(err('rapl_energy') >= 2, `rapl_energy errors: ${err('rapl_energy')}`);
    assert.ok(err('proc_pid_stat') >= 2);
    assert.equal(err('proc_pid_cgroup'), 1);
    assert.equal(err('proc_stat'), 1);
    assert.ok(s.some((x) => x.name === 'kepler_process_cpu_joules_total' && x.labels.pid === '11'));
    assert.ok(s.some((x) => x.name === 'kepler_process_cpu_joules_total' && x.labels.pid === '20' && x.labels.container_id === ''));
    // logged once per kind, whatever the count
    const warned = lines().filter((l) => typeof l.msg === 'string' && (l.msg as string).includes('unreadable or malformed'));
    const kinds = warned.map((l) => l.file_kind as string);
    assert.equal(new Set(kinds).size, kinds.length, `one log line per kind: ${kinds.join(', ')}`);
    assert.ok(kinds.includes('proc_pid_stat') && kinds.includes('rapl_energy') && kinds.includes('proc_stat'));
    assert.ok(h.monitor.samples >= 6);
  } finally {
    n.cleanup();
  }
});

test('no /proc at all and no powercap: the estimator runs, nothing is attributed, errors are counted, no crash', async () => {
  const n = new FakeNode();
  try {
    const h = monitorOn(n);
    rmSync(n.proc, { recursive: true, force: true });
    h.step();
    h.step();
    const s = await h.scrape();
    assert.ok(s.find((x) => x.name === 'wattflow_energy_read_errors_total' && x.labels.file_kind === 'proc_stat')!.value >= 2);
    assert.equal(s.filter((x) => x.name === 'kepler_process_cpu_joules_total').length, 0);
  } finally {
    n.cleanup();
  }
});
