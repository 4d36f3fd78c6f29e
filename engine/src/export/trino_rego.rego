# Trino's OPA access control (the `trino-opa` plugin), decided as `charter serve
# --http-listen` decides it, from the decisions compiled into this bundle's data:
#
#   data.charter.trino.settings        ungoverned_tables ("allow"/"deny"), unreadable_contracts
#   data.charter.trino.directory       users {id: {roles, groups, attributes}}, groups {name: roles}
#   data.charter.trino.refused         governed tables this bundle denies: {table: why}
#   data.charter.trino.tables[k]       one exported table, k = urlquery.encode(its lower-case name)
#
# Point the plugin at this package: opa.policy.uri=…/v1/data/charter/trino/allow, with
# opa.policy.batched-uri, row-filters-uri, column-masking-uri and batch-column-masking-uri
# at batch, rowFilters, columnMask and batchColumnMasks.
#
# A row filter or a mask that cannot be given for a governed table (a caller who may not
# read it, a refused table, a request naming no table) is an evaluation error (HTTP 500):
# Trino fails the query rather than reading the table unfiltered.
package charter.trino

import rego.v1

# --- the caller ---------------------------------------------------------------------

identity := input.context.identity

directory_user := object.get(data.charter.trino.directory.users, identity.user, {})

caller_groups contains group if {
	some group in object.get(identity, "groups", [])
	is_string(group)
	group != ""
}

caller_groups contains group if some group in object.get(directory_user, "groups", [])

caller_roles contains role if some role in object.get(directory_user, "roles", [])

caller_roles contains role if {
	some group in caller_groups
	some role in object.get(data.charter.trino.directory.groups, group, [])
}

caller_attributes := object.get(directory_user, "attributes", {})

# Any of `terms` (each a set of roles and groups) is held by the caller.
satisfies(terms) if {
	some term in terms
	every role in term.roles {
		role in caller_roles
	}
	every group in term.groups {
		group in caller_groups
	}
}

# --- tables -------------------------------------------------------------------------

ascii_upper := {
	"A": "a", "B": "b", "C": "c", "D": "d", "E": "e", "F": "f", "G": "g", "H": "h", "I": "i",
	"J": "j", "K": "k", "L": "l", "M": "m", "N": "n", "O": "o", "P": "p", "Q": "q", "R": "r",
	"S": "s", "T": "t", "U": "u", "V": "v", "W": "w", "X": "x", "Y": "y", "Z": "z",
}

# `catalog.schema.table` as Charter looks it up: trimmed, ASCII lower case.
table_key(catalog, schema, table) := strings.replace_n(ascii_upper, trim_space(concat(".", [catalog, schema, table])))

key_of_table(t) := table_key(t.catalogName, t.schemaName, t.tableName)

key_of_column(c) := table_key(c.catalogName, c.schemaName, c.tableName)

exported(key) := data.charter.trino.tables[urlquery.encode(key)]

governed(key) if exported(key)

governed(key) if data.charter.trino.refused[key]

# What an ungoverned table is: metadata, allowed by the settings, or denied.
open_table(key) if {
	not governed(key)
	split(key, ".")[1] == "information_schema"
}

open_table(key) if {
	not governed(key)
	data.charter.trino.settings.ungoverned_tables == "allow"
	data.charter.trino.settings.unreadable_contracts == 0
}

ungoverned(key) if not governed(key)

# --- columns ------------------------------------------------------------------------

# A column as the request names it: exactly, else in lower case (when unambiguous),
# else by its logical name (when unambiguous).
column_index(entry, name) := entry.by_name[name]

column_index(entry, name) := entry.by_lower[lower(name)] if not entry.by_name[name]

column_index(entry, name) := entry.by_logical[name] if {
	not entry.by_name[name]
	not entry.by_lower[lower(name)]
}

column_effect(entry, name) := effect_of(entry.columns[column_index(entry, name)])

column_effect(entry, name) := "deny" if not column_index(entry, name)

effect_of(column) := "allow" if satisfies(column.clear)

