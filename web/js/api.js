// Why: every request of the page goes through one small client so that a slow or absent
// API is noticed in one place (timeouts, latency, failures) and the page can say so
// honestly instead of freezing or going blank.

/** A request slower than this marks the API as "slow". */
export const SLOW_MS = 1500;
/** A request is abandoned after this, and counts as a failure. */
export const TIMEOUT_MS = 4000;

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** A 5xx answer (the API up, Cassandra not answering it) colours the status this long. */
export const SERVER_ERROR_MEMORY_MS = 3000;

/**
 * Tracks whether the API answers: the outcome of the last request, how long it took,
 * since when it has been failing, when it last said it could not read Cassandra. The
 * page reads `state()` to draw its status.
 */
export class Connectivity {
  constructor() {
    this.lastSuccessAt = null;
    this.failingSince = null;
    this.lastLatencyMs = null;
    this.lastServerErrorAt = null;
    this.readConsistency = null;
  }

  /** The API answered, with HTTP `status`, after `latencyMs`. */
  recordAnswer(latencyMs, nowMs, status, readConsistency) {
    this.lastSuccessAt = nowMs;
    this.failingSince = null;
    this.lastLatencyMs = latencyMs;
    if (status >= 500) this.lastServerErrorAt = nowMs;
    if (readConsistency !== undefined) this.readConsistency = readConsistency;
  }

  /** The API could not be reached (network error or timeout). */
  recordFailure(nowMs) {
    if (this.failingSince === null) this.failingSince = nowMs;
  }

  /** "connecting" before the first answer, then "down", "degraded" (5xx), "slow" or "ok". */
  state(nowMs = Date.now()) {
    if (this.failingSince !== null) return "down";
    if (this.lastSuccessAt === null) return "connecting";
    if (this.lastServerErrorAt !== null && nowMs - this.lastServerErrorAt < SERVER_ERROR_MEMORY_MS) return "degraded";
    if (this.lastLatencyMs !== null && this.lastLatencyMs > SLOW_MS) return "slow";
    return "ok";
  }
}

/**
 * GETs `path` and parses its JSON, giving up after TIMEOUT_MS. Answers of any HTTP status
 * count as "the API is reachable"; only network errors and timeouts count as unreachable.
 * Resolves to {status, data, latencyMs}; throws ApiError for a non-2xx answer.
 */
export async function getJson(path, connectivity) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const started = performance.now();
  let response;
  try {
    response = await fetch(path, { signal: controller.signal, cache: "no-store" });
  } catch (err) {
    connectivity.recordFailure(Date.now());
    throw new ApiError(controller.signal.aborted ? "timeout" : `network: ${err.message}`, 0);
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  const latencyMs = Math.round(performance.now() - started);
  const consistency = response.headers.get("X-Read-Consistency");
  connectivity.recordAnswer(latencyMs, Date.now(), response.status, path.startsWith("/sensors") ? consistency : undefined);
  if (!response.ok) {
    const reason = data && typeof data.error === "string" ? data.error : `HTTP ${response.status}`;
    throw new ApiError(reason, response.status);
  }
  return { status: response.status, data, latencyMs };
}
