//! Granting a reward: the checks run `per_user`, then stock (the total, then the local
//! day's), then budget, and the first that fails denies the grant. Nothing is ever issued beyond any of them. A draw rolls
//! a seeded number, so a replay draws the same; the reward won then goes through the
//! same checks. A pool's grant pays the share its firing computed ([`Request::share`]):
//! that share is what the budget check and the spend count.

use crate::effect::{At, Cause, DenyReason, Effect, EventId, Name, UserId};
use crate::invariant::guaranteed;
use crate::random::{Choice, Draws};
use crate::state::packed::Write;
use camp_plan::calendar::{Calendar, Day};
use camp_plan::literal::Money;
use camp_plan::{Plan, Reward, RewardId, RewardKind};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Campaign-wide issuance: how many of each reward went out, and the money spent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Ledger {
    /// Grants issued per reward (a draw's winnings counted for the reward won).
    pub issued: Vec<u64>,
    /// Money spent on monetary rewards, in the budget's currency.
    pub spend: Decimal,
    /// Whether a grant was denied for budget (`until budget exhausted` fires on it).
    pub budget_exhausted: bool,
    /// Units revoked per reward: they are back in stock.
    #[serde(default)]
    pub returned: Vec<u64>,
    /// Grants issued per reward with a daily stock, per local day (the campaign time
    /// zone), oldest day first. A revoke never lowers these: it returns total stock only.
    #[serde(default)]
    pub daily: Vec<Vec<(Day, u64)>>,
}

impl Ledger {
    /// An empty ledger for `plan`.
    pub fn new(plan: &Plan) -> Self {
        Ledger {
            issued: vec![0; plan.rewards.len()],
            spend: Decimal::ZERO,
            budget_exhausted: false,
            returned: vec![0; plan.rewards.len()],
            daily: vec![Vec::new(); plan.rewards.len()],
        }
    }

    /// How many of `reward` were issued on local day `day` (what `stock N per day`
    /// counts).
    pub fn issued_on(&self, reward: RewardId, day: Day) -> u64 {
        self.daily
            .get(reward.index())
            .and_then(|days| days.iter().rev().find(|(d, _)| *d == day))
            .map_or(0, |(_, n)| *n)
    }

    /// One more of `reward` issued on `day`.
    fn count_day(&mut self, reward: RewardId, day: Day) {
        let i = reward.index();
        if self.daily.len() <= i {
            // A ledger restored from before daily stocks existed.
            self.daily.resize(i.saturating_add(1), Vec::new());
        }
        let Some(days) = self.daily.get_mut(i) else {
            return;
        };
        match days.iter_mut().rev().find(|(d, _)| *d == day) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => {
                // Grants come in time order, so the list stays sorted by day.
                let at = days.partition_point(|(d, _)| *d < day);
                days.insert(at, (day, 1));
            }
        }
    }

    /// How many of `reward` are out now: issued less revoked (what `stock` counts).
    pub fn out(&self, reward: RewardId) -> u64 {
        let back = self.returned.get(reward.index()).copied().unwrap_or(0);
        self.issued(reward).saturating_sub(back)
    }

    /// `n` units of `reward` revoked: back in stock.
    pub fn give_back(&mut self, reward: RewardId, n: u64) {
        if let Some(x) = self.returned.get_mut(reward.index()) {
            *x = x.saturating_add(n);
        }
    }

    /// How many of `reward` went out.
    pub fn issued(&self, reward: RewardId) -> u64 {
        self.issued.get(reward.index()).copied().unwrap_or(0)
    }
}

/// One grant to make: to whom, why, and what seeds a draw.
#[derive(Debug, Clone)]
pub struct Request {
    /// When.
    pub at: At,
    /// The participant's id.
    pub user: UserId,
    /// Why.
    pub cause: Cause,
    /// The triggering event's id, if any.
    pub event: Option<EventId>,
    /// The participant whose completion caused it, when that is someone else.
    pub by: Option<UserId>,
    /// For a pool: this recipient's share of its firing. A pool granted without one
    /// (never from a checked campaign) pays its whole amount, as a firing of one would.
    pub share: Option<Money>,
}

