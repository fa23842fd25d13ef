// Small view helpers shared by the pages: the page frame (step indicator,
// notices), the waiting and error views, the modal and the code box.

// Creates an element: el('p', {className: 'x'}, 'text', child...).
export function el(tag, props, ...children) {
	const e = document.createElement(tag);
	if (props) {
		for (const [k, v] of Object.entries(props)) {
			if (v === undefined || v === null || v === false)
				continue;
			if (k === 'className')
				e.className = v;
			else if (k === 'text')
				e.textContent = v;
			else if (k === 'dataset')
				Object.assign(e.dataset, v);
			else if (k.startsWith('on') && typeof v === 'function')
				e.addEventListener(k.slice(2), v);
			else if (v === true)
				e.setAttribute(k, '');
			else
				e.setAttribute(k, String(v));
		}
	}
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		e.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return e;
}

export function appRoot() {
	return document.getElementById('app');
}

// Replaces the page's content and sets the page kind (a body class used by
// the stylesheet: step, wait, game, error, final).
export function showView(kind, ...nodes) {
	const root = appRoot();
	root.replaceChildren(...nodes);
	document.body.dataset.view = kind;
	window.scrollTo(0, 0);
}

// "Step k of n" in the header (hidden when unknown) and the progress bar.
export function setStep(k, n) {
	const ind = document.getElementById('step-indicator');
	const bar = document.getElementById('step-progress');
	const known = Number.isInteger(n) && n > 0;
	if (Number.isInteger(k) && k > 0) {
		if (known && k > n)
			ind.textContent = 'Complete';
		else
			ind.textContent = known ? `Step ${k} of ${n}` : `Step ${k}`;
		bar.style.width = known ? `${Math.round(100 * Math.min(k, n) / n)}%` : '0';
	} else {
		ind.textContent = '';
		bar.style.width = '0';
	}
}

let noticeTimer = 0;

// A one-line notice under the header. KIND: info, warn, error; TIMEOUT_MS:
// hide it after that long (0: keep until cleared).
export function notice(text, kind = 'info', timeoutMs = 0) {
	const n = document.getElementById('notice');
	clearTimeout(noticeTimer);
	if (!text) {
		n.hidden = true;
		n.textContent = '';
		return;
	}
	n.className = `notice notice--${kind}`;
	n.textContent = text;
	n.hidden = false;
	if (timeoutMs > 0)
		noticeTimer = setTimeout(() => notice(''), timeoutMs);
}

export function spinnerCard(message) {
	return el('div', { className: 'card card--center', 'aria-busy': 'true' },
		el('div', { className: 'spinner', 'aria-hidden': 'true' }),
		el('p', { className: 'wait-message', role: 'status', text: message }));
}

export function errorCard(title, message, retry) {
	return el('div', { className: 'card card--center', role: 'alert' },
		el('h1', { className: 'card__title', text: title }),
		el('p', { text: message }),
		retry ? el('button', { type: 'button', className: 'btn btn--primary', onclick: retry,
			text: 'Try again' }) : null);
}

// Copies TEXT to the clipboard; resolves to true on success.
export async function copyText(text) {
	try {
		await navigator.clipboard.writeText(text);
		return true;
	} catch (e) {
		const ta = el('textarea', { className: 'visually-hidden', readonly: true });
		ta.value = text;
		document.body.append(ta);
		ta.select();
		let ok = false;
		try {
			ok = document.execCommand('copy');
		} catch (e2) {
			ok = false;
		}
		ta.remove();
		return ok;
	}
}

// The completion code box: the code, selectable, and a copy button; LABELED:
// with a "Your completion code" title (when the page does not say it).
export function codeBox(code, labeled) {
	const value = el('output', { className: 'code-box__value', text: code });
	const status = el('span', { className: 'visually-hidden', role: 'status' });
	const btn = el('button', { type: 'button', className: 'btn code-box__copy', text: 'Copy' });
	btn.addEventListener('click', async () => {
		const ok = await copyText(code);
		status.textContent = ok ? 'Copied' : 'Select the code and copy it';
		btn.textContent = ok ? 'Copied ✓' : 'Copy';
		setTimeout(() => { btn.textContent = 'Copy'; status.textContent = ''; }, 2500);
	});
	return el('div', { className: 'code-box', dataset: { code } },
		labeled ? el('span', { className: 'code-box__label', text: 'Your completion code' }) : null,
		el('div', { className: 'code-box__row' }, value, btn, status));
}

// A modal dialog with a title, a message and one button; resolves when the
// button is pressed.
export function modal(title, message, buttonText) {
	return new Promise((resolve) => {
		const btn = el('button', { type: 'button', className: 'btn btn--primary', text: buttonText });
		const box = el('div', { className: 'modal__box', role: 'dialog', 'aria-modal': 'true',
			'aria-labelledby': 'modal-title' },
		el('h2', { id: 'modal-title', className: 'modal__title', text: title }),
		el('p', { text: message }), btn);
		const overlay = el('div', { className: 'modal' }, box);
		btn.addEventListener('click', () => {
			overlay.remove();
			resolve();
		});
		overlay.addEventListener('keydown', (e) => {
			if (e.key === 'Tab') { // the only focusable element: keep focus on it
				e.preventDefault();
				btn.focus();
			}
		});
		document.body.append(overlay);
		btn.focus();
	});
}
