"""The reply protocol between the judge and a solver worker: frames, limits, a schema.

Everything a worker sends is untrusted (the solver runs in that process and can write
any bytes to its socket).  So a reply is read and decoded under rules that hold
whatever the bytes are:

* **Frames.**  ``MAGIC (4 bytes) | task id (8, little-endian) | length n (8) | payload
  (n bytes)``.  The judge reads a worker's socket only when it is readable (never a
  blocking read), so a worker that promises bytes and stalls is caught by the
  block's deadline, not by a read that never returns.  A frame whose length is
  over the task's limit is refused on its header, before anything is read
  (:class:`FrameReader`).
* **One task, one reply.**  Every request carries a task id and its reply
  carries it back; a reply with another id, or bytes from a worker that serves
  no task, are a protocol error (the worker is replaced).
* **Payload.**  ``len(json) (8) | json header | npz body``, decoded with
  :func:`decode_payload`: the header is JSON (never a pickle), the body an
  uncompressed ``.npz`` whose every member is an array of a numeric dtype whose
  element count is within :class:`ReplyLimits` for its name (``theta`` at most
  rows x dim, a trace at most rows x (max_iter + 1), ...), checked from the
  member's ``.npy`` header before the array is read.  Compressed members are
  refused: nothing is ever inflated.
* **Schema.**  :func:`check_solve_header` validates every field of a solve reply's
  header (types, names, sizes) before any of it is used.

Errors are :class:`ProtocolError` with a one-line reason and the outcome that the
block's runs get: ``invalid`` for a reply that is well-formed but too large,
``error`` for anything malformed.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["ARRAY_FIELDS", "HEADER_BYTES", "MAGIC", "FrameReader", "ProtocolError", "ReplyLimits", "check_solve_header",
           "decode_payload", "encode_frame", "encode_payload", "read_frame_blocking", "write_all"]

MAGIC = b"CBR1"
_HEAD = 20  # magic + task id + length
#: Largest JSON header of any reply (bytes).
HEADER_BYTES = 1 << 20
#: Result attributes a worker may send as arrays (each only if the solver's result has it).
ARRAY_FIELDS = ("theta", "status", "n_iter", "hvps", "grads", "snapshots", "snapshot_iter", "max_r_theta",
                "max_r_iter", "max_r_value")
_MAX_TRACE_FIELDS = 64
_MAX_NAME = 64
_NPY_SLACK = 4096  # an .npy header and the zip's own records, per member


class ProtocolError(ValueError):
    """A reply that breaks the protocol; ``outcome`` is what the block's runs become."""

    def __init__(self, reason: str, outcome: str = "error") -> None:
        super().__init__(reason)
        self.outcome = outcome

    def as_outcome(self, where: str, meter: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        """The back end's outcome of the block it broke: ``("invalid" | "died", reason, meter)``."""
        return ("invalid" if self.outcome == "invalid" else "died", f"{self} during {where}", meter)


@dataclasses.dataclass(frozen=True)
class ReplyLimits:
    """What a reply to one task may hold: ``rows`` x ``dim`` points, traces of at most
    ``trace_len`` (= max_iter + 1) entries per run, ``snapshots`` cutoff snapshots per run."""

    rows: int = 0
    dim: int = 0
    trace_len: int = 0
    snapshots: int = 4

    def elements(self, name: str) -> int:
        """Largest element count of array ``name`` (0: not allowed)."""
        r, d = self.rows, self.dim
        if name in ("theta", "max_r_theta"):
            return r * d
        if name == "snapshots":
            return r * self.snapshots * d
        if name == "snapshot_iter":
            return r * self.snapshots
        if name in ("status", "n_iter", "hvps", "grads", "max_r_iter", "max_r_value"):
            return r
        if name.startswith("trace/") and 0 < len(name) - 6 <= _MAX_NAME:
            return r * self.trace_len
        return 0

    @property
    def max_bytes(self) -> int:
        """Largest payload (bytes): the header, every named array at 8 bytes an element, the
        trace fields, and a fixed allowance per member for the ``.npy``/zip records."""
        arrays = sum(self.elements(n) for n in ARRAY_FIELDS) + _MAX_TRACE_FIELDS * self.rows * self.trace_len
        return 8 + HEADER_BYTES + 8 * arrays + _NPY_SLACK * (len(ARRAY_FIELDS) + _MAX_TRACE_FIELDS)

    @classmethod
    def for_task(cls, task: Any) -> ReplyLimits:
        """The limits of a :class:`~harness.run.worker.SolveTask`'s reply."""
        from harness.results.outcomes import SNAPSHOT_CUTOFFS

        rows, dim = np.shape(task.theta0)
        return cls(int(rows), int(dim), int(task.max_iter) + 1, len(SNAPSHOT_CUTOFFS))


# --------------------------------------------------------------------------- frames
def encode_frame(task_id: int, payload: bytes) -> bytes:
    """One frame: magic, task id, length, payload."""
    return MAGIC + int(task_id).to_bytes(8, "little", signed=True) + len(payload).to_bytes(8, "little") + payload


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (a blocking descriptor)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = os.read(fd, min(n - len(out), 1 << 20))
        if not chunk:
            raise EOFError("connection closed")
        out += chunk
    return bytes(out)


def read_frame_blocking(fd: int) -> tuple[int, bytes]:
    """Read one frame from ``fd`` (blocking; for a worker reading its trusted judge's requests)."""
    head = _read_exact(fd, _HEAD)
    if head[:4] != MAGIC:
        raise EOFError("bad frame")
    return int.from_bytes(head[4:12], "little", signed=True), _read_exact(fd, int.from_bytes(head[12:20], "little"))


class FrameReader:
    """Frames from an untrusted worker's socket, read only when it is readable.

    :meth:`feed` does one ``recv`` (the caller saw the socket readable, so it does
    not block) and returns the frames completed so far.  ``limit`` bounds a frame's
    payload: a header announcing more is a :class:`ProtocolError` at once, and so
    is any byte when ``limit`` is 0 (a worker that serves no task has nothing to say).
    """

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.buf = bytearray()

    def feed(self, limit: int) -> list[tuple[int, bytes]]:
        """Read what is there; the complete frames (``EOFError`` once the worker closed)."""
        try:
            chunk = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return []
        except TimeoutError:
            return []
        if not chunk:
            raise EOFError("the worker closed its connection")
        self.buf += chunk
        return self.frames(limit)

    def frames(self, limit: int) -> list[tuple[int, bytes]]:
        """The complete frames in the buffer (those already read)."""
        out = []
        while self.buf:
            if limit <= 0:
                raise ProtocolError("the worker sent bytes while it served no task")
            if len(self.buf) < _HEAD:
                if self.buf[:len(MAGIC)] != MAGIC[:len(self.buf)]:
                    raise ProtocolError("malformed reply frame (bad magic)")
                break
            if bytes(self.buf[:4]) != MAGIC:
                raise ProtocolError("malformed reply frame (bad magic)")
            n = int.from_bytes(self.buf[12:20], "little")
            if n > limit:
                raise ProtocolError(f"reply of {n} bytes exceeds the task's limit of {limit} bytes", "invalid")
            if len(self.buf) < _HEAD + n:
                break
            tid = int.from_bytes(self.buf[4:12], "little", signed=True)
            out.append((tid, bytes(self.buf[_HEAD:_HEAD + n])))
            del self.buf[:_HEAD + n]
        return out


# --------------------------------------------------------------------------- payloads
def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, tuple):
        return list(v)
    return repr(v)


