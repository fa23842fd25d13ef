// Step pages: the HTML of a step file (from /next) shown inside a form. The
// form's fields are sent as one JSON object, values exactly as entered.

import { el, showView, codeBox } from './ui.js';

const EXIT_TEXT = 'You may exit now';

// The form's answers: {name: value}. Text-like inputs, textareas, numbers and
// ranges give their string as typed (no trimming, no conversion); a select its
// value (an array for multiple); a radio group the checked value or ""; a
// lone checkbox its value or ""; a group of checkboxes sharing a name the
// array of checked values. Unnamed, disabled, button and file fields are
// skipped.
export function collectFields(form) {
	const out = {};
	const checkboxCount = {};
	for (const f of form.elements)
		if (f.name && f.type === 'checkbox' && !f.disabled)
			checkboxCount[f.name] = (checkboxCount[f.name] || 0) + 1;
	for (const f of form.elements) {
		if (!f.name || f.disabled)
			continue;
		const type = (f.type || '').toLowerCase();
		if (['submit', 'button', 'reset', 'image', 'file', 'fieldset'].includes(type) ||
			f.tagName === 'BUTTON' || f.tagName === 'FIELDSET' || f.tagName === 'OUTPUT' ||
			f.tagName === 'OBJECT')
			continue;
		if (type === 'radio') {
			if (!(f.name in out))
				out[f.name] = '';
			if (f.checked)
				out[f.name] = f.value;
		} else if (type === 'checkbox') {
			if (checkboxCount[f.name] > 1) {
				if (!Array.isArray(out[f.name]))
					out[f.name] = [];
				if (f.checked)
					out[f.name].push(f.value);
			} else {
				out[f.name] = f.checked ? f.value : '';
			}
		} else if (f.tagName === 'SELECT' && f.multiple) {
			out[f.name] = Array.from(f.selectedOptions, (o) => o.value);
		} else {
			out[f.name] = f.value;
		}
	}
	return out;
}

// Replaces each <span class="MTURK_CODE"> by the completion code box. Returns
// how many were replaced.
function fillCodes(root, code) {
	const spans = root.querySelectorAll('.MTURK_CODE');
	for (const s of spans)
		s.replaceWith(codeBox(code));
	return spans.length;
}

const SUBMITTERS = 'button:not([type]), button[type="submit"], input[type="submit"], ' +
	'input[type="image"]';

function hasOwnSubmit(form) {
	return form.querySelector(SUBMITTERS) !== null;
}

// Shows a field message under field NAME (or the form's message if absent).
function fieldError(form, name, message) {
	const f = form.elements.namedItem(name);
	const target = f && (f instanceof RadioNodeList ? f[0] : f);
	if (!target)
		return false;
	const id = `err-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
	const msg = el('p', { className: 'field-error', id, role: 'alert', text: String(message) });
	const anchor = target.closest('fieldset, label, .field, p, div') || target;
	anchor.after(msg);
	for (const x of (f instanceof RadioNodeList ? Array.from(f) : [f])) {
		x.setAttribute('aria-invalid', 'true');
		x.setAttribute('aria-describedby', id);
	}
	return true;
}

function clearErrors(form) {
	for (const e of form.querySelectorAll('.field-error'))
		e.remove();
	for (const f of form.querySelectorAll('[aria-invalid]')) {
		f.removeAttribute('aria-invalid');
		f.removeAttribute('aria-describedby');
	}
	const fe = form.querySelector('.form-error');
	fe.hidden = true;
	fe.textContent = '';
}

// Shows the step page. PAGE: the answer of /next ({page: html, ...});
// OPTS.code: the completion code to show; OPTS.onSubmit(fields): resolves
// when the next page is shown, or rejects with an error ({message, fields})
// shown beside the form; OPTS.final: this is the last page.
export function renderStep(page, opts) {
	const content = el('div', { className: 'step-content' });
	content.innerHTML = page.page;
	// Scripts in a step file are not run (innerHTML never runs them); drop
	// them so they are not left as dead text for assistive technology.
	for (const s of content.querySelectorAll('script'))
		s.remove();
	// A step file with its own <form>: its fields belong to the page's form.
	for (const f of content.querySelectorAll('form'))
		f.replaceWith(...f.childNodes);
	const codes = fillCodes(content, opts.code);
	const exit = content.textContent.includes(EXIT_TEXT);
	// The end of the study: nothing to submit, so no button that would do
	// nothing (a step file's own "Next" included).
	const end = exit || opts.final;
	if (end)
		for (const b of content.querySelectorAll(SUBMITTERS))
			b.remove();
	const form = el('form', { className: 'step card', method: 'post', action: '#',
		'aria-label': 'Study step' }, content);
	const formError = el('div', { className: 'form-error', role: 'alert', hidden: true });
	form.append(formError);
	let button = null;
	if (!end) {
		if (!hasOwnSubmit(form)) {
			button = el('button', { type: 'submit', className: 'btn btn--primary step__submit',
				text: opts.buttonText || 'Next' });
			form.append(el('div', { className: 'step__actions' }, button));
		}
	}
	if (end && codes === 0 && opts.showCode)
		form.append(codeBox(opts.code, true));
	let busy = false;
	form.addEventListener('submit', async (e) => {
		e.preventDefault();
		if (busy || end)
			return;
		clearErrors(form);
		if (!form.reportValidity())
			return;
		const submitters = form.querySelectorAll('button[type="submit"], button:not([type]), ' +
			'input[type="submit"]');
		busy = true;
		form.setAttribute('aria-busy', 'true');
		const labels = [];
		for (const b of submitters) {
			b.disabled = true;
			if (b.tagName === 'BUTTON') {
				labels.push([b, b.textContent]);
				b.textContent = 'Sending…';
			}
		}
		try {
			await opts.onSubmit(collectFields(form));
		} catch (err) {
			let placed = false;
			if (err && err.fields)
				for (const [name, m] of Object.entries(err.fields))
					placed = fieldError(form, name, m) || placed;
			if (!placed || (err && err.message)) {
				formError.textContent = err && err.status >= 400
					? `Your answers could not be saved: ${err.message}`
					: (err && err.message) || 'Your answers could not be sent.';
				formError.hidden = false;
			}
			formError.scrollIntoView({ block: 'nearest' });
			const first = form.querySelector('[aria-invalid="true"]');
			if (first)
				first.focus();
		} finally {
			busy = false;
			form.removeAttribute('aria-busy');
			for (const b of submitters)
				b.disabled = false;
			for (const [b, t] of labels)
				b.textContent = t;
		}
	});
	showView(end ? 'final' : 'step', form);
	// Keyboard and screen-reader users start at the top of the new page
	// (focusing a field instead would open the keyboard on phones).
	document.getElementById('app').focus({ preventScroll: true });
	return form;
}
