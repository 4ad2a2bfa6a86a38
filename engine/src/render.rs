//! Message rendering: a plan's templates, the variables of language §5 and camp's
//! filters (`date`, `time`, `money`). Pure: the same plan and context always give the
//! same text, byte for byte.
//!
//! A [`Renderer`] is built once per plan and holds every template parsed. Email bodies
//! are HTML-escaped; subjects and every other channel are plain text. A variable with no
//! value (an unranked `participant.rank.X`, a missing attribute, `reward` outside a
//! grant) renders as an empty string, and so does a lookup through it.

use crate::EngineError;
use camp_plan::literal::Money;
use camp_plan::{Campaign, Message, MessageId, PhaseId, Plan, RewardId};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

/// Who a message is rendered for, and why: plain data, so the engine can build it from
/// its state and `camp preview` from a sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RenderContext {
    /// The user's attributes; only declared ones are visible to templates.
    #[serde(default)]
    pub user: serde_json::Map<String, serde_json::Value>,
    /// `participant.points`.
    #[serde(default)]
    pub participant_points: i64,
    /// `participant.tier`: the tier's name, `None` before the first tier.
    #[serde(default)]
    pub participant_tier: Option<String>,
    /// `participant.rank.<leaderboard>`: leaderboard name → rank, from 1. Unranked
    /// leaderboards are simply absent.
    #[serde(default)]
    pub ranks: BTreeMap<String, u32>,
    /// The phase whose statement sends the message (`phase.*`).
    #[serde(default)]
    pub phase: Option<PhaseId>,
    /// The reward granted with the send (`reward.*`): the task's first, or what a draw won.
    #[serde(default)]
    pub reward: Option<RewardId>,
    /// `participant.earned`: points ever granted less those revoked.
    #[serde(default)]
    pub participant_earned: i64,
    /// `participant.enrolled_at`.
    #[serde(default)]
    pub participant_enrolled_at: Option<DateTime<Utc>>,
    /// `participant.count.<task>`: counted completions, by task name.
    #[serde(default)]
    pub counts: BTreeMap<String, u32>,
    /// `participant.today.<task>`: counted completions today, by task name.
    #[serde(default)]
    pub today: BTreeMap<String, u32>,
    /// `participant.streak.<task>`: the current run of days, by task name.
    #[serde(default)]
    pub streaks: BTreeMap<String, u32>,
    /// `group.*` in a group's outcome.
    #[serde(default)]
    pub group: Option<GroupVars>,
    /// `participant.variant.<experiment>`: the participant's variant of each
    /// experiment, by experiment name. A message `by` an experiment renders this
    /// variant's body, else the first variant's.
    #[serde(default)]
    pub variants: BTreeMap<String, String>,
}

/// `group.name|key|size|members`: the group whose outcome sends the message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVars {
    /// The group kind's name.
    pub name: String,
    /// The group's key.
    pub key: String,
    /// The kind's size.
    pub size: u32,
    /// How many members it has, the opener included.
    pub members: u32,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    /// The locale whose template was used.
    pub locale: String,
    /// Email only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject: Option<String>,
    /// The body.
    pub body: String,
}

/// `campaign.*` and `phase.*`: a name and a window, as RFC 3339 in the campaign time zone.
#[derive(Debug, Clone, Serialize)]
struct Window {
    name: String,
    start: String,
    end: String,
}

/// `reward.*`.
#[derive(Debug, Clone, Serialize)]
struct RewardVars {
    name: String,
    label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    /// The number: points, or a money amount without its code.
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<serde_json::Value>,
}

/// `reward.value` (as the plan gives it: a coupon's value, an item's cost, a points
/// amount) and `reward.amount` (the number: points, or a money amount without its code).
fn reward_vars(r: &camp_plan::Reward) -> RewardVars {
    use camp_plan::RewardKind;
    let amount = match &r.kind {
        RewardKind::Points { amount } => Some(serde_json::Value::from(*amount)),
        RewardKind::Coupon { value, .. } => Some(crate::run_report::number(value.amount)),
        _ => r.cost.map(|m| crate::run_report::number(m.amount)),
    };
    RewardVars {
        name: r.name.clone(),
        label: r.label.clone(),
        value: r.value.clone(),
        amount,
    }
}

