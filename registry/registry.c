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
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <urcu.h>
#include <urcu/rculfhash.h>

#include <salvo/common.h>
#include "registry/registry.h"

#include "registry_internal.h"

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
	int jsync_error;	/* -errno of a failed fdatasync (jbroken for that reason) */
	uint32_t compact_factor, compact_min;
	struct salvo_registry_recovery rec;	/* what journal_open found; constant after create */
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

/* Continue a CRC-32 over more bytes: crc32_more(crc32(a), b) == crc32(a b). */
static uint32_t crc32_more(uint32_t crc, const uint8_t *p, size_t n)
{
	uint32_t c = crc ^ 0xffffffffU;

	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffU;
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
	return crc32_more(0, p, n);
}

/* ---- the file-system calls, a test seam (registry_internal.h) ----------- */

static int sys_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags, mode);
}

const struct salvo__registry_sys salvo__registry_sys_default = {
	.open = sys_open,
	.fdatasync = fdatasync,
	.link = link,
};

struct salvo__registry_sys salvo__registry_sys = {
	.open = sys_open,
	.fdatasync = fdatasync,
	.link = link,
};

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
	fd = salvo__registry_sys.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, buf, len);
	if (!rc && salvo__registry_sys.fdatasync(fd))
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

/*
 * Whether p (avail bytes up to the end of the file) starts an intact record:
 * 0 and its size in *total; -EAGAIN for the start of a record that the file
 * ends inside (a header cut short, or a length past the end); -EBADMSG
 * otherwise.  The CRC covers every byte after itself (lengths, port,
 * reserved bytes, name, host), and the reserved bytes must be zero: names
 * and hosts never contain a NUL, so no record can be forged inside a
 * client's name and found by the resynchronising scan.
 */
static int rec_check(const uint8_t *p, size_t avail, size_t *total)
{
	static const uint8_t magic[4] = {0x53, 0x56, 0x52, 0x4a};
	size_t nl, hl;

	if (avail < sizeof(magic))
		return memcmp(p, magic, avail) ? -EBADMSG : -EAGAIN;
	if (get32(p) != J_REC_MAGIC)
		return -EBADMSG;
	if (avail < J_REC_HDR)
		return -EAGAIN;
	nl = get16(p + 8);
	hl = p[10];
	if (p[11] || p[14] || p[15] || nl == 0 || nl > SALVO_REGISTRY_NAME_MAX ||
	    hl > SALVO_REGISTRY_HOST_MAX)
		return -EBADMSG;
	*total = J_REC_HDR + nl + hl;
	if (*total > avail)
		return -EAGAIN;
	if (get32(p + 4) != crc32(p + 8, *total - 8) || memchr(p + J_REC_HDR + nl, 0, hl) ||
	    salvo_registry_name_check(p + J_REC_HDR, nl))
		return -EBADMSG;
	return 0;
}

/*
 * A record whose length fields were damaged can claim to run past the end
 * of the file and look torn.  It is not torn if the bytes that are there
 * verify with some other name/host length: then it was whole (and was
 * acknowledged), so it counts as damage.  At most 128 CRCs.
 */
static bool rec_length_damaged(const uint8_t *p, size_t avail)
{
	uint8_t hdr[8];
	size_t hl, nl;

	if (avail <= J_REC_HDR)
		return false;
	for (hl = 0; hl <= SALVO_REGISTRY_HOST_MAX && J_REC_HDR + hl < avail; hl++) {
		nl = avail - J_REC_HDR - hl;
		if (nl > SALVO_REGISTRY_NAME_MAX)
			continue;
		memcpy(hdr, p + 8, sizeof(hdr));
		put16(hdr, (uint16_t)nl);
		hdr[2] = (uint8_t)hl;
		if (get32(p + 4) == crc32_more(crc32(hdr, sizeof(hdr)), p + J_REC_HDR, nl + hl))
			return true;
	}
	return false;
}

/* The next offset >= from where an intact record starts; size if none. */
static size_t next_intact(const uint8_t *buf, size_t from, size_t size)
{
	size_t total;

	while (from < size) {
		const uint8_t *q = memmem(buf + from, size - from, "SVRJ", 4);

		if (!q)
			break;
		if (rec_check(q, size - (size_t)(q - buf), &total) == 0)
			return (size_t)(q - buf);
		from = (size_t)(q - buf) + 1;
	}
	return size;
}

/*
 * Whether the region [from, size), which holds no intact record, is a torn
 * tail: what a crash in the middle of an append leaves.  That is the start
 * of a record the file ends inside, or zeros (a file system that extended
 * the file before its data reached the disk).  Only at from, a record
 * boundary: inside damage no boundary is known, and a name may contain
 * "SVRJ", so a damaged span is never split into damage and a torn tail (it
 * is kept aside whole).
 */
static bool torn_tail(const uint8_t *buf, size_t from, size_t size)
{
	size_t i, total;

	for (i = from; i < size && !buf[i]; i++)
		;
	if (i == size)
		return true;
	return rec_check(buf + from, size - from, &total) == -EAGAIN &&
	       !rec_length_damaged(buf + from, size - from);
}

