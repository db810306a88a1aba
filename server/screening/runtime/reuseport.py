"""Even spreading of new connections over the workers that share a port.

With SO_REUSEPORT alone the kernel hands each new connection to one of the listening
sockets by a hash of its addresses and ports, so a client with few connections often lands
most of them on one worker: 8 connections over 2 workers put 6 or more on one of them in 29%
of cases. A worker keeps a connection for its whole life, so that worker then carries 75% of
the load while the other idles, and its latency is what the caller sees.

Linux lets a reuseport group choose its socket by a BPF program (SO_ATTACH_REUSEPORT_EBPF,
since 4.6). The program here counts the group's new connections in a one-slot BPF array and
returns the count modulo the number of workers: round robin, so 8 connections always split
4/4. It needs CAP_BPF (or CAP_SYS_ADMIN) and the bpf() system call; where either is missing
(most unprivileged containers) the group keeps the kernel's hash and the worker says so once
in its log. An index the group does not have (a worker restarting) also falls back to the
hash, in the kernel, so no connection is ever refused by this.

The program is a dozen eBPF instructions written out below; loading it needs no
compiler, headers or libbpf, only the bpf() system call through ctypes.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import socket
import struct
from dataclasses import dataclass

# <linux/bpf.h>, <asm-generic/socket.h>
SO_ATTACH_REUSEPORT_EBPF = 52
SO_ACCEPTCONN = 30
BPF_MAP_CREATE = 0
BPF_PROG_LOAD = 5
BPF_MAP_TYPE_ARRAY = 2
BPF_PROG_TYPE_SOCKET_FILTER = 1
BPF_PSEUDO_MAP_FD = 1
BPF_FUNC_MAP_LOOKUP_ELEM = 1
_SYS_BPF = {"x86_64": 321, "aarch64": 280, "arm64": 280}

# Opcodes used by the program (class | size/op | source).
_LD_IMM64 = 0x18  # BPF_LD | BPF_DW | BPF_IMM: two slots
_ST_MEM_W = 0x62  # BPF_ST | BPF_MEM | BPF_W: *(u32 *)(dst + off) = imm
_MOV64_X = 0xBF  # BPF_ALU64 | BPF_MOV | BPF_X
_MOV64_K = 0xB7  # BPF_ALU64 | BPF_MOV | BPF_K
_ADD64_K = 0x07  # BPF_ALU64 | BPF_ADD | BPF_K
_MOD64_K = 0x97  # BPF_ALU64 | BPF_MOD | BPF_K (unsigned)
_ATOMIC_DW = 0xDB  # BPF_STX | BPF_ATOMIC | BPF_DW
_ATOMIC_FETCH_ADD = 0x01  # BPF_ADD | BPF_FETCH: src = old value (kernel 5.12)
_CALL = 0x85
_JEQ_K = 0x15
_EXIT = 0x95
# Any index the group does not have: the kernel then picks by hash.
_NO_CHOICE = -1


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def round_robin_program(map_fd: int, sockets: int) -> bytes:
    """eBPF: return (counter++ % sockets), the counter being slot 0 of the array `map_fd`."""
    if sockets < 1:
        raise ValueError("sockets must be at least 1")
    return b"".join(
        [
            _insn(_ST_MEM_W, dst=10, off=-4, imm=0),  # key = 0, on the stack
            _insn(_MOV64_X, dst=2, src=10),
            _insn(_ADD64_K, dst=2, imm=-4),  # r2 = &key
            _insn(_LD_IMM64, dst=1, src=BPF_PSEUDO_MAP_FD, imm=map_fd),  # r1 = the map
            _insn(0),
            _insn(_CALL, imm=BPF_FUNC_MAP_LOOKUP_ELEM),  # r0 = &counter or NULL
            _insn(_JEQ_K, dst=0, imm=0, off=5),  # NULL: let the kernel hash
            _insn(_MOV64_K, dst=1, imm=1),
            _insn(_ATOMIC_DW, dst=0, src=1, imm=_ATOMIC_FETCH_ADD),  # r1 = counter++
            _insn(_MOD64_K, dst=1, imm=sockets),
            _insn(_MOV64_X, dst=0, src=1),
            _insn(_EXIT),
            _insn(_MOV64_K, dst=0, imm=_NO_CHOICE),
            _insn(_EXIT),
        ]
    )


class BpfUnavailableError(OSError):
    """The kernel or this process cannot load the program (no bpf(), no CAP_BPF...)."""


def _bpf(cmd: int, attr: bytes) -> int:
    number = _SYS_BPF.get(platform.machine())
    if number is None:
        raise BpfUnavailableError(errno.ENOSYS, f"bpf() number unknown on {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(attr, 128)
    fd = int(libc.syscall(number, cmd, buf, 128))
    if fd < 0:
        err = ctypes.get_errno()
        raise BpfUnavailableError(err, os.strerror(err))
    return fd


def _create_counter_map() -> int:
    return _bpf(BPF_MAP_CREATE, struct.pack("<IIIII", BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0))


def _load_program(program: bytes) -> int:
    code = ctypes.create_string_buffer(program, len(program))
    license_ = ctypes.create_string_buffer(b"GPL")
    log_buf = ctypes.create_string_buffer(4096)
    attr = struct.pack(
        "<IIQQIIQII16s",
        BPF_PROG_TYPE_SOCKET_FILTER,
        len(program) // 8,
        ctypes.addressof(code),
        ctypes.addressof(license_),
        1,  # log_level: say why, if the verifier refuses
        len(log_buf),
        ctypes.addressof(log_buf),
        0,
        0,
        b"screening_rr",
    )
    try:
        return _bpf(BPF_PROG_LOAD, attr)
    except BpfUnavailableError as exc:
        reason = log_buf.value.decode(errors="replace").strip().splitlines()
        if reason:
            exc.strerror = f"{exc.strerror}: {reason[-1]}"
        raise


def listening_sockets(port: int) -> list[int]:
    """This process's TCP sockets listening on `port` (gRPC opens them; we only get fds)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                continue
            probe = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue  # closed meanwhile, or not a socket we can look at
        try:
            if (
                probe.type == socket.SOCK_STREAM
                and probe.family in (socket.AF_INET, socket.AF_INET6)
                and probe.getsockopt(socket.SOL_SOCKET, SO_ACCEPTCONN)
                and probe.getsockname()[1] == port
            ):
                found.append(fd)
        except OSError:
            pass
        finally:
            probe.close()
    return found


@dataclass(frozen=True)
class Balancing:
    """What a worker's listening sockets ended up with, for its log line and tests."""

    mode: str  # "round_robin" or "hash"
    sockets: int  # listening sockets of this worker on the port
    reason: str = ""  # why not round robin


def attach_round_robin(port: int, workers: int) -> Balancing:
    """Make the reuseport groups of `port` (one per address this process listens on) pick
    their socket in turn. Each worker attaches the same program when it starts; the last one
    attached serves the group, and replacing it only restarts the count."""
    fds = listening_sockets(port)
    if not fds:
        return Balancing("hash", 0, f"no listening socket on port {port}")
    if workers < 2:
        return Balancing("hash", len(fds), "one worker")
    try:
        map_fd = _create_counter_map()
        try:
            prog_fd = _load_program(round_robin_program(map_fd, workers))
        finally:
            os.close(map_fd)  # the program holds the map
        try:
            for fd in fds:
                sock = socket.socket(fileno=os.dup(fd))
                try:
                    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, prog_fd)
                finally:
                    sock.close()
        finally:
            os.close(prog_fd)  # each group holds the program
    except OSError as exc:
        return Balancing("hash", len(fds), f"{exc.strerror or exc}")
    return Balancing("round_robin", len(fds))
