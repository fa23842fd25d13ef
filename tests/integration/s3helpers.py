"""Helpers for the storage tests: a real S3-compatible server (s3rver, run
with node from tests/node_modules), a fault-injecting HTTP proxy in front of
it, and the hippo binary's storage commands with the credentials s3rver takes."""
import hashlib
import http.client
import http.server
import json
import os
import socket
import subprocess
import threading
import urllib.parse
import xml.etree.ElementTree as ET

from serveutil import BIN, HERE


def md5_file(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


class S3Server:
    """s3rver on 127.0.0.1:PORT (0: any free port) storing into DIRECTORY,
    with one bucket."""

    def __init__(self, directory, port=0, bucket="bucket"):
        os.makedirs(directory, exist_ok=True)
        self.proc = subprocess.Popen(
            # s3rver's ListObjectsV2 continuation tokens are DES-encrypted,
            # a cipher of OpenSSL 3's legacy provider
            ["node", "--openssl-legacy-provider", os.path.join(HERE, "s3server.mjs"),
             str(port), directory, bucket],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            err = self.proc.stderr.read()
            raise RuntimeError("s3rver did not start: %r %s" % (line, err))
        self.port = int(line.split()[1])
        self.endpoint = "http://127.0.0.1:%d" % self.port

    def get(self, bucket, key):
        return self._get("/%s/%s" % (bucket, key))

    def _get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body

    def keys(self, bucket, prefix):
        """The keys under PREFIX (ListObjectsV2, every page), sorted."""
        out, token = [], None
        while True:
            q = "list-type=2&prefix=" + urllib.parse.quote(prefix, safe="")
            if token:
                q += "&continuation-token=" + urllib.parse.quote(token, safe="")
            st, body = self._get("/%s?%s" % (bucket, q))
            if st != 200:
                raise AssertionError("S3 listing of %s: %s %s" % (prefix, st, body[:200]))
            root = ET.fromstring(body)
            ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
            out += [e.text for e in root.iter(ns + "Key")]
            if root.findtext(ns + "IsTruncated") != "true":
                return sorted(out)
            token = root.findtext(ns + "NextContinuationToken")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class FaultProxy:
    """An HTTP proxy to an upstream S3 server on 127.0.0.1. mode:
    'pass'    forward unchanged
    'etag'    replace the ETag of every response with a wrong one
    'headetag' the same for HEAD responses only (the PUT looks fine)
    'flip'    flip one byte of every PUT body and drop Content-MD5 (the store
              keeps a corrupted object and answers with its true ETag)
    'garbage' answer every request with bytes that are not HTTP
    'down'    close the connection without answering
    """

    def __init__(self, upstream_port, mode="pass"):
        self.upstream_port = upstream_port
        self.mode = mode
        self.requests = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def forward(self):
                proxy.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy.mode == "down":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if proxy.mode == "garbage":
                    self.wfile.write(b"\x00\x01garbage, not a response\r\n\r\n")
                    self.close_connection = True
                    return
                headers = {k: v for k, v in self.headers.items()}
                if proxy.mode == "flip" and self.command == "PUT" and body:
                    body = bytes([body[0] ^ 0x20]) + body[1:]
                    headers = {k: v for k, v in headers.items() if k.lower() != "content-md5"}
                c = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                c.request(self.command, self.path, body=body if length else None, headers=headers)
                r = c.getresponse()
                data = r.read()
                c.close()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() in ("transfer-encoding", "connection", "content-length"):
                        continue
                    if k.lower() == "etag" and (proxy.mode == "etag" or (
                            proxy.mode == "headetag" and self.command == "HEAD")):
                        v = '"00000000000000000000000000000000"'
                    self.send_header(k, v)
                if self.command == "HEAD":
                    self.send_header("Content-Length", r.getheader("Content-Length") or "0")
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def hippo_env(home):
    env = dict(os.environ)
    env.update({"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER", "HOME": home})
    for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"):
        env.pop(k, None)
    return env


def hippo(args, env, timeout=300, check=None):
    p = subprocess.run([BIN] + args, env=env, capture_output=True, text=True, timeout=timeout)
    if check is not None and p.returncode != check:
        raise AssertionError("hippo %s: exit %d, expected %d\nstdout: %s\nstderr: %s" % (
            " ".join(args), p.returncode, check, p.stdout, p.stderr))
    return p


def status(data, env):
    p = hippo(["storage", "status", "--data", data, "--json", "--all"], env, check=0)
    return json.loads(p.stdout)

