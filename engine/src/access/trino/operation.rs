//! What each operation of Trino's OPA plugin means for data products.

/// The meaning of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Allowed for any caller: running a query, using a catalog, listing metadata.
    Open,
    /// Reading columns of a table (`SelectFromColumns`, views over them).
    Select,
    /// Changing rows: the Cedar action `write` on the product.
    Write,
    /// Changing the table's definition: the Cedar action `manage` on the product.
    Manage,
    /// On the caller's own queries only.
    OwnQuery,
    /// Built-in functions only.
    BuiltinFunction,
    /// Batched or per-item listing filters (`FilterCatalogs`…).
    Filter,
    /// Anything else: denied.
    Unknown,
}

/// The meaning of `name`, as `input.action.operation` spells it.
///
/// ```
/// use charter_engine::access::trino::{Operation, operation};
/// assert_eq!(operation("SelectFromColumns"), Operation::Select);
/// assert_eq!(operation("DropTable"), Operation::Manage);
/// assert_eq!(operation("GrantTablePrivilege"), Operation::Unknown);
/// ```
#[must_use]
pub fn operation(name: &str) -> Operation {
    match name {
        "ExecuteQuery" | "AccessCatalog" | "ShowSchemas" | "ShowTables" | "ShowColumns"
        | "ShowFunctions" | "ShowCreateTable" | "ShowCreateSchema" => Operation::Open,
        "SelectFromColumns" | "CreateViewWithSelectFromColumns" => Operation::Select,
        "InsertIntoTable" | "DeleteFromTable" | "UpdateTableColumns" | "TruncateTable" => {
            Operation::Write
        }
        "CreateTable"
        | "DropTable"
        | "RenameTable"
        | "SetTableProperties"
        | "SetTableComment"
        | "SetColumnComment"
        | "AddColumn"
        | "AlterColumn"
        | "DropColumn"
        | "RenameColumn"
        | "SetTableAuthorization" => Operation::Manage,
        "ViewQueryOwnedBy" | "KillQueryOwnedBy" => Operation::OwnQuery,
        "ExecuteFunction" | "CreateViewWithExecuteFunction" => Operation::BuiltinFunction,
        "FilterCatalogs"
        | "FilterSchemas"
        | "FilterTables"
        | "FilterColumns"
        | "FilterViewQueryOwnedBy"
        | "FilterFunctions" => Operation::Filter,
        _ => Operation::Unknown,
    }
}
