// Namespace jobs run by one long-lived process that forks a child per job: the child enters
// the node's namespaces itself (setns(2), as nsenter would: UTS, network, then mount), writes
// the job's sysctls into /proc/sys and execs the tools (`ip -batch`, `tc -batch`, `nft -f`) with
// their input already open. Per namespace that is one fork and one exec per tool, where a shell
// line costs a fork, nsenter's exec and then the tool's (kernel/shells.ts). Up to `parallel`
// children run at once, the next job starting as soon as one ends. A job whose `ip` lines
// netlink.ts encodes needs no `ip` at all: the requests go over a NETLINK_ROUTE socket opened
// after setns (so in the node's namespace), one at a time, each acknowledged before the next
// as `ip -batch` does, stopping at the first error. Such a job, when it runs no tool either and
// writes only /proc/sys/net (which follows the writer's network namespace), needs no child:
// the runner itself enters the network namespace and does it, no fork, no exec (the kernel
// serialises these requests on its routing lock anyway).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NETNS_DIR } from './enter.js';
import type { NlRequest } from './netlink.js';
import { KernelError, run } from './run.js';
import { assertNsName } from './shells.js';

/** One tool run inside the namespace with `input` on its standard input. */
export interface NsCommand {
  argv: string[];
  input: string;
}

export interface NsJob {
  ns: string;
  /** rtnetlink requests sent after the sysctls and before the commands (netlink.ts) */
  requests?: NlRequest[];
  /** an RTM_GETLINK dump request: the child prints each reply (`L HEX` lines) after the requests */
  report?: Buffer;
  /** [/proc/sys path, value] written first, in order */
  sysctls: [string, string][];
  /** run one after the other; the first that fails ends the job */
  commands: NsCommand[];
}

/** setns(2) by number where Node names the architecture; elsewhere perl's syscall.ph has it. */
const SETNS: Partial<Record<NodeJS.Architecture, number>> = { x64: 308, arm64: 268, riscv64: 268 };

/**
 * argv: DIR PARALLEL SETNS. The job list (DIR/jobs) has a line per item, tab separated:
 * `J NETFILE UTSFILE MNTFILE` starts job number N (0, 1, ...; empty fields: not entered),
 * `S PATH VALUE` a sysctl write, `N HEX LINE [OFFSET IFNAME]...` a netlink request (its bytes,
 * the `ip` line it stands for, where to write interface indexes), `R HEX` a link dump whose
 * replies are printed, `C INPUTFILE ARG...` a command. Job N writes DIR/N.out (an inline job
 * only when it reports) and DIR/N.err; the runner prints `N<TAB>STATUS` as each job ends and
 * starts no job after a failure.
 */
