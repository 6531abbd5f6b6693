"""A fake Asterisk for the FastAGI tests: a real server on an ephemeral port, a fake channel that sends the agi_
environment and answers every command like a channel would (moved here from test_ivr.py to be shared)."""

import itertools
import socket
import wave
from pathlib import Path

import pytest

from sbyt.core import speech
from sbyt.messaging.channels.ivr import menu
from sbyt.messaging.channels.ivr.server import start_in_thread

CALLER = "79121234567"
P = menu.prompt
TRANSFER = "SET VARIABLE SBYT_TRANSFER operator"
_CALL_IDS = itertools.count(1)


def key(k, during=None):
    """A key pressed after the menu was heard (WAIT FOR DIGIT), or during the named prompt (barge-in)."""
    return ("key", k, during)


def data(digits):
    return ("data", digits, None)


def record(seconds: int | None, end: str = "dtmf"):
    """The caller speaks for ``seconds`` after the beep (None: Asterisk writes no file), then ``end``: «#» (dtmf),
    the time limit or silence (timeout), hanging up (hangup), or Asterisk fails to write (writefile)."""
    return ("record", (seconds, end), None)


TIMEOUT = ("timeout", "", None)
HANGUP = ("hangup", "", None)


def words(n: int) -> list[str]:
    return [menu.word_prompt(w) for w in speech.number_tokens(n)]


@pytest.fixture
def agi_server():
    server, thread = start_in_thread("127.0.0.1", 0)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


class Asterisk:
    """One call as Asterisk would place it. ``actions``: what the caller does, in order — a key pressed
    during a menu (``key``), digits typed and ended by # (``data``), silence (``TIMEOUT``), hanging up."""

    def __init__(
        self, port: int, actions, *, callerid: str = CALLER, script: str = "readings", uniqueid: str | None = None
    ):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.rfile = self.sock.makefile("rb")
        self.wfile = self.sock.makefile("wb")
        self.actions = list(actions)
        self.commands: list[str] = []
        self.recordings: list[Path] = []
        self.uniqueid = uniqueid or f"1763456789.{next(_CALL_IDS)}"
        env = [
            ("agi_network", "yes"),
            ("agi_network_script", script),
            ("agi_request", f"agi://127.0.0.1:{port}/{script}"),
            ("agi_channel", "PJSIP/trunk-00000001"),
            ("agi_language", "ru"),
            ("agi_type", "PJSIP"),
            ("agi_callerid", callerid),
            ("agi_calleridname", "unknown"),
            ("agi_context", "sbyt-ivr"),
            ("agi_extension", "s"),
            ("agi_priority", "2"),
            ("agi_uniqueid", self.uniqueid),
        ]
        self.send("".join(f"{k}: {v}\n" for k, v in env) + "\n")
        self.hung_up = False

    def send(self, text: str) -> None:
        self.wfile.write(text.encode())
        self.wfile.flush()

    def _next(self, kinds):
        if self.actions and self.actions[0][0] in kinds:
            return self.actions.pop(0)
        return None

    def answer(self, line: str) -> str:
        parts = line.split(" ")
        command = " ".join(parts[:2]) if parts[0] in ("STREAM", "WAIT", "GET", "SET", "CHANNEL", "RECORD") else parts[0]
        if self.hung_up:
            return "511 Command Not Permitted on a dead channel or intercepted channel"
        if not self.actions and command in ("WAIT FOR", "GET DATA"):
            self.actions.append(HANGUP)  # the script ran out: the caller hangs up
        escape = line.rsplit(" ", 1)[1].strip('"') if command == "STREAM FILE" else ""
        if (escape or command in ("WAIT FOR", "GET DATA")) and self._next(("hangup",)):
            self.hung_up = True
            return "HANGUP\n200 result=-1" + (" endpos=0" if command == "STREAM FILE" else "")
        if command == "STREAM FILE":
            head = self.actions[0] if self.actions else None
            barge_in = escape and head and head[0] == "key" and head[2] == parts[2]
            action = self.actions.pop(0) if barge_in else None
            return f"200 result={ord(action[1]) if action else 0} endpos=8000"
        if command == "WAIT FOR":
            action = self._next(("key", "timeout"))
            return f"200 result={ord(action[1]) if action and action[0] == 'key' else 0}"
        if command == "GET DATA":
            action = self._next(("data", "timeout"))
            if action is None or action[0] == "timeout":
                return "200 result= (timeout)"
            return f"200 result={action[1]}"
        if command == "RECORD FILE":
            return self.record(parts[2], parts[3])
        if command == "HANGUP":
            self.hung_up = True
            return "200 result=1"
        if command == "CHANNEL STATUS":
            return "200 result=6"
        if command in ("ANSWER", "SET VARIABLE"):
            return "200 result=0" if command == "ANSWER" else "200 result=1"
        return "510 Invalid or unknown command"

    def record(self, path: str, fmt: str) -> str:
        """RECORD FILE: Asterisk writes <path>.<format> (8 kHz 16-bit PCM for «wav») as the caller speaks."""
        action = self._next(("record",))
        seconds, end = action[1] if action else (None, "hangup")
        endpos = 0
        if seconds is not None and end != "writefile":
            target = write_wav(Path(f"{path}.{fmt}"), seconds)
            endpos = 8000 * seconds
            self.recordings.append(target)
        if end == "hangup":
            self.hung_up = True
            return f"HANGUP\n200 result=-1 (hangup) endpos={endpos}"
        if end == "writefile":
            return "200 result=-1 (writefile)"
        if end == "dtmf":
            return f"200 result={ord('#')} (dtmf) endpos={endpos}"
        return f"200 result=0 (timeout) endpos={endpos}"

    def talk(self) -> list[str]:
        """Serve the call until the AGI server closes the connection; the commands it sent."""
        while True:
            raw = self.rfile.readline()
            if not raw:
                break
            line = raw.decode().rstrip("\n")
            self.commands.append(line)
            self.send(self.answer(line) + "\n")
        self.sock.close()
        return self.commands

    @property
    def played(self) -> list[str]:
        return [c.split(" ")[2] for c in self.commands if c.startswith(("STREAM FILE", "GET DATA"))]


def call(port, actions, **kwargs) -> Asterisk:
    asterisk = Asterisk(port, actions, **kwargs)
    asterisk.talk()
    return asterisk


def after(seq: list[str], start: str) -> list[str]:
    return seq[seq.index(start) + 1 :]


def write_wav(path: Path, seconds: int = 1) -> Path:
    """A recording as Asterisk's «wav» format writes it: 8 kHz, 16-bit, mono PCM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x01" * 8000 * seconds)
    return path


@pytest.fixture
def voice_dir(settings, tmp_path):
    """The recordings directory, the same path for Asterisk and for the web processes (one host)."""
    root = tmp_path / "voice"
    root.mkdir()
    settings.SBYT_VOICE_RECORDINGS_DIR = root
    settings.SBYT_VOICE_ASTERISK_DIR = str(root)
    return root
