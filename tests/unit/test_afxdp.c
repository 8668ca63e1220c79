// SPDX-License-Identifier: MIT
/*
 * af_xdp pieces that need no root: the --filter parser, the option defaults,
 * the embedded XDP object (opens with libbpf, has the program and maps the
 * backend looks up), and probe's one-line reasons.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <salvo/backend.h>

#include "backends/afxdp_internal.h"

extern const char salvo_bpf_afxdp[], salvo_bpf_afxdp_end[];

static void test_filter_parse(void **state)
{
	struct salvo_afxdp_opts o;
	struct salvo_cfg cfg;
	uint16_t port = 0;
	char err[128];

	(void)state;
	salvo_cfg_init(&cfg);
	salvo_afxdp_opts_from_cfg(&o, &cfg);
	assert_int_equal(o.mode, SALVO_XDP_MODE_AUTO);
	assert_int_equal(o.zc, SALVO_ZC_AUTO);
	assert_int_equal(o.ring_size, 4096);
	assert_int_equal(o.udp_port, 0);
	assert_int_equal(salvo_filter_parse("udp-port=9000", &port, err, sizeof(err)), 0);
	assert_int_equal(port, 9000);
	assert_int_equal(salvo_filter_parse("udp-port=65535", &port, err, sizeof(err)), 0);
	assert_int_equal(port, 65535);
	static const char *const bad[] = {"udp-port=0", "udp-port=65536", "udp-port=", "udp-port=9x",
					  "tcp-port=80", "udp-port=-1", "9000", "", "udp-port=099999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(salvo_filter_parse(bad[i], &port, err, sizeof(err)), -EINVAL);
		assert_true(strlen(err) > 0);
		assert_int_equal(port, 65535);	/* unchanged on error */
	}
	/* cfg's choices reach the backend's options; --zerocopy forces zero-copy on. */
	cfg.xdp_mode = SALVO_XDP_MODE_SKB;
	cfg.force = true;
	cfg.filter_udp_port = 7;
	cfg.zerocopy = true;
	salvo_afxdp_opts_from_cfg(&o, &cfg);
	assert_int_equal(o.mode, SALVO_XDP_MODE_SKB);
	assert_true(o.force);
	assert_int_equal(o.udp_port, 7);
	assert_int_equal(o.zc, SALVO_ZC_ON);
}

static void test_choice_names(void **state)
{
	(void)state;
	assert_string_equal(salvo_xdp_mode_names[SALVO_XDP_MODE_NATIVE], "native");
	assert_string_equal(salvo_xdp_mode_names[SALVO_XDP_MODE_SKB], "skb");
	assert_null(salvo_xdp_mode_names[3]);
	assert_string_equal(salvo_zc_names[SALVO_ZC_ON], "on");
	assert_string_equal(salvo_zc_names[SALVO_ZC_OFF], "off");
	assert_null(salvo_zc_names[3]);
}

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l;
	(void)f;
	(void)ap;
	return 0;
}

static void test_embedded_object(void **state)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "salvo_afxdp");
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *m;

	(void)state;
	libbpf_set_print(quiet);
	assert_true(salvo_bpf_afxdp_end - salvo_bpf_afxdp > 64);
	obj = bpf_object__open_mem(salvo_bpf_afxdp, (size_t)(salvo_bpf_afxdp_end - salvo_bpf_afxdp),
				   &oo);
	assert_non_null(obj);
	prog = bpf_object__find_program_by_name(obj, "salvo_xsk_redirect");
	assert_non_null(prog);
	assert_int_equal(bpf_program__type(prog), BPF_PROG_TYPE_XDP);
	m = bpf_object__find_map_by_name(obj, "salvo_xsks");
	assert_non_null(m);
	assert_int_equal(bpf_map__type(m), BPF_MAP_TYPE_XSKMAP);
	assert_int_equal(bpf_map__max_entries(m), 256);
	m = bpf_object__find_map_by_name(obj, "salvo_conf");
	assert_non_null(m);
	assert_int_equal(bpf_map__value_size(m), 4);
	bpf_object__close(obj);
}

static void test_probe_reasons(void **state)
{
	const struct salvo_backend_ops *ops = salvo_backend_find("af_xdp");
	struct salvo_cfg cfg;
	char why[256];

	(void)state;
	assert_non_null(ops);
	assert_true(ops->caps & SALVO_CAP_L2);
	salvo_cfg_init(&cfg);
	cfg.proto = SALVO_PROTO_UDP;
	assert_int_equal(ops->probe(&cfg, why, sizeof(why)), -EOPNOTSUPP);
	assert_non_null(strstr(why, "raw frames"));
	cfg.proto = SALVO_PROTO_L2;
	cfg.iface = NULL;
	assert_int_equal(ops->probe(&cfg, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "--iface"));
	cfg.iface = "salvo-nosuch9";
	assert_int_equal(ops->probe(&cfg, why, sizeof(why)), -ENODEV);
	assert_string_equal(why, "no interface salvo-nosuch9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_parse),
		cmocka_unit_test(test_choice_names),
		cmocka_unit_test(test_embedded_object),
		cmocka_unit_test(test_probe_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
