// Why: the audience may be French- or English-speaking; every visible word of the
// dashboard comes from here so that switching language is one lookup, and the
// choice (browser language, overridden by ?lang=fr|en) is a pure function tests can call.
// Scenario events arrive as facts (kind, node, figures: see contract::events in the
// Rust workspace); `eventLabel` words them here, in the page's language. The author's own
// words (label, narration) are shown only to a page in the language they were written in
// (`figures.lang`): an audience reads one language, whatever the scenario file's.

const MESSAGES = {
  en: {
    title: "Cassandra IoT demo — live",
    subtitle: "Sensors → Kafka → Cassandra (3 PCs, every reading stored 3 times) → this page",
    sensor: "Sensor",
    allSensors: "All sensors",
    window: "Window",
    minutes: (n) => `${n} min`,
    chartTitle: "Sensor readings",
    language: "Language",
    valueAxis: "Value",
    latestValues: "Latest values",
    updatedAgo: (s) => `updated ${s} s ago`,
    updatedNever: "no reading yet",
    cluster: "Cassandra cluster",
    clusterHint: "Where each new reading goes, then one card per PC.",
    up: "UP",
    down: "DOWN",
    unknown: "?",
    responds: (ms) => `answers in ${ms} ms`,
    noAnswer: "does not answer",
    notKnown: "state unknown (API unreachable)",
    clusterStale: (s) => `cluster state is ${s} s old`,
    holds: (n) => `holds ${n} readings of the last 10 min`,
    keepsFiles: (files, node, since) =>
      `keeps ${files} hint file${files === 1 ? "" : "s"} for ${node} (since ${since}), replayed when it answers`,
    keepsAside: (node) => `${node} not heard: the writes it misses are kept aside as hints`,
    sees: "sees:",
    // The replication picture (js/replication-picture.js): its captions are keyed by replicationPlan().
    picture: {
      source: "Kafka → ingest",
      latestReading: "latest reading",
      aReading: "1 reading",
      copy: (n) => `copy ${n}`,
      noCopy: "no copy",
      hintFor: (node) => `for ${node}`,
      written: (copies) => `1 reading → ${copies} copies, one per PC`,
      writtenWithHints: (copies, keptBy, missing) =>
        `${copies} copies + ${missing.length === 1 ? "a hint" : `${missing.length} hints`} kept by ${keptBy} for ${missing.join(", ")}`,
      waiting: (live, needed) => `${needed} PCs needed, ${live || "none"} up: the reading waits in Kafka`,
      unknown: () => "No answer from the API: nothing is claimed",
    },
    // The counter-example (the contrast lane): states keyed by contrastSensorState() in js/series.js.
    contrastTitle: "Without replication (a single copy)",
    contrastHint: "The same readings, stored once: each sensor's readings are on one PC only.",
    contrastStates: {
      live: "live",
      stopped: "stopped: its only copy is on a PC that is down",
      waiting: "no reading yet",
    },
    events: "Scenario events",
    noEvents: "No scenario event yet.",
    bannerIdle: "No scenario step has been announced yet.",
    bannerStep: (step) => `Step: ${step}`,
    apiOk: "Live",
    apiSlow: (ms) => `API slow (${ms} ms)`,
    apiDown: "API unreachable",
    apiDegraded: "Database unreachable",
    apiDownLong: (s) =>
      `The API cannot be reached (for ${s} s). The figures below are frozen at the last data received; the page retries by itself every second.`,
    apiSlowLong: (ms) => `The API answers slowly (${ms} ms). Figures may lag behind.`,
    dbDegraded: "The API answers but cannot read Cassandra: no figure can be refreshed until a quorum of PCs answers it.",
    readOne: "A node is missing: the API reads with consistency ONE.",
    chartMissing:
      "Chart.js could not be loaded (run `npm --prefix web ci` on the PC that serves this page). Everything else still works.",
    noData: "Waiting for readings…",
    status: { ok: "ok", done: "done", failed: "failed", running: "running" },
    steps: {
      "check-cluster": () => "Cluster checked",
      "start-services": () => "Services started",
      "expect-data": () => "Data received",
      "kill-node": (node, f) =>
        `${node} ${{ kill: "crashed", freeze: "frozen", isolate: "isolated (network cable pulled)", manual: "switched off" }[f.mode] || "stopped"}`,
      "wait-node-state": (node, f) => `${node} seen ${{ up: "UP", down: "DOWN" }[f.state] || "?"}`,
      capture: (node) => (node === "?" ? "nodetool status" : `nodetool status (${node})`),
      "expect-continuity": () => "Continuity",
      "start-node": (node) => `${node} restarted`,
      "expect-catch-up": (node) => `${node} caught up`,
      verify: () => "Nothing lost",
      pause: () => "Pause",
      "kill-service": (_node, f) => `${f.service || "?"} killed`,
      "restart-service": (_node, f) => `${f.service || "?"} restarted`,
      "restart-kafka": () => "Kafka restarted",
      verdict: (_node, { verdict: v = {} }, status) =>
        status === "failed"
          ? `FAILED at step ${v.failed_step ?? "?"} of ${v.steps ?? "?"}`
          : `PASSED: all ${v.steps ?? "?"} steps` +
            (Number.isFinite(v.readings) ? `, ${v.lost ?? 0} of ${v.readings} readings lost` : ""),
    },
  },
  fr: {
    title: "Démo IoT Cassandra — en direct",
    subtitle: "Capteurs → Kafka → Cassandra (3 PC, chaque mesure stockée 3 fois) → cette page",
    sensor: "Capteur",
    allSensors: "Tous les capteurs",
    window: "Fenêtre",
    minutes: (n) => `${n} min`,
    chartTitle: "Mesures des capteurs",
    language: "Langue",
    valueAxis: "Valeur",
    latestValues: "Dernières valeurs",
    updatedAgo: (s) => `mis à jour il y a ${s} s`,
    updatedNever: "aucune mesure",
    cluster: "Cluster Cassandra",
    clusterHint: "Où va chaque nouvelle mesure, puis une carte par PC.",
    up: "EN LIGNE",
    down: "ARRÊTÉ",
    unknown: "?",
    responds: (ms) => `répond en ${ms} ms`,
    noAnswer: "ne répond pas",
    notKnown: "état inconnu (API injoignable)",
    clusterStale: (s) => `état du cluster vieux de ${s} s`,
    holds: (n) => `détient ${n} mesures des 10 dernières minutes`,
    keepsFiles: (files, node, since) =>
      `garde ${files} fichier${files === 1 ? "" : "s"} d'indices pour ${node} (depuis ${since}), rejoués dès qu'il répond`,
    keepsAside: (node) => `${node} ne répond plus : les écritures qu'il manque sont mises de côté (indices)`,
    sees: "voit :",
    picture: {
      source: "Kafka → ingestion",
      latestReading: "dernière mesure",
      aReading: "1 mesure",
      copy: (n) => `copie ${n}`,
      noCopy: "pas de copie",
      hintFor: (node) => `pour ${node}`,
      written: (copies) => `1 mesure → ${copies} copies, une par PC`,
      writtenWithHints: (copies, keptBy, missing) =>
        `${copies} copies + ${missing.length === 1 ? "un indice gardé" : `${missing.length} indices gardés`} par ${keptBy} pour ${missing.join(", ")}`,
      waiting: (live, needed) =>
        `Il faut ${needed} PC, ${live === 0 ? "aucun ne répond" : live === 1 ? "1 répond" : `${live} répondent`} : la mesure attend dans Kafka`,
      unknown: () => "Pas de réponse de l'API : rien n'est affirmé",
    },
    contrastTitle: "Sans réplication (1 seule copie)",
    contrastHint: "Les mêmes mesures, stockées une seule fois : celles d'un capteur ne sont que sur un PC.",
    contrastStates: {
      live: "en direct",
      stopped: "arrêté : sa seule copie est sur un PC éteint",
      waiting: "aucune mesure pour l'instant",
    },
    events: "Événements du scénario",
    noEvents: "Aucun événement pour l'instant.",
    bannerIdle: "Aucune étape de scénario annoncée pour l'instant.",
    bannerStep: (step) => `Étape : ${step}`,
    apiOk: "En direct",
    apiSlow: (ms) => `API lente (${ms} ms)`,
    apiDown: "API injoignable",
    apiDegraded: "Base injoignable",
    apiDownLong: (s) =>
      `L'API ne répond plus (depuis ${s} s). Les chiffres ci-dessous sont figés aux dernières données reçues ; la page réessaie toute seule chaque seconde.`,
    apiSlowLong: (ms) => `L'API répond lentement (${ms} ms). Les chiffres peuvent avoir du retard.`,
    dbDegraded: "L'API répond mais ne peut plus lire Cassandra : les chiffres ne seront mis à jour que lorsque assez de PC lui répondront.",
    readOne: "Un nœud manque : l'API lit avec la cohérence ONE.",
    chartMissing:
      "Chart.js n'a pas pu être chargé (lancer `npm --prefix web ci` sur le PC qui sert cette page). Le reste fonctionne.",
    noData: "En attente de mesures…",
    status: { ok: "ok", done: "terminé", failed: "échec", running: "en cours" },
    steps: {
      "check-cluster": () => "Cluster vérifié",
      "start-services": () => "Services démarrés",
      "expect-data": () => "Données reçues",
      "kill-node": (node, f) =>
        `${node} ${{ kill: "planté", freeze: "gelé", isolate: "isolé (câble réseau débranché)", manual: "éteint" }[f.mode] || "arrêté"}`,
      // In the cards' words (EN LIGNE / ARRÊTÉ), not the conductor's UP / DOWN.
      "wait-node-state": (node, f) => `${node} vu ${{ up: "EN LIGNE", down: "ARRÊTÉ" }[f.state] || "?"}`,
      capture: (node) => (node === "?" ? "nodetool status" : `nodetool status (${node})`),
      "expect-continuity": () => "Continuité",
      "start-node": (node) => `${node} redémarré`,
      "expect-catch-up": (node) => `${node} a rattrapé`,
      verify: () => "Rien n'est perdu",
      pause: () => "Pause",
      "kill-service": (_node, f) => `${f.service || "?"} tué`,
      "restart-service": (_node, f) => `${f.service || "?"} redémarré`,
      "restart-kafka": () => "Kafka redémarré",
      verdict: (_node, { verdict: v = {} }, status) =>
        status === "failed"
          ? `ÉCHEC à l'étape ${v.failed_step ?? "?"} sur ${v.steps ?? "?"}`
          : `RÉUSSI : les ${v.steps ?? "?"} étapes` +
            (Number.isFinite(v.readings) ? `, ${v.lost ?? 0} mesure(s) perdue(s) sur ${v.readings}` : ""),
    },
  },
};

