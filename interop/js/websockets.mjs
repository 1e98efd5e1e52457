// The official JS SDK over AMQP over WebSockets (`ws` as the WebSocket) to the emulator's
// wss:// port: customEndpointAddress names the port, the emulator's CA is trusted through
// the WebSocket's TLS options. The SDK always builds a wss:// URL, so plain ws:// cannot be
// reached from it. Arguments: <wss port> <CA file> <emulator connection string>.
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import { check, finish, subscribe, waitUntil } from "./common.mjs";

const [wssPort, caFile, emulatorCs] = process.argv.slice(2);
const key = emulatorCs.split(";").slice(1).filter((kv) => !kv.startsWith("UseDevelopmentEmulator")).join(";");
const conn = `Endpoint=sb://localhost/;${key}`;
const options = {
  customEndpointAddress: `sb://localhost:${wssPort}`,
  webSocketOptions: { webSocket: WebSocket, webSocketConstructorOptions: { ca: readFileSync(caFile) } },
};

const producer = new EventHubProducerClient(conn, "eh1", options);
const props = await producer.getEventHubProperties();
check("partition ids over wss", JSON.stringify(props.partitionIds) === JSON.stringify(["0", "1", "2", "3"]));
const bodies = Array.from({ length: 20 }, (_, i) => `js-wss-${i}-` + "y".repeat((i * 997) % 5000));
const batch = await producer.createBatch({ partitionId: "0" });
bodies.forEach((body, i) => batch.tryAdd({ body, properties: { i } }));
await producer.sendBatch(batch);
await producer.close();

const received = subscribe(conn, "0", { startPosition: earliestEventPosition }, options);
await waitUntil(() => received.events.length >= bodies.length, 30000);
await received.close();
const got = received.events;
check("no subscription errors", received.errors.length === 0);
check("bodies over wss", JSON.stringify(got.map((e) => e.body)) === JSON.stringify(bodies));
check("properties over wss", got.every((e, i) => e.properties && e.properties.i === i));
finish();
