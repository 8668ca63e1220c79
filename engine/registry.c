// SPDX-License-Identifier: MIT
/*
 * The client-list registry store: liburcu's lock-free hash table of
 * entries, an RCU-published cache of the reply text, and the journal.
 *
 * Flavour: the default liburcu flavour (<urcu.h>), which is urcu-memb in
 * liburcu 0.13 (membarrier-based, readers registered per thread).  The
 * library is not built with TSan, so the happens-before edges it creates
 * (node publication inside cds_lfht, grace periods) are invisible to TSan;
 * the ann_*() helpers below tell TSan about exactly those edges and compile
 * to nothing otherwise.  See docs/registry.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <urcu.h>
#include <urcu/rculfhash.h>

#include <salvo/common.h>
#include <salvo/registry.h>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define ann_release(p) __tsan_release((void *)(p))
#define ann_acquire(p) __tsan_acquire((void *)(p))
#else
#define ann_release(p) ((void)(p))
#define ann_acquire(p) ((void)(p))
#endif

/*
 * Grace periods for TSan: every reader "releases" this address when it
 * leaves its read-side section and every RCU callback "acquires" it before
 * freeing, which is what the grace period guarantees in reality.
 */
static char rcu_gp_ann;

static inline void read_lock(void)
{
	rcu_read_lock();
}

static inline void read_unlock(void)
{
	ann_release(&rcu_gp_ann);
	rcu_read_unlock();
}

struct entry {
	struct cds_lfht_node node;
	struct rcu_head rcu;
	unsigned long hash;
	uint32_t frag_len;	/* `"name": {"name": ..., "address": ..., "port": N}` */
	uint16_t name_len;
	uint16_t host_len;
	unsigned int port;
	char *host;		/* NUL-terminated, in data[] */
	char *frag;		/* in data[] */
	uint8_t data[];		/* name, host, NUL, fragment */
};

struct salvo_registry_reply {
	struct rcu_head rcu;
	uint32_t ref;		/* atomic; the cache pointer holds one reference */
	uint64_t gen;
	size_t len;
	size_t cap;
	char data[];
};

struct salvo_registry {
	struct cds_lfht *ht;
	/*
	 * Bumped (release) after each insert; a builder that loads g (acquire)
	 * sees every insert whose bump returned <= g, because all bumps are
	 * RMWs of one release sequence.
	 */
	uint64_t gen __salvo_aligned;
	uint64_t nentries;	/* atomic: distinct names, bounded by max_clients */
	uint64_t frag_bytes;	/* atomic: sum of live fragments, a sizing hint only */
	struct salvo_registry_reply *cache __salvo_aligned;	/* RCU-published */
	uint32_t max_clients;

	/* statistics, relaxed atomics */
	uint64_t st_joins, st_updates, st_refused, st_rebuilds, st_recovered;

	/* journal: appends, fdatasync and journalled inserts under jlock */
	bool journal;
	pthread_mutex_t jlock;
	int jfd;
	char *path;
	uint64_t jsize, jrecords, jdropped, compactions;
	int jbroken;		/* -errno: joins refused until restart (failed fdatasync) */
	uint32_t compact_factor, compact_min;
};

#define J_FILE_MAGIC "salvo-registry1\n"
#define J_FILE_HDR 16
#define J_REC_MAGIC 0x4a525653U	/* "SVRJ" little-endian */
#define J_REC_HDR 16

/* ---- small helpers ------------------------------------------------------ */