const RUNNER = `
use strict;
my ($dir, $max, $setns) = @ARGV;
if (!$setns) { require 'syscall.ph'; $setns = &SYS_setns; }
my @jobs; my $job;
open(my $list, '<', "$dir/jobs") or die "$dir/jobs: $!\\n";
while (my $line = <$list>) {
  chomp $line;
  my ($t, @f) = split /\\t/, $line, -1;
  if ($t eq 'J') { $job = { enter => [@f], sysctls => [], nl => [], cmds => [] }; push @jobs, $job; }
  elsif ($t eq 'S') { push @{$job->{sysctls}}, [@f]; }
  elsif ($t eq 'N') { push @{$job->{nl}}, [@f]; }
  elsif ($t eq 'R') { $job->{report} = $f[0]; }
  elsif ($t eq 'C') { push @{$job->{cmds}}, [@f]; }
}
close $list;
$| = 1;
# replies to request SEQ up to its ack (type 2, error 0) or the dump's end (type 3); dies with
# the kernel's error text (and its extended-ack message when it gives one); prints link replies
sub replies {
  my ($nl, $seq, $line, $out) = @_;
  while (1) {
    defined(recv($nl, my $buf, 1 << 17, 0)) or die "netlink: $!\\n";
    for (my $o = 0; $o + 16 <= length $buf;) {
      my ($len, $type, $flags, $s) = unpack("x$o L S S L", $buf);
      last if $len < 16;
      if ($s == $seq && ($type == 2 || $type == 3)) {
        my $err = unpack('x' . ($o + 16) . ' l', $buf);
        return if $err == 0;
        my $text = '';
        if ($type == 2 && $flags & 0x200) {
          my $p = $o + 20 + ($flags & 0x100 ? 16 : unpack('x' . ($o + 20) . ' L', $buf));
          while ($p + 4 <= $o + $len) {
            my ($alen, $atype) = unpack("x$p S S", $buf);
            last if $alen < 4;
            ($text = substr($buf, $p + 4, $alen - 4)) =~ s/\\0.*//s if $atype == 1;
            $p += ($alen + 3) & ~3;
          }
        }
        $! = -$err;
        die "RTNETLINK answers: $!" . ($text ne '' ? " ($text)" : '') . "\\nCommand failed: $line\\n";
      }
      print $out 'L ', unpack('H*', substr($buf, $o, $len)), "\\n" if $s == $seq && $type == 16;
      $o += ($len + 3) & ~3;
    }
  }
}
sub netlink {
  my ($j, $out) = @_;
  socket(my $nl, 16, 3, 0) or die "netlink socket: $!\\n";
  setsockopt($nl, 270, 11, 1);
  my ($udp, %index);
  for my $r (@{$j->{nl}}) {
    my ($hex, $line, @holes) = @$r;
    my $msg = pack('H*', $hex);
    while (@holes) {
      my ($off, $name) = splice(@holes, 0, 2);
      if (!$index{$name}) {
        $udp //= do { socket(my $s, 2, 2, 0) or die "socket: $!\\n"; $s };
        my $req = pack('a16 x24', $name);
        ioctl($udp, 0x8933, $req) or die "Cannot find device \\"$name\\"\\nCommand failed: $line\\n";
        $index{$name} = unpack('x16 l', $req);
      }
      substr($msg, $off, 4) = pack('l', $index{$name});
    }
    send($nl, $msg, 0) or die "netlink: $!\\n";
    replies($nl, unpack('x8 L', $msg), $line, $out);
  }
  return unless defined $j->{report};
  my $dump = pack('H*', $j->{report});
  send($nl, $dump, 0) or die "netlink: $!\\n";
  replies($nl, unpack('x8 L', $dump), 'link show', $out);
}
sub sysctls {
  my ($j) = @_;
  for my $s (@{$j->{sysctls}}) {
    my ($path, $value) = @$s;
    open(my $fh, '>', $path) or die "$path: $!\\n";
    print $fh "$value\\n";
    close($fh) or die "$path: $!\\n";
  }
}
# a job without commands whose sysctls are all the network namespace's own (/proc/sys/net:
# what the writer's network namespace has) needs neither the node's UTS nor mount namespace
sub inline_ok {
  my ($j) = @_;
  return !@{$j->{cmds}} && !grep { $_->[0] !~ m{^/proc/sys/net/} } @{$j->{sysctls}};
}
# such a job runs in this process: into the network namespace, sysctls, requests
# (its output file only when it reports: a file per namespace cost more than the job at 1,000)
sub inline {
  my ($j, $n) = @_;
  my $out;
  if (defined $j->{report}) { open($out, '>', "$dir/$n.out") or die "$dir/$n.out: $!\\n"; }
  open(my $fh, '<', $j->{enter}[0]) or die "$j->{enter}[0]: $!\\n";
  syscall($setns, fileno($fh), 0x40000000) == 0 or die "setns: $!\\n";
  sysctls($j);
  netlink($j, $out) if @{$j->{nl}} || defined $j->{report};
  if ($out) { close($out) or die "$dir/$n.out: $!\\n"; }
  return 0;
}
sub child {
  my ($j, $n) = @_;
  open(STDOUT, '>', "$dir/$n.out") or die "$dir/$n.out: $!\\n";
  open(STDERR, '>', "$dir/$n.err") or die "$dir/$n.err: $!\\n";
  # everything opened before the mount namespace changes what paths mean
  my @in = map { open(my $fh, '<', $_->[0]) or die "$_->[0]: $!\\n"; $fh } @{$j->{cmds}};
  my ($net, $uts, $mnt) = @{$j->{enter}};
  my @enter = grep { $_->[0] ne '' } ([$uts, 0x04000000], [$net, 0x40000000], [$mnt, 0x00020000]);
  my @fds = map { open(my $fh, '<', $_->[0]) or die "$_->[0]: $!\\n"; [$fh, $_->[1]] } @enter;
  for my $e (@fds) { syscall($setns, fileno($e->[0]), $e->[1]) == 0 or die "setns: $!\\n"; }
  sysctls($j);
  netlink($j, \\*STDOUT) if @{$j->{nl}} || defined $j->{report};
  for my $k (0 .. $#{$j->{cmds}}) {
    my (undef, @argv) = @{$j->{cmds}[$k]};
    my $pid = $k == $#{$j->{cmds}} ? 0 : fork();
    die "fork: $!\\n" unless defined $pid;
    if ($pid == 0) {
      open(STDIN, '<&', $in[$k]) or die "stdin: $!\\n";
      exec { $argv[0] } @argv;
      die "$argv[0]: $!\\n";
    }
    waitpid($pid, 0);
    return $? & 127 ? 128 + ($? & 127) : $? >> 8 if $?;
  }
  return 0;
}
my %running; my $next = 0; my $failed = 0;
while (1) {
  while (!$failed && $next < @jobs && keys(%running) < $max) {
    my $n = $next++;
    if (inline_ok($jobs[$n])) {
      my $status = eval { inline($jobs[$n], $n) };
      if (!defined $status) {
        if (open(my $err, '>', "$dir/$n.err")) { print $err $@; close $err; }
        $status = 1;
      }
      print "$n\\t$status\\n";
      $failed = 1 if $status;
      next;
    }
    my $pid = fork();
    die "fork: $!\\n" unless defined $pid;
    if ($pid == 0) {
      my $status = eval { child($jobs[$n], $n) };
      if (!defined $status) { print STDERR $@; $status = 1; }
      exit($status);
    }
    $running{$pid} = $n;
  }
  last unless %running;
  my $pid = waitpid(-1, 0);
  last if $pid < 0;
  my $n = delete $running{$pid};
  next unless defined $n;
  my $status = $? & 127 ? 128 + ($? & 127) : $? >> 8;
  print "$n\\t$status\\n";
  $failed = 1 if $status;
}
exit($failed ? 1 : 0);
`;

