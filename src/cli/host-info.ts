// What `GET /v1/agent/host` answers (Consul's debug.HostInfo shape, as gopsutil names its
// fields): memory, CPUs, host and the data dir's disk, and when they were read. Read from the
// operating system here, in the composition root, and handed to the API as a function.
import { statfsSync } from 'node:fs';
import { arch, cpus, freemem, hostname, platform, release, totalmem, uptime } from 'node:os';
import { errorMessage } from '../core/errors.js';
import type { Clock } from '../core/clock.js';

export function hostInfo(clock: Clock, dataDir: string | undefined): () => Record<string, unknown> {
  return () => {
    const errors: string[] = [];
    const total = totalmem();
    const free = freemem();
    let disk: Record<string, unknown> = {};
    try {
      const s = statfsSync(dataDir ?? '/');
      const size = s.blocks * s.bsize;
      const avail = s.bavail * s.bsize;
      disk = { path: dataDir ?? '/', total: size, free: avail, used: size - s.bfree * s.bsize, usedPercent: size > 0 ? ((size - s.bfree * s.bsize) / size) * 100 : 0 };
    } catch (err) {
      errors.push(`disk: ${errorMessage(err)}`);
    }
    const up = Math.floor(uptime());
    const now = clock.now();
    return {
      Memory: { total, available: free, used: total - free, usedPercent: total > 0 ? ((total - free) / total) * 100 : 0, free },
      CPU: cpus().map((c, i) => ({ cpu: i, modelName: c.model, mhz: c.speed, cores: 1 })),
      Host: { hostname: hostname(), uptime: up, bootTime: Math.floor(now / 1000) - up, os: platform(), kernelVersion: release(), kernelArch: arch() },
      Disk: disk,
      // Nanoseconds since the epoch, as Consul's.
      CollectionTime: now * 1_000_000,
      Errors: errors.length > 0 ? errors : null,
    };
  };
}