/// `participant.*`.
#[derive(Debug, Serialize)]
struct ParticipantVars<'a> {
    points: i64,
    earned: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    tier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enrolled_at: Option<String>,
    rank: BTreeMap<&'a str, u32>,
    count: &'a BTreeMap<String, u32>,
    today: &'a BTreeMap<String, u32>,
    streak: &'a BTreeMap<String, u32>,
    variant: &'a BTreeMap<String, String>,
}

/// Everything a template sees. Absent parts are left out, so they are undefined (empty).
#[derive(Debug, Serialize)]
struct Vars<'a> {
    user: serde_json::Map<String, serde_json::Value>,
    campaign: &'a Window,
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<&'a Window>,
    participant: ParticipantVars<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reward: Option<&'a RewardVars>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a GroupVars>,
}

/// What the renderer keeps of a message.
#[derive(Debug, Clone)]
struct MessageInfo {
    name: String,
    channel: String,
    /// The experiment whose variants have a body each (`by`).
    experiment: Option<String>,
    /// One entry per variant of that experiment, in its order (a single unnamed one
    /// for a message without an experiment): the variant's name and the locales it has
    /// a template for, with whether that template has a subject.
    variants: Vec<(Option<String>, Locales)>,
}

/// The locales a message (or one variant of it) has a template for, with whether that
/// template has a subject.
type Locales = Vec<(String, bool)>;

/// The templates of one plan, parsed once, with the data their variables come from.
pub struct Renderer {
    env: Environment<'static>,
    tz: Tz,
    locales: Vec<String>,
    messages: Vec<MessageInfo>,
    campaign: Window,
    phases: Vec<Window>,
    rewards: Vec<RewardVars>,
    attrs: BTreeSet<String>,
    /// The declared `money` attributes: rendered as `12.5 CNY`, however the input wrote them.
    money_attrs: BTreeSet<String>,
    leaderboards: BTreeSet<String>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("locales", &self.locales)
            .field("messages", &self.messages.len())
            .finish_non_exhaustive()
    }
}

/// What a template is registered under: the message, its variant (when it has an
/// experiment) and the locale. Names hold no dots, so no two of these collide.
fn template_key(message: &str, variant: Option<&str>, locale: &str) -> String {
    match variant {
        None => format!("{message}.{locale}"),
        Some(v) => format!("{message}.{v}.{locale}"),
    }
}

/// The name a message's body is registered under.
fn body_name(key: &str) -> String {
    format!("{key}.body")
}

/// The name a message's subject is registered under.
fn subject_name(key: &str) -> String {
    format!("{key}.subject")
}

fn template_error(message: &str, locale: &str, e: &Error) -> EngineError {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    EngineError::Template {
        message: message.to_string(),
        locale: locale.to_string(),
        detail,
    }
}

