// Writes Go v3 Event Processor Host blobs (JSON lease records, as `eph`'s storage leaser
// keeps them) into an Azurite container with the official storage SDK, for the v3 import
// test. Usage: node v3_blobs.mjs <storage connection string> <container> <prefix> <lease 0|1>
// With lease 1, partition 0's blob is left under an active blob lease (a v3 host still
// running). Prints "ok" when done.
import { ContainerClient } from "@azure/storage-blob";

const [conn, container, prefix, lease] = process.argv.slice(2);
const client = new ContainerClient(conn, container);
await client.createIfNotExists();
const record = (partitionID, offset, sequenceNumber, state) => JSON.stringify({
  partitionID,
  epoch: 3,
  owner: "v3-host-1",
  checkpoint: { offset, sequenceNumber, enqueueTime: "2026-12-01T10:00:00Z" },
  state,
  token: "00000000-0000-0000-0000-000000000000",
});
const blobs = {
  "0": record("0", "4100", 41, "leased"),
  "1": record("1", "-1", 0, "available"),       // never checkpointed: start of stream
  "2": record("2", "@latest", 0, "available"),  // the end of stream marker, not a checkpoint
  "3": record("3", "900", 9, "expired"),
};
for (const [pid, body] of Object.entries(blobs)) {
  await client.getBlockBlobClient(prefix + pid).upload(body, Buffer.byteLength(body));
}
if (lease === "1") {
  await client.getBlobClient(prefix + "0").getBlobLeaseClient().acquireLease(60);
}
console.log("ok");
