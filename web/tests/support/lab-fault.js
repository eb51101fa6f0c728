// Why: stopping a Cassandra node of the shared lab must never overlap another helper's
// fault, and the node must always come back. The lock is held by a child `flock` whose
// shell waits on its stdin: closing that pipe (or this process dying) releases it.

import { spawn, execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "./stack.js";

export const FAULT_LOCK = "/tmp/lab-faults.lock";
const LAB_DIR = path.join(PROJECT_ROOT, ".lab");

/** Takes the lab's fault lock, waiting up to `timeoutSecs`. Resolves to a release function. */
export function takeFaultLock(timeoutSecs = 600) {
  const asked = Date.now();
  const notice = setTimeout(() => console.log(`waiting for ${FAULT_LOCK} (another fault test or scenario holds it)`), 2000);
  return new Promise((resolve, reject) => {
    const holder = spawn("flock", ["-w", String(timeoutSecs), FAULT_LOCK, "-c", "echo LOCKED; read _"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    let output = "";
    const onData = (chunk) => {
      output += chunk;
      if (output.includes("LOCKED")) {
        holder.stdout.off("data", onData);
        clearTimeout(notice);
        if (Date.now() - asked > 2000) console.log(`got ${FAULT_LOCK} after ${Math.round((Date.now() - asked) / 1000)} s`);
        resolve(async () => {
          const exited = new Promise((done) => holder.once("exit", done));
          holder.stdin.end();
          await Promise.race([exited, new Promise((done) => setTimeout(done, 5000))]);
          if (holder.exitCode === null) holder.kill("SIGKILL");
        });
      }
    };
    holder.stdout.on("data", onData);
    holder.once("exit", (code) => {
      clearTimeout(notice);
      if (!output.includes("LOCKED")) reject(new Error(`could not take ${FAULT_LOCK} (flock exited ${code})`));
    });
    holder.once("error", reject);
  });
}

/** Runs `.lab/node<n>/bin/<verb>` (stop, start, ...) with a time limit. */
export function labNodeCommand(node, verb, timeoutMs = 180000) {
  const script = path.join(LAB_DIR, `node${node}`, "bin", verb);
  if (!fs.existsSync(script)) return Promise.reject(new Error(`${script} is missing: is the lab up?`));
  return new Promise((resolve, reject) => {
    execFile(script, [], { timeout: timeoutMs, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