/// An instant as template variables see it: RFC 3339 in the campaign time zone.
fn local_rfc3339(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The currency `money` gives a bare number: the budget's, else the first monetary
/// reward's.
fn default_currency(plan: &Plan) -> Option<String> {
    plan.campaign
        .budget
        .as_ref()
        .or_else(|| plan.rewards.iter().find_map(|r| r.cost.as_ref()))
        .map(|m| m.currency.to_string())
}

impl Renderer {
    /// Parses every template of every message of `plan`.
    pub fn new(plan: &Plan) -> Result<Renderer, EngineError> {
        let campaign: &Campaign = &plan.campaign;
        let tz: Tz = campaign
            .timezone
            .parse()
            .map_err(|_| EngineError::TimeZone(campaign.timezone.clone()))?;

        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.add_filter("date", move |v: Value| date_filter(tz, &v));
        env.add_filter("time", move |v: Value| time_filter(tz, &v));
        let currency = default_currency(plan);
        env.add_filter("money", move |v: Value, code: Option<String>| {
            money_filter(&v, code.as_deref().or(currency.as_deref()))
        });

        let escaped: BTreeSet<String> = plan
            .messages
            .iter()
            .filter(|m| m.channel == "email")
            .flat_map(|m| {
                m.all_templates().map(|(v, t)| {
                    body_name(&template_key(&m.name, variant_name(plan, m, v), &t.locale))
                })
            })
            .collect();
        env.set_auto_escape_callback(move |name| {
            if escaped.contains(name) {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });

        let mut messages = Vec::with_capacity(plan.messages.len());
        for m in &plan.messages {
            messages.push(add_message(&mut env, plan, m)?);
        }

        let window = |name: &str, start, end| Window {
            name: name.to_string(),
            start: local_rfc3339(start, tz),
            end: local_rfc3339(end, tz),
        };
        Ok(Renderer {
            env,
            tz,
            locales: campaign.locales.clone(),
            messages,
            campaign: window(&campaign.name, campaign.start, campaign.end),
            phases: plan
                .phases
                .iter()
                .map(|p| window(&p.name, p.start, p.end))
                .collect(),
            rewards: plan.rewards.iter().map(reward_vars).collect(),
            attrs: plan.attrs.iter().map(|a| a.name.clone()).collect(),
            money_attrs: plan
                .attrs
                .iter()
                .filter(|a| a.ty == camp_plan::ValueType::Money)
                .map(|a| a.name.clone())
                .collect(),
            leaderboards: plan.leaderboards.iter().map(|l| l.name.clone()).collect(),
        })
    }

    /// The campaign's locales; the first is the default.
    pub fn locales(&self) -> &[String] {
        &self.locales
    }

    /// The locale a user gets (§5): their `locale` attribute when it is one of the
    /// campaign's locales, else the first campaign locale (empty if it declares none).
    pub fn pick_locale(&self, user_locale: Option<&str>) -> &str {
        user_locale
            .and_then(|l| self.locales.iter().find(|c| c.as_str() == l))
            .or_else(|| self.locales.first())
            .map_or("", String::as_str)
    }

    /// Renders `message` in `locale` (a locale the message has no text for falls back to
    /// the first campaign locale) for the participant described by `ctx`. A message
    /// `by` an experiment renders the body of the participant's variant
    /// ([`RenderContext::variants`]), the first variant's for anyone without one.
    pub fn render(
        &self,
        message: MessageId,
        locale: &str,
        ctx: &RenderContext,
    ) -> Result<Rendered, EngineError> {
        let info = self
            .messages
            .get(message.index())
            .ok_or(EngineError::UnknownId {
                what: "message",
                index: message.0,
            })?;
        let chosen = info
            .experiment
            .as_ref()
            .and_then(|x| ctx.variants.get(x))
            .and_then(|v| {
                info.variants
                    .iter()
                    .find(|(name, _)| name.as_deref() == Some(v.as_str()))
            })
            .or_else(|| info.variants.first());
        let (variant, locales) = chosen.ok_or_else(|| EngineError::NoTemplate {
            message: info.name.clone(),
        })?;
        let (locale, has_subject) = locales
            .iter()
            .find(|(l, _)| l == locale)
            .or_else(|| {
                let first = self.locales.first()?;
                locales.iter().find(|(l, _)| l == first)
            })
            .or_else(|| locales.first())
            .ok_or_else(|| EngineError::NoTemplate {
                message: info.name.clone(),
            })?;
        let vars = Value::from_serialize(self.vars(ctx)?);
        let key = template_key(&info.name, variant.as_deref(), locale);
        let run = |name: String| -> Result<String, EngineError> {
            self.env
                .get_template(&name)
                .and_then(|t| t.render(&vars))
                .map_err(|e| template_error(&info.name, locale, &e))
        };
        let subject = if *has_subject {
            Some(run(subject_name(&key))?)
        } else {
            None
        };
        let body = run(body_name(&key))?;
        Ok(Rendered {
            locale: locale.clone(),
            subject,
            body,
        })
    }

    /// An instant as templates show it (`campaign.start` and the like): RFC 3339 in the
    /// campaign time zone, to the second, like `2027-01-20T09:00:00+08:00`.
    pub fn local_time(&self, t: DateTime<Utc>) -> String {
        local_rfc3339(t, self.tz)
    }

    /// The channel `message` goes through, if the plan has it.
    pub fn channel(&self, message: MessageId) -> Option<&str> {
        self.messages
            .get(message.index())
            .map(|m| m.channel.as_str())
    }

    fn vars<'a>(&'a self, ctx: &'a RenderContext) -> Result<Vars<'a>, EngineError> {
        // Declared attributes only; a JSON `null` is no value at all.
        let user = ctx
            .user
            .iter()
            .filter(|(k, v)| self.attrs.contains(k.as_str()) && !v.is_null())
            .map(|(k, v)| {
                let money = v
                    .as_str()
                    .filter(|_| self.money_attrs.contains(k.as_str()))
                    .and_then(|m| Money::from_str(m).ok());
                let v = money.map_or_else(|| v.clone(), |m| m.to_string().into());
                (k.clone(), v)
            })
            .collect();
        let phase = ctx
            .phase
            .map(|id| {
                self.phases.get(id.index()).ok_or(EngineError::UnknownId {
                    what: "phase",
                    index: id.0,
                })
            })
            .transpose()?;
        let reward = ctx
            .reward
            .map(|id| {
                self.rewards.get(id.index()).ok_or(EngineError::UnknownId {
                    what: "reward",
                    index: id.0,
                })
            })
            .transpose()?;
        let rank = ctx
            .ranks
            .iter()
            .filter(|(board, _)| self.leaderboards.contains(board.as_str()))
            .map(|(board, rank)| (board.as_str(), *rank))
            .collect();
        Ok(Vars {
            user,
            campaign: &self.campaign,
            phase,
            participant: ParticipantVars {
                points: ctx.participant_points,
                earned: ctx.participant_earned,
                tier: ctx.participant_tier.as_deref(),
                enrolled_at: ctx
                    .participant_enrolled_at
                    .map(|t| local_rfc3339(t, self.tz)),
                rank,
                count: &ctx.counts,
                today: &ctx.today,
                streak: &ctx.streaks,
                variant: &ctx.variants,
            },
            reward,
            group: ctx.group.as_ref(),
        })
    }
}

/// The name of variant `v` of `m`'s experiment, if `m` has one.
fn variant_name<'p>(plan: &'p Plan, m: &Message, v: Option<usize>) -> Option<&'p str> {
    let by = m.by.as_ref()?;
    plan.experiments
        .get(by.experiment.index())?
        .variants
        .get(v?)
        .map(|v| v.name.as_str())
}

