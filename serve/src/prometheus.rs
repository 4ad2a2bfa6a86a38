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

    /// Counts what effects did: grants, denials, sends.
    pub fn effects(&self, effects: &[Effect]) {
        for e in effects {
            match e {
                Effect::Grant { reward, drawn, .. } => {
                    // A draw counts for the reward won (a draw that won nothing, for none).
                    let won = match drawn {
                        Some(won) => won.as_ref(),
                        None => Some(reward),
                    };
                    if let Some(r) = won {
                        self.grants
                            .get_or_create(&RewardLabel {
                                reward: r.to_string(),
                            })
                            .inc();
                    }
                }
                Effect::Deny { reward, reason, .. } => {
                    self.denials
                        .get_or_create(&DenyLabel {
                            reward: reward.to_string(),
                            reason: label(reason),
                        })
                        .inc();
                }
                Effect::Send { channel, .. } => {
                    self.sends
                        .get_or_create(&ChannelLabel {
                            channel: channel.to_string(),
                        })
                        .inc();
                }
                _ => {}
            }
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
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}
