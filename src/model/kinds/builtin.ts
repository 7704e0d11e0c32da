// The kinds the model has by itself: plain namespaces with addresses and routes, and bridges.
import { hostKind } from './host.js';
import type { NodeKind } from './kind.js';
import { switchKind } from './switch.js';

export const MODEL_KINDS: readonly NodeKind[] = [hostKind, switchKind];
