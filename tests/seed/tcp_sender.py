#!/usr/bin/env python3
"""The seed's TCP sender, ported to Python 3.

Connects to localhost:6667 (or --host/--port, or the AF_UNIX stream socket
--unix PATH), sends b'Hello' (or --message, UTF-8) and closes the connection.
"""
import argparse
import socket
from socket import AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM


def main():
    p = argparse.ArgumentParser(description="connect, send one message over TCP, close (the seed's TCP sender)")
    p.add_argument('--host', default='localhost', help="server host (default localhost)")
    p.add_argument('--port', type=int, default=6667, help="server port (default 6667)")
    p.add_argument('--unix', metavar='PATH', help="connect to this AF_UNIX stream socket instead")
    p.add_argument('--message', default=None, help="text to send (default Hello)")
    args = p.parse_args()

    data = b'Hello' if args.message is None else args.message.encode('utf-8')
    if args.unix:
        s = socket.socket(AF_UNIX, SOCK_STREAM)
        s.connect(args.unix)
    else:
        s = socket.socket(AF_INET6 if ':' in args.host else AF_INET, SOCK_STREAM)
        s.connect((args.host, args.port))  # The address of the TCP server listening
    s.send(data)
    s.close()


if __name__ == '__main__':
    main()