fn add_message(
    env: &mut Environment<'static>,
    plan: &Plan,
    m: &Message,
) -> Result<MessageInfo, EngineError> {
    let experiment =
        m.by.as_ref()
            .and_then(|by| plan.experiments.get(by.experiment.index()))
            .map(|x| x.name.clone());
    let lists: Vec<(Option<usize>, &[camp_plan::Template])> = match &m.by {
        None => vec![(None, m.templates.as_slice())],
        Some(by) => by
            .templates
            .iter()
            .enumerate()
            .map(|(v, ts)| (Some(v), ts.as_slice()))
            .collect(),
    };
    let mut variants = Vec::with_capacity(lists.len());
    for (v, templates) in lists {
        let variant = variant_name(plan, m, v);
        if v.is_some() && variant.is_none() {
            return Err(EngineError::UnknownId {
                what: "variant",
                index: v.and_then(|v| u32::try_from(v).ok()).unwrap_or(u32::MAX),
            });
        }
        let mut locales = Vec::with_capacity(templates.len());
        for t in templates {
            let key = template_key(&m.name, variant, &t.locale);
            env.add_template_owned(body_name(&key), t.body.clone())
                .map_err(|e| template_error(&m.name, &t.locale, &e))?;
            if let Some(subject) = &t.subject {
                env.add_template_owned(subject_name(&key), subject.clone())
                    .map_err(|e| template_error(&m.name, &t.locale, &e))?;
            }
            locales.push((t.locale.clone(), t.subject.is_some()));
        }
        variants.push((variant.map(str::to_string), locales));
    }
    Ok(MessageInfo {
        name: m.name.clone(),
        channel: m.channel.clone(),
        experiment,
        variants,
    })
}