effect_of(column) := "mask" if {
	not satisfies(column.clear)
	satisfies(column.mask.terms)
}

effect_of(column) := "deny" if {
	not satisfies(column.clear)
	not masked_for_caller(column)
}

masked_for_caller(column) if satisfies(column.mask.terms)

# --- operations ---------------------------------------------------------------------

open_operations := {
	"ExecuteQuery", "AccessCatalog", "ShowSchemas", "ShowTables", "ShowColumns",
	"ShowFunctions", "ShowCreateTable", "ShowCreateSchema",
}

select_operations := {"SelectFromColumns", "CreateViewWithSelectFromColumns"}

write_operations := {"InsertIntoTable", "DeleteFromTable", "UpdateTableColumns", "TruncateTable"}

manage_operations := {
	"CreateTable", "DropTable", "RenameTable", "SetTableProperties", "SetTableComment",
	"SetColumnComment", "AddColumn", "AlterColumn", "DropColumn", "RenameColumn",
	"SetTableAuthorization",
}

own_query_operations := {"ViewQueryOwnedBy", "KillQueryOwnedBy"}

function_operations := {"ExecuteFunction", "CreateViewWithExecuteFunction"}

# The columns a table resource lists (none when absent or null).
columns_of(t) := object.get(t, "columns", []) if object.get(t, "columns", []) != null

columns_of(t) := [] if object.get(t, "columns", []) == null

# Reading `columns` of table `t` (no columns: the table itself): the caller may query the
# product and no column is denied.
select_allowed(t) if open_table(key_of_table(t))

select_allowed(t) if {
	entry := exported(key_of_table(t))
	satisfies(entry.readers)
	every name in columns_of(t) {
		column_effect(entry, name) != "deny"
	}
}

# Changing table `t`: `writers` or `managers` of its product.
change_allowed(t, _) if open_table(key_of_table(t))

change_allowed(t, who) if satisfies(exported(key_of_table(t))[who])

builtin_function(f) if {
	object.get(f, "catalogName", null) == "system"
	object.get(f, "schemaName", null) == "builtin"
}

builtin_function(f) if {
	object.get(f, "catalogName", null) == null
	object.get(f, "schemaName", null) == null
}

present(resource, kind) if object.get(resource, kind, null) != null

# One item of a listing filter.
kept("FilterCatalogs", resource) if present(resource, "catalog")

kept("FilterSchemas", resource) if present(resource, "schema")

kept("FilterTables", resource) if select_allowed(object.union(resource.table, {"columns": []}))

kept("FilterColumns", resource) if select_allowed(resource.table)

kept("FilterViewQueryOwnedBy", resource) if resource.user.user == identity.user

kept("FilterFunctions", resource) if builtin_function(resource.function)

# --- /allow -------------------------------------------------------------------------

operation := input.action.operation

default allow := false

allow if operation in open_operations

allow if {
	operation in select_operations
	select_allowed(input.action.resource.table)
}

allow if {
	operation in write_operations
	change_allowed(input.action.resource.table, "writers")
}

allow if {
	operation in manage_operations
	change_allowed(input.action.resource.table, "managers")
	not target_table
}

# A rename must also be allowed on the new name.
allow if {
	operation in manage_operations
	change_allowed(input.action.resource.table, "managers")
	change_allowed(target_table, "managers")
}

target_table := t if {
	t := input.action.targetResource.table
	t != null
}

allow if {
	operation in own_query_operations
	input.action.resource.user.user == identity.user
}

allow if {
	operation in function_operations
	builtin_function(input.action.resource["function"])
}

allow if kept(operation, input.action.resource)

# --- /batch -------------------------------------------------------------------------

default batch := []

batch := [i |
	some i, resource in input.action.filterResources
	kept(operation, resource)
] if operation != "FilterColumns"

batch := columns_kept(input.action.filterResources[0].table) if operation == "FilterColumns"

columns_kept(t) := [i | some i, _ in columns_of(t)] if open_table(key_of_table(t))

