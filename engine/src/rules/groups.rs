//! Groups (language §7, 拼团 and 砍一刀): a task opens a group by a key the platform
//! chooses, others join it; it fills when its `size`-th member joins and expires when
//! its `within` runs out or the campaign ends, whichever is first. A group is in
//! exactly one of open, filled and expired, and ends once.
//!
//! The state is compact plain data: per group kind, the groups in the order they were
//! opened and a map from key to group number; one queue of expiry instants for all
//! kinds. A campaign without groups keeps empty vectors.

use crate::effect::{Cause, Effect, EventId, GroupChange, Name};
use crate::invariant::guaranteed;
use crate::rules::actions::Scope;
use crate::step::Step;
use camp_plan::{GroupId, Value};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use std::collections::{BTreeMap, BTreeSet};

/// Where a group stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Open: waiting for members.
    Open,
    /// Its last member joined.
    Filled,
    /// It ran out of time unfilled.
    Expired,
}

/// One group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Its key (from the opening event).
    pub key: SmolStr,
    /// Members' user numbers in join order, the opener first.
    pub members: Vec<u32>,
    /// When it was opened.
    pub opened: DateTime<Utc>,
    /// When it expires if still open (`None`: at the campaign's end).
    pub expires: Option<DateTime<Utc>>,
    /// Open, filled or expired.
    pub standing: Standing,
}

impl Group {
    /// The opener's user number.
    pub fn opener(&self) -> Option<u32> {
        self.members.first().copied()
    }
}

/// The groups of one kind.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Kind {
    /// Groups in the order they were opened.
    pub groups: Vec<Group>,
    /// Key → group number (ordered, so nothing depends on a hash).
    pub by_key: BTreeMap<SmolStr, u32>,
}

/// Every group of the campaign.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Groups {
    /// Per group kind of the plan.
    pub kinds: Vec<Kind>,
    /// Open groups with an expiry: (when, kind, group number).
    pub expiries: BTreeSet<(DateTime<Utc>, u32, u32)>,
}

impl Groups {
    /// A group by kind and number.
    pub fn get(&self, kind: u32, group: u32) -> Option<&Group> {
        self.kinds.get(kind as usize)?.groups.get(group as usize)
    }

    /// A group by kind and key.
    pub fn find(&self, kind: GroupId, key: &str) -> Option<(u32, &Group)> {
        let k = self.kinds.get(kind.index())?;
        let &n = k.by_key.get(key)?;
        Some((n, k.groups.get(n as usize)?))
    }

    /// The `i`th member of a group.
    pub(crate) fn member(&self, kind: u32, group: u32, i: usize) -> Option<u32> {
        self.get(kind, group)?.members.get(i).copied()
    }

    /// When the next open group expires.
    pub(crate) fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.expiries.first().map(|(t, _, _)| *t)
    }

    fn get_mut(&mut self, kind: u32, group: u32) -> Option<&mut Group> {
        self.kinds
            .get_mut(kind as usize)?
            .groups
            .get_mut(group as usize)
    }
}

