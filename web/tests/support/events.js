// Why: the conductor writes scenario events into iot_demo.scenario_events_v2; to test the
// dashboard without it, the tests write (and afterwards delete) their own rows in that
// same table, with prepared statements, through the DataStax Node.js driver.

import cassandra from "cassandra-driver";
import { connectCassandra } from "./cassandra.js";

const KEYSPACE = process.env.CASSANDRA_KEYSPACE || "iot_demo";

const TABLE = `${KEYSPACE}.scenario_events_v2`;
const INSERT = `INSERT INTO ${TABLE} (day, at, id, run_id, step, kind, node, figures, label, status, narration)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const DELETE = `DELETE FROM ${TABLE} WHERE day = ? AND at = ? AND id = ?`;

/** Connects to the lab's Cassandra, ready to write events. */
export async function connectEvents() {
  return new EventWriter(await connectCassandra());
}

export class EventWriter {
  constructor(client) {
    this.client = client;
    this.written = [];
  }

  /**
   * Writes one event at `at` (default now), as the conductor does: `step` a number (0 for
   * the run's verdict), `figures` an object stored as JSON (its `lang` the language of
   * `label` and `narration`), `label` only when a scenario author gave one.
   */
  async write({ runId, step, kind, node = null, figures = {}, label = null, status = "ok", narration, at = new Date() }) {
    const day = at.toISOString().slice(0, 10);
    const id = cassandra.types.TimeUuid.fromDate(at);
    const row = [day, at, id, runId, step, kind, node, JSON.stringify(figures), label, status, narration];
    await this.client.execute(INSERT, row, { prepare: true });
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
