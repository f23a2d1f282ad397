// The stack's view of /usr/bin inside instance containers (CONTRACT §2: only the tools cflinuxfs4
// ships): a directory holding the host's copies of exactly those tools, built once per work root.
// Host runtimes the stack lacks (node, python3, ruby, ...) are not in it, so an app gets them only
// from a buildpack's deps dir, as on a foundation.

import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, copyFile, link, mkdir, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Commands on cflinuxfs4's PATH (cloudfoundry/cflinuxfs4 `packages/cflinuxfs4` and the Ubuntu
 * jammy essentials under it: coreutils, bash/dash, util-linux, procps, findutils, grep, sed, mawk,
 * diffutils, gzip/xz/bzip2, tar, zip/unzip, curl, wget, jq, netcat-openbsd, openssl, perl, git,
 * rsync, lsof, strace, build-essential, dnsutils, net-tools, iproute2, psmisc, vim-tiny, xxd).
 * No node, no python, no ruby. A name missing on this host is simply absent in the container.
 */
export const STACK_TOOLS: readonly string[] = [
  // coreutils
  '[', 'arch', 'b2sum', 'base32', 'base64', 'basename', 'basenc', 'cat', 'chgrp', 'chmod', 'chown', 'cksum', 'comm', 'cp',
  'csplit', 'cut', 'date', 'dd', 'df', 'dir', 'dircolors', 'dirname', 'du', 'echo', 'env', 'expand', 'expr', 'factor', 'false',
  'fmt', 'fold', 'groups', 'head', 'hostid', 'id', 'install', 'join', 'link', 'ln', 'logname', 'ls', 'md5sum', 'mkdir', 'mkfifo',
  'mknod', 'mktemp', 'mv', 'nice', 'nl', 'nohup', 'nproc', 'numfmt', 'od', 'paste', 'pathchk', 'pr', 'printenv', 'printf',
  'ptx', 'pwd', 'readlink', 'realpath', 'rm', 'rmdir', 'seq', 'sha1sum', 'sha224sum', 'sha256sum', 'sha384sum', 'sha512sum',
  'shred', 'shuf', 'sleep', 'sort', 'split', 'stat', 'stdbuf', 'stty', 'sum', 'sync', 'tac', 'tail', 'tee', 'test', 'timeout',
  'touch', 'tr', 'true', 'truncate', 'tsort', 'tty', 'uname', 'unexpand', 'uniq', 'unlink', 'users', 'vdir', 'wc', 'who',
  'whoami', 'yes',
  // shells
  'bash', 'sh', 'dash', 'rbash',
  // util-linux, bsdutils, procps, psmisc, debianutils, libc-bin
  'kill', 'ps', 'pgrep', 'pkill', 'pidof', 'top', 'free', 'uptime', 'watch', 'pmap', 'killall', 'pstree', 'fuser', 'logger',
  'setpriv', 'setsid', 'nsenter', 'unshare', 'prlimit', 'flock', 'getopt', 'more', 'renice', 'taskset', 'ionice', 'rev',
  'script', 'mesg', 'which', 'run-parts', 'tempfile', 'getent', 'iconv', 'ldd', 'locale', 'hostname', 'dnsdomainname',
  'mount', 'umount', 'findmnt', 'lsblk', 'fallocate', 'su', 'sudo',
  // text, files, archives
  'find', 'xargs', 'grep', 'egrep', 'fgrep', 'sed', 'awk', 'mawk', 'diff', 'cmp', 'diff3', 'sdiff', 'patch', 'gzip', 'gunzip',
  'zcat', 'tar', 'xz', 'unxz', 'xzcat', 'lzma', 'unlzma', 'bzip2', 'bunzip2', 'bzcat', 'zip', 'unzip', 'less', 'file', 'xxd',
  'vi', 'rsync', 'lsof', 'strace',
  // network
  'curl', 'wget', 'nc', 'netcat', 'openssl', 'ping', 'ip', 'ss', 'netstat', 'ifconfig', 'route', 'dig', 'nslookup', 'host',
  'traceroute', 'tcpdump', 'ssh', 'scp', 'sftp', 'ssh-keygen',
  // languages and build tools the stack ships
  'jq', 'perl', 'git', 'make', 'gcc', 'cc', 'g++', 'c++', 'cpp', 'ld', 'as', 'ar', 'cmake', 'autoconf', 'automake', 'bison',
  'flex', 'gdb',
  // binutils (build-essential's; the receipt lists binutils 2.38)
  'strip', 'objcopy', 'objdump', 'nm', 'readelf', 'ranlib', 'size', 'strings', 'addr2line', 'c++filt', 'elfedit',
];

