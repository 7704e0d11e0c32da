// Many sources pinging many destinations from one process (`netsim check --sample`, pingall):
// a raw ICMP socket opened in each source's network namespace (setns there, socket(2), setns
// back: a socket stays in the namespace it was made in), then echo requests sent and replies
// read over all of them at once. fping per source cost a process chain each (nsenter, fping):
// 1,000 sampled pairs of 5,041 hosts took 52 s that way.
// Each pair is tried like fping -t T -r R: a request, then again after T, 1.5 T, 2.25 T ...;
// it fails when the last wait ends without a reply. At most `window` pairs are in flight at
// once: a pair's first request usually waits on ARP/ND, a broadcast the bridges copy to every
// port of the segment, and every copy goes through the sending CPU's backlog queue
// (net.core.netdev_max_backlog). Many floods at once overflow it and lose packets (an ARP
// request, a reply) that a correct lab would deliver.
import { NETNS_DIR } from './enter.js';
import { run } from './run.js';

export interface PingJob {
  /** network namespace the requests leave from */
  ns: string;
  /** destination addresses (IPv4 or IPv6, mixed) */
  ips: string[];
}

export interface PingerOptions {
  /** first wait for a reply, ms (fping -t) */
  timeoutMs?: number;
  /** requests sent again after the first (fping -r) */
  retries?: number;
  /** pairs in flight at once per process */
  window?: number;
  /** processes sharing the sources (a CPU each) */
  processes?: number;
}

/**
 * Input: a first line `TIMEOUT_MS RETRIES WINDOW`, then one line per job
 * `NSFILE<TAB>IP IP ...`. Output: `JOB<TAB>IP` for each destination that answered.
 */
