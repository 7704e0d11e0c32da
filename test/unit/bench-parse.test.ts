// The benchmark reads tools' output defensively: the JSON document among other lines (iperf3
// -J's WARNING lines), numbers out of ab's report, and a round that fails anyway is recorded
// with its reason while the suite goes on.
import t from 'tap';
import { failedRounds, jsonIn, numberIn, round, ToolOutputError } from '../../bench/measure.js';

const IPERF_JSON = `{
	"start":	{
		"connected":	[{
				"socket":	5,
				"local_host":	"10.244.1.2",
				"remote_port":	5201
			}],
		"version":	"iperf 3.12"
	},
	"intervals":	[],
	"end":	{
		"sum_received":	{
			"start":	0,
			"end":	3.000187,
			"bytes":	1588592640,
			"bits_per_second":	4236000000.5,
			"sender":	true
		}
	}
}
`;

t.test('iperf3 -J alone, after a WARNING line, and with garbage around it', async (t) => {
  type Doc = { end: { sum_received: { bits_per_second: number } } };
  const bps = (out: string) => jsonIn<Doc>(out, 'iperf3').end.sum_received.bits_per_second;
  t.equal(bps(IPERF_JSON), 4236000000.5);
  t.equal(
    bps(`WARNING: Size of data read does not correspond to offered length\n${IPERF_JSON}`),
    4236000000.5,
  );
  t.equal(
    bps(`warning: {weird} line\n\n  ${IPERF_JSON}iperf3: interrupt - the client has terminated\n`),
    4236000000.5,
  );
  t.equal(bps(`some } noise ]\n${IPERF_JSON}}}} trailing {`), 4236000000.5);
});

t.test('an iperf3 error document is still a document', async (t) => {
  const out =
    'WARNING: something\n{\n\t"start": {},\n\t"error": "unable to connect to server: Connection refused"\n}\n';
  t.equal(jsonIn<{ error?: string }>(out, 'iperf3').error, 'unable to connect to server: Connection refused');
});

t.test('no JSON at all: a located error quoting the output', async (t) => {
  const err = t.throws(() =>
    jsonIn('iperf3: error - unable to connect to server\n{ truncated', 'iperf3 to 10.0.0.2'),
  );
  t.ok(err instanceof ToolOutputError);
  t.match(
    (err as Error).message,
    /^iperf3 to 10\.0\.0\.2: no JSON document in its output \(output: "iperf3: error/,
  );
  t.match((t.throws(() => jsonIn('', 'x')) as Error).message, /\(no output\)/);
});

t.test('the last of several documents (a child that logs JSON before its result)', async (t) => {
  const out = '{"log": "starting"}\nbuilding...\n{"s": 0.71, "configureMs": 230}\n';
  t.same(jsonIn(out, 'a/b run', { last: true }), { s: 0.71, configureMs: 230 });
  t.same(jsonIn(out, 'a/b run'), { log: 'starting' });
  t.same(jsonIn('[1, [2, 3]]\n', 'array'), [1, [2, 3]]);
});

const AB_REPORT = `This is ApacheBench, Version 2.3 <$Revision: 1903618 $>
Benchmarking 10.96.0.10 (be patient).....done

Concurrency Level:      8
Complete requests:      2000
Failed requests:        3
   (Connect: 0, Receive: 0, Length: 3, Exceptions: 0)
Non-2xx responses:      1
Requests per second:    1873.22 [#/sec] (mean)
`;

t.test('numbers out of an ab report', async (t) => {
  t.equal(numberIn(AB_REPORT, /Requests per second:\s+([\d.]+)/, 'ab'), 1873.22);
  t.equal(numberIn(AB_REPORT, /Failed requests:\s+(\d+)/, 'ab'), 3);
  const err = t.throws(() =>
    numberIn(
      'apr_socket_recv: Connection reset by peer (104)\n',
      /Requests per second:\s+([\d.]+)/,
      'ab via the ingress',
    ),
  );
  t.match((err as Error).message, /^ab via the ingress: nothing matches .* \(output: "apr_socket_recv/);
});

t.test('a failing round is recorded, the next one runs, the exit status says so', async (t) => {
  const before = process.exitCode;
  t.teardown(() => {
    process.exitCode = before;
  });
  const failures: string[] = [];
  const logged: string[] = [];
  const log = (l: string) => logged.push(l);
  const values = [
    await round('round 1 iperf3 direct', async () => 4.2, failures, log),
    await round(
      'round 2 iperf3 direct',
      async () => jsonIn('WARNING: cpu\nno json', 'iperf3'),
      failures,
      log,
    ),
    await round('round 3 iperf3 direct', async () => 4.4, failures, log),
  ];
  t.same(values, [4.2, undefined, 4.4]);
  t.equal(failures.length, 1);
  t.match(failures[0], /^round 2 iperf3 direct: iperf3: no JSON document/);
  t.match(logged[0], /FAILED round 2/);
  t.equal(process.exitCode, 1);
  const lines = failedRounds(failures);
  t.match(lines.join('\n'), /Failed rounds \(1;.*\n\n- round 2 iperf3 direct: iperf3: no JSON document/);
  t.same(failedRounds([]), []);
});
