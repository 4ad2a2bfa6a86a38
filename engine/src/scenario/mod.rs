//! Scenario tests (`*.test.yaml`): users, events, an optional stop time and the effects
//! expected, the way a growth team unit-tests a campaign before launch. A file holds one
//! scenario, or several as YAML documents separated by `---`.
//!
//! An expectation names some fields of an effect (`kind`, `user`, `reward`, `cause`,
//! `at`...) and matches every effect with those values; `count` asks for exactly that
//! many (default: at least one). `at` compares instants, so any offset may be written.
//! `body_contains` matches a send whose body contains the text.
//!
//! A KPI expectation names a KPI (and, for a KPI reported by arms, an arm) and its
//! value at the end of the run, compared exactly as a decimal (`value: 0.25`), or
//! whether it meets its target (`met: true`).

use crate::effect::{Effect, KINDS};
use crate::input::{EventLine, UserLine};
use crate::random::Seed;
use crate::replay::{self, Until};
use crate::Engine;
use camp_plan::literal::DateTimeLit;
use camp_plan::suggest::did_you_mean;
use chrono::DateTime;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// One scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What it tests (defaults to the file's name).
    #[serde(default)]
    pub name: Option<String>,
    /// The campaign (`.camp` or `plan.json`), relative to the scenario file.
    pub campaign: PathBuf,
    /// The users.
    #[serde(default)]
    pub users: Vec<UserLine>,
    /// The events, taken in `at` order.
    #[serde(default)]
    pub events: Vec<EventLine>,
    /// Where the run stops (with an offset, or local to the campaign); default: the
    /// campaign's end.
    #[serde(default, deserialize_with = "until")]
    pub until: Option<DateTimeLit>,
    /// The seed of draws and raffles (64 hex digits, or any text whose SHA-256 is the
    /// seed); default: derived from the plan.
    #[serde(default)]
    pub seed: Option<String>,
    /// The effects expected.
    #[serde(default)]
    pub expect: Vec<Expectation>,
}

impl Scenario {
    /// The seed the scenario asks for, if any.
    pub fn seed(&self) -> Option<Seed> {
        self.seed.as_deref().map(Seed::from_text)
    }
}

/// `until:` as an event's `at` is read: with an offset, or local to the campaign.
fn until<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DateTimeLit>, D::Error> {
    crate::input::instant(d).map(Some)
}

/// Runs a scenario on `engine` (built with the scenario's [`Scenario::seed`]): its users,
/// its events in `at` order, up to `until`; then checks every expectation. `Err` says
/// why it failed, in the words `camp test` prints.
pub fn run(engine: &Engine, s: &Scenario) -> Result<(), String> {
    let mut state = engine.start();
    let mut problems = String::new();
    for u in &s.users {
        if let Err(e) = engine.user(&mut state, u) {
            problems.push_str(&format!("user `{}`: {e}\n", u.id));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let until = s
        .until
        .map_or(Until::End, |t| Until::At(engine.calendar().resolve(t)));
    let out = replay::run_events(engine, &mut state, &s.events, until);
    // An expected `at` without an offset is local to the campaign, as an event's is.
    let expect: Vec<Expectation> = s
        .expect
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let Some(Json::String(at)) = e.fields.get_mut("at") {
                if crate::input::parse_instant(at).is_err() {
                    if let Ok(t) = crate::input::parse_at(at) {
                        *at = engine
                            .calendar()
                            .resolve(t)
                            .format("%Y-%m-%dT%H:%M:%SZ")
                            .to_string();
                    }
                }
            }
            e
        })
        .collect();
    let mut text: String = verify(&expect, &out.effects)
        .iter()
        .map(ToString::to_string)
        .collect();
    for (i, e) in s.expect.iter().enumerate() {
        if let Some(k) = &e.kpi {
            if let Err(why) = verify_kpi(engine, &state, k) {
                text.push_str(&format!("expectation {}: {e}\n  {why}\n", i + 1));
            }
        }
    }
    if text.is_empty() {
        Ok(())
    } else {
        Err(text)
    }
}

