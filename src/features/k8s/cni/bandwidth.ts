// A pod's bandwidth annotations as kubelet reads them (pkg/util/bandwidth: each one a resource
// quantity, bits per second, between 1k and 1P) and hands them to the `bandwidth` plugin
// through the conflist's `bandwidth` capability: runtimeConfig.bandwidth with the rates in
// bit/s and, as kubelet does, math.MaxInt32 as the burst (in bits: kubelet sets no burst of
// its own, so the first ~256 MB pass before the rate holds). Pure functions.

export const INGRESS_BANDWIDTH = 'kubernetes.io/ingress-bandwidth';
export const EGRESS_BANDWIDTH = 'kubernetes.io/egress-bandwidth';
export const BANDWIDTH_ANNOTATIONS = [INGRESS_BANDWIDTH, EGRESS_BANDWIDTH] as const;

/** kubelet's burst for both directions: math.MaxInt32 bits ("no limit" in its words). */
export const KUBELET_BURST = 2147483647;

/** runtimeConfig.bandwidth (CNI conventions: rates in bit/s, bursts in bits). */
export interface BandwidthEntry {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/**
 * A Kubernetes resource quantity's integer value (resource.ParseQuantity, then Value(), which
 * rounds up): `5M` = 5000000, `10Mi` = 10485760, `1.5k` = 1500, `5e6` = 5000000.
 */
export function parseQuantity(text: string): number {
  const m = QUANTITY.exec(text.trim() === text ? text : '');
  if (!m)
    throw new Error(
      `"${text}" is not a quantity: a number with an optional suffix (k, M, G, T, P, E; Ki, Mi, Gi, …; or e6)`,
    );
  const [, sign, digits, suffix = ''] = m;
  const mult = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
  const value = Math.ceil(Number(digits) * mult - 1e-9);
  return sign === '-' ? -value : value;
}

/** One annotation's rate in bit/s, checked as kubelet checks it; throws with kubelet's reason. */
export function bandwidthRate(text: string): number {
  const v = parseQuantity(text);
  if (v < 1000) throw new Error(`"${text}" is unreasonably small (< 1kbit)`);
  if (v > 1e15) throw new Error(`"${text}" is unreasonably large (> 1Pbit)`);
  return v;
}

/**
 * The bandwidth capability's runtimeConfig for a pod's annotations, or undefined when it has
 * neither; throws naming the annotation at fault.
 */
export function podBandwidth(annotations: Record<string, string> | undefined): BandwidthEntry | undefined {
  if (!annotations) return undefined;
  const out: BandwidthEntry = {};
  const rate = (key: string) => {
    try {
      return bandwidthRate(annotations[key]);
    } catch (err) {
      throw new Error(`annotation ${key}: ${(err as Error).message}`);
    }
  };
  if (annotations[INGRESS_BANDWIDTH] !== undefined) {
    out.ingressRate = rate(INGRESS_BANDWIDTH);
    out.ingressBurst = KUBELET_BURST;
  }
  if (annotations[EGRESS_BANDWIDTH] !== undefined) {
    out.egressRate = rate(EGRESS_BANDWIDTH);
    out.egressBurst = KUBELET_BURST;
  }
  return Object.keys(out).length ? out : undefined;
}

/** Checks a pod's annotations; the problems as (annotation key, message) for located errors. */
export function bandwidthIssues(annotations: Record<string, string> | undefined): [string, string][] {
  const out: [string, string][] = [];
  for (const key of BANDWIDTH_ANNOTATIONS) {
    const v = annotations?.[key];
    if (v === undefined) continue;
    try {
      bandwidthRate(v);
    } catch (err) {
      out.push([key, (err as Error).message]);
    }
  }
  return out;
}
