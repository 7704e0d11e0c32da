// Workload templates: a time series profile a pod replays into /metrics (CPU, memory, power,
// one sample per step) and, optionally, the rate of real traffic it sends to another pod.
// Validated like topologies: every mistake names the file, line and field.
//
//   workload: web-busy
//   step: 5s                 # how long each sample lasts
//   loop: true               # start again after the last sample (default)
//   series:
//     cpu: [0.2, 500m, 1.5]  # cores (Kubernetes' "500m" = 0.5)
//     memory: [128Mi, 256Mi, 200Mi]
//     power: [12.5, 30W, 18]
//   traffic:
//     to: c1                 # a pod (or an IPv4 address)
//     rate: [1mbit, 5mbit, 2mbit]
import { z } from 'zod';
import { IssueSink, type Path, type SourceLocator, TopologyError } from '../../model/errors.js';
import { YamlSource } from '../../model/source.js';
import { zodIssues } from '../../model/validate.js';

export const SERIES = ['cpu', 'memory', 'power'] as const;
export type SeriesName = (typeof SERIES)[number];

/** Units of each series, as /metrics names them. */
export const SERIES_UNITS: Record<SeriesName, string> = { cpu: 'cores', memory: 'bytes', power: 'watts' };

function quantity(what: string, parse: (s: string) => number | undefined, example: string) {
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : parse(v.trim());
    if (n === undefined || !Number.isFinite(n) || n < 0) {
      ctx.addIssue({
        code: 'custom',
        message: `not a valid ${what}: ${JSON.stringify(v)} (a number ≥ 0 or e.g. ${example})`,
      });
      return z.NEVER;
    }
    return n;
  });
}

const NUM = '(\\d+(?:\\.\\d+)?|\\.\\d+)';

