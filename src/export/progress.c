/* progress: see progress.h. */
#include "export/progress.h"

#include "core/clock.h"

void exp_progress_init(struct exp_progress *p, bool on, FILE *f, const char *label)
{
	*p = (struct exp_progress){.on = on, .f = f ? f : stderr, .label = label,
				   .start = clock_mono_s()};
}

void exp_progress_draw(struct exp_progress *p, long long bytes, long long steps, bool final)
{
	if (!p->on)
		return;
	double now = clock_mono_s();
	if (!final && now - p->last < 0.2)
		return;
	p->last = now;
	double frac = p->total > 0 ? (double)bytes / (double)p->total : 1.0;
	if (frac > 1)
		frac = 1;
	double el = now - p->start;
	if (p->label) {
		fprintf(p->f, "\r%s: ", p->label);
	} else {
		char bar[31];
		int fill = (int)(frac * 30);
		for (int i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '-';
		bar[30] = '\0';
		fprintf(p->f, "\r[%s] ", bar);
	}
	fprintf(p->f, "%5.1f%%  %lld steps  %.1f MB/s  %.0fs ", frac * 100, steps,
		el > 0 ? (double)bytes / 1e6 / el : 0, el);
	if (final)
		fputc('\n', p->f);
	fflush(p->f);
}
