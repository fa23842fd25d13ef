"""Restart safety: participants continue from their stored step after a
graceful restart and after kill -9; a participant whose game session was
running gets a new session (show_game_page again) and can play it to done."""
import asyncio
import signal
import uuid

from serveutil import EXAMPLE, Serve, check, main, play_until_done, wait_for

P = "cartpole-demo"


def test():
    srv = Serve(EXAMPLE)
    data = srv.data
    early, gamer, late = ("u%s" % uuid.uuid4().hex[:12] for _ in range(3))
    try:
        srv.next(P, early, {"consent": "yes"})                       # at step 2
        srv.next(P, gamer, {"consent": "yes"})
        st, j = srv.next(P, gamer, {})                              # at the game
        check(j["page"] == "show_game_page", "the gamer is on the game step")
        srv.next(P, late, {})
        srv.next(P, late, {})
        srv.next(P, late, {})                                        # game step
        # kill -9 in the middle: nothing is flushed by the process itself.
        srv.expect_exit(-signal.SIGKILL)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(10)
        rc, _ = srv.stop()
        check(rc == -signal.SIGKILL, "the server died of the SIGKILL (exit status %s)" % rc)

        srv = Serve(EXAMPLE, data=data)
        st, j = srv.next(P, early)
        check(st == 200 and j["step"] == 2 and "Instructions" in j["page"],
              "after kill -9 the early participant is still at step 2")
        st, j = srv.next(P, gamer)
        check(j["page"] == "show_game_page" and j["step"] == 3,
              "the participant whose session was running gets a new one: %s" % j["page"])
        st, parts, _ = srv.admin("GET", "/projects/%s/participants" % P)
        me = [p for p in parts if p["userId"] == gamer][0]
        reasons = [s["reason"] for s in me["sessions"]]
        check(reasons[0] == "restart" and len(reasons) == 2 and reasons[1] is None,
              "the lost session is recorded as ended by the restart, a new one is open: %s"
              % reasons)
        frames = asyncio.run(play_until_done(j["server"], P, gamer, stop_after=5))
        check(frames >= 5, "the re-allocated session plays (%d frames, then stop)" % frames)
        j = wait_for(lambda: (lambda r: r[1] if r[1].get("step") == 4 else None)(srv.next(P, gamer)),
                     "the step after the game")
        check(j["step"] == 4, "after the game ends, the survey")

        # A graceful restart in the middle of a game.
        st, j = srv.next(P, late)
        check(j["page"] == "show_game_page", "the other participant's game is allocated again")
        rc, err = srv.stop()
        check(rc == 0, "graceful stop")
        srv = Serve(EXAMPLE, data=data)
        st, j = srv.next(P, late)
        check(j["page"] == "show_game_page", "after a graceful restart the game comes back")
        st, parts, _ = srv.admin("GET", "/projects/%s/participants" % P)
        me = [p for p in parts if p["userId"] == late][0]
        reasons = [s["reason"] for s in me["sessions"]]
        check(reasons == ["restart", "shutdown", None],
              "sessions: lost to kill -9, ended by the graceful shutdown, new: %s" % reasons)
        st, j = srv.next(P, gamer)
        check(j["step"] == 4, "finished participants stay where they were")
        rc, err = srv.stop()
        check(rc == 0 and "runtime error" not in err, "clean shutdown")
    finally:
        if srv.proc.poll() is None:
            srv.stop()
        srv.cleanup()
        import shutil, os
        shutil.rmtree(os.path.dirname(data), ignore_errors=True)


main(test)