/// A KPI expected at the end of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiExpectation {
    /// The KPI's name.
    pub kpi: String,
    /// The arm, for a KPI reported by arms.
    pub arm: Option<String>,
    /// Its value, exactly.
    pub value: Option<rust_decimal::Decimal>,
    /// Whether it meets its target.
    pub met: Option<bool>,
}

/// Checks a KPI expectation; `Err` says what the KPI is instead, or that the scenario
/// names a KPI or arm the campaign does not have.
fn verify_kpi(
    engine: &Engine,
    state: &crate::state::State,
    k: &KpiExpectation,
) -> Result<(), String> {
    let plan = engine.plan();
    let Some(index) = plan.kpis.iter().position(|x| x.name == k.kpi) else {
        let hint = did_you_mean(&k.kpi, plan.kpis.iter().map(|x| x.name.as_str()))
            .map_or(String::new(), |h| format!("; {h}"));
        return Err(format!(
            "the scenario file names no KPI of the campaign: `{}`{hint}",
            k.kpi
        ));
    };
    let report = engine.kpis(state).into_iter().nth(index);
    let Some(report) = report else {
        return Err(format!("no KPI `{}`", k.kpi));
    };
    let (value, what) = match &k.arm {
        None => (engine.kpi_value(state, index, None), String::new()),
        Some(arm) => {
            let names: Vec<&str> = report.arms.iter().map(|a| a.arm.as_str()).collect();
            let Some(pos) = names.iter().position(|n| n == arm) else {
                let hint = if names.is_empty() {
                    "; it is not reported by arms".to_string()
                } else {
                    did_you_mean(arm, names.iter().copied()).map_or_else(
                        || format!(" (its arms: {})", names.join(", ")),
                        |h| format!("; {h}"),
                    )
                };
                return Err(format!(
                    "the scenario file names an arm the KPI `{}` does not have: `{arm}`{hint}",
                    k.kpi
                ));
            };
            (
                engine.kpi_value(state, index, Some(pos)),
                format!(" over the arm `{arm}`"),
            )
        }
    };
    if let Some(want) = k.value {
        let got = value.as_ref().and_then(crate::kpi::as_decimal);
        if got != Some(want) {
            let shown = got.map_or_else(|| "null".to_string(), |d| d.normalize().to_string());
            return Err(format!(
                "the KPI is {shown}{what}, not {}",
                want.normalize()
            ));
        }
    }
    if let Some(want) = k.met {
        if report.met != want {
            let shown = report.value.to_string();
            return Err(format!(
                "the KPI is {shown} against the target {} {}: {}",
                report.op,
                report.target,
                if report.met { "met" } else { "not met" }
            ));
        }
    }
    Ok(())
}

/// Reads a KPI expectation's fields (`kpi`, `arm`, `value`, `met`).
fn kpi_expectation(fields: &BTreeMap<String, Json>) -> Result<KpiExpectation, String> {
    const KNOWN: [&str; 4] = ["kpi", "arm", "value", "met"];
    for name in fields.keys() {
        if !KNOWN.contains(&name.as_str()) {
            let hint = did_you_mean(name, KNOWN).map_or(String::new(), |h| format!("; {h}"));
            return Err(format!(
                "a KPI expectation has no field `{name}` (it has kpi, arm, value, met){hint}"
            ));
        }
    }
    let text = |name: &str| match fields.get(name) {
        None => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("`{name}` must be a name, found {other}")),
    };
    let value = match fields.get("value") {
        None => None,
        Some(Json::Number(n)) => Some(n.to_string()),
        Some(Json::String(s)) => Some(s.clone()),
        Some(other) => return Err(format!("`value` must be a number, found {other}")),
    }
    .map(|v| {
        v.parse::<rust_decimal::Decimal>()
            .or_else(|_| rust_decimal::Decimal::from_scientific(&v))
            .map_err(|_| format!("`value` must be a decimal number, found {v}"))
    })
    .transpose()?;
    let met = match fields.get("met") {
        None => None,
        Some(Json::Bool(b)) => Some(*b),
        Some(other) => return Err(format!("`met` must be true or false, found {other}")),
    };
    if value.is_none() && met.is_none() {
        return Err("a KPI expectation needs a `value` or `met`".into());
    }
    Ok(KpiExpectation {
        kpi: text("kpi")?.unwrap_or_default(),
        arm: text("arm")?,
        value,
        met,
    })
}

