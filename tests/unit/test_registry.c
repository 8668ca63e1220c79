// SPDX-License-Identifier: MIT
/*
 * Unit tests for the client-list registry store (engine/registry.c):
 * names, JSON against jansson, updates, limits, the journal (restart, torn
 * tail, compaction, disk full through RLIMIT_FSIZE) and concurrent writers
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

#include <salvo/registry.h>

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
 * annotated in engine/registry.c instead of suppressed.
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
		cmocka_unit_test(test_destroy_during_resize),
		cmocka_unit_test(test_concurrent_memory),
		cmocka_unit_test(test_concurrent_journal),
	};

	return cmocka_run_group_tests_name("registry", tests, setup, teardown);
}
