// Why: "one language for the audience" is checked word by word. The words a language can
// put on the page are those of its message table (js/i18n.js): its strings, and its
// functions called with sample arguments covering each of their branches. The unit tests
// compare the two tables' words; the browser tests look for one language's words on a
// page in the other.

import { messagesFor } from "../../js/i18n.js";

/** Arguments for each message function, by its path in the table: one call per branch of its wording. */
const SAMPLE_CALLS = {
  minutes: [[1], [15]],
  updatedAgo: [[3]],
  responds: [[12]],
  clusterStale: [[8]],
  holds: [["5400"]],
  keepsFiles: [[1, "PC3", "14:03:07"], [2, "PC3", "14:03:07"]],
  keepsAside: [["PC3"]],
  "picture.copy": [[2]],
  "picture.hintFor": [["PC3"]],
  "picture.written": [[3]],
  "picture.writtenWithHints": [[2, "PC1", ["PC3"]], [1, "PC1", ["PC2", "PC3"]]],
  "picture.waiting": [[0, 2], [1, 2], [2, 3]],
  "picture.unknown": [[]],
  bannerStep: [[4]],
  apiSlow: [[1800]],
  apiDownLong: [[12]],
  apiSlowLong: [[1800]],
  "steps.kill-node": [undefined, "stop", "kill", "freeze", "isolate", "manual"].map((mode) => ["PC2", { mode }, "ok"]),
  "steps.wait-node-state": [["PC2", { state: "up" }, "ok"], ["PC2", { state: "down" }, "ok"], ["PC2", {}, "ok"]],
  "steps.capture": [["?", {}, "ok"], ["PC1", {}, "ok"]],
  "steps.kill-service": [["?", { service: "ingest" }, "ok"], ["?", {}, "ok"]],
  "steps.restart-service": [["?", { service: "ingest" }, "ok"], ["?", {}, "ok"]],
  "steps.verdict": [
    ["?", { verdict: { steps: 12, readings: 1234, lost: 0 } }, "ok"],
    ["?", { verdict: { steps: 3 } }, "ok"],
    ["?", { verdict: { steps: 12, failed_step: 7 } }, "failed"],
  ],
};
/** A step's words that depend on its node only. */
const STEP_CALL = [["PC2", {}, "ok"]];

/**
 * Every text the message table of `lang` can show. A function with no sample arguments
 * (a message added since) fails loudly rather than go unchecked.
 */
export function messageTexts(lang) {
  const texts = [];
  const walk = (table, prefix) => {
    for (const [key, value] of Object.entries(table)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (typeof value === "string") texts.push(value);
      else if (typeof value === "function") {
        const calls = SAMPLE_CALLS[path] || (prefix === "steps" ? STEP_CALL : null);
        if (!calls) throw new Error(`no sample arguments for the message ${path} (tests/support/vocabulary.js)`);
        for (const args of calls) texts.push(value(...args));
      } else walk(value, path);
    }
  };
  walk(messagesFor(lang), "");
  return texts;
}

/** The words of `text`, lower-cased: runs of letters (so "l'API" is "l" and "api", "Chart.js" is "chart" and "js"). */
export function wordsOf(text) {
  return new Set(String(text).toLowerCase().match(/\p{L}+/gu) || []);
}

/** Every word the page can show in `lang`. */
export function vocabulary(lang) {
  return new Set(messageTexts(lang).flatMap((text) => [...wordsOf(text)]));
}

/**
 * Words of both languages that only one table happens to use ("on": "on a PC that is
 * down", "on éteint le PC2"; "plus", "minutes", "base"): an author may write them in
 * either language, so finding one tells nothing.
 */
const WORDS_OF_BOTH_LANGUAGES = new Set([
  "as", "but", "figure", "figures", "file", "files", "on", "quorum",
  "attend", "base", "direct", "indices", "ingestion", "instant", "lit", "minutes", "pas", "par", "plus", "pour",
]);

/**
 * The words that, on a page in `lang`, can only have come from the other language: the
 * other table's words and those of `otherLanguageTexts` (an author's, in that language),
 * less the words of `lang`'s own table and the words of both languages.
 */
export function foreignWords(lang, otherLanguageTexts = []) {
  const own = vocabulary(lang);
  const other = lang === "en" ? "fr" : "en";
  const candidates = [...vocabulary(other), ...otherLanguageTexts.flatMap((text) => [...wordsOf(text)])];
  return new Set(candidates.filter((word) => !own.has(word) && !WORDS_OF_BOTH_LANGUAGES.has(word)));
}

/** Letters and marks of French that English text never holds. */
export const FRENCH_MARKS = /[àâäçéèêëîïôöùûüÿœæ«»]/iu;
