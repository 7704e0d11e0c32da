// The site routers' framing (frames split and joined across arbitrary chunks) and the Liqo-style
// address remapping.
import t from 'tap';
import { remapAddress } from '../../src/features/multicluster/liqo/peering.js';
import {
  encodeFrame,
  type Frame,
  FrameReader,
  FrameType,
} from '../../src/features/multicluster/skupper/protocol.js';

t.test('frames survive any chunking', async (t) => {
  const big = Buffer.alloc(70000, 7);
  const frames = [
    encodeFrame(FrameType.HELLO, 0, JSON.stringify({ site: 'C0' })),
    encodeFrame(FrameType.DATA, 3, big),
    encodeFrame(FrameType.END, 3),
    encodeFrame(FrameType.DATA, 5, 'x'),
  ];
  const stream = Buffer.concat(frames);
  for (const size of [7, 9, 10, 1000, 16384, stream.length]) {
    const r = new FrameReader();
    const got: Frame[] = [];
    for (let off = 0; off < stream.length; off += size)
      r.push(Buffer.from(stream.subarray(off, off + size)), (f) => got.push(f));
    t.same(
      got.map((f) => [f.type, f.id, f.payload.length]),
      [
        [FrameType.HELLO, 0, 13],
        [FrameType.DATA, 3, 70000],
        [FrameType.END, 3, 0],
        [FrameType.DATA, 5, 1],
      ],
      `chunks of ${size}`,
    );
    t.ok(got[1].payload.equals(big), 'payload intact');
  }
});

t.test('remapped addresses keep the host part', async (t) => {
  t.equal(remapAddress('10.244.3.7', '10.244.0.0/16', '10.200.0.0/16'), '10.200.3.7');
  t.equal(remapAddress('10.1.2.3', '10.0.0.0/8', '11.0.0.0/8'), '11.1.2.3');
});
