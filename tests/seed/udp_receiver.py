#!/usr/bin/env python3
"""The seed's UDP receiver, ported to Python 3.

Binds localhost:6667 (or --host/--port, or the AF_UNIX datagram socket
--unix PATH) and prints every datagram as the seed does:

    Got message from ('127.0.0.1', 40000): Hello you there!

The message is decoded as UTF-8 (undecodable bytes replaced) so the line reads
as it did under Python 2.  Runs forever like the seed unless --count N (exit
after N datagrams) or --timeout S (exit 1 after S seconds with no datagram).
"""
import argparse
import os
import socket
import sys
from socket import AF_INET, AF_INET6, AF_UNIX, SOCK_DGRAM


def main():
    p = argparse.ArgumentParser(description="print received UDP datagrams (the seed's receiver)")
    p.add_argument('--host', default='localhost', help="address to bind (default localhost)")
    p.add_argument('--port', type=int, default=6667, help="port to bind (default 6667)")
    p.add_argument('--unix', metavar='PATH', help="bind this AF_UNIX datagram socket instead")
    p.add_argument('--count', type=int, default=0, help="exit after N datagrams (default: never)")
    p.add_argument('--timeout', type=float, default=None,
                   help="exit with status 1 if no datagram arrives for S seconds")
    args = p.parse_args()

    if args.unix:
        sock = socket.socket(AF_UNIX, SOCK_DGRAM)
        if os.path.exists(args.unix):
            os.unlink(args.unix)
        sock.bind(args.unix)
    else:
        family = AF_INET6 if ':' in args.host else AF_INET
        sock = socket.socket(family, SOCK_DGRAM)
        sock.bind((args.host, args.port))
    sock.settimeout(args.timeout)

    got = 0
    while True:
        try:
            msg, addr = sock.recvfrom(8192)  # This is the amount of bytes to read at maximum
        except socket.timeout:
            sys.stderr.write("udp_receiver.py: timed out after %d message(s)\n" % got)
            sys.exit(1)
        print("Got message from %s: %s" % (addr, msg.decode('utf-8', 'replace')), flush=True)
        got += 1
        if args.count and got >= args.count:
            break


if __name__ == '__main__':
    main()
