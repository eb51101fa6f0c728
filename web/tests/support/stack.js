// Why: the browser tests run against the real pipeline. This starts the project's own
// binaries (ingest, producer, api; on demand a second ingest for the contrast lane) against
// the lab on a Kafka topic (created here, deleted afterwards), consumer groups, sensor
// prefix and ports of their own, waits until real readings come out of the api, and stops
// exactly those processes by pid, whatever happens to the tests.

import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { replicaAddresses } from "./cassandra.js";

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const PROJECT_ROOT = path.resolve(WEB_DIR, "..");
export const RESULTS_DIR = path.join(WEB_DIR, "test-results");
export const BIN_DIR = process.env.DEMO_BIN_DIR || path.join(PROJECT_ROOT, "target", "debug");

const started = new Set();

/** The contrast lane's keyspace (replication factor 1), as in schema.cql. */
export const CONTRAST_KEYSPACE = "iot_demo_rf1";

// Last resort: if the test runner exits without running the after() hooks, take the
// children down with it rather than leave them running.
function killAll(signal) {
  for (const child of started) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}
process.on("exit", () => killAll("SIGKILL"));
// An interrupted run (Ctrl-C, a CI timeout) ends the services too, then exits as killed.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    killAll("SIGTERM");
    process.exit(128 + (signal === "SIGINT" ? 2 : 15));
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Awaits `promise` for at most `ms`; a cleanup step that hangs must not hang the run. */
export async function bounded(promise, ms, what) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => {
      console.error(`${what}: still not done after ${ms} ms, moving on`);
      resolve();
    }, ms);
  });
  try {
    await Promise.race([Promise.resolve(promise).catch((err) => console.error(`${what}: ${err.message}`)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` every `everyMs` until it returns a truthy value, or throws `what` after `timeoutMs`. */
export async function waitFor(what, probe, { timeoutMs, everyMs = 250 }) {
  const deadline = Date.now() + timeoutMs;
  let lastError = null;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ""}`);
    }
    await sleep(everyMs);
  }
}

