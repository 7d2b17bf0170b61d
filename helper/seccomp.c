/*
 * The planner's seccomp filter (docs/plan-format.md, "Running the planner"; docs/security.md,
 * "The planner cannot listen").
 *
 * Node opens its inspector on SIGUSR1, which anyone with the caller's uid may send at any moment
 * of start-up; a listening port would let anyone on the machine run code as the caller. The
 * planner never listens (engine APIs are reached with connect), so listen(2) fails with EPERM,
 * and so does socketcall(SYS_LISTEN) where that exists. io_uring_setup(2) fails with ENOSYS: an
 * io_uring can listen without the listen call (IORING_OP_LISTEN, Linux 6.11), and libuv falls back
 * to epoll and its thread pool when the kernel has none. Every other call is allowed.
 *
 * One filter for every build. It knows the six ways a Linux process on the five supported
 * machines can make a system call: x86_64 (and its x32 numbers), i386, aarch64, arm, ppc64le and
 * s390x. A 64-bit kernel runs 32-bit programs too (a 32-bit Node on x86_64 or aarch64), and the
 * linux-arm helper may start a 64-bit Node on an armv8l machine. A call made any other way
 * kills the planner (SIGSYS), so nothing can slip past by switching conventions.
 *
 * The constants are written out because musl's headers have no <linux/…> (the numbers are the
 * kernel's ABI and never change): linux/audit.h, linux/filter.h, linux/seccomp.h and each
 * architecture's syscall table.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>

#include "helper.h"

struct sock_filter {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};

struct sock_fprog {
	unsigned short len;
	struct sock_filter *filter;
};

#define BPF_LD_W_ABS 0x20u  /* BPF_LD | BPF_W | BPF_ABS */
#define BPF_JEQ_K 0x15u     /* BPF_JMP | BPF_JEQ | BPF_K */
#define BPF_RET_K 0x06u     /* BPF_RET | BPF_K */

#define SECCOMP_MODE_FILTER_ 2
#define SECCOMP_RET_KILL_PROCESS 0x80000000u
#define SECCOMP_RET_ERRNO 0x00050000u
#define SECCOMP_RET_ALLOW 0x7fff0000u

/* struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]. */
#define DATA_NR 0u
#define DATA_ARCH 4u
#define DATA_ARG0_LOW_LE 16u /* the low 32 bits of args[0] on a little-endian machine */
#define DATA_ARG0_LOW_BE 20u /* … and on a big-endian one */

#define SYS_LISTEN_CALL 4u /* socketcall's first argument for listen (linux/net.h) */
#define NO_CALL 0xffffffffu
#define X32_BIT 0x40000000u

static const struct machine {
	uint32_t audit_arch;
	uint32_t listen, listen_x32, socketcall, arg0, io_uring_setup, io_uring_setup_x32;
} MACHINES[] = {
	/* AUDIT_ARCH_X86_64; x32 numbers are the x86_64 ones with bit 30 set. */
	{0xc000003eu, 50, 50 | X32_BIT, NO_CALL, 0, 425, 425 | X32_BIT},
	{0x40000003u, 363, NO_CALL, 102, DATA_ARG0_LOW_LE, 425, NO_CALL}, /* AUDIT_ARCH_I386 */
	{0xc00000b7u, 201, NO_CALL, NO_CALL, 0, 425, NO_CALL},            /* AUDIT_ARCH_AARCH64 */
	{0x40000028u, 284, NO_CALL, NO_CALL, 0, 425, NO_CALL},            /* AUDIT_ARCH_ARM (EABI: no socketcall) */
	{0xc0000015u, 329, NO_CALL, 102, DATA_ARG0_LOW_LE, 425, NO_CALL}, /* AUDIT_ARCH_PPC64LE */
	{0x80000016u, 363, NO_CALL, 102, DATA_ARG0_LOW_BE, 425, NO_CALL}, /* AUDIT_ARCH_S390X */
};
#define NMACHINES (sizeof MACHINES / sizeof MACHINES[0])

/* The arch dispatch (1 + one per machine + 1) and each machine's block (at most 14). */
static struct sock_filter program[2 + NMACHINES + 14 * NMACHINES];

static size_t emit(size_t at, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	program[at].code = code;
	program[at].jt = jt;
	program[at].jf = jf;
	program[at].k = k;
	return at + 1;
}

/* One machine's block: nr → EPERM / ENOSYS / ALLOW. Returns the next free index. */
static size_t emit_machine(size_t at, const struct machine *m)
{
	const uint32_t eperm = SECCOMP_RET_ERRNO | EPERM, enosys = SECCOMP_RET_ERRNO | ENOSYS;
	uint32_t denied[4] = {m->listen, m->listen_x32, m->io_uring_setup, m->io_uring_setup_x32};
	uint32_t answer[4] = {eperm, eperm, enosys, enosys};

	at = emit(at, BPF_LD_W_ABS, 0, 0, DATA_NR);
	for (size_t i = 0; i < 4; i++) {
		if (denied[i] == NO_CALL)
			continue;
		at = emit(at, BPF_JEQ_K, 0, 1, denied[i]);
		at = emit(at, BPF_RET_K, 0, 0, answer[i]);
	}
	if (m->socketcall != NO_CALL) {
		at = emit(at, BPF_JEQ_K, 0, 3, m->socketcall);
		at = emit(at, BPF_LD_W_ABS, 0, 0, m->arg0);
		at = emit(at, BPF_JEQ_K, 0, 1, SYS_LISTEN_CALL);
		at = emit(at, BPF_RET_K, 0, 0, eperm);
	}
	return emit(at, BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW);
}

const void *planner_filter(size_t *len)
{
	size_t at = 0, block[NMACHINES];

	/* The dispatch: for machine i, "arch == X ? jump to block i". The jump offsets are filled in
	 * once the blocks are laid out after it. */
	at = emit(at, BPF_LD_W_ABS, 0, 0, DATA_ARCH);
	for (size_t i = 0; i < NMACHINES; i++)
		at = emit(at, BPF_JEQ_K, 0, 0, MACHINES[i].audit_arch);
	at = emit(at, BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
	for (size_t i = 0; i < NMACHINES; i++) {
		block[i] = at;
		at = emit_machine(at, &MACHINES[i]);
	}
	for (size_t i = 0; i < NMACHINES; i++) {
		size_t jump = block[i] - (2 + i); /* from the instruction after dispatch entry i */
		program[1 + i].jt = (uint8_t)jump; /* < 100: the blocks are short */
	}
	*len = at;
	return program;
}

int install_planner_filter(void)
{
	struct sock_fprog prog;
	size_t len;

	prog.filter = (struct sock_filter *)(uintptr_t)planner_filter(&len);
	prog.len = (unsigned short)len;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER_, &prog, 0, 0) != 0)
		return errno;
	return 0;
}
