//! `/metrics`: the daemon's counters, gauges and histograms in the Prometheus text
//! format (OpenMetrics), through Prometheus' own Rust client.

use camp_engine::effect::{label, Effect};
use camp_engine::state::State;
use camp_engine::{Engine, Verdict};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use rust_decimal::prelude::ToPrimitive;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

/// `outcome="accepted"`, `"duplicate"` or a reject reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

/// `reward="..."`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RewardLabel {
    reward: String,
}

/// `reward="...", reason="..."`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DenyLabel {
    reward: String,
    reason: String,
}

/// `channel="..."`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: String,
}

/// `kpi="..."`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KpiLabel {
    kpi: String,
}

/// `kpi="...", arm="..."`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ArmLabel {
    kpi: String,
    arm: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// `route="/v1/events"`, `status="200"`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
    status: String,
}

/// `result="delivered"`, `"retry"` or `"dead"`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabel {
    result: String,
}

type Latency = Family<RouteLabel, Histogram, fn() -> Histogram>;

/// Every metric the daemon exports.
#[derive(Debug)]
pub struct Prometheus {
    registry: Registry,
    events: Family<OutcomeLabel, Counter>,
    grants: Family<RewardLabel, Counter>,
    denials: Family<DenyLabel, Counter>,
    sends: Family<ChannelLabel, Counter>,
    deliveries: Family<DeliveryLabel, Counter>,
    stock_left: Family<RewardLabel, Gauge>,
    budget_left: Gauge<f64, AtomicU64>,
    participants: Gauge,
    kpi_value: Family<KpiLabel, FloatGauge>,
    kpi_met: Family<KpiLabel, Gauge>,
    kpi_arm_value: Family<ArmLabel, FloatGauge>,
    kpi_arm_size: Family<ArmLabel, Gauge>,
    kpi_p_value: Family<ArmLabel, FloatGauge>,
    requests: Latency,
    commit: Histogram,
    batch: Histogram,
}