columns_kept(t) := [i |
	entry := exported(key_of_table(t))
	satisfies(entry.readers)
	some i, name in columns_of(t)
	column_effect(entry, name) != "deny"
] if not open_table(key_of_table(t))

# --- /rowFilters --------------------------------------------------------------------

row_filter_table := input.action.resource.table

rowFilters := [] if ungoverned(key_of_table(row_filter_table))

rowFilters := sort_expressions([{"expression": expression} |
	some filter in entry.row_filters
	value := caller_attributes[filter.attribute]
	not exempt(filter)
	expression := concat("", [filter.sql_column, " = ", sql_literal(value)])
]) if {
	entry := exported(key_of_table(row_filter_table))
	satisfies(entry.readers)
}

exempt(filter) if {
	some role in filter.exempt_roles
	role in caller_roles
}

# `'value'`, with `'` doubled.
sql_literal(value) := concat("", ["'", replace(value, "'", "''"), "'"])

sort_expressions(filters) := [{"expression": e} | some e in sort([f.expression | some f in filters])]

row_filters_failed if not row_filter_table

row_filters_failed if {
	governed(key_of_table(row_filter_table))
	not readable(key_of_table(row_filter_table))
}

readable(key) if satisfies(exported(key).readers)

# Two different answers: OPA reports an evaluation error, and Trino fails the query.
rowFilters := "charter: no row filters can be given for this table, so it must not be read" if row_filters_failed

rowFilters := {"error": "charter: no row filters can be given for this table, so it must not be read"} if row_filters_failed

# --- /columnMask and /batchColumnMasks ----------------------------------------------

# The masks of `resources` (columns of one table): [[index, expression]].
masks(resources) := [] if count(resources) == 0

masks(resources) := [] if {
	count(resources) > 0
	every resource in resources {
		present(resource, "column")
	}
	same_table(resources)
	ungoverned(key_of_column(resources[0].column))
}

masks(resources) := [[i, entry.columns[column_index(entry, resource.column.columnName)].mask.expression] |
	some i, resource in resources
	column_effect(entry, resource.column.columnName) == "mask"
] if {
	count(resources) > 0
	every resource in resources {
		present(resource, "column")
	}
	same_table(resources)
	entry := exported(key_of_column(resources[0].column))
	satisfies(entry.readers)
}

# Compared as Charter compares them: ASCII case aside, untrimmed.
same_table(resources) if {
	first := raw_key(resources[0].column)
	every resource in resources {
		raw_key(resource.column) == first
	}
}

raw_key(c) := strings.replace_n(ascii_upper, concat(".", [c.catalogName, c.schemaName, c.tableName]))

masks_failed(resources) if {
	some resource in resources
	not present(resource, "column")
}

masks_failed(resources) if {
	every resource in resources {
		present(resource, "column")
	}
	not same_table(resources)
}

masks_failed(resources) if {
	count(resources) > 0
	every resource in resources {
		present(resource, "column")
	}
	same_table(resources)
	key := key_of_column(resources[0].column)
	governed(key)
	not readable(key)
}

column_mask_resources := [input.action.resource] if present(input.action, "resource")

column_mask_resources := [] if not present(input.action, "resource")

default columnMask := null

columnMask := {"expression": m[1]} if some m in masks(column_mask_resources)

columnMask := "charter: no mask can be given for this column, so it must not be read" if column_mask_failed

columnMask := {"error": "charter: no mask can be given for this column, so it must not be read"} if column_mask_failed

column_mask_failed if not present(input.action, "resource")

column_mask_failed if masks_failed(column_mask_resources)

batchColumnMasks := [{"index": m[0], "viewExpression": {"expression": m[1]}} | some m in masks(mask_resources)]

mask_resources := object.get(input.action, "filterResources", [])

batchColumnMasks := "charter: no masks can be given for this table, so it must not be read" if masks_failed(mask_resources)

batchColumnMasks := {"error": "charter: no masks can be given for this table, so it must not be read"} if masks_failed(mask_resources)