export const SUPPORTED_LANGUAGES = Object.keys(MESSAGES);

/**
 * The language to show: `?lang=` when it names a supported language, else the first
 * browser language we support, else English.
 * @param {string} search location.search, e.g. "?lang=fr"
 * @param {readonly string[]} browserLanguages navigator.languages
 */
export function pickLanguage(search, browserLanguages) {
  const requested = new URLSearchParams(search).get("lang");
  if (requested && MESSAGES[requested.toLowerCase()]) return requested.toLowerCase();
  for (const tag of browserLanguages || []) {
    const primary = String(tag).toLowerCase().split("-")[0];
    if (MESSAGES[primary]) return primary;
  }
  return "en";
}

/** The message table of a language (English for anything unknown). */
export function messagesFor(lang) {
  return MESSAGES[lang] || MESSAGES.en;
}

/** Whether the author's words of `event` (label, narration) are in `lang`; unknown (an old row) is not. */
function writtenIn(lang, event) {
  return event?.figures?.lang === lang;
}

/**
 * The words for a scenario event on a page in `lang`: the scenario author's own label
 * when the file gave one in that language, else the step worded from its kind, node and
 * figures ("PC2 stopped"; the run's verdict, kind "verdict", from its status too), else
 * the kind's name (a kind this page does not know yet).
 * @param {string} lang the page's language
 * @param {{kind?: string, node?: string|null, figures?: object, label?: string|null, status?: string}} event
 */
export function eventLabel(lang, event) {
  if (event?.label && writtenIn(lang, event)) return String(event.label);
  const steps = messagesFor(lang).steps;
  const word = Object.hasOwn(steps, event?.kind || "") ? steps[event.kind] : null;
  if (word) return word(event.node || "?", event.figures || {}, event.status);
  return String(event?.kind || "");
}

/** What the banner says of `event` on a page in `lang`: its narration when written in `lang`, else its label. */
export function eventNarration(lang, event) {
  if (event?.narration && writtenIn(lang, event)) return String(event.narration);
  return eventLabel(lang, event);
}