def encode_payload(head: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    """``len(json) (8 bytes) + json + npz`` (uncompressed): decodable without unpickling."""
    js = json.dumps(head, default=_jsonable).encode("utf-8")
    if not arrays:
        return len(js).to_bytes(8, "little") + js
    buf = io.BytesIO()
    np.savez(buf, **{k.replace("/", "__SLASH__"): np.asarray(v) for k, v in arrays.items()})
    return len(js).to_bytes(8, "little") + js + buf.getvalue()


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: ReplyLimits | None) -> np.ndarray:
    if info.compress_type != zipfile.ZIP_STORED:
        raise ProtocolError(f"reply array {name!r} is compressed (only stored arrays are read)")
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ProtocolError(f"reply array {name!r}: unsupported .npy version {version}")
        if dtype.hasobject or dtype.kind not in "biuf":
            raise ProtocolError(f"reply array {name!r} has dtype {dtype} (numeric arrays only)", "invalid")
        count = math.prod(int(s) for s in shape)
        if limits is not None and count > limits.elements(name):
            raise ProtocolError(f"{name} has shape {tuple(int(x) for x in shape)}, more than the "
                                f"{limits.elements(name)} elements a reply to this task may hold", "invalid")
    with zf.open(info) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def decode_payload(payload: bytes, limits: ReplyLimits | None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Inverse of :func:`encode_payload` under ``limits`` (None: describe replies, no arrays).

    Raises :class:`ProtocolError` on anything malformed or too large; never unpickles,
    never inflates."""
    try:
        n = int.from_bytes(payload[:8], "little")
        if n > HEADER_BYTES or 8 + n > len(payload):
            raise ProtocolError("malformed reply (header length)")
        head = json.loads(payload[8:8 + n].decode("utf-8"))
    except ProtocolError:
        raise
    except Exception as exc:  # noqa: BLE001 - any bytes may arrive
        raise ProtocolError(f"malformed reply header ({type(exc).__name__})") from None
    if not isinstance(head, dict):
        raise ProtocolError("malformed reply header (not an object)")
    body = payload[8 + n:]
    arrays: dict[str, np.ndarray] = {}
    if not body:
        return head, arrays
    if limits is None:
        raise ProtocolError("unexpected arrays in the reply")
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            members = zf.infolist()
            if len(members) > len(ARRAY_FIELDS) + _MAX_TRACE_FIELDS:
                raise ProtocolError(f"reply has {len(members)} arrays", "invalid")
            for info in members:
                if not info.filename.endswith(".npy"):
                    raise ProtocolError(f"unexpected member {info.filename[:80]!r} in the reply")
                name = info.filename[:-4].replace("__SLASH__", "/")
                if name in arrays or limits.elements(name) == 0:
                    raise ProtocolError(f"unexpected array {name[:80]!r} in the reply")
                arrays[name] = _read_member(zf, info, name, limits)
    except ProtocolError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ProtocolError(f"malformed reply arrays ({type(exc).__name__})") from None
    return head, arrays


# --------------------------------------------------------------------------- schema
def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _str_list(v: Any, allowed: tuple[str, ...] | None, what: str, most: int) -> list[str]:
    if not isinstance(v, list) or len(v) > most or not all(isinstance(x, str) and 0 < len(x) <= _MAX_NAME for x in v):
        raise ProtocolError(f"malformed reply header: {what} is not a list of names")
    if len(set(v)) != len(v):
        raise ProtocolError(f"malformed reply header: {what} repeats a name")
    if allowed is not None and not set(v) <= set(allowed):
        bad = sorted(set(v) - set(allowed))[0]
        raise ProtocolError(f"malformed reply header: {what} names {bad!r}")
    return v


def _check_result(res: Any, arrays: Mapping[str, np.ndarray]) -> None:
    if not isinstance(res, dict):
        raise ProtocolError("malformed reply header: result is not an object")
    known = {"present", "bad", "null", "trace", "trace_type", "lanes", "lane_utilization", "hfro_method", "none", "type"}
    extra = set(res) - known
    if extra:
        raise ProtocolError(f"malformed reply header: unknown result field {sorted(extra)[0]!r}")
    present = _str_list(res.get("present", []), ARRAY_FIELDS, "result.present", len(ARRAY_FIELDS))
    _str_list(res.get("null", []), tuple(present), "result.null", len(ARRAY_FIELDS))
    trace = res.get("trace")
    names = list(present)
    if trace is not None:
        names += ["trace/" + k for k in _str_list(trace, None, "result.trace", _MAX_TRACE_FIELDS)]
    bad = res.get("bad", {})
    if not isinstance(bad, dict) or not all(k in names and isinstance(v, str) and len(v) <= 200
                                            for k, v in bad.items()):
        raise ProtocolError("malformed reply header: result.bad is not a map of sent names to reasons")
    for key, typ in (("trace_type", str), ("hfro_method", str), ("type", str), ("none", bool)):
        if key in res and not (isinstance(res[key], typ) and (typ is bool or len(res[key]) <= 200)):
            raise ProtocolError(f"malformed reply header: result.{key}")
    lanes = res.get("lanes")
    if lanes is not None and not (isinstance(lanes, int) and not isinstance(lanes, bool) and lanes >= 1):
        raise ProtocolError("malformed reply header: result.lanes is not a positive integer or null")
    util = res.get("lane_utilization")
    if util is not None and not _is_num(util):
        raise ProtocolError("malformed reply header: result.lane_utilization is not a number or null")
    stray = set(arrays) - set(names)
    if stray:
        raise ProtocolError(f"reply array {sorted(stray)[0]!r} is not named in the header")


def check_solve_header(head: Mapping[str, Any], arrays: Mapping[str, np.ndarray], rows: int) -> None:
    """Validate a solve reply's header (and that its arrays are the ones it names) before use.

    Raises :class:`ProtocolError` naming the first field that is malformed."""
    known = {"compile_seconds", "seconds", "failure", "result", "fatal", "exit_code"}
    extra = set(head) - known
    if extra:
        raise ProtocolError(f"malformed reply header: unknown field {sorted(extra)[0][:40]!r}")
    for key in ("compile_seconds", "seconds"):
        if key in head and not _is_num(head[key]):
            raise ProtocolError(f"malformed reply header: {key} is not a number")
    failure = head.get("failure")
    if failure is not None:
        if not isinstance(failure, dict) or len(failure) > rows:
            raise ProtocolError("malformed reply header: failure is not a map of rows")
        for k, v in failure.items():
            if not (isinstance(k, str) and k.isdigit() and int(k) < rows and isinstance(v, list) and len(v) == 2
                    and v[0] in ("error", "invalid") and isinstance(v[1], str)):
                raise ProtocolError("malformed reply header: failure row is not [outcome, reason]")
    if "result" in head:
        _check_result(head["result"], arrays)
    elif arrays:
        raise ProtocolError("reply has arrays but no result")