static void note_damage(struct salvo_registry_recovery *rc, size_t off, size_t len)
{
	if (rc->damaged < SALVO_REGISTRY_SPANS) {
		rc->span_off[rc->damaged] = off;
		rc->span_len[rc->damaged] = len;
	}
	rc->damaged++;
	rc->damaged_bytes += len;
}

static int replay_record(struct salvo_registry *r, const uint8_t *p)
{
	char host[SALVO_REGISTRY_HOST_MAX + 1];
	size_t nl = get16(p + 8), hl = p[10];
	struct entry *e;
	int rc;

	memcpy(host, p + J_REC_HDR + nl, hl);
	host[hl] = 0;
	rc = entry_new(&e, p + J_REC_HDR, nl, host, get16(p + 12));
	if (rc)
		return rc;
	/* Recovery keeps every journalled entry, even beyond max_clients. */
	__atomic_fetch_add(&r->nentries, 1, __ATOMIC_RELAXED);
	if (table_put(r, e, true) == 0)
		r->st_recovered++;
	r->rec.records++;
	return 0;
}

/*
 * Keep the damaged file as PATH.damaged-<unix time>[.N]: a hard link (one
 * atomic step; PATH stays the damaged journal until the rewrite replaces
 * it, so a crash in between replays the same file again), or a copy where
 * the file system has no hard links.
 */
static int keep_damaged(struct salvo_registry *r, const uint8_t *buf, size_t size)
{
	char *to = r->rec.moved_to;
	size_t cap = sizeof(r->rec.moved_to);
	long long now = (long long)time(NULL);
	int i, fd, rc;

	for (i = 0; i < 1000; i++) {
		if ((size_t)(i ? snprintf(to, cap, "%s.damaged-%lld.%d", r->path, now, i)
			       : snprintf(to, cap, "%s.damaged-%lld", r->path, now)) >= cap)
			return -ENAMETOOLONG;
		if (salvo__registry_sys.link(r->path, to) == 0)
			return fsync_dir(to);
		if (errno == EEXIST)
			continue;
		fd = salvo__registry_sys.open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return -errno;
		rc = write_all(fd, buf, size);
		if (!rc && salvo__registry_sys.fdatasync(fd))
			rc = -errno;
		close(fd);
		if (rc) {
			unlink(to);
			return rc;
		}
		return fsync_dir(to);
	}
	return -EEXIST;
}

/* -errno when the directory holding path cannot take new files (compaction's). */
static int dir_writable(const char *path)
{
	char *dup = strdup(path), *slash;
	int rc = 0;

	if (!dup)
		return -ENOMEM;
	slash = strrchr(dup, '/');
	if (slash)
		slash[slash == dup ? 1 : 0] = 0;
	if (access(slash ? dup : ".", W_OK | X_OK))
		rc = -errno;
	free(dup);
	return rc;
}

/*
 * Replay the journal into the table.  Called before any worker runs.
 * Every intact record is kept; damage is skipped, reported, and the file
 * kept aside before the journal is rewritten; a torn tail is cut off.
 */
