// The game's websocket (shared/SPEC.md §3, docs/protocol.md): its URL, the
// handshake, the timing fields every message carries, the decoding of the
// server's messages (binary and JSON frames, `done`, pings) and the
// reconnect with back-off. What the page shows is up to its owner
// (game.js), told through callbacks.

import { debugLog } from './debug.js';
import { CLOSE } from './close-codes.js';

// Retries after 0.25 s, 0.5 s, 1 s, then every 2 s, each asking /next where
// the game is first: a game whose node died goes on elsewhere about a second
// after its websocket dropped (the node answering the first /next checks the
// dead node at once, the second /next places the game again; docs/cluster.md).
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 2000;

// The websocket URL: explicit (from /next or the `server` parameter; http(s)
// and relative URLs are converted), else ws(s)://<this host>/ws.
export function wsUrl(server) {
	const base = new URL(document.baseURI);
	base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
	if (!server)
		return new URL('ws', base).toString();
	const u = new URL(server, base);
	if (u.protocol === 'http:')
		u.protocol = 'ws:';
	else if (u.protocol === 'https:')
		u.protocol = 'wss:';
	return u.toString();
}

function base64ToBytes(b64) {
	const s = atob(b64);
	const out = new Uint8Array(s.length);
	for (let i = 0; i < s.length; i++)
		out[i] = s.charCodeAt(i);
	return out;
}

function sniffType(bytes) {
	if (bytes[0] === 0x89 && bytes[1] === 0x50)
		return 'image/png';
	return 'image/jpeg';
}

// Decodes one binary frame message (hippo's opt-in binary frames): a 16-byte
// header (byte 0: type 1; bytes 4-7: frameId, u32 big-endian; bytes 8-15:
// the server's send time in ms, u64 big-endian) then the JPEG or PNG bytes.
// Returns {meta: {frameId, serverTime}, bytes} or null.
export function parseBinaryFrame(buf) {
	if (buf.byteLength < 17)
		return null;
	const dv = new DataView(buf);
	if (dv.getUint8(0) !== 1)
		return null;
	return {
		meta: { frameId: dv.getUint32(4, false), serverTime: Number(dv.getBigUint64(8, false)) },
		bytes: new Uint8Array(buf, 16),
	};
}

export class Connection {
	// OPTS: {url, identity: {projectId, userId},
	//        jsonFrames: ask for base64 JSON frames instead of binary ones,
	//        timing(): {frameId, shownAt, count} of the frame on screen,
	//        onOpen(reconnect): connected (again), handshake sent,
	//        onFrame(blob, meta): a frame arrived (meta: frameId, borderColor...),
	//        onMessage(msg): a JSON message (after its ping and frame are handled),
	//        onDone(): the server said `done`,
	//        onClose(code, reason): the server closed the connection (a reconnect
	//        follows unless the code is CLOSE.TAKEN_OVER),
	//        onBadUrl(): the URL is not a websocket URL,
	//        locate(): asks the study flow where the game is now, before each
	//        reconnect (optional): resolves {moved: true} when the study has
	//        moved past the game, else {server: its websocket URL or null}
	//        (with several nodes a game lost with its node goes on elsewhere),
	//        onMoved(): the study has moved past the game}
	constructor(opts) {
		this.opts = opts;
		this.url = opts.url;
		this.ws = null;
		this.stopped = false;
		this.attempts = 0;
		this.everConnected = false;
		this.reconnectTimer = 0;
	}