/** True when something accepts TCP connections on host:port within `timeoutMs`. */
export function tcpAnswers(host, port, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** A port the OS says is free right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Fails fast, with the fix in the message, when the lab or the built binaries are missing. */
export async function assertLabAndBinaries() {
  if (!(await tcpAnswers("127.0.0.1", 9042))) {
    throw new Error("lab not up: run `demo lab up` (cd /work/main && cargo run -q -- lab up); nothing answers on 127.0.0.1:9042");
  }
  if (!(await tcpAnswers("127.0.0.1", 9092))) {
    throw new Error("lab not up: run `demo lab up`; Kafka does not answer on 127.0.0.1:9092");
  }
  for (const name of ["api", "ingest", "producer"]) {
    const binary = path.join(BIN_DIR, name);
    if (!fs.existsSync(binary)) {
      throw new Error(`${binary} is missing: build the workspace first (cargo build --workspace), or set DEMO_BIN_DIR`);
    }
  }
}

/**
 * One of the project's services, started from BIN_DIR (`binary`, by default `name`) with
 * its output in test-results/logs/<name>.log. `stop()` ends it by pid (SIGTERM, then
 * SIGKILL after 5 s).
 */
export class Service {
  constructor(name, args, { binary = name } = {}) {
    this.name = name;
    this.binary = binary;
    this.args = args;
    this.child = null;
    this.logPath = path.join(RESULTS_DIR, "logs", `${name}.log`);
  }

  start() {
    fs.mkdirSync(path.dirname(this.logPath), { recursive: true });
    const log = fs.openSync(this.logPath, "a");
    fs.writeSync(log, `\n==== ${new Date().toISOString()} ${this.name} ${this.args.join(" ")}\n`);
    this.child = spawn(path.join(BIN_DIR, this.binary), this.args, {
      cwd: PROJECT_ROOT,
      stdio: ["ignore", log, log],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "info" },
    });
    fs.closeSync(log);
    const child = this.child;
    started.add(child);
    child.once("exit", () => started.delete(child));
    return this;
  }

  get running() {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const graceful = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!graceful) {
      child.kill("SIGKILL");
      await Promise.race([exited, sleep(2000)]);
    }
  }

  /** The end of its log, to explain a failure. */
  tail(lines = 30) {
    try {
      return fs.readFileSync(this.logPath, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}

/**
 * Runs the lab's `kafka-topics` tool (the broker does not auto-create topics), bounded in time.
 * Resolves to its output; rejects with it on failure.
 */
export function kafkaTopics(args, timeoutMs = 60000) {
  const tool = path.join(PROJECT_ROOT, ".lab", "kafka-home", "bin", "kafka-topics");
  return new Promise((resolve, reject) => {
    if (!fs.existsSync(tool)) {
      reject(new Error(`${tool} is missing: is the lab up (demo lab up)?`));
      return;
    }
    execFile(tool, ["--bootstrap-server", "127.0.0.1:9092", ...args], { timeout: timeoutMs, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kafka-topics ${args.join(" ")} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** GET a JSON endpoint of the api, bounded in time. */
export async function apiGet(baseUrl, pathAndQuery, timeoutMs = 3000) {
  const response = await fetch(`${baseUrl}${pathAndQuery}`, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await response.json().catch(() => null);
  return { status: response.status, body };
}

const SENSOR_COUNT = 3;
/** `<prefix>01`, `<prefix>02`, ...: the ids the producer gives its sensors. */
const sensorIdsFor = (prefix) => Array.from({ length: SENSOR_COUNT }, (_, i) => `${prefix}${String(i + 1).padStart(2, "0")}`);

/**
 * The whole pipeline for one test run: ingest and producer on a topic of their own,
 * the api serving web/ on a free port. Names carry `runId` so reruns never mix.
 *
 * `contrast: {splitOn: "127.0.0.3"}` adds the contrast lane: a second ingest writing the
 * same readings into CONTRAST_KEYSPACE (one copy each) and the api serving it under
 * /rf1/. The sensors are then named so that some of them have their only copy on that
 * address and some elsewhere (`rf1Owners` says which): a test stopping that PC then
 * sees both what stops and what goes on.
 */
export class Stack {
  constructor({ contrast = null } = {}) {
    this.runId = `webt${Date.now().toString(36)}`;
    this.topic = `${this.runId}-readings`;
    this.contrast = contrast;
    this.setSensorPrefix(`${this.runId}_`);
    this.services = [];
    this.extraApis = [];
  }

  setSensorPrefix(prefix) {
    this.sensorPrefix = prefix;
    this.sensorIds = sensorIdsFor(prefix);
  }

  /**
   * Picks the first of a few prefixes whose sensors fall on both sides of `address` in the
   * contrast keyspace (with 3 sensors, 2 prefixes in 3 do), from the driver's view of the ring.
   */
  async chooseSensorsAcross(address) {
    const prefixes = Array.from({ length: 30 }, (_, n) => (n === 0 ? `${this.runId}_` : `${this.runId}${n.toString(36)}_`));
    const owners = await replicaAddresses(CONTRAST_KEYSPACE, prefixes.flatMap(sensorIdsFor));
    for (const prefix of prefixes) {
      const ids = sensorIdsFor(prefix);
      const onAddress = ids.filter((id) => owners.get(id).includes(address));
      if (onAddress.length > 0 && onAddress.length < ids.length) {
        this.setSensorPrefix(prefix);
        this.rf1Owners = new Map(ids.map((id) => [id, owners.get(id).join(",")]));
        return;
      }
    }
    throw new Error(`no sensor prefix tried puts some sensors' only copy on ${address} and some elsewhere: is ${CONTRAST_KEYSPACE} replicated once?`);
  }

  async start() {
    await assertLabAndBinaries();
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    if (this.contrast) await this.chooseSensorsAcross(this.contrast.splitOn);
    this.apiPort = await freePort();
    this.metricsPort = await freePort();
    this.baseUrl = `http://127.0.0.1:${this.apiPort}`;
    this.ingest = new Service("ingest", [
      "--topic", this.topic,
      "--group-id", `${this.runId}-ingest`,
      "--metrics-listen", `127.0.0.1:${this.metricsPort}`,
    ]);
    // The contrast lane's ingest: the same readings, one copy each, and a reading its PC
    // cannot take given up after 1 s (counted, committed past) rather than retried for ever.
    this.contrastIngest = this.contrast
      ? new Service("ingest-rf1", [
        "--topic", this.topic,
        "--group-id", `${this.runId}-ingest-rf1`,
        "--keyspace", CONTRAST_KEYSPACE,
        "--write-consistency", "ONE",
        "--give-up-after-ms", "1000",
        // The main ingest dead-letters the same messages already.
        "--no-dead-letters",
        "--metrics-listen", `127.0.0.1:${await freePort()}`,
      ], { binary: "ingest" })
      : null;
    this.producer = new Service("producer", [
      "--topic", this.topic,
      "--sensor-prefix", this.sensorPrefix,
      "--sensors", String(this.sensorIds.length),
      "--rate", "2",
      // Bounded even if every hook below were skipped.
      "--duration", "1800",
    ]);
    this.api = new Service("api", [
      "--listen", `127.0.0.1:${this.apiPort}`,
      "--web-dir", WEB_DIR,
      ...(this.contrast ? ["--contrast-keyspace", CONTRAST_KEYSPACE] : []),
    ]);
    this.services = [this.ingest, this.contrastIngest, this.producer, this.api].filter(Boolean);
    await kafkaTopics(["--create", "--if-not-exists", "--topic", this.topic, "--partitions", "3", "--replication-factor", "1"]);
    this.topicCreated = true;
    for (const service of this.services) service.start();
    await this.waitForApi(30000);
    await waitFor(
      `readings of ${this.sensorIds.join(", ")} through the api (ingest log: ${this.ingest.logPath})`,
      async () => {
        const { body } = await apiGet(this.baseUrl, "/sensors");
        const ids = Array.isArray(body) ? body.map((s) => s.sensor_id) : [];
        return this.sensorIds.every((id) => ids.includes(id));
      },
      { timeoutMs: 60000, everyMs: 500 },
    );
    if (this.contrast) {
      await waitFor(
        `readings of ${this.sensorIds.join(", ")} through the api's /rf1/ (ingest log: ${this.contrastIngest.logPath})`,
        async () => {
          const { body } = await apiGet(this.baseUrl, "/rf1/sensors");
          const ids = Array.isArray(body) ? body.map((s) => s.sensor_id) : [];
          return this.sensorIds.every((id) => ids.includes(id));
        },
        { timeoutMs: 60000, everyMs: 500 },
      );
    }
    return this;
  }

  /**
   * Another api over the same data, without the contrast lane, on a free port: the page as
   * it is when the lane is off. Stopped with the stack. Resolves to its base URL.
   */
  async startApiWithoutContrast() {
    const port = await freePort();
    const api = new Service("api-without-contrast", ["--listen", `127.0.0.1:${port}`, "--web-dir", WEB_DIR], { binary: "api" });
    this.extraApis.push(api);
    api.start();
    const baseUrl = `http://127.0.0.1:${port}`;
    await this.waitForApi(30000, api, baseUrl);
    return baseUrl;
  }

  /** Waits until `api` (the stack's, by default) answers /health on `baseUrl`. */
  async waitForApi(timeoutMs, api = this.api, baseUrl = this.baseUrl) {
    await waitFor(
      `the api on ${baseUrl} (log: ${api.logPath})`,
      async () => {
        if (!api.running) throw new Error(`api exited:\n${api.tail()}`);
        const { status } = await apiGet(baseUrl, "/health");
        return status === 200;
      },
      { timeoutMs, everyMs: 300 },
    );
  }

  async stop() {
    // The apis first (nothing reads any more), then the producer, then the ingests.
    for (const service of [...this.extraApis, this.api, this.producer, this.ingest, this.contrastIngest]) {
      if (service) await service.stop();
    }
    if (this.topicCreated) {
      this.topicCreated = false;
      await kafkaTopics(["--delete", "--topic", this.topic]).catch((err) => console.error(err.message));
    }
  }
}
