/** What a run cost this process: reported with every plan and campaign, and read by the benchmarks. */
export interface ResourceUse {
  seconds: number;
  cpuSeconds: number;
  peakRssMB: number;
  /** Per-message latency in ms, handed to the client library until answered (sends only). */
  latencyMs?: { p50: number; p99: number };
}

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
