"""A study deployed through the admin API of one node reaches every node
(docs/cluster.md, "Deploying"): three nodes sharing one store
(HIPPO_TEST_STORE, else an SQLite file) serve the study from their own
folders; a new version deployed through node a's /api/projects/<id>/deploy
is served by every node's /next within seconds (each node asked on its own
port), with the same version number everywhere; a node started after the
deploy serves it from its first answer; a version the nodes' checks refuse
is refused by the node it is deployed to and changes nothing elsewhere; the
study's live switch turned off and on through one node reaches every node
(/next answers 400, the original's answer for no such study, then 200)."""
import os
import shutil
import tempfile
import time

from clusterutil import Node, http, store_spec
from serveutil import EXAMPLE, TOKEN, check, main, wait_for

PID = "dep"


def study(root):
    d = os.path.join(root, PID)
    shutil.copytree(EXAMPLE, d)
    path = os.path.join(d, "config.yml")
    with open(path) as f:
        text = f.read().replace("id: cartpole-demo", "id: " + PID)
    with open(path, "w") as f:
        f.write(text)
    return d


def page(node, user):
    st, j = http(node.url, "GET", "/next?projectId=%s&userId=%s" % (PID, user))
    check(st == 200, "node %s answers /next" % node.node, j)
    return j["page"]


def version(node):
    st, j = http(node.url, "GET", "/api/projects", token=TOKEN)
    check(st == 200, "node %s lists its projects" % node.node, j)
    return [p["version"] for p in j if p["id"] == PID][0]


def run():
    tmp = tempfile.mkdtemp(prefix="hippo-cluster-deploy-")
    env = dict(os.environ, HIPPO_ADMIN_TOKEN=TOKEN)
    store = store_spec(tmp)
    d = study(os.path.join(tmp, "studies"))
    origin = "http://127.0.0.1:9"  # advertised only: no game is played here

    def start(name):
        return Node(name, origin, store, [d], env, data=os.path.join(tmp, "data-" + name),
                    args=("--records-local",))

    nodes = {n: start(n) for n in ("a", "b", "c")}
    for n in nodes.values():
        check("Version two" not in page(n, "u0-" + n.node), "node %s serves the folder's "
              "version" % n.node)
    v0 = version(nodes["a"])

    with open(os.path.join(d, "config.yml")) as f:
        config = f.read()
    files = {}
    for name in os.listdir(os.path.join(d, "StepFiles")):
        with open(os.path.join(d, "StepFiles", name)) as f:
            files[name] = f.read()
    files["consent.html"] = "<h1>Version two</h1><p>Deployed through node a.</p>\n"
    t0 = time.monotonic()
    st, j = http(nodes["a"].url, "POST", "/api/projects/%s/deploy" % PID,
                 {"config": config, "files": files}, token=TOKEN)
    check(st == 200, "node a takes the deploy", j)
    check("Version two" in page(nodes["a"], "u1-a"), "node a serves the new version at once")
    took = {}
    for n in ("b", "c"):
        wait_for(lambda: "Version two" in page(nodes[n], "u1-%s-%d" % (n, time.monotonic_ns())),
                 "node %s to serve the new version" % n, timeout=15, every=0.2)
        took[n] = time.monotonic() - t0
    print("     seconds from the deploy to the new version on b, c: %.1f, %.1f" %
          (took["b"], took["c"]))
    check(max(took.values()) < 10, "every node serves it within seconds")
    vs = {n: version(x) for n, x in nodes.items()}
    check(len(set(vs.values())) == 1 and vs["a"] == v0 + 1,
          "one version number on every node (%d before): %s" % (v0, vs))

    late = start("d")
    check("Version two" in page(late, "u2-d"), "a node started after the deploy serves it")
    check(version(late) == vs["a"], "with the same version number: %d" % version(late))

    # a refused version changes nothing anywhere
    st, j = http(nodes["b"].url, "POST", "/api/projects/%s/deploy" % PID,
                 {"config": config.replace("id: " + PID, "id: other"), "files": files},
                 token=TOKEN)
    check(st == 400, "a deploy whose id does not match is refused", j)
    time.sleep(2.5)
    check(all(version(x) == vs["a"] for x in list(nodes.values()) + [late]),
          "and no node's version moved")

    # the live switch turned through one node reaches the others
    def live_answer(node):
        st, _ = http(node.url, "GET", "/next?projectId=%s&userId=l-%d" % (PID, time.monotonic_ns()))
        return st
    for on, want in ((False, 400), (True, 200)):  # 400: the original's "not found"
        st, j = http(nodes["c"].url, "POST", "/api/projects/%s/live" % PID, {"live": on},
                     token=TOKEN)
        check(st == 200, "node c turns the study %s" % ("on" if on else "off"), j)
        t0 = time.monotonic()
        for n in ("a", "b", "d"):
            x = late if n == "d" else nodes[n]
            wait_for(lambda: live_answer(x) == want, "node %s to answer %d" % (n, want),
                     timeout=10, every=0.2)
        print("     seconds from the switch (%s) to every node: %.1f" % (
            "on" if on else "off", time.monotonic() - t0))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(run, timeout=120)
