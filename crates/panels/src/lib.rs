//! The Piranha Configuration Tool's panels as data: what each panel shows
//! of an lvs.cf, and how a submitted form or a row button becomes lossless
//! edits of it.
//!
//! This crate owns the field inventory (every key the lvscf model knows has
//! a field on some panel, with the original tool's label and the guide's
//! help), the reading of the current values from a
//! [`Document`](lvscf::Document), the checking of submitted values, and the
//! mapping of diagnostics (line, column) to the field they fall on. It
//! knows no HTTP and no HTML: a web front end renders [`Panel`]s
//! generically, passes submitted `(name, value)` pairs to [`edits`] and row
//! buttons to [`action`], and hands the resulting [`Edit`](lvscf::Edit)s to
//! whoever applies the file.
//!
//! Rules a front end can rely on:
//!
//! * [`panel`] of a document, submitted back unchanged through [`edits`],
//!   yields no edit at all, so the file stays byte-identical;
//! * a changed field yields one edit of that key only, and the editor
//!   changes only that value's bytes;
//! * a blank optional field unsets its key (the daemon's default applies);
//! * every edit list returned has been applied to a copy of the document
//!   and loads without errors; what would not load comes back as
//!   [`FieldError`]s at the fields the errors fall on.
//!
//! The panels are [`PanelId`]'s: GLOBAL SETTINGS, REDUNDANCY, the VIRTUAL
//! SERVERS list, one VIRTUAL SERVER, its REAL SERVER list, EDIT REAL
//! SERVER, EDIT MONITORING SCRIPTS, and the legacy FAILOVER list and
//! block. The runtime status page (CONTROL/MONITORING) is not here.

#![deny(missing_docs)]

mod action;
mod form;
mod id;
mod panel;
mod spec;
mod tree;

use lvscf::{Address, Diagnostic};

pub use action::{Action, action, bump_serial};
pub use form::{FieldError, edits};
pub use id::PanelId;
pub use panel::{
    FailoverRow, PanelError, RealRow, VirtualRow, failover_rows, locate, locate_panel, panel,
    real_rows, virtual_rows,
};

/// One panel: its fields in sections, its list (for list panels), its
/// buttons and the diagnostics that fall on it but on none of its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Which panel.
    pub id: PanelId,
    /// The heading, e.g. `VIRTUAL SERVER: web`.
    pub title: String,
    /// What the panel is for, after the guide.
    pub help: &'static str,
    /// Related panels to link along the top (a virtual's subsections, the
    /// list a block belongs to), this one included.
    pub links: Vec<PanelId>,
    /// The fields, grouped; empty for the list panels.
    pub sections: Vec<Section>,
    /// The list of a list panel (VIRTUAL SERVERS, REAL SERVER, FAILOVER).
    /// Each row gets EDIT (to [`Row::panel`]), DELETE and (DE)ACTIVATE.
    pub table: Option<Table>,
    /// The panel's own buttons.
    pub buttons: Vec<Button>,
    /// Diagnostics of the file on this panel's part of it that fall on no
    /// field (shown at the top).
    pub diagnostics: Vec<Diagnostic>,
}

impl Panel {
    /// Every field, in order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.sections.iter().flat_map(|s| s.fields.iter())
    }

    /// The field of a form name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields().find(|f| f.name == name)
    }
}

/// A group of fields under a heading.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The heading.
    pub title: &'static str,
    /// The fields.
    pub fields: Vec<Field>,
}

/// One form field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The form name, unique on its panel (usually the lvs.cf key; the two
    /// parts of `address = IP DEVICE` are `address` and `device`, of
    /// `nat_router` `nat_router` and `nat_router_device`; a block's name
    /// is `name`).
    pub name: &'static str,
    /// The label, in the original tool's words.
    pub label: &'static str,
    /// A sentence or two of help, after the guide.
    pub help: &'static str,
    /// How to render it.
    pub kind: FieldKind,
    /// The current value, as the file holds it. For a key the file does
    /// not set: empty for text and number fields (see [`Field::default`]),
    /// the default for checkboxes, radios and drop-downs without a blank
    /// choice. Submitting this value back is "no change".
    pub value: String,
    /// What a blank field means (the daemon's default), if anything.
    pub default: Option<String>,
    /// What it edits: a key (both parts of an `IP DEVICE` value edit the
    /// same key), or for `name` the block itself (a rename).
    pub address: Address,
    /// Whether a blank value is refused.
    pub required: bool,
    /// Shown, never changed through this panel.
    pub read_only: bool,
    /// Whether the key names a program run as root: only an administrator
    /// may change it.
    pub command: bool,
    /// The lvscf extension id ([`lvscf::EXTENSIONS`]) when the key is ours
    /// and a router running piranha 0.8.6 rejects a file that sets it.
    pub extension: Option<&'static str>,
    /// The file's diagnostics on this field's part of its line.
    pub diagnostics: Vec<Diagnostic>,
    /// Free text (a command line, a path, a `send`/`expect` string, a
    /// list): worth a wide input, where an address or a device name is
    /// short.
    pub wide: bool,
}

/// How a field is entered.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// A number from `min` to `max` in steps of `step` (0.001 for timers,
    /// which take milliseconds; a fraction is an extension).
    Number {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
        /// Step.
        step: f64,
    },
    /// A drop-down. A choice whose value is empty means "not set".
    Select(Vec<Choice>),
    /// Radio buttons.
    Radio(Vec<Choice>),
    /// A checkbox: value `1` when checked, `0` when not. A form carries no
    /// unchecked box, so render a hidden `0` of the same name before it:
    /// [`edits`] takes the last value of a name.
    Checkbox,
}

/// One choice of a drop-down or radio field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The value submitted (and written to lvs.cf).
    pub value: String,
    /// What the admin reads.
    pub label: String,
    /// The lvscf extension id when piranha 0.8.6 rejects this value.
    pub extension: Option<&'static str>,
}

/// A list panel's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Column headings after STATUS and NAME.
    pub columns: Vec<&'static str>,
    /// One row per block, in file order.
    pub rows: Vec<Row>,
}

/// One row of a list panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The block's name (NAME).
    pub name: String,
    /// The `active` flag (STATUS up/down; configuration, not health).
    pub active: bool,
    /// One cell per [`Table::columns`].
    pub cells: Vec<String>,
    /// The panel EDIT opens.
    pub panel: PanelId,
    /// Errors of the file in this block.
    pub errors: usize,
    /// Warnings of the file in this block.
    pub warnings: usize,
}

/// A panel-level button; each maps to an [`Action`] (or, for ACCEPT, to
/// [`edits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    /// ACCEPT: submit the fields.
    Accept,
    /// ADD a virtual server (asks for its name).
    AddVirtual,
    /// ADD a real server (asks for its name and address).
    AddReal,
    /// ADD a failover service (asks for its name).
    AddFailover,
    /// ENABLE the backup router.
    Enable,
    /// DISABLE the backup router.
    Disable,
    /// RESET the backup and heartbeat fields to the daemon's defaults.
    Reset,
}

impl Button {
    /// The button's text, as the original wrote it.
    pub fn label(self) -> &'static str {
        match self {
            Button::Accept => "ACCEPT",
            Button::AddVirtual | Button::AddReal | Button::AddFailover => "ADD",
            Button::Enable => "ENABLE",
            Button::Disable => "DISABLE",
            Button::Reset => "RESET",
        }
    }
}
