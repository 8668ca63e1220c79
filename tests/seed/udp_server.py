#!/usr/bin/env python3
"""The seed's socketserver.UDPServer, ported to Python 3.

Binds localhost:6667 (or --host/--port), and for every datagram prints

    Got connection from: ('127.0.0.1', 40000)
    It said: Hello

and replies "Got your message!" to the sender.  Serves forever like the seed
unless --count N (exit after N datagrams).  --timeout S exits with status 1
when no datagram arrives for S seconds.
"""
import argparse
import socket
import sys
from socketserver import BaseRequestHandler, UDPServer


class MyHandler(BaseRequestHandler):
    def handle(self):
        # The seed's "%s" % self.client_address would raise on a 2-tuple; the
        # intended output is the tuple itself.
        print("Got connection from: %s" % (self.client_address,))
        msg, sock = self.request
        print("It said: %s" % msg.decode('utf-8', 'replace'), flush=True)
        sock.sendto("Got your message!".encode(), self.client_address)  # Send reply


class UDPServer6(UDPServer):
    address_family = socket.AF_INET6


def main():
    p = argparse.ArgumentParser(description="reply \"Got your message!\" to each UDP datagram (the seed's UDPServer)")
    p.add_argument('--host', default='localhost', help="address to bind (default localhost)")
    p.add_argument('--port', type=int, default=6667, help="port to bind (default 6667)")
    p.add_argument('--count', type=int, default=0, help="exit after N datagrams (default: never)")
    p.add_argument('--timeout', type=float, default=None,
                   help="exit with status 1 if no datagram arrives for S seconds")
    args = p.parse_args()

    cls = UDPServer6 if ':' in args.host else UDPServer
    serv = cls((args.host, args.port), MyHandler)
    if not args.count and args.timeout is None:
        serv.serve_forever()
        return
    serv.timeout = args.timeout
    timed_out = []
    serv.handle_timeout = lambda: timed_out.append(1)
    n = 0
    while not args.count or n < args.count:
        serv.handle_request()
        if timed_out:
            sys.stderr.write("udp_server.py: timed out after %d message(s)\n" % n)
            sys.exit(1)
        n += 1
    serv.server_close()


if __name__ == '__main__':
    main()
