//! Reading values and places from lvscf's located syntax tree: one parse
//! per call instead of one [`lvscf::Document::get`] per field.

use lvscf::BlockRef;
use lvscf::syntax::{Assign, Block, BlockKind, Item, parse_tree};

use crate::id::PanelId;
use crate::spec::{Part, Scope, Spec, specs_of};

/// The tree of one text.
pub(crate) struct Tree<'a> {
    pub items: Vec<Item<'a>>,
}

impl<'a> Tree<'a> {
    pub fn new(text: &'a str) -> Self {
        Tree {
            items: parse_tree(text).0,
        }
    }

    /// The top-level blocks of a kind.
    pub fn blocks(&self, kind: BlockKind) -> impl Iterator<Item = &Block<'a>> {
        blocks(&self.items, kind)
    }

    /// The block a [`BlockRef`] names (the first of that name, as the
    /// editor finds it).
    pub fn find(&self, r: &BlockRef) -> Option<&Block<'a>> {
        let top = |kind, name: &str| {
            self.blocks(kind)
                .find(|b| block_name(b).as_deref() == Some(name))
        };
        match r {
            BlockRef::Virtual(n) => top(BlockKind::Virtual, n),
            BlockRef::Failover(n) => top(BlockKind::Failover, n),
            BlockRef::Server { virtual_name, name } => blocks(
                &top(BlockKind::Virtual, virtual_name)?.items,
                BlockKind::Server,
            )
            .find(|b| block_name(b).as_deref() == Some(name.as_str())),
        }
    }

    /// The items of a scope (`None` = top level).
    pub fn scope(&self, r: Option<&BlockRef>) -> Option<&[Item<'a>]> {
        match r {
            None => Some(&self.items),
            Some(r) => self.find(r).map(|b| &b.items[..]),
        }
    }
}

pub(crate) fn blocks<'t, 'a>(
    items: &'t [Item<'a>],
    kind: BlockKind,
) -> impl Iterator<Item = &'t Block<'a>> {
    items.iter().filter_map(move |i| match i {
        Item::Block(b) if b.kind.value == kind => Some(&**b),
        _ => None,
    })
}

pub(crate) fn block_name(b: &Block<'_>) -> Option<String> {
    b.name.as_ref().map(|n| n.value.text())
}

/// The line of `key` that counts (the last one), if any.
pub(crate) fn last<'t, 'a>(items: &'t [Item<'a>], key: &str) -> Option<&'t Assign<'a>> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Assign(a) if a.key.value == key => Some(a),
            _ => None,
        })
        .next_back()
}

/// A key's value tokens in the form [`lvscf::Value`] takes them:
/// send/expect as written between the quotes, anything else unquoted.
pub(crate) fn tokens(a: &Assign<'_>) -> Vec<String> {
    let check = matches!(a.key.value, "send" | "expect");
    a.values
        .iter()
        .map(|v| {
            if check {
                v.value.inner().to_owned()
            } else {
                v.value.text()
            }
        })
        .collect()
}

/// The text of the field `part` of a key line.
pub(crate) fn part_text(a: &Assign<'_>, part: Part) -> String {
    let t = tokens(a);
    match part {
        Part::First => t.first().cloned().unwrap_or_default(),
        Part::Second => t.get(1).cloned().unwrap_or_default(),
        Part::List => {
            let inner = match t.as_slice() {
                [open, mid @ .., close] if open == "[" && close == "]" => mid,
                other => other,
            };
            inner.join(" ")
        }
        Part::Whole | Part::Name => t.join(" "),
    }
}

/// Which panel and field a place of a text belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub panel: PanelId,
    pub field: Option<&'static str>,
    /// The top-level block the place is in (for per-row counts).
    pub top: Option<BlockRef>,
}

