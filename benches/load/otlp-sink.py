#!/usr/bin/env python3
"""A minimal OTLP/HTTP sink for the load harness's traced modes: answers every POST with 200
and an empty protobuf body, as fast as Python can, and counts what it received.

    otlp-sink.py PORT_FILE PARENT_PID

Binds 127.0.0.1:0, writes the port to PORT_FILE, and exits when PARENT_PID is gone (the
gateway that tollgate-bench.sh exec'd), printing the exports and bytes it received to stderr.
"""
import http.server
import os
import sys
import threading
import time

received = {"exports": 0, "bytes": 0}


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        received["exports"] += 1
        received["bytes"] += length
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def watch(parent, server):
    while True:
        try:
            os.kill(parent, 0)
        except OSError:
            server.shutdown()
            return
        time.sleep(1)


def main():
    port_file, parent = sys.argv[1], int(sys.argv[2])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    with open(port_file + ".tmp", "w") as out:
        out.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    threading.Thread(target=watch, args=(parent, server), daemon=True).start()
    server.serve_forever()
    print(f"otlp-sink: {received['exports']} exports, {received['bytes']} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
