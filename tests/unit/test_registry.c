// SPDX-License-Identifier: MIT
/*
 * Unit tests for the client-list registry store (registry/registry.c):
 * names, JSON against jansson, updates, limits, the journal (restart, torn
 * tail, compaction, disk full through RLIMIT_FSIZE, damaged records kept
 * aside and skipped, read-only state, fdatasync before the acknowledgement
 * and its failure through the salvo__registry_sys seam) and concurrent writers
 * and readers.  Also run in the tsan build (tests/run.sh runs files that
 * mention tsan): the concurrent test must be TSan-clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "registry/registry.h"

#include "registry/registry_internal.h"

#define SALVO_MIN_LEN(l) ((l) < 200 ? (l) : 200)
#define SALVO_ARRAY_SIZE_T(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__SANITIZE_THREAD__)
/*
 * liburcu is not built with TSan: its resize/teardown workqueue and
 * rcu_barrier()'s completion hand memory between its own threads through
 * futexes that TSan cannot see, so every report without a suppression is a
 * malloc/calloc called from liburcu against a free() called from liburcu
 * (49 in one run).  called_from_lib ignores exactly those interceptor calls
 * made by liburcu's own code.  It is not race:liburcu*.so, which matched any
 * report with a liburcu frame or liburcu-created thread anywhere: that hid
 * races in our own call_rcu callbacks (a counter written in entry_free_rcu
 * and in table_put was reported with this list and silent with that one).
 * Our own edges with liburcu (node publication, grace periods) are
 * annotated in registry/registry.c instead of suppressed.
 */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "called_from_lib:liburcu-cds.so\ncalled_from_lib:liburcu.so\n";
}
#endif

static char tmpdir[] = "/tmp/salvo-regtest-XXXXXX";

static struct salvo_registry *mk(const char *state, uint32_t max)
{
	struct salvo_registry_opts o = { .state_path = state, .max_clients = max };
	struct salvo_registry *r = NULL;
	char err[256] = "";
	int rc = salvo_registry_create(&r, &o, err, sizeof(err));

	if (rc)
		fail_msg("create: %d %s", rc, err);
	return r;
}

/* Parse the current list with jansson; checks it is valid JSON and an object. */
static json_t *list_json(struct salvo_registry *r, size_t *nlen)
{
	struct salvo_registry_reply *rep;
	json_error_t jerr;
	const char *d;
	size_t len;
	json_t *j;

	assert_int_equal(salvo_registry_list(r, salvo_registry_gen(r), &rep), 0);
	d = salvo_registry_reply_data(rep, &len);
	j = json_loadb(d, len, 0, &jerr);
	if (!j)
		fail_msg("reply is not JSON: %s: %.*s", jerr.text, (int)SALVO_MIN_LEN(len), d);
	assert_true(json_is_object(j));
	if (nlen)
		*nlen = len;
	salvo_registry_reply_put(rep);
	return j;
}

static void test_name_check(void **state)
{
	char big[300];

	(void)state;
	memset(big, 'a', sizeof(big));
	assert_int_equal(salvo_registry_name_check("", 0), -EINVAL);
	assert_int_equal(salvo_registry_name_check(big, 255), 0);
	assert_int_equal(salvo_registry_name_check(big, 256), -ENAMETOOLONG);
	assert_int_equal(salvo_registry_name_check("a\0b", 3), -EILSEQ);
	assert_int_equal(salvo_registry_name_check("\xc0\x80", 2), -EILSEQ);	/* overlong NUL */
	assert_int_equal(salvo_registry_name_check("\xe0\x80\xaf", 3), -EILSEQ);	/* overlong */
	assert_int_equal(salvo_registry_name_check("\xed\xa0\x80", 3), -EILSEQ);	/* surrogate */
	assert_int_equal(salvo_registry_name_check("\xf4\x90\x80\x80", 4), -EILSEQ);	/* > U+10FFFF */
	assert_int_equal(salvo_registry_name_check("\xf5\x80\x80\x80", 4), -EILSEQ);
	assert_int_equal(salvo_registry_name_check("\xc3", 1), -EILSEQ);	/* truncated */
	assert_int_equal(salvo_registry_name_check("\xff", 1), -EILSEQ);
	assert_int_equal(salvo_registry_name_check("caf\xc3\xa9", 5), 0);
	assert_int_equal(salvo_registry_name_check("\xf0\x9f\x98\x80", 4), 0);	/* emoji */
	assert_int_equal(salvo_registry_name_check("\x01\n\"\\", 4), 0);	/* controls are fine */
}