fn latency() -> Histogram {
    // 50 µs to ~1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

impl Default for Prometheus {
    fn default() -> Self {
        Self::new()
    }
}

impl Prometheus {
    /// Registers every metric, all at zero.
    pub fn new() -> Prometheus {
        let mut registry = Registry::with_prefix("camp");
        let events = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "events",
            "Events received, by outcome (accepted, duplicate or the reject reason)",
            events.clone(),
        );
        let grants = Family::<RewardLabel, Counter>::default();
        registry.register("grants", "Rewards granted, by reward", grants.clone());
        let denials = Family::<DenyLabel, Counter>::default();
        registry.register(
            "denials",
            "Grants denied, by reward and reason",
            denials.clone(),
        );
        let sends = Family::<ChannelLabel, Counter>::default();
        registry.register(
            "sends",
            "Messages written to the outbox, by channel",
            sends.clone(),
        );
        let deliveries = Family::<DeliveryLabel, Counter>::default();
        registry.register(
            "deliveries",
            "Delivery attempts by the sink, by result",
            deliveries.clone(),
        );
        let stock_left = Family::<RewardLabel, Gauge>::default();
        registry.register(
            "stock_left",
            "What is left of each reward with a stock",
            stock_left.clone(),
        );
        let budget_left = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "budget_left",
            "What is left of the budget, in the campaign currency",
            budget_left.clone(),
        );
        let participants = Gauge::default();
        registry.register("participants", "Participants", participants.clone());
        let kpi_value = Family::<KpiLabel, FloatGauge>::default();
        registry.register(
            "kpi_value",
            "Each KPI's value (ratios as fractions, money as its amount), by KPI",
            kpi_value.clone(),
        );
        let kpi_met = Family::<KpiLabel, Gauge>::default();
        registry.register(
            "kpi_met",
            "Whether each KPI meets its target (1) or not (0), by KPI",
            kpi_met.clone(),
        );
        let kpi_arm_value = Family::<ArmLabel, FloatGauge>::default();
        registry.register(
            "kpi_arm_value",
            "A KPI reported by arms, over each arm, by KPI and arm",
            kpi_arm_value.clone(),
        );
        let kpi_arm_size = Family::<ArmLabel, Gauge>::default();
        registry.register(
            "kpi_arm_size",
            "The users of each arm of a KPI reported by arms, by KPI and arm",
            kpi_arm_size.clone(),
        );
        let kpi_p_value = Family::<ArmLabel, FloatGauge>::default();
        registry.register(
            "kpi_p_value",
            "The two-sided p-value of each later arm against the first, by KPI and arm (a fixed-horizon test: read it when the campaign ends)",
            kpi_p_value.clone(),
        );
        let requests: Latency = Family::new_with_constructor(latency);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency, by route and status",
            requests.clone(),
        );
        let commit = latency();
        registry.register(
            "store_commit_duration_seconds",
            "Time to commit one group of inputs durably",
            commit.clone(),
        );
        let batch = Histogram::new(exponential_buckets(1.0, 4.0, 9));
        registry.register(
            "store_batch_inputs",
            "Inputs per group commit",
            batch.clone(),
        );
        Prometheus {
            registry,
            events,
            grants,
            denials,
            sends,
            deliveries,
            stock_left,
            budget_left,
            participants,
            kpi_value,
            kpi_met,
            kpi_arm_value,
            kpi_arm_size,
            kpi_p_value,
            requests,
            commit,
            batch,
        }
    }

    /// Counts an event's outcome.
    pub fn event(&self, verdict: Verdict) {
        let outcome = match verdict {
            Verdict::Accepted => "accepted".to_string(),
            Verdict::Rejected(r) => label(&r),
        };
        self.events.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// Adds what a committed group's effects did ([`EffectCounts`]): grants, denials, sends.
    pub fn effects(&self, counts: &EffectCounts) {
        for (reward, n) in &counts.grants {
            self.grants
                .get_or_create(&RewardLabel {
                    reward: reward.clone(),
                })
                .inc_by(*n);
        }
        for ((reward, reason), n) in &counts.denials {
            self.denials
                .get_or_create(&DenyLabel {
                    reward: reward.clone(),
                    reason: reason.clone(),
                })
                .inc_by(*n);
        }
        for (channel, n) in &counts.sends {
            self.sends
                .get_or_create(&ChannelLabel {
                    channel: channel.clone(),
                })
                .inc_by(*n);
        }
    }

    /// Records one group commit.
    pub fn commit(&self, seconds: f64, inputs: usize) {
        self.commit.observe(seconds);
        self.batch.observe(inputs as f64);
    }

    /// Records one delivery attempt.
    pub fn delivery(&self, result: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabel {
                result: result.to_string(),
            })
            .inc();
    }

    /// Records one HTTP request.
    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RouteLabel {
                route: route.to_string(),
                status: status.to_string(),
            })
            .observe(seconds);
    }

    /// The text exposition, with the gauges read from `state` now.
    pub fn render(&self, engine: &Engine, state: &State) -> String {
        for r in engine.rewards(state) {
            if let Some(left) = r.stock_left {
                self.stock_left
                    .get_or_create(&RewardLabel { reward: r.name })
                    .set(i64::try_from(left).unwrap_or(i64::MAX));
            }
        }
        if let Some(left) = engine.budget_left(state) {
            self.budget_left.set(left.to_f64().unwrap_or(0.0));
        }
        self.participants
            .set(i64::try_from(state.participants()).unwrap_or(i64::MAX));
        for k in engine.kpis(state) {
            let label = KpiLabel {
                kpi: k.name.clone(),
            };
            show(&self.kpi_value, &label, k.number);
            self.kpi_met.get_or_create(&label).set(i64::from(k.met));
            for a in &k.arms {
                let label = ArmLabel {
                    kpi: k.name.clone(),
                    arm: a.arm.clone(),
                };
                show(&self.kpi_arm_value, &label, a.number);
                self.kpi_arm_size
                    .get_or_create(&label)
                    .set(i64::try_from(a.size).unwrap_or(i64::MAX));
            }
            for c in &k.comparisons {
                let label = ArmLabel {
                    kpi: k.name.clone(),
                    arm: c.arm.clone(),
                };
                show(&self.kpi_p_value, &label, c.p_value);
            }
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// Sets the gauge of `label` to `value`; a value that is gone (an arm emptied, a test
/// no longer defined) leaves the exposition rather than showing the last one as current.
fn show<L>(family: &Family<L, FloatGauge>, label: &L, value: Option<f64>)
where
    L: Clone + std::hash::Hash + Eq,
{
    match value {
        Some(v) => {
            family.get_or_create(label).set(v);
        }
        None => {
            family.remove(label);
        }
    }
}

/// What a group's effects add to the counters: gathered as the effects are made, added
/// once the group is committed. A step that reaches a million members leaves a few
/// counts here, not its million effects.
#[derive(Debug, Default)]
pub struct EffectCounts {
    /// Grants per reward won (a draw counts for what it won, or for none).
    grants: BTreeMap<String, u64>,
    /// Denials per reward and reason.
    denials: BTreeMap<(String, String), u64>,
    /// Sends per channel.
    sends: BTreeMap<String, u64>,
}

impl EffectCounts {
    /// Counts these effects.
    pub fn add(&mut self, effects: &[Effect]) {
        for e in effects {
            match e {
                Effect::Grant { reward, drawn, .. } => {
                    // A draw counts for the reward won (a draw that won nothing, for none).
                    let won = match drawn {
                        Some(won) => won.as_ref(),
                        None => Some(reward),
                    };
                    if let Some(r) = won {
                        *self.grants.entry(r.to_string()).or_default() += 1;
                    }
                }
                Effect::Deny { reward, reason, .. } => {
                    *self
                        .denials
                        .entry((reward.to_string(), label(reason)))
                        .or_default() += 1;
                }
                Effect::Send { channel, .. } => {
                    *self.sends.entry(channel.to_string()).or_default() += 1;
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use camp_compiler::{compile_file, MemoryLoader};
    use camp_engine::input::{EventLine, UserLine};
    use std::path::Path;

    fn engine() -> Engine {
        let src = r#"
campaign c {
  timezone "UTC"
  start    2027-01-01T00:00
  locales  en
  holdout  50%
}
user { nickname: string }
event survey { score: int }
phase main for 7d {
  task answer { on survey }
}
kpi loyalty = nps(survey.score) target >= 30 by holdout
"#;
        let r = compile_file(&MemoryLoader::with(&[("c.camp", src)]), Path::new("c.camp"))
            .expect("loads");
        Engine::new(r.plan.expect("compiles")).expect("an engine")
    }

    fn gauges(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|l| l.starts_with("camp_kpi_value") || l.starts_with("camp_kpi_arm_value"))
            .collect()
    }

    #[test]
    fn effect_counts_add_up_per_reward_reason_and_channel() {
        let effects: Vec<Effect> = [
            r#"{"kind":"grant","at":"2027-01-01T00:00:00Z","user":"a","reward":"coupon","cause":"enter","event":null}"#,
            r#"{"kind":"grant","at":"2027-01-01T00:00:00Z","user":"b","reward":"coupon","cause":"enter","event":null}"#,
            r#"{"kind":"grant","at":"2027-01-01T00:00:00Z","user":"a","reward":"luck","cause":"enter","event":null,"drawn":"coupon"}"#,
            r#"{"kind":"grant","at":"2027-01-01T00:00:00Z","user":"b","reward":"luck","cause":"enter","event":null,"drawn":null}"#,
            r#"{"kind":"deny","at":"2027-01-01T00:00:00Z","user":"c","reward":"coupon","cause":"enter","reason":"stock"}"#,
            r#"{"kind":"send","at":"2027-01-01T00:00:00Z","user":"a","message":"m","channel":"push","locale":"en","body":"hi"}"#,
            r#"{"kind":"enroll","at":"2027-01-01T00:00:00Z","user":"a"}"#,
        ]
        .iter()
        .map(|l| serde_json::from_str(l).expect("an effect"))
        .collect();
        let mut counts = EffectCounts::default();
        // In two parts, as a group's inputs come.
        let (first, rest) = effects.split_at(3);
        counts.add(first);
        counts.add(rest);
        let metrics = Prometheus::new();
        metrics.effects(&counts);
        let text = metrics.render(&engine(), &engine().start());
        for line in [
            "camp_grants_total{reward=\"coupon\"} 3",
            "camp_denials_total{reward=\"coupon\",reason=\"stock\"} 1",
            "camp_sends_total{channel=\"push\"} 1",
        ] {
            assert!(text.contains(line), "lacks {line}:\n{text}");
        }
        assert!(!text.contains("reward=\"luck\""), "{text}");
    }

    #[test]
    fn a_kpi_value_that_is_gone_leaves_the_exposition() {
        let engine = engine();
        let mut answered = engine.start();
        let mut out = camp_engine::Output::default();
        for u in 0..40 {
            let line: UserLine = serde_json::from_str(&format!(
                r#"{{"id": "u{u}", "attrs": {{"nickname": "N"}}}}"#
            ))
            .expect("a user line");
            engine.user(&mut answered, &line).expect("a user");
            let event: EventLine = serde_json::from_str(&format!(
                r#"{{"id": "e{u}", "type": "survey", "user": "u{u}", "at": "2027-01-02T00:00:00Z", "data": {{"score": 10}}}}"#
            ))
            .expect("an event line");
            let at = chrono::DateTime::parse_from_rfc3339("2027-01-02T00:00:00Z")
                .expect("an instant")
                .with_timezone(&chrono::Utc);
            engine.event(&mut answered, &event, at, &mut out);
        }
        let metrics = Prometheus::new();
        let before = metrics.render(&engine, &answered);
        // Both arms answered: the campaign's value and each arm's.
        assert_eq!(gauges(&before).len(), 3, "{before}");
        // Nobody has answered in a fresh state: no value is current, so none is shown.
        let after = metrics.render(&engine, &engine.start());
        assert_eq!(gauges(&after), Vec::<&str>::new(), "{after}");
        assert!(after.contains("camp_kpi_met{kpi=\"loyalty\"} 0"), "{after}");
    }
}
