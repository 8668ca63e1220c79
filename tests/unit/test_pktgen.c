// SPDX-License-Identifier: MIT
/* The raw frame builder: checksums against a plain reference, variation, sizes, pcap. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "frames/pktgen.h"
#include <salvo/stamp.h>
#include "frames/pcap.h"

#define NBUF 64
#define BUFSZ 2048

/* --- a deliberately naive reference (RFC 1071), sharing no code with pktgen.c --- */
static uint16_t ref_csum(const uint8_t *const *parts, const size_t *lens, int nparts)
{
	uint32_t sum = 0;
	int odd = 0;
	uint8_t carry = 0;

	for (int k = 0; k < nparts; k++) {
		for (size_t i = 0; i < lens[k]; i++) {
			if (!odd) {
				carry = parts[k][i];
				odd = 1;
			} else {
				sum += (uint32_t)carry * 256 + parts[k][i];
				odd = 0;
			}
			while (sum > 0xffff)
				sum = (sum & 0xffff) + (sum >> 16);
		}
	}
	if (odd)
		sum += (uint32_t)carry * 256;
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)(~sum & 0xffff);
}

static unsigned int rd16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

/* Verify one frame's IPv4 header and L4 checksums the long way. */
static void check_frame_csums(const uint8_t *f, uint32_t len)
{
	struct salvo_frame_info fi;
	const uint8_t *ip, *l4;
	uint8_t pseudo[40], work[BUFSZ];
	size_t pl, l4len;
	unsigned int stored, ck_off;

	assert_int_equal(salvo_frame_decode(f, len, &fi), 0);
	assert_false(fi.truncated);
	assert_true(fi.l4_off > 0);
	l4 = f + fi.l4_off;
	l4len = len - fi.l4_off;
	if (fi.family == AF_INET) {
		const uint8_t *parts[1];
		size_t lens[1] = { 20 };

		ip = l4 - 20;
		parts[0] = ip;
		/* a correct header sums to 0xffff, i.e. its checksum over itself is 0 */
		assert_int_equal(ref_csum(parts, lens, 1), 0);
		assert_int_equal(rd16(ip + 2), len - (ip - f));
		memcpy(pseudo, ip + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = fi.proto;
		pseudo[10] = (uint8_t)(l4len >> 8);
		pseudo[11] = (uint8_t)l4len;
		pl = 12;
	} else {
		ip = l4 - 40;
		assert_int_equal(rd16(ip + 4), l4len);
		memcpy(pseudo, ip + 8, 32);
		memset(pseudo + 32, 0, 8);
		pseudo[34] = (uint8_t)(l4len >> 8);
		pseudo[35] = (uint8_t)l4len;
		pseudo[39] = fi.proto;
		pl = 40;
	}
	ck_off = fi.proto == IPPROTO_UDP ? 6 : 16;
	stored = rd16(l4 + ck_off);
	memcpy(work, l4, l4len);
	work[ck_off] = work[ck_off + 1] = 0;
	{
		const uint8_t *parts[2] = { pseudo, work };
		size_t lens[2] = { pl, l4len };
		unsigned int want = ref_csum(parts, lens, 2);

		if (fi.proto == IPPROTO_UDP) {
			assert_int_equal(rd16(l4 + 4), l4len);
			if (want == 0)
				want = 0xffff;
		}
		assert_int_equal(stored, want);
	}
}

struct bufs {
	uint8_t mem[NBUF][BUFSZ];
	struct salvo_pkt pk[NBUF];
	struct salvo_pkt *v[NBUF];
};

static struct bufs *bufs_new(void)
{
	struct bufs *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	for (int i = 0; i < NBUF; i++) {
		b->pk[i].data = b->mem[i];
		b->pk[i].buf_len = BUFSZ;
		b->v[i] = &b->pk[i];
	}
	return b;
}

static void set(struct salvo_field *f, enum salvo_field_kind k, const char *s, int *fam)
{
	char err[256] = "";
	int rc = salvo_field_parse(f, k, s, fam, err, sizeof(err));

	if (rc)
		fail_msg("parse %s: %s", s, err);
}

static void base_cfg(struct salvo_l2_cfg *c, const char *src, const char *dst)
{
	salvo_l2_cfg_init(c);
	set(&c->src_mac, SALVO_FK_MAC, "02:00:00:00:00:01", NULL);
	set(&c->dst_mac, SALVO_FK_MAC, "02:00:00:00:00:02", NULL);
	set(&c->src_ip, SALVO_FK_IP4, src, &c->family);
	set(&c->dst_ip, SALVO_FK_IP4, dst, &c->family);
}

static struct salvo_pktgen *mkgen(const struct salvo_l2_cfg *c, unsigned int worker)
{
	struct salvo_pktgen *g = NULL;
	char err[256] = "";
	int rc = salvo_pktgen_create(&g, c, worker, 2, err, sizeof(err));

	if (rc)
		fail_msg("pktgen_create: %d %s", rc, err);
	return g;
}

/* --- tests --------------------------------------------------------------- */

static void test_csum_helpers(void **state)
{
	uint8_t buf[1501];
	uint64_t r = 12345;

	(void)state;
	for (int it = 0; it < 2000; it++) {
		size_t len = (size_t)(it % 1500) + 1;
		const uint8_t *parts[1] = { buf };
		size_t lens[1] = { len };

		for (size_t i = 0; i < len; i++) {
			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			buf[i] = (uint8_t)(r >> 56);
		}
		assert_int_equal(salvo_csum_fold(salvo_csum_add(0, buf, len)),
				 ref_csum(parts, lens, 1));
		/* RFC 1624: update after changing one word equals a recompute */
		if (len >= 4) {
			uint16_t hc = htons(ref_csum(parts, lens, 1));
			uint16_t m = (uint16_t)rd16(buf + 2), m1 = (uint16_t)(r >> 13);

			buf[2] = (uint8_t)(m1 >> 8);
			buf[3] = (uint8_t)m1;
			salvo_csum_replace16(&hc, m, m1);
			/* both zeros of ones' complement (0x0000/0xffff) are the same sum */
			if (ntohs(hc) != ref_csum(parts, lens, 1))
				assert_true((ntohs(hc) == 0xffff && ref_csum(parts, lens, 1) == 0) ||
					    (ntohs(hc) == 0 && ref_csum(parts, lens, 1) == 0xffff));
		}
	}
}

/* Many frames with every field varying at once, in each header combination. */
static void run_csum_mix(int family, bool vlan, enum salvo_l4 l4)
{
	struct salvo_l2_cfg c;
	struct salvo_pktgen *g;
	struct bufs *b = bufs_new();
	int fam = 0;

	if (family == AF_INET)
		base_cfg(&c, "10.0.0.1", "10.0.1.1");
	else
		base_cfg(&c, "fd00::1", "fd00::1:1");
	(void)fam;
	set(&c.src_ip, SALVO_FK_IP4, family == AF_INET ? "rand:10.0.0.1-10.0.255.254" :
			"rand:fd00::1-fd00::ffff:ffff", &c.family);
	set(&c.dst_ip, SALVO_FK_IP4, family == AF_INET ? "10.0.1.1-10.0.1.200+3" :
			"fd00::1:1,fd00::2:2,fd00::ffff:ffff:ffff:ffff", &c.family);
	set(&c.src_port, SALVO_FK_PORT, "rand:1-65535", NULL);
	set(&c.dst_port, SALVO_FK_PORT, "1000-1010", NULL);
	set(&c.src_mac, SALVO_FK_MAC, "02:00:00:00:00:01-02:00:00:00:01:00", NULL);
	c.vlan = vlan ? 100 : 0;
	c.vlan_prio = 5;
	c.l4 = l4;
	{
		char err[128];

		assert_int_equal(salvo_size_parse(&c.size, "60-1514", err, sizeof(err)), 0);
		if (family == AF_INET6)
			c.size.lo = 100;
	}
	g = mkgen(&c, 1);
	for (int round = 0; round < 100000 / NBUF; round++) {
		assert_int_equal(salvo_pktgen_fill(g, b->v, NBUF, 1000000ull * round), NBUF);
		for (int i = 0; i < NBUF; i++)
			check_frame_csums(b->pk[i].data, b->pk[i].len);
	}
	salvo_pktgen_destroy(g);
	salvo_l2_cfg_free(&c);
	free(b);
}

static void test_csum_ip4_udp(void **s) { (void)s; run_csum_mix(AF_INET, false, SALVO_L4_UDP); }
static void test_csum_ip4_udp_vlan(void **s) { (void)s; run_csum_mix(AF_INET, true, SALVO_L4_UDP); }
static void test_csum_ip6_udp(void **s) { (void)s; run_csum_mix(AF_INET6, false, SALVO_L4_UDP); }
static void test_csum_ip4_syn(void **s) { (void)s; run_csum_mix(AF_INET, false, SALVO_L4_TCP_SYN); }
static void test_csum_ip6_syn_vlan(void **s) { (void)s; run_csum_mix(AF_INET6, true, SALVO_L4_TCP_SYN); }

static void test_layout_fixed(void **state)
{
	struct salvo_l2_cfg c;
	struct salvo_pktgen *g;
	struct bufs *b = bufs_new();
	struct salvo_frame_info fi;
	struct salvo_stamp st;
	char line[256];

	(void)state;
	base_cfg(&c, "198.51.100.1", "198.51.100.2");
	set(&c.src_port, SALVO_FK_PORT, "4000", NULL);
	set(&c.dst_port, SALVO_FK_PORT, "5000", NULL);
	c.size.lo = c.size.hi = 128;
	g = mkgen(&c, 0);
	assert_int_equal(salvo_pktgen_fill(g, b->v, 3, 777), 3);
	for (int i = 0; i < 3; i++) {
		const uint8_t *f = b->pk[i].data;

		assert_int_equal(b->pk[i].len, 128);
		assert_memory_equal(f, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
		assert_int_equal(salvo_frame_decode(f, 128, &fi), 0);
		assert_int_equal(fi.family, AF_INET);
		assert_memory_equal(fi.src_ip, "\xc6\x33\x64\x01", 4);
		assert_int_equal(fi.src_port, 4000);
		assert_int_equal(fi.dst_port, 5000);
		assert_int_equal(fi.ttl, 64);
		assert_int_equal(fi.payload_off, 42);
		assert_int_equal(fi.payload_len, 128 - 42);
		assert_int_equal(salvo_stamp_decode(f + 42, fi.payload_len, &st), 0);
		assert_int_equal(st.flow, 0);
		assert_int_equal(st.seq, i);
		assert_int_equal(st.ts_ns, 777);
		/* the payload after the stamp is the offset pattern */
		assert_int_equal(f[42 + 40], 40);
		check_frame_csums(f, 128);
	}
	salvo_frame_format(&fi, b->pk[2].data, line, sizeof(line));
	assert_string_equal(line, "02:00:00:00:00:01 > 02:00:00:00:00:02 IPv4 198.51.100.1:4000 > "
				  "198.51.100.2:5000 UDP len 86 ttl 64 stamp flow 0 seq 2");
	salvo_pktgen_destroy(g);
	salvo_l2_cfg_free(&c);
	free(b);
}

static void test_field_modes(void **state)
{
	struct salvo_l2_cfg c;
	struct salvo_pktgen *g;
	struct bufs *b = bufs_new();
	struct salvo_frame_info fi;
	unsigned int seen_src[8] = { 0 };

	(void)state;
	base_cfg(&c, "10.1.0.1", "10.2.0.1");
	/* inc with a step, wrapping after hi */
	set(&c.dst_ip, SALVO_FK_IP4, "10.2.0.1-10.2.0.9+4", &c.family);	/* .1 .5 .9 */
	set(&c.dst_port, SALVO_FK_PORT, "7,8", NULL);			/* list */
	set(&c.src_ip, SALVO_FK_IP4, "rand:10.1.0.1-10.1.0.8", &c.family);
	set(&c.dst_mac, SALVO_FK_MAC, "02:00:00:00:00:fe-02:00:00:00:01:01", NULL);
	c.size.lo = c.size.hi = 80;
	g = mkgen(&c, 0);
	/* flows: lcm(3 addresses, 2 ports, 4 MACs) = 12 */
	assert_int_equal(salvo_pktgen_flows(g), 12);
	for (int r = 0; r < 4; r++) {
		assert_int_equal(salvo_pktgen_fill(g, b->v, NBUF, 0), NBUF);
		for (int i = 0; i < NBUF; i++) {
			unsigned int n = (unsigned int)(r * NBUF + i);
			const uint8_t *f = b->pk[i].data;
			struct salvo_stamp st;

			salvo_frame_decode(f, b->pk[i].len, &fi);
			assert_int_equal(fi.dst_ip[3], 1 + 4 * (n % 3));
			assert_int_equal(fi.dst_port, 7 + n % 2);
			assert_int_equal(f[5], (uint8_t)(0xfe + n % 4));
			assert_int_equal(f[4], (0xfe + n % 4) > 0xff ? 1 : 0);
			assert_true(fi.src_ip[3] >= 1 && fi.src_ip[3] <= 8);
			assert_int_equal(fi.src_ip[2], 0);
			seen_src[fi.src_ip[3] - 1]++;
			assert_int_equal(salvo_stamp_decode(f + fi.payload_off, fi.payload_len, &st), 0);
			assert_int_equal(st.flow, n % 12);
			assert_int_equal(st.seq, n / 12);
			assert_int_equal(b->pk[i].flow, n % 12);
			check_frame_csums(f, b->pk[i].len);
		}
	}
	for (int i = 0; i < 8; i++)	/* 256 draws over 8 values: each one shows up */
		assert_true(seen_src[i] > 0);
	salvo_pktgen_destroy(g);

	/* --flows: N source ports from the base; worker 1's flow ids follow worker 0's */
	salvo_field_free(&c.dst_ip);
	salvo_field_free(&c.dst_port);
	salvo_field_free(&c.dst_mac);
	set(&c.dst_ip, SALVO_FK_IP4, "10.2.0.1", &c.family);
	set(&c.dst_port, SALVO_FK_PORT, "9", NULL);
	set(&c.dst_mac, SALVO_FK_MAC, "02:00:00:00:00:02", NULL);
	set(&c.src_ip, SALVO_FK_IP4, "10.1.0.1", &c.family);
	c.flows = 5;
	c.src_port.lo = 2000;
	g = mkgen(&c, 1);
	assert_int_equal(salvo_pktgen_flows(g), 5);
	assert_int_equal(salvo_pktgen_fill(g, b->v, 10, 0), 10);
	for (int i = 0; i < 10; i++) {
		struct salvo_stamp st;

		salvo_frame_decode(b->pk[i].data, b->pk[i].len, &fi);
		assert_int_equal(fi.src_port, 2000 + i % 5);
		salvo_stamp_decode(b->pk[i].data + fi.payload_off, fi.payload_len, &st);
		assert_int_equal(st.flow, 5 + i % 5);
		assert_int_equal(st.seq, i / 5);
	}
	salvo_pktgen_destroy(g);
	salvo_l2_cfg_free(&c);
	free(b);
}

static void test_field_parse_errors(void **state)
{
	struct salvo_field f = { 0 };
	char err[256];
	int fam = 0;

	(void)state;
	assert_int_equal(salvo_field_parse(&f, SALVO_FK_PORT, "70000", NULL, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "port"));
	assert_int_equal(salvo_field_parse(&f, SALVO_FK_PORT, "9-5", NULL, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(salvo_field_parse(&f, SALVO_FK_MAC, "02:00:00:00:00", NULL, err,
					   sizeof(err)), -EINVAL);
	assert_int_equal(salvo_field_parse(&f, SALVO_FK_IP4, "10.0.0.1,::1", &fam, err,
					   sizeof(err)), -EINVAL);
	assert_int_equal(salvo_field_parse(&f, SALVO_FK_IP4, "rand:1.2.3.4", &fam, err,
					   sizeof(err)), -EINVAL);
	fam = 0;
	assert_int_equal(salvo_field_parse(&f, SALVO_FK_IP4, "fd00::1-fd00::ff+16", &fam, err,
					   sizeof(err)), 0);
	assert_int_equal(fam, AF_INET6);
	assert_int_equal(f.mode, SALVO_FIELD_INC);
	assert_int_equal(salvo_field_cycle(&f), 16);	/* 0x01, 0x11, ... 0xf1 */
	salvo_field_free(&f);
}

static void test_imix(void **state)
{
	struct salvo_l2_cfg c;
	struct salvo_pktgen *g;
	struct bufs *b = bufs_new();
	unsigned int n64 = 0, n576 = 0, n1500 = 0, total = 100000;
	char err[128];

	(void)state;
	base_cfg(&c, "10.0.0.1", "10.0.0.2");
	assert_int_equal(salvo_size_parse(&c.size, "imix", err, sizeof(err)), 0);
	g = mkgen(&c, 0);
	for (unsigned int done = 0; done < total;) {
		unsigned int n = SALVO_MIN(NBUF, total - done);

		assert_int_equal(salvo_pktgen_fill(g, b->v, n, 0), n);
		for (unsigned int i = 0; i < n; i++) {
			uint32_t l = b->pk[i].len;

			n64 += l == 64;
			n576 += l == 576;
			n1500 += l == 1500;
			if (done + i < 2000)
				check_frame_csums(b->pk[i].data, l);
		}
		done += n;
	}
	assert_int_equal(n64 + n576 + n1500, total);
	/* 7:4:1 exactly per 12 frames, so at most one partial cycle off */
	assert_in_range(n64, total * 7 / 12 - 7, total * 7 / 12 + 7);
	assert_in_range(n576, total * 4 / 12 - 4, total * 4 / 12 + 4);
	assert_in_range(n1500, total / 12 - 1, total / 12 + 1);
	salvo_pktgen_destroy(g);

	/* custom weights, interleaved: no run of more than 2 equal sizes with 1:1 */
	assert_int_equal(salvo_size_parse(&c.size, "100:1,200:1,300:2", err, sizeof(err)), 0);
	g = mkgen(&c, 0);
	assert_int_equal(salvo_pktgen_fill(g, b->v, 40, 0), 40);
	n64 = n576 = n1500 = 0;
	for (int i = 0; i < 40; i++) {
		n64 += b->pk[i].len == 100;
		n576 += b->pk[i].len == 200;
		n1500 += b->pk[i].len == 300;
	}
	assert_int_equal(n64, 10);
	assert_int_equal(n576, 10);
	assert_int_equal(n1500, 20);
	salvo_pktgen_destroy(g);

	assert_int_equal(salvo_size_parse(&c.size, "64:0", err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_size_parse(&c.size, "1500-64", err, sizeof(err)), -EINVAL);
	salvo_l2_cfg_free(&c);
	free(b);
}

static void test_size_range_and_check(void **state)
{
	struct salvo_l2_cfg c;
	struct salvo_pktgen *g = NULL;
	struct bufs *b = bufs_new();
	char err[256];
	uint32_t lo = 9999, hi = 0;

	(void)state;
	base_cfg(&c, "10.0.0.1", "10.0.0.2");
	assert_int_equal(salvo_size_parse(&c.size, "60-70", err, sizeof(err)), 0);
	g = mkgen(&c, 0);
	for (int r = 0; r < 50; r++) {
		salvo_pktgen_fill(g, b->v, NBUF, 0);
		for (int i = 0; i < NBUF; i++) {
			lo = SALVO_MIN(lo, b->pk[i].len);
			hi = SALVO_MAX(hi, b->pk[i].len);
			check_frame_csums(b->pk[i].data, b->pk[i].len);
		}
	}
	assert_int_equal(lo, 60);
	assert_int_equal(hi, 70);
	salvo_pktgen_destroy(g);

	/* a buffer too small for the frame: nothing written, -ENOSPC; a partial burst stops there */
	c.size.mode = SALVO_SIZE_FIXED;
	c.size.lo = c.size.hi = 100;
	g = mkgen(&c, 0);
	b->pk[0].buf_len = 99;
	assert_int_equal(salvo_pktgen_fill(g, b->v, 2, 0), -ENOSPC);
	b->pk[0].buf_len = BUFSZ;
	b->pk[1].buf_len = 99;
	assert_int_equal(salvo_pktgen_fill(g, b->v, 2, 0), 1);
	assert_int_equal(salvo_pktgen_count(g), 1);
	salvo_pktgen_destroy(g);

	/* headers larger than the frame; no destination */
	c.size.lo = c.size.hi = 41;
	assert_int_equal(salvo_pktgen_create(&g, &c, 0, 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "smaller than the headers"));
	c.size.lo = c.size.hi = 60;
	salvo_field_free(&c.dst_ip);
	c.dst_ip.set = false;
	assert_int_equal(salvo_l2_check(&c, 1500, err, sizeof(err)), -EDESTADDRREQ);
	assert_non_null(strstr(err, "--dst"));
	salvo_l2_cfg_free(&c);
	free(b);
}

static void test_hex(void **state)
{
	struct salvo_l2_cfg c;
	struct salvo_pktgen *g;
	struct bufs *b = bufs_new();
	char err[128];
	uint8_t *fr = NULL;
	uint32_t len = 0;

	(void)state;
	assert_int_equal(salvo_hex_parse("0x0a0b 0c:0d", &fr, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(fr, "\x0a\x0b\x0c\x0d", 4);
	free(fr);
	assert_int_equal(salvo_hex_parse("abc", &fr, &len, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_hex_parse("zz", &fr, &len, err, sizeof(err)), -EINVAL);

	salvo_l2_cfg_init(&c);
	c.src = SALVO_FRAMES_HEX;
	assert_int_equal(salvo_hex_parse("ffffffffffff020000000001 88b5 48656c6c6f", &c.frame,
					 &c.frame_len, err, sizeof(err)), 0);
	g = mkgen(&c, 0);
	assert_int_equal(salvo_pktgen_fill(g, b->v, 3, 0), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(b->pk[i].len, 19);
		assert_memory_equal(b->pk[i].data, c.frame, 19);
	}
	salvo_pktgen_destroy(g);
	salvo_l2_cfg_free(&c);
	free(b);
}

static void test_pcap_roundtrip(void **state)
{
	struct salvo_l2_cfg c, r;
	struct salvo_pktgen *g;
	struct salvo_pcap *p = NULL;
	struct bufs *b = bufs_new(), *b2 = bufs_new();
	char path[] = "/tmp/salvo-test-pcap-XXXXXX";
	char err[256];
	uint8_t *fr[NBUF];
	uint32_t lens[NBUF];
	uint64_t ts[NBUF];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	base_cfg(&c, "10.0.0.1", "10.0.0.2");
	assert_int_equal(salvo_size_parse(&c.size, "imix", err, sizeof(err)), 0);
	c.flows = 3;
	g = mkgen(&c, 0);
	assert_int_equal(salvo_pktgen_fill(g, b->v, NBUF, 5), NBUF);
	for (int i = 0; i < NBUF; i++) {
		fr[i] = b->pk[i].data;
		lens[i] = b->pk[i].len;
		ts[i] = 1000000000ull + (uint64_t)i * 1500;	/* 1.5 us apart, ns precision */
	}
	assert_int_equal(salvo_pcap_save(path, fr, lens, ts, NBUF, err, sizeof(err)), 0);
	assert_int_equal(salvo_pcap_load(&p, path, err, sizeof(err)), 0);
	assert_int_equal(p->n, NBUF);
	for (int i = 0; i < NBUF; i++) {
		assert_int_equal(p->lens[i], lens[i]);
		assert_memory_equal(p->frames[i], fr[i], lens[i]);
		assert_int_equal(p->ts_ns[i], (uint64_t)i * 1500);
	}
	assert_int_equal(p->span_ns, (NBUF - 1) * 1500);
	salvo_pcap_free(p);

	/* replay: the same bytes, looped, and timed from the capture */
	salvo_l2_cfg_init(&r);
	r.src = SALVO_FRAMES_PCAP;
	r.pcap_path = path;
	r.pcap_timing = true;
	{
		struct salvo_pktgen *rg = mkgen(&r, 0);

		assert_int_equal(salvo_pktgen_max_frame(rg), 1500);
		for (int loop = 0; loop < 2; loop++) {
			for (int i = 0; i < NBUF; i++) {
				assert_int_equal(salvo_pktgen_next_due(rg),
						 (uint64_t)loop * (NBUF * 1500) + (uint64_t)i * 1500);
				assert_int_equal(salvo_pktgen_fill(rg, &b2->v[i], 1, 0), 1);
				assert_int_equal(b2->pk[i].len, lens[i]);
				assert_memory_equal(b2->pk[i].data, fr[i], lens[i]);
			}
		}
		salvo_pktgen_destroy(rg);
	}
	unlink(path);
	assert_int_equal(salvo_pcap_load(&p, path, err, sizeof(err)), -ENOENT);
	salvo_pktgen_destroy(g);
	salvo_l2_cfg_free(&c);
	free(b);
	free(b2);
}

static void test_decode_short(void **state)
{
	struct salvo_frame_info fi;
	uint8_t f[64] = { 0 };
	char line[200];

	(void)state;
	assert_int_equal(salvo_frame_decode(f, 10, &fi), -EINVAL);
	f[12] = 0x08;	/* IPv4 ethertype, but no room for the header */
	assert_int_equal(salvo_frame_decode(f, 20, &fi), 0);
	assert_true(fi.truncated);
	f[12] = 0x88;
	f[13] = 0xb5;
	assert_int_equal(salvo_frame_decode(f, 60, &fi), 0);
	salvo_frame_format(&fi, f, line, sizeof(line));
	assert_non_null(strstr(line, "ethertype 0x88b5 len 60"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_helpers),
		cmocka_unit_test(test_csum_ip4_udp),
		cmocka_unit_test(test_csum_ip4_udp_vlan),
		cmocka_unit_test(test_csum_ip6_udp),
		cmocka_unit_test(test_csum_ip4_syn),
		cmocka_unit_test(test_csum_ip6_syn_vlan),
		cmocka_unit_test(test_layout_fixed),
		cmocka_unit_test(test_field_modes),
		cmocka_unit_test(test_field_parse_errors),
		cmocka_unit_test(test_imix),
		cmocka_unit_test(test_size_range_and_check),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_pcap_roundtrip),
		cmocka_unit_test(test_decode_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
