"""The FastAGI server: one thread per call, each running a ``menu.Call`` over the socket.

Threads rather than asyncio: the menu and the readings service are plain synchronous Django code (ORM,
transactions), so each call simply runs in its own thread with its own database connection, closed when
the call ends. A call waits on the caller most of the time; a few hundred threads are cheap.
"""

import logging
import socketserver
import threading
from urllib.parse import urlsplit

from django.db import close_old_connections, connections

from .agi import AGI, AGIError, Hangup
from .menu import Call

log = logging.getLogger("sbyt.ivr")

SCRIPTS = {"readings": Call, "": Call}
"""The script part of ``agi://host:port/<script>`` → the dialogue it starts."""

CALL_TIMEOUT_S = 30 * 60  # a socket silent this long is a dead call


def script_name(env: dict[str, str]) -> str:
    name = env.get("agi_network_script") or urlsplit(env.get("agi_request", "")).path
    return name.strip("/").split("?")[0]


class AGIHandler(socketserver.StreamRequestHandler):
    timeout = CALL_TIMEOUT_S

    def handle(self) -> None:
        close_old_connections()
        agi = AGI(self.rfile, self.wfile)
        try:
            agi.read_environment()
            dialogue = SCRIPTS.get(script_name(agi.env))
            if dialogue is None:
                log.warning("IVR: unknown AGI script %r", script_name(agi.env))
                agi.hangup()
                return
            dialogue(agi).run()
        except Hangup as exc:
            log.info("IVR call from %s ended: %s", agi.env.get("agi_callerid", "?"), exc)
        except AGIError:
            log.exception("IVR: Asterisk refused a command")
        except Exception:
            log.exception("IVR call failed")
        finally:
            connections.close_all()  # this thread's connections


class AGIServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int]):
        super().__init__(address, AGIHandler)


def start_in_thread(host: str = "127.0.0.1", port: int = 0) -> tuple[AGIServer, threading.Thread]:
    """A running server (port 0: any free port, see ``server.server_address``), for tests and embedding."""
    server = AGIServer((host, port))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="ivr-agi", daemon=True)
    thread.start()
    return server, thread
