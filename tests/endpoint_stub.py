"""A scripted OpenAI-compatible endpoint on loopback, for the fault path against a real client.

Each ``/v1/chat/completions`` request takes the next step of the script: an HTTP status (with
optional headers) that fails the request, a delay before answering, or a reply. Every request is
kept with its arrival time, so a test can compare what reached the endpoint with the run record.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Step:
    """One request's fate: ``status`` other than 200 fails it; ``delay_s`` stalls the reply."""

    status: int = 200
    content: str = "ANSWER: 42"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Endpoint:
    url: str
    script: list[Step]
    arrivals: list[float] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def next_step(self, body: dict[str, Any]) -> Step:
        self.arrivals.append(time.monotonic())
        self.bodies.append(body)
        index = len(self.arrivals) - 1
        return self.script[min(index, len(self.script) - 1)]


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "stub",
        "object": "chat.completion",
        "created": 0,
        "model": "stub",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


@contextmanager
def scripted_endpoint(*script: Step) -> Iterator[Endpoint]:
    """Serve ``script`` on 127.0.0.1 (a free port) for the duration of the block; the last step
    repeats once the script is used up."""
    endpoint = Endpoint(url="", script=list(script) or [Step()])
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with lock:
                step = endpoint.next_step(body)
            time.sleep(step.delay_s)
            if step.status == 200:
                payload = completion(step.content)
            else:
                payload = {"error": {"message": f"scripted {step.status}", "type": "stub"}}
            data = json.dumps(payload).encode()
            try:
                self.send_response(step.status)
                for name, value in step.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up at its timeout

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
