"""python-qpid-proton as the server our client role connects to: a queue broker.

Prints 'listening on <port>' and serves until stdin closes. Messages sent to address A
are queued and delivered, in order, to receivers attached on A. Unsettled deliveries are
accepted after they are queued.
"""

import collections
import socket
import sys
import threading

from proton.handlers import MessagingHandler
from proton.reactor import Container


class Broker(MessagingHandler):
    def __init__(self, url):
        super().__init__(auto_accept=True, prefetch=1000)
        self.url = url
        self.queues = collections.defaultdict(collections.deque)
        self.consumers = collections.defaultdict(list)

    def on_start(self, event):
        self.acceptor = event.container.listen(self.url)

    def on_link_opening(self, event):
        if event.link.is_sender:
            addr = event.link.remote_source.address
            event.link.source.address = addr
            self.consumers[addr].append(event.link)
        else:
            event.link.target.address = event.link.remote_target.address

    def on_link_closing(self, event):
        if event.link.is_sender:
            for links in self.consumers.values():
                if event.link in links:
                    links.remove(event.link)

    def pump(self, addr):
        q = self.queues[addr]
        for link in self.consumers[addr]:
            while q and link.credit:
                link.send(q.popleft())

    def on_sendable(self, event):
        self.pump(event.link.source.address)

    def on_message(self, event):
        addr = event.link.target.address
        self.queues[addr].append(event.message)
        self.pump(addr)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    port = free_port()
    container = Container(Broker(f"127.0.0.1:{port}"))
    container.container_id = "proton-broker"
    # Stop when the test closes our stdin.
    threading.Thread(target=lambda: (sys.stdin.read(), container.stop()), daemon=True).start()
    print(f"listening on {port}", flush=True)
    container.run()


if __name__ == "__main__":
    main()
