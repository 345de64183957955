"""Hostile files are read in a child process whose memory and CPU time are capped.

Native readers (python-calamine for workbooks) and pure-Python ones (pypdf, python-docx for
feedback reports) can be made to ask for more memory than any machine has, or to spin for minutes,
by a file of a few kilobytes: a cell at XFD1048576, a PDF whose pages all draw one content stream
of a million operators. A failed native allocation ends the whole process, and a spinning parser
holds a web worker. So the reading happens in a child: it caps itself first thing (cap()), reads
the file's bytes from its standard input and writes what it found to its standard output; the
parent (run()) learns only "it was stopped" when a limit was reached. The caller words that.

No Django here: the children import this module before anything else.
"""

import resource
import subprocess


def cap(memory: int, cpu_seconds: int) -> None:
    """Limit this process's address space to `memory` bytes and its CPU time to `cpu_seconds`
    (past which the kernel ends it with SIGXCPU). Call it first in the child."""
    _lower(resource.RLIMIT_AS, memory)
    _lower(resource.RLIMIT_CPU, cpu_seconds)


def _lower(limit: int, value: int) -> None:
    _soft, hard = resource.getrlimit(limit)
    try:
        resource.setrlimit(
            limit, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard)
        )
    except (ValueError, OSError):  # a system that will not lower it (macOS, for the address space)
        pass


def run(command: list[str], content: bytes, *, cpu_seconds: int) -> bytes | None:
    """The standard output of the child `command` fed `content`; None when the child was ended by a
    limit (killed by a signal) or still ran after twice its CPU time in wall-clock time."""
    child = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        reply, _errors = child.communicate(content, timeout=cpu_seconds * 2 + 5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return None
    if child.returncode > 0:  # it could not start (a library missing?): not the file's fault
        raise RuntimeError(f"the reader {command[-1]} exited with status {child.returncode}")
    if child.returncode != 0:  # killed by a signal: out of memory (a failed allocation) or time
        return None
    return reply