/**
 * Runs the jobs, up to `parallel` at once, and returns each one's standard output by namespace.
 * After a failing job no further job starts; those running finish, then the first failure is
 * thrown, naming the namespace and carrying the tool's error output.
 */
export async function runNsJobs(
  jobs: NsJob[],
  parallel: number,
  enter: (ns: string) => { uts?: string; mnt?: string } = () => ({}),
): Promise<Map<string, string>> {
  const outputs = new Map<string, string>();
  if (jobs.length === 0) return outputs;
  for (const j of jobs) assertNsName(j.ns);
  const dir = mkdtempSync(join(tmpdir(), 'netsim-run-'));
  try {
    const list: string[] = [];
    jobs.forEach((j, n) => {
      const { uts = '', mnt = '' } = enter(j.ns);
      list.push(`J\t${NETNS_DIR}/${j.ns}\t${uts}\t${mnt}`);
      for (const [path, value] of j.sysctls) list.push(`S\t${clean(path)}\t${clean(value)}`);
      for (const r of j.requests ?? [])
        list.push(
          [
            `N\t${r.bytes.toString('hex')}\t${clean(r.line)}`,
            ...r.holes.map(([o, i]) => `${o}\t${clean(i)}`),
          ].join('\t'),
        );
      if (j.report) list.push(`R\t${j.report.toString('hex')}`);
      j.commands.forEach((c, k) => {
        const file = join(dir, `${n}.${k}.in`);
        writeFileSync(file, c.input);
        list.push(`C\t${file}\t${c.argv.map(clean).join('\t')}`);
      });
    });
    writeFileSync(join(dir, 'jobs'), `${list.join('\n')}\n`);
    const setns = SETNS[process.arch];
    const res = await run('perl', ['-e', RUNNER, dir, String(Math.max(1, parallel)), String(setns ?? '')], {
      check: false,
    });
    let failure: KernelError | undefined;
    for (const line of res.stdout.split('\n')) {
      const [n, status] = line.split('\t').map(Number);
      if (line === '' || !jobs[n]) continue;
      const ns = jobs[n].ns;
      if (status === 0) {
        outputs.set(ns, readOutput(join(dir, `${n}.out`)));
        continue;
      }
      const err = readFileSync(join(dir, `${n}.err`), 'utf8').trim();
      failure ??= new KernelError(`[${ns}] configuration`, status, err || 'failed');
    }
    if (failure) throw failure;
    if (res.exitCode !== 0)
      throw new KernelError('perl (namespace jobs)', res.exitCode, res.stderr.slice(-2000));
    return outputs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A field of the job list holds no tab or newline (none of netsim's values has one). */
function clean(s: string): string {
  if (/[\t\n]/.test(s))
    throw new KernelError(`namespace job field ${JSON.stringify(s)}`, 2, 'tab or newline');
  return s;
}

/** A job's output file; none: it printed nothing (an inline job without a report writes none). */
function readOutput(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}