/// Effects expected: the fields to match and how many.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// Field → value, as written.
    pub fields: BTreeMap<String, Json>,
    /// Exactly this many; `None`: at least one.
    pub count: Option<u64>,
    /// For a KPI expectation (`kpi:` instead of `kind:`): what is expected of it.
    pub kpi: Option<KpiExpectation>,
}

impl<'de> Deserialize<'de> for Expectation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut fields = BTreeMap::<String, Json>::deserialize(d)?;
        if fields.contains_key("kpi") && !fields.contains_key("kind") {
            let kpi = kpi_expectation(&fields).map_err(serde::de::Error::custom)?;
            return Ok(Expectation {
                fields,
                count: None,
                kpi: Some(kpi),
            });
        }
        let count = match fields.remove("count") {
            None => None,
            Some(Json::Number(n)) => Some(n.as_u64().ok_or_else(|| {
                serde::de::Error::custom("`count` must be a whole number, 0 or more")
            })?),
            Some(other) => {
                return Err(serde::de::Error::custom(format!(
                    "`count` must be a whole number, found {other}"
                )))
            }
        };
        check_fields(&fields).map_err(serde::de::Error::custom)?;
        Ok(Expectation {
            fields,
            count,
            kpi: None,
        })
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `kind` first, then the rest in name order, then `count`.
        let mut parts: Vec<String> = Vec::new();
        let show = |v: &Json| match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        for first in ["kind", "kpi"] {
            if let Some(k) = self.fields.get(first) {
                parts.push(format!("{first}: {}", show(k)));
            }
        }
        for (k, v) in self
            .fields
            .iter()
            .filter(|(k, _)| *k != "kind" && *k != "kpi")
        {
            parts.push(format!("{k}: {}", show(v)));
        }
        if let Some(c) = self.count {
            parts.push(format!("count: {c}"));
        }
        write!(f, "{{ {} }}", parts.join(", "))
    }
}

/// An expectation names a kind the effects have and only fields that kind carries
/// (plus `body_contains` on sends): a typo is an error, never an expectation that
/// silently matches nothing.
fn check_fields(fields: &BTreeMap<String, Json>) -> Result<(), String> {
    let kinds = || KINDS.iter().map(|(k, _)| *k);
    let kind = match fields.get("kind") {
        Some(Json::String(k)) => k.as_str(),
        Some(other) => return Err(format!("`kind` must be a name, found {other}")),
        None => {
            return Err(format!(
                "an expectation needs a `kind` ({}) or a `kpi`",
                kinds().collect::<Vec<_>>().join(", ")
            ))
        }
    };
    let Some((_, carried)) = KINDS.iter().find(|(k, _)| *k == kind) else {
        let hint = did_you_mean(kind, kinds()).map_or(String::new(), |h| format!("; {h}"));
        return Err(format!("no effect has the kind `{kind}`{hint}"));
    };
    // `count` in an expectation is how many effects match, so the `count` a use, gift
    // or revoke carries is matched as `units`.
    let extra: &[&str] = match kind {
        "send" => &["body_contains"],
        "use" | "give" | "revoke" => &["units"],
        _ => &[],
    };
    let known = || carried.iter().chain(extra).copied().chain(["kind"]);
    for name in fields.keys() {
        if !known().any(|k| k == name) {
            let hint = did_you_mean(name, known()).map_or(String::new(), |h| format!("; {h}"));
            return Err(format!(
                "a `{kind}` effect has no field `{name}` (it has {}){hint}",
                carried.join(", ")
            ));
        }
    }
    Ok(())
}

