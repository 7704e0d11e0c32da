// What a site router has been told (its links, connectors and listeners), kept by the main
// process so that a router that died can be started again and told the same: Skupper's
// router runs in a pod that Kubernetes restarts, and the site controller configures it again.
// Revocations need nothing here: the router keeps them on disk (revocation.ts).
import type { JsonObject } from '../../../util/jsonlines.js';

export class RouterConfig {
  private readonly links = new Map<string, JsonObject>();
  private readonly connectors = new Map<string, JsonObject>();
  private readonly listeners = new Map<string, JsonObject>();

  /** Notes a control request the router carried out. */
  record(req: JsonObject): void {
    const op = req.op;
    if (op === 'link') this.links.set(String(req.name), req);
    else if (op === 'unlink') this.links.delete(String(req.name));
    else if (op === 'expose') this.connectors.set(String(req.key), req);
    else if (op === 'unexpose') this.connectors.delete(String(req.key));
    else if (op === 'listen') this.listeners.set(String(req.key), req);
    else if (op === 'unlisten') this.listeners.delete(String(req.key));
  }

  /** The requests that configure a new router as the old one was: listeners, connectors, links. */
  requests(): JsonObject[] {
    return [...this.listeners.values(), ...this.connectors.values(), ...this.links.values()];
  }
}
