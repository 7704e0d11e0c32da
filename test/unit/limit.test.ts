// The limiter shared by a simulation's CNI calls: never more than `limit` at once, every task
// run, the first error reported once all have settled.
import t from 'tap';
import { Limiter } from '../../src/util/limit.js';
import { sleep } from '../../src/util/wait.js';

t.test('at most `limit` at once, all run', async (t) => {
  const l = new Limiter(3);
  let running = 0;
  let most = 0;
  const done: number[] = [];
  const batch = (from: number) =>
    l.each(
      Array.from({ length: 10 }, (_, i) => from + i),
      async (i) => {
        running++;
        most = Math.max(most, running);
        await sleep(1 + (i % 3));
        running--;
        done.push(i);
      },
    );
  await Promise.all([batch(0), batch(100)]);
  t.equal(most, 3, 'two batches share the three slots');
  t.equal(done.length, 20);
});

t.test('the first error, after every task settled', async (t) => {
  const l = new Limiter(2);
  const done: number[] = [];
  await t.rejects(
    l.each([1, 2, 3, 4], async (i) => {
      await sleep(i);
      if (i === 2) throw new Error('two failed');
      done.push(i);
    }),
    /two failed/,
  );
  t.strictSame(done.sort(), [1, 3, 4], 'the others still ran');
  await l.run(async () => {
    t.pass('the slots were released');
  });
});
