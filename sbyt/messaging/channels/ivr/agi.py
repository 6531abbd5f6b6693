"""The Asterisk (Fast)AGI wire protocol: the environment block, commands and ``200 result=…`` replies.

Asterisk connects (``AGI(agi://host:4573/readings)``), sends ``agi_name: value`` lines ended by a blank line,
then waits for one command at a time and answers each with one line::

    200 result=50 endpos=11840      STREAM FILE: the ASCII code of the key pressed (0: none, -1: failure/hangup)
    200 result=12345 (timeout)      GET DATA: the digits typed (ended by «#» or the timeout)
    510 Invalid or unknown command
    511 Command Not Permitted on a dead channel or intercepted channel
    520-Invalid command syntax.  Proper usage follows:   (multi-line, ended by «520 End of proper usage.»)

With ``AGISIGHUP`` (the default) Asterisk also writes a bare ``HANGUP`` line when the caller hangs up.
Every way the call can end (``HANGUP``, ``511``, ``-1`` on a dead channel, EOF, a broken socket) raises
``Hangup`` so the caller of this module has one thing to handle.
"""

import contextlib
import logging
import re
from dataclasses import dataclass

log = logging.getLogger("sbyt.ivr")

ALL_KEYS = "0123456789*#"
_REPLY = re.compile(r"^(?P<code>\d{3})(?:[ -](?P<rest>.*))?$")
_RESULT = re.compile(r"result=(?P<result>\S*)(?:\s+\((?P<data>[^)]*)\))?")
MAX_LINE = 8192


class Hangup(Exception):
    """The caller hung up or Asterisk went away: stop, write nothing more."""


class AGIError(Exception):
    """Asterisk refused a command (510 / 520): a bug on our side, not the caller's."""


@dataclass(frozen=True)
class Reply:
    code: int
    result: str = ""
    data: str = ""  # the parenthesised part: «timeout», a variable's value
    line: str = ""

    @property
    def number(self) -> int:
        try:
            return int(self.result)
        except ValueError:
            return 0


def parse_reply(line: str) -> Reply:
    match = _REPLY.match(line)
    if not match:
        raise AGIError(f"not an AGI reply: {line!r}")
    code = int(match["code"])
    result = _RESULT.search(match["rest"] or "")
    if result:
        return Reply(code, result["result"], result["data"] or "", line)
    return Reply(code, "", "", line)


