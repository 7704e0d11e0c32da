// containerlab files as the CLI registers them before the clab feature's code is loaded: the
// format is known by its file names; reading a lab loads the importer (plugin.ts, import.ts)
// and every kind's descriptor first.
import { basename } from 'node:path';
import type { TopologyFormat } from '../../model/formats.js';
import { loadKinds } from '../../model/kinds/registry.js';

/** The containerlab format, its importer loaded when a lab is read (plugin.ts: clabFormat). */
export const clabFormatOnDemand: TopologyFormat = {
  name: 'containerlab',
  extensions: ['.clab.yml'],
  // as import.ts's isClabFile
  claims: (file) => /\.clab\.ya?ml$/.test(basename(file)),
  async load(file, opts) {
    await loadKinds();
    return (await import('./plugin.js')).clabFormat.load(file, opts);
  },
};
