/**
 * @module cache/index-check-child
 * The child process of the start-up index check (cache/index-check.ts): opens one disk's index, reads every record
 * (CacheIndex.verify) and exits 0 when it is sound, 2 with the error on stderr when lmdb refuses it. A damaged page
 * may instead crash this process (SIGSEGV, SIGBUS on a truncated file): the parent counts that as damage too.
 * Usage: node index-check-child.js <index dir> <budget ms>. Runs in its own short-lived process, forked by the primary.
 */
import { CacheIndex } from './index.js';

function main(): void {
  const [dir, budget] = process.argv.slice(2);
  if (dir === undefined) throw new Error('usage: index-check-child <index dir> <budget ms>');
  const index = new CacheIndex(dir);
  const result = index.verify(Date.now() + Number(budget ?? 10_000));
  // No close: its write is committed (written to the file), and lmdb's close waits on a timer that can keep this
  // process alive for a long time; exiting releases the environment.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

try {
  main();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`, () => process.exit(2));
}
