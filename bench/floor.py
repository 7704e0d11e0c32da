#!/usr/bin/env python3
"""The benchmark's floor: one long-lived process that builds and tears down a network with
the kernel operations netsim performs, spoken over netlink (pyroute2's message classes, no
process per namespace), switching namespaces with setns(2) between them.

Protocol (one JSON object a line): after start-up it prints {"ready": true}; then for each
request on stdin {"op": "build", "spec": {...}} / {"op": "teardown", "spec": {...}} it prints
{"ok": true, "ms": N} or {"ok": false, "error": "..."}. bench/floor.ts writes the spec from a
validated Model; see FloorSpec there.
"""

import ctypes
import json
import os
import sys
import time
from socket import AF_INET, AF_INET6, inet_pton

from pyroute2 import IPRoute
from pyroute2.netlink import (
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_REPLACE,
    NLM_F_REQUEST,
)
from pyroute2.netlink.rtnl import (
    RTM_GETLINK,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
CLONE_NEWUTS = 0x04000000
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SHARED = 1 << 20
MNT_DETACH = 2
IFF_UP = 1
IFF_LOWER_UP = 1 << 16
CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
CHANGE = NLM_F_REQUEST | NLM_F_ACK


def check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f'{what}: {os.strerror(err)}')


def mount(src, target, flags):
    check(libc.mount(src.encode(), target.encode(), b'none', flags, None), f'mount {src} on {target}')


def own_tmpfs(path):
    """`path` a private tmpfs of its own (a simulation's directory of namespace files)."""
    os.makedirs(path, exist_ok=True)
    if not is_mount_point(path):
        check(libc.mount(b'netsim-ns', path.encode(), b'tmpfs', 0, b'mode=0700,size=1m'), f'tmpfs on {path}')
        mount('', path, MS_PRIVATE)


def setns(fd, kind):
    check(libc.setns(fd, kind), 'setns')


def is_mount_point(path):
    with open('/proc/self/mountinfo') as f:
        return any(line.split(' ')[4] == path for line in f)


def own_mount(path, propagation, always=False):
    """`path` a mount of its own with this propagation: /run/netns as `ip netns add` makes it
    (shared, set again each time), the UTS files' directory as kernel/nodens.ts (private, once)."""
    os.makedirs(path, exist_ok=True)
    if is_mount_point(path):
        if always:
            mount('', path, propagation)
        return
    mount(path, path, MS_BIND | MS_REC)
    mount('', path, propagation)


def link_msg(index=0, flags=0, change=0, attrs=()):
    msg = ifinfmsg()
    msg['family'] = 0
    msg['index'] = index
    msg['flags'] = flags
    msg['change'] = change
    msg['attrs'] = list(attrs)
    return msg