fn invalid(detail: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, detail)
}

/// A point in time as the campaign's wall clock shows it, or a calendar date alone.
enum Local {
    At(NaiveDateTime),
    Day(NaiveDate),
}

/// Reads what `date` and `time` accept: RFC 3339 (any offset; shown in the campaign time
/// zone), an ISO date and time without offset (already local, like a `.camp` datetime),
/// an ISO date, or a Unix timestamp in seconds.
fn local(tz: Tz, v: &Value, filter: &str) -> Result<Local, Error> {
    if let Some(s) = v.as_str() {
        let s = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Local::At(t.with_timezone(&tz).naive_local()));
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
                return Ok(Local::At(t));
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(Local::Day(d));
        }
        return Err(invalid(format!(
            "`{filter}` needs a date or a date and time like `2027-01-20T09:00:00+08:00`, not `{s}`"
        )));
    }
    if v.kind() == ValueKind::Number {
        if let Some(t) = i64::try_from(v.clone())
            .ok()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
        {
            return Ok(Local::At(t.with_timezone(&tz).naive_local()));
        }
    }
    Err(invalid(format!(
        "`{filter}` needs a date or a date and time, not {}",
        v.kind()
    )))
}

/// `{{ x | date }}`: `YYYY-MM-DD` in the campaign time zone. No value stays no value.
fn date_filter(tz: Tz, v: &Value) -> Result<Value, Error> {
    if v.is_undefined() || v.is_none() {
        return Ok(v.clone());
    }
    let day = match local(tz, v, "date")? {
        Local::At(t) => t.date(),
        Local::Day(d) => d,
    };
    Ok(Value::from(day.format("%Y-%m-%d").to_string()))
}

/// `{{ x | time }}`: `HH:MM` in the campaign time zone. No value stays no value.
fn time_filter(tz: Tz, v: &Value) -> Result<Value, Error> {
    if v.is_undefined() || v.is_none() {
        return Ok(v.clone());
    }
    match local(tz, v, "time")? {
        Local::At(t) => Ok(Value::from(t.format("%H:%M").to_string())),
        Local::Day(d) => Err(invalid(format!(
            "`time` needs a time of day; `{d}` is a date only"
        ))),
    }
}

