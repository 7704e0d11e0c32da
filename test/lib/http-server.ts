// A tiny HTTP server for pods in tests and benchmarks: `node http-server.js <text> <port>`
// answers every request with <text> (after reading it, unlike socat's SYSTEM:echo, which
// resets connections whose request arrives after it has closed); in <text>, {addr} is the
// address the request came in on (which pod answered) and {path} the request's path.
import { createServer } from 'node:http';

const [text = 'hello', port = '8000'] = process.argv.slice(2);
createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(
    `${text.replaceAll('{addr}', req.socket.localAddress ?? '').replaceAll('{path}', req.url ?? '')}\n`,
  );
}).listen(Number(port));
