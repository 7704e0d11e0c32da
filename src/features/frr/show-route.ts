// Typed view of zebra's RIB (show ip route json).
import { parseJsonSequence } from './show-json.js';

export interface RouteNexthop {
  ip?: string;
  iface?: string;
  active: boolean;
}

export interface Route {
  prefix: string;
  /** connected, kernel, static, ospf, bgp, ... */
  protocol: string;
  selected: boolean;
  installed: boolean;
  distance?: number;
  metric?: number;
  nexthops: RouteNexthop[];
}

interface RawRoute {
  prefix: string;
  protocol: string;
  selected?: boolean;
  installed?: boolean;
  distance?: number;
  metric?: number;
  nexthops?: { ip?: string; interfaceName?: string; active?: boolean }[];
}

/** `show ip route json`: every route zebra knows (selected or not). */
export function parseRoutes(text: string): Route[] {
  const doc = (parseJsonSequence(text)[0] ?? {}) as Record<string, RawRoute[]>;
  const out: Route[] = [];
  for (const entries of Object.values(doc)) {
    for (const r of entries) {
      out.push({
        prefix: r.prefix,
        protocol: r.protocol,
        selected: r.selected ?? false,
        installed: r.installed ?? false,
        distance: r.distance,
        metric: r.metric,
        nexthops: (r.nexthops ?? []).map((n) => ({
          ip: n.ip,
          iface: n.interfaceName,
          active: n.active ?? false,
        })),
      });
    }
  }
  return out;
}
