// SPDX-License-Identifier: MIT
/*
 * The raw frame builder: templates, field variation, sizes, incremental
 * checksums (RFC 1624), and the one-line frame decoder.  Layout and the
 * flow model are described in frames/pktgen.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "frames/pktgen.h"
#include <salvo/stamp.h>
#include "frames/pcap.h"

#define ETH_HLEN_ 14
#define VLAN_HLEN_ 4
#define IP4_HLEN 20
#define IP6_HLEN 40
#define UDP_HLEN 8
#define TCP_HLEN 20
#define ETHTYPE_IP4 0x0800
#define ETHTYPE_IP6 0x86dd
#define ETHTYPE_VLAN 0x8100
#define ETHTYPE_QINQ 0x88a8

/* Beyond this many flows per worker the stamp's flow stops naming a tuple. */
#define MAX_CYCLE (1u << 16)
#define MAX_WEIGHT_TOTAL (1u << 16)
#define MAX_FRAME 65535u

/* --- checksums ------------------------------------------------------------ */

uint32_t salvo_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

static inline uint16_t fold16(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

uint16_t salvo_csum_fold(uint32_t sum)
{
	return (uint16_t)~fold16(sum);
}

/* RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): all in host order, stored big-endian. */
void salvo_csum_replace16(uint16_t *hc, uint16_t m, uint16_t m1)
{
	uint16_t h = ntohs(*hc);
	uint32_t s = (uint16_t)~h + (uint32_t)(uint16_t)~m + m1;

	*hc = htons((uint16_t)~fold16(s));
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* --- configuration ------------------------------------------------------ */

void salvo_l2_cfg_init(struct salvo_l2_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->src_port.lo = 9;
	c->dst_port.lo = 9;
	c->ttl = 64;
	c->size.mode = SALVO_SIZE_FIXED;
	c->size.lo = c->size.hi = 60;
	c->flows = 1;
	c->stamp = true;
	c->stamp_clock = CLOCK_MONOTONIC;
}

void salvo_field_free(struct salvo_field *f)
{
	free(f->list);
	f->list = NULL;
	f->nlist = 0;
}

void salvo_l2_cfg_free(struct salvo_l2_cfg *c)
{
	salvo_field_free(&c->src_mac);
	salvo_field_free(&c->dst_mac);
	salvo_field_free(&c->src_ip);
	salvo_field_free(&c->dst_ip);
	salvo_field_free(&c->src_port);
	salvo_field_free(&c->dst_port);
	free(c->frame);
	c->frame = NULL;
}

static salvo_u128 be_to_u128(const uint8_t *p, unsigned int n)
{
	salvo_u128 v = 0;

	for (unsigned int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void u128_to_be(uint8_t *p, salvo_u128 v, unsigned int n)
{
	for (unsigned int i = n; i-- > 0;) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static int parse_u128_dec(const char *s, salvo_u128 *out)
{
	salvo_u128 v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(*s - '0');
	}
	*out = v;
	return 0;
}

/* One value of a field; *fam is updated for addresses (0 on entry: any). */
static int parse_one(enum salvo_field_kind kind, const char *s, salvo_u128 *v, int *fam)
{
	uint8_t b[16];

	switch (kind) {
	case SALVO_FK_MAC: {
		unsigned int m[6];
		char tail;

		if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
			   &tail) != 6)
			return -EINVAL;
		for (int i = 0; i < 6; i++) {
			if (m[i] > 0xff)
				return -EINVAL;
			b[i] = (uint8_t)m[i];
		}
		*v = be_to_u128(b, 6);
		return 0;
	}
	case SALVO_FK_PORT: {
		salvo_u128 x;

		if (parse_u128_dec(s, &x) || x > 65535)
			return -EINVAL;
		*v = x;
		return 0;
	}
	case SALVO_FK_IP4:
	case SALVO_FK_IP6:
		if (inet_pton(AF_INET, s, b) == 1) {
			if (*fam && *fam != AF_INET)
				return -EAFNOSUPPORT;
			*fam = AF_INET;
			*v = be_to_u128(b, 4);
			return 0;
		}
		if (inet_pton(AF_INET6, s, b) == 1) {
			if (*fam && *fam != AF_INET6)
				return -EAFNOSUPPORT;
			*fam = AF_INET6;
			*v = be_to_u128(b, 16);
			return 0;
		}
		return -EINVAL;
	}
	return -EINVAL;
}

static const char *kind_name(enum salvo_field_kind k)
{
	switch (k) {
	case SALVO_FK_MAC:
		return "MAC address";
	case SALVO_FK_PORT:
		return "port (0..65535)";
	default:
		return "IP address";
	}
}

int salvo_field_parse(struct salvo_field *f, enum salvo_field_kind kind, const char *s,
		      int *family, char *err, size_t errlen)
{
	char *dup = NULL, *a, *b, *step;
	int fam = family ? *family : 0;
	int rc = -EINVAL;
	struct salvo_field nf = { 0 };

	if (!s || !*s) {
		snprintf(err, errlen, "empty %s", kind_name(kind));
		return -EINVAL;
	}
	dup = strdup(s);
	if (!dup)
		return -ENOMEM;
	a = dup;
	nf.set = true;
	nf.step = 1;
	if (!strncmp(a, "rand:", 5)) {
		nf.mode = SALVO_FIELD_RANDOM;
		a += 5;
	}
	if (strchr(a, ',')) {
		unsigned int n = 1;
		char *save = NULL, *tok;

		if (nf.mode == SALVO_FIELD_RANDOM)
			goto bad;
		for (const char *q = a; *q; q++)
			n += *q == ',';
		nf.mode = SALVO_FIELD_LIST;
		nf.list = calloc(n, sizeof(*nf.list));
		if (!nf.list) {
			rc = -ENOMEM;
			goto out;
		}
		for (tok = strtok_r(a, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (parse_one(kind, tok, &nf.list[nf.nlist], &fam))
				goto bad;
			nf.nlist++;
		}
		if (nf.nlist != n)
			goto bad;
		nf.lo = nf.hi = nf.list[0];
		goto ok;
	}
	b = strchr(a, '-');
	if (b) {
		*b++ = '\0';
		step = strchr(b, '+');
		if (step) {
			*step++ = '\0';
			if (nf.mode == SALVO_FIELD_RANDOM || parse_u128_dec(step, &nf.step) ||
			    !nf.step)
				goto bad;
		}
		if (parse_one(kind, a, &nf.lo, &fam) || parse_one(kind, b, &nf.hi, &fam))
			goto bad;
		if (nf.hi < nf.lo) {
			snprintf(err, errlen, "%s: range must go up (%s)", kind_name(kind), s);
			goto out;
		}
		if (nf.mode != SALVO_FIELD_RANDOM)
			nf.mode = nf.hi == nf.lo ? SALVO_FIELD_FIXED : SALVO_FIELD_INC;
		else if ((nf.hi - nf.lo) >> 64) {
			snprintf(err, errlen, "%s: random range wider than 2^64 (%s)",
				 kind_name(kind), s);
			goto out;
		}
		goto ok;
	}
	if (nf.mode == SALVO_FIELD_RANDOM)
		goto bad;
	if (parse_one(kind, a, &nf.lo, &fam))
		goto bad;
	nf.hi = nf.lo;
	nf.mode = SALVO_FIELD_FIXED;
ok:
	salvo_field_free(f);
	*f = nf;
	nf.list = NULL;
	if (family)
		*family = fam;
	rc = 0;
	goto out;
bad:
	snprintf(err, errlen,
		 "bad %s '%s' (V, A-B, A-B+STEP, rand:A-B or A,B,C%s)", kind_name(kind), s,
		 kind == SALVO_FK_IP4 || kind == SALVO_FK_IP6 ? "; one address family" : "");
out:
	free(nf.list);
	free(dup);
	return rc;
}

uint64_t salvo_field_cycle(const struct salvo_field *f)
{
	salvo_u128 n;

	switch (f->mode) {
	case SALVO_FIELD_INC:
		n = (f->hi - f->lo) / f->step + 1;
		return n > UINT64_MAX ? UINT64_MAX : (uint64_t)n;
	case SALVO_FIELD_LIST:
		return f->nlist;
	default:
		return 1;
	}
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > MAX_FRAME)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int salvo_size_parse(struct salvo_size_spec *sp, const char *str, char *err, size_t errlen)
{
	struct salvo_size_spec s = { 0 };
	char *dup, *tok, *save = NULL, *dash;
	uint64_t total = 0;
	int rc = -EINVAL;

	if (!strcmp(str, "imix"))
		str = "64:7,576:4,1500:1";
	dup = strdup(str);
	if (!dup)
		return -ENOMEM;
	if (strchr(dup, ':')) {
		s.mode = SALVO_SIZE_WEIGHTED;
		for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char *w = strchr(tok, ':');

			if (!w || s.n == SALVO_SIZE_MAX_WEIGHTS)
				goto bad;
			*w++ = '\0';
			if (parse_u32(tok, &s.sizes[s.n]) || parse_u32(w, &s.weights[s.n]) ||
			    !s.weights[s.n] || !s.sizes[s.n])
				goto bad;
			total += s.weights[s.n];
			s.n++;
		}
		if (!s.n || total > MAX_WEIGHT_TOTAL)
			goto bad;
		s.lo = s.hi = s.sizes[0];
		for (unsigned int i = 1; i < s.n; i++) {
			s.lo = SALVO_MIN(s.lo, s.sizes[i]);
			s.hi = SALVO_MAX(s.hi, s.sizes[i]);
		}
	} else if ((dash = strchr(dup, '-'))) {
		*dash++ = '\0';
		if (parse_u32(dup, &s.lo) || parse_u32(dash, &s.hi) || !s.lo || s.hi < s.lo)
			goto bad;
		s.mode = s.lo == s.hi ? SALVO_SIZE_FIXED : SALVO_SIZE_RANGE;
	} else {
		if (parse_u32(dup, &s.lo) || !s.lo)
			goto bad;
		s.hi = s.lo;
		s.mode = SALVO_SIZE_FIXED;
	}
	*sp = s;
	rc = 0;
	goto out;
bad:
	snprintf(err, errlen,
		 "bad size '%s': BYTES, LO-HI, imix, or SIZE:WEIGHT,... (up to %d, weights "
		 "summing to <= %u)", str, SALVO_SIZE_MAX_WEIGHTS, MAX_WEIGHT_TOTAL);
out:
	free(dup);
	return rc;
}

uint32_t salvo_size_max(const struct salvo_size_spec *s)
{
	return s->hi;
}

uint32_t salvo_size_min(const struct salvo_size_spec *s)
{
	return s->lo;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int salvo_hex_parse(const char *hex, uint8_t **out, uint32_t *len, char *err, size_t errlen)
{
	size_t n = 0, cap = strlen(hex) / 2 + 1;
	uint8_t *b;
	int hi = -1;

	if (!strncmp(hex, "0x", 2) || !strncmp(hex, "0X", 2))
		hex += 2;
	b = malloc(cap);
	if (!b)
		return -ENOMEM;
	for (const char *p = hex; *p; p++) {
		int v;

		if (*p == ' ' || *p == ':' || *p == '\n' || *p == '\t')
			continue;
		v = hexval((unsigned char)*p);
		if (v < 0) {
			snprintf(err, errlen, "bad hex digit '%c' at offset %zu", *p,
				 (size_t)(p - hex));
			free(b);
			return -EINVAL;
		}
		if (hi < 0) {
			hi = v;
		} else {
			b[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0 || !n || n > MAX_FRAME) {
		snprintf(err, errlen, "hex frame: %s", hi >= 0 ? "odd number of digits" :
			 !n ? "empty" : "longer than 65535 bytes");
		free(b);
		return -EINVAL;
	}
	*out = b;
	*len = (uint32_t)n;
	return 0;
}

static uint32_t l3_hdr(const struct salvo_l2_cfg *c)
{
	return c->family == AF_INET6 ? IP6_HLEN : IP4_HLEN;
}

static uint32_t l4_hdr(const struct salvo_l2_cfg *c)
{
	return c->l4 == SALVO_L4_TCP_SYN ? TCP_HLEN : UDP_HLEN;
}

uint32_t salvo_l2_hdr_len(const struct salvo_l2_cfg *c)
{
	return ETH_HLEN_ + (c->vlan ? VLAN_HLEN_ : 0) + l3_hdr(c) + l4_hdr(c);
}

int salvo_l2_check(const struct salvo_l2_cfg *c, uint32_t mtu, char *err, size_t errlen)
{
	uint32_t l2max = mtu ? mtu + ETH_HLEN_ + (c->vlan ? VLAN_HLEN_ : 0) : MAX_FRAME;

	if (c->src == SALVO_FRAMES_HEX) {
		if (c->frame_len < ETH_HLEN_) {
			snprintf(err, errlen, "--frame-hex: a frame needs at least 14 bytes");
			return -EINVAL;
		}
		if (c->frame_len > l2max) {
			snprintf(err, errlen, "--frame-hex: %u bytes is more than the interface "
				 "takes (%u)", c->frame_len, l2max);
			return -EMSGSIZE;
		}
		return 0;
	}
	if (c->src == SALVO_FRAMES_PCAP) {
		if (!c->pcap_path && !c->pcap) {
			snprintf(err, errlen, "--pcap: no capture file");
			return -EINVAL;
		}
		return 0;
	}
	if (!c->dst_ip.set) {
		snprintf(err, errlen, "no destination: give --dst IP (raw frames are never "
			 "sent to a default address)");
		return -EDESTADDRREQ;
	}
	if (!c->src_ip.set) {
		snprintf(err, errlen, "no source address: give --src IP");
		return -EINVAL;
	}
	if (c->family != AF_INET && c->family != AF_INET6) {
		snprintf(err, errlen, "source and destination must be of one address family");
		return -EINVAL;
	}
	if (!c->dst_mac.set || !c->src_mac.set) {
		snprintf(err, errlen, "no %s MAC address", c->dst_mac.set ? "source" :
			 "destination");
		return -EINVAL;
	}
	if (c->vlan > 4094 || c->vlan_prio > 7) {
		snprintf(err, errlen, "VLAN id must be 1..4094 and priority 0..7");
		return -EINVAL;
	}
	if (salvo_size_min(&c->size) < salvo_l2_hdr_len(c)) {
		snprintf(err, errlen, "frame size %u is smaller than the headers (%u bytes)",
			 salvo_size_min(&c->size), salvo_l2_hdr_len(c));
		return -EINVAL;
	}
	if (salvo_size_max(&c->size) > l2max) {
		snprintf(err, errlen, "frame size %u is larger than the interface's MTU allows "
			 "(%u bytes without FCS)", salvo_size_max(&c->size), l2max);
		return -EMSGSIZE;
	}
	if (!c->flows) {
		snprintf(err, errlen, "--flows must be >= 1");
		return -EINVAL;
	}
	return 0;
}

/* --- the generator ------------------------------------------------------- */

struct gfield {
	enum salvo_field_mode mode;
	salvo_u128 lo, hi, step, cur;
	salvo_u128 *list;
	unsigned int nlist, li;
	uint16_t off;		/* in the frame */
	uint8_t width;
	bool ip_csum;		/* covered by the IPv4 header checksum */
	bool l4_csum;		/* covered by the UDP/TCP checksum (pseudo header or header) */
};

struct salvo_pktgen {
	enum salvo_frame_src src;
	bool udp, ip4, stamp;
	uint32_t l3_off, l4_off, pay_off, hdr_len;
	uint32_t max_len;
	uint8_t *tmpl_st;	/* max_len bytes, payload starts with the stamp */
	uint8_t *tmpl_pl;	/* max_len bytes, payload without stamp */
	uint16_t *ip_csum;	/* per frame length: template checksums */
	uint16_t *l4_csum;
	struct gfield f[6];
	unsigned int nf;
	/* sizes */
	enum salvo_size_mode size_mode;
	uint32_t size_lo, size_hi;
	uint32_t *size_seq;
	uint32_t size_n, size_pos;
	/* flows */
	uint32_t cycle, k, flow_base;
	uint32_t session;	/* the run's, patched into every stamp */
	uint64_t round;
	uint64_t *fseq;		/* per flow of the cycle: next sequence (stamped frames only) */
	uint64_t rng;
	uint64_t count;
	/* hex / pcap */
	const uint8_t *frame;
	uint32_t frame_len;
	const struct salvo_pcap *pcap;
	struct salvo_pcap *own_pcap;	/* loaded here, freed with the generator */
	bool timed;
	uint32_t pj;
	uint64_t loop, loop_ns;
};

static inline uint64_t rnd(uint64_t *s)
{
	/* xorshift64*: fast, good enough for spreading addresses and sizes */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static void put_value(uint8_t *p, salvo_u128 v, unsigned int w)
{
	switch (w) {
	case 2:
		put16(p, (uint16_t)v);
		break;
	case 4: {
		uint32_t x = htonl((uint32_t)v);

		memcpy(p, &x, 4);
		break;
	}
	default:
		u128_to_be(p, v, w);
	}
}

static salvo_u128 field_first(const struct salvo_field *f)
{
	return f->mode == SALVO_FIELD_LIST ? f->list[0] : f->lo;
}

static int add_field(struct salvo_pktgen *g, const struct salvo_field *f, uint32_t off,
		     unsigned int w, bool ip_csum, bool l4_csum)
{
	struct gfield *gf;

	if (f->mode == SALVO_FIELD_FIXED)
		return 0;
	gf = &g->f[g->nf++];
	gf->mode = f->mode;
	gf->lo = f->lo;
	gf->hi = f->hi;
	gf->step = f->step ? f->step : 1;
	gf->cur = f->lo;
	gf->off = (uint16_t)off;
	gf->width = (uint8_t)w;
	gf->ip_csum = ip_csum;
	gf->l4_csum = l4_csum;
	if (f->mode == SALVO_FIELD_LIST) {
		gf->list = malloc(f->nlist * sizeof(*gf->list));
		if (!gf->list)
			return -ENOMEM;
		memcpy(gf->list, f->list, f->nlist * sizeof(*gf->list));
		gf->nlist = f->nlist;
	}
	return 0;
}

static inline salvo_u128 gf_next(struct gfield *f, uint64_t *rng)
{
	salvo_u128 v;

	switch (f->mode) {
	case SALVO_FIELD_INC:
		v = f->cur;
		f->cur += f->step;
		if (f->cur > f->hi || f->cur < v)
			f->cur = f->lo;
		return v;
	case SALVO_FIELD_RANDOM: {
		uint64_t span = (uint64_t)(f->hi - f->lo);

		return f->lo + (span == UINT64_MAX ? rnd(rng) : rnd(rng) % (span + 1));
	}
	case SALVO_FIELD_LIST:
		v = f->list[f->li];
		if (++f->li == f->nlist)
			f->li = 0;
		return v;
	default:
		return f->lo;
	}
}

/* Write lengths for a frame of len bytes into a frame built from a template. */
static inline void set_lengths(const struct salvo_pktgen *g, uint8_t *d, uint32_t len)
{
	uint32_t l3len = len - g->l3_off;

	if (g->ip4)
		put16(d + g->l3_off + 2, (uint16_t)l3len);
	else
		put16(d + g->l3_off + 4, (uint16_t)(l3len - IP6_HLEN));
	if (g->udp)
		put16(d + g->l4_off + 4, (uint16_t)(len - g->l4_off));
}

/* Full checksums of a frame (the reference the incremental path starts from). */
static void full_csums(const struct salvo_pktgen *g, uint8_t *d, uint32_t len, uint16_t *ipc,
		       uint16_t *l4c)
{
	uint32_t l4len = len - g->l4_off, s;
	uint8_t *ip = d + g->l3_off, *l4 = d + g->l4_off;
	uint8_t *ck = l4 + (g->udp ? 6 : 16);
	uint8_t pseudo[4];

	*ipc = 0;
	if (g->ip4) {
		put16(ip + 10, 0);
		*ipc = salvo_csum_fold(salvo_csum_add(0, ip, IP4_HLEN));
		s = salvo_csum_add(0, ip + 12, 8);
	} else {
		s = salvo_csum_add(0, ip + 8, 32);
	}
	put16(pseudo, 0);
	put16(pseudo + 2, g->udp ? IPPROTO_UDP : IPPROTO_TCP);
	s = salvo_csum_add(s, pseudo, 4);
	put16(pseudo, (uint16_t)(l4len >> 16));
	put16(pseudo + 2, (uint16_t)l4len);
	s = salvo_csum_add(s, pseudo, 4);
	put16(ck, 0);
	s = salvo_csum_add(s, l4, l4len);
	*l4c = salvo_csum_fold(s);
}

static void build_template(struct salvo_pktgen *g, const struct salvo_l2_cfg *c, uint8_t *t,
			   bool stamp)
{
	uint32_t o = 0;
	uint8_t *ip, *l4;

	put_value(t, field_first(&c->dst_mac), 6);
	put_value(t + 6, field_first(&c->src_mac), 6);
	o = 12;
	if (c->vlan) {
		put16(t + 12, ETHTYPE_VLAN);
		put16(t + 14, (uint16_t)(c->vlan_prio << 13 | c->vlan));
		o = 16;
	}
	put16(t + o, g->ip4 ? ETHTYPE_IP4 : ETHTYPE_IP6);
	ip = t + g->l3_off;
	if (g->ip4) {
		ip[0] = 0x45;
		ip[1] = c->tos;
		put16(ip + 4, 0);	/* id 0 with DF: RFC 6864 */
		put16(ip + 6, 0x4000);
		ip[8] = c->ttl;
		ip[9] = g->udp ? IPPROTO_UDP : IPPROTO_TCP;
		put_value(ip + 12, field_first(&c->src_ip), 4);
		put_value(ip + 16, field_first(&c->dst_ip), 4);
	} else {
		uint32_t vtf = htonl(6u << 28 | (uint32_t)c->tos << 20);

		memcpy(ip, &vtf, 4);
		ip[6] = g->udp ? IPPROTO_UDP : IPPROTO_TCP;
		ip[7] = c->ttl;
		put_value(ip + 8, field_first(&c->src_ip), 16);
		put_value(ip + 24, field_first(&c->dst_ip), 16);
	}
	l4 = t + g->l4_off;
	put16(l4, (uint16_t)field_first(&c->src_port));
	put16(l4 + 2, (uint16_t)field_first(&c->dst_port));
	if (!g->udp) {
		l4[12] = 5 << 4;	/* data offset: 20 bytes, no options */
		l4[13] = 0x02;		/* SYN */
		put16(l4 + 14, 64240);
	}
	/* Payload: a byte pattern (its offset), the stamp over its start when asked. */
	for (uint32_t i = g->pay_off; i < g->max_len; i++)
		t[i] = (uint8_t)(i - g->pay_off);
	if (stamp) {
		struct salvo_stamp st = {
			.version = SALVO_STAMP_VERSION,
			.flags = c->stamp_clock == CLOCK_REALTIME ? SALVO_STAMP_F_REALTIME : 0,
			.flow = g->flow_base,
		};

		salvo_stamp_encode(t + g->pay_off, &st);
	}
}

static int build_sizes(struct salvo_pktgen *g, const struct salvo_size_spec *s)
{
	uint32_t total = 0;
	int64_t cur[SALVO_SIZE_MAX_WEIGHTS] = { 0 };

	g->size_mode = s->mode;
	g->size_lo = s->lo;
	g->size_hi = s->hi;
	if (s->mode != SALVO_SIZE_WEIGHTED)
		return 0;
	for (unsigned int i = 0; i < s->n; i++)
		total += s->weights[i];
	g->size_seq = malloc(total * sizeof(*g->size_seq));
	if (!g->size_seq)
		return -ENOMEM;
	/* Smooth weighted round robin: exact proportions over every 'total' frames, interleaved. */
	for (uint32_t k = 0; k < total; k++) {
		unsigned int best = 0;

		for (unsigned int i = 0; i < s->n; i++) {
			cur[i] += s->weights[i];
			if (cur[i] > cur[best])
				best = i;
		}
		cur[best] -= total;
		g->size_seq[k] = s->sizes[best];
	}
	g->size_n = total;
	return 0;
}

static inline uint32_t next_size(struct salvo_pktgen *g)
{
	uint32_t v;

	switch (g->size_mode) {
	case SALVO_SIZE_RANGE:
		return g->size_lo + (uint32_t)(rnd(&g->rng) % (g->size_hi - g->size_lo + 1));
	case SALVO_SIZE_WEIGHTED:
		v = g->size_seq[g->size_pos];
		if (++g->size_pos == g->size_n)
			g->size_pos = 0;
		return v;
	default:
		return g->size_lo;
	}
}

static bool size_used(const struct salvo_pktgen *g, uint32_t len)
{
	if (g->size_mode != SALVO_SIZE_WEIGHTED)
		return len >= g->size_lo && len <= g->size_hi;
	for (uint32_t i = 0; i < g->size_n; i++)
		if (g->size_seq[i] == len)
			return true;
	return false;
}

static int create_build(struct salvo_pktgen *g, const struct salvo_l2_cfg *c,
			unsigned int worker, char *err, size_t errlen)
{
	struct salvo_field sport = c->src_port;
	uint64_t cycle = 1;
	uint8_t *tmp;
	int rc;

	rc = salvo_l2_check(c, 0, err, errlen);
	if (rc)
		return rc;
	g->ip4 = c->family == AF_INET;
	g->udp = c->l4 == SALVO_L4_UDP;
	g->l3_off = ETH_HLEN_ + (c->vlan ? VLAN_HLEN_ : 0);
	g->l4_off = g->l3_off + l3_hdr(c);
	g->pay_off = g->l4_off + l4_hdr(c);
	g->hdr_len = g->pay_off;
	g->max_len = salvo_size_max(&c->size);
	g->stamp = c->stamp && g->max_len - g->pay_off >= SALVO_STAMP_SIZE;

	/* --flows N: N source ports from the given (or default) one. */
	if (!c->src_port.set && c->flows > 1) {
		sport.mode = SALVO_FIELD_INC;
		sport.lo = c->src_port.lo;
		sport.hi = sport.lo + c->flows - 1;
		sport.step = 1;
		if (sport.hi > 65535) {
			snprintf(err, errlen, "--flows %u from source port %u runs past 65535",
				 c->flows, (unsigned int)sport.lo);
			return -EINVAL;
		}
	}
	{
		const struct salvo_field *fs[6] = { &c->dst_mac, &c->src_mac, &c->src_ip,
						    &c->dst_ip, &sport, &c->dst_port };
		unsigned int ipw = g->ip4 ? 4 : 16;
		uint32_t offs[6] = { 0, 6, g->l3_off + (g->ip4 ? 12 : 8),
				     g->l3_off + (g->ip4 ? 16 : 24), g->l4_off, g->l4_off + 2 };
		unsigned int ws[6] = { 6, 6, ipw, ipw, 2, 2 };

		for (int i = 0; i < 6; i++) {
			uint64_t n = salvo_field_cycle(fs[i]);

			rc = add_field(g, fs[i], offs[i], ws[i], g->ip4 && (i == 2 || i == 3),
				       i >= 2);
			if (rc)
				return rc;
			if (cycle && n > 1) {
				uint64_t l = cycle / gcd64(cycle, n);

				cycle = (n > MAX_CYCLE || l > MAX_CYCLE / n) ? 0 : l * n;
			}
		}
	}
	/* A cycle too long to name flows by: one flow per worker, still sequenced. */
	g->cycle = cycle ? (uint32_t)cycle : 1;
	g->flow_base = worker * g->cycle;
	/*
	 * Sequences count stamped frames per flow: with mixed sizes a frame too
	 * short for a stamp must not use up a number the receiver would miss.
	 */
	g->fseq = calloc(g->cycle, sizeof(*g->fseq));
	if (!g->fseq)
		return -ENOMEM;

	rc = build_sizes(g, &c->size);
	if (rc)
		return rc;
	g->tmpl_st = calloc(1, g->max_len);
	g->tmpl_pl = calloc(1, g->max_len);
	g->ip_csum = calloc(g->max_len + 1, sizeof(uint16_t));
	g->l4_csum = calloc(g->max_len + 1, sizeof(uint16_t));
	tmp = malloc(g->max_len);
	if (!g->tmpl_st || !g->tmpl_pl || !g->ip_csum || !g->l4_csum || !tmp) {
		free(tmp);
		return -ENOMEM;
	}
	build_template(g, c, g->tmpl_st, g->stamp);
	build_template(g, c, g->tmpl_pl, false);
	for (uint32_t len = salvo_size_min(&c->size); len <= g->max_len; len++) {
		bool st = g->stamp && len - g->pay_off >= SALVO_STAMP_SIZE;

		if (!size_used(g, len))
			continue;
		memcpy(tmp, st ? g->tmpl_st : g->tmpl_pl, len);
		set_lengths(g, tmp, len);
		full_csums(g, tmp, len, &g->ip_csum[len], &g->l4_csum[len]);
	}
	free(tmp);
	return 0;
}

int salvo_pktgen_create(struct salvo_pktgen **out, const struct salvo_l2_cfg *c,
			unsigned int worker, unsigned int nworkers, char *err, size_t errlen)
{
	struct salvo_pktgen *g;
	int rc = 0;

	(void)nworkers;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->src = c->src;
	g->rng = (c->seed ? c->seed : 0x5a17f00dULL) ^ ((uint64_t)(worker + 1) * 0x9e3779b97f4a7c15ULL);
	if (!g->rng)
		g->rng = 1;
	g->cycle = 1;
	g->flow_base = worker;
	switch (c->src) {
	case SALVO_FRAMES_HEX:
		rc = salvo_l2_check(c, 0, err, errlen);
		g->frame = c->frame;
		g->frame_len = c->frame_len;
		g->max_len = c->frame_len;
		break;
	case SALVO_FRAMES_PCAP:
		if (c->pcap) {
			g->pcap = c->pcap;
		} else {
			struct salvo_pcap *own = NULL;

			rc = salvo_pcap_load(&own, c->pcap_path, err, errlen);
			if (rc)
				break;
			g->pcap = g->own_pcap = own;
		}
		for (uint32_t i = 0; i < g->pcap->n; i++)
			g->max_len = SALVO_MAX(g->max_len, g->pcap->lens[i]);
		g->timed = c->pcap_timing;
		/* A loop lasts the capture plus one mean gap, so loops do not overlap. */
		g->loop_ns = g->pcap->span_ns +
			     (g->pcap->n > 1 ? g->pcap->span_ns / (g->pcap->n - 1) : NSEC_PER_MSEC);
		if (!g->loop_ns)
			g->loop_ns = 1;
		break;
	default:
		rc = create_build(g, c, worker, err, errlen);
	}
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory building frame templates");
		salvo_pktgen_destroy(g);
		return rc;
	}
	*out = g;
	return 0;
}

void salvo_pktgen_destroy(struct salvo_pktgen *g)
{
	if (!g)
		return;
	for (unsigned int i = 0; i < g->nf; i++)
		free(g->f[i].list);
	free(g->tmpl_st);
	free(g->tmpl_pl);
	free(g->ip_csum);
	free(g->l4_csum);
	free(g->size_seq);
	free(g->fseq);
	salvo_pcap_free(g->own_pcap);
	free(g);
}

static inline uint32_t patch_words(uint8_t *p, const uint8_t *nv, unsigned int n)
{
	/* ~m + m1 for each 16-bit word, summed (RFC 1624 eqn. 3, several words at once) */
	uint32_t s = 0;

	for (unsigned int i = 0; i < n; i += 2)
		s += (uint16_t)~get16(p + i) + (uint32_t)get16(nv + i);
	memcpy(p, nv, n);
	return s;
}

static inline void fill_one_build(struct salvo_pktgen *g, uint8_t *d, uint32_t len,
				  uint64_t now_ns)
{
	bool st = g->stamp && len - g->pay_off >= SALVO_STAMP_SIZE;
	uint32_t dip = 0, dl4 = 0, s;
	uint8_t nv[16];

	memcpy(d, st ? g->tmpl_st : g->tmpl_pl, len);
	set_lengths(g, d, len);
	for (unsigned int i = 0; i < g->nf; i++) {
		struct gfield *f = &g->f[i];
		salvo_u128 v = gf_next(f, &g->rng);

		if (!f->l4_csum) {
			put_value(d + f->off, v, f->width);
			continue;
		}
		put_value(nv, v, f->width);
		s = patch_words(d + f->off, nv, f->width);
		dl4 += s;
		if (f->ip_csum)
			dip += s;
	}
	if (!g->udp) {
		/* SYN sequence numbers: the frame count, so that no two SYNs of a flow repeat */
		uint32_t isn = htonl((uint32_t)g->count);

		dl4 += patch_words(d + g->l4_off + 4, (const uint8_t *)&isn, 4);
	}
	if (st) {
		/* Stamp bytes 6..31 (seq48, session, flow, len, ts): one even-aligned patch. */
		uint8_t sv[26];
		uint32_t fl = htonl(g->flow_base + g->k), se = htonl(g->session);
		uint64_t sq = __builtin_bswap64(g->fseq[g->k]++ << 16), ts = __builtin_bswap64(now_ns);

		memcpy(sv, &sq, 6);
		memcpy(sv + 6, &se, 4);
		memcpy(sv + 10, &fl, 4);
		memset(sv + 14, 0, 4);	/* len: 0, datagrams carry their own length */
		memcpy(sv + 18, &ts, 8);
		dl4 += patch_words(d + g->pay_off + 6, sv, 26);
	}
	if (g->ip4) {
		s = (uint16_t)~g->ip_csum[len] + dip;
		put16(d + g->l3_off + 10, (uint16_t)~fold16(s));
	}
	s = (uint16_t)~g->l4_csum[len] + dl4;
	s = (uint16_t)~fold16(s);
	if (g->udp && s == 0)
		s = 0xffff;	/* RFC 768: 0 means "no checksum" */
	put16(d + g->l4_off + (g->udp ? 6 : 16), (uint16_t)s);
	if (++g->k == g->cycle) {
		g->k = 0;
		g->round++;
	}
}

int salvo_pktgen_fill(struct salvo_pktgen *g, struct salvo_pkt **v, unsigned int n,
		      uint64_t now_ns)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct salvo_pkt *p = v[i];
		uint32_t flow = g->flow_base + g->k, len;
		const uint8_t *src;

		switch (g->src) {
		case SALVO_FRAMES_HEX:
			if (p->buf_len < g->frame_len)
				goto short_buf;
			memcpy(p->data, g->frame, g->frame_len);
			p->len = g->frame_len;
			break;
		case SALVO_FRAMES_PCAP:
			len = g->pcap->lens[g->pj];
			src = g->pcap->frames[g->pj];
			if (p->buf_len < len)
				goto short_buf;
			memcpy(p->data, src, len);
			p->len = len;
			if (++g->pj == g->pcap->n) {
				g->pj = 0;
				g->loop++;
			}
			break;
		default:
			len = next_size(g);
			if (p->buf_len < len) {
				/* put the size back: the caller retries with a bigger buffer */
				if (g->size_mode == SALVO_SIZE_WEIGHTED)
					g->size_pos = g->size_pos ? g->size_pos - 1 : g->size_n - 1;
				goto short_buf;
			}
			fill_one_build(g, p->data, len, now_ns);
			p->len = len;
		}
		p->flow = flow;
		g->count++;
	}
	return (int)n;
short_buf:
	return i ? (int)i : -ENOSPC;
}

void salvo_pktgen_unspend(struct salvo_pktgen *g, struct salvo_pkt **v, unsigned int n)
{
	if (g->src != SALVO_FRAMES_BUILD || !g->stamp)
		return;	/* hex and pcap frames carry no numbers of ours */
	for (unsigned int i = 0; i < n; i++) {
		/* The same test as fill_one_build: frames too short for a stamp took no number. */
		if (v[i]->len - g->pay_off >= SALVO_STAMP_SIZE)
			g->fseq[v[i]->flow - g->flow_base]--;
	}
}

void salvo_pktgen_set_session(struct salvo_pktgen *g, uint32_t session)
{
	g->session = session;
}

uint32_t salvo_pktgen_max_frame(const struct salvo_pktgen *g)
{
	return g->max_len;
}

uint32_t salvo_pktgen_flows(const struct salvo_pktgen *g)
{
	return g->cycle;
}

uint64_t salvo_pktgen_next_due(const struct salvo_pktgen *g)
{
	if (g->src != SALVO_FRAMES_PCAP || !g->timed)
		return UINT64_MAX;
	return g->loop * g->loop_ns + g->pcap->ts_ns[g->pj];
}

uint64_t salvo_pktgen_count(const struct salvo_pktgen *g)
{
	return g->count;
}

/* --- decoding ------------------------------------------------------------ */

int salvo_frame_decode(const uint8_t *f, uint32_t len, struct salvo_frame_info *fi)
{
	uint32_t o = 12, l3len, l4len;
	uint16_t et;

	memset(fi, 0, sizeof(*fi));
	fi->len = len;
	if (len < ETH_HLEN_)
		return -EINVAL;
	memcpy(fi->dst_mac, f, 6);
	memcpy(fi->src_mac, f + 6, 6);
	et = get16(f + o);
	if (et == ETHTYPE_VLAN || et == ETHTYPE_QINQ) {
		if (len < o + 6) {
			fi->truncated = true;
			fi->ethertype = et;
			return 0;
		}
		fi->vlan = true;
		fi->vlan_id = get16(f + o + 2) & 0x0fff;
		fi->vlan_prio = f[o + 2] >> 5;
		o += 4;
		et = get16(f + o);
	}
	fi->ethertype = et;
	o += 2;
	if (et == ETHTYPE_IP4) {
		uint32_t ihl;

		if (len < o + IP4_HLEN || (f[o] >> 4) != 4 || (ihl = (f[o] & 0xf) * 4u) < 20 ||
		    len < o + ihl) {
			fi->truncated = true;
			return 0;
		}
		fi->family = AF_INET;
		memcpy(fi->src_ip, f + o + 12, 4);
		memcpy(fi->dst_ip, f + o + 16, 4);
		fi->proto = f[o + 9];
		fi->ttl = f[o + 8];
		fi->frag = (get16(f + o + 6) & 0x1fff) != 0;
		l3len = get16(f + o + 2);
		if (l3len > len - o) {
			fi->truncated = true;
			l3len = len - o;
		}
		if (l3len < ihl) {
			fi->truncated = true;
			return 0;
		}
		l4len = l3len - ihl;
		o += ihl;
	} else if (et == ETHTYPE_IP6) {
		if (len < o + IP6_HLEN || (f[o] >> 4) != 6) {
			fi->truncated = true;
			return 0;
		}
		fi->family = AF_INET6;
		memcpy(fi->src_ip, f + o + 8, 16);
		memcpy(fi->dst_ip, f + o + 24, 16);
		fi->proto = f[o + 6];	/* extension headers are not walked */
		fi->ttl = f[o + 7];
		l4len = get16(f + o + 4);
		if (l4len > len - o - IP6_HLEN) {
			fi->truncated = true;
			l4len = len - o - IP6_HLEN;
		}
		o += IP6_HLEN;
	} else {
		return 0;
	}
	if (fi->frag)
		return 0;
	if (fi->proto == IPPROTO_UDP && l4len >= UDP_HLEN) {
		fi->l4_off = o;
		fi->src_port = get16(f + o);
		fi->dst_port = get16(f + o + 2);
		fi->payload_off = o + UDP_HLEN;
		fi->payload_len = l4len - UDP_HLEN;
		if (get16(f + o + 4) < l4len && get16(f + o + 4) >= UDP_HLEN)
			fi->payload_len = get16(f + o + 4) - UDP_HLEN;	/* padding after it */
	} else if (fi->proto == IPPROTO_TCP && l4len >= TCP_HLEN) {
		uint32_t doff = (f[o + 12] >> 4) * 4u;

		fi->l4_off = o;
		fi->src_port = get16(f + o);
		fi->dst_port = get16(f + o + 2);
		fi->tcp_flags = f[o + 13];
		if (doff >= TCP_HLEN && doff <= l4len) {
			fi->payload_off = o + doff;
			fi->payload_len = l4len - doff;
		} else {
			fi->truncated = true;
		}
	} else if (fi->proto == IPPROTO_UDP || fi->proto == IPPROTO_TCP) {
		fi->truncated = true;
	}
	return 0;
}

static void fmt_tcp_flags(uint8_t fl, char *b)
{
	static const char names[] = "FSRPAUEC";
	int n = 0;

	for (int i = 0; i < 8; i++)
		if (fl & (1 << i))
			b[n++] = names[i];
	if (!n)
		b[n++] = '.';
	b[n] = '\0';
}

int salvo_frame_format(const struct salvo_frame_info *fi, const uint8_t *f, char *buf,
		       size_t len)
{
	const uint8_t *s = fi->src_mac, *d = fi->dst_mac;
	char sip[INET6_ADDRSTRLEN] = "", dip[INET6_ADDRSTRLEN] = "";
	size_t o;
	int n;

#define APPEND(...)                                                                        \
	do {                                                                               \
		n = snprintf(buf + o, o < len ? len - o : 0, __VA_ARGS__);                 \
		if (n > 0)                                                                 \
			o += (size_t)n;                                                    \
	} while (0)

	o = 0;
	if (len)
		buf[0] = '\0';
	APPEND("%02x:%02x:%02x:%02x:%02x:%02x > %02x:%02x:%02x:%02x:%02x:%02x", s[0], s[1],
	       s[2], s[3], s[4], s[5], d[0], d[1], d[2], d[3], d[4], d[5]);
	if (fi->vlan)
		APPEND(" vlan %u p %u", fi->vlan_id, fi->vlan_prio);
	if (!fi->family) {
		APPEND(" ethertype 0x%04x len %u%s", fi->ethertype, fi->len,
		       fi->truncated ? " [truncated]" : "");
		return (int)SALVO_MIN(o, len ? len - 1 : 0);
	}
	inet_ntop(fi->family, fi->src_ip, sip, sizeof(sip));
	inet_ntop(fi->family, fi->dst_ip, dip, sizeof(dip));
	if (fi->l4_off) {
		const char *fmt = fi->family == AF_INET6 ? " IPv6 [%s]:%u > [%s]:%u" :
							     " IPv4 %s:%u > %s:%u";

		APPEND(fmt, sip, fi->src_port, dip, fi->dst_port);
	} else {
		APPEND(" %s %s > %s", fi->family == AF_INET6 ? "IPv6" : "IPv4", sip, dip);
	}
	if (fi->proto == IPPROTO_UDP && fi->l4_off) {
		APPEND(" UDP len %u", fi->payload_len);
	} else if (fi->proto == IPPROTO_TCP && fi->l4_off) {
		char fl[9];

		fmt_tcp_flags(fi->tcp_flags, fl);
		APPEND(" TCP [%s] len %u", fl, fi->payload_len);
	} else {
		APPEND(" proto %u%s", fi->proto, fi->frag ? " fragment" : "");
	}
	APPEND(" ttl %u", fi->ttl);
	if (f && fi->payload_off) {
		struct salvo_stamp st;

		if (!salvo_stamp_decode(f + fi->payload_off, fi->payload_len, &st))
			APPEND(" stamp flow %u seq %llu", st.flow, (unsigned long long)st.seq);
	}
	if (fi->truncated)
		APPEND(" [truncated]");
#undef APPEND
	return (int)SALVO_MIN(o, len ? len - 1 : 0);
}

uint32_t salvo_l2_max_frame(const struct salvo_l2_cfg *l2)
{
	uint32_t max = 0;

	if (!l2)
		return 0;
	switch (l2->src) {
	case SALVO_FRAMES_BUILD:
		return salvo_size_max(&l2->size);
	case SALVO_FRAMES_HEX:
		return l2->frame_len;
	case SALVO_FRAMES_PCAP:
		for (uint32_t i = 0; l2->pcap && i < l2->pcap->n; i++)
			max = SALVO_MAX(max, l2->pcap->lens[i]);
		return max;
	}
	return 0;
}
