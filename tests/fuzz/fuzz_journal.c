// SPDX-License-Identifier: MIT
/*
 * Fuzz the registry's journal loader (registry/registry.c, journal_open) on a
 * file in tmpfs (/dev/shm, else /tmp).  Two kinds of input:
 *
 *  - data[0] bit 7 clear: the rest is names cut at 0xff bytes; they are
 *    journalled by this file's own encoder (docs/registry.md's layout, an
 *    independent witness of the format), then 1..3 bits chosen by the input
 *    are flipped.  CRC-32 catches every error of 3 bits or fewer in a
 *    record, so the list after replay must hold exactly the names with an
 *    untouched record, each with its last untouched record's address and
 *    port (never a damaged or older value); a single flip is never a torn
 *    tail; damage is kept aside byte for byte.
 *  - bit 7 set: the rest is the file (after the header when bit 6 is set).
 *    Replay must not crash and either refuse the file as not a journal or
 *    load it.
 *
 * Either way a repaired journal must reload with no damage and the same
 * names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "registry/registry.h"

#define MAX_RECS 48
#define MAX_FILE (1 << 16)

static char dir[64];
static char path[96];
static const char *const hosts[] = {"127.0.0.1", "::1", ""};

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/dev/shm/salvo-fuzz-journal-XXXXXX");
	if (!mkdtemp(dir)) {
		snprintf(dir, sizeof(dir), "/tmp/salvo-fuzz-journal-XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	atexit(cleanup);
	salvo_registry_thread_enter();
	return 0;
}

/* Bitwise CRC-32 (IEEE, reflected): not the loader's table code. */
static uint32_t ref_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffU;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320U & -(c & 1));
	}
	return ~c;
}

static size_t encode(uint8_t *p, const uint8_t *name, size_t nl, const char *host, unsigned int port)
{
	size_t hl = strlen(host), total = 16 + nl + hl;
	uint32_t crc;

	memcpy(p, "SVRJ", 4);
	p[8] = nl & 0xff;
	p[9] = nl >> 8;
	p[10] = hl;
	p[11] = 0;
	p[12] = port & 0xff;
	p[13] = port >> 8;
	p[14] = p[15] = 0;
	memcpy(p + 16, name, nl);
	memcpy(p + 16 + nl, host, hl);
	crc = ref_crc32(p + 8, total - 8);
	for (int k = 0; k < 4; k++)
		p[4 + k] = crc >> (8 * k);
	return total;
}

static void put_file(const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		abort();
	close(fd);
}

static json_t *list(struct salvo_registry *r)
{
	struct salvo_registry_reply *rep;
	const char *text;
	size_t len;
	json_t *j;

	if (salvo_registry_list(r, salvo_registry_gen(r), &rep))
		abort();
	text = salvo_registry_reply_data(rep, &len);
	j = json_loadb(text, len, 0, NULL);
	salvo_registry_reply_put(rep);
	if (!j || !json_is_object(j))
		abort();
	return j;
}

/* The damaged file was kept as it was; the rewrite reloads clean with the same names. */
static void check_repair(const struct salvo_registry_recovery *rv, const uint8_t *file, size_t len,
			 size_t names)
{
	struct salvo_registry_recovery rv2;
	struct salvo_registry *r;
	char err[512];
	uint8_t *kept;
	int fd;
	json_t *j;

	if (!rv->moved_to[0])
		return;
	kept = malloc(len + 1);
	fd = open(rv->moved_to, O_RDONLY);
	if (!kept || fd < 0 || read(fd, kept, len + 1) != (ssize_t)len || memcmp(kept, file, len))
		abort();
	close(fd);
	free(kept);
	unlink(rv->moved_to);
	if (salvo_registry_create(&r, &(struct salvo_registry_opts){.state_path = path}, err, sizeof(err)))
		abort();
	salvo_registry_recovery(r, &rv2);
	j = list(r);
	if (rv2.damaged || rv2.torn_bytes || rv2.records != names || json_object_size(j) != names)
		abort();
	json_decref(j);
	salvo_registry_destroy(r);
}

static void run_raw(const uint8_t *data, size_t size)
{
	static uint8_t file[MAX_FILE + 16];
	struct salvo_registry_recovery rv;
	struct salvo_registry *r;
	size_t len = 0;
	char err[512];
	json_t *j;
	int rc;

	if (size > MAX_FILE)
		return;
	if (data[0] & 0x40) {
		memcpy(file, "salvo-registry1\n", 16);
		len = 16;
	}
	memcpy(file + len, data + 1, size - 1);
	len += size - 1;
	put_file(file, len);
	rc = salvo_registry_create(&r, &(struct salvo_registry_opts){.state_path = path}, err, sizeof(err));
	if (rc) {
		if (rc != -EBADMSG)
			abort();	/* the only refusal: not a journal at all */
		return;
	}
	salvo_registry_recovery(r, &rv);
	j = list(r);
	if (json_object_size(j) > rv.records)
		abort();
	check_repair(&rv, file, len, json_object_size(j));
	json_decref(j);
	salvo_registry_destroy(r);
}