/// Parses a scenario file: one scenario or several YAML documents.
pub fn parse(text: &str) -> Result<Vec<Scenario>, String> {
    // A UTF-8 byte order mark some editors write is not part of the YAML.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_saphyr::from_multiple::<Scenario>(text).map_err(|e| e.to_string())
}

/// Whether a written value matches an effect's: equal, or equal as text (`user: 42`
/// matches `"42"`), or the same instant for `at`.
fn same(field: &str, want: &Json, got: &Json) -> bool {
    if want == got {
        return true;
    }
    let text = |v: &Json| match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match (text(want), text(got)) {
        (Some(w), Some(g)) if field == "at" => {
            match (
                DateTime::parse_from_rfc3339(&w),
                DateTime::parse_from_rfc3339(&g),
            ) {
                (Ok(a), Ok(b)) => a == b,
                _ => w == g,
            }
        }
        (Some(w), Some(g)) => w == g,
        _ => false,
    }
}

/// How many of an expectation's fields an effect matches.
fn score(e: &Expectation, effect: &Map<String, Json>) -> usize {
    e.fields
        .iter()
        .filter(|(k, v)| match k.as_str() {
            "body_contains" => matches!(
                (effect.get("body"), v),
                (Some(Json::String(body)), Json::String(part)) if body.contains(part.as_str())
            ),
            "units" => effect.get("count").is_some_and(|got| same(k, v, got)),
            _ => effect.get(k.as_str()).is_some_and(|got| same(k, v, got)),
        })
        .count()
}

/// An expectation that was not met.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Its position in `expect`, from 1.
    pub index: usize,
    /// The expectation.
    pub expectation: Expectation,
    /// How many effects matched.
    pub matched: usize,
    /// The effects that came closest (most fields matched), as JSON lines.
    pub closest: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wanted = match self.expectation.count {
            Some(n) => format!("exactly {n}"),
            None => "at least one".to_string(),
        };
        writeln!(f, "expectation {}: {}", self.index, self.expectation)?;
        writeln!(
            f,
            "  wanted {wanted} matching effect(s), found {}",
            self.matched
        )?;
        if self.closest.is_empty() {
            writeln!(f, "  no effect of that kind happened")?;
        } else {
            writeln!(f, "  closest effects:")?;
            for c in &self.closest {
                writeln!(f, "    {c}")?;
            }
        }
        Ok(())
    }
}

/// How many closest effects a failure shows.
const CLOSEST: usize = 3;

