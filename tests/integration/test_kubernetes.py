"""deploy/kubernetes/ agrees with the binary (docs/cluster.md): every flag
the StatefulSet gives `hippo serve` exists in `hippo serve --help` (and the
command line parses: values within bounds), every $(VAR) it uses is defined,
HIPPO_* variables are ones hippo reads; --node and --advertise come from
the pod's name, --internal from its IP; the ports, selectors and labels, and the Services named
match; terminationGracePeriodSeconds covers the preStop sleep, the drain
grace and the last "done"; the readiness probe is /healthz and the liveness
probe is not (a draining node is alive but not ready); the gateway's
HAProxy configuration is valid for HAProxy and routes /g/<pod>/ to the
headless Service's pods on the node port."""
import glob
import os
import re
import subprocess
import tempfile

import yaml

from serveutil import BIN, SRC, check, main

DIR = os.path.join(SRC, "deploy", "kubernetes")
SHUTDOWN_S = 3  # src/net/server_int.h NET_SHUTDOWN_S: the last "done" after the drain


def docs():
    out = []
    for path in sorted(glob.glob(os.path.join(DIR, "*.yaml"))):
        with open(path) as f:
            for d in yaml.safe_load_all(f):
                if d:
                    d["_file"] = os.path.basename(path)
                    out.append(d)
    return out


def one(all_docs, kind, name=None):
    found = [d for d in all_docs if d["kind"] == kind and
             (name is None or d["metadata"]["name"] == name)]
    check(len(found) == 1, "one %s%s" % (kind, " " + name if name else ""))
    return found[0]


def flags(args):
    """{flag: value or None} of a command line's --options."""
    out = {}
    for a in args:
        if a.startswith("--"):
            k, _, v = a[2:].partition("=")
            out[k] = v if _ else None
    return out


def help_flags():
    p = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, timeout=30)
    return p.stdout, set(re.findall(r"^\s+--([a-z0-9-]+)", p.stdout, re.M))


