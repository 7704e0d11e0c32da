// A tiny HTTP server for pods in tests and benchmarks: `node http-server.js <text> <port>`
// answers every request with <text> (after reading it, unlike socat's SYSTEM:echo, which
// resets connections whose request arrives after it has closed).
import { createServer } from 'node:http';

const [text = 'hello', port = '8000'] = process.argv.slice(2);
createServer((_req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`${text}\n`);
}).listen(Number(port));