	// Connects (again, after a take-over: the participant asked).
	open() {
		if (this.stopped)
			return;
		debugLog('info', 'ws', `connecting to ${this.url}`);
		let ws;
		try {
			ws = new WebSocket(this.url);
		} catch (e) {
			this.opts.onBadUrl();
			return;
		}
		ws.binaryType = 'arraybuffer';
		this.ws = ws;
		ws.onopen = () => {
			if (ws !== this.ws)
				return;
			const reconnect = this.everConnected;
			this.everConnected = true;
			this.attempts = 0;
			const hs = { userId: this.opts.identity.userId, projectId: this.opts.identity.projectId };
			// Binary frames unless the link says frames=json (base64 JSON frames
			// work with every server, the original's included).
			if (!this.opts.jsonFrames)
				hs.accept = ['binary'];
			this.sendRaw(hs);
			this.opts.onOpen(reconnect);
		};
		ws.onmessage = (e) => {
			if (ws === this.ws)
				this.receive(e.data);
		};
		ws.onclose = (e) => {
			if (ws !== this.ws)
				return;
			debugLog('info', 'ws', `closed (code ${e.code}${e.reason ? `, ${e.reason}` : ''})`);
			this.ws = null;
			if (this.stopped)
				return;
			this.opts.onClose(e.code, e.reason);
			// Taken over: no reconnect (two windows would take the game from
			// each other forever) until open() is called again.
			if (e.code === CLOSE.TAKEN_OVER)
				return;
			// Moved: the game is on another node; ask where at once.
			if (e.code === CLOSE.MOVED)
				this.attempts = 0;
			this.scheduleReconnect();
		};
		ws.onerror = () => {
			debugLog('info', 'ws', 'error');
		};
	}

	// Stops for good (socket and reconnect timer).
	close() {
		this.stopped = true;
		clearTimeout(this.reconnectTimer);
		if (this.ws) {
			this.ws.onclose = null;
			this.ws.close(CLOSE.NORMAL);
			this.ws = null;
		}
	}

	scheduleReconnect() {
		const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempts);
		this.attempts++;
		if (!this.stopped)
			this.reconnectTimer = setTimeout(() => this.reconnect(), delay);
	}

	// Before connecting again, ask the study flow where the game is: over
	// (ended while we were away: move on), or on which server (another node
	// after its own was lost or drained). A failed question keeps the URL.
	async reconnect() {
		if (this.stopped)
			return;
		if (this.opts.locate) {
			let where = null;
			try {
				where = await this.opts.locate();
			} catch (e) {
				where = null;
			}
			if (this.stopped)
				return;
			if (where && where.moved) {
				this.opts.onMoved();
				return;
			}
			if (where && where.server) {
				const url = wsUrl(where.server);
				if (url !== this.url)
					debugLog('info', 'ws', `the game is now at ${url}`);
				this.url = url;
			}
		}
		this.open();
	}

	// Sends OBJ with the timing fields every message carries: the frame on
	// screen (frameId), how many frames were received (frameCount) and the ms
	// since that frame appeared (sinceFrameMs).
	send(obj) {
		const t = this.opts.timing();
		if (t.frameId > 0) {
			obj.frameId = t.frameId;
			obj.sinceFrameMs = Math.round((performance.now() - t.shownAt) * 10) / 10;
		}
		obj.frameCount = t.count;
		return this.sendRaw(obj);
	}

	sendRaw(obj) {
		if (!this.ws || this.ws.readyState !== WebSocket.OPEN)
			return false;
		const text = JSON.stringify(obj);
		this.ws.send(text);
		debugLog('out', 'ws', text);
		return true;
	}

	receive(data) {
		if (typeof data !== 'string') {
			debugLog('in', 'ws', data);
			const f = parseBinaryFrame(data);
			if (f)
				this.opts.onFrame(new Blob([f.bytes], { type: sniffType(f.bytes) }), f.meta);
			return;
		}
		if (data === 'done') {
			debugLog('in', 'ws', data);
			this.opts.onDone();
			return;
		}
		let msg;
		try {
			msg = JSON.parse(data);
		} catch (e) {
			debugLog('in', 'ws', data);
			return;
		}
		debugLog('in', 'ws', data);
		if (!msg || typeof msg !== 'object')
			return;
		if ('ping' in msg)
			this.send({ pong: msg.ping });
		if (typeof msg.frame === 'string') {
			let bytes;
			try {
				bytes = base64ToBytes(msg.frame);
			} catch (e) {
				bytes = null;
			}
			if (bytes)
				this.opts.onFrame(new Blob([bytes], { type: sniffType(bytes) }), msg);
		}
		this.opts.onMessage(msg);
	}
}
