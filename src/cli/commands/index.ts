// The one list of CLI commands. To add one, write `src/cli/commands/<name>.ts` exporting
// `register(program, io)` (see RegisterCommand in ../io.ts) and add it below.

import type { RegisterCommand } from '../io.js';
import { register as dependency } from './dependency.js';
import { register as init } from './init.js';
import { register as pkg } from './package.js';
import { register as push } from './push.js';
import { register as summary } from './summary.js';

/** Registered in this order (the order `--help` lists them). */
export const COMMANDS: RegisterCommand[] = [init, pkg, summary, dependency, push];
