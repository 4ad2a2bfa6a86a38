//! The variables a message template reads without setting them first, with the scopes
//! minijinja renders with.
//!
//! minijinja's own `undeclared_variables` gives every `{% if %}` branch a scope of its
//! own, so a `{% set %}` inside an `if` looks unknown after the `endif` — yet the
//! renderer has no such scope, and the variable is set there. This walk follows the
//! renderer: `for`, `with`, macros, call blocks and `{% block %}` open a scope; `if`,
//! `filter`, `autoescape` and `set` blocks do not. A variable set in either branch of an
//! `if` is known after it (it is set whenever that branch ran).

use minijinja::machinery::{ast, parse, Span, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;
use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

/// What a template reads without having set it.
#[derive(Debug, Default)]
pub(super) struct Undeclared {
    /// Every variable path (`user.nickname`, `total`) read where it is not set, with
    /// the byte range of its first such read.
    pub reads: BTreeMap<String, Range<usize>>,
    /// Every name the template sets somewhere (for a better hint when one of them is
    /// read where its `set` does not reach).
    pub set_somewhere: HashSet<String>,
}

/// What `src` reads without having set it; `None` when `src` is not a template (its
/// syntax error is reported elsewhere).
pub(super) fn undeclared(src: &str) -> Option<Undeclared> {
    let tree = parse(src, "<message>", SyntaxConfig, WhitespaceConfig::default()).ok()?;
    let mut walk = Walk {
        out: BTreeMap::new(),
        frames: vec![HashSet::new()],
        all: HashSet::new(),
    };
    walk.stmt(&tree);
    Some(Undeclared {
        reads: walk.out,
        set_somewhere: walk.all.into_iter().map(str::to_string).collect(),
    })
}

fn range(span: Span) -> Range<usize> {
    span.start_offset as usize..span.end_offset as usize
}

struct Walk<'a> {
    /// Each path read before it is set, and where it is first read.
    out: BTreeMap<String, Range<usize>>,
    /// Names set in each open scope, innermost last.
    frames: Vec<HashSet<&'a str>>,
    /// Every name set anywhere.
    all: HashSet<&'a str>,
}

impl<'a> Walk<'a> {
    fn is_set(&self, name: &str) -> bool {
        self.frames.iter().any(|f| f.contains(name))
    }

    fn set(&mut self, name: &'a str) {
        self.all.insert(name);
        if let Some(frame) = self.frames.last_mut() {
            frame.insert(name);
        }
    }

    fn assign(&mut self, target: &ast::Expr<'a>) {
        match target {
            ast::Expr::Var(v) => self.set(v.id),
            ast::Expr::List(l) => l.items.iter().for_each(|x| self.assign(x)),
            _ => {}
        }
    }

