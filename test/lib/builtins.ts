// Loaded into every test process before its file (package.json: tap.node-arg), as the CLI
// registers the built-in features before it loads a topology: tests that validate, plan or
// build in-process see the same kinds, verbs and metrics as `netsim` does.
import { registerBuiltins } from '../../src/features/index.js';

registerBuiltins();
