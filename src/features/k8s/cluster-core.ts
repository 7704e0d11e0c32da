// What the parts of a cluster (pods, services, policies) need from the cluster object: its
// simulation, configuration, etcd client and workers. The parts depend on this interface, not
// on the Cluster class, so the facade can import them without a cycle.
import type { Etcd3 } from 'etcd3';
import type { Simulation } from '../../runtime/simulation.js';
import type { Cidr } from '../../util/ipv4.js';
import type { PodNode } from './pod.js';
import type { EndpointsController } from './services/controller.js';
import type { ClusterConfig } from './spec.js';
import type { WorkerNode } from './worker.js';

export interface ClusterCore {
  readonly sim: Simulation;
  readonly config: ClusterConfig;
  readonly name: string;
  /** the main process's etcd client */
  readonly etcd: Etcd3;
  readonly serviceCidr: Cidr;
  readonly workers: WorkerNode[];
  /** the endpoints controller, once the network config is in etcd */
  readonly endpointsController: EndpointsController | undefined;
  worker(name: string): WorkerNode;
  pod(name: string): PodNode;
  /** network config, the endpoints controller and the configured services in etcd (once) */
  ensureNetworkConfig(): Promise<void>;
}
