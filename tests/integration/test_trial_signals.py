"""SIGTERM shuts down gracefully (clients get done, every open trial is
flushed and closed, exit 0); TLS (wss) with a self-signed certificate made
by openssl, reloaded on SIGHUP without dropping the open session."""
import asyncio
import json
import os
import signal
import ssl
import subprocess
import tempfile

from serveutil import Trial, check, connect, handshake, main, recv, recv_json

import websockets


async def play(ws, n):
    got = 0
    while got < n:
        m = await recv_json(ws)
        if isinstance(m, dict) and "frame" in m:
            got += 1


def make_cert(d, cn):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=" + cn, "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


async def graceful():
    srv = Trial("trial_long")
    users = ["s%d" % i for i in range(3)]
    socks = []
    for u in users:
        ws = await connect(srv)
        await handshake(ws, u, "trial-long")
        await ws.send(json.dumps({"command": "start"}))
        socks.append(ws)
    for ws in socks:
        await play(ws, 3)
    srv.proc.send_signal(signal.SIGTERM)
    for u, ws in zip(users, socks):
        last, code = None, None
        try:
            while True:
                last = await recv(ws)
        except websockets.ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd else e.code
        check(last == "done" and code == 1000, "%s got done and a clean close on SIGTERM" % u)
    rc, err = srv.stop()
    check(rc == 0, "the server exits 0 after SIGTERM (rc %s, %s)" % (rc, err[-800:]))
    for u in users:
        d = os.path.join(srv.data, "trial-long", "trials", u)
        lines = srv.lines(os.path.join(d, "trial.jsonl"))
        check(lines[-1].get("end") == "shutdown" or lines[-1].get("step", 0) > 0,
              "%s: records complete up to shutdown (%d lines)" % (u, len(lines)))
        meta = srv.lines(os.path.join(d, "trials.jsonl"))
        check(meta[-1]["event"] == "end" and meta[-1]["reason"] == "shutdown",
              "%s: the trial is closed with reason shutdown" % u)
    srv.cleanup()


async def tls():
    d = tempfile.mkdtemp(prefix="hippo-tls-")
    cert, key = make_cert(d, "127.0.0.1")
    first_der = ssl.PEM_cert_to_DER_cert(open(cert).read())
    srv = Trial("trial_long", "--tls-cert", cert, "--tls-key", key)
    try:
        check(srv.url.startswith("wss://"), "the server announces wss://")
        ctx = ssl.create_default_context(cafile=cert)
        ws = await connect(srv, ssl=ctx)
        got = await handshake(ws, "tess", "trial-long")
        check("frame" in got[-1], "a trial over wss with a verified certificate")
        peer = ws.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
        check(peer == first_der, "the server presents the configured certificate")
        await ws.send(json.dumps({"command": "start"}))
        await play(ws, 3)

        # New certificate in the same files, then SIGHUP.
        os.rename(cert, cert + ".old")
        os.rename(key, key + ".old")
        cert2, key2 = make_cert(d, "127.0.0.1")
        second_der = ssl.PEM_cert_to_DER_cert(open(cert2).read())
        srv.proc.send_signal(signal.SIGHUP)
        await play(ws, 5)
        check(True, "the open session keeps streaming across SIGHUP")
        ctx2 = ssl.create_default_context(cafile=cert2)
        seen = None
        for _ in range(50):
            try:
                ws2 = await connect(srv, ssl=ctx2)
                seen = ws2.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
                await ws2.close()
                break
            except (ssl.SSLError, OSError):
                await asyncio.sleep(0.2)
        check(seen == second_der, "new connections get the reloaded certificate")
        await play(ws, 2)
        await ws.send(json.dumps({"command": "stop"}))
        while (await recv(ws)) != "done":
            pass
        check(srv.alive(), "the server is alive")
    finally:
        rc, err = srv.stop()
        srv.cleanup()
        subprocess.run(["rm", "-rf", d])
    check(rc == 0, "TLS server exits 0")


async def test():
    await graceful()
    await tls()


main(test)
