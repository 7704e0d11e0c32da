// The options of the etcd client of each worker's agent (flannel, kube-proxy, policy, LoadBalancer
// speaker), so that its watches never stay on a member that can no longer tell them anything.
// The etcd3 package multiplexes all watches of a client on one gRPC stream to one member and
// re-creates them elsewhere (from the last revision seen) only when that stream fails. Two
// ways it would not fail, and how etcd's own Go client (and kube-apiserver) avoid them:
//  - the member is unreachable (a link cut on the way): nothing comes back, TCP sees no error.
//    gRPC keepalive pings the member and closes the connection when the ping is not answered.
//  - the member is reachable but has lost the quorum (it is on the wrong side of a partition):
//    it keeps the stream open and sends nothing, since it learns of no change. With the metadata
//    `hasleader: true` (clientv3.WithRequireLeader) the member refuses the stream while it has
//    no leader and closes it after a few election timeouts without one.
// The stream is then opened again on another member, with a short backoff.
import { createRequire } from 'node:module';
import type { Interceptor } from '@grpc/grpc-js';
import type { IOptions } from 'etcd3';

/** etcd's metadata key and value for "answer only while this member has a leader". */
const REQUIRE_LEADER: [string, string] = ['hasleader', 'true'];
const WATCH_METHOD = '/etcdserverpb.Watch/Watch';
/** etcd refuses pings closer than its --grpc-keepalive-min-time (5 s by default) */
export const KEEPALIVE_MS = 6000;
export const KEEPALIVE_TIMEOUT_MS = 3000;
/** the longest wait between two attempts to open the watch stream again */
export const WATCH_BACKOFF_MAX_MS = 2000;

/** The gRPC package etcd3 uses (the same copy: interceptors are checked by class). */
function grpcOfEtcd3(): typeof import('@grpc/grpc-js') {
  const req = createRequire(import.meta.url);
  return createRequire(req.resolve('etcd3'))('@grpc/grpc-js');
}

/** Adds `hasleader: true` to the watch stream's metadata. */
function requireLeaderOnWatch(): Interceptor {
  const { InterceptingCall } = grpcOfEtcd3();
  return (options, nextCall) => {
    const call = nextCall(options);
    if (options.method_definition.path !== WATCH_METHOD) return new InterceptingCall(call);
    return new InterceptingCall(call, {
      start(metadata, listener, next) {
        metadata.set(...REQUIRE_LEADER);
        next(metadata, listener);
      },
    });
  };
}

/** Exponential backoff (cockatiel's IBackoff shape, which etcd3 takes): 100 ms doubling to a cap. */
class Backoff {
  constructor(
    readonly duration = 100,
    private readonly max = WATCH_BACKOFF_MAX_MS,
  ) {}

  next(): Backoff {
    return new Backoff(Math.min(this.duration * 2, this.max), this.max);
  }
}

export function etcdClientOptions(hosts: string[], dialTimeout: number): IOptions {
  return {
    hosts,
    dialTimeout,
    grpcOptions: {
      'grpc.keepalive_time_ms': KEEPALIVE_MS,
      'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
      interceptors: [requireLeaderOnWatch()],
    } as IOptions['grpcOptions'],
    faultHandling: { watchBackoff: new Backoff() as never },
  };
}