/* The reply is byte-identical to jansson dumping the same object. */
static void test_json_matches_jansson(void **state)
{
	static const char *names[] = {
		"name1", "quote\"q", "back\\slash", "ctl\x01\x1f\n\t", "caf\xc3\xa9",
		"\xf0\x9f\x98\x80", "</script>", "{\"evil\": 1}", "\xe2\x80\xa8sep",
	};
	struct salvo_registry *r = mk(NULL, 0);
	struct salvo_registry_reply *rep;
	const char *d;
	char *again;
	size_t i, len;
	json_t *j, *e;

	(void)state;
	salvo_registry_thread_enter();
	for (i = 0; i < SALVO_ARRAY_SIZE_T(names); i++)
		assert_int_equal(salvo_registry_join(r, names[i], strlen(names[i]), "127.0.0.1",
						     1000 + i, NULL), 0);
	assert_int_equal(salvo_registry_list(r, salvo_registry_gen(r), &rep), 0);
	d = salvo_registry_reply_data(rep, &len);
	j = json_loadb(d, len, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), SALVO_ARRAY_SIZE_T(names));
	/* Same bytes as jansson writes (object order is preserved by jansson). */
	again = json_dumps(j, JSON_ENSURE_ASCII);
	assert_int_equal(strlen(again), len);
	assert_memory_equal(again, d, len);
	free(again);
	/* Pure ASCII, like Python's json.dumps. */
	for (i = 0; i < len; i++)
		assert_true((unsigned char)d[i] < 0x80);
	for (i = 0; i < SALVO_ARRAY_SIZE_T(names); i++) {
		e = json_object_get(j, names[i]);
		assert_non_null(e);
		assert_string_equal(json_string_value(json_object_get(e, "name")), names[i]);
		assert_string_equal(json_string_value(json_object_get(e, "address")), "127.0.0.1");
		assert_int_equal(json_integer_value(json_object_get(e, "port")), 1000 + i);
	}
	/* Seed's key order inside an entry: name, address, port. */
	assert_non_null(strstr(d, "{\"name\": \"name1\", \"address\": \"127.0.0.1\", \"port\": 1000}"));
	json_decref(j);
	salvo_registry_reply_put(rep);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
}

static void test_refused_names(void **state)
{
	struct salvo_registry *r = mk(NULL, 0);
	struct salvo_registry_stats st;
	char big[256], buf[256];
	json_t *j;
	int n;

	(void)state;
	memset(big, 'x', sizeof(big));
	salvo_registry_thread_enter();
	assert_int_equal(salvo_registry_join(r, "", 0, "127.0.0.1", 1, NULL), -EINVAL);
	assert_int_equal(salvo_registry_join(r, big, 256, "127.0.0.1", 1, NULL), -ENAMETOOLONG);
	assert_int_equal(salvo_registry_join(r, "\xff\xfe", 2, "127.0.0.1", 1, NULL), -EILSEQ);
	salvo_registry_stats(r, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.refused, 3);
	j = list_json(r, NULL);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);
	/* Error replies are JSON objects with a string "error". */
	n = salvo_registry_error_json(-ENAMETOOLONG, buf, sizeof(buf));
	assert_true(n > 0);
	j = json_loadb(buf, n, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
			    "name too long (max 255 bytes)");
	json_decref(j);
	n = salvo_registry_error_json(-ENOSPC, buf, sizeof(buf));
	assert_non_null(strstr(buf, "No space left on device"));
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
}

static void test_update_and_cache(void **state)
{
	struct salvo_registry *r = mk(NULL, 0);
	struct salvo_registry_reply *a, *b;
	struct salvo_registry_stats st;
	uint64_t g1, g2;
	json_t *j;

	(void)state;
	salvo_registry_thread_enter();
	assert_int_equal(salvo_registry_join(r, "n", 1, "127.0.0.1", 1, &g1), 0);
	assert_int_equal(salvo_registry_join(r, "n", 1, "127.0.0.2", 2, &g2), 0);
	assert_true(g2 > g1);
	j = list_json(r, NULL);
	assert_int_equal(json_object_size(j), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "n"), "port")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "n"), "address")),
			    "127.0.0.2");
	json_decref(j);
	salvo_registry_stats(r, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.joins, 2);
	assert_int_equal(st.updates, 1);
	/* Unchanged list: the same cached text, no rebuild. */
	assert_int_equal(salvo_registry_list(r, g2, &a), 0);
	assert_int_equal(salvo_registry_list(r, g2, &b), 0);
	assert_ptr_equal(a, b);
	assert_true(salvo_registry_reply_gen(a) >= g2);
	salvo_registry_stats(r, &st);
	assert_int_equal(st.rebuilds, 1);
	salvo_registry_reply_put(a);
	salvo_registry_reply_put(b);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
}

