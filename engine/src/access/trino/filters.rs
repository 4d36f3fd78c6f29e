//! Trino's listing filters, row filters and column masks.

use super::super::decision::{ColumnEffect, ProductEffect};
use super::super::request::Principal;
use super::{
    Asked, Governed, Trino, TrinoAnswer, TrinoFailure, TrinoInput, TrinoResource, builtin,
};

impl Trino<'_> {
    /// One item of a listing filter (`FilterTables`…), whether it is kept.
    pub(super) fn filter_item(
        &self,
        operation: &str,
        resource: &TrinoResource,
        principal: &Principal,
        asked: &mut Vec<Asked>,
    ) -> bool {
        let (allowed, reason) = match (operation, resource) {
            (
                "FilterCatalogs",
                TrinoResource {
                    catalog: Some(_), ..
                },
            )
            | (
                "FilterSchemas",
                TrinoResource {
                    schema: Some(_), ..
                },
            ) => (
                true,
                format!("`{operation}`: catalogs and schemas are listed to any caller"),
            ),
            (
                "FilterTables" | "FilterColumns",
                TrinoResource {
                    table: Some(table), ..
                },
            ) => {
                let mut table = table.clone();
                if operation == "FilterTables" {
                    table.columns = Some(Vec::new());
                }
                return self.select(principal, &table, asked);
            }
            (
                "FilterViewQueryOwnedBy",
                TrinoResource {
                    user: Some(user), ..
                },
            ) => (
                user.user == principal.id,
                format!("`{operation}`: the caller's own queries only"),
            ),
            (
                "FilterFunctions",
                TrinoResource {
                    function: Some(f), ..
                },
            ) => (
                builtin(f),
                format!("`{operation}`: built-in functions only"),
            ),
            _ => (
                false,
                format!("`{operation}` does not apply to this resource"),
            ),
        };
        asked.push(Asked::Operation { allowed, reason });
        allowed
    }

    /// `/batch`: the indices of `filterResources` that are kept. `FilterColumns` carries one
    /// table whose columns are indexed.
    #[must_use]
    pub fn batch(&self, input: &TrinoInput, principal: &Principal) -> TrinoAnswer<Vec<usize>> {
        let action = &input.action;
        let mut asked = Vec::new();
        let result = if action.operation == "FilterColumns" {
            self.filter_columns(input, principal, &mut asked)
        } else {
            action
                .filter_resources
                .iter()
                .enumerate()
                .filter(|(_, r)| self.filter_item(&action.operation, r, principal, &mut asked))
                .map(|(i, _)| i)
                .collect()
        };
        TrinoAnswer { result, asked }
    }

    fn filter_columns(
        &self,
        input: &TrinoInput,
        principal: &Principal,
        asked: &mut Vec<Asked>,
    ) -> Vec<usize> {
        let Some(table) = input
            .action
            .filter_resources
            .first()
            .and_then(|r| r.table.as_ref())
        else {
            return Vec::new();
        };
        let columns = table.columns.clone().unwrap_or_default();
        let name = table.qualified();
        if let Governed::No { allowed, reason } = self.governed(&name) {
            asked.push(Asked::Operation { allowed, reason });
            return if allowed {
                (0..columns.len()).collect()
            } else {
                Vec::new()
            };
        }
        let (request, decision) = self.read(principal, &name, &columns);
        let kept = if decision.product.effect == ProductEffect::Allow {
            decision
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.effect != ColumnEffect::Deny)
                .map(|(i, _)| i)
                .collect()
        } else {
            Vec::new()
        };
        asked.push(Asked::Access(Box::new((request, decision))));
        kept
    }

    /// `/rowFilters`: the SQL predicates (trino dialect) for the table; `[]` when none
    /// apply.
    ///
    /// # Errors
    /// On a governed table the principal may not read (a deny, or a decision that failed,
    /// e.g. a row-filter rule that errors): Trino must fail the query, not read it unfiltered.
    pub fn row_filters(
        &self,
        input: &TrinoInput,
        principal: &Principal,
    ) -> Result<TrinoAnswer<Vec<String>>, TrinoFailure> {
        let Some(table) = input
            .action
            .resource
            .as_ref()
            .and_then(|r| r.table.as_ref())
        else {
            return Err(TrinoFailure("GetRowFilters names no table".into()));
        };
        let name = table.qualified();
        if let Governed::No { reason, .. } = self.governed(&name) {
            let asked = vec![Asked::Operation {
                allowed: true,
                reason,
            }];
            return Ok(TrinoAnswer {
                result: Vec::new(),
                asked,
            });
        }
        let (request, decision) = self.read(principal, &name, &[]);
        if decision.product.effect != ProductEffect::Allow {
            return Err(failure(&name, &decision));
        }
        let result = decision.row_filters.iter().map(|f| f.sql.clone()).collect();
        let asked = vec![Asked::Access(Box::new((request, decision)))];
        Ok(TrinoAnswer { result, asked })
    }

    /// `/columnMask` and `/batchColumnMasks`: the mask expression of each masked column,
    /// by its index among the columns asked (`column` resources, all of one table).
    ///
    /// # Errors
    /// As [`Trino::row_filters`]; also columns of several tables in one request.
    pub fn column_masks(
        &self,
        resources: &[&TrinoResource],
        principal: &Principal,
    ) -> Result<TrinoAnswer<Vec<(usize, String)>>, TrinoFailure> {
        let columns: Vec<_> = resources.iter().filter_map(|r| r.column.as_ref()).collect();
        if columns.len() != resources.len() {
            return Err(TrinoFailure(
                "GetColumnMask: every resource must be a column".into(),
            ));
        }
        let Some(first) = columns.first() else {
            return Ok(TrinoAnswer {
                result: Vec::new(),
                asked: Vec::new(),
            });
        };
        let name = first.qualified_table();
        if columns
            .iter()
            .any(|c| !c.qualified_table().eq_ignore_ascii_case(&name))
        {
            return Err(TrinoFailure(
                "GetColumnMask: columns of more than one table".into(),
            ));
        }
        if let Governed::No { reason, .. } = self.governed(&name) {
            let asked = vec![Asked::Operation {
                allowed: true,
                reason,
            }];
            return Ok(TrinoAnswer {
                result: Vec::new(),
                asked,
            });
        }
        let names: Vec<String> = columns.iter().map(|c| c.column_name.clone()).collect();
        let (request, decision) = self.read(principal, &name, &names);
        if decision.product.effect != ProductEffect::Allow {
            return Err(failure(&name, &decision));
        }
        let mut result = Vec::new();
        for (i, column) in decision.columns.iter().enumerate() {
            if column.effect == ColumnEffect::Mask {
                let Some(expression) = &column.mask_expression else {
                    return Err(TrinoFailure(format!(
                        "column `{}` of `{name}` is masked but has no mask expression",
                        column.name
                    )));
                };
                result.push((i, expression.clone()));
            }
        }
        let asked = vec![Asked::Access(Box::new((request, decision)))];
        Ok(TrinoAnswer { result, asked })
    }
}

fn failure(table: &str, decision: &super::super::decision::Decision) -> TrinoFailure {
    let reasons: Vec<&str> = decision
        .reasons
        .iter()
        .map(|r| r.message.as_str())
        .collect();
    TrinoFailure(format!(
        "no row filters or masks can be given for `{table}`, so it must not be read: {}",
        reasons.join("; ")
    ))
}
