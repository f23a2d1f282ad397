// The one list of CLI commands. To add one, write `src/cli/commands/<name>.ts` exporting
// `register(program, io)` (see RegisterCommand in ../io.ts) and add it below.

import type { RegisterCommand } from '../io.js';
import { register as apps } from './apps.js';
import { register as del } from './delete.js';
import { register as dependency } from './dependency.js';
import { register as init } from './init.js';
import { register as pkg } from './package.js';
import { register as logs } from './logs.js';
import { register as push } from './push.js';
import { register as restart } from './restart.js';
import { register as runTask } from './run-task.js';
import { register as summary } from './summary.js';
import { register as supervise } from './supervise.js';

/** Registered in this order (the order `--help` lists them). */
export const COMMANDS: RegisterCommand[] = [init, pkg, summary, dependency, push, apps, logs, runTask, restart, del, supervise];
