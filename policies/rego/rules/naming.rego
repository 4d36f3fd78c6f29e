# Naming: product ids and field names follow the mesh's conventions, so that
# products can be found, joined and referenced by id across domains.
#
# Speed: the whole `charter.rules` tree is evaluated once per contract. Settings are
# read where they are used (object.get with the pack's default), helper rules are
# few, and the field names are checked with ONE regex call per contract, not one per
# field.
package charter.rules.naming

import rego.v1

# The field names, in order, and as a set: computed once per contract.
field_names := [f.name | some f in input.fields]

field_set := {n | some n in field_names}

# METADATA
# title: Product id is not `<domain>.<snake_case>`
# description: >-
#   A product id is its domain (kebab-case) and the product's name in snake_case,
#   joined by a dot, e.g. `orders.order_events`. Ids are how other contracts, lineage
#   and query engines refer to the product.
# custom:
#   severity: error
#   remediation: Rename the product to `<domain>.<snake_case_name>` (contract `metadata.name`, or ODCS `name`).
deny_invalid_product_id contains {"msg": msg, "path": "id"} if {
	id := object.get(input, "id", "")
	pattern := object.get(data.charter.settings, ["naming", "product_pattern"], `^[a-z][a-z0-9-]*\.[a-z][a-z0-9_]*$`)
	not regex.match(pattern, id)
	msg := sprintf("product id `%v` is not `<domain>.<snake_case>` (pattern %s)", [id, pattern])
}

# METADATA
# title: Product id names another domain
# description: >-
#   The part of the product id before the first dot must be the domain the contract
#   declares, so that a product cannot pose as another domain's.
# custom:
#   severity: error
#   remediation: Make the id start with the declared domain, or correct the declared domain.
deny_domain_mismatch contains {"msg": msg, "path": "id"} if {
	id := input.id
	cut := indexof(id, ".")
	cut > 0
	id_domain := substring(id, 0, cut)
	domain := object.get(input, "domain", "")
	id_domain != domain
	msg := sprintf("product id `%s` names domain `%s`, but the contract declares domain `%v`", [id, id_domain, domain])
}

# METADATA
# title: Field name is not snake_case
# description: Field (column) names are snake_case, so that every query engine can address them without quoting.
# custom:
#   severity: error
#   remediation: Rename the field in snake_case (e.g. `returnReason` -> `return_reason`).
deny_field_not_snake_case contains {"msg": msg, "path": sprintf("fields[%d].name", [i])} if {
	pattern := object.get(data.charter.settings, ["naming", "field_pattern"], `^[a-z][a-z0-9_]*$`)

	# One regex call over all the names, one per line: `(?m)` makes the pattern's `^`
	# and `$` match at each name's start and end, and find_n returns the names it
	# matches whole. In a compliant schema the matches are the names: one per name,
	# and joined again they are the text (so no match is a part of a name, and no name
	# holds a line break). Then the body stops here, without looping over the fields.
	text := concat("\n", field_names)
	matches := regex.find_n(concat("", ["(?m)", pattern]), text, -1)
	[count(matches), concat("\n", matches)] != [count(field_names), text]

	bad := field_set - {m | some m in matches}
	count(bad) > 0
	some i, f in input.fields
	bad[f.name]
	msg := sprintf("field `%s` is not snake_case (pattern %s)", [f.name, pattern])
}

# METADATA
# title: Field declared twice
# description: Two fields of the schema have the same name; readers and query engines would pick either.
# custom:
#   severity: error
#   remediation: Remove or rename the duplicate field.
deny_duplicate_field contains {"msg": msg, "path": sprintf("fields[%d].name", [j])} if {
	# Only a schema with duplicates pays for the pairwise search. Per table (model 2):
	# the same column in two tables of a product is no duplicate.
	has_duplicate_key
	keys := [[object.get(f, "table", ""), field_path(f)] | some f in input.fields]
	some j, f in input.fields
	some i, g in input.fields
	i < j
	keys[i] == keys[j]
	msg := duplicate_message(f)
}

# Whether two fields have the same [table, path] key. A function call or builtin per field
# costs more than the rest of the rule, so the cheapest test comes first: every field has
# a path of its own, no two alike (as in most contracts), and then no two keys are alike.
# Otherwise, when every field has a table and a path (contracts read by Charter), the keys
# are read directly; only other inputs pay for calls.
has_duplicate_key if {
	not distinct_paths
	direct_keys
	count({[f.table, f.path] | some f in input.fields}) != count(input.fields)
}

has_duplicate_key if {
	not distinct_paths
	not direct_keys
	keys := [[object.get(f, "table", ""), field_path(f)] | some f in input.fields]
	count({k | some k in keys}) != count(keys)
}

# Every field has a path that is not empty, and no two have the same.
distinct_paths if count({f.path | some f in input.fields; f.path != ""}) == count(input.fields)

# Every field has a table and a path that is not empty.
direct_keys if count([1 | some f in input.fields; f.path != ""; f.table]) == count(input.fields)

# A field's logical path (model 2), or its name (model 1 inputs have no path).
field_path(f) := p if {
	p := object.get(f, "path", "")
	p != ""
} else := f.name

duplicate_message(f) := sprintf("field `%s` is declared more than once in table `%s`", [field_path(f), object.get(f, "table", "")]) if {
	count(object.get(input, "tables", [])) > 1
} else := sprintf("field `%s` is declared more than once", [field_path(f)])
