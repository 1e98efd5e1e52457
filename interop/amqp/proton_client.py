"""python-qpid-proton as the client of our AMQP server role.

Usage: proton_client.py PORT [N]. Sends N messages pre-settled to queue 'settled' and N
unsettled to queue 'unsettled' (waiting for every outcome), the middle one larger than the
frame size, then receives both queues back and checks every body in order. Exits 0 and
prints 'ok' only if all 4N transfers match.
"""

import sys

from proton import Message
from proton.handlers import MessagingHandler
from proton.reactor import AtMostOnce, Container

from common import N_DEFAULT, body, index_of


class Client(MessagingHandler):
    def __init__(self, url: str, n: int):
        super().__init__(auto_accept=True, prefetch=500)
        self.url, self.n = url, n
        self.sent = {"settled": 0, "unsettled": 0}
        self.accepted = 0
        self.received = {"settled": 0, "unsettled": 0}
        self.receivers = {}
        self.error = None

    def on_start(self, event):
        self.conn = event.container.connect(self.url, allowed_mechs="ANONYMOUS", max_frame_size=16384)
        event.container.create_sender(self.conn, "settled", options=AtMostOnce())
        event.container.create_sender(self.conn, "unsettled")

    def on_sendable(self, event):
        q = event.sender.target.address
        while event.sender.credit and self.sent[q] < self.n:
            event.sender.send(Message(body=body(self.sent[q], self.n), inferred=True))
            self.sent[q] += 1
        self.maybe_receive(event)

    def on_accepted(self, event):
        self.accepted += 1
        self.maybe_receive(event)

    def maybe_receive(self, event):
        if self.receivers or self.accepted < self.n or self.sent["settled"] < self.n:
            return
        for q in ("settled", "unsettled"):
            self.receivers[q] = event.container.create_receiver(self.conn, q)

    def on_message(self, event):
        q = event.receiver.source.address
        got = index_of(event.message.body)
        want = self.received[q]
        if got != want or bytes(event.message.body) != body(want, self.n):
            self.error = f"{q}: expected message {want}, got {got}"
            event.connection.close()
            return
        self.received[q] += 1
        if all(v == self.n for v in self.received.values()):
            event.connection.close()

    def on_transport_error(self, event):
        self.error = f"transport error: {event.transport.condition}"

    def on_link_error(self, event):
        self.error = f"link error: {event.link.remote_condition}"


def main():
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else N_DEFAULT
    c = Client(f"amqp://127.0.0.1:{port}", n)
    Container(c).run()
    if c.error or any(v != n for v in c.received.values()):
        print(f"FAILED: {c.error} received={c.received} accepted={c.accepted}", flush=True)
        sys.exit(1)
    print(f"ok sent={c.sent} accepted={c.accepted} received={c.received}", flush=True)


if __name__ == "__main__":
    main()