static void test_max_clients(void **state)
{
	struct salvo_registry *r = mk(NULL, 2);

	(void)state;
	salvo_registry_thread_enter();
	assert_int_equal(salvo_registry_join(r, "a", 1, "127.0.0.1", 1, NULL), 0);
	assert_int_equal(salvo_registry_join(r, "b", 1, "127.0.0.1", 1, NULL), 0);
	assert_int_equal(salvo_registry_join(r, "c", 1, "127.0.0.1", 1, NULL), -EUSERS);
	assert_int_equal(salvo_registry_join(r, "a", 1, "127.0.0.1", 9, NULL), 0);	/* update ok */
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
}

static void path_of(char *buf, size_t len, const char *leaf)
{
	snprintf(buf, len, "%s/%s", tmpdir, leaf);
	unlink(buf);
}

static void test_journal_restart_and_torn_tail(void **state)
{
	struct salvo_registry_stats st;
	struct salvo_registry *r;
	char path[256], name[32];
	json_t *j;
	int i, fd;

	(void)state;
	path_of(path, sizeof(path), "journal1");
	r = mk(path, 0);
	salvo_registry_thread_enter();
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "client-%d", i);
		assert_int_equal(salvo_registry_join(r, name, strlen(name), "127.0.0.1", 2000 + i, NULL), 0);
	}
	assert_int_equal(salvo_registry_join(r, "client-7", 8, "::1", 7777, NULL), 0);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);

	/* A torn append (crash mid-write): garbage after the last record. */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "SVRJ\x01\x02\x03", 7), 7);
	close(fd);

	r = mk(path, 0);
	salvo_registry_stats(r, &st);
	assert_int_equal(st.entries, 100);
	assert_int_equal(st.journal_dropped, 7);
	salvo_registry_thread_enter();
	j = list_json(r, NULL);
	assert_int_equal(json_object_size(j), 100);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "client-7"), "port")), 7777);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "client-7"), "address")),
			    "::1");
	json_decref(j);
	/* Appends after the repaired tail are readable again. */
	assert_int_equal(salvo_registry_join(r, "late", 4, "127.0.0.1", 1, NULL), 0);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
	r = mk(path, 0);
	salvo_registry_stats(r, &st);
	assert_int_equal(st.entries, 101);
	assert_int_equal(st.journal_dropped, 0);
	salvo_registry_destroy(r);
}

static void test_journal_compaction(void **state)
{
	struct salvo_registry_opts o = { .compact_factor = 2, .compact_min = 64 };
	struct salvo_registry_stats st;
	struct salvo_registry *r = NULL;
	char path[256], name[32], err[256];
	struct stat sb;
	json_t *j;
	int i;

	(void)state;
	path_of(path, sizeof(path), "journal2");
	o.state_path = path;
	assert_int_equal(salvo_registry_create(&r, &o, err, sizeof(err)), 0);
	salvo_registry_thread_enter();
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "n%d", i % 10);
		assert_int_equal(salvo_registry_join(r, name, strlen(name), "127.0.0.1", i, NULL), 0);
	}
	salvo_registry_stats(r, &st);
	assert_true(st.compactions > 0);
	assert_true(st.journal_records < 64 + 10);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size < 4096);
	r = mk(path, 0);
	salvo_registry_thread_enter();
	j = list_json(r, NULL);
	assert_int_equal(json_object_size(j), 10);
	/* The last join of each name survived compaction. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "n9"), "port")), 4999);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "n0"), "port")), 4990);
	json_decref(j);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
}

/* Disk full, simulated with RLIMIT_FSIZE (EFBIG): refused, nothing acknowledged lost. */
static void test_journal_full(void **state)
{
	struct rlimit old, lim;
	struct salvo_registry *r;
	struct stat sb;
	char path[256], name[32];
	int i, acked = 0, refused = 0, rc;
	json_t *j;

	(void)state;
	path_of(path, sizeof(path), "journal3");
	signal(SIGXFSZ, SIG_IGN);
	r = mk(path, 0);
	salvo_registry_thread_enter();
	assert_int_equal(salvo_registry_join(r, "first", 5, "127.0.0.1", 1, NULL), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = sb.st_size + 200;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "full-%02d", i);
		rc = salvo_registry_join(r, name, strlen(name), "127.0.0.1", 10 + i, NULL);
		if (rc == 0)
			acked++;
		else {
			assert_int_equal(rc, -EFBIG);
			refused++;
		}
	}
	assert_true(acked > 0);
	assert_true(refused > 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	/* Space again: joins are accepted again. */
	assert_int_equal(salvo_registry_join(r, "after", 5, "127.0.0.1", 2, NULL), 0);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);

	r = mk(path, 0);
	salvo_registry_thread_enter();
	j = list_json(r, NULL);
	/* Exactly the acknowledged ones: first, the acked full-NN, after. */
	assert_int_equal(json_object_size(j), 1 + acked + 1);
	for (i = 0; i < acked; i++) {
		snprintf(name, sizeof(name), "full-%02d", i);
		assert_non_null(json_object_get(j, name));
	}
	snprintf(name, sizeof(name), "full-%02d", acked);
	assert_null(json_object_get(j, name));
	json_decref(j);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
}

