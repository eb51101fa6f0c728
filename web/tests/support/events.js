// Why: the conductor writes scenario events into iot_demo.scenario_events; to test the
// dashboard without it, the tests write (and afterwards delete) their own rows in that
// same table, with prepared statements, through the DataStax Node.js driver.

import cassandra from "cassandra-driver";

const CONTACT_POINTS = (process.env.CASSANDRA_CONTACT_POINTS || "127.0.0.1,127.0.0.2,127.0.0.3").split(",");
const KEYSPACE = process.env.CASSANDRA_KEYSPACE || "iot_demo";

const INSERT = `INSERT INTO ${KEYSPACE}.scenario_events (day, at, id, run_id, step, kind, label, status, narration)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const DELETE = `DELETE FROM ${KEYSPACE}.scenario_events WHERE day = ? AND at = ? AND id = ?`;

function newClient(localDataCenter) {
  return new cassandra.Client({
    contactPoints: CONTACT_POINTS,
    localDataCenter,
    socketOptions: { connectTimeout: 5000, readTimeout: 10000 },
    queryOptions: { consistency: cassandra.types.consistencies.quorum, prepare: true },
  });
}

/** Connects, learning the lab's data-center name from the driver if the usual one is wrong. */
export async function connectEvents() {
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
  return new EventWriter(client);
}

export class EventWriter {
  constructor(client) {
    this.client = client;
    this.written = [];
  }

  /** Writes one event at `at` (default now); returns the row as the api will report it. */
  async write({ runId, step, kind, label, status = "ok", narration, at = new Date() }) {
    const day = at.toISOString().slice(0, 10);
    const id = cassandra.types.TimeUuid.fromDate(at);
    await this.client.execute(INSERT, [day, at, id, runId, step, kind, label, status, narration]);
    this.written.push({ day, at, id });
    return { at, label };
  }

  /** Deletes every event this writer wrote, so the lab's event list stays the conductor's. */
  async removeAll() {
    for (const { day, at, id } of this.written.splice(0)) {
      await this.client.execute(DELETE, [day, at, id]).catch(() => {});
    }
  }

  async close() {
    await this.client.shutdown().catch(() => {});
  }
}