/** Where on the host a tool may live (merged /usr first). */
const HOST_BIN_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** The host file for tool `name` (symlinks resolved), if the host has it. */
async function hostTool(name: string): Promise<string | undefined> {
  for (const dir of HOST_BIN_DIRS) {
    const candidate = path.join(dir, name);
    if (await executable(candidate)) return realpath(candidate);
  }
  return undefined;
}

/** Version of the directory layout: bump when STACK_TOOLS or the build changes. */
const STACK_VERSION = 'cflinuxfs4-v3';

/**
 * `<workRoot>/stack/<version>/bin`, holding the stack's tools (hard links to the host's files when
 * on the same file system, else copies). Built once, atomically; later calls return it at once.
 */
export async function ensureStackBin(workRoot: string): Promise<string> {
  const dir = path.join(workRoot, 'stack', STACK_VERSION);
  const bin = path.join(dir, 'bin');
  try {
    await stat(path.join(dir, '.complete'));
    return bin;
  } catch {
    // not built yet
  }
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(path.join(tmp, 'bin'), { recursive: true });
  for (const name of STACK_TOOLS) {
    const src = await hostTool(name);
    if (!src) continue;
    const dest = path.join(tmp, 'bin', name);
    try {
      await link(src, dest);
    } catch {
      await copyFile(src, dest);
    }
  }
  await writeFile(path.join(tmp, '.complete'), `${(await readdir(path.join(tmp, 'bin'))).length} tools\n`);
  try {
    await rename(tmp, dir);
  } catch {
    // another platform built it first
    await rm(tmp, { recursive: true, force: true });
  }
  return bin;
}

/** The locale of every process on the platform (CC's LANG). */
const STACK_LOCALE = { input: 'en_US', charmap: 'UTF-8', dir: 'en_US.utf8' } as const;

/**
 * A folder holding the compiled `en_US.UTF-8` locale (`localedef`), for containers to see beside
 * the host's own at /usr/lib/locale: cflinuxfs4 generates it and CC sets `LANG=en_US.UTF-8`, so
 * without it every perl and every locale-aware tool in a container warns ("Setting locale failed")
 * or sorts and matches as in the C locale, which no foundation does. Compiled once per machine
 * (about 2 s) under `cacheRoot`, atomically. Undefined when the host has it already, or cannot
 * compile it (no localedef, no locale sources: the `locales` package).
 */
export async function ensureStackLocale(cacheRoot: string): Promise<string | undefined> {
  const hostLocales = '/usr/lib/locale';
  if (await exists(path.join(hostLocales, STACK_LOCALE.dir))) return undefined;
  const archived = await promisify(execFile)('localedef', ['--list-archive'], { encoding: 'utf8' }).then(
    (r) => r.stdout.split('\n').some((l) => l.trim().toLowerCase() === STACK_LOCALE.dir.toLowerCase()),
    () => false,
  );
  if (archived) return undefined;
  const dir = path.join(cacheRoot, `sidecar-buildpack-locale-${STACK_VERSION}`);
  if (await exists(path.join(dir, STACK_LOCALE.dir, 'LC_CTYPE'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await mkdir(tmp, { recursive: true });
    await promisify(execFile)('localedef', ['-i', STACK_LOCALE.input, '-f', STACK_LOCALE.charmap, path.join(tmp, STACK_LOCALE.dir)], { env: { PATH: '/usr/bin:/bin' } });
    await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
      // another platform made it first
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
    });
    return dir;
  } catch {
    return undefined;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
