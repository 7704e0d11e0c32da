// Topology file formats besides netsim's own YAML and scenarios, by the feature that reads
// them (a containerlab lab: src/features/clab): the model asks this list, never the feature.
import type { Model } from './model.js';
import type { ValidateOptions } from './validate.js';

export interface LoadOptions extends ValidateOptions {
  /** containerlab files: an address mapping file (default: found among the nodes' binds) */
  ipMapping?: string;
  /** a lab named by URL: its file inside the repository (default: the one *.clab.yml) */
  file?: string;
  /** a lab named by URL: fetch it again even when its clone is cached */
  refresh?: boolean;
}

export interface TopologyFormat {
  readonly name: string;
  /** endings tried when a bundled scenario is named without one (`.clab.yml`) */
  readonly extensions: readonly string[];
  /** the file is in this format (by its name) */
  claims(file: string): boolean;
  /** the validated model, and what the import adapted or left out (or a promise of them) */
  load(
    file: string,
    opts: LoadOptions,
  ): { model: Model; notes?: string[] } | Promise<{ model: Model; notes?: string[] }>;
}

const formats: TopologyFormat[] = [];

export function registerFormat(format: TopologyFormat): void {
  if (!formats.some((f) => f.name === format.name)) formats.push(format);
}

export function topologyFormats(): readonly TopologyFormat[] {
  return formats;
}
