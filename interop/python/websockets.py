"""The official Python SDK over AMQP over WebSockets to the emulator: plain ws:// (a
connection string with UseDevelopmentEmulator=true and the WebSocket port as custom
endpoint), and TLS wss:// (no emulator flag, the CA given as connection_verify). Each sends
a batch with properties and reads it back with bodies and properties checked.

Then the same plain ws:// round trip through an HTTP CONNECT proxy with Basic auth
(`http_proxy=`; the caller checks the proxy's log for the tunnel).

Arguments: <ws port> <wss port> <CA file> <emulator connection string> <proxy port>.
"""
import sys, time, threading
from azure.eventhub import (EventHubProducerClient, EventHubConsumerClient, EventData,
                            TransportType)
from common import check, finish, wait_until

ws_port, wss_port, ca_file, emulator_cs, proxy_port = sys.argv[1:6]
key = emulator_cs.split(";", 1)[1].replace(";UseDevelopmentEmulator=true", "")


def round_trip(name, conn, partition, **kwargs):
    options = dict(eventhub_name="eh1", transport_type=TransportType.AmqpOverWebsocket, **kwargs)
    producer = EventHubProducerClient.from_connection_string(conn, **options)
    bodies = [f"{name}-{i}-" + "x" * (i * 997 % 5000) for i in range(20)]
    with producer:
        check(f"{name}: properties", producer.get_eventhub_properties()["partition_ids"]
              == ["0", "1", "2", "3"])
        batch = producer.create_batch(partition_id=partition)
        for i, body in enumerate(bodies):
            event = EventData(body)
            event.properties = {"i": i, "over": name}
            batch.add(event)
        producer.send_batch(batch)
    got = []
    consumer = EventHubConsumerClient.from_connection_string(
        conn, consumer_group="$Default", **options)
    t = threading.Thread(target=lambda: consumer.receive(
        on_event=lambda ctx, e: got.append(e), partition_id=partition,
        starting_position="-1"), daemon=True)
    t.start()
    wait_until(lambda: len(got) >= len(bodies), 30)
    consumer.close()
    check(f"{name}: bodies", [e.body_as_str() for e in got] == bodies)
    check(f"{name}: properties kept",
          [(e.properties.get(b"i"), e.properties.get(b"over")) for e in got]
          == [(i, name.encode()) for i in range(len(bodies))])


# ws://: the emulator flag turns TLS off; the custom endpoint names the WebSocket port.
round_trip("ws", emulator_cs, "1", custom_endpoint_address=f"sb://127.0.0.1:{ws_port}")
# wss://: TLS verified against the emulator's certificate.
round_trip("wss", f"Endpoint=sb://localhost/;{key}", "2",
           custom_endpoint_address=f"sb://localhost:{wss_port}", connection_verify=ca_file)
# Through the proxy: websocket-client tunnels with CONNECT to the custom endpoint.
round_trip("proxied", emulator_cs, "3", custom_endpoint_address=f"sb://127.0.0.1:{ws_port}",
           http_proxy={"proxy_hostname": "127.0.0.1", "proxy_port": int(proxy_port),
                       "username": "bob", "password": "pa55"})
finish()
