// The architecture, checked: src/ is in layers that import only downward, and no import
// cycles anywhere. `npm run lint` runs it; CI runs it through `npm test`.
//
//   util -> kernel -> model -> plan -> runtime -> features -> surfaces -> index.ts
//
// Features may use each other in one direction only: frr -> k8s -> multicluster -> the rest.
const layers = ['util', 'kernel', 'model', 'plan', 'runtime', 'features', 'surfaces'];
const features = ['frr', 'k8s', 'multicluster', 'trace|workload|clab'];

const upward = layers.flatMap((layer, i) =>
  layers.slice(i + 1).length
    ? [
        {
          name: `no-upward-from-${layer}`,
          comment: `${layer} may import only from the layers below it (${layers.slice(0, i).join(', ') || 'none'})`,
          severity: 'error',
          from: { path: `^src/${layer}/` },
          to: { path: `^src/(${layers.slice(i + 1).join('|')})/|^src/index\\.ts$` },
        },
      ]
    : [],
);

const featureOrder = features.slice(0, -1).map((f, i) => ({
  name: `no-upward-between-features-from-${f.replace(/\|/g, '-')}`,
  comment: `features import each other in one direction: ${features.join(' -> ')}`,
  severity: 'error',
  from: { path: `^src/features/(${f})/` },
  to: { path: `^src/features/(${features.slice(i + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'an import cycle: the layers cannot be read (or loaded) one after another',
      from: {},
      to: { circular: true },
    },
    ...upward,
    ...featureOrder,
    {
      name: 'processes-only-in-the-kernel-layer',
      comment:
        'processes are started only by the kernel layer (src/kernel) and the agents\' own kernel module, so every one is recorded and entered the same way',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/kernel/|^src/features/k8s/agent/kernel\\.ts$' },
      to: { path: '^(node:)?child_process$|^execa$|node_modules/execa/', dependencyTypes: ['core', 'npm', 'npm-dev', 'unknown', 'undetermined'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^src/surfaces/web/assets/' },
  },
};