export function parseDuration(s: string): number | undefined {
  const m = new RegExp(`^${NUM}\\s*(ms|s|m|h)$`).exec(s);
  if (!m) return undefined;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

export function parseCpu(s: string): number | undefined {
  const m = new RegExp(`^${NUM}\\s*(m)?$`).exec(s);
  return m ? Number(m[1]) / (m[2] ? 1000 : 1) : undefined;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

export function parseBytes(s: string): number | undefined {
  const m = new RegExp(`^${NUM}\\s*(B|[KMGT]i?)?$`).exec(s);
  return m ? Number(m[1]) * BYTE_UNITS[m[2] ?? ''] : undefined;
}

export function parseWatts(s: string): number | undefined {
  const m = new RegExp(`^${NUM}\\s*(mW|W|kW)?$`).exec(s);
  return m ? Number(m[1]) * { mW: 0.001, W: 1, kW: 1000 }[(m[2] ?? 'W') as 'mW' | 'W' | 'kW'] : undefined;
}

/** Bits per second, tc style: 500kbit, 10mbit, 1gbit (also bit, bps = bytes/s). */
export function parseRate(s: string): number | undefined {
  const m = new RegExp(`^${NUM}\\s*(bit|kbit|mbit|gbit|bps|kbps|mbps)$`, 'i').exec(s);
  if (!m) return undefined;
  const mult: Record<string, number> = {
    bit: 1,
    kbit: 1e3,
    mbit: 1e6,
    gbit: 1e9,
    bps: 8,
    kbps: 8e3,
    mbps: 8e6,
  };
  return Number(m[1]) * mult[m[2].toLowerCase()];
}

const samples = <T extends z.ZodType>(item: T) =>
  z.array(item).min(1, 'a series needs at least one sample').max(100000);

export const workloadSchema = z
  .strictObject({
    /** the template's name (a label of every series) */
    workload: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, ".", "_" and "-", at most 63'),
    description: z.string().optional(),
    /** how long each sample lasts */
    step: quantity('duration', parseDuration, '"500ms", "5s", "1m"').optional(),
    /** start again after the last sample (default true); false: the series end there */
    loop: z.boolean().optional(),
    series: z
      .strictObject({
        cpu: samples(quantity('CPU amount', parseCpu, '0.5 or "500m"')).optional(),
        memory: samples(quantity('memory size', parseBytes, '"256Mi" or "1G"')).optional(),
        power: samples(quantity('power', parseWatts, '"12.5W"')).optional(),
      })
      .optional(),
    /** real traffic from the pod, at each step's rate (iperf3 UDP) */
    traffic: z
      .strictObject({
        /** the receiving pod, by name, or an IPv4 address */
        to: z.string().min(1),
        port: z.number().int().min(1024).max(65535).optional(),
        rate: samples(quantity('rate', parseRate, '"500kbit" or "10mbit"')),
      })
      .optional(),
  })
  .check((ctx) => {
    const v = ctx.value;
    const step = v.step ?? DEFAULT_STEP;
    if (step < 0.1) ctx.issues.push(issue(['step'], `a step lasts at least 100ms (got ${step} s)`, v));
    if (v.traffic && step < 1)
      ctx.issues.push(issue(['step'], `with traffic, a step lasts at least 1s (got ${step} s)`, v));
    const lengths: [Path, number][] = [];
    for (const s of SERIES) if (v.series?.[s]) lengths.push([['series', s], v.series[s]!.length]);
    if (v.traffic) lengths.push([['traffic', 'rate'], v.traffic.rate.length]);
    // (only when nothing else is wrong: an unknown or malformed series is the real error)
    if (lengths.length === 0 && ctx.issues.length === 0)
      ctx.issues.push(
        issue(
          [],
          'a workload needs at least one series (series.cpu, series.memory, series.power) or traffic',
          v,
        ),
      );
    const [firstPath, n] = lengths[0] ?? [[], 0];
    for (const [path, len] of lengths.slice(1))
      if (len !== n)
        ctx.issues.push(
          issue(
            path,
            `${len} sample${len === 1 ? '' : 's'}, but ${firstPath.join('.')} has ${n}: every series has one sample per step`,
            v,
          ),
        );
  });

function issue(path: Path, message: string, input: unknown) {
  return { code: 'custom' as const, path, message, input };
}

export const DEFAULT_STEP = 10;

export interface WorkloadTemplate {
  name: string;
  description?: string;
  /** seconds per sample */
  step: number;
  loop: boolean;
  /** samples per step, in units: cores, bytes, watts */
  series: Partial<Record<SeriesName, number[]>>;
  traffic?: { to: string; port?: number; rate: number[] };
  /** number of steps in one pass */
  length: number;
  /** where it was read from */
  file: string;
}

/** A template from a parsed value; located issues thrown as a TopologyError. */
export function parseWorkload(value: unknown, source: SourceLocator): WorkloadTemplate {
  const sink = new IssueSink(source);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    sink.add([], 'a workload template is a mapping (workload: NAME, step: 5s, series: {cpu: [...]})');
    sink.throwIfAny();
  }
  const res = workloadSchema.safeParse(value);
  if (!res.success) {
    zodIssues(res.error, [], sink, workloadSchema, value);
    sink.throwIfAny();
  }
  const v = res.data!;
  const series: Partial<Record<SeriesName, number[]>> = {};
  for (const s of SERIES) if (v.series?.[s]) series[s] = v.series[s];
  return {
    name: v.workload,
    description: v.description,
    step: v.step ?? DEFAULT_STEP,
    loop: v.loop ?? true,
    series,
    traffic: v.traffic,
    length: v.traffic?.rate.length ?? Object.values(series)[0]!.length,
    file: source.file,
  };
}

/** Reads and validates a template file (YAML or JSON). */
export function readWorkload(file: string): WorkloadTemplate {
  const { source, value } = YamlSource.read(file);
  return parseWorkload(value, source);
}

/** A template given as an object (from the REPL or a scenario): errors name the field only. */
export function workloadFromObject(value: unknown, name = '(workload)'): WorkloadTemplate {
  return parseWorkload(value, { file: name, locate: () => ({ file: name }) });
}

export { TopologyError as WorkloadError };
