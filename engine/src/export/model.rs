//! The export model: per physical table, who may read, which columns come back in clear,
//! masked or not at all, and which attribute row filters apply.

use serde::Serialize;

use crate::access::{MaskMethod, Revision};

/// A conjunction: a principal with every one of these roles and groups.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub struct Term {
    /// Roles the principal must have.
    pub roles: Vec<String>,
    /// Groups the principal must be in.
    pub groups: Vec<String>,
}

/// How a masked column is masked, and for whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mask {
    /// The method.
    pub method: MaskMethod,
    /// Readers (any of these terms) who get the masked value.
    pub terms: Vec<Term>,
}

/// One column of an exported table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnExport {
    /// The physical column name.
    pub name: String,
    /// The logical name (`path`, else `name`) requests may also use.
    pub logical: String,
    /// The contract's type, as written.
    pub data_type: Option<String>,
    /// Readers (any of these terms) who get the value in clear.
    pub clear: Vec<Term>,
    /// Readers who get it masked; every other reader gets nothing (`NULL`).
    pub mask: Option<Mask>,
}

impl ColumnExport {
    /// Whether some reader does not get the value in clear.
    #[must_use]
    pub fn is_protected(&self, readers: &[Term]) -> bool {
        self.clear != readers
    }
}

/// A row filter from a principal attribute (`access_decisions.attribute_filters`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeFilter {
    /// The physical column constrained.
    pub column: String,
    /// The principal attribute whose value the column must equal.
    pub attribute: String,
    /// Roles the filter does not apply to.
    pub exempt_roles: Vec<String>,
}

/// One physical table, compiled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableExport {
    /// The product id.
    pub product: String,
    /// The logical table name.
    pub table: String,
    /// The serving system (`trino`, `snowflake`…).
    pub kind: String,
    /// The three parts of the location: catalog (database), schema, table.
    pub location: [String; 3],
    /// Who may read (any of these terms); empty: nobody.
    pub readers: Vec<Term>,
    /// Who may change rows (the Cedar action `write`; any of these terms).
    pub writers: Vec<Term>,
    /// Who may change the table's definition (the Cedar action `manage`).
    pub managers: Vec<Term>,
    /// The table's columns, in contract order.
    pub columns: Vec<ColumnExport>,
    /// Attribute row filters that apply to the table.
    pub row_filters: Vec<AttributeFilter>,
}

impl TableExport {
    /// `catalog.schema.table`, as the contract writes it.
    #[must_use]
    pub fn dotted(&self) -> String {
        self.location.join(".")
    }
}

/// A table that cannot be exported without weakening a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The product id.
    pub product: String,
    /// The physical location.
    pub location: String,
    /// The policies involved, when known.
    pub policies: Vec<String>,
    /// Why.
    pub message: String,
}

/// Everything an export is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportModel {
    /// The policy pack and mesh revisions.
    pub revision: Revision,
    /// Exported tables, by location.
    pub tables: Vec<TableExport>,
    /// Refused tables, by location.
    pub refused: Vec<Refusal>,
    /// Tables the mesh governs that are not SQL tables of three parts (a topic, a file…),
    /// as the access engine looks them up (trimmed, ASCII lower case): a target that
    /// answers for any table must deny these.
    pub uncompiled: Vec<String>,
    /// Contract files of the mesh that could not be read (any unknown table may be theirs).
    pub unreadable: usize,
}

/// One rendered file: a path relative to the output folder and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    /// Relative path, `/`-separated.
    pub path: String,
    /// The table location it is about (`catalog.schema.table`), for drift per table.
    pub table: String,
    /// The content; its first line says what it was generated from.
    pub text: String,
}

/// Rendered files and the tables a target cannot express (in addition to the model's own
/// refusals).
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// The files, one or more per table.
    pub files: Vec<ExportedFile>,
    /// Tables refused by the target.
    pub refused: Vec<Refusal>,
}