/// The owners of `places` (line, column; 1-based, columns in characters)
/// in one walk of the tree. A place on no field belongs to the panel of
/// the block around it, else to GLOBAL SETTINGS.
pub(crate) fn owners(tree: &Tree<'_>, places: &[(usize, usize)]) -> Vec<Owner> {
    let global = Owner {
        panel: PanelId::Global,
        field: None,
        top: None,
    };
    let mut out = vec![global; places.len()];
    if places.is_empty() {
        return out;
    }
    // Top-level key lines.
    for item in &tree.items {
        match item {
            Item::Assign(a) => {
                for (i, p) in places.iter().enumerate() {
                    if p.0 == a.key.span.line {
                        out[i] = key_owner(Scope::Global, None, a, p.1);
                    }
                }
            }
            Item::Block(b) => {
                let Some(name) = block_name(b) else { continue };
                let (scope, r) = match b.kind.value {
                    BlockKind::Virtual => (Scope::Virtual, BlockRef::Virtual(name.clone())),
                    BlockKind::Failover => (Scope::Failover, BlockRef::Failover(name.clone())),
                    // A server outside a virtual is an error of the file,
                    // shown on GLOBAL SETTINGS.
                    BlockKind::Server => continue,
                };
                let last = b.close.map_or(usize::MAX, |c| c.line);
                let first = b.kind.span.line;
                for (i, p) in places.iter().enumerate() {
                    if p.0 < first || p.0 > last {
                        continue;
                    }
                    out[i] = block_owner(scope, &r, b, *p, &name);
                }
            }
        }
    }
    out
}

fn panel_of_block(r: &BlockRef) -> PanelId {
    match r {
        BlockRef::Virtual(v) => PanelId::Virtual(v.clone()),
        BlockRef::Failover(f) => PanelId::Failover(f.clone()),
        BlockRef::Server { virtual_name, name } => PanelId::Real {
            virtual_name: virtual_name.clone(),
            name: name.clone(),
        },
    }
}

/// A place inside the top-level block `b` (named `name`, reference `r`).
fn block_owner(
    scope: Scope,
    r: &BlockRef,
    b: &Block<'_>,
    (line, col): (usize, usize),
    name: &str,
) -> Owner {
    let name_field = |panel| Owner {
        panel,
        field: Some("name"),
        top: Some(r.clone()),
    };
    if line == b.kind.span.line {
        return name_field(panel_of_block(r));
    }
    for item in &b.items {
        match item {
            Item::Assign(a) if a.key.span.line == line => {
                return key_owner(scope, Some(r), a, col);
            }
            Item::Assign(_) => {}
            Item::Block(s) => {
                let last = s.close.map_or(usize::MAX, |c| c.line);
                if line < s.kind.span.line || line > last || scope != Scope::Virtual {
                    continue;
                }
                let Some(sname) = block_name(s) else { break };
                let sr = BlockRef::Server {
                    virtual_name: name.to_owned(),
                    name: sname,
                };
                if line == s.kind.span.line {
                    let mut o = name_field(panel_of_block(&sr));
                    o.top = Some(r.clone());
                    return o;
                }
                let inner = s.items.iter().find_map(|i| match i {
                    Item::Assign(a) if a.key.span.line == line => Some(a),
                    _ => None,
                });
                let mut o = match inner {
                    Some(a) => key_owner(Scope::Server, Some(&sr), a, col),
                    None => Owner {
                        panel: panel_of_block(&sr),
                        field: None,
                        top: None,
                    },
                };
                o.top = Some(r.clone());
                return o;
            }
        }
    }
    Owner {
        panel: panel_of_block(r),
        field: None,
        top: Some(r.clone()),
    }
}

/// A place on the key line `a` of a scope.
fn key_owner(scope: Scope, r: Option<&BlockRef>, a: &Assign<'_>, col: usize) -> Owner {
    let second = a.values.get(1).is_some_and(|v| col >= v.span.col);
    let spec: Option<(bool, &Spec)> =
        specs_of(scope)
            .filter(|(_, s)| s.key == a.key.value)
            .find(|(_, s)| match s.part {
                Part::Second => second,
                Part::First => !second,
                _ => true,
            });
    let top = r.map(|r| match r {
        BlockRef::Server { virtual_name, .. } => BlockRef::Virtual(virtual_name.clone()),
        other => other.clone(),
    });
    let (panel, field) = match (scope, r, spec) {
        (Scope::Global, _, Some((second_panel, s))) => (
            if second_panel {
                PanelId::Redundancy
            } else {
                PanelId::Global
            },
            Some(s.name),
        ),
        (Scope::Global, _, None) => (PanelId::Global, None),
        (Scope::Virtual, Some(BlockRef::Virtual(v)), Some((true, s))) => {
            (PanelId::Monitoring(v.clone()), Some(s.name))
        }
        (_, Some(r), s) => (panel_of_block(r), s.map(|(_, s)| s.name)),
        (_, None, _) => (PanelId::Global, None),
    };
    Owner { panel, field, top }
}

/// The owner of one place of a text.
pub(crate) fn locate_owner(text: &str, line: usize, column: usize) -> Owner {
    let tree = Tree::new(text);
    owners(&tree, &[(line, column)]).remove(0)
}
