// containerlab labs as a feature: `.clab.yml` files load like netsim's own topologies
// (netsim up lab.clab.yml), errors located in the lab's own file.
import { TopologyError } from '../../model/errors.js';
import { registerFormat, type TopologyFormat } from '../../model/formats.js';
import { validate } from '../../model/validate.js';
import type { Plugin } from '../../runtime/plugin.js';
import { clabIssues, importClabFile, isClabFile } from './import.js';

/** The containerlab format (format.ts registers the same, loading this module when a lab is read). */
export const clabFormat: TopologyFormat = {
  name: 'containerlab',
  extensions: ['.clab.yml'],
  claims: isClabFile,
  load(file, opts) {
    const imported = importClabFile(file, { ipMapping: opts.ipMapping, simName: opts.simName });
    try {
      return { model: validate(imported.spec, imported.source, opts), notes: imported.notes };
    } catch (err) {
      throw err instanceof TopologyError ? clabIssues(err, imported) : err;
    }
  },
};

export const clabPlugin: Plugin = {
  name: 'clab',
  install() {
    registerFormat(clabFormat);
  },
};