/* ---- concurrency (run under tsan too) ----------------------------------- */

#define WRITERS 3
#define READERS 2
#define PER_WRITER 3000

struct conc {
	struct salvo_registry *r;
	int id;
	int stop;	/* atomic */
	long checks;
	int failures;
};

static void *writer(void *arg)
{
	struct conc *c = arg;
	struct salvo_registry_join v[8];
	char names[8][32];
	int i, k, n;

	salvo_registry_thread_enter();
	for (i = 0; i < PER_WRITER; i += n) {
		n = 0;
		/* Batches of 1..8, every 5th name an update of an earlier one. */
		for (k = 0; k < 1 + i % 8 && i + n < PER_WRITER; k++, n++) {
			int idx = i + n;

			if (idx % 5 == 4)
				snprintf(names[n], sizeof(names[n]), "w%d-%d", c->id, idx - 4);
			else
				snprintf(names[n], sizeof(names[n]), "w%d-%d", c->id, idx);
			v[n] = (struct salvo_registry_join){ .name = names[n],
							     .name_len = strlen(names[n]),
							     .host = "127.0.0.1",
							     .port = idx };
		}
		if (salvo_registry_join_batch(c->r, v, n) != n)
			c->failures++;
		/* Every reply at or after our gen contains us (read-your-join). */
		if (i % 97 == 0) {
			struct salvo_registry_reply *rep;
			char key[48];
			const char *d;
			size_t len;

			if (salvo_registry_list(c->r, v[n - 1].gen, &rep)) {
				c->failures++;
				continue;
			}
			d = salvo_registry_reply_data(rep, &len);
			snprintf(key, sizeof(key), "\"%s\": {", names[n - 1]);
			if (!memmem(d, len, key, strlen(key)))
				c->failures++;
			salvo_registry_reply_put(rep);
			c->checks++;
		}
	}
	salvo_registry_thread_leave();
	return NULL;
}

static void *reader(void *arg)
{
	struct conc *c = arg;
	size_t last = 0;

	salvo_registry_thread_enter();
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		struct salvo_registry_reply *rep;
		const char *d;
		size_t len, n;
		json_t *j;

		if (salvo_registry_list(c->r, salvo_registry_gen(c->r), &rep)) {
			c->failures++;
			break;
		}
		d = salvo_registry_reply_data(rep, &len);
		j = json_loadb(d, len, 0, NULL);
		n = j ? json_object_size(j) : 0;
		/* Valid JSON every time, and the list only grows (no deletes). */
		if (!j || n < last)
			c->failures++;
		last = n;
		json_decref(j);
		salvo_registry_reply_put(rep);
		c->checks++;
	}
	salvo_registry_thread_leave();
	return NULL;
}

