// The live router: a SimNode with its FRR instance (when it has one), vtysh, typed views of
// FRR's state, and the fault verbs (stop/start all daemons, kill one).
import { join } from 'node:path';
import { SimNode } from '../../runtime/node.js';
import type { Simulation } from '../../runtime/simulation.js';
import { FrrInstance } from './instance.js';
import { frrSetupOf } from './setup.js';
import { type BgpPath, type BgpSummary, parseBgpSummary, parseBgpTable } from './show-bgp.js';
import {
  type OspfInterfaceState,
  type OspfNeighbor,
  parseOspfInterfaces,
  parseOspfNeighbors,
} from './show-ospf.js';
import {
  type Ospf6InterfaceState,
  type Ospf6Neighbor,
  parseOspf6Interfaces,
  parseOspf6Neighbors,
} from './show-ospf6.js';
import { parseRoutes, type Route } from './show-route.js';
import { vtysh } from './vtysh.js';

export class RouterNode extends SimNode<Simulation> {
  /** undefined for a static router (no FRR configuration) */
  readonly frr?: FrrInstance;

  constructor(sim: Simulation, model: SimNode['model']) {
    super(sim, model);
    const setup = frrSetupOf(model, sim.model);
    if (setup) {
      const dir = join(sim.dir, 'nodes', model.name);
      this.frr = new FrrInstance(sim.kernel, model.name, model.ns, dir, `${sim.name}-${model.name}`, setup);
    }
  }

  /** The frr.conf the daemons read (undefined without FRR). */
  get frrConfig(): string | undefined {
    return this.frr?.setup.config;
  }

  /** Lines typed in the node find this router's vtysh wrapper first on the PATH. */
  override shellLine(line: string): string {
    return this.frr ? `PATH='${join(this.frr.dir, 'bin')}':"$PATH"; ${line}` : line;
  }

  /** Called once the links are up (kind.start). */
  async startFrr(_sim?: Simulation): Promise<void> {
    if (!this.frr) return;
    this.frr.prepare();
    await this.frr.start();
  }

  private need(): FrrInstance {
    if (!this.frr) throw new Error(`${this.name} runs no FRR (give it ospf, bgp or frr in the topology)`);
    return this.frr;
  }

  /** vtysh with one or more commands; the output as FRR prints it. */
  vtysh(...commands: string[]): Promise<string> {
    const frr = this.need();
    return vtysh(frr, commands);
  }

  /** `show ip ospf neighbor`: every neighbour of every OSPF instance. */
  async ospfNeighbors(): Promise<OspfNeighbor[]> {
    return parseOspfNeighbors(await this.vtysh('show ip ospf neighbor json'));
  }

  async ospfInterfaces(): Promise<OspfInterfaceState[]> {
    return parseOspfInterfaces(await this.vtysh('show ip ospf interface json'));
  }

  /** `show ipv6 ospf6 neighbor`: OSPFv3 neighbours (by router id). */
  async ospf6Neighbors(): Promise<Ospf6Neighbor[]> {
    return parseOspf6Neighbors(await this.vtysh('show ipv6 ospf6 neighbor json'));
  }

  async ospf6Interfaces(): Promise<Ospf6InterfaceState[]> {
    return parseOspf6Interfaces(await this.vtysh('show ipv6 ospf6 interface json'));
  }

  /** `show bgp summary`: the router's AS and each peer's session state (every family). */
  async bgpSummary(): Promise<BgpSummary> {
    return parseBgpSummary(await this.vtysh('show bgp summary json'));
  }

  /** `show bgp ipv4 unicast` (or ipv6 unicast): every path in the BGP table (AS paths, next hops). */
  async bgpRoutes(prefix?: string, family: 4 | 6 = 4): Promise<BgpPath[]> {
    const afi = family === 6 ? 'ipv6' : 'ipv4';
    return parseBgpTable(await this.vtysh(`show bgp ${afi} unicast${prefix ? ` ${prefix}` : ''} json`));
  }

  /** `show ip route`: zebra's RIB, optionally of one protocol (ospf, bgp, connected, static...). */
  async routes(protocol?: string): Promise<Route[]> {
    return parseRoutes(await this.vtysh(`show ip route${protocol ? ` ${protocol}` : ''} json`));
  }

  /** `show ipv6 route`: zebra's IPv6 RIB, optionally of one protocol (ospf6, bgp, connected...). */
  async routes6(protocol?: string): Promise<Route[]> {
    return parseRoutes(await this.vtysh(`show ipv6 route${protocol ? ` ${protocol}` : ''} json`));
  }

  /** Daemons and whether each runs. */
  daemons(): { id: string; pid?: number; running: boolean }[] {
    return this.need().status();
  }

  /** Stops every daemon (or those named), routing daemons before zebra. */
  stopDaemons(ids?: string[]): Promise<string[]> {
    return this.frr ? this.frr.stop(ids) : Promise.resolve([]);
  }

  /** Starts the daemons that are not running (all, or those named). */
  startDaemons(ids?: string[]): Promise<string[]> {
    return this.need().start(ids);
  }

  /** Kills one daemon (SIGKILL by default: a crash). */
  killDaemon(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return this.need().kill(id, signal);
  }
}