def run():
    all_docs = docs()
    check(len(all_docs) >= 6, "the manifests parse (%d documents)" % len(all_docs))
    sts = one(all_docs, "StatefulSet", "hippo")
    pod = sts["spec"]["template"]
    labels = pod["metadata"]["labels"]
    ctr = next(c for c in pod["spec"]["containers"] if c["name"] == "hippo")
    args = ctr["args"]
    check(args[0] == "serve", "the container runs hippo serve")
    given = flags(args)
    text, known = help_flags()
    unknown = sorted(set(given) - known)
    check(not unknown, "every flag exists in hippo serve --help (unknown: %s)" % unknown)
    env = {e["name"]: e for e in ctr.get("env", [])}
    used = set(re.findall(r"\$\(([A-Z_]+)\)", " ".join(args)))
    check(used <= set(env), "every $(VAR) of the command line is defined: %s" % sorted(used))
    for name in env:
        if name.startswith("HIPPO_") and name not in used:
            check(name in text, "%s is read by hippo serve (--help names it)" % name)
    aws = {n for n in env if n.startswith("AWS_")}
    with open(os.path.join(SRC, "src", "storage", "s3.c")) as f:
        s3c = f.read()
    check(all('"%s"' % n in s3c for n in aws),
          "the AWS variables are the ones the S3 client reads: %s" % sorted(aws))
    check(env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name",
          "POD_NAME is the pod's name")
    check(given["node"] == "$(POD_NAME)", "--node is the pod's name")
    check(env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP",
          "POD_IP is the pod's IP")
    check(given.get("internal") == "http://$(POD_IP):%s" % given["port"],
          "--internal is the pod's own address, where the other nodes probe it: %s"
          % given.get("internal"))
    adv = given["advertise"]
    check(adv.endswith("/g/$(POD_NAME)") and adv.startswith("wss://"),
          "--advertise is the pod's path behind the one origin: %s" % adv)
    # The command line parses: the values are within the options' bounds
    # (a stand-in for the variables; --help after them stops before serving).
    concrete = [a.replace("$(POD_NAME)", "hippo-0").replace("$(HIPPO_STORE)", "sqlite:x.db")
                .replace("$(POD_IP)", "10.0.0.7") for a in args[1:] if a.startswith("--")]
    p = subprocess.run([BIN, "serve", *concrete, "--help"], capture_output=True, text=True,
                       timeout=30)
    check(p.returncode == 0, "the command line's values are accepted", p.stderr)
    # Ports.
    port = int(given["port"])
    cports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
    check(cports.get("http") == port, "containerPort http == --port %d" % port)
    check(ctr["readinessProbe"]["httpGet"]["path"] == "/healthz" and
          ctr["readinessProbe"]["httpGet"]["port"] in ("http", port),
          "readiness: /healthz on the node's port")
    live = ctr["livenessProbe"]
    check("httpGet" not in live or live["httpGet"]["path"] != "/healthz",
          "liveness is not /healthz (a draining node answers 503 there)")
    check(given["host"] == "0.0.0.0", "the node listens on every address of the pod")
    # Services, selectors, labels.
    svc = one(all_docs, "Service", sts["spec"]["serviceName"])
    check(svc["spec"].get("clusterIP") == "None", "the StatefulSet's Service is headless")
    check(svc["spec"].get("publishNotReadyAddresses") is True,
          "a draining (not ready) pod keeps its DNS name for its participants")
    sel = svc["spec"]["selector"]
    check(all(labels.get(k) == v for k, v in sel.items()), "the Service selects the pods")
    match = sts["spec"]["selector"]["matchLabels"]
    check(all(labels.get(k) == v for k, v in match.items()),
          "the StatefulSet's selector matches its pods' labels")
    check(svc["spec"]["ports"][0]["targetPort"] in ("http", port), "the Service's port")
    mounts = {m["name"]: m["mountPath"] for m in ctr["volumeMounts"]}
    claims = {c["metadata"]["name"] for c in sts["spec"].get("volumeClaimTemplates", [])}
    check(mounts.get("data") == given["data"] and "data" in claims,
          "--data is the pod's persistent volume (spool and records survive a restart)")
    check(args[-1] == mounts.get("study"), "the study folder is mounted where hippo reads it")
    # Grace periods.
    pre = ctr["lifecycle"]["preStop"]["exec"]["command"]
    sleep = int(pre[1]) if pre[0] == "sleep" else 0
    grace = int(given["drain-grace"])
    tgp = pod["spec"]["terminationGracePeriodSeconds"]
    check(tgp >= sleep + grace + SHUTDOWN_S,
          "terminationGracePeriodSeconds %d >= preStop %d + --drain-grace %d + %d" % (
              tgp, sleep, grace, SHUTDOWN_S))
    # The gateway.
    gw = one(all_docs, "Deployment", "hippo-gateway")
    gwpod = gw["spec"]["template"]
    gwsvc = one(all_docs, "Service", "hippo-gateway")
    check(all(gwpod["metadata"]["labels"].get(k) == v
              for k, v in gwsvc["spec"]["selector"].items()), "the gateway Service selects it")
    check(not all(labels.get(k) == v for k, v in gwsvc["spec"]["selector"].items()),
          "the gateway Service does not select the nodes")
    ing = one(all_docs, "Ingress")
    back = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    check(back["name"] == "hippo-gateway" and back["port"]["name"] in
          [p["name"] for p in gwsvc["spec"]["ports"]], "the Ingress sends to the gateway")
    host = ing["spec"]["rules"][0]["host"]
    check(adv.startswith("wss://%s/" % host), "--advertise is on the Ingress's host %s" % host)
    cm = one(all_docs, "ConfigMap", "hippo-gateway")
    cfg = cm["data"]["haproxy.cfg"]
    check("hippo-nodes" in cfg and sts["spec"]["serviceName"] == "hippo-nodes",
          "the gateway finds the pods through the headless Service")
    check(re.search(r"set-dst-port int\(%d\)" % port, cfg) and
          re.search(r"hippo-nodes\.[^ ]*:%d" % port, cfg),
          "the gateway sends to the nodes' port %d" % port)
    bind = re.search(r"bind :(\d+)", cfg).group(1)
    gports = {p["name"]: p["containerPort"] for p in gwpod["spec"]["containers"][0]["ports"]}
    check(int(bind) == gports["http"], "the gateway listens on its containerPort")
    with tempfile.NamedTemporaryFile("w", suffix=".cfg") as f:
        f.write(cfg)
        f.flush()
        envh = dict(os.environ, POD_NAMESPACE="study")
        p = subprocess.run(["haproxy", "-c", "-f", f.name], capture_output=True, text=True,
                           env=envh, timeout=30)
    check(p.returncode == 0, "HAProxy accepts the gateway's configuration", p.stdout + p.stderr)


if __name__ == "__main__":
    main(run)