/// What one grant of `r` costs against the budget: a coupon's value, an item's cost,
/// a pool's share.
fn cost_of(r: &Reward, share: Option<Money>) -> Option<Money> {
    match &r.kind {
        RewardKind::Pool { amount } => Some(share.unwrap_or(*amount)),
        _ => r.cost,
    }
}

/// What a grant issued or denied: the reward asked for and, for a draw, the reward
/// won; never more than two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rewards([Option<RewardId>; 2]);

impl Rewards {
    fn push(&mut self, r: RewardId) {
        if let Some(slot) = self.0.iter_mut().find(|x| x.is_none()) {
            *slot = Some(r);
        }
    }

    /// In order.
    pub fn iter(&self) -> impl Iterator<Item = RewardId> + '_ {
        self.0.iter().map_while(|x| *x)
    }

    /// The `i`th, if any.
    pub fn get(&self, i: usize) -> Option<RewardId> {
        self.0.get(i).copied().flatten()
    }
}

/// What a grant did besides its effects: the rewards actually issued (for a draw,
/// the draw and what it won), so the caller can add points, move tiers and check
/// goals, and those denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Rewards issued.
    pub issued: Rewards,
    /// Rewards denied (the reward asked for, or what a draw won).
    pub denied: Rewards,
}

/// Why `check` says no to one more `reward` (whose definition is `r`) for this holder.
fn check(
    plan: &Plan,
    ledger: &Ledger,
    held: &impl Write,
    reward: RewardId,
    r: &Reward,
    day: Day,
    share: Option<Money>,
) -> Result<(), DenyReason> {
    if r.per_user
        .is_some_and(|n| held.packed().received(reward) >= n)
    {
        return Err(DenyReason::PerUser);
    }
    if r.stock.is_some_and(|n| ledger.out(reward) >= n) {
        return Err(DenyReason::Stock);
    }
    if r.stock_per_day
        .is_some_and(|n| ledger.issued_on(reward, day) >= n)
    {
        return Err(DenyReason::Stock);
    }
    if let (Some(cost), Some(budget)) = (cost_of(r, share), plan.campaign.budget) {
        if ledger
            .spend
            .checked_add(cost.amount)
            .is_none_or(|spend| spend > budget.amount)
        {
            return Err(DenyReason::Budget);
        }
    }
    Ok(())
}

fn issue(
    plan: &Plan,
    ledger: &mut Ledger,
    held: &mut impl Write,
    reward: RewardId,
    day: Day,
    share: Option<Money>,
) {
    if let Some(n) = ledger.issued.get_mut(reward.index()) {
        *n += 1;
    }
    let r = plan.rewards.get(reward.index());
    if r.is_some_and(|r| r.stock_per_day.is_some()) {
        ledger.count_day(reward, day);
    }
    if let Some(cost) = r.and_then(|r| cost_of(r, share)) {
        ledger.spend = ledger.spend.saturating_add(cost.amount);
    }
    held.hold(reward);
}

fn name(names: &[Name], reward: RewardId) -> Name {
    names
        .get(reward.index())
        .cloned()
        .unwrap_or_else(|| format!("#{}", reward.0).into())
}

/// The plan's rewards and their names (by index), as grants read them.
#[derive(Debug, Clone, Copy)]
pub struct Catalog<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// Reward names, by index.
    pub names: &'a [Name],
    /// The campaign's calendar: a daily stock counts local days.
    pub calendar: Calendar,
}

