// Test helper: a small tmpfs mounted on a fresh directory (for disk-full and read-only file
// systems), unmounted after the test. Needs root; tests skip, saying why, when not root.

import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';

/** True when this process may mount file systems. */
export function canMount(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Returns a function that mounts a tmpfs of `sizeKiB` on `dir` (created if needed; `readOnly`
 * mounts it read-only); everything mounted in a test is unmounted in `afterEach`.
 */
export function useTmpfs(): (dir: string, sizeKiB: number, options?: { readOnly?: boolean }) => Promise<void> {
  const mounted: string[] = [];
  afterEach(() => {
    for (const dir of mounted.splice(0).reverse()) execFileSync('umount', [dir]);
  });
  return async (dir, sizeKiB, options = {}) => {
    await fs.mkdir(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k${options.readOnly ? ',ro' : ''}`, 'tmpfs', dir]);
    mounted.push(dir);
  };
}
