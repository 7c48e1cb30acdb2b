/**
 * CPU pinning for the socket benchmarks (Linux, `taskset` from util-linux). On a 2-core machine
 * the load generator (autocannon, in the benchmark's own process) and the server under test
 * each need most of a core; left to the scheduler they also take turns on one. Pinned, the
 * servers share the last core (one runs at a time) and the load generator keeps the others,
 * which is closer to a server whose load comes from elsewhere. Both sides of every ratio get
 * the same treatment. It does not remove the VM's own swings: on the project's machine the
 * Express cells still moved by up to 0.33× between runs (docs/benchmarks.md, fourth round).
 * `BENCH_NO_PIN=1` turns it off; without `taskset`, or with one core, nothing is pinned.
 * @example const pins = cpuPinning(); if (pins) pinThisProcess(pins.driver);
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpus } from 'node:os';

/** The CPU lists (taskset syntax) of the servers and of the load generator. */
export interface CpuPinning {
  server: string;
  driver: string;
}

/** The pinning this machine allows, or null (not Linux, one core, no taskset, or turned off). */
export function cpuPinning(): CpuPinning | null {
  if (process.platform !== 'linux' || process.env.BENCH_NO_PIN === '1') return null;
  const count = cpus().length;
  if (count < 2) return null;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return { server: String(count - 1), driver: count === 2 ? '0' : `0-${count - 2}` };
}

/** Pins every thread of this process (the load generator) to `cpuList`. */
export function pinThisProcess(cpuList: string): void {
  pinProcess(process.pid, cpuList);
}

/** The same as `fork(module, args, …)` (IPC channel included), on the CPUs in `cpuList` when given. */
export function forkPinned(
  module: string,
  args: string[],
  options: { execArgv: string[]; env: NodeJS.ProcessEnv; cpuList: string | null },
): ChildProcess {
  const command = [process.execPath, ...options.execArgv, module, ...args];
  const [file, ...rest] =
    options.cpuList === null ? command : ['taskset', '-c', options.cpuList, ...command];
  return spawn(file as string, rest, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: options.env,
  });
}

/** One label for a benchmark's header. */
export function describePinning(pins: CpuPinning | null): string {
  return pins === null
    ? 'no CPU pinning'
    : `servers pinned to CPU ${pins.server}, load generator to CPU ${pins.driver}`;
}

/** Pins every thread of another process (one this benchmark started) to `cpuList`. */
export function pinProcess(pid: number, cpuList: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
}