/// `{{ x | money }}` / `{{ x | money("USD") }}`: `20 CNY`, no trailing zeros. Takes a
/// money string (`"20.50 CNY"`) or a number, which gets the given currency, else the
/// campaign's. No value stays no value.
fn money_filter(v: &Value, currency: Option<&str>) -> Result<Value, Error> {
    if v.is_undefined() || v.is_none() {
        return Ok(v.clone());
    }
    let amount = if let Some(s) = v.as_str() {
        let s = s.trim();
        if s.contains(' ') {
            let m = Money::from_str(s).map_err(|e| invalid(format!("`money`: {}", e.message)))?;
            return Ok(Value::from(m.to_string()));
        }
        Decimal::from_str(s)
            .map_err(|_| invalid(format!("`money` needs an amount like `20 CNY`, not `{s}`")))?
    } else if v.kind() == ValueKind::Number {
        if let Ok(n) = i64::try_from(v.clone()) {
            Decimal::from(n)
        } else {
            let f = f64::try_from(v.clone())
                .map_err(|_| invalid(format!("`money` cannot format {v}")))?;
            Decimal::from_str(&f.to_string())
                .map_err(|_| invalid(format!("`money` cannot format {f}")))?
        }
    } else {
        return Err(invalid(format!(
            "`money` needs an amount like `20 CNY`, not {}",
            v.kind()
        )));
    };
    let code = currency.ok_or_else(|| {
        invalid(format!(
            "`money` needs a currency for `{amount}`: write `money(\"USD\")`"
        ))
    })?;
    let m = Money::from_str(&format!("{amount} {code}"))
        .map_err(|e| invalid(format!("`money`: {}", e.message)))?;
    Ok(Value::from(m.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use camp_compiler::{compile_file, Severity, SourceLoader};
    use std::path::Path;

    const SOURCE: &str = r#"
campaign test_fest {
  name     "Test <Fest>"
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  locales  en, zh-CN
  budget   1_000 CNY
}

user {
  nickname: string
  locale:   string
  birthday: date
  spent:    money
}

event checkin {}

reward coupon_20 = coupon { value 20.50 CNY  stock 10 }
reward points_10 = points 10

message hello via push {
  en    "Hi {{ user.nickname }}"
  zh-CN "你好 {{ user.nickname }}"
}

message recap via email {
  subject en    "For {{ user.nickname }}"
  subject zh-CN "给 {{ user.nickname }}"
  en    "Hi {{ user.nickname }}, rank [{{ participant.rank.top }}], tier [{{ participant.tier }}]."
  zh-CN "{{ user.nickname }} 第 {{ participant.rank.top }} 名"
}

message when via in_app {
  en    "{{ campaign.start | date }} {{ campaign.start | time }}, ends {{ phase.end | date }} {{ phase.end | time }}, born {{ user.birthday | date }}"
  zh-CN "{{ campaign.start | date }}"
}

message prize via in_app {
  en    "{{ reward.label }}: {{ reward.value | money }}; spent {{ user.spent | money }}; {{ 7.5 | money }} {{ 3 | money('USD') }} {{ '100.00' | money }}"
  zh-CN "{{ reward.label }}"
}

message spent via in_app {
  en    "spent {{ user.spent }}"
  zh-CN "{{ user.spent }}"
}

phase main for 2d {
  task daily {
    on checkin
    grant coupon_20
    send prize
    send spent
    send hello
    send recap
    send when
  }
  leaderboard top {
    score points
  }
}
"#;

    struct Memory;

    impl SourceLoader for Memory {
        fn load(&self, _: &Path) -> std::io::Result<String> {
            Ok(SOURCE.to_string())
        }
    }

    fn plan() -> Plan {
        let result = compile_file(&Memory, Path::new("test.camp")).unwrap();
        let errors: Vec<_> = result
            .check
            .diagnostics
            .iter()
            .filter(|d| d.severity() == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        result.plan.unwrap()
    }

    fn message(plan: &Plan, name: &str) -> MessageId {
        MessageId(plan.messages.iter().position(|m| m.name == name).unwrap() as u32)
    }

    fn user(nickname: &str) -> RenderContext {
        let mut ctx = RenderContext::default();
        ctx.user.insert("nickname".into(), nickname.into());
        ctx.user.insert("birthday".into(), "1990-05-17".into());
        ctx.user.insert("spent".into(), "12.50 CNY".into());
        ctx
    }

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    fn s(v: Result<Value, Error>) -> String {
        v.unwrap().to_string()
    }

    #[test]
    fn date_filter_shows_the_campaign_day() {
        // 16:30 UTC is 00:30 the next day in Shanghai.
        assert_eq!(
            s(date_filter(SHANGHAI, &Value::from("2027-01-19T16:30:00Z"))),
            "2027-01-20"
        );
        assert_eq!(
            s(date_filter(
                SHANGHAI,
                &Value::from("2027-01-20T00:30:00+08:00")
            )),
            "2027-01-20"
        );
        // Without an offset, the time is already local.
        assert_eq!(
            s(date_filter(SHANGHAI, &Value::from("2027-01-19T23:00"))),
            "2027-01-19"
        );
        assert_eq!(
            s(date_filter(SHANGHAI, &Value::from("2027-01-19T23:00:05.5"))),
            "2027-01-19"
        );
        assert_eq!(
            s(date_filter(SHANGHAI, &Value::from("1990-05-17"))),
            "1990-05-17"
        );
        // A Unix timestamp: 2027-01-19T16:30:00Z.
        assert_eq!(
            s(date_filter(SHANGHAI, &Value::from(1_800_376_200_i64))),
            "2027-01-20"
        );
        assert!(date_filter(SHANGHAI, &Value::UNDEFINED)
            .unwrap()
            .is_undefined());
        assert!(date_filter(SHANGHAI, &Value::from("soon")).is_err());
        assert!(date_filter(SHANGHAI, &Value::from(true)).is_err());
    }

    #[test]
    fn time_filter_shows_the_campaign_clock() {
        assert_eq!(
            s(time_filter(SHANGHAI, &Value::from("2027-01-19T16:30:00Z"))),
            "00:30"
        );
        assert_eq!(
            s(time_filter(SHANGHAI, &Value::from("2027-01-20T09:05"))),
            "09:05"
        );
        let new_york = chrono_tz::America::New_York;
        // Across the DST change the offset follows the date.
        assert_eq!(
            s(time_filter(new_york, &Value::from("2027-03-13T01:00:00Z"))),
            "20:00"
        );
        assert_eq!(
            s(time_filter(new_york, &Value::from("2027-03-15T00:00:00Z"))),
            "20:00"
        );
        assert!(time_filter(SHANGHAI, &Value::from("2027-01-20")).is_err());
        assert!(time_filter(SHANGHAI, &Value::UNDEFINED)
            .unwrap()
            .is_undefined());
    }

    #[test]
    fn money_filter_drops_trailing_zeros() {
        assert_eq!(s(money_filter(&Value::from("20.50 CNY"), None)), "20.5 CNY");
        assert_eq!(
            s(money_filter(&Value::from("20 CNY"), Some("USD"))),
            "20 CNY"
        );
        assert_eq!(
            s(money_filter(&Value::from("100.00"), Some("CNY"))),
            "100 CNY"
        );
        assert_eq!(s(money_filter(&Value::from(7.5), Some("SGD"))), "7.5 SGD");
        assert_eq!(s(money_filter(&Value::from(3), Some("USD"))), "3 USD");
        assert!(money_filter(&Value::from(3), None).is_err());
        assert!(money_filter(&Value::from("20 cny"), None).is_err());
        assert!(money_filter(&Value::from("lots"), Some("USD")).is_err());
        assert!(money_filter(&Value::UNDEFINED, None)
            .unwrap()
            .is_undefined());
    }

    #[test]
    fn filters_in_templates() {
        let plan = plan();
        let r = Renderer::new(&plan).unwrap();
        let mut ctx = user("Lin");
        ctx.phase = Some(PhaseId(0));
        let out = r.render(message(&plan, "when"), "en", &ctx).unwrap();
        assert_eq!(
            out.body,
            "2027-01-20 00:00, ends 2027-01-22 00:00, born 1990-05-17"
        );
        ctx.reward = Some(RewardId(0));
        let out = r.render(message(&plan, "prize"), "en", &ctx).unwrap();
        // A bare number gets the budget's currency.
        assert_eq!(
            out.body,
            "coupon_20: 20.5 CNY; spent 12.5 CNY; 7.5 CNY 3 USD 100 CNY"
        );
    }

    #[test]
    fn money_attributes_render_without_trailing_zeros() {
        // Language §5: money renders as `12.5 CNY` in templates, filter or not.
        let plan = plan();
        let r = Renderer::new(&plan).unwrap();
        let out = r
            .render(message(&plan, "spent"), "en", &user("Lin"))
            .unwrap();
        assert_eq!(out.body, "spent 12.5 CNY");
    }

    #[test]
    fn email_bodies_are_escaped_and_nothing_else() {
        let plan = plan();
        let r = Renderer::new(&plan).unwrap();
        let ctx = user("<b>Lin</b> & co");
        let mail = r.render(message(&plan, "recap"), "en", &ctx).unwrap();
        assert!(
            mail.body
                .starts_with("Hi &lt;b&gt;Lin&lt;&#x2f;b&gt; &amp; co,"),
            "{}",
            mail.body
        );
        assert_eq!(mail.subject.as_deref(), Some("For <b>Lin</b> & co"));
        let push = r.render(message(&plan, "hello"), "en", &ctx).unwrap();
        assert_eq!(push.body, "Hi <b>Lin</b> & co");
        assert_eq!(push.subject, None);
    }

    #[test]
    fn missing_values_render_empty() {
        let plan = plan();
        let r = Renderer::new(&plan).unwrap();
        let mut ctx = RenderContext::default();
        // A rank on a leaderboard the plan does not have is not visible either.
        ctx.ranks.insert("elsewhere".into(), 1);
        let mail = r.render(message(&plan, "recap"), "en", &ctx).unwrap();
        assert_eq!(mail.body, "Hi , rank [], tier [].");
        // No phase, no reward, no attributes: lookups through them are empty too.
        let out = r.render(message(&plan, "when"), "en", &ctx).unwrap();
        assert_eq!(out.body, "2027-01-20 00:00, ends  , born ");
        let out = r.render(message(&plan, "prize"), "zh-CN", &ctx).unwrap();
        assert_eq!(out.body, "");
        // A JSON null is no value.
        ctx.user.insert("nickname".into(), serde_json::Value::Null);
        let out = r.render(message(&plan, "hello"), "en", &ctx).unwrap();
        assert_eq!(out.body, "Hi ");

        ctx.ranks.insert("top".into(), 3);
        ctx.participant_tier = Some("gold".into());
        let mail = r.render(message(&plan, "recap"), "en", &ctx).unwrap();
        assert_eq!(mail.body, "Hi , rank [3], tier [gold].");
    }

    #[test]
    fn only_declared_attributes_are_visible() {
        let plan = plan();
        let r = Renderer::new(&plan).unwrap();
        let mut ctx = user("Lin");
        ctx.user.insert("secret".into(), "x".into());
        let vars = r.vars(&ctx).unwrap();
        assert!(vars.user.contains_key("nickname"));
        assert!(!vars.user.contains_key("secret"));
    }

    #[test]
    fn locale_choice_and_fallback() {
        let plan = plan();
        let r = Renderer::new(&plan).unwrap();
        assert_eq!(r.pick_locale(Some("zh-CN")), "zh-CN");
        assert_eq!(r.pick_locale(Some("fr")), "en");
        assert_eq!(r.pick_locale(Some("zh-cn")), "en");
        assert_eq!(r.pick_locale(None), "en");
        let ctx = user("Lin");
        let zh = r.render(message(&plan, "hello"), "zh-CN", &ctx).unwrap();
        assert_eq!(
            (zh.locale.as_str(), zh.body.as_str()),
            ("zh-CN", "你好 Lin")
        );
        let fallback = r.render(message(&plan, "recap"), "fr", &ctx).unwrap();
        assert_eq!(fallback.locale, "en");
        assert_eq!(fallback.subject.as_deref(), Some("For Lin"));
    }

    #[test]
    fn output_is_deterministic() {
        let plan = plan();
        let mut ctx = user("Lin");
        ctx.phase = Some(PhaseId(0));
        ctx.reward = Some(RewardId(0));
        ctx.ranks.insert("top".into(), 2);
        let render_all = || {
            let r = Renderer::new(&plan).unwrap();
            (0..plan.messages.len() as u32)
                .flat_map(|m| ["en", "zh-CN"].map(|l| r.render(MessageId(m), l, &ctx).unwrap()))
                .collect::<Vec<_>>()
        };
        let first = render_all();
        for _ in 0..3 {
            assert_eq!(render_all(), first);
        }
    }

    #[test]
    fn ids_outside_the_plan_are_errors() {
        let plan = plan();
        let r = Renderer::new(&plan).unwrap();
        let ctx = RenderContext {
            phase: Some(PhaseId(99)),
            ..RenderContext::default()
        };
        assert_eq!(
            r.render(MessageId(99), "en", &RenderContext::default()),
            Err(EngineError::UnknownId {
                what: "message",
                index: 99
            })
        );
        assert_eq!(
            r.render(MessageId(0), "en", &ctx),
            Err(EngineError::UnknownId {
                what: "phase",
                index: 99
            })
        );
    }

    #[test]
    fn a_failing_filter_is_an_error_not_a_panic() {
        let plan = plan();
        let r = Renderer::new(&plan).unwrap();
        let mut ctx = user("Lin");
        ctx.user.insert("birthday".into(), "someday".into());
        let err = r.render(message(&plan, "when"), "en", &ctx).unwrap_err();
        assert!(
            matches!(&err, EngineError::Template { message, locale, .. } if message == "when" && locale == "en"),
            "{err:?}"
        );
        assert!(err.to_string().contains("someday"), "{err}");
    }
}
