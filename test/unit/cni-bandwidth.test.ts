// The bandwidth annotations as kubelet reads them: resource quantities (decimal and binary
// suffixes, exponents, rounded up), between 1k and 1P, handed to the bandwidth plugin as
// runtimeConfig.bandwidth in bit/s with math.MaxInt32 as the burst.
import t from 'tap';
import { bandwidthIssues, parseQuantity, podBandwidth } from '../../src/features/k8s/cni/bandwidth.js';

t.test('quantities', async (t) => {
  t.equal(parseQuantity('5M'), 5_000_000);
  t.equal(parseQuantity('10Mi'), 10_485_760);
  t.equal(parseQuantity('1.5k'), 1500);
  t.equal(parseQuantity('5e6'), 5_000_000);
  t.equal(parseQuantity('1G'), 1e9);
  t.equal(parseQuantity('1500m'), 2, 'Value() rounds up');
  t.equal(parseQuantity('100000'), 100_000);
  for (const bad of ['5 M', '5Mbit', 'M', '', '5mb', ' 5M', '1.2.3'])
    t.throws(() => parseQuantity(bad), /is not a quantity/, bad);
});

t.test("the annotations become kubelet's runtimeConfig", async (t) => {
  t.equal(podBandwidth(undefined), undefined);
  t.equal(podBandwidth({ app: 'x' }), undefined, 'other annotations: nothing to shape');
  t.strictSame(podBandwidth({ 'kubernetes.io/ingress-bandwidth': '5M' }), {
    ingressRate: 5_000_000,
    ingressBurst: 2147483647,
  });
  t.strictSame(
    podBandwidth({ 'kubernetes.io/ingress-bandwidth': '1M', 'kubernetes.io/egress-bandwidth': '2Mi' }),
    { ingressRate: 1_000_000, ingressBurst: 2147483647, egressRate: 2_097_152, egressBurst: 2147483647 },
  );
  t.throws(
    () => podBandwidth({ 'kubernetes.io/egress-bandwidth': '999' }),
    /annotation kubernetes.io\/egress-bandwidth: "999" is unreasonably small \(< 1kbit\)/,
  );
  t.strictSame(
    bandwidthIssues({ 'kubernetes.io/ingress-bandwidth': '2P', 'kubernetes.io/egress-bandwidth': '1k' }),
    [['kubernetes.io/ingress-bandwidth', '"2P" is unreasonably large (> 1Pbit)']],
  );
});