    /// Walks `body` in a scope of its own and returns what it set.
    fn scoped(&mut self, body: &[ast::Stmt<'a>]) -> HashSet<&'a str> {
        self.frames.push(HashSet::new());
        body.iter().for_each(|s| self.stmt(s));
        self.frames.pop().unwrap_or_default()
    }

    fn stmts(&mut self, body: &[ast::Stmt<'a>]) {
        body.iter().for_each(|s| self.stmt(s));
    }

    fn stmt(&mut self, node: &ast::Stmt<'a>) {
        match node {
            ast::Stmt::Template(t) => {
                self.set("self");
                self.stmts(&t.children);
            }
            ast::Stmt::EmitExpr(e) => self.expr(&e.expr),
            ast::Stmt::EmitRaw(_) => {}
            ast::Stmt::ForLoop(l) => {
                self.expr(&l.iter);
                self.frames.push(HashSet::new());
                self.set("loop");
                self.assign(&l.target);
                if let Some(f) = &l.filter_expr {
                    self.expr(f);
                }
                self.stmts(&l.body);
                self.frames.pop();
                self.scoped(&l.else_body);
            }
            ast::Stmt::IfCond(c) => {
                self.expr(&c.expr);
                // Each branch sees what came before, not what the other branch set;
                // after the `if`, whatever either branch set is known.
                let then = self.scoped(&c.true_body);
                let otherwise = self.scoped(&c.false_body);
                for name in then.into_iter().chain(otherwise) {
                    self.set(name);
                }
            }
            ast::Stmt::WithBlock(w) => {
                self.frames.push(HashSet::new());
                for (target, value) in &w.assignments {
                    self.expr(value);
                    self.assign(target);
                }
                self.stmts(&w.body);
                self.frames.pop();
            }
            ast::Stmt::Set(s) => {
                self.expr(&s.expr);
                self.assign(&s.target);
            }
            ast::Stmt::SetBlock(s) => {
                self.stmts(&s.body);
                if let Some(f) = &s.filter {
                    self.expr(f);
                }
                self.assign(&s.target);
            }
            ast::Stmt::AutoEscape(a) => {
                self.expr(&a.enabled);
                self.stmts(&a.body);
            }
            ast::Stmt::FilterBlock(f) => {
                self.stmts(&f.body);
                self.expr(&f.filter);
            }
            ast::Stmt::Block(b) => {
                self.frames.push(HashSet::from(["super"]));
                self.stmts(&b.body);
                self.frames.pop();
            }
            ast::Stmt::Extends(_) | ast::Stmt::Include(_) => {}
            ast::Stmt::Import(i) => {
                self.expr(&i.expr);
                self.assign(&i.name);
            }
            ast::Stmt::FromImport(i) => {
                self.expr(&i.expr);
                for (name, alias) in &i.names {
                    self.assign(alias.as_ref().unwrap_or(name));
                }
            }
            ast::Stmt::Macro(m) => {
                self.set(m.name);
                self.frames.push(HashSet::new());
                self.macro_body(m, false);
                self.frames.pop();
            }
            ast::Stmt::CallBlock(c) => {
                self.call(&c.call);
                self.frames.push(HashSet::new());
                self.macro_body(&c.macro_decl, true);
                self.frames.pop();
            }
            ast::Stmt::Do(d) => self.call(&d.call),
            // Statements of minijinja features camp does not turn on (loop controls):
            // they read no variables.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    fn macro_body(&mut self, m: &ast::Macro<'a>, caller: bool) {
        if caller {
            self.set("caller");
        }
        m.args.iter().for_each(|a| self.assign(a));
        m.defaults.iter().for_each(|d| self.expr(d));
        self.stmts(&m.body);
    }

    fn call(&mut self, c: &ast::Call<'a>) {
        self.expr(&c.expr);
        c.args.iter().for_each(|a| self.arg(a));
    }

    fn arg(&mut self, a: &ast::CallArg<'a>) {
        match a {
            ast::CallArg::Pos(e)
            | ast::CallArg::Kwarg(_, e)
            | ast::CallArg::PosSplat(e)
            | ast::CallArg::KwargSplat(e) => self.expr(e),
        }
    }

    fn opt(&mut self, e: &Option<ast::Expr<'a>>) {
        if let Some(e) = e {
            self.expr(e);
        }
    }

    fn expr(&mut self, e: &ast::Expr<'a>) {
        match e {
            ast::Expr::Var(v) => {
                if !self.is_set(v.id) {
                    self.out
                        .entry(v.id.to_string())
                        .or_insert_with(|| range(v.span()));
                }
            }
            ast::Expr::Const(_) => {}
            ast::Expr::UnaryOp(u) => self.expr(&u.expr),
            ast::Expr::BinOp(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
            }
            ast::Expr::Compare(c) => {
                self.expr(&c.expr);
                c.ops.iter().for_each(|op| self.expr(&op.expr));
            }
            ast::Expr::IfExpr(i) => {
                self.expr(&i.test_expr);
                self.expr(&i.true_expr);
                self.opt(&i.false_expr);
            }
            ast::Expr::Filter(f) => {
                self.opt(&f.expr);
                f.args.iter().for_each(|a| self.arg(a));
            }
            ast::Expr::Test(t) => {
                self.expr(&t.expr);
                t.args.iter().for_each(|a| self.arg(a));
            }
            ast::Expr::GetAttr(g) => {
                // `a.b.c` on a variable not set here is read as the path `a.b.c`.
                let mut names = vec![g.name];
                let mut inner = &g.expr;
                loop {
                    match inner {
                        ast::Expr::GetAttr(next) => {
                            names.push(next.name);
                            inner = &next.expr;
                        }
                        ast::Expr::Var(v) if !self.is_set(v.id) => {
                            let mut path = v.id.to_string();
                            for n in names.iter().rev() {
                                path.push('.');
                                path.push_str(n);
                            }
                            self.out.entry(path).or_insert_with(|| range(g.span()));
                            return;
                        }
                        _ => break,
                    }
                }
                self.expr(&g.expr);
            }
            ast::Expr::GetItem(g) => {
                self.expr(&g.expr);
                self.expr(&g.subscript_expr);
            }
            ast::Expr::Slice(s) => {
                self.expr(&s.expr);
                self.opt(&s.start);
                self.opt(&s.stop);
                self.opt(&s.step);
            }
            ast::Expr::Call(c) => {
                self.expr(&c.expr);
                c.args.iter().for_each(|a| self.arg(a));
            }
            ast::Expr::List(l) => l.items.iter().for_each(|x| self.expr(x)),
            ast::Expr::Map(m) => {
                for (k, v) in m.keys.iter().zip(m.values.iter()) {
                    self.expr(k);
                    self.expr(v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(src: &str) -> Vec<String> {
        undeclared(src)
            .unwrap_or_default()
            .reads
            .into_keys()
            .collect()
    }

    #[test]
    fn the_first_unset_read_is_where_a_variable_is() {
        let src = "{% if a %}{% set r = 1 %}{% else %}{{ r }}{% endif %}{{ user.nick }}";
        let found = undeclared(src).unwrap_or_default().reads;
        assert_eq!(found.get("r").and_then(|r| src.get(r.clone())), Some("r"));
        assert_eq!(
            src.find("{{ r }}").map(|i| i + 3),
            found.get("r").map(|r| r.start)
        );
        assert_eq!(
            found.get("user.nick").and_then(|r| src.get(r.clone())),
            Some("user.nick")
        );
    }

    #[test]
    fn a_set_inside_an_if_is_known_after_it() {
        let src = "{% if participant.points > 100 %}{% set r = \"gold\" %}{% else %}\
                   {% set r = \"silver\" %}{% endif %}{{ r }} {{ user.nickname }}";
        assert_eq!(vars(src), ["participant.points", "user.nickname"]);
    }

    #[test]
    fn a_set_in_one_branch_is_unknown_in_the_other() {
        let src = "{% if a %}{% set r = 1 %}{% else %}{{ r }}{% endif %}";
        assert_eq!(vars(src), ["a", "r"]);
    }

    #[test]
    fn loops_and_with_blocks_keep_their_variables() {
        let src =
            "{% for x in user.tags %}{% set y = x %}{{ loop.index }}{% endfor %}{{ x }}{{ y }}\
                   {% with z = 1 %}{{ z }}{% endwith %}{{ z }}";
        assert_eq!(vars(src), ["user.tags", "x", "y", "z"]);
    }

    #[test]
    fn a_variable_read_before_it_is_set_is_unknown() {
        assert_eq!(vars("{{ r }}{% set r = 1 %}{{ r }}"), ["r"]);
        assert_eq!(vars("{% set r = r %}"), ["r"]);
    }

    #[test]
    fn paths_on_set_variables_are_not_reported() {
        assert_eq!(
            vars("{% set p = participant %}{{ p.points }}{{ campaign.name | upper }}"),
            ["campaign.name", "participant"]
        );
    }
}