static unsigned long name_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a, then a murmur finaliser */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (unsigned long)h;
}

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? 0xedb88320U ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffU;

	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffU;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] | (uint16_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static void stat_add(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

/* ---- names -------------------------------------------------------------- */

int salvo_registry_name_check(const void *name, size_t len)
{
	const uint8_t *p = name, *end = p + len;

	if (len == 0)
		return -EINVAL;
	if (len > SALVO_REGISTRY_NAME_MAX)
		return -ENAMETOOLONG;
	/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, <= U+10FFFF. */
	while (p < end) {
		uint8_t c = *p;
		unsigned int n, i;
		uint32_t cp;

		if (c == 0)
			return -EILSEQ;	/* jansson and many C consumers cannot take NUL in keys */
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return -EILSEQ;
		}
		if ((size_t)(end - p) <= n)
			return -EILSEQ;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -EILSEQ;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return -EILSEQ;
		p += n + 1;
	}
	return 0;
}

const char *salvo_registry_strerror(int err)
{
	switch (err) {
	case -EINVAL:
		return "empty name";
	case -ENAMETOOLONG:
		return "name too long (max 255 bytes)";
	case -EILSEQ:
		return "name is not valid UTF-8 or contains a NUL byte";
	case -EUSERS:
		return "registry full (max clients reached)";
	case -EMFILE:
		return "too many connections";
	case -ETIMEDOUT:
		return "timed out";
	case -ENOMEM:
		return "out of memory";
	default:
		return NULL;
	}
}

int salvo_registry_error_json(int err, char *buf, size_t len)
{
	const char *why = salvo_registry_strerror(err);
	char tmp[160];
	json_t *o;
	int n;

	if (!why) {
		/* Journal errors: the join was not recorded, so it is not acknowledged. */
		snprintf(tmp, sizeof(tmp), "cannot record join in state file: %s", strerror(-err));
		why = tmp;
	}
	o = json_pack("{s:s}", "error", why);
	if (!o)
		return -ENOMEM;
	n = (int)json_dumpb(o, buf, len, JSON_ENSURE_ASCII);
	json_decref(o);
	if (n > 0 && (size_t)n < len)
		buf[n] = 0;
	return n > 0 ? n : -ENOMEM;
}

/* ---- entries ------------------------------------------------------------ */

static void entry_free_rcu(struct rcu_head *h)
{
	ann_acquire(&rcu_gp_ann);	/* pairs with read_unlock(): the grace period */
	free(caa_container_of(h, struct entry, rcu));
}

/*
 * One allocation holding the name, the host and the entry's JSON fragment,
 * encoded with jansson exactly as json_dumps() of the whole object would
 * write this member (", " and ": " separators, ASCII-only like Python's
 * json.dumps), so the list is a concatenation of fragments.
 */
static int entry_new(struct entry **out, const void *name, size_t nlen, const char *host,
		     unsigned int port)
{
	size_t hlen = strnlen(host, SALVO_REGISTRY_HOST_MAX);
	size_t klen, vlen, cap;
	json_t *k, *v = NULL;
	struct entry *e = NULL;
	int rc = -ENOMEM;

	k = json_stringn(name, nlen);
	if (!k)
		return -EILSEQ;
	v = json_object();
	if (!v || json_object_set_new(v, "name", json_incref(k)) ||
	    json_object_set_new(v, "address", json_stringn(host, hlen) ?: json_string("")) ||
	    json_object_set_new(v, "port", json_integer(port)))
		goto out;
	klen = json_dumpb(k, NULL, 0, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
	vlen = json_dumpb(v, NULL, 0, JSON_ENSURE_ASCII);
	if (!klen || !vlen)
		goto out;
	cap = nlen + hlen + 1 + klen + 2 + vlen;
	e = calloc(1, sizeof(*e) + cap);
	if (!e)
		goto out;
	memcpy(e->data, name, nlen);
	e->name_len = nlen;
	e->host = (char *)e->data + nlen;
	memcpy(e->host, host, hlen);
	e->host[hlen] = 0;
	e->host_len = hlen;
	e->port = port;
	e->frag = e->host + hlen + 1;
	json_dumpb(k, e->frag, klen, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
	memcpy(e->frag + klen, ": ", 2);
	json_dumpb(v, e->frag + klen + 2, vlen, JSON_ENSURE_ASCII);
	e->frag_len = klen + 2 + vlen;
	e->hash = name_hash(e->data, nlen);
	cds_lfht_node_init(&e->node);
	*out = e;
	rc = 0;
out:
	json_decref(k);
	json_decref(v);
	return rc;
}

static int entry_match(struct cds_lfht_node *node, const void *key)
{
	const struct entry *e = caa_container_of(node, struct entry, node);
	const struct entry *k = key;

	ann_acquire(e);	/* pairs with ann_release() before the node went into the table */
	return e->name_len == k->name_len && !memcmp(e->data, k->data, k->name_len);
}

/* Reserve a slot for a new name under max_clients. */
static bool slot_reserve(struct salvo_registry *r)
{
	uint64_t n = __atomic_load_n(&r->nentries, __ATOMIC_RELAXED);

	do {
		if (r->max_clients && n >= r->max_clients)
			return false;
	} while (!__atomic_compare_exchange_n(&r->nentries, &n, n + 1, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

static void slot_release(struct salvo_registry *r)
{
	__atomic_fetch_sub(&r->nentries, 1, __ATOMIC_RELAXED);
}

/* Does e's name exist now?  Caller is a registered thread. */
static bool table_has(struct salvo_registry *r, struct entry *e)
{
	struct cds_lfht_iter it;
	bool found;

	read_lock();
	cds_lfht_lookup(r->ht, e->hash, entry_match, e, &it);
	found = cds_lfht_iter_get_node(&it) != NULL;
	read_unlock();
	return found;
}

/*
 * Insert e or replace the entry of the same name.  reserved: the caller
 * already holds a max_clients slot for e.  Returns 1 (updated), 0 (added)
 * or -EUSERS; on -EUSERS e is not in the table and still the caller's.
 */
static int table_put(struct salvo_registry *r, struct entry *e, bool reserved)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *old, *got;
	int rc;

	/* Fields are final: pairs with ann_acquire() in entry_match/readers. */
	ann_release(e);
	read_lock();
	for (;;) {
		cds_lfht_lookup(r->ht, e->hash, entry_match, e, &it);
		old = cds_lfht_iter_get_node(&it);
		if (old) {
			struct entry *o = caa_container_of(old, struct entry, node);

			if (cds_lfht_replace(r->ht, &it, e->hash, entry_match, e, &e->node))
				continue;	/* removed meanwhile: look again */
			__atomic_fetch_add(&r->frag_bytes, e->frag_len - (int64_t)o->frag_len,
					   __ATOMIC_RELAXED);
			call_rcu(&o->rcu, entry_free_rcu);
			if (reserved)
				slot_release(r);
			rc = 1;
			break;
		}
		if (!reserved && !slot_reserve(r)) {
			rc = -EUSERS;
			break;
		}
		reserved = true;
		got = cds_lfht_add_unique(r->ht, e->hash, entry_match, e, &e->node);
		if (got == &e->node) {
			__atomic_fetch_add(&r->frag_bytes, e->frag_len, __ATOMIC_RELAXED);
			rc = 0;
			break;
		}
		/* The same name was added concurrently: replace it instead. */
	}
	read_unlock();
	return rc;
}

/* ---- journal ------------------------------------------------------------ */

static size_t rec_size(const struct entry *e)
{
	return J_REC_HDR + e->name_len + e->host_len;
}

static void rec_encode(uint8_t *p, const struct entry *e)
{
	put32(p, J_REC_MAGIC);
	put16(p + 8, e->name_len);
	p[10] = e->host_len;
	p[11] = 0;
	put16(p + 12, e->port);
	put16(p + 14, 0);
	memcpy(p + J_REC_HDR, e->data, e->name_len);
	memcpy(p + J_REC_HDR + e->name_len, e->host, e->host_len);
	put32(p + 4, crc32(p + 8, rec_size(e) - 8));
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENOSPC;
		p += n;
		len -= n;
	}
	return 0;
}

static int fsync_dir(const char *path)
{
	char *dup = strdup(path), *slash;
	const char *dir;
	int fd, rc = 0;

	if (!dup)
		return -ENOMEM;
	slash = strrchr(dup, '/');
	if (!slash)
		dir = ".";
	else if (slash == dup)
		dir = "/";
	else {
		*slash = 0;
		dir = dup;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(dup);
	return rc;
}

/* Rewrite the journal from the table.  Caller holds jlock. */
static int compact_locked(struct salvo_registry *r)
{
	struct cds_lfht_iter it;
	struct entry *e;
	uint8_t *buf = NULL, *nb;
	size_t len = J_FILE_HDR, cap = 1 << 16;
	uint64_t recs = 0;
	char *tmp = NULL;
	int fd = -1, rc;

	if (asprintf(&tmp, "%s.tmp", r->path) < 0)
		return -ENOMEM;
	buf = malloc(cap);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(buf, J_FILE_MAGIC, J_FILE_HDR);
	/* Journalled inserts happen under jlock, so this walk sees them all. */
	read_lock();
	cds_lfht_for_each_entry(r->ht, &it, e, node) {
		ann_acquire(e);
		if (len + rec_size(e) > cap) {
			cap = 2 * (len + rec_size(e));
			nb = realloc(buf, cap);
			if (!nb) {
				read_unlock();
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		rec_encode(buf + len, e);
		len += rec_size(e);
		recs++;
	}
	read_unlock();
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, buf, len);
	if (!rc && fdatasync(fd))
		rc = -errno;
	if (!rc && rename(tmp, r->path))
		rc = -errno;
	if (rc) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	/* The rename is durable once the directory is; the old journal stays valid until then. */
	fsync_dir(r->path);
	close(r->jfd);
	/* fd was opened without O_APPEND; appends are serialised by jlock, so position at the end works. */
	r->jfd = fd;
	r->jsize = len;
	r->jrecords = recs;
	r->compactions++;
out:
	free(buf);
	free(tmp);
	return rc;
}

int salvo_registry_compact(struct salvo_registry *r)
{
	int rc;

	if (!r->journal)
		return 0;
	pthread_mutex_lock(&r->jlock);
	rc = r->jbroken ? r->jbroken : compact_locked(r);
	pthread_mutex_unlock(&r->jlock);
	return rc;
}

/* Replay the journal into the table; cut a torn tail.  Called before any worker runs. */
static int journal_open(struct salvo_registry *r, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t off, size;
	int fd, rc = 0;

	fd = open(r->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && (errno == EROFS || errno == EACCES || errno == EPERM)) {
		/*
		 * A read-only journal: serve what it holds, refuse every join
		 * with this error (nothing could be made durable).
		 */
		r->jbroken = -errno;
		fd = open(r->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			errno = -r->jbroken;
	}
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "state file %s: %s", r->path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		goto fail;
	}
	size = st.st_size;
	if (size == 0 && r->jbroken) {
		r->jfd = fd;
		return 0;
	}
	if (size == 0) {
		rc = write_all(fd, J_FILE_MAGIC, J_FILE_HDR);
		if (!rc && fdatasync(fd))
			rc = -errno;
		if (rc)
			goto fail;
		r->jfd = fd;
		r->jsize = J_FILE_HDR;
		return 0;
	}
	buf = malloc(size);
	if (!buf) {
		rc = -ENOMEM;
		goto fail;
	}
	if (pread(fd, buf, size, 0) != (ssize_t)size) {
		rc = errno ? -errno : -EIO;
		goto fail;
	}
	if (size < J_FILE_HDR || memcmp(buf, J_FILE_MAGIC, J_FILE_HDR)) {
		rc = -EBADMSG;
		snprintf(err, errlen, "state file %s is not a salvo registry journal", r->path);
		goto fail_msg;
	}
	off = J_FILE_HDR;
	while (off < size) {
		const uint8_t *p = buf + off;
		size_t nl, hl, total;
		char host[SALVO_REGISTRY_HOST_MAX + 1];
		struct entry *e;

		if (size - off < J_REC_HDR || get32(p) != J_REC_MAGIC)
			break;
		nl = get16(p + 8);
		hl = p[10];
		total = J_REC_HDR + nl + hl;
		if (size - off < total || get32(p + 4) != crc32(p + 8, total - 8) || hl > SALVO_REGISTRY_HOST_MAX ||
		    salvo_registry_name_check(p + J_REC_HDR, nl))
			break;
		memcpy(host, p + J_REC_HDR + nl, hl);
		host[hl] = 0;
		rc = entry_new(&e, p + J_REC_HDR, nl, host, get16(p + 12));
		if (rc)
			goto fail;
		/* Recovery keeps every journalled entry, even beyond max_clients. */
		__atomic_fetch_add(&r->nentries, 1, __ATOMIC_RELAXED);
		if (table_put(r, e, true) == 0)
			r->st_recovered++;
		off += total;
		r->jrecords++;
	}
	if (off < size && r->jbroken) {
		r->jdropped = size - off;	/* read-only: ignore the tail, cannot cut it */
	} else if (off < size) {
		/* A torn or corrupt tail (crash mid-append): nothing after it was acknowledged. */
		if (ftruncate(fd, off)) {
			rc = -errno;
			goto fail;
		}
		fdatasync(fd);
		r->jdropped = size - off;
	}
	if (lseek(fd, off, SEEK_SET) < 0) {
		rc = -errno;
		goto fail;
	}
	r->jfd = fd;
	r->jsize = off;
	free(buf);
	return 0;
fail:
	snprintf(err, errlen, "state file %s: %s", r->path, strerror(-rc));
fail_msg:
	free(buf);
	close(fd);
	return rc;
}

/* ---- create / destroy --------------------------------------------------- */

static __thread unsigned int rcu_registered;

void salvo_registry_thread_enter(void)
{
	if (rcu_registered++ == 0)
		rcu_register_thread();
}

void salvo_registry_thread_leave(void)
{
	if (rcu_registered && --rcu_registered == 0)
		rcu_unregister_thread();
}

int salvo_registry_create(struct salvo_registry **out, const struct salvo_registry_opts *o,
			  char *err, size_t errlen)
{
	struct salvo_registry *r;
	int rc;

	pthread_once(&crc_once, crc_init);
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->max_clients = o ? o->max_clients : 0;
	r->compact_factor = o && o->compact_factor ? o->compact_factor : 2;
	r->compact_min = o && o->compact_min ? o->compact_min : 1024;
	r->jfd = -1;
	r->ht = cds_lfht_new(1024, 1024, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
	if (!r->ht) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&r->jlock, NULL);
	if (o && o->state_path) {
		r->journal = true;
		r->path = strdup(o->state_path);
		salvo_registry_thread_enter();
		rc = r->path ? journal_open(r, err, errlen) : -ENOMEM;
		/* Publish what was recovered; the gen covers every recovered entry. */
		__atomic_store_n(&r->gen, r->st_recovered ? 1 : 0, __ATOMIC_RELEASE);
		salvo_registry_thread_leave();
		if (rc) {
			salvo_registry_destroy(r);
			return rc;
		}
	}
	*out = r;
	return 0;
}

static void reply_free_rcu(struct rcu_head *h)
{
	ann_acquire(&rcu_gp_ann);	/* pairs with read_unlock() */
	salvo_registry_reply_put(caa_container_of(h, struct salvo_registry_reply, rcu));
}

void salvo_registry_destroy(struct salvo_registry *r)
{
	struct cds_lfht_iter it;
	struct entry *e;

	if (!r)
		return;
	salvo_registry_thread_enter();
	/*
	 * No caller is left, but liburcu may still be growing the table in its
	 * own worker thread (a lazy resize launched by the last joins), and
	 * that thread walks the node list inside a read-side section.  So the
	 * nodes are freed after a grace period like any other, never directly:
	 * a node freed under the resize walk is a use-after-free in a thread
	 * with every signal blocked, which kills the process without a report.
	 */
	read_lock();
	cds_lfht_for_each_entry(r->ht, &it, e, node) {
		ann_acquire(e);
		if (!cds_lfht_del(r->ht, &e->node))
			call_rcu(&e->rcu, entry_free_rcu);
	}
	read_unlock();
	/* Every queued callback (these nodes, old entries, old replies) has run. */
	rcu_barrier();
	ann_acquire(&rcu_gp_ann);
	if (r->cache)
		salvo_registry_reply_put(r->cache);
	/* Registered and outside a read-side section, as liburcu requires. */
	cds_lfht_destroy(r->ht, NULL);
	salvo_registry_thread_leave();
	if (r->jfd >= 0)
		close(r->jfd);
	pthread_mutex_destroy(&r->jlock);
	free(r->path);
	free(r);
}

/* ---- joins -------------------------------------------------------------- */

int salvo_registry_join_batch(struct salvo_registry *r, struct salvo_registry_join *v, unsigned int n)
{
	struct entry *stackv[64], **e = stackv;
	bool resv_stack[64], *resv = resv_stack;
	uint8_t *jbuf = NULL;
	size_t jlen = 0;
	unsigned int i, ok = 0, valid = 0;
	int rc;

	if (n > SALVO_ARRAY_SIZE(stackv)) {
		e = calloc(n, sizeof(*e));
		resv = calloc(n, sizeof(*resv));
		if (!e || !resv) {
			free(e == stackv ? NULL : e);
			free(resv == resv_stack ? NULL : resv);
			for (i = 0; i < n; i++)
				v[i].rc = -ENOMEM;
			stat_add(&r->st_refused, n);
			return 0;
		}
	}
	for (i = 0; i < n; i++) {
		e[i] = NULL;
		resv[i] = false;
		v[i].gen = 0;
		v[i].rc = salvo_registry_name_check(v[i].name, v[i].name_len);
		if (!v[i].rc)
			v[i].rc = entry_new(&e[i], v[i].name, v[i].name_len, v[i].host ?: "", v[i].port);
		if (!v[i].rc) {
			valid++;
			if (r->journal)
				jlen += rec_size(e[i]);
		}
	}
	if (r->journal && valid) {
		pthread_mutex_lock(&r->jlock);
		/* Decide max_clients before journalling, so a refused join is never recorded. */
		jlen = 0;
		for (i = 0; i < n; i++) {
			if (!e[i] || !r->max_clients || table_has(r, e[i]))
				continue;
			if (slot_reserve(r)) {
				resv[i] = true;
			} else {
				v[i].rc = -EUSERS;
				free(e[i]);
				e[i] = NULL;
			}
		}
		for (i = 0; i < n; i++)
			if (e[i])
				jlen += rec_size(e[i]);
		rc = r->jbroken;
		if (!rc && jlen) {
			jbuf = malloc(jlen);
			rc = jbuf ? 0 : -ENOMEM;
		}
		if (!rc && jlen) {
			size_t off = 0;

			for (i = 0; i < n; i++) {
				if (e[i]) {
					rec_encode(jbuf + off, e[i]);
					off += rec_size(e[i]);
				}
			}
			rc = write_all(r->jfd, jbuf, jlen);
			if (rc) {
				/* Disk full, read-only, ...: drop the partial append so the
				 * journal stays a clean sequence of records. */
				if (ftruncate(r->jfd, r->jsize) || lseek(r->jfd, r->jsize, SEEK_SET) < 0)
					r->jbroken = rc;
			} else if (fdatasync(r->jfd)) {
				/*
				 * After a failed fdatasync the page cache may have dropped
				 * the dirty pages and a later fsync could succeed without
				 * writing them: stop acknowledging joins until restart.
				 */
				rc = -errno;
				r->jbroken = rc;
			}
		}
		for (i = 0; i < n; i++) {
			if (!e[i])
				continue;
			if (rc) {
				v[i].rc = rc;
				if (resv[i])
					slot_release(r);
				free(e[i]);
				e[i] = NULL;
				continue;
			}
			/* Insert under jlock so compaction never misses a journalled join. */
			int put = table_put(r, e[i], resv[i]);

			if (put < 0) {
				/* Not expected: max_clients was decided above under jlock. */
				v[i].rc = put;
				free(e[i]);
				e[i] = NULL;
				continue;
			}
			if (put == 1)
				stat_add(&r->st_updates, 1);
			stat_add(&r->st_joins, 1);
			v[i].gen = __atomic_add_fetch(&r->gen, 1, __ATOMIC_RELEASE);
			e[i] = NULL;
			ok++;
		}
		if (!rc) {
			r->jsize += jlen;
			r->jrecords += ok;
			if (r->jrecords >= r->compact_min &&
			    r->jrecords > (uint64_t)r->compact_factor *
						  __atomic_load_n(&r->nentries, __ATOMIC_RELAXED))
				compact_locked(r);	/* a failure leaves the old journal: no loss */
		}
		pthread_mutex_unlock(&r->jlock);
		free(jbuf);
	} else {
		for (i = 0; i < n; i++) {
			if (!e[i])
				continue;
			rc = table_put(r, e[i], false);
			if (rc < 0) {
				v[i].rc = rc;
				free(e[i]);
				continue;
			}
			if (rc == 1)
				stat_add(&r->st_updates, 1);
			stat_add(&r->st_joins, 1);
			/* Release: pairs with the acquire load in build(). */
			v[i].gen = __atomic_add_fetch(&r->gen, 1, __ATOMIC_RELEASE);
			ok++;
		}
	}
	stat_add(&r->st_refused, n - ok);
	if (e != stackv) {
		free(e);
		free(resv);
	}
	return ok;
}

int salvo_registry_join(struct salvo_registry *r, const void *name, size_t len, const char *host,
			unsigned int port, uint64_t *gen)
{
	struct salvo_registry_join j = {
		.name = name, .name_len = len, .host = host, .port = port,
	};

	salvo_registry_join_batch(r, &j, 1);
	if (gen)
		*gen = j.gen;
	return j.rc;
}

uint64_t salvo_registry_gen(struct salvo_registry *r)
{
	return __atomic_load_n(&r->gen, __ATOMIC_ACQUIRE);
}

/* ---- the reply ---------------------------------------------------------- */

/*
 * Serialise the table as it is now.  The walk runs inside one read-side
 * section and takes no lock: joins go on meanwhile.  It contains every join
 * of generation <= the gen loaded first; later ones may or may not appear,
 * and a name replaced during the walk appears exactly once (cds_lfht's
 * replace guarantee).
 */
static struct salvo_registry_reply *build(struct salvo_registry *r)
{
	struct salvo_registry_reply *rep, *nr;
	struct cds_lfht_iter it;
	struct entry *e;
	size_t cap, len = 1;
	uint64_t g;
	bool first = true;

	/* Acquire: pairs with the release add in join; see struct salvo_registry. */
	g = __atomic_load_n(&r->gen, __ATOMIC_ACQUIRE);
	cap = __atomic_load_n(&r->frag_bytes, __ATOMIC_RELAXED) +
	      2 * __atomic_load_n(&r->nentries, __ATOMIC_RELAXED) + 256;
	cap += cap / 8;
	rep = malloc(sizeof(*rep) + cap);
	if (!rep)
		return NULL;
	rep->data[0] = '{';
	read_lock();
	cds_lfht_for_each_entry(r->ht, &it, e, node) {
		size_t need;

		ann_acquire(e);
		need = len + e->frag_len + 3;
		if (need > cap) {
			cap = 2 * need;
			nr = realloc(rep, sizeof(*rep) + cap);
			if (!nr) {
				read_unlock();
				free(rep);
				return NULL;
			}
			rep = nr;
		}
		if (!first) {
			rep->data[len++] = ',';
			rep->data[len++] = ' ';
		}
		first = false;
		memcpy(rep->data + len, e->frag, e->frag_len);
		len += e->frag_len;
	}
	read_unlock();
	rep->data[len++] = '}';
	rep->len = len;
	rep->cap = cap;
	rep->gen = g;
	rep->ref = 1;
	stat_add(&r->st_rebuilds, 1);
	return rep;
}

int salvo_registry_list(struct salvo_registry *r, uint64_t min_gen, struct salvo_registry_reply **out)
{
	struct salvo_registry_reply *c, *rep;

	read_lock();
	/* Acquire: pairs with the release CAS that published c. */
	c = __atomic_load_n(&r->cache, __ATOMIC_ACQUIRE);
	if (c && c->gen >= min_gen) {
		/*
		 * The cache's own reference is dropped only after a grace period
		 * (reply_free_rcu), so c is alive for our whole read-side section
		 * and a plain increment is safe.
		 */
		__atomic_fetch_add(&c->ref, 1, __ATOMIC_RELAXED);
		read_unlock();
		*out = c;
		return 0;
	}
	read_unlock();

	rep = build(r);
	if (!rep)
		return -ENOMEM;
	/*
	 * Publish unless someone published something at least as recent
	 * meanwhile.  c->gen is read inside a read-side section: c may be
	 * replaced and queued for freeing at any moment.
	 */
	read_lock();
	c = __atomic_load_n(&r->cache, __ATOMIC_ACQUIRE);
	for (;;) {
		if (c && c->gen >= rep->gen)
			break;
		rep->ref = 2;	/* the cache's reference and ours */
		/* Release: rep's contents before the pointer; pairs with the acquire above. */
		if (__atomic_compare_exchange_n(&r->cache, &c, rep, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			if (c)
				call_rcu(&c->rcu, reply_free_rcu);
			break;
		}
		rep->ref = 1;
	}
	read_unlock();
	*out = rep;
	return 0;
}

const char *salvo_registry_reply_data(const struct salvo_registry_reply *rep, size_t *len)
{
	*len = rep->len;
	return rep->data;
}

uint64_t salvo_registry_reply_gen(const struct salvo_registry_reply *rep)
{
	return rep->gen;
}

void salvo_registry_reply_get(struct salvo_registry_reply *rep)
{
	__atomic_fetch_add(&rep->ref, 1, __ATOMIC_RELAXED);
}

void salvo_registry_reply_put(struct salvo_registry_reply *rep)
{
	/* Acq-rel: the last put sees every holder's reads finished before freeing. */
	if (rep && __atomic_sub_fetch(&rep->ref, 1, __ATOMIC_ACQ_REL) == 0)
		free(rep);
}

void salvo_registry_stats(struct salvo_registry *r, struct salvo_registry_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->entries = __atomic_load_n(&r->nentries, __ATOMIC_RELAXED);
	s->joins = __atomic_load_n(&r->st_joins, __ATOMIC_RELAXED);
	s->updates = __atomic_load_n(&r->st_updates, __ATOMIC_RELAXED);
	s->refused = __atomic_load_n(&r->st_refused, __ATOMIC_RELAXED);
	s->rebuilds = __atomic_load_n(&r->st_rebuilds, __ATOMIC_RELAXED);
	s->recovered = r->st_recovered;
	if (r->journal) {
		pthread_mutex_lock(&r->jlock);
		s->journal_records = r->jrecords;
		s->journal_dropped = r->jdropped;
		s->compactions = r->compactions;
		pthread_mutex_unlock(&r->jlock);
	}
}
