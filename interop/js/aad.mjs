// The official JS SDK signed in with a Microsoft Entra ID token (a TokenCredential, so the
// SDK puts a `jwt` on $cbs) against the emulator validating JWTs (`--jwt-key`), over wss://
// with the emulator's CA. Arguments: <wss port> <CA file> <token> <expires_on>.
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { EventHubProducerClient, EventHubConsumerClient, earliestEventPosition } from "@azure/event-hubs";
import { check, finish, waitUntil } from "./common.mjs";

const [wssPort, caFile, token, expiresOn] = process.argv.slice(2);
const scopes = [];
const credential = {
  getToken: async (scope) => {
    scopes.push(...[scope].flat());
    return { token, expiresOnTimestamp: Number(expiresOn) * 1000 };
  },
};
const options = {
  customEndpointAddress: `sb://localhost:${wssPort}`,
  webSocketOptions: { webSocket: WebSocket, webSocketConstructorOptions: { ca: readFileSync(caFile) } },
};

const producer = new EventHubProducerClient("localhost", "eh1", credential, options);
const bodies = Array.from({ length: 10 }, (_, i) => `js-aad-${i}`);
const batch = await producer.createBatch({ partitionId: "2" });
bodies.forEach((body) => batch.tryAdd({ body }));
await producer.sendBatch(batch);
await producer.close();

const consumer = new EventHubConsumerClient("$Default", "localhost", "eh1", credential, options);
const got = [];
const sub = consumer.subscribe("2", {
  processEvents: async (events) => { got.push(...events); },
  processError: async (err) => { console.log("error", err.message); },
}, { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 });
await waitUntil(() => got.length >= bodies.length, 30000);
await sub.close();
await consumer.close();
check("sent and received with an Entra ID token", JSON.stringify(got.map((e) => e.body)) === JSON.stringify(bodies));
check("the SDK asked for the Event Hubs scope", scopes.some((s) => s.startsWith("https://eventhubs.azure.net/")));
finish();
