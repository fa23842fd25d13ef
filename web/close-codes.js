// The close codes of the game's websocket and the reasons the server sends
// with them (docs/protocol.md, "Close codes"; the C side uses the same names).

export const CLOSE = Object.freeze({
	NORMAL: 1000,           // the trial is over ("done"); also the page leaving the game
	GOING_AWAY: 1001,       // the server is shutting down
	UNSUPPORTED_DATA: 1003, // a binary message before the handshake
	REFUSED: 1008,          // refused: no or bad handshake, no session, server full, abuse
	TOO_LARGE: 1009,        // a message over trial.maxMessageBytes
	TAKEN_OVER: 4001,       // a newer connection of the same participant took the game over
	MOVED: 4002,            // the game is on another node (several nodes): ask /next where
});

// The fixed reasons (REFUSED also carries the handshake's or the session's
// own error, e.g. "no session for this participant").
export const CLOSE_REASON = Object.freeze({
	DONE: 'done',
	SHUTTING_DOWN: 'server shutting down',
	BINARY: 'binary messages are not accepted',
	NO_HANDSHAKE: 'no handshake',
	NOT_HANDSHAKE: 'expected the handshake {"userId": ..., "projectId": ...}',
	INCOMPLETE: 'message incomplete for too long',
	RATE_LIMIT: 'message rate limit exceeded',
	TRY_AGAIN: 'please try again',
	TOO_LARGE: 'message too large',
	TAKEN_OVER: 'replaced by a newer connection of this participant',
});
