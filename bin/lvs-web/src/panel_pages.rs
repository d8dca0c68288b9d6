//! The panels of the original tool (GLOBAL SETTINGS, REDUNDANCY, VIRTUAL
//! SERVERS and its subsections), rendered generically from
//! `panels::Panel`, and their buttons. A GET shows the session's working
//! copy (or the file on disk) with the helper's `check` diagnostics at
//! their fields (`panels::locate`); an ACCEPT or a row button stages edits
//! into the working copy, never into the file.

use std::sync::Arc;
use std::time::Instant;

use access::{Action, Role};
use admin::proto;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as S};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use panels::{FieldError, FieldKind, PanelId};

use crate::app::{Fail, PeerX, State, Who, html, lock, poster, source, viewer};
use crate::decode::Form;
use crate::pages::{DiagView, Msg, diag_view, working_copy};
use crate::staging::Staged;
use crate::views::{Nav, Notice};

pub struct LinkView {
    pub title: String,
    pub path: String,
    pub current: bool,
}

pub struct ChoiceView {
    pub value: String,
    pub label: String,
    pub selected: bool,
    pub note: String,
}

pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    /// `text`, `number`, `select`, `radio`, `checkbox`.
    pub kind: &'static str,
    pub value: String,
    pub min: String,
    pub max: String,
    pub step: String,
    pub choices: Vec<ChoiceView>,
    pub required: bool,
    pub command: bool,
    /// Shown but not changeable by this user (read-only field, or a
    /// command key for a non-admin).
    pub locked: bool,
    pub default: String,
    pub extension: String,
    pub diagnostics: Vec<DiagView>,
    pub errors: Vec<String>,
    /// Free text: a wide input (a `send` string or a path is cut off in
    /// an address's width).
    pub wide: bool,
}

pub struct SectionView {
    pub title: &'static str,
    pub fields: Vec<FieldView>,
}

pub struct RowView {
    pub name: String,
    pub active: bool,
    pub cells: Vec<String>,
    pub path: String,
    pub errors: usize,
    pub warnings: usize,
}

pub struct TableView {
    pub columns: Vec<&'static str>,
    pub rows: Vec<RowView>,
}

pub struct ButtonView {
    pub value: &'static str,
    pub label: &'static str,
}

pub struct PanelView {
    pub title: String,
    pub help: &'static str,
    pub path: String,
    pub links: Vec<LinkView>,
    pub top: Vec<DiagView>,
    pub table: Option<TableView>,
    /// The ADD form: `virtual`, `real`, `failover`, or none (empty).
    pub add: &'static str,
    pub sections: Vec<SectionView>,
    pub extra_buttons: Vec<ButtonView>,
}

#[derive(Template)]
#[template(path = "panel.html")]
pub struct PanelPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub notices: Vec<Notice>,
    pub csrf: String,
    pub p: PanelView,
    pub may_edit: bool,
    pub add_errors: Vec<String>,
}

fn tab(id: &PanelId) -> &'static str {
    match id {
        PanelId::Global => "global",
        PanelId::Redundancy => "redundancy",
        _ => "virtual",
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        v.to_string()
    }
}

