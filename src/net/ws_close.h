/* ws_close: the codes the server closes a game's websocket with, named once
 * (docs/protocol.md, "Close codes"; the participant UI names the same
 * numbers). Includes nothing. */
#ifndef HIPPO_NET_WS_CLOSE_H
#define HIPPO_NET_WS_CLOSE_H

enum ws_close {
	WS_CLOSE_DONE = 1000,           /* the trial is over: "done" was sent */
	WS_CLOSE_SHUTTING_DOWN = 1001,  /* a handshake while the server stops */
	WS_CLOSE_BINARY_REFUSED = 1003, /* a binary message before the handshake */
	WS_CLOSE_REFUSED = 1008,        /* refused or dropped by a rule: no or a bad handshake, no
					   session, a limit, "please try again"; the UI asks /next */
	WS_CLOSE_TOO_LARGE = 1009,      /* a message over trial.maxMessageBytes */
	WS_CLOSE_TAKEN_OVER = 4001,     /* a newer connection of the participant took the game */
	WS_CLOSE_MOVED = 4002,          /* the participant's game is on another node: the reason is
					   its websocket URL (when it fits); the UI asks /next */
};

#endif
