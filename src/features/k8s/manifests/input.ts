// Where manifests come from: a file, a directory of them (like `kubectl apply -f DIR`), YAML
// text, or objects given by a script. Each YAML document keeps a way back to its lines.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Path, SourceLocator, SourcePos } from '../../../model/errors.js';
import { readInput, YamlSource } from '../../../model/source.js';
import type { ManifestDoc } from './validate.js';

export interface ManifestText {
  file: string;
  text: string;
}

/** Input to `C0.apply(...)`: a path, YAML text, a manifest object or a list of objects. */
export type ManifestInput = string | object | object[];

const MANIFEST_FILE = /\.(ya?ml|json)$/;

/** The files of a path: the file itself, or a directory's .yaml/.yml/.json files in name order. */
export function readManifestFiles(path: string): ManifestText[] {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // readInput reports the missing file
  }
  if (!isDir) return [{ file: path, text: readInput(path, 'manifest') }];
  return readdirSync(path)
    .filter((f) => MANIFEST_FILE.test(f))
    .sort()
    .map((f) => ({ file: join(path, f), text: readInput(join(path, f), 'manifest') }));
}

/** Every document of these texts (JSON is YAML too); syntax errors are located TopologyErrors. */
export function parseManifestTexts(texts: ManifestText[]): ManifestDoc[] {
  return texts.flatMap((t) => YamlSource.parseAll(t.file, t.text));
}

/** Objects from a script have no lines: issues name the object and the field. */
class ObjectSource implements SourceLocator {
  constructor(readonly file: string) {}
  locate(_path: Path): SourcePos {
    return { file: this.file };
  }
}

export function manifestDocs(input: ManifestInput): ManifestDoc[] {
  if (typeof input === 'string') {
    // a path unless it is clearly YAML text (several lines, or a `key: value`)
    const text = input.includes('\n') || /^\s*[\w.-]+:\s/.test(input);
    return parseManifestTexts(text ? [{ file: '<manifest>', text: input }] : readManifestFiles(input));
  }
  const list = Array.isArray(input) ? input : [input];
  return list.map((value, i) => ({
    source: new ObjectSource(list.length > 1 ? `<object ${i}>` : '<object>'),
    value,
  }));
}
