// A node's `exec:` lines (containerlab's), run in order once the network is up.
import { existsSync, readFileSync, statSync } from 'node:fs';

/**
 * Runs `lines` one after the other through `exec` (a shell line in the node), appending their
 * output to `logFile`; a line that fails is reported through `warn` with its last output lines
 * and the next line still runs, as containerlab does.
 */
export async function runExecLines(
  node: string,
  lines: string[],
  exec: (line: string) => Promise<{ exitCode: number }>,
  logFile: string,
  warn: (message: string) => void,
): Promise<void> {
  for (const line of lines) {
    const start = existsSync(logFile) ? statSync(logFile).size : 0;
    // output goes to a file, not a pipe: a line that starts a background process
    // ("sleep 1000 &") would otherwise hold the pipe open and the build would wait for it
    const r = await exec(`{ ${line}\n} >>'${logFile}' 2>&1 </dev/null`);
    if (r.exitCode !== 0) {
      const output = readFileSync(logFile).subarray(start).toString().trim().split('\n');
      warn(`  warning: ${node}: "${line}" exited ${r.exitCode}: ${output.slice(-3).join(' | ')}`);
    }
  }
}
