// The game page: ties the websocket (game-connection.js), the page
// (game-view.js) and the participant's input (game-controls.js) together:
// the server's messages go to the panels, the connection's state to the
// indicator and the notices, the end of the game to the study.

import { notice, modal } from './ui.js';
import { CLOSE } from './close-codes.js';
import { Connection, wsUrl } from './game-connection.js';
import { Controls, systemInfo } from './game-controls.js';
import { GameView } from './game-view.js';

export class Game {
	// OPTS: {identity: {projectId, userId}, server: websocket URL or null,
	//        jsonFrames: ask for base64 JSON frames instead of binary ones,
	//        onDone(): called after the participant confirms the end,
	//        locate(): where the game is now, asked before each reconnect
	//        (game-connection.js; optional)}
	constructor(opts) {
		this.opts = opts;
		this.finished = false;
		this.view = new GameView({ onFirstFrame: () => this.updateHint() });
		const url = wsUrl(opts.server);
		this.conn = new Connection({
			url,
			identity: opts.identity,
			jsonFrames: opts.jsonFrames,
			timing: () => this.view.timing(),
			onOpen: (reconnect) => this.onOpen(reconnect),
			onFrame: (blob, meta) => this.view.showFrame(blob, meta),
			onMessage: (msg) => this.onMessage(msg),
			onDone: () => this.onDone(),
			onClose: (code, reason) => this.onClose(code, reason),
			onBadUrl: () => {
				this.view.setConn('lost', 'Cannot connect');
				notice(`The game server address is not valid: ${url}`, 'error');
			},
			locate: opts.locate ? () => opts.locate() : null,
			onMoved: () => {
				this.destroy();
				this.opts.onDone({ moved: true });
			},
		});
		this.controls = new Controls({
			panel: this.view.controls,
			keysHint: this.view.keysHint,
			canvas: this.view.canvas,
			send: (obj) => this.conn.send(obj),
			connected: () => this.conn.everConnected,
			onPlayState: () => this.updateHint(),
		});
		this.renderControls();
	}

	start() {
		this.conn.open();
	}

	// Stops everything (socket, timers, listeners).
	destroy() {
		this.finished = true;
		this.conn.close();
		this.view.destroy();
		this.controls.destroy();
	}

	onOpen(reconnect) {
		this.view.setConn('ok', 'Connected');
		if (reconnect) {
			// The server pauses a game whose connection dropped: resume it
			// if it was running.
			if (this.controls.playing)
				this.conn.send({ command: 'start', resumed: true, ...systemInfo() });
			notice('Reconnected. The game goes on.', 'info', 4000);
		} else {
			notice('');
		}
		this.view.waiting();
	}

	onClose(code, reason) {
		this.controls.releaseAll(false);
		if (code === CLOSE.TAKEN_OVER) {
			// Another window or tab of this participant took the game over:
			// no reconnect until the participant asks to play here again.
			this.view.setConn('lost', 'Open elsewhere');
			notice('');
			this.view.takenOver(() => this.conn.open());
			return;
		}
		this.view.setConn('lost', 'Reconnecting…');
		if (code === CLOSE.MOVED)
			notice('Moving your game to another server…', 'info');
		else if (code === CLOSE.REFUSED)
			notice(`The game server refused the connection${reason ? ` (${reason})` : ''}. Trying again…`,
				'warn');
		else
			notice('The connection to the game was lost. Reconnecting… your game is kept.', 'warn');
	}

	onMessage(msg) {
		if (Array.isArray(msg.UI))
			this.setUi(msg.UI);
		if (msg.display && typeof msg.display === 'object')
			this.view.setDisplay(msg.display);
		if ('inputBudget' in msg || 'usedInputBudget' in msg)
			this.view.setBudget(msg.inputBudget, msg.usedInputBudget);
		if (Array.isArray(msg.Instructions))
			this.view.setInstructions(msg.Instructions);
		if ('gameWindowWidth' in msg || 'gameWindowHeight' in msg || 'gameWindowSize' in msg)
			this.view.setWindowHints(msg);
		if (typeof msg.error === 'string')
			notice(msg.error, 'error', 8000);
	}

	setUi(list) {
		this.controls.setUi(list);
		this.renderControls();
	}

	renderControls() {
		this.updateHint();
		this.controls.render();
	}

	// "Press Start" over the frame, and the Start button highlighted, while a
	// game with a Start button is not running (before the first start, after
	// a pause, after a reload).
	updateHint() {
		const show = this.controls.ui.has('start') && !this.controls.playing &&
			this.view.frameCount > 0 && !this.finished;
		this.view.setHint(show, this.controls.paused);
		this.controls.highlightStart(show);
	}

	async onDone() {
		if (this.finished)
			return;
		this.controls.releaseAll();
		this.destroy();
		this.updateHint();
		this.view.setConn('done', 'Finished');
		notice('');
		await modal('You have completed this part',
			'Thank you! Press Continue to go on with the study.', 'Continue');
		this.opts.onDone({ moved: false });
	}
}