/// The panel as the template shows it: the panel's own placement of the
/// file's diagnostics, plus the helper's check (`lvsd --check`'s) placed
/// with `panels::locate`, plus the errors of a refused submission (with
/// the values as submitted, so nothing typed is lost).
pub fn panel_view(
    doc: &lvscf::Document,
    p: &panels::Panel,
    check: Option<&proto::CheckReport>,
    errors: &[FieldError],
    submitted: Option<&Form>,
    role: Role,
) -> PanelView {
    let key = |d: &DiagView| (d.line, d.col, d.message.clone());
    let mut top: Vec<DiagView> = p
        .diagnostics
        .iter()
        .map(|d| diag_view(&proto::Diagnostic::from(d)))
        .collect();
    let mut sections: Vec<SectionView> = p
        .sections
        .iter()
        .map(|s| SectionView {
            title: s.title,
            fields: s.fields.iter().map(|f| field_view(f, role)).collect(),
        })
        .collect();
    if let Some(check) = check {
        for d in &check.diagnostics {
            let view = diag_view(d);
            let field = panels::locate(doc, d.line, d.col)
                .filter(|(pid, _)| *pid == p.id)
                .map(|(_, f)| f);
            let slot = field.and_then(|name| {
                sections
                    .iter_mut()
                    .flat_map(|s| s.fields.iter_mut())
                    .find(|f| f.name == name)
            });
            match slot {
                Some(f) => {
                    if !f.diagnostics.iter().any(|x| key(x) == key(&view)) {
                        f.diagnostics.push(view);
                    }
                }
                None => {
                    if panels::locate_panel(doc, d.line, d.col) == p.id
                        && !top.iter().any(|x| key(x) == key(&view))
                    {
                        top.push(view);
                    }
                }
            }
        }
    }
    for e in errors {
        let slot = e.field.as_deref().and_then(|name| {
            sections
                .iter_mut()
                .flat_map(|s| s.fields.iter_mut())
                .find(|f| f.name == name)
        });
        match slot {
            Some(f) => f.errors.push(e.message.clone()),
            None => top.push(DiagView {
                severity: "error",
                line: 0,
                col: 0,
                message: e.to_string(),
                hint: String::new(),
            }),
        }
    }
    if let Some(form) = submitted {
        for f in sections.iter_mut().flat_map(|s| s.fields.iter_mut()) {
            if let Some(v) = form.all(f.name).last() {
                f.value = v.to_owned();
                for c in &mut f.choices {
                    c.selected = c.value == v;
                }
            }
        }
    }
    let path = p.id.path();
    PanelView {
        title: p.title.clone(),
        help: p.help,
        links: p
            .links
            .iter()
            .map(|l| LinkView {
                title: l.title(),
                path: l.path(),
                current: *l == p.id,
            })
            .collect(),
        top,
        table: p.table.as_ref().map(|t| TableView {
            columns: t.columns.clone(),
            rows: t
                .rows
                .iter()
                .map(|r| RowView {
                    name: r.name.clone(),
                    active: r.active,
                    cells: r.cells.clone(),
                    path: r.panel.path(),
                    errors: r.errors,
                    warnings: r.warnings,
                })
                .collect(),
        }),
        add: p
            .buttons
            .iter()
            .find_map(|b| match b {
                panels::Button::AddVirtual => Some("virtual"),
                panels::Button::AddReal => Some("real"),
                panels::Button::AddFailover => Some("failover"),
                _ => None,
            })
            .unwrap_or(""),
        extra_buttons: p
            .buttons
            .iter()
            .filter(|b| offered(p, **b))
            .filter_map(|b| match b {
                panels::Button::Enable => Some(ButtonView {
                    value: "enable",
                    label: b.label(),
                }),
                panels::Button::Disable => Some(ButtonView {
                    value: "disable",
                    label: b.label(),
                }),
                panels::Button::Reset => Some(ButtonView {
                    value: "reset",
                    label: b.label(),
                }),
                _ => None,
            })
            .collect(),
        sections,
        path,
    }
}

/// Whether REDUNDANCY offers `b` now: ENABLE while there is no backup,
/// DISABLE and RESET while there is one (the original's first visit shows
/// "Backup: inactive" and ENABLE alone). Other buttons always.
pub fn offered(p: &panels::Panel, b: panels::Button) -> bool {
    use panels::Button as B;
    if p.id != PanelId::Redundancy {
        return true;
    }
    let backup = p.field("backup_active").is_some_and(|f| f.value == "1");
    match b {
        B::Enable => !backup,
        B::Disable | B::Reset => backup,
        _ => true,
    }
}

