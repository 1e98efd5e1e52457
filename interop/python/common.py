"""Helpers shared by the Python SDK scenarios: a check recorder and a background receive."""
import sys, threading, time
from azure.eventhub import EventHubConsumerClient

failures = []


def check(name, cond):
    print(("PASS " if cond else "FAIL ") + name, flush=True)
    if not cond:
        failures.append(name)


def finish():
    print("ok" if not failures else f"FAILED {failures}", flush=True)
    sys.exit(1 if failures else 0)


def wait_until(cond, seconds=15):
    deadline = time.time() + seconds
    while not cond() and time.time() < deadline:
        time.sleep(0.05)
    return cond()


class Background:
    """EventHubConsumerClient.receive on a thread, collecting events and errors."""

    def __init__(self, conn, partition_id, **kwargs):
        self.events, self.errors = [], []
        self.client = EventHubConsumerClient.from_connection_string(
            conn, consumer_group="$Default", eventhub_name="eh1")
        self.thread = threading.Thread(target=lambda: self.client.receive(
            on_event=lambda ctx, e: self.events.append(e),
            on_error=lambda ctx, err: self.errors.append(err),
            partition_id=partition_id, **kwargs), daemon=True)
        self.thread.start()

    def close(self):
        self.client.close()
