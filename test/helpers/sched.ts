/**
 * Linux scheduling facts the DIMS converter tests check: the policy of every thread of a process, and whether this
 * machine lets a process take SCHED_IDLE through chrt (the converter's launcher).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** The distinct scheduling policies (/proc stat field 41: 0 normal, 5 SCHED_IDLE) of the threads of `pid`. */
export function threadPolicies(pid: number): number[] {
  const policies = readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
  });
  return [...new Set(policies)];
}

/** Whether `chrt --idle 0` works here (it needs no privilege on Linux, but a container may refuse it). */
export function idleAvailable(): boolean {
  try {
    execFileSync('chrt', ['--idle', '0', 'true']);
    return true;
  } catch {
    return false;
  }
}