fn field_view(f: &panels::Field, role: Role) -> FieldView {
    let (kind, min, max, step, choices) = match &f.kind {
        FieldKind::Text => ("text", String::new(), String::new(), String::new(), &[][..]),
        FieldKind::Number { min, max, step } => (
            "number",
            fmt_num(*min),
            fmt_num(*max),
            fmt_num(*step),
            &[][..],
        ),
        FieldKind::Select(c) => (
            "select",
            String::new(),
            String::new(),
            String::new(),
            &c[..],
        ),
        FieldKind::Radio(c) => ("radio", String::new(), String::new(), String::new(), &c[..]),
        FieldKind::Checkbox => (
            "checkbox",
            String::new(),
            String::new(),
            String::new(),
            &[][..],
        ),
    };
    let may = access::policy::may_set(role, &f.address.to_string());
    FieldView {
        name: f.name,
        label: f.label,
        help: f.help,
        kind,
        value: f.value.clone(),
        min,
        max,
        step,
        choices: choices
            .iter()
            .map(|c| ChoiceView {
                value: c.value.clone(),
                label: c.label.clone(),
                selected: c.value == f.value,
                note: c
                    .extension
                    .map(|e| format!("extension {e}"))
                    .unwrap_or_default(),
            })
            .collect(),
        required: f.required,
        command: f.command,
        locked: f.read_only || (f.command && !may),
        default: f.default.clone().unwrap_or_default(),
        extension: f.extension.unwrap_or("").to_owned(),
        diagnostics: f
            .diagnostics
            .iter()
            .map(|d| diag_view(&proto::Diagnostic::from(d)))
            .collect(),
        errors: Vec::new(),
        wide: f.wide,
    }
}

fn panel_id(path: &str) -> Result<PanelId, Fail> {
    PanelId::from_path(path).ok_or_else(|| Fail::NotFound(format!("no panel {path:?}")))
}

fn message(code: &str) -> Option<Notice> {
    Some(match code {
        "staged" => {
            Notice::info("Change staged (not yet written): review it on CHANGES, then apply it.")
        }
        "nochange" => Notice::info("Nothing changed."),
        _ => return None,
    })
}

#[allow(clippy::too_many_arguments)]
async fn render(
    st: &State,
    who: &Who,
    id: &PanelId,
    staged: &Staged,
    errors: &[FieldError],
    submitted: Option<&Form>,
    notices: Vec<Notice>,
    status: StatusCode,
) -> Result<Response, Fail> {
    let doc = staged.document();
    let p = panels::panel(&doc, id).map_err(|e| Fail::NotFound(e.to_string()))?;
    let check = st.admin.check(staged.text.as_bytes()).await?;
    let mut notices = notices;
    // Findings about the whole file or the host (ip_forward, open-file
    // limit) belong to no panel: GLOBAL SETTINGS shows them, as CHANGES
    // does.
    if *id == PanelId::Global {
        notices.extend(crate::pages::unplaced_notices(&check));
    }
    let add_errors = errors
        .iter()
        .filter(|e| p.table.is_some() && e.field.is_some())
        .map(ToString::to_string)
        .collect();
    let view = panel_view(&doc, &p, Some(&check), errors, submitted, who.role);
    let page = PanelPage {
        title: p.title.clone(),
        nav: Some(who.nav(st, tab(id)).await),
        notices,
        csrf: who.csrf.as_str().to_owned(),
        p: view,
        may_edit: who.may(Action::Edit),
        add_errors,
    };
    Ok((status, html(&page)).into_response())
}

pub async fn panel(
    S(st): S<Arc<State>>,
    headers: HeaderMap,
    Path(path): Path<String>,
    Query(q): Query<Msg>,
) -> Result<Response, Fail> {
    let who = viewer(&st, &headers)?;
    let id = panel_id(&path)?;
    let staged = working_copy(&st, &who).await?;
    render(
        &st,
        &who,
        &id,
        &staged,
        &[],
        None,
        message(q.msg()).into_iter().collect(),
        StatusCode::OK,
    )
    .await
}

