#!/usr/bin/env python3
"""The seed's multithreaded TCP client-list server, ported to Python 3.

Without -c: prints "Starting server..." and listens on 127.0.0.1:5000 (or
--host/--port); each connection's first recv(1024) is the client's name, the
server records {"name", "address", "port"} under that name, sends the whole
list as JSON, shuts the connection down and closes it.

With -c [-n NAME]: connects, sends NAME (default "name"), reads at most 1024
bytes (as the seed: a longer list is truncated and json.loads raises) and
prints the list with json.dumps(indent=4).
"""
import argparse
import json
import socket
import threading


def handle_client(client_list, conn, address):
    name = conn.recv(1024).decode('utf-8')
    entry = dict(zip(['name', 'address', 'port'], [name, address[0], address[1]]))
    client_list[name] = entry
    conn.sendall(json.dumps(client_list).encode('utf-8'))
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def server(client_list, host, port):
    print("Starting server...", flush=True)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(5)
    while True:
        (conn, address) = s.accept()
        t = threading.Thread(target=handle_client, args=(client_list, conn, address))
        t.daemon = True
        t.start()


def client(name, host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect((host, port))
    s.send(name.encode('utf-8'))
    data = s.recv(1024)
    result = json.loads(data.decode('utf-8'))
    print(json.dumps(result, indent=4))


def parse_arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument('-c', dest='client', action='store_true')
    parser.add_argument('-n', dest='name', type=str, default='name')
    parser.add_argument('--host', default='127.0.0.1', help="server address (default 127.0.0.1)")
    parser.add_argument('--port', type=int, default=5000, help="server port (default 5000)")
    result = parser.parse_args()
    return result


def main():
    client_list = dict()
    args = parse_arguments()
    if args.client:
        client(args.name, args.host, args.port)
    else:
        try:
            server(client_list, args.host, args.port)
        except KeyboardInterrupt:
            print("Keyboard interrupt")


if __name__ == '__main__':
    main()
