/* SPDX-License-Identifier: MIT */
/* The syscall backend's private interface between its datagram part (syscall.c) and stream part. */
#ifndef SALVO_SYSCALL_INTERNAL_H
#define SALVO_SYSCALL_INTERNAL_H

#include <salvo/backend.h>

/* Stream sockets (TCP, unix stream): backends/syscall_stream.c, dispatched on cfg->proto. */
int salvo__sys_stream_open(struct salvo_port *p, const struct salvo_cfg *cfg);
int salvo__sys_stream_tx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n);
int salvo__sys_stream_rx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n);
void salvo__sys_stream_close(struct salvo_port *p);

void salvo__sys_stream_release(struct salvo_port *p, struct salvo_pkt **v, unsigned int n);

#endif
