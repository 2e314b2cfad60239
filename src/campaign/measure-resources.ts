import type { ResourceUse } from '../report/campaign-record.js';

/** Starts measuring what this run costs the process; the function returned says it so far. */
export function startMeasuring(): () => ResourceUse {
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(cpuBefore);
    return {
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  };
}
