//! The conductor's own words during a run, in the scenario's language.
//!
//! A French day-J speaks French from its first line to its verdict: every
//! result line, progress title and prompt a run prints is worded here, French
//! then English side by side, so a missing translation shows at a glance. The
//! technical detail a failure carries (a driver's error, a breach list) stays
//! as the layer below wrote it. The three lines scripts read after the verdict
//! start with `journal: `, `report: ` and `dashboard: ` in every language (what
//! follows the dashboard's address is worded here).

use std::time::Duration;

use super::ui::{Language, format_duration};

/// Words in one language.
#[derive(Debug, Clone, Copy)]
pub struct Say(pub Language);

impl Say {
    fn pick(self, fr: String, en: String) -> String {
        match self.0 {
            Language::Fr => fr,
            Language::En => en,
        }
    }

    fn pick_str(self, fr: &'static str, en: &'static str) -> &'static str {
        match self.0 {
            Language::Fr => fr,
            Language::En => en,
        }
    }

    // ------------------------------------------------------------ prompts

    /// The presenter's prompt before each step.
    pub fn enter_to_continue(self) -> &'static str {
        self.pick_str("Entrée pour continuer", "Enter to continue")
    }

    /// After the verdict, while the dashboard still shows the run.
    pub fn enter_to_end(self) -> &'static str {
        self.pick_str(
            "Entrée (ou Ctrl-C) pour finir : les services de ce déroulé s'arrêtent alors",
            "Enter (or Ctrl-C) to end: the services this run started stop then",
        )
    }

    // ------------------------------------------------------------ the run

    pub fn run_heading(self, total: usize, dashboard: &str, journal: &str) -> String {
        self.pick(
            format!("{total} étapes · tableau de bord {dashboard} · journal {journal}"),
            format!("{total} steps · dashboard {dashboard} · journal {journal}"),
        )
    }

    pub fn passed(self, total: usize, title: &str, took: Duration) -> String {
        let took = format_duration(took);
        self.pick(
            format!("RÉUSSI : les {total} étapes de « {title} » en {took}"),
            format!("PASSED: all {total} steps of « {title} » in {took}"),
        )
    }

    pub fn failed(self, number: usize, total: usize, kind: &str, message: &str) -> String {
        self.pick(
            format!("ÉCHEC à l'étape {number}/{total} ({kind}) : {message}"),
            format!("FAILED at step {number}/{total} ({kind}): {message}"),
        )
    }

    pub fn interrupted(self) -> String {
        self.pick("interrompu (Ctrl-C)".into(), "interrupted (Ctrl-C)".into())
    }

    pub fn out_of_time(self, bound: Duration) -> String {
        let bound = format_duration(bound);
        self.pick(
            format!("la durée maximale du scénario ({bound}) est écoulée avant cette étape"),
            format!("the scenario's max_duration ({bound}) ran out before this step"),
        )
    }

    pub fn not_run(self) -> String {
        self.pick(
            "non jouée : une étape précédente a échoué".into(),
            "not run: an earlier step failed".into(),
        )
    }

    pub fn kept_as_found(self) -> String {
        self.pick(
            "--keep : le cluster et les services restent tels que l'échec les a laissés".into(),
            "--keep: the cluster and the services are left as the failure found them".into(),
        )
    }

    pub fn switch_back_on_by_hand(self, node: &str) -> String {
        self.pick(
            format!("{node} a été éteint à la main : rallumez-le"),
            format!("{node} was switched off by hand: switch it back on"),
        )
    }

    pub fn restoring(self, node: &str) -> String {
        self.pick(
            format!("{node} est remis en service..."),
            format!("restoring {node}..."),
        )
    }

    pub fn bringing_back(self, node: &str) -> String {
        self.pick(format!("retour de {node}"), format!("bringing {node} back"))
    }

    pub fn restored(self, node: &str) -> String {
        self.pick(
            format!("{node} est revenu (UN)"),
            format!("{node} is back (UN)"),
        )
    }

    pub fn not_restored(self, node: &str, why: &str) -> String {
        self.pick(
            format!("{node} n'est pas revenu : {why}"),
            format!("{node} not restored: {why}"),
        )
    }

    pub fn services_stopped(self, names: &str) -> String {
        self.pick(
            format!("services lancés par ce déroulé arrêtés : {names}"),
            format!("stopped the services this run started: {names}"),
        )
    }

    pub fn dashboard_kept(self) -> &'static str {
        self.pick_str(
            "toujours en ligne : il affiche le verdict",
            "still live: it shows the verdict",
        )
    }

    pub fn dashboard_closing(self) -> &'static str {
        self.pick_str("fermé : le déroulé est fini", "closing: the run is over")
    }

    pub fn dashboard_not_ours(self) -> &'static str {
        self.pick_str(
            "ses services tournaient avant ce déroulé et continuent",
            "its services ran before this run and keep running",
        )
    }

    // ------------------------------------------------------------ steps

    pub fn checking_cluster(self) -> &'static str {
        self.pick_str(
            "vérification du cluster depuis chaque PC",
            "checking the cluster from every PC",
        )
    }

    pub fn cluster_whole(self, nodes: usize, took: Duration) -> String {
        let took = format_duration(took);
        self.pick(
            format!(
                "cluster complet : {nodes} nœuds UN vus depuis chaque nœud (vérifié en {took})"
            ),
            format!("cluster whole: {nodes} nodes UN as seen from every node (checked in {took})"),
        )
    }

    pub fn cluster_not_whole(self, problems: &str) -> String {
        self.pick(
            format!("cluster incomplet : {problems}"),
            format!("cluster not whole: {problems}"),
        )
    }

    pub fn starting_services(self) -> &'static str {
        self.pick_str("démarrage des services", "starting the services")
    }

    pub fn services_started(self, started: &str, already: &str, dashboard: &str) -> String {
        match (started.is_empty(), already.is_empty()) {
            (false, true) => self.pick(
                format!("démarrés : {started} · tableau de bord {dashboard}"),
                format!("{started} started · dashboard {dashboard}"),
            ),
            (true, _) => self.pick(
                format!("déjà en marche : {already} · tableau de bord {dashboard}"),
                format!("{already} already running · dashboard {dashboard}"),
            ),
            (false, false) => self.pick(
                format!(
                    "démarrés : {started} ; déjà en marche : {already} · tableau de bord {dashboard}"
                ),
                format!("{started} started; {already} already running · dashboard {dashboard}"),
            ),
        }
    }

    pub fn waiting_for_readings(self) -> &'static str {
        self.pick_str(
            "attente de mesures fraîches dans l'API",
            "waiting for fresh readings in the API",
        )
    }

    pub fn data_flows(self, sensors: usize, worst: Duration, after: Duration) -> String {
        let (worst, after) = (format_duration(worst), format_duration(after));
        self.pick(
            format!("{sensors} capteurs dans l'API, mesures les plus récentes vieilles d'au plus {worst}, après {after}"),
            format!("{sensors} sensors in the API, newest readings at most {worst} old, after {after}"),
        )
    }

    pub fn no_fresh_data(self, bound: Duration, within: Duration, last: &str) -> String {
        let (bound, within) = (format_duration(bound), format_duration(within));
        self.pick(
            format!("pas de mesure fraîche (vieille d'au plus {bound}) en {within} : {last}"),
            format!("no fresh readings (at most {bound} old) within {within}: {last}"),
        )
    }

    pub fn watching_continuity(self, window: Duration) -> String {
        let window = format_duration(window);
        self.pick(
            format!("les courbes avancent-elles ? ({window})"),
            format!("watching the readings flow ({window})"),
        )
    }

    pub fn continuity_held(
        self,
        polls: usize,
        window: Duration,
        worst: Duration,
        bound: Duration,
        at_one: usize,
    ) -> String {
        let (window, worst, bound) = (
            format_duration(window),
            format_duration(worst),
            format_duration(bound),
        );
        let at_one_fr = if at_one > 0 {
            format!(" ; {at_one} réponses lues à ONE")
        } else {
            String::new()
        };
        let at_one_en = if at_one > 0 {
            format!("; {at_one} answers read at ONE")
        } else {
            String::new()
        };
        self.pick(
            format!("{polls} relevés en {window} : mesures jamais plus vieilles que {worst} (limite {bound}){at_one_fr}"),
            format!("{polls} polls over {window}: readings never older than {worst} (bound {bound}){at_one_en}"),
        )
    }

    pub fn continuity_broken(
        self,
        breaches: usize,
        polls: usize,
        bound: Duration,
        first: &str,
    ) -> String {
        let bound = format_duration(bound);
        self.pick(
            format!("{breaches} relevés sur {polls} au-delà de {bound} ; le premier : {first}"),
            format!("{breaches} of {polls} polls over the {bound} bound; first: {first}"),
        )
    }

    pub fn taken_out(self, node: &str, how: &str, took: Duration) -> String {
        let took = format_duration(took);
        self.pick(
            format!("{node} {how} en {took}"),
            format!("{node} {how} in {took}"),
        )
    }

    pub fn how_stopped(self) -> &'static str {
        self.pick_str("arrêté (drain, puis arrêt)", "stopped (drain, then stop)")
    }

    pub fn how_killed(self) -> &'static str {
        self.pick_str("tué (SIGKILL, un plantage)", "killed (SIGKILL, a crash)")
    }

    pub fn how_frozen(self) -> &'static str {
        self.pick_str("gelé (SIGSTOP, un PC figé)", "frozen (SIGSTOP, a hung PC)")
    }

    pub fn how_isolated(self) -> &'static str {
        self.pick_str(
            "isolé (câble réseau débranché, SSH gardé)",
            "isolated (network cable pulled, SSH kept)",
        )
    }

    pub fn switch_off_now(self, node: &str) -> String {
        self.pick(
            format!(">>> Éteignez {node} maintenant (bouton ou prise) ; on attend que ses pairs le voient DOWN"),
            format!(">>> Switch {node} off now (power button or plug); waiting until its peers see it DOWN"),
        )
    }

    pub fn switched_off_by_hand(self, node: &str, seen: &str) -> String {
        self.pick(
            format!("{node} éteint à la main : {seen}"),
            format!("{node} switched off by hand: {seen}"),
        )
    }

    pub fn switch_on_now(self, node: &str) -> String {
        self.pick(
            format!(">>> Rallumez {node} ; on attend que ses pairs le voient UP"),
            format!(">>> Switch {node} back on; waiting until its peers see it UP"),
        )
    }

    pub fn starting_node(self, node: &str) -> String {
        self.pick(format!("démarrage de {node}"), format!("starting {node}"))
    }

    pub fn node_back(self, node: &str, seen: &str) -> String {
        self.pick(
            format!("{node} est revenu : {seen}"),
            format!("{node} is back: {seen}"),
        )
    }

    pub fn waiting_seen(self, node: &str, state: &str) -> String {
        self.pick(
            format!("on attend que {node} soit vu {state}"),
            format!("waiting for {node} to be seen {state}"),
        )
    }

    pub fn sees(self, observer: &str, state: &str) -> String {
        self.pick(
            format!("{observer} voit {state}"),
            format!("{observer} sees {state}"),
        )
    }

    pub fn does_not_list(self, observer: &str) -> String {
        self.pick(
            format!("{observer} ne le liste pas"),
            format!("{observer} does not list it"),
        )
    }

    pub fn views_after(self, views: &str, after: Duration) -> String {
        let after = format_duration(after);
        self.pick(
            format!("{views} (après {after})"),
            format!("{views} (after {after})"),
        )
    }

    pub fn seen(self, node: &str, state: &str, how: &str) -> String {
        self.pick(
            format!("{node} vu {state} : {how}"),
            format!("{node} seen {state}: {how}"),
        )
    }

    pub fn captured(self, from: &str, seen: &str, file: &str) -> String {
        self.pick(
            format!("{from} voit : {seen} (enregistré dans {file})"),
            format!("{from} sees: {seen} (saved as {file})"),
        )
    }

    pub fn presenter_went_on(self) -> String {
        self.pick(
            "le présentateur a continué".into(),
            "the presenter went on".into(),
        )
    }

    pub fn paused(self, duration: Duration) -> String {
        let duration = format_duration(duration);
        self.pick(format!("pause de {duration}"), format!("paused {duration}"))
    }

    pub fn checking_readings(self, count: usize) -> String {
        self.pick(
            format!("vérification de {count} mesures"),
            format!("checking {count} readings"),
        )
    }

    pub fn nothing_lost(self, readings: usize, sensors: usize, consistency: &str) -> String {
        self.pick(
            format!(
                "rien de perdu : les {readings} mesures confirmées par Kafka ({sensors} capteurs) sont dans Cassandra \
                 avec leur valeur (lues à {consistency})"
            ),
            format!(
                "nothing lost: all {readings} readings Kafka acknowledged ({sensors} sensors) are in Cassandra with \
                 their values (read at {consistency})"
            ),
        )
    }

    pub fn readings_lost(self, lost: usize, expected: usize) -> String {
        self.pick(
            format!("{lost} mesures confirmées sur {expected} manquent ou diffèrent"),
            format!("{lost} of {expected} acknowledged readings missing or different"),
        )
    }

    pub fn stopped_how(self, how: ServiceStop) -> &'static str {
        match how {
            ServiceStop::Gracefully => self.pick_str("proprement", "gracefully"),
            ServiceStop::Killed => {
                self.pick_str("tué après le délai", "killed after the grace period")
            }
            ServiceStop::NotRunning => self.pick_str("il ne tournait plus", "it was not running"),
        }
    }

    pub fn producer_stopped(self, how: &str) -> String {
        self.pick(
            format!("producteur arrêté ({how}) : son registre est complet"),
            format!("producer stopped ({how}): its ledger is complete"),
        )
    }

    pub fn reading_alone(self, count: usize, node: &str) -> String {
        self.pick(
            format!("lecture de {count} mesures par {node} seul"),
            format!("reading {count} readings through {node} alone"),
        )
    }

    pub fn caught_up(self, node: &str, found: usize, outage_s: i64, took: Duration) -> String {
        let took = format_duration(took);
        self.pick(
            format!(
                "{node} détient les {found} mesures confirmées pendant ses {outage_s} s d'absence (vérifié en {took})"
            ),
            format!("{node} holds all {found} readings acknowledged during its {outage_s} s outage (checked in {took})"),
        )
    }

    pub fn caught_up_alone(self, count: usize, node: &str) -> String {
        self.pick(
            format!(" ; {count} lues sur {node} seul à ONE"),
            format!("; {count} read from {node} alone at ONE"),
        )
    }

    pub fn caught_up_repaired(self, repaired: usize, node: &str) -> String {
        self.pick(
            format!(
                " (dont {repaired}, écrites à l'instant où {node} a planté, alors qu'il coordonnait lui-même : aucun \
                 pair n'en gardait d'indice ; réparées par une lecture à ALL)"
            ),
            format!(
                " ({repaired} of them, written at the instant {node} crashed, it was coordinating itself, so no peer \
                 kept a hint: repaired by one read at ALL)"
            ),
        )
    }

    pub fn caught_up_elsewhere(self, count: usize, sources: &str) -> String {
        self.pick(
            format!(
                " ; {count} (capteurs que son snitch lit chez ses pairs : {sources}) identiques sur chaque réplique à \
                 ALL une fois les indices rejoués"
            ),
            format!(
                "; {count} (sensors its snitch reads from peers: {sources}) identical on every replica at ALL after \
                 the hints were handed over"
            ),
        )
    }

    pub fn killing_service(self, name: &str) -> String {
        self.pick(
            format!("arrêt brutal de {name} (SIGKILL)"),
            format!("killing {name} (SIGKILL)"),
        )
    }

    pub fn service_killed(self, name: &str, pid: u32) -> String {
        self.pick(
            format!("{name} tué (SIGKILL, pid {pid})"),
            format!("{name} killed (SIGKILL, pid {pid})"),
        )
    }

    pub fn restarting_service(self, name: &str) -> String {
        self.pick(
            format!("redémarrage de {name}"),
            format!("restarting {name}"),
        )
    }

    pub fn service_restarted(self, name: &str, how: ServiceStop, took: Duration) -> String {
        let took = format_duration(took);
        match how {
            ServiceStop::Gracefully => self.pick(
                format!("{name} redémarré, sain après {took}"),
                format!("{name} restarted and healthy after {took}"),
            ),
            ServiceStop::Killed => self.pick(
                format!("{name} redémarré (il a fallu SIGKILL pour l'arrêter), sain après {took}"),
                format!("{name} restarted (it needed SIGKILL to stop) and healthy after {took}"),
            ),
            ServiceStop::NotRunning => self.pick(
                format!("{name} ne tournait pas : démarré, sain après {took}"),
                format!("{name} was not running: started and healthy after {took}"),
            ),
        }
    }

    pub fn restarting_kafka(self, bootstrap: &str) -> String {
        self.pick(
            format!("redémarrage de Kafka ({bootstrap})"),
            format!("restarting Kafka ({bootstrap})"),
        )
    }

    pub fn kafka_restarted(self, down: Duration, answering_after: Duration) -> String {
        let (down, after) = (format_duration(down), format_duration(answering_after));
        self.pick(
            format!("broker Kafka tué, absent {down}, répond de nouveau après {after}"),
            format!("Kafka broker killed, down {down}, answering again after {after}"),
        )
    }

    pub fn single_copies(self, held: &[String], node: &str) -> String {
        let list = held.join(", ");
        match (self.0, held.len()) {
            (Language::Fr, 1) => format!(
                "Sans réplication : {list} n'a qu'une copie, sur {node} ; sa courbe s'arrête sur le petit graphique, \
                 celles du grand continuent"
            ),
            (Language::Fr, _) => format!(
                "Sans réplication : {list} n'ont qu'une copie, sur {node} ; leurs courbes s'arrêtent sur le petit \
                 graphique, celles du grand continuent"
            ),
            (Language::En, 1) => format!(
                "Without replication: {list} has its only copy on {node}; its curve stops on the small chart, the \
                 main chart goes on"
            ),
            (Language::En, _) => format!(
                "Without replication: {list} have their only copy on {node}; their curves stop on the small chart, \
                 the main chart goes on"
            ),
        }
    }

    pub fn no_single_copy(self, sensors: usize, node: &str) -> String {
        self.pick(
            format!(
                "Sans réplication : aucun des {sensors} capteurs n'a sa copie sur {node} ; le petit graphique ne \
                 montrera rien (plus de capteurs, ou un autre PC)"
            ),
            format!(
                "Without replication: none of the {sensors} sensors keeps its copy on {node}; the small chart will \
                 show nothing (more sensors, or another PC)"
            ),
        )
    }
}

