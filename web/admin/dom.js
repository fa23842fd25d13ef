// DOM helpers. Everything from the server is put in the page as text
// (textContent, attributes), never parsed as HTML: a participant's answer
// that holds markup is shown as the characters it is.

// h('div', {class: 'x', onclick: fn}, 'text', child, ...): an element.
export function h(tag, attrs, ...children) {
	const svg = tag.startsWith('svg:');
	const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
		: document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'class' && !svg)
			el.className = v;
		else
			el.setAttribute(k, v === true ? '' : String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === undefined || c === null || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else if (c instanceof Node)
			el.append(c);
		else
			el.append(document.createTextNode(String(c)));
	}
}

export function clear(el) {
	while (el.firstChild)
		el.firstChild.remove();
	return el;
}

export function fmtInt(n) {
	return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US');
}

export function fmtPct(x) {
	return x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)} %`;
}

export function fmtMs(ms) {
	if (ms === null || ms === undefined)
		return '–';
	if (ms < 1000)
		return `${Math.round(ms)} ms`;
	const s = ms / 1000;
	if (s < 60)
		return `${s.toFixed(1)} s`;
	const m = Math.floor(s / 60);
	if (m < 60)
		return `${m} min ${Math.round(s % 60)} s`;
	return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function fmtTime(iso) {
	if (!iso)
		return '–';
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { hour12: false });
}

// A cancellable timer loop: calls FN now and every MS until stop().
export function every(ms, fn) {
	let t = null;
	let stopped = false;
	const run = async () => {
		try {
			await fn();
		} finally {
			if (!stopped)
				t = setTimeout(run, ms);
		}
	};
	run();
	return { stop() { stopped = true; clearTimeout(t); } };
}