/// The key an `open` or `join` reads: the event's `string` field.
pub(crate) fn key_of(fields: &[Value], key: u32) -> Option<&str> {
    match fields.get(key as usize)? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

impl Step<'_> {
    fn group_name(&self, kind: u32) -> Name {
        self.engine
            .plan
            .groups
            .get(kind as usize)
            .map_or_else(|| Name::from(""), |g| Name::from(g.name.as_str()))
    }

    fn group_effect(&mut self, kind: u32, key: &str, user: Option<u32>, change: GroupChange) {
        let user = user.and_then(|u| self.state.user(u)).map(|u| u.id.clone());
        let at = self.at();
        let group = self.group_name(kind);
        self.emit(Effect::Group {
            at,
            group,
            key: Name::from(key),
            user,
            change,
        });
    }

    fn count_group(&mut self, kind: u32, which: usize) {
        if let Some(n) = self
            .state
            .metrics
            .groups
            .get_mut(kind as usize)
            .and_then(|c| c.get_mut(which))
        {
            *n += 1;
        }
    }

    /// Whether `u` may open a group of `kind` with `key` (never opened before).
    pub(crate) fn can_open(&self, kind: GroupId, key: &str) -> bool {
        self.state.groups.find(kind, key).is_none()
    }

    /// Whether `u` may join the group of `kind` with `key`: open, not full, and `u` not
    /// in it yet.
    pub(crate) fn can_join(&self, u: u32, kind: GroupId, key: &str) -> bool {
        let size = self
            .engine
            .plan
            .groups
            .get(kind.index())
            .map_or(0, |g| g.size as usize);
        self.state.groups.find(kind, key).is_some_and(|(_, g)| {
            g.standing == Standing::Open && g.members.len() < size && !g.members.contains(&u)
        })
    }

    /// `open GROUP by event.FIELD` for `u`.
    pub(crate) fn open_group(&mut self, u: u32, kind: GroupId, key: &str) {
        if !self.can_open(kind, key) {
            return;
        }
        let now = self.now;
        let expires = self
            .engine
            .plan
            .groups
            .get(kind.index())
            .and_then(|g| g.within)
            .map(|d| self.engine.calendar.add(now, d));
        let k = crate::engine::id32(kind.index());
        guaranteed!(let Some(slot) = self.state.groups.kinds.get_mut(kind.index()), "group kinds are kept for the plan's" else return);
        let n = crate::engine::id32(slot.groups.len());
        slot.groups.push(Group {
            key: SmolStr::new(key),
            members: vec![u],
            opened: now,
            expires,
            standing: Standing::Open,
        });
        slot.by_key.insert(SmolStr::new(key), n);
        if let Some(t) = expires {
            self.state.groups.expiries.insert((t, k, n));
        }
        self.count_group(k, 0);
        self.group_effect(k, key, Some(u), GroupChange::Open);
    }

    /// `join GROUP by event.FIELD` for `u`; returns the group when this join filled it
    /// (its `filled` outcome runs after the joining action block).
    pub(crate) fn join_group(&mut self, u: u32, kind: GroupId, key: &str) -> Option<(u32, u32)> {
        if !self.can_join(u, kind, key) {
            return None;
        }
        let size = self.engine.plan.groups.get(kind.index())?.size as usize;
        let k = crate::engine::id32(kind.index());
        let (n, _) = self.state.groups.find(kind, key)?;
        let g = self.state.groups.get_mut(k, n)?;
        g.members.push(u);
        let filled = g.members.len() >= size;
        let expires = g.expires;
        if filled {
            g.standing = Standing::Filled;
            if let Some(t) = expires {
                self.state.groups.expiries.remove(&(t, k, n));
            }
        }
        self.count_group(k, 1);
        self.group_effect(k, key, Some(u), GroupChange::Join);
        filled.then_some((k, n))
    }

    /// A group just filled: its `filled` effect, then its outcome.
    pub(crate) fn group_filled(&mut self, (kind, n): (u32, u32), event: Option<&EventId>) {
        let Some(key) = self.state.groups.get(kind, n).map(|g| g.key.clone()) else {
            return;
        };
        self.count_group(kind, 2);
        self.group_effect(kind, &key, None, GroupChange::Filled);
        self.outcome(kind, n, event, true);
    }

    /// Expires a group still open now: its `expired` effect, then its outcome.
    fn expire(&mut self, kind: u32, n: u32) {
        let Some(g) = self.state.groups.get_mut(kind, n) else {
            return;
        };
        if g.standing != Standing::Open {
            return;
        }
        g.standing = Standing::Expired;
        let key = g.key.clone();
        if let Some(t) = g.expires {
            self.state.groups.expiries.remove(&(t, kind, n));
        }
        self.count_group(kind, 3);
        self.group_effect(kind, &key, None, GroupChange::Expired);
        self.outcome(kind, n, None, false);
    }

    /// Runs a group's `filled` or `expired` actions (default target: every member).
    fn outcome(&mut self, kind: u32, n: u32, event: Option<&EventId>, filled: bool) {
        let engine = self.engine;
        let Some(g) = engine.plan.groups.get(kind as usize) else {
            return;
        };
        let actions = if filled { &g.filled } else { &g.expired };
        if actions.is_empty() {
            return;
        }
        let Some(opener) = self.state.groups.get(kind, n).and_then(Group::opener) else {
            return;
        };
        let cause = Cause::Group(Name::from(g.name.as_str()));
        let scope = Scope {
            own: opener,
            by: None,
            event,
            fields: &[],
            group: Some((kind, n)),
            phase: self.state.running(),
        };
        // One outcome is one firing: a pool is shared among the members it reaches.
        let pools = self.pool_recipients(actions, 1, Some((kind, n)));
        self.firing(&pools, |step| step.run_actions(actions, &cause, &scope));
    }

    /// Expires every group whose time is up by now, in expiry order (§13.4: the first
    /// time-driven step at an instant).
    pub(crate) fn expire_due(&mut self) {
        while let Some(&(t, kind, n)) = self.state.groups.expiries.first() {
            if t > self.now {
                break;
            }
            self.state.groups.expiries.pop_first();
            self.state.seq += 1;
            self.draws_made = 0;
            self.expire(kind, n);
        }
    }

    /// The campaign ends: every group still open expires now, in the order opened,
    /// kind by kind, while the last phase still runs (so outcomes still run).
    pub(crate) fn expire_all(&mut self) {
        for kind in 0..crate::engine::id32(self.state.groups.kinds.len()) {
            let count = self
                .state
                .groups
                .kinds
                .get(kind as usize)
                .map_or(0, |k| k.groups.len());
            for n in 0..crate::engine::id32(count) {
                if self
                    .state
                    .groups
                    .get(kind, n)
                    .is_some_and(|g| g.standing == Standing::Open)
                {
                    self.state.seq += 1;
                    self.draws_made = 0;
                    self.expire(kind, n);
                }
            }
        }
    }
}