def quote(arg: str) -> str:
    """An argument as Asterisk's parser reads it: quoted when empty or containing spaces, quotes escaped."""
    text = str(arg)
    if text and not re.search(r'[\s"\\]', text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Raw(str):
    """An argument sent exactly as written (e.g. the quoted escape digits of RECORD FILE)."""


@dataclass(frozen=True)
class Recording:
    """How a RECORD FILE ended: ``dtmf`` (a key, ``key``), ``timeout`` (the limit or silence), ``hangup``, or
    ``failed`` (Asterisk could not write the file); ``endpos`` the samples written."""

    ended: str
    key: str = ""
    endpos: int = 0


_ENDPOS = re.compile(r"endpos=(-?\d+)")


class AGI:
    """One AGI session over a file-like pair (``socket.makefile``). Not thread-safe; one per call."""

    def __init__(self, rfile, wfile):
        self.rfile = rfile
        self.wfile = wfile
        self.env: dict[str, str] = {}
        self.hung_up = False

    # -- wire -----------------------------------------------------------------------------------------
    def _readline(self) -> str:
        try:
            raw = self.rfile.readline(MAX_LINE)
        except (OSError, ValueError) as exc:
            raise Hangup("connection lost") from exc
        if not raw:
            raise Hangup("EOF")
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def read_environment(self) -> dict[str, str]:
        """The ``agi_*`` lines up to the blank line."""
        while True:
            line = self._readline()
            if not line.strip():
                return self.env
            name, _sep, value = line.partition(":")
            self.env[name.strip()] = value.strip()

    def execute(self, command: str, *args) -> Reply:
        if self.hung_up:
            raise Hangup("channel hung up")
        line = " ".join([command, *(a if isinstance(a, Raw) else quote(a) for a in args)])
        log.debug("AGI > %s", line)
        try:
            self.wfile.write(line.encode() + b"\n")
            self.wfile.flush()
        except (OSError, ValueError) as exc:
            raise Hangup("connection lost") from exc
        return self._read_reply()

    def _read_reply(self) -> Reply:
        line = self._readline()
        while line.strip() == "HANGUP":  # AGISIGHUP notice; the command's own reply follows
            self.hung_up = True
            line = self._readline()
        log.debug("AGI < %s", line)
        if line.startswith("520-"):
            while not line.startswith("520 "):
                line = self._readline()
        reply = parse_reply(line)
        if reply.code == 511:
            self.hung_up = True
            raise Hangup(line)
        if reply.code != 200:
            raise AGIError(line)
        return reply

    def _alive_after_failure(self) -> bool:
        """-1 from a playing command means a hang-up or a missing sound file: ask which."""
        if self.hung_up:
            return False
        reply = self.execute("CHANNEL STATUS")
        return reply.number >= 0

    # -- commands ---------------------------------------------------------------------------------------
    def answer(self) -> None:
        if self.execute("ANSWER").number < 0:
            raise Hangup("answer failed")

    def stream_file(self, prompt: str, escape: str = ALL_KEYS) -> str:
        """Play a prompt; the key that interrupted it, or ""."""
        reply = self.execute("STREAM FILE", prompt, escape)
        if reply.number < 0:
            if not self._alive_after_failure():
                raise Hangup("hangup during playback")
            log.warning("IVR prompt %s could not be played (missing sound file?)", prompt)
            return ""
        return chr(reply.number) if reply.number > 0 else ""

    def wait_for_digit(self, timeout_ms: int) -> str:
        reply = self.execute("WAIT FOR DIGIT", str(timeout_ms))
        if reply.number < 0:
            raise Hangup("hangup while waiting for a key")
        return chr(reply.number) if reply.number > 0 else ""

    def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        """Play a prompt and collect digits up to «#», the timeout or ``max_digits``."""
        reply = self.execute("GET DATA", prompt, str(timeout_ms), str(max_digits))
        if reply.result == "-1":
            if not self._alive_after_failure():
                raise Hangup("hangup during input")
            log.warning("IVR prompt %s could not be played (missing sound file?)", prompt)
            return ""
        return reply.result

    def record_file(self, path: str, *, escape: str = "#", timeout_ms: int = 60000, silence_s: int = 5) -> Recording:
        """Record the caller to ``<path>.wav`` after a beep, until ``escape``, ``timeout_ms`` or ``silence_s``
        seconds of silence: ``RECORD FILE <path> wav "#" 60000 BEEP s=5``. A hang-up during the recording is
        returned (``ended="hangup"``), not raised: what was recorded is kept by Asterisk and may be stored."""
        reply = self.execute("RECORD FILE", path, "wav", Raw(f'"{escape}"'), str(timeout_ms), "BEEP", f"s={silence_s}")
        found = _ENDPOS.search(reply.line)
        endpos = max(0, int(found.group(1))) if found else 0
        if reply.data == "hangup" or (reply.number < 0 and self.hung_up):
            self.hung_up = True
            return Recording("hangup", endpos=endpos)
        if reply.number < 0:
            return Recording("failed", endpos=endpos)
        if reply.data == "dtmf" and reply.number > 0:
            return Recording("dtmf", chr(reply.number), endpos)
        return Recording("timeout", endpos=endpos)

    def set_variable(self, name: str, value: str) -> None:
        self.execute("SET VARIABLE", name, value)

    def hangup(self) -> None:
        with contextlib.suppress(Hangup):
            self.execute("HANGUP")
