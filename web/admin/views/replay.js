// Not written yet.
import { h } from '../dom.js';

export async function render(main) {
	main.append(h('p', { class: 'card muted' }, 'Coming soon.'));
}
