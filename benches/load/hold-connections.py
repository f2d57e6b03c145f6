#!/usr/bin/env python3
"""Opens N TLS connections to a proxy and holds them, for measuring memory per connection.

Usage: hold-connections.py HOST:PORT N MODE [PATH]
  MODE idle     each connection sends one whole request, reads the answer, then stays open
                (a keep-alive client between requests)
  MODE headers  each connection sends the first bytes of a request head and stays open
                (a slow-loris client, before the header timeout)
Prints "holding N" once all are open, then waits for a line on stdin (or EOF) and exits.
"""
import socket
import ssl
import sys


def main() -> None:
    host, port = sys.argv[1].rsplit(":", 1)
    count, mode = int(sys.argv[2]), sys.argv[3]
    path = sys.argv[4] if len(sys.argv) > 4 else "/api/x"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    held = []
    for _ in range(count):
        raw = socket.create_connection((host, int(port)))
        tls = context.wrap_socket(raw, server_hostname="localhost")
        if mode == "idle":
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            read_one_answer(tls)
        elif mode == "headers":
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".encode())
        else:
            sys.exit(f"unknown mode {mode}")
        held.append(tls)
    print(f"holding {len(held)}", flush=True)
    sys.stdin.readline()


def read_one_answer(tls: ssl.SSLSocket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(65536)
        if not chunk:
            raise SystemExit("closed before an answer")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = tls.recv(65536)
        if not chunk:
            break
        body += chunk


if __name__ == "__main__":
    main()