/// Grants `reward` to one participant, within `per_user`, stock and budget, adding its
/// `grant` and `deny` effects to `effects`. A draw's outcome comes from `draws`.
pub fn grant(
    catalog: Catalog<'_>,
    ledger: &mut Ledger,
    held: &mut impl Write,
    reward: RewardId,
    req: &Request,
    draws: &mut Draws<'_>,
    effects: &mut Vec<Effect>,
) -> Outcome {
    let Catalog {
        plan,
        names,
        calendar,
    } = catalog;
    let day = calendar.day(req.at.0);
    let mut out = Outcome::default();
    let deny = |reward: RewardId, reason: DenyReason, ledger: &mut Ledger| {
        if reason == DenyReason::Budget {
            ledger.budget_exhausted = true;
        }
        Effect::Deny {
            at: req.at,
            user: req.user.clone(),
            reward: name(names, reward),
            cause: req.cause.clone(),
            reason,
        }
    };
    guaranteed!(let Some(r) = plan.rewards.get(reward.index()), "a reward id indexes the plan" else return out);
    let share = match r.kind {
        RewardKind::Pool { amount } => Some(req.share.unwrap_or(amount)),
        _ => None,
    };
    if let Err(reason) = check(plan, ledger, &*held, reward, r, day, share) {
        effects.push(deny(reward, reason, ledger));
        out.denied.push(reward);
        return out;
    }
    let outcomes = match &r.kind {
        RewardKind::Draw { outcomes } => Some(outcomes),
        _ => None,
    };
    issue(plan, ledger, held, reward, day, share);
    out.issued.push(reward);
    let Some(outcomes) = outcomes else {
        effects.push(Effect::Grant {
            at: req.at,
            user: req.user.clone(),
            reward: name(names, reward),
            cause: req.cause.clone(),
            event: req.event.clone(),
            by: req.by.clone(),
            drawn: None,
            value: share,
        });
        return out;
    };
    let won = roll(req, outcomes, draws);
    effects.push(Effect::Grant {
        at: req.at,
        user: req.user.clone(),
        reward: name(names, reward),
        cause: req.cause.clone(),
        event: req.event.clone(),
        by: req.by.clone(),
        drawn: Some(won.map(|w| name(names, w))),
        value: None,
    });
    if let Some(won) = won {
        guaranteed!(let Some(w) = plan.rewards.get(won.index()), "a draw's outcome indexes the plan" else return out);
        match check(plan, ledger, &*held, won, w, day, None) {
            Ok(()) => {
                issue(plan, ledger, held, won, day, None);
                out.issued.push(won);
            }
            Err(reason) => {
                effects.push(deny(won, reason, ledger));
                out.denied.push(won);
            }
        }
    }
    out
}

/// Parts per million of a percent weight (30% is 300_000).
pub(crate) fn ppm(percent: Decimal) -> u64 {
    let scaled = (percent * Decimal::from(10_000)).trunc();
    u64::try_from(scaled.mantissa().max(0)).unwrap_or(0) / 10u64.pow(scaled.scale())
}