static void run_concurrent(const char *state_path)
{
	struct salvo_registry *r = mk(state_path, 0);
	struct conc w[WRITERS], rd[READERS];
	pthread_t tw[WRITERS], tr[READERS];
	struct salvo_registry_stats st;
	json_t *j;
	int i, stop = 0;

	for (i = 0; i < READERS; i++) {
		rd[i] = (struct conc){ .r = r, .id = i };
		assert_int_equal(pthread_create(&tr[i], NULL, reader, &rd[i]), 0);
	}
	for (i = 0; i < WRITERS; i++) {
		w[i] = (struct conc){ .r = r, .id = i };
		assert_int_equal(pthread_create(&tw[i], NULL, writer, &w[i]), 0);
	}
	for (i = 0; i < WRITERS; i++) {
		pthread_join(tw[i], NULL);
		assert_int_equal(w[i].failures, 0);
		assert_true(w[i].checks > 0);
	}
	for (i = 0; i < READERS; i++)
		__atomic_store_n(&rd[i].stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < READERS; i++) {
		pthread_join(tr[i], NULL);
		assert_int_equal(rd[i].failures, 0);
		assert_true(rd[i].checks > 0);
	}
	(void)stop;
	salvo_registry_stats(r, &st);
	/* 4 of every 5 names are distinct. */
	assert_int_equal(st.entries, WRITERS * PER_WRITER / 5 * 4);
	assert_int_equal(st.joins, WRITERS * PER_WRITER);
	assert_int_equal(st.updates, WRITERS * PER_WRITER / 5);
	salvo_registry_thread_enter();
	j = list_json(r, NULL);
	assert_int_equal(json_object_size(j), WRITERS * PER_WRITER / 5 * 4);
	json_decref(j);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
	if (state_path) {
		/* Every acknowledged join is in the journal. */
		r = mk(state_path, 0);
		salvo_registry_stats(r, &st);
		assert_int_equal(st.entries, WRITERS * PER_WRITER / 5 * 4);
		salvo_registry_destroy(r);
	}
}

/*
 * Destroy right after a burst of joins: liburcu grows the table lazily in its
 * own worker thread, so the resize is usually still walking the node list
 * when destroy runs.  Destroy used to free the nodes directly and the worker
 * then followed a freed node's next pointer (a SIGSEGV in a thread with all
 * signals blocked: no sanitizer report, just a dead process, about one run
 * in a hundred under ASan).  Many short rounds make the race likely.
 */
static void test_destroy_during_resize(void **state)
{
	struct salvo_registry_join v[64];
	char names[64][24];
	int round, i, k;

	(void)state;
	for (round = 0; round < 40; round++) {
		struct salvo_registry *r = mk(NULL, 0);

		salvo_registry_thread_enter();
		for (i = 0; i < 6000; i += 64) {
			for (k = 0; k < 64; k++) {
				snprintf(names[k], sizeof(names[k]), "r%d-%d", round, i + k);
				v[k] = (struct salvo_registry_join){ .name = names[k],
								     .name_len = strlen(names[k]),
								     .host = "127.0.0.1",
								     .port = 1 + k };
			}
			assert_int_equal(salvo_registry_join_batch(r, v, 64), 64);
		}
		salvo_registry_thread_leave();
		salvo_registry_destroy(r);
	}
}

static void test_concurrent_memory(void **state)
{
	(void)state;
	run_concurrent(NULL);
}

static void test_concurrent_journal(void **state)
{
	char path[256];

	(void)state;
	path_of(path, sizeof(path), "journal4");
	run_concurrent(path);
}

/* ---- journal damage, resynchronisation, torn tails, the sys seam -------- */

#define JN 200			/* names in a damage test's journal */
#define J_HDR 16		/* file header and record header, docs/registry.md */

/*
 * Journal JN names "client-<i>" (port 2000+i, host 127.0.0.1) through the
 * store and return where each record starts, computed from the documented
 * layout (header 16 bytes, record = 16 + name + host), not from the code.
 */
static void write_journal(const char *path, size_t *off)
{
	struct salvo_registry *r = mk(path, 0);
	char name[32];
	size_t at = J_HDR;
	struct stat sb;
	int i;

	salvo_registry_thread_enter();
	for (i = 0; i < JN; i++) {
		snprintf(name, sizeof(name), "client-%d", i);
		assert_int_equal(salvo_registry_join(r, name, strlen(name), "127.0.0.1", 2000 + i, NULL), 0);
		off[i] = at;
		at += J_HDR + strlen(name) + strlen("127.0.0.1");
	}
	off[JN] = at;
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal((size_t)sb.st_size, at);
}

static void poke(const char *path, size_t off, uint8_t xor_mask)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= xor_mask;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static char *slurp(const char *path, size_t *len)
{
	struct stat sb;
	char *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	buf = malloc(sb.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, sb.st_size), sb.st_size);
	close(fd);
	*len = sb.st_size;
	return buf;
}

/*
 * Open the damaged journal, check every name but the ones in lost[] is
 * there with its own port, the file was kept aside byte for byte and the
 * rewritten journal reopens clean with the same names.
 */