/// How a restarted service's old process stopped, as [`Say::service_restarted`] words it.
#[derive(Debug, Clone, Copy)]
pub enum ServiceStop {
    Gracefully,
    Killed,
    NotRunning,
}

impl From<crate::app::Stopped> for ServiceStop {
    fn from(stopped: crate::app::Stopped) -> Self {
        match stopped {
            crate::app::Stopped::Gracefully => ServiceStop::Gracefully,
            crate::app::Stopped::Killed => ServiceStop::Killed,
            crate::app::Stopped::NotRunning => ServiceStop::NotRunning,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_has_its_own_words() {
        let fr = Say(Language::Fr);
        let en = Say(Language::En);
        let second = Duration::from_secs(1);
        assert_eq!(
            fr.passed(12, "Jour J", Duration::from_secs(90)),
            "RÉUSSI : les 12 étapes de « Jour J » en 1 min 30 s"
        );
        assert_eq!(
            en.failed(5, 12, "kill-node", "boom"),
            "FAILED at step 5/12 (kill-node): boom"
        );
        assert_eq!(
            fr.services_started("api, ingest", "", "http://x/"),
            "démarrés : api, ingest · tableau de bord http://x/"
        );
        assert!(
            fr.nothing_lost(10, 2, "QUORUM")
                .starts_with("rien de perdu : les 10 mesures")
        );
        assert!(
            !fr.nothing_lost(10, 2, "QUORUM").contains("  "),
            "no run of spaces"
        );
        assert_eq!(
            en.single_copies(&["s_01".into()], "PC2"),
            "Without replication: s_01 has its only copy on PC2; its curve stops on the small chart, the main \
             chart goes on"
        );
        assert!(
            fr.single_copies(&["a".into(), "b".into()], "PC2")
                .contains("a, b n'ont qu'une copie, sur PC2")
        );
        assert_ne!(
            fr.continuity_held(3, second, second, second, 1),
            en.continuity_held(3, second, second, second, 1)
        );
        assert_eq!(fr.enter_to_continue(), "Entrée pour continuer");
    }
}
