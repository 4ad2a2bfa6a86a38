//! Name tables: every definition of the campaign and its imports, one namespace per
//! kind. Reports names defined twice (E0101) and the campaign-block count (E0103).

use crate::load::Program;
use camp_dsl::ast::*;
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc, Span};
use std::collections::{HashMap, HashSet};

/// One definition: where it is, its name and its node.
#[derive(Debug)]
pub struct Def<'a, T> {
    /// The file it is in.
    pub file: FileId,
    /// Its name as written.
    pub name: &'a Ident,
    /// The definition.
    pub node: &'a T,
    /// The index of the phase it stands in (tasks, leaderboards, goals).
    pub phase: usize,
    /// The `///` lines above it (items and phase statements).
    pub docs: Option<&'a Docs>,
}

// Manual impls: `T` itself need not be `Clone`.
impl<T> Clone for Def<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Def<'_, T> {}

impl<T> Def<'_, T> {
    /// Where the name is.
    pub fn loc(&self) -> Loc {
        Loc::new(self.file, self.name.span)
    }
}

/// The definitions of one kind, in definition order, looked up by name.
#[derive(Debug)]
pub struct Table<'a, T> {
    entries: Vec<Def<'a, T>>,
    index: HashMap<&'a str, usize>,
    kind: &'static str,
}

impl<'a, T> Table<'a, T> {
    fn new(kind: &'static str) -> Self {
        Table {
            entries: Vec::new(),
            index: HashMap::new(),
            kind,
        }
    }

    fn insert(&mut self, def: Def<'a, T>, diags: &mut Vec<Diagnostic>) {
        if let Some(first) = self
            .index
            .get(def.name.name.as_str())
            .and_then(|i| self.entries.get(*i))
        {
            diags.push(duplicate(self.kind, &def.name.name, def.loc(), first.loc()));
            return;
        }
        self.index
            .insert(def.name.name.as_str(), self.entries.len());
        self.entries.push(def);
    }

    /// The definition named `name`.
    pub fn get(&self, name: &str) -> Option<&Def<'a, T>> {
        self.index.get(name).and_then(|i| self.entries.get(*i))
    }

    /// Position of `name` in definition order.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// All definitions in order.
    pub fn iter(&self) -> impl Iterator<Item = &Def<'a, T>> {
        self.entries.iter()
    }

    /// All names in order.
    pub fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.entries.iter().map(|d| d.name.name.as_str())
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn def_at<'a, T>(
    file: FileId,
    name: &'a Ident,
    node: &'a T,
    phase: usize,
    docs: &'a Docs,
) -> Def<'a, T> {
    let docs = (!docs.lines.is_empty()).then_some(docs);
    Def {
        file,
        name,
        node,
        phase,
        docs,
    }
}

/// A "defined twice" diagnostic.
pub fn duplicate(kind: &str, name: &str, later: Loc, first: Loc) -> Diagnostic {
    Diagnostic::new(
        Code::E0101,
        later,
        format!("the {kind} `{name}` is defined twice"),
        "defined again here",
    )
    .with_label(first, "first defined here")
    .with_help(format!(
        "rename one of them, or remove the second definition of `{name}`"
    ))
}

/// Every definition of the program.
#[derive(Debug)]
pub struct Symbols<'a> {
    /// The campaign block of the root file.
    pub campaign: Option<Def<'a, Campaign>>,
    /// User attributes.
    pub attrs: Table<'a, Field>,
    /// Event types.
    pub events: Table<'a, EventDef>,
    /// Rewards.
    pub rewards: Table<'a, RewardDef>,
    /// Segments.
    pub segments: Table<'a, SegmentDef>,
    /// Messages.
    pub messages: Table<'a, MessageDef>,
    /// Phases, in running order.
    pub phases: Table<'a, PhaseDef>,
    /// Tasks, with their phase.
    pub tasks: Table<'a, TaskDef>,
    /// Leaderboards, with their phase.
    pub leaderboards: Table<'a, LeaderboardDef>,
    /// Goals, with their phase.
    pub goals: Table<'a, GoalStmt>,
    /// Tiers, in threshold order as written.
    pub tiers: Table<'a, TierDef>,
    /// The first `tiers` block.
    pub tiers_block: Option<(FileId, &'a TiersDef)>,
    /// KPIs.
    pub kpis: Table<'a, KpiDef>,
    /// Group kinds.
    pub groups: Table<'a, GroupDef>,
    /// Raffles, with their phase.
    pub raffles: Table<'a, RaffleStmt>,
    /// Experiments.
    pub experiments: Table<'a, ExperimentDef>,
    /// Item spans (file, span) of every definition in the root file, for "unused" checks.
    pub root: FileId,
}