const PINGER = String.raw`
use strict;
use Socket qw(AF_INET AF_INET6 SOCK_RAW inet_pton inet_ntop pack_sockaddr_in pack_sockaddr_in6
              unpack_sockaddr_in unpack_sockaddr_in6 MSG_DONTWAIT);
use Time::HiRes qw(time);
require 'syscall.ph';
$| = 1;
my $CLONE_NEWNET = 0x40000000;
my ($timeout, $retries, $window) = split ' ', scalar <STDIN>;
$timeout /= 1000;
# the sockets: one per job and family; raise the open-file limit to fit them
my @lines = map { chomp; $_ } grep { /\S/ } <STDIN>;
my $want = 2 * @lines + 64;
syscall(&SYS_prlimit64, 0, 7, pack('QQ', $want, $want), 0) if $want > 1000;
open(my $home, '<', '/proc/self/ns/net') or die "own network namespace: $!\n";
my $id = $$ & 0xffff;
my (@pairs, %sockets, %byfd);
my $rin = '';
for my $j (0 .. $#lines) {
  my ($nsfile, $ips) = split /\t/, $lines[$j], 2;
  my @ips = split ' ', $ips // '';
  open(my $ns, '<', $nsfile) or die "$nsfile: $!\n";
  syscall(&SYS_setns, fileno($ns), $CLONE_NEWNET) == 0 or die "setns $nsfile: $!\n";
  my %sock;
  for my $ip (@ips) {
    my $six = $ip =~ /:/ ? 1 : 0;
    my $packed = inet_pton($six ? AF_INET6 : AF_INET, $ip) // die "bad address $ip\n";
    unless ($sock{$six}) {
      socket($sock{$six}, $six ? AF_INET6 : AF_INET, SOCK_RAW, $six ? 58 : 1) or die "socket: $!\n";
      my $fd = fileno($sock{$six});
      vec($rin, $fd, 1) = 1;
      $byfd{$fd} = { sock => $sock{$six}, six => $six, want => {} };
    }
    my $p = { job => $j, ip => $ip, packed => $packed, six => $six, sock => $sock{$six},
              seq => scalar(@pairs) & 0xffff, sent => 0, due => 0, wait => $timeout };
    $byfd{fileno($sock{$six})}{want}{$packed} = $p;
    push @pairs, $p;
  }
  close $ns;
}
syscall(&SYS_setns, fileno($home), $CLONE_NEWNET) == 0 or die "back to own network namespace: $!\n";

sub csum {
  my $d = shift;
  $d .= "\0" if length($d) % 2;
  my $s = unpack('%32n*', $d);
  $s = ($s >> 16) + ($s & 0xffff);
  $s += $s >> 16;
  return ~$s & 0xffff;
}

sub send_request {
  my $p = shift;
  my $body = 'netsim-check' . pack('N', $p->{sent});
  my $pkt = pack('CCnnn', $p->{six} ? 128 : 8, 0, 0, $id, $p->{seq}) . $body;
  substr($pkt, 2, 2) = pack('n', csum($pkt)) unless $p->{six};  # the kernel sums ICMPv6
  my $to = $p->{six} ? pack_sockaddr_in6(0, $p->{packed}) : pack_sockaddr_in(0, $p->{packed});
  send($p->{sock}, $pkt, 0, $to);  # an unreachable destination shows as no reply
  $p->{sent}++;
  $p->{due} = time + $p->{wait};
  $p->{wait} *= 1.5;
}

my ($next, $inflight, $left) = (0, 0, scalar @pairs);
my %flying;
while ($left > 0) {
  while ($inflight < $window && $next < @pairs) {
    my $p = $pairs[$next++];
    $flying{$p} = $p;
    $inflight++;
    send_request($p);
  }
  my $now = time;
  my $wake = $now + 1;
  for my $p (values %flying) {
    if ($p->{due} <= $now) {
      if ($p->{sent} > $retries) {
        delete $flying{$p}; $inflight--; $left--; $p->{done} = 1;
        next;
      }
      send_request($p);
    }
    $wake = $p->{due} if $p->{due} < $wake;
  }
  next if $inflight < $window && $next < @pairs;
  last if $left == 0;
  my $rout = $rin;
  my $wait = $wake - time;
  next if select($rout, undef, undef, $wait > 0 ? $wait : 0) <= 0;
  for my $fd (keys %byfd) {
    next unless vec($rout, $fd, 1);
    my $s = $byfd{$fd};
    while (defined(my $from = recv($s->{sock}, my $buf, 2048, MSG_DONTWAIT))) {
      my ($type, $rid, $addr);
      if ($s->{six}) {
        ($type, $rid) = unpack('C x3 n', $buf);
        $addr = (unpack_sockaddr_in6($from))[1];
        next unless $type == 129;
      } else {
        my $ihl = (unpack('C', $buf) & 15) * 4;
        ($type, $rid) = unpack("x$ihl C x3 n", $buf);
        $addr = (unpack_sockaddr_in($from))[1];
        next unless $type == 0;
      }
      next unless $rid == $id;
      my $p = $s->{want}{$addr} or next;
      next if $p->{done};
      $p->{done} = 1;
      delete $flying{$p}; $inflight--; $left--;
      print "$p->{job}\t$p->{ip}\n";
    }
  }
}
`;

/**
 * Pings every job's destinations from its namespace; returns, per job, the destinations that
 * answered. The jobs are shared by `processes` pinger processes (the floods' copies then go
 * through as many CPUs' backlogs).
 */
export async function pingJobs(jobs: PingJob[], opts: PingerOptions = {}): Promise<Set<string>[]> {
  const alive = jobs.map(() => new Set<string>());
  const timeout = opts.timeoutMs ?? 1000;
  const retries = opts.retries ?? 2;
  const window = opts.window ?? 16;
  const procs = Math.max(1, Math.min(opts.processes ?? 1, jobs.length));
  const shares: number[][] = Array.from({ length: procs }, () => []);
  jobs.forEach((_, i) => {
    shares[i % procs].push(i);
  });
  await Promise.all(
    shares.map(async (share) => {
      if (share.length === 0) return;
      const input = [
        `${timeout} ${retries} ${window}`,
        ...share.map((i) => `${NETNS_DIR}/${jobs[i].ns}\t${jobs[i].ips.join(' ')}`),
      ];
      const res = await run('perl', ['-e', PINGER], { input: `${input.join('\n')}\n` });
      for (const line of res.stdout.split('\n')) {
        const [j, ip] = line.split('\t');
        if (ip) alive[share[Number(j)]].add(ip);
      }
    }),
  );
  return alive;
}
