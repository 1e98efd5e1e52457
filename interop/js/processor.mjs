// The official JS SDK's event processor (EventHubConsumerClient with the blob checkpoint
// store) as a member of a mixed fleet: prints `handled <partition> <sequence>` per event,
// checkpoints the last of each batch, stops cleanly on SIGTERM.
// Usage: node processor.mjs <event hubs connection string> <storage connection string> <container> [hub (eh1)]
import { EventHubConsumerClient, earliestEventPosition } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import { ContainerClient } from "@azure/storage-blob";

const [conn, storage, container, hub = "eh1"] = process.argv.slice(2);
const store = new BlobCheckpointStore(new ContainerClient(storage, container));
const client = new EventHubConsumerClient("$Default", conn, hub, store, {
  loadBalancingOptions: {
    strategy: "balanced",
    updateIntervalInMs: 400,
    partitionOwnershipExpirationIntervalInMs: 2000,
  },
});
const subscription = client.subscribe(
  {
    processEvents: async (events, context) => {
      for (const e of events) console.log(`handled ${context.partitionId} ${e.sequenceNumber}`);
      if (events.length > 0) await context.updateCheckpoint(events[events.length - 1]);
    },
    processError: async (err, context) => {
      console.error(`error ${context.partitionId}: ${err.message}`);
    },
  },
  { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
);
console.log("started");
process.on("SIGTERM", async () => {
  await subscription.close();
  await client.close();
  console.log("closed");
  process.exit(0);
});
