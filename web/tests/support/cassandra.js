// Why: the browser tests talk to the lab's Cassandra directly for two things the page must
// not be trusted to tell them: writing scenario events (events.js), and knowing which PC
// holds each sensor's only copy in the contrast lane's keyspace (replication factor 1),
// so that a fault test can pick sensors on both sides of the PC it stops.

import cassandra from "cassandra-driver";

const CONTACT_POINTS = (process.env.CASSANDRA_CONTACT_POINTS || "127.0.0.1,127.0.0.2,127.0.0.3").split(",");

function newClient(localDataCenter) {
  return new cassandra.Client({
    contactPoints: CONTACT_POINTS,
    localDataCenter,
    socketOptions: { connectTimeout: 5000, readTimeout: 10000 },
    queryOptions: { consistency: cassandra.types.consistencies.quorum, prepare: true },
  });
}

/** A connected driver, learning the lab's data-center name from the driver if the usual one is wrong. */
export async function connectCassandra() {
  let client = newClient(process.env.CASSANDRA_LOCAL_DC || "datacenter1");
  try {
    await client.connect();
  } catch (err) {
    await client.shutdown().catch(() => {});
    const found = /data centers?:?\s*\[?\s*'?([\w.-]+)/i.exec(String(err.message));
    if (!found) throw err;
    client = newClient(found[1]);
    await client.connect();
  }
  return client;
}

/**
 * The address (no port) of every replica of each of `partitionKeys` (text keys) in
 * `keyspace`, from the driver's view of the ring: Map key -> ["127.0.0.3", ...].
 */
export async function replicaAddresses(keyspace, partitionKeys) {
  const client = await connectCassandra();
  try {
    if (!client.metadata.keyspaces[keyspace]) {
      throw new Error(`keyspace ${keyspace} is missing: apply schema.cql (demo lab up does)`);
    }
    return new Map(
      partitionKeys.map((key) => {
        const hosts = client.getReplicas(keyspace, Buffer.from(key, "utf8")) || [];
        return [key, hosts.map((host) => String(host.address).replace(/:\d+$/, ""))];
      }),
    );
  } finally {
    await client.shutdown().catch(() => {});
  }
}