class Floor:
    def __init__(self):
        self.home_net = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
        self.home_uts = os.open('/proc/thread-self/ns/uts', os.O_RDONLY)
        self.root = IPRoute()  # a netlink socket in the host namespace, for the veths

    def build(self, spec):
        netns_dir = spec['netnsDir']
        own_mount(netns_dir, MS_SHARED | MS_REC, always=True)
        fds = {}
        try:
            # namespaces, as `ip netns add`: unshare, bind /proc/thread-self/ns/net on a file
            for n in spec['namespaces']:
                path = f'{netns_dir}/{n["ns"]}'
                os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
                check(libc.unshare(CLONE_NEWNET), f'unshare {n["ns"]}')
                mount('/proc/thread-self/ns/net', path, MS_BIND)
            setns(self.home_net, CLONE_NEWNET)
            # each node's UTS namespace with its hostname, bound on a file (kernel/nodens.ts)
            if spec.get('utsDir'):
                # as kernel/nodens.ts: the top directory, then the simulation's own tmpfs in it
                own_mount(os.path.dirname(spec['utsDir']), MS_PRIVATE)
                own_tmpfs(spec['utsDir'])
                for n in spec['namespaces']:
                    path = f'{spec["utsDir"]}/{n["ns"]}.uts'
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))
                    check(libc.unshare(CLONE_NEWUTS), f'unshare uts {n["ns"]}')
                    name = n['hostname'].encode()
                    check(libc.sethostname(name, len(name)), f'sethostname {n["hostname"]}')
                    mount('/proc/thread-self/ns/uts', path, MS_BIND)
                setns(self.home_uts, CLONE_NEWUTS)
            for n in spec['namespaces']:
                fds[n['ns']] = os.open(f'{netns_dir}/{n["ns"]}', os.O_RDONLY)
            # veths, each end created in its namespace (explicit ifindexes, as netsim chooses them)
            for v in spec['veths']:
                a, b = v['a'], v['b']
                mtu = [['IFLA_MTU', v['mtu']]] if v.get('mtu') else []
                peer = {'index': b.get('index') or 0, 'flags': 0, 'change': 0, 'family': 0}
                peer['attrs'] = [['IFLA_IFNAME', b['ifname']], *mtu, ['IFLA_NET_NS_FD', fds[b['ns']]]]
                info = ['IFLA_INFO_DATA', {'attrs': [['VETH_INFO_PEER', peer]]}]
                up = IFF_UP if v.get('aUp') else 0
                msg = link_msg(
                    a.get('index') or 0,
                    up,
                    up,
                    [
                        ['IFLA_IFNAME', a['ifname']],
                        *mtu,
                        ['IFLA_NET_NS_FD', fds[a['ns']]],
                        ['IFLA_LINKINFO', {'attrs': [['IFLA_INFO_KIND', 'veth'], info]}],
                    ],
                )
                self.root.nlm_request(msg, RTM_NEWLINK, CREATE)
            # each namespace's own configuration, wave by wave (bridges after their neighbours)
            watched = []
            for node in sorted(spec['nodes'], key=lambda n: n.get('wave', 0)):
                setns(fds[node['ns']], CLONE_NEWNET)
                ipr = IPRoute()
                self.configure(ipr, node)
                if node.get('bridge'):
                    watched.append((ipr, node))
                else:
                    ipr.close()
            setns(self.home_net, CLONE_NEWNET)
            self.wait_carrier(watched)
        finally:
            setns(self.home_net, CLONE_NEWNET)
            for fd in fds.values():
                os.close(fd)

    def configure(self, ipr, node):
        for key, value in node.get('sysctls', {}).items():
            path = '/proc/sys/' + (key if '/' in key else key.replace('.', '/'))
            with open(path, 'w') as f:
                f.write(f'{value}\n')
        up = lambda index: ipr.nlm_request(link_msg(index, IFF_UP, IFF_UP), RTM_NEWLINK, CHANGE)  # noqa: E731
        up(1)  # lo
        for index in node.get('earlyUp', []):
            up(index)
        br = node.get('bridge')
        if br:
            data = [
                ['IFLA_BR_FORWARD_DELAY', br['forwardDelay']],
                ['IFLA_BR_STP_STATE', br['stp']],
                ['IFLA_BR_MCAST_SNOOPING', br['mcastSnooping']],
            ]
            kind = [['IFLA_INFO_KIND', 'bridge'], ['IFLA_INFO_DATA', {'attrs': data}]]
            msg = link_msg(attrs=[['IFLA_IFNAME', br['name']], ['IFLA_LINKINFO', {'attrs': kind}]])
            ipr.nlm_request(msg, RTM_NEWLINK, CREATE)
            got = ipr.nlm_request(link_msg(attrs=[['IFLA_IFNAME', br['name']]]), RTM_GETLINK, NLM_F_REQUEST)
            master = got[0]['index']
            for port in br['ports']:
                flags = IFF_UP if port['up'] else 0
                msg = link_msg(port['index'], flags, flags, [['IFLA_MASTER', master]])
                ipr.nlm_request(msg, RTM_NEWLINK, CHANGE)
            up(master)
        for i in node.get('ifaces', []):
            if i.get('ip'):
                msg = ifaddrmsg()
                msg['family'] = AF_INET6 if ':' in i['ip'] else AF_INET
                msg['prefixlen'] = i['prefix']
                msg['index'] = i['index']
                msg['attrs'] = [['IFA_LOCAL', i['ip']], ['IFA_ADDRESS', i['ip']]]
                ipr.nlm_request(msg, RTM_NEWADDR, CREATE)
            if i['up']:
                up(i['index'])
        for r in node.get('routes', []):
            msg = rtmsg()
            msg['family'] = AF_INET6 if ':' in r['via'] else AF_INET
            msg['dst_len'] = 0
            msg['table'] = 254
            msg['proto'] = 3  # boot, as ip route
            msg['scope'] = 0
            msg['type'] = 1
            inet_pton(msg['family'], r['via'])
            msg['attrs'] = [['RTA_GATEWAY', r['via']]]
            ipr.nlm_request(msg, RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)

    def wait_carrier(self, watched, timeout=5.0):
        """As netsim's build: until every up port of every bridge is operational."""
        deadline = time.monotonic() + timeout
        while watched:
            waiting = []
            for ipr, node in watched:
                ports = {p['index'] for p in node['bridge']['ports'] if p['up']}
                links = ipr.nlm_request(link_msg(), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP)
                late = [
                    link
                    for link in links
                    if link['index'] in ports
                    and (not link['flags'] & IFF_LOWER_UP or link.get_attr('IFLA_OPERSTATE') != 'UP')
                ]
                if late:
                    waiting.append((ipr, node))
                else:
                    ipr.close()
            watched = waiting
            if watched and time.monotonic() > deadline:
                for ipr, _ in watched:
                    ipr.close()
                raise RuntimeError('no carrier on ' + ', '.join(n['ns'] for _, n in watched))
            if watched:
                time.sleep(0.01)

    def teardown(self, spec):
        """As netsim's: the UTS namespace files' tmpfs detached whole, then `ip netns del`."""
        if spec.get('utsDir') and os.path.isdir(spec['utsDir']):
            libc.umount2(spec['utsDir'].encode(), MNT_DETACH)
            os.rmdir(spec['utsDir'])
        for n in spec['namespaces']:
            path = f'{spec["netnsDir"]}/{n["ns"]}'
            if os.path.exists(path):
                libc.umount2(path.encode(), MNT_DETACH)
                os.unlink(path)


def main():
    floor = Floor()
    print(json.dumps({'ready': True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        t0 = time.perf_counter()
        try:
            getattr(floor, req['op'])(req['spec'])
            reply = {'ok': True, 'ms': (time.perf_counter() - t0) * 1000}
        except Exception as e:  # reported to the bench, which fails loudly
            reply = {'ok': False, 'error': f'{type(e).__name__}: {e}'}
        print(json.dumps(reply), flush=True)


if __name__ == '__main__':
    main()