/* Records [n_intact, nrec) all damaged and [0, n_intact) all intact. */
static bool tail_damaged(const bool *intact, unsigned int n_intact, size_t nrec)
{
	for (size_t k = 0; k < nrec; k++)
		if (intact[k] != (k < n_intact))
			return false;
	return true;
}

static void run_flips(const uint8_t *data, size_t size)
{
	static uint8_t file[16 + MAX_RECS * (16 + 255 + 16)], orig[sizeof(file)];
	size_t off[MAX_RECS + 1], nl[MAX_RECS], len = 16, nrec = 0, start, nflips, i, k;
	const uint8_t *name[MAX_RECS];
	struct salvo_registry_recovery rv;
	struct salvo_registry *r;
	bool intact[MAX_RECS];
	uint64_t flip[3];
	unsigned int intact_n = 0;
	char err[512];
	json_t *j;

	nflips = 1 + data[0] % 3;
	if (size < 1 + 4 * nflips)
		return;
	for (i = 0; i < nflips; i++)
		flip[i] = data[1 + 4 * i] | data[2 + 4 * i] << 8 | (uint32_t)data[3 + 4 * i] << 16;
	memcpy(file, "salvo-registry1\n", 16);
	start = 1 + 4 * nflips;
	for (i = start; i <= size && nrec < MAX_RECS; i++) {
		if (i < size && data[i] != 0xff)
			continue;
		if (!salvo_registry_name_check(data + start, i - start)) {
			name[nrec] = data + start;
			nl[nrec] = i - start;
			off[nrec] = len;
			len += encode(file + len, data + start, i - start, hosts[nrec % 3], 1000 + nrec);
			nrec++;
		}
		start = i + 1;
	}
	off[nrec] = len;
	memcpy(orig, file, len);
	for (i = 0; i < nflips; i++) {
		flip[i] %= len * 8;
		file[flip[i] / 8] ^= 1u << (flip[i] % 8);
	}
	/* Two flips of one bit cancel: a record is intact when its bytes are. */
	for (k = 0; k < nrec; k++) {
		intact[k] = !memcmp(file + off[k], orig + off[k], off[k + 1] - off[k]);
		intact_n += intact[k];
	}
	put_file(file, len);
	if (salvo_registry_create(&r, &(struct salvo_registry_opts){.state_path = path}, err, sizeof(err))) {
		/*
		 * A few flipped bits never make the file "not a journal".  One
		 * exception: flips of the version digit ('1' -> '2'..'9') read
		 * as a journal of another version, which is refused, not
		 * repaired, unless the digit is one bit off and an intact record
		 * follows the header.
		 */
		if (strstr(err, "another version") && file[14] != orig[14] &&
		    (nrec == 0 || !intact[0] || __builtin_popcount(file[14] ^ orig[14]) > 1))
			return;
		abort();
	}
	salvo_registry_recovery(r, &rv);
	if (rv.records != intact_n)
		abort();
	if (nflips == 1 && rv.torn_bytes)
		abort();	/* one flipped bit is damage, never a torn tail */
	/*
	 * Damage is reported and kept aside.  The one exception needs two
	 * flips in the last record, one in its lengths so it seems to run past
	 * the end and one in its bytes: that is a torn tail, cut off.  With a
	 * third flip the record whose length runs past the end may be an
	 * earlier one, every record after it damaged too: the same torn tail,
	 * from that record on (no intact record is lost).
	 */
	if (intact_n < nrec && (!rv.damaged || !rv.moved_to[0]) &&
	    !(nflips > 1 && intact_n == nrec - 1 && !intact[nrec - 1] &&
	      rv.torn_bytes == len - off[nrec - 1]) &&
	    !(nflips > 1 && intact_n < nrec && tail_damaged(intact, intact_n, nrec) &&
	      rv.torn_bytes == len - off[intact_n]))
		abort();	/* damage is reported and kept aside */
	j = list(r);
	for (k = 0; k < nrec; k++) {
		char key[256];
		json_t *e;
		ssize_t last = -1;

		for (i = 0; i < nrec; i++)
			if (intact[i] && nl[i] == nl[k] && !memcmp(name[i], name[k], nl[k]))
				last = (ssize_t)i;
		memcpy(key, name[k], nl[k]);
		key[nl[k]] = 0;
		e = json_object_get(j, key);
		if (last < 0) {
			if (e)
				abort();	/* a name with no intact record came back */
			continue;
		}
		if (!e || json_integer_value(json_object_get(e, "port")) != 1000 + last ||
		    strcmp(json_string_value(json_object_get(e, "address")), hosts[last % 3]))
			abort();	/* not its last intact value */
	}
	check_repair(&rv, file, len, json_object_size(j));
	json_decref(j);
	salvo_registry_destroy(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 0x80)
		run_raw(data, size);
	else
		run_flips(data, size);
	unlink(path);
	return 0;
}