/// Collects the definitions of `program`, items of an imported file standing where the
/// import is written.
pub fn collect<'a>(program: &'a Program, diags: &mut Vec<Diagnostic>) -> Symbols<'a> {
    let mut s = Symbols {
        campaign: None,
        attrs: Table::new("user attribute"),
        events: Table::new("event"),
        rewards: Table::new("reward"),
        segments: Table::new("segment"),
        messages: Table::new("message"),
        phases: Table::new("phase"),
        tasks: Table::new("task"),
        leaderboards: Table::new("leaderboard"),
        goals: Table::new("goal"),
        tiers: Table::new("tier"),
        tiers_block: None,
        kpis: Table::new("kpi"),
        groups: Table::new("group"),
        raffles: Table::new("raffle"),
        experiments: Table::new("experiment"),
        root: program.root,
    };
    let mut visited = HashSet::new();
    let mut campaigns = Vec::new();
    walk(
        program,
        program.root,
        &mut visited,
        &mut s,
        &mut campaigns,
        diags,
    );
    let (root_campaigns, lib_campaigns): (Vec<_>, Vec<_>) =
        campaigns.into_iter().partition(|d| d.file == program.root);
    match root_campaigns.as_slice() {
        [] => {
            let span = Span::new(0, 0);
            diags.push(
                Diagnostic::new(Code::E0103, Loc::new(program.root, span), "this file has no `campaign` block", "a campaign file starts here")
                    .with_help("add `campaign NAME { timezone \"...\" }`; a file without one can only be imported by a campaign file"),
            );
        }
        [first, rest @ ..] => {
            s.campaign = Some(*first);
            for extra in rest {
                diags.push(
                    Diagnostic::new(
                        Code::E0103,
                        extra.loc(),
                        format!("a second campaign block, `{}`", extra.name.name),
                        "second campaign",
                    )
                    .with_label(first.loc(), "the campaign of this file")
                    .with_help(
                        "a file describes exactly one campaign: move this one into its own file",
                    ),
                );
            }
        }
    }
    for lib in lib_campaigns {
        diags.push(
            Diagnostic::new(
                Code::E0103,
                lib.loc(),
                format!(
                    "the imported file has a campaign block, `{}`",
                    lib.name.name
                ),
                "campaign in an imported file",
            )
            .with_help("an imported file shares definitions only: remove its campaign block"),
        );
    }
    s
}

fn walk<'a>(
    program: &'a Program,
    id: FileId,
    visited: &mut HashSet<FileId>,
    s: &mut Symbols<'a>,
    campaigns: &mut Vec<Def<'a, Campaign>>,
    diags: &mut Vec<Diagnostic>,
) {
    if !visited.insert(id) {
        return;
    }
    let Some(file) = program.file(id) else { return };
    for (index, item) in file.items.iter().enumerate() {
        let def = |name: &'a Ident| (id, name);
        match &item.kind {
            ItemKind::Import(_) => {
                if let Some(target) = program.imports.get(&(id, index)) {
                    walk(program, *target, visited, s, campaigns, diags);
                }
            }
            ItemKind::Campaign(c) => campaigns.push(def_at(id, &c.name, c, 0, &item.docs)),
            ItemKind::User(u) => {
                for f in &u.fields {
                    s.attrs.insert(def_at(id, &f.name, f, 0, &f.docs), diags);
                }
            }
            ItemKind::Event(e) => {
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for f in &e.fields {
                    if let Some(first) = seen.insert(&f.name.name, f.name.span) {
                        diags.push(duplicate(
                            "event field",
                            &f.name.name,
                            Loc::new(id, f.name.span),
                            Loc::new(id, first),
                        ));
                    }
                }
                let (file, name) = def(&e.name);
                s.events.insert(def_at(file, name, e, 0, &item.docs), diags);
            }
            ItemKind::Reward(r) => s
                .rewards
                .insert(def_at(id, &r.name, r, 0, &item.docs), diags),
            ItemKind::Segment(g) => s
                .segments
                .insert(def_at(id, &g.name, g, 0, &item.docs), diags),
            ItemKind::Message(m) => s
                .messages
                .insert(def_at(id, &m.name, m, 0, &item.docs), diags),
            ItemKind::Kpi(k) => s.kpis.insert(def_at(id, &k.name, k, 0, &item.docs), diags),
            ItemKind::Group(g) => s
                .groups
                .insert(def_at(id, &g.name, g, 0, &item.docs), diags),
            ItemKind::Experiment(x) => s
                .experiments
                .insert(def_at(id, &x.name, x, 0, &item.docs), diags),
            ItemKind::Tiers(t) => {
                if s.tiers_block.is_none() {
                    s.tiers_block = Some((id, t));
                }
                for tier in &t.tiers {
                    s.tiers
                        .insert(def_at(id, &tier.name, tier, 0, &tier.docs), diags);
                }
            }
            ItemKind::Phase(p) => {
                let phase = s.phases.len();
                s.phases
                    .insert(def_at(id, &p.name, p, phase, &item.docs), diags);
                for stmt in &p.stmts {
                    match &stmt.kind {
                        PhaseStmtKind::Task(t) => s
                            .tasks
                            .insert(def_at(id, &t.name, t, phase, &stmt.docs), diags),
                        PhaseStmtKind::Leaderboard(l) => s
                            .leaderboards
                            .insert(def_at(id, &l.name, l, phase, &stmt.docs), diags),
                        PhaseStmtKind::Goal(g) => s
                            .goals
                            .insert(def_at(id, &g.name, g, phase, &stmt.docs), diags),
                        PhaseStmtKind::Raffle(r) => s
                            .raffles
                            .insert(def_at(id, &r.name, r, phase, &stmt.docs), diags),
                        _ => {}
                    }
                }
            }
        }
    }
}
