// A PATH like a cflinuxfs stack's for the shims: the usual POSIX tools, curl, sha256sum, openssl, perl, tar —
// and no node. Built as a temp dir of symlinks to this machine's tools.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TOOLS = [
  'sh', 'bash', 'awk', 'sed', 'grep', 'cut', 'tr', 'cat', 'ls', 'mkdir', 'rm', 'mv', 'cp', 'ln', 'chmod',
  'dirname', 'basename', 'env', 'sleep', 'printf', 'test', 'curl', 'sha256sum', 'tar', 'gzip', 'xz',
  'id', 'head', 'tail', 'wc', 'sort', 'find', 'kill', 'touch', 'readlink', 'mktemp', 'date', 'true', 'false',
  'openssl', 'perl',
];

/** Make a directory of tool links (no node); returns it, to be used as the whole PATH. */
export async function makeNoNodePath(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stack-path-'));
  for (const tool of TOOLS) {
    for (const d of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
      const p = path.join(d, tool);
      try {
        await fs.access(p);
        await fs.symlink(p, path.join(dir, tool));
        break;
      } catch {
        /* not in this dir */
      }
    }
  }
  return dir;
}
