// What the app manifest asks of each process type (CC's ManifestProcessUpdateMessage and
// ManifestProcessScaleMessage): command, memory, disk, instances, health check.

import type { HealthCheckSpec } from './health-check.js';

/** One process type's settings; unset fields take the app's or the platform's defaults. */
export interface ProcessSpec {
  type: string;
  command?: string;
  memoryMb?: number;
  diskMb?: number;
  /** web defaults to 1; other types to 0 (they run only when scaled up, CONTRACT §2). */
  instances?: number;
  healthCheck?: Partial<HealthCheckSpec>;
}
