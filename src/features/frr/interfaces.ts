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
  return firstAddressPerInterface(
    conf,
    (line) => /^\s+ip address\s+(\d+\.\d+\.\d+\.\d+\/\d+)\s*$/.exec(line)?.[1],
  );
}

/**
 * The walk over an frr.conf's `interface` blocks (not those of a VRF): for each interface the
 * first of its lines `address` accepts (it returns the address), in file order.
 */
export function firstAddressPerInterface(
  conf: string,
  address: (line: string) => string | undefined,
): ConfAddress[] {
  const out: ConfAddress[] = [];
  const seen = new Set<string>();
  let current: string | undefined;
  conf.split('\n').forEach((raw, i) => {
    const line = raw.replace(/[!#].*$/, '').trimEnd();
    if (!line.trim()) {
      if (/^!/.test(raw)) current = undefined;
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
    const cidr = current && !seen.has(current) ? address(line) : undefined;
    if (current && cidr) {
      seen.add(current);
      out.push({ iface: current, cidr, line: i + 1 });
    }
  });
  return out;
}
