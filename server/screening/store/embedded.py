"""The embedded default: a private redis-server on a unix socket.

Given a data directory (`screening serve`), it keeps its data there across restarts: an
append-only file, fsynced every second, that redis-server loads when it starts again. The
directory is held under an exclusive `flock` for as long as this process or its redis-server
lives (the server inherits the lock), so two instances never write one append-only file. A
redis-server left behind by an instance that was killed (its parent is gone) is stopped with
SIGTERM, which flushes its file, and its directory taken over; one that still has a live
parent belongs to a running instance, and the start is refused, naming it.

redis-server is started under `setpriv --pdeathsig TERM` where util-linux has it, so it stops
with the process that started it. Without a data directory (`screening ingest`, the
benchmark) it runs in a temporary directory without persistence.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

log = logging.getLogger(__name__)

# sun_path holds 108 bytes; a longer socket path goes under the temporary directory.
MAX_SOCKET_PATH = 100


class EmbeddedRedisError(RuntimeError):
    """redis-server cannot be started here: the message says why."""


class EmbeddedRedis:
    """Starts redis-server (from PATH) with no TCP port; stops it on exit."""

    def __init__(self, binary: str = "redis-server", data_dir: Path | None = None) -> None:
        path = shutil.which(binary)
        if path is None:
            raise EmbeddedRedisError(
                "redis-server not found on PATH: install it (apt-get install redis-server) "
                "or pass --redis-url"
            )
        self._binary = path
        self._data_dir = data_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._lock_fd = -1
        self._proc: subprocess.Popen[bytes] | None = None
        self.directory = Path()
        self.socket = ""
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def persistent(self) -> bool:
        return self._data_dir is not None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 60.0) -> EmbeddedRedis:
        if self._data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="screening-redis-")
            self.directory = Path(self._tmp.name)
        else:
            self.directory = self._data_dir / "redis"
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._lock()
        self.socket = _socket_path(self.directory)
        self._launch(timeout)
        return self

    def _lock(self) -> None:
        lock_path = self.directory / "lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        for attempt in range(2):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt or not _stop_orphan(self.directory):
                    os.close(fd)
                    raise EmbeddedRedisError(
                        f"the data directory {self.directory.parent} is in use by another "
                        f"running instance ({_holder(self.directory)}): stop it, or give this "
                        "one its own --redis-url or SCREENING_DATA_DIR"
                    ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _command(self) -> list[str]:
        command = [
            self._binary,
            "--port",
            "0",
            "--unixsocket",
            self.socket,
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.directory),
            "--pidfile",
            str(self.directory / "redis.pid"),
            "--loglevel",
            "warning",
            "--save",
            "",
        ]
        if self.persistent:
            command += ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            command += ["--appendonly", "no"]
        setpriv = shutil.which("setpriv")
        if setpriv is not None:
            # Stop with the process that started it (the parent-death signal survives exec).
            command = [setpriv, "--pdeathsig", "TERM", *command]
        return command

    def _launch(self, timeout: float) -> None:
        self._proc = subprocess.Popen(
            self._command(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # The directory's lock lives as long as redis-server does, even past this process.
            pass_fds=(self._lock_fd,) if self._lock_fd >= 0 else (),
            # Out of the terminal's process group: Ctrl-C reaches the supervisor, which stops
            # the workers and then Redis, in that order (the parent-death signal still stops
            # Redis with a supervisor that dies).
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise EmbeddedRedisError(f"embedded redis-server exited: {err.strip()}")
            try:
                if Path(self.socket).exists() and redis.Redis(unix_socket_path=self.socket).ping():
                    log.info(
                        "embedded redis started",
                        extra={
                            "socket": self.socket,
                            "data_dir": str(self.directory) if self.persistent else None,
                            "redis_pid": self._proc.pid,
                        },
                    )
                    return
            except (redis.ConnectionError, redis.BusyLoadingError):
                pass  # not listening yet, or still loading its append-only file
            time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError("embedded redis-server did not start in time")

    def exited(self) -> int | None:
        """The exit status of redis-server if it has ended (reaped: no zombie), else None."""
        if self._proc is None:
            return None
        return self._proc.poll()

    def restart(self, timeout: float = 60.0) -> None:
        """Start redis-server again on the same socket and directory (it reloads its data)."""
        if self._proc is not None and self._proc.poll() is None:
            return
        self.restarts += 1
        self._launch(timeout)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _socket_path(directory: Path) -> str:
    path = str(directory / "redis.sock")
    if len(path.encode()) <= MAX_SOCKET_PATH:
        return path
    # Stable for the directory, so that its clients (and the audit spool) find it again.
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    short = Path(tempfile.gettempdir()) / f"screening-redis-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return str(short / "redis.sock")


def _redis_pid(directory: Path) -> int | None:
    try:
        pid = int((directory / "redis.pid").read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if b"redis-server" in cmdline else None


def _parent_of(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rpartition(")")[2].split()[1])


def _holder(directory: Path) -> str:
    pid = _redis_pid(directory)
    return f"redis-server pid {pid}" if pid else "lock held"


def _stop_orphan(directory: Path, timeout: float = 30.0) -> bool:
    """Stop the redis-server of this directory if the instance that started it is gone
    (re-parented to init or a subreaper, no longer a child of a screening process). SIGTERM
    flushes its append-only file. True if there was one and it stopped."""
    pid = _redis_pid(directory)
    if pid is None:
        return False
    parent = _parent_of(pid)
    try:
        parent_cmd = Path(f"/proc/{parent}/cmdline").read_bytes()
    except OSError:
        parent_cmd = b""
    if b"screening" in parent_cmd:
        return False  # a running instance's
    log.warning(
        "redis-server of a stopped instance found on the data directory; stopping it",
        extra={"redis_pid": pid, "data_dir": str(directory)},
    )
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _parent_of(pid) == 0:
            return True
        time.sleep(0.1)
    return False
