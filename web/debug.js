// The message viewer shown with ?debug=true: every message to and from the
// servers (the /next API and the trial websocket), newest last, bounded.

const MAX_ROWS = 300;
let panel = null;
let list = null;
let paused = false;
let count = 0;

// Shortens a message for display: frames are replaced by their size.
function summarize(msg) {
	if (msg instanceof ArrayBuffer || ArrayBuffer.isView(msg))
		return `<binary ${msg.byteLength} bytes>`;
	if (typeof msg !== 'string')
		msg = JSON.stringify(msg);
	return msg.replace(/"frame":"([A-Za-z0-9+/=]{64,})"/g,
		(m, b64) => `"frame":"<base64 ${b64.length} chars>"`);
}

export function debugEnabled() {
	return panel !== null;
}

// Shows the viewer (once).
export function debugInit() {
	if (panel)
		return;
	panel = document.getElementById('debug');
	panel.hidden = false;
	document.body.classList.add('has-debug');
	const bar = document.createElement('div');
	bar.className = 'debug__bar';
	const title = document.createElement('strong');
	title.textContent = 'Messages';
	const counter = document.createElement('span');
	counter.className = 'debug__count';
	counter.id = 'debug-count';
	const pause = document.createElement('button');
	pause.type = 'button';
	pause.className = 'btn btn--small';
	pause.textContent = 'Pause';
	pause.addEventListener('click', () => {
		paused = !paused;
		pause.textContent = paused ? 'Resume' : 'Pause';
	});
	const clear = document.createElement('button');
	clear.type = 'button';
	clear.className = 'btn btn--small';
	clear.textContent = 'Clear';
	clear.addEventListener('click', () => { list.textContent = ''; });
	const hide = document.createElement('button');
	hide.type = 'button';
	hide.className = 'btn btn--small';
	hide.textContent = 'Hide';
	hide.setAttribute('aria-expanded', 'true');
	hide.addEventListener('click', () => {
		const collapsed = panel.classList.toggle('debug--collapsed');
		hide.textContent = collapsed ? 'Show' : 'Hide';
		hide.setAttribute('aria-expanded', String(!collapsed));
	});
	bar.append(title, counter, pause, clear, hide);
	list = document.createElement('ol');
	list.className = 'debug__list';
	list.id = 'debug-list';
	panel.append(bar, list);
}

// Records one message. DIR is 'in' (from a server), 'out' (to a server) or
// 'info' (a local event: connect, close...); CHANNEL names where it went.
export function debugLog(dir, channel, msg) {
	if (!panel)
		return;
	count++;
	document.getElementById('debug-count').textContent = String(count);
	if (paused)
		return;
	const li = document.createElement('li');
	li.className = `debug__row debug__row--${dir}`;
	li.dataset.dir = dir;
	li.dataset.channel = channel;
	const t = document.createElement('span');
	t.className = 'debug__time';
	t.textContent = (performance.now() / 1000).toFixed(3);
	const arrow = document.createElement('span');
	arrow.className = 'debug__dir';
	arrow.textContent = dir === 'in' ? '◀' : dir === 'out' ? '▶' : '•';
	const ch = document.createElement('span');
	ch.className = 'debug__channel';
	ch.textContent = channel;
	const body = document.createElement('code');
	body.className = 'debug__msg';
	body.textContent = summarize(msg);
	li.append(t, arrow, ch, body);
	const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
	list.append(li);
	while (list.childElementCount > MAX_ROWS)
		list.firstElementChild.remove();
	if (atBottom)
		list.scrollTop = list.scrollHeight;
}