static int journal_open(struct salvo_registry *r, char *err, size_t errlen)
{
	struct salvo_registry_recovery *rec = &r->rec;
	struct stat st;
	uint8_t *buf = NULL;
	size_t off, size, torn = 0, total, same, i;
	int fd, rc = 0;

	fd = salvo__registry_sys.open(r->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && (errno == EROFS || errno == EACCES || errno == EPERM)) {
		/*
		 * A read-only journal: serve what it holds, refuse every join
		 * with this error (nothing could be made durable).  Reported at
		 * create (rec->readonly), not first met at a join.
		 */
		r->jbroken = -errno;
		rec->readonly = r->jbroken;
		fd = salvo__registry_sys.open(r->path, O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0 && errno == ENOENT)
			errno = -r->jbroken;
	}
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "state file %s: %s", r->path, strerror(errno));
		return rc;
	}
	if (!r->jbroken)
		rec->dir_error = dir_writable(r->path);
	if (fstat(fd, &st)) {
		rc = -errno;
		goto fail;
	}
	size = st.st_size;
	if (size) {
		buf = malloc(size);
		if (!buf) {
			rc = -ENOMEM;
			goto fail;
		}
		if (pread(fd, buf, size, 0) != (ssize_t)size) {
			rc = errno ? -errno : -EIO;
			goto fail;
		}
	}
	off = J_FILE_HDR;
	if (size < J_FILE_HDR && !memcmp(buf ?: (uint8_t *)"", J_FILE_MAGIC, size)) {
		/* Empty, or a crash while the header was written: a new journal. */
		torn = size;
		off = size;
	} else if (size >= J_FILE_HDR && !memcmp(buf, J_FILE_MAGIC, J_FILE_HDR - 2) &&
		   buf[J_FILE_HDR - 1] == '\n' && buf[J_FILE_HDR - 2] >= '2' && buf[J_FILE_HDR - 2] <= '9' &&
		   (__builtin_popcount(buf[J_FILE_HDR - 2] ^ '1') > 1 ||
		    rec_check(buf + J_FILE_HDR, size - J_FILE_HDR, &total))) {
		/*
		 * Another format version, not damage: never "repaired" with this
		 * one's rules.  Unless the digit is one bit away from '1' and an
		 * intact record of this version follows: then one flipped bit
		 * made '1' a '3', '5' or '9', and the header is damage like any
		 * other.
		 */
		rc = -EBADMSG;
		snprintf(err, errlen, "state file %s is a salvo registry journal of another version (%.15s)",
			 r->path, (const char *)buf);
		goto fail_msg;
	} else if (size < J_FILE_HDR || memcmp(buf, J_FILE_MAGIC, J_FILE_HDR)) {
		/*
		 * A damaged header is told from another file by the rest: most
		 * of the header still there, or an intact record right after it.
		 */
		for (same = 0, i = 0; i < J_FILE_HDR && i < size; i++)
			same += buf[i] == (uint8_t)J_FILE_MAGIC[i];
		if (size < J_FILE_HDR ||
		    (same < J_FILE_HDR * 3 / 4 && rec_check(buf + J_FILE_HDR, size - J_FILE_HDR, &total))) {
			rc = -EBADMSG;
			snprintf(err, errlen, "state file %s is not a salvo registry journal", r->path);
			goto fail_msg;
		}
		note_damage(rec, 0, J_FILE_HDR);
	}
	while (off < size) {
		size_t next;

		if (rec_check(buf + off, size - off, &total) == 0) {
			rc = replay_record(r, buf + off);
			if (rc)
				goto fail;
			off += total;
			continue;
		}
		/* Resynchronise at the next intact record, never trusting this one's length. */
		next = next_intact(buf, off + 1, size);
		if (next < size) {
			note_damage(rec, off, next - off);
			off = next;
			continue;
		}
		if (torn_tail(buf, off, size))
			torn = size - off;
		else
			note_damage(rec, off, size - off);
		off = size;
	}
	rec->torn_bytes = torn;
	r->jdropped = torn;
	r->jrecords = rec->records;
	r->jfd = fd;
	if (r->jbroken) {
		/* Read-only: serve what was recovered; nothing can be repaired. */
		r->jsize = size;
	} else if (rec->damaged) {
		/*
		 * Keep the damaged file for a human, then write a clean journal of
		 * what was recovered (tmp, fdatasync, rename, directory fsync).
		 */
		rc = keep_damaged(r, buf, size);
		if (rc) {
			snprintf(err, errlen, "state file %s is damaged and could not be kept aside: %s",
				 r->path, strerror(-rc));
			rec->moved_to[0] = 0;
			goto fail_msg_nofd;
		}
		rc = compact_locked(r);
		if (rc) {
			snprintf(err, errlen, "state file %s is damaged (kept as %s) and could not be rewritten: %s",
				 r->path, rec->moved_to, strerror(-rc));
			goto fail_msg_nofd;
		}
		r->compactions = 0;
	} else if (size < J_FILE_HDR || torn) {
		/* A torn tail (or header): it was never acknowledged; cut it off. */
		size_t keep = size < J_FILE_HDR ? 0 : size - torn;

		if (ftruncate(fd, keep) || lseek(fd, keep, SEEK_SET) < 0) {
			rc = -errno;
			goto fail_nofd;
		}
		if (keep == 0)
			rc = write_all(fd, J_FILE_MAGIC, J_FILE_HDR);
		if (!rc && salvo__registry_sys.fdatasync(fd))
			rc = -errno;
		if (rc)
			goto fail_nofd;
		r->jsize = keep ? keep : J_FILE_HDR;
	} else {
		if (lseek(fd, size, SEEK_SET) < 0) {
			rc = -errno;
			goto fail_nofd;
		}
		r->jsize = size;
	}
	free(buf);
	return 0;
fail_nofd:
	snprintf(err, errlen, "state file %s: %s", r->path, strerror(-rc));
fail_msg_nofd:
	/* r->jfd (fd, or the rewritten journal's) is closed by destroy. */
	free(buf);
	return rc;
fail:
	snprintf(err, errlen, "state file %s: %s", r->path, strerror(-rc));
fail_msg:
	free(buf);
	close(fd);
	return rc;
}

void salvo_registry_recovery(struct salvo_registry *r, struct salvo_registry_recovery *out)
{
	*out = r->rec;
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
			} else if (salvo__registry_sys.fdatasync(r->jfd)) {
				/*
				 * After a failed fdatasync the page cache may have dropped
				 * the dirty pages and a later fsync could succeed without
				 * writing them: stop acknowledging joins until restart.
				 * The refused records are cut off (best effort), so a
				 * restart does not replay joins that were refused.
				 */
				rc = -errno;
				r->jbroken = rc;
				r->jsync_error = rc;
				if (!ftruncate(r->jfd, r->jsize) && lseek(r->jfd, r->jsize, SEEK_SET) >= 0)
					salvo__registry_sys.fdatasync(r->jfd);
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
		s->journal_error = r->jsync_error;
		pthread_mutex_unlock(&r->jlock);
	}
}
