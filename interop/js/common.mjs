// Helpers shared by the JS SDK scenarios: a check recorder and a partition subscription
// that collects events and errors.
import { EventHubConsumerClient } from "@azure/event-hubs";

export const failures = [];
export const check = (name, cond) => { console.log(`${cond ? "PASS" : "FAIL"} ${name}`); if (!cond) failures.push(name); };
export const finish = () => { console.log(failures.length ? `FAILED ${failures}` : "ok"); process.exit(failures.length ? 1 : 0); };
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export async function waitUntil(cond, ms = 15000) {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await sleep(50);
  return cond();
}

/**
 * Subscribes to one partition of eh1; `close()` ends the subscription and the client.
 * `conn` is a connection string or `{ host, credential }` (a token credential);
 * `clientOptions` go to the client (custom endpoint, WebSocket options).
 */
export function subscribe(conn, partitionId, options, clientOptions = {}) {
  const client = typeof conn === "string"
    ? new EventHubConsumerClient("$Default", conn, "eh1", clientOptions)
    : new EventHubConsumerClient("$Default", conn.host, "eh1", conn.credential, clientOptions);
  const r = { events: [], errors: [] };
  const sub = client.subscribe(partitionId, {
    processEvents: async (events) => { r.events.push(...events); },
    processError: async (err) => { r.errors.push(err); },
  }, { maxWaitTimeInSeconds: 1, ...options });
  r.close = async () => { await sub.close(); await client.close(); };
  return r;
}

/** The first event received from `startPosition` on partition 1. */
export async function firstEvent(conn, startPosition) {
  const r = subscribe(conn, "1", { startPosition });
  await waitUntil(() => r.events.length > 0, 10000);
  await r.close();
  return r.events[0];
}
