/* The PostgreSQL backend's request records (see store_pg.h): folded in
 * memory while they wait (a reload, a poll), then committed in batches on the
 * batch connection by the batch thread, folded into the participant's last
 * row when identical to it, each header set stored once per participant. */
#include <stdlib.h>
#include <string.h>

#include "store/store_pg.h"

static struct store__pg_param digest_param(const struct store__request *r)
{
	return (struct store__pg_param){
		.v = (const char *)r->digest, .len = (int)sizeof r->digest, .binary = true};
}

/* The id of R's header set for its participant, stored now if it is new and
 * the participant has fewer than STORE_HEADER_SETS_MAX; 0 when none, -1 on
 * error. */
static long long header_set(struct store__pg *s, const struct store__request *r)
{
	struct store__pg_conn *k = &s->batch;
	char b[24];
	if (!r->has_digest)
		return 0;
	PGresult *q = store__pg_run(s, k, PG_HSET_GET,
				    PG_PARAMS(PG_INT(b, r->pid), digest_param(r)), false);
	if (!q)
		return -1;
	long long id = PQntuples(q) ? store__pg_ll(q, 0, 0) : 0;
	PQclear(q);
	if (id)
		return id;
	q = store__pg_run(s, k, PG_HSET_COUNT, PG_PARAMS(PG_INT(b, r->pid)), false);
	if (!q)
		return -1;
	long long n = store__pg_ll(q, 0, 0);
	PQclear(q);
	if (n >= STORE_HEADER_SETS_MAX)
		return 0;
	q = store__pg_run(
		s, k, PG_HSET_INSERT,
		PG_PARAMS(PG_INT(b, r->pid), digest_param(r), PG_STR(r->headers), PG_STR(r->time)),
		false);
	if (!q)
		return -1;
	id = PQntuples(q) ? store__pg_ll(q, 0, 0) : 0;
	PQclear(q);
	if (id)
		return id;
	/* stored by another server meanwhile */
	q = store__pg_run(s, k, PG_HSET_GET, PG_PARAMS(PG_INT(b, r->pid), digest_param(r)), false);
	if (!q)
		return -1;
	id = PQntuples(q) ? store__pg_ll(q, 0, 0) : 0;
	PQclear(q);
	return id;
}

/* Stores one request record: folded into the participant's last row when
 * identical to it (or when the participant has STORE_REQUESTS_MAX rows),
 * else as a new row. */
static int request_store(struct store__pg *s, const struct store__request *r)
{
	struct store__pg_conn *k = &s->batch;
	char b1[24], b2[24], b3[24], b4[24];
	long long hset = header_set(s, r);
	if (hset < 0)
		return -1;
	PGresult *q = store__pg_run(s, k, PG_REQ_LAST, PG_PARAMS(PG_INT(b1, r->pid)), false);
	if (!q)
		return -1;
	long long last_id = 0;
	bool same = false;
	if (PQntuples(q)) {
		last_id = store__pg_ll(q, 0, 0);
		same = store__text_same(store__pg_text(q, 0, 1), r->method) &&
		       store__pg_ll(q, 0, 2) == r->step && store__pg_ll(q, 0, 3) == hset &&
		       store__text_same(store__pg_text(q, 0, 4), r->ip) &&
		       store__pg_ll(q, 0, 5) != 0;
	}
	PQclear(q);
	if (last_id && !same) {
		q = store__pg_run(s, k, PG_REQ_COUNT, PG_PARAMS(PG_INT(b1, r->pid)), false);
		if (!q)
			return -1;
		same = store__pg_ll(q, 0, 0) >= STORE_REQUESTS_MAX;
		PQclear(q);
	}
	const char *last = r->repeats ? r->last : r->time;
	if (same)
		return store__pg_exec(s, k, PG_REQ_FOLD,
				      PG_PARAMS(PG_INT(b1, last_id), PG_INT(b2, 1 + r->repeats),
						PG_STR(last))) < 0
			       ? -1
			       : 0;
	return store__pg_exec(s, k, PG_REQ_INSERT,
			      PG_PARAMS(PG_INT(b1, r->pid), PG_STR(r->time), PG_STR(r->method),
					PG_INT(b2, r->step), hset ? PG_INT(b3, hset) : PG_STR(NULL),
					PG_STR(r->ip), PG_INT(b4, r->repeats), PG_STR(last))) < 0
		       ? -1
		       : 0;
}

/* Stores BATCH in one transaction on the batch connection. */
static int batch_store(struct store__pg *s, const struct store__request *batch, size_t n)
{
	if (store__pg_begin(s, &s->batch) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (request_store(s, &batch[i]) < 0) {
			store__pg_rollback(s, &s->batch);
			return -1;
		}
	}
	if (store__pg_commit(s, &s->batch) == 0)
		return 0;
	store__pg_rollback(s, &s->batch);
	return -1;
}

int store__pg_flush_pending(struct store__pg *s)
{
	pthread_mutex_lock(&s->flush_mu); /* one batch at a time, in order */
	int rc = store__pg_flush_held(s);
	pthread_mutex_unlock(&s->flush_mu);
	return rc;
}

int store__pg_flush_held(struct store__pg *s)
{
	struct store__request *batch = NULL;
	size_t n;
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	n = s->npending;
	if (n) {
		batch = malloc(n * sizeof *batch);
		if (batch) {
			memcpy(batch, s->pending, n * sizeof *batch);
			s->npending = 0;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (n && !batch)
		rc = -1;
	if (batch) {
		PG_WITH_RETRY(s, &s->batch, rc, batch_store(s, batch, n));
		for (size_t i = 0; i < n; i++) {
			free((char *)batch[i].headers);
			free((char *)batch[i].ip);
		}
		free(batch);
	}
	return rc;
}

int store__pg_request_log(void *db, const struct store__request *n)
{
	struct store__pg *s = db;
	pthread_mutex_lock(&s->mu);
	/* The same request as the participant's previous pending one (a reload,
	 * a poll): counted in that one. */
	for (size_t i = s->npending; i-- > 0;) {
		struct store__request *r = &s->pending[i];
		if (r->pid != n->pid)
			continue;
		if (store__request_same(r, n)) {
			r->repeats++;
			memcpy(r->last, n->time, sizeof r->last);
			pthread_mutex_unlock(&s->mu);
			return 0;
		}
		break;
	}
	int rc = 0;
	while (s->npending == PG_PENDING_MAX && rc == 0) {
		pthread_mutex_unlock(&s->mu);
		rc = store__pg_flush_pending(s);
		pthread_mutex_lock(&s->mu);
	}
	if (s->npending == PG_PENDING_MAX) { /* the database refuses them: this one is lost */
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	struct store__request *k = &s->pending[s->npending++];
	*k = *n;
	k->headers = n->has_digest ? strdup(n->headers) : NULL;
	k->ip = n->ip ? strdup(n->ip) : NULL;
	k->has_digest = n->has_digest && k->headers;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__pg_flush(void *db)
{
	return store__pg_flush_pending(db);
}
