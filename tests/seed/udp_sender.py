#!/usr/bin/env python3
"""The seed's UDP sender, ported to Python 3.

Sends one datagram, "Hello you there!" (or --message), to localhost:6667
(or --host/--port, or the AF_UNIX datagram socket --unix PATH) and exits.
"""
import argparse
import socket
from socket import AF_INET, AF_INET6, AF_UNIX, SOCK_DGRAM


def main():
    p = argparse.ArgumentParser(description="send one UDP datagram (the seed's sender)")
    p.add_argument('--host', default='localhost', help="destination host (default localhost)")
    p.add_argument('--port', type=int, default=6667, help="destination port (default 6667)")
    p.add_argument('--unix', metavar='PATH', help="send to this AF_UNIX datagram socket instead")
    p.add_argument('--message', default='Hello you there!', help='text to send (default "Hello you there!")')
    args = p.parse_args()

    msg = (args.message).encode('utf-8')  # socket.sendto() takes bytes as input, hence we must encode the string first.
    if args.unix:
        s = socket.socket(AF_UNIX, SOCK_DGRAM)
        s.sendto(msg, args.unix)
        return
    family = AF_INET6 if ':' in args.host else AF_INET
    s = socket.socket(family, SOCK_DGRAM)
    s.sendto(msg, (args.host, args.port))


if __name__ == '__main__':
    main()