/// The reward a draw wins: a point in a million from the campaign's seed (§13.6),
/// against the outcomes' shares in order; past the last share, nothing.
fn roll(
    req: &Request,
    outcomes: &[camp_plan::DrawOutcome],
    draws: &mut Draws<'_>,
) -> Option<RewardId> {
    let choice = Choice::new(&req.cause, &req.user, req.event.as_ref(), req.at);
    let point = draws.below(1_000_000, &choice);
    let mut upto = 0u64;
    for o in outcomes {
        upto += ppm(o.percent);
        if point < upto {
            return Some(o.reward);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use camp_compiler::{compile_file, MemoryLoader};
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;
    use std::path::Path;

    fn plan() -> Plan {
        let src = r#"
campaign c {
  timezone "UTC"
  start    2027-01-01T00:00
  budget   100 CNY
}
event e {}
reward pts    = points 10
reward cp     = coupon { value 30 CNY  stock 5  per_user 2 }
reward watch  = item "Watch" { cost 50 CNY  stock 1 }
reward badge1 = badge "Early"
reward lucky  = draw { 50% cp  10% watch  20% pts }
phase p for 1d {
  task t {
    on e
    grant pts
    grant cp
    grant watch
    grant badge1
    grant lucky
  }
}
"#;
        let r = compile_file(&MemoryLoader::with(&[("c.camp", src)]), Path::new("c.camp")).unwrap();
        r.plan
            .unwrap_or_else(|| panic!("{:#?}", r.check.diagnostics))
    }

    fn id(plan: &Plan, name: &str) -> RewardId {
        RewardId(plan.rewards.iter().position(|r| r.name == name).unwrap() as u32)
    }

    fn req(user: &str, event: &str) -> Request {
        Request {
            at: At(Utc.with_ymd_and_hms(2027, 1, 1, 8, 0, 0).unwrap()),
            user: user.into(),
            cause: Cause::Task("t".into()),
            event: Some(event.into()),
            by: None,
            share: None,
        }
    }

    fn names(p: &Plan) -> Vec<Name> {
        p.rewards
            .iter()
            .map(|r| Name::from(r.name.as_str()))
            .collect()
    }

    /// A grant's effects and outcome together.
    struct Granted {
        effects: Vec<Effect>,
        issued: Vec<RewardId>,
    }

    fn grant(
        plan: &Plan,
        names: &[Name],
        ledger: &mut Ledger,
        held: &mut impl Write,
        reward: RewardId,
        req: &Request,
    ) -> Granted {
        let mut effects = Vec::new();
        // One step per test grant: each starts at ordinal 0, like an input event.
        let key = crate::random::Key::new(&crate::random::Seed::from_text("test"));
        let mut made = 0;
        let mut draws = Draws::new(&key, &mut made);
        let o = super::grant(
            Catalog {
                plan,
                names,
                calendar: Calendar::new(chrono_tz::UTC),
            },
            ledger,
            held,
            reward,
            req,
            &mut draws,
            &mut effects,
        );
        Granted {
            effects,
            issued: o.issued.iter().collect(),
        }
    }

    fn reason(o: &Granted) -> Option<DenyReason> {
        o.effects.iter().find_map(|e| match e {
            Effect::Deny { reason, .. } => Some(*reason),
            _ => None,
        })
    }

    #[test]
    fn per_user_then_stock_then_budget() {
        let p = plan();
        let mut ledger = Ledger::new(&p);
        let cp = id(&p, "cp");
        let mut a = Vec::<u8>::new();
        assert_eq!(
            reason(&grant(
                &p,
                &names(&p),
                &mut ledger,
                &mut a,
                cp,
                &req("a", "e1")
            )),
            None
        );
        assert_eq!(
            reason(&grant(
                &p,
                &names(&p),
                &mut ledger,
                &mut a,
                cp,
                &req("a", "e2")
            )),
            None
        );
        assert_eq!(
            reason(&grant(
                &p,
                &names(&p),
                &mut ledger,
                &mut a,
                cp,
                &req("a", "e3")
            )),
            Some(DenyReason::PerUser)
        );
        assert_eq!(ledger.spend, Decimal::from(60));
        let mut b = Vec::<u8>::new();
        // 60 spent; a third coupon (30) fits, a fourth (120 > 100) is over budget.
        assert_eq!(
            reason(&grant(
                &p,
                &names(&p),
                &mut ledger,
                &mut b,
                cp,
                &req("b", "e4")
            )),
            None
        );
        assert_eq!(
            reason(&grant(
                &p,
                &names(&p),
                &mut ledger,
                &mut b,
                cp,
                &req("b", "e5")
            )),
            Some(DenyReason::Budget)
        );
        assert!(ledger.budget_exhausted);
        assert_eq!(ledger.issued(cp), 3);
    }

    #[test]
    fn stock_comes_before_budget() {
        let p = plan();
        let mut ledger = Ledger::new(&p);
        let watch = id(&p, "watch");
        assert_eq!(
            reason(&grant(
                &p,
                &names(&p),
                &mut ledger,
                &mut Vec::<u8>::new(),
                watch,
                &req("a", "e1")
            )),
            None
        );
        ledger.spend = Decimal::from(99);
        assert_eq!(
            reason(&grant(
                &p,
                &names(&p),
                &mut ledger,
                &mut Vec::<u8>::new(),
                watch,
                &req("b", "e2")
            )),
            Some(DenyReason::Stock)
        );
        assert!(!ledger.budget_exhausted);
    }

    #[test]
    fn a_badge_is_held_once() {
        let p = plan();
        let mut ledger = Ledger::new(&p);
        let badge = id(&p, "badge1");
        let mut a = Vec::<u8>::new();
        assert_eq!(
            reason(&grant(
                &p,
                &names(&p),
                &mut ledger,
                &mut a,
                badge,
                &req("a", "e1")
            )),
            None
        );
        assert_eq!(
            reason(&grant(
                &p,
                &names(&p),
                &mut ledger,
                &mut a,
                badge,
                &req("a", "e2")
            )),
            Some(DenyReason::PerUser)
        );
    }

    #[test]
    fn draws_are_seeded_and_follow_their_weights() {
        let p = plan();
        let lucky = id(&p, "lucky");
        let mut wins = std::collections::BTreeMap::<String, u32>::new();
        for i in 0..10_000 {
            let mut ledger = Ledger::new(&p);
            let o = grant(
                &p,
                &names(&p),
                &mut ledger,
                &mut Vec::<u8>::new(),
                lucky,
                &req("a", &format!("e{i}")),
            );
            let o2 = grant(
                &p,
                &names(&p),
                &mut Ledger::new(&p),
                &mut Vec::<u8>::new(),
                lucky,
                &req("a", &format!("e{i}")),
            );
            assert_eq!(o.effects, o2.effects, "the same event draws the same");
            match o.effects.first() {
                Some(Effect::Grant {
                    drawn: Some(won), ..
                }) => {
                    *wins
                        .entry(won.as_deref().unwrap_or("-").to_string())
                        .or_default() += 1
                }
                other => panic!("a draw grants first: {other:?}"),
            }
        }
        let share = |k: &str| f64::from(*wins.get(k).unwrap_or(&0)) / 10_000.0;
        assert!((share("cp") - 0.5).abs() < 0.03, "{wins:?}");
        assert!((share("watch") - 0.1).abs() < 0.02, "{wins:?}");
        assert!((share("pts") - 0.2).abs() < 0.02, "{wins:?}");
        assert!((share("-") - 0.2).abs() < 0.02, "{wins:?}");
    }

    #[test]
    fn a_won_reward_out_of_stock_is_denied_after_the_draw() {
        let p = plan();
        let (lucky, watch) = (id(&p, "lucky"), id(&p, "watch"));
        let mut ledger = Ledger::new(&p);
        ledger.issued[watch.index()] = 1;
        let found = (0..10_000).find_map(|i| {
            let o = grant(&p, &names(&p), &mut ledger.clone(), &mut Vec::<u8>::new(), lucky, &req("a", &format!("e{i}")));
            matches!(o.effects.first(), Some(Effect::Grant { drawn: Some(Some(w)), .. }) if &**w == "watch").then_some(o)
        });
        let o = found.expect("some event wins the watch");
        assert_eq!(o.effects.len(), 2);
        assert_eq!(reason(&o), Some(DenyReason::Stock));
        assert_eq!(o.issued, vec![lucky]);
    }

    proptest! {
        #[test]
        fn never_over_stock_budget_or_per_user(grants in proptest::collection::vec((0usize..5, 0usize..4), 0..300)) {
            let p = plan();
            let mut ledger = Ledger::new(&p);
            let mut holdings = vec![Vec::<u8>::new(); 4];
            for (i, (reward, user)) in grants.iter().enumerate() {
                let r = RewardId(*reward as u32);
                let _ = grant(&p, &names(&p), &mut ledger, &mut holdings[*user], r, &req(&format!("u{user}"), &format!("e{i}")));
            }
            for (i, r) in p.rewards.iter().enumerate() {
                let rid = RewardId(i as u32);
                if let Some(stock) = r.stock { prop_assert!(ledger.issued(rid) <= stock); }
                if let Some(per) = r.per_user { for h in &holdings { prop_assert!(h.packed().held(rid) <= per); } }
                let total: u64 = holdings.iter().map(|h| h.packed().held(rid)).sum();
                prop_assert_eq!(total, ledger.issued(rid));
            }
            prop_assert!(ledger.spend <= Decimal::from(100));
        }
    }
}
