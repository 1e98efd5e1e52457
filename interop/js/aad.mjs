// The official JS SDK signed in with a Microsoft Entra ID token (a TokenCredential, so the
// SDK puts a `jwt` on $cbs) against the emulator validating JWTs (`--jwt-key`), over wss://
// with the emulator's CA. Arguments: <wss port> <CA file> <token> <expires_on>.
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import { check, finish, subscribe, waitUntil } from "./common.mjs";

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

const received = subscribe({ host: "localhost", credential }, "2", { startPosition: earliestEventPosition }, options);
await waitUntil(() => received.events.length >= bodies.length, 30000);
await received.close();
const got = received.events;
check("no subscription errors", received.errors.length === 0);
check("sent and received with an Entra ID token", JSON.stringify(got.map((e) => e.body)) === JSON.stringify(bodies));
check("the SDK asked for the Event Hubs scope", scopes.some((s) => s.startsWith("https://eventhubs.azure.net/")));
finish();
