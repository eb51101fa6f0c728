//! The report's own words, in the two languages a scenario can be written in.
//!
//! One line per word, French then English side by side, so a missing or
//! mistranslated word shows at a glance; the page picks its set once, from the
//! journal's language, and never spells a word anywhere else.

use crate::scenario::ui::Language;

macro_rules! words {
    ($($field:ident: $fr:literal, $en:literal;)+) => {
        /// Every word the report writes itself (the journal's texts are its own).
        pub struct Words {
            $(pub $field: &'static str,)+
        }

        impl Words {
            pub fn fr() -> Self {
                Self { $($field: $fr,)+ }
            }

            pub fn en() -> Self {
                Self { $($field: $en,)+ }
            }
        }
    };
}

words! {
    html_lang: "fr", "en";
    decimal_mark: ",", ".";
    colon: " : ", ": ";
    byte_unit: "o", "B";
    passed: "RÉUSSI", "PASSED";
    failed: "ÉCHEC", "FAILED";
    running: "INCOMPLET : le déroulé ne s'est pas terminé", "INCOMPLETE: the run did not finish";
    nothing_lost: "rien de perdu", "nothing lost";
    acknowledged_stored: "mesures confirmées par Kafka retrouvées dans Cassandra avec leur valeur",
        "readings acknowledged by Kafka found in Cassandra with their value";
    readings_lost: "mesures perdues", "readings lost";
    readings_other_value: "mesures stockées avec une autre valeur", "readings stored with another value";
    failed_at_step: "échec à l'étape", "failed at step";
    report_of: "Rapport du déroulé", "Run report";
    scenario: "Scénario", "Scenario";
    target: "Cible", "Target";
    started: "Début", "Started";
    finished: "Fin", "Finished";
    not_finished: "non terminé", "not finished";
    duration: "Durée", "Duration";
    run_id: "Identifiant", "Run id";
    mode: "Mode de panne imposé", "Fault mode forced";
    pace: "Rythme", "Pace";
    faults: "Pannes", "Faults";
    no_faults: "Aucune panne pendant ce déroulé.", "No fault during this run.";
    fault_columns: "Nœud|Mode|Commande lancée|Effet constaté|Revenu|Durée de la panne",
        "Node|Mode|Command ran|Took effect|Came back|Outage";
    never_seen: "jamais constaté", "never seen";
    not_back: "pas revenu", "not back";
    took: "en", "took";
    over_time: "Au fil du temps", "Over time";
    seconds_since_start: "secondes depuis le début", "seconds since the start";
    api_title: "L'API vue par un client : temps de réponse et fraîcheur des données",
        "The API as a client sees it: answer time and staleness";
    latency: "temps de réponse (ms)", "answer time (ms)";
    staleness: "âge de la plus ancienne dernière mesure (ms)", "age of the oldest newest reading (ms)";
    failed_probe: "requête échouée", "failed request";
    clipped_above: "valeurs au-delà coupées en haut", "values above cut at the top";
    answered_at_one: "répondu en ONE", "answered at ONE";
    ingest_title: "Ingestion : débit et retard dans Kafka", "Ingest: rate and Kafka lag";
    rate: "mesures écrites par seconde", "readings written per second";
    lag: "messages en attente dans Kafka (axe de droite)", "messages waiting in Kafka (right axis)";
    hints_title: "Hints gardés sur disque pour un nœud absent", "Hints kept on disk for an absent node";
    hints_none: "Aucun hint gardé sur disque pendant ce déroulé.", "No hint kept on disk during this run.";
    views_title: "Comment chaque nœud voit les autres", "How each node sees the others";
    up: "vu UP", "seen UP";
    down: "vu DOWN", "seen DOWN";
    no_answer: "pas de réponse ou pas d'échantillon", "no answer or no sample";
    fault_effect: "effet de la panne", "fault took effect";
    no_samples: "Aucun échantillon : ce déroulé n'a rien enregistré pour ce graphique.",
        "No samples: this run recorded nothing for this plot.";
    memory: "Mémoire des services", "Services' memory";
    memory_columns: "Service|Au début (Mio)|À la fin (Mio)|Au plus haut (Mio)|Échantillons",
        "Service|At start (MiB)|At end (MiB)|Highest (MiB)|Samples";
    no_memory: "Aucune mesure de mémoire.", "No memory sample.";
    transitions: "Changements d'état vus", "State changes seen";
    no_transitions: "Aucun changement d'état après le premier échantillon.", "No state change after the first sample.";
    change_columns: "Instant|Observateur|Nœud vu|Changement", "Time|Observer|Peer|Change";
    steps: "Étapes", "Steps";
    step_columns: "#|Type|Étape|Narration|Résultat|Début|Durée|Constat|Erreur",
        "#|Kind|Step|Narration|Outcome|Start|Duration|Summary|Error";
    skipped: "non jouée", "skipped";
    checker: "Vérification : rien de perdu ?", "Check: was anything lost?";
    no_counts: "Aucun décompte : aucune étape de vérification n'est allée au bout.",
        "No counts: no verify step ran to the end.";
    attempted: "Mesures envoyées par le producteur (ses exécutions terminées : {runs})",
        "Readings the producer sent (its runs that ended: {runs})";
    not_acknowledged: "Dont non confirmées par Kafka", "Of those, not acknowledged by Kafka";
    acknowledged: "Mesures confirmées par Kafka", "Readings acknowledged by Kafka";
    stored: "Retrouvées avec leur valeur", "Found with their value";
    lost: "Perdues", "Lost";
    other_value: "Stockées avec une autre valeur", "Stored with another value";
    unexpected: "Stockées mais absentes du registre (confirmation jamais reçue : pas une perte)",
        "Stored but not in the ledger (acknowledgement never received: not a loss)";
    rows_read: "Lignes relues (y compris celles hors du registre)", "Rows read back (including rows the ledger does not list)";
    sensors: "Capteurs", "Sensors";
    read_at: "Lues en cohérence", "Read at consistency";
    first_lost: "Premières mesures perdues", "First readings lost";
    first_other_value: "Premières mesures stockées avec une autre valeur", "First readings stored with another value";
    reading_columns: "Capteur|Horodatage|Valeur|Partition|Offset", "Sensor|Timestamp|Value|Partition|Offset";
    stored_value: "Valeur stockée", "Stored value";
    first_unexpected: "Premières lignes absentes du registre", "First rows not in the ledger";
    row_columns: "Capteur|Horodatage|Valeur", "Sensor|Timestamp|Value";
    captures: "Sorties de nodetool", "nodetool output";
    no_captures: "Aucune sortie de nodetool gardée.", "No nodetool output kept.";
    step: "Étape", "Step";
    warnings: "Avertissements", "Warnings";
    no_warnings: "Aucun avertissement.", "No warning.";
    restorations: "Remise en état", "Restorations";
    no_restorations: "Rien à remettre en état.", "Nothing to restore.";
    restored_columns: "Nœud|Action|Résultat|Erreur", "Node|Action|Outcome|Error";
}

impl Words {
    pub fn of(lang: Language) -> Self {
        match lang {
            Language::Fr => Self::fr(),
            Language::En => Self::en(),
        }
    }

    /// `value` with `decimals` digits and the language's decimal mark.
    pub fn number(&self, value: f64, decimals: usize) -> String {
        format!("{value:.decimals$}").replace('.', self.decimal_mark)
    }

    /// A duration in seconds, "12.3 s" or "12,3 s" (a no-break space: a narrow table
    /// column must not put the unit on a line of its own).
    pub fn seconds(&self, seconds: f64) -> String {
        format!("{}\u{a0}s", self.number(seconds, 1))
    }

    /// A duration given in milliseconds: "29 ms" under a second, "4,3 s" above.
    pub fn millis(&self, millis: u64) -> String {
        match millis {
            0..1000 => format!("{millis}\u{a0}ms"),
            _ => self.seconds(millis as f64 / 1000.0),
        }
    }
}