static void check_recovered(const char *path, const int *lost, int nlost, uint64_t spans)
{
	struct salvo_registry_recovery rv;
	struct salvo_registry *r;
	char name[32], *before, *kept;
	size_t blen, klen;
	json_t *j, *e;
	int i, k, gone;

	before = slurp(path, &blen);
	r = mk(path, 0);
	salvo_registry_recovery(r, &rv);
	assert_int_equal(rv.damaged, spans);
	assert_int_equal(rv.torn_bytes, 0);
	assert_int_equal(rv.records, JN - nlost);
	assert_true(rv.moved_to[0]);
	salvo_registry_thread_enter();
	j = list_json(r, NULL);
	assert_int_equal(json_object_size(j), JN - nlost);
	for (i = 0; i < JN; i++) {
		for (gone = 0, k = 0; k < nlost; k++)
			gone |= lost[k] == i;
		snprintf(name, sizeof(name), "client-%d", i);
		e = json_object_get(j, name);
		if (gone) {
			assert_null(e);
			continue;
		}
		assert_non_null(e);
		assert_int_equal(json_integer_value(json_object_get(e, "port")), 2000 + i);
	}
	json_decref(j);
	/* Joins after the repair go to the rewritten journal. */
	assert_int_equal(salvo_registry_join(r, "after-repair", 12, "::1", 9, NULL), 0);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
	/* The damaged file is kept as it was, not cut. */
	kept = slurp(rv.moved_to, &klen);
	assert_int_equal(klen, blen);
	assert_memory_equal(kept, before, blen);
	assert_int_equal(strncmp(rv.moved_to, path, strlen(path)), 0);
	assert_non_null(strstr(rv.moved_to, ".damaged-"));
	unlink(rv.moved_to);
	free(kept);
	free(before);
	/* The rewrite is a clean journal: nothing damaged, every recovered name plus the new one. */
	r = mk(path, 0);
	salvo_registry_recovery(r, &rv);
	assert_int_equal(rv.damaged, 0);
	assert_int_equal(rv.torn_bytes, 0);
	assert_int_equal(rv.records, JN - nlost + 1);
	salvo_registry_destroy(r);
}

/* The case: one flipped bit in the first record lost every name. */
static void test_journal_corrupt_first_record(void **state)
{
	size_t off[JN + 1];
	char path[256];
	int lost[] = {0};

	(void)state;
	path_of(path, sizeof(path), "damaged-first");
	write_journal(path, off);
	poke(path, off[0] + J_HDR + 3, 0x10);	/* a bit of "client-0" */
	check_recovered(path, lost, 1, 1);
}

static void test_journal_corrupt_middle(void **state)
{
	size_t off[JN + 1];
	char path[256];
	int lost[] = {50, 120, 121};

	(void)state;
	path_of(path, sizeof(path), "damaged-middle");
	write_journal(path, off);
	poke(path, off[50] + 5, 0x01);		/* its CRC */
	poke(path, off[120], 0x80);		/* its magic */
	poke(path, off[121] + 12, 0x04);	/* its port: two damaged records in a row, one span */
	check_recovered(path, lost, 3, 2);
}

/* A damaged length must not be trusted: replay resynchronises on the next intact record. */
static void test_journal_damaged_length(void **state)
{
	size_t off[JN + 1];
	char path[256];
	int lost[] = {10, 30, JN - 1};

	(void)state;
	path_of(path, sizeof(path), "damaged-length");
	write_journal(path, off);
	poke(path, off[10] + 8, 0x20);		/* name length +32: runs into the next records */
	poke(path, off[30] + 9, 0x01);		/* name length +256: over the limit */
	/* The last record claims to run past the end: whole, so damage, not a torn tail. */
	poke(path, off[JN - 1] + 10, 0x40);	/* host length +64 */
	check_recovered(path, lost, 3, 3);
}