/// A list panel's or REDUNDANCY's button as a `panels::Action`.
pub fn button_action(id: &PanelId, button: &str, form: &Form) -> Result<panels::Action, Fail> {
    use panels::Action as A;
    let row = || -> Result<String, Fail> { Ok(form.one("row")?.to_owned()) };
    let name = || -> Result<String, Fail> { Ok(form.one("name")?.trim().to_owned()) };
    let bad = || Fail::BadRequest(format!("{} has no {button:?} button", id.title()));
    Ok(match (id, button) {
        (PanelId::Redundancy, "enable") => A::EnableRedundancy,
        (PanelId::Redundancy, "disable") => A::DisableRedundancy,
        (PanelId::Redundancy, "reset") => A::ResetRedundancy,
        (PanelId::Virtuals, "add") => A::AddVirtual { name: name()? },
        (PanelId::Virtuals, "delete") => A::DeleteVirtual { name: row()? },
        (PanelId::Virtuals, "activate" | "deactivate") => A::SetVirtualActive {
            name: row()?,
            active: button == "activate",
        },
        (PanelId::Reals(v), "add") => A::AddReal {
            virtual_name: v.clone(),
            name: name()?,
            address: form.one("address")?.trim().to_owned(),
        },
        (PanelId::Reals(v), "delete") => A::DeleteReal {
            virtual_name: v.clone(),
            name: row()?,
        },
        (PanelId::Reals(v), "activate" | "deactivate") => A::SetRealActive {
            virtual_name: v.clone(),
            name: row()?,
            active: button == "activate",
        },
        (PanelId::Failovers, "add") => A::AddFailover { name: name()? },
        (PanelId::Failovers, "delete") => A::DeleteFailover { name: row()? },
        (PanelId::Failovers, "activate" | "deactivate") => A::SetFailoverActive {
            name: row()?,
            active: button == "activate",
        },
        _ => return Err(bad()),
    })
}

/// The panel `id` is called after `edits` (a rename of its block, or of
/// the virtual a server panel belongs to, moves it).
pub fn renamed(id: &PanelId, edits: &[lvscf::Edit]) -> PanelId {
    use lvscf::BlockRef;
    let mut id = id.clone();
    for e in edits {
        let lvscf::Edit::Rename { block, name } = e else {
            continue;
        };
        id = match (id, block) {
            (PanelId::Virtual(v), BlockRef::Virtual(b)) if v == *b => {
                PanelId::Virtual(name.clone())
            }
            (PanelId::Reals(v), BlockRef::Virtual(b)) if v == *b => PanelId::Reals(name.clone()),
            (PanelId::Monitoring(v), BlockRef::Virtual(b)) if v == *b => {
                PanelId::Monitoring(name.clone())
            }
            (
                PanelId::Real {
                    virtual_name,
                    name: s,
                },
                BlockRef::Server {
                    virtual_name: bv,
                    name: bs,
                },
            ) if virtual_name == *bv && s == *bs => PanelId::Real {
                virtual_name,
                name: name.clone(),
            },
            (PanelId::Failover(f), BlockRef::Failover(b)) if f == *b => {
                PanelId::Failover(name.clone())
            }
            (other, _) => other,
        };
    }
    id
}

/// The form's fields that belong to the panel (not ours: the token and
/// the button).
fn panel_fields(form: &Form) -> Vec<(String, String)> {
    form.pairs()
        .iter()
        .filter(|(n, _)| n != "csrf" && n != "button")
        .cloned()
        .collect()
}

/// Stages `edits` into the working copy `staged` for `who`: the command
/// key rule first, then the serial number bump of the copy's first edit
/// (as the original tool did on every save, so the backup's sync sees a
/// newer file).
pub fn stage(
    st: &State,
    who: &Who,
    mut staged: Staged,
    mut edits: Vec<lvscf::Edit>,
) -> Result<(), Fail> {
    crate::guard::check_edits(who.role, &edits, &staged.text)
        .map_err(|e| Fail::Forbidden(e.to_string()))?;
    let serial = lvscf::Address::global("serial_no");
    let sets_serial = edits
        .iter()
        .chain(&staged.edits)
        .any(|e| matches!(e, lvscf::Edit::Set { at, .. } if *at == serial));
    if !sets_serial {
        edits.push(panels::bump_serial(&staged.document()));
    }
    staged
        .stage(edits)
        .map_err(|e| Fail::BadRequest(format!("the edit does not apply: {e}")))?;
    staged.conflict = None;
    lock(&st.staged).put(who.key, staged, Instant::now());
    Ok(())
}