/// Checks every expectation against the effects of a run.
pub fn verify(expect: &[Expectation], effects: &[Effect]) -> Vec<Failure> {
    let objects: Vec<Map<String, Json>> = effects
        .iter()
        .filter_map(|e| match serde_json::to_value(e) {
            Ok(Json::Object(m)) => Some(m),
            _ => None,
        })
        .collect();
    let mut failures = Vec::new();
    for (i, e) in expect.iter().enumerate() {
        if e.kpi.is_some() {
            continue;
        }
        let total = e.fields.len();
        let matched: Vec<&Map<String, Json>> =
            objects.iter().filter(|o| score(e, o) == total).collect();
        let ok = match e.count {
            Some(n) => matched.len() as u64 == n,
            None => !matched.is_empty(),
        };
        if ok {
            continue;
        }
        // Too many: show the ones that matched; too few: the nearest of the same kind.
        let closest: Vec<String> = if !matched.is_empty() {
            matched
                .iter()
                .take(CLOSEST)
                .map(|o| Json::Object((*o).clone()).to_string())
                .collect()
        } else {
            let kind = e.fields.get("kind");
            let mut near: Vec<(usize, usize, &Map<String, Json>)> = objects
                .iter()
                .enumerate()
                .filter(|(_, o)| kind.is_none_or(|k| o.get("kind") == Some(k)))
                .map(|(n, o)| (score(e, o), n, o))
                .collect();
            near.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            near.iter()
                .take(CLOSEST)
                .map(|(_, _, o)| Json::Object((*o).clone()).to_string())
                .collect()
        };
        failures.push(Failure {
            index: i + 1,
            expectation: e.clone(),
            matched: matched.len(),
            closest,
        });
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
name: one check-in
campaign: ../c.camp
users:
  - { id: u1, attrs: { nickname: Lin, level: 3 } }
events:
  - { id: e1, type: checkin, user: u1, at: "2027-01-26T09:00:00+08:00" }
until: "2027-02-13T00:00:00+08:00"
expect:
  - { kind: grant, user: u1, reward: points_10, count: 1 }
  - { kind: grant, user: u1, reward: coupon_20, count: 0 }
  - { kind: complete, at: "2027-01-26T01:00:00Z" }
---
campaign: ../c.camp
"#;

    fn effects() -> Vec<Effect> {
        let lines = [
            r#"{"kind":"complete","at":"2027-01-26T01:00:00Z","user":"u1","task":"t","event":"e1"}"#,
            r#"{"kind":"grant","at":"2027-01-26T01:00:00Z","user":"u1","reward":"points_10","cause":"task:t","event":"e1"}"#,
        ];
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn scenarios_parse_with_several_documents() {
        let s = parse(YAML).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name.as_deref(), Some("one check-in"));
        assert_eq!(s[0].users[0].attrs.get("level"), Some(&Json::from(3)));
        assert_eq!(s[0].expect[0].count, Some(1));
        assert!(s[1].events.is_empty());
    }

    #[test]
    fn bad_scenarios_are_errors_not_panics() {
        assert!(parse("campaign: [").is_err());
        assert!(parse("campaign: x\nexpect:\n  - { user: u1 }\n")
            .unwrap_err()
            .contains("kind"));
        assert!(parse("campaign: x\nexpect:\n  - { kind: grant, count: -1 }\n").is_err());
        assert!(parse("campaign: x\nbogus: 1\n").is_err());
    }

    #[test]
    fn expectations_match_named_fields_and_counts() {
        let s = parse(YAML).unwrap();
        assert!(verify(&s[0].expect, &effects()).is_empty());
        let wrong = parse(
            "campaign: x\nexpect:\n  - { kind: grant, user: u1, reward: coupon_20 }\n  - { kind: complete, count: 2 }\n",
        )
        .unwrap();
        let f = verify(&wrong[0].expect, &effects());
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].matched, 0);
        assert!(f[0].closest[0].contains("points_10"), "{f:?}");
        assert_eq!(f[1].matched, 1);
        let text = f[0].to_string();
        assert!(
            text.contains("expectation 1: { kind: grant, reward: coupon_20, user: u1 }"),
            "{text}"
        );
    }

    #[test]
    fn typos_in_expectations_are_errors_with_a_suggestion() {
        let err = |body: &str| parse(&format!("campaign: x\nexpect:\n  - {body}\n")).unwrap_err();
        let e = err("{ kind: grnat, count: 0 }");
        assert!(
            e.contains("no effect has the kind `grnat`") && e.contains("did you mean `grant`?"),
            "{e}"
        );
        let e = err("{ kind: grant, usr: u1 }");
        assert!(
            e.contains("no field `usr`") && e.contains("did you mean `user`?"),
            "{e}"
        );
        let e = err("{ kind: grant, rewrd: p }");
        assert!(e.contains("did you mean `reward`?"), "{e}");
        // A field another kind carries is still an error for this one.
        let e = err("{ kind: reject, user: u1 }");
        assert!(e.contains("a `reject` effect has no field `user`"), "{e}");
        let e = err("{ kind: grant, body_contains: hi }");
        assert!(e.contains("no field `body_contains`"), "{e}");
        assert!(
            parse("campaign: x\nexpect:\n  - { kind: send, body_contains: hi, subject: s }\n")
                .is_ok()
        );
        assert!(
            parse("campaign: x\nexpect:\n  - { kind: suppress, reason: render, error: x }\n")
                .is_ok()
        );
    }
}