/* Only an incomplete record at the very end is a torn tail: cut in place, nothing kept aside. */
static void test_journal_real_torn_tail(void **state)
{
	struct salvo_registry_recovery rv;
	struct salvo_registry *r;
	size_t off[JN + 1];
	char path[256];
	struct stat sb;
	json_t *j;
	int fd;

	(void)state;
	path_of(path, sizeof(path), "torn");
	write_journal(path, off);
	/* A crash mid-append: the last record's first 20 bytes reached the disk. */
	assert_int_equal(truncate(path, off[JN - 1] + 20), 0);
	r = mk(path, 0);
	salvo_registry_recovery(r, &rv);
	assert_int_equal(rv.damaged, 0);
	assert_int_equal(rv.torn_bytes, 20);
	assert_int_equal(rv.records, JN - 1);
	assert_string_equal(rv.moved_to, "");
	salvo_registry_destroy(r);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal((size_t)sb.st_size, off[JN - 1]);

	/* Zeros after the last record (size extended, data never written): torn too. */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\0\0\0\0\0\0\0\0\0\0\0\0", 12), 12);
	close(fd);
	r = mk(path, 0);
	salvo_registry_recovery(r, &rv);
	assert_int_equal(rv.damaged, 0);
	assert_int_equal(rv.torn_bytes, 12);
	salvo_registry_thread_enter();
	j = list_json(r, NULL);
	assert_int_equal(json_object_size(j), JN - 1);
	json_decref(j);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
}

