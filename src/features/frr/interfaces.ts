// The interface addresses an frr.conf gives (`interface eth1` / ` ip address 10.0.0.1/30`), so
// an imported lab's model knows its routers' addresses the way zebra will set them.
export interface ConfAddress {
  iface: string;
  cidr: string;
  /** 1-based line in the file */
  line: number;
}

/** The first address of each interface, in file order (later ones are secondaries). */
export function interfaceAddresses(conf: string): ConfAddress[] {
  const out: ConfAddress[] = [];
  const seen = new Set<string>();
  let current: string | undefined;
  conf.split('\n').forEach((raw, i) => {
    const line = raw.replace(/[!#].*$/, '').trimEnd();
    if (!line.trim()) {
      if (/^\s*!/.test(raw) && !/^\s/.test(raw)) current = undefined;
      return;
    }
    if (!/^\s/.test(line)) {
      const m = /^interface\s+(\S+)(\s+vrf\s+\S+)?$/.exec(line);
      current = m && !m[2] ? m[1] : undefined;
      return;
    }
    if (line.trim() === 'exit') {
      current = undefined;
      return;
    }
    const a = /^\s+ip address\s+(\d+\.\d+\.\d+\.\d+\/\d+)\s*$/.exec(line);
    if (current && a && !seen.has(current)) {
      seen.add(current);
      out.push({ iface: current, cidr: a[1], line: i + 1 });
    }
  });
  return out;
}
