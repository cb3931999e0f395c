/**
 * Hidden measurement hook for `npm run bench` (PCN_BENCH_STATS=1): counts the IMAP commands a pass
 * issues and times the pass from login to the end, then prints one JSON line on stderr at exit.
 * Off unless the variable is set, so an ordinary run pays nothing for it.
 */
import { readFileSync } from 'node:fs';

export interface BenchStats {
  onCommand(command: string): void;
}

const STATS_PREFIX = 'PCN_BENCH_STATS ';

/**
 * This process's own peak RSS. Linux carries getrusage's maxrss across fork and exec, so a worker
 * started by a large parent (the bench runner holds its generated mailbox) would report the
 * parent's peak; /proc/self/status VmHWM belongs to this program image alone.
 */
function peakRssKb(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]);
  } catch {
    // not Linux: getrusage below
  }
  return process.resourceUsage().maxRSS;
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return Math.round((used.user + used.system) / 1000);
}

export function benchStatsFromEnv(env: NodeJS.ProcessEnv = process.env): BenchStats | undefined {
  if (!env.PCN_BENCH_STATS) return undefined;
  const commands: Record<string, number> = {};
  let total = 0;
  let loggedInAt: number | null = null;
  let cpuAtLogin: NodeJS.CpuUsage | null = null;
  let afterLogin = 0;
  let logoutAt: number | null = null;
  // Where the memory is at its peak: the largest of each part seen, sampled every 100 ms.
  const memoryPeaksMb: Record<string, number> = {};
  const sampler = setInterval(() => {
    for (const [part, bytes] of Object.entries(process.memoryUsage())) memoryPeaksMb[part] = Math.max(memoryPeaksMb[part] ?? 0, Math.round(bytes / 2 ** 20));
  }, 100);
  sampler.unref();
  process.once('exit', () => {
    const line = {
      memoryPeaksMb,
      imapCommands: total,
      imapCommandsAfterLogin: afterLogin,
      commands,
      // The first SELECT is the first command after login: everything before it is connect and auth.
      // ...and LOGOUT marks the end of the pass's mailbox work.
      msAfterLogin: loggedInAt === null ? null : Math.round(((logoutAt ?? performance.now()) - loggedInAt) * 10) / 10,
      maxRssKb: peakRssKb(),
      // CPU of the whole process (every thread) from the first SELECT on, as msAfterLogin: what the
      // bench sets beside Dovecot's to see whether the cores, not the pipeline, bound a ratio.
      cpuMsAfterLogin: cpuAtLogin === null ? null : cpuMsSince(cpuAtLogin),
    };
    process.stderr.write(`${STATS_PREFIX}${JSON.stringify(line)}\n`);
  });
  return {
    onCommand(command) {
      total++;
      commands[command] = (commands[command] ?? 0) + 1;
      if (loggedInAt === null && (command === 'SELECT' || command === 'EXAMINE')) {
        loggedInAt = performance.now();
        cpuAtLogin = process.cpuUsage();
      }
      if (loggedInAt !== null && command !== 'LOGOUT') afterLogin++;
      if (command === 'LOGOUT') logoutAt = performance.now();
    },
  };
}