pub async fn panel_post(
    S(st): S<Arc<State>>,
    peer: PeerX,
    headers: HeaderMap,
    Path(path): Path<String>,
    body: Bytes,
) -> Result<Response, Fail> {
    let form = Form::parse(&body)?;
    let who = poster(&st, &headers, &peer, &form, Action::Edit)?;
    let id = panel_id(&path)?;
    let staged = working_copy(&st, &who).await?;
    let doc = staged.document();
    let button = form.get("button")?.unwrap_or("accept");
    let result = if button == "accept" {
        panels::edits(&doc, &id, &panel_fields(&form))
    } else {
        let a = button_action(&id, button, &form)?;
        panels::action(&doc, &a)
    };
    match result {
        Ok(edits) if edits.is_empty() => {
            Ok(Redirect::to(&format!("/panel/{}?msg=nochange", id.path())).into_response())
        }
        Ok(edits) => {
            let next = renamed(&id, &edits);
            if let Err(e) = stage(&st, &who, staged, edits) {
                if let Fail::Forbidden(why) = &e {
                    st.audit(
                        &who.user,
                        &source(&peer),
                        &access::audit::Event::Refused {
                            action: "set-command-key",
                            reason: why,
                        },
                    );
                }
                return Err(e);
            }
            Ok(Redirect::to(&format!("/panel/{}?msg=staged", next.path())).into_response())
        }
        Err(errors) => {
            let submitted = (button == "accept").then_some(&form);
            render(
                &st,
                &who,
                &id,
                &staged,
                &errors,
                submitted,
                vec![Notice::error("Not staged: see the errors below.")],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redundancy_buttons(cf: &str) -> Vec<&'static str> {
        let doc = lvscf::Document::open(cf.to_owned());
        let p = panels::panel(&doc, &PanelId::Redundancy).expect("panel");
        panel_view(&doc, &p, None, &[], None, Role::Admin)
            .extra_buttons
            .iter()
            .map(|b| b.label)
            .collect()
    }

    #[test]
    fn redundancy_offers_enable_without_a_backup_disable_and_reset_with_one() {
        let head = "serial_no = 1\nprimary = 203.0.113.2\nservice = lvs\n";
        assert_eq!(redundancy_buttons(head), ["ENABLE"]);
        assert_eq!(
            redundancy_buttons(&format!("{head}backup_active = 0\n")),
            ["ENABLE"]
        );
        assert_eq!(
            redundancy_buttons(&format!("{head}backup_active = 1\nbackup = 203.0.113.3\n")),
            ["DISABLE", "RESET"]
        );
    }

    #[test]
    fn a_renamed_block_moves_its_panel() {
        let r = lvscf::Edit::Rename {
            block: lvscf::BlockRef::Virtual("web".into()),
            name: "www".into(),
        };
        assert_eq!(
            renamed(&PanelId::Virtual("web".into()), std::slice::from_ref(&r)),
            PanelId::Virtual("www".into())
        );
        assert_eq!(
            renamed(&PanelId::Virtual("ftp".into()), std::slice::from_ref(&r)),
            PanelId::Virtual("ftp".into())
        );
        let s = lvscf::Edit::Rename {
            block: lvscf::BlockRef::Server {
                virtual_name: "web".into(),
                name: "a".into(),
            },
            name: "b".into(),
        };
        assert_eq!(
            renamed(
                &PanelId::Real {
                    virtual_name: "web".into(),
                    name: "a".into()
                },
                &[s]
            ),
            PanelId::Real {
                virtual_name: "web".into(),
                name: "b".into()
            }
        );
    }
}
