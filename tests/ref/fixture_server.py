#!/usr/bin/env python3
"""A small HTTP server for the fetch tests (Python stdlib only), on 127.0.0.1 only.

    fixture_server.py --root DIR --config CONFIG.json --log LOG [--lifetime SECONDS]

Prints the ephemeral port it listens on as the first line of stdout. Serves files under DIR.
A HuggingFace-style path /ORG/NAME/resolve/REV/FILE is served from DIR/ORG/NAME/FILE whatever REV
is (REV shows in the log), so the same files answer "main" and a commit hash.

CONFIG.json is re-read on every request, so a test can change behaviour between runs. Keys (all
optional) name files by their key: the path after REV is dropped, e.g. "/org/model/config.json".
    "headers":       {key: {header: value}}   extra response headers (ETag, X-Repo-Commit, ...)
    "missing":       [key]                    answer 404
    "truncate_once": [key]                    first GET: send Content-Length N but only N/2 bytes,
                                              then close (once per key per server lifetime)
    "ignore_range":  [key]                    answer 200 with the whole file despite Range
    "redirect":      {key: url}               answer 302 to url (with the key's headers, as the hub
                                              does for LFS files); "{port}" in url becomes the port

The log gets one line per request: METHOD PATH range=<Range header or -> status=<code>.
"""
import argparse
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

HF_PATH = re.compile(r"^(/.+?)/resolve/([^/]+)/(.+)$")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fixture/1"

    def log_message(self, fmt, *args):  # quiet: our own log file says what happened
        pass

    def _log(self, status):
        with self.server.log_lock, open(self.server.log_path, "a") as log:
            log.write(f"{self.command} {self.path} range={self.headers.get('Range', '-')} status={status}\n")

    def _config(self):
        try:
            with open(self.server.config_path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def _key(self):
        path = unquote(urlsplit(self.path).path)
        m = HF_PATH.match(path)
        return m.group(1) + "/" + m.group(3) if m else path

    def _send_error(self, code):
        body = f"{code}\n".encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._log(code)

    def do_HEAD(self):
        self._serve()

    def do_GET(self):
        self._serve()

    def _serve(self):
        cfg = self._config()
        key = self._key()
        extra = cfg.get("headers", {}).get(key, {})
        if key in cfg.get("missing", []):
            return self._send_error(404)
        if key in cfg.get("redirect", {}):
            self.send_response(302)
            self.send_header("Location", cfg["redirect"][key].replace("{port}", str(self.server.server_address[1])))
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return self._log(302)
        path = os.path.normpath(os.path.join(self.server.root, key.lstrip("/")))
        if not path.startswith(self.server.root + os.sep) or not os.path.isfile(path):
            return self._send_error(404)
        with open(path, "rb") as f:
            data = f.read()
        size = len(data)
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng and key not in cfg.get("ignore_range", []):
            m = re.match(r"bytes=(\d+)-(\d*)$", rng)
            if not m:
                return self._send_error(416)
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else size - 1
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return self._log(416)
            data = data[start:end + 1]
            status = 206
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{start + len(data) - 1}/{size}")
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return self._log(status)
        truncate = False
        if key in cfg.get("truncate_once", []):
            with self.server.log_lock:
                truncate = key not in self.server.truncated
                self.server.truncated.add(key)
        if truncate:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self._log(f"{status}-truncated")
            return
        self.wfile.write(data)
        self._log(status)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--lifetime", type=float, default=120.0,
                    help="seconds after which the server stops by itself, even if nobody kills it")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.root = os.path.realpath(args.root)
    server.config_path = args.config
    server.log_path = args.log
    server.log_lock = threading.Lock()
    server.truncated = set()
    print(server.server_address[1], flush=True)
    timer = threading.Timer(args.lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