/* A damaged file header is damage; another version's header is not a journal to repair. */
static void test_journal_header(void **state)
{
	struct salvo_registry_opts o = {0};
	struct salvo_registry *r = NULL;
	size_t off[JN + 1], len, len2;
	char path[256], err[256], *before, *after;
	int lost[] = {-1};

	(void)state;
	path_of(path, sizeof(path), "header");
	write_journal(path, off);
	poke(path, 3, 0x01);			/* "salvo-registry1\n" with one bit flipped */
	check_recovered(path, lost, 0, 1);

	/* One flipped bit in the version digit, intact records after it: damage too. */
	path_of(path, sizeof(path), "header");
	write_journal(path, off);
	poke(path, 14, '1' ^ '9');		/* "salvo-registry9\n" */
	check_recovered(path, lost, 0, 1);

	path_of(path, sizeof(path), "header");
	write_journal(path, off);
	poke(path, 14, '1' ^ '2');		/* "salvo-registry2\n" */
	before = slurp(path, &len);
	o.state_path = path;
	assert_int_equal(salvo_registry_create(&r, &o, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "another version"));
	after = slurp(path, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(before, after, len);
	free(before);
	free(after);
}

/* A scripted file system for the journal (registry/registry_internal.h). */
static struct {
	int deny_write;		/* errno for an open for writing */
	int deny_link;		/* errno for link() */
	int links;
	int sync_fail;		/* errno for fdatasync */
	int syncs;
	const char *path;	/* the journal, read back at each fdatasync */
	const char *want;	/* a name that must be in it when it is synced */
	int want_seen;
} fs;

static int fs_open(const char *path, int flags, mode_t mode)
{
	if (fs.deny_write && (flags & (O_WRONLY | O_RDWR))) {
		errno = fs.deny_write;
		return -1;
	}
	return open(path, flags, mode);
}

static int fs_fdatasync(int fd)
{
	size_t len;
	char *buf;

	fs.syncs++;
	if (fs.want && fs.path) {
		buf = slurp(fs.path, &len);
		fs.want_seen += memmem(buf, len, fs.want, strlen(fs.want)) != NULL;
		free(buf);
	}
	if (fs.sync_fail) {
		errno = fs.sync_fail;
		return -1;
	}
	return fdatasync(fd);
}

static int fs_link(const char *from, const char *to)
{
	fs.links++;
	if (fs.deny_link) {
		errno = fs.deny_link;
		return -1;
	}
	return link(from, to);
}

static void fs_install(void)
{
	memset(&fs, 0, sizeof(fs));
	salvo__registry_sys.link = fs_link;
	salvo__registry_sys.open = fs_open;
	salvo__registry_sys.fdatasync = fs_fdatasync;
}

static void fs_restore(void)
{
	salvo__registry_sys = salvo__registry_sys_default;
}

/* Also after a failed assertion, so one failure does not spill into later tests. */
static int fs_teardown(void **state)
{
	(void)state;
	fs_restore();
	return 0;
}

/* A file system without hard links: the damaged file is kept as a copy. */
static void test_journal_damaged_copy(void **state)
{
	size_t off[JN + 1];
	char path[256];
	int lost[] = {7};

	(void)state;
	path_of(path, sizeof(path), "damaged-copy");
	write_journal(path, off);
	poke(path, off[7] + 20, 0x02);
	fs_install();
	fs.deny_link = EPERM;
	check_recovered(path, lost, 1, 1);
	assert_true(fs.links >= 1);
	fs_restore();
}

/* Root can write a chmod 0444 file, so the seam plays the read-only file system. */
static void test_journal_readonly_at_start(void **state)
{
	struct salvo_registry_recovery rv;
	struct salvo_registry *r;
	size_t off[JN + 1];
	char path[256];

	(void)state;
	path_of(path, sizeof(path), "readonly");
	write_journal(path, off);
	fs_install();
	fs.deny_write = EROFS;
	r = mk(path, 0);
	salvo_registry_recovery(r, &rv);
	/* Known at create, before any join. */
	assert_int_equal(rv.readonly, -EROFS);
	assert_int_equal(rv.records, JN);
	salvo_registry_thread_enter();
	assert_int_equal(salvo_registry_join(r, "x", 1, "127.0.0.1", 1, NULL), -EROFS);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
	fs_restore();
	r = mk(path, 0);
	salvo_registry_recovery(r, &rv);
	assert_int_equal(rv.readonly, 0);
	salvo_registry_destroy(r);
}

/* The record is on disk and synced before the join returns (is acknowledged). */
static void test_journal_syncs_before_ack(void **state)
{
	struct salvo_registry *r;
	char path[256];
	int before;

	(void)state;
	path_of(path, sizeof(path), "sync");
	r = mk(path, 0);
	fs_install();
	fs.path = path;
	fs.want = "synced-name";
	salvo_registry_thread_enter();
	before = fs.syncs;
	assert_int_equal(salvo_registry_join(r, "synced-name", 11, "127.0.0.1", 5, NULL), 0);
	assert_int_equal(fs.syncs, before + 1);
	assert_int_equal(fs.want_seen, 1);
	salvo_registry_thread_leave();
	fs_restore();
	salvo_registry_destroy(r);
}

/* A failing fdatasync refuses the join (and every later one), is reported, and is not replayed. */
static void test_journal_fdatasync_fails(void **state)
{
	struct salvo_registry_stats st;
	struct salvo_registry *r;
	char path[256], buf[128];
	json_t *j;

	(void)state;
	path_of(path, sizeof(path), "syncfail");
	r = mk(path, 0);
	salvo_registry_thread_enter();
	assert_int_equal(salvo_registry_join(r, "kept", 4, "127.0.0.1", 1, NULL), 0);
	fs_install();
	fs.sync_fail = EIO;
	assert_int_equal(salvo_registry_join(r, "refused", 7, "127.0.0.1", 2, NULL), -EIO);
	fs_restore();
	/* The disk may have dropped what it could not write: later joins are refused too. */
	assert_int_equal(salvo_registry_join(r, "later", 5, "127.0.0.1", 3, NULL), -EIO);
	salvo_registry_stats(r, &st);
	assert_int_equal(st.journal_error, -EIO);
	assert_int_equal(st.refused, 2);
	assert_true(salvo_registry_error_json(-EIO, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "Input/output error"));
	j = list_json(r, NULL);
	assert_int_equal(json_object_size(j), 1);
	json_decref(j);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
	/* A refused join is not resurrected by the restart. */
	r = mk(path, 0);
	salvo_registry_thread_enter();
	j = list_json(r, NULL);
	assert_int_equal(json_object_size(j), 1);
	assert_non_null(json_object_get(j, "kept"));
	json_decref(j);
	salvo_registry_thread_leave();
	salvo_registry_destroy(r);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_json_matches_jansson),
		cmocka_unit_test(test_refused_names),
		cmocka_unit_test(test_update_and_cache),
		cmocka_unit_test(test_max_clients),
		cmocka_unit_test(test_journal_restart_and_torn_tail),
		cmocka_unit_test(test_journal_compaction),
		cmocka_unit_test(test_journal_full),
		cmocka_unit_test(test_journal_corrupt_first_record),
		cmocka_unit_test(test_journal_corrupt_middle),
		cmocka_unit_test(test_journal_damaged_length),
		cmocka_unit_test(test_journal_real_torn_tail),
		cmocka_unit_test(test_journal_header),
		cmocka_unit_test_teardown(test_journal_damaged_copy, fs_teardown),
		cmocka_unit_test_teardown(test_journal_readonly_at_start, fs_teardown),
		cmocka_unit_test_teardown(test_journal_syncs_before_ack, fs_teardown),
		cmocka_unit_test_teardown(test_journal_fdatasync_fails, fs_teardown),
		cmocka_unit_test(test_destroy_during_resize),
		cmocka_unit_test(test_concurrent_memory),
		cmocka_unit_test(test_concurrent_journal),
	};

	return cmocka_run_group_tests_name("registry", tests, setup, teardown);
}
